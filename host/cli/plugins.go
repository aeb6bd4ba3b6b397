package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/host/adapter"
	"github.com/wasm2m/wasm2m/host/config"
	"github.com/wasm2m/wasm2m/host/process"
	"github.com/wasm2m/wasm2m/host/wasm"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// pluginFlags are the plugin settings of `wasm2m client` and `wasm2m
// server`: the flags, and the plugins section of the configuration file,
// whose plugins load first.
type pluginFlags struct {
	file    []config.Plugin // the configuration file's plugins
	paths   listFlag
	grants  listFlag
	configs listFlag
	watch   bool
	cache   string
	timeout time.Duration
	state   string
}

func addPluginFlags(fs *flag.FlagSet) *pluginFlags {
	f := &pluginFlags{}
	fs.Var(&f.paths, "plugin", "a plugin to load: a Wasm module (.wasm), or a process plugin program (an executable file not ending in .wasm); repeatable. On a client, an object plugin's object replaces the built-in object of its id (but Security, Server and Access Control)")
	fs.Var(&f.grants, "grant", "capabilities granted to plugins: `[ID=]cap,cap` (changed, kv, lwm2m.request, clock, random); without ID=, to every plugin; repeatable. A plugin gets what its manifest asks for and is granted")
	fs.Var(&f.configs, "plugin-config", "a plugin's configuration: `ID=JSON` or ID=@file.json; repeatable")
	fs.BoolVar(&f.watch, "plugin-watch", false, "reload a plugin when its file changes (hot reload; calls in flight finish on the old module)")
	fs.StringVar(&f.cache, "plugin-cache", defaultCompileCache(), "folder of the compilation cache of Wasm plugins (empty: in memory only)")
	fs.StringVar(&f.state, "plugin-state", "", "on a client, the store file of the plugins' key-value space (empty: in memory); a server keeps it in its store")
	fs.DurationVar(&f.timeout, "plugin-timeout", 0, "deadline of each call into a plugin, for plugins not trusted to return (costs microseconds per call); 0: none")
	return f
}

func defaultCompileCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "wasm2m", "compiled")
}

// policy returns the grant and config of the plugin of manifest m.
func (f *pluginFlags) policy(m *abi.Manifest) ([]string, []byte, error) {
	var grant []string
	for _, g := range f.grants {
		id, caps, ok := strings.Cut(g, "=")
		if !ok {
			caps, id = id, ""
		}
		if id != "" && id != m.ID {
			continue
		}
		for _, c := range strings.Split(caps, ",") {
			if c = strings.TrimSpace(c); c != "" && !slices.Contains(grant, c) {
				grant = append(grant, c)
			}
		}
	}
	var config []byte
	for _, c := range f.configs {
		id, v, ok := strings.Cut(c, "=")
		if !ok {
			return nil, nil, fmt.Errorf("%w: -plugin-config %q: want ID=JSON or ID=@file", errUsage, c)
		}
		if id != m.ID {
			continue
		}
		if file, ok := strings.CutPrefix(v, "@"); ok {
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, nil, err
			}
			v = string(b)
		}
		config = []byte(v)
	}
	return grant, config, nil
}

// any reports whether there is a plugin to load.
func (f *pluginFlags) any() bool { return len(f.file)+len(f.paths) > 0 }

// toLoad returns the plugins to load: the configuration file's, then
// those of -plugin. A file's plugin gets the capabilities its entry grants
// and those -grant grants; its config is its entry's unless
// -plugin-config gives one for its id; its timeout is its entry's, else
// -plugin-timeout; -plugin-watch watches it too.
func (f *pluginFlags) toLoad() []adapter.PluginConfig {
	var watch time.Duration
	if f.watch {
		watch = time.Second
	}
	var out []adapter.PluginConfig
	for _, fp := range f.file {
		c := adapter.PluginConfig{Path: fp.Path, Timeout: f.timeout, MaxInstances: fp.MaxInstances,
			MemoryLimitPages: fp.MemoryPages, Watch: watch}
		if fp.Timeout > 0 {
			c.Timeout = time.Duration(fp.Timeout)
		}
		if fp.Watch {
			c.Watch = time.Second
		}
		c.Policy = func(m *abi.Manifest) ([]string, []byte, error) {
			grant, cfg, err := f.policy(m)
			if err != nil {
				return nil, nil, err
			}
			for _, g := range fp.Grant {
				if !slices.Contains(grant, g) {
					grant = append(grant, g)
				}
			}
			if cfg == nil {
				cfg = fp.Config
			}
			return grant, cfg, nil
		}
		out = append(out, c)
	}
	for _, path := range f.paths {
		out = append(out, adapter.PluginConfig{Path: path, Timeout: f.timeout, Watch: watch, Policy: f.policy})
	}
	return out
}

