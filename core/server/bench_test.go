package server

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// registerRequest is the Register of the load generator (BENCHMARKS.md)
// for endpoint ep from peer.
func registerRequest(ep string, peer netip.AddrPort) *transport.Request {
	m := &transport.Message{Type: transport.Confirmable, Code: transport.POST}
	m.SetPath("/rd")
	m.SetContentFormat(40)
	m.AddQuery("ep=" + ep)
	m.AddQuery("lt=86400")
	m.AddQuery("lwm2m=1.1")
	m.AddQuery("b=U")
	m.Payload = []byte(`</>;ct="60 110 112 11542",</1/0>,</3/0>,</4/0>,</5/0>,</6/0>,</7/0>,</3303/0>,</3303/1>`)
	// As the transport hands it over: decoded from the wire.
	b, err := m.MarshalBinary()
	if err != nil {
		panic(err)
	}
	var d transport.Message
	if err := d.UnmarshalBinary(b); err != nil {
		panic(err)
	}
	return &transport.Request{Peer: peer, Msg: &d}
}

// BenchmarkRegister measures the server's handling of a Register of a new
// endpoint from a new address (no socket, the memory store), with logging
// at warn as `wasm2m load -compare` runs the server.
func BenchmarkRegister(b *testing.B) {
	b.Run("store", func(b *testing.B) { benchmarkRegister(b, nil) })
	// As wasm2m server runs: with a security store, which every plain
	// Register asks whether its endpoint has credentials.
	b.Run("store+security", func(b *testing.B) { benchmarkRegister(b, store.NewSecurity(store.NewMemory())) })
}

func benchmarkRegister(b *testing.B, sec store.Security) {
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := New(Config{Logger: log, Security: sec})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	reqs := make([]*transport.Request, b.N)
	for i := range reqs {
		peer := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, byte(i >> 16), byte(i >> 8)}), uint16(i))
		reqs[i] = registerRequest("bench-"+strconv.Itoa(i), peer)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if resp := s.serveCoAP(ctx, reqs[i]); resp.Code != model.Created {
			b.Fatalf("%s", resp.Code)
		}
	}
}
