package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
)

// The tests of the wasm2m binary itself: built once by TestMain, run as
// a child process with real sockets, killed with SIGKILL where a test
// says so.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasm2m-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "wasm2m")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build wasm2m: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// redisAddr is the Redis of the tests (WASM2M_REDIS_ADDR, set by .ci/run):
// without one they skip, but under CI they fail.
func redisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("WASM2M_REDIS_ADDR")
	if addr == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("WASM2M_REDIS_ADDR is not set: .ci/run starts redis-server and sets it")
		}
		t.Skip("WASM2M_REDIS_ADDR is not set: start redis-server on a loopback port and set WASM2M_REDIS_ADDR=127.0.0.1:<port>")
	}
	return addr
}

var prefixSeq atomic.Int64

// redisPrefix returns a key prefix of the test's own, removed at its end.
func redisPrefix(t testing.TB, addr string) string {
	prefix := fmt.Sprintf("bintest:%d:%d:", os.Getpid(), prefixSeq.Add(1))
	t.Cleanup(func() {
		rdb := goredis.NewClient(&goredis.Options{Addr: addr})
		defer rdb.Close()
		iter := rdb.Scan(context.Background(), 0, prefix+"*", 1000).Iterator()
		for iter.Next(context.Background()) {
			rdb.Del(context.Background(), iter.Val())
		}
	})
	return prefix
}

// writeConfig writes a configuration file into dir and returns its path.
func writeConfig(t *testing.T, dir string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "wasm2m.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serverProc is a running `wasm2m server`.
type serverProc struct {
	cmd  *exec.Cmd
	udp  string // the LwM2M address
	http string // base URL of the HTTP API
	line string // its start-up line
	logs *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var startLine = regexp.MustCompile(`LwM2M on udp ([0-9.:]+)[ ,].*HTTP API on (http://\S+)`)

// startServer runs `wasm2m server args...` with the HTTP API open on a
// free loopback port and waits for its start-up line.
func startServer(t *testing.T, args ...string) *serverProc {
	t.Helper()
	args = append([]string{"server", "-addr", "127.0.0.1:0", "-secure-addr", "127.0.0.1:0", "-http", "127.0.0.1:0", "-http-no-auth", "-log-level", "warn"}, args...)
	cmd := exec.Command(binary, args...)
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, logs: logs, done: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	select {
	case line := <-lines:
		m := startLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("start-up line %q", line)
		}
		p.line, p.udp, p.http = line, m[1], m[2]
	case <-p.done:
		t.Fatalf("wasm2m server exited: %s", logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("wasm2m server did not start: %s", logs.String())
	}
	return p
}

// kill kills the server with SIGKILL and waits for it.
func (p *serverProc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// stop ends the server with SIGTERM and waits for it.
func (p *serverProc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("wasm2m server did not stop: %s", p.logs.String())
	}
}

// clients returns the endpoints the server's HTTP API lists.
func (p *serverProc) clients(t *testing.T) []string {
	t.Helper()
	resp, err := http.Get(p.http + "/api/clients")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var regs []struct {
		Endpoint string `json:"endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&regs); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/clients: %s %v", resp.Status, err)
	}
	out := make([]string, len(regs))
	for i, r := range regs {
		out[i] = r.Endpoint
	}
	slices.Sort(out)
	return out
}

// register starts a device that registers with the server at addr and
// waits until it is registered; the caller closes it.
func register(ctx context.Context, addr, ep string, lifetime time.Duration) (*client.Engine, error) {
	objs := []client.Object{
		stdobj.NewSecurity(stdobj.SecurityAccount{ServerURI: "coap://" + addr, Mode: stdobj.SecurityNoSec, SSID: 1}),
		stdobj.NewServer(stdobj.ServerAccount{SSID: 1, Lifetime: lifetime}),
		stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "Acme", ModelNumber: "T-1", SerialNumber: ep}),
	}
	dev, err := client.New(client.Config{Endpoint: ep, Objects: objs, Addr: "127.0.0.1:0"})
	if err != nil {
		return nil, err
	}
	if err := dev.Start(ctx); err != nil {
		dev.Close()
		return nil, err
	}
	if err := dev.WaitRegistered(ctx); err != nil {
		dev.Close()
		return nil, err
	}
	return dev, nil
}

func execOutput(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
