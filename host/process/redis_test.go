package process_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
	"github.com/wasm2m/wasm2m/host/process"
)

// The Redis plugin's tests through its process. They need a Redis
// (WASM2M_REDIS_ADDR, set by .ci/run): without one they skip, but under CI
// they fail.

func redisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("WASM2M_REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("WASM2M_REDIS_ADDR is not set: .ci/run starts redis-server and sets it")
		}
		t.Skip("WASM2M_REDIS_ADDR is not set: start redis-server on a loopback port and set WASM2M_REDIS_ADDR=127.0.0.1:<port>")
	}
	return addr
}

var (
	redisPluginOnce sync.Once
	redisPluginPath string
	redisPluginErr  error
	prefixSeq       atomic.Int64
)

// redisPlugin builds the storage.redis program (once per run).
func redisPlugin(t testing.TB) string {
	t.Helper()
	redisPluginOnce.Do(func() {
		redisPluginPath = filepath.Join(filepath.Dir(testPlugin), "wasm2m-storage-redis")
		out, err := exec.Command("go", "build", "-o", redisPluginPath,
			"github.com/wasm2m/wasm2m/plugins/storage/redis/cmd/wasm2m-storage-redis").CombinedOutput()
		if err != nil {
			redisPluginErr = fmt.Errorf("build the redis plugin: %v\n%s", err, out)
		}
	})
	if redisPluginErr != nil {
		t.Fatal(redisPluginErr)
	}
	return redisPluginPath
}

// redisPrefix returns a key prefix of the test's own, removed at its end.
func redisPrefix(t testing.TB, addr string) string {
	prefix := fmt.Sprintf("ptest:%d:%d:", os.Getpid(), prefixSeq.Add(1))
	t.Cleanup(func() {
		rdb := goredis.NewClient(&goredis.Options{Addr: addr})
		defer rdb.Close()
		iter := rdb.Scan(context.Background(), 0, prefix+"*", 1000).Iterator()
		for iter.Next(context.Background()) {
			rdb.Del(context.Background(), iter.Val())
		}
	})
	return prefix
}

func openRedis(t testing.TB, addr, prefix string, cfg process.Config) (*process.Store, *process.Plugin) {
	t.Helper()
	cfg.Path = redisPlugin(t)
	if cfg.Logger == nil {
		cfg.Logger = slogDiscard
	}
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = 100 * time.Millisecond
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 20 * time.Millisecond
	}
	p, err := process.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`{"addr":%q,"prefix":%q}`, addr, prefix)
	if _, err := process.StartStorage(context.Background(), p, []byte(conf)); err != nil {
		p.Close()
		t.Fatal(err)
	}
	s := process.NewStore(p)
	t.Cleanup(func() { s.Close() })
	return s, p
}

func TestRedisConformanceProcess(t *testing.T) {
	addr := redisAddr(t)
	open := func(t *testing.T) *process.Store {
		s, _ := openRedis(t, addr, redisPrefix(t, addr), process.Config{})
		s.Page = 7
		return s
	}
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
	storetest.RunKV(t, func(t *testing.T) storetest.KVStore { return open(t) })
	storetest.RunExpirer(t, func(t *testing.T) storetest.ExpirerStore { return open(t) })
	storetest.RunSecurity(t, func(t *testing.T) storetest.SecurityStore { return storetest.SecurityOverKV(open(t)) })
	storetest.RunBootstraps(t, func(t *testing.T) storetest.BootstrapStore { return storetest.BootstrapsOverKV(open(t)) })
}

// TestRedisPluginKilledUnderLoad kills the plugin process with SIGKILL
// while writers put registrations: calls fail with a 5.03 for a moment,
// the process is restarted (and given its config again), the writers go
// on, and every registration that was acknowledged is there.
func TestRedisPluginKilledUnderLoad(t *testing.T) {
	addr := redisAddr(t)
	prefix := redisPrefix(t, addr)
	s, p := openRedis(t, addr, prefix, process.Config{})
	const writers = 8
	var (
		mu     sync.Mutex
		acked  []*store.Registration
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := storetest.NewRegistration(fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("ep-w%d-%d", w, i))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := s.PutRegistration(ctx, r)
				cancel()
				if err != nil {
					if !errors.Is(err, model.ErrServiceUnavailable) && !errors.Is(err, model.ErrGatewayTimeout) {
						t.Errorf("put: %v, want 5.03 or 5.04", err)
						return
					}
					failed.Add(1)
					continue
				}
				mu.Lock()
				acked = append(acked, r)
				mu.Unlock()
			}
		}()
	}
	ackedNow := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for ackedNow() < 200 {
		time.Sleep(10 * time.Millisecond)
	}
	pid := p.PID()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	before := ackedNow()
	deadline := time.Now().Add(20 * time.Second)
	for p.Restarts() < 1 || ackedNow() < before+200 {
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: %d restarts, %d acknowledged (%d at the kill)", p.Restarts(), ackedNow(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d puts acknowledged, %d failed while the plugin restarted (%d restarts)", len(acked), failed.Load(), p.Restarts())
	// A fresh plugin process, as another server would see the data.
	check, _ := openRedis(t, addr, prefix, process.Config{})
	for _, r := range acked {
		got, err := check.Registration(context.Background(), r.ID)
		if err != nil {
			t.Fatalf("acknowledged %q: %v", r.ID, err)
		}
		if d := storetest.DiffRegistration(got, r); d != "" {
			t.Fatal(d)
		}
	}
	if n, _ := check.CountRegistrations(context.Background()); n < len(acked) {
		t.Fatalf("%d registrations, %d acknowledged", n, len(acked))
	}
}

// TestTwoServersShareRedis runs two core/servers on their own ports, each
// with its own Redis plugin process on the same Redis and prefix: a device
// registered with one is listed by the other.
func TestTwoServersShareRedis(t *testing.T) {
	addr := redisAddr(t)
	prefix := redisPrefix(t, addr)
	var srvs [2]*server.Server
	for i := range srvs {
		st, _ := openRedis(t, addr, prefix, process.Config{})
		srv, err := server.New(server.Config{Addr: "127.0.0.1:0", Store: st})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		srvs[i] = srv
	}
	if srvs[0].Addr().Port() == srvs[1].Addr().Port() {
		t.Fatal("the two servers share a port")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	objs := []client.Object{
		stdobj.NewSecurity(stdobj.SecurityAccount{ServerURI: "coap://" + srvs[0].Addr().String(), Mode: stdobj.SecurityNoSec, SSID: 1}),
		stdobj.NewServer(stdobj.ServerAccount{SSID: 1, Lifetime: 5 * time.Minute}),
		stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "Acme", ModelNumber: "T-1", SerialNumber: "shared-1"}),
	}
	dev, err := client.New(client.Config{Endpoint: "urn:dev:shared-1", Objects: objs, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if err := dev.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := srvs[1].Registration(ctx, "urn:dev:shared-1")
	if err != nil {
		t.Fatalf("the second server does not see the device registered with the first: %v", err)
	}
	var listed []string
	srvs[1].Registrations(ctx, func(r *store.Registration) bool { listed = append(listed, r.Endpoint); return true })
	if strings.Join(listed, ",") != "urn:dev:shared-1" || r.Address.Port() == 0 {
		t.Fatalf("second server lists %q, registration %+v", listed, r)
	}
}
