package server

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
)

// EventType says what happened.
type EventType uint8

// The events a server emits (Core 1.1 sections 6.2 and 6.4).
const (
	EventRegistered   EventType = iota + 1 // a Register created a registration
	EventUpdated                           // an Update changed one
	EventDeregistered                      // a De-register removed one
	EventExpired                           // its lifetime ran out
	EventSleeping                          // a queue-mode device's awake window closed
	EventAwake                             // a queue-mode device talked again
	EventNotification                      // a notification of an observation arrived
	EventSend                              // the device sent data with the Send operation
)

var eventNames = [...]string{"", "registered", "updated", "deregistered", "expired", "sleeping", "awake", "notification", "send"}

func (t EventType) String() string {
	if int(t) < len(eventNames) && t != 0 {
		return eventNames[t]
	}
	return "event(" + string(rune('0'+t)) + ")"
}

// Event is one thing that happened on the server. Registration is a
// snapshot taken when the event was emitted; treat it, and every slice in
// the event, as read-only: subscribers share them.
type Event struct {
	Type         EventType
	Time         time.Time
	Registration *store.Registration
	// Previous is the registration before an Update, or the one a
	// Register replaced (same endpoint).
	Previous *store.Registration

	// Notification and Send.
	Token   string         // the observation's token (Notification)
	Paths   []model.Path   // the observed paths (Notification)
	Entries []model.Entry  // the content, one entry per path (nodes)
	Records []model.Record // the content as records, with timestamps when the device gave them
	Err     error          // a notification that could not be decoded or that reported an error code
}

// SubscribeOptions shape a subscription.
type SubscribeOptions struct {
	// Buffer is how many events may wait for the subscriber (default 256).
	Buffer int
	// Block makes the server wait for room instead of dropping an event
	// when the buffer is full. It is back-pressure on the CoAP path: only
	// for subscribers that must not miss anything and keep up.
	Block bool
	// Types limits the subscription to these event types (all if empty).
	Types []EventType
	// Endpoint limits the subscription to one device ("" for all).
	Endpoint string
}

// Subscription receives events on C until Close. A subscription that does
// not keep up loses events (Dropped counts them) unless it asked to Block.
type Subscription struct {
	C <-chan Event

	c        chan Event
	opts     SubscribeOptions
	types    uint32
	dropped  atomic.Uint64
	b        *broker
	once     sync.Once
	closedMu sync.RWMutex
	closed   bool
}

// Dropped returns how many events this subscription lost because its
// buffer was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription and closes C. It is safe to call more than
// once and from any goroutine.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.b.remove(s)
		s.closedMu.Lock()
		s.closed = true
		close(s.c)
		s.closedMu.Unlock()
	})
}

func (s *Subscription) wants(e *Event) bool {
	if s.types != 0 && s.types&(1<<e.Type) == 0 {
		return false
	}
	if s.opts.Endpoint != "" && (e.Registration == nil || e.Registration.Endpoint != s.opts.Endpoint) {
		return false
	}
	return true
}

func (s *Subscription) deliver(e Event, stop <-chan struct{}) {
	s.closedMu.RLock()
	defer s.closedMu.RUnlock()
	if s.closed {
		return
	}
	if s.opts.Block {
		select {
		case s.c <- e:
		case <-stop:
		}
		return
	}
	select {
	case s.c <- e:
	default:
		s.dropped.Add(1)
	}
}

// broker fans events out to subscriptions. Publishing never blocks on a
// subscriber that did not ask for back-pressure.
type broker struct {
	mu   sync.RWMutex
	subs []*Subscription
	stop chan struct{}
}

func newBroker() *broker { return &broker{stop: make(chan struct{})} }

func (b *broker) subscribe(opts SubscribeOptions) *Subscription {
	if opts.Buffer <= 0 {
		opts.Buffer = 256
	}
	s := &Subscription{c: make(chan Event, opts.Buffer), opts: opts, b: b}
	s.C = s.c
	for _, t := range opts.Types {
		s.types |= 1 << t
	}
	b.mu.Lock()
	b.subs = append(b.subs, s)
	b.mu.Unlock()
	return s
}

func (b *broker) remove(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, x := range b.subs {
		if x == s {
			b.subs = append(b.subs[:i:i], b.subs[i+1:]...)
			return
		}
	}
}

func (b *broker) publish(e Event) {
	b.mu.RLock()
	subs := b.subs
	b.mu.RUnlock()
	for _, s := range subs {
		if s.wants(&e) {
			s.deliver(e, b.stop)
		}
	}
}

// close releases publishers blocked on Block subscriptions and closes every
// subscription.
func (b *broker) close() {
	close(b.stop)
	b.mu.RLock()
	subs := append([]*Subscription(nil), b.subs...)
	b.mu.RUnlock()
	for _, s := range subs {
		s.Close()
	}
}
