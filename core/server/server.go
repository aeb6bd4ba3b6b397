// Package server is the LwM2M server role (Core 1.1 sections 6.2 to 6.5):
// the Registration interface (Register, Update, De-register, lifetime
// expiry), the Device Management and Service Enablement interface (Read,
// Write, Execute, Create, Delete, Discover, Write-Attributes and the
// composite operations) and the Information Reporting interface (Observe,
// Cancel, Notify, Send), with queue mode for sleeping devices and events
// for applications.
//
// It is a library: a product embeds it with its own event handling, and
// the wasm2m command runs it with plugins around it. It keeps its state in
// a store (core/store) and its own tables, never in transport sessions, so
// that a notification matches its observation after a restart or after an
// idle peer was forgotten.
//
// server imports the standard library and core packages only.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
	"github.com/wasm2m/wasm2m/core/security"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// Config configures a Server. The zero Config is usable: an in-memory
// store, the built-in object definitions, UDP on :5683.
type Config struct {
	// Addr is the UDP address to listen on ("127.0.0.1:0" in tests).
	// Default ":5683".
	Addr string
	// Store keeps registrations and observations; default an in-memory
	// store. The server closes it on Close.
	Store store.Store
	// Definitions are the object definitions used to decode what devices
	// send; default the built-in core objects (objects.NewRegistry).
	Definitions *model.Registry
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// Transport tunes the CoAP endpoints (timers, limits). Its Handler and
	// Notify are the server's own.
	Transport transport.Config

	// Security keeps the devices' DTLS credentials (security.go). With
	// it, a device must authenticate as the endpoint it registers as, and
	// a device that has credentials may not register without DTLS. nil
	// knows no credentials: every device is NoSec.
	Security store.Security
	// SecureAddr is the UDP address of the DTLS (coaps) endpoint, such as
	// ":5684"; "" serves no DTLS. It needs Security.
	SecureAddr string
	// DTLS configures the DTLS endpoint (certificates and trust store,
	// Connection ID, handshake bounds). Its PSK lookup is the server's
	// own, from Security. A device certificate is accepted only when it
	// chains to DTLS.ClientCAs.
	DTLS transport.DTLSConfig
	// NoSecOff turns the plain CoAP endpoint (Addr) off: every device
	// must use DTLS.
	NoSecOff bool

	// ExpiryGrace is how long past its lifetime a registration lives on
	// before it expires, for an Update that is on its way. Default 2 s.
	ExpiryGrace time.Duration
	// ExpiryPoll is how often a store shared by several servers
	// (store.Expirer) is asked for the registrations that lapsed, on any
	// server (shared.go). Default 1 s.
	ExpiryPoll time.Duration
	// MinLifetime is the smallest lifetime accepted; default 1 s.
	MinLifetime uint32
	// MaxRegisterPayload bounds a Register or Update payload; beyond it the
	// device gets 4.13. Default 64 KiB.
	MaxRegisterPayload int

	// AwakeTime is how long a queue-mode device listens after each of its
	// messages (Core 1.1 section 6.5.1: at least MAX_TRANSMIT_WAIT of
	// CoAP, 93 s). Default 93 s.
	AwakeTime time.Duration
	// MaxQueued bounds the requests held for one sleeping device; a request
	// beyond it fails at once with 5.03. Default 32.
	MaxQueued int

	// RequestTimeout bounds a request to a device when the caller's context
	// has no deadline. Default 2 min (CoAP gives up after about 93 s).
	RequestTimeout time.Duration
	// NotificationBuffer is how many notifications an Observation's channel
	// holds before further ones are dropped (and counted). Default 64.
	NotificationBuffer int

	// Now is the clock; default time.Now. Tests set it.
	Now func() time.Time
}

