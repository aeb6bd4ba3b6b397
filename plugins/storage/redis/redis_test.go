package redis_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
	"github.com/wasm2m/wasm2m/host/process" // tests only: the host's side of the ABI makes the plugin a store.Store
	"github.com/wasm2m/wasm2m/plugins/storage/redis"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

var bg = context.Background()

// redisAddr returns the address of the Redis the tests use
// (WASM2M_REDIS_ADDR, which .ci/run sets). Without one the test skips,
// but under CI it fails.
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

var seq atomic.Int64

// config returns a Config on the test Redis with a prefix of the test's
// own, whose keys are removed when the test ends.
func config(t testing.TB) redis.Config {
	addr := redisAddr(t)
	prefix := fmt.Sprintf("test:%d:%d:%s:", os.Getpid(), seq.Add(1), strings.ReplaceAll(t.Name(), "/", "."))
	t.Cleanup(func() { clean(addr, prefix) })
	return redis.Config{Addr: addr, Prefix: prefix}
}

func clean(addr, prefix string) {
	rdb := goredis.NewClient(&goredis.Options{Addr: addr})
	defer rdb.Close()
	iter := rdb.Scan(bg, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(bg) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			rdb.Del(bg, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rdb.Del(bg, keys...)
	}
}

func open(t testing.TB, cfg redis.Config) *redis.Storage {
	t.Helper()
	s, err := redis.Open(bg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// asStore is the Storage as a core/store.Store, through the ABI in
// process (no plugin process).
func asStore(s *redis.Storage) *process.Store {
	return process.NewStore(procplugin.StorageHandler(redis.Manifest, s))
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return asStore(open(t, config(t))) })
	storetest.RunKV(t, func(t *testing.T) storetest.KVStore { return asStore(open(t, config(t))) })
}

func TestLayout(t *testing.T) {
	cfg := config(t)
	s := open(t, cfg)
	s.Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: cfg.Addr})
	defer rdb.Close()
	if v, _ := rdb.Get(bg, cfg.Prefix+"layout").Result(); v != "1" {
		t.Fatalf("layout key %q, want 1", v)
	}
	tests := []struct {
		name, value string
	}{
		{"newer", "2"},
		{"not a number", "one"},
		{"zero", "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rdb.Set(bg, cfg.Prefix+"layout", tc.value, 0)
			_, err := redis.Open(bg, cfg)
			if !errors.Is(err, redis.ErrLayout) {
				t.Fatalf("layout %q: %v, want ErrLayout", tc.value, err)
			}
			if v, _ := rdb.Get(bg, cfg.Prefix+"layout").Result(); v != tc.value {
				t.Fatalf("a refused layout was changed to %q", v)
			}
		})
	}
	rdb.Set(bg, cfg.Prefix+"layout", "1", 0)
	open(t, cfg).Close()
}

// TestSharedFleet has two Storages (two servers) on one Redis and prefix:
// what one writes, the other reads.
func TestSharedFleet(t *testing.T) {
	cfg := config(t)
	a, b := asStore(open(t, cfg)), asStore(open(t, cfg))
	defer a.Close()
	defer b.Close()
	r := storetest.NewRegistration("r1", "urn:dev:1")
	if _, err := a.PutRegistration(bg, r); err != nil {
		t.Fatal(err)
	}
	got, err := b.RegistrationByEndpoint(bg, "urn:dev:1")
	if err != nil {
		t.Fatal(err)
	}
	if d := storetest.DiffRegistration(got, r); d != "" {
		t.Fatal(d)
	}
	// The other server re-registers the endpoint: the first sees it.
	r2 := storetest.NewRegistration("r2", "urn:dev:1")
	if old, err := b.PutRegistration(bg, r2); err != nil || old == nil || old.ID != "r1" {
		t.Fatalf("replaced %v, %v", old, err)
	}
	if n, _ := a.CountRegistrations(bg); n != 1 {
		t.Fatalf("count %d", n)
	}
}

func TestExpired(t *testing.T) {
	s := open(t, config(t))
	st := asStore(s)
	defer st.Close()
	now := time.Now().Truncate(time.Second)
	for i, lt := range []uint32{10, 100, 1000} {
		r := storetest.NewRegistration(fmt.Sprint("r", i), fmt.Sprint("ep", i))
		r.UpdatedAt, r.Lifetime = now, lt
		if _, err := st.PutRegistration(bg, r); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := s.Expired(bg, now.Add(200*time.Second), 10)
	if err != nil || strings.Join(ids, ",") != "r0,r1" {
		t.Fatalf("expired %v, %v", ids, err)
	}
	// An Update moves the expiry.
	r := storetest.NewRegistration("r0", "ep0")
	r.UpdatedAt, r.Lifetime = now.Add(500*time.Second), 10
	st.PutRegistration(bg, r)
	if ids, _ := s.Expired(bg, now.Add(200*time.Second), 10); strings.Join(ids, ",") != "r1" {
		t.Fatalf("after update: expired %v", ids)
	}
	st.DeleteRegistration(bg, "r1")
	if ids, _ := s.Expired(bg, now.Add(200*time.Second), 10); len(ids) != 0 {
		t.Fatalf("after delete: expired %v", ids)
	}
}

func TestPluginStart(t *testing.T) {
	cfg := config(t)
	p := redis.NewPlugin()
	defer p.Close()
	st := process.NewStore(p)
	if _, err := st.CountRegistrations(bg); err == nil {
		t.Fatal("a call before Start succeeded")
	}
	if _, err := process.StartStorage(bg, p, []byte(fmt.Sprintf(`{"addr":%q,"prefix":%q}`, cfg.Addr, cfg.Prefix))); err != nil {
		t.Fatal(err)
	}
	if n, err := st.CountRegistrations(bg); err != nil || n != 0 {
		t.Fatalf("count %d, %v", n, err)
	}
}

// TestLayoutUpgrade opens data of layout 1 with a build of layout 2: the
// upgrade runs once, with the data there, and the version moves to 2.
func TestLayoutUpgrade(t *testing.T) {
	cfg := config(t)
	s := asStore(open(t, cfg))
	if _, err := s.PutRegistration(bg, storetest.NewRegistration("r1", "ep1")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var runs atomic.Int64
	restore := redis.SetLayout(2, func(ctx context.Context, st *redis.Storage) error {
		runs.Add(1)
		if _, err := st.Registration(ctx, "r1"); err != nil {
			return err
		}
		return nil
	})
	defer restore()
	open(t, cfg).Close()
	open(t, cfg).Close()
	rdb := goredis.NewClient(&goredis.Options{Addr: cfg.Addr})
	defer rdb.Close()
	if v, _ := rdb.Get(bg, cfg.Prefix+"layout").Result(); v != "2" || runs.Load() != 1 {
		t.Fatalf("layout %q after %d upgrades, want 2 after 1", v, runs.Load())
	}
	// A failed upgrade leaves the old version for the next start.
	restore2 := redis.SetLayout(3, func(context.Context, *redis.Storage) error { return errors.New("no room") })
	defer restore2()
	if _, err := redis.Open(bg, cfg); err == nil || !strings.Contains(err.Error(), "no room") {
		t.Fatalf("failed upgrade: %v", err)
	}
	if v, _ := rdb.Get(bg, cfg.Prefix+"layout").Result(); v != "2" {
		t.Fatalf("layout %q after a failed upgrade, want 2", v)
	}
}
