package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// DefaultAddr is where a bootstrap server listens by default: beside an
// LwM2M server's 5683 on the same host.
const DefaultAddr = ":5783"

// Config configures a Server. Configs is required; every other field has
// a default.
type Config struct {
	// Addr is the local address to listen on; default DefaultAddr;
	// "off" for none (with SecureAddr: every device must use DTLS).
	Addr string

	// SecureAddr, with ListenSecure, is a second address the server
	// listens on, with its own endpoint: CoAP over DTLS (coaps), say on
	// :5784. A sequence talks to the device over the endpoint its
	// Bootstrap-Request came in on. "" for none.
	SecureAddr   string
	ListenSecure func(addr string, tc transport.Config) (*transport.Endpoint, error)

	// Configs holds the per-endpoint configurations. The server reads
	// the configuration of an endpoint when its Bootstrap-Request
	// arrives, so a change applies to the next sequence.
	Configs store.Bootstraps

	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger

	// Transport tunes the CoAP endpoint; its Handler is the server's own.
	Transport transport.Config

	// Listen opens the endpoint; default transport.Listen (CoAP over
	// UDP). A DTLS endpoint (coaps) is plugged in here.
	Listen func(addr string, tc transport.Config) (*transport.Endpoint, error)

	// Authorize decides whether the peer of req (a Bootstrap-Request or
	// a Bootstrap-Pack-Request) may bootstrap endpoint ep, say by its
	// DTLS identity (req.Identity, nil over plain CoAP) and the
	// credentials of a security store (core/security.Authorize). An
	// error refuses the request with 4.03 Forbidden (or the code the
	// error carries, if it is a 4.xx model.Error). ctx is the request's.
	// nil allows every request.
	Authorize func(ctx context.Context, req *transport.Request, ep string) error

	// RequestTimeout bounds each request to the device; default 0 leaves
	// it to the transport (no answer after its last retransmission,
	// about 93 s with the default transmission parameters).
	RequestTimeout time.Duration

	// StartDelay is how long a sequence waits after its Bootstrap-Request
	// was answered before it sends its first request, so that the device
	// has the 2.04 first: some clients refuse bootstrap requests that
	// arrive before it. The transport sends the answer as soon as the
	// handler returns; default 20 ms, negative for none.
	StartDelay time.Duration

	// SequenceTimeout bounds a whole sequence; default 5 minutes.
	SequenceTimeout time.Duration

	// MaxSequences bounds the sequences running at once; beyond it a
	// Bootstrap-Request is answered 5.03 Service Unavailable (the device
	// retries). Default 1024.
	MaxSequences int
}