func (c *Config) setDefaults() error {
	if c.Addr == "" {
		c.Addr = ":5683"
	}
	if c.SecureAddr != "" && c.Security == nil {
		return errors.New("a DTLS address (SecureAddr) needs a security store (Security)")
	}
	if c.NoSecOff && c.SecureAddr == "" {
		return errors.New("NoSecOff without a SecureAddr leaves devices no way in")
	}
	if c.Store == nil {
		c.Store = store.NewMemory()
	}
	if c.Definitions == nil {
		r, err := objects.NewRegistry()
		if err != nil {
			return err
		}
		c.Definitions = r
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ExpiryGrace == 0 {
		c.ExpiryGrace = 2 * time.Second
	}
	if c.ExpiryPoll <= 0 {
		c.ExpiryPoll = time.Second
	}
	if c.MinLifetime == 0 {
		c.MinLifetime = 1
	}
	if c.MaxRegisterPayload == 0 {
		c.MaxRegisterPayload = 64 << 10
	}
	if c.AwakeTime == 0 {
		c.AwakeTime = 93 * time.Second
	}
	if c.MaxQueued == 0 {
		c.MaxQueued = 32
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 2 * time.Minute
	}
	if c.NotificationBuffer == 0 {
		c.NotificationBuffer = 64
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Server is an LwM2M server. Create it with New, then Start it; Close
// stops it and releases everything, also after a failed Start. Its
// methods are safe for concurrent use once started.
type Server struct {
	cfg    Config
	log    *slog.Logger
	store  store.Store
	defs   *model.Registry
	ep     *transport.Endpoint // plain CoAP; nil with NoSecOff
	sep    *transport.Endpoint // DTLS; nil without SecureAddr
	events *broker
	expiry *expiryQueue
	shared store.Expirer // the store, when it lists lapsed registrations (shared.go)

	layouts     layoutCache     // parsed object lists of recent payloads (registration.go)
	completions completionQueue // Registers a group commit made durable (complete.go)

	mu      sync.Mutex
	byAddr  map[netip.AddrPort]string      // where a device talks from -> registration id
	obs     map[string]*observation        // token -> observation
	obsOf   map[string]map[string]struct{} // registration id -> tokens
	queues  map[string]*deviceQueue        // registration id -> queue-mode state
	started bool
	closed  bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// ErrClosed is returned by operations on a closed server.
var ErrClosed = errors.New("server: closed")

// New checks cfg and returns a server that is not yet listening.
func New(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger,
		store:  cfg.Store,
		defs:   cfg.Definitions,
		events: newBroker(),
		expiry: newExpiryQueue(),
		byAddr: make(map[netip.AddrPort]string),
		obs:    make(map[string]*observation),
		obsOf:  make(map[string]map[string]struct{}),
		queues: make(map[string]*deviceQueue),
		stop:   make(chan struct{}),
	}
	s.completions.wake = make(chan struct{}, 1)
	return s, nil
}

// Start loads the registrations and observations the store holds (they are
// back after a restart), opens the UDP socket and starts serving.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	if s.started || s.closed {
		s.mu.Unlock()
		return errors.New("server: already started or closed")
	}
	s.started = true
	s.mu.Unlock()

	if err := s.restore(ctx); err != nil {
		return fmt.Errorf("server: restore from the store: %w", err)
	}
	s.shared = s.sharedExpirer(ctx)
	tc := s.cfg.Transport
	tc.Handler = transport.HandlerFunc(s.serveCoAP)
	tc.Inline = s.inlineRegister()
	// The server's plain CoAP socket is its busiest: out of the netpoller
	// (Linux), it costs one OS thread and saves 11-12% of a Register's
	// CPU.
	tc.BlockingReads = true
	tc.Notify = s.onNotify
	if tc.Logger == nil {
		tc.Logger = s.log
	}
	var ep, sep *transport.Endpoint
	if !s.cfg.NoSecOff {
		var err error
		if ep, err = transport.Listen(s.cfg.Addr, tc); err != nil {
			return fmt.Errorf("server: listen on %s: %w", s.cfg.Addr, err)
		}
	}
	if s.cfg.SecureAddr != "" {
		dc := s.cfg.DTLS
		dc.PSK = security.PSK(s.cfg.Security)
		var err error
		if sep, err = transport.ListenDTLS(s.cfg.SecureAddr, tc, dc); err != nil {
			if ep != nil {
				ep.Close()
			}
			return fmt.Errorf("server: listen on %s (DTLS): %w", s.cfg.SecureAddr, err)
		}
	}
	s.mu.Lock()
	s.ep, s.sep = ep, sep
	s.mu.Unlock()
	s.wg.Add(2)
	go s.expireLoop()
	go s.completeLoop()
	if s.shared != nil {
		s.wg.Add(1)
		go s.pollExpired()
	}
	if ep != nil {
		s.log.Info("lwm2m server listening", "addr", ep.LocalAddr().String())
	}
	if sep != nil {
		s.log.Info("lwm2m server listening on DTLS", "addr", sep.LocalAddr().String())
	}
	return nil
}

// restore rebuilds the server's tables from the store.
func (s *Server) restore(ctx context.Context) error {
	var regs []*store.Registration
	err := s.store.Registrations(ctx, func(r *store.Registration) bool {
		regs = append(regs, r)
		return true
	})
	if err != nil {
		return err
	}
	for _, r := range regs {
		s.track(r)
		obs, err := s.store.ObservationsOf(ctx, r.ID)
		if err != nil {
			return err
		}
		for _, o := range obs {
			s.addObservation(&observation{stored: o})
		}
	}
	if len(regs) > 0 {
		s.log.Info("restored registrations", "count", len(regs))
	}
	return nil
}

// Addr returns the address the server listens on for plain CoAP; the zero
// AddrPort before Start and with NoSecOff.
func (s *Server) Addr() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ep == nil {
		return netip.AddrPort{}
	}
	return s.ep.LocalAddr()
}

// SecureAddr returns the address the server listens on for DTLS; the zero
// AddrPort before Start and without Config.SecureAddr.
func (s *Server) SecureAddr() netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sep == nil {
		return netip.AddrPort{}
	}
	return s.sep.LocalAddr()
}

// Security returns the store of the devices' credentials, nil if the
// server has none (Config.Security).
func (s *Server) Security() store.Security { return s.cfg.Security }

