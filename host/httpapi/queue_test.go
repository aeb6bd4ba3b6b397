package httpapi

import (
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
)

// TestQueueModeDevice: requests to a sleeping queue-mode device answer at
// once with delayed: true and a request id; their responses arrive as
// REQUEST_RESPONSE events, in order, once the device wakes; beyond
// MaxDelayed the API refuses at once.
func TestQueueModeDevice(t *testing.T) {
	e := newEnv(t, envOptions{
		server: func(c *server.Config) { c.AwakeTime = 300 * time.Millisecond },
		api:    func(c *Config) { c.MaxDelayed = 3 },
	})
	events := e.openStream(t, "?ep=sleepy")
	d := e.startDevice(t, "sleepy", deviceOptions{queue: true, lifetime: 120 * time.Second, awakeTime: 1500 * time.Millisecond})
	events.next(t, evRegistration, 5*time.Second)
	events.next(t, evSleeping, 5*time.Second)

	code, b := e.call(t, "GET", "/api/clients/sleepy", "", "")
	if code != 200 {
		t.Fatal(code)
	}
	golden(t, "client_sleeping", b)

	type req struct{ method, path, ctype, body string }
	reqs := []req{
		{"GET", "/api/clients/sleepy/3/0/0", "", ""},
		{"PUT", "/api/clients/sleepy/42770/0/0", "text/plain", "late"},
		{"GET", "/api/clients/sleepy/42770/0/0", "", ""},
	}
	var ids []string
	for i, r := range reqs {
		code, b := e.call(t, r.method, r.path, r.ctype, r.body)
		if code != 200 {
			t.Fatalf("%s %s: %d %s", r.method, r.path, code, b)
		}
		if i == 0 {
			golden(t, "delayed", b)
		}
		m := decode(t, b)
		if m["delayed"] != true || m["requestId"] == "" || m["response"] != nil {
			t.Fatalf("not delayed: %s", b)
		}
		ids = append(ids, m["requestId"].(string))
	}
	// The bound: a fourth request is refused at once.
	if code, b := e.call(t, "GET", "/api/clients/sleepy/3/0/1", "", ""); code != 503 || !strings.Contains(string(b), "queue_full") {
		t.Errorf("beyond the bound: %d %s", code, b)
	}
	if !strings.Contains(metricsText(t, e), "wasm2m_delayed_requests 3") {
		t.Error("the delayed requests are not in the metrics")
	}

	// The device wakes: it sends data (Send), and listens for a while.
	if err := d.engine.Send(ctxT(t, 5*time.Second), 1, model.MustPath("/3303/0/5700")); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		m := events.next(t, evRequestResponse, 10*time.Second)
		got := decode(t, m.data)
		if got["requestId"] != id {
			t.Fatalf("response %d is for request %v, want %s (order)", i, got["requestId"], id)
		}
		switch i {
		case 0:
			golden(t, "event_request_response", m.data)
		case 2:
			if !strings.Contains(string(m.data), `"value":"late"`) {
				t.Errorf("the read after the write sees %s", m.data)
			}
		}
	}
	waitFor(t, 5*time.Second, "the delayed queue to empty", func() bool {
		return strings.Contains(metricsText(t, e), "wasm2m_delayed_requests 0")
	})
}
