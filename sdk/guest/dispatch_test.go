package guest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
	"github.com/wasm2m/wasm2m/sdk/guest/guestlog"
	"github.com/wasm2m/wasm2m/sdk/plugintest"
)

var ctx = context.Background()

var def = &model.ObjectDef{
	ID: 42771, Name: "Test", Version: model.V1_0, Multiple: true,
	Resources: []model.ResourceDef{
		{ID: 0, Name: "Value", Operations: model.OpRead | model.OpWrite, Type: model.TypeInteger},
		{ID: 1, Name: "Run", Operations: model.OpExecute},
		{ID: 2, Name: "Tags", Operations: model.OpRead | model.OpWrite, Multiple: true, Type: model.TypeString},
	},
}

// object is a scriptable Object: each method does what its field says.
type object struct {
	read    func(ctx context.Context, p model.Path) (model.Node, error)
	write   func(ctx context.Context, p model.Path, n model.Node, replace bool) error
	execute func(ctx context.Context, p model.Path, args []byte) error
}

func (o *object) Definition() *model.ObjectDef { return def }
func (o *object) Instances(context.Context) ([]uint16, error) {
	return []uint16{2, 0, 2}, nil // unsorted and repeated: the SDK fixes it
}
func (o *object) Read(ctx context.Context, p model.Path) (model.Node, error) { return o.read(ctx, p) }
func (o *object) Write(ctx context.Context, p model.Path, n model.Node, replace bool) error {
	return o.write(ctx, p, n, replace)
}
func (o *object) Execute(ctx context.Context, p model.Path, args []byte) error {
	return o.execute(ctx, p, args)
}
func (o *object) Create(context.Context, model.Node) (uint16, error) { return 7, nil }
func (o *object) Delete(context.Context, uint16) error               { return nil }

func plugin(o guest.Object) *guest.Plugin {
	return &guest.Plugin{
		Manifest: guest.Manifest{ID: "objects.test", Version: "1", Capabilities: []string{abi.CapChanged, abi.CapKV}},
		Objects:  []guest.Object{o},
	}
}

func TestPanicIsA500(t *testing.T) {
	o := &object{read: func(context.Context, model.Path) (model.Node, error) { panic("boom at read") }}
	p := plugintest.New(t, plugin(o))
	_, err := p.Read(ctx, model.MustPath("/42771/0/0"))
	if model.CodeOf(err) != model.InternalServerError || !strings.Contains(err.Error(), "panic: boom at read") {
		t.Errorf("read that panics: %v, want 5.00 with the panic", err)
	}
	// The instance still answers (the host discards it anyway).
	if _, _, err := p.Manifest(ctx); err != nil {
		t.Errorf("manifest after a panic: %v", err)
	}
}

func TestErrorsKeepCodeAndMessage(t *testing.T) {
	o := &object{read: func(_ context.Context, p model.Path) (model.Node, error) {
		switch p.InstanceID() {
		case 0:
			return model.Node{}, fmt.Errorf("sensor: %w", model.ErrNotFound)
		case 1:
			return model.Node{}, model.Errorf(model.ServiceUnavailable, "warming up")
		case 2:
			return model.Node{}, errors.New("plain")
		}
		return model.NewResource(9, model.Int(1)), nil // does not fit the path
	}}
	p := plugintest.New(t, plugin(o))
	for _, tc := range []struct {
		path string
		code model.Code
		msg  string
	}{
		{"/42771/0/0", model.NotFound, "sensor: 4.04 Not Found"},
		{"/42771/1/0", model.ServiceUnavailable, "5.03 Service Unavailable: warming up"},
		{"/42771/2/0", model.InternalServerError, "5.00 Internal Server Error: plain"},
		{"/42771/3/0", model.InternalServerError, "read /42771/3/0: node id 9 does not match"},
	} {
		_, err := p.Read(ctx, model.MustPath(tc.path))
		if model.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("read %s: %v, want %s with %q", tc.path, err, tc.code, tc.msg)
		}
	}
}

