package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// TestStoreFromConfig runs the one binary on each backend its
// configuration file names, without rebuilding: the file store at a path
// of the file, memory, and Redis through the binary serving its own
// storage.redis plugin (`wasm2m plugin serve storage.redis`); -store wins
// over the file's backend.
func TestStoreFromConfig(t *testing.T) {
	raddr := os.Getenv("WASM2M_REDIS_ADDR")
	cases := []struct {
		name  string
		store map[string]any
		args  []string
		want  string // in the start-up line
		redis bool
	}{
		{name: "file", store: map[string]any{"backend": "file", "path": "regs/registrations.log"}, want: "file store "},
		{name: "memory", store: map[string]any{"backend": "memory"}, want: "memory store"},
		{name: "flag wins", store: map[string]any{"backend": "file"}, args: []string{"-store", "memory"}, want: "memory store"},
		{name: "redis", store: map[string]any{"backend": "redis"}, want: "redis store (storage.redis served by wasm2m)", redis: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var prefix string
			if tc.redis {
				raddr = redisAddr(t)
				prefix = redisPrefix(t, raddr)
				tc.store["redis"] = map[string]any{"addr": raddr, "prefix": prefix}
			}
			cfg := writeConfig(t, dir, map[string]any{"store": tc.store})
			srv := startServer(t, append([]string{"-config", cfg, "-data", filepath.Join(dir, "data")}, tc.args...)...)
			if !strings.Contains(srv.line, tc.want) {
				t.Fatalf("start-up line %q, want %q in it", srv.line, tc.want)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			dev, err := register(ctx, srv.udp, "urn:dev:cfg-1", 5*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			defer dev.Close()
			if got := srv.clients(t); strings.Join(got, ",") != "urn:dev:cfg-1" {
				t.Fatalf("listed %q", got)
			}
			if tc.name == "file" {
				if _, err := os.Stat(filepath.Join(dir, "regs", "registrations.log")); err != nil {
					t.Fatalf("the file store is not where the configuration put it: %v", err)
				}
			}
			if tc.redis {
				rdb := goredis.NewClient(&goredis.Options{Addr: raddr})
				defer rdb.Close()
				if id, err := rdb.Get(ctx, prefix+"ep:urn:dev:cfg-1").Result(); err != nil || id == "" {
					t.Fatalf("the registration is not in Redis: %q %v", id, err)
				}
			}
			srv.stop(t)
		})
	}
}

// TestPluginServeRefusedByHand: the hidden subcommand that serves the
// compiled-in plugin refuses to run without a host's handshake.
func TestPluginServeRefusedByHand(t *testing.T) {
	out, err := execOutput(binary, "plugin", "serve", "storage.redis")
	if err == nil {
		t.Fatalf("served by hand: %s", out)
	}
	if _, err := execOutput(binary, "plugin", "serve", "storage.nope"); err == nil {
		t.Fatal("an unknown plugin was served")
	}
}
