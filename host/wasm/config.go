package wasm

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Host answers the host calls of guests (abi.ImportCall). The runtime
// checks the plugin's capabilities before calling it, so Call sees only
// methods the plugin was granted. Call may be called from many goroutines
// at once, one per instance in a call. req is the host's own copy. An
// error should be a *model.Error: its code is the status the guest sees
// (any other error is 5.00), its text the message. A Call that calls
// back into the same plugin can deadlock when the pool is exhausted:
// don't.
type Host interface {
	Call(ctx context.Context, plugin string, m abi.HostMethod, req []byte) ([]byte, error)
}

// HostFunc adapts a function to Host.
type HostFunc func(ctx context.Context, plugin string, m abi.HostMethod, req []byte) ([]byte, error)

// Call calls f.
func (f HostFunc) Call(ctx context.Context, plugin string, m abi.HostMethod, req []byte) ([]byte, error) {
	return f(ctx, plugin, m, req)
}

// Config is what all plugins of a Runtime share.
type Config struct {
	// CacheDir is the folder of the file compilation cache: a module
	// compiled once is loaded from there by the next process in tens
	// of milliseconds instead of compiled again. Empty: an in-memory
	// cache only.
	CacheDir string

	// Logger receives the runtime's messages and the plugins' logs,
	// standard output and standard error, each with "plugin" = the id.
	// Nil: discard.
	Logger *slog.Logger

	// Host answers host calls of every plugin without a Host of its
	// own. Nil: every host call fails with 5.01 Not Implemented.
	Host Host
}

// PluginConfig describes one plugin: what it may do and its limits.
type PluginConfig struct {
	// ID names the plugin in logs and errors and to the Host; dotted and
	// namespaced, such as "objects.valve". Required.
	ID string

	// Capabilities granted to the plugin (abi.CapChanged, abi.CapKV,
	// abi.CapRequest, abi.CapClock, abi.CapRandom). A host call without
	// its capability returns 4.03 to the guest. Without CapClock the
	// guest sees WASI's fixed clock and sleeps return at once; without
	// CapRandom a deterministic random source.
	Capabilities []string

	// Host, if set, answers this plugin's host calls instead of
	// Config.Host.
	Host Host

	// MaxInstances bounds the instances of the plugin, and so how many
	// calls run at once; callers beyond wait (with their ctx). Default
	// GOMAXPROCS.
	MaxInstances int

	// MemoryLimitPages bounds each instance's memory in 64 KiB pages.
	// A module that needs more at start is refused; a guest that grows
	// past it sees memory.grow fail (a Go guest then traps). Default
	// 1024 (64 MiB); at most 65536.
	MemoryLimitPages uint32

	// Timeout, if positive, is the deadline of each call, and makes the
	// guest stop when the caller's ctx is done: for plugins not trusted
	// to return. It costs a few microseconds per call (wazero watches
	// the context from a goroutine), so trusted plugins leave it zero:
	// their calls run to the end whatever the ctx, which only bounds the
	// wait for a free instance.
	Timeout time.Duration

	// InitTimeout bounds the start of an instance (_initialize, the
	// version, Start) when Timeout is set. Default 10 s.
	InitTimeout time.Duration

	// Start, if not nil, is the request of abi.MethodStart sent to every
	// new instance before its first call (an empty non-nil slice sends
	// an empty message). An instance whose Start fails is discarded and
	// the call that needed it fails with that error.
	Start []byte

	// Stop, if not nil, is the request of abi.MethodStop sent to an
	// instance discarded on purpose (reload, Close; not after a trap).
	Stop []byte
}

// Defaults.
const (
	DefaultMemoryLimitPages = 1024
	DefaultInitTimeout      = 10 * time.Second
)

var knownCaps = map[string]bool{
	abi.CapChanged: true,
	abi.CapKV:      true,
	abi.CapRequest: true,
	abi.CapClock:   true,
	abi.CapRandom:  true,
}

// capOf is the capability each host method needs.
var capOf = map[abi.HostMethod]string{
	abi.HostChanged:  abi.CapChanged,
	abi.HostKVGet:    abi.CapKV,
	abi.HostKVPut:    abi.CapKV,
	abi.HostKVDelete: abi.CapKV,
	abi.HostKVList:   abi.CapKV,
	abi.HostRequest:  abi.CapRequest,
}

// normalize checks c and fills in the defaults.
func (c PluginConfig) normalize() (PluginConfig, error) {
	if c.ID == "" {
		return c, fmt.Errorf("plugin config: empty id")
	}
	for _, cp := range c.Capabilities {
		if !knownCaps[cp] {
			return c, fmt.Errorf("plugin %s: unknown capability %q", c.ID, cp)
		}
	}
	if c.MaxInstances <= 0 {
		c.MaxInstances = runtime.GOMAXPROCS(0)
	}
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if c.MemoryLimitPages > 65536 {
		return c, fmt.Errorf("plugin %s: memory limit %d pages over 65536", c.ID, c.MemoryLimitPages)
	}
	if c.Timeout < 0 {
		return c, fmt.Errorf("plugin %s: negative timeout", c.ID)
	}
	if c.InitTimeout <= 0 {
		c.InitTimeout = DefaultInitTimeout
	}
	c.Capabilities = append([]string(nil), c.Capabilities...)
	return c, nil
}

func (c *PluginConfig) granted(cp string) bool {
	for _, g := range c.Capabilities {
		if g == cp {
			return true
		}
	}
	return false
}
