package client_test

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
)

// TestObserveAttributes observes a resource under each notification
// attribute (Core 1.1 section 5.1.2), written with Write-Attributes at the
// resource, instance or object level, and checks the notifications the
// server's Observation receives. Periods are whole seconds, so each case
// takes one to three; time is asserted only as lower bounds (a
// notification must not come early) and generous upper ones.
func TestObserveAttributes(t *testing.T) {
	checkLeaks(t)
	s := startServer(t, nil)
	d := newDevice(account{ssid: 1, uri: uriOf(s.Addr())})
	var hidden atomic.Int64 // /33001/0/2, read through a hook that reports no change
	d.test.OnRead(2, func(ctx context.Context, inst uint16) (model.Value, error) {
		return model.Uint(uint64(hidden.Load())), nil
	})
	ep := "dev-obs"
	e := registered(t, s, ep, d, nil)
	ctx := ctxT(t, 60*time.Second)
	res := mustPath("/33001/0/1")
	set := func(v int64) {
		t.Helper()
		if err := d.test.Set(res, model.Int(v)); err != nil {
			t.Fatal(err)
		}
	}
	value := func(n server.Notification) int64 {
		t.Helper()
		if len(n.Entries) != 1 || !n.Entries[0].Node.HasValue() {
			t.Fatalf("notification %+v", n)
		}
		return n.Entries[0].Node.Value.Int()
	}
	observe := func(t *testing.T, p model.Path, at model.Path, a link.Attributes) (*server.Observation, time.Time) {
		t.Helper()
		if err := s.WriteAttributes(ctx, ep, at, a); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		o, err := s.Observe(ctx, ep, p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			o.Cancel(context.Background(), true)
			s.WriteAttributes(context.Background(), ep, at, unsetAll(a))
		})
		return o, start
	}

	t.Run("pmax at object level", func(t *testing.T) {
		set(0)
		o, start := observe(t, res, mustPath("/33001"), link.Attributes{PMax: link.Set[uint32](1)})
		n1 := nextNotificationWithin(t, o, 5*time.Second)
		n2 := nextNotificationWithin(t, o, 5*time.Second)
		if value(n1) != 0 || value(n2) != 0 {
			t.Errorf("values %d %d", value(n1), value(n2))
		}
		if n1.Time.Sub(start) < 900*time.Millisecond || n2.Time.Sub(n1.Time) < 900*time.Millisecond {
			t.Errorf("pmax 1 s: notifications %v and %v after the observe", n1.Time.Sub(start), n2.Time.Sub(start))
		}
	})
	t.Run("pmin at instance level", func(t *testing.T) {
		set(0)
		o, start := observe(t, res, mustPath("/33001/0"), link.Attributes{PMin: link.Set[uint32](2)})
		set(1)
		set(2)
		n := nextNotificationWithin(t, o, 6*time.Second)
		if value(n) != 2 {
			t.Errorf("value %d, want the value current when pmin ended", value(n))
		}
		if n.Time.Sub(start) < 1900*time.Millisecond {
			t.Errorf("pmin 2 s: notified %v after the observe", n.Time.Sub(start))
		}
	})
	t.Run("resource level prevails", func(t *testing.T) {
		set(0)
		// pmin 30 on the object, pmin 0 on the resource: the
		// resource's wins and a change notifies at once.
		if err := s.WriteAttributes(ctx, ep, mustPath("/33001"), link.Attributes{PMin: link.Set[uint32](30)}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			s.WriteAttributes(context.Background(), ep, mustPath("/33001"), link.Attributes{PMin: link.Unset[uint32]()})
		})
		o, _ := observe(t, res, res, link.Attributes{PMin: link.Set[uint32](0)})
		set(9)
		if n := nextNotificationWithin(t, o, 3*time.Second); value(n) != 9 {
			t.Errorf("value %d", value(n))
		}
	})
	t.Run("gt", func(t *testing.T) {
		set(5)
		o, _ := observe(t, res, res, link.Attributes{GT: link.Set(10.0)})
		set(8) // stays below: no notification
		set(12)
		if v := value(nextNotificationWithin(t, o, 3*time.Second)); v != 12 {
			t.Errorf("first notification %d, want 12", v)
		}
		set(15) // stays above
		set(3)  // crosses back
		if v := value(nextNotificationWithin(t, o, 3*time.Second)); v != 3 {
			t.Errorf("second notification %d, want 3", v)
		}
	})
	t.Run("lt", func(t *testing.T) {
		set(5)
		o, _ := observe(t, res, res, link.Attributes{LT: link.Set(0.0)})
		set(1)
		set(-1)
		if v := value(nextNotificationWithin(t, o, 3*time.Second)); v != -1 {
			t.Errorf("first notification %d, want -1", v)
		}
		set(-5)
		set(4)
		if v := value(nextNotificationWithin(t, o, 3*time.Second)); v != 4 {
			t.Errorf("second notification %d, want 4", v)
		}
	})
	t.Run("st", func(t *testing.T) {
		set(0)
		o, _ := observe(t, res, res, link.Attributes{ST: link.Set(5.0)})
		set(3)
		set(6)
		if v := value(nextNotificationWithin(t, o, 3*time.Second)); v != 6 {
			t.Errorf("first notification %d, want 6", v)
		}
		set(8)
		set(1)
		if v := value(nextNotificationWithin(t, o, 3*time.Second)); v != 1 {
			t.Errorf("second notification %d, want 1", v)
		}
	})
	t.Run("epmin", func(t *testing.T) {
		set(0)
		o, start := observe(t, res, res, link.Attributes{EPMin: link.Set[uint32](2)})
		set(7) // reported inside epmin: evaluated when it ends
		n := nextNotificationWithin(t, o, 6*time.Second)
		if value(n) != 7 {
			t.Errorf("value %d", value(n))
		}
		if n.Time.Sub(start) < 1900*time.Millisecond {
			t.Errorf("epmin 2 s: notified %v after the observe", n.Time.Sub(start))
		}
	})
	t.Run("epmax", func(t *testing.T) {
		hidden.Store(1)
		p := mustPath("/33001/0/2")
		o, _ := observe(t, p, p, link.Attributes{EPMax: link.Set[uint32](1)})
		hidden.Store(2) // no change is reported: only the periodic evaluation sees it
		n := nextNotificationWithin(t, o, 5*time.Second)
		if len(n.Entries) != 1 || n.Entries[0].Node.Value != model.Uint(2) {
			t.Errorf("notification %+v", n)
		}
	})
	if observations(e) > 0 {
		waitFor(t, 5*time.Second, "the observations to end", func() bool { return observations(e) == 0 })
	}
}

