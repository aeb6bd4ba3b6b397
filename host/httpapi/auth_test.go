package httpapi

import (
	"errors"
	"net/http"
	"testing"
)

func TestAuth(t *testing.T) {
	e := newEnv(t, envOptions{api: func(c *Config) { c.Tokens = []string{"first", "second"} }})
	e.startDevice(t, "dev", deviceOptions{})
	for _, tc := range []struct {
		name, tok, path string
		want            int
	}{
		{"no token", "", "/api/clients", 401},
		{"wrong token", "third", "/api/clients", 401},
		{"prefix of a token", "firs", "/api/clients", 401},
		{"first token", "first", "/api/clients", 200},
		{"second token", "second", "/api/clients/dev/3/0/0", 200},
		{"metrics need a token", "", "/metrics", 401},
		{"events need a token", "", "/api/event", 401},
		{"an unknown route needs a token too", "", "/api/nothing", 401},
		{"health is public", "", "/healthz", 200},
		{"the document is public", "", "/api/openapi.json", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := e.callAuth(t, tc.tok, "GET", tc.path, "", "")
			if code != tc.want {
				t.Fatalf("%d, want %d: %s", code, tc.want, b)
			}
			if code == 401 {
				golden(t, "error_unauthorized", b)
			}
		})
	}
	t.Run("WWW-Authenticate and other schemes", func(t *testing.T) {
		req, _ := http.NewRequest("GET", e.http.URL+"/api/clients", nil)
		req.Header.Set("Authorization", "Basic Zmlyc3Q6")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
}

func TestAuthDisabled(t *testing.T) {
	e := newEnv(t, envOptions{api: func(c *Config) { c.Tokens = nil; c.AuthDisabled = true }})
	if code, b := e.callAuth(t, "", "GET", "/api/clients", "", ""); code != 200 || string(b) != "[]\n" {
		t.Errorf("%d %s", code, b)
	}
	if code, _ := e.callAuth(t, "", "GET", "/metrics", "", ""); code != 200 {
		t.Errorf("metrics: %d", code)
	}
}

// TestAuthIsOnUnlessDisabled: no token and no explicit AuthDisabled is
// refused, never served open.
func TestAuthIsOnUnlessDisabled(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, err := New(Config{Server: e.srv})
	if !errors.Is(err, ErrNoToken) {
		t.Errorf("New without tokens: %v", err)
	}
	if _, err := New(Config{Server: e.srv, Tokens: []string{""}}); err == nil {
		t.Error("an empty token is accepted")
	}
}
