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
		{"plugins", `{"plugins":[{"path":"a.wasm","grant":["kv","changed"],"config":{"sensors":2},"timeout":"50ms","max_instances":4,"memory_pages":256,"watch":true},{"path":"b.wasm"}]}`, true},
		{"plugin without path", `{"plugins":[{"grant":["kv"]}]}`, false},
		{"plugin unknown key", `{"plugins":[{"path":"a.wasm","grants":["kv"]}]}`, false},
		{"plugin config not an object", `{"plugins":[{"path":"a.wasm","config":[1]}]}`, false},
		{"plugin config null", `{"plugins":[{"path":"a.wasm","config":null}]}`, true},
		{"plugin grant list in one string", `{"plugins":[{"path":"a.wasm","grant":["kv,changed"]}]}`, false},
		{"plugin negative instances", `{"plugins":[{"path":"a.wasm","max_instances":-1}]}`, false},
		{"plugin too much memory", `{"plugins":[{"path":"a.wasm","memory_pages":65537}]}`, false},
		{"plugin bad timeout", `{"plugins":[{"path":"a.wasm","timeout":"soon"}]}`, false},
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
			if tc.name == "plugins" {
				p := c.Plugins[0]
				if len(c.Plugins) != 2 || p.Path != "a.wasm" || strings.Join(p.Grant, ",") != "kv,changed" || string(p.Config) != `{"sensors":2}` ||
					time.Duration(p.Timeout) != 50*time.Millisecond || p.MaxInstances != 4 || p.MemoryPages != 256 || !p.Watch {
					t.Errorf("plugins %+v", c.Plugins)
				}
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

// TestLoadPluginPaths checks that a plugin's relative path is relative to
// the configuration file's folder.
func TestLoadPluginPaths(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "wasm2m.json")
	if err := os.WriteFile(p, []byte(`{"plugins":[{"path":"plugins/a.wasm"},{"path":"/abs/b.wasm"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Plugins[0].Path; got != filepath.Join(dir, "plugins", "a.wasm") {
		t.Errorf("relative path: %s", got)
	}
	if got := c.Plugins[1].Path; got != "/abs/b.wasm" {
		t.Errorf("absolute path: %s", got)
	}
}
