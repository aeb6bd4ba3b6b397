package transport

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// resetCall is one call of Config.OnReset.
type resetCall struct {
	peer netip.AddrPort
	tok  string
}

// resetRecorder returns a configuration whose OnReset records its calls.
func resetRecorder(cfg Config) (Config, chan resetCall) {
	calls := make(chan resetCall, 64)
	cfg.OnReset = func(peer netip.AddrPort, tok []byte) { calls <- resetCall{peer, string(tok)} }
	return cfg, calls
}

// notifyNON sends a NON notification with token tok from ep to peer and
// returns the message ID p received it with.
func notifyNON(t *testing.T, ep *Endpoint, p *rawPeer, tok string) uint16 {
	t.Helper()
	n := &Message{Type: NonConfirmable, Code: model.Content, Token: []byte(tok), Payload: []byte("21.5")}
	n.SetObserve(7)
	if err := ep.Notify(ctxT(t, 5*time.Second), p.addr(), n); err != nil {
		t.Fatal(err)
	}
	_, m := p.mustRecv()
	if m.Type != NonConfirmable || string(m.Token) != tok {
		t.Fatalf("peer got %v, want the NON notification", m)
	}
	return m.MID
}

func noReset(t *testing.T, calls chan resetCall, d time.Duration) {
	t.Helper()
	select {
	case c := <-calls:
		t.Fatalf("OnReset(%v, %q) called", c.peer, c.tok)
	case <-time.After(d):
	}
}