func TestChecksAgainstTheDefinition(t *testing.T) {
	var wrote, executed int
	o := &object{
		read: func(_ context.Context, p model.Path) (model.Node, error) {
			return model.NewInstance(p.InstanceID(), model.NewResource(0, model.Int(5))), nil
		},
		write:   func(context.Context, model.Path, model.Node, bool) error { wrote++; return nil },
		execute: func(context.Context, model.Path, []byte) error { executed++; return nil },
	}
	p := plugintest.New(t, plugin(o))
	for _, tc := range []struct {
		name string
		err  error
		code model.Code
	}{
		{"read of an executable", func() error { _, err := p.Read(ctx, model.MustPath("/42771/0/1")); return err }(), model.MethodNotAllowed},
		{"read of an unknown resource", func() error { _, err := p.Read(ctx, model.MustPath("/42771/0/9")); return err }(), model.NotFound},
		{"read of an instance of a single resource", func() error { _, err := p.Read(ctx, model.MustPath("/42771/0/0/1")); return err }(), model.NotFound},
		{"read of another object", func() error { _, err := p.Read(ctx, model.MustPath("/3/0")); return err }(), model.NotFound},
		{"write of the object", p.Write(ctx, model.MustPath("/42771"), model.NewObject(42771), true), model.MethodNotAllowed},
		{"write of an executable", p.Write(ctx, model.MustPath("/42771/0/1"), model.NewResource(1, model.Int(1)), true), model.MethodNotAllowed},
		{"write of the wrong type", p.Write(ctx, model.MustPath("/42771/0/0"), model.NewResource(0, model.String("x")), true), model.BadRequest},
		{"write of a node that does not fit", p.Write(ctx, model.MustPath("/42771/0/0"), model.NewResource(2, model.Int(1)), true), model.BadRequest},
		{"write of an unknown resource in an instance", p.Write(ctx, model.MustPath("/42771/0"), model.NewInstance(0, model.NewResource(8, model.Int(1))), false), model.NotFound},
		{"write of a single value to a multiple resource", p.Write(ctx, model.MustPath("/42771/0"), model.NewInstance(0, model.NewResource(2, model.String("a"))), false), model.BadRequest},
		{"execute of a value", p.Execute(ctx, model.MustPath("/42771/0/0"), ""), model.MethodNotAllowed},
		{"execute of an instance", p.Execute(ctx, model.MustPath("/42771/0"), ""), model.MethodNotAllowed},
		{"delete of a resource", p.Delete(ctx, model.MustPath("/42771/0/0")), model.MethodNotAllowed},
		{"create of a resource node", func() error { _, err := p.Create(ctx, 42771, model.NewResource(0, model.Int(1))); return err }(), model.BadRequest},
		{"create with an executable", func() error {
			_, err := p.Create(ctx, 42771, model.NewInstance(model.NoID, model.NewResource(1, model.Int(1))))
			return err
		}(), model.MethodNotAllowed},
		{"discover without Discoverer", func() error { _, err := p.Discover(ctx, model.MustPath("/42771/0")); return err }(), model.NotImplemented},
		{"execute of the object", p.Execute(ctx, model.MustPath("/42771"), ""), model.MethodNotAllowed},
		{"delete of the object", p.Delete(ctx, model.MustPath("/42771")), model.MethodNotAllowed},
		{"read of the root", func() error { _, err := p.Read(ctx, model.RootPath()); return err }(), model.BadRequest},
		{"write of the root", p.Write(ctx, model.RootPath(), model.NewObject(42771), true), model.BadRequest},
		{"execute of the root", p.Execute(ctx, model.RootPath(), ""), model.BadRequest},
		{"delete of the root", p.Delete(ctx, model.RootPath()), model.BadRequest},
		{"discover of the root", func() error { _, err := p.Discover(ctx, model.RootPath()); return err }(), model.BadRequest},
	} {
		if model.CodeOf(tc.err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, tc.err, tc.code)
		}
	}
	if wrote != 0 || executed != 0 {
		t.Errorf("the object saw %d writes and %d executes the SDK should have refused", wrote, executed)
	}
	if err := p.Write(ctx, model.MustPath("/42771/0/2"), model.NewMultipleResourceOf(2, model.String("a"), model.String("b")), true); err != nil {
		t.Errorf("write of a multiple resource: %v", err)
	}
	if err := p.Execute(ctx, model.MustPath("/42771/0/1"), "0='x'"); err != nil {
		t.Errorf("execute: %v", err)
	}
	if wrote != 1 || executed != 1 {
		t.Errorf("wrote %d, executed %d; want 1, 1", wrote, executed)
	}
	ids, err := p.Instances(ctx, 42771)
	if err != nil || len(ids) != 2 || ids[0] != 0 || ids[1] != 2 {
		t.Errorf("instances %v, %v; want [0 2]", ids, err)
	}
	obj, err := p.Read(ctx, model.MustPath("/42771"))
	if err != nil || len(obj.Children) != 2 || obj.Children[1].ID != 2 {
		t.Errorf("object read %v, %v", obj, err)
	}
	if id, err := p.Create(ctx, 42771, model.NewInstance(model.NoID, model.NewResource(0, model.Int(1)))); err != nil || id != 7 {
		t.Errorf("create: %d, %v", id, err)
	}
	if _, err := p.Create(ctx, 42771, model.NewInstance(3)); model.CodeOf(err) != model.InternalServerError {
		t.Errorf("create of 3 that made 7: %v, want 5.00", err)
	}
}

