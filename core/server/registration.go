package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"log/slog"
	"math"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// DefaultLifetime is the lifetime of a registration whose Register gives
// none (Core 1.1 section 6.2.1, Table 6.2.1-1: lt is optional, 86400 s).
const DefaultLifetime = 86400

// serveCoAP routes the requests devices send: the Registration interface
// under /rd and Send under /dp (Core 1.1 sections 6.2 and 6.4.4; Transport
// section 6.4 for the URIs).
func (s *Server) serveCoAP(ctx context.Context, req *transport.Request) *transport.Message {
	s.wakeFrom(req.Peer)
	if isRegisterPath(req.Msg) {
		// The most frequent request, routed without a string per
		// path segment.
		if req.Msg.Code != transport.POST {
			return reply(model.MethodNotAllowed, "register is POST /rd")
		}
		return s.register(ctx, req)
	}
	segs := req.Msg.PathSegments()
	switch {
	case len(segs) == 1 && segs[0] == "rd":
		if req.Msg.Code != transport.POST {
			return reply(model.MethodNotAllowed, "register is POST /rd")
		}
		return s.register(ctx, req)
	case len(segs) == 2 && segs[0] == "rd":
		switch req.Msg.Code {
		case transport.POST:
			return s.update(ctx, req, segs[1])
		case transport.DELETE:
			return s.deregister(ctx, req, segs[1])
		}
		return reply(model.MethodNotAllowed, "update is POST /rd/{id}, de-register DELETE /rd/{id}")
	case len(segs) == 1 && segs[0] == "dp":
		if req.Msg.Code != transport.POST {
			return reply(model.MethodNotAllowed, "send is POST /dp")
		}
		return s.send(ctx, req)
	}
	return reply(model.NotFound, "")
}

// isRegisterPath reports whether msg's Uri-Path is /rd, as
// PathSegments would give ["rd"].
func isRegisterPath(msg *transport.Message) bool {
	n := 0
	for i := range msg.Options {
		o := &msg.Options[i]
		if o.ID != transport.OptURIPath {
			continue
		}
		if n > 0 || string(o.Value) != "rd" {
			return false
		}
		n++
	}
	return n == 1
}

// reply builds a response with a diagnostic payload (RFC 7252 section
// 5.5.2) for errors.
func reply(code model.Code, diag string) *transport.Message {
	m := &transport.Message{Code: code}
	if diag != "" && !code.IsSuccess() {
		m.Payload = []byte(diag)
	}
	return m
}

func replyErr(err error) *transport.Message {
	code := model.CodeOf(err)
	var e *model.Error
	diag := err.Error()
	if errors.As(err, &e) && e.Msg != "" {
		diag = e.Msg
	}
	if code == model.InternalServerError {
		diag = "internal error"
	}
	return reply(code, diag)
}

// regParams are the registration parameters of a Register or Update query
// (Core 1.1 Table 6.2.1-1 and 6.2.2-1).
type regParams struct {
	endpoint        string
	lifetime        uint32
	hasLifetime     bool
	version         model.Version
	hasVersion      bool
	binding         string
	hasBinding      bool
	sms             string
	hasSMS          bool
	queue           bool
	hasQueueOrOther bool
}

// parseRegQuery reads the Uri-Query options of a Register or Update.
// Unknown parameters are ignored, as the specification lets a server do.
func parseRegQuery(query []string, minLifetime uint32) (regParams, error) {
	var q regQuery
	for _, v := range query {
		if err := q.add([]byte(v), minLifetime); err != nil {
			return q.p, err
		}
	}
	return q.p, nil
}

// parseRegOptions is parseRegQuery over the Uri-Query options of msg,
// without making a string of each (a Register is the server's most
// frequent request): only the values kept are copied.
func parseRegOptions(msg *transport.Message, minLifetime uint32) (regParams, error) {
	var q regQuery
	for i := range msg.Options {
		o := &msg.Options[i]
		if o.ID != transport.OptURIQuery {
			continue
		}
		if err := q.add(o.Value, minLifetime); err != nil {
			return q.p, err
		}
	}
	return q.p, nil
}

