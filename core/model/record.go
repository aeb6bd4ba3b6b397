package model

import (
	"slices"
	"time"
)

// Record is one value at a resource or resource instance path, the unit of
// the flat content formats (SenML JSON and CBOR, OMA LwM2M JSON, LwM2M
// CBOR) and of composite operations. Time is the zero time unless the
// record carries a timestamp (Notify and Send may).
type Record struct {
	Path  Path
	Value Value
	Time  time.Time
}

// Entry is a node and the path it lives at: an item of a Read-Composite
// response, a Write-Composite request or a Send.
type Entry struct {
	Path Path
	Node Node
}

// Flatten appends to dst one record per value in n, which lives at path p,
// in ascending path order. Executable resources (TypeNone) and empty
// containers produce no record. It fails when n does not fit at p.
func Flatten(dst []Record, p Path, n *Node) ([]Record, error) {
	if err := n.CheckAt(p); err != nil {
		return dst, err
	}
	return flatten(dst, p, n), nil
}

func flatten(dst []Record, p Path, n *Node) []Record {
	if n.HasValue() {
		if n.Value.IsNone() {
			return dst
		}
		return append(dst, Record{Path: p, Value: n.Value})
	}
	for i := range n.Children {
		c := &n.Children[i]
		cp, err := p.Child(c.ID)
		if err != nil {
			continue // Validate reports such ids; nothing to encode
		}
		dst = flatten(dst, cp, c)
	}
	return dst
}

// Build assembles the node at path p (object, instance, resource or
// resource instance) from records at or below p, the inverse of Flatten.
// With defs it converts each value to the resource's type (a JSON number
// to Integer, say), knows a multiple resource when its records are not at
// instance level, and builds an empty multiple resource from no records.
// A record outside p, above resource level, at a path given twice, a
// single resource given instances or a multiple resource given a value is
// a 4.00 error. Records must not be modified while Build runs; Build does
// not keep them.
func Build(p Path, recs []Record, defs Definitions) (Node, error) {
	if p.IsRoot() {
		return Node{}, Errorf(BadRequest, "cannot build a node at the root path; use Group")
	}
	if len(recs) > 1 && !slices.IsSortedFunc(recs, cmpRecordPath) {
		recs = slices.Clone(recs)
		slices.SortStableFunc(recs, cmpRecordPath)
	}
	for i := range recs {
		r := &recs[i]
		if !r.Path.HasPrefix(p) {
			return Node{}, Errorf(BadRequest, "record %s is outside %s", r.Path, p)
		}
		if r.Path.Len() < 3 {
			return Node{}, Errorf(BadRequest, "record %s: a value needs a resource or resource instance path", r.Path)
		}
		if i > 0 && recs[i-1].Path == r.Path {
			return Node{}, Errorf(BadRequest, "record %s given twice", r.Path)
		}
	}
	b := builder{defs: defs, recs: recs}
	n, err := b.node(p)
	if err != nil {
		return Node{}, err
	}
	if b.i != len(recs) {
		// Only a resource record sorting after its own instances gets here.
		return Node{}, Errorf(BadRequest, "record %s conflicts with another record", recs[b.i].Path)
	}
	return n, nil
}

func cmpRecordPath(a, b Record) int { return a.Path.Compare(b.Path) }

type builder struct {
	defs Definitions
	recs []Record // sorted by path
	i    int      // next record to consume
}

func (b *builder) next() *Record {
	if b.i < len(b.recs) {
		return &b.recs[b.i]
	}
	return nil
}

