package server

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server/servertest"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

func TestRegisterUpdateDeregister(t *testing.T) {
	s := startServer(t, Config{})
	sub := s.Subscribe(SubscribeOptions{})
	d := register(t, s, "dev-1", func(c *servertest.Config) { c.Version = model.V1_1; c.Binding = "U" })
	e := next(t, sub, EventRegistered)
	r := e.Registration
	if r.Endpoint != "dev-1" || r.Lifetime != 300 || r.Version != model.V1_1 || r.Binding != "U" || r.Queue || r.Address != d.Addr() {
		t.Errorf("registration %+v", r)
	}
	if !strings.HasPrefix(d.Location(), "/rd/") || d.Location() != "/rd/"+r.ID {
		t.Errorf("location %q for id %q", d.Location(), r.ID)
	}
	if len(r.Objects) != 3 || r.Objects[2].ID != 3303 || len(r.Objects[2].Instances) != 2 || len(r.ContentFormats) == 0 {
		t.Errorf("objects %+v formats %v", r.Objects, r.ContentFormats)
	}
	got, err := s.Registration(ctxT(t), "dev-1")
	if err != nil || got.ID != r.ID {
		t.Fatalf("Registration = %v, %v", got, err)
	}

	if err := d.Update(ctxT(t), false, "lt=600"); err != nil {
		t.Fatal(err)
	}
	e = next(t, sub, EventUpdated)
	if e.Registration.Lifetime != 600 || e.Previous.Lifetime != 300 || !e.Registration.UpdatedAt.After(e.Previous.UpdatedAt) && e.Registration.UpdatedAt != e.Previous.UpdatedAt {
		t.Errorf("update: %+v from %+v", e.Registration, e.Previous)
	}
	if err := d.Deregister(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	next(t, sub, EventDeregistered)
	if _, err := s.Registration(ctxT(t), "dev-1"); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("after de-register: %v", err)
	}
	// The location is gone: another Update or De-register is 4.04.
	err = d.Update(ctxT(t), false)
	if model.CodeOf(err) != model.NotFound {
		t.Errorf("update after de-register: %v", err)
	}
}

// rawRequest sends one CoAP request from a fresh socket and returns the
// response.
func rawRequest(t *testing.T, s *Server, m *transport.Message) *transport.Message {
	t.Helper()
	ep, err := transport.Listen("127.0.0.1:0", fastTransport)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	resp, err := ep.Do(ctxT(t), s.Addr(), m)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func registerMsg(query []string, payload string, cf int) *transport.Message {
	m := &transport.Message{Code: transport.POST}
	m.SetPath("/rd")
	m.SetQueries(query)
	if cf >= 0 {
		m.SetContentFormat(uint16(cf))
	}
	m.Payload = []byte(payload)
	return m
}

func TestRegisterBadInput(t *testing.T) {
	s := startServer(t, Config{MaxRegisterPayload: 2048})
	big := "</1/0>" + strings.Repeat(",</3303/0>", 300)
	tests := []struct {
		name  string
		msg   *transport.Message
		code  model.Code
		inMsg string
	}{
		{"missing ep", registerMsg([]string{"lt=60", "lwm2m=1.1"}, "</1/0>", 40), model.BadRequest, "endpoint"},
		{"empty ep", registerMsg([]string{"ep=", "lwm2m=1.1"}, "</1/0>", 40), model.BadRequest, "endpoint"},
		{"bad lt", registerMsg([]string{"ep=x", "lt=soon"}, "</1/0>", 40), model.BadRequest, "lifetime"},
		{"negative lt", registerMsg([]string{"ep=x", "lt=-5"}, "</1/0>", 40), model.BadRequest, "lifetime"},
		{"zero lt", registerMsg([]string{"ep=x", "lt=0"}, "</1/0>", 40), model.BadRequest, "lifetime"},
		{"unknown binding", registerMsg([]string{"ep=x", "b=X"}, "</1/0>", 40), model.BadRequest, "binding"},
		{"repeated parameter", registerMsg([]string{"ep=x", "ep=y"}, "</1/0>", 40), model.BadRequest, "twice"},
		{"unsupported version", registerMsg([]string{"ep=x", "lwm2m=2.0"}, "</1/0>", 40), model.PreconditionFailed, "not supported"},
		{"version 1.3", registerMsg([]string{"ep=x", "lwm2m=1.3"}, "</1/0>", 40), model.PreconditionFailed, "not supported"},
		{"bad version", registerMsg([]string{"ep=x", "lwm2m=one"}, "</1/0>", 40), model.BadRequest, "version"},
		{"bad link format", registerMsg([]string{"ep=x"}, "</1/0>;ver=1.1,<<<", 40), model.BadRequest, ""},
		{"id above 65534", registerMsg([]string{"ep=x"}, "</1/65535>", 40), model.BadRequest, ""},
		{"wrong content format", registerMsg([]string{"ep=x"}, "{}", 50), model.UnsupportedContentFormat, "link-format"},
		{"oversized payload", registerMsg([]string{"ep=x"}, big, 40), model.RequestEntityTooLarge, "exceeds"},
		{"Q with a value", registerMsg([]string{"ep=x", "Q=1"}, "</1/0>", 40), model.BadRequest, "Q"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawRequest(t, s, tc.msg)
			if resp.Code != tc.code || !strings.Contains(string(resp.Payload), tc.inMsg) {
				t.Errorf("got %v %q, want %v containing %q", resp.Code, resp.Payload, tc.code, tc.inMsg)
			}
		})
	}
	if n, _ := s.Store().CountRegistrations(ctxT(t)); n != 0 {
		t.Errorf("bad input left %d registrations", n)
	}

	// Unknown registration, wrong methods, unknown paths.
	for _, tc := range []struct {
		code model.Code
		path string
		want model.Code
	}{
		{transport.POST, "/rd/nosuchid", model.NotFound},
		{transport.DELETE, "/rd/nosuchid", model.NotFound},
		{transport.GET, "/rd", model.MethodNotAllowed},
		{transport.PUT, "/rd/x", model.MethodNotAllowed},
		{transport.GET, "/dp", model.MethodNotAllowed},
		{transport.GET, "/nothing/here", model.NotFound},
		{transport.POST, "/dp", model.Forbidden},
	} {
		m := &transport.Message{Code: tc.code}
		m.SetPath(tc.path)
		if resp := rawRequest(t, s, m); resp.Code != tc.want {
			t.Errorf("%v %s: %v, want %v", tc.code, tc.path, resp.Code, tc.want)
		}
	}
}

