package server

import (
	"errors"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server/servertest"
	"github.com/wasm2m/wasm2m/core/transport"
)

func recv(t *testing.T, c <-chan Notification) Notification {
	t.Helper()
	select {
	case n, ok := <-c:
		if !ok {
			t.Fatal("notification channel closed")
		}
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no notification")
	}
	return Notification{}
}

func TestObserveNotifyCancel(t *testing.T) {
	for _, f := range allFormats {
		t.Run(f.Name(), func(t *testing.T) {
			s := startServer(t, Config{})
			d := register(t, s, "obs", func(c *servertest.Config) {
				c.Formats = []codec.Format{f, codec.TLV, codec.Text}
				c.Version = model.V1_2
			})
			ctx := ctxT(t)
			sub := s.Subscribe(SubscribeOptions{Types: []EventType{EventNotification}})
			o, err := s.Observe(ctx, "obs", mustPath("/3303/0/5700"), WithFormat(f))
			if err != nil {
				t.Fatal(err)
			}
			if len(o.First) != 1 || o.First[0].Node.Value != model.Float(21.5) {
				t.Fatalf("first value %v", o.First)
			}
			for i, v := range []float64{22, 23.5, -1} {
				if err := d.Set(ctx, mustPath("/3303/0/5700"), model.Float(v)); err != nil {
					t.Fatal(err)
				}
				n := recv(t, o.C)
				if n.Err != nil || len(n.Entries) != 1 || n.Entries[0].Node.Value != model.Float(v) {
					t.Fatalf("notification %d: %+v", i, n)
				}
				e := next(t, sub, EventNotification)
				if e.Token != o.Token || e.Registration.Endpoint != "obs" || e.Entries[0].Node.Value != model.Float(v) {
					t.Fatalf("event %d: %+v", i, e)
				}
			}
			// A confirmable notification is acknowledged.
			if err := d.NotifyConfirmable(ctx, mustPath("/3303/0/5700")); err != nil {
				t.Fatalf("confirmable notification: %v", err)
			}
			recv(t, o.C)
			// Passive cancel: the next notification gets RST and the device
			// drops the observation.
			if err := o.Cancel(ctx, false); err != nil {
				t.Fatal(err)
			}
			if _, ok := <-o.C; ok {
				t.Error("channel open after cancel")
			}
			if err := d.NotifyConfirmable(ctx, mustPath("/3303/0/5700")); !errors.Is(err, transport.ErrReset) {
				t.Errorf("notification after passive cancel: %v, want RST", err)
			}
			if d.Observations() != 0 {
				t.Errorf("device still holds %d observations", d.Observations())
			}
			// Active cancel: the device is told with Observe=1.
			o2, err := s.Observe(ctx, "obs", mustPath("/3/0/9"), WithFormat(f))
			if err != nil {
				t.Fatal(err)
			}
			if d.Observations() != 1 {
				t.Fatalf("device holds %d observations", d.Observations())
			}
			if err := o2.Cancel(ctx, true); err != nil {
				t.Fatal(err)
			}
			if d.Observations() != 0 {
				t.Errorf("active cancel left %d observations on the device", d.Observations())
			}
			if err := s.CancelObservation(ctx, o2.Token, false); model.CodeOf(err) != model.NotFound {
				t.Errorf("cancel twice: %v", err)
			}
		})
	}
}

func TestObserveComposite(t *testing.T) {
	s := startServer(t, Config{})
	d := register(t, s, "comp", nil)
	ctx := ctxT(t)
	paths := []model.Path{mustPath("/3303/0/5700"), mustPath("/3/0/9")}
	o, err := s.ObserveComposite(ctx, "comp", paths)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.First) != 2 || o.First[1].Node.Value != model.Int(100) {
		t.Fatalf("first %v", o.First)
	}
	if err := d.Set(ctx, mustPath("/3/0/9"), model.Int(42)); err != nil {
		t.Fatal(err)
	}
	n := recv(t, o.C)
	if len(n.Entries) != 2 || n.Entries[1].Node.Value != model.Int(42) || n.Entries[0].Node.Value != model.Float(21.5) {
		t.Errorf("composite notification %+v", n)
	}
	if err := o.Cancel(ctx, true); err != nil {
		t.Fatal(err)
	}
	if d.Observations() != 0 {
		t.Error("composite observation not cancelled on the device")
	}
}

