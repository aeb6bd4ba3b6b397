package server

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// FuzzRegistrationRequest feeds arbitrary query strings and payloads to
// the Register parser (query parameters and link format). It must never
// panic, must fail with a CoAP code, and what it accepts must survive a
// round trip through the link-format writer.
func FuzzRegistrationRequest(f *testing.F) {
	f.Add("ep=dev&lt=60&lwm2m=1.1&b=U&Q", []byte(`</>;ct="60 110",</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>`))
	f.Add("ep=x", []byte(`</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>`))
	f.Add("ep=x&lt=-1", []byte(`</1/0>`))
	f.Add("lwm2m=1.0&b=UQ&sms=123", []byte(``))
	f.Add("ep=&Q=1", []byte(`<`))
	f.Fuzz(func(t *testing.T, query string, payload []byte) {
		s, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		p, err := parseRegQuery(strings.Split(query, "&"), 1)
		if err != nil {
			if model.CodeOf(err) != model.BadRequest {
				t.Fatalf("query error without 4.00: %v", err)
			}
		} else if p.hasBinding {
			if err := checkBinding(p.binding); err != nil {
				t.Fatalf("accepted binding %q fails its own check", p.binding)
			}
		}
		m := &transport.Message{Code: transport.POST, Payload: payload}
		m.SetContentFormat(40)
		lr, err := s.parseObjects(m)
		if err != nil {
			if c := model.CodeOf(err); c != model.BadRequest && c != model.RequestEntityTooLarge {
				t.Fatalf("payload error %v with code %v", err, c)
			}
			return
		}
		back, err := link.ParseRegistration(link.AppendRegistration(nil, lr))
		if err != nil || len(back.Objects) != len(lr.Objects) {
			t.Fatalf("accepted %q, its rewrite %v does not read back: %v", payload, lr, err)
		}
	})
}

// FuzzServeDatagram feeds arbitrary datagrams through the server's request
// handling (after the transport's decoding), as a device on the network
// could send them. Nothing may panic and every request gets an answer.
func FuzzServeDatagram(f *testing.F) {
	seed := func(code model.Code, path string, query []string, payload string) {
		m := &transport.Message{Type: transport.Confirmable, Code: code, MID: 1, Token: []byte{1, 2}}
		m.SetPath(path)
		m.SetQueries(query)
		m.SetContentFormat(40)
		m.Payload = []byte(payload)
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(transport.POST, "/rd", []string{"ep=dev", "lt=60", "lwm2m=1.1"}, "</1/0>,</3/0>")
	seed(transport.POST, "/rd/abc", []string{"lt=60"}, "")
	seed(transport.DELETE, "/rd/abc", nil, "")
	seed(transport.POST, "/dp", nil, `[{"n":"/3/0/0","vs":"x"}]`)
	seed(transport.GET, "/rd", nil, "")
	s, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	peer := netip.MustParseAddrPort("127.0.0.1:5683")
	f.Fuzz(func(t *testing.T, b []byte) {
		var m transport.Message
		if err := m.UnmarshalBinary(b); err != nil || !m.IsRequest() {
			return
		}
		resp := s.serveCoAP(context.Background(), &transport.Request{Peer: peer, Msg: &m})
		if resp == nil || resp.Code == 0 {
			t.Fatalf("no answer to %v", m.String())
		}
	})
}
