package store_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return store.NewMemory() })
}

func TestFileConformance(t *testing.T) {
	tests := []struct {
		name string
		opts store.FileOptions
	}{
		{"group commit", store.FileOptions{}},
		{"fsync per put", store.FileOptions{MaxBatch: 1}},
		{"commit interval", store.FileOptions{CommitInterval: time.Millisecond, MaxBatch: 8}},
		// Compacts after nearly every batch, under every test.
		{"always compacting", store.FileOptions{CompactSize: 1, NoSync: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				f, err := store.OpenFile(filepath.Join(t.TempDir(), "store.log"), tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				return f
			})
		})
	}
}
