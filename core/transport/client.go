package transport

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// midKey identifies an outgoing CON or NON by the peer and our message ID;
// an ACK or RST matches it (RFC 7252 section 4.2, 4.3).
type midKey struct {
	peer netip.AddrPort
	mid  uint16
}

// tokenKey identifies an outgoing request by the peer and its token; a
// separate response matches it (RFC 7252 section 5.3.2).
type tokenKey struct {
	peer netip.AddrPort
	tok  [8]byte
	n    uint8
}

func makeTokenKey(peer netip.AddrPort, tok []byte) tokenKey {
	k := tokenKey{peer: peer, n: uint8(len(tok))}
	copy(k.tok[:], tok)
	return k
}

type result struct {
	msg *Message
	err error
}

// exchange is an outgoing message waiting for its answer: a request (CON
// or NON) waiting for its response, or a CON response (separate response,
// notification) waiting for its ACK. Its fields after data are guarded by
// Endpoint.mu.
type exchange struct {
	peer    netip.AddrPort
	mid     uint16
	token   []byte
	request bool
	con     bool
	data    []byte // the encoded message, for retransmission
	start   int64
	done    chan result // buffered; nil when nobody waits

	acked    bool
	finished bool
	attempts int
	timeout  time.Duration
	timer    *time.Timer
}

// finish delivers the exchange's one result.
func (ex *exchange) finish(r result) {
	if ex.done != nil {
		select {
		case ex.done <- r:
		default:
		}
	}
}

// initialTimeout is a random duration between ACK_TIMEOUT and
// ACK_TIMEOUT × ACK_RANDOM_FACTOR (RFC 7252 section 4.2).
func (e *Endpoint) initialTimeout() time.Duration {
	f := 1 + rand.Float64()*(e.cfg.ACKRandomFactor-1)
	return time.Duration(float64(e.cfg.ACKTimeout) * f)
}

// startExchange registers ex, arms its timer and sends it.
func (e *Endpoint) startExchange(ex *exchange) error {
	if e.sec != nil && !e.sec.canSend(ex.peer) {
		return ErrNoSession
	}
	mk := midKey{ex.peer, ex.mid}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	if _, busy := e.byMID[mk]; busy {
		e.mu.Unlock()
		return fmt.Errorf("transport: message id %d towards %s still in use", ex.mid, ex.peer)
	}
	if ex.request {
		tk := makeTokenKey(ex.peer, ex.token)
		if _, busy := e.byToken[tk]; busy {
			e.mu.Unlock()
			return fmt.Errorf("transport: token %x towards %s already in use", ex.token, ex.peer)
		}
		e.byToken[tk] = ex
	}
	e.byMID[mk] = ex
	d := e.cfg.maxTransmitWait() // a NON request waits this long for its response
	if ex.con {
		ex.timeout = e.initialTimeout()
		d = ex.timeout
	}
	ex.timer = time.AfterFunc(d, func() { e.onTimer(ex) })
	e.mu.Unlock()
	e.write(ex.data, ex.peer)
	return nil
}

// removeLocked takes ex out of the tables; e.mu is held.
func (e *Endpoint) removeLocked(ex *exchange) {
	ex.finished = true
	ex.timer.Stop()
	mk := midKey{ex.peer, ex.mid}
	if e.byMID[mk] == ex {
		delete(e.byMID, mk)
	}
	if ex.request {
		tk := makeTokenKey(ex.peer, ex.token)
		if e.byToken[tk] == ex {
			delete(e.byToken, tk)
		}
	}
}

// onTimer retransmits a CON with exponential back-off until
// MAX_RETRANSMIT (RFC 7252 section 4.2), and gives up after the last
// timeout, or after a NON's or an acknowledged request's wait.
func (e *Endpoint) onTimer(ex *exchange) {
	if !e.enter() {
		return
	}
	defer e.wg.Done()
	e.mu.Lock()
	if ex.finished {
		e.mu.Unlock()
		return
	}
	if ex.con && !ex.acked && ex.attempts < e.cfg.MaxRetransmit {
		ex.attempts++
		ex.timeout *= 2
		ex.timer.Reset(ex.timeout)
		e.mu.Unlock()
		e.stats.retransmissions.Add(1)
		e.write(ex.data, ex.peer)
		return
	}
	e.removeLocked(ex)
	e.mu.Unlock()
	e.stats.timeouts.Add(1)
	if e.sec != nil && ex.con && !ex.acked {
		e.sec.peerTimedOut(ex.peer)
	}
	ex.finish(result{err: ErrTimeout})
}

