package plugintest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

// checkManifest checks m as the host will: guest.Manifest.Validate, and a
// config schema that is a JSON object when there is one.
func checkManifest(m *guest.Manifest) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if m.ConfigSchema != "" {
		var schema map[string]any
		if err := json.Unmarshal([]byte(m.ConfigSchema), &schema); err != nil {
			return fmt.Errorf("manifest %s: config schema is not a JSON object: %v", m.ID, err)
		}
	}
	return nil
}

// Conformance checks what every plugin must do, through c alone, on an
// instance that was started: a valid manifest of this ABI's major
// version; errors, not successes or crashes, for malformed requests and
// unknown methods. For an object plugin, also:
//
//   - the object list decodes and every definition validates;
//   - instance ids are ascending and unique, at most one for a
//     single-instance object;
//   - reading each object, instance, readable resource and resource
//     instance works and fits the definition (kinds, types, mandatory
//     resources present, nothing unreadable returned);
//   - an unknown object, instance or resource is 4.04 (read, write,
//     execute, delete); the root path is 4.00 (read, write, execute,
//     delete);
//   - writing or deleting an object, executing an object or an instance
//     and deleting a resource are 4.05;
//   - writing a resource that is not writable, executing one that is not
//     executable and reading an executable one are 4.05; a value of the
//     wrong type is 4.00;
//   - for a multiple-instance object, Create (with values copied from an
//     existing instance or sample values), the new instance listed and
//     readable, Create of a taken id 4.00, Delete, the instance gone
//     (4.04 to read and to delete again). A 4.05 from Create (a fixed set
//     of instances) skips this check.
//
// Writes the plugin must refuse change nothing; the create and delete
// check leaves the instances as they were. Each check is a subtest of t.
func Conformance(t *testing.T, c Caller) {
	t.Helper()
	for _, r := range Check(context.Background(), c) {
		t.Run(r.Name, func(t *testing.T) {
			for _, f := range r.Failures {
				t.Error(f)
			}
			if r.Skipped != "" {
				t.Skip(r.Skipped)
			}
		})
	}
}

// Result is the outcome of one check of the conformance kit.
type Result struct {
	Name     string   // such as "object 3303/read"
	Failures []string // empty when the check passed
	Skipped  string   // why the check did not apply, if it did not
}

// Check runs the checks of Conformance on c and returns their results, in
// order, for tools that are not tests (wasm2m plugin inspect). A check
// whose result has failures failed.
func Check(ctx context.Context, c Caller) []Result {
	k := &checker{}
	conformance(k, ctx, c)
	return k.results
}

// checker runs checks and collects their results; fatalf and skipf end the
// current check (a panic that run recovers).
type checker struct {
	results []Result
	stack   []int // indexes into results of the checks running
}

type stopCheck struct{}

// run runs check name inside the current one and reports whether it and
// the checks it ran passed.
func (k *checker) run(name string, f func()) (ok bool) {
	if len(k.stack) > 0 {
		name = k.results[k.stack[len(k.stack)-1]].Name + "/" + name
	}
	k.results = append(k.results, Result{Name: name})
	i := len(k.results) - 1
	k.stack = append(k.stack, i)
	defer func() {
		k.stack = k.stack[:len(k.stack)-1]
		if r := recover(); r != nil {
			if _, stop := r.(stopCheck); !stop {
				k.results[i].Failures = append(k.results[i].Failures, fmt.Sprint("panic: ", r))
			}
		}
		ok = true
		for _, r := range k.results[i:] {
			if len(r.Failures) > 0 {
				ok = false
			}
		}
		if len(k.results[i].Failures) == 0 && k.results[i].Skipped == "" && i < len(k.results)-1 {
			// A check that only groups others is not a result of its own.
			k.results = append(k.results[:i], k.results[i+1:]...)
		}
	}()
	f()
	return true
}

func (k *checker) cur() *Result { return &k.results[k.stack[len(k.stack)-1]] }

func (k *checker) errorf(format string, args ...any) {
	k.cur().Failures = append(k.cur().Failures, fmt.Sprintf(format, args...))
}

func (k *checker) fatalf(format string, args ...any) {
	k.errorf(format, args...)
	panic(stopCheck{})
}

