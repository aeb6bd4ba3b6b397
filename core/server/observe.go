package server

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// Notification is one notification of an observation (Core 1.1 section
// 6.4.2): the observed nodes, and the records with their timestamps when
// the device sent historical values.
type Notification struct {
	Time    time.Time
	Entries []model.Entry
	Records []model.Record
	// Err is set when the notification could not be decoded, or when the
	// device ended the observation with an error code (which closes C).
	Err error
}

// Observation is an observation the server holds on a device. C receives
// its notifications until it is cancelled, the device ends it, or the
// registration goes away; then C is closed. A receiver that falls behind
// loses notifications (Dropped counts them); every notification is also
// an event (Notification) for subscribers.
type Observation struct {
	Token    string
	Endpoint string
	Paths    []model.Path
	// First is the value the device answered the Observe request with.
	First []model.Entry
	C     <-chan Notification

	s *Server
	o *observation
}

// Dropped returns how many notifications did not fit in C.
func (o *Observation) Dropped() uint64 { return o.o.dropped.Load() }

// Cancel ends the observation. A passive cancel forgets it: the device's
// next notification is answered with RST (RFC 7641 section 3.6). An active
// cancel also sends the device an Observe with the value 1 (section 3.6,
// Core 1.1 section 6.4.3).
func (o *Observation) Cancel(ctx context.Context, active bool) error {
	return o.s.CancelObservation(ctx, o.Token, active)
}

// observation is the server's state for one token: what the store keeps,
// and, while the Observation that created it lives, its channel.
type observation struct {
	stored  *store.Observation
	mu      sync.Mutex // guards ch and closed, and orders notifications
	ch      chan Notification
	closed  bool
	lastSeq uint32
	lastAt  time.Time
	hasSeq  bool
	dropped atomic.Uint64
}

// closeLocked closes the channel; the caller holds s.mu.
func (o *observation) closeLocked() {
	o.mu.Lock()
	if o.ch != nil && !o.closed {
		o.closed = true
		close(o.ch)
	}
	o.mu.Unlock()
}

func (s *Server) addObservation(o *observation) {
	s.mu.Lock()
	s.obs[o.stored.Token] = o
	set := s.obsOf[o.stored.RegistrationID]
	if set == nil {
		set = make(map[string]struct{})
		s.obsOf[o.stored.RegistrationID] = set
	}
	set[o.stored.Token] = struct{}{}
	s.mu.Unlock()
}

func (s *Server) dropObservation(tok string) *observation {
	s.mu.Lock()
	o := s.obs[tok]
	if o != nil {
		delete(s.obs, tok)
		if set := s.obsOf[o.stored.RegistrationID]; set != nil {
			delete(set, tok)
			if len(set) == 0 {
				delete(s.obsOf, o.stored.RegistrationID)
			}
		}
		o.closeLocked()
	}
	s.mu.Unlock()
	return o
}

// ErrNotObserved is returned when a device answered an Observe request
// without an Observe option: it sent the value but will not notify.
var ErrNotObserved = errors.New("the device answered without establishing the observation")

// Observe starts observing p on device ep (Core 1.1 section 6.4.1). The
// notification attributes in force are those the device holds for p
// (set them with WriteAttributes).
func (s *Server) Observe(ctx context.Context, ep string, p model.Path, opts ...Option) (*Observation, error) {
	if p.IsRoot() {
		return nil, model.Errorf(model.BadRequest, "observe of the root path: use ObserveComposite")
	}
	return s.observe(ctx, ep, []model.Path{p}, false, opts)
}

// ObserveComposite observes several paths with one observation (Core 1.1
// section 6.4.2, Observe-Composite: a FETCH of the root with Observe=0).
func (s *Server) ObserveComposite(ctx context.Context, ep string, paths []model.Path, opts ...Option) (*Observation, error) {
	if len(paths) == 0 {
		return nil, model.Errorf(model.BadRequest, "observe-composite needs at least one path")
	}
	return s.observe(ctx, ep, paths, true, opts)
}

