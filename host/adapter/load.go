package adapter

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/wasm2m/wasm2m/host/wasm"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// PluginConfig is one plugin as the operator configures it.
type PluginConfig struct {
	// Path is the .wasm file.
	Path string
	// Grant is the capabilities the operator grants (abi.CapKV...). The
	// plugin gets those of its manifest that are granted; Load logs the
	// ones it asked for and did not get.
	Grant []string
	// Config is the plugin's configuration (JSON), passed by Start.
	Config []byte
	// Timeout, MaxInstances and MemoryLimitPages are the limits of
	// wasm.PluginConfig.
	Timeout          time.Duration
	MaxInstances     int
	MemoryLimitPages uint32
	// Watch, if positive, reloads the plugin when its file changes,
	// polling every Watch (wasm.Plugin.Watch).
	Watch time.Duration
	// Policy, if set, decides the grant and the config from the
	// manifest (an operator's settings keyed by plugin id), in place of
	// Grant and Config.
	Policy func(m *abi.Manifest) (grant []string, config []byte, err error)
}

// Plugin is a loaded plugin with its manifest and the capabilities it got.
type Plugin struct {
	*wasm.Plugin
	Manifest *abi.Manifest
	Granted  []string // asked for and granted
	Refused  []string // asked for and not granted
}

// Kind returns the plugin's kind.
func (p *Plugin) Kind() abi.Kind { return abi.Kind(p.Manifest.Kind) }

// Grants returns the capabilities of asked that grant allows, and those it
// refuses, each in the order asked.
func Grants(asked, grant []string) (granted, refused []string) {
	for _, c := range asked {
		if slices.Contains(grant, c) {
			granted = append(granted, c)
		} else {
			refused = append(refused, c)
		}
	}
	return granted, refused
}

// Load loads the plugin of cfg into rt: it reads the manifest from a first
// instance that gets no capability and no Start, then loads the plugin
// under the manifest's id with the capabilities asked for and granted, and
// cfg.Config as its Start. Storage plugins are refused: they run in the
// process carrier.
func Load(ctx context.Context, rt *wasm.Runtime, cfg PluginConfig, log *slog.Logger) (*Plugin, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b, err := os.ReadFile(cfg.Path)
	if err != nil {
		return nil, err
	}
	probe, err := rt.Load(ctx, wasm.PluginConfig{ID: "probe:" + filepath.Base(cfg.Path), MaxInstances: 1, MemoryLimitPages: cfg.MemoryLimitPages, Timeout: cfg.Timeout}, b)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", cfg.Path, err)
	}
	m, err := ReadManifest(ctx, probe)
	probe.Close(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", cfg.Path, err)
	}
	if abi.Kind(m.Kind) == abi.KindStorage {
		return nil, fmt.Errorf("load %s: plugin %s is a storage plugin, which runs as a process, not as Wasm", cfg.Path, m.ID)
	}
	if cfg.Policy != nil {
		if cfg.Grant, cfg.Config, err = cfg.Policy(m); err != nil {
			return nil, fmt.Errorf("load %s: plugin %s: %w", cfg.Path, m.ID, err)
		}
	}
	granted, refused := Grants(m.Capabilities, cfg.Grant)
	if len(refused) > 0 {
		log.Warn("plugin capabilities refused: not granted by the configuration", "plugin", m.ID, "refused", refused, "granted", granted)
	}
	start := (&abi.StartRequest{Config: cfg.Config}).MarshalAppend([]byte{})
	p, err := rt.Load(ctx, wasm.PluginConfig{
		ID:               m.ID,
		Capabilities:     granted,
		MaxInstances:     cfg.MaxInstances,
		MemoryLimitPages: cfg.MemoryLimitPages,
		Timeout:          cfg.Timeout,
		Start:            start,
		Stop:             []byte{},
	}, b)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", cfg.Path, err)
	}
	if cfg.Watch > 0 {
		if err := p.Watch(cfg.Path, cfg.Watch); err != nil {
			p.Close(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("load %s: watch: %w", cfg.Path, err)
		}
	}
	log.Info("plugin started", "plugin", m.ID, "kind", m.Kind, "version", m.Version, "abi_minor", m.ABIMinor, "capabilities", granted, "path", cfg.Path)
	return &Plugin{Plugin: p, Manifest: m, Granted: granted, Refused: refused}, nil
}
