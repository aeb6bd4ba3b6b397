package transport

import (
	"sync"
	"time"
)

// separateWatch finds the CON requests whose handler has run for
// Config.SeparateResponseAfter without answering, so that they get an
// empty ACK and later a separate response (RFC 7252 section 5.2.2). It
// replaces a timer per request: every CON request being served sits in
// one FIFO in the order its handler started, and since every request has
// the same allowance, the oldest one still pending is always the next
// due. Requests that were answered are dropped from the head as new ones
// are pushed, so the FIFO holds about as many entries as handlers are
// running (more only behind a slow handler, for at most the allowance);
// one goroutine sleeps until the head is due, and is woken only when it
// waits with nothing watched (under load it wakes about once per
// allowance, not once per request).
//
// Starting a handler costs a lock and an append, where a time.AfterFunc
// cost an allocation and two operations on the runtime's timer heap.
type separateWatch struct {
	mu    sync.Mutex
	q     ring[watched]
	after int64         // Config.SeparateResponseAfter in nanoseconds
	idle  bool          // the loop waits for kick, with no timer set
	kick  chan struct{} // a request was added while the loop was idle
}

type watched struct {
	r     *incoming
	start int64 // when the handler started, on the endpoint's clock
}

func newSeparateWatch(after time.Duration) *separateWatch {
	return &separateWatch{after: int64(after), kick: make(chan struct{}, 1)}
}

// add watches r, whose handler starts at now, and drops the answered
// requests at the head.
func (w *separateWatch) add(r *incoming, now int64) {
	w.mu.Lock()
	w.trim()
	w.q.push(watched{r, now})
	wake := w.idle
	w.idle = false
	w.mu.Unlock()
	if wake {
		signal(w.kick)
	}
}

// trim drops answered requests from the head. w.mu must be held.
func (w *separateWatch) trim() {
	for w.q.n > 0 && w.q.front().r.state.Load() != pending {
		w.q.pop()
	}
}

// due moves the requests pending for the allowance at now to out, and
// returns when the next one would be due; 0 when none is watched, and the
// loop is then idle until add kicks it.
func (w *separateWatch) due(now int64, out []*incoming) ([]*incoming, int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		w.trim()
		if w.q.n == 0 {
			w.idle = true
			return out, 0
		}
		h := w.q.front()
		if at := h.start + w.after; at > now {
			return out, at
		}
		out = append(out, h.r)
		w.q.pop()
	}
}

func (w *separateWatch) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.q.n
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// separateLoop sends the empty ACKs of slow handlers' requests, until the
// endpoint closes.
func (e *Endpoint) separateLoop() {
	defer e.wg.Done()
	w := e.slow
	t := time.NewTimer(time.Hour)
	t.Stop()
	defer t.Stop()
	var due []*incoming
	for {
		var next int64
		due, next = w.due(e.now(), due[:0])
		for i, r := range due {
			e.ackSlow(r)
			due[i] = nil
		}
		wake := w.kick
		if next > 0 {
			t.Reset(time.Duration(next - e.now()))
		}
		select {
		case <-e.done:
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}
