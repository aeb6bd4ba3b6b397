package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server/servertest"
	"github.com/wasm2m/wasm2m/core/store"
)

// sharedMemory is a memory store shared by several servers of a test, as
// a Redis is: a store.Expirer (listing by a scan, which a real shared
// store must not do) whose Close leaves it open for the other servers.
type sharedMemory struct {
	*store.Memory
	mu sync.Mutex // makes DeleteExpired atomic
}

func (m *sharedMemory) Close() error { return nil }

func (m *sharedMemory) Expired(ctx context.Context, before time.Time, limit int) ([]string, error) {
	var ids []string
	err := m.Registrations(ctx, func(r *store.Registration) bool {
		if r.ExpiresAt().Before(before) {
			ids = append(ids, r.ID)
		}
		return len(ids) < limit
	})
	return ids, err
}

func (m *sharedMemory) DeleteExpired(ctx context.Context, id string, before time.Time) (*store.Registration, []*store.Observation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.Registration(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if !r.ExpiresAt().Before(before) {
		return nil, nil, model.Errorf(model.NotFound, "not expired")
	}
	return m.DeleteRegistration(ctx, id)
}

// countExpired counts the Expired events of subs until d has passed.
func countExpired(d time.Duration, subs ...*Subscription) int {
	n := 0
	timeout := time.After(d)
	for {
		for _, sub := range subs {
			select {
			case e := <-sub.C:
				if e.Type == EventExpired {
					n++
				}
				continue
			default:
			}
		}
		select {
		case <-timeout:
			return n
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestSharedExpiry: servers A, B and C share one store; a device
// registers on A and never updates; A stops. The registration expires on
// the others all the same, is removed, and only one of them emits
// Expired. A device that keeps updating through B never expires on C.
func TestSharedExpiry(t *testing.T) {
	st := &sharedMemory{Memory: store.NewMemory()}
	cfg := Config{Store: st, ExpiryGrace: 100 * time.Millisecond, ExpiryPoll: 50 * time.Millisecond}
	a, b, c := startServer(t, cfg), startServer(t, cfg), startServer(t, cfg)
	subB := b.Subscribe(SubscribeOptions{Buffer: 64})
	subC := c.Subscribe(SubscribeOptions{Buffer: 64})
	register(t, a, "urn:dev:lapsed", func(c *servertest.Config) { c.Lifetime = 1 })
	live := register(t, b, "urn:dev:live", func(c *servertest.Config) { c.Lifetime = 1 })
	a.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
				live.Update(context.Background(), false)
			}
		}
	})
	if n := countExpired(2500*time.Millisecond, subB, subC); n != 1 {
		t.Fatalf("%d Expired events across the servers, want 1", n)
	}
	close(stop)
	wg.Wait()
	if _, err := c.Registration(ctxT(t), "urn:dev:lapsed"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("the lapsed registration is still there: %v", err)
	}
	if _, err := c.Registration(ctxT(t), "urn:dev:live"); err != nil {
		t.Fatalf("the updated registration expired: %v", err)
	}
}

// TestSharedExpiryNotImplemented: a store whose Expired answers 5.01 (a
// storage plugin of an older ABI) leaves expiry to the server's queue.
func TestSharedExpiryNotImplemented(t *testing.T) {
	st := &oldShared{Memory: store.NewMemory()}
	s := startServer(t, Config{Store: st, ExpiryGrace: 100 * time.Millisecond})
	if s.shared != nil {
		t.Fatal("the server polls a store that lists nothing")
	}
	sub := s.Subscribe(SubscribeOptions{Buffer: 16})
	register(t, s, "urn:dev:old", func(c *servertest.Config) { c.Lifetime = 1 })
	next(t, sub, EventExpired)
}

type oldShared struct{ *store.Memory }

func (m *oldShared) Expired(context.Context, time.Time, int) ([]string, error) {
	return nil, model.ErrNotImplemented
}

func (m *oldShared) DeleteExpired(context.Context, string, time.Time) (*store.Registration, []*store.Observation, error) {
	return nil, nil, model.ErrNotImplemented
}
