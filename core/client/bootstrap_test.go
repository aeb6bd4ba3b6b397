package client_test

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/transport"
)

// bsPeer is a scripted bootstrap server: a CoAP endpoint that accepts
// Bootstrap-Request (POST /bs?ep=...) and reports who asked.
type bsPeer struct {
	ep   *transport.Endpoint
	asks chan bsAsk
}

type bsAsk struct {
	peer  netip.AddrPort
	query []string
}

func newBSPeer(t *testing.T) *bsPeer {
	t.Helper()
	p := &bsPeer{asks: make(chan bsAsk, 8)}
	cfg := fastTransport
	cfg.Handler = transport.HandlerFunc(func(ctx context.Context, r *transport.Request) *transport.Message {
		if r.Msg.Code != transport.POST || r.Msg.Path() != "/bs" {
			return &transport.Message{Code: model.NotFound}
		}
		select {
		case p.asks <- bsAsk{r.Peer, r.Msg.Queries()}:
		default:
		}
		return &transport.Message{Code: model.Changed}
	})
	ep, err := transport.Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	p.ep = ep
	return p
}

func (p *bsPeer) uri() string { return uriOf(p.ep.LocalAddr()) }

// ask waits for a Bootstrap-Request.
func (p *bsPeer) ask(t *testing.T) bsAsk {
	t.Helper()
	select {
	case a := <-p.asks:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no Bootstrap-Request")
	}
	return bsAsk{}
}

// do sends one bootstrap request to the client and checks its code.
func (p *bsPeer) do(t *testing.T, client netip.AddrPort, code model.Code, path string, payload []byte, cf codec.Format, accept codec.Format, want model.Code) *transport.Message {
	t.Helper()
	m := &transport.Message{Code: code, Payload: payload}
	m.SetPath(path)
	if cf != codec.None {
		m.SetContentFormat(uint16(cf))
	}
	if accept != codec.None {
		m.SetAccept(uint16(accept))
	}
	resp, err := p.ep.Do(ctxT(t, 5*time.Second), client, m)
	if err != nil {
		t.Fatalf("%v %s: %v", code, path, err)
	}
	if resp.Code != want {
		t.Fatalf("%v %s: got %v (%s), want %v", code, path, resp.Code, resp.Payload, want)
	}
	return resp
}

// provision runs the bootstrap script against the client at addr: it
// discovers, deletes everything, checks that Bootstrap-Finish refuses an
// empty configuration, writes a Security and a Server instance for a
// device management server at dm with short server id ssid, reads the
// Server object back and finishes.
func (p *bsPeer) provision(t *testing.T, addr netip.AddrPort, dm netip.AddrPort, ssid uint16) {
	t.Helper()
	resp := p.do(t, addr, transport.GET, "/", nil, codec.None, codec.LinkFormat, model.Content)
	entries, err := link.ParseDiscover(resp.Payload)
	if err != nil || len(entries) == 0 || entries[0].Path != model.RootPath() || entries[0].LWM2M != link.Set(model.V1_1) {
		t.Fatalf("bootstrap-discover: %s %v", resp.Payload, err)
	}
	if !strings.Contains(string(resp.Payload), "</0/0>;uri=\""+p.uri()+"\"") {
		t.Errorf("bootstrap-discover does not show the bootstrap account: %s", resp.Payload)
	}
	p.do(t, addr, transport.DELETE, "/", nil, codec.None, codec.None, model.Deleted)
	p.do(t, addr, transport.DELETE, "/3", nil, codec.None, codec.None, model.BadRequest)
	p.do(t, addr, transport.DELETE, "/0/0", nil, codec.None, codec.None, model.BadRequest)
	p.do(t, addr, transport.POST, "/bs", nil, codec.None, codec.None, model.NotAcceptable)

	sec := model.NewInstance(1,
		model.NewResource(0, model.String(uriOf(dm))),
		model.NewResource(1, model.Bool(false)),
		model.NewResource(2, model.Int(3)),
		model.NewResource(3, model.Opaque(nil)),
		model.NewResource(4, model.Opaque(nil)),
		model.NewResource(5, model.Opaque(nil)),
		model.NewResource(10, model.Int(int64(ssid))),
	)
	body, err := codec.Encode(nil, codec.TLV, model.InstancePath(0, 1), &sec)
	if err != nil {
		t.Fatal(err)
	}
	p.do(t, addr, transport.PUT, "/0/1", body, codec.TLV, codec.None, model.Changed)
	srv := model.NewInstance(1,
		model.NewResource(0, model.Int(int64(ssid))),
		model.NewResource(1, model.Int(300)),
		model.NewResource(6, model.Bool(false)),
		model.NewResource(7, model.String("U")),
	)
	body, err = codec.Encode(nil, codec.SenMLCBOR, model.InstancePath(1, 1), &srv)
	if err != nil {
		t.Fatal(err)
	}
	p.do(t, addr, transport.PUT, "/1/1", body, codec.SenMLCBOR, codec.None, model.Changed)
	resp = p.do(t, addr, transport.GET, "/1", nil, codec.None, codec.SenMLJSON, model.Content)
	if n, err := codec.Decode(codec.SenMLJSON, resp.Payload, model.ObjectPath(1), registry(t)); err != nil || n.Child(1) == nil || n.Child(1).Child(0).Value != model.Int(int64(ssid)) {
		t.Errorf("bootstrap-read of /1: %s: %v %v", resp.Payload, n, err)
	}
	p.do(t, addr, transport.GET, "/3", nil, codec.None, codec.None, model.BadRequest)
	p.do(t, addr, transport.POST, "/bs", nil, codec.None, codec.None, model.Changed)
}

