package client_test

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

func TestRegisterAndDeregister(t *testing.T) {
	checkLeaks(t)
	s := startServer(t, nil)
	sub := s.Subscribe(server.SubscribeOptions{})
	defer sub.Close()
	d := newDevice(account{ssid: 1, uri: uriOf(s.Addr())})
	e := registered(t, s, "dev-reg", d, nil)
	ev := next(t, sub, server.EventRegistered, 5*time.Second)
	r := ev.Registration
	if r.Endpoint != "dev-reg" || r.Lifetime != 300 || r.Version != model.V1_1 || r.Binding != "U" || r.Queue {
		t.Errorf("registration %+v", r)
	}
	if _, ok := r.Objects[0], true; !ok {
		t.Fatal("no objects")
	}
	for _, o := range r.Objects {
		if o.ID == 0 {
			t.Errorf("the Security object was registered: %+v", r.Objects)
		}
	}
	if len(r.ContentFormats) == 0 {
		t.Errorf("no ct: %+v", r)
	}
	st := e.Status()
	if len(st) != 1 || st[0].State != client.StateRegistered || st[0].Location == "" {
		t.Errorf("status %s", statusString(st))
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	next(t, sub, server.EventDeregistered, 5*time.Second)
	if _, err := s.Registration(context.Background(), "dev-reg"); err == nil {
		t.Error("still registered after Close")
	}
}

// silent is an Object that hides the Observable of the object it wraps:
// its changes reach the engine only through Engine.Changed.
type silent struct{ client.Object }

func TestUpdates(t *testing.T) {
	checkLeaks(t)
	cases := []struct {
		name     string
		lifetime time.Duration
		act      func(t *testing.T, s *server.Server, e *client.Engine, d *device)
		check    func(t *testing.T, r *store.Registration)
	}{
		{
			name:     "before the lifetime runs out",
			lifetime: 2 * time.Second,
			act:      func(t *testing.T, s *server.Server, e *client.Engine, d *device) {},
		},
		{
			name: "on a new instance reported by the object",
			act: func(t *testing.T, s *server.Server, e *client.Engine, d *device) {
				if err := d.test.AddInstance(testInstance(3)); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, r *store.Registration) {
				if o, ok := (&link.Registration{Objects: r.Objects}).Object(testObjectID); !ok || !slices.Equal(o.Instances, []uint16{0, 3}) {
					t.Errorf("objects after the update: %+v", r.Objects)
				}
			},
		},
		{
			name: "on a deleted instance reported with Changed",
			act: func(t *testing.T, s *server.Server, e *client.Engine, d *device) {
				if err := d.temp.RemoveInstance(1); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, r *store.Registration) {
				if o, ok := (&link.Registration{Objects: r.Objects}).Object(3303); !ok || !slices.Equal(o.Instances, []uint16{0}) {
					t.Errorf("objects after the update: %+v", r.Objects)
				}
			},
		},
		{
			name: "on the Registration Update Trigger",
			act: func(t *testing.T, s *server.Server, e *client.Engine, d *device) {
				if err := s.Execute(ctxT(t, 5*time.Second), "dev-upd", mustPath("/1/0/8"), ""); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "on a new lifetime written by the server",
			act: func(t *testing.T, s *server.Server, e *client.Engine, d *device) {
				if err := s.Write(ctxT(t, 5*time.Second), "dev-upd", mustPath("/1/0/1"), model.NewResource(1, model.Int(600)), true); err != nil {
					t.Fatal(err)
				}
			},
			check: func(t *testing.T, r *store.Registration) {
				if r.Lifetime != 600 {
					t.Errorf("lifetime %d after the update", r.Lifetime)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, nil)
			a := account{ssid: 1, uri: uriOf(s.Addr()), srv: stdobj.ServerAccount{Lifetime: tc.lifetime}}
			d := newDevice(a)
			if tc.name == "on a deleted instance reported with Changed" {
				d.temp = stdobj.NewTemperature(stdobj.TemperatureSensor{Value: 1}, stdobj.TemperatureSensor{Value: 2})
			}
			cfg := clientConfig("dev-upd", d, nil)
			if tc.name == "on a deleted instance reported with Changed" {
				for i, o := range cfg.Objects {
					if o == client.Object(d.temp) {
						cfg.Objects[i] = silent{d.temp}
					}
				}
			}
			sub := s.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventUpdated}})
			defer sub.Close()
			e := startClient(t, cfg)
			if err := e.WaitRegistered(ctxT(t, 5*time.Second)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "the registration", func() bool {
				_, err := s.Registration(context.Background(), "dev-upd")
				return err == nil
			})
			tc.act(t, s, e, d)
			if tc.name == "on a deleted instance reported with Changed" {
				e.Changed(mustPath("/3303"))
			}
			ev := next(t, sub, server.EventUpdated, 5*time.Second)
			if tc.check != nil {
				tc.check(t, ev.Registration)
			}
			if tc.lifetime > 0 {
				ev2 := next(t, sub, server.EventUpdated, 5*time.Second)
				if d := ev2.Time.Sub(ev.Time); d < tc.lifetime/4 {
					t.Errorf("updates %v apart with a lifetime of %v", d, tc.lifetime)
				}
			}
		})
	}
}

