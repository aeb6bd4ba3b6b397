package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Test methods of testdata/echo.wat.
const (
	mHostCall abi.Method = 100
	mFail     abi.Method = 101
	mLog      abi.Method = 102
	mStdout   abi.Method = 103
	mClock    abi.Method = 104
	mRandom   abi.Method = 105
	mInits    abi.Method = 106
)

// TestWatMatchesWasm recompiles every testdata/*.wat with wat2wasm (from
// Debian's wabt) when it is on PATH and checks that the committed .wasm
// is its output.
func TestWatMatchesWasm(t *testing.T) {
	wats, _ := filepath.Glob("testdata/*.wat")
	if len(wats) == 0 {
		t.Fatal("no testdata/*.wat")
	}
	for _, wat := range wats {
		if _, err := os.Stat(strings.TrimSuffix(wat, ".wat") + ".wasm"); err != nil {
			t.Errorf("%s has no compiled .wasm next to it", wat)
		}
	}
	tool, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm not on PATH (apt-get install wabt)")
	}
	dir := t.TempDir()
	for _, wat := range wats {
		name := strings.TrimSuffix(filepath.Base(wat), ".wat")
		out := filepath.Join(dir, name+".wasm")
		if b, err := exec.Command(tool, wat, "-o", out).CombinedOutput(); err != nil {
			t.Errorf("wat2wasm %s: %v\n%s", wat, err, b)
			continue
		}
		got, _ := os.ReadFile(out)
		if want := readWasm(t, name); !bytes.Equal(got, want) {
			t.Errorf("testdata/%s.wasm is not wat2wasm's output of %s: rebuild it", name, wat)
		}
	}
}

func TestEcho(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	p := load(t, r, "echo", PluginConfig{MaxInstances: 2})
	ctx := context.Background()
	for _, n := range []int{0, 1, 64, 255, 256, 257, 4096, 300 << 10} {
		req := bytes.Repeat([]byte{0xa5}, n)
		resp, err := p.Call(ctx, abi.MethodObjectRead, req)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !bytes.Equal(resp, req) {
			t.Fatalf("%d bytes: echo differs", n)
		}
	}
	// CallAppend appends to the caller's buffer.
	buf, err := p.CallAppend(ctx, abi.MethodObjectRead, []byte("def"), []byte("abc"))
	if err != nil || string(buf) != "abcdef" {
		t.Errorf("CallAppend: %q %v", buf, err)
	}
	buf, err = p.CallAppend(ctx, mFail, le32(uint32(model.NotFound)), buf[:1])
	if !errors.Is(err, model.ErrNotFound) || string(buf) != "a" {
		t.Errorf("CallAppend failing: %q %v", buf, err)
	}
	// The response is the host's copy: the next call does not change it.
	a, _ := p.Call(ctx, abi.MethodObjectRead, []byte("first"))
	if _, err := p.Call(ctx, abi.MethodObjectRead, []byte("second")); err != nil {
		t.Fatal(err)
	}
	if string(a) != "first" {
		t.Errorf("response changed to %q by the next call", a)
	}
	// _initialize ran once in the instance.
	got, err := p.Call(ctx, mInits, nil)
	if err != nil || binary.LittleEndian.Uint32(got) != 1 {
		t.Errorf("_initialize ran %v times (%v), want 1", got, err)
	}
	if p.Minor() != 0 || p.ID() != "test.echo" { // echo.wat reports ABI 1.0
		t.Errorf("Minor %d ID %q", p.Minor(), p.ID())
	}
	if s := p.Stats(); s.Discarded != 0 || s.Created == 0 || s.Created > 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestGuestStatus(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	p := load(t, r, "echo", PluginConfig{MaxInstances: 1})
	ctx := context.Background()

	_, err := p.Call(ctx, mFail, le32(uint32(model.NotFound)))
	if !errors.Is(err, model.ErrNotFound) || !strings.Contains(err.Error(), "failed on purpose") {
		t.Fatalf("err = %v, want 4.04 with the guest's message", err)
	}
	_, err = p.Call(ctx, mFail, le32(uint32(model.ServiceUnavailable)))
	if model.CodeOf(err) != model.ServiceUnavailable {
		t.Fatalf("err = %v, want 5.03", err)
	}
	if s := p.Stats(); s.Discarded != 0 {
		t.Fatalf("an error status discarded the instance: %+v", s)
	}

	// Statuses outside 4.xx and 5.xx break the ABI: 5.00, instance gone.
	for i, status := range []uint32{uint32(model.Content), 200, 0xffffffff} {
		_, err = p.Call(ctx, mFail, le32(status))
		if model.CodeOf(err) != model.InternalServerError || !strings.Contains(err.Error(), "not a CoAP error code") {
			t.Errorf("status %d: err = %v", status, err)
		}
		if s := p.Stats(); s.Discarded != uint64(i+1) {
			t.Errorf("status %d: %+v", status, s)
		}
		if _, err := p.Call(ctx, abi.MethodObjectRead, []byte("ok")); err != nil {
			t.Errorf("after status %d: %v", status, err)
		}
	}
}

func TestLoadRefused(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	for _, tc := range []struct {
		name  string
		pages uint32
		start []byte
		want  string
	}{
		{name: "abi_v2", want: "speaks ABI v2"},
		{name: "no_call", want: "missing export wasm2m_call (i32, i32) -> (i64)"},
		{name: "bad_signature", want: "export wasm2m_call has signature (i32, i32) -> (i32), want (i32, i32) -> (i64)"},
		{name: "bad_import", want: `imports env.now: module "env" is not offered`},
		{name: "unknown_host_fn", want: "imports wasm2m_v1.launch: no such function"},
		{name: "big_memory", pages: 16, want: "min 64 pages"},
		{name: "init_trap", want: "_initialize] failed: wasm error: unreachable"},
		{name: "trap", start: []byte{1}, want: "start request"},
		{name: "garbage", want: "compile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := []byte("\x00asm garbage")
			if tc.name != "garbage" {
				bin = readWasm(t, tc.name)
			}
			cfg := PluginConfig{ID: "test.refused", MemoryLimitPages: tc.pages, Start: tc.start}
			p, err := r.Load(context.Background(), cfg, bin)
			if err == nil {
				p.Close(context.Background())
				t.Fatal("loaded")
			}
			if !errors.Is(err, ErrInvalidModule) || !strings.Contains(err.Error(), "test.refused") ||
				!strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalidModule naming the plugin and %q", err, tc.want)
			}
		})
	}
	if _, err := r.Load(context.Background(), PluginConfig{ID: "x", Capabilities: []string{"root"}}, readWasm(t, "echo")); err == nil {
		t.Error("unknown capability accepted")
	}
}

