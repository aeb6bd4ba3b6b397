package process_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/host/process"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// The test plugin's methods (internal/testplugin).
const (
	methodEcho  abi.Method = 900
	methodSleep abi.Method = 901
	methodExit  abi.Method = 902
	methodFail  abi.Method = 903
	methodLog   abi.Method = 904
	methodPID   abi.Method = 905
	methodStop  abi.Method = 906
	methodMTLS  abi.Method = 907
)

var bg = context.Background()

// pidOf asks the plugin for its process id, again while the call fails
// with a 5.03 (a call that was on its way when the process died).
func pidOf(t *testing.T, p *process.Plugin) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	for {
		out, err := p.Call(ctx, methodPID, nil)
		if err == nil {
			return int(binary.BigEndian.Uint64(out))
		}
		if !errors.Is(err, model.ErrServiceUnavailable) || ctx.Err() != nil {
			t.Fatalf("pid: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// A zombie has exited; only its parent's wait is missing.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func TestCall(t *testing.T) {
	p, _ := start(t, process.Config{})
	if m := p.Manifest(); m.ID != "storage.test" || m.Kind != "storage" || m.ABIMinor != abi.Minor {
		t.Fatalf("manifest %+v", m)
	}
	in := bytes.Repeat([]byte{7}, 64)
	out, err := p.Call(bg, methodEcho, in)
	if err != nil || !bytes.Equal(out, in) {
		t.Fatalf("echo: %x, %v", out, err)
	}
	tests := []struct {
		status int32
		want   error
	}{
		{abi.StatusNotFound, model.ErrNotFound},
		{abi.StatusBadRequest, model.ErrBadRequest},
		{abi.StatusServiceUnavailable, model.ErrServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(abi.StatusText(tc.status), func(t *testing.T) {
			_, err := p.Call(bg, methodFail, []byte(strconv.Itoa(int(tc.status))))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "failed on purpose") {
				t.Fatalf("error %v, want %v with the plugin's message", err, tc.want)
			}
		})
	}
	if _, err := p.Call(bg, abi.Method(999), nil); !errors.Is(err, model.ErrNotImplemented) {
		t.Fatalf("unknown method: %v, want 5.01", err)
	}
	// go-plugin's AutoMTLS: the host gave the plugin its certificate, and
	// the call above went over the TLS connection that it pins.
	if out, err := p.Call(bg, methodMTLS, nil); err != nil || string(out) != "mtls" {
		t.Fatalf("mtls: %q, %v", out, err)
	}
}

func TestStderrRelogged(t *testing.T) {
	p, logs := start(t, process.Config{})
	if _, err := p.Call(bg, methodLog, []byte("hello from the plugin")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := logs.String()
		structured := strings.Contains(s, `"level":"WARN","msg":"hello from the plugin","plugin":"storage.test"`) && strings.Contains(s, `"n":7`)
		raw := strings.Contains(s, `"msg":"raw: hello from the plugin","plugin":"storage.test","stream":"stderr"`)
		if structured && raw {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the plugin's stderr was not re-logged (structured %v, raw %v):\n%s", structured, raw, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestChecksumMismatch(t *testing.T) {
	_, err := process.Start(bg, process.Config{Path: testPlugin, Checksum: make([]byte, 32)})
	if !errors.Is(err, process.ErrChecksum) {
		t.Fatalf("error %v, want ErrChecksum", err)
	}
	sum, err := process.Checksum(testPlugin)
	if err != nil {
		t.Fatal(err)
	}
	start(t, process.Config{Checksum: sum})
}

func TestNewerMinorRefused(t *testing.T) {
	_, err := process.Start(bg, process.Config{Path: testPlugin, Env: []string{"TESTPLUGIN_ABI_MINOR=" + strconv.Itoa(abi.Minor+1)}})
	if !errors.Is(err, process.ErrVersion) {
		t.Fatalf("error %v, want ErrVersion", err)
	}
}

func TestNotStartedByAHost(t *testing.T) {
	out, err := exec.Command(testPlugin).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("run directly: %v, want exit status 1\n%s", err, out)
	}
}

func TestCrashRestarts(t *testing.T) {
	p, logs := start(t, process.Config{})
	first := pidOf(t, p)
	// Calls in flight when the process dies fail with a 5.03.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = p.Call(bg, methodSleep, []byte("5000"))
		}()
	}
	time.Sleep(100 * time.Millisecond)
	if _, err := p.Call(bg, methodExit, nil); !errors.Is(err, model.ErrServiceUnavailable) {
		t.Fatalf("exit call: %v, want 5.03", err)
	}
	wg.Wait()
	for _, err := range errs {
		if !errors.Is(err, model.ErrServiceUnavailable) || !strings.Contains(err.Error(), "process failed") {
			t.Fatalf("call in flight: %v, want 5.03 saying the process failed", err)
		}
	}
	// The next calls wait for the restart and go through.
	second := pidOf(t, p)
	if second == first || p.Restarts() != 1 {
		t.Fatalf("pid %d then %d, %d restarts", first, second, p.Restarts())
	}
	if _, err := p.Call(bg, methodEcho, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "process plugin restarted") {
		t.Fatalf("no restart logged:\n%s", logs)
	}
}

func TestKilledRestarts(t *testing.T) {
	p, _ := start(t, process.Config{})
	first := pidOf(t, p)
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if second := pidOf(t, p); second == first {
		t.Fatalf("same pid %d after SIGKILL", first)
	}
}

func TestSlowCallTimesOut(t *testing.T) {
	p, _ := start(t, process.Config{})
	ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel()
	_, err := p.Call(ctx, methodSleep, []byte("5000"))
	if !errors.Is(err, model.ErrGatewayTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want 5.04 and DeadlineExceeded", err)
	}
	// A slow call is no reason to restart a process that is healthy.
	if _, err := p.Call(bg, methodEcho, nil); err != nil || p.Restarts() != 0 {
		t.Fatalf("after a slow call: %v, %d restarts", err, p.Restarts())
	}
	// CallTimeout bounds a call without a deadline.
	q, _ := start(t, process.Config{CallTimeout: 100 * time.Millisecond})
	if _, err := q.Call(bg, methodSleep, []byte("5000")); !errors.Is(err, model.ErrGatewayTimeout) {
		t.Fatalf("error %v, want 5.04", err)
	}
}

func TestHungProcessRestarts(t *testing.T) {
	p, logs := start(t, process.Config{HealthTimeout: 200 * time.Millisecond})
	first := pidOf(t, p)
	if _, err := p.Call(bg, methodStop, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the plugin stops itself 10 ms after answering
	// The process is stopped: a call gets no answer, the health check
	// fails, the process is killed and started again.
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	for {
		c, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, err := p.Call(c, methodEcho, nil)
		cancel()
		if err == nil {
			break
		}
		if !errors.Is(err, model.ErrGatewayTimeout) && !errors.Is(err, model.ErrServiceUnavailable) {
			t.Fatalf("call to a hung process: %v, want 5.04 or 5.03", err)
		}
		if ctx.Err() != nil {
			t.Fatalf("not restarted: %v\n%s", err, logs)
		}
	}
	if pid := pidOf(t, p); pid == first || alive(first) {
		t.Fatalf("pid %d (was %d, alive %v)", pid, first, alive(first))
	}
	if !strings.Contains(logs.String(), "health check failed") {
		t.Fatalf("no failed health check logged:\n%s", logs)
	}
}

func TestClose(t *testing.T) {
	p, _ := start(t, process.Config{})
	pid := pidOf(t, p)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Call(bg, methodEcho, nil); !errors.Is(err, process.ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
	for i := 0; alive(pid); i++ {
		if i > 100 {
			t.Fatalf("process %d still alive after Close", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOrphanExits kills a host with SIGKILL and checks that its plugin
// process exits on its own.
func TestOrphanExits(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	host := exec.Command(exe, "-test.run=^$")
	host.Env = append(os.Environ(), "WASM2M_PROCESS_TEST_HOST="+testPlugin)
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	defer host.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("host: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "pid ")))
	if err != nil || pid <= 0 {
		t.Fatalf("host said %q", line)
	}
	if !alive(pid) {
		t.Fatalf("plugin %d not running", pid)
	}
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	host.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("plugin process %d outlived its host", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
