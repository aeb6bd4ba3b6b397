package main_test

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/server/servertest"
)

// TestKilledUnderLoad kills `wasm2m server` with SIGKILL while devices
// register (16 at a time, each a new endpoint on its own socket), on the
// embedded file store and on Redis through the binary's own plugin
// process; restarted on the same configuration, it lists every
// registration that was acknowledged before the kill.
func TestKilledUnderLoad(t *testing.T) {
	for _, backend := range []string{"file", "redis"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			st := map[string]any{"backend": backend}
			if backend == "redis" {
				addr := redisAddr(t)
				st["redis"] = map[string]any{"addr": addr, "prefix": redisPrefix(t, addr)}
			}
			cfg := writeConfig(t, dir, map[string]any{"store": st})
			args := []string{"-config", cfg, "-data", filepath.Join(dir, "data")}
			srv := startServer(t, args...)
			target := netip.MustParseAddrPort(srv.udp)

			var (
				mu       sync.Mutex
				acked    []string
				stop     atomic.Bool
				seq      atomic.Int64
				wg       sync.WaitGroup
				failures atomic.Int64
			)
			for range 16 {
				wg.Go(func() {
					for !stop.Load() {
						ep := fmt.Sprintf("urn:dev:kill-%d", seq.Add(1))
						d, err := servertest.New(servertest.Config{Endpoint: ep, Server: target, Lifetime: 600})
						if err != nil {
							t.Error(err)
							return
						}
						ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
						err = d.Register(ctx)
						cancel()
						d.Close()
						if err != nil {
							failures.Add(1)
							continue
						}
						mu.Lock()
						acked = append(acked, ep)
						mu.Unlock()
					}
				})
			}
			// Kill once registrations flow.
			deadline := time.Now().Add(30 * time.Second)
			for {
				mu.Lock()
				n := len(acked)
				mu.Unlock()
				if n >= 300 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if backend == "redis" && len(pluginProcesses()) != 1 {
				t.Errorf("plugin processes before the kill: %v, want one", pluginProcesses())
			}
			srv.kill()
			stop.Store(true)
			wg.Wait()
			if len(acked) < 100 {
				t.Fatalf("only %d registrations before the kill", len(acked))
			}

			if backend == "redis" {
				// The killed server's plugin process follows it.
				for end := time.Now().Add(5 * time.Second); len(pluginProcesses()) > 0; time.Sleep(50 * time.Millisecond) {
					if time.Now().After(end) {
						t.Fatalf("plugin processes outlived the killed server: %v", pluginProcesses())
					}
				}
			}
			again := startServer(t, args...)
			listed := again.clients(t)
			var lost []string
			for _, ep := range acked {
				if _, ok := slices.BinarySearch(listed, ep); !ok {
					lost = append(lost, ep)
				}
			}
			t.Logf("%s: %d acknowledged before SIGKILL, %d listed after the restart, %d registrations unanswered", backend, len(acked), len(listed), failures.Load())
			if len(lost) > 0 {
				t.Fatalf("%d acknowledged registrations lost, such as %q", len(lost), lost[0])
			}
			again.stop(t)
		})
	}
}

// pluginProcesses returns the pids of `wasm2m plugin serve` processes of
// the test's binary.
func pluginProcesses() []string {
	var pids []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		args := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
		if len(args) >= 3 && string(args[0]) == binary && string(args[1]) == "plugin" && string(args[2]) == "serve" {
			pids = append(pids, filepath.Base(d))
		}
	}
	return pids
}
