package stdobj

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/model"
)

var (
	_ client.Object     = (*Object)(nil)
	_ client.Observable = (*Object)(nil)
)

// ReadFunc computes the value of a single resource of instance inst when
// it is read. An error with model.ErrNotFound's code makes the resource
// absent for that read.
type ReadFunc func(ctx context.Context, inst uint16) (model.Value, error)

// ReadNodeFunc computes a resource of instance inst, single or multiple,
// when it is read: a model.KindResource or model.KindMultipleResource node
// whose ID is the resource's. An error with model.ErrNotFound's code makes
// the resource absent for that read.
type ReadNodeFunc func(ctx context.Context, inst uint16) (model.Node, error)

// WriteFunc accepts, refuses or applies a write of one resource of
// instance inst. v is the resource as it will be once written: a
// model.KindResource, or a model.KindMultipleResource holding every
// resource instance it will have after a partial update. An error refuses
// the whole write (a model.ErrBadRequest-coded error for a value the
// object does not take).
type WriteFunc func(ctx context.Context, inst uint16, v model.Node) error

// ExecuteFunc runs an executable resource of instance inst with the
// arguments of the request (the syntax client.Object's Execute names;
// see ParseArgs).
type ExecuteFunc func(ctx context.Context, inst uint16, args []byte) error

// CreateFunc accepts or refuses the creation of instance inst from n, the
// instance node as the server sent it (its ID is inst).
type CreateFunc func(ctx context.Context, inst uint16, n model.Node) error

// DeleteFunc accepts or refuses the deletion of instance inst.
type DeleteFunc func(ctx context.Context, inst uint16) error

// instance maps a resource id to the resource node it holds.
type instance map[uint16]model.Node

// Object is an in-memory client.Object and client.Observable that keeps
// the instances of one object and enforces its definition:
//
//   - operations: reading a resource that is not readable, writing one
//     that is not writable and executing one that is not executable are
//     4.05; a call made with a client.WithBootstrap context may read and
//     write every resource that has a value (Bootstrap-Write of the
//     Security and Server objects, Core 1.1 section 6.1.7);
//   - ids: a path to a resource the definition does not have is 4.04, and
//     so is an optional resource an instance does not hold; a payload
//     naming a resource the definition does not have is 4.00;
//   - values: a value of the wrong type, outside the resource's range
//     (model.ResourceDef.Check), a single value for a multiple resource or
//     the reverse is 4.00;
//   - instances: Create with a taken id, a second instance of a
//     single-instance object, or without a mandatory writable resource is
//     4.00.
//
// Hooks registered per resource compute values at read time (OnRead,
// OnReadNode), accept or refuse writes (OnWrite) and run executable
// resources (OnExecute); OnCreate and OnDelete watch instances. Register
// hooks before the object is handed to the engine. Hooks run without the
// object's lock: they may call Get, Node, Set, SetNode and Remove, but a
// hook that runs inside Write, Create or Delete must not call those three
// (they wait for it).
//
// The owner (the program the object belongs to) changes values with Set,
// SetNode, Remove, AddInstance and RemoveInstance, which take any
// resource whatever its operations, and reports each change through the
// function given to Observe. Changes made by Write, Create and Delete are
// not reported: the engine made them and knows. Values are copied in and
// out: no caller shares memory with the object.
//
// An Object is safe for concurrent use. Write, Create and Delete run one
// at a time, with their hooks, so that what a hook checked is what gets
// applied.
type Object struct {
	def *model.ObjectDef

	change sync.Mutex // serializes Write, Create and Delete with their hooks

	mu        sync.RWMutex
	instances map[uint16]instance
	static    bool
	reads     map[uint16]ReadNodeFunc
	writes    map[uint16]WriteFunc
	execs     map[uint16]ExecuteFunc
	onCreate  CreateFunc
	onDelete  DeleteFunc

	changed atomic.Pointer[func(paths ...model.Path)]
}

// New returns an in-memory object of definition def holding instances
// (model.KindInstance nodes, with ids below model.NoID). Values are
// converted to their resource's type where nothing is lost (see
// model.Value.Convert), and the nodes are copied. New panics when def is
// nil or invalid or an instance does not fit def: it is for definitions
// and values the program wrote.
func New(def *model.ObjectDef, instances ...model.Node) *Object {
	if def == nil {
		panic("stdobj: new: nil object definition")
	}
	if err := def.Validate(); err != nil {
		panic("stdobj: new: " + err.Error())
	}
	o := &Object{
		def:       def,
		instances: make(map[uint16]instance),
		reads:     make(map[uint16]ReadNodeFunc),
		writes:    make(map[uint16]WriteFunc),
		execs:     make(map[uint16]ExecuteFunc),
	}
	for _, n := range instances {
		if err := o.AddInstance(n); err != nil {
			panic("stdobj: new: " + err.Error())
		}
	}
	return o
}

