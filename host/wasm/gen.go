package wasm

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// gen is one module of a plugin (Load makes the first, each Reload the
// next): its own wazero runtime, the compiled module, and the pool of its
// instances. Calls hold a reference; the plugin holds one while gen is
// current; the last release shuts it down.
type gen struct {
	p     *Plugin
	rt    wazero.Runtime
	cm    wazero.CompiledModule
	mcfg  wazero.ModuleConfig
	hash  [32]byte
	minor uint32

	refs    atomic.Int64
	max     int
	mu      sync.Mutex
	idle    []*instance // instances free for a call, the last used last
	out     int         // instances in a call or being started
	waiters []*waiter   // callers waiting for an instance, first come first
	insts   sync.Map    // api.Module → *instance, for host functions
	alive   atomic.Int64
}

// newGen compiles and checks wasm in a runtime of its own and starts its
// first instance. The result holds one reference, the plugin's.
func (p *Plugin) newGen(ctx context.Context, wasm []byte) (_ *gen, err error) {
	id := p.cfg.ID
	rcfg := wazero.NewRuntimeConfig().
		WithCompilationCache(p.r.cache).
		WithMemoryLimitPages(p.cfg.MemoryLimitPages).
		WithCloseOnContextDone(p.cfg.Timeout > 0)
	g := &gen{
		p:    p,
		rt:   wazero.NewRuntimeWithConfig(ctx, rcfg),
		hash: hash(wasm),
		max:  p.cfg.MaxInstances,
	}
	g.refs.Store(1)
	defer func() {
		if err != nil {
			_ = g.rt.Close(context.Background())
		}
	}()

	if _, err := wasi_snapshot_preview1.Instantiate(ctx, g.rt); err != nil {
		return nil, fmt.Errorf("plugin %s: wasi: %w", id, err)
	}
	hb := g.rt.NewHostModuleBuilder(abi.ImportModule)
	hb.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(g.hostLog), []api.ValueType{i32, i32, i32}, nil).
		WithParameterNames("level", "ptr", "len").Export(abi.ImportLog)
	hb.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(g.hostCall), []api.ValueType{i32, i32, i32}, []api.ValueType{i32}).
		WithParameterNames("method", "ptr", "len").Export(abi.ImportCall)
	hb.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(g.hostResult), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("ptr", "cap").Export(abi.ImportResult)
	if _, err := hb.Instantiate(ctx); err != nil {
		return nil, fmt.Errorf("plugin %s: host module: %w", id, err)
	}
	hostFns := map[string]map[string]api.FunctionDefinition{}
	for _, name := range []string{abi.ImportModule, wasi_snapshot_preview1.ModuleName} {
		hostFns[name] = g.rt.Module(name).ExportedFunctionDefinitions()
	}

	if err := precheck(wasm); err != nil {
		return nil, fmt.Errorf("plugin %s: %w: malformed module: %v", id, ErrInvalidModule, err)
	}
	g.cm, err = g.rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w: compile: %v", id, ErrInvalidModule, err)
	}
	if err := checkModule(g.cm, hostFns); err != nil {
		return nil, fmt.Errorf("plugin %s: %w: %v", id, ErrInvalidModule, err)
	}

	// A reactor: _initialize, if exported, runs once per instance; a
	// command's _start never runs.
	g.mcfg = wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize")
	if p.cfg.granted(abi.CapClock) {
		g.mcfg = g.mcfg.WithSysWalltime().WithSysNanotime().WithSysNanosleep()
	}
	if p.cfg.granted(abi.CapRandom) {
		g.mcfg = g.mcfg.WithRandSource(rand.Reader)
	}

	ictx := ctx
	if p.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ictx, cancel = context.WithTimeout(ctx, p.cfg.InitTimeout)
		defer cancel()
	}
	in, err := g.newInstance(ictx)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w: %s", id, ErrInvalidModule, p.bare(err))
	}
	g.minor = in.minor
	if g.minor > abi.Minor {
		p.log.Info("plugin built against a newer minor ABI version; what it adds is not used",
			"minor", g.minor, "host_minor", abi.Minor)
	}
	g.idle = append(g.idle, in)
	return g, nil
}

