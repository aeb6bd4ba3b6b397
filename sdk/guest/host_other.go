//go:build !wasip1

package guest

import (
	"context"
	"log/slog"
	"sync/atomic"
)

var native atomic.Pointer[Host]

// SetHost sets the host that host functions use when their context does
// not come from a call of a Dispatcher with a Host (context.Background(),
// a goroutine of the plugin's own); nil removes it. On wasip1 the default
// host is always the module's imports and SetHost does not exist.
func SetHost(h Host) {
	if h == nil {
		native.Store(nil)
		return
	}
	native.Store(&h)
}

func defaultHost() Host {
	if p := native.Load(); p != nil {
		return *p
	}
	return nil
}

// reqBuf and keepReqBuf: natively, a plugin may call host functions from
// several goroutines, so every host request gets a buffer of its own.
func reqBuf() []byte { return nil }

func keepReqBuf([]byte) {}

// logDefault logs a line of a plugin without a host to slog.Default().
func logDefault(ctx context.Context, level Level, msg string) {
	slog.Default().Log(ctx, slog.Level(level), msg)
}
