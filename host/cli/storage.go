package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/host/config"
	"github.com/wasm2m/wasm2m/host/process"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

// redisID is the id of storage.redis, the backend "redis".
const redisID = "storage.redis"

// ProcessPlugins are the process plugins compiled into the wasm2m binary,
// by id: `wasm2m plugin serve <id>` serves one, and the server starts its
// own executable that way for the backend "redis" (storage.redis), so
// that one binary runs every backend without a second program to
// install. cmd/wasm2m fills it before Main (host may not import plugins).
var ProcessPlugins = map[string]func() procplugin.Handler{}

// runPluginServe serves a compiled-in process plugin on go-plugin's
// handshake; run by hand (without the host's handshake in the
// environment) it refuses and exits 1.
func runPluginServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: wasm2m plugin serve <id>", errUsage)
	}
	h, ok := ProcessPlugins[args[0]]
	if !ok {
		return fmt.Errorf("%w: no process plugin %q compiled into this binary", errUsage, args[0])
	}
	procplugin.Serve(h())
	return nil
}

// storeSetup is where `wasm2m server` keeps its registrations: the store
// section of the configuration file, with -store for the backend.
type storeSetup struct {
	cfg  config.Store
	data string // -data, the file store's default folder
	log  *slog.Logger
	// exe returns the wasm2m executable (os.Executable; tests replace it).
	exe func() (string, error)
}

// open opens the store and describes it for the start-up line.
func (ss storeSetup) open(ctx context.Context) (store.Store, string, error) {
	c := ss.cfg
	backend := c.Backend
	if backend == "" {
		backend = config.BackendFile
	}
	if err := config.CheckBackend(backend); err != nil {
		return nil, "", fmt.Errorf("%w: %v", errUsage, err)
	}
	switch backend {
	case config.BackendMemory:
		return store.NewMemory(), "memory store", nil
	case config.BackendFile:
		path := c.Path
		if path == "" {
			path = filepath.Join(ss.data, "registrations.log")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, "", err
		}
		f, err := store.OpenFile(path, store.FileOptions{Logger: ss.log})
		if err != nil {
			return nil, "", fmt.Errorf("open the store: %w", err)
		}
		ss.log.Info("store opened", "path", path)
		return f, "file store " + path, nil
	case config.BackendRedis:
		if ProcessPlugins[redisID] == nil {
			return nil, "", fmt.Errorf("store redis: %s is not compiled into this binary (cmd/wasm2m has it): use the backend plugin with its own program", redisID)
		}
		exe := ss.exe
		if exe == nil {
			exe = os.Executable
		}
		path, err := exe()
		if err != nil {
			return nil, "", fmt.Errorf("store redis: the wasm2m executable: %w", err)
		}
		sum, err := process.Checksum(path)
		if err != nil {
			return nil, "", fmt.Errorf("store redis: %w", err)
		}
		st, err := process.OpenStore(ctx, process.Config{
			Path: path, Args: []string{"plugin", "serve", redisID}, Checksum: sum, Logger: ss.log,
		}, c.Redis)
		if err != nil {
			return nil, "", fmt.Errorf("open the store: %w", err)
		}
		return st, "redis store (" + redisID + " served by " + filepath.Base(path) + ")", nil
	default: // plugin
		p := c.Plugin
		if p == nil {
			return nil, "", fmt.Errorf("%w: store backend plugin: the configuration has no store.plugin section", errUsage)
		}
		sum, err := p.ChecksumBytes()
		if err != nil {
			return nil, "", err
		}
		st, err := process.OpenStore(ctx, process.Config{Path: p.Path, Checksum: sum, Logger: ss.log}, p.Config)
		if err != nil {
			return nil, "", fmt.Errorf("open the store: %w", err)
		}
		return st, "plugin store " + p.Path, nil
	}
}