func (k *checker) fatal(args ...any) {
	k.cur().Failures = append(k.cur().Failures, fmt.Sprint(args...))
	panic(stopCheck{})
}

func (k *checker) skipf(format string, args ...any) {
	k.cur().Skipped = fmt.Sprintf(format, args...)
	panic(stopCheck{})
}

func conformance(k *checker, ctx context.Context, c Caller) {
	cl := NewClient(c)
	var kind abi.Kind
	ok := k.run("manifest", func() {
		m, minor, err := cl.Manifest(ctx)
		if err != nil {
			k.fatalf("manifest: %v", err)
		}
		if err := checkManifest(&m); err != nil {
			k.fatal(err)
		}
		if minor > abi.Minor {
			k.errorf("manifest %s: built against ABI 1.%d, newer than this kit's 1.%d", m.ID, minor, abi.Minor)
		}
		kind = m.Kind
	})
	if !ok {
		return
	}
	k.run("unknown method", func() {
		if _, err := cl.Raw(ctx, abi.Method(99), nil); err == nil {
			k.errorf("method 99 succeeded")
		}
	})
	k.run("malformed request", func() {
		// Field 1 as a length-delimited value longer than the message.
		_, err := cl.Raw(ctx, abi.MethodObjectRead, []byte{0x0a, 0x7f, 0x01})
		expectClass(k, "read with malformed bytes", err, 4)
	})
	if kind != abi.KindObject {
		return
	}
	var defs []*model.ObjectDef
	if !k.run("list", func() {
		var err error
		if defs, err = cl.Objects(ctx); err != nil {
			k.fatalf("list: %v", err)
		}
		if len(defs) == 0 {
			k.fatal("an object plugin lists no object")
		}
		for i, d := range defs {
			for _, e := range defs[:i] {
				if e.ID == d.ID {
					k.errorf("object %d listed twice", d.ID)
				}
			}
		}
	}) {
		return
	}
	k.run("unknown object", func() {
		id := uint16(0)
		for slices.ContainsFunc(defs, func(d *model.ObjectDef) bool { return d.ID == id }) {
			id++
		}
		_, err := cl.Instances(ctx, id)
		expectCode(k, fmt.Sprintf("instances of unlisted object %d", id), err, model.NotFound)
		_, err = cl.Read(ctx, model.ObjectPath(id))
		expectCode(k, fmt.Sprintf("read /%d", id), err, model.NotFound)
		_, err = cl.Read(ctx, model.InstancePath(id, 0))
		expectCode(k, fmt.Sprintf("read /%d/0", id), err, model.NotFound)
	})
	k.run("root path", func() {
		_, err := cl.Read(ctx, model.RootPath())
		expectCode(k, "read /", err, model.BadRequest)
		err = cl.Write(ctx, model.RootPath(), model.NewObject(defs[0].ID), true)
		expectCode(k, "write /", err, model.BadRequest)
		err = cl.Execute(ctx, model.RootPath(), "")
		expectCode(k, "execute /", err, model.BadRequest)
		err = cl.Delete(ctx, model.RootPath())
		expectCode(k, "delete /", err, model.BadRequest)
	})
	for _, d := range defs {
		k.run(fmt.Sprintf("object %d", d.ID), func() {
			objectConformance(k, ctx, cl, d)
		})
	}
}