// Definition returns the object's definition.
func (o *Object) Definition() *model.ObjectDef { return o.def }

// Observe sets the function the object calls to report changed values.
// The engine calls it once, before any other call.
func (o *Object) Observe(changed func(paths ...model.Path)) {
	if changed == nil {
		o.changed.Store(nil)
		return
	}
	o.changed.Store(&changed)
}

// notify reports paths through the Observe function, if any. It must be
// called without o.mu held.
func (o *Object) notify(paths ...model.Path) {
	if len(paths) == 0 {
		return
	}
	if f := o.changed.Load(); f != nil {
		(*f)(paths...)
	}
}

// Static marks the object's instances as the device's own: Create and
// Delete from a server are refused with 4.05 (Core 1.1 section 6.3.6 and
// 6.3.7: the target is not allowed for the operation). The owner still
// adds and removes instances with AddInstance and RemoveInstance. It
// returns o.
func (o *Object) Static() *Object {
	o.mu.Lock()
	o.static = true
	o.mu.Unlock()
	return o
}

// OnRead makes fn compute single resource res at read time, for every
// instance. It returns o. A resource with a read hook exists in every
// instance, whatever the instance holds.
func (o *Object) OnRead(res uint16, fn ReadFunc) *Object {
	return o.OnReadNode(res, func(ctx context.Context, inst uint16) (model.Node, error) {
		v, err := fn(ctx, inst)
		if err != nil {
			return model.Node{}, err
		}
		return model.NewResource(res, v), nil
	})
}

// OnReadNode makes fn compute resource res, single or multiple, at read
// time, for every instance. It returns o.
func (o *Object) OnReadNode(res uint16, fn ReadNodeFunc) *Object {
	o.mu.Lock()
	o.reads[res] = fn
	o.mu.Unlock()
	return o
}

// OnWrite makes fn see every write of resource res (from Write, and from
// Create for the resources a new instance is given) before the object
// applies it; an error refuses the write. A write-only resource with a
// write hook is not kept: the hook is its only reader (a firmware package
// is not held twice). It returns o.
func (o *Object) OnWrite(res uint16, fn WriteFunc) *Object {
	o.mu.Lock()
	o.writes[res] = fn
	o.mu.Unlock()
	return o
}

// OnExecute makes fn run executable resource res. An optional executable
// resource without a hook does not exist (4.04); a mandatory one without a
// hook does nothing. It returns o.
func (o *Object) OnExecute(res uint16, fn ExecuteFunc) *Object {
	o.mu.Lock()
	o.execs[res] = fn
	o.mu.Unlock()
	return o
}

// OnCreate makes fn see every Create after its checks and before the
// instance exists; an error refuses it. It returns o.
func (o *Object) OnCreate(fn CreateFunc) *Object {
	o.mu.Lock()
	o.onCreate = fn
	o.mu.Unlock()
	return o
}

// OnDelete makes fn see every Delete before the instance goes; an error
// refuses it. It returns o.
func (o *Object) OnDelete(fn DeleteFunc) *Object {
	o.mu.Lock()
	o.onDelete = fn
	o.mu.Unlock()
	return o
}

// Instances returns the ids of the instances, ascending.
func (o *Object) Instances(ctx context.Context) ([]uint16, error) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return slices.Sorted(maps.Keys(o.instances)), nil
}

// checkPath refuses a path outside the object or at object level.
func (o *Object) checkPath(op string, p model.Path) error {
	if p.Len() < 2 || p.ObjectID() != o.def.ID {
		return model.Errorf(model.BadRequest, "%s %s: not a path inside object %d", op, p, o.def.ID)
	}
	return nil
}

func canRead(rd *model.ResourceDef, boot bool) bool {
	return !rd.Operations.Executable() && (boot || rd.Operations.Readable())
}

func canWrite(rd *model.ResourceDef, boot bool) bool {
	return !rd.Operations.Executable() && (boot || rd.Operations.Writable())
}