// regQuery reads registration parameters one at a time.
type regQuery struct {
	p     regParams
	known uint8    // the known keys seen, one bit each
	other []string // the unknown keys seen
}

// The known keys of regQuery, by bit.
const (
	keyEP = 1 << iota
	keyLT
	keyLWM2M
	keyB
	keySMS
	keyQ
)

// add reads one query "key=value" or "key".
func (q *regQuery) add(b []byte, minLifetime uint32) error {
	p := &q.p
	key, val, hasVal := bytes.Cut(b, []byte{'='})
	var bit uint8
	switch string(key) {
	case "ep":
		bit = keyEP
	case "lt":
		bit = keyLT
	case "lwm2m":
		bit = keyLWM2M
	case "b":
		bit = keyB
	case "sms":
		bit = keySMS
	case "Q":
		bit = keyQ
	}
	if bit == 0 {
		// Unknown parameters are ignored, but not given twice either.
		k := string(key)
		if slices.Contains(q.other, k) {
			return model.Errorf(model.BadRequest, "parameter %q given twice", k)
		}
		q.other = append(q.other, k)
		return nil
	}
	if q.known&bit != 0 {
		return model.Errorf(model.BadRequest, "parameter %q given twice", key)
	}
	q.known |= bit
	switch bit {
	case keyEP:
		if len(val) == 0 || !hasVal {
			return model.Errorf(model.BadRequest, "empty endpoint name")
		}
		p.endpoint = string(val)
	case keyLT:
		n, ok := parseSeconds(val)
		if !ok {
			return model.Errorf(model.BadRequest, "lifetime %q is not a number of seconds", val)
		}
		if n < minLifetime {
			return model.Errorf(model.BadRequest, "lifetime %d is below the minimum %d", n, minLifetime)
		}
		p.lifetime, p.hasLifetime = n, true
	case keyLWM2M:
		var v model.Version
		switch string(val) {
		case "1.0":
			v = model.V1_0
		case "1.1":
			v = model.V1_1
		case "1.2":
			v = model.V1_2
		default:
			var err error
			if v, err = model.ParseVersion(string(val)); err != nil {
				return model.Errorf(model.BadRequest, "lwm2m version %q: %v", val, err)
			}
		}
		p.version, p.hasVersion = v, true
	case keyB:
		bs := bindingString(val)
		if err := checkBinding(bs); err != nil {
			return err
		}
		p.binding, p.hasBinding = bs, true
	case keySMS:
		p.sms, p.hasSMS = string(val), true
	case keyQ:
		if hasVal {
			return model.Errorf(model.BadRequest, "the queue mode parameter Q takes no value")
		}
		p.queue = true
	}
	return nil
}

// parseSeconds reads a lifetime: decimal digits only (no sign, no
// space), at most 2^32-1, as strconv.ParseUint(s, 10, 32) does.
func parseSeconds(b []byte) (uint32, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > math.MaxUint32 {
			return 0, false
		}
	}
	return uint32(n), true
}

// bindingString returns b as a string, without a copy for the common
// bindings.
func bindingString(b []byte) string {
	switch string(b) {
	case "U":
		return "U"
	case "UQ":
		return "UQ"
	case "N":
		return "N"
	case "T":
		return "T"
	case "S":
		return "S"
	case "US":
		return "US"
	case "UN":
		return "UN"
	}
	return string(b)
}

// checkBinding accepts the binding modes of 1.0 (U, UQ, S, SQ, US, UQS)
// and 1.1/1.2 (any combination of U, T, S, N; Q is a separate parameter
// in 1.1 but 1.0 clients put it in b).
func checkBinding(b string) error {
	if b == "" {
		return model.Errorf(model.BadRequest, "empty binding")
	}
	var seen [128]bool
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case 'U', 'T', 'S', 'N', 'Q':
		default:
			return model.Errorf(model.BadRequest, "unknown binding %q", b)
		}
		if seen[c] {
			return model.Errorf(model.BadRequest, "binding %q repeats %c", b, c)
		}
		seen[c] = true
	}
	if b == "Q" {
		return model.Errorf(model.BadRequest, "binding Q needs a transport")
	}
	return nil
}

