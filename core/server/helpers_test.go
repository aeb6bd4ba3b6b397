package server

import (
	"context"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server/servertest"
	"github.com/wasm2m/wasm2m/core/transport"
)

// fastTransport keeps retransmission short so that tests of silence end
// quickly; loopback never loses datagrams on its own.
var fastTransport = transport.Config{ACKTimeout: 100 * time.Millisecond, MaxRetransmit: 2, PeerRate: -1}

func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Transport.ACKTimeout == 0 {
		cfg.Transport = fastTransport
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// deviceObjects is the tree of the test devices: Server, Device and two
// Temperature instances.
func deviceObjects() []model.Node {
	return []model.Node{
		model.NewObject(1, model.NewInstance(0,
			model.NewResource(0, model.Int(101)), model.NewResource(1, model.Int(300)),
			model.NewResource(6, model.Bool(false)), model.NewResource(7, model.String("U")))),
		model.NewObject(3, model.NewInstance(0,
			model.NewResource(0, model.String("Open Mobile Alliance")),
			model.NewResource(1, model.String("Lightweight M2M Client")),
			model.NewResource(2, model.String("345000123")),
			model.NewMultipleResourceOf(7, model.Int(3800), model.Int(5000)),
			model.NewResource(9, model.Int(100)),
			model.NewResource(13, model.UnixTime(1367491215)),
			model.NewResource(16, model.String("U")))),
		model.NewObject(3303,
			model.NewInstance(0, model.NewResource(5700, model.Float(21.5)), model.NewResource(5701, model.String("Cel"))),
			model.NewInstance(1, model.NewResource(5700, model.Float(-4)), model.NewResource(5701, model.String("Cel")))),
	}
}

func newDevice(t *testing.T, s *Server, ep string, mod func(*servertest.Config)) *servertest.Device {
	t.Helper()
	cfg := servertest.Config{Endpoint: ep, Server: s.Addr(), Lifetime: 300, Objects: deviceObjects(), Transport: fastTransport}
	if mod != nil {
		mod(&cfg)
	}
	d, err := servertest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func register(t *testing.T, s *Server, ep string, mod func(*servertest.Config)) *servertest.Device {
	t.Helper()
	d := newDevice(t, s, ep, mod)
	if err := d.Register(ctxT(t)); err != nil {
		t.Fatalf("register %s: %v", ep, err)
	}
	return d
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// next waits for the next event of type typ on sub.
func next(t *testing.T, sub *Subscription, typ EventType) Event {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e, ok := <-sub.C:
			if !ok {
				t.Fatalf("subscription closed waiting for %v", typ)
			}
			if e.Type == typ {
				return e
			}
		case <-timeout:
			t.Fatalf("no %v event", typ)
		}
	}
}

func mustPath(s string) model.Path { return model.MustPath(s) }

var allFormats = []codec.Format{codec.SenMLCBOR, codec.SenMLJSON, codec.TLV, codec.JSON, codec.LwM2MCBOR}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
