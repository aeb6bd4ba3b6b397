package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
)

func TestMemoryKVConformance(t *testing.T) {
	storetest.RunKV(t, func(t *testing.T) storetest.KVStore { return store.NewMemory() })
}

func TestFileKVConformance(t *testing.T) {
	tests := []struct {
		name string
		opts store.FileOptions
	}{
		{"group commit", store.FileOptions{}},
		{"fsync per put", store.FileOptions{MaxBatch: 1}},
		{"commit interval", store.FileOptions{CommitInterval: time.Millisecond, MaxBatch: 8}},
		{"always compacting", store.FileOptions{CompactSize: 1, NoSync: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.RunKV(t, func(t *testing.T) storetest.KVStore {
				f, err := store.OpenFile(filepath.Join(t.TempDir(), "store.log"), tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				return f
			})
		})
	}
}

// TestFileKVRestart checks that the key-value space comes back after a
// restart, through replay of the log and through a compacted snapshot,
// beside the registrations and observations.
func TestFileKVRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "store.log")
	open := func() *store.File {
		t.Helper()
		f, err := store.OpenFile(path, store.FileOptions{CompactSize: -1})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := open()
	r := storetest.NewRegistration("r1", "dev-1")
	if _, err := f.PutRegistration(ctx, r); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := f.KVPut(ctx, "logic.counter", fmt.Sprintf("k%02d", i), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.KVPut(ctx, "logic.counter", "k00", []byte("again")); err != nil {
		t.Fatal(err)
	}
	if err := f.KVDelete(ctx, "logic.counter", "k01"); err != nil {
		t.Fatal(err)
	}
	if err := f.KVPut(ctx, "objects.valve", "state", nil); err != nil {
		t.Fatal(err)
	}
	check := func(f *store.File, when string) {
		t.Helper()
		storetest.WantKV(t, f, "logic.counter", "k00", "again")
		storetest.WantNoKV(t, f, "logic.counter", "k01")
		storetest.WantKV(t, f, "logic.counter", "k19", "19")
		storetest.WantKV(t, f, "objects.valve", "state", "")
		keys, _, err := f.KVList(ctx, "logic.counter", "", "", 0)
		if err != nil || len(keys) != 19 {
			t.Fatalf("%s: %d keys, %v", when, len(keys), err)
		}
		if _, err := f.Registration(ctx, "r1"); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	check(f, "before the restart")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	f = open()
	check(f, "after replay")
	if err := f.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	// The file's size includes preallocated zeros; the statistics do not.
	if st := f.LastCompaction(); st.After >= st.Before {
		t.Errorf("compaction did not shrink the log: %d to %d bytes", st.Before, st.After)
	}
	check(f, "after compaction")
	if err := f.KVPut(ctx, "logic.counter", "k19", []byte("after")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	f = open()
	defer f.Close()
	storetest.WantKV(t, f, "logic.counter", "k19", "after")
	storetest.WantKV(t, f, "logic.counter", "k00", "again")
	storetest.WantNoKV(t, f, "logic.counter", "k01")
}

// A miss is an ordinary answer, formatted only when read: its text names
// what was missing, and it is a 4.04.
func TestNotFoundMessages(t *testing.T) {
	m := store.NewMemory()
	defer m.Close()
	_, err := m.KVGet(context.Background(), "objects.valve", "state")
	if !errors.Is(err, model.ErrNotFound) || err.Error() != `4.04 Not Found: store: no kv key in "objects.valve": "state"` {
		t.Errorf("KVGet miss: %v", err)
	}
	_, err = m.Registration(context.Background(), "r1")
	if !errors.Is(err, model.ErrNotFound) || err.Error() != `4.04 Not Found: store: no registration "r1"` {
		t.Errorf("Registration miss: %v", err)
	}
}
