package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// stepError is a failed step of a sequence.
type stepError struct {
	step string
	code model.Code // the device's answer; 0 if it gave none
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// sequence runs the bootstrap sequence of Core 1.1 section 6.1.4 (Figure
// 6.1.4-1 and section 6.1.7) against the device at peer, and publishes
// its outcome.
func (s *Server) sequence(ctx context.Context, l *listener, peer netip.AddrPort, r request, c *store.BootstrapConfig) {
	res := Result{Endpoint: r.ep, Peer: peer, Secure: l.secure, State: StateRunning, Format: codec.TLV, Started: time.Now()}
	if r.hasPCT {
		res.Format = r.pct
	}
	s.publish(EventStarted, res)
	s.log.Info("bootstrap started", "endpoint", r.ep, "peer", peer.String(), "format", res.Format.Name())
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SequenceTimeout)
	defer cancel()
	err := s.runSequence(ctx, l, peer, r, c, &res)
	res.Ended = time.Now()
	if err == nil {
		res.State = StateSucceeded
		s.publish(EventSucceeded, res)
		s.log.Info("bootstrap succeeded", "endpoint", r.ep, "peer", peer.String(), "duration", res.Ended.Sub(res.Started))
		return
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
		if errors.Is(cause, context.DeadlineExceeded) {
			cause = fmt.Errorf("bootstrap: no Bootstrap-Finish within %s: %w", s.cfg.SequenceTimeout, cause)
		}
		err = fmt.Errorf("%w (%w)", cause, err)
	}
	res.State, res.Err = StateFailed, err
	var se *stepError
	if errors.As(err, &se) {
		res.Step, res.Code = se.step, se.code
	}
	s.publish(EventFailed, res)
	attrs := []any{"endpoint", r.ep, "peer", peer.String(), "step", res.Step, "err", err}
	if res.Code != 0 {
		attrs = append(attrs, "code", res.Code.String())
	}
	s.log.Warn("bootstrap failed", attrs...)
}

// runSequence sends the requests of one sequence. A device that asked
// with pct= or lwm2m=1.1 or later is discovered first; a 1.0 device,
// which has neither Bootstrap-Discover nor Bootstrap-Read, is written in
// TLV (or its pct) into the common layout.
func (s *Server) runSequence(ctx context.Context, l *listener, peer netip.AddrPort, r request, c *store.BootstrapConfig, res *Result) error {
	if d := s.cfg.StartDelay; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			res.Step = "start"
			return &stepError{step: res.Step, err: context.Cause(ctx)}
		}
	}
	dev := unknownDevice()
	if r.discoverable() {
		res.Step = "bootstrap-discover /"
		resp, err := s.do(ctx, l, peer, transport.GET, model.RootPath(), codec.None, codec.LinkFormat, nil)
		if err != nil {
			return &stepError{step: res.Step, err: err}
		}
		if resp.Code == model.Content {
			entries, err := link.ParseDiscover(resp.Payload)
			if err != nil {
				return &stepError{step: res.Step, err: fmt.Errorf("the device's answer: %w", err)}
			}
			dev = discovered(entries)
			res.Discovered = true
		} else {
			// Bootstrap-Discover is optional to use: go on with the
			// common layout.
			s.log.Debug("bootstrap-discover refused", "endpoint", r.ep, "code", resp.Code.String())
		}
	}
	if err := s.readServers(ctx, l, peer, r, c, dev, res); err != nil {
		return err
	}
	pl, err := makePlan(c, dev)
	if err != nil {
		res.Step = "plan"
		return &stepError{step: res.Step, err: err}
	}
	for _, p := range pl.deletes {
		res.Step = "bootstrap-delete " + p.String()
		if err := s.expect(ctx, l, peer, transport.DELETE, p, codec.None, nil, model.Deleted, res.Step); err != nil {
			return err
		}
	}
	for _, w := range pl.writes {
		res.Step = "bootstrap-write " + w.path.String()
		body, err := codec.Encode(nil, res.Format, w.path, &w.node)
		if err != nil {
			return &stepError{step: res.Step, err: fmt.Errorf("encode in %s: %w", res.Format.Name(), err)}
		}
		if err := s.expect(ctx, l, peer, transport.PUT, w.path, res.Format, body, model.Changed, res.Step); err != nil {
			return err
		}
	}
	res.Step = "bootstrap-finish"
	m := &transport.Message{Code: transport.POST}
	m.SetPath("/bs")
	resp, err := s.send(ctx, l, peer, m)
	if err != nil {
		return &stepError{step: res.Step, err: err}
	}
	if resp.Code != model.Changed {
		return refused(res.Step, resp)
	}
	return nil
}

