package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
)

// Config configures the API.
type Config struct {
	// Server is the LwM2M server the API drives; required. The API does
	// not close it.
	Server *server.Server
	// Tokens are the bearer tokens accepted in the Authorization header.
	// At least one is required unless AuthDisabled.
	Tokens []string
	// AuthDisabled serves every route without a token: for local use only.
	AuthDisabled bool
	// RequestTimeout bounds a request to a device when the caller gives
	// no timeout parameter. Default 5 s, as Leshan's demo server.
	RequestTimeout time.Duration
	// MaxTimeout caps the timeout parameter. Default 10 min.
	MaxTimeout time.Duration
	// DelayedTimeout is how long a request for a sleeping device waits
	// for it to wake and answer. Default 10 min.
	DelayedTimeout time.Duration
	// EventBuffer is how many events may wait for one event stream
	// subscriber before further ones are dropped. Default 256.
	EventBuffer int
	// MaxDelayed bounds the requests waiting for one sleeping device.
	// Default 32.
	MaxDelayed int
	// KeepAlive is how often an idle event stream gets a comment line, so
	// that proxies keep it open. Default 15 s.
	KeepAlive time.Duration
	// Logger receives the API's logs; nil discards them.
	Logger *slog.Logger
	// Registry receives the API's metrics and is what /metrics serves;
	// nil makes a new one with the Go runtime and process collectors.
	Registry *prometheus.Registry
	// Security is the store of the devices' DTLS credentials that
	// /api/security/clients manages; nil answers those routes with a 404.
	Security store.Security
}