// failPeer fails every exchange with peer: the DTLS handshake with it
// failed, and what they sent is gone.
func (e *Endpoint) failPeer(peer netip.AddrPort, err error) {
	var failed []*exchange
	e.mu.Lock()
	for _, ex := range e.byMID {
		if ex.peer == peer && !ex.finished {
			failed = append(failed, ex)
		}
	}
	for _, ex := range failed {
		e.removeLocked(ex)
	}
	e.mu.Unlock()
	for _, ex := range failed {
		ex.finish(result{err: fmt.Errorf("%w: %v", ErrHandshake, err)})
	}
}

// onACK handles an ACK from peer, empty (m nil) or with a piggybacked
// response.
func (e *Endpoint) onACK(peer netip.AddrPort, mid uint16, m *Message) {
	e.mu.Lock()
	ex := e.byMID[midKey{peer, mid}]
	if ex == nil {
		e.mu.Unlock()
		return
	}
	if m == nil {
		if ex.request {
			// RFC 7252 section 5.2.2: the response comes separately;
			// stop retransmitting and wait up to EXCHANGE_LIFETIME.
			if !ex.acked {
				ex.acked = true
				wait := time.Duration(int64(e.cfg.ExchangeLifetime) - (e.now() - ex.start))
				ex.timer.Reset(max(wait, time.Millisecond))
			}
			e.mu.Unlock()
			return
		}
		e.removeLocked(ex)
		e.mu.Unlock()
		ex.finish(result{})
		return
	}
	if !ex.request || !bytes.Equal(m.Token, ex.token) {
		// RFC 7252 section 5.3.2: a response must match the token.
		e.mu.Unlock()
		e.malformed(peer, "piggybacked response with a foreign token", nil)
		return
	}
	e.removeLocked(ex)
	e.mu.Unlock()
	if id, bad := badCriticalOption(m); bad {
		ex.finish(result{err: model.Errorf(model.BadGateway, "transport: response with unrecognized critical option %d", id)})
		return
	}
	ex.finish(result{msg: m})
}

// onReset fails the exchange a RST matches (RFC 7252 section 4.2, 4.3),
// or else reports the NON notification it answers to Config.OnReset (RFC
// 7641 section 3.6).
func (e *Endpoint) onReset(peer netip.AddrPort, mid uint16) {
	e.mu.Lock()
	ex := e.byMID[midKey{peer, mid}]
	if ex == nil {
		e.mu.Unlock()
		if tok, ok := e.notes.take(makeDedupKey(peer, mid), e.now()); ok {
			e.callOnReset(peer, tok)
		}
		return
	}
	e.removeLocked(ex)
	e.mu.Unlock()
	ex.finish(result{err: ErrReset})
}

// matchResponse delivers a separate response (CON or NON) to the request
// with its token, and reports whether there was one.
func (e *Endpoint) matchResponse(peer netip.AddrPort, m *Message) bool {
	e.mu.Lock()
	ex := e.byToken[makeTokenKey(peer, m.Token)]
	if ex == nil {
		e.mu.Unlock()
		return false
	}
	e.removeLocked(ex)
	e.mu.Unlock()
	ex.finish(result{msg: m})
	return true
}

// wait waits for ex's result or for ctx.
func (e *Endpoint) wait(ctx context.Context, ex *exchange) (*Message, error) {
	select {
	case r := <-ex.done:
		return r.msg, r.err
	case <-ctx.Done():
		e.mu.Lock()
		if !ex.finished {
			e.removeLocked(ex)
		}
		e.mu.Unlock()
		return nil, ctx.Err()
	}
}

// randomToken returns 8 random bytes (RFC 7252 section 5.3.1 asks for
// enough randomness to resist spoofed responses).
func randomToken() []byte {
	t := make([]byte, 8)
	_, _ = crand.Read(t)
	return t
}

// Do sends req to peer and returns the response.
//
// req is sent as a CON unless req.Type is NonConfirmable. Do assigns the
// message ID (from a per-peer counter with a random start) and a random
// 8-byte token unless req.Token is set (the LwM2M server sets its own for
// observations); it does not modify req. A CON is retransmitted (RFC 7252
// section 4.2) until an ACK or MaxRetransmit; the response may come
// piggybacked or separately (a CON separate response is acknowledged); a
// RST fails Do with ErrReset; no answer fails it with ErrTimeout, after
// about MAX_TRANSMIT_WAIT (93 s by default), or ctx's error first.
//
// Block-wise (RFC 7959): a payload larger than BlockSize is sent with
// Block1, following 2.31 Continue and the server's size preference, and
// starting again with smaller blocks on a 4.13 carrying a Block1 size
// hint. A response with Block2 and M set is fetched block by block
// (without Observe, with fresh tokens) and returned whole, without its
// Block2 and Size2 options; a body beyond MaxBodySize fails with an error
// carrying 4.13. A request that itself asks for a Block2 number above 0
// gets that block only.
//
// For an Observe request the first response completes Do; later
// notifications with the same token go to Config.Notify. Error responses
// (4.xx, 5.xx) are returned as messages, not as errors.
func (e *Endpoint) Do(ctx context.Context, peer netip.AddrPort, req *Message) (*Message, error) {
	if req == nil || !req.IsRequest() {
		return nil, errors.New("transport: do: not a request")
	}
	if len(req.Token) > 8 {
		return nil, errors.New("transport: do: token longer than 8 bytes")
	}
	peer = normalize(peer)
	var resp *Message
	var err error
	if len(req.Payload) > int(e.cfg.BlockSize) {
		resp, err = e.sendBlock1(ctx, peer, req)
	} else {
		resp, err = e.roundTrip(ctx, peer, req)
	}
	if err == nil {
		resp, err = e.fetchBlock2(ctx, peer, req, resp)
	}
	if err != nil {
		return nil, fmt.Errorf("transport: %s %s to %s: %w", codeName(req.Code), req.Path(), peer, err)
	}
	return resp, nil
}

