package transport

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

// fuzzSeeds are datagrams for both fuzz targets: the golden messages,
// messages built with every helper, and a few broken ones.
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	for _, tc := range codecCases {
		seeds = append(seeds, tc.wire)
	}
	add := func(m *Message) {
		b, err := m.AppendBinary(nil)
		if err != nil {
			panic(err)
		}
		seeds = append(seeds, b)
	}
	reg := &Message{Type: Confirmable, Code: POST, MID: 1, Token: []byte{1, 2, 3, 4}, Payload: []byte("</1/0>,</3/0>")}
	reg.SetPath("/rd")
	reg.SetQueries([]string{"ep=dev1", "lt=300"})
	reg.SetContentFormat(40)
	add(reg)
	blk := &Message{Type: Confirmable, Code: PUT, MID: 2, Token: []byte{9}, Payload: make([]byte, 64)}
	blk.SetPath("/5/0/0")
	blk.SetBlock1(Block{Num: 0, More: true, Size: 64})
	blk.SetUint(OptSize1, 1000)
	add(blk)
	last := blk.clone()
	last.MID = 3
	last.SetBlock1(Block{Num: 1, More: false, Size: 64})
	add(last)
	b2 := get("/big")
	b2.Type, b2.MID = Confirmable, 4
	b2.SetBlock2(Block{Num: 2, Size: 32})
	add(b2)
	obs := &Message{Type: NonConfirmable, Code: model.Content, MID: 5, Token: []byte{7}}
	obs.SetObserve(12)
	add(obs)
	seeds = append(seeds,
		[]byte{0x40, 0, 0, 1},                         // ping
		[]byte{0x60, 0, 0, 1},                         // empty ACK
		[]byte{0x40, 0x01, 0, 1, 0x91, 0},             // critical option 9
		[]byte{0x40, 0x08, 0, 1},                      // method 0.08
		[]byte{0x40, 0x01, 0, 1, 0xf0},                // reserved nibble
		[]byte{0x40, 0x01, 0, 1, 0xd1, 0xff, 0xff, 1}, // big delta
		[]byte{0x40, 0x01, 0, 1, 0xe1, 0xff, 0xff, 1}, // delta beyond 65535
	)
	return seeds
}

// FuzzUnmarshal checks that UnmarshalBinary never panics, that it accepts
// and decodes exactly what go-coap's decoder did (goCoapUnmarshal), that
// what it decodes encodes again, and that the encoding decodes to the same
// message and re-encodes to the same bytes as go-coap's encoder.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkSameAsGoCoap(t, in)
		var m Message
		if err := m.UnmarshalBinary(in); err != nil {
			return
		}
		out, err := m.AppendBinary(nil)
		if err != nil {
			t.Fatalf("decoded %v from % x, which does not encode: %v", &m, in, err)
		}
		var back Message
		if err := back.UnmarshalBinary(out); err != nil {
			t.Fatalf("encoding % x of %v does not decode: %v", out, &m, err)
		}
		if !equalMessages(&m, &back) {
			t.Fatalf("decoded %v, re-encoded decodes to %v", &m, &back)
		}
		again, _ := back.AppendBinary(nil)
		if string(again) != string(out) {
			t.Fatalf("encoding not stable: % x then % x", out, again)
		}
		if want := goCoapEncode(t, &m); string(out) != string(want) {
			t.Fatalf("%v encodes to % x, go-coap to % x", &m, out, want)
		}
		// The helpers never panic on what decodes.
		_ = m.String()
		m.Block1()
		m.Block2()
		m.Observe()
		m.ContentFormat()
		badCriticalOption(&m)
		requestKey(&m)
	})
}

// nullConn is a packetConn that reads nothing and counts what it writes.
type nullConn struct {
	mu     sync.Mutex
	writes [][]byte
	closed chan struct{}
}

func (c *nullConn) ReadFrom([]byte) (int, netip.AddrPort, error) {
	<-c.closed
	return 0, netip.AddrPort{}, net.ErrClosed
}

func (c *nullConn) WriteTo(b []byte, _ netip.AddrPort) error {
	c.mu.Lock()
	c.writes = append(c.writes, append([]byte(nil), b...))
	c.mu.Unlock()
	return nil
}

func (c *nullConn) LocalAddr() netip.AddrPort { return netip.MustParseAddrPort("127.0.0.1:5683") }
func (c *nullConn) Close() error              { close(c.closed); return nil }

// FuzzReceive feeds datagrams to an endpoint's receive path: it must never
// panic, whatever arrives, and everything it writes must be a well-formed
// CoAP message.
func FuzzReceive(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		cfg, _ := fast(HandlerFunc(func(_ context.Context, r *Request) *Message {
			return &Message{Code: model.Content, Payload: make([]byte, len(r.Msg.Payload)*3)}
		})).withDefaults()
		cfg.BlockSize = 32
		cfg.MaxBodySize = 256
		cfg.Notify = func(netip.AddrPort, *Message) bool { return len(a)%2 == 0 }
		nc := &nullConn{closed: make(chan struct{})}
		e := newEndpoint(nc, cfg)
		peer := netip.MustParseAddrPort("192.0.2.1:5683")
		for _, d := range [][]byte{a, b, a} {
			e.receive(peer, d)
		}
		e.Close()
		nc.mu.Lock()
		defer nc.mu.Unlock()
		for _, w := range nc.writes {
			var m Message
			if err := m.UnmarshalBinary(w); err != nil {
				t.Fatalf("endpoint wrote % x, which does not decode: %v", w, err)
			}
		}
	})
}