func TestNewerMinor(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	p := load(t, r, "newer_minor", PluginConfig{})
	if p.Minor() != 7 {
		t.Errorf("Minor = %d", p.Minor())
	}
	if resp, err := p.Call(context.Background(), abi.MethodObjectRead, []byte("hi")); err != nil || string(resp) != "hi" {
		t.Errorf("%q %v", resp, err)
	}
}

// misbehave checks that a request starting with 1 fails with code, that
// the instance is then replaced, and that the next call is answered.
func misbehave(t *testing.T, p *Plugin, code model.Code, want string) error {
	t.Helper()
	ctx := context.Background()
	if _, err := p.Call(ctx, abi.MethodObjectRead, []byte{2, 3}); err != nil {
		t.Fatal(err)
	}
	before := p.Stats()
	_, err := p.Call(ctx, abi.MethodObjectRead, []byte{1})
	if model.CodeOf(err) != code || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p.ID()) {
		t.Fatalf("err = %v, want %s naming the plugin and %q", err, code, want)
	}
	if s := p.Stats(); s.Discarded != before.Discarded+1 {
		t.Errorf("instance not discarded: %+v then %+v", before, s)
	}
	resp, err := p.Call(ctx, abi.MethodObjectRead, []byte{2, 3})
	if err != nil || !bytes.Equal(resp, []byte{2, 3}) {
		t.Fatalf("after the failure: %v %v", resp, err)
	}
	if s := p.Stats(); s.Created != before.Created+1 {
		t.Errorf("instance not replaced: %+v then %+v", before, s)
	}
	return err
}

func TestTrap(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	p := load(t, r, "trap", PluginConfig{MaxInstances: 1})
	misbehave(t, p, model.InternalServerError, "wasm2m_call: wasm error: unreachable")
}

