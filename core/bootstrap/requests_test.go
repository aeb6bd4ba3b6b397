package bootstrap_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/bootstrap"
	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// peer is a raw CoAP endpoint that plays a device.
func peer(t *testing.T, h transport.HandlerFunc) *transport.Endpoint {
	t.Helper()
	cfg := fastTransport
	if h != nil {
		cfg.Handler = h
	}
	ep, err := transport.Listen("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

func ask(t *testing.T, ep *transport.Endpoint, to netip.AddrPort, code model.Code, path string, accept codec.Format, query ...string) *transport.Message {
	t.Helper()
	m := &transport.Message{Code: code}
	m.SetPath(path)
	m.SetQueries(query)
	if accept != codec.None {
		m.SetAccept(uint16(accept))
	}
	resp, err := ep.Do(ctxT(t, 5*time.Second), to, m)
	if err != nil {
		t.Fatalf("%v %s %v: %v", code, path, query, err)
	}
	return resp
}

// TestBootstrapBadRequests checks the answers to requests the server
// refuses (Transport 1.1 section 6.1), and that a refused request starts
// no sequence.
func TestBootstrapBadRequests(t *testing.T) {
	checkLeaks(t)
	cs := newConfigs(dmConfig("dev", netip.MustParseAddrPort("127.0.0.1:5683"), 1), dmConfig("locked", netip.MustParseAddrPort("127.0.0.1:5683"), 1))
	bs := startBootstrap(t, cs, func(c *bootstrap.Config) {
		c.Authorize = func(ctx context.Context, req *transport.Request, ep string) error {
			if ep == "locked" {
				return errors.New("identity does not match")
			}
			return nil
		}
	})
	sub := bs.Subscribe(16)
	defer sub.Close()
	dev := peer(t, nil)
	cases := []struct {
		name   string
		code   model.Code
		path   string
		accept codec.Format
		query  []string
		want   model.Code
	}{
		{"no ep", transport.POST, "/bs", codec.None, nil, model.BadRequest},
		{"empty ep", transport.POST, "/bs", codec.None, []string{"ep="}, model.BadRequest},
		{"ep twice", transport.POST, "/bs", codec.None, []string{"ep=dev", "ep=dev"}, model.BadRequest},
		{"unknown ep", transport.POST, "/bs", codec.None, []string{"ep=nobody"}, model.BadRequest},
		{"pct not a number", transport.POST, "/bs", codec.None, []string{"ep=dev", "pct=cbor"}, model.BadRequest},
		{"pct text", transport.POST, "/bs", codec.None, []string{"ep=dev", "pct=0"}, model.UnsupportedContentFormat},
		{"pct unknown", transport.POST, "/bs", codec.None, []string{"ep=dev", "pct=9999"}, model.UnsupportedContentFormat},
		{"not authorized", transport.POST, "/bs", codec.None, []string{"ep=locked"}, model.Forbidden},
		{"GET /bs", transport.GET, "/bs", codec.None, []string{"ep=dev"}, model.MethodNotAllowed},
		{"other path", transport.POST, "/rd", codec.None, []string{"ep=dev"}, model.NotFound},
		{"pack without ep", transport.GET, "/bspack", codec.None, nil, model.BadRequest},
		{"pack unknown ep", transport.GET, "/bspack", codec.None, []string{"ep=nobody"}, model.NotFound},
		{"pack not authorized", transport.GET, "/bspack", codec.None, []string{"ep=locked"}, model.Forbidden},
		{"pack in TLV", transport.GET, "/bspack", codec.TLV, []string{"ep=dev"}, model.NotAcceptable},
		{"POST /bspack", transport.POST, "/bspack", codec.None, []string{"ep=dev"}, model.MethodNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := ask(t, dev, bs.Addr(), tc.code, tc.path, tc.accept, tc.query...)
			if resp.Code != tc.want {
				t.Errorf("got %v (%s), want %v", resp.Code, resp.Payload, tc.want)
			}
		})
	}
	select {
	case e := <-sub.C:
		t.Errorf("a refused request gave event %v %+v", e.Type, e.Result)
	default:
	}
	if rs := bs.Results(); len(rs) != 0 {
		t.Errorf("results %+v", rs)
	}
}

// TestBootstrapPack answers Bootstrap-Pack-Request (Core 1.2 section
// 6.1.3.1) in each format a pack may take: the Security, Server and Access
// Control instances of the configuration, around the bootstrap account in
// /0/0.
func TestBootstrapPack(t *testing.T) {
	checkLeaks(t)
	cfg := &store.BootstrapConfig{
		Endpoint: "dev-pack",
		Servers: []store.ServerAccount{{ShortID: 12, URI: "coaps://dm.example:5684", Mode: store.ModePSK,
			PSKIdentity: "dev-pack", PSK: []byte{1, 2, 3, 4}, Lifetime: 600, Binding: "UQ"}},
		ACLs: []store.ACL{{ObjectID: 3, Rights: map[uint16]uint16{12: 1}, Owner: 12}},
	}
	bs := startBootstrap(t, newConfigs(cfg), nil)
	sub := bs.Subscribe(16)
	defer sub.Close()
	dev := peer(t, nil)
	for _, f := range []codec.Format{codec.None, codec.SenMLCBOR, codec.SenMLJSON, codec.LwM2MCBOR} {
		t.Run(f.Name(), func(t *testing.T) {
			resp := ask(t, dev, bs.Addr(), transport.GET, "/bspack", f, "ep=dev-pack")
			want := f
			if f == codec.None {
				want = codec.SenMLCBOR
			}
			if cf, _ := resp.ContentFormat(); resp.Code != model.Content || codec.Format(cf) != want {
				t.Fatalf("got %v cf %d: %s", resp.Code, cf, resp.Payload)
			}
			recs, err := codec.DecodeRecords(want, resp.Payload)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]model.Value{}
			for _, r := range recs {
				got[r.Path.String()] = r.Value
			}
			checks := map[string]model.Value{
				"/0/1/0":    model.String("coaps://dm.example:5684"),
				"/0/1/1":    model.Bool(false),
				"/0/1/2":    model.Int(0),
				"/0/1/3":    model.Opaque([]byte("dev-pack")),
				"/0/1/5":    model.Opaque([]byte{1, 2, 3, 4}),
				"/0/1/10":   model.Int(12),
				"/1/0/0":    model.Int(12),
				"/1/0/1":    model.Int(600),
				"/1/0/7":    model.String("UQ"),
				"/2/0/0":    model.Int(3),
				"/2/0/2/12": model.Int(1),
				"/2/0/3":    model.Int(12),
			}
			for p, v := range checks {
				g, ok := got[p]
				if !ok {
					t.Errorf("%s missing from the pack", p)
					continue
				}
				// Formats without types decode numbers as floats and
				// opaque values as strings: compare the text.
				if model.FormatText(g) != model.FormatText(v) && !(v.Type() == model.TypeOpaque && string(g.Bytes()) == string(v.Bytes())) {
					t.Errorf("%s = %v, want %v", p, g, v)
				}
			}
			e := nextEvent(t, sub, 5*time.Second, bootstrap.EventPackSent)
			if e.Result.Endpoint != "dev-pack" || e.Result.State != bootstrap.StatePackSent || e.Result.Format != want {
				t.Errorf("event %+v", e.Result)
			}
		})
	}
}