// readServers reads the Server object with Bootstrap-Read (Core 1.1
// section 6.1.7.2) when the device was discovered and Server instances
// survive the configuration's deletes, to learn their short server ids
// (a device need not report ssid in Bootstrap-Discover): a server account
// of the configuration then replaces the instance of the same id rather
// than adding a second one.
func (s *Server) readServers(ctx context.Context, l *listener, peer netip.AddrPort, r request, c *store.BootstrapConfig, dev *device, res *Result) error {
	if !dev.known || len(c.Servers) == 0 {
		return nil
	}
	dels, err := deletePaths(c)
	if err != nil {
		return nil // makePlan reports it
	}
	after := &device{known: true, bsSec: dev.bsSec, inst: map[uint16]map[uint16]uint16{}}
	for i, ssid := range dev.inst[objServer] {
		after.add(objServer, i, ssid)
	}
	for _, p := range dels {
		after.delete(p)
	}
	if len(after.inst[objServer]) == 0 {
		return nil
	}
	res.Step = "bootstrap-read /1"
	resp, err := s.do(ctx, l, peer, transport.GET, model.ObjectPath(objServer), codec.None, res.Format, nil)
	if err != nil {
		return &stepError{step: res.Step, err: err}
	}
	if resp.Code != model.Content {
		s.log.Debug("bootstrap-read refused", "endpoint", r.ep, "code", resp.Code.String())
		return nil
	}
	f := res.Format
	if cf, ok := resp.ContentFormat(); ok {
		f = codec.Format(cf)
	}
	n, err := codec.Decode(f, resp.Payload, model.ObjectPath(objServer), s.defs)
	if err != nil {
		s.log.Debug("bootstrap-read: undecodable answer", "endpoint", r.ep, "err", err)
		return nil
	}
	for _, in := range n.Children {
		if v := in.Child(0); v != nil && v.HasValue() {
			if id, ok := intValue(v.Value); ok && id >= 1 && id <= model.MaxID {
				dev.add(objServer, in.ID, uint16(id))
			}
		}
	}
	return nil
}

// intValue returns v as an integer, if it is one.
func intValue(v model.Value) (int64, bool) {
	switch v.Type() {
	case model.TypeInteger:
		return v.Int(), true
	case model.TypeUnsigned:
		if u := v.Uint(); u <= 1<<62 {
			return int64(u), true
		}
	}
	return 0, false
}

// do sends one request of the Bootstrap interface to the device.
func (s *Server) do(ctx context.Context, l *listener, peer netip.AddrPort, code model.Code, p model.Path, cf, accept codec.Format, body []byte) (*transport.Message, error) {
	m := &transport.Message{Code: code, Payload: body}
	m.SetPath(p.String())
	if cf != codec.None {
		m.SetContentFormat(uint16(cf))
	}
	if accept != codec.None {
		m.SetAccept(uint16(accept))
	}
	return s.send(ctx, l, peer, m)
}

func (s *Server) send(ctx context.Context, l *listener, peer netip.AddrPort, m *transport.Message) (*transport.Message, error) {
	s.mu.Lock()
	ep := l.ep
	s.mu.Unlock()
	if ep == nil {
		return nil, ErrClosed
	}
	if s.cfg.RequestTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.RequestTimeout)
		defer cancel()
	}
	resp, err := ep.Do(ctx, peer, m)
	if err != nil {
		if errors.Is(err, transport.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("device unreachable at %s: %w", peer, err)
		}
		return nil, err
	}
	return resp, nil
}

// expect sends a request and fails the step unless the device answers
// with want.
func (s *Server) expect(ctx context.Context, l *listener, peer netip.AddrPort, code model.Code, p model.Path, cf codec.Format, body []byte, want model.Code, step string) error {
	resp, err := s.do(ctx, l, peer, code, p, cf, codec.None, body)
	if err != nil {
		return &stepError{step: step, err: err}
	}
	if resp.Code != want {
		return refused(step, resp)
	}
	return nil
}

// refused is the error of a step the device answered with an error code
// (with its diagnostic payload, if any).
func refused(step string, resp *transport.Message) error {
	msg := resp.Code.String()
	if len(resp.Payload) > 0 && len(resp.Payload) <= 256 {
		msg += " " + fmt.Sprintf("%q", resp.Payload)
	}
	return &stepError{step: step, code: resp.Code, err: fmt.Errorf("%w: %s", ErrRefused, msg)}
}
