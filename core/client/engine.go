package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// Engine is an LwM2M client: one CoAP socket, one registration with every
// server account the Security and Server objects hold, the requests of
// those servers served on the objects, and observations. Create it with
// New, Start it, and Close it; Close releases everything, also after a
// failed Start. Its methods are safe for concurrent use.
type Engine struct {
	cfg  Config
	log  *slog.Logger
	objs map[uint16]Object
	ids  []uint16 // object ids, ascending
	defs defs

	evMu sync.Mutex // serializes OnEvent

	mu                       sync.Mutex
	started                  bool
	closed                   bool
	ep                       *transport.Endpoint
	conns                    map[uint16]*serverConn                         // device management servers by short server id
	unusable                 []account                                      // accounts that cannot be used, for Status
	bsAcct                   *account                                       // the bootstrap account, if any
	bsRun                    *bootstrapRun                                  // the bootstrap in progress, if any
	bsErr                    error                                          // why the last bootstrap failed
	secure                   map[netip.AddrPort]*transport.DTLSClientConfig // the coaps accounts' servers (security.go)
	attrs                    map[uint16]map[model.Path]link.Attributes
	observers                map[obsKey]*observation
	statusCh                 chan struct{} // closed and replaced when a status changes
	refreshing, refreshAgain bool

	ctx    context.Context // cancelled when Close gives up waiting
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the engine starts
}

// New checks cfg and returns an engine that is not yet started. It calls
// Definition of every object, and Observe of those that are Observable.
func New(cfg Config) (*Engine, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:       cfg,
		log:       cfg.Logger,
		objs:      make(map[uint16]Object, len(cfg.Objects)),
		defs:      make(defs, len(cfg.Objects)),
		conns:     make(map[uint16]*serverConn),
		attrs:     make(map[uint16]map[model.Path]link.Attributes),
		observers: make(map[obsKey]*observation),
		statusCh:  make(chan struct{}),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	for i, o := range cfg.Objects {
		if o == nil {
			return nil, fmt.Errorf("client: config: object %d is nil", i)
		}
		def, err := guard("definition", func() (*model.ObjectDef, error) { return o.Definition(), nil })
		if err != nil || def == nil {
			return nil, fmt.Errorf("client: config: object %d has no definition", i)
		}
		if err := def.Validate(); err != nil {
			return nil, fmt.Errorf("client: config: %w", err)
		}
		if _, dup := e.objs[def.ID]; dup {
			return nil, fmt.Errorf("client: config: object %d given twice", def.ID)
		}
		e.objs[def.ID] = o
		e.defs[def.ID] = def
	}
	for _, id := range []uint16{objSecurity, objServer, objDevice} {
		if e.objs[id] == nil {
			return nil, fmt.Errorf("client: config: object %d is required", id)
		}
	}
	e.ids = slices.Sorted(maps.Keys(e.objs))
	for _, id := range e.ids {
		if ob, ok := e.objs[id].(Observable); ok {
			if err := guardErr("observe", func() error { ob.Observe(e.Changed); return nil }); err != nil {
				return nil, fmt.Errorf("client: object %d: %w", id, err)
			}
		}
	}
	return e, nil
}

// Start opens the socket and starts one registration per usable server
// account, or a client-initiated bootstrap when there is none but a
// bootstrap account (Core 1.1 section 6.1.4). It fails when the socket
// cannot be opened or no account at all can be used. ctx bounds the start
// only (reading the accounts, resolving the servers' names).
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.started || e.closed {
		e.mu.Unlock()
		return errors.New("client: already started or closed")
	}
	e.started = true
	e.mu.Unlock()

	tc := e.cfg.Transport
	tc.Handler = transport.HandlerFunc(e.serveCoAP)
	tc.Notify = nil // the client observes nothing: notifications to it are reset
	tc.OnReset = e.resetObservation
	if tc.Logger == nil {
		tc.Logger = e.log
	}
	// One socket for every server, plain or DTLS as its account says
	// (secureFor).
	ep, err := transport.ListenSecure(e.cfg.Addr, tc, e.secureFor)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	e.mu.Lock()
	e.ep = ep
	e.mu.Unlock()

	dm, bs, err := e.readAccounts(ctx)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	usable := slices.ContainsFunc(dm, func(a account) bool { return a.err == nil })
	if !usable && (bs == nil || bs.err != nil) {
		var why []error
		for _, a := range dm {
			why = append(why, fmt.Errorf("/0/%d: %w", a.secID, a.err))
		}
		if bs != nil {
			why = append(why, fmt.Errorf("bootstrap /0/%d: %w", bs.secID, bs.err))
		}
		if len(why) == 0 {
			why = append(why, errors.New("the Security object has no instance"))
		}
		return fmt.Errorf("client: no usable server account: %w", errors.Join(why...))
	}
	e.log.Info("lwm2m client started", "endpoint", e.cfg.Endpoint, "addr", ep.LocalAddr().String(), "lwm2m", e.cfg.Version.String())
	e.apply(dm, bs)
	return nil
}