// TestBootstrapSuperseded: a second Bootstrap-Request from the same
// endpoint ends the sequence under way (failed, ErrSuperseded) and starts
// a new one, which alone reaches the device afterwards.
func TestBootstrapSuperseded(t *testing.T) {
	checkLeaks(t)
	bs := startBootstrap(t, newConfigs(dmConfig("dev-twice", netip.MustParseAddrPort("127.0.0.1:5683"), 1)), nil)
	sub := bs.Subscribe(16)
	defer sub.Close()
	hold := make(chan struct{})
	dev := peer(t, func(ctx context.Context, r *transport.Request) *transport.Message {
		if r.Msg.Code == transport.GET {
			select { // the first Bootstrap-Discover hangs until released
			case <-hold:
			case <-ctx.Done():
			}
			return &transport.Message{Code: model.NotFound}
		}
		if r.Msg.Code == transport.DELETE {
			return &transport.Message{Code: model.Deleted}
		}
		return &transport.Message{Code: model.Changed}
	})
	pct := "pct=" + strconv.Itoa(int(codec.SenMLCBOR))
	if resp := ask(t, dev, bs.Addr(), transport.POST, "/bs", codec.None, "ep=dev-twice", pct); resp.Code != model.Changed {
		t.Fatal(resp)
	}
	nextEvent(t, sub, 5*time.Second, bootstrap.EventStarted)
	if resp := ask(t, dev, bs.Addr(), transport.POST, "/bs", codec.None, "ep=dev-twice"); resp.Code != model.Changed {
		t.Fatal(resp)
	}
	first := nextEvent(t, sub, 5*time.Second, bootstrap.EventFailed, bootstrap.EventSucceeded)
	if first.Type != bootstrap.EventFailed || !errors.Is(first.Result.Err, bootstrap.ErrSuperseded) {
		t.Fatalf("first sequence ended %v: %+v", first.Type, first.Result)
	}
	close(hold)
	nextEvent(t, sub, 5*time.Second, bootstrap.EventStarted)
	second := nextEvent(t, sub, 5*time.Second, bootstrap.EventFailed, bootstrap.EventSucceeded)
	if second.Type != bootstrap.EventSucceeded || second.Result.Format != codec.TLV {
		t.Fatalf("second sequence ended %v: %+v", second.Type, second.Result)
	}
}

