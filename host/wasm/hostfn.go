package wasm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// The host functions of abi.ImportModule. None of them traps: a guest's
// mistake (a pointer outside its memory, a method it may not call) is a
// status it gets back, and a panic below is recovered into 5.00.

// negStatus encodes a failed host call's result, -code, as an i32.
func negStatus(c model.Code) uint64 { return api.EncodeI32(-int32(c)) }

// hostLog is log(level, ptr, len): always granted.
func (g *gen) hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	lg := g.p.log
	defer func() {
		if r := recover(); r != nil {
			lg.Error("host function log panicked", "panic", r)
		}
	}()
	level := slog.Level(api.DecodeI32(stack[0]))
	ptr, n := api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	if !lg.Enabled(ctx, level) {
		return
	}
	if n > maxLogLen {
		n = maxLogLen
	}
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		lg.Warn("guest log message outside its memory", "ptr", ptr, "len", n)
		return
	}
	lg.Log(ctx, level, string(b))
}

// hostCall is call(method, ptr, len) -> i32: the Host's answer, gated by
// the plugin's capabilities.
func (g *gen) hostCall(ctx context.Context, mod api.Module, stack []uint64) {
	p := g.p
	in := g.instanceOf(ctx, mod)
	if in == nil { // cannot happen: every instance is registered
		stack[0] = negStatus(model.InternalServerError)
		return
	}
	m := abi.HostMethod(api.DecodeI32(stack[0]))
	fail := func(c model.Code, format string, args ...any) {
		in.pending = cutText(fmt.Appendf(in.pending[:0], format, args...), abi.MaxHostError)
		stack[0] = negStatus(c)
	}
	defer func() {
		if r := recover(); r != nil {
			p.log.Error("host call panicked", "method", int32(m), "panic", r)
			fail(model.InternalServerError, "host panic")
		}
	}()
	ptr, n := api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	cp, known := capOf[m]
	if !known {
		fail(model.NotImplemented, "unknown host method %d", int32(m))
		return
	}
	if !p.cfg.granted(cp) {
		fail(model.Forbidden, "host method %d needs capability %q, not granted to plugin %s", int32(m), cp, p.cfg.ID)
		return
	}
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		fail(model.BadRequest, "request of %d bytes at %d outside guest memory", n, ptr)
		return
	}
	if p.host == nil {
		fail(model.NotImplemented, "no host answers host calls")
		return
	}
	resp, err := p.host.Call(ctx, p.cfg.ID, m, bytes.Clone(b))
	if err != nil {
		c := model.CodeOf(err)
		if c.Class() != 4 && c.Class() != 5 {
			c = model.InternalServerError
		}
		fail(c, "%s", messageOf(err))
		return
	}
	if len(resp) > math.MaxInt32 {
		fail(model.InternalServerError, "host response of %d bytes", len(resp))
		return
	}
	in.pending = resp
	stack[0] = api.EncodeI32(int32(len(resp)))
}

// hostResult is result(ptr, cap) -> i32: copy n = min(cap, pending)
// bytes of the last host call's result into guest memory and return n;
// -4.00, copying nothing, if [ptr, ptr+n) is outside it. n = 0 returns 0
// whatever ptr is. The result stays pending.
func (g *gen) hostResult(ctx context.Context, mod api.Module, stack []uint64) {
	defer func() {
		if r := recover(); r != nil {
			g.p.log.Error("host function result panicked", "panic", r)
			stack[0] = negStatus(model.InternalServerError)
		}
	}()
	in := g.instanceOf(ctx, mod)
	if in == nil {
		stack[0] = negStatus(model.InternalServerError)
		return
	}
	ptr, c := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	n := uint32(len(in.pending))
	if c < n {
		n = c
	}
	if n > 0 && !mod.Memory().Write(ptr, in.pending[:n]) {
		stack[0] = negStatus(model.BadRequest)
		return
	}
	stack[0] = api.EncodeI32(int32(n))
}

// cutText cuts b to at most n bytes, at a UTF-8 character boundary.
func cutText(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	b = b[:n]
	// Drop a character the cut split: at most 3 continuation bytes back.
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				b = b[:i]
			}
			break
		}
	}
	return b
}

// messageOf is the text of a host error for the guest, without the code
// the guest already has from the status: "no key" for "4.04 Not Found:
// no key", "" for a bare model.ErrNotFound; a wrapped error keeps its
// context. (sdk/guest does the same the other way.)
func messageOf(err error) string {
	var e *model.Error
	s := err.Error()
	if !errors.As(err, &e) {
		return s
	}
	prefix := e.Code.String()
	if t := e.Code.Text(); t != "" {
		prefix += " " + t
	}
	if s == prefix {
		return ""
	}
	if rest, ok := strings.CutPrefix(s, prefix+": "); ok {
		return rest
	}
	return s
}
