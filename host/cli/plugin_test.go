package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
	"github.com/wasm2m/wasm2m/host/config"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

var (
	pluginBuildMu  sync.Mutex
	pluginBuildDir string
	pluginBuilt    = map[string]string{}
)

// testPlugin builds the test plugin host/adapter/testdata/<name> with
// `wasm2m plugin build`, once per test binary run, and returns its path.
func testPlugin(t *testing.T, name string) string {
	t.Helper()
	return buildPlugin(t, name, filepath.Join("..", "adapter", "testdata", name))
}

// coldCompileWait bounds how long a test waits for a client or server to
// come up with a plugin: compiling a 4 MB Go guest with no compilation
// cache takes wazero 4 s here, and 38 s in a -race test binary.
const coldCompileWait = 5 * time.Minute

// testCompileCache returns the compilation cache the plugin tests share,
// kept across runs under the user's cache folder (its entries are keyed by
// the module's contents and wazero's version), so that each guest is
// compiled cold once per machine rather than once per test.
func testCompileCache(t *testing.T) string {
	t.Helper()
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "wasm2m", "test-compiled")
}

// buildPlugin builds the plugin in dir as name.wasm, once per run.
func buildPlugin(t *testing.T, name, dir string) string {
	t.Helper()
	pluginBuildMu.Lock()
	defer pluginBuildMu.Unlock()
	if p, ok := pluginBuilt[name]; ok {
		return p
	}
	if pluginBuildDir == "" {
		dir, err := os.MkdirTemp("", "wasm2m-cli-plugins-")
		if err != nil {
			t.Fatal(err)
		}
		pluginBuildDir = dir // removed by the OS's temp cleaning; one per run
	}
	out := filepath.Join(pluginBuildDir, name+".wasm")
	var stdout, stderr strings.Builder
	code := Main(context.Background(), []string{"plugin", "build", dir,
		"-o", out, "-cache", filepath.Join(pluginBuildDir, "cache")}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("plugin build %s: exit %d: %s%s", name, code, stdout.String(), stderr.String())
	}
	pluginBuilt[name] = out
	return out
}

