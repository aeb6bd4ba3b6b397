package adapter_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
	"github.com/wasm2m/wasm2m/host/adapter"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/plugintest"
)

var grantObjects = []string{abi.CapChanged, abi.CapKV}

// TestObjectOverUDP serves the Wasm counter and crasher objects from a
// client engine and reaches them from a server over real UDP: read, write,
// execute, observe with a notification fired by the guest's Changed, error
// codes kept end to end, and a trap in one plugin that leaves the other
// alone.
func TestObjectOverUDP(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	counter := e.load(t, "counter", adapter.PluginConfig{Grant: grantObjects, Config: []byte(`{"name":"c1"}`), MaxInstances: 2})
	crasher := e.load(t, "crasher", adapter.PluginConfig{})
	ctx := ctxT(t)
	objs := append(e.objects(t, counter), e.objects(t, crasher)...)

	srv := startServer(t, store.NewMemory())
	for _, p := range []*adapter.Plugin{counter, crasher} {
		defs, err := adapter.Definitions(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Definitions().Add(defs...); err != nil {
			t.Fatal(err)
		}
	}
	startDevice(t, srv, "dev-1", clientObjects(objs)...)

	n, err := srv.Read(ctx, "dev-1", model.MustPath("/42800/0/3"))
	if err != nil || n.Value != model.String("c1") {
		t.Fatalf("read the name: %v, %v", n, err)
	}
	if err := srv.Write(ctx, "dev-1", model.MustPath("/42800/1/2"), model.NewResource(2, model.String("kitchen")), true); err != nil {
		t.Fatal(err)
	}
	n, err = srv.Read(ctx, "dev-1", model.MustPath("/42800/1"))
	if err != nil || n.Child(2) == nil || n.Child(2).Value != model.String("kitchen") {
		t.Fatalf("read the instance: %v, %v", n, err)
	}

	obs, err := srv.Observe(ctx, "dev-1", model.MustPath("/42800/0/0"))
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.First) != 1 || obs.First[0].Node.Value != model.Int(0) {
		t.Fatalf("first value: %+v", obs.First)
	}
	for want := int64(1); want <= 2; want++ {
		if err := srv.Execute(ctx, "dev-1", model.MustPath("/42800/0/1"), ""); err != nil {
			t.Fatal(err)
		}
		select {
		case nt := <-obs.C:
			if nt.Err != nil || len(nt.Entries) != 1 || nt.Entries[0].Node.Value != model.Int(want) {
				t.Fatalf("notification %d: %+v", want, nt)
			}
		case <-ctx.Done():
			t.Fatalf("no notification after execute %d", want)
		}
	}

	// Errors keep their codes from the guest through the device to the
	// server.
	_, err = srv.Read(ctx, "dev-1", model.MustPath("/42800/0/9"))
	if !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("read of an unknown resource: %v, want 4.04", err)
	}
	err = srv.Write(ctx, "dev-1", model.MustPath("/42800/0/0"), model.NewResource(0, model.Int(5)), true)
	if !errors.Is(err, model.ErrMethodNotAllowed) {
		t.Fatalf("write of a read-only resource: %v, want 4.05", err)
	}

	// The crasher traps: that call fails with 5.00, its instance is
	// replaced, and the counter never notices.
	err = srv.Execute(ctx, "dev-1", model.MustPath("/42801/0/1"), "")
	if model.CodeOf(err) != model.InternalServerError {
		t.Fatalf("execute of the crash: %v, want 5.00", err)
	}
	if st := crasher.Stats(); st.Discarded != 1 {
		t.Fatalf("crasher stats after the trap: %+v", st)
	}
	n, err = srv.Read(ctx, "dev-1", model.MustPath("/42800/0/0"))
	if err != nil || n.Value != model.Int(2) {
		t.Fatalf("counter after the crash: %v, %v", n, err)
	}
	n, err = srv.Read(ctx, "dev-1", model.MustPath("/42801/0/0"))
	if err != nil || n.Value != model.Int(7) {
		t.Fatalf("crasher after its crash: %v, %v", n, err)
	}
	if st := counter.Stats(); st.Discarded != 0 {
		t.Fatalf("counter stats: %+v", st)
	}
}