// TestBootstrapCloseEndsSequences: Close fails the sequences under way
// with ErrClosed and closes the subscriptions.
func TestBootstrapCloseEndsSequences(t *testing.T) {
	checkLeaks(t)
	bs := startBootstrap(t, newConfigs(dmConfig("dev-c", netip.MustParseAddrPort("127.0.0.1:5683"), 1)), nil)
	sub := bs.Subscribe(16)
	dev := peer(t, func(ctx context.Context, r *transport.Request) *transport.Message {
		<-ctx.Done()
		return nil
	})
	if resp := ask(t, dev, bs.Addr(), transport.POST, "/bs", codec.None, "ep=dev-c"); resp.Code != model.Changed {
		t.Fatal(resp)
	}
	nextEvent(t, sub, 5*time.Second, bootstrap.EventStarted)
	if err := bs.Close(); err != nil {
		t.Fatal(err)
	}
	e := nextEvent(t, sub, 5*time.Second, bootstrap.EventFailed)
	if !errors.Is(e.Result.Err, bootstrap.ErrClosed) {
		t.Errorf("closed sequence: %+v", e.Result)
	}
	if _, ok := <-sub.C; ok {
		t.Error("subscription still open after Close")
	}
}

// scripted is a device that answers every bootstrap request with
// success (a Bootstrap-Discover with the bootstrap account in /0/0) and
// records them as "METHOD /path".
func scripted(t *testing.T) (*transport.Endpoint, func() []string) {
	t.Helper()
	method := map[model.Code]string{transport.GET: "GET", transport.POST: "POST", transport.PUT: "PUT", transport.DELETE: "DELETE"}
	var mu sync.Mutex
	var served []string
	ep := peer(t, func(ctx context.Context, r *transport.Request) *transport.Message {
		mu.Lock()
		served = append(served, method[r.Msg.Code]+" "+r.Msg.Path())
		mu.Unlock()
		switch r.Msg.Code {
		case transport.GET:
			m := &transport.Message{Code: model.Content, Payload: []byte(`</>;lwm2m=1.1,</0/0>;uri="coap://bs",</3/0>`)}
			m.SetContentFormat(uint16(codec.LinkFormat))
			return m
		case transport.DELETE:
			return &transport.Message{Code: model.Deleted}
		}
		return &transport.Message{Code: model.Changed}
	})
	return ep, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(served)
	}
}

// TestBootstrapVersionQuery: a device that sends lwm2m=1.1 without pct=
// is discovered and written in TLV; with lwm2m=1.0 (or neither) it is not
// discovered.
func TestBootstrapVersionQuery(t *testing.T) {
	checkLeaks(t)
	cases := []struct {
		query    []string
		discover bool
		format   codec.Format
	}{
		{[]string{"lwm2m=1.1"}, true, codec.TLV},
		{[]string{"lwm2m=1.0"}, false, codec.TLV},
		{nil, false, codec.TLV},
		{[]string{"pct=" + strconv.Itoa(int(codec.SenMLJSON))}, true, codec.SenMLJSON},
	}
	for i, tc := range cases {
		t.Run(strings.Join(tc.query, "&"), func(t *testing.T) {
			ep := "dev-v" + strconv.Itoa(i)
			bs := startBootstrap(t, newConfigs(dmConfig(ep, netip.MustParseAddrPort("127.0.0.1:5683"), 1)), nil)
			sub := bs.Subscribe(16)
			defer sub.Close()
			dev, served := scripted(t)
			if resp := ask(t, dev, bs.Addr(), transport.POST, "/bs", codec.None, append([]string{"ep=" + ep}, tc.query...)...); resp.Code != model.Changed {
				t.Fatal(resp)
			}
			done := nextEvent(t, sub, 5*time.Second, bootstrap.EventSucceeded, bootstrap.EventFailed)
			r := done.Result
			if done.Type != bootstrap.EventSucceeded || r.Discovered != tc.discover || r.Format != tc.format {
				t.Fatalf("ended %v: %+v", done.Type, r)
			}
			if got := served(); len(got) == 0 || (got[0] == "GET /") != tc.discover {
				t.Errorf("device served %q", got)
			}
		})
	}
}
