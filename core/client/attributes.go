package client

import (
	"context"
	"maps"
	"slices"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// writeAttributes serves Write-Attributes (Core 1.1 section 6.3.4; PUT
// with the attributes as Uri-Query and no payload). Attributes belong to
// the server that writes them (section 5.1.1) and to the level written:
// they are merged with those held there, a name without a value removing
// one. Attributes the client's version does not know (epmin and epmax
// came with 1.1, edge, con and hqmax with 1.2), attributes of the wrong
// level, and gt, lt and st on a resource that is not numeric are 4.00.
func (e *Engine) writeAttributes(ctx context.Context, ssid uint16, p model.Path, msg *transport.Message) error {
	if p.IsRoot() {
		return model.Errorf(model.MethodNotAllowed, "write-attributes needs a path below the root")
	}
	_, _, res, err := e.target(ctx, p)
	if err != nil {
		return err
	}
	if p.Level() >= model.LevelInstance {
		if err := e.allow(ctx, ssid, p.ObjectID(), p.InstanceID(), RightRead); err != nil {
			return err
		}
	}
	a, err := link.ParseQuery(msg.Queries())
	if err != nil {
		return err
	}
	if a.IsZero() {
		return model.Errorf(model.BadRequest, "write-attributes needs at least one attribute")
	}
	if err := a.CheckLevel(p.Level()); err != nil {
		return err
	}
	if err := e.checkAttributeVersion(a); err != nil {
		return err
	}
	if !a.GT.IsAbsent() || !a.LT.IsAbsent() || !a.ST.IsAbsent() {
		if res == nil || !isNumeric(res.Type) {
			return model.Errorf(model.BadRequest, "gt, lt and st apply to numeric resources only")
		}
	}
	if !a.Edge.IsAbsent() && (res == nil || res.Type != model.TypeBoolean) {
		return model.Errorf(model.BadRequest, "edge applies to boolean resources only")
	}
	e.mu.Lock()
	m := e.attrs[ssid]
	if m == nil {
		m = map[model.Path]link.Attributes{}
		e.attrs[ssid] = m
	}
	merged := m[p].Merge(a)
	if merged.IsZero() {
		delete(m, p)
	} else {
		m[p] = merged
	}
	for k, o := range e.observers {
		if k.ssid == ssid {
			o.policyChanged()
		}
	}
	e.mu.Unlock()
	return nil
}

// checkAttributeVersion refuses attributes newer than the client's
// enabler version.
func (e *Engine) checkAttributeVersion(a link.Attributes) error {
	v := e.cfg.Version
	if v.Compare(model.V1_1) < 0 && (!a.EPMin.IsAbsent() || !a.EPMax.IsAbsent()) {
		return model.Errorf(model.BadRequest, "epmin and epmax came with LwM2M 1.1")
	}
	if v.Compare(model.V1_2) < 0 && (!a.Edge.IsAbsent() || !a.Con.IsAbsent() || !a.HQMax.IsAbsent()) {
		return model.Errorf(model.BadRequest, "edge, con and hqmax came with LwM2M 1.2")
	}
	return nil
}

// attributesAt returns the attributes server ssid assigned at p.
func (e *Engine) attributesAt(ssid uint16, p model.Path) link.Attributes {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.attrs[ssid][p]
}

// effectiveAttributes returns the notification attributes in force for
// server ssid at p: those of each level from the object down, the deeper
// prevailing (Core 1.1 section 5.1.1).
func (e *Engine) effectiveAttributes(ssid uint16, p model.Path) link.Attributes {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.attrs[ssid]
	levels := make([]link.Attributes, 0, 4)
	for l := 1; l <= p.Len(); l++ {
		levels = append(levels, m[p.Truncate(l)])
	}
	return link.Effective(levels...)
}

// dropAttributes forgets every server's attributes at and below p (an
// instance was deleted).
func (e *Engine) dropAttributes(p model.Path) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range e.attrs {
		maps.DeleteFunc(m, func(q model.Path, _ link.Attributes) bool { return q.HasPrefix(p) })
	}
}

// discover serves Discover (Core 1.1 section 6.3.2): the object, its
// instances and their resources (or an instance and its resources, or one
// resource), each with the attributes server ssid assigned there, dim on
// multiple resources and ver on an object whose version is not 1.0.
// Discover is not an access-controlled operation (Access Control object,
// resource 2, lists Read, Observe and Write-Attributes under R, not
// Discover). Resources listed are those an instance returns when read
// plus the mandatory resources that cannot be read (executables); the
// Object contract has no other way to say which optional resources an
// instance has.
func (e *Engine) discover(ctx context.Context, ssid uint16, p model.Path) *transport.Message {
	if p.IsRoot() {
		return errorResponse(model.Errorf(model.MethodNotAllowed, "discover needs an object, instance or resource path"))
	}
	if p.IsResourceInstance() {
		return errorResponse(model.Errorf(model.BadRequest, "discover takes an object, instance or resource, not %s", p))
	}
	_, def, _, err := e.target(ctx, p)
	if err != nil {
		return errorResponse(err)
	}
	e.mu.Lock()
	attrs := maps.Clone(e.attrs[ssid])
	e.mu.Unlock()
	entry := func(q model.Path) link.Entry { return link.Entry{Path: q, Attributes: attrs[q]} }
	var entries []link.Entry
	var insts []uint16
	switch p.Level() {
	case model.LevelObject:
		oe := entry(p)
		if v := def.Version; e.cfg.Version != model.V1_0 && !v.IsZero() && v != model.V1_0 {
			oe.Ver = link.Set(v)
		}
		entries = append(entries, oe)
		if insts, err = e.instances(ctx, p.ObjectID()); err != nil {
			return errorResponse(err)
		}
	case model.LevelInstance:
		insts = []uint16{p.InstanceID()}
	}
	for _, i := range insts {
		ip := model.InstancePath(p.ObjectID(), i)
		n, err := e.readNode(ctx, ip)
		if err != nil {
			if p.IsObject() {
				continue
			}
			return errorResponse(err)
		}
		if p.Level() <= model.LevelInstance {
			entries = append(entries, entry(ip))
		}
		ids := make([]uint16, 0, len(n.Children))
		for _, r := range n.Children {
			ids = append(ids, r.ID)
		}
		for _, rd := range def.Resources {
			if rd.Mandatory && !rd.Operations.Readable() {
				ids = append(ids, rd.ID)
			}
		}
		slices.Sort(ids)
		for _, r := range slices.Compact(ids) {
			re := entry(ip.MustChild(r))
			if c := n.Child(r); c != nil && c.Kind == model.KindMultipleResource {
				re.Dim = link.Set(uint8(min(len(c.Children), 255)))
			}
			entries = append(entries, re)
		}
	}
	if p.IsResource() {
		re := entry(p)
		n, err := e.readNode(ctx, p)
		switch {
		case err == nil && n.Kind == model.KindMultipleResource:
			re.Dim = link.Set(uint8(min(len(n.Children), 255)))
		case err != nil && model.CodeOf(err) == model.NotFound:
			return errorResponse(err)
		}
		entries = append(entries, re)
	}
	m := &transport.Message{Code: model.Content}
	m.SetContentFormat(uint16(codec.LinkFormat))
	m.Payload = link.AppendDiscover(nil, entries)
	return m
}