// TestDisable executes Disable (/1/x/4): the client de-registers, stays
// away for the Disable Timeout, refuses the server's requests meanwhile,
// and registers again.
func TestDisable(t *testing.T) {
	checkLeaks(t)
	s := startServer(t, nil)
	d := newDevice(account{ssid: 1, uri: uriOf(s.Addr()), srv: stdobj.ServerAccount{DisableTimeout: time.Second}})
	sub := s.Subscribe(server.SubscribeOptions{})
	defer sub.Close()
	e := registered(t, s, "dev-dis", d, nil)
	next(t, sub, server.EventRegistered, 5*time.Second)
	if err := s.Execute(ctxT(t, 5*time.Second), "dev-dis", mustPath("/1/0/4"), ""); err != nil {
		t.Fatal(err)
	}
	dereg := next(t, sub, server.EventDeregistered, 5*time.Second)
	waitFor(t, 3*time.Second, "the disabled state", func() bool { return e.Status()[0].State == client.StateDisabled })
	resp := e.Serve(context.Background(), s.Addr(), get("/3/0/0"))
	if resp.Code != model.Forbidden {
		t.Errorf("a request of the disabled server got %v", resp.Code)
	}
	reg := next(t, sub, server.EventRegistered, 5*time.Second)
	if gap := reg.Time.Sub(dereg.Time); gap < 900*time.Millisecond {
		t.Errorf("registered again %v after the de-registration, the Disable Timeout is 1 s", gap)
	}
	if err := e.WaitRegistered(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

// TestRegistrationRetry points the client at an address that does not
// answer, then starts the server there: the client retries with the
// exponential back-off of the Server object's Communication Retry Timer
// (Core 1.1 section 6.2.1.1) and registers.
func TestRegistrationRetry(t *testing.T) {
	checkLeaks(t)
	hole, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	addr := hole.LocalAddr().(*net.UDPAddr).AddrPort()
	no := false
	d := newDevice(account{ssid: 1, uri: uriOf(addr), srv: stdobj.ServerAccount{
		CommunicationRetryCount:        3,
		CommunicationRetryTimer:        time.Second,
		SequenceDelayTimer:             time.Second,
		SequenceRetryCount:             1,
		BootstrapOnRegistrationFailure: &no,
	}})
	ev := newEvents()
	cfg := clientConfig("dev-retry", d, ev)
	// One attempt gives up after 0.05*(2^2-1)*1 = 0.15 s.
	cfg.Transport.ACKTimeout = 50 * time.Millisecond
	cfg.Transport.ACKRandomFactor = 1
	cfg.Transport.MaxRetransmit = 1
	e := startClient(t, cfg)
	failures := func() []time.Time {
		ev.mu.Lock()
		defer ev.mu.Unlock()
		var out []time.Time
		for _, x := range ev.all {
			if x.Type == client.EventRegistrationFailed {
				out = append(out, x.Time)
			}
		}
		return out
	}
	waitFor(t, 10*time.Second, "three failed attempts", func() bool { return len(failures()) >= 3 })
	f := failures()
	// Attempt n+1 starts Timer*2^(n-1) after attempt n failed: 1 s, then 2 s.
	if g := f[1].Sub(f[0]); g < 950*time.Millisecond {
		t.Errorf("second attempt failed %v after the first", g)
	}
	if g := f[2].Sub(f[1]); g < 1950*time.Millisecond {
		t.Errorf("third attempt failed %v after the second", g)
	}
	if st := e.Status(); st[0].State == client.StateRegistered || st[0].Err == nil {
		t.Errorf("status %s", statusString(st))
	}
	hole.Close()
	s := startServer(t, func(c *server.Config) { c.Addr = addr.String() })
	if err := e.WaitRegistered(ctxT(t, 10*time.Second)); err != nil {
		t.Fatalf("%v: %s", err, statusString(e.Status()))
	}
	if _, err := s.Registration(context.Background(), "dev-retry"); err != nil {
		t.Fatal(err)
	}
}

// get is a GET request for p.
func get(p string) *transport.Message {
	m := &transport.Message{Type: transport.Confirmable, Code: transport.GET, MID: 1, Token: []byte{1}}
	m.SetPath(p)
	return m
}

// TestRegistrationOrder registers with two servers in the Registration
// Priority Order of their Server instances (Core 1.1 section 6.2.1.1):
// the second waits for the first, then for its Initial Registration Delay
// Timer; a first server that fails with Registration Failure Block set
// keeps the second from registering, and without it lets it go on.
func TestRegistrationOrder(t *testing.T) {
	checkLeaks(t)
	cases := []struct {
		name       string
		firstHole  bool // the first server does not answer
		block      bool
		wantSecond bool
	}{
		{"in order, with the initial delay", false, false, true},
		{"failure block", true, true, false},
		{"no failure block", true, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			second := startServer(t, nil)
			var first *server.Server
			var firstAddr netip.AddrPort
			if tc.firstHole {
				hole, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { hole.Close() })
				firstAddr = hole.LocalAddr().(*net.UDPAddr).AddrPort()
			} else {
				first = startServer(t, nil)
				firstAddr = first.Addr()
			}
			no := false
			// Account 0 (ssid 1) is the second in the order, account 1
			// (ssid 2) the first.
			d := newDevice(
				account{ssid: 1, uri: uriOf(second.Addr())},
				account{ssid: 2, uri: uriOf(firstAddr), srv: stdobj.ServerAccount{CommunicationRetryCount: 1, SequenceRetryCount: 1, BootstrapOnRegistrationFailure: &no}},
			)
			set := func(p string, v model.Value) {
				if err := d.server.Set(mustPath(p), v); err != nil {
					t.Fatal(err)
				}
			}
			set("/1/0/13", model.Uint(2))
			set("/1/0/14", model.Uint(1))
			set("/1/1/13", model.Uint(1))
			set("/1/1/15", model.Bool(tc.block))
			subs := map[*server.Server]*server.Subscription{}
			for _, s := range []*server.Server{first, second} {
				if s != nil {
					subs[s] = s.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered}})
					defer subs[s].Close()
				}
			}
			start := time.Now()
			e := startClient(t, clientConfig("dev-order", d, nil))
			var firstAt time.Time
			if first != nil {
				firstAt = next(t, subs[first], server.EventRegistered, 5*time.Second).Time
			}
			if !tc.wantSecond {
				time.Sleep(2500 * time.Millisecond)
				if _, err := second.Registration(context.Background(), "dev-order"); err == nil {
					t.Fatalf("registered with the second server while the first blocks: %s", statusString(e.Status()))
				}
				return
			}
			secondAt := next(t, subs[second], server.EventRegistered, 10*time.Second).Time
			if first != nil && secondAt.Sub(firstAt) < 900*time.Millisecond {
				t.Errorf("second registration %v after the first, want the 1 s initial delay", secondAt.Sub(firstAt))
			}
			if first == nil && secondAt.Sub(start) < time.Second {
				t.Errorf("second registration %v after start, before the first server's sequence failed", secondAt.Sub(start))
			}
		})
	}
}