// roundTrip sends one request message and waits for its response.
func (e *Endpoint) roundTrip(ctx context.Context, peer netip.AddrPort, req *Message) (*Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := *req
	if m.Type != NonConfirmable {
		m.Type = Confirmable
	}
	now := e.now()
	m.MID = e.peers.nextMID(peer, now)
	if len(m.Token) == 0 {
		m.Token = randomToken()
	}
	data, err := m.AppendBinary(nil)
	if err != nil {
		return nil, err
	}
	ex := &exchange{
		peer: peer, mid: m.MID, token: m.Token, request: true, con: m.Type == Confirmable,
		data: data, start: now, done: make(chan result, 1),
	}
	if err := e.startExchange(ex); err != nil {
		return nil, err
	}
	return e.wait(ctx, ex)
}

// sendBlock1 sends req's payload block by block (RFC 7959 section 2.3,
// 2.5) and returns the response to the last block.
func (e *Endpoint) sendBlock1(ctx context.Context, peer netip.AddrPort, req *Message) (*Message, error) {
	body := req.Payload
	size := int(e.cfg.BlockSize)
	if (len(body)+15)/16 > maxBlockNum+1 {
		return nil, model.Errorf(model.RequestEntityTooLarge, "transport: body of %d bytes needs more than 2^20 blocks", len(body))
	}
	tok := req.Token
	if len(tok) == 0 {
		tok = randomToken()
	}
	off, restarts := 0, 0
	for {
		end := min(off+size, len(body))
		more := end < len(body)
		m := req.clone()
		m.Token = tok
		m.Payload = body[off:end]
		m.SetBlock1(Block{Num: uint32(off / size), More: more, Size: uint16(size)})
		if off == 0 {
			m.SetUint(OptSize1, uint32(len(body))) // RFC 7959 section 4
		} else {
			m.Remove(OptSize1)
		}
		if more {
			m.Remove(OptBlock2) // early Block2 negotiation belongs on the last block
		}
		resp, err := e.roundTrip(ctx, peer, m)
		if err != nil {
			return nil, err
		}
		b1, has := resp.Block1()
		switch {
		case resp.Code == model.RequestEntityTooLarge && has && int(b1.Size) < size && restarts < 4:
			// RFC 7959 section 2.9.3: the server wants smaller blocks.
			size, off = int(b1.Size), 0
			restarts++
			continue
		case !more:
			return resp, nil
		case resp.Code == model.Continue, resp.Code.IsSuccess() && has:
		default:
			return resp, nil // an error ends the transfer
		}
		if has && int(b1.Size) < size {
			size = int(b1.Size) // RFC 7959 section 2.3: heed the server's preference
		}
		off = end
	}
}

