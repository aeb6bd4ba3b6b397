package httpapi

import (
	"net/http"
	"strings"
	"testing"
)

// TestPanicIsJSON500: a handler that panics answers a JSON 500 without a
// stack trace, and the server goes on serving.
func TestPanicIsJSON500(t *testing.T) {
	saved := routes
	routes = append(append([]route[*API](nil), routes...), route[*API]{http.MethodGet, "/api/boom", "boom",
		func(*API, http.ResponseWriter, *http.Request, params) { panic("boom at a secret place") }, false})
	defer func() { routes = saved }()
	e := newEnv(t, envOptions{})
	code, b := e.call(t, "GET", "/api/boom", "", "")
	if code != 500 || strings.Contains(string(b), "secret") || strings.Contains(string(b), "goroutine") {
		t.Errorf("%d %s", code, b)
	}
	golden(t, "error_internal", b)
	if code, _ := e.call(t, "GET", "/api/clients", "", ""); code != 200 {
		t.Errorf("after a panic: %d", code)
	}
}

// TestBodyLimit: a body beyond 1 MiB is refused with a JSON 400.
func TestBodyLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.startDevice(t, "dev", deviceOptions{})
	big := strings.Repeat("x", maxBody+10)
	code, b := e.call(t, "PUT", "/api/clients/dev/42770/0/0", "text/plain", big)
	if code != 400 || !strings.Contains(string(b), "larger than") {
		t.Errorf("%d %.200s", code, b)
	}
}