// Supported LwM2M enabler versions: what a client may register with.
var supported = []model.Version{model.V1_0, model.V1_1, model.V1_2}

func supportedVersion(v model.Version) bool {
	for _, s := range supported {
		if v == s {
			return true
		}
	}
	return false
}

// parseObjects reads the link-format payload of a Register or Update.
func (s *Server) parseObjects(msg *transport.Message) (link.Registration, error) {
	if cf, ok := msg.ContentFormat(); ok && cf != uint16(codec.LinkFormat) {
		return link.Registration{}, model.Errorf(model.UnsupportedContentFormat, "the object list must be application/link-format, not %s", codec.Format(cf))
	}
	if len(msg.Payload) > s.cfg.MaxRegisterPayload {
		return link.Registration{}, model.Errorf(model.RequestEntityTooLarge, "object list of %d bytes exceeds %d", len(msg.Payload), s.cfg.MaxRegisterPayload)
	}
	if lr, ok := s.layouts.get(msg.Payload); ok {
		return lr, nil
	}
	lr, err := link.ParseRegistration(msg.Payload)
	if err != nil {
		return link.Registration{}, err
	}
	s.layouts.put(msg.Payload, lr)
	return lr, nil
}

// layoutCache holds the object lists of recent Register and Update
// payloads, parsed. The devices of a fleet send the same few payloads,
// and a hit skips the parse and its allocations, about 2 us of the 30 a
// Register costs the server. The parsed lists are shared between
// registrations and never changed, as the store shares the lists it keeps.
type layoutCache struct {
	mu sync.Mutex
	m  map[string]link.Registration
}

// maxLayouts and maxLayoutPayload bound the cache to 1 MiB of payloads;
// a fleet with more distinct payloads than maxLayouts empties it when it
// fills, and parses as before.
const (
	maxLayouts       = 1024
	maxLayoutPayload = 1024
)

func (c *layoutCache) get(payload []byte) (link.Registration, bool) {
	if len(payload) > maxLayoutPayload {
		return link.Registration{}, false
	}
	c.mu.Lock()
	lr, ok := c.m[string(payload)]
	c.mu.Unlock()
	return lr, ok
}

func (c *layoutCache) put(payload []byte, lr link.Registration) {
	if len(payload) > maxLayoutPayload {
		return
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxLayouts {
		c.m = make(map[string]link.Registration)
	}
	c.m[string(payload)] = lr
	c.mu.Unlock()
}

// idEncoding is the alphabet of registration IDs: base32 in lower case,
// without padding.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newRegistrationID returns 16 characters of idEncoding encoding 80
// random bits.
func newRegistrationID() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("server: crypto/rand: " + err.Error())
	}
	var out [16]byte
	idEncoding.Encode(out[:], b[:])
	return string(out[:])
}

// register handles Register (Core 1.1 section 6.2.1).
func (s *Server) register(ctx context.Context, req *transport.Request) *transport.Message {
	p, err := parseRegOptions(req.Msg, s.cfg.MinLifetime)
	if err != nil {
		return replyErr(err)
	}
	if p.endpoint == "" {
		return reply(model.BadRequest, "missing endpoint name (ep)")
	}
	if !p.hasVersion {
		p.version = model.V1_0 // a 1.0 client may leave lwm2m out
	}
	if !supportedVersion(p.version) {
		return reply(model.PreconditionFailed, "lwm2m version "+p.version.String()+" is not supported (1.0, 1.1, 1.2 are)")
	}
	lr, err := s.parseObjects(req.Msg)
	if err != nil {
		return replyErr(err)
	}
	id := identityOf(req)
	if s.cfg.Security != nil || id.Secure() {
		if err := s.authorize(ctx, req, id, p.endpoint); err != nil {
			return replyErr(err)
		}
	}
	now := s.now()
	r := &store.Registration{
		ID:             newRegistrationID(),
		Endpoint:       p.endpoint,
		Lifetime:       DefaultLifetime,
		Version:        p.version,
		Binding:        "U",
		SMS:            p.sms,
		Address:        req.Peer,
		RootPath:       lr.Root,
		Objects:        lr.Objects,
		ContentFormats: lr.ContentFormats,
		RegisteredAt:   now,
		UpdatedAt:      now,
		Secure:         id.Secure(),
		Identity:       id.String(),
	}
	if p.hasLifetime {
		r.Lifetime = p.lifetime
	}
	if p.hasBinding {
		r.Binding = p.binding
	}
	r.Queue = p.queue || strings.Contains(r.Binding, "Q")
	if r.RootPath == "" {
		r.RootPath = "/"
	}
	if async, ok := s.store.(store.AsyncPutter); ok && s.registerAsync(ctx, req, async, r) {
		return nil // answered by completeLoop (complete.go)
	}
	replaced, err := s.store.PutRegistration(ctx, r)
	return s.registered(ctx, r, replaced, err)
}

