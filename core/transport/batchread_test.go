package transport

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// maxUDPPayload is the largest datagram a socket sends to family's
// loopback: 65535 less the UDP header, and for IPv4 its 20-byte header
// too. The endpoint reads up to maxDatagram, more than either.
func maxUDPPayload(v6 bool) int {
	if v6 {
		return 65535 - 8
	}
	return 65535 - 20 - 8
}

// burstSizes are the datagram sizes each sender of a burst test sends,
// cycled; 0 stands for the largest datagram the sender can send.
var burstSizes = []int{4, 5, 17, 100, 0, 512, 1024, 1400, 1500, 4000, 9000, 30000, 64}

// burstNetworks are the endpoint's socket and its senders' sockets in the
// burst tests: IPv4, IPv6, and a dual-stack socket that receives both.
var burstNetworks = []struct {
	name, listen string
	senders      []string
}{
	{"inet4", "127.0.0.1:0", []string{"127.0.0.1:0"}},
	{"inet6", "[::1]:0", []string{"[::1]:0"}},
	{"dual-stack", "[::]:0", []string{"127.0.0.1:0", "[::1]:0"}},
}

// burstMessage is sender's seq-th NON POST, its size taken from
// burstSizes, its payload a pattern, token and MID naming sender and seq.
func burstMessage(sender, seq int, v6 bool) []byte {
	m := &Message{Type: NonConfirmable, Code: POST, MID: uint16(sender<<8 | seq), Token: []byte{byte(sender), byte(seq)}}
	m.SetPath("/burst")
	size := burstSizes[seq%len(burstSizes)]
	if size == 0 {
		size = maxUDPPayload(v6)
	}
	head, err := m.MarshalBinary()
	if err != nil {
		panic(err)
	}
	if size > len(head) {
		m.Payload = pattern(size - len(head) - 1) // the payload marker takes a byte
		binary.BigEndian.PutUint16(m.Payload, uint16(sender<<8|seq))
	}
	b, err := m.MarshalBinary()
	if err != nil {
		panic(err)
	}
	if size > len(head) && len(b) != size {
		panic("burstMessage: wrong size")
	}
	return b
}

// A burst of datagrams of every size up to the largest a socket can
// send, from several senders at once, reaches the handler whole and with
// each sender's address, over IPv4, IPv6 and a dual-stack socket.
func TestEndpointReceivesBurst(t *testing.T) {
	checkLeaks(t)
	const senders, perSender = 4, 40
	for _, tc := range burstNetworks {
		t.Run(tc.name, func(t *testing.T) {
			type key struct {
				sender, seq int
			}
			var mu sync.Mutex
			got := map[key]*Request{}
			all := make(chan struct{})
			h := HandlerFunc(func(ctx context.Context, req *Request) *Message {
				k := key{int(req.Msg.Token[0]), int(req.Msg.Token[1])}
				mu.Lock()
				defer mu.Unlock()
				if _, dup := got[k]; dup {
					t.Errorf("sender %d message %d served twice", k.sender, k.seq)
				}
				got[k] = req
				if len(got) == senders*perSender {
					close(all)
				}
				return nil
			})
			cfg := fast(h)
			cfg.ReadBuffer = 4 << 20
			e, err := Listen(tc.listen, cfg)
			if err != nil {
				t.Skip(err) // no IPv6
			}
			defer e.Close()
			port := e.LocalAddr().Port()
			var cs []*net.UDPConn
			for i := range senders {
				c, err := net.ListenUDP("udp", mustResolve(t, tc.senders[i%len(tc.senders)]))
				if err != nil {
					t.Skip(err)
				}
				defer c.Close()
				cs = append(cs, c)
			}
			// Every sender sends its datagrams as fast as it can, all at
			// once, so that they queue together on the endpoint's socket.
			var wg sync.WaitGroup
			for i, c := range cs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v6 := c.LocalAddr().(*net.UDPAddr).IP.To4() == nil
					dst := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port)
					if v6 {
						dst = netip.AddrPortFrom(netip.IPv6Loopback(), port)
					}
					for seq := range perSender {
						if _, err := c.WriteToUDPAddrPort(burstMessage(i, seq, v6), dst); err != nil {
							t.Errorf("sender %d message %d: %v", i, seq, err)
						}
					}
				}()
			}
			wg.Wait()
			select {
			case <-all:
			case <-time.After(10 * time.Second):
				mu.Lock()
				t.Fatalf("served %d of %d datagrams; stats %+v", len(got), senders*perSender, e.Stats())
			}
			mu.Lock()
			defer mu.Unlock()
			for k, req := range got {
				c := cs[k.sender]
				if want := normalize(c.LocalAddr().(*net.UDPAddr).AddrPort()); req.Peer != want {
					t.Errorf("sender %d message %d: peer %v, want %v", k.sender, k.seq, req.Peer, want)
				}
				v6 := c.LocalAddr().(*net.UDPAddr).IP.To4() == nil
				var want Message
				if err := want.UnmarshalBinary(burstMessage(k.sender, k.seq, v6)); err != nil {
					t.Fatal(err)
				}
				mustEqualBytes(t, "payload", req.Msg.Payload, want.Payload)
				if req.Msg.MID != want.MID {
					t.Errorf("sender %d message %d: MID %#x, want %#x", k.sender, k.seq, req.Msg.MID, want.MID)
				}
			}
			if s := e.Stats(); s.Received != senders*perSender || s.Malformed != 0 {
				t.Errorf("stats: received %d, malformed %d; want %d, 0", s.Received, s.Malformed, senders*perSender)
			}
		})
	}
}

func mustResolve(t *testing.T, s string) *net.UDPAddr {
	t.Helper()
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
