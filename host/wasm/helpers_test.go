package wasm

import (
	"context"
	"encoding/binary"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a slog handler that keeps the records for tests to read.
type recorder struct {
	mu    sync.Mutex
	recs  []rec
	attrs []slog.Attr
	root  *recorder
}

type rec struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func newRecorder() *recorder { r := &recorder{}; r.root = r; return r }

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(_ context.Context, record slog.Record) error {
	x := rec{level: record.Level, msg: record.Message, attrs: map[string]string{}}
	for _, a := range r.attrs {
		x.attrs[a.Key] = a.Value.String()
	}
	record.Attrs(func(a slog.Attr) bool {
		x.attrs[a.Key] = a.Value.String()
		return true
	})
	r.root.mu.Lock()
	r.root.recs = append(r.root.recs, x)
	r.root.mu.Unlock()
	return nil
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorder{attrs: append(append([]slog.Attr(nil), r.attrs...), as...), root: r.root}
}

func (r *recorder) WithGroup(string) slog.Handler { return r }

// find returns the first record whose message contains msg.
func (r *recorder) find(msg string) (rec, bool) {
	r.root.mu.Lock()
	defer r.root.mu.Unlock()
	for _, x := range r.root.recs {
		if strings.Contains(x.msg, msg) {
			return x, true
		}
	}
	return rec{}, false
}

func readWasm(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newTestRuntime returns a Runtime that the test closes, checking that
// no goroutine outlives it.
func newTestRuntime(t *testing.T, cfg Config) (*Runtime, *recorder) {
	t.Helper()
	before := runtime.NumGoroutine()
	rec := newRecorder()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(rec)
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = t.TempDir()
	}
	r, err := NewRuntime(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		checkGoroutines(t, before)
	})
	return r, rec
}

// checkGoroutines waits up to 5 s for the goroutine count to come back
// to before (wazero's per-call watchers exit just after a call returns).
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines after close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func load(t *testing.T, r *Runtime, name string, cfg PluginConfig) *Plugin {
	t.Helper()
	if cfg.ID == "" {
		cfg.ID = "test." + name
	}
	p, err := r.Load(context.Background(), cfg, readWasm(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