func TestInvalidPlugins(t *testing.T) {
	o := &object{}
	for _, tc := range []struct {
		name string
		p    guest.Plugin
		want string
	}{
		{"no id", guest.Plugin{Manifest: guest.Manifest{Version: "1"}, Objects: []guest.Object{o}}, "no id"},
		{"undotted id", guest.Plugin{Manifest: guest.Manifest{ID: "temp", Version: "1"}, Objects: []guest.Object{o}}, "dotted"},
		{"capital", guest.Plugin{Manifest: guest.Manifest{ID: "objects.Temp", Version: "1"}, Objects: []guest.Object{o}}, "lowercase letter"},
		{"space", guest.Plugin{Manifest: guest.Manifest{ID: "objects.t t", Version: "1"}, Objects: []guest.Object{o}}, "not allowed"},
		{"no version", guest.Plugin{Manifest: guest.Manifest{ID: "objects.t"}, Objects: []guest.Object{o}}, "no version"},
		{"unknown capability", guest.Plugin{Manifest: guest.Manifest{ID: "objects.t", Version: "1", Capabilities: []string{"net"}}, Objects: []guest.Object{o}}, "unknown capability"},
		{"nothing", guest.Plugin{Manifest: guest.Manifest{ID: "objects.t", Version: "1"}}, "neither objects nor logic"},
		{"storage", guest.Plugin{Manifest: guest.Manifest{ID: "storage.t", Version: "1", Kind: abi.KindStorage}, Objects: []guest.Object{o}}, "process plugins"},
		{"kind without its implementation", guest.Plugin{Manifest: guest.Manifest{ID: "logic.t", Version: "1", Kind: abi.KindLogic}, Objects: []guest.Object{o}}, "without its implementation"},
		{"twice", guest.Plugin{Manifest: guest.Manifest{ID: "objects.t", Version: "1"}, Objects: []guest.Object{o, o}}, "given twice"},
	} {
		d := guest.NewDispatcher(&tc.p, nil)
		if d.Err() == nil || !strings.Contains(d.Err().Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, d.Err(), tc.want)
			continue
		}
		_, err := d.Call(ctx, abi.MethodManifest, nil)
		if model.CodeOf(err) != model.InternalServerError || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: call: %v, want a 5.00 saying %q", tc.name, err, tc.want)
		}
	}
}

func TestNoRegisteredPlugin(t *testing.T) {
	d := guest.NewDispatcher(nil, nil)
	if _, err := d.Call(ctx, abi.MethodManifest, nil); err == nil || !strings.Contains(err.Error(), "guest.Register") {
		t.Errorf("call without a registered plugin: %v", err)
	}
}

func TestHostFunctions(t *testing.T) {
	var checks []func(ctx context.Context) error
	o := &object{read: func(ctx context.Context, p model.Path) (model.Node, error) {
		for _, c := range checks {
			if err := c(ctx); err != nil {
				return model.Node{}, err
			}
		}
		return model.NewResource(0, model.Int(1)), nil
	}}
	p := plugintest.New(t, plugin(o))
	checks = []func(context.Context) error{
		func(ctx context.Context) error {
			for i := range 40 {
				if err := guest.KV.Put(ctx, fmt.Sprintf("k/%02d", i), []byte{byte(i)}); err != nil {
					return err
				}
			}
			keys, err := guest.KV.List(ctx, "k/")
			if err != nil || len(keys) != 40 || keys[39] != "k/39" {
				return fmt.Errorf("list: %v, %v", keys, err)
			}
			if err := guest.KV.Delete(ctx, "k/00"); err != nil {
				return err
			}
			if _, err := guest.KV.Get(ctx, "k/00"); !errors.Is(err, model.ErrNotFound) {
				return fmt.Errorf("get of a deleted key: %v", err)
			}
			if v, err := guest.KV.Get(ctx, "k/07"); err != nil || len(v) != 1 || v[0] != 7 {
				return fmt.Errorf("get: %v, %v", v, err)
			}
			return nil
		},
		func(ctx context.Context) error {
			guest.Log(ctx, guest.LevelWarn, "hello", "n", 3, "s", "two words", "err", errors.New("bad"), "p", model.MustPath("/1/2"), 42)
			guestlog.New().With("a", 1).WithGroup("g").InfoContext(ctx, "slog", "k", "v", "f", 1.5)
			return guest.Changed(ctx, model.MustPath("/42771/0/0"))
		},
		func(ctx context.Context) error {
			if _, err := (guest.Device{Endpoint: "x"}).Read(ctx, model.MustPath("/3/0/0")); !errors.Is(err, model.ErrForbidden) {
				return fmt.Errorf("request without the capability: %v", err)
			}
			return nil
		},
	}
	if _, err := p.Read(ctx, model.MustPath("/42771/0/0")); err != nil {
		t.Fatal(err)
	}
	logs := p.Host.Logs()
	want := []plugintest.LogEntry{
		{Level: guest.LevelWarn, Msg: `hello n=3 s="two words" err=bad p=/1/2 !BADKEY=42`},
		{Level: guest.LevelInfo, Msg: `slog a=1 g.k=v g.f=1.5`},
	}
	if len(logs) != len(want) || logs[0] != want[0] || logs[1] != want[1] {
		t.Errorf("logs %+v, want %+v", logs, want)
	}
	if ch := p.Host.Changed(); len(ch) != 1 || ch[0] != model.MustPath("/42771/0/0") {
		t.Errorf("changed %v", ch)
	}
}

