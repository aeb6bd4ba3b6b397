package cplugin

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
	"github.com/wasm2m/wasm2m/host/wasm"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/plugintest"
)

// build compiles the plugin with build.sh into a temporary folder and
// returns the module. It skips the test only when there is no clang (CI
// installs it, so CI never skips: with CI set, a missing clang fails).
func build(t testing.TB) []byte {
	t.Helper()
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "clang"
	}
	if _, err := exec.LookPath(cc); err != nil {
		msg := "no " + cc + " to compile the C plugin: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32 (.ci/run does)"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// Read the sources here, not only in clang: go test caches a result
	// by the files the test process opened, and must see an edit of them.
	srcs, _ := filepath.Glob("src/*")
	for _, f := range append(srcs, "build.sh") {
		if _, err := os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "valve.wasm")
	cmd := exec.Command("sh", "build.sh", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("valve.wasm: %d bytes", len(bin))
	return bin
}

var (
	once     sync.Once
	module   []byte
	cacheDir string // the compilation cache the tests share
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cplugin-cache")
	if err != nil {
		panic(err)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// valveModule builds the module once for all tests.
func valveModule(t testing.TB) []byte {
	t.Helper()
	once.Do(func() { module = build(t) })
	if module == nil {
		t.Skip("the module did not build")
	}
	return module
}

// syncBuffer collects the runtime's log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// loaded is the C plugin loaded by host/wasm, with sdk/plugintest's fake
// host answering its host calls (key-value space, Changed) and a pool of
// up to two instances, so that state kept only in one instance's memory
// would show.
type loaded struct {
	plugin *wasm.Plugin
	host   *plugintest.Host
	client *plugintest.Client
	logs   *syncBuffer
}

func load(t *testing.T) *loaded { return loadWith(t, nil) }

// loadWith loads the plugin with h as its host (nil: a new one).
func loadWith(t testing.TB, h *plugintest.Host) *loaded {
	t.Helper()
	bin := valveModule(t)
	logs := &syncBuffer{}
	rt, err := wasm.NewRuntime(wasm.Config{CacheDir: cacheDir, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	if h == nil {
		h = plugintest.NewHost()
		h.Grant(abi.CapChanged, abi.CapKV)
	}
	p, err := rt.Load(context.Background(), wasm.PluginConfig{
		ID:           "objects.cvalve",
		Capabilities: []string{abi.CapChanged, abi.CapKV},
		Host: wasm.HostFunc(func(ctx context.Context, _ string, m abi.HostMethod, req []byte) ([]byte, error) {
			return h.Call(ctx, m, req)
		}),
		MaxInstances: 2,
		Start:        []byte{},
		Stop:         []byte{},
		Timeout:      10 * time.Second,
	}, bin)
	if err != nil {
		t.Fatal(err)
	}
	return &loaded{plugin: p, host: h, client: plugintest.NewClient(p), logs: logs}
}

var ctx = context.Background()

// TestConformance runs the kit that every Go plugin passes on the C
// plugin, through the Wasm host.
func TestConformance(t *testing.T) {
	l := load(t)
	plugintest.Conformance(t, l.plugin)
	if s := l.plugin.Stats(); s.Discarded != 0 {
		t.Errorf("the kit made the host discard %d instances (a trap or a broken result)", s.Discarded)
	}
}

func TestManifest(t *testing.T) {
	l := load(t)
	m, minor, err := l.client.Manifest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "objects.cvalve" || m.Kind != abi.KindObject || minor != 0 || !slices.Equal(m.Capabilities, []string{"changed", "kv"}) {
		t.Errorf("manifest %+v, minor %d", m, minor)
	}
	if l.plugin.Minor() != 0 {
		t.Errorf("wasm2m_abi_v1 says %d", l.plugin.Minor())
	}
}

// TestDefinitionIsTheDDF checks that the C plugin defines object 26241
// exactly as examples/custom-object/26241.xml does, which the Go valve
// implements too.
func TestDefinitionIsTheDDF(t *testing.T) {
	l := load(t)
	defs, err := l.client.Objects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ddf, err := objects.LoadFile(filepath.Join("..", "custom-object", "26241.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 1 || len(ddf) != 1 {
		t.Fatalf("%d definitions from the plugin, %d from the DDF", len(defs), len(ddf))
	}
	got, want := defs[0], ddf[0]
	if got.ID != want.ID || got.Name != want.Name || got.Description != want.Description || got.URN != want.URN ||
		got.Version != want.Version || got.LWM2MVersion != want.LWM2MVersion || got.Multiple != want.Multiple || got.Mandatory != want.Mandatory {
		t.Errorf("object\n got %+v\nwant %+v", *got, *want)
	}
	if !slices.Equal(got.Resources, want.Resources) {
		t.Errorf("resources\n got %+v\nwant %+v", got.Resources, want.Resources)
	}
}

func read(t *testing.T, l *loaded, path string) model.Value {
	t.Helper()
	n, err := l.client.Read(ctx, model.MustPath(path))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return n.Value
}

func write(t *testing.T, l *loaded, path string, v model.Value) {
	t.Helper()
	p := model.MustPath(path)
	if err := l.client.Write(ctx, p, model.NewResource(p.ResourceID(), v), true); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func changed(l *loaded) []string {
	var s []string
	for _, p := range l.host.TakeChanged() {
		s = append(s, p.String())
	}
	return s
}

// TestValve drives the valve: open, throttle, count, reset, and the paths
// the plugin reports as changed through the host.
func TestValve(t *testing.T) {
	l := load(t)
	want := model.NewInstance(0,
		model.NewResource(0, model.Bool(false)),
		model.NewResource(1, model.Int(100)),
		model.NewResource(2, model.Float(0)),
		model.NewResource(3, model.Int(0)),
		model.NewResource(5, model.String("valve 0")),
	)
	n, err := l.client.Read(ctx, model.MustPath("/26241/0"))
	if err != nil || !n.Equal(&want) {
		t.Fatalf("first read\n got %v (%v)\nwant %v", n, err, want)
	}
	write(t, l, "/26241/0/0", model.Bool(true))
	if got := changed(l); !slices.Equal(got, []string{"/26241/0/2", "/26241/0/3"}) {
		t.Errorf("changed after opening: %v", got)
	}
	write(t, l, "/26241/0/1", model.Int(25))
	if got := changed(l); !slices.Equal(got, []string{"/26241/0/2"}) {
		t.Errorf("changed after throttling: %v", got)
	}
	if v := read(t, l, "/26241/0/2"); v.Float() != 3 {
		t.Errorf("flow %v, want 3 (12 l/min × 25%%)", v)
	}
	write(t, l, "/26241/0/0", model.Bool(false))
	write(t, l, "/26241/0/0", model.Bool(true))
	if v := read(t, l, "/26241/0/3"); v.Int() != 2 {
		t.Errorf("cycles %v, want 2", v)
	}
	l.host.TakeChanged()
	if err := l.client.Execute(ctx, model.MustPath("/26241/0/4"), ""); err != nil {
		t.Fatal(err)
	}
	if got := changed(l); !slices.Equal(got, []string{"/26241/0/3"}) {
		t.Errorf("changed after reset: %v", got)
	}
	if v := read(t, l, "/26241/0/3"); v.Int() != 0 {
		t.Errorf("cycles after reset %v", v)
	}
	write(t, l, "/26241/0/5", model.String("garden — süd")) // UTF-8 through by hand
	if v := read(t, l, "/26241/0/5"); v.Str() != "garden — süd" {
		t.Errorf("name %q", v.Str())
	}
	// A partial update leaves the rest; a replace resets it.
	if err := l.client.Write(ctx, model.MustPath("/26241/0"), model.NewInstance(0, model.NewResource(1, model.Int(50))), false); err != nil {
		t.Fatal(err)
	}
	if on, name := read(t, l, "/26241/0/0"), read(t, l, "/26241/0/5"); !on.Bool() || name.Str() != "garden — süd" {
		t.Errorf("after a partial update: open %v name %v", on, name)
	}
	if err := l.client.Write(ctx, model.MustPath("/26241/0"), model.NewInstance(0, model.NewResource(0, model.Bool(true))), true); err != nil {
		t.Fatal(err)
	}
	if pos, name, cycles := read(t, l, "/26241/0/1"), read(t, l, "/26241/0/5"), read(t, l, "/26241/0/3"); pos.Int() != 100 || name.Str() != "" || cycles.Int() != 0 {
		t.Errorf("after a replace: position %v name %v cycles %v (still open: no new cycle)", pos, name, cycles)
	}
	if !strings.Contains(l.logs.String(), "cycle count reset instance=0") || !strings.Contains(l.logs.String(), "plugin=objects.cvalve") {
		t.Errorf("logs:\n%s", l.logs.String())
	}
}

// TestRefusals: what the plugin checks itself, with no SDK to do it.
func TestRefusals(t *testing.T) {
	l := load(t)
	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"position over 100", func() error {
			return l.client.Write(ctx, model.MustPath("/26241/0/1"), model.NewResource(1, model.Int(101)), true)
		}, model.ErrBadRequest},
		{"name too long", func() error {
			return l.client.Write(ctx, model.MustPath("/26241/0/5"), model.NewResource(5, model.String(strings.Repeat("n", 65))), true)
		}, model.ErrBadRequest},
		{"node id not the path's", func() error {
			return l.client.Write(ctx, model.MustPath("/26241/0/1"), model.NewResource(5, model.String("x")), true)
		}, model.ErrBadRequest},
		{"a bad resource in an instance write", func() error {
			return l.client.Write(ctx, model.MustPath("/26241/0"), model.NewInstance(0, model.NewResource(0, model.Bool(true)), model.NewResource(3, model.Int(9))), false)
		}, model.ErrMethodNotAllowed},
		{"write the object", func() error {
			return l.client.Write(ctx, model.MustPath("/26241"), model.NewObject(26241), true)
		}, model.ErrMethodNotAllowed},
		{"execute an instance", func() error { return l.client.Execute(ctx, model.MustPath("/26241/0"), "") }, model.ErrMethodNotAllowed},
		{"read a resource instance", func() error { _, err := l.client.Read(ctx, model.MustPath("/26241/0/0/0")); return err }, model.ErrNotFound},
		{"discover", func() error { _, err := l.client.Discover(ctx, model.MustPath("/26241")); return err }, model.ErrNotImplemented},
		{"event", func() error { _, err := l.client.Raw(ctx, abi.MethodEvent, nil); return err }, model.ErrNotImplemented},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	if v := read(t, l, "/26241/0/0"); v.Bool() {
		t.Error("a refused instance write opened the valve")
	}
}

// TestCreateDelete fills the valve's instances up to its limit through a
// pool of instances, and empties them.
func TestCreateDelete(t *testing.T) {
	l := load(t)
	var ids []uint16
	for i := 0; i < 15; i++ {
		id, err := l.client.Create(ctx, 26241, model.NewInstance(model.NoID, model.NewResource(5, model.String("v"))))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if want := []uint16{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}; !slices.Equal(ids, want) {
		t.Errorf("created %v", ids)
	}
	if _, err := l.client.Create(ctx, 26241, model.NewInstance(40)); !errors.Is(err, model.ErrBadRequest) {
		t.Errorf("create past 16 valves: %v", err)
	}
	got, err := l.client.Instances(ctx, 26241)
	if err != nil || len(got) != 16 || got[10] != 10 {
		t.Errorf("instances %v, %v (want numeric order)", got, err)
	}
	for _, id := range got {
		if err := l.client.Delete(ctx, model.InstancePath(26241, id)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := l.client.Instances(ctx, 26241); err != nil || len(got) != 0 {
		t.Errorf("instances after deleting all %v, %v", got, err)
	}
	if id, err := l.client.Create(ctx, 26241, model.NewInstance(7, model.NewResource(0, model.Bool(true)))); err != nil || id != 7 {
		t.Fatalf("create 7: %d, %v", id, err)
	}
	if v := read(t, l, "/26241/7/3"); v.Int() != 1 {
		t.Errorf("a valve created open counts one cycle, got %v", v)
	}
	if s := l.plugin.Stats(); s.Discarded != 0 {
		t.Errorf("%d instances discarded", s.Discarded)
	}
}

// TestSharedState runs calls on valves from several goroutines at once,
// alternating between two loads of the module on one host (two sets of
// instances, each with its own memory, as a pool has): the state lives in
// the key-value space, so every count adds up.
func TestSharedState(t *testing.T) {
	a := load(t)
	b := loadWith(t, a.host)
	const valves, toggles = 4, 10
	for i := 1; i < valves; i++ {
		if _, err := b.client.Create(ctx, 26241, model.NewInstance(uint16(i))); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, valves)
	for i := range valves {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A Client sends one call at a time: one per goroutine and module.
			cs := []*plugintest.Client{plugintest.NewClient(a.plugin), plugintest.NewClient(b.plugin)}
			p := model.ResourcePath(26241, uint16(i), 0)
			for k := range 2 * toggles {
				if err := cs[k%2].Write(ctx, p, model.NewResource(0, model.Bool(k%2 == 0)), true); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range valves {
		if v := read(t, a, model.ResourcePath(26241, uint16(i), 3).String()); v.Int() != toggles {
			t.Errorf("valve %d opened %v times, want %d", i, v, toggles)
		}
	}
}