func TestGuestExit(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	p := load(t, r, "exit", PluginConfig{MaxInstances: 1})
	misbehave(t, p, model.InternalServerError, "guest exited with code 3")
}

func TestOutOfBoundsResponse(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	p := load(t, r, "oob", PluginConfig{MaxInstances: 1})
	misbehave(t, p, model.InternalServerError, "outside its memory")
}

// TestBufferRefused checks a wasm2m_buffer that returns 0 (the guest
// could not provide the buffer) or a buffer not inside the memory: the
// call fails with 5.00 naming the export, the request is written nowhere,
// and the instance is discarded and replaced.
func TestBufferRefused(t *testing.T) {
	ctx := context.Background()
	r, _ := newTestRuntime(t, Config{})
	p := load(t, r, "buffer", PluginConfig{MaxInstances: 1})
	for _, tc := range []struct {
		name string
		size int // of the request; the host asks for the next power of two from 256
		want string
	}{
		{"zero", 300, "wasm2m_buffer(512) returned 0"},
		{"past the end", 600, "wasm2m_buffer(1024) returned address 65000, outside its memory"},
		{"outside", 2000, "wasm2m_buffer(2048) returned address 4294967040, outside its memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The instance directly, to see its memory after the failure.
			in, err := p.cur.Load().newInstance(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer in.close()
			if resp, broken, err := in.call(ctx, abi.MethodObjectRead, []byte("small"), nil); err != nil || broken || string(resp) != "small" {
				t.Fatalf("small request: %q %v %v", resp, broken, err)
			}
			req := bytes.Repeat([]byte{0xee}, tc.size)
			_, broken, err := in.call(ctx, abi.MethodObjectRead, req, nil)
			if model.CodeOf(err) != model.InternalServerError || !strings.Contains(err.Error(), tc.want) || !broken {
				t.Fatalf("err = %v (broken %v), want 5.00 with %q and the instance broken", err, broken, tc.want)
			}
			if b, _ := in.mem.Read(0, 16); string(b) != "do not overwrite" {
				t.Errorf("memory at 0 is %q: the request was written there", b)
			}

			// Through the plugin: discarded, and the next call served by
			// a new instance.
			before := p.Stats()
			if _, err := p.Call(ctx, abi.MethodObjectRead, req); !strings.Contains(fmt.Sprint(err), tc.want) {
				t.Fatalf("call: %v", err)
			}
			if s := p.Stats(); s.Discarded != before.Discarded+1 {
				t.Errorf("instance not discarded: %+v then %+v", before, s)
			}
			if resp, err := p.Call(ctx, abi.MethodObjectRead, []byte{2, 3}); err != nil || !bytes.Equal(resp, []byte{2, 3}) {
				t.Fatalf("after the failure: %v %v", resp, err)
			}
		})
	}
}

func TestMemoryExhausted(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	p := load(t, r, "grow", PluginConfig{MaxInstances: 1, MemoryLimitPages: 8})
	misbehave(t, p, model.InternalServerError, "unreachable")

	// A request larger than the guest may hold: its wasm2m_buffer
	// cannot grow the memory and traps.
	e := load(t, r, "echo", PluginConfig{MaxInstances: 1, MemoryLimitPages: 2})
	_, err := e.Call(context.Background(), abi.MethodObjectRead, make([]byte, 200<<10))
	if model.CodeOf(err) != model.InternalServerError || !strings.Contains(err.Error(), "wasm2m_buffer") {
		t.Fatalf("err = %v", err)
	}
	if resp, err := e.Call(context.Background(), abi.MethodObjectRead, []byte("small")); err != nil || string(resp) != "small" {
		t.Fatalf("after: %q %v", resp, err)
	}
}

