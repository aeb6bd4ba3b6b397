package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/transport"
)

// TestQueueMode runs a client in queue mode (Core 1.1 section 6.5) with
// short awake windows: the server holds a request while the client
// sleeps, and it is delivered once the client wakes, with an Update
// before the lifetime runs out or with a notification.
func TestQueueMode(t *testing.T) {
	checkLeaks(t)
	cases := []struct {
		name     string
		lifetime time.Duration
		wake     func(t *testing.T, d *device)
		want     server.EventType // what the server sees when the client wakes
	}{
		{"woken by an update", 6 * time.Second, func(t *testing.T, d *device) {}, server.EventUpdated},
		{"woken by a notification", 60 * time.Second, func(t *testing.T, d *device) {
			if err := d.test.Set(mustPath("/33001/0/1"), model.Int(99)); err != nil {
				t.Fatal(err)
			}
		}, server.EventNotification},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, func(c *server.Config) { c.AwakeTime = 300 * time.Millisecond })
			d := newDevice(account{ssid: 1, uri: uriOf(s.Addr()), srv: stdobj.ServerAccount{Binding: "UQ", Lifetime: tc.lifetime}})
			sub := s.Subscribe(server.SubscribeOptions{})
			defer sub.Close()
			ep := "dev-queue"
			e := registered(t, s, ep, d, func(c *client.Config) { c.AwakeTime = 1500 * time.Millisecond })
			r := next(t, sub, server.EventRegistered, 5*time.Second).Registration
			if !r.Queue || r.Binding != "U" {
				t.Errorf("registered with binding %q queue %v, want U and Q", r.Binding, r.Queue)
			}
			ctx := ctxT(t, 20*time.Second)
			var o *server.Observation
			if tc.want == server.EventNotification {
				var err error
				if o, err = s.Observe(ctx, ep, mustPath("/33001/0/1")); err != nil {
					t.Fatal(err)
				}
			}
			next(t, sub, server.EventSleeping, 5*time.Second)
			waitFor(t, 5*time.Second, "the client to sleep", func() bool { return e.Status()[0].Asleep })

			// A server that ignored queue mode would find the client deaf.
			resp := e.Serve(context.Background(), s.Addr(), get("/3/0/0"))
			if resp.Code != model.ServiceUnavailable {
				t.Errorf("request to a sleeping client: %v", resp.Code)
			}
			if age, ok := resp.Uint(transport.OptMaxAge); !ok || age == 0 {
				t.Errorf("no Max-Age in %v", resp)
			}

			type result struct {
				n   model.Node
				err error
				at  time.Time
			}
			done := make(chan result, 1)
			go func() {
				n, err := s.Read(ctx, ep, mustPath("/3/0/0"))
				done <- result{n, err, time.Now()}
			}()
			time.Sleep(100 * time.Millisecond)
			select {
			case r := <-done:
				t.Fatalf("the read was not held: %v %v", r.n, r.err)
			default:
			}
			tc.wake(t, d)
			woke := next(t, sub, tc.want, 5*time.Second)
			var res result
			select {
			case res = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("the held read never completed")
			}
			if res.err != nil || res.n.Value != model.String("wasm2m") {
				t.Fatalf("held read: %v %v", res.n, res.err)
			}
			if res.at.Before(woke.Time) {
				t.Errorf("the read completed at %v, before the client woke at %v", res.at, woke.Time)
			}
			if o != nil {
				o.Cancel(ctx, true)
			}
		})
	}
}

// TestSend sends values with the Send operation (Core 1.1 section 6.4.4)
// in each composite format and checks what the server received.
func TestSend(t *testing.T) {
	checkLeaks(t)
	s := startServer(t, nil)
	d := newDevice(account{ssid: 1, uri: uriOf(s.Addr())})
	sub := s.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventSend}})
	defer sub.Close()
	e := registered(t, s, "dev-send", d, func(c *client.Config) { c.Version = model.V1_2 })
	ctx := ctxT(t, 20*time.Second)
	paths := []model.Path{mustPath("/3303/0/5700"), mustPath("/33001/0"), mustPath("/3/0/0")}
	for _, f := range []codec.Format{codec.SenMLJSON, codec.SenMLCBOR, codec.LwM2MCBOR, codec.None} {
		t.Run(f.Name(), func(t *testing.T) {
			if err := e.SendFormat(ctx, 1, f, paths...); err != nil {
				t.Fatal(err)
			}
			ev := next(t, sub, server.EventSend, 5*time.Second)
			got := map[model.Path]model.Value{}
			for _, r := range ev.Records {
				got[r.Path] = r.Value
			}
			if len(ev.Entries) < 3 || got[mustPath("/3303/0/5700")] != model.Float(21.5) || got[mustPath("/3/0/0")] != model.String("wasm2m") || got[mustPath("/33001/0/1")] != model.Int(-42) {
				t.Errorf("received %v", ev.Records)
			}
		})
	}
	t.Run("not a composite format", func(t *testing.T) {
		if err := e.SendFormat(ctx, 1, codec.TLV, paths...); model.CodeOf(err) != model.NotAcceptable {
			t.Errorf("got %v", err)
		}
	})
	t.Run("unknown server", func(t *testing.T) {
		if err := e.Send(ctx, 7, paths...); !errors.Is(err, client.ErrNotRegistered) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("muted", func(t *testing.T) {
		s2 := startServer(t, nil)
		d2 := newDevice(account{ssid: 1, uri: uriOf(s2.Addr()), srv: stdobj.ServerAccount{MuteSend: true}})
		e2 := registered(t, s2, "dev-muted", d2, nil)
		if err := e2.Send(ctx, 1, paths...); !errors.Is(err, client.ErrMuted) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("lwm2m 1.0", func(t *testing.T) {
		s2 := startServer(t, nil)
		d2 := newDevice(account{ssid: 1, uri: uriOf(s2.Addr())})
		e2 := registered(t, s2, "dev-send-10", d2, func(c *client.Config) { c.Version = model.V1_0 })
		if err := e2.Send(ctx, 1, paths...); model.CodeOf(err) != model.MethodNotAllowed {
			t.Errorf("got %v", err)
		}
	})
}
