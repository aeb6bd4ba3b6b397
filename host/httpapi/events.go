package httpapi

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasm2m/wasm2m/core/server"
)

// The event stream (GET /api/event): Server-Sent Events named as Leshan
// names them. One goroutine (forward) takes the server's events, encodes
// each once, and offers it to every subscriber without waiting; a
// subscriber whose buffer is full loses the event, and counts it.

// Event names on the stream.
const (
	evRegistration    = "REGISTRATION"
	evUpdated         = "UPDATED"
	evDeregistration  = "DEREGISTRATION"
	evSleeping        = "SLEEPING"
	evAwake           = "AWAKE"
	evNotification    = "NOTIFICATION"
	evSend            = "SEND"
	evRequestResponse = "REQUEST_RESPONSE"
	evDropped         = "DROPPED"
)

type sseEvent struct {
	name     string
	endpoint string
	data     []byte
}

type subscriber struct {
	endpoint string // "" for all devices
	c        chan sseEvent
	dropped  atomic.Uint64
}

type hub struct {
	n      atomic.Int32 // len(subs), read without mu
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	done   chan struct{}
	closed bool
}

func newHub() *hub { return &hub{subs: make(map[*subscriber]struct{}), done: make(chan struct{})} }

func (h *hub) add(ep string, buffer int) *subscriber {
	s := &subscriber{endpoint: ep, c: make(chan sseEvent, buffer)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.n.Store(int32(len(h.subs)))
	h.mu.Unlock()
	return s
}

func (h *hub) remove(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.n.Store(int32(len(h.subs)))
	h.mu.Unlock()
}

// wants reports whether a subscriber would take an event of endpoint ep,
// so that events nobody reads are never encoded.
func (h *hub) wants(ep string) bool {
	if h.n.Load() == 0 {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.endpoint == "" || s.endpoint == ep {
			return true
		}
	}
	return false
}

func (h *hub) close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
	h.mu.Unlock()
}

func (h *hub) depth() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for s := range h.subs {
		n += len(s.c)
	}
	return n
}

// publish offers e to every subscriber that wants it and returns how
// many lost it.
func (h *hub) publish(e sseEvent) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	lost := 0
	for s := range h.subs {
		if s.endpoint != "" && s.endpoint != e.endpoint {
			continue
		}
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
			lost++
		}
	}
	return lost
}

func (a *API) publish(e sseEvent) {
	if lost := a.hub.publish(e); lost > 0 {
		a.m.dropped.WithLabelValues("subscriber").Add(float64(lost))
	}
}

// forward turns the server's events into stream events and counts them.
func (a *API) forward() {
	defer a.wg.Done()
	for e := range a.events.C {
		a.m.events.WithLabelValues(e.Type.String()).Inc()
		if e.Type == server.EventNotification {
			a.m.notifications.Inc()
		}
		// Encoding an event costs about 19 us of JSON (measured at
		// 100,000 registrations, BENCHMARKS.md): only for a reader.
		if e.Registration == nil || !a.hub.wants(e.Registration.Endpoint) {
			continue
		}
		if ev, ok := a.streamEvent(e); ok {
			a.publish(ev)
		}
	}
}

type jsonUpdate struct {
	RegistrationID string     `json:"registrationId"`
	Address        string     `json:"address"`
	SMSNumber      string     `json:"smsNumber,omitempty"`
	Lifetime       uint32     `json:"lifetime"`
	BindingMode    string     `json:"bindingMode"`
	ObjectLinks    []jsonLink `json:"objectLinks"`
	Secure         bool       `json:"secure"`
}

type jsonDeregistration struct {
	jsonRegistration
	// Expired is an addition: the registration lapsed rather than the
	// device de-registering.
	Expired bool `json:"expired,omitempty"`
}