// TestObjectErrorsDirect checks the codes at the adapter level: a plugin's
// 4.04 and 4.05 are errors.Is the model's errors.
func TestObjectErrorsDirect(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	objs := e.objects(t, e.load(t, "counter", adapter.PluginConfig{Grant: grantObjects}))
	ctx := ctxT(t)
	if len(objs) != 1 || objs[0].Definition().ID != 42800 {
		t.Fatalf("objects: %v", objs)
	}
	o := objs[0]
	ids, err := o.Instances(ctx)
	if err != nil || !slices.Equal(ids, []uint16{0, 1}) {
		t.Fatalf("instances %v, %v", ids, err)
	}
	if _, err := o.Read(ctx, model.MustPath("/42800/7")); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("read of a missing instance: %v", err)
	}
	if _, err := o.Create(ctx, model.NewInstance(model.NoID)); !errors.Is(err, model.ErrMethodNotAllowed) {
		t.Fatalf("create: %v", err)
	}
	if err := o.Delete(ctx, 9); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("delete of a missing instance: %v", err)
	}
	if err := o.Write(ctx, model.MustPath("/42800/0/2"), model.NewResource(2, model.Int(3)), true); !errors.Is(err, model.ErrBadRequest) {
		t.Fatalf("write of the wrong type: %v", err)
	}
}

// TestGrants checks that a plugin gets what it asked for and the operator
// granted, no more.
func TestGrants(t *testing.T) {
	kv := store.NewMemory()
	e := newEnv(t, kv)
	// Granted nothing: the counter's reads of its kv fail with 4.03.
	p := e.load(t, "counter", adapter.PluginConfig{Grant: []string{abi.CapClock}})
	ctx := ctxT(t)
	if len(p.Granted) != 0 || !slices.Equal(p.Refused, []string{abi.CapChanged, abi.CapKV}) {
		t.Fatalf("granted %v, refused %v", p.Granted, p.Refused)
	}
	objs := e.objects(t, p)
	if _, err := objs[0].Read(ctx, model.MustPath("/42800/0/0")); !errors.Is(err, model.ErrForbidden) {
		t.Fatalf("read without kv: %v, want 4.03", err)
	}
	granted, refused := adapter.Grants([]string{"kv", "random", "changed"}, []string{"changed", "kv", "lwm2m.request"})
	if !slices.Equal(granted, []string{"kv", "changed"}) || !slices.Equal(refused, []string{"random"}) {
		t.Fatalf("Grants: %v %v", granted, refused)
	}
}

