package transport

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

func TestPiggybackedResponse(t *testing.T) {
	checkLeaks(t)
	var seen atomic.Value
	srv := listen(t, fast(HandlerFunc(func(ctx context.Context, r *Request) *Message {
		seen.Store(r.Peer)
		return echo(ctx, r)
	})))
	cli := listen(t, fast(nil))
	req := get("/3/0/0")
	req.Token = []byte("tok1")
	resp, err := cli.Do(ctxT(t, 5*time.Second), srv.LocalAddr(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code != model.Content || string(resp.Payload) != "/3/0/0:" || resp.Type != Acknowledgement {
		t.Fatalf("response %v %q, want a piggybacked 2.05", resp, resp.Payload)
	}
	if !bytes.Equal(resp.Token, []byte("tok1")) {
		t.Fatalf("token %q, want the request's", resp.Token)
	}
	if p := seen.Load().(netip.AddrPort); p != cli.LocalAddr() {
		t.Fatalf("handler saw peer %v, want %v", p, cli.LocalAddr())
	}
	if len(req.Options) != 3 || req.MID != 0 || req.Type != Confirmable {
		t.Fatalf("Do modified the request: %v", req)
	}
}

func TestCodes(t *testing.T) {
	checkLeaks(t)
	panicky := HandlerFunc(func(_ context.Context, r *Request) *Message {
		switch r.Msg.Path() {
		case "/panic":
			panic("boom")
		case "/bad":
			return &Message{Code: GET} // a request code is no response
		case "/badopt":
			return &Message{Code: model.Content, Options: []Option{{0, nil}}}
		}
		return &Message{Code: model.Changed}
	})
	srv := listen(t, fast(panicky))
	nilSrv := listen(t, fast(nil))
	cli := listen(t, fast(nil))
	tests := []struct {
		name string
		to   *Endpoint
		req  *Message
		want model.Code
	}{
		{"nil handler answers 4.04", nilSrv, get("/x"), model.NotFound},
		{"handler panic answers 5.00", srv, get("/panic"), model.InternalServerError},
		{"request code from handler answers 5.00", srv, get("/bad"), model.InternalServerError},
		{"option 0 from handler answers 5.00", srv, get("/badopt"), model.InternalServerError},
		{"PUT", srv, &Message{Code: PUT, Payload: []byte("v")}, model.Changed},
		{"DELETE", srv, &Message{Code: DELETE}, model.Changed},
		{"iPATCH", srv, &Message{Code: IPATCH}, model.Changed},
		{"unknown method answers 4.05", srv, &Message{Code: 8}, model.MethodNotAllowed},
		{"unknown critical option answers 4.02", srv, &Message{Code: GET, Options: []Option{{9, nil}}}, model.BadOption},
		{"unknown elective option is ignored", srv, &Message{Code: GET, Options: []Option{{2048, []byte("x")}}}, model.Changed},
		{"Proxy-Uri answers 5.05", srv, &Message{Code: GET, Options: []Option{{OptProxyURI, []byte("coap://x")}}}, model.MakeCode(5, 5)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := cli.Do(ctxT(t, 5*time.Second), tc.to.LocalAddr(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Code != tc.want {
				t.Fatalf("code %s, want %s", resp.Code, tc.want)
			}
		})
	}
}

func TestSeparateResponse(t *testing.T) {
	checkLeaks(t)
	slow := HandlerFunc(func(ctx context.Context, r *Request) *Message {
		time.Sleep(300 * time.Millisecond)
		return echo(ctx, r)
	})
	cfg := fast(slow)
	cfg.SeparateResponseAfter = 50 * time.Millisecond
	srv := listen(t, cfg)

	t.Run("between endpoints", func(t *testing.T) {
		cli := listen(t, fast(nil))
		resp, err := cli.Do(ctxT(t, 5*time.Second), srv.LocalAddr(), get("/slow"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Type != Confirmable || string(resp.Payload) != "/slow:" {
			t.Fatalf("response %v, want a separate CON", resp)
		}
		waitFor(t, 2*time.Second, "the server's exchange to end", func() bool { return srv.Stats().Exchanges == 0 })
	})

	t.Run("on the wire", func(t *testing.T) {
		p := newRawPeer(t)
		req := get("/slow")
		req.MID, req.Token = 0x1234, []byte{7, 7}
		p.send(srv.LocalAddr(), req)
		_, ack := p.mustRecv()
		if ack.Type != Acknowledgement || !ack.IsEmpty() || ack.MID != 0x1234 {
			t.Fatalf("first answer %v, want an empty ACK", ack)
		}
		_, resp := p.mustRecv()
		if resp.Type != Confirmable || resp.Code != model.Content || !bytes.Equal(resp.Token, req.Token) {
			t.Fatalf("second answer %v, want a CON 2.05 with the token", resp)
		}
		// A duplicate of the request gets the empty ACK again.
		p.send(srv.LocalAddr(), req)
		_, again := p.mustRecv()
		if again.MID == resp.MID && again.Type == Confirmable {
			// The retransmitted response may come first; read on.
			_, again = p.mustRecv()
		}
		if again.Type != Acknowledgement || !again.IsEmpty() || again.MID != 0x1234 {
			t.Fatalf("answer to the duplicate %v, want the empty ACK", again)
		}
		p.send(srv.LocalAddr(), &Message{Type: Acknowledgement, MID: resp.MID})
		waitFor(t, 2*time.Second, "the server's exchange to end", func() bool { return srv.Stats().Exchanges == 0 })
	})
}

func TestNilResponse(t *testing.T) {
	checkLeaks(t)
	var calls atomic.Int32
	srv := listen(t, fast(HandlerFunc(func(context.Context, *Request) *Message { calls.Add(1); return nil })))
	p := newRawPeer(t)
	p.send(srv.LocalAddr(), &Message{Type: Confirmable, Code: POST, MID: 5, Token: []byte{1}})
	_, ack := p.mustRecv()
	if ack.Type != Acknowledgement || !ack.IsEmpty() || ack.MID != 5 {
		t.Fatalf("got %v, want an empty ACK", ack)
	}
	p.send(srv.LocalAddr(), &Message{Type: NonConfirmable, Code: POST, MID: 6, Token: []byte{1}})
	if _, m := p.recv(300 * time.Millisecond); m != nil {
		t.Fatalf("NON request with a nil response got %v", m)
	}
	if calls.Load() != 2 {
		t.Fatalf("handler called %d times", calls.Load())
	}
}

func TestNonConfirmable(t *testing.T) {
	checkLeaks(t)
	srv := listen(t, fast(echo))
	cli := listen(t, fast(nil))
	req := get("/non")
	req.Type = NonConfirmable
	resp, err := cli.Do(ctxT(t, 5*time.Second), srv.LocalAddr(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Type != NonConfirmable || string(resp.Payload) != "/non:" {
		t.Fatalf("response %v, want a NON", resp)
	}
}

func TestDuplicateCON(t *testing.T) {
	checkLeaks(t)
	var calls atomic.Int32
	srv := listen(t, fast(HandlerFunc(func(ctx context.Context, r *Request) *Message {
		calls.Add(1)
		return echo(ctx, r)
	})))
	p := newRawPeer(t)
	req := get("/dup")
	req.MID, req.Token = 42, []byte{1, 2}
	p.send(srv.LocalAddr(), req)
	first, m := p.mustRecv()
	if m.Type != Acknowledgement || m.MID != 42 {
		t.Fatalf("got %v", m)
	}
	p.send(srv.LocalAddr(), req)
	second, _ := p.mustRecv()
	if !bytes.Equal(first, second) {
		t.Fatalf("duplicate answered % x, first % x", second, first)
	}
	// A duplicate NON is ignored.
	non := get("/dup")
	non.Type, non.MID = NonConfirmable, 43
	p.send(srv.LocalAddr(), non)
	p.mustRecv()
	p.send(srv.LocalAddr(), non)
	if _, m := p.recv(200 * time.Millisecond); m != nil {
		t.Fatalf("duplicate NON answered with %v", m)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("handler called %d times, want 2", n)
	}
	if s := srv.Stats(); s.Duplicates != 2 {
		t.Fatalf("Duplicates = %d, want 2", s.Duplicates)
	}
}

func TestPingAndMalformed(t *testing.T) {
	checkLeaks(t)
	srv := listen(t, fast(echo))
	p := newRawPeer(t)
	tests := []struct {
		name  string
		wire  []byte
		reset bool
	}{
		{"empty CON is a ping: RST", []byte{0x40, 0, 0x12, 0x34}, true},
		{"CON with a bad option nibble: RST", []byte{0x40, 0x01, 0x12, 0x34, 0xf0}, true},
		{"CON with payload marker and no payload: RST", []byte{0x40, 0x01, 0x12, 0x34, 0xff}, true},
		{"empty CON with a token: RST", []byte{0x41, 0x00, 0x12, 0x34, 0x01}, true},
		{"NON with a format error: ignored", []byte{0x50, 0x01, 0x12, 0x34, 0xf0}, false},
		{"empty NON: ignored", []byte{0x50, 0x00, 0x12, 0x34}, false},
		{"too short: ignored", []byte{0x40, 0x01}, false},
		{"version 2: ignored", []byte{0x80, 0x01, 0x12, 0x34}, false},
		{"RST for nothing: ignored", []byte{0x70, 0x00, 0x12, 0x34}, false},
		{"request in an ACK: ignored", []byte{0x60, 0x01, 0x12, 0x34}, false},
		{"unmatched empty ACK: ignored", []byte{0x60, 0x00, 0x12, 0x34}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p.sendBytes(srv.LocalAddr(), tc.wire)
			_, m := p.recv(200 * time.Millisecond)
			switch {
			case tc.reset && (m == nil || m.Type != Reset || m.MID != 0x1234 || !m.IsEmpty()):
				t.Fatalf("got %v, want RST mid=4660", m)
			case !tc.reset && m != nil:
				t.Fatalf("got %v, want nothing", m)
			}
		})
	}
	if s := srv.Stats(); s.Malformed < 6 {
		t.Fatalf("Malformed = %d", s.Malformed)
	}
}

func TestGarbageDoesNotHurtOthers(t *testing.T) {
	checkLeaks(t)
	srv := listen(t, fast(echo))
	cli := listen(t, fast(nil))
	p := newRawPeer(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		b := make([]byte, 64)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			n := rng.IntN(len(b))
			for j := range n {
				b[j] = byte(rng.Uint32())
			}
			if n > 0 && i%2 == 0 {
				b[0] = 0x40 | b[0]&0x0f // mostly version 1, so the decoder works
			}
			p.c.WriteToUDPAddrPort(b[:n], srv.LocalAddr())
			if i%50 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for i := range 50 {
		resp, err := cli.Do(ctxT(t, 5*time.Second), srv.LocalAddr(), get("/ok"))
		if err != nil || resp.Code != model.Content {
			t.Fatalf("request %d: %v %v", i, resp, err)
		}
	}
	close(stop)
	wg.Wait()
	if s := srv.Stats(); s.Malformed == 0 {
		t.Fatalf("no malformed datagrams counted: %+v", s)
	}
}

func TestRetransmission(t *testing.T) {
	checkLeaks(t)
	tests := []struct {
		name       string
		dropClient int32 // requests lost on the way out
		dropServer int32 // responses lost on the way back
	}{
		{"requests lost", 2, 0},
		{"responses lost", 0, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			sc := loopbackConn(t)
			sc.dropWrites.Store(tc.dropServer)
			srv := startOn(t, sc, fast(HandlerFunc(func(ctx context.Context, r *Request) *Message {
				calls.Add(1)
				return echo(ctx, r)
			})))
			cc := loopbackConn(t)
			cc.dropWrites.Store(tc.dropClient)
			cli := startOn(t, cc, fast(nil))
			resp, err := cli.Do(ctxT(t, 10*time.Second), srv.LocalAddr(), get("/lossy"))
			if err != nil {
				t.Fatal(err)
			}
			if string(resp.Payload) != "/lossy:" {
				t.Fatalf("response %v", resp)
			}
			if n := cli.Stats().Retransmissions; n < 2 {
				t.Fatalf("Retransmissions = %d, want at least 2", n)
			}
			if n := calls.Load(); n != 1 {
				t.Fatalf("handler called %d times, want once (deduplication)", n)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	checkLeaks(t)
	cfg := fast(nil)
	cfg.ACKTimeout = 20 * time.Millisecond
	cfg.MaxRetransmit = 2
	cli := listen(t, cfg)
	p := newRawPeer(t)
	start := time.Now()
	_, err := cli.Do(ctxT(t, 10*time.Second), p.addr(), get("/silent"))
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, model.ErrGatewayTimeout) {
		t.Fatalf("err = %v, want ErrTimeout carrying 5.04", err)
	}
	// MAX_TRANSMIT_WAIT = 20 ms × (2^3 - 1) × 1.5 = 210 ms at most.
	if d := time.Since(start); d < 140*time.Millisecond {
		t.Fatalf("gave up after %v, before ACK_TIMEOUT × (2^(MAX_RETRANSMIT+1) - 1)", d)
	}
	var mids []uint16
	for {
		_, m := p.recv(50 * time.Millisecond)
		if m == nil {
			break
		}
		mids = append(mids, m.MID)
	}
	if len(mids) != 3 || mids[0] != mids[1] || mids[1] != mids[2] {
		t.Fatalf("peer got MIDs %v, want one CON sent three times", mids)
	}
	if s := cli.Stats(); s.Timeouts != 1 || s.Retransmissions != 2 || s.Exchanges != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNonTimeout(t *testing.T) {
	checkLeaks(t)
	cfg := fast(nil)
	cfg.ACKTimeout = 10 * time.Millisecond
	cfg.MaxRetransmit = 1
	cli := listen(t, cfg)
	p := newRawPeer(t)
	req := get("/silent")
	req.Type = NonConfirmable
	if _, err := cli.Do(ctxT(t, 5*time.Second), p.addr(), req); !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
}

func TestContextCancel(t *testing.T) {
	checkLeaks(t)
	cli := listen(t, fast(nil))
	p := newRawPeer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := cli.Do(ctx, p.addr(), get("/silent"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
	if n := cli.Stats().Exchanges; n != 0 {
		t.Fatalf("%d exchanges left", n)
	}
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := cli.Do(cancelled, p.addr(), get("/x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v with a cancelled context", err)
	}
}

func TestCloseFailsPending(t *testing.T) {
	checkLeaks(t)
	cli := listen(t, fast(nil))
	p := newRawPeer(t)
	errs := make(chan error, 2)
	go func() {
		_, err := cli.Do(context.Background(), p.addr(), get("/silent"))
		errs <- err
	}()
	go func() {
		n := &Message{Type: Confirmable, Code: model.Content, Token: []byte{1}}
		errs <- cli.Notify(context.Background(), p.addr(), n)
	}()
	waitFor(t, 2*time.Second, "two exchanges", func() bool { return cli.Stats().Exchanges == 2 })
	if err := cli.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errs; !errors.Is(err, ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", err)
		}
	}
	if _, err := cli.Do(context.Background(), p.addr(), get("/x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Do after Close: %v", err)
	}
	if err := cli.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestCloseWaitsForHandlers(t *testing.T) {
	checkLeaks(t)
	started := make(chan struct{})
	var finished atomic.Bool
	srv := listen(t, fast(HandlerFunc(func(ctx context.Context, _ *Request) *Message {
		close(started)
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond)
		finished.Store(true)
		return nil
	})))
	p := newRawPeer(t)
	p.send(srv.LocalAddr(), &Message{Type: NonConfirmable, Code: GET, MID: 1})
	<-started
	srv.Close()
	if !finished.Load() {
		t.Fatal("Close returned before the handler")
	}
}

// TestObserve plays both sides of an LwM2M observation: the device
// endpoint serves the Observe GET and later sends notifications with
// Notify; the server endpoint observes with Do and receives the
// notifications through Config.Notify.
func TestObserve(t *testing.T) {
	checkLeaks(t)
	type note struct {
		peer netip.AddrPort
		msg  *Message
	}
	notes := make(chan note, 16)
	var accept atomic.Bool
	accept.Store(true)
	srvCfg := fast(nil)
	srvCfg.Notify = func(peer netip.AddrPort, m *Message) bool {
		notes <- note{peer, m}
		return accept.Load()
	}
	server := listen(t, srvCfg) // the LwM2M server

	var obsToken atomic.Value
	device := listen(t, fast(HandlerFunc(func(_ context.Context, r *Request) *Message {
		if v, ok := r.Msg.Observe(); ok && v == 0 {
			obsToken.Store(append([]byte(nil), r.Msg.Token...))
		}
		m := &Message{Code: model.Content, Payload: []byte("v0")}
		m.SetObserve(1)
		return m
	})))

	req := get("/3303/0/5700")
	req.SetObserve(0)
	req.Token = []byte("obs-1")
	resp, err := server.Do(ctxT(t, 5*time.Second), device.LocalAddr(), req)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := resp.Observe(); !ok || v != 1 || string(resp.Payload) != "v0" {
		t.Fatalf("first response %v", resp)
	}
	if tok, _ := obsToken.Load().([]byte); string(tok) != "obs-1" {
		t.Fatalf("device saw token %q", tok)
	}

	for i, typ := range []Type{Confirmable, NonConfirmable, Confirmable} {
		n := &Message{Type: typ, Code: model.Content, Token: []byte("obs-1"), Payload: []byte{byte('1' + i)}}
		n.SetObserve(uint32(2 + i))
		if err := device.Notify(ctxT(t, 5*time.Second), server.LocalAddr(), n); err != nil {
			t.Fatalf("notification %d (%s): %v", i, typ, err)
		}
		select {
		case got := <-notes:
			if got.peer != device.LocalAddr() || string(got.msg.Token) != "obs-1" || string(got.msg.Payload) != string(n.Payload) || got.msg.Type != typ {
				t.Fatalf("notification %d: got %v from %v", i, got.msg, got.peer)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("notification %d not delivered", i)
		}
	}

	// The server stops caring: Config.Notify returns false, the endpoint
	// answers RST, and the device's Notify reports ErrReset.
	accept.Store(false)
	n := &Message{Type: Confirmable, Code: model.Content, Token: []byte("obs-1"), Payload: []byte("x")}
	n.SetObserve(9)
	if err := device.Notify(ctxT(t, 5*time.Second), server.LocalAddr(), n); !errors.Is(err, ErrReset) {
		t.Fatalf("Notify after cancel: %v, want ErrReset", err)
	}
	<-notes
}

// TestNotificationDuplicate checks that a retransmitted CON notification
// is acknowledged again but delivered once, and that a retransmitted
// separate response does not end up in Config.Notify.
func TestNotificationDuplicate(t *testing.T) {
	checkLeaks(t)
	var delivered atomic.Int32
	cfg := fast(nil)
	cfg.Notify = func(netip.AddrPort, *Message) bool { delivered.Add(1); return true }
	ep := listen(t, cfg)
	p := newRawPeer(t)

	n := &Message{Type: Confirmable, Code: model.Content, MID: 77, Token: []byte{5}}
	n.SetObserve(3)
	for range 2 {
		// The retransmission follows the ACK; one arriving while Notify
		// still runs would be ignored.
		p.send(ep.LocalAddr(), n)
		if _, m := p.mustRecv(); m.Type != Acknowledgement || m.MID != 77 {
			t.Fatalf("got %v, want ACK mid=77", m)
		}
	}

	// A separate response to our request, sent twice.
	done := make(chan *Message, 1)
	go func() {
		resp, _ := ep.Do(context.Background(), p.addr(), get("/sep"))
		done <- resp
	}()
	_, req := p.mustRecv()
	p.send(ep.LocalAddr(), &Message{Type: Acknowledgement, MID: req.MID})
	sep := &Message{Type: Confirmable, Code: model.Content, MID: 900, Token: req.Token, Payload: []byte("late")}
	for range 2 {
		// As above: the retransmission follows the ACK, so that a loaded
		// machine cannot make it arrive while the first is in progress.
		p.send(ep.LocalAddr(), sep)
		if _, m := p.mustRecv(); m.Type != Acknowledgement || m.MID != 900 {
			t.Fatalf("got %v, want ACK mid=900", m)
		}
	}
	if resp := <-done; resp == nil || string(resp.Payload) != "late" {
		t.Fatalf("Do returned %v", resp)
	}
	if n := delivered.Load(); n != 1 {
		t.Fatalf("Notify called %d times, want 1", n)
	}
}

func TestUnknownNotificationIsReset(t *testing.T) {
	checkLeaks(t)
	ep := listen(t, fast(nil)) // no Notify: reject all
	p := newRawPeer(t)
	for i, typ := range []Type{Confirmable, NonConfirmable} {
		n := &Message{Type: typ, Code: model.Content, MID: uint16(10 + i), Token: []byte{9}}
		n.SetObserve(4)
		p.send(ep.LocalAddr(), n)
		if _, m := p.mustRecv(); m.Type != Reset || m.MID != n.MID {
			t.Fatalf("%s notification: got %v, want RST", typ, m)
		}
	}
}

func TestNotifyErrors(t *testing.T) {
	checkLeaks(t)
	ep := listen(t, fast(nil))
	p := newRawPeer(t)
	big := &Message{Type: NonConfirmable, Code: model.Content, Payload: make([]byte, 2000)}
	if err := ep.Notify(ctxT(t, time.Second), p.addr(), big); model.CodeOf(err) != model.RequestEntityTooLarge {
		t.Fatalf("large notification: %v, want 4.13", err)
	}
	if err := ep.Notify(ctxT(t, time.Second), p.addr(), get("/x")); err == nil {
		t.Fatal("request accepted as a notification")
	}
	ack := &Message{Type: Acknowledgement, Code: model.Content}
	if err := ep.Notify(ctxT(t, time.Second), p.addr(), ack); err == nil {
		t.Fatal("ACK accepted as a notification")
	}
}

func TestServiceUnavailable(t *testing.T) {
	checkLeaks(t)
	release := make(chan struct{})
	cfg := fast(HandlerFunc(func(ctx context.Context, r *Request) *Message {
		<-release
		return echo(ctx, r)
	}))
	cfg.MaxInFlightHandlers = 1
	cfg.SeparateResponseAfter = 10 * time.Second
	srv := listen(t, cfg)
	cli := listen(t, fast(nil))
	first := make(chan error, 1)
	go func() {
		_, err := cli.Do(context.Background(), srv.LocalAddr(), get("/a"))
		first <- err
	}()
	waitFor(t, 2*time.Second, "the first handler", func() bool { return srv.Stats().InFlight == 1 })
	resp, err := cli.Do(ctxT(t, 5*time.Second), srv.LocalAddr(), get("/b"))
	if err != nil {
		t.Fatal(err)
	}
	if age, ok := resp.Uint(OptMaxAge); resp.Code != model.ServiceUnavailable || !ok || age == 0 {
		t.Fatalf("response %v, want 5.03 with Max-Age", resp)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if srv.Stats().Rejected != 1 {
		t.Fatalf("Rejected = %d", srv.Stats().Rejected)
	}
}

func TestNoResponse(t *testing.T) {
	checkLeaks(t)
	srv := listen(t, fast(HandlerFunc(func(context.Context, *Request) *Message { return &Message{Code: model.Changed} })))
	p := newRawPeer(t)
	non := &Message{Type: NonConfirmable, Code: PUT, MID: 1}
	non.SetUint(OptNoResponse, 2) // not interested in 2.xx
	p.send(srv.LocalAddr(), non)
	if _, m := p.recv(200 * time.Millisecond); m != nil {
		t.Fatalf("got %v despite No-Response", m)
	}
	con := &Message{Type: Confirmable, Code: PUT, MID: 2}
	con.SetUint(OptNoResponse, 2)
	p.send(srv.LocalAddr(), con)
	if _, m := p.mustRecv(); m.Type != Acknowledgement || !m.IsEmpty() {
		t.Fatalf("got %v, want an empty ACK", m)
	}
	con.MID = 3
	con.SetUint(OptNoResponse, 8) // not interested in 4.xx only
	p.send(srv.LocalAddr(), con)
	if _, m := p.mustRecv(); m.Code != model.Changed {
		t.Fatalf("got %v, want 2.04", m)
	}
}

func TestRateLimitIsolatesPeers(t *testing.T) {
	checkLeaks(t)
	var fromFlood, fromGood atomic.Int32
	var flooder atomic.Value
	cfg := fast(HandlerFunc(func(ctx context.Context, r *Request) *Message {
		if f, _ := flooder.Load().(netip.AddrPort); r.Peer == f {
			fromFlood.Add(1)
		} else {
			fromGood.Add(1)
		}
		return echo(ctx, r)
	}))
	cfg.PeerRate, cfg.PeerBurst = 50, 20
	srv := listen(t, cfg)
	p := newRawPeer(t)
	flooder.Store(p.addr())
	cli := listen(t, fast(nil))

	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m := get("/flood")
			m.Type, m.MID = NonConfirmable, uint16(i)
			p.send(srv.LocalAddr(), m)
			if i%20 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	const good = 30
	for i := range good {
		if _, err := cli.Do(ctxT(t, 5*time.Second), srv.LocalAddr(), get("/good")); err != nil {
			t.Fatalf("request %d of the quiet peer: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)
	// The flooder gets its burst plus the rate, and nothing more.
	allowed := 20 + 50*elapsed.Seconds() + 5
	if n := fromFlood.Load(); float64(n) > allowed {
		t.Fatalf("flooder got %d requests through in %v, want at most %.0f", n, elapsed, allowed)
	}
	if fromGood.Load() != good {
		t.Fatalf("quiet peer served %d times, want %d", fromGood.Load(), good)
	}
	if srv.Stats().Dropped == 0 {
		t.Fatal("nothing dropped")
	}
}

func TestIdlePeerDropped(t *testing.T) {
	checkLeaks(t)
	cfg := fast(echo)
	cfg.PeerIdleTimeout = 100 * time.Millisecond
	srv := listen(t, cfg)
	cli := listen(t, fast(nil))
	if _, err := cli.Do(ctxT(t, 5*time.Second), srv.LocalAddr(), get("/x")); err != nil {
		t.Fatal(err)
	}
	if n := srv.Stats().Peers; n != 1 {
		t.Fatalf("Peers = %d, want 1", n)
	}
	waitFor(t, 3*time.Second, "the idle peer to go", func() bool { return srv.Stats().Peers == 0 })
	// And it comes back as a new peer.
	if _, err := cli.Do(ctxT(t, 5*time.Second), srv.LocalAddr(), get("/x")); err != nil {
		t.Fatal(err)
	}
}

// TestNotificationAfterIdle checks that a notification still reaches
// Config.Notify after the peer's state was dropped: routing is by token,
// and observations live with the caller.
func TestNotificationAfterIdle(t *testing.T) {
	checkLeaks(t)
	got := make(chan string, 1)
	cfg := fast(nil)
	cfg.PeerIdleTimeout = 50 * time.Millisecond
	cfg.Notify = func(_ netip.AddrPort, m *Message) bool { got <- string(m.Token); return true }
	server := listen(t, cfg)
	device := listen(t, fast(HandlerFunc(func(context.Context, *Request) *Message {
		m := &Message{Code: model.Content}
		m.SetObserve(1)
		return m
	})))
	req := get("/3/0")
	req.SetObserve(0)
	req.Token = []byte("keep")
	if _, err := server.Do(ctxT(t, 5*time.Second), device.LocalAddr(), req); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "peer state to go", func() bool { return server.Stats().Peers == 0 })
	n := &Message{Type: Confirmable, Code: model.Content, Token: []byte("keep")}
	n.SetObserve(2)
	if err := device.Notify(ctxT(t, 5*time.Second), server.LocalAddr(), n); err != nil {
		t.Fatal(err)
	}
	if tok := <-got; tok != "keep" {
		t.Fatalf("token %q", tok)
	}
}

func TestDedupBounded(t *testing.T) {
	checkLeaks(t)
	var calls atomic.Int32
	cfg := fast(HandlerFunc(func(context.Context, *Request) *Message { calls.Add(1); return nil }))
	cfg.MaxDedupEntries = 16
	srv := listen(t, cfg)
	p := newRawPeer(t)
	for i := range 100 {
		m := get("/x")
		m.Type, m.MID = NonConfirmable, uint16(i)
		p.send(srv.LocalAddr(), m)
	}
	waitFor(t, 3*time.Second, "100 handler calls", func() bool { return calls.Load() == 100 })
	if n := srv.Stats().DedupEntries; n > 16 {
		t.Fatalf("DedupEntries = %d, want at most 16", n)
	}
	// The newest are still remembered, the oldest are not.
	m := get("/x")
	m.Type, m.MID = NonConfirmable, 99
	p.send(srv.LocalAddr(), m)
	m.MID = 0
	p.send(srv.LocalAddr(), m)
	waitFor(t, 3*time.Second, "the evicted MID to be served again", func() bool { return calls.Load() == 101 })
	time.Sleep(50 * time.Millisecond)
	if n := calls.Load(); n != 101 {
		t.Fatalf("handler called %d times, want 101", n)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"random factor below 1", Config{ACKRandomFactor: 0.5}},
		{"negative timeout", Config{ACKTimeout: -1}},
		{"block size 100", Config{BlockSize: 100}},
		{"block size 2048", Config{BlockSize: 2048}},
		{"body below block", Config{MaxBodySize: 10}},
		{"too many retransmissions", Config{MaxRetransmit: 50}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if e, err := Listen("127.0.0.1:0", tc.cfg); err == nil {
				e.Close()
				t.Fatal("accepted")
			}
		})
	}
	if _, err := Listen("not an address", Config{}); err == nil {
		t.Fatal("bad address accepted")
	}
}

func TestReadBuffer(t *testing.T) {
	checkLeaks(t)
	e := listen(t, Config{})
	s := e.Stats()
	t.Logf("asked for 4 MiB, kernel reports SO_RCVBUF %d, net.core.rmem_max %d", s.ReadBuffer, s.ReadBufferLimit)
	if s.ReadBuffer == 0 {
		t.Skip("SO_RCVBUF not readable here")
	}
	if s.ReadBufferLimit >= 4<<20 && s.ReadBuffer < 4<<20 {
		t.Fatalf("granted %d although rmem_max is %d", s.ReadBuffer, s.ReadBufferLimit)
	}
}

func TestDoErrors(t *testing.T) {
	checkLeaks(t)
	cli := listen(t, fast(nil))
	p := newRawPeer(t)
	if _, err := cli.Do(ctxT(t, time.Second), p.addr(), nil); err == nil {
		t.Fatal("nil request accepted")
	}
	if _, err := cli.Do(ctxT(t, time.Second), p.addr(), &Message{Code: model.Content}); err == nil {
		t.Fatal("response accepted as a request")
	}
	long := get("/x")
	long.Token = make([]byte, 9)
	if _, err := cli.Do(ctxT(t, time.Second), p.addr(), long); err == nil {
		t.Fatal("9-byte token accepted")
	}
	// A token in use towards the same peer is refused.
	req := get("/x")
	req.Token = []byte("same")
	go cli.Do(ctxT(t, 2*time.Second), p.addr(), req)
	waitFor(t, time.Second, "the first exchange", func() bool { return cli.Stats().Exchanges == 1 })
	if _, err := cli.Do(ctxT(t, time.Second), p.addr(), req); err == nil {
		t.Fatal("token in use accepted")
	}
}

// TestResetFailsDo checks that a RST answering a CON request fails Do
// with ErrReset (RFC 7252 section 4.2).
func TestResetFailsDo(t *testing.T) {
	checkLeaks(t)
	cli := listen(t, fast(nil))
	p := newRawPeer(t)
	errs := make(chan error, 1)
	go func() {
		_, err := cli.Do(ctxT(t, 5*time.Second), p.addr(), get("/x"))
		errs <- err
	}()
	_, req := p.mustRecv()
	p.send(cli.LocalAddr(), &Message{Type: Reset, MID: req.MID})
	if err := <-errs; !errors.Is(err, ErrReset) {
		t.Fatalf("err = %v, want ErrReset", err)
	}
}

// TestForeignTokenIgnored checks that a piggybacked response whose token
// does not match is not taken for the response (RFC 7252 section 5.3.2).
func TestForeignTokenIgnored(t *testing.T) {
	checkLeaks(t)
	cli := listen(t, fast(nil))
	p := newRawPeer(t)
	done := make(chan *Message, 1)
	go func() {
		resp, _ := cli.Do(ctxT(t, 5*time.Second), p.addr(), get("/x"))
		done <- resp
	}()
	_, req := p.mustRecv()
	p.send(cli.LocalAddr(), &Message{Type: Acknowledgement, Code: model.Content, MID: req.MID, Token: []byte("other"), Payload: []byte("no")})
	p.send(cli.LocalAddr(), &Message{Type: Acknowledgement, Code: model.Content, MID: req.MID, Token: req.Token, Payload: []byte("yes")})
	if resp := <-done; resp == nil || string(resp.Payload) != "yes" {
		t.Fatalf("Do returned %v", resp)
	}
}

// TestReusedMIDWithNewToken checks that a message reusing a remembered
// MID with another token is served as new, not answered with the old
// response (which would carry the wrong token).
func TestReusedMIDWithNewToken(t *testing.T) {
	checkLeaks(t)
	var calls atomic.Int32
	srv := listen(t, fast(HandlerFunc(func(ctx context.Context, r *Request) *Message {
		calls.Add(1)
		return echo(ctx, r)
	})))
	p := newRawPeer(t)
	for i, tok := range []string{"first", "second"} {
		req := get("/reuse")
		req.MID, req.Token = 9, []byte(tok)
		p.send(srv.LocalAddr(), req)
		if _, m := p.mustRecv(); string(m.Token) != tok || m.Code != model.Content {
			t.Fatalf("request %d: got %v, want 2.05 with token %q", i, m, tok)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("handler called %d times", n)
	}
}

// TestHandlerGoroutinesRetire checks the pool of handler goroutines: a
// burst starts one per request in flight, they are reused while they are
// busy, and the ones idle for handlerIdle exit.
func TestHandlerGoroutinesRetire(t *testing.T) {
	checkLeaks(t)
	const burst = 20
	release := make(chan struct{})
	var calls atomic.Int32
	srv := listen(t, fast(HandlerFunc(func(ctx context.Context, r *Request) *Message {
		if calls.Add(1) <= burst {
			<-release
		}
		return &Message{Code: model.Content}
	})))
	p := newRawPeer(t)
	for i := range burst {
		req := get("/burst")
		req.Type, req.MID, req.Token = NonConfirmable, uint16(100+i), []byte{byte(i)}
		p.send(srv.LocalAddr(), req)
	}
	waitFor(t, 5*time.Second, "the burst in its handlers", func() bool { return srv.inflight.Load() == burst })
	close(release)
	for range burst {
		p.mustRecv()
	}
	waitFor(t, 5*time.Second, "handlers idle", func() bool { return srv.idleHandlers.Load() == burst })

	// Busy goroutines are reused: requests one after the other start none.
	for i := range 10 {
		req := get("/again")
		req.MID, req.Token = uint16(200+i), []byte{byte(i)}
		p.send(srv.LocalAddr(), req)
		p.mustRecv()
	}
	if n := srv.idleHandlers.Load(); n > burst {
		t.Fatalf("%d idle handler goroutines after sequential requests, want at most %d", n, burst)
	}

	// Idle for handlerIdle, they go: all but the one the last requests
	// kept busy within the first second, then that one too.
	start := time.Now()
	waitFor(t, 10*time.Second, "idle handlers retired", func() bool { return srv.idleHandlers.Load() == 0 })
	if d := time.Since(start); d < handlerIdle/2 {
		t.Fatalf("handler goroutines retired after %v, before handlerIdle (%v)", d, handlerIdle)
	}
	// And a new request still gets served.
	req := get("/after")
	req.MID, req.Token = 300, []byte("after")
	p.send(srv.LocalAddr(), req)
	if _, m := p.mustRecv(); m.Code != model.Content {
		t.Fatalf("after the pool emptied: %v", m)
	}
}