func objectConformance(k *checker, ctx context.Context, cl *Client, d *model.ObjectDef) {
	var ids []uint16
	if !k.run("instances", func() {
		var err error
		if ids, err = cl.Instances(ctx, d.ID); err != nil {
			k.fatalf("instances: %v", err)
		}
		for i := 1; i < len(ids); i++ {
			if ids[i-1] >= ids[i] {
				k.errorf("instances %v: not ascending and unique", ids)
			}
		}
		if !d.Multiple && len(ids) > 1 {
			k.errorf("single-instance object has instances %v", ids)
		}
	}) {
		return
	}
	free := freeID(ids)

	k.run("read", func() {
		obj, err := cl.Read(ctx, model.ObjectPath(d.ID))
		if err != nil {
			k.fatalf("read /%d: %v", d.ID, err)
		}
		var got []uint16
		for _, in := range obj.Children {
			got = append(got, in.ID)
		}
		if !slices.Equal(got, ids) && len(got) > 0 {
			k.errorf("read /%d has instances %v, instances says %v", d.ID, got, ids)
		}
		for _, id := range ids {
			readInstance(k, ctx, cl, d, id)
		}
	})

	k.run("unknown instance", func() {
		p := model.InstancePath(d.ID, free)
		_, err := cl.Read(ctx, p)
		expectCode(k, "read "+p.String(), err, model.NotFound)
		err = cl.Delete(ctx, p)
		expectCode(k, "delete "+p.String(), err, model.NotFound)
		for i := range d.Resources {
			r := &d.Resources[i]
			rp := model.ResourcePath(d.ID, free, r.ID)
			switch {
			case r.Operations.Readable():
				_, err := cl.Read(ctx, rp)
				expectCode(k, "read "+rp.String(), err, model.NotFound)
			case r.Operations.Writable() && !r.Multiple:
				err := cl.Write(ctx, rp, model.NewResource(r.ID, sampleValue(r)), true)
				expectCode(k, "write "+rp.String(), err, model.NotFound)
			case r.Operations.Executable():
				err := cl.Execute(ctx, rp, "")
				expectCode(k, "execute "+rp.String(), err, model.NotFound)
			}
		}
	})

	if len(ids) > 0 {
		in := ids[0]
		k.run("unknown resource", func() {
			id := uint16(0)
			for d.Resource(id) != nil {
				id++
			}
			p := model.ResourcePath(d.ID, in, id)
			_, err := cl.Read(ctx, p)
			expectCode(k, "read "+p.String(), err, model.NotFound)
			err = cl.Write(ctx, p, model.NewResource(id, model.Int(0)), true)
			expectCode(k, "write "+p.String(), err, model.NotFound)
		})
		k.run("levels", func() {
			// Operations at a level they do not apply to.
			op := model.ObjectPath(d.ID)
			ip := model.InstancePath(d.ID, in)
			err := cl.Write(ctx, op, model.NewObject(d.ID), true)
			expectCode(k, "write "+op.String(), err, model.MethodNotAllowed)
			err = cl.Execute(ctx, op, "")
			expectCode(k, "execute "+op.String(), err, model.MethodNotAllowed)
			err = cl.Execute(ctx, ip, "")
			expectCode(k, "execute "+ip.String(), err, model.MethodNotAllowed)
			err = cl.Delete(ctx, op)
			expectCode(k, "delete "+op.String(), err, model.MethodNotAllowed)
			if len(d.Resources) > 0 {
				rp := model.ResourcePath(d.ID, in, d.Resources[0].ID)
				err = cl.Delete(ctx, rp)
				expectCode(k, "delete "+rp.String(), err, model.MethodNotAllowed)
			}
		})
		k.run("operations", func() {
			for i := range d.Resources {
				r := &d.Resources[i]
				p := model.ResourcePath(d.ID, in, r.ID)
				if !r.Operations.Writable() && !r.Operations.Executable() {
					err := cl.Write(ctx, p, valueNode(r, sampleValue(r)), true)
					expectCode(k, "write of read-only "+p.String(), err, model.MethodNotAllowed)
				}
				if !r.Operations.Executable() {
					err := cl.Execute(ctx, p, "")
					expectCode(k, "execute of non-executable "+p.String(), err, model.MethodNotAllowed)
				} else {
					_, err := cl.Read(ctx, p)
					expectCode(k, "read of executable "+p.String(), err, model.MethodNotAllowed)
					err = cl.Write(ctx, p, model.NewResource(r.ID, model.Int(0)), true)
					expectCode(k, "write of executable "+p.String(), err, model.MethodNotAllowed)
				}
				if r.Operations.Writable() && !r.Multiple {
					err := cl.Write(ctx, p, model.NewResource(r.ID, wrongValue(r)), true)
					expectCode(k, "write of a "+wrongValue(r).Type().String()+" to "+r.Type.String()+" "+p.String(), err, model.BadRequest)
				}
			}
		})
	}

	if d.Multiple {
		k.run("create and delete", func() {
			createDelete(k, ctx, cl, d, ids)
		})
	}
}