// Read returns the node at p: an instance with the resources the caller
// may read, a resource or a resource instance.
func (o *Object) Read(ctx context.Context, p model.Path) (model.Node, error) {
	if err := o.checkPath("read", p); err != nil {
		return model.Node{}, err
	}
	boot := client.IsBootstrap(ctx)
	inst := p.InstanceID()
	if p.IsInstance() {
		return o.readInstance(ctx, p, boot)
	}
	rd := o.def.Resource(p.ResourceID())
	if rd == nil {
		return model.Node{}, model.Errorf(model.NotFound, "read %s: object %d has no resource %d", p, o.def.ID, p.ResourceID())
	}
	if p.IsResourceInstance() && !rd.Multiple {
		return model.Node{}, model.Errorf(model.NotFound, "read %s: resource %d has no instances", p, rd.ID)
	}
	o.mu.RLock()
	in, ok := o.instances[inst]
	var stored model.Node
	var have bool
	if ok {
		stored, have = in[rd.ID]
		stored = stored.Clone()
	}
	hook := o.reads[rd.ID]
	o.mu.RUnlock()
	if !ok {
		return model.Node{}, model.Errorf(model.NotFound, "read %s: no instance %d", p, inst)
	}
	if !canRead(rd, boot) {
		return model.Node{}, model.Errorf(model.MethodNotAllowed, "read %s: resource %d (%s) is not readable", p, rd.ID, rd.Name)
	}
	if hook != nil {
		n, err := o.callRead(ctx, hook, rd, inst)
		if err != nil {
			return model.Node{}, fmt.Errorf("read %s: %w", p, err)
		}
		stored, have = n, true
	}
	if !have {
		return model.Node{}, model.Errorf(model.NotFound, "read %s: instance %d has no resource %d", p, inst, rd.ID)
	}
	if p.IsResource() {
		return stored, nil
	}
	c := stored.Child(p.ResourceInstanceID())
	if c == nil {
		return model.Node{}, model.Errorf(model.NotFound, "read %s: resource %d has no instance %d", p, rd.ID, p.ResourceInstanceID())
	}
	return *c, nil
}

func (o *Object) readInstance(ctx context.Context, p model.Path, boot bool) (model.Node, error) {
	inst := p.InstanceID()
	o.mu.RLock()
	in, ok := o.instances[inst]
	var res []model.Node
	var hooks []uint16
	for i := range o.def.Resources {
		rd := &o.def.Resources[i]
		if !canRead(rd, boot) || !ok {
			continue
		}
		if _, h := o.reads[rd.ID]; h {
			hooks = append(hooks, rd.ID)
			res = append(res, model.Node{ID: rd.ID}) // placeholder, Kind 0
		} else if n, have := in[rd.ID]; have {
			res = append(res, n.Clone())
		}
	}
	fns := make([]ReadNodeFunc, len(hooks))
	for i, id := range hooks {
		fns[i] = o.reads[id]
	}
	o.mu.RUnlock()
	if !ok {
		return model.Node{}, model.Errorf(model.NotFound, "read %s: no instance %d", p, inst)
	}
	// Fill the placeholders with what the hooks compute, dropping those
	// that report the resource absent.
	out := res[:0]
	h := 0
	for _, n := range res {
		if n.Kind != 0 {
			out = append(out, n)
			continue
		}
		rd := o.def.Resource(n.ID)
		v, err := o.callRead(ctx, fns[h], rd, inst)
		h++
		if model.CodeOf(err) == model.NotFound {
			continue
		}
		if err != nil {
			return model.Node{}, fmt.Errorf("read %s: %w", p, err)
		}
		out = append(out, v)
	}
	return model.Node{Kind: model.KindInstance, ID: inst, Children: out}, nil
}

// callRead runs a read hook and checks what it returns against rd.
func (o *Object) callRead(ctx context.Context, fn ReadNodeFunc, rd *model.ResourceDef, inst uint16) (model.Node, error) {
	n, err := fn(ctx, inst)
	if err != nil {
		return model.Node{}, err
	}
	n.ID = rd.ID
	n, err = ownerResource(rd, n)
	if err != nil {
		return model.Node{}, &model.Error{Code: model.InternalServerError, Msg: "read hook: " + errText(err), Err: err}
	}
	return n, nil
}

// errText returns the message of a *model.Error without its code, or the
// error's text.
func errText(err error) string {
	if e, ok := err.(*model.Error); ok && e.Msg != "" {
		return e.Msg
	}
	return err.Error()
}

// ownerResource checks a resource node the owner or a hook gives against
// rd, converting values to rd's type where nothing is lost. It returns a
// sorted copy.
func ownerResource(rd *model.ResourceDef, n model.Node) (model.Node, error) {
	if rd.Operations.Executable() {
		return n, model.Errorf(model.MethodNotAllowed, "resource %d (%s) is executable and holds no value", rd.ID, rd.Name)
	}
	n = n.Clone()
	n.Sort()
	if err := n.Validate(); err != nil {
		return n, err
	}
	conv := func(v model.Value) (model.Value, error) {
		w, err := v.Convert(rd.Type)
		if err != nil {
			return v, model.Errorf(model.BadRequest, "resource %d (%s): %s", rd.ID, rd.Name, errText(err))
		}
		return w, nil
	}
	switch {
	case rd.Multiple && n.Kind == model.KindMultipleResource:
		for i := range n.Children {
			v, err := conv(n.Children[i].Value)
			if err != nil {
				return n, err
			}
			n.Children[i].Value = v
		}
	case !rd.Multiple && n.Kind == model.KindResource:
		v, err := conv(n.Value)
		if err != nil {
			return n, err
		}
		n.Value = v
	default:
		return n, kindError(rd, n.Kind)
	}
	return n, nil
}