func (c *Config) setDefaults() error {
	if c.Server == nil {
		return errors.New("httpapi: no server")
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 5 * time.Second
	}
	if c.MaxTimeout <= 0 {
		c.MaxTimeout = 10 * time.Minute
	}
	if c.DelayedTimeout <= 0 {
		c.DelayedTimeout = 10 * time.Minute
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = 256
	}
	if c.MaxDelayed <= 0 {
		c.MaxDelayed = 32
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// API is the HTTP API; it is an http.Handler. Create it with New and
// Close it before closing the server: Close ends the event streams and
// the delayed requests, and waits for the goroutines the API started.
type API struct {
	cfg   Config
	srv   *server.Server
	log   *slog.Logger
	front front
	m     *metrics
	hub   *hub

	// ctx is cancelled by Close; delayed requests run under it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	awake     map[string]bool            // registration id -> awake (queue mode)
	delayed   map[string]*delayedQueue   // endpoint -> requests waiting for it
	composite map[string]map[string]bool // registration id -> tokens of composite observations started here
	closed    bool

	presence *server.Subscription // blocking: few, cheap events (see track)
	events   *server.Subscription // dropping: everything the stream shows
}

// New returns an API over cfg.Server and starts following its events.
func New(cfg Config) (*API, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	a := &API{
		cfg:       cfg,
		srv:       cfg.Server,
		log:       cfg.Logger,
		awake:     make(map[string]bool),
		delayed:   make(map[string]*delayedQueue),
		composite: make(map[string]map[string]bool),
	}
	au, err := newAuth(cfg.Tokens, cfg.AuthDisabled)
	if err != nil {
		return nil, err
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.hub = newHub()
	// Presence decides whether a request waits for a device: it must not
	// miss an event, and its consumer only updates a map, so it may ask
	// the server to wait for it (Block). These events are rare: one per
	// awake window.
	a.presence = a.srv.Subscribe(server.SubscribeOptions{Buffer: 1024, Block: true,
		Types: []server.EventType{server.EventAwake, server.EventSleeping, server.EventDeregistered, server.EventExpired}})
	// Everything else goes through a subscription that drops rather than
	// slow the CoAP path down.
	a.events = a.srv.Subscribe(server.SubscribeOptions{Buffer: 4096})
	m, err := newMetrics(a, cfg.Registry)
	if err != nil {
		a.presence.Close()
		a.events.Close()
		a.cancel()
		return nil, err
	}
	a.m = m
	a.front = front{log: a.log, auth: au, count: m.http}
	a.wg.Add(2)
	go a.track()
	go a.forward()
	return a, nil
}

// MetricsRegisterer returns where other parts of the host register their
// collectors to appear on /metrics (plugin call latency and errors are
// registered here by the plugin host).
func (a *API) MetricsRegisterer() prometheus.Registerer { return a.m.reg }

// Close ends the event streams, fails the delayed requests still waiting
// (their REQUEST_RESPONSE events are not sent) and waits for the API's
// goroutines. It is safe to call more than once.
func (a *API) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	a.cancel()
	a.presence.Close()
	a.events.Close()
	a.hub.close()
	a.wg.Wait()
	return nil
}

// track follows presence: which queue-mode devices listen now.
func (a *API) track() {
	defer a.wg.Done()
	for e := range a.presence.C {
		if e.Registration == nil {
			continue
		}
		id := e.Registration.ID
		a.mu.Lock()
		switch e.Type {
		case server.EventAwake:
			a.awake[id] = true
		case server.EventSleeping:
			a.awake[id] = false
		case server.EventDeregistered, server.EventExpired:
			delete(a.awake, id)
			delete(a.composite, id)
		}
		a.mu.Unlock()
	}
}

// sleeping reports whether a request to r would wait for the device: a
// queue-mode device not known to be awake sleeps, as the server assumes.
func (a *API) sleeping(r *store.Registration) bool {
	if !r.Queue {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return !a.awake[r.ID]
}

// ServeHTTP routes, authenticates, counts, and turns a panic into a 500.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	serve(&a.front, a, routes, w, r)
}

// statusRecorder remembers the status written, for the metrics.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wrote {
		s.code, s.wrote = http.StatusOK, true
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) status() int {
	if !s.wrote {
		return http.StatusOK
	}
	return s.code
}

// Unwrap lets http.ResponseController reach the connection (flush, write
// deadlines) for the event stream.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// marshal encodes v as JSON without escaping <, > and & (the API's JSON
// is not embedded in HTML), with a final newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "encode the response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, kind, msg string) {
	b, _ := marshal(jsonError{Status: status, Error: kind, Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}

// errText is the message of err for a caller: an LwM2M error without its
// code prefix (its message, or its cause's when it has none).
func errText(err error) string {
	var me *model.Error
	if errors.As(err, &me) {
		switch {
		case me.Msg != "":
			return me.Msg
		case me.Err != nil:
			return me.Err.Error()
		}
	}
	return err.Error()
}

// classify turns the error of a device request into either a device
// response (the device answered with an error code) or an HTTP error
// (no answer in time, the server is closing, a malformed answer).
func classify(err error) (*jsonResponse, *jsonError) {
	var me *model.Error
	switch {
	case errors.Is(err, server.ErrClosed):
		return nil, &jsonError{http.StatusServiceUnavailable, "closing", "the server is shutting down"}
	case errors.Is(err, context.DeadlineExceeded):
		return nil, &jsonError{http.StatusGatewayTimeout, "timeout", "the device did not answer in time"}
	case errors.Is(err, context.Canceled):
		return nil, &jsonError{http.StatusServiceUnavailable, "canceled", "the request was canceled"}
	case errors.As(err, &me):
		switch {
		case me.Code == model.GatewayTimeout:
			return nil, &jsonError{http.StatusGatewayTimeout, "timeout", errText(err)}
		case errors.Is(err, server.ErrQueueFull):
			return nil, &jsonError{http.StatusServiceUnavailable, "queue_full", errText(err)}
		case me.Err != nil:
			// A cause of our own: the transport failed, or the answer
			// could not be decoded.
			return nil, &jsonError{http.StatusBadGateway, "bad_gateway", errText(err)}
		}
		return failure(me.Code, errText(err)), nil
	}
	return nil, &jsonError{http.StatusInternalServerError, "internal", err.Error()}
}