func (c *Config) setDefaults() error {
	if c.Configs == nil {
		return errors.New("config: no Configs store")
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Listen == nil {
		c.Listen = transport.Listen
	}
	if (c.SecureAddr == "") != (c.ListenSecure == nil) {
		return errors.New("config: SecureAddr and ListenSecure go together")
	}
	if c.Addr == "off" && c.SecureAddr == "" {
		return errors.New("config: Addr is off and there is no SecureAddr: nothing to listen on")
	}
	if c.StartDelay == 0 {
		c.StartDelay = 20 * time.Millisecond
	}
	if c.SequenceTimeout <= 0 {
		c.SequenceTimeout = 5 * time.Minute
	}
	if c.MaxSequences <= 0 {
		c.MaxSequences = 1024
	}
	return nil
}

// Server is an LwM2M Bootstrap-Server. Its methods are safe for
// concurrent use. Lifecycle: New, Start, then Close once.
type Server struct {
	cfg  Config
	log  *slog.Logger
	defs model.Definitions

	mu      sync.Mutex
	plain   *listener // nil when Addr is off
	secure  *listener // nil without SecureAddr
	started bool
	closed  bool
	runs    map[string]*run // the sequence of each endpoint, running or waiting for its predecessor
	results map[string]Result

	subMu      sync.Mutex
	subs       map[*Subscription]struct{}
	subsClosed bool

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// listener is one endpoint of the server and how devices reach it.
type listener struct {
	ep     *transport.Endpoint // set once Start opened it; guarded by Server.mu
	secure bool
}

// run is one sequence.
type run struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// New checks cfg and returns a server that is not listening yet.
func New(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	defs, err := objects.NewRegistry()
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		defs:    defs,
		runs:    map[string]*run{},
		results: map[string]Result{},
		subs:    map[*Subscription]struct{}{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Start opens the endpoints and starts serving.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return errors.New("bootstrap: already started or closed")
	}
	s.started = true
	s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.cfg.Addr != "off" {
		l := &listener{}
		if err := s.listen(l, s.cfg.Addr, s.cfg.Listen); err != nil {
			return err
		}
		s.mu.Lock()
		s.plain = l
		s.mu.Unlock()
	}
	if s.cfg.SecureAddr != "" {
		l := &listener{secure: true}
		if err := s.listen(l, s.cfg.SecureAddr, s.cfg.ListenSecure); err != nil {
			return err
		}
		s.mu.Lock()
		s.secure = l
		s.mu.Unlock()
	}
	return nil
}

// listen opens l's endpoint on addr; Close closes it.
func (s *Server) listen(l *listener, addr string, open func(string, transport.Config) (*transport.Endpoint, error)) error {
	tc := s.cfg.Transport
	tc.Handler = transport.HandlerFunc(func(ctx context.Context, req *transport.Request) *transport.Message {
		return s.serveCoAP(ctx, l, req)
	})
	if tc.Logger == nil {
		tc.Logger = s.log
	}
	ep, err := open(addr, tc)
	if err != nil {
		return fmt.Errorf("bootstrap: listen on %s: %w", addr, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		ep.Close()
		return ErrClosed
	}
	l.ep = ep
	s.log.Info("bootstrap server listening", "addr", ep.LocalAddr().String(), "secure", l.secure)
	return nil
}

// Addr returns the address the server listens on for plain CoAP; the
// zero AddrPort before Start or when Addr is off.
func (s *Server) Addr() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plain == nil || s.plain.ep == nil {
		return netip.AddrPort{}
	}
	return s.plain.ep.LocalAddr()
}

// SecureAddr returns the address of the SecureAddr endpoint; the zero
// AddrPort before Start or without one.
func (s *Server) SecureAddr() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secure == nil || s.secure.ep == nil {
		return netip.AddrPort{}
	}
	return s.secure.ep.LocalAddr()
}

// Close stops serving, ends the running sequences (each reported as
// failed with ErrClosed), closes every subscription and waits for
// everything the server started. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var eps []*transport.Endpoint
	for _, l := range []*listener{s.plain, s.secure} {
		if l != nil && l.ep != nil {
			eps = append(eps, l.ep)
		}
	}
	for _, r := range s.runs {
		r.cancel(ErrClosed)
	}
	s.mu.Unlock()
	s.cancel()
	var errs []error
	for _, ep := range eps {
		errs = append(errs, ep.Close())
	}
	s.wg.Wait()
	s.closeSubscriptions()
	return errors.Join(errs...)
}

// serveCoAP routes the requests of the Bootstrap interface that a client
// sends: Bootstrap-Request and Bootstrap-Pack-Request.
func (s *Server) serveCoAP(ctx context.Context, l *listener, req *transport.Request) *transport.Message {
	segs := req.Msg.PathSegments()
	switch {
	case len(segs) == 1 && segs[0] == "bs":
		if req.Msg.Code != transport.POST {
			return errorMessage(model.Errorf(model.MethodNotAllowed, "bootstrap-request is POST /bs"))
		}
		return s.bootstrapRequest(ctx, l, req)
	case len(segs) == 1 && segs[0] == "bspack":
		if req.Msg.Code != transport.GET {
			return errorMessage(model.Errorf(model.MethodNotAllowed, "bootstrap-pack-request is GET /bspack"))
		}
		return s.packRequest(ctx, l, req)
	}
	return errorMessage(model.Errorf(model.NotFound, "not a bootstrap server resource: %s", req.Msg.Path()))
}

// errorMessage turns err into a response with its code (5.00 if it
// carries none) and its text as a diagnostic payload (RFC 7252 section
// 5.5.2).
func errorMessage(err error) *transport.Message {
	code := model.CodeOf(err)
	if code == 0 || code.IsSuccess() {
		code = model.InternalServerError
	}
	return &transport.Message{Code: code, Payload: []byte(err.Error())}
}

// lookup parses a request's query, authorizes it and reads the
// configuration of its endpoint.
func (s *Server) lookup(ctx context.Context, req *transport.Request) (request, *store.BootstrapConfig, error) {
	r, err := parseQuery(req.Msg.Queries())
	if err != nil {
		return r, nil, err
	}
	if s.cfg.Authorize != nil {
		if err := s.cfg.Authorize(ctx, req, r.ep); err != nil {
			if c := model.CodeOf(err); c.Class() != 4 {
				err = &model.Error{Code: model.Forbidden, Msg: "bootstrap: not authorized for " + r.ep, Err: err}
			}
			return r, nil, err
		}
	}
	c, err := s.cfg.Configs.BootstrapConfig(ctx, r.ep)
	if err != nil {
		return r, nil, err
	}
	return r, c, nil
}

