package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/host/config"
)

func TestStoreSection(t *testing.T) {
	cases := []struct {
		name, json, err string
	}{
		{"absent", `{}`, ""},
		{"file", `{"store":{"backend":"file","path":"x.log"}}`, ""},
		{"redis", `{"store":{"backend":"redis","redis":{"addr":"127.0.0.1:6379","prefix":"a:"}}}`, ""},
		{"plugin", `{"store":{"backend":"plugin","plugin":{"path":"p","checksum":"` + strings.Repeat("ab", 32) + `","config":{"a":1}}}}`, ""},
		{"unknown backend", `{"store":{"backend":"bolt"}}`, "backend"},
		{"redis not an object", `{"store":{"redis":"127.0.0.1"}}`, "redis"},
		{"plugin without section", `{"store":{"backend":"plugin"}}`, "plugin section"},
		{"plugin without path", `{"store":{"plugin":{"path":" "}}}`, "no path"},
		{"bad checksum", `{"store":{"plugin":{"path":"p","checksum":"abc"}}}`, "checksum"},
		{"misspelt key", `{"store":{"backend":"file","pth":"x"}}`, "pth"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse(strings.NewReader(tc.json))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want ErrInvalid mentioning %q", err, tc.err)
			}
		})
	}
}

func TestStorePathsRelativeToFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.json")
	os.WriteFile(path, []byte(`{"store":{"path":"d/r.log","plugin":{"path":"bin/p"}}}`), 0o600)
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Store.Path != filepath.Join(dir, "d/r.log") || c.Store.Plugin.Path != filepath.Join(dir, "bin/p") {
		t.Fatalf("paths %q %q", c.Store.Path, c.Store.Plugin.Path)
	}
}