// node builds the node at p from the records at and below p, consuming
// them.
func (b *builder) node(p Path) (Node, error) {
	switch p.Level() {
	case LevelObject, LevelInstance:
		kind := KindObject
		if p.Level() == LevelInstance {
			kind = KindInstance
		}
		n := Node{Kind: kind, ID: p.Last()}
		for r := b.next(); r != nil && r.Path.HasPrefix(p); r = b.next() {
			cp := r.Path.Truncate(p.Len() + 1)
			c, err := b.node(cp)
			if err != nil {
				return Node{}, err
			}
			n.Children = append(n.Children, c)
		}
		return n, nil
	case LevelResource:
		def := ResourceDefAt(b.defs, p)
		r := b.next()
		if r != nil && r.Path == p {
			if def != nil && def.Multiple {
				return Node{}, Errorf(BadRequest, "record %s: resource %d is multiple, its values need instance paths", p, def.ID)
			}
			v, err := b.convert(r, def)
			if err != nil {
				return Node{}, err
			}
			b.i++
			if next := b.next(); next != nil && next.Path.HasPrefix(p) {
				return Node{}, Errorf(BadRequest, "record %s: resource has both a value and instances", p)
			}
			return NewResource(p.Last(), v), nil
		}
		if def != nil && !def.Multiple && r != nil && r.Path.HasPrefix(p) {
			return Node{}, Errorf(BadRequest, "record %s: resource %d is single, it has no instances", r.Path, def.ID)
		}
		n := Node{Kind: KindMultipleResource, ID: p.Last()}
		for r := b.next(); r != nil && r.Path.HasPrefix(p); r = b.next() {
			v, err := b.convert(r, def)
			if err != nil {
				return Node{}, err
			}
			n.Children = append(n.Children, NewResourceInstance(r.Path.Last(), v))
			b.i++
		}
		if len(n.Children) == 0 && (def == nil || !def.Multiple) {
			return Node{}, Errorf(BadRequest, "no value for resource %s", p)
		}
		return n, nil
	case LevelResourceInstance:
		def := ResourceDefAt(b.defs, p)
		r := b.next()
		if r == nil || r.Path != p {
			return Node{}, Errorf(BadRequest, "no value for resource instance %s", p)
		}
		if def != nil && !def.Multiple {
			return Node{}, Errorf(BadRequest, "record %s: resource %d is single, it has no instances", p, def.ID)
		}
		v, err := b.convert(r, def)
		if err != nil {
			return Node{}, err
		}
		b.i++
		return NewResourceInstance(p.Last(), v), nil
	}
	return Node{}, Errorf(BadRequest, "cannot build a node at %s", p)
}

func (b *builder) convert(r *Record, def *ResourceDef) (Value, error) {
	if r.Value.IsNone() {
		return Value{}, Errorf(BadRequest, "record %s has no value", r.Path)
	}
	if def == nil {
		return r.Value, nil
	}
	if def.Type == TypeNone {
		return Value{}, Errorf(BadRequest, "record %s: resource %d is executable and holds no value", r.Path, def.ID)
	}
	v, err := r.Value.Convert(def.Type)
	if err != nil {
		return Value{}, Errorf(BadRequest, "record %s: %w", r.Path, err)
	}
	return v, nil
}

// Group builds one entry per path in paths from the records below it, as
// a Read-Composite response or an Observe-Composite notification is read
// against the paths that were asked for. Paths must not overlap. A record
// below none of the paths is a 4.00 error; a path with no record gives no
// entry, as a device omits what it could not read. With paths nil, every
// record becomes an entry of its own (a Send or Write-Composite, whose
// records name their own paths).
func Group(recs []Record, paths []Path, defs Definitions) ([]Entry, error) {
	if paths == nil {
		out := make([]Entry, 0, len(recs))
		for i := range recs {
			n, err := Build(recs[i].Path, recs[i:i+1], defs)
			if err != nil {
				return nil, err
			}
			out = append(out, Entry{Path: recs[i].Path, Node: n})
		}
		return out, nil
	}
	for i, p := range paths {
		for _, q := range paths[:i] {
			if p.Overlaps(q) {
				return nil, Errorf(BadRequest, "composite paths %s and %s overlap", q, p)
			}
		}
	}
	buckets := make([][]Record, len(paths))
next:
	for _, r := range recs {
		for i, p := range paths {
			if r.Path.HasPrefix(p) {
				buckets[i] = append(buckets[i], r)
				continue next
			}
		}
		return nil, Errorf(BadRequest, "record %s is below none of the requested paths", r.Path)
	}
	var out []Entry
	for i, p := range paths {
		if len(buckets[i]) == 0 {
			continue
		}
		if p.IsRoot() {
			return nil, Errorf(BadRequest, "a composite path cannot be the root")
		}
		n, err := Build(p, buckets[i], defs)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Path: p, Node: n})
	}
	return out, nil
}