func TestObservationEndsWithDeregistration(t *testing.T) {
	s := startServer(t, Config{})
	d := register(t, s, "gone", nil)
	o, err := s.Observe(ctxT(t), "gone", mustPath("/3/0/9"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Deregister(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-o.C; ok {
		t.Error("observation open after de-register")
	}
	if obs, _ := s.Store().ObservationsOf(ctxT(t), "x"); len(obs) != 0 {
		t.Error("observations left")
	}
}

func TestSend(t *testing.T) {
	s := startServer(t, Config{})
	d := register(t, s, "sender", nil)
	sub := s.Subscribe(SubscribeOptions{Types: []EventType{EventSend}})
	for _, f := range []codec.Format{codec.SenMLJSON, codec.SenMLCBOR, codec.LwM2MCBOR} {
		if err := d.Send(ctxT(t), f, mustPath("/3303/0/5700"), mustPath("/3/0/7")); err != nil {
			t.Fatalf("send %v: %v", f, err)
		}
		e := next(t, sub, EventSend)
		if e.Registration.Endpoint != "sender" || len(e.Records) != 3 || len(e.Entries) != 3 {
			t.Fatalf("send %v event: %+v", f, e)
		}
		got := map[model.Path]model.Value{}
		for _, en := range e.Entries {
			got[en.Path] = en.Node.Value
		}
		if got[mustPath("/3/0/7/0")] != model.Int(3800) || got[mustPath("/3/0/7/1")] != model.Int(5000) || got[mustPath("/3303/0/5700")] != model.Float(21.5) {
			t.Errorf("send %v entries: %v", f, e.Entries)
		}
	}
	// Not a composite format, and an undecodable payload.
	m := &transport.Message{Code: transport.POST}
	m.SetPath("/dp")
	m.SetContentFormat(uint16(codec.TLV))
	m.Payload = []byte{0xc1, 0x00, 0x01}
	ep, _ := transport.Listen("127.0.0.1:0", fastTransport)
	defer ep.Close()
	// From an unregistered address: 4.03.
	if resp, err := ep.Do(ctxT(t), s.Addr(), m); err != nil || resp.Code != model.Forbidden {
		t.Errorf("send from a stranger: %v %v", resp, err)
	}
}

func TestSlowSubscriberNeverStallsTheServer(t *testing.T) {
	s := startServer(t, Config{})
	slow := s.Subscribe(SubscribeOptions{Buffer: 1})
	defer slow.Close()
	for i := range 20 {
		register(t, s, "fleet-"+string(rune('a'+i)), nil)
	}
	if slow.Dropped() == 0 {
		t.Error("a full buffer dropped nothing")
	}
	if n, _ := s.Store().CountRegistrations(ctxT(t)); n != 20 {
		t.Errorf("%d registrations", n)
	}
}

// TestBlockwiseNotification: a notification larger than a datagram arrives
// as its first block, and the server fetches the rest.
func TestBlockwiseNotification(t *testing.T) {
	s := startServer(t, Config{})
	big := make([]byte, 5000)
	for i := range big {
		big[i] = byte(i)
	}
	d := register(t, s, "bigobs", func(c *servertest.Config) {
		c.Objects = append(c.Objects, model.NewObject(5, model.NewInstance(0, model.NewResource(0, model.Opaque(big)))))
	})
	o, err := s.Observe(ctxT(t), "bigobs", mustPath("/5/0/0"), WithFormat(codec.Opaque))
	if err != nil {
		t.Fatal(err)
	}
	if o.First[0].Node.Value != model.Opaque(big) {
		t.Fatalf("first value of %d bytes", len(o.First[0].Node.Value.Str()))
	}
	big[0] = 0xee
	if err := d.Set(ctxT(t), mustPath("/5/0/0"), model.Opaque(big)); err == nil {
		t.Log("the device sent a 5000-byte notification in one datagram")
	}
	// Drain what Set may have delivered, then send the block-wise one.
	for len(o.C) > 0 {
		<-o.C
	}
	if err := d.NotifyBlockwise(ctxT(t), mustPath("/5/0/0"), 1024); err != nil {
		t.Fatal(err)
	}
	n := recv(t, o.C)
	if n.Err != nil || len(n.Entries) != 1 || n.Entries[0].Node.Value != model.Opaque(big) {
		t.Fatalf("block-wise notification: %d bytes, %v", len(n.Entries[0].Node.Value.Str()), n.Err)
	}
}
