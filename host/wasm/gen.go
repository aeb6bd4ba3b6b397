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

	refs  atomic.Int64
	sem   chan struct{}  // a token per instance in use or being started
	idle  chan *instance // instances free for a call
	insts sync.Map       // api.Module → *instance, for host functions
	alive atomic.Int64
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
		sem:  make(chan struct{}, p.cfg.MaxInstances),
		idle: make(chan *instance, p.cfg.MaxInstances),
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

	in, err := g.newInstance(ctx)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w: %s", id, ErrInvalidModule, p.bare(err))
	}
	g.minor = in.minor
	if g.minor > abi.Minor {
		p.log.Info("plugin built against a newer minor ABI version; what it adds is not used",
			"minor", g.minor, "host_minor", abi.Minor)
	}
	g.idle <- in
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

// shutdown runs once no call holds g: every instance is idle.
func (g *gen) shutdown() {
	ctx := context.Background()
	for {
		select {
		case in := <-g.idle:
			in.stop(ctx)
			in.close()
			continue
		default:
		}
		break
	}
	_ = g.rt.Close(ctx)
	g.p.genDone(g)
}

// get waits with ctx for a free instance, starting one if the pool is
// not full.
func (g *gen) get(ctx context.Context) (*instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxError(g.p.cfg.ID, "no call", err)
	}
	select {
	case g.sem <- struct{}{}:
	default:
		select {
		case g.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctxError(g.p.cfg.ID, "waiting for a free instance", ctx.Err())
		}
	}
	select {
	case in := <-g.idle:
		return in, nil
	default:
	}
	ictx := ctx
	if g.p.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ictx, cancel = context.WithTimeout(ctx, g.p.cfg.InitTimeout)
		defer cancel()
	}
	in, err := g.newInstance(ictx)
	if err != nil {
		<-g.sem
		return nil, err
	}
	return in, nil
}

// put returns an instance after a call, or discards it if broken.
func (g *gen) put(in *instance, broken bool) {
	in.pending = nil
	if broken {
		g.p.discarded.Add(1)
		in.close()
	} else {
		g.idle <- in
	}
	<-g.sem
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
