package process_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/server/servertest"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/host/process"
)

// TestSharedExpiryRedis: three core/servers, each with its own Redis
// plugin process on the same Redis and prefix. A device registers on A
// and never updates; A stops. The registration expires all the same: it
// is removed from Redis, and B and C together emit Expired exactly once.
func TestSharedExpiryRedis(t *testing.T) {
	addr := redisAddr(t)
	prefix := redisPrefix(t, addr)
	start := func() (*server.Server, store.Store) {
		st, _ := openRedis(t, addr, prefix, process.Config{})
		if _, ok := store.Store(st).(store.Expirer); !ok {
			t.Fatal("the process store is no store.Expirer")
		}
		srv, err := server.New(server.Config{Addr: "127.0.0.1:0", Store: st,
			ExpiryGrace: 100 * time.Millisecond, ExpiryPoll: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return srv, st
	}
	a, _ := start()
	b, _ := start()
	c, cst := start()
	subs := []*server.Subscription{b.Subscribe(server.SubscribeOptions{Buffer: 64}), c.Subscribe(server.SubscribeOptions{Buffer: 64})}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dev, err := servertest.New(servertest.Config{Endpoint: "urn:dev:lapsed", Server: a.Addr(), Lifetime: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if err := dev.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	expired := 0
	deadline := time.After(4 * time.Second)
wait:
	for {
		for _, sub := range subs {
			select {
			case e := <-sub.C:
				if e.Type == server.EventExpired {
					if e.Registration.Endpoint != "urn:dev:lapsed" {
						t.Errorf("expired %q", e.Registration.Endpoint)
					}
					expired++
				}
				continue
			default:
			}
		}
		select {
		case <-deadline:
			break wait
		case <-time.After(10 * time.Millisecond):
		}
	}
	if expired != 1 {
		t.Fatalf("%d Expired events across B and C, want 1", expired)
	}
	if _, err := cst.RegistrationByEndpoint(ctx, "urn:dev:lapsed"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("the registration is still in Redis: %v", err)
	}
	if n, err := cst.CountRegistrations(ctx); err != nil || n != 0 {
		t.Fatalf("%d registrations left, %v", n, err)
	}
}