func (s *Server) observe(ctx context.Context, ep string, paths []model.Path, composite bool, opts []Option) (*Observation, error) {
	r, err := s.store.RegistrationByEndpoint(ctx, ep)
	if err != nil {
		return nil, model.Errorf(model.NotFound, "device %q is not registered", ep)
	}
	if composite {
		if err := checkComposite(r); err != nil {
			return nil, err
		}
	}
	f := formatFor(r, composite, options(opts))
	if err := checkFormat(r, f); err != nil {
		return nil, err
	}
	var msg *transport.Message
	if composite {
		body, err := codec.EncodePaths(nil, pathsFormatOf(f), paths)
		if err != nil {
			return nil, err
		}
		msg = newRequest(transport.FETCH, r, model.RootPath())
		msg.SetContentFormat(uint16(pathsFormatOf(f)))
		msg.Payload = body
	} else {
		msg = newRequest(transport.GET, r, paths[0])
	}
	msg.SetObserve(0)
	msg.SetAccept(uint16(f))
	tok := newToken()
	msg.Token = []byte(tok)

	st := &store.Observation{
		Token:          tok,
		RegistrationID: r.ID,
		Endpoint:       r.Endpoint,
		Paths:          paths,
		Composite:      composite,
		Format:         uint16(f),
		CreatedAt:      s.now(),
	}
	o := &observation{stored: st, ch: make(chan Notification, s.cfg.NotificationBuffer)}
	// Known before the request leaves, so that a notification that races
	// the response still finds it; durable before the device can rely on it.
	if err := s.store.PutObservation(ctx, st); err != nil {
		return nil, err
	}
	s.addObservation(o)
	resp, err := s.callRegistration(ctx, r, msg)
	if err != nil {
		s.forget(tok)
		return nil, err
	}
	if _, ok := resp.Observe(); !ok {
		s.forget(tok)
		return nil, model.Errorf(model.BadGateway, "observe %v on %s: %w", paths, ep, ErrNotObserved)
	}
	if seq, ok := resp.Observe(); ok {
		o.mu.Lock()
		o.lastSeq, o.lastAt, o.hasSeq = seq, s.now(), true
		o.mu.Unlock()
	}
	var first []model.Entry
	if composite {
		first, err = s.decodeEntries(r, paths, resp, f)
	} else {
		var n model.Node
		n, err = s.decodeResponse(r, paths[0], resp, f)
		first = []model.Entry{{Path: paths[0], Node: n}}
	}
	if err != nil {
		s.forget(tok)
		return nil, err
	}
	s.log.Debug("observing", "endpoint", ep, "paths", paths, "token", tokenString(tok))
	return &Observation{Token: tok, Endpoint: ep, Paths: paths, First: first, C: o.ch, s: s, o: o}, nil
}

func pathsFormatOf(f codec.Format) codec.Format {
	if f == codec.LwM2MCBOR {
		return codec.SenMLCBOR
	}
	return f
}

// forget drops an observation from the tables and the store.
func (s *Server) forget(tok string) {
	s.dropObservation(tok)
	if _, err := s.store.DeleteObservation(context.Background(), tok); err != nil && !errors.Is(err, model.ErrNotFound) {
		s.log.Error("delete observation", "token", tokenString(tok), "err", err)
	}
}

// CancelObservation ends the observation with token tok (see
// Observation.Cancel).
func (s *Server) CancelObservation(ctx context.Context, tok string, active bool) error {
	s.mu.Lock()
	o := s.obs[tok]
	s.mu.Unlock()
	if o == nil {
		return model.Errorf(model.NotFound, "no observation with token %s", tokenString(tok))
	}
	s.forget(tok)
	if !active {
		return nil
	}
	r, err := s.store.Registration(ctx, o.stored.RegistrationID)
	if err != nil {
		return err
	}
	var msg *transport.Message
	if o.stored.Composite {
		body, err := codec.EncodePaths(nil, pathsFormatOf(codec.Format(o.stored.Format)), o.stored.Paths)
		if err != nil {
			return err
		}
		msg = newRequest(transport.FETCH, r, model.RootPath())
		msg.SetContentFormat(uint16(pathsFormatOf(codec.Format(o.stored.Format))))
		msg.Payload = body
	} else {
		msg = newRequest(transport.GET, r, o.stored.Paths[0])
	}
	msg.SetObserve(1)
	msg.SetAccept(o.stored.Format)
	msg.Token = []byte(tok)
	_, err = s.callRegistration(ctx, r, msg)
	return err
}