// unsetAll returns attributes that unset every attribute set in a.
func unsetAll(a link.Attributes) link.Attributes {
	var names []string
	for _, q := range a.AppendQuery(nil) {
		name, _, _ := strings.Cut(q, "=")
		names = append(names, name)
	}
	out, _ := link.ParseQuery(names)
	return out
}

func nextNotificationWithin(t *testing.T, o *server.Observation, d time.Duration) server.Notification {
	t.Helper()
	select {
	case n, ok := <-o.C:
		if !ok {
			t.Fatal("observation closed")
		}
		if n.Err != nil {
			t.Fatalf("notification error: %v", n.Err)
		}
		return n
	case <-time.After(d):
		t.Fatalf("no notification within %v", d)
	}
	return server.Notification{}
}

// TestNotificationTypes checks that a server that forgot an observation
// (a passive cancel answers the next notification with Reset, RFC 7641
// section 3.6) ends it on the client whatever the notification's type:
// non-confirmable, or confirmable by configuration or by the 1.2 con
// attribute.
func TestNotificationTypes(t *testing.T) {
	checkLeaks(t)
	cases := []struct {
		name  string
		cfg   func(*client.Config)
		attrs link.Attributes
	}{
		{"non-confirmable", nil, link.Attributes{}},
		{"confirmable by configuration", func(c *client.Config) { c.ConfirmableNotifications = true }, link.Attributes{}},
		{"confirmable by the con attribute", func(c *client.Config) { c.Version = model.V1_2 }, link.Attributes{Con: link.Set(true)}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, nil)
			d := newDevice(account{ssid: 1, uri: uriOf(s.Addr())})
			ev := newEvents()
			ep := "dev-con-" + string(rune('a'+i))
			e := registered(t, s, ep, d, func(c *client.Config) {
				c.OnEvent = ev.record
				if tc.cfg != nil {
					tc.cfg(c)
				}
			})
			ctx := ctxT(t, 20*time.Second)
			p := mustPath("/33001/0/1")
			if !tc.attrs.IsZero() {
				if err := s.WriteAttributes(ctx, ep, p, tc.attrs); err != nil {
					t.Fatal(err)
				}
			}
			sub := s.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventNotification}, Endpoint: ep})
			defer sub.Close()
			o, err := s.Observe(ctx, ep, p)
			if err != nil {
				t.Fatal(err)
			}
			d.test.Set(p, model.Int(1))
			nextNotificationWithin(t, o, 3*time.Second)
			if got := next(t, sub, server.EventNotification, 3*time.Second); got.Token != o.Token {
				t.Fatalf("notification event of token %q, want %q", got.Token, o.Token)
			}
			if err := s.CancelObservation(ctx, o.Token, false); err != nil {
				t.Fatal(err)
			}
			sent := ev.count(client.EventNotified, 1)
			d.test.Set(p, model.Int(2))
			waitFor(t, 3*time.Second, "the notification", func() bool { return ev.count(client.EventNotified, 1) > sent })
			waitFor(t, 3*time.Second, "the observation to end", func() bool { return observations(e) == 0 })
			// Ended: changes no longer notify, and nothing more reaches the
			// server's subscribers.
			sent = ev.count(client.EventNotified, 1)
			for v := range int64(3) {
				d.test.Set(p, model.Int(3+v))
			}
			select {
			case got := <-sub.C:
				t.Errorf("event %v after the observation ended", got.Type)
			case <-time.After(300 * time.Millisecond):
			}
			if n := ev.count(client.EventNotified, 1); n != sent {
				t.Errorf("%d notifications after the observation ended", n-sent)
			}
		})
	}
}

