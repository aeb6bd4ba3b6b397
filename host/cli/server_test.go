package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server/servertest"
	"github.com/wasm2m/wasm2m/core/transport"
)

// TestMain lets a test run the wasm2m command in a child process (the
// test binary re-executed), to check signal handling for real.
func TestMain(m *testing.M) {
	if os.Getenv("WASM2M_CLI_CHILD") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Main(ctx, strings.Fields(os.Getenv("WASM2M_CLI_ARGS")), os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServerCommand runs `wasm2m server` in-process and returns the
// address it listens on.
func startServerCommand(t *testing.T, args ...string) (netip.AddrPort, *syncBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"server", "-addr", "127.0.0.1:0"}, args...), pw, logs)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	if err != nil {
		cancel()
		t.Fatalf("server printed nothing: %v; logs:\n%s", err, logs.String())
	}
	f := strings.Fields(line)
	var addr netip.AddrPort
	for i, w := range f {
		if w == "udp" && i+1 < len(f) {
			addr, err = netip.ParseAddrPort(strings.TrimSuffix(f[i+1], ","))
		}
	}
	if err != nil || !addr.IsValid() {
		cancel()
		t.Fatalf("no address in %q", line)
	}
	stop := func() int {
		cancel()
		select {
		case c := <-done:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("server did not stop")
		}
		return -1
	}
	return addr, logs, stop
}

func TestServerCommandKeepsRegistrationsAcrossRestart(t *testing.T) {
	data := t.TempDir()
	addr, logs, stop := startServerCommand(t, "-data", data)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := servertest.New(servertest.Config{Endpoint: "cli-dev", Server: addr, Lifetime: 300,
		Objects:   []model.Node{model.NewObject(3, model.NewInstance(0, model.NewResource(0, model.String("OMA"))))},
		Transport: transport.Config{ACKTimeout: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d; logs:\n%s", code, logs.String())
	}
	if !strings.Contains(logs.String(), "registered") || !strings.Contains(logs.String(), "endpoint=cli-dev") {
		t.Errorf("the registration is not logged:\n%s", logs.String())
	}
	// Restart on the same data folder and port: the device's Update with
	// its old location is accepted, because the registration was kept.
	addr2, logs2, stop2 := startServerCommand(t, "-data", data, "-addr", addr.String())
	_ = addr2
	if err := d.Update(ctx, false); err != nil {
		t.Errorf("update after restart: %v; logs:\n%s", err, logs2.String())
	}
	if code := stop2(); code != 0 {
		t.Fatalf("exit %d", code)
	}
}

func TestServerCommandFlags(t *testing.T) {
	for _, args := range [][]string{{"server", "-store", "nope"}, {"server", "-log-level", "loud"}, {"server", "extra"}} {
		if code, _, errs := run(t, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, %q", args, code, errs)
		}
	}
	if code, _, errs := run(t, "server", "-addr", "256.0.0.1:1", "-store", "memory"); code != 1 || !strings.Contains(errs, "listen") {
		t.Errorf("bad address: exit %d, %q", code, errs)
	}
}

// TestServerCommandStopsOnSIGTERM runs the command as a process and stops
// it with SIGTERM: it exits 0, having closed its store cleanly.
func TestServerCommandStopsOnSIGTERM(t *testing.T) {
	data := t.TempDir()
	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "WASM2M_CLI_CHILD=1", "WASM2M_CLI_ARGS=server -addr 127.0.0.1:0 -data "+data)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr syncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err != nil || !strings.Contains(line, "wasm2m server") {
			cmd.Process.Kill()
			t.Fatalf("child printed %q, %v; stderr:\n%s", line, err, stderr.String())
		}
		cmd.Process.Signal(sig)
		errc := make(chan error, 1)
		go func() { errc <- cmd.Wait() }()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("%v: %v; stderr:\n%s", sig, err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v: did not stop", sig)
		}
		if !strings.Contains(stderr.String(), "stopping") {
			t.Errorf("%v: no stopping log:\n%s", sig, stderr.String())
		}
	}
}

// TestServerCommandGCPercent checks that -gc-percent sets the collector's
// target, and that without it the server's default applies.
func TestServerCommandGCPercent(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	t.Setenv("GOGC", "")
	for _, tc := range []struct {
		args []string
		want int
	}{{[]string{"-gc-percent", "300"}, 300}, {nil, defaultGCPercent}} {
		debug.SetGCPercent(100)
		_, logs, stop := startServerCommand(t, append([]string{"-store", "memory"}, tc.args...)...)
		if code := stop(); code != 0 {
			t.Fatalf("exit %d; logs:\n%s", code, logs.String())
		}
		if got := debug.SetGCPercent(100); got != tc.want {
			t.Errorf("%v: GC percent %d, want %d", tc.args, got, tc.want)
		}
	}
}
