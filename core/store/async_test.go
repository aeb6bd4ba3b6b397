package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
)

// asyncResult is what one done call reported.
type asyncResult struct {
	id       string
	replaced *store.Registration
	err      error
}

func TestPutRegistrationAsync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.log")
	f := openFile(t, path, store.FileOptions{})
	ctx := context.Background()
	if _, err := f.PutRegistration(ctx, storetest.NewRegistration("old", "ep-0")); err != nil {
		t.Fatal(err)
	}

	// Several goroutines, each putting in order: every done is called
	// once, and each goroutine's in the order of its puts.
	const goroutines, each = 4, 50
	var mu sync.Mutex
	got := map[string]asyncResult{}
	order := make([][]string, goroutines)
	var wg sync.WaitGroup
	var pending sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("r%d-%d", g, i)
				pending.Add(1)
				err := f.PutRegistrationAsync(ctx, storetest.NewRegistration(id, fmt.Sprintf("ep-%d", g*each+i)), func(replaced *store.Registration, err error) {
					mu.Lock()
					defer mu.Unlock()
					if _, twice := got[id]; twice {
						t.Errorf("done of %s called twice", id)
					}
					got[id] = asyncResult{id, replaced, err}
					order[g] = append(order[g], id)
					pending.Done()
				})
				if err != nil {
					t.Error(err)
					pending.Done()
				}
			}
		}()
	}
	wg.Wait()
	waitGroup(t, &pending)
	if len(got) != goroutines*each {
		t.Fatalf("%d done calls, want %d", len(got), goroutines*each)
	}
	for g, ids := range order {
		for i, id := range ids {
			if want := fmt.Sprintf("r%d-%d", g, i); id != want {
				t.Fatalf("goroutine %d: done %d was for %s, want %s", g, i, id, want)
			}
		}
	}
	// r0-0 took ep-0 from "old": its done says so.
	if r := got["r0-0"]; r.err != nil || r.replaced == nil || r.replaced.ID != "old" {
		t.Fatalf("done of r0-0: replaced %v, err %v; want old replaced", r.replaced, r.err)
	}
	for id, r := range got {
		if r.err != nil {
			t.Fatalf("%s: %v", id, r.err)
		}
	}

	// Refused before the change: an error, and no done.
	called := false
	if err := f.PutRegistrationAsync(ctx, &store.Registration{ID: "bad"}, func(*store.Registration, error) { called = true }); err == nil {
		t.Fatal("an invalid registration was taken")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.PutRegistrationAsync(ctx, storetest.NewRegistration("late", "ep-late"), func(*store.Registration, error) { called = true }); err == nil {
		t.Fatal("a closed store took a change")
	}
	if called {
		t.Fatal("done was called for a refused change")
	}

	// What done reported durable is there after a reopen.
	g := openFile(t, path, store.FileOptions{})
	defer g.Close()
	for id := range got {
		if _, err := g.Registration(ctx, id); err != nil {
			t.Fatalf("%s after reopen: %v", id, err)
		}
	}
}

// A write failure reaches done.
func TestPutRegistrationAsyncWriteFailure(t *testing.T) {
	f := openFile(t, filepath.Join(t.TempDir(), "store.log"), store.FileOptions{})
	defer f.Close()
	store.LogFile(f).Close()
	errc := make(chan error, 1)
	err := f.PutRegistrationAsync(context.Background(), storetest.NewRegistration("a", "ep-a"), func(_ *store.Registration, err error) { errc <- err })
	if err != nil {
		t.Fatalf("refused before the write: %v", err)
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Fatal("done reported success for a write that failed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("done was not called")
	}
}

func waitGroup(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	c := make(chan struct{})
	go func() { wg.Wait(); close(c) }()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatal("done calls missing")
	}
}

func TestLocal(t *testing.T) {
	f := openFile(t, filepath.Join(t.TempDir(), "store.log"), store.FileOptions{})
	defer f.Close()
	m := store.NewMemory()
	plugin := struct{ store.KV }{m} // what a storage plugin's KV looks like to the host
	for _, tc := range []struct {
		name string
		s    any
		want bool
	}{
		{"memory", m, true},
		{"file", f, true},
		{"security over the file", store.NewSecurity(f), true},
		{"bootstraps over memory", store.NewBootstraps(m), true},
		{"security over a plugin's KV", store.NewSecurity(plugin), false},
		{"nil", nil, false},
	} {
		if got := store.Local(tc.s); got != tc.want {
			t.Errorf("Local(%s) = %v", tc.name, got)
		}
	}
}
