package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"empty object", `{}`, true},
		{"full http", `{"http":{"addr":"127.0.0.1:0","tokens":["a"],"request_timeout":"2s","event_buffer":8,"max_delayed":4}}`, true},
		{"disabled", `{"http":{"auth_disabled":true}}`, true},
		{"unknown key", `{"http":{"adr":":1"}}`, false},
		{"bad duration", `{"http":{"request_timeout":5}}`, false},
		{"tokens and disabled", `{"http":{"tokens":["a"],"auth_disabled":true}}`, false},
		{"empty token", `{"http":{"tokens":[" "]}}`, false},
		{"negative buffer", `{"http":{"event_buffer":-1}}`, false},
		{"two values", `{} {}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.in))
			if tc.ok != (err == nil) {
				t.Fatalf("err %v", err)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			if tc.name == "full http" && time.Duration(c.HTTP.RequestTimeout) != 2*time.Second {
				t.Errorf("timeout %v", c.HTTP.RequestTimeout)
			}
		})
	}
}

func TestLoadAndTokenFiles(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("s3cret\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "wasm2m.json")
	if err := os.WriteFile(p, []byte(`{"http":{"tokens":["plain","file:`+tok+`"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.HTTP.ResolveTokens()
	if err != nil || len(got) != 2 || got[0] != "plain" || got[1] != "s3cret" {
		t.Fatalf("tokens %q, %v", got, err)
	}
	c.HTTP.Tokens = []string{"file:" + filepath.Join(dir, "missing")}
	if _, err := c.HTTP.ResolveTokens(); err == nil {
		t.Error("a missing token file is accepted")
	}
	if c, err := Load(""); err != nil || c == nil {
		t.Errorf("Load(\"\"): %v", err)
	}
	if _, err := Load(filepath.Join(dir, "nope.json")); err == nil {
		t.Error("a missing file is accepted")
	}
}