// registered finishes a Register once the store has r durably, or has
// failed to with err: it tracks r, emits Registered, and returns the
// answer.
func (s *Server) registered(ctx context.Context, r, replaced *store.Registration, err error) *transport.Message {
	if err != nil {
		s.log.Error("store registration", "endpoint", r.Endpoint, "err", err)
		return replyErr(err)
	}
	if replaced != nil {
		s.untrack(replaced)
	}
	s.trackNew(r) // r.ID was just drawn: 80 random bits
	if r.Queue {
		s.wakeFrom(r.Address)
	}
	if s.log.Enabled(ctx, slog.LevelInfo) {
		s.log.Info("registered", "endpoint", r.Endpoint, "registration", r.ID, "addr", r.Address.String(), "lwm2m", r.Version.String(), "lifetime", r.Lifetime, "binding", r.Binding)
	}
	s.emit(Event{Type: EventRegistered, Registration: r, Previous: replaced})
	return created(r.ID)
}

// created returns the 2.01 answering a Register: Location-Path rd and id
// (Core 1.1 section 6.2.1), with one allocation.
func created(id string) *transport.Message {
	c := &struct {
		m    transport.Message
		opts [2]transport.Option
		rd   [2]byte
		id   [16]byte
	}{}
	c.rd = [2]byte{'r', 'd'}
	idb := c.id[:0]
	if len(id) > len(c.id) {
		idb = nil // an id from elsewhere (a restored store): its own buffer
	}
	c.opts[0] = transport.Option{ID: transport.OptLocationPath, Value: c.rd[:]}
	c.opts[1] = transport.Option{ID: transport.OptLocationPath, Value: append(idb, id...)}
	c.m.Code, c.m.Options = model.Created, c.opts[:]
	return &c.m
}

// update handles Update (Core 1.1 section 6.2.2): any subset of the
// parameters and the object list; the device's address moves to where the
// Update came from.
func (s *Server) update(ctx context.Context, req *transport.Request, id string) *transport.Message {
	p, err := parseRegOptions(req.Msg, s.cfg.MinLifetime)
	if err != nil {
		return replyErr(err)
	}
	if p.endpoint != "" {
		return reply(model.BadRequest, "an Update does not carry the endpoint name")
	}
	old, err := s.store.Registration(ctx, id)
	if err != nil {
		return replyErr(err)
	}
	if err := s.sameDevice(ctx, req, old); err != nil {
		return replyErr(err)
	}
	r := old.Clone()
	if len(req.Msg.Payload) > 0 {
		lr, err := s.parseObjects(req.Msg)
		if err != nil {
			return replyErr(err)
		}
		r.Objects, r.ContentFormats = lr.Objects, lr.ContentFormats
		if lr.Root != "" {
			r.RootPath = lr.Root
		}
	}
	if p.hasLifetime {
		r.Lifetime = p.lifetime
	}
	if p.hasBinding {
		r.Binding = p.binding
		r.Queue = strings.Contains(r.Binding, "Q") || p.queue
	} else if p.queue {
		r.Queue = true
	}
	if p.hasSMS {
		r.SMS = p.sms
	}
	r.Address = req.Peer
	r.UpdatedAt = s.now()
	if _, err := s.store.PutRegistration(ctx, r); err != nil {
		s.log.Error("store registration update", "endpoint", r.Endpoint, "err", err)
		return replyErr(err)
	}
	if old.Address != r.Address {
		s.mu.Lock()
		if s.byAddr[old.Address] == r.ID {
			delete(s.byAddr, old.Address)
		}
		s.mu.Unlock()
	}
	if old.Queue && !r.Queue {
		s.mu.Lock()
		q := s.queues[r.ID]
		delete(s.queues, r.ID)
		s.mu.Unlock()
		if q != nil {
			q.flushAll()
		}
	}
	s.track(r)
	s.wakeFrom(req.Peer)
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("updated", "endpoint", r.Endpoint, "registration", r.ID, "addr", req.Peer.String())
	}
	s.emit(Event{Type: EventUpdated, Registration: r, Previous: old})
	return &transport.Message{Code: model.Changed}
}

