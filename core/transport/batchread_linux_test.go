//go:build linux && (amd64 || arm64)

package transport

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// An endpoint on a UDP socket reads it with recvmmsg.
func TestEndpointReadsBatches(t *testing.T) {
	checkLeaks(t)
	e := listen(t, fast(nil))
	if _, ok := e.in.(*mmsgReader); !ok {
		t.Fatalf("endpoint reader %T, want *mmsgReader", e.in)
	}
}

// readBatch returns the datagrams queued on the socket, several per call,
// whole, in the order each sender sent them, with the sender's address as
// ReadFromUDPAddrPort gives it (IPv4 senders mapped on a dual-stack
// socket).
func TestMmsgReaderBurst(t *testing.T) {
	const senders, perSender = 5, 60
	for _, tc := range burstNetworks {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.ListenUDP("udp", mustResolve(t, tc.listen))
			if err != nil {
				t.Skip(err)
			}
			defer c.Close()
			if err := c.SetReadBuffer(4 << 20); err != nil {
				t.Fatal(err)
			}
			r := newMmsgReader(c, readBatchSize, maxDatagram)
			if r == nil {
				t.Fatal("no recvmmsg reader for a UDP socket")
			}
			port := c.LocalAddr().(*net.UDPAddr).Port
			var cs []*net.UDPConn
			want := map[netip.AddrPort]int{} // sender's address: its index
			for i := range senders {
				s, err := net.ListenUDP("udp", mustResolve(t, tc.senders[i%len(tc.senders)]))
				if err != nil {
					t.Skip(err)
				}
				defer s.Close()
				cs = append(cs, s)
				want[s.LocalAddr().(*net.UDPAddr).AddrPort()] = i
			}
			// Round robin, so that the senders' datagrams interleave.
			for seq := range perSender {
				for i, s := range cs {
					v6 := s.LocalAddr().(*net.UDPAddr).IP.To4() == nil
					dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))
					if v6 {
						dst = netip.AddrPortFrom(netip.IPv6Loopback(), uint16(port))
					}
					if _, err := s.WriteToUDPAddrPort(burstMessage(i, seq, v6), dst); err != nil {
						t.Fatalf("sender %d message %d: %v", i, seq, err)
					}
				}
			}
			next := make([]int, senders)
			largest := 0
			for got := 0; got < senders*perSender; {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err := r.readBatch()
				if err != nil {
					t.Fatalf("after %d of %d datagrams: %v", got, senders*perSender, err)
				}
				if n < 1 || n > readBatchSize {
					t.Fatalf("readBatch read %d", n)
				}
				largest = max(largest, n)
				for i := range n {
					b, peer, truncated := r.datagram(i)
					if tc.listen == "[::]:0" && peer.Addr().Is4() {
						t.Errorf("IPv4 peer %v on a dual-stack socket, want it mapped as ReadFromUDPAddrPort does", peer)
					}
					s, ok := want[normalize(peer)]
					if !ok {
						t.Fatalf("datagram from %v, no sender", peer)
					}
					v6 := cs[s].LocalAddr().(*net.UDPAddr).IP.To4() == nil
					mustEqualBytes(t, "datagram", b, burstMessage(s, next[s], v6))
					if truncated {
						t.Errorf("sender %d message %d reported truncated", s, next[s])
					}
					next[s]++
					got++
				}
			}
			if largest < 2 {
				t.Errorf("never more than %d datagram per recvmmsg", largest)
			}
		})
	}
}

// A datagram longer than its slot is reported truncated, and neither it
// nor the slots around it spill into each other.
func TestMmsgReaderTruncated(t *testing.T) {
	c, err := net.ListenUDP("udp", mustResolve(t, "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := newMmsgReader(c, 4, 100)
	s, err := net.ListenUDP("udp", mustResolve(t, "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	to := c.LocalAddr().(*net.UDPAddr).AddrPort()
	sizes := []int{50, 100, 101, 3000, 7}
	for _, n := range sizes {
		b := pattern(n)
		b[0] = byte(n)
		if _, err := s.WriteToUDPAddrPort(b, to); err != nil {
			t.Fatal(err)
		}
	}
	var i int
	for i < len(sizes) {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := r.readBatch()
		if err != nil {
			t.Fatal(err)
		}
		for j := range n {
			b, _, truncated := r.datagram(j)
			size := sizes[i]
			want := pattern(size)[:min(size, 100)]
			want[0] = byte(size)
			mustEqualBytes(t, "datagram", b, want)
			if truncated != (size > 100) {
				t.Errorf("%d bytes into 100: truncated %v", size, truncated)
			}
			i++
		}
	}
}

// The endpoint counts a truncated datagram received and malformed, and
// serves none of it.
func TestEndpointDropsTruncated(t *testing.T) {
	checkLeaks(t)
	var served atomic.Int32
	cfg, err := fast(HandlerFunc(func(ctx context.Context, req *Request) *Message {
		served.Add(1)
		return nil
	})).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", mustResolve(t, "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEndpoint(udpConn{c}, cfg)
	e.in = newMmsgReader(c, 4, 64)
	e.start()
	defer e.Close()
	p := newRawPeer(t)
	long := get("/3/0")
	long.Type, long.Payload = NonConfirmable, pattern(100)
	p.send(e.LocalAddr(), long)
	short := get("/3/0")
	short.Type = NonConfirmable
	p.send(e.LocalAddr(), short)
	waitFor(t, 5*time.Second, "the short request served", func() bool { return served.Load() == 1 })
	if s := e.Stats(); s.Received != 2 || s.Malformed != 1 {
		t.Errorf("received %d, malformed %d; want 2, 1", s.Received, s.Malformed)
	}
}

// readBatch fails with net.ErrClosed once the socket is closed, also
// while it waits.
func TestMmsgReaderClosed(t *testing.T) {
	c, err := net.ListenUDP("udp", mustResolve(t, "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	r := newMmsgReader(c, readBatchSize, maxDatagram)
	done := make(chan error, 1)
	go func() {
		_, err := r.readBatch()
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("readBatch after Close: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("readBatch still waiting after Close")
	}
}

// Reading a datagram and its sender's address allocates nothing.
func TestMmsgReaderAllocs(t *testing.T) {
	for _, tc := range burstNetworks {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.ListenUDP("udp", mustResolve(t, tc.listen))
			if err != nil {
				t.Skip(err)
			}
			defer c.Close()
			s, err := net.ListenUDP("udp", mustResolve(t, tc.senders[len(tc.senders)-1]))
			if err != nil {
				t.Skip(err)
			}
			defer s.Close()
			to := netip.AddrPortFrom(s.LocalAddr().(*net.UDPAddr).AddrPort().Addr(), uint16(c.LocalAddr().(*net.UDPAddr).Port))
			r := newMmsgReader(c, readBatchSize, maxDatagram)
			msg := []byte("\x50\x01\x12\x34")
			var sink netip.AddrPort
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := s.WriteToUDPAddrPort(msg, to); err != nil {
					t.Fatal(err)
				}
				n, err := r.readBatch()
				if err != nil || n != 1 {
					t.Fatalf("readBatch: %d, %v", n, err)
				}
				_, sink, _ = r.datagram(0)
			})
			if allocs != 0 {
				t.Errorf("%v allocations per datagram, from %v", allocs, sink)
			}
		})
	}
}
