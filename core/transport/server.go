package transport

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// States of an incoming CON request's reply.
const (
	pending  int32 = iota // nothing sent yet: the response may still be piggybacked
	acked                 // an empty ACK went out: the response goes as a separate CON
	answered              // the ACK with the response (or an empty one) went out
)

// incoming is a request being served.
type incoming struct {
	peer  netip.AddrPort
	msg   *Message
	con   bool
	state atomic.Int32
	req   Request // what the handler gets

	block1    Block // the final Block1 of a reassembled body, echoed in the response (RFC 7959 section 2.3)
	hasBlock1 bool
	block2    Block // the Block2 the request asked for (RFC 7959 section 2.2, 2.4)
	hasBlock2 bool
	cached    bool   // msg is answered from the Block2 body cache
	key       string // requestKey(msg), once computed
	seq       uint32 // msg's entry in the deduplication cache

	e    *Endpoint
	done atomic.Bool // answered, once the handler deferred (Request.Defer)
}

func (r *incoming) dedupKey() dedupKey { return makeDedupKey(r.peer, r.msg.MID) }

// answered stores reply in the deduplication cache, for a duplicate of r.
func (e *Endpoint) answered(r *incoming, reply []byte) {
	e.dedup.answerSeq(r.dedupKey(), r.con, r.seq, reply)
}

func (r *incoming) requestKey() string {
	if r.key == "" {
		r.key = requestKey(r.msg)
	}
	return r.key
}

// proxyNotSupported is 5.05 Proxying Not Supported (RFC 7252 section
// 5.9.3.6), which model does not name.
var proxyNotSupported = model.MakeCode(5, 5)

// received is an incoming request as the reader decodes it: the message,
// room for its options, and its incoming, allocated together. A handler
// that keeps the request keeps all of it.
type received struct {
	in   incoming
	msg  Message
	opts [8]Option
}

// onRequest handles an incoming CON or NON request. r is where to keep
// the request's state (from a received), or nil.
func (e *Endpoint) onRequest(peer netip.AddrPort, m *Message, r *incoming, now int64) {
	con := m.Type == Confirmable
	reply, dup, seq := e.dedup.checkSeq(makeDedupKey(peer, m.MID), m.Token, con, now)
	if dup {
		// RFC 7252 section 4.5: a duplicate CON gets the same reply
		// again and is not processed twice; a duplicate NON is ignored.
		e.stats.duplicates.Add(1)
		if reply != nil && con {
			e.write(reply, peer)
		}
		return
	}
	if r == nil {
		r = new(incoming)
	}
	r.peer, r.msg, r.con, r.seq = peer, m, con, seq
	if m.Code > IPATCH {
		// RFC 7252 section 5.8: an unknown method gets 4.05.
		e.respond(r, &Message{Code: model.MethodNotAllowed})
		return
	}
	if m.has(OptProxyURI) || m.has(OptProxyScheme) {
		e.respond(r, &Message{Code: proxyNotSupported}) // RFC 7252 section 5.7.2
		return
	}
	if id, bad := badCriticalOption(m); bad {
		// RFC 7252 section 5.4.1: 4.02, with a diagnostic payload
		// (section 5.5.2).
		e.respond(r, &Message{Code: model.BadOption, Payload: fmt.Appendf(nil, "unrecognized critical option %d", id)})
		return
	}
	if m.has(OptBlock1) {
		if !e.receiveBlock1(r, now) {
			return
		}
	} else if len(m.Payload) > e.cfg.MaxBodySize {
		e.respond(r, tooLarge(e.cfg.MaxBodySize))
		return
	}
	if b2, ok := m.Block2(); ok {
		r.block2, r.hasBlock2 = b2, true
		if b2.Num > 0 {
			if body := e.blocks.cachedBody(r, now); body != nil {
				r.cached = true
				e.respond(r, body)
				return
			}
			if m.Code != GET && m.Code != FETCH {
				// A later block of the response to an unsafe request
				// whose body is gone: running it again would repeat its
				// effect.
				e.respond(r, &Message{Code: model.RequestEntityIncomplete, Payload: []byte("response body expired")})
				return
			}
		}
	}
	e.dispatch(r)
}

// tooLarge is 4.13 with Size1 telling the largest body accepted (RFC 7959
// section 2.9.3 and 4).
func tooLarge(limit int) *Message {
	m := &Message{Code: model.RequestEntityTooLarge}
	m.SetUint(OptSize1, clampUint32(limit))
	return m
}

