package transport

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// libcoap finds one of libcoap's example binaries (Debian package
// libcoap3-bin). Without it the test is skipped, except in CI (CI=true),
// where it fails.
func libcoap(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found; CI must install libcoap3-bin: %v", name, err)
		}
		t.Skipf("%s not found (install Debian's libcoap3-bin to run this interop test): %v", name, err)
	}
	return p
}

// coapClient runs coap-client-notls with args and returns its output.
func coapClient(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout: %s\nstderr: %s", filepath.Base(bin), strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// interopServer is the handler libcoap's client talks to.
type interopServer struct {
	mu     sync.Mutex
	store  []byte
	big    []byte
	obs    chan obsReq
	slowed chan struct{}
}

type obsReq struct {
	peer  netip.AddrPort
	token []byte
}

func (s *interopServer) ServeCoAP(_ context.Context, r *Request) *Message {
	m := r.Msg
	switch m.Path() {
	case "/hello":
		return &Message{Code: model.Content, Payload: []byte("hello world")}
	case "/echo":
		return &Message{Code: model.Changed, Payload: append([]byte("got "), m.Payload...)}
	case "/big":
		return &Message{Code: model.Content, Payload: s.big}
	case "/slow":
		time.Sleep(700 * time.Millisecond)
		select {
		case s.slowed <- struct{}{}:
		default:
		}
		return &Message{Code: model.Content, Payload: []byte("slow answer")}
	case "/obs":
		if v, ok := m.Observe(); ok && v == 0 {
			s.obs <- obsReq{r.Peer, append([]byte(nil), m.Token...)}
			resp := &Message{Code: model.Content, Payload: []byte("obs-0")}
			resp.SetObserve(1)
			return resp
		}
		return &Message{Code: model.Content, Payload: []byte("obs-plain")}
	case "/store":
		s.mu.Lock()
		defer s.mu.Unlock()
		switch m.Code {
		case PUT:
			s.store = append([]byte(nil), m.Payload...)
			return &Message{Code: model.Changed}
		case GET:
			return &Message{Code: model.Content, Payload: s.store}
		case DELETE:
			s.store = nil
			return &Message{Code: model.Deleted}
		}
		return &Message{Code: model.MethodNotAllowed}
	}
	return &Message{Code: model.NotFound}
}

// TestLibcoapClient runs libcoap's coap-client against an Endpoint.
func TestLibcoapClient(t *testing.T) {
	bin := libcoap(t, "coap-client-notls")
	checkLeaks(t)
	h := &interopServer{big: pattern(5000), obs: make(chan obsReq, 1), slowed: make(chan struct{}, 1)}
	for i := range h.big {
		h.big[i] = 'a' + byte(i%26) // printable, so that stdout compares
	}
	cfg := fast(h)
	cfg.SeparateResponseAfter = 200 * time.Millisecond
	srv := listen(t, cfg)
	uri := func(path string) string { return fmt.Sprintf("coap://%s%s", srv.LocalAddr(), path) }
	dir := t.TempDir()

	t.Run("GET", func(t *testing.T) {
		if out := coapClient(t, bin, "-B", "5", uri("/hello")); strings.TrimSpace(out) != "hello world" {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("NON GET", func(t *testing.T) {
		if out := coapClient(t, bin, "-N", "-B", "5", uri("/hello")); strings.TrimSpace(out) != "hello world" {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("POST with payload", func(t *testing.T) {
		if out := coapClient(t, bin, "-m", "post", "-e", "payload 1", "-B", "5", uri("/echo")); strings.TrimSpace(out) != "got payload 1" {
			t.Fatalf("output %q", out)
		}
	})
	t.Run("PUT, GET, DELETE", func(t *testing.T) {
		coapClient(t, bin, "-m", "put", "-e", "stored", "-B", "5", uri("/store"))
		if out := coapClient(t, bin, "-B", "5", uri("/store")); strings.TrimSpace(out) != "stored" {
			t.Fatalf("GET after PUT: %q", out)
		}
		coapClient(t, bin, "-m", "delete", "-B", "5", uri("/store"))
		if out := coapClient(t, bin, "-B", "5", uri("/store")); strings.TrimSpace(out) != "" {
			t.Fatalf("GET after DELETE: %q", out)
		}
	})
	t.Run("Block2 response", func(t *testing.T) {
		for _, size := range []int{64, 1024} {
			out := filepath.Join(dir, fmt.Sprint("big-", size))
			before := srv.Stats().Received
			coapClient(t, bin, "-b", fmt.Sprint(size), "-o", out, "-B", "10", uri("/big"))
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			mustEqualBytes(t, fmt.Sprint("block size ", size), got, h.big)
			if n := srv.Stats().Received - before; n < uint64(len(h.big)/size) {
				t.Fatalf("%d requests for %d bytes in blocks of %d", n, len(h.big), size)
			}
		}
		// Without -b, libcoap follows our 1024-byte blocks.
		out := filepath.Join(dir, "big-default")
		coapClient(t, bin, "-o", out, "-B", "10", uri("/big"))
		got, _ := os.ReadFile(out)
		mustEqualBytes(t, "default block size", got, h.big)
	})
	t.Run("Block1 request", func(t *testing.T) {
		in := filepath.Join(dir, "upload")
		body := bytes.Repeat([]byte("0123456789abcdef"), 300) // 4800 bytes
		if err := os.WriteFile(in, body, 0o600); err != nil {
			t.Fatal(err)
		}
		before := srv.Stats().Received
		coapClient(t, bin, "-m", "put", "-b", "64", "-f", in, "-B", "10", uri("/store"))
		if n := srv.Stats().Received - before; n < uint64(len(body)/64) {
			t.Fatalf("%d requests for %d bytes in blocks of 64", n, len(body))
		}
		h.mu.Lock()
		got := h.store
		h.mu.Unlock()
		mustEqualBytes(t, "stored body", got, body)
		// And back, block-wise.
		out := filepath.Join(dir, "download")
		coapClient(t, bin, "-b", "128", "-o", out, "-B", "10", uri("/store"))
		back, _ := os.ReadFile(out)
		mustEqualBytes(t, "downloaded body", back, body)
	})
	t.Run("separate response", func(t *testing.T) {
		if out := coapClient(t, bin, "-B", "5", uri("/slow")); strings.TrimSpace(out) != "slow answer" {
			t.Fatalf("output %q", out)
		}
		waitFor(t, 2*time.Second, "the separate response's ACK", func() bool { return srv.Stats().Exchanges == 0 })
	})
	t.Run("Observe", func(t *testing.T) {
		done := make(chan string, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, _ := exec.CommandContext(ctx, bin, "-s", "3", "-B", "5", uri("/obs")).Output()
			done <- string(out)
		}()
		var o obsReq
		select {
		case o = <-h.obs:
		case <-time.After(10 * time.Second):
			t.Fatal("no Observe registration")
		}
		for i, typ := range []Type{Confirmable, NonConfirmable, Confirmable} {
			n := &Message{Type: typ, Code: model.Content, Token: o.token, Payload: fmt.Appendf(nil, "obs-%d", i+1)}
			n.SetObserve(uint32(2 + i))
			if err := srv.Notify(ctxT(t, 5*time.Second), o.peer, n); err != nil {
				t.Fatalf("notification %d: %v", i+1, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		out := <-done
		for i := range 4 {
			if want := fmt.Sprintf("obs-%d", i); !strings.Contains(out, want) {
				t.Fatalf("coap-client printed %q, missing %q", out, want)
			}
		}
	})
}

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestLibcoapServer runs an Endpoint's Do against libcoap's coap-server:
// Block1 upload of a dynamic resource, Block2 download of it, and an
// observation of its /time resource.
func TestLibcoapServer(t *testing.T) {
	bin := libcoap(t, "coap-server-notls")
	checkLeaks(t)
	port := freeUDPPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-A", "127.0.0.1", "-p", fmt.Sprint(port), "-d", "10")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	peer := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))

	notes := make(chan *Message, 8)
	cfg := fast(nil)
	cfg.Notify = func(_ netip.AddrPort, m *Message) bool {
		select {
		case notes <- m:
		default:
		}
		return true
	}
	cli := listen(t, cfg)

	// Wait for the server to come up.
	var index *Message
	waitFor(t, 10*time.Second, "coap-server to answer", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		resp, err := cli.Do(ctx, peer, get("/"))
		index = resp
		return err == nil
	})
	if index.Code != model.Content || !bytes.Contains(index.Payload, []byte("libcoap")) {
		t.Fatalf("index %v %q", index, index.Payload)
	}

	body := pattern(20_000)
	t.Run("Block1 upload", func(t *testing.T) {
		req := &Message{Code: PUT, Payload: body}
		req.SetPath("/wasm2m")
		req.SetContentFormat(42)
		resp, err := cli.Do(ctxT(t, 20*time.Second), peer, req)
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Code.IsSuccess() {
			t.Fatalf("response %v %q; server stderr: %s", resp, resp.Payload, errb.String())
		}
	})
	t.Run("Block2 download", func(t *testing.T) {
		resp, err := cli.Do(ctxT(t, 20*time.Second), peer, get("/wasm2m"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code != model.Content {
			t.Fatalf("response %v", resp)
		}
		mustEqualBytes(t, "downloaded", resp.Payload, body)
	})
	t.Run("Block2 download, small blocks", func(t *testing.T) {
		req := get("/wasm2m")
		req.SetBlock2(Block{Size: 64})
		resp, err := cli.Do(ctxT(t, 20*time.Second), peer, req)
		if err != nil {
			t.Fatal(err)
		}
		mustEqualBytes(t, "downloaded", resp.Payload, body)
	})
	t.Run("Observe /time", func(t *testing.T) {
		req := get("/time")
		req.SetObserve(0)
		resp, err := cli.Do(ctxT(t, 10*time.Second), peer, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := resp.Observe(); !ok {
			t.Fatalf("first response %v has no Observe", resp)
		}
		select {
		case n := <-notes:
			if !bytes.Equal(n.Token, resp.Token) {
				t.Fatalf("notification token %x, want %x", n.Token, resp.Token)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no notification from /time")
		}
	})
}
