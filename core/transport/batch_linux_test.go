//go:build linux && (amd64 || arm64)

package transport

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// writeBatch delivers every datagram to its own peer, in order, from an
// IPv4 socket and from a dual-stack IPv6 one (IPv4 peers mapped).
func TestBatchWriterDelivers(t *testing.T) {
	for _, tc := range []struct {
		name, listen string
		peers        []string
	}{
		{"inet4", "127.0.0.1:0", []string{"127.0.0.1:0"}},
		{"inet6 dual-stack", "[::]:0", []string{"127.0.0.1:0", "[::1]:0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := net.ListenUDP("udp", mustUDPAddr(t, tc.listen))
			if err != nil {
				t.Skip(err)
			}
			defer src.Close()
			w := newBatchWriter(src)
			if w == nil {
				t.Fatal("no batch writer for a UDP socket")
			}
			var rcv []*net.UDPConn
			var ds []datagram
			for i := range 150 { // more than one sendmmsg
				if i < 10 {
					c, err := net.ListenUDP("udp", mustUDPAddr(t, tc.peers[i%len(tc.peers)]))
					if err != nil {
						t.Skip(err)
					}
					defer c.Close()
					rcv = append(rcv, c)
				}
				c := rcv[i%10]
				ds = append(ds, datagram{[]byte(fmt.Sprintf("m%03d", i)), c.LocalAddr().(*net.UDPAddr).AddrPort()})
			}
			for rest := ds; len(rest) > 0; {
				n, err := w.writeBatch(rest)
				if err != nil {
					t.Fatalf("writeBatch: %v after %d", err, len(ds)-len(rest)+n)
				}
				if n <= 0 || n > len(rest) {
					t.Fatalf("writeBatch sent %d of %d", n, len(rest))
				}
				rest = rest[n:]
			}
			buf := make([]byte, 64)
			for i := range ds {
				c := rcv[i%10]
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				n, from, err := c.ReadFromUDPAddrPort(buf)
				if err != nil {
					t.Fatalf("datagram %d: %v", i, err)
				}
				if want := string(ds[i].b); string(buf[:n]) != want {
					t.Fatalf("got %q, want %q (in order)", buf[:n], want)
				}
				if from.Port() != src.LocalAddr().(*net.UDPAddr).AddrPort().Port() {
					t.Fatalf("from %v", from)
				}
			}
		})
	}
}

// A datagram the socket cannot send fails alone: those after it go.
func TestBatchWriterSkipsUnreachable(t *testing.T) {
	src, err := net.ListenUDP("udp", mustUDPAddr(t, "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := net.ListenUDP("udp", mustUDPAddr(t, "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	e := newEndpoint(udpConn{src}, mustDefaults(t, Config{}))
	e.out.w = newBatchWriter(src)
	to := dst.LocalAddr().(*net.UDPAddr).AddrPort()
	e.writeBatch([]datagram{{[]byte("a"), to}, {[]byte("v6"), netip.MustParseAddrPort("[2001:db8::1]:5683")}, {[]byte("b"), to}})
	if s := e.Stats(); s.Sent != 2 || s.WriteErrors != 1 {
		t.Fatalf("sent %d, write errors %d; want 2 and 1", s.Sent, s.WriteErrors)
	}
	buf := make([]byte, 16)
	for _, want := range []string{"a", "b"} {
		dst.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := dst.ReadFromUDPAddrPort(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("got %q, %v; want %q", buf[:n], err, want)
		}
	}
}

// Concurrent writers: every datagram is sent once, whoever sends it.
func TestSenderConcurrent(t *testing.T) {
	src, err := net.ListenUDP("udp", mustUDPAddr(t, "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := net.ListenUDP("udp", mustUDPAddr(t, "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	dst.SetReadBuffer(4 << 20)
	e := newEndpoint(udpConn{src}, mustDefaults(t, Config{}))
	e.out.w = newBatchWriter(src)
	to := dst.LocalAddr().(*net.UDPAddr).AddrPort()
	const writers, each = 16, 100
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				e.write([]byte{byte(g), byte(i)}, to)
			}
		}()
	}
	wg.Wait()
	if s := e.Stats(); s.Sent != writers*each || s.WriteErrors != 0 {
		t.Fatalf("sent %d, write errors %d; want %d and 0", s.Sent, s.WriteErrors, writers*each)
	}
	next := make([]int, writers)
	buf := make([]byte, 16)
	for range writers * each {
		dst.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _, err := dst.ReadFromUDPAddrPort(buf)
		if err != nil || n != 2 {
			t.Fatalf("read %d bytes: %v", n, err)
		}
		g, i := buf[0], int(buf[1])
		if i != next[g] {
			t.Fatalf("writer %d: datagram %d after %d, want each writer's order kept", g, i, next[g]-1)
		}
		next[g]++
	}
}

func mustUDPAddr(t *testing.T, s string) *net.UDPAddr {
	t.Helper()
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustDefaults(t *testing.T, c Config) Config {
	t.Helper()
	c, err := c.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
