package transport

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// blockHandler serves GET /big with a 100 KB body and answers a POST or
// PUT with 2.04 and the SHA-free evidence of what it got: the body itself
// echoed back when the path is /echo, else its length.
func blockHandler(big []byte, posts *atomic.Int32) Handler {
	return HandlerFunc(func(_ context.Context, r *Request) *Message {
		switch {
		case r.Msg.Code == GET && r.Msg.Path() == "/big":
			m := &Message{Code: model.Content, Payload: big}
			m.SetContentFormat(42)
			return m
		case r.Msg.Path() == "/echo":
			posts.Add(1)
			return &Message{Code: model.Changed, Payload: r.Msg.Payload}
		default:
			posts.Add(1)
			if _, ok := r.Msg.Block1(); ok {
				return &Message{Code: model.BadRequest, Payload: []byte("handler saw Block1")}
			}
			return &Message{Code: model.Changed, Payload: []byte{byte(len(r.Msg.Payload) >> 16), byte(len(r.Msg.Payload) >> 8), byte(len(r.Msg.Payload))}}
		}
	})
}

// TestBlockwise runs 100 KB Block1 and Block2 transfers between two
// endpoints, each way.
func TestBlockwise(t *testing.T) {
	checkLeaks(t)
	big := pattern(100_000)
	var postsA, postsB atomic.Int32
	a := listen(t, fast(blockHandler(big, &postsA)))
	b := listen(t, fast(blockHandler(big, &postsB)))
	for _, dir := range []struct {
		name     string
		from, to *Endpoint
		posts    *atomic.Int32
	}{{"a to b", a, b, &postsB}, {"b to a", b, a, &postsA}} {
		t.Run(dir.name+" Block2", func(t *testing.T) {
			resp, err := dir.from.Do(ctxT(t, 10*time.Second), dir.to.LocalAddr(), get("/big"))
			if err != nil {
				t.Fatal(err)
			}
			mustEqualBytes(t, "body", resp.Payload, big)
			if cf, _ := resp.ContentFormat(); cf != 42 || resp.has(OptBlock2) || resp.has(OptSize2) {
				t.Fatalf("response options %v", resp.Options)
			}
		})
		t.Run(dir.name+" Block1", func(t *testing.T) {
			before := dir.posts.Load()
			req := &Message{Code: POST, Payload: big}
			req.SetPath("/upload")
			resp, err := dir.from.Do(ctxT(t, 10*time.Second), dir.to.LocalAddr(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Code != model.Changed || len(resp.Payload) != 3 || int(resp.Payload[0])<<16|int(resp.Payload[1])<<8|int(resp.Payload[2]) != len(big) {
				t.Fatalf("response %v %q", resp, resp.Payload)
			}
			if n := dir.posts.Load() - before; n != 1 {
				t.Fatalf("handler called %d times, want once with the whole body", n)
			}
			if b1, ok := resp.Block1(); !ok || b1.More {
				t.Fatalf("final response Block1 %+v %t, want M=0 (RFC 7959 section 2.3)", b1, ok)
			}
		})
		t.Run(dir.name+" Block1 and Block2", func(t *testing.T) {
			req := &Message{Code: POST, Payload: big}
			req.SetPath("/echo")
			resp, err := dir.from.Do(ctxT(t, 10*time.Second), dir.to.LocalAddr(), req)
			if err != nil {
				t.Fatal(err)
			}
			mustEqualBytes(t, "echoed body", resp.Payload, big)
		})
	}
}

func TestBlockwiseUnderLoss(t *testing.T) {
	checkLeaks(t)
	big := pattern(20_000)
	var posts atomic.Int32
	// Lose every 7th datagram one way and every 5th the other.
	cfg := fast(blockHandler(big, &posts))
	cfg.ACKTimeout = 30 * time.Millisecond
	sc := loopbackConn(t)
	sc.dropEvery = 7
	srv := startOn(t, sc, cfg)
	cfg.Handler = nil
	cc := loopbackConn(t)
	cc.dropEvery = 5
	cli := startOn(t, cc, cfg)
	resp, err := cli.Do(ctxT(t, 20*time.Second), srv.LocalAddr(), get("/big"))
	if err != nil {
		t.Fatal(err)
	}
	mustEqualBytes(t, "body", resp.Payload, big)
	req := &Message{Code: PUT, Payload: big}
	req.SetPath("/echo")
	resp, err = cli.Do(ctxT(t, 20*time.Second), srv.LocalAddr(), req)
	if err != nil {
		t.Fatal(err)
	}
	mustEqualBytes(t, "echoed body", resp.Payload, big)
	if n := posts.Load(); n != 1 {
		t.Fatalf("handler called %d times", n)
	}
	if sc.dropped.Load() == 0 || cc.dropped.Load() == 0 {
		t.Fatal("nothing was lost")
	}
}

func TestBlockSizeNegotiation(t *testing.T) {
	checkLeaks(t)
	big := pattern(5000)
	var posts atomic.Int32
	small := fast(blockHandler(big, &posts))
	small.BlockSize = 64
	srv := listen(t, small)
	cli := listen(t, fast(nil)) // 1024

	t.Run("server prefers smaller Block1", func(t *testing.T) {
		req := &Message{Code: POST, Payload: big}
		req.SetPath("/echo")
		resp, err := cli.Do(ctxT(t, 10*time.Second), srv.LocalAddr(), req)
		if err != nil {
			t.Fatal(err)
		}
		mustEqualBytes(t, "echoed", resp.Payload, big)
	})
	t.Run("early Block2 negotiation", func(t *testing.T) {
		cli2 := listen(t, fast(nil))
		big2 := pattern(3000)
		srv2 := listen(t, fast(blockHandler(big2, &posts)))
		req := get("/big")
		req.SetBlock2(Block{Num: 0, Size: 32})
		resp, err := cli2.Do(ctxT(t, 10*time.Second), srv2.LocalAddr(), req)
		if err != nil {
			t.Fatal(err)
		}
		mustEqualBytes(t, "body", resp.Payload, big2)
	})
	t.Run("one block on request", func(t *testing.T) {
		req := get("/big")
		req.SetBlock2(Block{Num: 2, Size: 64})
		resp, err := cli.Do(ctxT(t, 10*time.Second), srv.LocalAddr(), req)
		if err != nil {
			t.Fatal(err)
		}
		b2, ok := resp.Block2()
		if !ok || b2.Num != 2 || !b2.More || b2.Size != 64 {
			t.Fatalf("Block2 %+v %t", b2, ok)
		}
		mustEqualBytes(t, "block 2", resp.Payload, big[128:192])
		if s, _ := resp.Uint(OptSize2); s != uint32(len(big)) {
			t.Fatalf("Size2 %d", s)
		}
	})
	t.Run("block beyond the end", func(t *testing.T) {
		req := get("/big")
		req.SetBlock2(Block{Num: 1000, Size: 64})
		resp, err := cli.Do(ctxT(t, 10*time.Second), srv.LocalAddr(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code != model.BadOption {
			t.Fatalf("code %s, want 4.02", resp.Code)
		}
	})
}

func TestMaxBodySize(t *testing.T) {
	checkLeaks(t)
	var posts atomic.Int32
	big := pattern(10_000)
	cfg := fast(blockHandler(big, &posts))
	cfg.MaxBodySize = 4096
	srv := listen(t, cfg)
	cliCfg := fast(blockHandler(big, &posts))
	cliCfg.MaxBodySize = 4096
	cli := listen(t, cliCfg)

	t.Run("Block1 body too large: 4.13", func(t *testing.T) {
		req := &Message{Code: POST, Payload: big}
		req.SetPath("/upload")
		resp, err := cli.Do(ctxT(t, 10*time.Second), srv.LocalAddr(), req)
		if err != nil {
			t.Fatal(err)
		}
		if s, ok := resp.Uint(OptSize1); resp.Code != model.RequestEntityTooLarge || !ok || s != 4096 {
			t.Fatalf("response %v, want 4.13 with Size1 4096", resp)
		}
	})
	t.Run("Block1 without Size1 too large: 4.13", func(t *testing.T) {
		p := newRawPeer(t)
		var last *Message
		for i := range 5 {
			m := &Message{Type: Confirmable, Code: PUT, MID: uint16(100 + i), Token: []byte{byte(i)}, Payload: big[i*1024 : (i+1)*1024]}
			m.SetPath("/upload")
			m.SetBlock1(Block{Num: uint32(i), More: true, Size: 1024})
			p.send(srv.LocalAddr(), m)
			_, last = p.mustRecv()
			if last.Code != model.Continue {
				break
			}
		}
		if last.Code != model.RequestEntityTooLarge {
			t.Fatalf("last response %v, want 4.13", last)
		}
	})
	t.Run("Block2 body too large: error with 4.13", func(t *testing.T) {
		_, err := cli.Do(ctxT(t, 10*time.Second), srv.LocalAddr(), get("/big"))
		if model.CodeOf(err) != model.RequestEntityTooLarge {
			t.Fatalf("err = %v, want one carrying 4.13", err)
		}
	})
	if posts.Load() != 0 {
		t.Fatalf("handler called %d times", posts.Load())
	}
}

func TestBlock1OutOfOrder(t *testing.T) {
	checkLeaks(t)
	var posts atomic.Int32
	srv := listen(t, fast(blockHandler(nil, &posts)))
	p := newRawPeer(t)
	send := func(mid uint16, num uint32, more bool, n int) *Message {
		m := &Message{Type: Confirmable, Code: POST, MID: mid, Token: []byte{byte(mid)}, Payload: pattern(n)}
		m.SetPath("/upload")
		m.SetBlock1(Block{Num: num, More: more, Size: 64})
		p.send(srv.LocalAddr(), m)
		_, r := p.mustRecv()
		return r
	}
	if r := send(1, 0, true, 64); r.Code != model.Continue {
		t.Fatalf("block 0: %v", r)
	}
	if r := send(2, 2, true, 64); r.Code != model.RequestEntityIncomplete {
		t.Fatalf("block 2 after block 0: %v, want 4.08 (RFC 7959 section 2.9.2)", r)
	}
	if r := send(3, 1, false, 10); r.Code != model.RequestEntityIncomplete {
		t.Fatalf("block 1 after the transfer was dropped: %v, want 4.08", r)
	}
	if r := send(4, 0, true, 30); r.Code != model.BadRequest {
		t.Fatalf("short block with M set: %v, want 4.00", r)
	}
	// Tokens may change between blocks (RFC 7959 section 2.5).
	if r := send(5, 0, true, 64); r.Code != model.Continue {
		t.Fatalf("block 0: %v", r)
	}
	if r := send(6, 1, false, 10); r.Code != model.Changed {
		t.Fatalf("last block: %v", r)
	}
	if n := posts.Load(); n != 1 {
		t.Fatalf("handler called %d times", n)
	}
	if n := srv.Stats().BlockTransfers; n != 0 {
		t.Fatalf("%d transfers left", n)
	}
}

// TestBlock2LaterBlockOfUnsafeRequest checks that a later block of a POST
// response whose body is gone is not run again.
func TestBlock2LaterBlockOfUnsafeRequest(t *testing.T) {
	checkLeaks(t)
	var posts atomic.Int32
	srv := listen(t, fast(blockHandler(nil, &posts)))
	cli := listen(t, fast(nil))
	req := &Message{Code: POST}
	req.SetPath("/echo")
	req.SetBlock2(Block{Num: 3, Size: 64})
	resp, err := cli.Do(ctxT(t, 5*time.Second), srv.LocalAddr(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code != model.RequestEntityIncomplete || posts.Load() != 0 {
		t.Fatalf("response %v after %d handler calls", resp, posts.Load())
	}
}

func TestBlockStateBounded(t *testing.T) {
	now := int64(0)
	s := newBlockState(int64(time.Minute), 1000)
	for i := range 3 * maxBlockTransfers {
		s.mu.Lock()
		s.bodies.put(blockKey{req: string(rune(i))}, &Message{Payload: make([]byte, 10)}, 10, now)
		s.mu.Unlock()
	}
	if n := s.len(); n > maxBlockTransfers {
		t.Fatalf("%d bodies kept, want at most %d", n, maxBlockTransfers)
	}
	for i := range 10 {
		s.mu.Lock()
		s.asm.put(blockKey{req: string(rune(i))}, make([]byte, 900), 900, now)
		s.mu.Unlock()
	}
	if s.asm.bytes > 4*1000 {
		t.Fatalf("assemblies hold %d bytes, want at most %d", s.asm.bytes, 4*1000)
	}
	s.sweep(now + int64(2*time.Minute))
	if n := s.len(); n != 0 {
		t.Fatalf("%d entries after expiry", n)
	}
}
