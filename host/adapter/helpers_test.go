package adapter_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/host/adapter"
	"github.com/wasm2m/wasm2m/host/wasm"
)

// buildCache is the build cache of this test binary's run: each test
// plugin is built once per run. compileCache is wazero's compilation
// cache, kept across runs (its entries are keyed by the module's contents
// and wazero's version): compiling a Go guest takes long under -race.
var buildCache, compileCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasm2m-adapter-test-")
	if err != nil {
		panic(err)
	}
	buildCache = dir
	compileCache = filepath.Join(dir, "compiled")
	if c, err := os.UserCacheDir(); err == nil {
		compileCache = filepath.Join(c, "wasm2m", "test-compiled")
	}
	// Build the test plugins before any test starts its clock.
	var wg sync.WaitGroup
	errs := make([]error, len(testPlugins))
	for i, name := range testPlugins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			dir := filepath.Join("testdata", name)
			res, err := adapter.Build(ctx, adapter.BuildConfig{Dir: dir, CacheDir: buildCache})
			if err != nil {
				errs[i] = err
				return
			}
			buildMu.Lock()
			built[dir] = res.Path
			buildMu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testPlugins are the plugins of testdata, built by TestMain.
var testPlugins = []string{"counter", "crasher", "watcher"}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// guest returns the path of the test plugin testdata/<name>, built for
// wasip1 on first use.
func guest(t testing.TB, name string) string {
	t.Helper()
	return buildDir(t, filepath.Join("testdata", name))
}

func buildDir(t testing.TB, dir string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[dir]; ok {
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := adapter.Build(ctx, adapter.BuildConfig{Dir: dir, CacheDir: buildCache})
	if err != nil {
		t.Fatal(err)
	}
	built[dir] = res.Path
	return res.Path
}

// testLogger logs to the test's log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// env is a host: a runtime whose plugins' host calls go to a Host over kv.
type env struct {
	rt   *wasm.Runtime
	host *adapter.Host
}

func newEnv(t testing.TB, kv store.KV) *env {
	t.Helper()
	log := testLogger(t)
	h := adapter.NewHost(adapter.HostConfig{KV: kv, Logger: log, RequestTimeout: 10 * time.Second})
	rt, err := wasm.NewRuntime(wasm.Config{Host: h, Logger: log, CacheDir: compileCache})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return &env{rt: rt, host: h}
}

// load loads the test plugin name with the grants given.
func (e *env) load(t testing.TB, name string, cfg adapter.PluginConfig) *adapter.Plugin {
	t.Helper()
	if cfg.Path == "" {
		cfg.Path = guest(t, name)
	}
	p, err := adapter.Load(context.Background(), e.rt, cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// objects loads an object plugin and routes its changed calls.
func (e *env) objects(t testing.TB, p *adapter.Plugin) []*adapter.Object {
	t.Helper()
	objs, err := adapter.NewObjects(context.Background(), p.ID(), p)
	if err != nil {
		t.Fatal(err)
	}
	e.host.RouteChanged(p.ID(), objs)
	return objs
}

func startServer(t testing.TB, st store.Store) *server.Server {
	t.Helper()
	return startServerConfig(t, server.Config{Addr: "127.0.0.1:0", Store: st})
}

// startServerConfig starts a server with cfg and closes it with the test.
func startServerConfig(t testing.TB, cfg server.Config) *server.Server {
	t.Helper()
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// startDevice starts a client engine with the core objects and extra,
// registered with srv.
func startDevice(t testing.TB, srv *server.Server, ep string, extra ...client.Object) *client.Engine {
	t.Helper()
	objs := []client.Object{
		stdobj.NewSecurity(stdobj.SecurityAccount{ServerURI: "coap://" + srv.Addr().String(), Mode: stdobj.SecurityNoSec, SSID: 1}),
		stdobj.NewServer(stdobj.ServerAccount{SSID: 1, Lifetime: 5 * time.Minute}),
		stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "Acme", ModelNumber: "T-1", SerialNumber: ep}),
	}
	e, err := client.New(client.Config{Endpoint: ep, Objects: append(objs, extra...), Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if err := e.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

func clientObjects(objs []*adapter.Object) []client.Object {
	out := make([]client.Object, len(objs))
	for i, o := range objs {
		out[i] = o
	}
	return out
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
