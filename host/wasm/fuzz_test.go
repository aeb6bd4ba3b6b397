package wasm

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/sdk/abi"
)

// FuzzLoad loads any bytes as a plugin and, if they load, calls it: the
// runtime returns errors, never panics or hangs (the plugin has a
// deadline). The seeds are the test guests.
func FuzzLoad(f *testing.F) {
	wasms, _ := filepath.Glob("testdata/*.wasm")
	for _, w := range wasms {
		f.Add(readWasm(f, filepath.Base(w[:len(w)-len(".wasm")])), []byte{1})
	}
	r, err := NewRuntime(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.Close(context.Background()) })
	f.Fuzz(func(t *testing.T, bin, req []byte) {
		ctx := context.Background()
		p, err := r.Load(ctx, PluginConfig{ID: "fuzz", MaxInstances: 1, MemoryLimitPages: 32,
			Timeout: 100 * time.Millisecond, InitTimeout: 100 * time.Millisecond}, bin)
		if err != nil {
			if !errors.Is(err, ErrInvalidModule) {
				t.Fatalf("load error not ErrInvalidModule: %v", err)
			}
			return
		}
		defer p.Close(ctx)
		for _, m := range []abi.Method{abi.MethodObjectRead, 100, 107} {
			p.Call(ctx, m, req)
		}
	})
}