// Observations returns the observations held on device ep, as the store
// keeps them.
func (s *Server) Observations(ctx context.Context, ep string) ([]*store.Observation, error) {
	r, err := s.store.RegistrationByEndpoint(ctx, ep)
	if err != nil {
		return nil, model.Errorf(model.NotFound, "device %q is not registered", ep)
	}
	return s.store.ObservationsOf(ctx, r.ID)
}

// onNotify receives the response-class messages that match no request in
// flight: notifications. It returns false for a token it does not know,
// and the transport answers RST, which ends the device's observation
// (passive cancel, RFC 7641 section 3.6).
func (s *Server) onNotify(peer netip.AddrPort, msg *transport.Message) bool {
	tok := string(msg.Token)
	s.mu.Lock()
	o := s.obs[tok]
	s.mu.Unlock()
	if o == nil {
		return false
	}
	s.wakeFrom(peer)
	ctx := context.Background()
	r, err := s.store.Registration(ctx, o.stored.RegistrationID)
	if err != nil {
		s.forget(tok)
		return false
	}
	if b, ok := msg.Block2(); ok && b.More {
		// A notification too large for one datagram carries its first
		// block; the rest is fetched with a plain request for the
		// observed resource (RFC 7959 section 3.4). The fetch runs on its
		// own goroutine: this one belongs to the transport.
		select {
		case <-s.stop:
			return true
		default:
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.completeNotification(o, r, msg)
		}()
		return true
	}
	s.handleNotification(o, r, msg)
	return true
}

// completeNotification fetches the whole body of a block-wise
// notification and handles it.
func (s *Server) completeNotification(o *observation, r *store.Registration, first *transport.Message) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	st := o.stored
	var req *transport.Message
	if st.Composite {
		body, err := codec.EncodePaths(nil, pathsFormatOf(codec.Format(st.Format)), st.Paths)
		if err != nil {
			return
		}
		req = newRequest(transport.FETCH, r, model.RootPath())
		req.SetContentFormat(uint16(pathsFormatOf(codec.Format(st.Format))))
		req.Payload = body
	} else {
		req = newRequest(transport.GET, r, st.Paths[0])
	}
	if cf, ok := first.ContentFormat(); ok {
		req.SetAccept(cf)
	} else {
		req.SetAccept(st.Format)
	}
	resp, err := s.callRegistration(ctx, r, req)
	whole := *first
	whole.Remove(transport.OptBlock2)
	if err != nil {
		whole.Payload = nil
		s.deliver(o, r, Notification{Time: s.now(), Err: model.Errorf(model.BadGateway, "fetch the rest of a block-wise notification from %s: %w", r.Endpoint, err)})
		return
	}
	whole.Payload = resp.Payload
	if cf, ok := resp.ContentFormat(); ok {
		whole.SetContentFormat(cf)
	}
	s.handleNotification(o, r, &whole)
}

// handleNotification decodes a complete notification and delivers it.
func (s *Server) handleNotification(o *observation, r *store.Registration, msg *transport.Message) {
	tok := o.stored.Token
	now := s.now()
	seq, hasSeq := msg.Observe()
	if hasSeq && !o.fresh(seq, now) {
		return // reordered: older than what we delivered (RFC 7641 section 4.4)
	}
	n := Notification{Time: now}
	var err error
	if !msg.Code.IsSuccess() || !hasSeq {
		// An error, or a final response without Observe: the device ended
		// the observation (RFC 7641 section 3.2).
		n.Err = &model.Error{Code: msg.Code, Msg: "device " + r.Endpoint + " ended the observation with " + msg.Code.String()}
		if msg.Code.IsSuccess() {
			n.Err = nil
			n.Entries, n.Records, err = s.decodeNotification(r, o.stored, msg)
			if err != nil {
				n.Err = err
			}
		}
		s.deliver(o, r, n)
		s.forget(tok)
		return
	}
	n.Entries, n.Records, err = s.decodeNotification(r, o.stored, msg)
	if err != nil {
		n.Err = err
		s.log.Warn("undecodable notification", "endpoint", r.Endpoint, "token", tokenString(tok), "err", err)
	}
	s.deliver(o, r, n)
}

