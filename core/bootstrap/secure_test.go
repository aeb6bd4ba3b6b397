package bootstrap_test

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/bootstrap"
	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// TestBootstrapOverDTLS serves Bootstrap-Request on a DTLS (PSK)
// endpoint beside the plain one, through Config.SecureAddr and
// ListenSecure, with an Authorize that binds the PSK identity to the
// endpoint name: the device that proves it is dev-s is provisioned over
// its DTLS session; the same request over plain CoAP, or from another
// identity, is refused with 4.03.
func TestBootstrapOverDTLS(t *testing.T) {
	checkLeaks(t)
	keys := map[string][]byte{"dev-s": []byte("secret-of-dev-s!"), "intruder": []byte("secret-of-intrdr")}
	dm := &store.BootstrapConfig{Endpoint: "dev-s", Servers: []store.ServerAccount{{ShortID: 2, URI: "coaps://dm.example:5684",
		Mode: store.ModePSK, PSKIdentity: "dev-s-dm", PSK: []byte{9, 9, 9}}}}
	bs := startBootstrap(t, newConfigs(dm), func(c *bootstrap.Config) {
		c.SecureAddr = "127.0.0.1:0"
		c.ListenSecure = func(addr string, tc transport.Config) (*transport.Endpoint, error) {
			return transport.ListenDTLS(addr, tc, transport.DTLSConfig{PSK: func(id string) ([]byte, error) {
				if k, ok := keys[id]; ok {
					return k, nil
				}
				return nil, errors.New("unknown identity")
			}})
		}
		c.Authorize = func(ctx context.Context, req *transport.Request, ep string) error {
			if req.Identity == nil || req.Identity.PSKIdentity != ep {
				return errors.New("the DTLS identity is not the endpoint's")
			}
			return nil
		}
	})
	if !bs.SecureAddr().IsValid() || !bs.Addr().IsValid() || bs.SecureAddr() == bs.Addr() {
		t.Fatalf("addresses %v %v", bs.Addr(), bs.SecureAddr())
	}
	sub := bs.Subscribe(16)
	defer sub.Close()

	method := map[model.Code]string{transport.GET: "GET", transport.POST: "POST", transport.PUT: "PUT", transport.DELETE: "DELETE"}
	var mu sync.Mutex
	var served []string
	device := func(identity string) *transport.Endpoint {
		cfg := fastTransport
		cfg.Handler = transport.HandlerFunc(func(ctx context.Context, r *transport.Request) *transport.Message {
			mu.Lock()
			served = append(served, method[r.Msg.Code]+" "+r.Msg.Path())
			mu.Unlock()
			switch r.Msg.Code {
			case transport.GET:
				m := &transport.Message{Code: model.Content, Payload: []byte(`</>;lwm2m=1.1,</0/0>;uri="coaps://bs",</3/0>`)}
				m.SetContentFormat(uint16(codec.LinkFormat))
				return m
			case transport.DELETE:
				return &transport.Message{Code: model.Deleted}
			}
			return &transport.Message{Code: model.Changed}
		})
		ep, err := transport.ListenSecure("127.0.0.1:0", cfg, func(peer netip.AddrPort) *transport.DTLSClientConfig {
			if peer != bs.SecureAddr() {
				return nil
			}
			return &transport.DTLSClientConfig{PSKIdentity: identity, PSK: keys[identity]}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ep.Close() })
		return ep
	}
	pct := "pct=" + strconv.Itoa(int(codec.SenMLCBOR))

	good := device("dev-s")
	if resp := ask(t, good, bs.Addr(), transport.POST, "/bs", codec.None, "ep=dev-s", pct); resp.Code != model.Forbidden {
		t.Errorf("over plain CoAP: %v", resp.Code)
	}
	if resp := ask(t, device("intruder"), bs.SecureAddr(), transport.POST, "/bs", codec.None, "ep=dev-s", pct); resp.Code != model.Forbidden {
		t.Errorf("another identity: %v", resp.Code)
	}
	if resp := ask(t, good, bs.SecureAddr(), transport.POST, "/bs", codec.None, "ep=dev-s", pct); resp.Code != model.Changed {
		t.Fatalf("over DTLS: %v %s", resp.Code, resp.Payload)
	}
	nextEvent(t, sub, 5*time.Second, bootstrap.EventStarted)
	done := nextEvent(t, sub, 10*time.Second, bootstrap.EventSucceeded, bootstrap.EventFailed)
	if done.Type != bootstrap.EventSucceeded || !done.Result.Secure || !done.Result.Discovered {
		t.Fatalf("ended %v: %+v", done.Type, done.Result)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"GET /", "DELETE /", "PUT /0/1", "PUT /1/0", "POST /bs"}
	if len(served) != len(want) {
		t.Fatalf("device served %q, want %q", served, want)
	}
	for i := range want {
		if served[i] != want[i] {
			t.Errorf("device served %q, want %q", served, want)
			break
		}
	}
}