func wantReset(t *testing.T, calls chan resetCall, peer netip.AddrPort, tok string) {
	t.Helper()
	select {
	case c := <-calls:
		if c.peer != peer || c.tok != tok {
			t.Fatalf("OnReset(%v, %q), want (%v, %q)", c.peer, c.tok, peer, tok)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnReset not called")
	}
}

// TestResetOfNONNotification checks which Resets reach Config.OnReset:
// only one answering a NON notification the endpoint sent, from the peer
// it went to, within EXCHANGE_LIFETIME, and once (RFC 7641 section 3.6).
func TestResetOfNONNotification(t *testing.T) {
	checkLeaks(t)
	tests := []struct {
		name string
		// reset answers the notification with message ID mid that p
		// received, from p or other, and reports whether OnReset must
		// hear of it.
		reset func(t *testing.T, ep *Endpoint, p, other *rawPeer, mid uint16) bool
	}{
		{"reset of the notification", func(t *testing.T, ep *Endpoint, p, _ *rawPeer, mid uint16) bool {
			p.sendBytes(ep.LocalAddr(), emptyMessage(Reset, mid))
			return true
		}},
		{"reset of another message id", func(t *testing.T, ep *Endpoint, p, _ *rawPeer, mid uint16) bool {
			p.sendBytes(ep.LocalAddr(), emptyMessage(Reset, mid+1))
			return false
		}},
		{"reset from another peer", func(t *testing.T, ep *Endpoint, _, other *rawPeer, mid uint16) bool {
			other.sendBytes(ep.LocalAddr(), emptyMessage(Reset, mid))
			return false
		}},
		{"ack of the notification", func(t *testing.T, ep *Endpoint, p, _ *rawPeer, mid uint16) bool {
			p.sendBytes(ep.LocalAddr(), emptyMessage(Acknowledgement, mid))
			return false
		}},
		{"non-empty reset", func(t *testing.T, ep *Endpoint, p, _ *rawPeer, mid uint16) bool {
			p.send(ep.LocalAddr(), &Message{Type: Reset, Code: model.Content, MID: mid})
			return false
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, calls := resetRecorder(fast(nil))
			ep := listen(t, cfg)
			p, other := newRawPeer(t), newRawPeer(t)
			mid := notifyNON(t, ep, p, "obs-1")
			if tc.reset(t, ep, p, other, mid) {
				wantReset(t, calls, p.addr(), "obs-1")
				// A second RST of the same notification is not reported
				// again.
				p.sendBytes(ep.LocalAddr(), emptyMessage(Reset, mid))
			}
			noReset(t, calls, 100*time.Millisecond)
		})
	}
}

// TestResetBetweenEndpoints runs the passive cancel over two endpoints: the
// observer's Config.Notify rejects the NON notification, its endpoint
// answers RST, and the notifier's OnReset hears of it with the token.
func TestResetBetweenEndpoints(t *testing.T) {
	checkLeaks(t)
	srvCfg := fast(nil)
	srvCfg.Notify = func(netip.AddrPort, *Message) bool { return false }
	server := listen(t, srvCfg)
	devCfg, calls := resetRecorder(fast(nil))
	device := listen(t, devCfg)

	n := &Message{Type: NonConfirmable, Code: model.Content, Token: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Payload: []byte("x")}
	n.SetObserve(3)
	if err := device.Notify(ctxT(t, 5*time.Second), server.LocalAddr(), n); err != nil {
		t.Fatal(err)
	}
	wantReset(t, calls, server.LocalAddr(), string(n.Token))
	if l := device.notes.len(); l != 0 {
		t.Fatalf("%d notifications still remembered after their reset", l)
	}

	// A CON notification's reset is Notify's error, not OnReset's.
	n.Type = Confirmable
	if err := device.Notify(ctxT(t, 5*time.Second), server.LocalAddr(), n); !errors.Is(err, ErrReset) {
		t.Fatalf("CON notification: %v, want ErrReset", err)
	}
	noReset(t, calls, 100*time.Millisecond)
}

// TestNotifyTableBounded checks that the remembered notifications are
// bounded by MaxNotifyEntries, the oldest forgotten first, expire after
// EXCHANGE_LIFETIME, and are not kept at all without OnReset.
func TestNotifyTableBounded(t *testing.T) {
	checkLeaks(t)
	t.Run("count", func(t *testing.T) {
		cfg, calls := resetRecorder(fast(nil))
		cfg.MaxNotifyEntries = 4
		ep := listen(t, cfg)
		p := newRawPeer(t)
		var mids []uint16
		for range 10 {
			mids = append(mids, notifyNON(t, ep, p, "t"))
		}
		if l := ep.notes.len(); l != 4 {
			t.Fatalf("%d notifications remembered, want 4", l)
		}
		p.sendBytes(ep.LocalAddr(), emptyMessage(Reset, mids[0]))
		noReset(t, calls, 100*time.Millisecond)
		p.sendBytes(ep.LocalAddr(), emptyMessage(Reset, mids[9]))
		wantReset(t, calls, p.addr(), "t")
	})
	t.Run("lifetime", func(t *testing.T) {
		cfg, calls := resetRecorder(fast(nil))
		cfg.ExchangeLifetime = 100 * time.Millisecond
		ep := listen(t, cfg)
		p := newRawPeer(t)
		mid := notifyNON(t, ep, p, "t")
		waitFor(t, 3*time.Second, "the notification to expire", func() bool { return ep.notes.len() == 0 })
		p.sendBytes(ep.LocalAddr(), emptyMessage(Reset, mid))
		noReset(t, calls, 100*time.Millisecond)
	})
	t.Run("without OnReset", func(t *testing.T) {
		ep := listen(t, fast(nil))
		p := newRawPeer(t)
		mid := notifyNON(t, ep, p, "t")
		p.sendBytes(ep.LocalAddr(), emptyMessage(Reset, mid))
		if l := ep.notes.len(); l != 0 {
			t.Fatalf("%d notifications remembered without OnReset", l)
		}
	})
	t.Run("config", func(t *testing.T) {
		if _, err := (Config{MaxNotifyEntries: -1}).withDefaults(); err == nil {
			t.Fatal("negative MaxNotifyEntries accepted")
		}
	})
}

// TestOnResetPanic checks that a panicking OnReset does not stop the
// endpoint from reading.
func TestOnResetPanic(t *testing.T) {
	checkLeaks(t)
	cfg := fast(echo)
	cfg.OnReset = func(netip.AddrPort, []byte) { panic("broken callback") }
	ep := listen(t, cfg)
	p := newRawPeer(t)
	mid := notifyNON(t, ep, p, "t")
	p.sendBytes(ep.LocalAddr(), emptyMessage(Reset, mid))
	req := get("/after")
	req.MID = 4242
	p.send(ep.LocalAddr(), req)
	if _, m := p.mustRecv(); m.Type != Acknowledgement || string(m.Payload) != "/after:" {
		t.Fatalf("got %v after the panic, want the echo", m)
	}
}
