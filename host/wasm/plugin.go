package wasm

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/sys"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Plugin is one loaded plugin: one module at a time (Reload replaces it)
// and a bounded pool of its instances. Its methods are safe for
// concurrent use; each instance runs one call at a time.
type Plugin struct {
	r    *Runtime
	cfg  PluginConfig
	log  *slog.Logger
	host Host
	cur  atomic.Pointer[gen]

	reloadMu sync.Mutex // one Reload at a time

	mu            sync.Mutex
	closed        bool
	live          map[*gen]struct{} // installed and not yet shut down
	drained       chan struct{}     // closed once closed and live is empty
	drainedClosed bool

	stopCtx    context.Context // done when the plugin closes; stops watchers
	stopCancel context.CancelFunc
	watchers   sync.WaitGroup

	created, discarded, reloads atomic.Uint64
}

func newPlugin(r *Runtime, cfg PluginConfig) *Plugin {
	p := &Plugin{
		r:       r,
		cfg:     cfg,
		log:     r.log.With("plugin", cfg.ID),
		host:    cfg.Host,
		live:    map[*gen]struct{}{},
		drained: make(chan struct{}),
	}
	if p.host == nil {
		p.host = r.cfg.Host
	}
	p.stopCtx, p.stopCancel = context.WithCancel(context.Background())
	return p
}

// ID returns the plugin's id.
func (p *Plugin) ID() string { return p.cfg.ID }

// Minor returns the minor ABI version the current module was built
// against. A guest newer than the host (Minor() > abi.Minor) is served:
// minor versions only add, an import the host lacks has already been
// refused, and what the guest offers beyond the host's minor version is
// never asked for.
func (p *Plugin) Minor() int {
	if g := p.cur.Load(); g != nil {
		return int(g.minor)
	}
	return 0
}

// Stats are counters of a plugin since it was loaded.
type Stats struct {
	Instances int      // instances alive now in the current module (idle or in a call)
	Created   uint64   // instances started, across reloads
	Discarded uint64   // instances thrown away after a failure (trap, deadline, broken ABI)
	Reloads   uint64   // modules replaced by Reload
	SHA256    [32]byte // of the module serving now
}

// Stats returns the plugin's counters.
func (p *Plugin) Stats() Stats {
	s := Stats{Created: p.created.Load(), Discarded: p.discarded.Load(), Reloads: p.reloads.Load()}
	if g := p.cur.Load(); g != nil {
		s.Instances = int(g.alive.Load())
		s.SHA256 = g.hash
	}
	return s
}

// Call sends a call of method with req (the encoded request message) to
// an instance of the plugin, waiting with ctx for one to be free, and
// returns a copy of the response bytes. Errors are *model.Error (wrapped
// or not: use errors.Is and model.CodeOf):
//   - a status the guest returned is its answer, with the guest's message
//     (wasm2m_last_error), such as 4.04 matching model.ErrNotFound;
//   - a trap, a guest exit, a pointer or status outside the ABI: 5.00,
//     and the instance is discarded (the next call starts another);
//   - ctx ending while the call waits for an instance, or, for a plugin
//     with a Timeout, the per-call deadline or ctx ending during the
//     call: 5.04 Gateway Timeout wrapping context.DeadlineExceeded, or
//     5.03 wrapping context.Canceled for a canceled ctx; an interrupted
//     instance is discarded (a plugin without a Timeout is never
//     interrupted: its call runs to the end);
//   - a closed plugin: ErrClosed.
//
// req is not retained. Call never panics because of the guest.
func (p *Plugin) Call(ctx context.Context, method abi.Method, req []byte) ([]byte, error) {
	return p.call(ctx, method, req, nil)
}

// CallAppend is Call appending the response to dst, so that a caller
// that reuses its buffer makes no allocation per call.
func (p *Plugin) CallAppend(ctx context.Context, method abi.Method, req, dst []byte) ([]byte, error) {
	if dst == nil {
		dst = []byte{}
	}
	return p.call(ctx, method, req, dst)
}

func (p *Plugin) call(ctx context.Context, method abi.Method, req, dst []byte) ([]byte, error) {
	g := p.acquire()
	if g == nil {
		return dst, fmt.Errorf("plugin %s: %w", p.cfg.ID, ErrClosed)
	}
	defer g.release()
	in, err := g.get(ctx)
	if err != nil {
		return dst, err
	}
	var resp []byte
	var broken bool
	if p.cfg.Timeout > 0 {
		resp, broken, err = in.callDeadline(ctx, p.cfg.Timeout, method, req, dst)
	} else {
		resp, broken, err = in.call(ctx, method, req, dst)
	}
	g.put(in, broken)
	if err != nil {
		return dst, err
	}
	return resp, nil
}

