package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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
	addr, _, logs, stop := startServerCommandHTTP(t, args...)
	return addr, logs, stop
}

// startServerCommandHTTP runs `wasm2m server` in-process, its HTTP API on
// a free loopback port unless args say otherwise, and returns the UDP
// address and the HTTP API's base URL ("" when off).
func startServerCommandHTTP(t *testing.T, args ...string) (netip.AddrPort, string, *syncBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		// A data folder of the test's own: a generated token lands there.
		done <- Main(ctx, append([]string{"server", "-addr", "127.0.0.1:0", "-secure-addr", "127.0.0.1:0", "-http", "127.0.0.1:0", "-data", t.TempDir()}, args...), pw, logs)
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
	httpURL := ""
	for i, w := range f {
		if w == "udp" && i+1 < len(f) {
			addr, err = netip.ParseAddrPort(strings.TrimSuffix(f[i+1], ","))
		}
		if strings.HasPrefix(w, "http://") {
			httpURL = strings.TrimSuffix(w, ",")
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
	return addr, httpURL, logs, stop
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
	for _, args := range [][]string{{"server", "-store", "nope"}, {"server", "-log-level", "loud"}, {"server", "extra"},
		{"server", "-http-token", "a", "-http-no-auth"}, {"server", "-config", "/nonexistent/wasm2m.json"}, {"server", "-http-token", ""}} {
		if code, _, errs := run(t, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, %q", args, code, errs)
		}
	}
	if code, _, errs := run(t, "server", "-addr", "256.0.0.1:1", "-store", "memory", "-http", "off"); code != 1 || !strings.Contains(errs, "listen") {
		t.Errorf("bad address: exit %d, %q", code, errs)
	}
}

// TestServerCommandStopsOnSIGTERM runs the command as a process and stops
// it with SIGTERM, then SIGINT: it exits 0, having closed its store cleanly.
func TestServerCommandStopsOnSIGTERM(t *testing.T) {
	stopsOnSignal(t, "server -addr 127.0.0.1:0 -secure-addr 127.0.0.1:0 -http 127.0.0.1:0", "wasm2m server")
}

// stopsOnSignal runs the command line args (data folder added) in a child
// process, waits for its start-up line (which contains banner), and stops
// it with SIGTERM, then again with SIGINT: each time it must exit 0 within
// 10 s and log that it is stopping.
func stopsOnSignal(t *testing.T, args, banner string) {
	t.Helper()
	data := t.TempDir()
	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "WASM2M_CLI_CHILD=1", "WASM2M_CLI_ARGS="+args+" -data "+data)
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
		if err != nil || !strings.Contains(line, banner) {
			cmd.Process.Kill()
			cmd.Wait()
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
			<-errc
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

// httpGet calls the HTTP API of a `wasm2m server` with a bearer token
// ("" for none).
func httpGet(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServerCommandHTTPAPI runs `wasm2m server` with its HTTP API and a
// device: the API lists and reads the device with the token given, and
// refuses a caller without it.
func TestServerCommandHTTPAPI(t *testing.T) {
	addr, base, logs, stop := startServerCommandHTTP(t, "-store", "memory", "-http-token", "s3cret")
	if base == "" {
		t.Fatalf("no HTTP API address; logs:\n%s", logs.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := servertest.New(servertest.Config{Endpoint: "http-dev", Server: addr, Lifetime: 300,
		Objects:   []model.Node{model.NewObject(3, model.NewInstance(0, model.NewResource(0, model.String("OMA"))))},
		Transport: transport.Config{ACKTimeout: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := httpGet(t, base+"/api/clients", "s3cret"); code != 200 || !strings.Contains(body, `"endpoint":"http-dev"`) {
		t.Errorf("clients: %d %s", code, body)
	}
	if code, body := httpGet(t, base+"/api/clients/http-dev/3/0/0", "s3cret"); code != 200 || !strings.Contains(body, `"value":"OMA"`) {
		t.Errorf("read: %d %s", code, body)
	}
	if code, body := httpGet(t, base+"/api/clients", ""); code != 401 {
		t.Errorf("without a token: %d %s", code, body)
	}
	if code, _ := httpGet(t, base+"/healthz", ""); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d; logs:\n%s", code, logs.String())
	}
}

// TestServerCommandHTTPToken: without a token, one is generated into the
// data folder (owner-only) and kept across restarts; a config file's
// file: token works; -http off serves nothing.
func TestServerCommandHTTPToken(t *testing.T) {
	data := t.TempDir()
	_, base, logs, stop := startServerCommandHTTP(t, "-data", data)
	path := filepath.Join(data, "http-token")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no generated token: %v; logs:\n%s", err, logs.String())
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", st.Mode().Perm())
	}
	tok := strings.TrimSpace(string(b))
	if code, body := httpGet(t, base+"/api/clients", tok); code != 200 {
		t.Errorf("generated token: %d %s", code, body)
	}
	if code, _ := httpGet(t, base+"/api/clients", ""); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	_, base, _, stop = startServerCommandHTTP(t, "-data", data)
	if code, _ := httpGet(t, base+"/api/clients", tok); code != 200 {
		t.Errorf("the generated token changed across a restart: %d", code)
	}
	stop()

	secret := filepath.Join(t.TempDir(), "token")
	os.WriteFile(secret, []byte("from-a-file\n"), 0o600)
	cfg := filepath.Join(t.TempDir(), "wasm2m.json")
	os.WriteFile(cfg, []byte(`{"http":{"tokens":["file:`+secret+`"],"request_timeout":"2s"}}`), 0o600)
	_, base, _, stop = startServerCommandHTTP(t, "-store", "memory", "-config", cfg)
	if code, _ := httpGet(t, base+"/api/clients", "from-a-file"); code != 200 {
		t.Errorf("config token: %d", code)
	}
	stop()

	_, base, _, stop = startServerCommandHTTP(t, "-store", "memory", "-http-no-auth")
	if code, _ := httpGet(t, base+"/api/clients", ""); code != 200 {
		t.Errorf("-http-no-auth: %d", code)
	}
	stop()

	_, base, _, stop = startServerCommandHTTP(t, "-store", "memory", "-http", "off")
	if base != "" {
		t.Errorf("-http off serves on %s", base)
	}
	stop()
}