// TestBootstrap bootstraps a client against a scripted bootstrap server
// (Core 1.1 section 6.1): client-initiated at start when the client has
// only a bootstrap account, after its registrations keep failing, and on
// the Bootstrap-Request Trigger (/1/x/9); each time it then registers
// with the server bootstrap gave it.
func TestBootstrap(t *testing.T) {
	checkLeaks(t)
	cases := []struct {
		name  string
		setup func(t *testing.T, bs *bsPeer, s *server.Server) *device
		start func(t *testing.T, s *server.Server, e *client.Engine)
	}{
		{
			name: "only a bootstrap account",
			setup: func(t *testing.T, bs *bsPeer, s *server.Server) *device {
				return newDevice(account{ssid: 0, uri: bs.uri()})
			},
		},
		{
			name: "registration keeps failing",
			setup: func(t *testing.T, bs *bsPeer, s *server.Server) *device {
				hole, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { hole.Close() })
				return newDevice(account{ssid: 0, uri: bs.uri()}, account{ssid: 3, uri: uriOf(hole.LocalAddr().(*net.UDPAddr).AddrPort()),
					srv: stdobj.ServerAccount{CommunicationRetryCount: 1, SequenceRetryCount: 1}})
			},
		},
		{
			name: "bootstrap-request trigger",
			setup: func(t *testing.T, bs *bsPeer, s *server.Server) *device {
				return newDevice(account{ssid: 0, uri: bs.uri()}, account{ssid: 3, uri: uriOf(s.Addr())})
			},
			start: func(t *testing.T, s *server.Server, e *client.Engine) {
				if err := e.WaitRegistered(ctxT(t, 5*time.Second)); err != nil {
					t.Fatal(err)
				}
				waitFor(t, 5*time.Second, "the first registration", func() bool {
					_, err := s.Registration(context.Background(), "dev-bs")
					return err == nil
				})
				if err := s.Execute(ctxT(t, 5*time.Second), "dev-bs", mustPath("/1/0/9"), ""); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, nil)
			bs := newBSPeer(t)
			d := tc.setup(t, bs, s)
			ev := newEvents()
			sub := s.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered, server.EventDeregistered}})
			defer sub.Close()
			cfg := clientConfig("dev-bs", d, ev)
			e := startClient(t, cfg)
			if tc.start != nil {
				tc.start(t, s, e)
				next(t, sub, server.EventRegistered, 5*time.Second)
				next(t, sub, server.EventDeregistered, 5*time.Second)
			}
			ask := bs.ask(t)
			if !slices.Contains(ask.query, "ep=dev-bs") {
				t.Errorf("bootstrap-request query %q", ask.query)
			}
			bs.provision(t, ask.peer, s.Addr(), 7)
			r := next(t, sub, server.EventRegistered, 10*time.Second).Registration
			if r.Endpoint != "dev-bs" || r.Lifetime != 300 {
				t.Errorf("registered %+v", r)
			}
			if err := e.WaitRegistered(ctxT(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			st := e.Status()
			if len(st) != 2 || st[0].SSID != 7 || st[0].State != client.StateRegistered || !st[1].Bootstrap {
				t.Errorf("status %s", statusString(st))
			}
			accounts := d.security.Accounts()
			if len(accounts) != 2 || !accounts[0].Bootstrap || accounts[1].SSID != 7 {
				t.Errorf("security accounts %+v", accounts)
			}
			if n := ev.count(client.EventBootstrapped, 0xffff); n != 1 {
				t.Errorf("%d bootstrapped events", n)
			}
			// The Device object survived Bootstrap-Delete of /.
			if v, ok := d.device.Get(mustPath("/3/0/0")); !ok || v != model.String("wasm2m") {
				t.Errorf("/3/0/0 = %v %v", v, ok)
			}
		})
	}
}