// clampUint32 is n, at least 0, as an option's uint of at most 4 bytes:
// sizes beyond 4 GiB are given as the largest. It compiles where int has
// 32 bits too.
func clampUint32(n int) uint32 {
	switch {
	case n < 0:
		return 0
	case uint64(n) > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(n)
}

// handlerIdle is how long a handler goroutine may wait for another
// request before it exits. Reusing handler goroutines keeps the stacks they
// grew: a fresh goroutine per request grew its stack by copying it on
// every LwM2M Register, about a tenth of the server's CPU (BENCHMARKS.md).
const handlerIdle = time.Second

// dispatch runs the handler for r on a handler goroutine, one that waits
// for work or a new one, or answers 5.03 beyond MaxInFlightHandlers.
func (e *Endpoint) dispatch(r *incoming) {
	if e.inflight.Add(1) > int64(e.cfg.MaxInFlightHandlers) {
		e.inflight.Add(-1)
		e.stats.rejected.Add(1)
		resp := &Message{Code: model.ServiceUnavailable}
		resp.SetUint(OptMaxAge, 1) // RFC 7252 section 5.9.3.4: retry after Max-Age seconds
		e.respond(r, resp)
		return
	}
	if e.cfg.Inline != nil && e.cfg.Inline(r.msg) {
		e.serve(r)
		return
	}
	select {
	case e.handoff <- r:
		return
	default:
	}
	e.wg.Add(1) // the reader holds the group, so this cannot race Close's Wait
	go e.handlerLoop(r)
}

// handlerLoop serves r, then the requests handed to it, until it is
// handed nil (see retireHandlers) or the endpoint closes.
func (e *Endpoint) handlerLoop(r *incoming) {
	defer e.wg.Done()
	for r != nil {
		e.serve(r)
		r = e.nextRequest()
	}
}

// nextRequest waits for a request handed to a handler goroutine: nil
// when the goroutine is to exit. It waits on two channels and no timer:
// a timer in the select was inserted into and taken out of the timer
// heap every time a handler went idle, a tenth of a microsecond and a
// lock each, for every request.
func (e *Endpoint) nextRequest() *incoming {
	e.idleHandlers.Add(1)
	select {
	case r := <-e.handoff:
		if n := e.idleHandlers.Add(-1); n < e.idleLow.Load() {
			e.idleLow.Store(n) // a race may lose a lower value: the next retire is one late
		}
		return r
	case <-e.done:
		e.idleHandlers.Add(-1)
		return nil
	}
}

// retireHandlers, called by the janitor every handlerIdle, ends as many
// handler goroutines as were idle all that time: the fewest idle at any
// moment since the last call.
func (e *Endpoint) retireHandlers() {
	n := e.idleLow.Swap(e.idleHandlers.Load())
	for ; n > 0; n-- {
		select {
		case e.handoff <- nil:
		default:
			return
		}
	}
}

func (e *Endpoint) serve(r *incoming) {
	if r.con {
		e.slow.add(r, e.now()) // separateLoop acknowledges it if the handler is slow
	}
	r.e = e
	r.req = Request{Peer: r.peer, Msg: r.msg, Identity: e.peerIdentity(r.peer), in: r}
	resp, panicked := e.callHandler(&r.req)
	if r.req.deferred && !panicked {
		return // the handler answers later (Request.Defer)
	}
	if !r.done.Swap(true) {
		e.respond(r, resp)
		e.inflight.Add(-1)
	}
}

// ackSlow acknowledges a CON request whose handler is slow, promising a
// separate response (RFC 7252 section 5.2.2), unless it was answered.
func (e *Endpoint) ackSlow(r *incoming) {
	if r.state.CompareAndSwap(pending, acked) {
		ack := emptyMessage(Acknowledgement, r.msg.MID)
		e.answered(r, ack)
		e.write(ack, r.peer)
	}
}

// respond sends resp as the response to r: piggybacked in the ACK of a
// CON when it is still possible (RFC 7252 section 5.2.1), as a separate
// CON after an empty ACK (section 5.2.2), as a NON to a NON (section
// 5.2.3), block by block when it is too large (RFC 7959 section 2.2).
func (e *Endpoint) respond(r *incoming, resp *Message) {
	if resp == nil || resp.Code == 0 {
		e.respondEmpty(r)
		return
	}
	// The handler's options are shared, not copied, unless a Block
	// option is added to them.
	out := &Message{Code: resp.Code, Token: r.msg.Token, Options: resp.Options, Payload: resp.Payload}
	if !resp.IsResponse() {
		e.log.Error("coap handler returned a non-response code", "peer", r.peer, "path", r.msg.Path(), "code", resp.Code)
		out = &Message{Code: model.InternalServerError, Token: r.msg.Token}
	}
	if r.hasBlock1 {
		out.Options = slices.Clone(out.Options)
		out.SetBlock1(r.block1)
	}
	size := e.cfg.BlockSize
	if r.hasBlock2 && r.block2.Size < size {
		size = r.block2.Size
	}
	if len(out.Payload) > int(size) || (r.hasBlock2 && r.block2.Num > 0 && out.Code.IsSuccess()) {
		if !r.hasBlock1 {
			out.Options = slices.Clone(out.Options)
		}
		out = e.serveBlock2(r, out)
	}
	if noResponse(r.msg, out.Code) {
		e.respondEmpty(r)
		return
	}
	if r.con && r.state.CompareAndSwap(pending, answered) {
		out.Type, out.MID = Acknowledgement, r.msg.MID
		b, ok := e.encodeResponse(r, out)
		if !ok {
			return
		}
		e.answered(r, b)
		e.write(b, r.peer)
		return
	}
	if r.con && r.state.Load() == answered {
		return // answered already: an empty ACK for a nil response, say
	}
	out.MID = e.peers.nextMID(r.peer, e.now())
	if !r.con {
		out.Type = NonConfirmable
		if b, ok := e.encodeResponse(r, out); ok {
			e.write(b, r.peer)
		}
		return
	}
	out.Type = Confirmable
	b, ok := e.encodeResponse(r, out)
	if !ok {
		return
	}
	ex := &exchange{peer: r.peer, mid: out.MID, con: true, data: b, start: e.now()}
	if err := e.startExchange(ex); err != nil {
		e.log.Debug("coap separate response not sent", "peer", r.peer, "err", err)
	}
}

// respondEmpty answers a CON with an empty ACK, unless something went out
// already; a NON gets nothing.
func (e *Endpoint) respondEmpty(r *incoming) {
	if r.con && r.state.CompareAndSwap(pending, answered) {
		ack := emptyMessage(Acknowledgement, r.msg.MID)
		e.answered(r, ack)
		e.write(ack, r.peer)
	}
}

// encodeResponse encodes out, or a bare 5.00 if out cannot be encoded (a
// handler's option 0, say).
func (e *Endpoint) encodeResponse(r *incoming, out *Message) ([]byte, bool) {
	b, err := out.AppendBinary(nil)
	if err == nil {
		return b, true
	}
	e.log.Error("coap response does not encode", "peer", r.peer, "path", r.msg.Path(), "err", err)
	fallback := &Message{Type: out.Type, MID: out.MID, Code: model.InternalServerError, Token: out.Token}
	b, err = fallback.AppendBinary(nil)
	return b, err == nil
}

// noResponse reports whether the request's No-Response option (RFC 7967
// section 2.1) suppresses a response of code's class: bit 2 for 2.xx, 8
// for 4.xx, 16 for 5.xx.
func noResponse(req *Message, code model.Code) bool {
	v, ok := req.Uint(OptNoResponse)
	if !ok || v == 0 {
		return false
	}
	switch code.Class() {
	case 2:
		return v&2 != 0
	case 4:
		return v&8 != 0
	case 5:
		return v&16 != 0
	}
	return false
}

// onResponse handles a response-class CON or NON: a separate response to
// a request of ours (RFC 7252 section 5.2.2), or else a notification
// (RFC 7641 section 3.2) for Config.Notify.
func (e *Endpoint) onResponse(peer netip.AddrPort, m *Message, now int64) {
	con := m.Type == Confirmable
	key := makeDedupKey(peer, m.MID)
	if reply, dup := e.dedup.check(key, m.Token, con, now); dup {
		// A retransmission whose ACK was lost: ACK again, deliver once.
		e.stats.duplicates.Add(1)
		if reply != nil && con {
			e.write(reply, peer)
		}
		return
	}
	if _, bad := badCriticalOption(m); bad {
		// RFC 7252 section 5.4.1: a response with an unrecognized
		// critical option is rejected.
		e.ackOrReset(peer, key, con, false)
		return
	}
	if e.matchResponse(peer, m) {
		if con {
			e.ackOrReset(peer, key, con, true)
		}
		return
	}
	if e.cfg.Notify == nil {
		e.ackOrReset(peer, key, con, false)
		return
	}
	if e.inflight.Add(1) > int64(e.cfg.MaxInFlightHandlers) {
		e.inflight.Add(-1)
		e.stats.dropped.Add(1)
		e.dedup.forget(key, con) // let the retransmission in
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer e.inflight.Add(-1)
		ok := e.callNotify(peer, m)
		if ok && !con {
			return
		}
		e.ackOrReset(peer, key, con, ok)
	}()
}

// ackOrReset answers the CON or NON k with an empty ACK (ok) or a RST (RFC
// 7252 section 4.2, 4.3; RFC 7641 section 3.6), remembered for
// duplicates.
func (e *Endpoint) ackOrReset(peer netip.AddrPort, k dedupKey, con, ok bool) {
	t := Reset
	if ok {
		t = Acknowledgement
	}
	b := emptyMessage(t, k.mid)
	e.dedup.answer(k, con, b)
	e.write(b, peer)
}

func (e *Endpoint) callNotify(peer netip.AddrPort, m *Message) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("coap notify callback panicked", "peer", peer, "panic", r)
			ok = false
		}
	}()
	return e.cfg.Notify(peer, m)
}