// TestKVSurvivesRestart increments the counter, whose state is in the
// plugin's key-value space, restarts the file store, the host and the
// plugin, and finds the count again.
func TestKVSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.log")
	run := func(increments int) int64 {
		f, err := store.OpenFile(path, store.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		e := newEnv(t, f)
		p := e.load(t, "counter", adapter.PluginConfig{Grant: grantObjects})
		defer p.Close(context.Background())
		ctx := ctxT(t)
		o := e.objects(t, p)[0]
		for range increments {
			if err := o.Execute(ctx, model.MustPath("/42800/1/1"), nil); err != nil {
				t.Fatal(err)
			}
		}
		n, err := o.Read(ctx, model.MustPath("/42800/1/0"))
		if err != nil {
			t.Fatal(err)
		}
		return n.Value.Int()
	}
	if got := run(3); got != 3 {
		t.Fatalf("before the restart: %d", got)
	}
	if got := run(0); got != 3 {
		t.Fatalf("after the restart: %d, want 3", got)
	}
	f, err := store.OpenFile(path, store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	storetest.WantKV(t, f, "objects.counter", "value/1", "3")
}

// TestLogicRegistered runs the watcher logic plugin on a server: when the
// device registers, the plugin reads the device's manufacturer through
// HostRequest from inside its event hook and writes it to its kv.
func TestLogicRegistered(t *testing.T) {
	st := store.NewMemory()
	srv := startServer(t, st)
	e := newEnv(t, st)
	e.host.SetServer(srv)
	p := e.load(t, "watcher", adapter.PluginConfig{Grant: []string{abi.CapKV, abi.CapRequest}})
	if p.Kind() != abi.KindLogic || !slices.Equal(p.Refused, []string{abi.CapRandom}) {
		t.Fatalf("kind %s, refused %v", p.Kind(), p.Refused)
	}
	l := adapter.StartLogic(srv, p, adapter.LogicConfig{Plugin: p.ID(), Logger: testLogger(t)})
	defer l.Close()

	startDevice(t, srv, "dev-7")
	waitKV(t, st, "logic.watcher", "manufacturer/dev-7", "Acme")
	ctx := ctxT(t)

	// A notification reaches the hook too.
	if _, err := srv.Observe(ctx, "dev-7", model.MustPath("/3/0/0")); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Failed != 0 || s.Delivered == 0 {
		t.Fatalf("stats %+v", s)
	}
}

func waitKV(t *testing.T, kv store.KV, ns, key, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, err := kv.KVGet(context.Background(), ns, key)
		if err == nil && string(v) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kv %s %s: %q, %v; want %q", ns, key, v, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHotReload replaces the counter's module while a device stays
// registered: the new version answers the next read, the registration is
// the same, and the state in the kv carries over.
func TestHotReload(t *testing.T) {
	v2 := buildV2(t)
	ctx := ctxT(t)
	file := filepath.Join(t.TempDir(), "counter.wasm")
	copyFile(t, guest(t, "counter"), file)

	e := newEnv(t, store.NewMemory())
	p := e.load(t, "counter", adapter.PluginConfig{Path: file, Grant: grantObjects, Watch: 20 * time.Millisecond})
	ctx = ctxT(t)
	srv := startServer(t, store.NewMemory())
	defs, _ := adapter.Definitions(ctx, p)
	srv.Definitions().Add(defs...)
	startDevice(t, srv, "dev-r", clientObjects(e.objects(t, p))...)
	reg, err := srv.Registration(ctx, "dev-r")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Execute(ctx, "dev-r", model.MustPath("/42800/0/1"), ""); err != nil {
		t.Fatal(err)
	}
	n, err := srv.Read(ctx, "dev-r", model.MustPath("/42800/0/3"))
	if err != nil || n.Value != model.String("counter") {
		t.Fatalf("before the reload: %v, %v", n, err)
	}

	copyFile(t, v2, file+".tmp")
	if err := os.Rename(file+".tmp", file); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second) // a cold compile on a busy machine
	for p.Stats().Reloads == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no reload: %+v", p.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx = ctxT(t)
	n, err = srv.Read(ctx, "dev-r", model.MustPath("/42800/0/3"))
	if err != nil || n.Value != model.String("counter v2") {
		t.Fatalf("after the reload: %v, %v", n, err)
	}
	n, err = srv.Read(ctx, "dev-r", model.MustPath("/42800/0/0"))
	if err != nil || n.Value != model.Int(1) {
		t.Fatalf("the count after the reload: %v, %v", n, err)
	}
	reg2, err := srv.Registration(ctx, "dev-r")
	if err != nil || reg2.ID != reg.ID {
		t.Fatalf("registration after the reload: %v, %v (was %s)", reg2, err, reg.ID)
	}
}

// buildV2 builds a second version of the counter, whose default name is
// "counter v2", as a plugin author's own module would build: a folder
// outside this module whose go.mod points at it with a replace directive.
func buildV2(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(buildCache, "counter-v2")
	buildMu.Lock()
	if _, err := os.Stat(dir); err != nil {
		src, err := os.ReadFile("testdata/counter/main.go")
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(src), `c.name = "counter"`, `c.name = "counter v2"`, 1)
		s = strings.Replace(s, `Version: "1.0.0"`, `Version: "2.0.0"`, 1)
		os.MkdirAll(dir, 0o755)
		gomod := "module example.com/counter\n\ngo 1.26.0\n\nrequire github.com/wasm2m/wasm2m v0.0.0\n\nreplace github.com/wasm2m/wasm2m => " + root + "\n"
		sum, _ := os.ReadFile(filepath.Join(root, "go.sum"))
		for name, b := range map[string][]byte{"main.go": []byte(s), "go.mod": []byte(gomod), "go.sum": sum} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	buildMu.Unlock()
	return buildDir(t, dir)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestConformance runs sdk/plugintest's kit against the Wasm counter
// through the adapter's Caller.
func TestConformance(t *testing.T) {
	e := newEnv(t, store.NewMemory())
	p := e.load(t, "counter", adapter.PluginConfig{Grant: grantObjects})
	plugintest.Conformance(t, p)
}

// TestBuildCache checks that a second build of unchanged sources is a
// cache hit.
func TestBuildCache(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Sources may change under a test run (other work in the checkout):
	// then the hash changes, which is right, and the check is made again.
	for try := 0; ; try++ {
		first, err := adapter.Build(ctx, adapter.BuildConfig{Dir: "testdata/crasher", CacheDir: buildCache})
		if err != nil {
			t.Fatal(err)
		}
		res, err := adapter.Build(ctx, adapter.BuildConfig{Dir: "testdata/crasher", CacheDir: buildCache})
		if err != nil {
			t.Fatal(err)
		}
		if res.Hash != first.Hash && try < 3 {
			t.Logf("the sources changed between two builds: %s, then %s", first.Hash, res.Hash)
			continue
		}
		if !res.Cached || res.Path != first.Path {
			t.Fatalf("second build: %+v, first %+v", res, first)
		}
		break
	}
}