func TestDeadline(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	p := load(t, r, "loop", PluginConfig{MaxInstances: 1, Timeout: 200 * time.Millisecond})
	start := time.Now()
	misbehave(t, p, model.GatewayTimeout, "deadline exceeded")
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("returned after %v, before the deadline", d)
	}

	// The caller's ctx stops an untrusted plugin too.
	q := load(t, r, "loop", PluginConfig{ID: "test.loop2", MaxInstances: 1, Timeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := q.Call(ctx, abi.MethodObjectRead, []byte{1})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, model.ErrGatewayTimeout) {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = q.Call(ctx, abi.MethodObjectRead, []byte{1})
	if !errors.Is(err, context.Canceled) || model.CodeOf(err) != model.ServiceUnavailable {
		t.Fatalf("err = %v", err)
	}
	if s := q.Stats(); s.Discarded != 2 {
		t.Errorf("%+v", s)
	}
}

func TestPoolBound(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	// Two instances looping until their deadline: a third caller waits
	// for one, and gives up with its ctx.
	p := load(t, r, "loop", PluginConfig{MaxInstances: 2, Timeout: time.Second})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Call(context.Background(), abi.MethodObjectRead, []byte{1})
		}()
	}
	waitFor(t, func() bool { return busy(p) == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := p.Call(ctx, abi.MethodObjectRead, []byte{2})
	if !errors.Is(err, model.ErrGatewayTimeout) || !strings.Contains(err.Error(), "waiting for a free instance") {
		t.Errorf("err = %v", err)
	}
	wg.Wait()

	// Many callers share at most MaxInstances instances.
	e := load(t, r, "echo", PluginConfig{MaxInstances: 3})
	var failed atomic.Int64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				req := []byte{byte(g), byte(i)}
				resp, err := e.Call(context.Background(), abi.MethodObjectRead, req)
				if err != nil || !bytes.Equal(resp, req) {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if s := e.Stats(); failed.Load() != 0 || s.Created > 3 || s.Instances > 3 {
		t.Errorf("%d failed, %+v", failed.Load(), s)
	}
}

// TestIsolation runs healthy calls on one plugin while broken plugins
// trap, loop, run out of memory and return bad pointers, all at once.
func TestIsolation(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	healthy := load(t, r, "echo", PluginConfig{MaxInstances: 2})
	broken := []*Plugin{
		load(t, r, "trap", PluginConfig{MaxInstances: 2}),
		load(t, r, "loop", PluginConfig{MaxInstances: 2, Timeout: 20 * time.Millisecond}),
		load(t, r, "grow", PluginConfig{MaxInstances: 2, MemoryLimitPages: 32}),
		load(t, r, "oob", PluginConfig{MaxInstances: 2}),
	}
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var brokenFailed, brokenOK atomic.Int64
	for _, p := range broken {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := p.Call(ctx, abi.MethodObjectRead, []byte{1}); err != nil {
						brokenFailed.Add(1)
					} else {
						brokenOK.Add(1)
					}
				}
			}()
		}
	}
	var healthyCalls atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				req := []byte{2, byte(i), byte(i >> 8)}
				resp, err := healthy.Call(ctx, abi.MethodObjectRead, req)
				if err != nil || !bytes.Equal(resp, req) {
					t.Errorf("healthy plugin: %v %v", resp, err)
					return
				}
				healthyCalls.Add(1)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	for healthyCalls.Load() < 4000 && !t.Failed() {
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if brokenOK.Load() != 0 || brokenFailed.Load() == 0 {
		t.Errorf("broken plugins: %d answered, %d failed", brokenOK.Load(), brokenFailed.Load())
	}
	if s := healthy.Stats(); s.Discarded != 0 {
		t.Errorf("healthy: %+v", s)
	}
	t.Logf("healthy calls %d, broken calls failed %d", healthyCalls.Load(), brokenFailed.Load())
}