func TestNoHost(t *testing.T) {
	if err := guest.Changed(context.Background(), model.MustPath("/1")); !errors.Is(err, guest.ErrNoHost) {
		t.Errorf("changed without a host: %v", err)
	}
	h := plugintest.NewHost()
	guest.SetHost(h)
	defer guest.SetHost(nil)
	if err := guest.Changed(context.Background(), model.MustPath("/1")); err != nil {
		t.Errorf("changed with SetHost: %v", err)
	}
	if len(h.Changed()) != 1 {
		t.Errorf("the default host saw %v", h.Changed())
	}
	if got := guest.Now(context.Background()); !got.Equal(plugintest.Epoch) {
		t.Errorf("now %v, want the host's clock %v", got, plugintest.Epoch)
	}
}

// configured counts its Configure calls.
type configured struct {
	object
	configs []string
}

func (c *configured) Configure(_ context.Context, config []byte) error {
	c.configs = append(c.configs, string(config))
	return nil
}

func TestStartBeforeOtherCalls(t *testing.T) {
	c := &configured{object: object{read: func(_ context.Context, p model.Path) (model.Node, error) {
		return model.NewResource(0, model.Int(1)), nil
	}}}
	p := plugintest.New(t, plugin(c), plugintest.NoStart())
	if _, _, err := p.Manifest(ctx); err != nil || len(c.configs) != 0 {
		t.Fatalf("manifest: %v; configures %q, want none", err, c.configs)
	}
	// A host that skips Start: the first other call starts with no config.
	if _, err := p.Read(ctx, model.MustPath("/42771/0/0")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read(ctx, model.MustPath("/42771/0/0")); err != nil {
		t.Fatal(err)
	}
	if len(c.configs) != 1 || c.configs[0] != "" {
		t.Errorf("configures %q, want one with no config", c.configs)
	}
	if err := p.Start(ctx, []byte("{}")); model.CodeOf(err) != model.PreconditionFailed {
		t.Errorf("start after calls: %v, want 4.12", err)
	}
}

// discovering answers Discover and counts Stop.
type discovering struct {
	object
	stops int
}

func (d *discovering) Discover(_ context.Context, p model.Path) (string, error) {
	return "<" + p.String() + ">;pmin=10", nil
}

func (d *discovering) Stop(context.Context) error {
	d.stops++
	return errors.New("flush failed")
}

func TestDiscoverAndStop(t *testing.T) {
	o := &discovering{}
	d := guest.NewDispatcher(plugin(o), plugintest.NewHost())
	c := plugintest.NewClient(d)
	links, err := c.Discover(ctx, model.MustPath("/42771/0"))
	if err != nil || links != "</42771/0>;pmin=10" {
		t.Errorf("discover: %q, %v", links, err)
	}
	if _, err := c.Discover(ctx, model.MustPath("/42771/0/9")); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("discover of an unknown resource: %v, want 4.04", err)
	}
	err = c.Stop(ctx)
	if o.stops != 1 || model.CodeOf(err) != model.InternalServerError || !strings.Contains(err.Error(), "flush failed") {
		t.Errorf("stop: %d stops, %v", o.stops, err)
	}
}
