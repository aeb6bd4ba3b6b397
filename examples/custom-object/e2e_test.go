package customobject

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
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestEndToEnd does what README.md says, with processes: it builds the
// wasm2m command, builds the valve plugin with `wasm2m plugin build`,
// starts `wasm2m server` (with the valve's definition) and `wasm2m client
// -plugin valve.wasm` (caches in the test's folder), and through the server's HTTP API reads the valve,
// observes its flow rate, opens the valve and gets the notification that
// the plugin's Changed fired (the flow rate is never written: only the
// plugin knows it moved), executes the reset, and stops both processes.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm2m and a plugin, and runs them (-short)")
	}
	dir := t.TempDir()
	wasm2m := buildWasm2m(t)

	// 1. Build the plugin.
	valve := filepath.Join(dir, "valve.wasm")
	buildPlugin(t, wasm2m, "./valve", valve)

	// 2. The server, with the valve's definition, on ports of its own.
	const token = "e2e-secret"
	srv := start(t, wasm2m, "server", "-addr", "127.0.0.1:0", "-secure-addr", "127.0.0.1:0", "-http", "127.0.0.1:0", "-http-token", token,
		"-data", filepath.Join(dir, "data"), "-ddf", "26241.xml")
	m := srv.waitLine(t, regexp.MustCompile(`LwM2M on udp ([0-9.:]+)[ ,].*HTTP API on (http://[0-9.:]+)`))
	coap, api := m[1], m[2]

	// 3. A device serving the plugin.
	dev := start(t, wasm2m, "client", "-server", "coap://"+coap, "-endpoint", "valve-1",
		"-plugin", valve, "-grant", "objects.valve=kv,changed", "-plugin-cache", filepath.Join(dir, "compiled"))

	c := &apiClient{base: api, token: token}
	deadline := time.Now().Add(3 * time.Minute)
	for c.status(t, "GET", "/api/clients/valve-1", "") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("valve-1 did not register\nserver:\n%s\nclient:\n%s", srv.out(), dev.out())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// 4. Read the valve.
	var read struct {
		Success bool
		Content struct {
			Kind      string
			Resources []struct {
				ID    int
				Type  string
				Value any
			}
		}
	}
	c.do(t, "GET", "/api/clients/valve-1/26241/0", "", &read)
	got := map[int]string{}
	for _, r := range read.Content.Resources {
		got[r.ID] = fmt.Sprint(r.Type, "=", r.Value)
	}
	want := map[int]string{0: "BOOLEAN=false", 1: "INTEGER=100", 2: "FLOAT=0", 3: "INTEGER=0", 5: "STRING=valve 0"}
	if !read.Success || read.Content.Kind != "instance" || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("read /26241/0: %+v, want %v", read, want)
	}

	// 5. Observe the flow rate, listening to the event stream first.
	events := c.events(t, "valve-1")
	var obs struct{ Success bool }
	c.do(t, "POST", "/api/clients/valve-1/26241/0/2/observe", "", &obs)
	if !obs.Success {
		t.Fatalf("observe: %+v", obs)
	}

	// 6. Open the valve: the plugin reports the flow rate changed, the
	// client notifies, the server's event stream carries it.
	var wr struct{ Success bool }
	c.do(t, "PUT", "/api/clients/valve-1/26241/0/0", "1", &wr) // text/plain: booleans are 0 and 1
	if !wr.Success {
		t.Fatalf("write: %+v", wr)
	}
	events.waitNotification(t, "/26241/0/2", "12")

	// 7. Execute the reset: the cycle count goes back to 0.
	c.do(t, "POST", "/api/clients/valve-1/26241/0/4", "", &wr)
	var cycles struct{ Content struct{ Value any } }
	c.do(t, "GET", "/api/clients/valve-1/26241/0/3", "", &cycles)
	if fmt.Sprint(cycles.Content.Value) != "0" {
		t.Errorf("cycle count after reset: %v", cycles.Content.Value)
	}

	// 8. Stop the device (it de-registers) and the server.
	dev.stop(t)
	deadline = time.Now().Add(10 * time.Second)
	for c.status(t, "GET", "/api/clients/valve-1", "") != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("valve-1 did not de-register")
		}
		time.Sleep(100 * time.Millisecond)
	}
	srv.stop(t)
	if !strings.Contains(dev.out(), "objects.valve") {
		t.Errorf("the client did not name the plugin:\n%s", dev.out())
	}
}

// buildWasm2m builds the wasm2m command into a folder of the test.
func buildWasm2m(t *testing.T) string {
	t.Helper()
	wasm2m := filepath.Join(t.TempDir(), "wasm2m")
	run(t, "", filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", wasm2m, "../../cmd/wasm2m")
	return wasm2m
}

// buildPlugin builds the plugin of dir into out with wasm2m plugin build.
func buildPlugin(t *testing.T, wasm2m, dir, out string) {
	t.Helper()
	run(t, "", wasm2m, "plugin", "build", "-cache", filepath.Join(filepath.Dir(out), "build-cache"), "-o", out, dir)
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Fatalf("wasm2m plugin build left no module: %v", err)
	}
}

// run runs a command to its end.
func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, b)
	}
}

// proc is a process the test started; its output is kept.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	buf  strings.Builder
	done chan struct{}
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.Write(b)
}

func (p *proc) out() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(name, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitLine waits for a line of output that re matches.
func (p *proc) waitLine(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if m := re.FindStringSubmatch(p.out()); m != nil {
			return m
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited:\n%s", p.cmd.Args[1], p.out())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no line matching %s:\n%s", p.cmd.Args[1], re, p.out())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the process with SIGTERM, as Ctrl-C would, and waits.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not stop on SIGTERM:\n%s", p.cmd.Args[1], p.out())
	}
}

// apiClient calls the server's HTTP API.
type apiClient struct {
	base, token string
}

func (c *apiClient) request(t *testing.T, method, path, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != "" {
		req.Header.Set("Content-Type", "text/plain")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func (c *apiClient) status(t *testing.T, method, path, body string) int {
	t.Helper()
	resp := c.request(t, method, path, body)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (c *apiClient) do(t *testing.T, method, path, body string, out any) {
	t.Helper()
	resp := c.request(t, method, path, body)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s\n%s", method, path, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s %s: %v\n%s", method, path, err, b)
	}
}

// stream is the server's event stream (Server-Sent Events) of one device.
type stream struct {
	mu     sync.Mutex
	events []string // "NAME data"
}

func (c *apiClient) events(t *testing.T, ep string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/api/event?ep="+ep, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &stream{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		name := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				s.mu.Lock()
				s.events = append(s.events, name+" "+strings.TrimPrefix(line, "data: "))
				s.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	return s
}

// waitNotification waits for a notification of path with value.
func (s *stream) waitNotification(t *testing.T, path, value string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		evs := append([]string(nil), s.events...)
		s.mu.Unlock()
		for _, e := range evs {
			name, data, _ := strings.Cut(e, " ")
			if name != "NOTIFICATION" {
				continue
			}
			var n struct {
				Res string
				Val struct{ Value any }
			}
			if json.Unmarshal([]byte(data), &n) == nil && n.Res == path && fmt.Sprint(n.Val.Value) == value {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Fatalf("no notification of %s = %s; events: %q", path, value, s.events)
}