func TestHostCall(t *testing.T) {
	type hostCall struct {
		plugin string
		m      abi.HostMethod
		req    string
	}
	var mu sync.Mutex
	var calls []hostCall
	host := HostFunc(func(ctx context.Context, plugin string, m abi.HostMethod, req []byte) ([]byte, error) {
		mu.Lock()
		calls = append(calls, hostCall{plugin, m, string(req)})
		mu.Unlock()
		switch string(req) {
		case "missing":
			return nil, model.Errorf(model.NotFound, "no key %q", req)
		case "plain error":
			return nil, errors.New("disk on fire")
		case "panic":
			panic("host bug")
		}
		return append([]byte("value of "), req...), nil
	})
	r, _ := newTestRuntime(t, Config{Host: host})
	granted := load(t, r, "echo", PluginConfig{ID: "test.granted", Capabilities: []string{abi.CapKV}})
	denied := load(t, r, "echo", PluginConfig{ID: "test.denied", Capabilities: []string{abi.CapChanged}})

	// hostCall asks p's guest to call the host; the guest answers with
	// what the host call returned and what result() copied.
	call := func(p *Plugin, m abi.HostMethod, payload string) (int32, string) {
		t.Helper()
		resp, err := p.Call(context.Background(), mHostCall, append([]byte{byte(m)}, payload...))
		if err != nil {
			t.Fatalf("%s: %v", payload, err)
		}
		return int32(binary.LittleEndian.Uint32(resp)), string(resp[4:])
	}
	if n, got := call(granted, abi.HostKVGet, "k1"); n != int32(len("value of k1")) || got != "value of k1" {
		t.Errorf("granted: %d %q", n, got)
	}
	if n, got := call(denied, abi.HostKVGet, "k2"); n != -int32(model.Forbidden) || !strings.Contains(got, `capability "kv"`) {
		t.Errorf("denied: %d %q, want -131 (4.03)", n, got)
	}
	if n, got := call(granted, abi.HostRequest, "k3"); n != -int32(model.Forbidden) {
		t.Errorf("lwm2m.request not granted: %d %q", n, got)
	}
	if n, got := call(granted, 99, "k4"); n != -int32(model.NotImplemented) {
		t.Errorf("unknown host method: %d %q", n, got)
	}
	if n, got := call(granted, abi.HostKVGet, "missing"); n != -int32(model.NotFound) || got != `no key "missing"` {
		t.Errorf("host 4.04: %d %q", n, got)
	}
	if n, got := call(granted, abi.HostKVGet, "plain error"); n != -int32(model.InternalServerError) || !strings.Contains(got, "disk on fire") {
		t.Errorf("host error: %d %q", n, got)
	}
	if n, _ := call(granted, abi.HostKVGet, "panic"); n != -int32(model.InternalServerError) {
		t.Errorf("host panic: %d", n)
	}
	// The instance survived all of it.
	if s := granted.Stats(); s.Discarded != 0 {
		t.Errorf("%+v", s)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []hostCall{{"test.granted", abi.HostKVGet, "k1"}, {"test.granted", abi.HostKVGet, "missing"},
		{"test.granted", abi.HostKVGet, "plain error"}, {"test.granted", abi.HostKVGet, "panic"}}
	if len(calls) != len(want) {
		t.Fatalf("host saw %v, want %v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("host call %d: %v, want %v", i, calls[i], want[i])
		}
	}
}

// TestHostErrorCut checks that the error text of a failed host call is
// cut to abi.MaxHostError bytes at a character boundary, so that a guest
// with that much room gets all of it.
func TestHostErrorCut(t *testing.T) {
	ctx := context.Background()
	long := "x" + strings.Repeat("é", 1000) // 2001 bytes; byte 1023 starts an é
	r, _ := newTestRuntime(t, Config{Host: HostFunc(func(context.Context, string, abi.HostMethod, []byte) ([]byte, error) {
		return nil, model.Errorf(model.NotFound, "%s", long)
	})})
	p := load(t, r, "echo", PluginConfig{Capabilities: []string{abi.CapKV}})
	in, err := p.cur.Load().newInstance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer in.close()
	resp, _, err := in.call(ctx, mHostCall, []byte{byte(abi.HostKVGet)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := int32(binary.LittleEndian.Uint32(resp)); n != -int32(model.NotFound) {
		t.Errorf("host call returned %d, want -132", n)
	}
	if got, want := string(in.pending), long[:1023]; got != want {
		t.Errorf("pending error text of %d bytes, want the first %d", len(got), len(want))
	}
	if got := string(resp[4:]); got != long[:764] { // echo copies at most 764 bytes
		t.Errorf("copied %d bytes: %q", len(got), got)
	}
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"}, {"abcd", 3, "abc"}, {"aé", 2, "a"}, {"aé", 3, "aé"}, {"a€b", 3, "a"}, {"a€b", 4, "a€"}, {"\xff\xff", 1, "\xff"},
	} {
		if got := string(cutText([]byte(tc.in), tc.n)); got != tc.want {
			t.Errorf("cutText(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestNoHost(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	p := load(t, r, "echo", PluginConfig{Capabilities: []string{abi.CapChanged}})
	resp, err := p.Call(context.Background(), mHostCall, []byte{byte(abi.HostChanged)})
	if err != nil || int32(binary.LittleEndian.Uint32(resp)) != -int32(model.NotImplemented) {
		t.Errorf("%v %v", resp, err)
	}
}

func TestLogAndStdout(t *testing.T) {
	r, rec := newTestRuntime(t, Config{})
	p := load(t, r, "echo", PluginConfig{ID: "objects.loud"})
	ctx := context.Background()
	if _, err := p.Call(ctx, mLog, append(le32(uint32(4)), "careful, guest speaking"...)); err != nil {
		t.Fatal(err)
	}
	x, ok := rec.find("careful, guest speaking")
	if !ok || x.level != 4 || x.attrs["plugin"] != "objects.loud" {
		t.Errorf("log record %+v %v", x, ok)
	}
	if _, err := p.Call(ctx, mStdout, []byte("panic: printed by the guest\npartial")); err != nil {
		t.Fatal(err)
	}
	x, ok = rec.find("panic: printed by the guest")
	if !ok || x.attrs["stream"] != "stdout" || x.attrs["plugin"] != "objects.loud" {
		t.Errorf("stdout record %+v %v", x, ok)
	}
	p.Close(ctx)
	if _, ok := rec.find("partial"); !ok {
		t.Error("the unfinished line was not flushed when the instance closed")
	}
}

func TestClockAndRandom(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	ctx := context.Background()
	get := func(p *Plugin, m abi.Method) uint64 {
		resp, err := p.Call(ctx, m, nil)
		if err != nil || len(resp) != 8 {
			t.Fatalf("%v %v", resp, err)
		}
		return binary.LittleEndian.Uint64(resp)
	}
	a := load(t, r, "echo", PluginConfig{ID: "test.a"})
	b := load(t, r, "echo", PluginConfig{ID: "test.b"})
	if now := uint64(time.Now().UnixNano()); get(a, mClock) > now-uint64(24*time.Hour) {
		t.Error("clock not granted, but the guest sees the real time")
	}
	if get(a, mRandom) != get(b, mRandom) {
		t.Error("random not granted, but not deterministic")
	}
	c := load(t, r, "echo", PluginConfig{ID: "test.c", Capabilities: []string{abi.CapClock, abi.CapRandom}})
	d := load(t, r, "echo", PluginConfig{ID: "test.d", Capabilities: []string{abi.CapRandom}})
	if got, now := int64(get(c, mClock)), time.Now().UnixNano(); got < now-int64(time.Minute) || got > now+int64(time.Minute) {
		t.Errorf("clock granted: %d, now %d", got, now)
	}
	if get(c, mRandom) == get(d, mRandom) {
		t.Error("random granted, but the same bytes in two plugins")
	}
}

func TestReload(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	host := HostFunc(func(ctx context.Context, plugin string, m abi.HostMethod, req []byte) ([]byte, error) {
		entered <- struct{}{}
		<-release
		return []byte("late"), nil
	})
	r, _ := newTestRuntime(t, Config{Host: host})
	p := load(t, r, "echo", PluginConfig{MaxInstances: 2, Capabilities: []string{abi.CapKV}, Stop: []byte{}})
	ctx := context.Background()

	// A call in flight on the old module, blocked in a host call.
	inflight := make(chan error, 1)
	go func() {
		resp, err := p.Call(ctx, mHostCall, []byte{byte(abi.HostKVGet)})
		if err == nil && string(resp[4:]) != "late" {
			err = errors.New("wrong response " + string(resp))
		}
		inflight <- err
	}()
	<-entered

	// Callers keep calling across the reloads.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var callErr atomic.Value
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if resp, err := p.Call(ctx, abi.MethodObjectRead, []byte{7}); err != nil || !bytes.Equal(resp, []byte{7}) {
				callErr.Store(err)
				return
			}
		}
	}()

	if err := p.Reload(ctx, readWasm(t, "no_call")); !errors.Is(err, ErrInvalidModule) {
		t.Fatalf("reload of a broken module: %v", err)
	}
	if got, err := p.Call(ctx, mInits, nil); err != nil || len(got) != 4 {
		t.Fatalf("the old module stopped serving: %v %v", got, err)
	}
	if err := p.Reload(ctx, readWasm(t, "trap")); err != nil { // a new version: echoes any request
		t.Fatal(err)
	}
	if got, err := p.Call(ctx, mInits, []byte("new")); err != nil || string(got) != "new" {
		t.Fatalf("new calls do not reach the new module: %q %v", got, err)
	}
	// The old module waits for its call in flight.
	p.mu.Lock()
	live := len(p.live)
	p.mu.Unlock()
	if live != 2 {
		t.Errorf("%d modules live during the call in flight, want 2", live)
	}
	close(release)
	if err := <-inflight; err != nil {
		t.Fatalf("call in flight across the reload: %v", err)
	}
	close(stop)
	wg.Wait()
	if err := callErr.Load(); err != nil {
		t.Fatalf("a call failed during the reload: %v", err)
	}
	waitFor(t, func() bool { p.mu.Lock(); defer p.mu.Unlock(); return len(p.live) == 1 })
	if s := p.Stats(); s.Reloads != 1 || s.SHA256 != sha256.Sum256(readWasm(t, "trap")) {
		t.Errorf("%+v", s)
	}
}

// busy returns how many instances of p's current module are in a call.
func busy(p *Plugin) int {
	g := p.cur.Load()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.out
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatch(t *testing.T) {
	r, rec := newTestRuntime(t, Config{})
	path := filepath.Join(t.TempDir(), "plugin.wasm")
	write := func(b []byte) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(readWasm(t, "echo"))
	ctx := context.Background()
	p, err := r.LoadFile(ctx, PluginConfig{ID: "test.watched"}, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Watch(path, 5*time.Millisecond); err != nil {
		t.Fatal(err)
	}

	write(readWasm(t, "abi_v2"))
	waitFor(t, func() bool { _, ok := rec.find("plugin reload refused"); return ok })
	if got, err := p.Call(ctx, mInits, nil); err != nil || len(got) != 4 {
		t.Fatalf("the old module stopped serving: %v %v", got, err)
	}

	write(readWasm(t, "newer_minor"))
	waitFor(t, func() bool { return p.Stats().Reloads == 1 })
	if p.Minor() != 7 {
		t.Errorf("minor %d after the reload", p.Minor())
	}
	// The same contents again (a touch) reload nothing.
	now := time.Now().Add(time.Second)
	os.Chtimes(path, now, now)
	time.Sleep(50 * time.Millisecond)
	if s := p.Stats(); s.Reloads != 1 {
		t.Errorf("%+v", s)
	}
}

func TestClose(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	p := load(t, r, "echo", PluginConfig{Stop: []byte("bye")})
	q := load(t, r, "loop", PluginConfig{Timeout: time.Minute})
	p.Watch(filepath.Join(t.TempDir(), "none.wasm"), time.Millisecond)
	ctx := context.Background()

	// A call in flight when Close's ctx runs out is stopped under it.
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		close(started)
		_, err := q.Call(ctx, abi.MethodObjectRead, []byte{1})
		done <- err
	}()
	<-started
	waitFor(t, func() bool { return busy(q) == 1 })
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := q.Close(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("close with a call in flight: %v", err)
	}
	if err := <-done; err == nil {
		t.Error("the call in flight succeeded")
	}

	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Call(ctx, abi.MethodObjectRead, nil); !errors.Is(err, ErrClosed) || !errors.Is(err, model.ErrServiceUnavailable) {
		t.Errorf("call after close: %v", err)
	}
	if err := p.Reload(ctx, readWasm(t, "echo")); !errors.Is(err, ErrClosed) {
		t.Errorf("reload after close: %v", err)
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Load(ctx, PluginConfig{ID: "late"}, readWasm(t, "echo")); !errors.Is(err, ErrClosed) {
		t.Errorf("load after close: %v", err)
	}
}

// TestPoolStress mixes healthy calls, traps and callers giving up while
// they wait, on a pool of two, and checks that the pool keeps its bound
// and still answers.
func TestPoolStress(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	p := load(t, r, "trap", PluginConfig{MaxInstances: 2})
	var wg sync.WaitGroup
	var unexpected atomic.Int64
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				req := []byte{2, byte(g), byte(i)}
				if i%10 == g {
					req[0] = 1 // trap
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%3)*time.Millisecond)
				resp, err := p.Call(ctx, abi.MethodObjectRead, req)
				cancel()
				switch {
				case err == nil && bytes.Equal(resp, req):
				case err != nil && (model.CodeOf(err) == model.GatewayTimeout || req[0] == 1):
				default:
					unexpected.Add(1)
				}
				if s := p.Stats(); s.Instances > 2 {
					t.Errorf("%d instances", s.Instances)
				}
			}
		}()
	}
	wg.Wait()
	if unexpected.Load() != 0 {
		t.Errorf("%d unexpected results", unexpected.Load())
	}
	if resp, err := p.Call(context.Background(), abi.MethodObjectRead, []byte{5}); err != nil || resp[0] != 5 {
		t.Fatalf("after: %v %v", resp, err)
	}
	t.Logf("%+v", p.Stats())
}

// TestBadPointers passes host functions pointers outside guest memory:
// each answers with a status (or, for log, a warning), never a trap.
func TestBadPointers(t *testing.T) {
	r, rec := newTestRuntime(t, Config{Host: HostFunc(func(context.Context, string, abi.HostMethod, []byte) ([]byte, error) {
		t.Error("the host was called")
		return nil, nil
	})})
	p := load(t, r, "echo", PluginConfig{Capabilities: []string{abi.CapKV}})
	for which, want := range []int32{-int32(model.BadRequest), 0, -int32(model.BadRequest)} {
		resp, err := p.Call(context.Background(), 107, []byte{byte(which)})
		if err != nil {
			t.Fatalf("%d: %v", which, err)
		}
		if got := int32(binary.LittleEndian.Uint32(resp)); got != want {
			t.Errorf("%d: host function returned %d, want %d", which, got, want)
		}
	}
	if _, ok := rec.find("guest log message outside its memory"); !ok {
		t.Error("no warning for the log outside memory")
	}
	if s := p.Stats(); s.Discarded != 0 {
		t.Errorf("%+v", s)
	}
}

// TestStartStop checks that every new instance gets the Start request
// and every instance discarded on purpose the Stop request.
func TestStartStop(t *testing.T) {
	r, rec := newTestRuntime(t, Config{})
	p := load(t, r, "echo", PluginConfig{Start: []byte("config"), Stop: []byte("bye")})
	count := func(msg string) int {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		n := 0
		for _, x := range rec.recs {
			if x.msg == msg && x.attrs["plugin"] == p.ID() {
				n++
			}
		}
		return n
	}
	if count("start: config") != 1 {
		t.Fatal("no Start at load")
	}
	if err := p.Reload(context.Background(), readWasm(t, "echo")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return count("stop: bye") == 1 })
	if count("start: config") != 2 {
		t.Error("no Start for the new module's instance")
	}
	p.Close(context.Background())
	if count("stop: bye") != 2 {
		t.Error("no Stop at close")
	}
}

// TestDeadlineRace uses a deadline so short that it fires during calls,
// between them and as they return: each call is answered or fails with
// 5.04, and an instance whose timer fired is never used again.
func TestDeadlineRace(t *testing.T) {
	r, _ := newTestRuntime(t, Config{})
	p := load(t, r, "echo", PluginConfig{MaxInstances: 2, Timeout: 2 * time.Microsecond})
	var wg sync.WaitGroup
	var ok, timedOut, other atomic.Int64
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				req := []byte{byte(g), byte(i)}
				resp, err := p.Call(context.Background(), abi.MethodObjectRead, req)
				switch {
				case err == nil && bytes.Equal(resp, req):
					ok.Add(1)
				case errors.Is(err, context.DeadlineExceeded) && model.CodeOf(err) == model.GatewayTimeout:
					timedOut.Add(1)
				default:
					other.Add(1)
					t.Errorf("%v %v", resp, err)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("answered %d, timed out %d, %+v", ok.Load(), timedOut.Load(), p.Stats())
	if s := p.Stats(); s.Instances > 2 {
		t.Errorf("%+v", s)
	}
}
