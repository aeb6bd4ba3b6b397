package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
)

// ExpirerStore is a Store that lists lapsed registrations: what
// RunExpirer tests.
type ExpirerStore interface {
	store.Store
	store.Expirer
}

// RunExpirer runs the conformance suite of store.Expirer. open returns a
// new, empty store for each subtest; RunExpirer closes it.
func RunExpirer(t *testing.T, open func(t *testing.T) ExpirerStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s ExpirerStore)
	}{
		{"Expired", testExpired},
		{"DeleteExpired", testDeleteExpired},
		{"DeleteExpiredOnce", testDeleteExpiredOnce},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			tc.run(t, s)
		})
	}
}

var expiryBase = time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)

// putLapsing puts registration id, updated at expiryBase, with lifetime lt.
func putLapsing(t *testing.T, s store.Store, id string, lt uint32) *store.Registration {
	t.Helper()
	r := NewRegistration(id, "ep-"+id)
	r.UpdatedAt, r.Lifetime = expiryBase, lt
	put(t, s, r)
	return r
}

func testExpired(t *testing.T, s ExpirerStore) {
	ctx := context.Background()
	for i, lt := range []uint32{30, 10, 20, 1000} {
		putLapsing(t, s, fmt.Sprint("r", i), lt)
	}
	at := expiryBase.Add(100 * time.Second)
	ids, err := s.Expired(ctx, at, 10)
	if err != nil || strings.Join(ids, ",") != "r1,r2,r0" {
		t.Fatalf("Expired = %v, %v; want r1,r2,r0 (earliest first)", ids, err)
	}
	if ids, _ := s.Expired(ctx, at, 2); strings.Join(ids, ",") != "r1,r2" {
		t.Fatalf("Expired with limit 2 = %v", ids)
	}
	if ids, _ := s.Expired(ctx, expiryBase.Add(10*time.Second), 10); len(ids) != 0 {
		t.Fatalf("Expired before the first lapses = %v; want none (lapsed means before)", ids)
	}
	// An Update moves the expiry; a delete removes it.
	r := NewRegistration("r1", "ep-r1")
	r.UpdatedAt, r.Lifetime = expiryBase.Add(time.Hour), 10
	put(t, s, r)
	if _, _, err := s.DeleteRegistration(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.Expired(ctx, at, 10); !slices.Equal(ids, []string{"r0"}) {
		t.Fatalf("after an update and a delete: Expired = %v; want r0", ids)
	}
}

func testDeleteExpired(t *testing.T, s ExpirerStore) {
	ctx := context.Background()
	r := putLapsing(t, s, "r0", 10)
	putLapsing(t, s, "r1", 1000)
	if err := s.PutObservation(ctx, NewObservation("tok", r)); err != nil {
		t.Fatal(err)
	}
	at := expiryBase.Add(100 * time.Second)
	if _, _, err := s.DeleteExpired(ctx, "r1", at); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("DeleteExpired of a registration not lapsed: %v; want 4.04", err)
	}
	if _, err := s.Registration(ctx, "r1"); err != nil {
		t.Fatalf("the registration not lapsed is gone: %v", err)
	}
	got, obs, err := s.DeleteExpired(ctx, "r0", at)
	if err != nil || got.ID != "r0" || len(obs) != 1 || obs[0].Token != "tok" {
		t.Fatalf("DeleteExpired = %+v, %v, %v", got, obs, err)
	}
	if _, err := s.Registration(ctx, "r0"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("deleted registration: %v", err)
	}
	if _, err := s.Observation(ctx, "tok"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("its observation: %v", err)
	}
	if _, _, err := s.DeleteExpired(ctx, "r0", at); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("DeleteExpired twice: %v; want 4.04", err)
	}
	if _, _, err := s.DeleteExpired(ctx, "nope", at); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("DeleteExpired of nothing: %v; want 4.04", err)
	}
}

func testDeleteExpiredOnce(t *testing.T, s ExpirerStore) {
	ctx := context.Background()
	at := expiryBase.Add(100 * time.Second)
	for round := range 10 {
		id := fmt.Sprint("race", round)
		putLapsing(t, s, id, 1)
		var won atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, _, err := s.DeleteExpired(ctx, id, at); err == nil {
					won.Add(1)
				} else if !errors.Is(err, model.ErrNotFound) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("round %d: %d of 8 concurrent DeleteExpired removed the registration; want 1", round, won.Load())
		}
	}
}
