package server

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// deviceQueue holds the requests for one queue-mode device (Core 1.1
// section 6.5.1 and Transport section 5.1.1): the device listens only for
// a while after each of its own messages, so a request made while it
// sleeps waits, in order, until it next talks.
type deviceQueue struct {
	s  *Server
	id string // registration id

	mu          sync.Mutex
	awakeUntil  time.Time
	sleepTimer  *time.Timer
	held        []*heldRequest
	draining    bool
	wasSleeping bool
}

type heldRequest struct {
	ctx    context.Context
	peer   netip.AddrPort
	secure bool // over the DTLS endpoint
	msg    *transport.Message
	done   chan heldResult
}

type heldResult struct {
	resp *transport.Message
	err  error
}

func newDeviceQueue(s *Server, id string) *deviceQueue {
	return &deviceQueue{s: s, id: id, wasSleeping: true}
}

// ErrQueueFull is wrapped by the 5.03 error of a request to a sleeping
// device whose queue is full.
var ErrQueueFull = errors.New("queue of the sleeping device is full")

// awake reports whether the device is listening now.
func (q *deviceQueue) awakeLocked(now time.Time) bool { return now.Before(q.awakeUntil) }

// wake records that the device talked: it listens for AwakeTime from now.
// Held requests go out in order.
func (q *deviceQueue) wake() {
	s := q.s
	now := s.now()
	q.mu.Lock()
	q.awakeUntil = now.Add(s.cfg.AwakeTime)
	wasSleeping := q.wasSleeping
	q.wasSleeping = false
	if q.sleepTimer == nil {
		q.sleepTimer = time.AfterFunc(s.cfg.AwakeTime, q.checkSleep)
	} else {
		q.sleepTimer.Reset(s.cfg.AwakeTime)
	}
	start := len(q.held) > 0 && !q.draining
	if start {
		q.draining = true
	}
	q.mu.Unlock()
	if wasSleeping {
		q.emit(EventAwake)
	}
	if start {
		s.wg.Add(1)
		go q.drain()
	}
}

func (q *deviceQueue) emit(t EventType) {
	r, err := q.s.store.Registration(context.Background(), q.id)
	if err != nil {
		return
	}
	q.s.emit(Event{Type: t, Registration: r})
}

// checkSleep runs when the awake window may have closed.
func (q *deviceQueue) checkSleep() {
	now := q.s.now()
	q.mu.Lock()
	if q.wasSleeping || q.awakeLocked(now) {
		if !q.wasSleeping && q.sleepTimer != nil {
			q.sleepTimer.Reset(q.awakeUntil.Sub(now))
		}
		q.mu.Unlock()
		return
	}
	q.wasSleeping = true
	q.mu.Unlock()
	q.emit(EventSleeping)
}

// sleep marks the device asleep at once (it did not answer).
func (q *deviceQueue) sleep() {
	q.mu.Lock()
	q.awakeUntil = time.Time{}
	was := q.wasSleeping
	q.wasSleeping = true
	q.mu.Unlock()
	if !was {
		q.emit(EventSleeping)
	}
}

// do sends msg at once when the device is awake and nothing is held before
// it; otherwise it holds msg until the device wakes or ctx ends.
func (q *deviceQueue) do(ctx context.Context, r *store.Registration, msg *transport.Message) (*transport.Message, error) {
	s := q.s
	q.mu.Lock()
	if q.awakeLocked(s.now()) && len(q.held) == 0 && !q.draining {
		q.mu.Unlock()
		resp, err := s.transmit(ctx, r.Address, r.Secure, msg)
		if errors.Is(err, transport.ErrTimeout) {
			q.sleep()
		}
		return resp, err
	}
	if len(q.held) >= s.cfg.MaxQueued {
		q.mu.Unlock()
		return nil, &model.Error{Code: model.ServiceUnavailable, Msg: "device " + r.Endpoint + " is asleep and its queue is full", Err: ErrQueueFull}
	}
	h := &heldRequest{ctx: ctx, peer: r.Address, secure: r.Secure, msg: msg, done: make(chan heldResult, 1)}
	q.held = append(q.held, h)
	q.mu.Unlock()
	s.log.Debug("request held for sleeping device", "endpoint", r.Endpoint, "path", msg.Path())
	select {
	case res := <-h.done:
		return res.resp, res.err
	case <-ctx.Done():
		q.mu.Lock()
		for i, x := range q.held {
			if x == h {
				q.held = append(q.held[:i], q.held[i+1:]...)
				break
			}
		}
		q.mu.Unlock()
		// The drainer may have taken it already; its answer wins if so.
		select {
		case res := <-h.done:
			return res.resp, res.err
		default:
		}
		return nil, model.Errorf(model.GatewayTimeout, "device %s stayed asleep: %w", r.Endpoint, ctx.Err())
	}
}

// drain sends the held requests in order while the device is awake.
func (q *deviceQueue) drain() {
	s := q.s
	defer s.wg.Done()
	for {
		q.mu.Lock()
		if len(q.held) == 0 || !q.awakeLocked(s.now()) {
			q.draining = false
			q.mu.Unlock()
			return
		}
		h := q.held[0]
		q.held = q.held[1:]
		q.mu.Unlock()
		if h.ctx.Err() != nil {
			continue
		}
		// The address may have moved with the Update that woke it.
		peer, secure := h.peer, h.secure
		if r, err := s.store.Registration(h.ctx, q.id); err == nil {
			peer, secure = r.Address, r.Secure
		}
		resp, err := s.transmit(h.ctx, peer, secure, h.msg)
		h.done <- heldResult{resp, err}
		if errors.Is(err, transport.ErrTimeout) {
			q.sleep()
		}
	}
}

// fail ends every held request with err (the device de-registered, or
// the server is closing).
func (q *deviceQueue) fail(err error) {
	q.mu.Lock()
	held := q.held
	q.held = nil
	if q.sleepTimer != nil {
		q.sleepTimer.Stop()
	}
	q.mu.Unlock()
	for _, h := range held {
		h.done <- heldResult{nil, err}
	}
}

// flushAll sends what is held now, the device having left queue mode.
func (q *deviceQueue) flushAll() { q.wake() }

// wakeFrom notes that the device at peer talked, for queue mode. It runs
// for every request and notification; while no device is in queue mode it
// looks nothing up (a lookup in byAddr, as large as the fleet, was about
// 1.3 us of a Register at 100,000 registrations).
func (s *Server) wakeFrom(peer netip.AddrPort) {
	s.mu.Lock()
	if len(s.queues) == 0 {
		s.mu.Unlock()
		return
	}
	id, ok := s.byAddr[peer]
	var q *deviceQueue
	if ok {
		q = s.queues[id]
	}
	s.mu.Unlock()
	if q != nil {
		q.wake()
	}
}
