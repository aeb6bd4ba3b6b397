package redis_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
)

func TestExpirerConformance(t *testing.T) {
	storetest.RunExpirer(t, func(t *testing.T) storetest.ExpirerStore { return asStore(open(t, config(t))) })
}

// TestDeleteExpired goes through the ABI (host/process.Store on the
// plugin's Handler, in process): Expired lists, DeleteExpired removes a
// lapsed registration with its observations and refuses one that is not
// (or no longer) lapsed; of many concurrent DeleteExpired of one
// registration, exactly one removes it.
func TestDeleteExpired(t *testing.T) {
	st := asStore(open(t, config(t)))
	defer st.Close()
	var _ store.Expirer = st
	now := time.Now().Truncate(time.Second)
	for i, lt := range []uint32{10, 1000} {
		r := storetest.NewRegistration(fmt.Sprint("r", i), fmt.Sprint("ep", i))
		r.UpdatedAt, r.Lifetime = now, lt
		if _, err := st.PutRegistration(bg, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutObservation(bg, &store.Observation{Token: "t0", RegistrationID: "r0", Endpoint: "ep0", Paths: []model.Path{model.ResourcePath(3, 0, 1)}}); err != nil {
		t.Fatal(err)
	}
	at := now.Add(100 * time.Second)
	if ids, err := st.Expired(bg, at, 10); err != nil || strings.Join(ids, ",") != "r0" {
		t.Fatalf("expired %v, %v", ids, err)
	}
	if _, _, err := st.DeleteExpired(bg, "r1", at); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("a registration not lapsed: %v, want 4.04", err)
	}
	if _, err := st.Registration(bg, "r1"); err != nil {
		t.Fatalf("r1 is gone: %v", err)
	}
	r, obs, err := st.DeleteExpired(bg, "r0", at)
	if err != nil || r.ID != "r0" || len(obs) != 1 || obs[0].Token != "t0" {
		t.Fatalf("delete expired: %+v %v %v", r, obs, err)
	}
	if _, _, err := st.DeleteExpired(bg, "r0", at); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("deleted twice: %v", err)
	}
	if _, err := st.Observation(bg, "t0"); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("its observation is left: %v", err)
	}

	// Updated just before the delete: the delete refuses it.
	r = storetest.NewRegistration("r2", "ep2")
	r.UpdatedAt, r.Lifetime = now, 10
	st.PutRegistration(bg, r)
	r = r.Clone()
	r.UpdatedAt = now.Add(200 * time.Second)
	st.PutRegistration(bg, r)
	if _, _, err := st.DeleteExpired(bg, "r2", at); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("an updated registration was expired: %v", err)
	}

	// Many servers at once: one wins.
	for round := range 20 {
		id := fmt.Sprint("race", round)
		r := storetest.NewRegistration(id, "ep-"+id)
		r.UpdatedAt, r.Lifetime = now, 1
		st.PutRegistration(bg, r)
		var won atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, _, err := st.DeleteExpired(bg, id, at); err == nil {
					won.Add(1)
				} else if !errors.Is(err, model.ErrNotFound) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("round %d: %d deletes won", round, won.Load())
		}
	}
}