func kindError(rd *model.ResourceDef, k model.Kind) error {
	if rd.Multiple {
		return model.Errorf(model.BadRequest, "resource %d (%s) is multiple, not a %s", rd.ID, rd.Name, k)
	}
	return model.Errorf(model.BadRequest, "resource %d (%s) is single, not a %s", rd.ID, rd.Name, k)
}

// checkValues checks a resource node a server sends against rd: its kind
// and every value's type and range.
func checkValues(rd *model.ResourceDef, n *model.Node) error {
	switch {
	case rd.Multiple && n.Kind == model.KindMultipleResource:
		for i := range n.Children {
			if err := rd.Check(n.Children[i].Value); err != nil {
				return err
			}
		}
	case !rd.Multiple && n.Kind == model.KindResource:
		return rd.Check(n.Value)
	default:
		return kindError(rd, n.Kind)
	}
	return nil
}

// merge returns resource instances of old overridden and completed by
// those of n (a partial update of a multiple resource).
func merge(old, n model.Node) model.Node {
	out := model.Node{Kind: model.KindMultipleResource, ID: n.ID}
	out.Children = append(out.Children, old.Children...)
	for _, c := range n.Children {
		i, found := slices.BinarySearchFunc(out.Children, c.ID, func(x model.Node, id uint16) int { return int(x.ID) - int(id) })
		if found {
			out.Children[i] = c
		} else {
			out.Children = slices.Insert(out.Children, i, c)
		}
	}
	return out
}

// change is one resource a write sets or removes.
type change struct {
	id   uint16
	node model.Node // the resource once written
	del  bool
}

