//go:build linux && (amd64 || arm64)

package transport

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// listenBlocking starts an Endpoint with BlockingReads on addr, closed
// when the test ends, and checks that its socket left the netpoller.
func listenBlocking(t *testing.T, addr string, cfg Config) *Endpoint {
	t.Helper()
	cfg.BlockingReads = true
	e, err := Listen(addr, cfg)
	if err != nil {
		t.Skip(err) // no IPv6 here, say
	}
	t.Cleanup(func() { e.Close() })
	s, ok := e.conn.(*ownedSocket)
	if !ok {
		t.Fatalf("endpoint socket %T, want *ownedSocket", e.conn)
	}
	if _, ok := e.in.(*mmsgReader); !ok {
		t.Fatalf("endpoint reader %T, want *mmsgReader", e.in)
	}
	if _, ok := e.out.w.(*mmsgWriter); !ok {
		t.Fatalf("endpoint writer %T, want *mmsgWriter", e.out.w)
	}
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(s.fd), syscall.F_GETFL, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	if flags&syscall.O_NONBLOCK != 0 {
		t.Error("the owned socket is still non-blocking")
	}
	return e
}

// An endpoint out of the netpoller serves requests from IPv4 and IPv6
// peers, on a dual-stack socket too, and its own requests get answers:
// reads, batched replies and single writes all go through the owned
// socket.
func TestBlockingReadsServe(t *testing.T) {
	checkLeaks(t)
	for _, tc := range burstNetworks {
		t.Run(tc.name, func(t *testing.T) {
			srv := listenBlocking(t, tc.listen, fast(echo))
			port := srv.LocalAddr().Port()
			for _, from := range tc.senders {
				cli, err := Listen(from, fast(echo))
				if err != nil {
					t.Skip(err)
				}
				defer cli.Close()
				to := netip.AddrPortFrom(cli.LocalAddr().Addr(), port)
				if to.Addr().IsUnspecified() {
					t.Fatalf("client bound to %s", cli.LocalAddr())
				}
				for i := range 20 {
					req := get("/echo")
					req.Payload = []byte{byte(i)}
					resp, err := cli.Do(ctxT(t, 5*time.Second), to, req)
					if err != nil {
						t.Fatalf("from %s: request %d: %v", from, i, err)
					}
					if want := "/echo:" + string([]byte{byte(i)}); string(resp.Payload) != want {
						t.Fatalf("from %s: payload %q, want %q", from, resp.Payload, want)
					}
				}
				// The other way: the owned endpoint asks, the peer
				// answers (a single write, then a read of the answer).
				back := netip.AddrPortFrom(cli.LocalAddr().Addr(), cli.LocalAddr().Port())
				resp, err := srv.Do(ctxT(t, 5*time.Second), back, get("/back"))
				if err != nil {
					t.Fatalf("to %s: %v", back, err)
				}
				if string(resp.Payload) != "/back:" {
					t.Fatalf("payload %q", resp.Payload)
				}
			}
		})
	}
}

// An empty datagram, which a read that Close woke would look like, is
// taken for what it is while the endpoint is open: the endpoint goes on.
func TestBlockingReadsEmptyDatagram(t *testing.T) {
	checkLeaks(t)
	srv := listenBlocking(t, "127.0.0.1:0", fast(echo))
	p := newRawPeer(t)
	p.sendBytes(srv.LocalAddr(), nil)
	req := get("/after")
	req.Type, req.MID, req.Token = Confirmable, 7, []byte{1, 2}
	p.send(srv.LocalAddr(), req)
	_, m := p.mustRecv()
	if m.Code != model.Content || string(m.Payload) != "/after:" {
		t.Fatalf("answer %v %q", m.Code, m.Payload)
	}
}

// Close wakes the reader out of its blocking recvmmsg through shutdown,
// not by waiting out the receive timeout, and releases the descriptor.
func TestBlockingReadsClose(t *testing.T) {
	checkLeaks(t)
	defer func(d time.Duration) { ownedRecvTimeout = d }(ownedRecvTimeout)
	ownedRecvTimeout = time.Hour
	before := openFiles(t)
	cfg := fast(echo)
	cfg.BlockingReads = true
	e, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.conn.(*ownedSocket); !ok {
		t.Fatalf("endpoint socket %T", e.conn)
	}
	time.Sleep(50 * time.Millisecond) // the reader is in recvmmsg
	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return: the blocked reader was not woken")
	}
	if after := openFiles(t); after != before {
		t.Errorf("%d files open before the endpoint, %d after it closed", before, after)
	}
	if _, err := e.Do(ctxT(t, time.Second), netip.MustParseAddrPort("127.0.0.1:9"), get("/x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close: %v", err)
	}
}

// Closing while other goroutines send ends every send with an error or
// success, none hangs, and the race detector sees the descriptor guarded.
func TestBlockingReadsCloseWhileSending(t *testing.T) {
	checkLeaks(t)
	srv := listenBlocking(t, "127.0.0.1:0", fast(echo))
	s := srv.conn.(*ownedSocket)
	sink := newRawPeer(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := s.WriteTo([]byte{0x40, 0, 0, 1}, sink.addr()); err != nil {
					if !errors.Is(err, net.ErrClosed) {
						t.Errorf("send: %v", err)
					}
					return
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if err := s.WriteTo([]byte{0x40, 0, 0, 1}, sink.addr()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("send after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// Write waits for room when a send reports the buffer full, and tries
// again.
func TestOwnedSocketWriteWaits(t *testing.T) {
	s := ownLoopback(t)
	calls := 0
	if err := s.Write(func(uintptr) bool { calls++; return calls == 3 }); err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Errorf("%d calls, want 3", calls)
	}
}

// ReadFrom and WriteTo, one datagram at a time, carry the peer's
// address both ways.
func TestOwnedSocketReadFrom(t *testing.T) {
	pc := ownLoopback(t)
	p := newRawPeer(t)
	p.sendBytes(pc.LocalAddr(), []byte("ping"))
	buf := make([]byte, 64)
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "ping" || from != p.addr() {
		t.Fatalf("read %q from %s, want ping from %s", buf[:n], from, p.addr())
	}
	if err := pc.WriteTo([]byte("pong"), from); err != nil {
		t.Fatal(err)
	}
	p.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, back, err := p.c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	if string(buf[:n]) != "pong" || back != pc.LocalAddr() {
		t.Fatalf("peer read %q from %s", buf[:n], back)
	}
	if err := pc.WriteTo([]byte("x"), netip.MustParseAddrPort("[2001:db8::1]:5683")); err == nil {
		t.Error("an IPv6 peer on an IPv4 socket was accepted")
	}
}

// ownLoopback takes a new loopback UDP socket out of the netpoller,
// closed when the test ends.
func ownLoopback(t *testing.T) *ownedSocket {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	pc, _, _, err := ownUDP(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.(*ownedSocket)
}

// openFiles counts this process's open descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip(err)
	}
	return len(ents)
}
