package model

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Kind says what a Node is.
type Kind uint8

// The kinds of node in the LwM2M data model.
const (
	KindObject           Kind = iota + 1 // children: instances
	KindInstance                         // children: resources of either kind
	KindResource                         // a single-instance resource: a Value
	KindMultipleResource                 // children: resource instances
	KindResourceInstance                 // a Value
)

func (k Kind) String() string {
	switch k {
	case KindObject:
		return "object"
	case KindInstance:
		return "object instance"
	case KindResource:
		return "single resource"
	case KindMultipleResource:
		return "multiple resource"
	case KindResourceInstance:
		return "resource instance"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Level returns the path level a node of kind k lives at.
func (k Kind) Level() Level {
	switch k {
	case KindObject:
		return LevelObject
	case KindInstance:
		return LevelInstance
	case KindResource, KindMultipleResource:
		return LevelResource
	case KindResourceInstance:
		return LevelResourceInstance
	}
	return LevelRoot
}

// Node is one node of the LwM2M data model: an object, an object instance,
// a single resource, a multiple resource or a resource instance. Value is
// set for single resources and resource instances; Children for the other
// kinds, kept in ascending id order with no duplicate (the constructors
// and Sort ensure it; Validate checks it).
//
// A Node is a plain value that codecs, clients, servers and plugins pass
// around; it holds no reference to a device or a definition.
type Node struct {
	Kind     Kind
	ID       uint16
	Value    Value
	Children []Node
}

// NewObject returns an object node with the given instances.
func NewObject(id uint16, instances ...Node) Node {
	return sorted(Node{Kind: KindObject, ID: id, Children: instances})
}

// NewInstance returns an object instance node with the given resources.
func NewInstance(id uint16, resources ...Node) Node {
	return sorted(Node{Kind: KindInstance, ID: id, Children: resources})
}

// NewResource returns a single resource holding v.
func NewResource(id uint16, v Value) Node {
	return Node{Kind: KindResource, ID: id, Value: v}
}

// NewMultipleResource returns a multiple resource with the given resource
// instances.
func NewMultipleResource(id uint16, instances ...Node) Node {
	return sorted(Node{Kind: KindMultipleResource, ID: id, Children: instances})
}

// NewResourceInstance returns a resource instance holding v.
func NewResourceInstance(id uint16, v Value) Node {
	return Node{Kind: KindResourceInstance, ID: id, Value: v}
}

// NewMultipleResourceOf returns a multiple resource whose instances are
// numbered 0, 1, 2... in the order of values.
func NewMultipleResourceOf(id uint16, values ...Value) Node {
	n := Node{Kind: KindMultipleResource, ID: id, Children: make([]Node, len(values))}
	for i, v := range values {
		n.Children[i] = NewResourceInstance(uint16(i), v)
	}
	return n
}

func sorted(n Node) Node {
	if !slices.IsSortedFunc(n.Children, cmpNodeID) {
		n.Children = slices.Clone(n.Children)
		slices.SortStableFunc(n.Children, cmpNodeID)
	}
	return n
}

func cmpNodeID(a, b Node) int { return int(a.ID) - int(b.ID) }

// Sort puts the children of n and of every descendant in ascending id
// order. Children with the same id keep their relative order (Validate
// reports them).
func (n *Node) Sort() {
	slices.SortStableFunc(n.Children, cmpNodeID)
	for i := range n.Children {
		n.Children[i].Sort()
	}
}

// HasValue reports whether n is a single resource or a resource instance.
func (n *Node) HasValue() bool {
	return n.Kind == KindResource || n.Kind == KindResourceInstance
}

// Child returns the child with the given id, or nil. Children must be in
// id order.
func (n *Node) Child(id uint16) *Node {
	lo, hi := 0, len(n.Children)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if n.Children[m].ID < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(n.Children) && n.Children[lo].ID == id {
		return &n.Children[lo]
	}
	return nil
}

// Find returns the descendant of n at the relative path rel (ids below n),
// or nil. Find of the root path returns n.
func (n *Node) Find(rel Path) *Node {
	cur := n
	for i := 0; i < rel.Len() && cur != nil; i++ {
		cur = cur.Child(rel.ID(i))
	}
	return cur
}

// Equal reports whether n and m are the same tree: same kinds, ids,
// values and children in the same order.
func (n *Node) Equal(m *Node) bool {
	if n.Kind != m.Kind || n.ID != m.ID || n.Value != m.Value || len(n.Children) != len(m.Children) {
		return false
	}
	for i := range n.Children {
		if !n.Children[i].Equal(&m.Children[i]) {
			return false
		}
	}
	return true
}

// Clone returns a deep copy of n.
func (n Node) Clone() Node {
	if n.Children != nil {
		c := make([]Node, len(n.Children))
		for i := range n.Children {
			c[i] = n.Children[i].Clone()
		}
		n.Children = c
	}
	return n
}

// childKind returns the kind children of a k node must have, and whether
// either resource kind is allowed.
func childKinds(k Kind) (Kind, Kind) {
	switch k {
	case KindObject:
		return KindInstance, KindInstance
	case KindInstance:
		return KindResource, KindMultipleResource
	case KindMultipleResource:
		return KindResourceInstance, KindResourceInstance
	}
	return 0, 0
}

// Validate checks that n is well formed: known kinds nested as the model
// nests them, ids no larger than MaxID, children in ascending id order
// without duplicates, values only where a kind holds one. A single
// resource or resource instance with TypeNone is allowed (an executable
// resource listed in a tree). The error names the offending node's path
// relative to n and is a 4.00 *Error.
func (n *Node) Validate() error {
	var at [5]uint16
	return n.validate(at[:0])
}

// validate checks n, whose ids from the top node down are at; the path
// text is built only when there is an error to report, so that a valid
// tree costs no allocation.
func (n *Node) validate(at []uint16) error {
	at = append(at, n.ID)
	if n.ID > MaxID {
		return Errorf(BadRequest, "node %s: id above 65534", relPath(at))
	}
	if n.Kind < KindObject || n.Kind > KindResourceInstance {
		return Errorf(BadRequest, "node %s: unknown kind %d", relPath(at), n.Kind)
	}
	if n.HasValue() {
		if len(n.Children) != 0 {
			return Errorf(BadRequest, "node %s: a %s has no children", relPath(at), n.Kind)
		}
		return nil
	}
	if !n.Value.IsNone() {
		return Errorf(BadRequest, "node %s: a %s holds no value", relPath(at), n.Kind)
	}
	if len(at) > 4 {
		return Errorf(BadRequest, "node %s: nested too deep", relPath(at))
	}
	k1, k2 := childKinds(n.Kind)
	for i := range n.Children {
		c := &n.Children[i]
		if c.Kind != k1 && c.Kind != k2 {
			return Errorf(BadRequest, "node %s/%d: a %s cannot hold a %s", relPath(at), c.ID, n.Kind, c.Kind)
		}
		if i > 0 && n.Children[i-1].ID >= c.ID {
			if n.Children[i-1].ID == c.ID {
				return Errorf(BadRequest, "node %s/%d: duplicate id", relPath(at), c.ID)
			}
			return Errorf(BadRequest, "node %s: children out of order", relPath(at))
		}
		if err := c.validate(at); err != nil {
			return err
		}
	}
	return nil
}

func relPath(ids []uint16) string {
	var b []byte
	for _, id := range ids {
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(id), 10)
	}
	return string(b)
}

// String formats n on one line for logs and test failures, such as
// `instance 0 {resource 1 = "x", resource 7 [0 = 1, 1 = 2]}`.
func (n Node) String() string {
	var b strings.Builder
	n.format(&b)
	return b.String()
}

func (n *Node) format(b *strings.Builder) {
	switch n.Kind {
	case KindResource:
		fmt.Fprintf(b, "resource %d = %s", n.ID, n.Value)
		return
	case KindResourceInstance:
		fmt.Fprintf(b, "%d = %s", n.ID, n.Value)
		return
	case KindMultipleResource:
		fmt.Fprintf(b, "resource %d [", n.ID)
	case KindObject:
		fmt.Fprintf(b, "object %d {", n.ID)
	case KindInstance:
		fmt.Fprintf(b, "instance %d {", n.ID)
	default:
		fmt.Fprintf(b, "%s %d {", n.Kind, n.ID)
	}
	for i := range n.Children {
		if i > 0 {
			b.WriteString(", ")
		}
		n.Children[i].format(b)
	}
	if n.Kind == KindMultipleResource {
		b.WriteByte(']')
	} else {
		b.WriteByte('}')
	}
}

// CheckAt reports whether n can be the node at path p: its level matches
// p's and its id is p's last id. The error is a 4.00 *Error.
func (n *Node) CheckAt(p Path) error {
	if p.IsRoot() {
		return Errorf(BadRequest, "no node lives at the root path")
	}
	if n.Kind.Level() != p.Level() {
		return Errorf(BadRequest, "a %s cannot be the node at %s", n.Kind, p)
	}
	if n.ID != p.Last() {
		return Errorf(BadRequest, "node id %d does not match path %s", n.ID, p)
	}
	return nil
}
