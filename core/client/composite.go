package client

import (
	"context"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// compositePaths decodes the path list of a Read-Composite or
// Observe-Composite request (Core 1.1 sections 6.3.8 and 6.4.2): SenML
// JSON or SenML CBOR, paths that do not overlap.
func (e *Engine) compositePaths(msg *transport.Message) ([]model.Path, codec.Format, error) {
	cf, ok := msg.ContentFormat()
	if !ok {
		return nil, codec.None, model.Errorf(model.BadRequest, "no Content-Format")
	}
	f := codec.Format(cf)
	if (f != codec.SenMLJSON && f != codec.SenMLCBOR) || !e.speaks(f) {
		return nil, codec.None, model.Errorf(model.UnsupportedContentFormat, "a path list is SenML JSON or SenML CBOR the client speaks, not %s", f)
	}
	paths, err := codec.DecodePaths(f, msg.Payload)
	if err != nil {
		return nil, codec.None, asClientError(err)
	}
	if len(paths) == 0 {
		return nil, codec.None, model.Errorf(model.BadRequest, "no path")
	}
	for i, p := range paths {
		for _, q := range paths[:i] {
			if p.Overlaps(q) {
				return nil, codec.None, model.Errorf(model.BadRequest, "paths %s and %s overlap", q, p)
			}
		}
	}
	return paths, f, nil
}

// compositeFormat picks the format of a composite response: the Accept
// option's if it is a composite format the client speaks (else 4.06),
// or the format of the request.
func (e *Engine) compositeFormat(msg *transport.Message, req codec.Format) (codec.Format, error) {
	if a, ok := msg.Accept(); ok {
		f := codec.Format(a)
		if !f.Composite() || !e.speaks(f) {
			return codec.None, model.Errorf(model.NotAcceptable, "a composite response is SenML or LwM2M CBOR the client speaks, not %s", f)
		}
		return f, nil
	}
	return req, nil
}

// compositeRead reads each path for server ssid. A path that does not
// exist or that the server may not read is left out, as Core 1.1 section
// 6.3.8 lets a client do; when no path could be read the first error is
// the answer. The root path stands for every object.
func (e *Engine) compositeRead(ctx context.Context, ssid uint16, paths []model.Path) ([]model.Entry, error) {
	var entries []model.Entry
	var first error
	read := func(p model.Path) {
		n, err := e.dmReadNode(ctx, ssid, p)
		if err != nil {
			if first == nil {
				first = err
			}
			return
		}
		entries = append(entries, model.Entry{Path: p, Node: n})
	}
	for _, p := range paths {
		if !p.IsRoot() {
			read(p)
			continue
		}
		for _, id := range e.ids {
			if !hidden(id) {
				read(model.ObjectPath(id))
			}
		}
	}
	if len(entries) == 0 && first != nil {
		return nil, first
	}
	return entries, nil
}

// readComposite serves Read-Composite (Core 1.1 section 6.3.8; FETCH /).
func (e *Engine) readComposite(ctx context.Context, ssid uint16, msg *transport.Message) *transport.Message {
	paths, pf, err := e.compositePaths(msg)
	if err != nil {
		return errorResponse(err)
	}
	f, err := e.compositeFormat(msg, pf)
	if err != nil {
		return errorResponse(err)
	}
	entries, err := e.compositeRead(ctx, ssid, paths)
	if err != nil {
		return errorResponse(err)
	}
	body, err := codec.EncodeEntries(nil, f, entries)
	if err != nil {
		return errorResponse(err)
	}
	m := &transport.Message{Code: model.Content, Payload: body}
	m.SetContentFormat(uint16(f))
	return m
}

// writeComposite serves Write-Composite (Core 1.1 section 6.3.9; iPATCH
// /): every value is checked (existence, writability, access right,
// type) before any is written.
func (e *Engine) writeComposite(ctx context.Context, ssid uint16, msg *transport.Message) error {
	cf, ok := msg.ContentFormat()
	if !ok {
		return model.Errorf(model.BadRequest, "no Content-Format")
	}
	f := codec.Format(cf)
	if !f.Composite() || !e.speaks(f) {
		return model.Errorf(model.UnsupportedContentFormat, "write-composite carries SenML or LwM2M CBOR the client speaks, not %s", f)
	}
	recs, err := codec.DecodeRecords(f, msg.Payload)
	if err != nil {
		return asClientError(err)
	}
	if len(recs) == 0 {
		return model.Errorf(model.BadRequest, "write-composite without a value")
	}
	entries, err := model.Group(recs, nil, e.defs)
	if err != nil {
		return asClientError(err)
	}
	objs := make([]Object, len(entries))
	for i := range entries {
		en := &entries[i]
		o, def, res, err := e.target(ctx, en.Path)
		if err != nil {
			return err
		}
		if res == nil {
			return model.Errorf(model.BadRequest, "write-composite writes resources, not %s", en.Path)
		}
		if !res.Operations.Writable() {
			return model.Errorf(model.MethodNotAllowed, "resource %s (%s) is not writable", en.Path, res.Name)
		}
		if err := e.allow(ctx, ssid, en.Path.ObjectID(), en.Path.InstanceID(), RightWrite); err != nil {
			return err
		}
		if err := checkValues(def, en.Path, &en.Node, true); err != nil {
			return err
		}
		objs[i] = o
	}
	paths := make([]model.Path, 0, len(entries))
	for i := range entries {
		en := entries[i]
		if err := guardErr("write", func() error { return objs[i].Write(ctx, en.Path, en.Node, true) }); err != nil {
			return err
		}
		paths = append(paths, en.Path)
	}
	e.afterWrite(paths...)
	return nil
}