// TestPluginBuildCached checks that a second build of unchanged sources is
// a cache hit, and that the .wasm lands where -o says.
func TestPluginBuildCached(t *testing.T) {
	cache := t.TempDir()
	out := filepath.Join(t.TempDir(), "crasher.wasm")
	build := func() string {
		var stdout, stderr strings.Builder
		if code := Main(context.Background(), []string{"plugin", "build", "../adapter/testdata/crasher", "-o", out, "-cache", cache}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		return stdout.String()
	}
	for try := 0; ; try++ {
		first := build()
		second := build()
		if !strings.Contains(first, "(built ") && try == 0 {
			t.Fatalf("first build: %q", first)
		}
		if strings.Contains(second, "(cached ") {
			if !strings.HasPrefix(second, out+" ") {
				t.Fatalf("second build printed %q, want the -o path", second)
			}
			break
		}
		// The sources changed between the builds (other work in the
		// checkout): try again.
		if try == 3 {
			t.Fatalf("second build not cached: %q then %q", first, second)
		}
	}
	if st, err := os.Stat(out); err != nil || st.Size() < 1000 {
		t.Fatalf("output: %v %v", st, err)
	}
}

// TestPluginInspect prints the counter's manifest, exports, imports and
// objects, and runs the conformance kit on it.
func TestPluginInspect(t *testing.T) {
	file := testPlugin(t, "counter")
	var stdout, stderr strings.Builder
	if code := Main(context.Background(), []string{"plugin", "inspect", file}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d:\n%s\n%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{"objects.counter", "kind           object", fmt.Sprintf("abi            %d.%d", abi.Major, abi.Minor), "changed, kv",
		`"properties"`, "wasm2m_call", "wasm2m_v1.call", "42800", "Increment", "checks passed"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("inspect output lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestPluginUsage(t *testing.T) {
	var stdout, stderr strings.Builder
	for _, args := range [][]string{{"plugin"}, {"plugin", "frobnicate"}, {"plugin", "build"}, {"plugin", "inspect", "a", "b"}} {
		if code := Main(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code := Main(context.Background(), []string{"plugin", "inspect", "cli.go"}, &stdout, &stderr); code != 1 {
		t.Errorf("inspect of a Go file: exit %d, want 1", code)
	}
	if code := Main(context.Background(), []string{"client", "-plugin", "x.wasm", "-grant", "kv,teleport"}, &stdout, &stderr); code != 2 {
		t.Errorf("unknown capability: exit %d, want 2", code)
	}
}

// TestClientCommandPlugin runs `wasm2m client -plugin counter.wasm`: the
// plugin's object joins the device's, and a server reads and executes it.
func TestClientCommandPlugin(t *testing.T) {
	file := testPlugin(t, "counter")
	srv, logs, stop := startClientCommand(t, "-endpoint", "plug",
		"-plugin", file, "-grant", "changed,kv", "-plugin-config", `objects.counter={"name":"from-cli"}`,
		"-plugin-state", filepath.Join(t.TempDir(), "state.log"), "-plugin-cache", testCompileCache(t))
	rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer rcancel()
	reg, err := srv.Registration(rctx, "plug")
	if err != nil {
		t.Fatal(err)
	}
	if !hasObject(reg, 42800) {
		t.Fatalf("the plugin's object is not registered: %+v", reg.Objects)
	}
	n, err := srv.Read(rctx, "plug", model.MustPath("/42800/0/3"))
	if err != nil || n.Value != model.String("from-cli") {
		t.Fatalf("read: %v %v", n, err)
	}
	if err := srv.Execute(rctx, "plug", model.MustPath("/42800/0/1"), ""); err != nil {
		t.Fatal(err)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, logs.String())
	}
}

// TestClientCommandPluginReplaces runs `wasm2m client -plugin
// temperature.wasm`: the plugin's 3303 takes the place of the simulated
// device's own, which the log names; a plugin may not replace Security,
// Server or Access Control.
func TestClientCommandPluginReplaces(t *testing.T) {
	file := buildPlugin(t, "temperature", filepath.Join("..", "..", "plugins", "objects", "temperature"))
	srv, logs, stop := startClientCommand(t, "-endpoint", "temp",
		"-plugin", file, "-grant", "objects.temperature=clock,changed,kv",
		"-plugin-config", `objects.temperature={"sensors":2}`, "-plugin-cache", testCompileCache(t))
	rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer rcancel()
	// The built-in 3303 has one instance; the plugin's two (sensors: 2).
	n, err := srv.Read(rctx, "temp", model.MustPath("/3303"))
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Children) != 2 {
		t.Fatalf("read /3303: %v, want the plugin's two sensors", n)
	}
	if _, err := srv.Read(rctx, "temp", model.MustPath("/3/0/0")); err != nil {
		t.Errorf("the other built-in objects: %v", err)
	}
	for _, want := range []string{"a plugin's object replaces the built-in one", "object=3303", "plugin=objects.temperature"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log has no %q:\n%s", want, logs.String())
		}
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, logs.String())
	}
}

// fakeObject is an object with a definition and nothing else.
type fakeObject struct {
	client.Object
	def *model.ObjectDef
}

func (o *fakeObject) Definition() *model.ObjectDef { return o.def }

// TestWithPlugins checks how the client merges the plugins' objects with
// its own, and that Security, Server and Access Control stay its own.
func TestWithPlugins(t *testing.T) {
	obj := func(id uint16) client.Object {
		return &fakeObject{def: &model.ObjectDef{ID: id, Name: fmt.Sprint("o", id)}}
	}
	b0, b1, b3, b3303 := obj(0), obj(1), obj(3), obj(3303)
	p3303, p42 := obj(3303), obj(42)
	objs, replaced, by := withPlugins([]client.Object{b0, b1, b3, b3303}, []client.Object{p42, p3303})
	if want := []client.Object{b0, b1, b3, p3303, p42}; !slices.Equal(objs, want) {
		t.Errorf("objects %v, want %v", objs, want)
	}
	if !slices.Equal(replaced, []client.Object{b3303}) || len(by) != 1 || by[3303] != p3303 {
		t.Errorf("replaced %v by %v", replaced, by)
	}
	// Two plugins' objects of one id stay two, for client.New to refuse.
	objs, _, _ = withPlugins([]client.Object{b3303}, []client.Object{p3303, obj(3303)})
	if len(objs) != 2 {
		t.Errorf("two plugins' 3303: %v", objs)
	}
	for _, id := range []uint16{0, 1, 2} {
		err := checkReplaceable([]client.Object{p42, obj(id)})
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("object %d (o%d) is the device's own", id, id)) {
			t.Errorf("a plugin's object %d: %v", id, err)
		}
	}
	if err := checkReplaceable([]client.Object{p42, obj(3), p3303}); err != nil {
		t.Error(err)
	}
}

func hasObject(r *store.Registration, id uint16) bool {
	for _, o := range r.Objects {
		if o.ID == id {
			return true
		}
	}
	return false
}

// TestServerCommandPlugins runs `wasm2m server` with the counter (an
// object plugin: its definition) and the watcher (a logic plugin, granted
// kv and lwm2m.request but not random): a device registers, the watcher
// reads its manufacturer from its hook and keeps it in the server's store,
// where it is after the server stopped.
func TestServerCommandPlugins(t *testing.T) {
	counter, watcher := testPlugin(t, "counter"), testPlugin(t, "watcher")
	data := t.TempDir()
	addr, logs, stop := startServerCommand(t, "-data", data, "-plugin", counter, "-plugin", watcher,
		"-grant", "logic.watcher=kv,lwm2m.request", "-plugin-cache", testCompileCache(t))
	objs := []client.Object{
		stdobj.NewSecurity(stdobj.SecurityAccount{ServerURI: "coap://" + addr.String(), Mode: stdobj.SecurityNoSec, SSID: 1}),
		stdobj.NewServer(stdobj.ServerAccount{SSID: 1, Lifetime: 5 * time.Minute}),
		stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "Plugged Inc", SerialNumber: "1"}),
	}
	read := make(chan struct{}, 1)
	onEvent := func(ev client.Event) {
		if ev.Type == client.EventRequest && ev.Path == model.MustPath("/3/0/0") {
			select {
			case read <- struct{}{}:
			default:
			}
		}
	}
	e, err := client.New(client.Config{Endpoint: "watched", Objects: objs, Addr: "127.0.0.1:0", OnEvent: onEvent})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-read:
	case <-ctx.Done():
		t.Fatalf("the watcher did not read the manufacturer:\n%s", logs.String())
	}
	time.Sleep(500 * time.Millisecond) // the hook's kv put after the read
	e.Close()
	if code := stop(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, logs.String())
	}
	for _, want := range []string{"capabilities refused", "refused=[random]", "plugin=logic.watcher", "plugin=objects.counter"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
	st, err := store.OpenFile(filepath.Join(data, "registrations.log"), store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storetest.WantKV(t, st, "logic.watcher", "manufacturer/watched", "Plugged Inc")
}

// TestPluginsToLoad checks how the configuration file's plugins and the
// flags combine: the file's first, then -plugin's; grants added up; a
// -plugin-config for the id wins over the file's config; a file's timeout
// over -plugin-timeout.
func TestPluginsToLoad(t *testing.T) {
	f := &pluginFlags{
		file: []config.Plugin{
			{Path: "/p/counter.wasm", Grant: []string{"kv"}, Config: []byte(`{"name":"file"}`), Timeout: config.Duration(50 * time.Millisecond), MaxInstances: 3, MemoryPages: 64, Watch: true},
			{Path: "/p/light.wasm", Config: []byte(`{"lights":1}`)},
		},
		paths:   listFlag{"/p/watcher.wasm"},
		grants:  listFlag{"changed", "objects.light=clock"},
		configs: listFlag{`objects.light={"lights":2}`},
		timeout: time.Second,
	}
	if err := f.check(); err != nil {
		t.Fatal(err)
	}
	got := f.toLoad()
	if len(got) != 3 || got[0].Path != "/p/counter.wasm" || got[1].Path != "/p/light.wasm" || got[2].Path != "/p/watcher.wasm" {
		t.Fatalf("to load: %+v", got)
	}
	if c := got[0]; c.Timeout != 50*time.Millisecond || c.MaxInstances != 3 || c.MemoryLimitPages != 64 || c.Watch != time.Second {
		t.Errorf("counter: %+v", c)
	}
	if c := got[1]; c.Timeout != time.Second || c.MaxInstances != 0 || c.Watch != 0 {
		t.Errorf("light: %+v", c)
	}
	for _, tc := range []struct {
		i           int
		id          string
		grant, conf string
	}{
		{0, "objects.counter", "changed,kv", `{"name":"file"}`},
		{1, "objects.light", "changed,clock", `{"lights":2}`},
		{2, "logic.watcher", "changed", ""},
	} {
		grant, conf, err := got[tc.i].Policy(&abi.Manifest{ID: tc.id})
		if err != nil || strings.Join(grant, ",") != tc.grant || string(conf) != tc.conf {
			t.Errorf("%s: grant %v, config %s, %v; want %s and %s", tc.id, grant, conf, err, tc.grant, tc.conf)
		}
	}
	f.file = append(f.file, config.Plugin{Path: "/p/x.wasm", Grant: []string{"everything"}})
	if err := f.check(); err == nil || !strings.Contains(err.Error(), `unknown capability "everything"`) {
		t.Errorf("unknown capability in the file: %v", err)
	}
}

// TestClientCommandPluginConfigFile runs `wasm2m client -config` with the
// counter in the file's plugins section (a path relative to the file, its
// grants and config), and the server with the counter from its file and
// the watcher from -plugin.
func TestClientCommandPluginConfigFile(t *testing.T) {
	counter, watcher := testPlugin(t, "counter"), testPlugin(t, "watcher")
	dir := t.TempDir()
	b, err := os.ReadFile(counter)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "counter.wasm"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "wasm2m.json")
	if err := os.WriteFile(cfg, []byte(`{"plugins": [{"path": "counter.wasm", "grant": ["changed", "kv"],
		"config": {"name": "from-file"}, "max_instances": 2, "memory_pages": 512}]}`), 0o644); err != nil {
		t.Fatal(err)
	}

	// The server: the counter's definition from the file, the watcher from
	// the flag.
	_, slogs, stop := startServerCommand(t, "-data", t.TempDir(), "-config", cfg, "-plugin", watcher,
		"-grant", "logic.watcher=kv,lwm2m.request", "-plugin-cache", testCompileCache(t))
	if code := stop(); code != 0 {
		t.Fatalf("server exit %d:\n%s", code, slogs.String())
	}
	for _, want := range []string{"plugin=objects.counter", "plugin=logic.watcher"} {
		if !strings.Contains(slogs.String(), want) {
			t.Errorf("server logs lack %q:\n%s", want, slogs.String())
		}
	}

	srv, logs, stop := startClientCommand(t, "-endpoint", "filed",
		"-config", cfg, "-plugin-cache", testCompileCache(t))
	rctx, rcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer rcancel()
	n, err := srv.Read(rctx, "filed", model.MustPath("/42800/0/3"))
	if err != nil || n.Value != model.String("from-file") {
		t.Fatalf("read: %v %v\n%s", n, err, logs.String())
	}
	if err := srv.Execute(rctx, "filed", model.MustPath("/42800/0/1"), ""); err != nil { // needs kv
		t.Fatal(err)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d:\n%s", code, logs.String())
	}
}

// startClientCommand starts a core server on 127.0.0.1 and `wasm2m client
// -server <it> args...`, and waits (up to coldCompileWait: plugins compile
// first) for the device to register. stop cancels the command and returns
// its exit code; the server closes with the test.
func startClientCommand(t *testing.T, args ...string) (srv *server.Server, logs *syncBuffer, stop func() int) {
	t.Helper()
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	sub := srv.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered}})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	logs, out := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"client", "-server", "coap://" + srv.Addr().String()}, args...), out, logs)
	}()
	select {
	case <-sub.C:
	case code := <-done:
		t.Fatalf("client exited %d:\n%s", code, logs.String())
	case <-time.After(coldCompileWait):
		t.Fatalf("no registration:\n%s", logs.String())
	}
	return srv, logs, func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatalf("the client did not stop:\n%s", logs.String())
			return -1
		}
	}
}
