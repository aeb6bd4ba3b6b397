package stdobj

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/model"
)

// testDef has a resource of every kind the generic object treats apart.
var testDef = &model.ObjectDef{
	ID: 10000, Name: "Test", Version: model.V1_0, Multiple: true,
	Resources: []model.ResourceDef{
		{ID: 0, Name: "RO", Operations: model.OpRead, Mandatory: true, Type: model.TypeInteger},
		{ID: 1, Name: "RW", Operations: model.OpRead | model.OpWrite, Mandatory: true, Type: model.TypeString},
		{ID: 2, Name: "RWopt", Operations: model.OpRead | model.OpWrite, Type: model.TypeFloat, RangeText: "0..100", Range: model.Range{Min: 0, Max: 100}, HasRange: true},
		{ID: 3, Name: "W", Operations: model.OpWrite, Type: model.TypeOpaque},
		{ID: 4, Name: "E", Operations: model.OpExecute, Type: model.TypeNone},
		{ID: 5, Name: "Multi", Operations: model.OpRead | model.OpWrite, Multiple: true, Type: model.TypeInteger},
		{ID: 6, Name: "Boot", Type: model.TypeBoolean},
		{ID: 7, Name: "Emand", Operations: model.OpExecute, Mandatory: true, Type: model.TypeNone},
		{ID: 8, Name: "ROmulti", Operations: model.OpRead, Multiple: true, Type: model.TypeString},
	},
}

// singleDef is a single-instance object.
var singleDef = &model.ObjectDef{
	ID: 10001, Name: "Single", Version: model.V1_0,
	Resources: []model.ResourceDef{
		{ID: 0, Name: "RW", Operations: model.OpRead | model.OpWrite, Type: model.TypeInteger},
	},
}

func p(s string) model.Path { return model.MustPath(s) }

// inst0 is instance 0 of testDef as the tests start from it.
func inst0() model.Node {
	return model.NewInstance(0,
		model.NewResource(0, model.Int(7)),
		model.NewResource(1, model.String("a")),
		model.NewResource(3, model.OpaqueString("w")),
		model.NewMultipleResourceOf(5, model.Int(10), model.Int(11)),
		model.NewResource(6, model.Bool(true)),
	)
}

func newTest() *Object { return New(testDef, inst0()) }

var (
	ctx  = context.Background()
	boot = client.WithBootstrap(context.Background())
)

