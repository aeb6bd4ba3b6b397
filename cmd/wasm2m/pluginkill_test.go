package main_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server/servertest"
)

// TestPluginKilledUnderLoad kills the storage.redis plugin process of a
// running `wasm2m server` with SIGKILL while devices register (16 at a
// time, each a new endpoint on its own socket, a device retrying a
// registration that failed): the server keeps answering, starts a new
// plugin process and logs it, registrations are acknowledged again, and
// every registration that was acknowledged, before, during or after the
// restart, is listed by the server and is in Redis.
func TestPluginKilledUnderLoad(t *testing.T) {
	raddr := redisAddr(t)
	prefix := redisPrefix(t, raddr)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, map[string]any{"store": map[string]any{
		"backend": "redis",
		"redis":   map[string]any{"addr": raddr, "prefix": prefix},
	}})
	// -log-level info (the last one wins) for the restart's log lines.
	srv := startServer(t, "-config", cfg, "-data", filepath.Join(dir, "data"), "-log-level", "info")
	target := netip.MustParseAddrPort(srv.udp)

	first := pluginChildren(srv.cmd.Process.Pid)
	if len(first) != 1 {
		t.Fatalf("plugin processes of the server: %v, want one", first)
	}

	var (
		mu         sync.Mutex
		acked      []string
		codes      = map[model.Code]int{} // CoAP errors the devices got
		stop       atomic.Bool
		seq        atomic.Int64
		unanswered atomic.Int64 // register attempts without an answer
		wg         sync.WaitGroup
	)
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	for range 16 {
		wg.Go(func() {
			for !stop.Load() {
				ep := fmt.Sprintf("urn:dev:pkill-%d", seq.Add(1))
				d, err := servertest.New(servertest.Config{Endpoint: ep, Server: target, Lifetime: 600})
				if err != nil {
					t.Error(err)
					return
				}
				// The device retries until it is acknowledged (or the
				// load ends).
				for !stop.Load() {
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
					err = d.Register(ctx)
					cancel()
					if err == nil {
						mu.Lock()
						acked = append(acked, ep)
						mu.Unlock()
						break
					}
					if me := (*model.Error)(nil); errors.As(err, &me) {
						mu.Lock()
						codes[me.Code]++
						mu.Unlock()
					} else {
						unanswered.Add(1)
					}
					time.Sleep(20 * time.Millisecond)
				}
				d.Close()
			}
		})
	}
	defer func() { stop.Store(true); wg.Wait() }()

	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(d); !ok(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%s: not within %v", what, d)
			}
		}
	}
	waitFor("300 registrations before the kill", 30*time.Second, func() bool { return count() >= 300 })

	killed := first[0]
	beforeKill := count()
	if err := syscall.Kill(killed, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}

	// The HTTP API answers all along the restart; a new plugin process
	// takes the killed one's place.
	var (
		next    []int
		healthz int
	)
	waitFor("a new plugin process", 20*time.Second, func() bool {
		resp, err := http.Get(srv.http + "/healthz")
		if err != nil {
			t.Fatalf("the server stopped answering /healthz after the plugin's kill: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/healthz after the plugin's kill: %s", resp.Status)
		}
		healthz++
		next = pluginChildren(srv.cmd.Process.Pid)
		return len(next) == 1 && next[0] != killed
	})
	restarted := count()

	// LwM2M keeps answering: registrations are acknowledged again, on
	// the new process.
	waitFor("300 registrations after the restart", 30*time.Second, func() bool { return count() >= restarted+300 })
	stop.Store(true)
	wg.Wait()

	if got := pluginChildren(srv.cmd.Process.Pid); !slices.Equal(got, next) {
		t.Errorf("plugin processes after the load: %v, want %v", got, next)
	}
	logs := srv.logs.String()
	for _, want := range [][2]string{
		{"process plugin failed: restarting", "pid=" + strconv.Itoa(killed) + " "},
		{"process plugin restarted", "pid=" + strconv.Itoa(next[0]) + " "},
	} {
		if !slices.ContainsFunc(restartLines(logs), func(l string) bool {
			return strings.Contains(l, want[0]) && strings.Contains(l, want[1])
		}) {
			t.Errorf("the server did not log %q with %q:\n%s", want[0], want[1], strings.Join(restartLines(logs), "\n"))
		}
	}

	listed := srv.clients(t)
	var lost []string
	for _, ep := range acked {
		if _, ok := slices.BinarySearch(listed, ep); !ok {
			lost = append(lost, ep)
		}
	}
	t.Logf("%s", strings.Join(restartLines(logs), "\n"))
	t.Logf("%d acknowledged before the kill, %d by the restart (pid %d -> %d, %d /healthz answered meanwhile), %d in all; CoAP errors %v, %d attempts unanswered; %d listed",
		beforeKill, restarted, killed, next[0], healthz, len(acked), codes, unanswered.Load(), len(listed))
	if len(lost) > 0 {
		t.Fatalf("%d acknowledged registrations not listed by the server, such as %q", len(lost), lost[0])
	}

	// And in Redis itself, not only in what the server lists.
	rdb := goredis.NewClient(&goredis.Options{Addr: raddr})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pipe := rdb.Pipeline()
	gets := make([]*goredis.StringCmd, len(acked))
	for i, ep := range acked {
		gets[i] = pipe.Get(ctx, prefix+"ep:"+ep)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		t.Fatal(err)
	}
	for i, g := range gets {
		if id, err := g.Result(); err != nil || id == "" {
			lost = append(lost, acked[i])
		}
	}
	if len(lost) > 0 {
		t.Fatalf("%d acknowledged registrations not in Redis, such as %q", len(lost), lost[0])
	}

	srv.stop(t)
	// The new plugin process stops with the server.
	waitFor("the restarted plugin process to exit with the server", 5*time.Second, func() bool {
		return !slices.Contains(pluginProcesses(), strconv.Itoa(next[0]))
	})
}

// pluginChildren returns the pids of the `wasm2m plugin serve` processes
// whose parent is pid.
func pluginChildren(pid int) []int {
	var out []int
	for _, s := range pluginProcesses() {
		b, err := os.ReadFile(filepath.Join("/proc", s, "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(pid) {
			continue
		}
		if n, err := strconv.Atoi(s); err == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// restartLines returns the lines of logs about the plugin process.
func restartLines(logs string) []string {
	var out []string
	for l := range strings.Lines(logs) {
		if strings.Contains(l, `msg="process plugin`) {
			out = append(out, strings.TrimRight(l, "\n"))
		}
	}
	return out
}