// fetchBlock2 completes a response that carries Block2 with M set by
// fetching the later blocks (RFC 7959 section 2.4), and returns it whole.
func (e *Endpoint) fetchBlock2(ctx context.Context, peer netip.AddrPort, req, resp *Message) (*Message, error) {
	b, ok := resp.Block2()
	if !ok || !b.More {
		return resp, nil
	}
	if rb, ok := req.Block2(); ok && rb.Num > 0 {
		return resp, nil // the caller asked for one block
	}
	for restart := 0; ; restart++ {
		if b.Num != 0 {
			return nil, model.Errorf(model.BadGateway, "transport: first response is block %d", b.Num)
		}
		capHint := len(resp.Payload)
		if s, ok := resp.Uint(OptSize2); ok {
			capHint = int(min(int64(s), int64(e.cfg.MaxBodySize)))
		}
		body := append(make([]byte, 0, capHint), resp.Payload...)
		etag, _ := resp.Get(OptETag)
		changed := false
		for b.More {
			if len(body) > e.cfg.MaxBodySize {
				return nil, model.Errorf(model.RequestEntityTooLarge, "transport: response body beyond %d bytes", e.cfg.MaxBodySize)
			}
			if len(body)%int(b.Size) != 0 {
				return nil, model.Errorf(model.BadGateway, "transport: block %d is short", b.Num)
			}
			next := req.clone()
			next.Token = nil
			next.Remove(OptObserve) // RFC 7959 section 3.4: later blocks without Observe
			next.Remove(OptBlock1)
			next.Remove(OptSize1)
			if next.Code != FETCH {
				next.Payload = nil
			}
			num := uint32(len(body) / int(b.Size))
			next.SetBlock2(Block{Num: num, Size: b.Size})
			r, err := e.roundTrip(ctx, peer, next)
			if err != nil {
				return nil, err
			}
			if !r.Code.IsSuccess() {
				return r, nil
			}
			nb, ok := r.Block2()
			if !ok || int64(nb.Num)*int64(nb.Size) != int64(len(body)) {
				return nil, model.Errorf(model.BadGateway, "transport: asked for block %d, got %v", num, r)
			}
			if tag, _ := r.Get(OptETag); !bytes.Equal(tag, etag) {
				// RFC 7959 section 2.4: the representation changed;
				// start over, a few times at most.
				if restart >= 2 {
					return nil, model.Errorf(model.BadGateway, "transport: representation keeps changing during block-wise transfer")
				}
				first := next.clone()
				first.SetBlock2(Block{Num: 0, Size: b.Size})
				if resp, err = e.roundTrip(ctx, peer, first); err != nil {
					return nil, err
				}
				if b, ok = resp.Block2(); !ok {
					return resp, nil
				}
				changed = true
				break
			}
			body = append(body, r.Payload...)
			b = nb
		}
		if changed {
			continue
		}
		if len(body) > e.cfg.MaxBodySize {
			return nil, model.Errorf(model.RequestEntityTooLarge, "transport: response body beyond %d bytes", e.cfg.MaxBodySize)
		}
		out := resp.clone()
		out.Payload = body
		out.Remove(OptBlock2)
		out.Remove(OptSize2)
		return out, nil
	}
}

// Notify sends a notification to peer: a response-class message carrying
// the observation's token and an Observe option (RFC 7641 section 4.2), as
// a CON or a NON per msg.Type. Notify assigns the message ID and does not
// modify msg. For a CON it waits for the ACK, retransmitting as Do does,
// and returns ErrReset if the peer answers RST (the observer cancelled,
// RFC 7641 section 3.6) or ErrTimeout. A NON returns once sent; a RST
// that answers it later goes to Config.OnReset.
//
// Block-wise notifications (RFC 7959 section 2.6) are not implemented: a
// payload larger than BlockSize is refused with an error carrying 4.13.
func (e *Endpoint) Notify(ctx context.Context, peer netip.AddrPort, msg *Message) error {
	switch {
	case msg == nil || !msg.IsResponse():
		return errors.New("transport: notify: not a response")
	case msg.Type != Confirmable && msg.Type != NonConfirmable:
		return fmt.Errorf("transport: notify: type %s, want CON or NON", msg.Type)
	case len(msg.Payload) > int(e.cfg.BlockSize):
		return model.Errorf(model.RequestEntityTooLarge, "transport: notify: payload of %d bytes above the block size %d", len(msg.Payload), e.cfg.BlockSize)
	}
	peer = normalize(peer)
	m := *msg
	m.MID = e.peers.nextMID(peer, e.now())
	data, err := m.AppendBinary(nil)
	if err != nil {
		return fmt.Errorf("transport: notify: %w", err)
	}
	if m.Type == NonConfirmable {
		e.mu.Lock()
		closed := e.closed
		e.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if e.sec != nil && !e.sec.canSend(peer) {
			return fmt.Errorf("transport: notify %s: %w", peer, ErrNoSession)
		}
		if e.cfg.OnReset != nil {
			// Remembered before it is sent, so that no RST can outrun it.
			e.notes.put(makeDedupKey(peer, m.MID), m.Token, e.now())
		}
		e.write(data, peer)
		return nil
	}
	ex := &exchange{peer: peer, mid: m.MID, con: true, data: data, start: e.now(), done: make(chan result, 1)}
	if err := e.startExchange(ex); err != nil {
		return fmt.Errorf("transport: notify %s: %w", peer, err)
	}
	if _, err := e.wait(ctx, ex); err != nil {
		return fmt.Errorf("transport: notify %s: %w", peer, err)
	}
	return nil
}

// callOnReset calls Config.OnReset, and turns a panic into a log entry so
// that a broken callback does not stop the reading goroutine.
func (e *Endpoint) callOnReset(peer netip.AddrPort, tok []byte) {
	defer func() {
		if r := recover(); r != nil {
			e.log.Error("coap reset callback panicked", "peer", peer, "panic", r)
		}
	}()
	e.cfg.OnReset(peer, tok)
}
