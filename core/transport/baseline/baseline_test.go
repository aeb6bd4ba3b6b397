package baseline

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// register sends one CON POST /rd?ep=dev1 from a fresh socket and returns
// the response.
func register(t *testing.T, at netip.AddrPort) *transport.Message {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(at))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := &transport.Message{Type: transport.Confirmable, Code: transport.POST, MID: 0x1234, Token: []byte{1, 2, 3, 4}}
	req.SetPath("/rd")
	req.AddQuery("ep=dev1")
	req.Payload = []byte("</1/0>,</3/0>")
	b, err := req.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	for try := 0; try < 5; try++ {
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		if err != nil {
			continue
		}
		var resp transport.Message
		if err := resp.UnmarshalBinary(buf[:n]); err != nil {
			t.Fatalf("response does not decode: %v", err)
		}
		return &resp
	}
	t.Fatal("no response")
	return nil
}

func check(t *testing.T, resp *transport.Message) {
	t.Helper()
	if resp.Type != transport.Acknowledgement || resp.MID != 0x1234 || !bytes.Equal(resp.Token, []byte{1, 2, 3, 4}) {
		t.Errorf("got %v, want a piggybacked ACK with mid=4660 token=01020304", resp)
	}
	if resp.Code != model.Created {
		t.Errorf("code %v, want 2.01", resp.Code)
	}
	if got := resp.LocationPath(); len(got) != 2 || got[0] != "rd" || got[1] != "x" {
		t.Errorf("Location-Path %q, want rd/x", got)
	}
}

func TestGoCoAP(t *testing.T) {
	stop, at, err := GoCoAP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	check(t, register(t, at))
}

func TestStateless(t *testing.T) {
	stop, at, err := Stateless("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	check(t, register(t, at))
	stop()
	stop() // twice is fine
}

// TestStatelessThroughEndpoint checks the responder against wasm2m's own
// transport as the client.
func TestStatelessThroughEndpoint(t *testing.T) {
	stop, at, err := Stateless("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ep, err := transport.Listen("127.0.0.1:0", transport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := &transport.Message{Code: transport.POST}
	req.SetPath("/rd")
	resp, err := ep.Do(ctx, at, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code != model.Created {
		t.Errorf("code %v, want 2.01", resp.Code)
	}
}

func TestAppendCreatedRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"short", []byte{0x40, 0x02}},
		{"version 2", []byte{0x80, 0x02, 0, 1}},
		{"non", []byte{0x50, 0x02, 0, 1}},
		{"ack", []byte{0x60, 0x44, 0, 1}},
		{"empty con", []byte{0x40, 0x00, 0, 1}},
		{"response", []byte{0x40, 0x45, 0, 1}},
		{"token past the end", []byte{0x44, 0x02, 0, 1, 9}},
		{"token length 9", []byte{0x49, 0x02, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if b, ok := AppendCreated(nil, tc.in); ok {
				t.Errorf("answered % x", b)
			}
		})
	}
}
