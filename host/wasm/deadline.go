package wasm

import (
	"context"
	"time"

	"github.com/wasm2m/wasm2m/sdk/abi"
)

// The per-call deadline, cheaper than context.WithTimeout. wazero (with
// WithCloseOnContextDone) starts a goroutine on every call that waits on
// ctx.Done(); with a timer context that channel is made and closed on
// every call, which wakes the goroutine and doubles the cost. Here each
// instance has one done channel, closed only if a deadline or the
// caller's cancellation interrupts it (and then the instance is thrown
// away), and one timer re-armed per call.

// Reasons an instance was interrupted (instance.fired).
const (
	firedDeadline = 1
	firedCanceled = 2
)

// callCtx is the context of one call with a deadline: the caller's
// values, the earlier of the two deadlines, and the instance's done
// channel. It is what wazero watches and what the Host receives.
type callCtx struct {
	parent   context.Context
	in       *instance
	deadline time.Time
}

func (c *callCtx) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *callCtx) Done() <-chan struct{} { return c.in.done }

func (c *callCtx) Err() error {
	switch c.in.fired.Load() {
	case firedDeadline:
		return context.DeadlineExceeded
	case firedCanceled:
		return context.Canceled
	}
	return nil
}

func (c *callCtx) Value(key any) any { return c.parent.Value(key) }

// fire interrupts the instance's call, once.
func (in *instance) fire(why int32) {
	if in.fired.CompareAndSwap(0, why) {
		close(in.done)
	}
}

// callDeadline is call bounded by timeout and by ctx. An instance whose
// timer or ctx fired, even just after the call returned, is broken: its
// done channel may be closed.
func (in *instance) callDeadline(ctx context.Context, timeout time.Duration, method abi.Method, req, dst []byte) ([]byte, bool, error) {
	c := &callCtx{parent: ctx, in: in, deadline: time.Now().Add(timeout)}
	if in.timer == nil {
		in.timer = time.AfterFunc(timeout, func() { in.fire(firedDeadline) })
	} else {
		in.timer.Reset(timeout)
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() {
			if ctx.Err() == context.DeadlineExceeded {
				in.fire(firedDeadline)
			} else {
				in.fire(firedCanceled)
			}
		})
	}
	resp, broken, err := in.call(c, method, req, dst)
	if !in.timer.Stop() {
		broken = true
	}
	if stop != nil && !stop() {
		broken = true
	}
	if in.fired.Load() != 0 {
		broken = true
	}
	return resp, broken, err
}
