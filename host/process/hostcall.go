package process

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

// Host answers the host calls of plugins (abi.HostMethod), as wasm.Host
// does for Wasm plugins; host/adapter's Host implements it. The process
// carrier checks capabilities before it calls Host. Call is called from
// many goroutines at once, and must not call back into the plugin (it
// would wait for the plugin's own call).
type Host interface {
	Call(ctx context.Context, plugin string, m abi.HostMethod, req []byte) ([]byte, error)
}

// capOf is the capability each host method needs (as in host/wasm).
var capOf = map[abi.HostMethod]string{
	abi.HostChanged:  abi.CapChanged,
	abi.HostKVGet:    abi.CapKV,
	abi.HostKVPut:    abi.CapKV,
	abi.HostKVDelete: abi.CapKV,
	abi.HostKVList:   abi.CapKV,
	abi.HostRequest:  abi.CapRequest,
}

// maxLogLen bounds a log message of a plugin, in bytes (as in host/wasm).
const maxLogLen = 64 << 10

// Granted returns the capabilities the plugin has: those its manifest
// asks for that Config.Grant grants.
func (p *Plugin) Granted() []string { return slices.Clone(p.granted) }

// hostCalls is a Plugin as the procplugin.HostHandler of its processes.
type hostCalls struct{ p *Plugin }

var _ procplugin.HostHandler = hostCalls{}

// HostCall answers host call m of the plugin with Config.Host, gated by
// the plugin's capabilities as a Wasm plugin's are: 5.01 for an unknown
// method, 4.03 for a method not granted, 5.01 without a Host.
func (h hostCalls) HostCall(ctx context.Context, m abi.HostMethod, req []byte) ([]byte, error) {
	p := h.p
	man := p.man.Load()
	if man == nil {
		return nil, &model.Error{Code: model.ServiceUnavailable, Msg: "host call before the plugin's manifest was read"}
	}
	cp, known := capOf[m]
	if !known {
		return nil, &model.Error{Code: model.NotImplemented, Msg: fmt.Sprintf("unknown host method %d", int32(m))}
	}
	if !slices.Contains(p.granted, cp) {
		return nil, &model.Error{Code: model.Forbidden, Msg: fmt.Sprintf("host method %d needs capability %q, not granted to plugin %s", int32(m), cp, man.ID)}
	}
	if p.cfg.Host == nil {
		return nil, &model.Error{Code: model.NotImplemented, Msg: "no host answers host calls"}
	}
	resp, err := p.cfg.Host.Call(ctx, man.ID, m, req)
	if err != nil {
		if c := model.CodeOf(err); c.Class() != 4 && c.Class() != 5 {
			return nil, &model.Error{Code: model.InternalServerError, Msg: err.Error()}
		}
		return nil, err
	}
	return resp, nil
}

// HostLog logs a line of the plugin through the host's logger, with the
// plugin's id.
func (h hostCalls) HostLog(ctx context.Context, level slog.Level, msg string) {
	lg := h.p.plog.Load()
	if !lg.Enabled(ctx, level) {
		return
	}
	if len(msg) > maxLogLen {
		msg = msg[:maxLogLen]
	}
	lg.Log(ctx, level, msg)
}