func wantCode(t *testing.T, err error, want model.Code) {
	t.Helper()
	if got := model.CodeOf(err); got != want {
		t.Fatalf("error %v: code %v, want %v", err, got, want)
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
		path string
		want model.Node
		code model.Code
	}{
		{"instance without unreadable resources", ctx, "/10000/0", model.NewInstance(0,
			model.NewResource(0, model.Int(7)),
			model.NewResource(1, model.String("a")),
			model.NewMultipleResourceOf(5, model.Int(10), model.Int(11))), 0},
		{"bootstrap instance has every value", boot, "/10000/0", model.NewInstance(0,
			model.NewResource(0, model.Int(7)),
			model.NewResource(1, model.String("a")),
			model.NewResource(3, model.OpaqueString("w")),
			model.NewMultipleResourceOf(5, model.Int(10), model.Int(11)),
			model.NewResource(6, model.Bool(true))), 0},
		{"read-only resource", ctx, "/10000/0/0", model.NewResource(0, model.Int(7)), 0},
		{"multiple resource", ctx, "/10000/0/5", model.NewMultipleResourceOf(5, model.Int(10), model.Int(11)), 0},
		{"resource instance", ctx, "/10000/0/5/1", model.NewResourceInstance(1, model.Int(11)), 0},
		{"absent resource instance", ctx, "/10000/0/5/9", model.Node{}, model.NotFound},
		{"instance of a single resource", ctx, "/10000/0/1/0", model.Node{}, model.NotFound},
		{"write-only", ctx, "/10000/0/3", model.Node{}, model.MethodNotAllowed},
		{"write-only by bootstrap", boot, "/10000/0/3", model.NewResource(3, model.OpaqueString("w")), 0},
		{"no operation", ctx, "/10000/0/6", model.Node{}, model.MethodNotAllowed},
		{"no operation by bootstrap", boot, "/10000/0/6", model.NewResource(6, model.Bool(true)), 0},
		{"executable", ctx, "/10000/0/4", model.Node{}, model.MethodNotAllowed},
		{"executable by bootstrap", boot, "/10000/0/4", model.Node{}, model.MethodNotAllowed},
		{"undefined resource", ctx, "/10000/0/99", model.Node{}, model.NotFound},
		{"absent optional resource", ctx, "/10000/0/2", model.Node{}, model.NotFound},
		{"absent instance", ctx, "/10000/1", model.Node{}, model.NotFound},
		{"absent instance resource", ctx, "/10000/1/0", model.Node{}, model.NotFound},
		{"other object", ctx, "/3/0/0", model.Node{}, model.BadRequest},
		{"object level", ctx, "/10000", model.Node{}, model.BadRequest},
	}
	o := newTest()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := o.Read(tc.ctx, p(tc.path))
			wantCode(t, err, tc.code)
			if err != nil {
				return
			}
			if !got.Equal(&tc.want) {
				t.Fatalf("read %s = %v, want %v", tc.path, got, tc.want)
			}
			if err := got.CheckAt(p(tc.path)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestReadCopies(t *testing.T) {
	o := newTest()
	n, err := o.Read(ctx, p("/10000/0/5"))
	if err != nil {
		t.Fatal(err)
	}
	n.Children[0].Value = model.Int(99)
	again, _ := o.Read(ctx, p("/10000/0/5/0"))
	if again.Value != model.Int(10) {
		t.Fatalf("changing a read node changed the object: %v", again)
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name    string
		ctx     context.Context
		path    string
		node    model.Node
		replace bool
		code    model.Code
		want    model.Node // instance 0 afterwards, seen by a bootstrap read
	}{
		{
			name: "single resource", ctx: ctx, path: "/10000/0/1", replace: true,
			node: model.NewResource(1, model.String("b")),
			want: model.NewInstance(0,
				model.NewResource(0, model.Int(7)), model.NewResource(1, model.String("b")),
				model.NewResource(3, model.OpaqueString("w")),
				model.NewMultipleResourceOf(5, model.Int(10), model.Int(11)), model.NewResource(6, model.Bool(true))),
		},
		{
			name: "absent optional resource is created", ctx: ctx, path: "/10000/0/2", replace: true,
			node: model.NewResource(2, model.Float(1.5)),
			want: model.NewInstance(0,
				model.NewResource(0, model.Int(7)), model.NewResource(1, model.String("a")),
				model.NewResource(2, model.Float(1.5)), model.NewResource(3, model.OpaqueString("w")),
				model.NewMultipleResourceOf(5, model.Int(10), model.Int(11)), model.NewResource(6, model.Bool(true))),
		},
		{
			name: "multiple resource replaced", ctx: ctx, path: "/10000/0/5", replace: true,
			node: model.NewMultipleResource(5, model.NewResourceInstance(3, model.Int(30))),
			want: model.NewInstance(0,
				model.NewResource(0, model.Int(7)), model.NewResource(1, model.String("a")),
				model.NewResource(3, model.OpaqueString("w")),
				model.NewMultipleResource(5, model.NewResourceInstance(3, model.Int(30))), model.NewResource(6, model.Bool(true))),
		},
		{
			name: "multiple resource merged", ctx: ctx, path: "/10000/0/5", replace: false,
			node: model.NewMultipleResource(5, model.NewResourceInstance(1, model.Int(21)), model.NewResourceInstance(3, model.Int(30))),
			want: model.NewInstance(0,
				model.NewResource(0, model.Int(7)), model.NewResource(1, model.String("a")),
				model.NewResource(3, model.OpaqueString("w")),
				model.NewMultipleResource(5, model.NewResourceInstance(0, model.Int(10)), model.NewResourceInstance(1, model.Int(21)), model.NewResourceInstance(3, model.Int(30))),
				model.NewResource(6, model.Bool(true))),
		},
		{
			name: "resource instance", ctx: ctx, path: "/10000/0/5/7", replace: true,
			node: model.NewResourceInstance(7, model.Int(70)),
			want: model.NewInstance(0,
				model.NewResource(0, model.Int(7)), model.NewResource(1, model.String("a")),
				model.NewResource(3, model.OpaqueString("w")),
				model.NewMultipleResource(5, model.NewResourceInstance(0, model.Int(10)), model.NewResourceInstance(1, model.Int(11)), model.NewResourceInstance(7, model.Int(70))),
				model.NewResource(6, model.Bool(true))),
		},
		{
			name: "instance replace removes writable resources not given", ctx: ctx, path: "/10000/0", replace: true,
			node: model.NewInstance(0, model.NewResource(1, model.String("r")), model.NewResource(2, model.Float(3))),
			want: model.NewInstance(0,
				model.NewResource(0, model.Int(7)), model.NewResource(1, model.String("r")),
				model.NewResource(2, model.Float(3)), model.NewResource(6, model.Bool(true))),
		},
		{
			name: "instance partial update keeps the rest and merges", ctx: ctx, path: "/10000/0", replace: false,
			node: model.NewInstance(0, model.NewMultipleResource(5, model.NewResourceInstance(2, model.Int(12)))),
			want: model.NewInstance(0,
				model.NewResource(0, model.Int(7)), model.NewResource(1, model.String("a")),
				model.NewResource(3, model.OpaqueString("w")),
				model.NewMultipleResourceOf(5, model.Int(10), model.Int(11), model.Int(12)), model.NewResource(6, model.Bool(true))),
		},
		{
			name: "instance replace replaces a multiple resource", ctx: ctx, path: "/10000/0", replace: true,
			node: model.NewInstance(0, model.NewResource(1, model.String("a")), model.NewMultipleResource(5, model.NewResourceInstance(2, model.Int(12)))),
			want: model.NewInstance(0,
				model.NewResource(0, model.Int(7)), model.NewResource(1, model.String("a")),
				model.NewMultipleResource(5, model.NewResourceInstance(2, model.Int(12))), model.NewResource(6, model.Bool(true))),
		},
		{
			name: "bootstrap writes read-only and no-operation resources", ctx: boot, path: "/10000/0", replace: false,
			node: model.NewInstance(0, model.NewResource(0, model.Int(8)), model.NewResource(6, model.Bool(false))),
			want: model.NewInstance(0,
				model.NewResource(0, model.Int(8)), model.NewResource(1, model.String("a")),
				model.NewResource(3, model.OpaqueString("w")),
				model.NewMultipleResourceOf(5, model.Int(10), model.Int(11)), model.NewResource(6, model.Bool(false))),
		},
		{
			name: "bootstrap replace makes the instance exactly the node", ctx: boot, path: "/10000/0", replace: true,
			node: model.NewInstance(0, model.NewResource(6, model.Bool(false))),
			want: model.NewInstance(0, model.NewResource(6, model.Bool(false))),
		},
		{
			name: "bootstrap write creates the instance", ctx: boot, path: "/10000/4/6", replace: true,
			node: model.NewResource(6, model.Bool(true)),
			want: inst0(),
		},
		{name: "read-only resource", ctx: ctx, path: "/10000/0/0", replace: true, node: model.NewResource(0, model.Int(1)), code: model.MethodNotAllowed},
		{name: "no-operation resource", ctx: ctx, path: "/10000/0/6", replace: true, node: model.NewResource(6, model.Bool(false)), code: model.MethodNotAllowed},
		{name: "executable resource", ctx: boot, path: "/10000/0/4", replace: true, node: model.NewResource(4, model.Value{}), code: model.MethodNotAllowed},
		{name: "read-only resource in an instance", ctx: ctx, path: "/10000/0", node: model.NewInstance(0, model.NewResource(0, model.Int(1))), code: model.MethodNotAllowed},
		{name: "wrong type", ctx: ctx, path: "/10000/0/1", replace: true, node: model.NewResource(1, model.Int(1)), code: model.BadRequest},
		{name: "out of range", ctx: ctx, path: "/10000/0/2", replace: true, node: model.NewResource(2, model.Float(101)), code: model.BadRequest},
		{name: "wrong type in a resource instance", ctx: ctx, path: "/10000/0/5/0", replace: true, node: model.NewResourceInstance(0, model.String("x")), code: model.BadRequest},
		{name: "single value to a multiple resource", ctx: ctx, path: "/10000/0/5", replace: true, node: model.NewResource(5, model.Int(1)), code: model.BadRequest},
		{name: "multiple value to a single resource", ctx: ctx, path: "/10000/0/1", replace: true, node: model.NewMultipleResourceOf(1, model.String("x")), code: model.BadRequest},
		{name: "instance of a single resource", ctx: ctx, path: "/10000/0/1/0", replace: true, node: model.NewResourceInstance(0, model.String("x")), code: model.NotFound},
		{name: "undefined resource", ctx: ctx, path: "/10000/0/99", replace: true, node: model.NewResource(99, model.Int(1)), code: model.NotFound},
		{name: "undefined resource in an instance", ctx: ctx, path: "/10000/0", node: model.NewInstance(0, model.NewResource(99, model.Int(1))), code: model.BadRequest},
		{name: "replace without a mandatory writable resource", ctx: ctx, path: "/10000/0", replace: true, node: model.NewInstance(0, model.NewResource(2, model.Float(1))), code: model.BadRequest},
		{name: "absent instance", ctx: ctx, path: "/10000/4/1", replace: true, node: model.NewResource(1, model.String("x")), code: model.NotFound},
		{name: "node id not the path's", ctx: ctx, path: "/10000/0/1", replace: true, node: model.NewResource(2, model.Float(1)), code: model.BadRequest},
		{name: "node kind not the path's", ctx: ctx, path: "/10000/0", replace: true, node: model.NewResource(0, model.Int(1)), code: model.BadRequest},
		{name: "other object", ctx: ctx, path: "/3/0/1", replace: true, node: model.NewResource(1, model.String("x")), code: model.BadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newTest()
			err := o.Write(tc.ctx, p(tc.path), tc.node, tc.replace)
			wantCode(t, err, tc.code)
			if err != nil {
				got, _ := o.Read(boot, p("/10000/0"))
				if want := inst0(); !got.Equal(&want) {
					t.Fatalf("a refused write changed the instance: %v", got)
				}
				return
			}
			wp := p(tc.path).Truncate(2)
			got, err := o.Read(boot, wp)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.ID = wp.InstanceID()
			if wp.InstanceID() != 0 { // created by a bootstrap write
				want = model.NewInstance(wp.InstanceID(), tc.node)
			}
			if !got.Equal(&want) {
				t.Fatalf("after write\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestExecute(t *testing.T) {
	var ran []string
	o := newTest().OnExecute(4, func(ctx context.Context, inst uint16, args []byte) error {
		ran = append(ran, string(args))
		if string(args) == "bad" {
			return model.Errorf(model.BadRequest, "bad argument")
		}
		return nil
	})
	tests := []struct {
		name, path, args string
		code             model.Code
		ran              bool
	}{
		{"runs the hook with the arguments", "/10000/0/4", "0='x'", 0, true},
		{"hook refusal", "/10000/0/4", "bad", model.BadRequest, true},
		{"mandatory without a hook does nothing", "/10000/0/7", "", 0, false},
		{"not executable", "/10000/0/1", "", model.MethodNotAllowed, false},
		{"undefined resource", "/10000/0/99", "", model.NotFound, false},
		{"absent instance", "/10000/3/4", "", model.NotFound, false},
		{"instance path", "/10000/0", "", model.MethodNotAllowed, false},
		{"resource instance path", "/10000/0/5/0", "", model.MethodNotAllowed, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ran = nil
			wantCode(t, o.Execute(ctx, p(tc.path), []byte(tc.args)), tc.code)
			if tc.ran != (len(ran) == 1) || tc.ran && ran[0] != tc.args {
				t.Fatalf("hook ran %q", ran)
			}
		})
	}
	t.Run("optional without a hook is absent", func(t *testing.T) {
		wantCode(t, newTest().Execute(ctx, p("/10000/0/4"), nil), model.NotFound)
	})
}

func TestCreate(t *testing.T) {
	valid := func(id uint16) model.Node {
		return model.NewInstance(id, model.NewResource(1, model.String("c")))
	}
	tests := []struct {
		name  string
		ctx   context.Context
		def   *model.ObjectDef
		node  model.Node
		code  model.Code
		id    uint16
		check func(t *testing.T, o *Object)
	}{
		{name: "lowest free id", ctx: ctx, node: valid(model.NoID), id: 1},
		{name: "id asked", ctx: ctx, node: valid(9), id: 9},
		{name: "read-only resource may be given", ctx: ctx, node: model.NewInstance(2, model.NewResource(0, model.Int(1)), model.NewResource(1, model.String("c"))), id: 2},
		{name: "multiple resource", ctx: ctx, node: model.NewInstance(2, model.NewResource(1, model.String("c")), model.NewMultipleResourceOf(5, model.Int(1))), id: 2},
		{name: "taken id", ctx: ctx, node: valid(0), code: model.BadRequest},
		{name: "missing mandatory writable resource", ctx: ctx, node: model.NewInstance(2, model.NewResource(2, model.Float(1))), code: model.BadRequest},
		{name: "bootstrap needs no mandatory resource", ctx: boot, node: model.NewInstance(2, model.NewResource(6, model.Bool(true))), id: 2},
		{name: "undefined resource", ctx: ctx, node: model.NewInstance(2, model.NewResource(1, model.String("c")), model.NewResource(99, model.Int(1))), code: model.BadRequest},
		{name: "executable resource", ctx: ctx, node: model.NewInstance(2, model.NewResource(1, model.String("c")), model.NewResource(4, model.Value{})), code: model.BadRequest},
		{name: "wrong type", ctx: ctx, node: model.NewInstance(2, model.NewResource(1, model.Int(1))), code: model.BadRequest},
		{name: "out of range", ctx: ctx, node: model.NewInstance(2, model.NewResource(1, model.String("c")), model.NewResource(2, model.Float(-1))), code: model.BadRequest},
		{name: "not an instance", ctx: ctx, node: model.NewResource(1, model.String("c")), code: model.BadRequest},
		{name: "duplicate resource", ctx: ctx, node: model.Node{Kind: model.KindInstance, ID: 2, Children: []model.Node{model.NewResource(1, model.String("c")), model.NewResource(1, model.String("d"))}}, code: model.BadRequest},
		{name: "single-instance object with an instance", ctx: ctx, def: singleDef, node: model.NewInstance(model.NoID), code: model.BadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newTest()
			if tc.def != nil {
				o = New(tc.def, model.NewInstance(0))
			}
			id, err := o.Create(tc.ctx, tc.node)
			wantCode(t, err, tc.code)
			ids, _ := o.Instances(ctx)
			if err != nil {
				if len(ids) != 1 {
					t.Fatalf("a refused create left instances %v", ids)
				}
				return
			}
			if id != tc.id {
				t.Fatalf("created %d, want %d", id, tc.id)
			}
			got, _ := o.Node(model.InstancePath(o.def.ID, id))
			want := tc.node
			want.ID = id
			if !got.Equal(&want) {
				t.Fatalf("created %v, want %v", got, want)
			}
		})
	}
	t.Run("single-instance object without an instance", func(t *testing.T) {
		o := New(singleDef)
		id, err := o.Create(ctx, model.NewInstance(model.NoID))
		if err != nil || id != 0 {
			t.Fatalf("create = %d, %v", id, err)
		}
	})
	t.Run("static", func(t *testing.T) {
		_, err := newTest().Static().Create(ctx, valid(model.NoID))
		wantCode(t, err, model.MethodNotAllowed)
	})
}

func TestDelete(t *testing.T) {
	tests := []struct {
		name   string
		obj    func() *Object
		id     uint16
		code   model.Code
		remain int
	}{
		{"existing", newTest, 0, 0, 0},
		{"absent", newTest, 1, model.NotFound, 1},
		{"static", func() *Object { return newTest().Static() }, 0, model.MethodNotAllowed, 1},
		{"hook refusal", func() *Object {
			return newTest().OnDelete(func(ctx context.Context, inst uint16) error {
				return model.Errorf(model.MethodNotAllowed, "kept")
			})
		}, 0, model.MethodNotAllowed, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.obj()
			wantCode(t, o.Delete(ctx, tc.id), tc.code)
			if ids, _ := o.Instances(ctx); len(ids) != tc.remain {
				t.Fatalf("instances %v after delete", ids)
			}
		})
	}
}

func TestInstances(t *testing.T) {
	o := New(testDef, model.NewInstance(5), model.NewInstance(1), model.NewInstance(3))
	ids, err := o.Instances(ctx)
	if err != nil || !slices.Equal(ids, []uint16{1, 3, 5}) {
		t.Fatalf("instances = %v, %v", ids, err)
	}
}

func TestReadHooks(t *testing.T) {
	o := newTest().
		OnRead(2, func(ctx context.Context, inst uint16) (model.Value, error) {
			return model.Int(int64(inst) + 40), nil // converted to Float
		}).
		OnReadNode(8, func(ctx context.Context, inst uint16) (model.Node, error) {
			if inst == 1 {
				return model.Node{}, model.ErrNotFound
			}
			return model.NewMultipleResourceOf(8, model.String("x"), model.String("y")), nil
		}).
		OnRead(0, func(ctx context.Context, inst uint16) (model.Value, error) {
			if inst == 2 {
				return model.Value{}, errors.New("sensor gone")
			}
			return model.String("not an integer"), nil
		})
	for _, id := range []uint16{1, 2} {
		if err := o.AddInstance(model.NewInstance(id)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		path string
		want model.Node
		code model.Code
	}{
		{"value hook, converted", "/10000/0/2", model.NewResource(2, model.Float(40)), 0},
		{"hook makes the resource exist", "/10000/1/2", model.NewResource(2, model.Float(41)), 0},
		{"node hook", "/10000/0/8", model.NewMultipleResourceOf(8, model.String("x"), model.String("y")), 0},
		{"node hook instance", "/10000/0/8/1", model.NewResourceInstance(1, model.String("y")), 0},
		{"hook says absent", "/10000/1/8", model.Node{}, model.NotFound},
		{"hook value of the wrong type", "/10000/0/0", model.Node{}, model.InternalServerError},
		{"hook failure", "/10000/2/0", model.Node{}, model.InternalServerError},
		{"instance read fails with a hook", "/10000/1", model.Node{}, model.InternalServerError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := o.Read(ctx, p(tc.path))
			wantCode(t, err, tc.code)
			if err == nil && !got.Equal(&tc.want) {
				t.Fatalf("read = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("instance with hooks", func(t *testing.T) {
		o := New(testDef, model.NewInstance(1)).
			OnRead(2, func(ctx context.Context, inst uint16) (model.Value, error) { return model.Float(1), nil }).
			OnReadNode(8, func(ctx context.Context, inst uint16) (model.Node, error) { return model.Node{}, model.ErrNotFound })
		got, err := o.Read(ctx, p("/10000/1"))
		want := model.NewInstance(1, model.NewResource(2, model.Float(1)))
		if err != nil || !got.Equal(&want) {
			t.Fatalf("read = %v, %v; want %v", got, err, want)
		}
	})
}

func TestWriteHooks(t *testing.T) {
	var seen []model.Node
	record := func(ctx context.Context, inst uint16, v model.Node) error {
		seen = append(seen, v)
		return nil
	}
	tests := []struct {
		name    string
		path    string
		node    model.Node
		replace bool
		seen    []model.Node
		code    model.Code
	}{
		{"single resource", "/10000/0/1", model.NewResource(1, model.String("b")), true,
			[]model.Node{model.NewResource(1, model.String("b"))}, 0},
		{"merged multiple resource", "/10000/0/5/3", model.NewResourceInstance(3, model.Int(13)), true,
			[]model.Node{model.NewMultipleResource(5, model.NewResourceInstance(0, model.Int(10)), model.NewResourceInstance(1, model.Int(11)), model.NewResourceInstance(3, model.Int(13)))}, 0},
		{"refusal", "/10000/0/1", model.NewResource(1, model.String("no")), true,
			[]model.Node{model.NewResource(1, model.String("no"))}, model.BadRequest},
		{"definition checks come first", "/10000/0/1", model.NewResource(1, model.Int(3)), true, nil, model.BadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			o := newTest().OnWrite(1, func(ctx context.Context, inst uint16, v model.Node) error {
				record(ctx, inst, v)
				if v.Value.Str() == "no" {
					return model.Errorf(model.BadRequest, "refused")
				}
				return nil
			}).OnWrite(5, record)
			wantCode(t, o.Write(ctx, p(tc.path), tc.node, tc.replace), tc.code)
			if len(seen) != len(tc.seen) {
				t.Fatalf("hook saw %v, want %v", seen, tc.seen)
			}
			for i := range seen {
				if !seen[i].Equal(&tc.seen[i]) {
					t.Fatalf("hook saw %v, want %v", seen[i], tc.seen[i])
				}
			}
			if tc.code != 0 {
				if v, _ := o.Get(p("/10000/0/1")); v != model.String("a") {
					t.Fatalf("refused write applied: %v", v)
				}
			}
		})
	}
	t.Run("write-only resource consumed by its hook", func(t *testing.T) {
		o := newTest()
		_ = o.Remove(p("/10000/0/3"))
		o.OnWrite(3, func(ctx context.Context, inst uint16, v model.Node) error { return nil })
		if err := o.Write(ctx, p("/10000/0/3"), model.NewResource(3, model.OpaqueString("big")), true); err != nil {
			t.Fatal(err)
		}
		if _, ok := o.Get(p("/10000/0/3")); ok {
			t.Fatal("write-only value kept")
		}
	})
	t.Run("create runs write hooks then the create hook", func(t *testing.T) {
		var order []string
		o := newTest().OnWrite(1, func(ctx context.Context, inst uint16, v model.Node) error {
			order = append(order, "write")
			return nil
		}).OnCreate(func(ctx context.Context, inst uint16, n model.Node) error {
			order = append(order, "create")
			if inst == 5 {
				return model.Errorf(model.BadRequest, "not 5")
			}
			return nil
		})
		if _, err := o.Create(ctx, model.NewInstance(3, model.NewResource(1, model.String("x")))); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(order, []string{"write", "create"}) {
			t.Fatalf("hooks ran %v", order)
		}
		_, err := o.Create(ctx, model.NewInstance(5, model.NewResource(1, model.String("x"))))
		wantCode(t, err, model.BadRequest)
		if _, ok := o.Node(p("/10000/5")); ok {
			t.Fatal("refused create made the instance")
		}
	})
}

// recorder collects what an object reports through Observe.
type recorder struct {
	mu    sync.Mutex
	paths []model.Path
}

func (r *recorder) changed(paths ...model.Path) {
	r.mu.Lock()
	r.paths = append(r.paths, paths...)
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.paths))
	for i, p := range r.paths {
		out[i] = p.String()
	}
	r.paths = nil
	return out
}

func TestOwner(t *testing.T) {
	tests := []struct {
		name     string
		do       func(o *Object) error
		code     model.Code
		reported []string
		path     string
		want     model.Node
	}{
		{"set read-only", func(o *Object) error { return o.Set(p("/10000/0/0"), model.Int(9)) }, 0,
			[]string{"/10000/0/0"}, "/10000/0/0", model.NewResource(0, model.Int(9))},
		{"set the same value reports nothing", func(o *Object) error { return o.Set(p("/10000/0/0"), model.Int(7)) }, 0,
			[]string{}, "/10000/0/0", model.NewResource(0, model.Int(7))},
		{"set converts", func(o *Object) error { return o.Set(p("/10000/0/2"), model.Int(3)) }, 0,
			[]string{"/10000/0/2"}, "/10000/0/2", model.NewResource(2, model.Float(3))},
		{"set ignores the range", func(o *Object) error { return o.Set(p("/10000/0/2"), model.Float(500)) }, 0,
			[]string{"/10000/0/2"}, "/10000/0/2", model.NewResource(2, model.Float(500))},
		{"set a resource instance", func(o *Object) error { return o.Set(p("/10000/0/5/4"), model.Int(14)) }, 0,
			[]string{"/10000/0/5/4"}, "/10000/0/5", model.NewMultipleResource(5, model.NewResourceInstance(0, model.Int(10)), model.NewResourceInstance(1, model.Int(11)), model.NewResourceInstance(4, model.Int(14)))},
		{"set a new multiple resource", func(o *Object) error { return o.Set(p("/10000/0/8/2"), model.String("s")) }, 0,
			[]string{"/10000/0/8/2"}, "/10000/0/8", model.NewMultipleResource(8, model.NewResourceInstance(2, model.String("s")))},
		{"set a multiple resource at resource level", func(o *Object) error { return o.Set(p("/10000/0/5"), model.Int(1)) }, model.BadRequest, nil, "", model.Node{}},
		{"set the wrong type", func(o *Object) error { return o.Set(p("/10000/0/1"), model.Bool(true)) }, model.BadRequest, nil, "", model.Node{}},
		{"set an executable", func(o *Object) error { return o.Set(p("/10000/0/4"), model.Int(1)) }, model.MethodNotAllowed, nil, "", model.Node{}},
		{"set an undefined resource", func(o *Object) error { return o.Set(p("/10000/0/99"), model.Int(1)) }, model.NotFound, nil, "", model.Node{}},
		{"set in an absent instance", func(o *Object) error { return o.Set(p("/10000/9/1"), model.String("x")) }, model.NotFound, nil, "", model.Node{}},
		{"set at instance level", func(o *Object) error { return o.Set(p("/10000/0"), model.String("x")) }, model.BadRequest, nil, "", model.Node{}},
		{"set node", func(o *Object) error { return o.SetNode(p("/10000/0/5"), model.NewMultipleResourceOf(5, model.Int(1))) }, 0,
			[]string{"/10000/0/5"}, "/10000/0/5", model.NewMultipleResourceOf(5, model.Int(1))},
		{"set node of another id", func(o *Object) error { return o.SetNode(p("/10000/0/5"), model.NewMultipleResourceOf(8)) }, model.BadRequest, nil, "", model.Node{}},
		{"set node of the wrong kind", func(o *Object) error { return o.SetNode(p("/10000/0/5"), model.NewResource(5, model.Int(1))) }, model.BadRequest, nil, "", model.Node{}},
		{"remove a resource", func(o *Object) error { return o.Remove(p("/10000/0/1")) }, 0, []string{"/10000/0/1"}, "", model.Node{}},
		{"remove a resource instance", func(o *Object) error { return o.Remove(p("/10000/0/5/0")) }, 0,
			[]string{"/10000/0/5/0"}, "/10000/0/5", model.NewMultipleResource(5, model.NewResourceInstance(1, model.Int(11)))},
		{"remove what is not there", func(o *Object) error { return o.Remove(p("/10000/0/2")) }, 0, []string{}, "", model.Node{}},
		{"add an instance", func(o *Object) error {
			return o.AddInstance(model.NewInstance(3, model.NewResource(0, model.Float(2))))
		}, 0,
			[]string{"/10000/3"}, "/10000/3", model.NewInstance(3, model.NewResource(0, model.Int(2)))},
		{"add a taken instance", func(o *Object) error { return o.AddInstance(model.NewInstance(0)) }, model.BadRequest, nil, "", model.Node{}},
		{"add an instance with an undefined resource", func(o *Object) error {
			return o.AddInstance(model.NewInstance(3, model.NewResource(99, model.Int(1))))
		}, model.BadRequest, nil, "", model.Node{}},
		{"add an instance with a bad value", func(o *Object) error {
			return o.AddInstance(model.NewInstance(3, model.NewResource(1, model.Int(1))))
		}, model.BadRequest, nil, "", model.Node{}},
		{"add instance MAX_ID", func(o *Object) error { return o.AddInstance(model.NewInstance(model.NoID)) }, model.BadRequest, nil, "", model.Node{}},
		{"remove an instance", func(o *Object) error { return o.RemoveInstance(0) }, 0, []string{"/10000/0"}, "", model.Node{}},
		{"remove an absent instance", func(o *Object) error { return o.RemoveInstance(4) }, model.NotFound, nil, "", model.Node{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newTest()
			var r recorder
			o.Observe(r.changed)
			wantCode(t, tc.do(o), tc.code)
			got := r.take()
			if tc.code == 0 && !slices.Equal(got, tc.reported) {
				t.Fatalf("reported %v, want %v", got, tc.reported)
			}
			if tc.code != 0 && len(got) != 0 {
				t.Fatalf("a failed change reported %v", got)
			}
			if tc.path != "" {
				n, ok := o.Node(p(tc.path))
				if !ok || !n.Equal(&tc.want) {
					t.Fatalf("node %s = %v, want %v", tc.path, n, tc.want)
				}
			}
		})
	}
}

func TestGet(t *testing.T) {
	o := newTest()
	tests := []struct {
		path string
		want model.Value
		ok   bool
	}{
		{"/10000/0/0", model.Int(7), true},
		{"/10000/0/5/1", model.Int(11), true},
		{"/10000/0/5", model.Value{}, false},
		{"/10000/0/2", model.Value{}, false},
		{"/10000/3/0", model.Value{}, false},
		{"/10000/0", model.Value{}, false},
		{"/3/0/0", model.Value{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			v, ok := o.Get(p(tc.path))
			if v != tc.want || ok != tc.ok {
				t.Fatalf("get = %v, %v; want %v, %v", v, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestServerChangesAreNotReported(t *testing.T) {
	o := newTest()
	var r recorder
	o.Observe(r.changed)
	if err := o.Write(ctx, p("/10000/0/1"), model.NewResource(1, model.String("z")), true); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Create(ctx, model.NewInstance(1, model.NewResource(1, model.String("c")))); err != nil {
		t.Fatal(err)
	}
	if err := o.Delete(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := r.take(); len(got) != 0 {
		t.Fatalf("reported %v", got)
	}
}

func TestNewPanics(t *testing.T) {
	tests := []struct {
		name string
		def  *model.ObjectDef
		inst []model.Node
	}{
		{"nil definition", nil, nil},
		{"invalid definition", &model.ObjectDef{ID: 1, Resources: []model.ResourceDef{{ID: 1, Type: model.TypeNone}}}, nil},
		{"bad instance", testDef, []model.Node{model.NewInstance(0, model.NewResource(99, model.Int(1)))}},
		{"two instances of a single-instance object", singleDef, []model.Node{model.NewInstance(0), model.NewInstance(1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			New(tc.def, tc.inst...)
		})
	}
}
