package httpapi

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/server"
)

// TestCloseEndsEverything: Close ends open event streams and the delayed
// requests still waiting, and every goroutine the API started stops.
func TestCloseEndsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("run", func(t *testing.T) {
		e := newEnv(t, envOptions{server: func(c *server.Config) { c.AwakeTime = 200 * time.Millisecond }})
		events := e.openStream(t, "")
		e.startDevice(t, "sleeper", deviceOptions{queue: true, lifetime: 120 * time.Second, awakeTime: time.Second})
		events.next(t, evSleeping, 5*time.Second)
		code, b := e.call(t, "GET", "/api/clients/sleeper/3/0/0", "", "")
		if code != 200 || !strings.Contains(string(b), `"delayed":true`) {
			t.Fatalf("%d %s", code, b)
		}
		done := make(chan struct{})
		go func() { e.api.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not return")
		}
		select {
		case <-events.done:
		case <-time.After(5 * time.Second):
			t.Fatal("the event stream did not end")
		}
		if code, _ := e.callAuth(t, "", "GET", "/healthz", "", ""); code != http.StatusServiceUnavailable {
			t.Errorf("healthz after Close: %d", code)
		}
	})
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