// readInstance reads instance id, then each readable resource and resource
// instance of it, and checks what it gets against d.
func readInstance(k *checker, ctx context.Context, cl *Client, d *model.ObjectDef, id uint16) {
	p := model.InstancePath(d.ID, id)
	n, err := cl.Read(ctx, p)
	if err != nil {
		k.errorf("read %s: %v", p, err)
		return
	}
	if err := fits(d, p, &n); err != nil {
		k.errorf("read %s: %v", p, err)
	}
	for i := range d.Resources {
		r := &d.Resources[i]
		if !r.Operations.Readable() {
			continue
		}
		rp := model.ResourcePath(d.ID, id, r.ID)
		c := n.Child(r.ID)
		if c == nil {
			if r.Mandatory {
				k.errorf("read %s: mandatory resource %d (%s) missing", p, r.ID, r.Name)
			}
			_, err := cl.Read(ctx, rp)
			if err != nil && !errors.Is(err, model.ErrNotFound) {
				k.errorf("read %s (absent from the instance): %v, want the resource or 4.04", rp, err)
			}
			continue
		}
		rn, err := cl.Read(ctx, rp)
		if err != nil {
			k.errorf("read %s: %v", rp, err)
			continue
		}
		if err := fits(d, rp, &rn); err != nil {
			k.errorf("read %s: %v", rp, err)
		}
		for _, ri := range rn.Children {
			rip := model.ResourceInstancePath(d.ID, id, r.ID, ri.ID)
			x, err := cl.Read(ctx, rip)
			if err != nil {
				k.errorf("read %s: %v", rip, err)
				continue
			}
			if err := fits(d, rip, &x); err != nil {
				k.errorf("read %s: %v", rip, err)
			}
		}
	}
}

// fits reports whether node n, read at p, fits definition d: kinds as
// the definition says (single or multiple), readable resources only,
// values of the resources' types.
func fits(d *model.ObjectDef, p model.Path, n *model.Node) error {
	if err := n.CheckAt(p); err != nil {
		return err
	}
	if err := n.Validate(); err != nil {
		return err
	}
	var check func(n *model.Node, r *model.ResourceDef) error
	check = func(n *model.Node, r *model.ResourceDef) error {
		switch n.Kind {
		case model.KindObject, model.KindInstance:
			for i := range n.Children {
				if err := check(&n.Children[i], nil); err != nil {
					return err
				}
			}
			return nil
		case model.KindResource, model.KindMultipleResource:
			if r = d.Resource(n.ID); r == nil {
				return fmt.Errorf("resource %d is not in the definition", n.ID)
			}
			if !r.Operations.Readable() {
				return fmt.Errorf("resource %d (%s) is not readable but was returned", r.ID, r.Name)
			}
			if r.Multiple != (n.Kind == model.KindMultipleResource) {
				return fmt.Errorf("resource %d (%s) is a %s, the definition says multiple=%v", r.ID, r.Name, n.Kind, r.Multiple)
			}
		}
		if n.HasValue() {
			if n.Value.Type() != r.Type {
				return fmt.Errorf("resource %d (%s) holds a %s, the definition says %s", r.ID, r.Name, n.Value.Type(), r.Type)
			}
			return nil
		}
		for i := range n.Children {
			if err := check(&n.Children[i], r); err != nil {
				return err
			}
		}
		return nil
	}
	var r *model.ResourceDef
	if p.Level() >= model.LevelResource {
		r = d.Resource(p.ResourceID())
	}
	if p.IsResourceInstance() && r == nil {
		return fmt.Errorf("resource %d is not in the definition", p.ResourceID())
	}
	return check(n, r)
}

