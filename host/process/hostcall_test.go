package process_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/host/adapter"
	"github.com/wasm2m/wasm2m/host/process"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// recordingHost answers host calls with host/adapter's Host and records
// the changed ones (which adapter.Host routes to an engine this test has
// not).
type recordingHost struct {
	inner *adapter.Host
	mu    sync.Mutex
	calls []string // plugin id and path of each changed call
}

func (h *recordingHost) Call(ctx context.Context, plugin string, m abi.HostMethod, req []byte) ([]byte, error) {
	if m != abi.HostChanged {
		return h.inner.Call(ctx, plugin, m, req)
	}
	var r abi.ChangedRequest
	if err := r.Unmarshal(req); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range r.Paths {
		mp, err := p.Model()
		if err != nil {
			return nil, err
		}
		h.calls = append(h.calls, plugin+" "+mp.String())
	}
	return nil, nil
}

func (h *recordingHost) changed() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

var _ process.Host = (*recordingHost)(nil)

// buildTestHost builds internal/testhost, an sdk/guest object plugin that
// makes host calls.
func buildTestHost(t *testing.T) string {
	t.Helper()
	path := filepath.Join(filepath.Dir(testPlugin), "testhost")
	if out, err := exec.Command("go", "build", "-o", path, "./internal/testhost").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return path
}

func readValue(ctx context.Context, p *process.Plugin) (float64, error) {
	req := abi.ObjectReadRequest{Path: abi.PathOf(model.MustPath("/3303/0/5700"))}
	out, err := p.Call(ctx, abi.MethodObjectRead, req.MarshalAppend(nil))
	if err != nil {
		return 0, err
	}
	var resp abi.ObjectReadResponse
	if err := resp.Unmarshal(out); err != nil {
		return 0, err
	}
	n, err := resp.Node.Model()
	if err != nil {
		return 0, err
	}
	return n.Value.Float(), nil
}

func writeValue(ctx context.Context, p *process.Plugin, v float64) error {
	n := model.Node{Kind: model.KindResource, ID: 5700, Value: model.Float(v)}
	req := abi.ObjectWriteRequest{Path: abi.PathOf(model.MustPath("/3303/0/5700")), Node: abi.NodeOf(&n)}
	_, err := p.Call(ctx, abi.MethodObjectWrite, req.MarshalAppend(nil))
	return err
}

// TestProcessHostCalls runs an sdk/guest object plugin as a process whose
// Read calls kv and whose Write calls kv, log and changed: each reaches
// the host (host/adapter's Host on a memory store) back over go-plugin's
// broker, under the plugin's id, and its log line is re-logged with the
// plugin's id.
func TestProcessHostCalls(t *testing.T) {
	kv := store.NewMemory()
	h := &recordingHost{inner: adapter.NewHost(adapter.HostConfig{KV: kv})}
	p, logs := start(t, process.Config{Path: buildTestHost(t), Host: h, Grant: []string{abi.CapKV, abi.CapChanged, abi.CapRequest}})
	ctx := context.Background()
	if got := p.Granted(); len(got) != 2 {
		t.Fatalf("granted %v, want kv and changed (the manifest asks for no more)", got)
	}
	if v, err := readValue(ctx, p); err != nil || v != 0 {
		t.Fatalf("first read: %v, %v; want 0 (no value stored)", v, err)
	}
	if err := writeValue(ctx, p, 22.5); err != nil {
		t.Fatalf("write: %v", err)
	}
	if v, err := readValue(ctx, p); err != nil || v != 22.5 {
		t.Fatalf("read after write: %v, %v; want 22.5", v, err)
	}
	if b, err := kv.KVGet(ctx, "objects.testhost", "value"); err != nil || string(b) != "22.5" {
		t.Fatalf("the host's kv holds %q, %v", b, err)
	}
	if got := h.changed(); len(got) != 1 || got[0] != "objects.testhost /3303/0/5700" {
		t.Fatalf("changed calls %q", got)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if _, err := readValue(ctx, p); err != nil {
					t.Error(err)
					return
				}
				if i%5 == 0 {
					if err := writeValue(ctx, p, float64(g*100+i)); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if n := len(h.changed()); n != 1+4*4 {
		t.Errorf("%d changed calls, want %d", n, 1+4*4)
	}
	found := false
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"msg":"value changed value=22.5"`) && strings.Contains(line, `"plugin":"objects.testhost"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no log line of the plugin's value change with its id:\n%s", logs)
	}
}

// TestProcessHostCallDenied: a host call whose capability the
// configuration did not grant fails with 4.03, as from Wasm, and the
// plugin's call with it.
func TestProcessHostCallDenied(t *testing.T) {
	path := buildTestHost(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		grant     []string
		readErr   error
		writeErr  error
		forbidden string
	}{
		{"kv only", []string{abi.CapKV}, nil, model.ErrForbidden, `capability "changed"`},
		{"nothing", nil, model.ErrForbidden, model.ErrForbidden, `capability "kv"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &recordingHost{inner: adapter.NewHost(adapter.HostConfig{KV: store.NewMemory()})}
			p, _ := start(t, process.Config{Path: path, Host: h, Grant: tc.grant})
			_, err := readValue(ctx, p)
			if !errors.Is(err, tc.readErr) && !(tc.readErr == nil && err == nil) {
				t.Fatalf("read: %v, want %v", err, tc.readErr)
			}
			err = writeValue(ctx, p, 1)
			if !errors.Is(err, tc.writeErr) {
				t.Fatalf("write: %v, want %v", err, tc.writeErr)
			}
			if !strings.Contains(err.Error(), tc.forbidden) {
				t.Errorf("write: %v, want it to name %s", err, tc.forbidden)
			}
			if got := h.changed(); len(got) != 0 {
				t.Errorf("changed reached the host: %q", got)
			}
		})
	}
}
