package bootstrap_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/bootstrap"
	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/internal/leaktest"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// fastTransport keeps retransmissions short: loopback loses nothing, and
// tests of silence end quickly.
var fastTransport = transport.Config{ACKTimeout: 100 * time.Millisecond, MaxRetransmit: 2, PeerRate: -1, SeparateResponseAfter: 500 * time.Millisecond}

// checkLeaks fails the test if goroutines started during it outlive it.
// Call it first, so that its cleanup runs after every Close.
func checkLeaks(t *testing.T) {
	t.Helper()
	leaktest.Check(t)
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// newConfigs returns the store of configurations of the tests, the real
// one over a memory store, holding cs.
func newConfigs(cs ...*store.BootstrapConfig) store.Bootstraps {
	b := store.NewBootstraps(store.NewMemory())
	for _, x := range cs {
		if err := b.PutBootstrapConfig(context.Background(), x); err != nil {
			panic(fmt.Sprintf("configuration of %s: %v", x.Endpoint, err))
		}
	}
	return b
}

// startBootstrap starts a bootstrap server on loopback.
func startBootstrap(t *testing.T, cs store.Bootstraps, mod func(*bootstrap.Config)) *bootstrap.Server {
	t.Helper()
	cfg := bootstrap.Config{Addr: "127.0.0.1:0", Configs: cs, Transport: fastTransport}
	if mod != nil {
		mod(&cfg)
	}
	s, err := bootstrap.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Start(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	return s
}

// startServer starts an in-process LwM2M server on loopback.
func startServer(t *testing.T) *server.Server {
	t.Helper()
	reg, err := objects.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(server.Config{Addr: "127.0.0.1:0", Transport: fastTransport, Definitions: reg})
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

func uriOf(a netip.AddrPort) string { return "coap://" + a.String() }

// device is a test device's objects, kept for the test to inspect.
type device struct {
	security *stdobj.Security
	server   *stdobj.Server
	acl      *stdobj.AccessControl
	device   *stdobj.Device
	temp     *stdobj.Temperature // static: the device's own sensors
	test     *stdobj.Object      // instances Bootstrap-Delete of / removes
}

// testDef is an object of the tests whose instances can be deleted.
var testDef = &model.ObjectDef{
	ID: 33001, Name: "Test", Version: model.Version{Major: 1, Minor: 0}, Multiple: true,
	Resources: []model.ResourceDef{{ID: 0, Name: "String", Operations: model.OpRead | model.OpWrite, Type: model.TypeString}},
}

// dmAccount is a device management server account of a test device.
type dmAccount struct {
	ssid uint16
	uri  string
}

// newDevice returns the objects of a device whose only account is the
// bootstrap server at bs, plus the DM accounts given.
func newDevice(bs netip.AddrPort, dm ...dmAccount) *device {
	secs := []stdobj.SecurityAccount{{ServerURI: uriOf(bs), Mode: stdobj.SecurityNoSec, Bootstrap: true}}
	var srvs []stdobj.ServerAccount
	for _, a := range dm {
		secs = append(secs, stdobj.SecurityAccount{ServerURI: a.uri, Mode: stdobj.SecurityNoSec, SSID: a.ssid})
		srvs = append(srvs, stdobj.ServerAccount{SSID: a.ssid, Lifetime: 300 * time.Second})
	}
	return &device{
		security: stdobj.NewSecurity(secs...),
		server:   stdobj.NewServer(srvs...),
		acl:      stdobj.NewAccessControl(),
		device:   stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "wasm2m", ModelNumber: "test", SerialNumber: "1"}),
		temp:     stdobj.NewTemperature(stdobj.TemperatureSensor{Value: 21.5, Units: "Cel"}, stdobj.TemperatureSensor{Value: -4, Units: "Cel"}),
		test: stdobj.New(testDef,
			model.NewInstance(0, model.NewResource(0, model.String("a"))),
			model.NewInstance(4, model.NewResource(0, model.String("b")))),
	}
}

func (d *device) objects() []client.Object {
	return []client.Object{d.security, d.server, d.acl, d.device, d.temp, d.test}
}

// clientEvents records a client's events.
type clientEvents struct {
	mu  sync.Mutex
	all []client.Event
}

func (r *clientEvents) record(e client.Event) {
	r.mu.Lock()
	r.all = append(r.all, e)
	r.mu.Unlock()
}

// ops returns the operations the client served, in order.
func (r *clientEvents) ops() []client.Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []client.Op
	for _, e := range r.all {
		if e.Type == client.EventRequest {
			out = append(out, e.Op)
		}
	}
	return out
}

// startClient starts a device engine with d's objects, closed when the
// test ends.
func startClient(t *testing.T, ep string, d *device, mod func(*client.Config)) (*client.Engine, *clientEvents) {
	t.Helper()
	ev := &clientEvents{}
	cfg := client.Config{
		Endpoint:         ep,
		Objects:          d.objects(),
		Addr:             "127.0.0.1:0",
		Transport:        fastTransport,
		OnEvent:          ev.record,
		BootstrapTimeout: 2 * time.Second,
		BootstrapRetry:   client.RetryPolicy{Count: 20, Timer: 200 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	e, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if err := e.Start(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	return e, ev
}

// nextEvent waits for the next event of one of the types on sub.
func nextEvent(t *testing.T, sub *bootstrap.Subscription, d time.Duration, types ...bootstrap.EventType) bootstrap.Event {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case e, ok := <-sub.C:
			if !ok {
				t.Fatalf("subscription closed waiting for %v", types)
			}
			if slices.Contains(types, e.Type) {
				return e
			}
		case <-timeout:
			t.Fatalf("no %v event within %v", types, d)
		}
	}
}

// nextServerEvent waits for the next event of type typ on sub.
func nextServerEvent(t *testing.T, sub *server.Subscription, typ server.EventType, d time.Duration) server.Event {
	t.Helper()
	timeout := time.After(d)
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
			t.Fatalf("no %v event within %v", typ, d)
		}
	}
}

// dmConfig is the configuration that gives endpoint ep one NoSec
// account with server s.
func dmConfig(ep string, s netip.AddrPort, ssid uint16) *store.BootstrapConfig {
	return &store.BootstrapConfig{
		Endpoint: ep,
		Servers:  []store.ServerAccount{{ShortID: ssid, URI: uriOf(s), Mode: store.ModeNoSec, Lifetime: 300}},
	}
}

func netipLoopback(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port)
}

func itoa(n int) string { return strconv.Itoa(n) }
