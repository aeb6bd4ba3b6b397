package transport

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/internal/leaktest"
	"github.com/wasm2m/wasm2m/core/model"
)

// checkLeaks fails the test if goroutines started during it outlive it.
// Call it first, so that its cleanup runs after the endpoints' Close.
func checkLeaks(t *testing.T) {
	t.Helper()
	leaktest.Check(t)
}

// fast is a configuration with short timers for tests.
func fast(h Handler) Config {
	return Config{
		Handler:               h,
		ACKTimeout:            100 * time.Millisecond,
		ACKRandomFactor:       1.5,
		MaxRetransmit:         4,
		SeparateResponseAfter: 200 * time.Millisecond,
		PeerRate:              -1,
		ReadBuffer:            1 << 20,
	}
}

// listen starts an Endpoint on a loopback port, closed when the test ends.
func listen(t testing.TB, cfg Config) *Endpoint {
	t.Helper()
	e, err := Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// startOn starts an Endpoint on pc, closed when the test ends.
func startOn(t testing.TB, pc packetConn, cfg Config) *Endpoint {
	t.Helper()
	cfg, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	e := newEndpoint(pc, cfg)
	e.start()
	t.Cleanup(func() { e.Close() })
	return e
}

// lossyConn drops the next dropWrites datagrams it is asked to write and
// the next dropReads it reads.
type lossyConn struct {
	packetConn
	dropWrites atomic.Int32
	dropReads  atomic.Int32
	dropEvery  int32 // if > 0, also drop every dropEvery-th write
	writes     atomic.Int32
	dropped    atomic.Int32
}

func (l *lossyConn) WriteTo(b []byte, peer netip.AddrPort) error {
	n := l.writes.Add(1)
	if l.dropWrites.Add(-1) >= 0 || (l.dropEvery > 0 && n%l.dropEvery == 0) {
		l.dropped.Add(1)
		return nil
	}
	return l.packetConn.WriteTo(b, peer)
}

func (l *lossyConn) ReadFrom(b []byte) (int, netip.AddrPort, error) {
	for {
		n, p, err := l.packetConn.ReadFrom(b)
		if err != nil || l.dropReads.Add(-1) < 0 {
			return n, p, err
		}
	}
}

func loopbackConn(t testing.TB) *lossyConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return &lossyConn{packetConn: udpConn{c}}
}

// rawPeer is a bare UDP socket that speaks CoAP by hand.
type rawPeer struct {
	t *testing.T
	c *net.UDPConn
}

func newRawPeer(t *testing.T) *rawPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawPeer{t, c}
}

func (p *rawPeer) addr() netip.AddrPort { return p.c.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *rawPeer) sendBytes(to netip.AddrPort, b []byte) {
	p.t.Helper()
	if _, err := p.c.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

func (p *rawPeer) send(to netip.AddrPort, m *Message) []byte {
	p.t.Helper()
	b, err := m.AppendBinary(nil)
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendBytes(to, b)
	return b
}

// recv reads one datagram, or returns nil after d.
func (p *rawPeer) recv(d time.Duration) ([]byte, *Message) {
	p.t.Helper()
	buf := make([]byte, maxDatagram)
	p.c.SetReadDeadline(time.Now().Add(d))
	n, _, err := p.c.ReadFromUDPAddrPort(buf)
	if err != nil {
		return nil, nil
	}
	m := new(Message)
	if err := m.UnmarshalBinary(buf[:n]); err != nil {
		p.t.Fatalf("raw peer got a malformed datagram % x: %v", buf[:n], err)
	}
	return buf[:n], m
}

func (p *rawPeer) mustRecv() ([]byte, *Message) {
	p.t.Helper()
	b, m := p.recv(5 * time.Second)
	if m == nil {
		p.t.Fatal("raw peer: nothing received")
	}
	return b, m
}

// echo is a handler that answers 2.05 with the request's path and payload.
var echo = HandlerFunc(func(_ context.Context, r *Request) *Message {
	m := &Message{Code: model.Content, Payload: append([]byte(r.Msg.Path()+":"), r.Msg.Payload...)}
	m.SetContentFormat(0)
	return m
})

func get(path string) *Message {
	m := &Message{Code: GET}
	m.SetPath(path)
	return m
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func mustEqualBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes, want %d (first difference at %d)", what, len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
