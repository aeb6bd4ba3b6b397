package guest

import (
	"context"
	"time"

	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Host is the host as a plugin sees it, at the level of the ABI's imports
// (module wasm2m_v1): Log is the log import, Call is the call import
// followed by the result import, with the request and response messages
// of abi.proto encoded. A Wasm build of this package implements it with
// the imports; natively, a test harness (sdk/plugintest) implements it, so
// that every host call of a plugin under test is encoded and decoded as it
// is in Wasm.
//
// The response of Call may alias memory that the next Call reuses; the
// SDK decodes it before it calls again. An error carries the status as its
// CoAP code (*model.Error): a host function the manifest did not ask for
// fails with 4.03.
type Host interface {
	Log(level Level, msg string)
	Call(ctx context.Context, m abi.HostMethod, req []byte) ([]byte, error)
}

// Clock is implemented by a Host that owns the time a plugin sees (a test
// harness with a controllable clock). Now uses it.
type Clock interface {
	Now() time.Time
}

type hostKey struct{}

// withHost returns ctx carrying h, the host that the host functions called
// with ctx (or a context derived from it) use.
func withHost(ctx context.Context, h Host) context.Context {
	return context.WithValue(ctx, hostKey{}, h)
}

// hostOf returns the host of ctx: the one of the call that ctx comes from
// (a Dispatcher with a Host puts it there), else the default host (the
// imports on wasip1; the one given to SetHost natively, if any).
func hostOf(ctx context.Context) Host {
	if ctx != nil {
		if h, ok := ctx.Value(hostKey{}).(Host); ok {
			return h
		}
	}
	return defaultHost()
}

// Now returns the current time as the host lets the plugin see it: on
// wasip1, WASI's clock (a fixed clock unless the manifest asks for
// abi.CapClock); natively, the Clock of the host of ctx, or the system
// clock.
func Now(ctx context.Context) time.Time {
	if c, ok := hostOf(ctx).(Clock); ok {
		return c.Now()
	}
	return time.Now()
}