// bootstrapRequest answers Bootstrap-Request (Core 1.1 section 6.1.4;
// Transport 1.1 section 6.1: 2.04 Changed, or 4.00 Bad Request for an
// unknown Endpoint Client Name) and starts the sequence for the device.
func (s *Server) bootstrapRequest(ctx context.Context, l *listener, req *transport.Request) *transport.Message {
	r, c, err := s.lookup(ctx, req)
	if errors.Is(err, model.ErrNotFound) {
		err = model.Errorf(model.BadRequest, "bootstrap-request: unknown endpoint client name %q", r.ep)
	}
	if err != nil {
		s.log.Info("bootstrap-request refused", "endpoint", r.ep, "peer", req.Peer.String(), "err", err)
		return errorMessage(err)
	}
	if err := s.startRun(l, req.Peer, r, c); err != nil {
		s.log.Warn("bootstrap-request refused", "endpoint", r.ep, "peer", req.Peer.String(), "err", err)
		return errorMessage(err)
	}
	return &transport.Message{Code: model.Changed}
}

// startRun starts the sequence of endpoint r.ep against peer, after the
// one running for that endpoint, which it ends.
func (s *Server) startRun(l *listener, peer netip.AddrPort, r request, c *store.BootstrapConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	prev := s.runs[r.ep]
	if prev == nil && len(s.runs) >= s.cfg.MaxSequences {
		return model.Errorf(model.ServiceUnavailable, "bootstrap: %d sequences running", len(s.runs))
	}
	if prev != nil {
		prev.cancel(ErrSuperseded)
	}
	ctx, cancel := context.WithCancelCause(s.ctx)
	me := &run{cancel: cancel, done: make(chan struct{})}
	s.runs[r.ep] = me
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(me.done)
		defer cancel(nil)
		if prev != nil {
			<-prev.done
		}
		s.sequence(ctx, l, peer, r, c)
		s.mu.Lock()
		if s.runs[r.ep] == me {
			delete(s.runs, r.ep)
		}
		s.mu.Unlock()
	}()
	return nil
}

// packRequest answers Bootstrap-Pack-Request (Core 1.2 section 6.1.3.1;
// Transport 1.2 section 6.1): the whole configuration of the endpoint as
// one SenML CBOR pack, or SenML JSON or LwM2M CBOR as Accept asks.
func (s *Server) packRequest(ctx context.Context, l *listener, req *transport.Request) *transport.Message {
	r, c, err := s.lookup(ctx, req)
	if err != nil {
		s.log.Info("bootstrap-pack-request refused", "endpoint", r.ep, "peer", req.Peer.String(), "err", err)
		return errorMessage(err)
	}
	f := codec.SenMLCBOR
	if a, ok := req.Msg.Accept(); ok {
		f = codec.Format(a)
		if !f.Composite() {
			return errorMessage(model.Errorf(model.NotAcceptable, "bootstrap-pack-request: accept %d: the pack is SenML CBOR, SenML JSON or LwM2M CBOR", a))
		}
	}
	body, err := s.pack(c, f)
	if err != nil {
		s.log.Warn("bootstrap-pack-request", "endpoint", r.ep, "err", err)
		return errorMessage(model.Errorf(model.InternalServerError, "bootstrap-pack-request: %v", err))
	}
	now := time.Now()
	s.publish(EventPackSent, Result{Endpoint: r.ep, Peer: req.Peer, Secure: l.secure, State: StatePackSent, Format: f, Step: "bootstrap-pack", Started: now, Ended: now})
	s.log.Info("bootstrap pack sent", "endpoint", r.ep, "peer", req.Peer.String(), "format", f.Name())
	m := &transport.Message{Code: model.Content, Payload: body}
	m.SetContentFormat(uint16(f))
	return m
}

// pack encodes configuration c as the records of one pack: its Security,
// Server and Access Control instances, with instance ids chosen as for a
// device never discovered.
func (s *Server) pack(c *store.BootstrapConfig, f codec.Format) ([]byte, error) {
	pl, err := makePlan(c, unknownDevice())
	if err != nil {
		return nil, err
	}
	var recs []model.Record
	for _, w := range pl.writes {
		if recs, err = model.Flatten(recs, w.path, &w.node); err != nil {
			return nil, err
		}
	}
	return codec.EncodeRecords(nil, f, recs)
}

func sortResults(rs []Result) {
	slices.SortFunc(rs, func(a, b Result) int { return strings.Compare(a.Endpoint, b.Endpoint) })
}