// fresh applies RFC 7641 section 4.4: a notification is newer when its
// sequence number is ahead (modulo 2^23 windows) or 128 s have passed.
func (o *observation) fresh(seq uint32, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.hasSeq {
		v1, v2 := o.lastSeq, seq
		newer := (v1 < v2 && v2-v1 < 1<<23) || (v1 > v2 && v1-v2 > 1<<23) || now.After(o.lastAt.Add(128*time.Second))
		if !newer {
			return false
		}
	}
	o.lastSeq, o.lastAt, o.hasSeq = seq, now, true
	return true
}

func (s *Server) deliver(o *observation, r *store.Registration, n Notification) {
	s.emit(Event{Type: EventNotification, Time: n.Time, Registration: r, Token: o.stored.Token, Paths: o.stored.Paths, Entries: n.Entries, Records: n.Records, Err: n.Err})
	o.mu.Lock()
	if o.ch != nil && !o.closed {
		select {
		case o.ch <- n:
		default:
			o.dropped.Add(1)
		}
	}
	o.mu.Unlock()
}

// decodeNotification decodes a notification's payload against the
// observed paths. Records (with their timestamps) are kept for the formats
// that carry them.
func (s *Server) decodeNotification(r *store.Registration, st *store.Observation, msg *transport.Message) ([]model.Entry, []model.Record, error) {
	f := codec.Format(st.Format)
	if cf, ok := msg.ContentFormat(); ok {
		f = codec.Format(cf)
	}
	defs := s.defsFor(r)
	var recs []model.Record
	if f.Composite() {
		var err error
		recs, err = codec.DecodeRecords(f, msg.Payload)
		if err != nil {
			return nil, nil, model.Errorf(model.BadGateway, "notification from %s: %w", r.Endpoint, err)
		}
		timestamped := false
		for _, rec := range recs {
			if !rec.Time.IsZero() {
				timestamped = true
				break
			}
		}
		if timestamped {
			// Historical values (Core 1.1 section 6.4.2, hqmax in 1.2):
			// the latest value of each path makes the entries.
			entries, err := model.Group(latest(recs), st.Paths, defs)
			return entries, recs, err
		}
		entries, err := model.Group(recs, st.Paths, defs)
		if err != nil {
			return nil, recs, model.Errorf(model.BadGateway, "notification from %s: %w", r.Endpoint, err)
		}
		return entries, recs, nil
	}
	if st.Composite {
		return nil, nil, model.Errorf(model.BadGateway, "composite notification from %s in %s", r.Endpoint, f.Name())
	}
	n, err := codec.Decode(f, msg.Payload, st.Paths[0], defs)
	if err != nil {
		return nil, nil, model.Errorf(model.BadGateway, "notification from %s: %w", r.Endpoint, err)
	}
	return []model.Entry{{Path: st.Paths[0], Node: n}}, nil, nil
}

// latest keeps, for each path, the record with the latest time.
func latest(recs []model.Record) []model.Record {
	idx := make(map[model.Path]int, len(recs))
	var out []model.Record
	for _, r := range recs {
		if i, ok := idx[r.Path]; ok {
			if r.Time.After(out[i].Time) {
				out[i] = r
			}
			continue
		}
		idx[r.Path] = len(out)
		out = append(out, r)
	}
	return out
}

func tokenString(tok string) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 0, 2*len(tok))
	for i := 0; i < len(tok); i++ {
		b = append(b, hex[tok[i]>>4], hex[tok[i]&15])
	}
	return string(b)
}