// LocalAddr returns the address of the client's socket; the zero AddrPort
// before Start.
func (e *Engine) LocalAddr() netip.AddrPort {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ep == nil {
		return netip.AddrPort{}
	}
	return e.ep.LocalAddr()
}

// Close de-registers from every registered server (waiting at most
// Config.CloseTimeout for them), stops every goroutine, closes the socket
// and waits for everything. It is safe to call more than once.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	conns := slices.Collect(maps.Values(e.conns))
	run := e.bsRun
	obs := slices.Collect(maps.Values(e.observers))
	e.observers = map[obsKey]*observation{}
	ep := e.ep
	e.statusChangedLocked()
	e.mu.Unlock()

	for _, o := range obs {
		o.end()
	}
	if run != nil {
		run.stopNow()
	}
	for _, c := range conns {
		c.stopNow()
	}
	deadline := time.NewTimer(e.cfg.CloseTimeout)
	for _, c := range conns {
		select {
		case <-c.done:
		case <-deadline.C:
			e.log.Warn("close: gave up waiting for de-registration")
		}
	}
	deadline.Stop()
	e.cancel()
	var err error
	if ep != nil {
		err = ep.Close()
	}
	e.wg.Wait()
	return err
}

// State is where a server account stands.
type State uint8

// The states of a server account.
const (
	StateIdle          State = iota // not started, or stopped
	StateRegistering                // Register attempts in progress (or waiting between them)
	StateRegistered                 // registered; updates go out before the lifetime runs out
	StateDisabled                   // disabled by /1/x/4 until its Disable Timeout passes
	StateFailed                     // registration failed; retrying after the sequence delay
	StateUnusable                   // the account cannot be used (see Err)
	StateBootstrapping              // the bootstrap account: bootstrap in progress
	StateDeregistered               // de-registered
)

var stateNames = [...]string{"idle", "registering", "registered", "disabled", "failed", "unusable", "bootstrapping", "deregistered"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ServerStatus describes one server account.
type ServerStatus struct {
	SSID         uint16 // short server id; 0 for the bootstrap server
	URI          string
	Addr         netip.AddrPort // where the URI resolved
	Bootstrap    bool           // the bootstrap server's account
	State        State
	Location     string // the registration's location, such as "/rd/abc"
	Lifetime     uint32 // seconds, as registered; 0 for the server's default
	Queue        bool   // queue mode
	Asleep       bool   // queue mode: the awake window is closed
	Observations int    // observations the server holds on the client
	Err          error  // the last error, if any
}

// Status returns the state of every server account, device management
// servers by short server id first, then the bootstrap account.
func (e *Engine) Status() []ServerStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	counts := map[uint16]int{}
	for k := range e.observers {
		counts[k.ssid]++
	}
	var out []ServerStatus
	for _, c := range e.conns {
		out = append(out, ServerStatus{
			SSID: c.acct.ssid, URI: c.acct.uri, Addr: c.acct.addr, State: c.state,
			Location: c.location, Lifetime: c.acct.lifetime, Queue: c.acct.queue, Asleep: c.asleep,
			Observations: counts[c.acct.ssid], Err: c.lastErr,
		})
	}
	for _, a := range e.unusable {
		out = append(out, ServerStatus{SSID: a.ssid, URI: a.uri, State: StateUnusable, Err: a.err})
	}
	slices.SortFunc(out, func(a, b ServerStatus) int { return int(a.SSID) - int(b.SSID) })
	if a := e.bsAcct; a != nil {
		st := ServerStatus{URI: a.uri, Addr: a.addr, Bootstrap: true, State: StateIdle, Err: e.bsErr}
		if a.err != nil {
			st.State, st.Err = StateUnusable, a.err
		} else if e.bsRun != nil {
			st.State = StateBootstrapping
		}
		out = append(out, st)
	}
	return out
}

