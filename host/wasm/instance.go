package wasm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Bounds on what the host reads from a guest for its own use.
const (
	maxErrorLen = 4 << 10  // wasm2m_last_error messages are cut there
	maxLogLen   = 64 << 10 // log messages are cut there
	minBuffer   = 256      // the smallest call buffer the host asks for
)

// instance is one instance of a module. It runs one call at a time (the
// pool guarantees it), so its fields need no lock.
type instance struct {
	g     *gen
	mod   api.Module
	mem   api.Memory
	minor uint32

	fnBuffer, fnCall, fnLastError api.Function
	stack                         []uint64

	bufAddr, bufSize uint32 // the guest's call buffer, as last returned

	pending []byte // the result of the last host call, for result()

	// With a per-call deadline (see deadline.go).
	done  chan struct{}
	fired atomic.Int32
	timer *time.Timer

	stdout, stderr *lineWriter
}

// newInstance instantiates the module (running _initialize), reads the
// guest's minor version and sends Start if configured.
func (g *gen) newInstance(ctx context.Context) (_ *instance, err error) {
	p := g.p
	in := &instance{
		g:      g,
		stack:  make([]uint64, 2),
		stdout: newLineWriter(p.log, slog.LevelInfo, "stdout"),
		stderr: newLineWriter(p.log, slog.LevelWarn, "stderr"),
	}
	if p.cfg.Timeout > 0 {
		in.done = make(chan struct{})
	}
	ctx = context.WithValue(ctx, startingKey{}, in)
	mod, err := g.rt.InstantiateModule(ctx, g.cm, g.mcfg.WithStdout(in.stdout).WithStderr(in.stderr))
	if err != nil {
		in.stdout.flush()
		in.stderr.flush()
		return nil, in.fail("start", err)
	}
	in.mod = mod
	in.mem = mod.ExportedMemory(memoryExport)
	in.fnBuffer = mod.ExportedFunction(abi.ExportBuffer)
	in.fnCall = mod.ExportedFunction(abi.ExportCall)
	in.fnLastError = mod.ExportedFunction(abi.ExportLastError)
	g.insts.Store(mod, in)
	g.alive.Add(1)
	p.created.Add(1)
	defer func() {
		if err != nil {
			in.close()
		}
	}()

	if err := mod.ExportedFunction(abi.ExportVersion).CallWithStack(ctx, in.stack); err != nil {
		return nil, in.fail(abi.ExportVersion, err)
	}
	minor := int32(in.stack[0])
	if minor < 0 {
		return nil, in.broke("%s returned %d, not a minor version", abi.ExportVersion, minor)
	}
	in.minor = uint32(minor)

	if p.cfg.Start != nil {
		if _, _, err := in.call(ctx, abi.MethodStart, p.cfg.Start, nil); err != nil {
			return nil, &model.Error{Code: model.CodeOf(err),
				Msg: fmt.Sprintf("plugin %s: start request: %s", p.cfg.ID, p.bare(err)), Err: err}
		}
	}
	return in, nil
}

// call runs one call and appends the response to dst (nil: a new slice
// of its size). broken says the instance must be discarded.
func (in *instance) call(ctx context.Context, method abi.Method, req, dst []byte) (resp []byte, broken bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			resp, broken = nil, true
			err = in.broke("host panic during call: %v", r)
		}
	}()
	if len(req) > math.MaxInt32 {
		return nil, false, &model.Error{Code: model.RequestEntityTooLarge,
			Msg: fmt.Sprintf("plugin %s: request of %d bytes", in.g.p.cfg.ID, len(req))}
	}
	n := uint32(len(req))
	if n > in.bufSize {
		want := uint32(minBuffer)
		for want < n {
			want <<= 1
		}
		in.stack[0] = uint64(want)
		if err := in.fnBuffer.CallWithStack(ctx, in.stack); err != nil {
			return nil, true, in.fail(abi.ExportBuffer, err)
		}
		addr := uint32(in.stack[0])
		if addr == 0 {
			return nil, true, in.broke("%s(%d) returned 0: the guest could not provide the call buffer",
				abi.ExportBuffer, want)
		}
		if uint64(addr)+uint64(want) > uint64(in.mem.Size()) {
			return nil, true, in.broke("%s(%d) returned address %d, outside its memory of %d bytes",
				abi.ExportBuffer, want, addr, in.mem.Size())
		}
		in.bufAddr, in.bufSize = addr, want
	}
	if n > 0 && !in.mem.Write(in.bufAddr, req) {
		return nil, true, in.broke("call buffer at %d outside its memory of %d bytes", in.bufAddr, in.mem.Size())
	}
	in.stack[0], in.stack[1] = uint64(uint32(method)), uint64(n)
	if err := in.fnCall.CallWithStack(ctx, in.stack); err != nil {
		return nil, true, in.fail(abi.ExportCall, err)
	}
	r := int64(in.stack[0])
	if r < 0 {
		return in.status(ctx, r)
	}
	ptr, size := uint32(uint64(r)>>32), uint32(r)
	b, ok := in.mem.Read(ptr, size)
	if !ok {
		return nil, true, in.broke("%s returned a response of %d bytes at %d, outside its memory of %d bytes",
			abi.ExportCall, size, ptr, in.mem.Size())
	}
	if dst == nil {
		return append(make([]byte, 0, size), b...), false, nil
	}
	return append(dst, b...), false, nil
}

