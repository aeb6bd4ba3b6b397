package transport

import (
	"context"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// A slow handler at the head of the watch gets its empty ACK, and the fast
// requests behind it get piggybacked responses, not an ACK of their own.
func TestSeparateWatchSlowHeadFastBehind(t *testing.T) {
	checkLeaks(t)
	cfg := fast(HandlerFunc(func(ctx context.Context, r *Request) *Message {
		if r.Msg.Path() == "/slow" {
			time.Sleep(300 * time.Millisecond)
		}
		return &Message{Code: model.Content}
	}))
	cfg.SeparateResponseAfter = 100 * time.Millisecond
	srv := listen(t, cfg)
	p := newRawPeer(t)
	slow := get("/slow")
	slow.MID, slow.Token = 1, []byte{1}
	p.send(srv.LocalAddr(), slow)
	for i := range 5 {
		m := get("/fast")
		m.MID, m.Token = uint16(10+i), []byte{byte(10 + i)}
		p.send(srv.LocalAddr(), m)
		_, resp := p.mustRecv()
		if resp.Type != Acknowledgement || resp.Code != model.Content || resp.MID != m.MID {
			t.Fatalf("fast request %d: got %v, want a piggybacked 2.05", i, resp)
		}
	}
	_, ack := p.mustRecv()
	if ack.Type != Acknowledgement || !ack.IsEmpty() || ack.MID != 1 {
		t.Fatalf("got %v, want the slow request's empty ACK", ack)
	}
	_, resp := p.mustRecv()
	if resp.Type != Confirmable || resp.Code != model.Content || string(resp.Token) != "\x01" {
		t.Fatalf("got %v, want the separate 2.05", resp)
	}
}

// Answered requests leave the watch as new ones come: it holds about as
// many entries as handlers run, not one per request served.
func TestSeparateWatchStaysSmall(t *testing.T) {
	checkLeaks(t)
	srv := listen(t, fast(HandlerFunc(func(context.Context, *Request) *Message { return &Message{Code: model.Content} })))
	cli := listen(t, fast(nil))
	for i := range 500 {
		if _, err := cli.Do(ctxT(t, 5*time.Second), srv.LocalAddr(), get("/x")); err != nil {
			t.Fatal(i, err)
		}
	}
	if n := srv.slow.len(); n > 2 {
		t.Fatalf("%d requests watched after 500 sequential ones, want at most 2", n)
	}
}
