package client_test

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// localSecurity wraps the Security object so that whatever a fuzzed
// Bootstrap-Write puts there, the client only ever talks to loopback and
// holds a few accounts: a fuzzer must not make the test reach the network.
type localSecurity struct{ client.Object }

func (s localSecurity) check(ctx context.Context, n model.Node) error {
	var bad bool
	var walk func(n *model.Node)
	walk = func(n *model.Node) {
		if n.Kind == model.KindResource && n.ID == 0 && !loopbackURI(n.Value.Str()) {
			bad = true
		}
		for i := range n.Children {
			walk(&n.Children[i])
		}
	}
	walk(&n)
	if bad {
		return model.Errorf(model.BadRequest, "fuzz: server uris stay on loopback")
	}
	return nil
}

func (s localSecurity) Write(ctx context.Context, p model.Path, n model.Node, replace bool) error {
	if err := s.check(ctx, n); err != nil {
		return err
	}
	return s.Object.Write(ctx, p, n, replace)
}

func (s localSecurity) Create(ctx context.Context, n model.Node) (uint16, error) {
	if ids, _ := s.Object.Instances(ctx); len(ids) >= 4 {
		return 0, model.Errorf(model.BadRequest, "fuzz: four accounts at most")
	}
	if err := s.check(ctx, n); err != nil {
		return 0, err
	}
	return s.Object.Create(ctx, n)
}

// loopbackURI reports whether uri is coap://127.0.0.1:port and nothing
// else (no user info, no other host).
func loopbackURI(uri string) bool {
	u, err := url.Parse(uri)
	return err == nil && u.Scheme == "coap" && u.User == nil && u.Host == u.Hostname()+":"+u.Port() &&
		u.Hostname() == "127.0.0.1" && u.Port() != "" && strings.HasPrefix(uri, "coap://127.0.0.1:")
}

// FuzzServe feeds the client's request handling arbitrary CoAP messages
// from the address of its device management server (peer 0), of its
// bootstrap server (peer 1) or of a stranger (peer 2), after the
// transport's decoding. Nothing may panic, and every request gets a
// response with a 2.xx, 4.xx or 5.xx code.
func FuzzServe(f *testing.F) {
	seed := func(peer byte, code model.Code, path string, query []string, cf, accept codec.Format, obs int, payload []byte) {
		m := req(code, path, query, cf, accept, payload)
		m.MID, m.Token = 1, []byte{7, 7}
		if obs >= 0 {
			m.SetObserve(uint32(obs))
		}
		b, err := m.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(peer, b)
	}
	N := codec.None
	tlv := func(n model.Node, p string) []byte {
		b, err := codec.Encode(nil, codec.TLV, mustPath(p), &n)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	seed(0, transport.GET, "/3/0", nil, N, N, -1, nil)
	seed(0, transport.GET, "/33001/0", nil, N, codec.SenMLCBOR, -1, nil)
	seed(0, transport.GET, "/33001/0/1", nil, N, codec.Text, 0, nil)
	seed(0, transport.GET, "/33001/0/1", nil, N, codec.Text, 1, nil)
	seed(0, transport.GET, "/33001", nil, N, codec.LinkFormat, -1, nil)
	seed(0, transport.PUT, "/33001/0/1", nil, codec.Text, N, -1, []byte("12"))
	seed(0, transport.PUT, "/33001/0/1", []string{"pmin=1", "pmax=5", "gt=3"}, N, N, -1, nil)
	seed(0, transport.POST, "/33001/0", nil, codec.SenMLJSON, N, -1, []byte(`[{"bn":"/33001/0/","n":"0","vs":"x"}]`))
	seed(0, transport.POST, "/33001", nil, codec.TLV, N, -1, tlv(testInstance(4), "/33001/4"))
	seed(0, transport.POST, "/33001/0/10", nil, codec.Text, N, -1, []byte("0='a',1"))
	seed(0, transport.POST, "/1/0/8", nil, N, N, -1, nil)
	seed(0, transport.DELETE, "/33001/4", nil, N, N, -1, nil)
	seed(0, transport.DELETE, "/33001/0/9/1", nil, N, N, -1, nil)
	seed(0, transport.FETCH, "/", nil, codec.SenMLCBOR, codec.LwM2MCBOR, -1, []byte{0x81, 0xa1, 0x00, 0x66, '/', '3', '/', '0', '/', '0'})
	seed(0, transport.FETCH, "/", nil, codec.SenMLJSON, N, 0, []byte(`[{"n":"/3/0/0"},{"n":"/33001/0"}]`))
	seed(0, transport.IPATCH, "/", nil, codec.SenMLJSON, N, -1, []byte(`[{"n":"/33001/0/1","v":3}]`))
	seed(1, transport.GET, "/", nil, N, codec.LinkFormat, -1, nil)
	seed(1, transport.GET, "/1", nil, N, codec.TLV, -1, nil)
	seed(1, transport.PUT, "/1/3", nil, codec.SenMLJSON, N, -1, []byte(`[{"bn":"/1/3/","n":"0","v":9},{"n":"1","v":60},{"n":"6","vb":false},{"n":"7","vs":"U"}]`))
	seed(1, transport.DELETE, "/33001", nil, N, N, -1, nil)
	seed(1, transport.POST, "/bs", nil, N, N, -1, nil)
	seed(2, transport.GET, "/3/0/0", nil, N, N, -1, nil)

	dm := fuzzHole(f)
	bs := fuzzHole(f)
	stranger := netip.MustParseAddrPort("127.0.0.1:9")
	d := newDevice(account{ssid: 1, uri: uriOf(dm)}, account{ssid: 0, uri: uriOf(bs)})
	d.test.OnExecute(10, func(ctx context.Context, inst uint16, args []byte) error { return nil })
	cfg := clientConfig("dev-fuzz", d, nil)
	cfg.Version = model.V1_2
	for i, o := range cfg.Objects {
		if o == client.Object(d.security) {
			cfg.Objects[i] = localSecurity{d.security}
		}
	}
	e, err := client.New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	if err := e.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	peers := []netip.AddrPort{dm, bs, stranger}
	f.Fuzz(func(t *testing.T, peer byte, data []byte) {
		var m transport.Message
		if m.UnmarshalBinary(data) != nil || !m.IsRequest() {
			return
		}
		resp := e.Serve(context.Background(), peers[int(peer)%len(peers)], &m)
		if resp == nil {
			t.Fatalf("no answer to %v", &m)
		}
		if c := resp.Code.Class(); c != 2 && c != 4 && c != 5 {
			t.Fatalf("answer %v to %v", resp.Code, &m)
		}
	})
}

// fuzzHole is a loopback address that never answers.
func fuzzHole(f *testing.F) netip.AddrPort {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { c.Close() })
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}