func (f *pluginFlags) check() error {
	known := []string{abi.CapChanged, abi.CapKV, abi.CapRequest, abi.CapClock, abi.CapRandom}
	for _, p := range f.file {
		for _, c := range p.Grant {
			if !slices.Contains(known, c) {
				return fmt.Errorf("%w: config: plugin %s: unknown capability %q", errUsage, p.Path, c)
			}
		}
	}
	for _, g := range f.grants {
		_, caps, ok := strings.Cut(g, "=")
		if !ok {
			caps = g
		}
		for _, c := range strings.Split(caps, ",") {
			if c = strings.TrimSpace(c); c != "" && !slices.Contains(known, c) {
				return fmt.Errorf("%w: -grant %q: unknown capability %q", errUsage, g, c)
			}
		}
	}
	return nil
}

// plugins is the plugin host of one command: a runtime, the Host that
// answers host calls, and the plugins loaded.
type plugins struct {
	rt      *wasm.Runtime
	host    *adapter.Host
	log     *slog.Logger
	loaded  []*adapter.Plugin
	procs   []*process.Plugin // the process plugins, stopped at close
	logic   []*adapter.Logic
	objects []*adapter.Object
	kv      storeKV // closed with the plugins, when they own it
}

// load loads the plugins of f, with kv as their key-value space. With
// no plugin to load it returns nil, nil.
func (f *pluginFlags) load(ctx context.Context, kv store.KV, log *slog.Logger) (*plugins, error) {
	if !f.any() {
		return nil, nil
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	h := adapter.NewHost(adapter.HostConfig{KV: kv, Logger: log})
	rt, err := wasm.NewRuntime(wasm.Config{CacheDir: f.cache, Logger: log, Host: h})
	if err != nil {
		return nil, err
	}
	ps := &plugins{rt: rt, host: h, log: log}
	for _, c := range f.toLoad() {
		if isProcessPlugin(c.Path) {
			p, err := loadProcess(ctx, c, h, log)
			if err != nil {
				ps.close()
				return nil, err
			}
			ps.procs = append(ps.procs, p)
			if m := p.Manifest(); abi.Kind(m.Kind) == abi.KindObject {
				objs, err := adapter.NewObjects(ctx, m.ID, p)
				if err != nil {
					ps.close()
					return nil, err
				}
				h.RouteChanged(m.ID, objs)
				ps.objects = append(ps.objects, objs...)
			}
			continue
		}
		p, err := adapter.Load(ctx, rt, c, log)
		if err != nil {
			ps.close()
			return nil, err
		}
		ps.loaded = append(ps.loaded, p)
		if p.Kind() == abi.KindObject {
			objs, err := adapter.NewObjects(ctx, p.ID(), p)
			if err != nil {
				ps.close()
				return nil, err
			}
			h.RouteChanged(p.ID(), objs)
			ps.objects = append(ps.objects, objs...)
		}
	}
	return ps, nil
}

// clientObjects returns the objects of the object plugins; a logic plugin
// on a client is refused.
func (ps *plugins) clientObjects() ([]client.Object, error) {
	if ps == nil {
		return nil, nil
	}
	for _, p := range ps.loaded {
		if p.Kind() != abi.KindObject {
			return nil, fmt.Errorf("plugin %s is a %s plugin: a client runs object plugins only", p.ID(), p.Kind())
		}
	}
	for _, p := range ps.procs {
		if m := p.Manifest(); abi.Kind(m.Kind) != abi.KindObject {
			return nil, fmt.Errorf("plugin %s is a %s plugin: a client runs object plugins only", m.ID, abi.Kind(m.Kind))
		}
	}
	out := make([]client.Object, len(ps.objects))
	for i, o := range ps.objects {
		out[i] = o
	}
	return out, nil
}

// addDefinitions adds the definitions of the object plugins to defs.
func (ps *plugins) addDefinitions(defs *model.Registry) error {
	if ps == nil {
		return nil
	}
	for _, o := range ps.objects {
		if err := defs.Add(o.Definition()); err != nil {
			return fmt.Errorf("plugin %s: %w", o.Plugin(), err)
		}
	}
	return nil
}

// startLogic subscribes the logic plugins to srv's events and lets plugins
// send requests through srv.
func (ps *plugins) startLogic(srv *server.Server) {
	if ps == nil {
		return
	}
	ps.host.SetServer(srv)
	for _, p := range ps.loaded {
		if p.Kind() == abi.KindLogic {
			ps.logic = append(ps.logic, adapter.StartLogic(srv, p, adapter.LogicConfig{Plugin: p.ID(), Logger: ps.log}))
		}
	}
	for _, p := range ps.procs {
		if m := p.Manifest(); abi.Kind(m.Kind) == abi.KindLogic {
			ps.logic = append(ps.logic, adapter.StartLogic(srv, p, adapter.LogicConfig{Plugin: m.ID, Logger: ps.log}))
		}
	}
}

// close stops the logic deliveries and closes the plugins.
func (ps *plugins) close() {
	if ps == nil {
		return
	}
	for _, l := range ps.logic {
		l.Close()
		if s := l.Stats(); s.Failed > 0 || s.Dropped > 0 {
			ps.log.Warn("logic plugin events", "delivered", s.Delivered, "failed", s.Failed, "dropped", s.Dropped)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ps.rt.Close(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		ps.log.Warn("closing the plugins", "err", err)
	}
	for _, p := range ps.procs {
		if err := p.Close(); err != nil {
			ps.log.Warn("stopping a process plugin", "plugin", p.Manifest().ID, "err", err)
		}
	}
	if ps.kv != nil {
		ps.kv.Close()
	}
}

// isProcessPlugin reports whether path names a process plugin: a file not
// ending in .wasm that is executable.
func isProcessPlugin(path string) bool {
	if strings.EqualFold(filepath.Ext(path), ".wasm") {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// loadProcess starts the process plugin of c with h as its host. Its
// grant and config come from c.Policy (or c.Grant and c.Config) by the
// rules of a Wasm plugin's; as the grant depends on the manifest's id,
// the program is started once to read its manifest, without host or
// grant, then again with its grant, pinned to the same checksum. A
// storage plugin is refused here: it is a store backend.
func loadProcess(ctx context.Context, c adapter.PluginConfig, h *adapter.Host, log *slog.Logger) (*process.Plugin, error) {
	sum, err := process.Checksum(c.Path)
	if err != nil {
		return nil, fmt.Errorf("process plugin %s: %w", c.Path, err)
	}
	probe, err := process.Start(ctx, process.Config{Path: c.Path, Checksum: sum, Logger: log})
	if err != nil {
		return nil, err
	}
	m, err := adapter.ReadManifest(ctx, probe)
	probe.Close()
	if err != nil {
		return nil, fmt.Errorf("process plugin %s: %w", c.Path, err)
	}
	switch abi.Kind(m.Kind) {
	case abi.KindObject, abi.KindLogic:
	default:
		return nil, fmt.Errorf("process plugin %s (%s) is a %s plugin: -plugin takes object and logic plugins", c.Path, m.ID, abi.Kind(m.Kind))
	}
	grant, cfg := c.Grant, c.Config
	if c.Policy != nil {
		if grant, cfg, err = c.Policy(m); err != nil {
			return nil, err
		}
	}
	p, err := process.Start(ctx, process.Config{Path: c.Path, Checksum: sum, Logger: log, Host: h, Grant: grant, CallTimeout: c.Timeout})
	if err != nil {
		return nil, err
	}
	if id := p.Manifest().ID; id != m.ID {
		p.Close()
		return nil, fmt.Errorf("process plugin %s: manifest id %q, then %q", c.Path, m.ID, id)
	}
	start := (&abi.StartRequest{Config: cfg}).MarshalAppend(nil)
	if _, err := p.Call(ctx, abi.MethodStart, start); err != nil {
		p.Close()
		return nil, fmt.Errorf("process plugin %s: start: %w", m.ID, err)
	}
	return p, nil
}

// loadClient loads the plugins of a client, whose key-value space is the
// store file of -plugin-state, or memory.
func (f *pluginFlags) loadClient(ctx context.Context, log *slog.Logger) (*plugins, error) {
	if !f.any() {
		return nil, nil
	}
	var kv storeKV = store.NewMemory()
	if f.state != "" {
		file, err := store.OpenFile(f.state, store.FileOptions{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open the plugins' state: %w", err)
		}
		kv = file
	}
	ps, err := f.load(ctx, kv, log)
	if err != nil {
		kv.Close()
		return nil, err
	}
	ps.kv = kv
	return ps, nil
}

type storeKV interface {
	store.KV
	Close() error
}

// loadServer loads the plugins of a server: their key-value space is st's
// (a memory one if st has none), and the object plugins' definitions join
// defs.
func (f *pluginFlags) loadServer(ctx context.Context, st store.Store, defs *model.Registry, log *slog.Logger) (*plugins, error) {
	kv, ok := st.(store.KV)
	if !ok {
		kv = store.NewMemory()
	}
	ps, err := f.load(ctx, kv, log)
	if err != nil {
		return nil, err
	}
	if err := ps.addDefinitions(defs); err != nil {
		ps.close()
		return nil, err
	}
	return ps, nil
}
