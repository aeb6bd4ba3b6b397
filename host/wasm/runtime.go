package wasm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/tetratelabs/wazero"
)

// Runtime loads plugins and holds what they share: the compilation cache,
// the logger and the default Host. Its methods are safe for concurrent
// use.
type Runtime struct {
	cfg   Config
	log   *slog.Logger
	cache wazero.CompilationCache

	mu      sync.Mutex
	closed  bool
	plugins map[*Plugin]struct{}
}

// NewRuntime returns a Runtime; with cfg.CacheDir set, compiled modules
// are kept in that folder (created if needed) across processes.
func NewRuntime(cfg Config) (*Runtime, error) {
	r := &Runtime{cfg: cfg, log: cfg.Logger, plugins: map[*Plugin]struct{}{}}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("wasm compilation cache %s: %w", cfg.CacheDir, err)
		}
		r.cache = c
	} else {
		r.cache = wazero.NewCompilationCache()
	}
	return r, nil
}

// Load compiles and checks a module and starts one instance of it (its
// _initialize, its minor version and its Start) before returning, so that
// a broken plugin is refused here rather than at its first call. The
// other instances start on demand. Errors name the plugin; those about
// the module match ErrInvalidModule.
func (r *Runtime) Load(ctx context.Context, cfg PluginConfig, wasm []byte) (*Plugin, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, fmt.Errorf("plugin %s: %w", cfg.ID, ErrClosed)
	}
	r.mu.Unlock()

	p := newPlugin(r, cfg)
	g, err := p.newGen(ctx, wasm)
	if err != nil {
		p.stop()
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		p.stop()
		g.discard()
		return nil, fmt.Errorf("plugin %s: %w", cfg.ID, ErrClosed)
	}
	p.install(g)
	r.plugins[p] = struct{}{}
	p.log.Info("plugin loaded", "minor", g.minor, "instances", cfg.MaxInstances,
		"memory_pages", cfg.MemoryLimitPages, "timeout", cfg.Timeout)
	return p, nil
}

// LoadFile is Load with the module read from path.
func (r *Runtime) LoadFile(ctx context.Context, cfg PluginConfig, path string) (*Plugin, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", cfg.ID, err)
	}
	return r.Load(ctx, cfg, b)
}

func (r *Runtime) forget(p *Plugin) {
	r.mu.Lock()
	delete(r.plugins, p)
	r.mu.Unlock()
}

// Close closes every plugin (waiting, within ctx, for their calls in
// flight) and then the compilation cache. Later calls fail with
// ErrClosed.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	ps := make([]*Plugin, 0, len(r.plugins))
	for p := range r.plugins {
		ps = append(ps, p)
	}
	r.mu.Unlock()

	var errs []error
	for _, p := range ps {
		errs = append(errs, p.Close(ctx))
	}
	errs = append(errs, r.cache.Close(ctx))
	return errors.Join(errs...)
}