// status turns a failed call's result r < 0 into the guest's error.
func (in *instance) status(ctx context.Context, r int64) ([]byte, bool, error) {
	s := uint64(-r)
	if r == math.MinInt64 || s < uint64(model.BadRequest) || s > uint64(model.MakeCode(5, 31)) {
		return nil, true, in.broke("%s returned status %d, not a CoAP error code (4.xx or 5.xx)", abi.ExportCall, s)
	}
	e := &model.Error{Code: model.Code(s)}
	if in.fnLastError == nil {
		return nil, false, e
	}
	if err := in.fnLastError.CallWithStack(ctx, in.stack); err != nil {
		return nil, true, in.fail(abi.ExportLastError, err)
	}
	lr := in.stack[0]
	ptr, size := uint32(lr>>32), uint32(lr)
	if size > maxErrorLen {
		size = maxErrorLen
	}
	if size > 0 {
		b, ok := in.mem.Read(ptr, size)
		if !ok {
			return nil, true, in.broke("%s returned a message of %d bytes at %d, outside its memory of %d bytes",
				abi.ExportLastError, size, ptr, in.mem.Size())
		}
		e.Msg = string(b)
	}
	return nil, false, e
}

// fail turns an error of wazero running guest code into the call's
// error: an interrupted call (deadline, cancel), a guest exit, a trap.
func (in *instance) fail(what string, err error) error {
	id := in.g.p.cfg.ID
	in.g.p.log.Debug("instance failed", "in", what, "err", err)
	var ee *sys.ExitError
	if errors.As(err, &ee) {
		switch ee.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return ctxError(id, what, context.DeadlineExceeded)
		case sys.ExitCodeContextCanceled:
			return ctxError(id, what, context.Canceled)
		}
		return &model.Error{Code: model.InternalServerError,
			Msg: fmt.Sprintf("plugin %s: %s: guest exited with code %d", id, what, ee.ExitCode()), Err: err}
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return &model.Error{Code: model.InternalServerError,
		Msg: fmt.Sprintf("plugin %s: %s: %s", id, what, msg), Err: err}
}

// broke is the error of a guest that broke the ABI.
func (in *instance) broke(format string, args ...any) error {
	err := &model.Error{Code: model.InternalServerError,
		Msg: fmt.Sprintf("plugin %s: %s", in.g.p.cfg.ID, fmt.Sprintf(format, args...))}
	in.g.p.log.Debug("instance broke the ABI", "err", err)
	return err
}

// stop sends the configured Stop request before a planned discard.
func (in *instance) stop(ctx context.Context) {
	p := in.g.p
	if p.cfg.Stop == nil {
		return
	}
	if p.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.InitTimeout)
		defer cancel()
	}
	if _, _, err := in.call(ctx, abi.MethodStop, p.cfg.Stop, nil); err != nil {
		p.log.Debug("stop request failed", "err", err)
	}
}

func (in *instance) close() {
	if in.timer != nil {
		in.timer.Stop()
	}
	in.g.insts.Delete(in.mod)
	in.g.alive.Add(-1)
	_ = in.mod.Close(context.Background())
	in.stdout.flush()
	in.stderr.flush()
}

// bare returns the text of err without the "plugin <id>: " this package
// puts first, for an error that wraps another.
func (p *Plugin) bare(err error) string {
	msg := err.Error()
	var me *model.Error
	if errors.As(err, &me) && me.Msg != "" {
		msg = me.Msg
	}
	return strings.TrimPrefix(msg, "plugin "+p.cfg.ID+": ")
}