func TestRegisterDefaults(t *testing.T) {
	s := startServer(t, Config{})
	// A 1.0 client leaves out lwm2m; lt is optional (86400 s) and the
	// binding defaults to U (Core 1.1 Table 6.2.1-1).
	resp := rawRequest(t, s, registerMsg([]string{"ep=minimal"}, "</1/0>,</3/0>", -1))
	if resp.Code != model.Created {
		t.Fatalf("register: %v %s", resp.Code, resp.Payload)
	}
	r, err := s.Registration(ctxT(t), "minimal")
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != model.V1_0 || r.Lifetime != DefaultLifetime || r.Binding != "U" || r.RootPath != "/" {
		t.Errorf("defaults: %+v", r)
	}
	// 1.0 queue mode is the UQ binding.
	resp = rawRequest(t, s, registerMsg([]string{"ep=uq", "lwm2m=1.0", "b=UQ"}, "</1/0>", 40))
	if resp.Code != model.Created {
		t.Fatal(resp.Code)
	}
	if r, _ := s.Registration(ctxT(t), "uq"); !r.Queue {
		t.Error("UQ binding is not queue mode")
	}
	// An alternate root path.
	resp = rawRequest(t, s, registerMsg([]string{"ep=alt", "lwm2m=1.1"}, `</lwm2m>;rt="oma.lwm2m";ct=110,</lwm2m/1/0>,</lwm2m/3/0>`, 40))
	if resp.Code != model.Created {
		t.Fatalf("alternate root: %v %s", resp.Code, resp.Payload)
	}
	if r, _ := s.Registration(ctxT(t), "alt"); r.RootPath != "/lwm2m" || len(r.Objects) != 2 || len(r.ContentFormats) != 1 {
		t.Errorf("alternate root: %+v", r)
	}
}

func TestLifetimeExpiry(t *testing.T) {
	s := startServer(t, Config{ExpiryGrace: 100 * time.Millisecond})
	sub := s.Subscribe(SubscribeOptions{Types: []EventType{EventExpired}})
	short := register(t, s, "short", func(c *servertest.Config) { c.Lifetime = 1 })
	long := register(t, s, "long", func(c *servertest.Config) { c.Lifetime = 60 })
	_ = long
	start := time.Now()
	e := next(t, sub, EventExpired)
	if e.Registration.Endpoint != "short" {
		t.Fatalf("expired %s", e.Registration.Endpoint)
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("expired after %v, before its lifetime", el)
	}
	if _, err := s.Registration(ctxT(t), "short"); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("expired registration still there: %v", err)
	}
	if _, err := s.Registration(ctxT(t), "long"); err != nil {
		t.Errorf("the other registration went too: %v", err)
	}
	// An Update keeps a registration alive past its first lifetime.
	keep := register(t, s, "kept", func(c *servertest.Config) { c.Lifetime = 1 })
	for range 4 {
		time.Sleep(400 * time.Millisecond)
		if err := keep.Update(ctxT(t), false); err != nil {
			t.Fatalf("update: %v", err)
		}
	}
	if _, err := s.Registration(ctxT(t), "kept"); err != nil {
		t.Errorf("updated registration expired: %v", err)
	}
	_ = short
}