// deregister handles De-register (Core 1.1 section 6.2.3).
func (s *Server) deregister(ctx context.Context, req *transport.Request, id string) *transport.Message {
	if s.sep != nil || s.cfg.Security != nil {
		old, err := s.store.Registration(ctx, id)
		if err != nil {
			return replyErr(err)
		}
		if err := s.sameDevice(ctx, req, old); err != nil {
			return replyErr(err)
		}
	}
	r, _, err := s.store.DeleteRegistration(ctx, id)
	if err != nil {
		return replyErr(err)
	}
	s.untrack(r)
	if s.log.Enabled(ctx, slog.LevelInfo) {
		s.log.Info("deregistered", "endpoint", r.Endpoint, "registration", r.ID)
	}
	s.emit(Event{Type: EventDeregistered, Registration: r})
	return &transport.Message{Code: model.Deleted}
}

// registrationAt returns the registration of the device talking from peer.
func (s *Server) registrationAt(ctx context.Context, peer netip.AddrPort) (*store.Registration, error) {
	s.mu.Lock()
	id, ok := s.byAddr[peer]
	s.mu.Unlock()
	if !ok {
		return nil, model.Errorf(model.Forbidden, "no registration from %s", peer)
	}
	return s.store.Registration(ctx, id)
}

// send handles the Send operation (Core 1.1 section 6.4.4): the device
// posts SenML or LwM2M CBOR records to /dp; the server answers 2.04.
func (s *Server) send(ctx context.Context, req *transport.Request) *transport.Message {
	r, err := s.registrationAt(ctx, req.Peer)
	if err != nil {
		return replyErr(err)
	}
	if err := s.sameDevice(ctx, req, r); err != nil {
		return replyErr(err)
	}
	cf, ok := req.Msg.ContentFormat()
	if !ok {
		return reply(model.BadRequest, "send needs a Content-Format")
	}
	f := codec.Format(cf)
	if !f.Composite() {
		return reply(model.UnsupportedContentFormat, "send carries SenML JSON, SenML CBOR or LwM2M CBOR, not "+f.Name())
	}
	recs, err := codec.DecodeRecords(f, req.Msg.Payload)
	if err != nil {
		return replyErr(err)
	}
	defs := s.defsFor(r)
	entries, err := model.Group(recs, nil, defs)
	if err != nil {
		return replyErr(err)
	}
	s.emit(Event{Type: EventSend, Registration: r, Records: recs, Entries: entries})
	return &transport.Message{Code: model.Changed}
}

// defsFor returns the definitions in effect for a device: the object
// versions it registered with.
func (s *Server) defsFor(r *store.Registration) model.Definitions {
	var vs map[uint16]model.Version
	for _, o := range r.Objects {
		if !o.Version.IsZero() {
			if vs == nil {
				vs = make(map[uint16]model.Version)
			}
			vs[o.ID] = o.Version
		}
	}
	if vs == nil {
		return s.defs
	}
	return s.defs.View(vs)
}
