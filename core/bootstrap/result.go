package bootstrap

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
)

// State is where a bootstrap of one endpoint stands.
type State uint8

// The states of a Result.
const (
	// StateRunning: the sequence is under way.
	StateRunning State = iota + 1
	// StateSucceeded: the device accepted Bootstrap-Finish (2.04).
	StateSucceeded
	// StateFailed: a step failed (the device refused it, did not answer,
	// or the configuration could not be written); the device keeps what
	// was written before the failure and no Bootstrap-Finish was sent.
	StateFailed
	// StatePackSent: a Bootstrap-Pack-Request (1.2) was answered with the
	// configuration; the device applies it on its own.
	StatePackSent
)

// String returns the state's name: running, succeeded, failed, pack-sent.
func (s State) String() string {
	switch s {
	case StateRunning:
		return "running"
	case StateSucceeded:
		return "succeeded"
	case StateFailed:
		return "failed"
	case StatePackSent:
		return "pack-sent"
	}
	return "unknown"
}

// MarshalText writes the state's name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Result is the outcome of the last bootstrap of one endpoint.
type Result struct {
	Endpoint string
	Peer     netip.AddrPort // the address the Bootstrap-Request came from (over DTLS, the session's peer key)
	Secure   bool           // it came in on the SecureAddr endpoint
	State    State

	// Format is the content format of the Bootstrap-Writes (or of the
	// pack); Discovered says whether the device answered
	// Bootstrap-Discover (1.1 and later).
	Format     codec.Format
	Discovered bool

	// Step is the operation the sequence is at, or failed at, such as
	// "bootstrap-write /0/1" or "bootstrap-finish".
	Step string
	// Code is the device's response to the failed step, 0 if it did not
	// answer (Err says why).
	Code model.Code
	// Err says why the sequence failed; nil unless State is StateFailed.
	Err error

	Started time.Time
	Ended   time.Time // zero while running
}

// EventType is the kind of an Event.
type EventType uint8

// Event types.
const (
	EventStarted   EventType = iota + 1 // a Bootstrap-Request was accepted and a sequence starts
	EventSucceeded                      // Bootstrap-Finish was accepted
	EventFailed                         // a sequence failed
	EventPackSent                       // a Bootstrap-Pack-Request was answered
)

// String returns the event type's name.
func (t EventType) String() string {
	switch t {
	case EventStarted:
		return "bootstrap-started"
	case EventSucceeded:
		return "bootstrap-succeeded"
	case EventFailed:
		return "bootstrap-failed"
	case EventPackSent:
		return "bootstrap-pack-sent"
	}
	return "unknown"
}

// Event is a change of an endpoint's Result.
type Event struct {
	Type   EventType
	Result Result
}

// Subscription receives the server's events on C until Close (or the
// server's Close, which closes C). An event that finds the buffer full is
// dropped and counted.
type Subscription struct {
	C <-chan Event

	c       chan Event
	s       *Server
	dropped atomic.Uint64
	once    sync.Once
}

// Dropped returns how many events this subscription lost because its
// buffer was full.
func (sub *Subscription) Dropped() uint64 { return sub.dropped.Load() }

// Close ends the subscription and closes C. It is safe to call more than
// once and from any goroutine.
func (sub *Subscription) Close() {
	sub.s.subMu.Lock()
	defer sub.s.subMu.Unlock()
	sub.closeLocked()
}

func (sub *Subscription) closeLocked() {
	sub.once.Do(func() {
		delete(sub.s.subs, sub)
		close(sub.c)
	})
}

// Subscribe returns a subscription to every event, with room for buffer
// events (64 if buffer <= 0). On a closed server C is closed at once.
func (s *Server) Subscribe(buffer int) *Subscription {
	if buffer <= 0 {
		buffer = 64
	}
	sub := &Subscription{c: make(chan Event, buffer), s: s}
	sub.C = sub.c
	s.subMu.Lock()
	defer s.subMu.Unlock()
	if s.subsClosed {
		sub.closeLocked()
		return sub
	}
	s.subs[sub] = struct{}{}
	return sub
}

// publish records r as the last result of its endpoint and sends the
// event to every subscriber.
func (s *Server) publish(t EventType, r Result) {
	s.mu.Lock()
	s.results[r.Endpoint] = r
	s.mu.Unlock()
	e := Event{Type: t, Result: r}
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for sub := range s.subs {
		select {
		case sub.c <- e:
		default:
			sub.dropped.Add(1)
		}
	}
}

func (s *Server) closeSubscriptions() {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	s.subsClosed = true
	for sub := range s.subs {
		sub.closeLocked()
	}
}

// Result returns the last outcome of endpoint ep's bootstrap, the running
// one if a sequence is under way; false if ep has not bootstrapped since
// the server started.
func (s *Server) Result(ep string) (Result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.results[ep]
	return r, ok
}

// Results returns the last outcome of every endpoint, in ascending
// endpoint order.
func (s *Server) Results() []Result {
	s.mu.Lock()
	out := make([]Result, 0, len(s.results))
	for _, r := range s.results {
		out = append(out, r)
	}
	s.mu.Unlock()
	sortResults(out)
	return out
}