// createDelete creates an instance, checks it, deletes it and checks it is
// gone.
func createDelete(k *checker, ctx context.Context, cl *Client, d *model.ObjectDef, ids []uint16) {
	n := model.Node{Kind: model.KindInstance, ID: model.NoID}
	if len(ids) > 0 {
		// Copy the writable resources of an existing instance: values the
		// object takes.
		in, err := cl.Read(ctx, model.InstancePath(d.ID, ids[0]))
		if err != nil {
			k.fatalf("read /%d/%d: %v", d.ID, ids[0], err)
		}
		for _, r := range in.Children {
			if rd := d.Resource(r.ID); rd != nil && rd.Operations.Writable() {
				n.Children = append(n.Children, r)
			}
		}
	} else {
		for i := range d.Resources {
			r := &d.Resources[i]
			if r.Mandatory && r.Operations.Writable() {
				n.Children = append(n.Children, valueNode(r, sampleValue(r)))
			}
		}
	}
	id, err := cl.Create(ctx, d.ID, n)
	if errors.Is(err, model.ErrMethodNotAllowed) {
		k.skipf("create /%d: %v (a fixed set of instances)", d.ID, err)
	}
	if err != nil {
		k.fatalf("create /%d with %s: %v", d.ID, n, err)
	}
	p := model.InstancePath(d.ID, id)
	after, err := cl.Instances(ctx, d.ID)
	if err != nil {
		k.fatalf("instances after create: %v", err)
	}
	if !slices.Contains(after, id) {
		k.errorf("created %s, instances are %v", p, after)
	}
	if slices.Contains(ids, id) {
		k.errorf("created %s, which existed already", p)
	}
	readInstance(k, ctx, cl, d, id)
	dup := n
	dup.ID = id
	if _, err := cl.Create(ctx, d.ID, dup); !errors.Is(err, model.ErrBadRequest) {
		k.errorf("create of taken id %s: %v, want 4.00", p, err)
	}
	if err := cl.Delete(ctx, p); err != nil {
		k.fatalf("delete %s: %v", p, err)
	}
	after, err = cl.Instances(ctx, d.ID)
	if err != nil {
		k.fatalf("instances after delete: %v", err)
	}
	if !slices.Equal(after, ids) {
		k.errorf("instances after create and delete %v, before %v", after, ids)
	}
	_, err = cl.Read(ctx, p)
	expectCode(k, "read deleted "+p.String(), err, model.NotFound)
	err = cl.Delete(ctx, p)
	expectCode(k, "delete deleted "+p.String(), err, model.NotFound)
}

// freeID returns the lowest instance id not in ids.
func freeID(ids []uint16) uint16 {
	id := uint16(0)
	for slices.Contains(ids, id) {
		id++
	}
	return id
}

// valueNode returns a node of resource r holding v: a single resource, or
// a multiple resource with one instance 0.
func valueNode(r *model.ResourceDef, v model.Value) model.Node {
	if r.Multiple {
		return model.NewMultipleResource(r.ID, model.NewResourceInstance(0, v))
	}
	return model.NewResource(r.ID, v)
}

// sampleValue returns a value of r's type within its range.
func sampleValue(r *model.ResourceDef) model.Value {
	lo := 0.0
	if r.HasRange {
		lo = r.Range.Min
	}
	switch r.Type {
	case model.TypeString:
		return model.String("x")
	case model.TypeInteger:
		return model.Int(int64(lo))
	case model.TypeUnsigned:
		return model.Uint(uint64(max(lo, 0)))
	case model.TypeFloat:
		return model.Float(lo)
	case model.TypeBoolean:
		return model.Bool(false)
	case model.TypeOpaque:
		return model.Opaque([]byte{0})
	case model.TypeTime:
		return model.UnixTime(0)
	case model.TypeObjlnk:
		return model.Objlnk(model.NoID, model.NoID)
	case model.TypeCorelnk:
		return model.Corelnk("</1>")
	}
	return model.Value{}
}

// wrongValue returns a value that is not of r's type.
func wrongValue(r *model.ResourceDef) model.Value {
	if r.Type == model.TypeString {
		return model.Int(1)
	}
	return model.String("not a " + r.Type.String())
}

// expectCode fails t unless err carries code.
func expectCode(k *checker, what string, err error, code model.Code) {
	if err == nil {
		k.errorf("%s succeeded, want %s", what, code)
		return
	}
	if got := model.CodeOf(err); got != code {
		k.errorf("%s: %v, want %s", what, err, code)
	}
}

// expectClass fails t unless err carries a code of class.
func expectClass(k *checker, what string, err error, class uint8) {
	if err == nil {
		k.errorf("%s succeeded, want a %d.xx", what, class)
		return
	}
	if got := model.CodeOf(err); got.Class() != class {
		k.errorf("%s: %v, want a %d.xx", what, err, class)
	}
}
