package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// Send sends the current values at paths to server ssid, or with ssid 0
// to every registered server, with the Send operation (Core 1.1 section
// 6.4.4; POST /dp), in the client's first composite format. Each server
// gets the values it may read (access control applies as to a Read). A
// server whose Mute Send resource (/1/x/23) is true is skipped (ErrMuted
// when it was the one asked for). Send needs LwM2M 1.1 or later.
func (e *Engine) Send(ctx context.Context, ssid uint16, paths ...model.Path) error {
	return e.SendFormat(ctx, ssid, codec.None, paths...)
}

// SendFormat is Send in content format f (SenML JSON, SenML CBOR or LwM2M
// CBOR, one the client speaks); codec.None picks the client's first
// composite format.
func (e *Engine) SendFormat(ctx context.Context, ssid uint16, f codec.Format, paths ...model.Path) error {
	if e.cfg.Version.Compare(model.V1_1) < 0 {
		return model.Errorf(model.MethodNotAllowed, "client: send came with LwM2M 1.1; the client is %s", e.cfg.Version)
	}
	if len(paths) == 0 {
		return errors.New("client: send: no path")
	}
	if f == codec.None {
		for _, g := range e.cfg.Formats {
			if g.Composite() {
				f = g
				break
			}
		}
		if f == codec.None {
			return model.Errorf(model.NotAcceptable, "client: send: the client speaks no composite format")
		}
	} else if !f.Composite() || !e.speaks(f) {
		return model.Errorf(model.NotAcceptable, "client: send: %s is not a composite format the client speaks", f)
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return ErrClosed
	}
	if !e.started {
		e.mu.Unlock()
		return ErrNotStarted
	}
	var targets []*serverConn
	muted := false
	for id, c := range e.conns {
		if ssid != 0 && id != ssid {
			continue
		}
		if c.state != StateRegistered {
			continue
		}
		if c.acct.muteSend {
			muted = true
			continue
		}
		targets = append(targets, c)
	}
	e.mu.Unlock()
	if len(targets) == 0 {
		if muted && ssid != 0 {
			return ErrMuted
		}
		return ErrNotRegistered
	}
	var errs []error
	for _, c := range targets {
		if err := e.sendTo(ctx, c, f, paths); err != nil {
			errs = append(errs, fmt.Errorf("server %d: %w", c.account().ssid, err))
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) sendTo(ctx context.Context, c *serverConn, f codec.Format, paths []model.Path) error {
	a := c.account()
	entries, err := e.compositeRead(ctx, a.ssid, paths)
	if err != nil {
		return err
	}
	body, err := codec.EncodeEntries(nil, f, entries)
	if err != nil {
		return err
	}
	m := &transport.Message{Code: transport.POST, Payload: body}
	m.SetPath("/dp")
	m.SetContentFormat(uint16(f))
	c.touch()
	resp, err := e.do(ctx, a.addr, m)
	if err == nil {
		c.touch()
		if resp.Code != model.Changed {
			err = responseError("send", resp)
		}
	}
	c.event(Event{Type: EventSent, Err: err})
	return err
}
