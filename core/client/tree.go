package client

import (
	"context"
	"errors"
	"slices"

	"github.com/wasm2m/wasm2m/core/model"
)

// Well-known objects (Core 1.1 Appendix E).
const (
	objSecurity      = 0
	objServer        = 1
	objAccessControl = 2
	objDevice        = 3
	objOSCORE        = 21
)

// defs implements model.Definitions with the definitions of the client's
// objects.
type defs map[uint16]*model.ObjectDef

func (d defs) Object(id uint16) *model.ObjectDef { return d[id] }

// guard runs f, turning a panic into a 5.00 error: an object (a plugin,
// possibly) that panics fails its call, never the engine (STYLE.md).
func guard[T any](what string, f func() (T, error)) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = model.Errorf(model.InternalServerError, "%s: object panicked: %v", what, r)
		}
	}()
	return f()
}

func guardErr(what string, f func() error) error {
	_, err := guard(what, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// object returns the object with id and its definition, or a 4.04 error.
func (e *Engine) object(id uint16) (Object, *model.ObjectDef, error) {
	o := e.objs[id]
	if o == nil {
		return nil, nil, model.Errorf(model.NotFound, "no object %d", id)
	}
	return o, e.defs[id], nil
}

// instances returns the instance ids of object id, ascending and without
// duplicates whatever the object returned.
func (e *Engine) instances(ctx context.Context, id uint16) ([]uint16, error) {
	o, _, err := e.object(id)
	if err != nil {
		return nil, err
	}
	ids, err := guard("instances", func() ([]uint16, error) { return o.Instances(ctx) })
	if err != nil {
		return nil, err
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// hasInstance reports whether instance /o/i exists.
func (e *Engine) hasInstance(ctx context.Context, o, i uint16) (bool, error) {
	ids, err := e.instances(ctx, o)
	if err != nil {
		return false, err
	}
	_, found := slices.BinarySearch(ids, i)
	return found, nil
}

// readNode reads the node at p (an object, instance, resource or resource
// instance) from the objects, without any access check. An object is
// assembled from its instances; an instance deleted meanwhile is left out.
func (e *Engine) readNode(ctx context.Context, p model.Path) (model.Node, error) {
	if p.IsRoot() {
		return model.Node{}, model.Errorf(model.MethodNotAllowed, "the root is not a node")
	}
	o, _, err := e.object(p.ObjectID())
	if err != nil {
		return model.Node{}, err
	}
	if p.IsObject() {
		ids, err := e.instances(ctx, p.ObjectID())
		if err != nil {
			return model.Node{}, err
		}
		n := model.Node{Kind: model.KindObject, ID: p.ObjectID()}
		for _, id := range ids {
			in, err := e.readNode(ctx, model.InstancePath(p.ObjectID(), id))
			if errors.Is(err, model.ErrNotFound) {
				continue
			}
			if err != nil {
				return model.Node{}, err
			}
			n.Children = append(n.Children, in)
		}
		return n, nil
	}
	n, err := guard("read", func() (model.Node, error) { return o.Read(ctx, p) })
	if err != nil {
		return model.Node{}, err
	}
	n.Sort()
	if err := n.CheckAt(p); err != nil {
		return model.Node{}, model.Errorf(model.InternalServerError, "object %d returned a bad node for %s: %v", p.ObjectID(), p, err)
	}
	if err := n.Validate(); err != nil {
		return model.Node{}, model.Errorf(model.InternalServerError, "object %d returned a bad node for %s: %v", p.ObjectID(), p, err)
	}
	return n, nil
}

// readValue reads resource r of instance /o/i and returns its value, or
// false when it does not exist or cannot be read.
func (e *Engine) readValue(ctx context.Context, o, i, r uint16) (model.Value, bool) {
	n, err := e.readNode(ctx, model.ResourcePath(o, i, r))
	if err != nil || !n.HasValue() {
		return model.Value{}, false
	}
	return n.Value, true
}

// resourceOf returns the value of single resource id in instance node n.
func resourceOf(n *model.Node, id uint16) (model.Value, bool) {
	c := n.Child(id)
	if c == nil || !c.HasValue() || c.Value.IsNone() {
		return model.Value{}, false
	}
	return c.Value, true
}

// intOf returns an integer-like value (Integer, Unsigned, Time or an
// integral Float) as int64.
func intOf(v model.Value) (int64, bool) {
	switch v.Type() {
	case model.TypeInteger, model.TypeTime:
		return v.Int(), true
	case model.TypeUnsigned:
		if v.Uint() > 1<<62 {
			return 1 << 62, true
		}
		return int64(v.Uint()), true
	case model.TypeFloat:
		f := v.Float()
		if f == float64(int64(f)) {
			return int64(f), true
		}
	}
	return 0, false
}

// numberOf returns a numeric value as float64, for the gt, lt and st
// attributes.
func numberOf(v model.Value) (float64, bool) {
	switch v.Type() {
	case model.TypeInteger:
		return float64(v.Int()), true
	case model.TypeUnsigned:
		return float64(v.Uint()), true
	case model.TypeFloat:
		return v.Float(), true
	}
	return 0, false
}

// isNumeric reports whether resources of type t take gt, lt and st.
func isNumeric(t model.Type) bool {
	return t == model.TypeInteger || t == model.TypeUnsigned || t == model.TypeFloat
}

// hidden reports whether object id is never shown to a device management
// server: the Security object and the OSCORE object hold the keys of every
// account (Core 1.1 section 6.2.1: they are not registered; section 6.3:
// only the bootstrap server reaches them).
func hidden(id uint16) bool { return id == objSecurity || id == objOSCORE }