// plan works out what a write of n at p does to in (nil when the instance
// does not exist yet). It checks operations, kinds and values.
func (o *Object) plan(p model.Path, n *model.Node, replace, boot bool, in instance) ([]change, error) {
	switch p.Level() {
	case model.LevelInstance:
		var out []change
		for i := range n.Children {
			c := &n.Children[i]
			rd := o.def.Resource(c.ID)
			if rd == nil {
				return nil, model.Errorf(model.BadRequest, "write %s: object %d has no resource %d", p, o.def.ID, c.ID)
			}
			if !canWrite(rd, boot) {
				return nil, model.Errorf(model.MethodNotAllowed, "write %s: resource %d (%s) is not writable", p, rd.ID, rd.Name)
			}
			if err := checkValues(rd, c); err != nil {
				return nil, fmt.Errorf("write %s: %w", p, err)
			}
			node := *c
			if rd.Multiple && !replace {
				node = merge(in[c.ID], node)
			}
			out = append(out, change{id: c.ID, node: node})
		}
		if !replace {
			return out, nil
		}
		for i := range o.def.Resources {
			rd := &o.def.Resources[i]
			if n.Child(rd.ID) != nil || !canWrite(rd, boot) {
				continue
			}
			if !boot && rd.Mandatory {
				return nil, model.Errorf(model.BadRequest, "write %s: mandatory resource %d (%s) missing from a replace", p, rd.ID, rd.Name)
			}
			if _, have := in[rd.ID]; have {
				out = append(out, change{id: rd.ID, del: true})
			}
		}
		return out, nil
	case model.LevelResource, model.LevelResourceInstance:
		rd := o.def.Resource(p.ResourceID())
		if rd == nil {
			return nil, model.Errorf(model.NotFound, "write %s: object %d has no resource %d", p, o.def.ID, p.ResourceID())
		}
		if p.IsResourceInstance() && !rd.Multiple {
			return nil, model.Errorf(model.NotFound, "write %s: resource %d has no instances", p, rd.ID)
		}
		if !canWrite(rd, boot) {
			return nil, model.Errorf(model.MethodNotAllowed, "write %s: resource %d (%s) is not writable", p, rd.ID, rd.Name)
		}
		if p.IsResourceInstance() {
			if err := rd.Check(n.Value); err != nil {
				return nil, fmt.Errorf("write %s: %w", p, err)
			}
			old, have := in[rd.ID]
			if !have {
				old = model.Node{Kind: model.KindMultipleResource, ID: rd.ID}
			}
			return []change{{id: rd.ID, node: merge(old, model.Node{Kind: model.KindMultipleResource, ID: rd.ID, Children: []model.Node{*n}})}}, nil
		}
		if err := checkValues(rd, n); err != nil {
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
		node := *n
		if rd.Multiple && !replace {
			node = merge(in[rd.ID], node)
		}
		return []change{{id: rd.ID, node: node}}, nil
	}
	return nil, model.Errorf(model.BadRequest, "write %s: not a path inside object %d", p, o.def.ID)
}

// Write writes n at p (Core 1.1 section 6.3.3): at an instance path,
// replace makes the instance hold exactly n's resources among those the
// caller may write (a missing mandatory writable resource is 4.00), and a
// partial update changes only those n gives, merging the instances of a
// multiple resource; at a resource path a multiple resource is replaced
// or merged; at a resource instance path that one instance is set. The
// instance must exist (4.04), except for a bootstrap write, which creates
// it (Bootstrap-Write, Core 1.1 section 6.1.7). Write hooks run before
// anything changes.
func (o *Object) Write(ctx context.Context, p model.Path, n model.Node, replace bool) error {
	if err := o.checkPath("write", p); err != nil {
		return err
	}
	if err := n.CheckAt(p); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	n.Sort()
	if err := n.Validate(); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	boot := client.IsBootstrap(ctx)
	inst := p.InstanceID()

	o.change.Lock()
	defer o.change.Unlock()

	o.mu.RLock()
	in, exists := o.instances[inst]
	changes, err := o.plan(p, &n, replace, boot, in)
	hooks := make([]WriteFunc, len(changes))
	for i, c := range changes {
		hooks[i] = o.writes[c.id]
	}
	o.mu.RUnlock()
	if !exists && !boot {
		return model.Errorf(model.NotFound, "write %s: no instance %d", p, inst)
	}
	if err != nil {
		return err
	}
	for i, c := range changes {
		if hooks[i] == nil || c.del {
			continue
		}
		if err := hooks[i](ctx, inst, c.node.Clone()); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	in, exists = o.instances[inst]
	if !exists {
		if !boot {
			return model.Errorf(model.NotFound, "write %s: no instance %d", p, inst)
		}
		in = make(instance)
		o.instances[inst] = in
	}
	// Plan again against the state now: the owner may have set values
	// while the hooks ran, and a merge must keep them.
	changes, err = o.plan(p, &n, replace, boot, in)
	if err != nil {
		return err
	}
	for _, c := range changes {
		if c.del {
			delete(in, c.id)
			continue
		}
		rd := o.def.Resource(c.id)
		if rd.Operations == model.OpWrite && o.writes[c.id] != nil {
			continue // write-only and consumed by its hook
		}
		in[c.id] = c.node.Clone()
	}
	return nil
}

// Execute runs executable resource p with args.
func (o *Object) Execute(ctx context.Context, p model.Path, args []byte) error {
	if err := o.checkPath("execute", p); err != nil {
		return err
	}
	if !p.IsResource() {
		return model.Errorf(model.MethodNotAllowed, "execute %s: only a resource can be executed", p)
	}
	inst := p.InstanceID()
	rd := o.def.Resource(p.ResourceID())
	o.mu.RLock()
	_, exists := o.instances[inst]
	var fn ExecuteFunc
	if rd != nil {
		fn = o.execs[rd.ID]
	}
	o.mu.RUnlock()
	switch {
	case !exists:
		return model.Errorf(model.NotFound, "execute %s: no instance %d", p, inst)
	case rd == nil:
		return model.Errorf(model.NotFound, "execute %s: object %d has no resource %d", p, o.def.ID, p.ResourceID())
	case !rd.Operations.Executable():
		return model.Errorf(model.MethodNotAllowed, "execute %s: resource %d (%s) is not executable", p, rd.ID, rd.Name)
	case fn == nil && !rd.Mandatory:
		return model.Errorf(model.NotFound, "execute %s: instance %d has no resource %d", p, inst, rd.ID)
	case fn == nil:
		return nil
	}
	if err := fn(ctx, inst, args); err != nil {
		return fmt.Errorf("execute %s: %w", p, err)
	}
	return nil
}

// Create creates an instance from n (Core 1.1 section 6.3.6). n.ID is the
// id wanted, or model.NoID for the lowest free one. Refused with 4.00: a
// taken id, a second instance of a single-instance object, a resource the
// definition does not have, an executable resource, a bad value, or a
// missing mandatory writable resource (not checked for a bootstrap call);
// with 4.05 when the object is Static. Write hooks run for each resource
// given, then the create hook.
func (o *Object) Create(ctx context.Context, n model.Node) (uint16, error) {
	if n.Kind != model.KindInstance {
		return 0, model.Errorf(model.BadRequest, "create in /%d: a %s is not an object instance", o.def.ID, n.Kind)
	}
	n.Sort()
	check := n
	check.ID = 0 // model.NoID is allowed here, and Validate refuses it
	if err := check.Validate(); err != nil {
		return 0, fmt.Errorf("create in /%d: %w", o.def.ID, err)
	}
	boot := client.IsBootstrap(ctx)

	o.change.Lock()
	defer o.change.Unlock()

	o.mu.RLock()
	id, err := o.checkCreate(&n, boot)
	onCreate := o.onCreate
	hooks := make([]WriteFunc, len(n.Children))
	for i, c := range n.Children {
		hooks[i] = o.writes[c.ID]
	}
	o.mu.RUnlock()
	if err != nil {
		return 0, err
	}
	n.ID = id
	for i, c := range n.Children {
		if hooks[i] == nil {
			continue
		}
		if err := hooks[i](ctx, id, c.Clone()); err != nil {
			return 0, fmt.Errorf("create /%d/%d: %w", o.def.ID, id, err)
		}
	}
	if onCreate != nil {
		if err := onCreate(ctx, id, n.Clone()); err != nil {
			return 0, fmt.Errorf("create /%d/%d: %w", o.def.ID, id, err)
		}
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	if _, taken := o.instances[id]; taken || (!o.def.Multiple && len(o.instances) > 0) {
		return 0, model.Errorf(model.BadRequest, "create /%d/%d: the instance exists", o.def.ID, id)
	}
	in := make(instance, len(n.Children))
	for _, c := range n.Children {
		rd := o.def.Resource(c.ID)
		if rd.Operations == model.OpWrite && o.writes[c.ID] != nil {
			continue
		}
		in[c.ID] = c.Clone()
	}
	o.instances[id] = in
	return id, nil
}

// checkCreate checks a Create of n against the definition and the
// instances; it returns the id to create. o.mu is held.
func (o *Object) checkCreate(n *model.Node, boot bool) (uint16, error) {
	if o.static {
		return 0, model.Errorf(model.MethodNotAllowed, "create in /%d: the object's instances are the device's own", o.def.ID)
	}
	if !o.def.Multiple && len(o.instances) > 0 {
		return 0, model.Errorf(model.BadRequest, "create in /%d: single-instance object already has an instance", o.def.ID)
	}
	id := n.ID
	if id == model.NoID {
		for id = 0; id < model.NoID; id++ {
			if _, taken := o.instances[id]; !taken {
				break
			}
		}
		if id == model.NoID {
			return 0, model.Errorf(model.BadRequest, "create in /%d: no free instance id", o.def.ID)
		}
	} else if _, taken := o.instances[id]; taken {
		return 0, model.Errorf(model.BadRequest, "create /%d/%d: the instance exists", o.def.ID, id)
	}
	for i := range n.Children {
		c := &n.Children[i]
		rd := o.def.Resource(c.ID)
		if rd == nil {
			return 0, model.Errorf(model.BadRequest, "create /%d/%d: object %d has no resource %d", o.def.ID, id, o.def.ID, c.ID)
		}
		if rd.Operations.Executable() {
			return 0, model.Errorf(model.BadRequest, "create /%d/%d: resource %d (%s) is executable and takes no value", o.def.ID, id, rd.ID, rd.Name)
		}
		if err := checkValues(rd, c); err != nil {
			return 0, fmt.Errorf("create /%d/%d: %w", o.def.ID, id, err)
		}
	}
	if !boot {
		for i := range o.def.Resources {
			rd := &o.def.Resources[i]
			if rd.Mandatory && rd.Operations.Writable() && n.Child(rd.ID) == nil {
				return 0, model.Errorf(model.BadRequest, "create /%d/%d: mandatory resource %d (%s) missing", o.def.ID, id, rd.ID, rd.Name)
			}
		}
	}
	return id, nil
}

// Delete deletes instance id (Core 1.1 section 6.3.7): 4.04 when it does
// not exist, 4.05 when the object is Static, what the delete hook returns.
func (o *Object) Delete(ctx context.Context, id uint16) error {
	o.change.Lock()
	defer o.change.Unlock()

	o.mu.RLock()
	_, exists := o.instances[id]
	static, onDelete := o.static, o.onDelete
	o.mu.RUnlock()
	if static {
		return model.Errorf(model.MethodNotAllowed, "delete /%d/%d: the object's instances are the device's own", o.def.ID, id)
	}
	if !exists {
		return model.Errorf(model.NotFound, "delete /%d/%d: no such instance", o.def.ID, id)
	}
	if onDelete != nil {
		if err := onDelete(ctx, id); err != nil {
			return fmt.Errorf("delete /%d/%d: %w", o.def.ID, id, err)
		}
	}
	o.mu.Lock()
	delete(o.instances, id)
	o.mu.Unlock()
	return nil
}

// AddInstance adds instance n for the owner: n.ID must be free and below
// model.NoID, and its resources must be in the definition, with values of
// their types (converted where nothing is lost). No hook runs, Static
// does not apply and mandatory resources are not required. The instance
// path is reported as changed.
func (o *Object) AddInstance(n model.Node) error {
	if n.Kind != model.KindInstance || n.ID >= model.NoID {
		return model.Errorf(model.BadRequest, "add instance to /%d: want an object instance with an id below 65535", o.def.ID)
	}
	in := make(instance, len(n.Children))
	for _, c := range n.Children {
		rd := o.def.Resource(c.ID)
		if rd == nil {
			return model.Errorf(model.BadRequest, "add instance /%d/%d: object %d has no resource %d", o.def.ID, n.ID, o.def.ID, c.ID)
		}
		if _, dup := in[c.ID]; dup {
			return model.Errorf(model.BadRequest, "add instance /%d/%d: resource %d given twice", o.def.ID, n.ID, c.ID)
		}
		r, err := ownerResource(rd, c)
		if err != nil {
			return fmt.Errorf("add instance /%d/%d: %w", o.def.ID, n.ID, err)
		}
		in[c.ID] = r
	}
	o.mu.Lock()
	_, taken := o.instances[n.ID]
	switch {
	case taken:
		o.mu.Unlock()
		return model.Errorf(model.BadRequest, "add instance /%d/%d: the instance exists", o.def.ID, n.ID)
	case !o.def.Multiple && len(o.instances) > 0:
		o.mu.Unlock()
		return model.Errorf(model.BadRequest, "add instance /%d/%d: single-instance object already has an instance", o.def.ID, n.ID)
	}
	o.instances[n.ID] = in
	o.mu.Unlock()
	o.notify(model.InstancePath(o.def.ID, n.ID))
	return nil
}

// RemoveInstance removes instance id for the owner, without hooks, and
// reports its path as changed. It returns 4.04 when there is no such
// instance.
func (o *Object) RemoveInstance(id uint16) error {
	o.mu.Lock()
	_, exists := o.instances[id]
	delete(o.instances, id)
	o.mu.Unlock()
	if !exists {
		return model.Errorf(model.NotFound, "remove instance /%d/%d: no such instance", o.def.ID, id)
	}
	o.notify(model.InstancePath(o.def.ID, id))
	return nil
}

// ownerTarget resolves a resource or resource instance path for the
// owner's calls.
func (o *Object) ownerTarget(op string, p model.Path) (*model.ResourceDef, error) {
	if p.Len() < 3 || p.ObjectID() != o.def.ID {
		return nil, model.Errorf(model.BadRequest, "%s %s: not a resource path inside object %d", op, p, o.def.ID)
	}
	rd := o.def.Resource(p.ResourceID())
	if rd == nil {
		return nil, model.Errorf(model.NotFound, "%s %s: object %d has no resource %d", op, p, o.def.ID, p.ResourceID())
	}
	if p.IsResourceInstance() && !rd.Multiple {
		return nil, model.Errorf(model.NotFound, "%s %s: resource %d has no instances", op, p, rd.ID)
	}
	return rd, nil
}

// Set sets the value at p for the owner: a single resource or a resource
// instance of an existing instance, whatever the resource's operations.
// v is converted to the resource's type where nothing is lost; ranges are
// not checked (a sensor reports what it measures). When the value differs
// from the one held, p is reported as changed.
func (o *Object) Set(p model.Path, v model.Value) error {
	changed, err := o.set(p, v)
	if changed {
		o.notify(p)
	}
	return err
}

// set is Set without the report; it tells whether the value changed.
func (o *Object) set(p model.Path, v model.Value) (bool, error) {
	rd, err := o.ownerTarget("set", p)
	if err != nil {
		return false, err
	}
	if p.IsResource() && rd.Multiple {
		return false, model.Errorf(model.BadRequest, "set %s: resource %d (%s) is multiple: set an instance of it, or use SetNode", p, rd.ID, rd.Name)
	}
	n := model.NewResource(rd.ID, v)
	if rd.Multiple {
		n = model.NewMultipleResource(rd.ID, model.NewResourceInstance(p.ResourceInstanceID(), v))
	}
	n, err = ownerResource(rd, n)
	if err != nil {
		return false, fmt.Errorf("set %s: %w", p, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	in, exists := o.instances[p.InstanceID()]
	if !exists {
		return false, model.Errorf(model.NotFound, "set %s: no instance %d", p, p.InstanceID())
	}
	old, have := in[rd.ID]
	same := false
	if rd.Multiple {
		if c := old.Child(p.ResourceInstanceID()); have && c != nil {
			same = c.Value == n.Children[0].Value
		}
		if !have {
			old = model.Node{Kind: model.KindMultipleResource, ID: rd.ID}
		}
		in[rd.ID] = merge(old, n)
	} else {
		same = have && old.Value == n.Value
		in[rd.ID] = n
	}
	return !same, nil
}

// SetNode sets resource p (a resource path) to n for the owner: a
// model.KindResource or model.KindMultipleResource node, whose ID must be
// p's resource id; a multiple resource gets exactly n's instances. Values
// are converted as Set converts them. When the resource differs from the
// one held, p is reported as changed.
func (o *Object) SetNode(p model.Path, n model.Node) error {
	rd, err := o.ownerTarget("set", p)
	if err != nil {
		return err
	}
	if !p.IsResource() || n.ID != rd.ID {
		return model.Errorf(model.BadRequest, "set %s: want a resource path and a node with its id", p)
	}
	n, err = ownerResource(rd, n)
	if err != nil {
		return fmt.Errorf("set %s: %w", p, err)
	}
	o.mu.Lock()
	in, exists := o.instances[p.InstanceID()]
	if !exists {
		o.mu.Unlock()
		return model.Errorf(model.NotFound, "set %s: no instance %d", p, p.InstanceID())
	}
	old, have := in[rd.ID]
	same := have && old.Equal(&n)
	in[rd.ID] = n
	o.mu.Unlock()
	if !same {
		o.notify(p)
	}
	return nil
}

// Remove removes the resource or resource instance at p for the owner and
// reports p as changed. Removing what is not there is not an error.
func (o *Object) Remove(p model.Path) error {
	rd, err := o.ownerTarget("remove", p)
	if err != nil {
		return err
	}
	o.mu.Lock()
	removed, err := o.removeLocked(rd, p)
	o.mu.Unlock()
	if removed {
		o.notify(p)
	}
	return err
}

// remove is Remove without the report.
func (o *Object) remove(p model.Path) error {
	rd, err := o.ownerTarget("remove", p)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, err = o.removeLocked(rd, p)
	return err
}

// removeLocked removes what p names; it tells whether there was anything.
// o.mu is held.
func (o *Object) removeLocked(rd *model.ResourceDef, p model.Path) (bool, error) {
	in, exists := o.instances[p.InstanceID()]
	if !exists {
		return false, model.Errorf(model.NotFound, "remove %s: no instance %d", p, p.InstanceID())
	}
	old, have := in[rd.ID]
	switch {
	case !have:
		return false, nil
	case p.IsResource():
		delete(in, rd.ID)
		return true, nil
	}
	ri := p.ResourceInstanceID()
	if old.Child(ri) == nil {
		return false, nil
	}
	kept := model.Node{Kind: model.KindMultipleResource, ID: rd.ID}
	for _, c := range old.Children {
		if c.ID != ri {
			kept.Children = append(kept.Children, c)
		}
	}
	in[rd.ID] = kept
	return true, nil
}

// Get returns the value held at p, a single resource or a resource
// instance, for the owner; ok is false when there is none. Read hooks do
// not run.
func (o *Object) Get(p model.Path) (v model.Value, ok bool) {
	n, ok := o.Node(p)
	if !ok || !n.HasValue() {
		return model.Value{}, false
	}
	return n.Value, true
}

// Node returns a copy of the node held at p (an instance, a resource or a
// resource instance) for the owner; ok is false when there is none. Read
// hooks do not run.
func (o *Object) Node(p model.Path) (n model.Node, ok bool) {
	if p.Len() < 2 || p.ObjectID() != o.def.ID {
		return model.Node{}, false
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	in, exists := o.instances[p.InstanceID()]
	if !exists {
		return model.Node{}, false
	}
	if p.IsInstance() {
		return instanceNode(p.InstanceID(), in), true
	}
	r, have := in[p.ResourceID()]
	if !have {
		return model.Node{}, false
	}
	if p.IsResource() {
		return r.Clone(), true
	}
	c := r.Child(p.ResourceInstanceID())
	if c == nil {
		return model.Node{}, false
	}
	return *c, true
}

// instanceNode returns a copy of in as an instance node.
func instanceNode(id uint16, in instance) model.Node {
	n := model.Node{Kind: model.KindInstance, ID: id, Children: make([]model.Node, 0, len(in))}
	for _, rid := range slices.Sorted(maps.Keys(in)) {
		n.Children = append(n.Children, in[rid].Clone())
	}
	return n
}

// snapshot returns a copy of every instance, ascending, for the built-in
// objects that read their configuration back.
func (o *Object) snapshot() []model.Node {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]model.Node, 0, len(o.instances))
	for _, id := range slices.Sorted(maps.Keys(o.instances)) {
		out = append(out, instanceNode(id, o.instances[id]))
	}
	return out
}