func (g *gen) tryRef() bool {
	for {
		n := g.refs.Load()
		if n <= 0 {
			return false
		}
		if g.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (g *gen) release() {
	if g.refs.Add(-1) == 0 {
		go g.shutdown()
	}
}

// discard shuts down a gen that was never installed, at once.
func (g *gen) discard() {
	g.refs.Store(0)
	g.shutdown()
}

// shutdown runs once no call holds g: every instance is idle.
func (g *gen) shutdown() {
	ctx := context.Background()
	g.mu.Lock()
	idle := g.idle
	g.idle = nil
	g.mu.Unlock()
	for _, in := range idle {
		in.stop(ctx)
		in.close()
	}
	_ = g.rt.Close(ctx)
	g.p.genDone(g)
}

// waiter is a caller waiting for an instance: put hands it one, or nil
// for the right to start one (the instance it would have had was
// discarded).
type waiter struct {
	ch chan *instance
}

// get waits with ctx for a free instance, starting one if the pool is
// not full. The most recently used idle instance goes first (its memory
// is the warmest).
func (g *gen) get(ctx context.Context) (*instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxError(g.p.cfg.ID, "before the call", err)
	}
	g.mu.Lock()
	if n := len(g.idle); n > 0 {
		in := g.idle[n-1]
		g.idle = g.idle[:n-1]
		g.out++
		g.mu.Unlock()
		return in, nil
	}
	if g.out < g.max {
		g.out++
		g.mu.Unlock()
		return g.start(ctx)
	}
	w := &waiter{ch: make(chan *instance, 1)}
	g.waiters = append(g.waiters, w)
	g.mu.Unlock()

	select {
	case in := <-w.ch:
		if in == nil {
			return g.start(ctx)
		}
		return in, nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	for i, x := range g.waiters {
		if x == w {
			g.waiters = append(g.waiters[:i], g.waiters[i+1:]...)
			g.mu.Unlock()
			return nil, ctxError(g.p.cfg.ID, "waiting for a free instance", ctx.Err())
		}
	}
	g.mu.Unlock()
	// put handed w an instance (or a slot) as ctx ended: pass it on.
	if in := <-w.ch; in != nil {
		g.put(in, false)
	} else {
		g.release1()
	}
	return nil, ctxError(g.p.cfg.ID, "waiting for a free instance", ctx.Err())
}

// start starts an instance in a slot the caller holds.
func (g *gen) start(ctx context.Context) (*instance, error) {
	if g.p.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.p.cfg.InitTimeout)
		defer cancel()
	}
	in, err := g.newInstance(ctx)
	if err != nil {
		g.release1()
		return nil, err
	}
	return in, nil
}

// release1 gives up a slot without an instance.
func (g *gen) release1() {
	g.mu.Lock()
	if len(g.waiters) > 0 {
		w := g.waiters[0]
		g.waiters = g.waiters[1:]
		g.mu.Unlock()
		w.ch <- nil
		return
	}
	g.out--
	g.mu.Unlock()
}

// put returns an instance after a call, or discards it if broken.
func (g *gen) put(in *instance, broken bool) {
	in.pending = nil
	if broken {
		g.p.discarded.Add(1)
		in.close()
		g.release1()
		return
	}
	g.mu.Lock()
	if len(g.waiters) > 0 {
		w := g.waiters[0]
		g.waiters = g.waiters[1:]
		g.mu.Unlock()
		w.ch <- in
		return
	}
	g.out--
	g.idle = append(g.idle, in)
	g.mu.Unlock()
}

// instanceOf finds the instance of the guest calling a host function:
// by its module, or while it starts (before its module is known) by ctx.
func (g *gen) instanceOf(ctx context.Context, mod api.Module) *instance {
	if v, ok := g.insts.Load(mod); ok {
		return v.(*instance)
	}
	if in, ok := ctx.Value(startingKey{}).(*instance); ok && in.g == g {
		return in
	}
	return nil
}

type startingKey struct{}
