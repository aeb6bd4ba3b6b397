package procplugin

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

// fakeHost answers kv get with the key itself, refuses changed with a
// 4.03 and records log lines.
type fakeHost struct {
	mu   sync.Mutex
	logs []string
}

func (h *fakeHost) HostCall(_ context.Context, m abi.HostMethod, req []byte) ([]byte, error) {
	switch m {
	case abi.HostKVGet:
		var r abi.KVGetRequest
		if err := r.Unmarshal(req); err != nil {
			return nil, err
		}
		resp := abi.KVGetResponse{Found: true, Value: []byte(r.Key)}
		return resp.MarshalAppend(nil), nil
	case abi.HostChanged:
		return nil, model.Errorf(model.Forbidden, "host method 1 needs capability %q", abi.CapChanged)
	}
	return nil, model.ErrNotImplemented
}

func (h *fakeHost) HostLog(_ context.Context, level slog.Level, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, level.String()+" "+msg)
}

// TestHostConn connects a plugin's HostConn to a host over go-plugin's
// broker in one process: sdk/guest's host functions of a call reach the
// host, its status comes back, and once the host is gone a host call
// fails with a 5.03 (and a log line goes to standard error) instead of
// waiting.
func TestHostConn(t *testing.T) {
	hc := NewHostConn()
	fh := &fakeHost{}
	h := HandlerFunc(func(ctx context.Context, m abi.Method, req []byte) ([]byte, error) {
		switch m {
		case 1:
			return guest.KV.Get(ctx, string(req))
		case 2:
			return nil, guest.Changed(ctx, model.MustPath("/3303/0/5700"))
		}
		guest.Log(ctx, guest.LevelWarn, "hello")
		return nil, nil
	})
	// The host of sdk/guest's host functions outside a Dispatcher's call.
	guest.SetHost(hc)
	t.Cleanup(func() { guest.SetHost(nil) })
	client, server := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{
		PluginName: &GRPCPlugin{Impl: h, Host: hc, HostCalls: fh},
	})
	// Closing the client stops the server (go-plugin's controller), so
	// the test stops it that way only, and once.
	closed := false
	t.Cleanup(func() {
		if !closed {
			client.Close()
		}
	})
	_ = server
	raw, err := client.Dispense(PluginName)
	if err != nil {
		t.Fatal(err)
	}
	c := raw.(*Client)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := c.Call(ctx, 1, []byte("key"))
	if err != nil || string(out) != "key" {
		t.Fatalf("kv through the host: %q, %v", out, err)
	}
	_, err = c.Call(ctx, 2, nil)
	if !errors.Is(err, model.ErrForbidden) || !strings.Contains(err.Error(), `capability "changed"`) || strings.Count(err.Error(), "4.03") != 1 {
		t.Fatalf("changed refused by the host: %v, want one 4.03 naming the capability", err)
	}
	if _, err := c.Call(ctx, 3, nil); err != nil {
		t.Fatal(err)
	}
	fh.mu.Lock()
	logs := fh.logs
	fh.mu.Unlock()
	if len(logs) != 1 || logs[0] != "WARN hello" {
		t.Fatalf("host logs %q", logs)
	}

	client.Close() // the host goes away
	closed = true
	// Its host-call server stops once go-plugin's broker has closed, a
	// moment later: host calls then fail at once, with a 5.03.
	deadline := time.Now().Add(5 * time.Second)
	for {
		start := time.Now()
		_, err = hc.Call(ctx, abi.HostKVGet, (&abi.KVGetRequest{Key: "k"}).MarshalAppend(nil))
		if took := time.Since(start); took > time.Second {
			t.Fatalf("a host call after the host went away took %v (%v)", took, err)
		}
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("host calls still answered 5 s after the host went away")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !errors.Is(err, model.ErrServiceUnavailable) {
		t.Fatalf("host call after the host went away: %v, want 5.03", err)
	}
	hc.Log(guest.LevelInfo, "after the host") // to standard error, no panic, no hang
	if err := hc.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := hc.Call(ctx, abi.HostKVGet, nil); !errors.Is(err, model.ErrServiceUnavailable) {
		t.Fatalf("host call after close: %v, want 5.03", err)
	}
}

// TestHostConnNotConnected: a host call on a HostConn that never connects
// ends with its context, as a 5.04, and one closed unconnected with a
// 5.03.
func TestHostConnNotConnected(t *testing.T) {
	hc := NewHostConn()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := hc.Call(ctx, abi.HostKVGet, nil); !errors.Is(err, model.ErrGatewayTimeout) {
		t.Fatalf("call without a host: %v, want 5.04", err)
	}
	hc.Close()
	if _, err := hc.Call(context.Background(), abi.HostKVGet, nil); !errors.Is(err, model.ErrServiceUnavailable) {
		t.Fatalf("call on a closed HostConn: %v, want 5.03", err)
	}
}