// TestResetObservation checks which Resets the engine takes as the end
// of an observation: only one from the server that holds it, for its
// token.
func TestResetObservation(t *testing.T) {
	checkLeaks(t)
	s := startServer(t, nil)
	d := newDevice(account{ssid: 1, uri: uriOf(s.Addr())})
	ep := "dev-reset"
	e := registered(t, s, ep, d, nil)
	ctx := ctxT(t, 20*time.Second)
	o, err := s.Observe(ctx, ep, mustPath("/33001/0/1"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Cancel(ctx, true)
	other := netip.AddrPortFrom(s.Addr().Addr(), s.Addr().Port()+1)
	tests := []struct {
		name string
		peer netip.AddrPort
		tok  string
		want int // observations after the reset
	}{
		{"another peer, the token", other, o.Token, 1},
		{"the server, another token", s.Addr(), o.Token + "x", 1},
		{"the server, no token", s.Addr(), "", 1},
		{"the server, the token", s.Addr(), o.Token, 0},
		{"again", s.Addr(), o.Token, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.ResetObservation(tc.peer, []byte(tc.tok))
			if n := observations(e); n != tc.want {
				t.Fatalf("%d observations, want %d", n, tc.want)
			}
		})
	}
}

// TestLargeNotification observes a value larger than a CoAP block: the
// notification carries its first block with Block2 and the server fetches
// the rest (RFC 7959 section 3.4); so does a read of it.
func TestLargeNotification(t *testing.T) {
	checkLeaks(t)
	s := startServer(t, nil)
	d := newDevice(account{ssid: 1, uri: uriOf(s.Addr())})
	ep := "dev-big"
	registered(t, s, ep, d, nil)
	ctx := ctxT(t, 20*time.Second)
	p := mustPath("/33001/0/0")
	o, err := s.Observe(ctx, ep, p, server.WithFormat(codec.Text))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Cancel(ctx, true)
	big := strings.Repeat("0123456789", 300)
	if err := d.test.Set(p, model.String(big)); err != nil {
		t.Fatal(err)
	}
	n := nextNotificationWithin(t, o, 5*time.Second)
	if len(n.Entries) != 1 || n.Entries[0].Node.Value != model.String(big) {
		t.Fatalf("notification of %d entries", len(n.Entries))
	}
	got, err := s.Read(ctx, ep, mustPath("/33001/0"), server.WithFormat(codec.SenMLCBOR))
	if err != nil || got.Child(0).Value != model.String(big) {
		t.Fatalf("read: %v", err)
	}
}
