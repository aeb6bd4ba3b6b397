package transport

import (
	"context"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// deferring is a handler that defers every request and hands its
// responder to the test.
func deferring(out chan<- func(*Message)) Handler {
	return HandlerFunc(func(_ context.Context, r *Request) *Message {
		respond := r.Defer()
		if respond == nil {
			panic("Defer returned nil for a request from an endpoint")
		}
		out <- respond
		return &Message{Code: model.BadRequest} // ignored: the request is deferred
	})
}

func TestDeferredResponse(t *testing.T) {
	checkLeaks(t)
	responders := make(chan func(*Message), 8)
	cfg := fast(deferring(responders))
	cfg.MaxInFlightHandlers = 2
	srv := listen(t, cfg)
	p := newRawPeer(t)

	// A CON answered later, within SeparateResponseAfter: the response
	// rides on the ACK; a second answer is not sent.
	req := get("/later")
	req.MID, req.Token = 1, []byte("a")
	p.send(srv.LocalAddr(), req)
	respond := <-responders
	if _, m := p.recv(50 * time.Millisecond); m != nil {
		t.Fatalf("got %v before the handler answered", m)
	}
	respond(&Message{Code: model.Content, Payload: []byte("late")})
	respond(&Message{Code: model.Content, Payload: []byte("twice")})
	if _, m := p.mustRecv(); m.Type != Acknowledgement || m.Code != model.Content || string(m.Payload) != "late" || string(m.Token) != "a" {
		t.Fatalf("deferred response: %v", m)
	}
	if _, m := p.recv(100 * time.Millisecond); m != nil {
		t.Fatalf("a second answer was sent: %v", m)
	}

	// Deferred requests count as in flight until answered: with two
	// pending, a third is refused with 5.03.
	var pending []func(*Message)
	for i := range 2 {
		req := get("/held")
		req.Type, req.MID, req.Token = NonConfirmable, uint16(10+i), []byte{byte(i)}
		p.send(srv.LocalAddr(), req)
		pending = append(pending, <-responders)
	}
	req = get("/third")
	req.Type, req.MID, req.Token = NonConfirmable, 20, []byte("3")
	p.send(srv.LocalAddr(), req)
	if _, m := p.mustRecv(); m.Code != model.ServiceUnavailable || string(m.Token) != "3" {
		t.Fatalf("third request while two are deferred: %v", m)
	}
	for _, respond := range pending {
		respond(&Message{Code: model.Changed})
		if _, m := p.mustRecv(); m.Code != model.Changed || m.Type != NonConfirmable {
			t.Fatalf("deferred NON answer: %v", m)
		}
	}
	req = get("/after")
	req.Type, req.MID, req.Token = NonConfirmable, 21, []byte("4")
	p.send(srv.LocalAddr(), req)
	(<-responders)(&Message{Code: model.Content})
	if _, m := p.mustRecv(); m.Code != model.Content || string(m.Token) != "4" {
		t.Fatalf("request after the deferred ones were answered: %v", m)
	}
}

// A deferred CON answered after SeparateResponseAfter gets its empty ACK
// first and then the response as a separate CON.
func TestDeferredResponseSeparate(t *testing.T) {
	checkLeaks(t)
	responders := make(chan func(*Message), 1)
	srv := listen(t, fast(deferring(responders)))
	p := newRawPeer(t)
	req := get("/slow")
	req.MID, req.Token = 7, []byte("s")
	p.send(srv.LocalAddr(), req)
	respond := <-responders
	if _, m := p.mustRecv(); m.Type != Acknowledgement || m.Code != 0 || m.MID != 7 {
		t.Fatalf("want the empty ACK first, got %v", m)
	}
	respond(&Message{Code: model.Content, Payload: []byte("done")})
	_, m := p.mustRecv()
	if m.Type != Confirmable || m.Code != model.Content || string(m.Token) != "s" {
		t.Fatalf("separate response: %v", m)
	}
	p.send(srv.LocalAddr(), &Message{Type: Acknowledgement, MID: m.MID})
}

// A handler that defers and then panics answers 5.00 at once; its
// responder then does nothing.
func TestDeferThenPanic(t *testing.T) {
	checkLeaks(t)
	responders := make(chan func(*Message), 1)
	srv := listen(t, fast(HandlerFunc(func(_ context.Context, r *Request) *Message {
		responders <- r.Defer()
		panic("broken handler")
	})))
	p := newRawPeer(t)
	req := get("/panic")
	req.MID, req.Token = 3, []byte("p")
	p.send(srv.LocalAddr(), req)
	if _, m := p.mustRecv(); m.Code != model.InternalServerError {
		t.Fatalf("after a panic: %v", m)
	}
	(<-responders)(&Message{Code: model.Content})
	if _, m := p.recv(100 * time.Millisecond); m != nil {
		t.Fatalf("the responder of a panicked handler sent %v", m)
	}
	if n := srv.inflight.Load(); n != 0 {
		t.Fatalf("%d requests in flight after the panic", n)
	}
}

func TestDeferOutsideAnEndpoint(t *testing.T) {
	r := &Request{Msg: get("/x")}
	if r.Defer() != nil {
		t.Fatal("Defer of a Request no endpoint made returned a responder")
	}
}

// Batch holds back what is written during it, and sends it all after.
func TestBatchHoldsWrites(t *testing.T) {
	checkLeaks(t)
	const n = 20
	responders := make(chan func(*Message), n)
	srv := listen(t, fast(deferring(responders)))
	p := newRawPeer(t)
	var all []func(*Message)
	for i := range n {
		req := get("/b")
		req.Type, req.MID, req.Token = NonConfirmable, uint16(i), []byte{byte(i)}
		p.send(srv.LocalAddr(), req)
		all = append(all, <-responders)
	}
	sent := srv.Stats().Sent
	srv.Batch(func() {
		for _, respond := range all {
			respond(&Message{Code: model.Content})
		}
		time.Sleep(30 * time.Millisecond)
		if got := srv.Stats().Sent; got != sent {
			t.Errorf("%d datagrams sent during Batch", got-sent)
		}
	})
	seen := map[byte]bool{}
	for range n {
		_, m := p.mustRecv()
		seen[m.Token[0]] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct responses after Batch, want %d", len(seen), n)
	}
}

// Requests Config.Inline picks are served on the reading goroutine: no
// handler goroutine is started for them; the others still get one.
func TestInlineHandler(t *testing.T) {
	checkLeaks(t)
	responders := make(chan func(*Message), 16)
	cfg := fast(HandlerFunc(func(_ context.Context, r *Request) *Message {
		if r.Msg.Path() == "/inline" {
			respond := r.Defer()
			go func() { responders <- respond }()
			return nil
		}
		return &Message{Code: model.Content, Payload: []byte("pooled")}
	}))
	cfg.Inline = func(m *Message) bool { return m.Path() == "/inline" }
	srv := listen(t, cfg)
	p := newRawPeer(t)
	for i := range 10 {
		req := get("/inline")
		req.MID, req.Token = uint16(i), []byte{byte(i)}
		p.send(srv.LocalAddr(), req)
		(<-responders)(&Message{Code: model.Changed})
		if _, m := p.mustRecv(); m.Code != model.Changed || m.Token[0] != byte(i) {
			t.Fatalf("inline request %d: %v", i, m)
		}
	}
	if n := srv.idleHandlers.Load(); n != 0 {
		t.Fatalf("%d handler goroutines started for inline requests", n)
	}
	req := get("/other")
	req.MID, req.Token = 100, []byte("o")
	p.send(srv.LocalAddr(), req)
	if _, m := p.mustRecv(); m.Code != model.Content || string(m.Payload) != "pooled" {
		t.Fatalf("other request: %v", m)
	}
	waitFor(t, 5*time.Second, "a handler goroutine for the other request", func() bool { return srv.idleHandlers.Load() == 1 })
}