func TestReRegisterReplaces(t *testing.T) {
	s := startServer(t, Config{})
	sub := s.Subscribe(SubscribeOptions{})
	d := register(t, s, "same", nil)
	first := next(t, sub, EventRegistered).Registration
	obs, err := s.Observe(ctxT(t), "same", mustPath("/3303/0/5700"))
	if err != nil {
		t.Fatal(err)
	}
	// The device reboots and registers again, from a new socket.
	d2 := register(t, s, "same", nil)
	e := next(t, sub, EventRegistered)
	if e.Previous == nil || e.Previous.ID != first.ID || e.Registration.ID == first.ID {
		t.Fatalf("replacement: %+v previous %+v", e.Registration, e.Previous)
	}
	if e.Registration.Address != d2.Addr() {
		t.Errorf("address %v, want the new socket %v", e.Registration.Address, d2.Addr())
	}
	if _, ok := <-obs.C; ok {
		t.Error("the old registration's observation is still open")
	}
	if n, _ := s.Store().CountRegistrations(ctxT(t)); n != 1 {
		t.Errorf("%d registrations", n)
	}
	if _, err := s.Store().Observation(ctxT(t), obs.Token); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("old observation still stored: %v", err)
	}
	// A notification on the old token is refused with RST.
	if err := d.NotifyConfirmable(ctxT(t), mustPath("/3303/0/5700")); !errors.Is(err, transport.ErrReset) {
		t.Errorf("notification of a replaced registration: %v, want reset", err)
	}
	// Requests go to the new socket.
	if _, err := s.Read(ctxT(t), "same", mustPath("/3/0/0")); err != nil {
		t.Fatal(err)
	}
	if d2.Requests() == 0 {
		t.Error("the read did not reach the new registration's socket")
	}
}

func TestUpdateFromNewAddressMovesRegistration(t *testing.T) {
	s := startServer(t, Config{})
	d := register(t, s, "nat", nil)
	// The NAT rebinds: the device's next Update comes from another port,
	// and the server must send there from now on.
	other, err := transport.Listen("127.0.0.1:0", transport.Config{Handler: transport.HandlerFunc(func(ctx context.Context, req *transport.Request) *transport.Message {
		m := &transport.Message{Code: model.Content}
		m.SetContentFormat(uint16(codec.Text))
		m.Payload = []byte("from the new port")
		return m
	})})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := d.UpdateFrom(ctxT(t), other, false); err != nil {
		t.Fatal(err)
	}
	r, _ := s.Registration(ctxT(t), "nat")
	if r.Address != other.LocalAddr() {
		t.Fatalf("address %v, want %v", r.Address, other.LocalAddr())
	}
	n, err := s.Read(ctxT(t), "nat", mustPath("/3/0/0"), WithFormat(codec.Text))
	if err != nil || n.Value.Str() != "from the new port" {
		t.Errorf("read after rebinding: %v, %v", n, err)
	}
	before := d.Requests()
	if before != 0 {
		t.Errorf("the old port got %d requests", before)
	}
}

func TestGarbageDoesNotDisturbOthers(t *testing.T) {
	s := startServer(t, Config{})
	d := register(t, s, "good", nil)
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	garbage := [][]byte{{}, {0xff}, {0x40}, {0x40, 0x01, 0x00}, []byte("GET / HTTP/1.1\r\n\r\n"), {0x48, 0x02, 0, 1, 1, 2, 3}, make([]byte, 1500)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 3000 {
			conn.Write(garbage[i%len(garbage)])
		}
	}()
	for i := range 20 {
		if _, err := s.Read(ctxT(t), "good", mustPath("/3/0/0")); err != nil {
			t.Fatalf("read %d while garbage flows: %v", i, err)
		}
	}
	<-done
	if err := d.Update(ctxT(t), false); err != nil {
		t.Fatal(err)
	}
}

func TestRestartWithDurableStore(t *testing.T) {
	path := t.TempDir() + "/store.log"
	open := func() store.Store {
		st, err := store.OpenFile(path, store.FileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	s1, err := New(Config{Addr: "127.0.0.1:0", Store: open(), Transport: fastTransport})
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := register(t, s1, "durable", nil)
	obs, err := s1.Observe(ctxT(t), "durable", mustPath("/3303/0/5700"))
	if err != nil {
		t.Fatal(err)
	}
	addr := s1.Addr()
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	// A new server on the same port and file: the registration and the
	// observation are back, and a notification for the old token matches.
	s2, err := New(Config{Addr: addr.String(), Store: open(), Transport: fastTransport})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	r, err := s2.Registration(ctxT(t), "durable")
	if err != nil {
		t.Fatalf("registration lost across restart: %v", err)
	}
	if r.Address != d.Addr() || len(r.Objects) != 3 {
		t.Errorf("restored %+v", r)
	}
	sub := s2.Subscribe(SubscribeOptions{Types: []EventType{EventNotification}})
	if err := d.Set(ctxT(t), mustPath("/3303/0/5700"), model.Float(30)); err != nil {
		t.Fatal(err)
	}
	e := next(t, sub, EventNotification)
	if e.Token != obs.Token || len(e.Entries) != 1 || e.Entries[0].Node.Value != model.Float(30) {
		t.Errorf("restored notification: %+v", e)
	}
	// And the device can still Update with its old location.
	if err := d.Update(ctxT(t), false); err != nil {
		t.Errorf("update after restart: %v", err)
	}
}