// streamEvent encodes e; ok is false for events the stream does not show
// (a notification that could not be decoded).
func (a *API) streamEvent(e server.Event) (sseEvent, bool) {
	r := e.Registration
	if r == nil {
		return sseEvent{}, false
	}
	var name string
	var v any
	switch e.Type {
	case server.EventRegistered:
		// The device just talked: it listens, whatever presence has
		// seen so far.
		name, v = evRegistration, encodeRegistration(r, false)
	case server.EventUpdated:
		name = evUpdated
		v = struct {
			Registration jsonRegistration `json:"registration"`
			Update       jsonUpdate       `json:"update"`
		}{encodeRegistration(r, false), jsonUpdate{
			RegistrationID: r.ID, Address: r.Address.String(), SMSNumber: r.SMS, Lifetime: r.Lifetime,
			BindingMode: r.Binding, ObjectLinks: registrationLinks(r), Secure: r.Secure,
		}}
	case server.EventDeregistered, server.EventExpired:
		name = evDeregistration
		v = jsonDeregistration{encodeRegistration(r, true), e.Type == server.EventExpired}
	case server.EventSleeping:
		name, v = evSleeping, map[string]string{"ep": r.Endpoint}
	case server.EventAwake:
		name, v = evAwake, map[string]string{"ep": r.Endpoint}
	case server.EventNotification:
		if e.Err != nil || len(e.Entries) == 0 {
			return sseEvent{}, false
		}
		name = evNotification
		a.mu.Lock()
		composite := a.composite[r.ID][e.Token] || len(e.Paths) != 1
		a.mu.Unlock()
		if composite {
			paths := make([]string, len(e.Paths))
			for i, p := range e.Paths {
				paths[i] = p.String()
			}
			v = struct {
				Endpoint string              `json:"ep"`
				Kind     string              `json:"kind"`
				Val      map[string]jsonNode `json:"val"`
				Paths    []string            `json:"paths"`
			}{r.Endpoint, "composite", encodeEntries(e.Entries), paths}
		} else {
			v = struct {
				Endpoint string   `json:"ep"`
				Kind     string   `json:"kind"`
				Res      string   `json:"res"`
				Val      jsonNode `json:"val"`
			}{r.Endpoint, "single", e.Paths[0].String(), encodeNode(&e.Entries[0].Node)}
		}
	case server.EventSend:
		name = evSend
		v = struct {
			Endpoint string              `json:"ep"`
			Val      map[string]jsonNode `json:"val"`
		}{r.Endpoint, encodeEntries(e.Entries)}
	default:
		return sseEvent{}, false
	}
	b, err := marshal(v)
	if err != nil {
		a.log.Error("encode event", "event", name, "err", err)
		return sseEvent{}, false
	}
	return sseEvent{name: name, endpoint: r.Endpoint, data: bytes.TrimSuffix(b, []byte("\n"))}, true
}

// eventStream serves GET /api/event[?ep=endpoint].
func (a *API) eventStream(w http.ResponseWriter, r *http.Request, _ params) {
	rc := http.NewResponseController(w)
	ep := r.URL.Query().Get("ep")
	s := a.hub.add(ep, a.cfg.EventBuffer)
	a.m.subscribers.Inc()
	defer func() {
		a.hub.remove(s)
		a.m.subscribers.Dec()
	}()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// A comment first: the subscriber knows it is subscribed.
	if _, err := fmt.Fprint(w, ": subscribed\n\n"); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	keep := time.NewTicker(a.cfg.KeepAlive)
	defer keep.Stop()
	var reported uint64
	write := func(name string, data []byte) bool {
		// A reader that stops reading is cut off rather than kept forever.
		rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-a.hub.done:
			return
		case <-keep.C:
			rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case e := <-s.c:
			// Tell the subscriber what it lost before what comes next.
			if d := s.dropped.Load(); d != reported {
				reported = d
				if !write(evDropped, fmt.Appendf(nil, `{"dropped":%d}`, d)) {
					return
				}
			}
			if !write(e.name, e.data) {
				return
			}
		}
	}
}