// WaitRegistered waits until every usable, enabled server account is
// registered, or ctx ends. While the client bootstraps it waits for the
// accounts bootstrap gives.
func (e *Engine) WaitRegistered(ctx context.Context) error {
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return ErrClosed
		}
		if !e.started {
			e.mu.Unlock()
			return ErrNotStarted
		}
		ready := e.bsRun == nil && len(e.conns) > 0
		for _, c := range e.conns {
			if c.state != StateRegistered && c.state != StateDisabled {
				ready = false
			}
		}
		ch := e.statusCh
		e.mu.Unlock()
		if ready {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("client: wait for registration: %w", ctx.Err())
		}
	}
}

// statusChangedLocked wakes WaitRegistered; the caller holds e.mu.
func (e *Engine) statusChangedLocked() {
	close(e.statusCh)
	e.statusCh = make(chan struct{})
}

// Changed tells the engine that the values at paths changed, for objects
// that do not report changes themselves (Observable does the same). An
// object or instance path (or the root) also means that instances may
// have been created or deleted: the registration is updated if the list
// of objects and instances differs from the one the servers have (Core
// 1.1 section 6.2.2). Changed never blocks and never calls an object, so
// objects may call it while holding their own locks.
func (e *Engine) Changed(paths ...model.Path) {
	structural := false
	for _, p := range paths {
		if p.Level() <= model.LevelInstance {
			structural = true
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	for _, o := range e.observers {
		if o.covers(paths) {
			o.signal()
		}
	}
	if structural {
		for _, c := range e.conns {
			c.request(wantObjects)
		}
	}
}

// apply makes the running connections match the accounts read: new
// accounts start registering, removed or moved ones de-register, changed
// registration parameters go out in an Update. Without a usable device
// management account and with a bootstrap account, it bootstraps.
func (e *Engine) apply(dm []account, bs *account) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.bsAcct = bs
	e.unusable = nil
	reset := e.setSecureLocked(dm, bs)
	ep := e.ep
	if e.bsRun != nil {
		e.mu.Unlock()
		resetSessions(ep, reset)
		return // bootstrap will apply what it leaves
	}
	var stop []*serverConn
	seen := map[uint16]bool{}
	for _, a := range dm {
		if a.err != nil {
			e.unusable = append(e.unusable, a)
			continue
		}
		seen[a.ssid] = true
		c := e.conns[a.ssid]
		if c != nil && c.acct.sameServer(&a) {
			old := c.acct
			c.acct = a
			if !old.regParamsEqual(&a) {
				c.request(wantParams)
			}
			continue
		}
		if c != nil {
			stop = append(stop, c)
		}
		e.startConnLocked(a)
	}
	for ssid, c := range e.conns {
		if !seen[ssid] {
			stop = append(stop, c)
			delete(e.conns, ssid)
		}
	}
	none := len(e.conns) == 0
	e.statusChangedLocked()
	e.mu.Unlock()
	resetSessions(ep, reset)
	for _, c := range stop {
		c.stopNow()
	}
	if none && bs != nil && bs.err == nil {
		e.startBootstrap("no usable server account")
	}
}

// refresh reads the accounts again and applies them.
func (e *Engine) refresh() {
	dm, bs, err := e.readAccounts(e.ctx)
	if err != nil {
		e.log.Error("read server accounts", "err", err)
		return
	}
	e.apply(dm, bs)
}

// requestRefresh refreshes the accounts on a goroutine of its own, once
// for any number of requests made while one runs: a server wrote to the
// Security or Server object.
func (e *Engine) requestRefresh() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	if e.refreshing {
		e.refreshAgain = true
		return
	}
	e.refreshing = true
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			e.refresh()
			e.mu.Lock()
			if !e.refreshAgain || e.closed {
				e.refreshing, e.refreshAgain = false, false
				e.mu.Unlock()
				return
			}
			e.refreshAgain = false
			e.mu.Unlock()
		}
	}()
}

// accountCount returns how many device management accounts are
// configured, for access control (Core 1.1 section 7.3.1: with one server
// there is nothing to control).
func (e *Engine) accountCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.conns)
}
