package client_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/internal/leaktest"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
	"github.com/wasm2m/wasm2m/core/server"
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

// testObjectID is an object of the tests: one resource of every type, a
// multiple resource, an executable, a read-only and a ranged resource.
const testObjectID = 33001

var testDef = &model.ObjectDef{
	ID: testObjectID, Name: "Test", Version: model.Version{Major: 1, Minor: 0}, Multiple: true,
	Resources: []model.ResourceDef{
		{ID: 0, Name: "String", Operations: model.OpRead | model.OpWrite, Type: model.TypeString},
		{ID: 1, Name: "Integer", Operations: model.OpRead | model.OpWrite, Type: model.TypeInteger},
		{ID: 2, Name: "Unsigned", Operations: model.OpRead | model.OpWrite, Type: model.TypeUnsigned},
		{ID: 3, Name: "Float", Operations: model.OpRead | model.OpWrite, Type: model.TypeFloat},
		{ID: 4, Name: "Boolean", Operations: model.OpRead | model.OpWrite, Type: model.TypeBoolean},
		{ID: 5, Name: "Opaque", Operations: model.OpRead | model.OpWrite, Type: model.TypeOpaque},
		{ID: 6, Name: "Time", Operations: model.OpRead | model.OpWrite, Type: model.TypeTime},
		{ID: 7, Name: "Objlnk", Operations: model.OpRead | model.OpWrite, Type: model.TypeObjlnk},
		{ID: 9, Name: "Integers", Operations: model.OpRead | model.OpWrite, Multiple: true, Type: model.TypeInteger},
		{ID: 10, Name: "Run", Operations: model.OpExecute, Mandatory: true, Type: model.TypeNone},
		{ID: 11, Name: "ReadOnly", Operations: model.OpRead, Type: model.TypeString},
		{ID: 12, Name: "Percent", Operations: model.OpRead | model.OpWrite, Type: model.TypeInteger, Range: model.Range{Min: 0, Max: 100}, HasRange: true, RangeText: "0..100"},
	},
}

// testInstance returns instance id of the test object with values that
// every format carries.
func testInstance(id uint16) model.Node {
	return model.NewInstance(id,
		model.NewResource(0, model.String("hello")),
		model.NewResource(1, model.Int(-42)),
		model.NewResource(2, model.Uint(42)),
		model.NewResource(3, model.Float(2.5)),
		model.NewResource(4, model.Bool(true)),
		model.NewResource(5, model.Opaque([]byte{1, 2, 3})),
		model.NewResource(6, model.UnixTime(1700000000)),
		model.NewResource(7, model.Objlnk(3, 0)),
		model.NewMultipleResourceOf(9, model.Int(1), model.Int(2)),
		model.NewResource(11, model.String("fixed")),
		model.NewResource(12, model.Int(50)),
	)
}

// registry is the definitions the test servers decode with: the built-in
// ones and the test object.
func registry(t testing.TB) *model.Registry {
	r, err := objects.NewRegistry(testDef)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// startServer starts an in-process LwM2M server on loopback.
func startServer(t *testing.T, mod func(*server.Config)) *server.Server {
	t.Helper()
	cfg := server.Config{Addr: "127.0.0.1:0", Transport: fastTransport, Definitions: registry(t)}
	if mod != nil {
		mod(&cfg)
	}
	s, err := server.New(cfg)
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

// device is a client's objects, kept for the test to change.
type device struct {
	security *stdobj.Security
	server   *stdobj.Server
	acl      *stdobj.AccessControl
	device   *stdobj.Device
	temp     *stdobj.Temperature
	test     *stdobj.Object
}

func (d *device) objects() []client.Object {
	objs := []client.Object{d.security, d.server, d.device, d.temp, d.test}
	if d.acl != nil {
		objs = append(objs, d.acl)
	}
	return objs
}

// account is one server account of a test device.
type account struct {
	ssid uint16
	uri  string
	srv  stdobj.ServerAccount // SSID and URI filled in
}

func uriOf(a netip.AddrPort) string { return "coap://" + a.String() }

// newDevice builds the objects of a device with the given accounts; a
// bootstrap account has ssid 0.
func newDevice(accounts ...account) *device {
	var secs []stdobj.SecurityAccount
	var srvs []stdobj.ServerAccount
	for _, a := range accounts {
		sec := stdobj.SecurityAccount{ServerURI: a.uri, Mode: stdobj.SecurityNoSec, SSID: a.ssid, Bootstrap: a.ssid == 0}
		secs = append(secs, sec)
		if a.ssid != 0 {
			s := a.srv
			s.SSID = a.ssid
			if s.Lifetime == 0 {
				s.Lifetime = 300 * time.Second
			}
			srvs = append(srvs, s)
		}
	}
	return &device{
		security: stdobj.NewSecurity(secs...),
		server:   stdobj.NewServer(srvs...),
		device:   stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "wasm2m", ModelNumber: "test", SerialNumber: "1"}),
		temp:     stdobj.NewTemperature(stdobj.TemperatureSensor{Value: 21.5, Units: "Cel"}, stdobj.TemperatureSensor{Value: -4, Units: "Cel"}),
		test:     stdobj.New(testDef, testInstance(0)),
	}
}

// events records an engine's events.
type events struct {
	mu   sync.Mutex
	all  []client.Event
	wake chan struct{}
}

func newEvents() *events { return &events{wake: make(chan struct{}, 1)} }

func (r *events) record(e client.Event) {
	r.mu.Lock()
	r.all = append(r.all, e)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// count returns how many events of type typ (and ssid, unless 0xffff)
// were recorded.
func (r *events) count(typ client.EventType, ssid uint16) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.all {
		if e.Type == typ && (ssid == 0xffff || e.SSID == ssid) {
			n++
		}
	}
	return n
}

// waitFor waits until cond holds.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// clientConfig is the base configuration of a test client.
func clientConfig(ep string, d *device, ev *events) client.Config {
	cfg := client.Config{
		Endpoint:  ep,
		Objects:   d.objects(),
		Addr:      "127.0.0.1:0",
		Transport: fastTransport,
	}
	if ev != nil {
		cfg.OnEvent = ev.record
	}
	return cfg
}

// startClient creates and starts an engine, closed when the test ends.
func startClient(t *testing.T, cfg client.Config) *client.Engine {
	t.Helper()
	e, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if err := e.Start(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	return e
}

// registered starts a client against s and waits for its registration.
func registered(t *testing.T, s *server.Server, ep string, d *device, mod func(*client.Config)) *client.Engine {
	t.Helper()
	cfg := clientConfig(ep, d, nil)
	if mod != nil {
		mod(&cfg)
	}
	e := startClient(t, cfg)
	if err := e.WaitRegistered(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("%v; status %v", err, e.Status())
	}
	waitFor(t, 5*time.Second, "the server to know "+ep, func() bool {
		_, err := s.Registration(context.Background(), ep)
		return err == nil
	})
	return e
}

// next waits for the next event of type typ on sub.
func next(t *testing.T, sub *server.Subscription, typ server.EventType, d time.Duration) server.Event {
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

func mustPath(s string) model.Path { return model.MustPath(s) }

func statusString(st []client.ServerStatus) string {
	var b strings.Builder
	for _, s := range st {
		fmt.Fprintf(&b, "[ssid %d %s %s loc %s err %v] ", s.SSID, s.URI, s.State, s.Location, s.Err)
	}
	return b.String()
}
