package server

import (
	"context"
	"sync"

	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// With a store that commits in groups (store.AsyncPutter, the file store),
// a Register does not keep a goroutine waiting for its commit. The handler
// makes the change, defers its answer (transport.Request.Defer) and
// returns; the store's writer hands the Registers of each commit to
// completeLoop, which finishes them (tracking, Registered events) and
// sends their answers together (transport.Endpoint.Batch). Since the
// handler then never waits, the transport runs it on the goroutine that
// reads the socket (transport.Config.Inline) when the stores it reads are
// local: no goroutine is woken per Register at all. Measured in
// BENCHMARKS.md, "Registrations per second".

// registered is a Register whose change a commit has made durable, or
// failed to, waiting for the rest of its handling and its answer.
type registered struct {
	r, replaced *store.Registration
	err         error
	respond     func(*transport.Message)
}

// completionQueue passes the Registers of a commit from the store's
// writer goroutine, which must not wait, to completeLoop.
type completionQueue struct {
	mu   sync.Mutex
	q    []registered
	wake chan struct{}
}

func (c *completionQueue) add(d registered) {
	c.mu.Lock()
	c.q = append(c.q, d)
	first := len(c.q) == 1
	c.mu.Unlock()
	if first {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// take returns what is queued and keeps spare's room for what comes next.
func (c *completionQueue) take(spare []registered) []registered {
	c.mu.Lock()
	q := c.q
	c.q = spare[:0]
	c.mu.Unlock()
	return q
}

// completeLoop finishes the Registers of each commit in one go.
func (s *Server) completeLoop() {
	defer s.wg.Done()
	var spare []registered
	for {
		select {
		case <-s.completions.wake:
		case <-s.stop:
			s.complete(s.completions.take(nil))
			return
		}
		done := s.completions.take(spare)
		s.complete(done)
		clear(done)
		spare = done
	}
}

func (s *Server) complete(done []registered) {
	if len(done) == 0 {
		return
	}
	finish := func() {
		for _, d := range done {
			d.respond(s.registered(context.Background(), d.r, d.replaced, d.err))
		}
	}
	if s.ep != nil {
		s.ep.Batch(finish)
	} else {
		finish()
	}
}

// registerAsync makes the change of a Register with an AsyncPutter store
// and defers its answer to completeLoop. It reports false, having done
// nothing, if req cannot be answered later (a request no endpoint made).
func (s *Server) registerAsync(ctx context.Context, req *transport.Request, async store.AsyncPutter, r *store.Registration) bool {
	respond := req.Defer()
	if respond == nil {
		return false
	}
	err := async.PutRegistrationAsync(ctx, r, func(replaced *store.Registration, err error) {
		s.completions.add(registered{r: r, replaced: replaced, err: err, respond: respond})
	})
	if err != nil {
		respond(s.registered(ctx, r, nil, err))
	}
	return true
}

// inlineRegister is the transport's Config.Inline: a Register, when the
// store commits in groups and every store a Register reads is local, so
// that its handling never waits.
func (s *Server) inlineRegister() func(*transport.Message) bool {
	if _, ok := s.store.(store.AsyncPutter); !ok || !store.Local(s.store) {
		return nil
	}
	if s.cfg.Security != nil && !store.Local(s.cfg.Security) {
		return nil
	}
	return isRegister
}

// isRegister reports whether m is a Register: a POST to /rd.
func isRegister(m *transport.Message) bool {
	if m.Code != transport.POST {
		return false
	}
	n := 0
	for _, o := range m.Options {
		if o.ID == transport.OptURIPath {
			if n++; n > 1 || string(o.Value) != "rd" {
				return false
			}
		}
	}
	return n == 1
}