// Close stops serving, fails the requests waiting on devices, closes every
// subscription and the store, and waits for everything the server started.
// It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ep, sep := s.ep, s.sep
	queues := s.queues
	s.queues = map[string]*deviceQueue{}
	s.mu.Unlock()

	close(s.stop)
	var errs []error
	if ep != nil {
		errs = append(errs, ep.Close())
	}
	if sep != nil {
		errs = append(errs, sep.Close())
	}
	for _, q := range queues {
		q.fail(ErrClosed)
	}
	s.wg.Wait()
	s.events.close()
	errs = append(errs, s.store.Close())
	return errors.Join(errs...)
}

// Subscribe returns a subscription to the server's events.
func (s *Server) Subscribe(opts SubscribeOptions) *Subscription { return s.events.subscribe(opts) }

// Definitions returns the object definitions the server decodes with.
func (s *Server) Definitions() *model.Registry { return s.defs }

// Store returns the server's store.
func (s *Server) Store() store.Store { return s.store }

// Registration returns the registration of endpoint ep, or a 4.04 error.
func (s *Server) Registration(ctx context.Context, ep string) (*store.Registration, error) {
	r, err := s.store.RegistrationByEndpoint(ctx, ep)
	if err != nil {
		return nil, fmt.Errorf("registration of %q: %w", ep, err)
	}
	return r, nil
}

// Registrations calls fn for every registration until fn returns false.
func (s *Server) Registrations(ctx context.Context, fn func(*store.Registration) bool) error {
	return s.store.Registrations(ctx, fn)
}

func (s *Server) now() time.Time { return s.cfg.Now() }

func (s *Server) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	s.events.publish(e)
}

// track indexes a registration in the server's own tables: its address,
// its expiry, its queue-mode state.
func (s *Server) track(r *store.Registration) {
	s.index(r)
	s.expiry.set(r.ID, r.ExpiresAt().Add(s.cfg.ExpiryGrace))
}

// trackNew is track for a registration whose ID the server has never
// tracked (a Register's fresh ID): its expiry is scheduled without
// looking for an earlier one.
func (s *Server) trackNew(r *store.Registration) {
	s.index(r)
	s.expiry.setNew(r.ID, r.ExpiresAt().Add(s.cfg.ExpiryGrace))
}

// index records r's address and queue-mode state.
func (s *Server) index(r *store.Registration) {
	s.mu.Lock()
	s.byAddr[r.Address] = r.ID
	if r.Queue {
		if _, ok := s.queues[r.ID]; !ok {
			s.queues[r.ID] = newDeviceQueue(s, r.ID)
		}
	}
	s.mu.Unlock()
}

// untrack forgets a registration: its address, expiry, queue and
// observations. It returns the observation tokens it dropped.
func (s *Server) untrack(r *store.Registration) { s.drop(r.ID, r.Address, r.Endpoint) }

// drop is untrack by id: addr, when ep is known, is the registration's
// address, and ep its endpoint ("" if unknown: a registration another
// server removed, whose address entry stays until another device talks
// from there).
func (s *Server) drop(id string, addr netip.AddrPort, ep string) {
	s.expiry.remove(id)
	s.mu.Lock()
	if ep != "" && s.byAddr[addr] == id {
		delete(s.byAddr, addr)
	}
	q := s.queues[id]
	delete(s.queues, id)
	for tok := range s.obsOf[id] {
		if o := s.obs[tok]; o != nil {
			o.closeLocked()
		}
		delete(s.obs, tok)
	}
	delete(s.obsOf, id)
	s.mu.Unlock()
	if q != nil {
		if ep == "" {
			ep = "registration " + id
		}
		q.fail(model.Errorf(model.NotFound, "device %q is no longer registered", ep))
	}
}

func (s *Server) expireLoop() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []string
	for {
		wait := time.Hour
		if at, ok := s.expiry.next(); ok {
			wait = max(at.Sub(s.now()), 0)
		}
		timer.Reset(wait)
		select {
		case <-s.stop:
			return
		case <-s.expiry.wake:
			continue
		case <-timer.C:
		}
		due = s.expiry.due(s.now(), due[:0])
		for _, id := range due {
			s.expire(id)
		}
	}
}

// expire removes registration id if its lifetime really ran out (an Update
// may have raced the timer).
func (s *Server) expire(id string) {
	ctx := context.Background()
	if s.shared != nil {
		s.expireStored(ctx, id)
		return
	}
	r, err := s.store.Registration(ctx, id)
	if err != nil {
		return
	}
	if at := r.ExpiresAt().Add(s.cfg.ExpiryGrace); at.After(s.now()) {
		s.expiry.set(id, at)
		return
	}
	r, _, err = s.store.DeleteRegistration(ctx, id)
	if err != nil {
		if !errors.Is(err, model.ErrNotFound) {
			s.log.Error("expire registration", "registration", id, "err", err)
		}
		return
	}
	s.untrack(r)
	s.log.Info("registration expired", "endpoint", r.Endpoint, "registration", r.ID)
	s.emit(Event{Type: EventExpired, Registration: r})
}