// acquire returns the current module with a reference held, or nil once
// the plugin is closed.
func (p *Plugin) acquire() *gen {
	for {
		g := p.cur.Load()
		if g == nil {
			return nil
		}
		if g.tryRef() {
			return g
		}
		// g was retired between the load and the reference: the
		// next load sees its successor (or nil).
	}
}

// install makes g the current module; for Load, under r.mu.
func (p *Plugin) install(g *gen) {
	p.mu.Lock()
	p.live[g] = struct{}{}
	p.cur.Store(g)
	p.mu.Unlock()
}

// Reload replaces the plugin's module with wasm without stopping
// callers: the new module is compiled, checked and started (one
// instance) first; if that fails, Reload returns the error and the old
// module keeps serving. Otherwise new calls go to the new module at
// once, calls in flight finish on the old instances, and the old
// module's runtime is closed after the last of them.
func (p *Plugin) Reload(ctx context.Context, wasm []byte) error {
	p.reloadMu.Lock()
	defer p.reloadMu.Unlock()
	if p.isClosed() {
		return fmt.Errorf("plugin %s: %w", p.cfg.ID, ErrClosed)
	}
	g, err := p.newGen(ctx, wasm)
	if err != nil {
		return err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		g.discard()
		return fmt.Errorf("plugin %s: %w", p.cfg.ID, ErrClosed)
	}
	p.live[g] = struct{}{}
	old := p.cur.Swap(g)
	p.mu.Unlock()
	p.reloads.Add(1)
	if old != nil {
		old.release()
	}
	p.log.Info("plugin reloaded", "minor", g.minor, "sha256", fmt.Sprintf("%x", g.hash[:8]))
	return nil
}

func (p *Plugin) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// genDone records that g's runtime is closed.
func (p *Plugin) genDone(g *gen) {
	p.mu.Lock()
	delete(p.live, g)
	if p.closed && len(p.live) == 0 && !p.drainedClosed {
		p.drainedClosed = true
		close(p.drained)
	}
	p.mu.Unlock()
}

// stop releases what newPlugin started, for a plugin never installed.
func (p *Plugin) stop() { p.stopCancel() }

// Close stops the plugin's watchers, refuses new calls, waits (within
// ctx) for the calls in flight, sends Stop to the idle instances if
// configured, and closes the plugin's wazero runtimes. If ctx ends
// first, the runtimes are closed under the calls still running (those
// of plugins with a Timeout stop at once; the others when their guest
// returns) and Close returns the ctx's error.
func (p *Plugin) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		select { // closed by another caller: wait with it
		case <-p.drained:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("plugin %s: close with calls in flight: %w", p.cfg.ID, ctx.Err())
		}
	}
	p.closed = true
	g := p.cur.Swap(nil)
	if len(p.live) == 0 && !p.drainedClosed {
		p.drainedClosed = true
		close(p.drained)
	}
	p.mu.Unlock()

	p.stopCancel()
	p.watchers.Wait()
	p.reloadMu.Lock() // a Reload under way sees closed and discards its module
	p.reloadMu.Unlock()
	p.r.forget(p)
	if g != nil {
		g.release()
	}
	select {
	case <-p.drained:
		p.log.Debug("plugin closed")
		return nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	gs := make([]*gen, 0, len(p.live))
	for g := range p.live {
		gs = append(gs, g)
	}
	p.mu.Unlock()
	for _, g := range gs {
		_ = g.rt.CloseWithExitCode(context.Background(), sys.ExitCodeContextCanceled)
	}
	return fmt.Errorf("plugin %s: close with calls in flight: %w", p.cfg.ID, ctx.Err())
}

// ctxError turns a ctx that ended into the error of a call.
func ctxError(id, what string, err error) error {
	code := model.GatewayTimeout
	if err == context.Canceled {
		code = model.ServiceUnavailable
	}
	return &model.Error{Code: code, Msg: fmt.Sprintf("plugin %s: %s: %v", id, what, err), Err: err}
}

func hash(b []byte) [32]byte { return sha256.Sum256(b) }
