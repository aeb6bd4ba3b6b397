package model

import (
	"errors"
	"strconv"
)

// MaxID is the largest object, instance, resource or resource instance id.
// 65535 (MAX_ID) is reserved by the specification (Core 1.1 section 7.3,
// Table: LwM2M Identifiers) and never identifies anything.
const MaxID = 65534

// NoID is the reserved MAX_ID, used where an id is absent (a Create that
// leaves the instance id to the client, for example).
const NoID = 65535

// Level is the depth of a path: how many ids it has.
type Level uint8

// The levels of the LwM2M data model.
const (
	LevelRoot             Level = 0
	LevelObject           Level = 1
	LevelInstance         Level = 2
	LevelResource         Level = 3
	LevelResourceInstance Level = 4
)

func (l Level) String() string {
	switch l {
	case LevelRoot:
		return "root"
	case LevelObject:
		return "object"
	case LevelInstance:
		return "object instance"
	case LevelResource:
		return "resource"
	case LevelResourceInstance:
		return "resource instance"
	}
	return "level(" + strconv.Itoa(int(l)) + ")"
}

// Path addresses a node: "/" (root), "/3" (object), "/3/0" (object
// instance), "/3/0/6" (resource) or "/3/0/6/1" (resource instance).
//
// A Path is a small comparable value: use it as a map key, compare it with
// ==, copy it freely. The zero Path is the root.
type Path struct {
	ids [4]uint16
	n   uint8
}

// ErrInvalidPath is wrapped by every error that ParsePath returns.
var ErrInvalidPath = errors.New("invalid path")

// RootPath returns "/".
func RootPath() Path { return Path{} }

// ObjectPath returns /o.
func ObjectPath(o uint16) Path { return Path{ids: [4]uint16{o}, n: 1} }

// InstancePath returns /o/i.
func InstancePath(o, i uint16) Path { return Path{ids: [4]uint16{o, i}, n: 2} }

// ResourcePath returns /o/i/r.
func ResourcePath(o, i, r uint16) Path { return Path{ids: [4]uint16{o, i, r}, n: 3} }

// ResourceInstancePath returns /o/i/r/ri.
func ResourceInstancePath(o, i, r, ri uint16) Path {
	return Path{ids: [4]uint16{o, i, r, ri}, n: 4}
}

// NewPath returns the path made of ids, root for none. It fails for more
// than four ids or an id above MaxID.
func NewPath(ids ...uint16) (Path, error) {
	var p Path
	if len(ids) > 4 {
		return p, pathError("", "more than 4 ids")
	}
	for _, id := range ids {
		if id > MaxID {
			return p, pathError("", "id "+strconv.Itoa(int(id))+" is above 65534")
		}
		p.ids[p.n] = id
		p.n++
	}
	return p, nil
}

// MustPath is ParsePath that panics on error; for constants and tests.
func MustPath(s string) Path {
	p, err := ParsePath(s)
	if err != nil {
		panic(err)
	}
	return p
}

func pathError(s, why string) error {
	if s == "" {
		return &Error{Code: BadRequest, Msg: "invalid path: " + why, Err: ErrInvalidPath}
	}
	return &Error{Code: BadRequest, Msg: "invalid path " + strconv.Quote(s) + ": " + why, Err: ErrInvalidPath}
}

// ParsePath parses a path in the form the specification writes it: "/",
// "/3", "/3/0", "/3/0/6", "/3/0/6/1". A single trailing slash is allowed
// ("/3/0/", as SenML base names write it). It rejects empty segments, more
// than four ids, ids above 65534, signs, spaces and anything that is not a
// decimal digit. The error is a 4.00 *Error wrapping ErrInvalidPath.
func ParsePath(s string) (Path, error) {
	var p Path
	if s == "" {
		return p, pathError(s, "empty")
	}
	if s[0] != '/' {
		return p, pathError(s, "must start with /")
	}
	rest := s[1:]
	if rest == "" {
		return p, nil
	}
	if rest[len(rest)-1] == '/' {
		rest = rest[:len(rest)-1]
		if rest == "" {
			return p, pathError(s, "empty segment")
		}
	}
	for {
		seg := rest
		next := ""
		for j := 0; j < len(rest); j++ {
			if rest[j] == '/' {
				seg, next = rest[:j], rest[j+1:]
				break
			}
		}
		if seg == "" {
			return p, pathError(s, "empty segment")
		}
		if p.n == 4 {
			return p, pathError(s, "more than 4 ids")
		}
		id, err := parseID(seg)
		if err != nil {
			return p, pathError(s, err.Error())
		}
		p.ids[p.n] = id
		p.n++
		if len(seg) == len(rest) {
			return p, nil
		}
		rest = next
		if rest == "" {
			return p, pathError(s, "empty segment")
		}
	}
}

// parseID parses one decimal id, 0 to 65534. Leading zeros are refused
// ("01"), so that every id has one spelling.
func parseID(seg string) (uint16, error) {
	if len(seg) > 1 && seg[0] == '0' {
		return 0, errors.New("id " + strconv.Quote(seg) + " has a leading zero")
	}
	if len(seg) > 5 {
		return 0, errors.New("id " + strconv.Quote(seg) + " is above 65534")
	}
	v := 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c < '0' || c > '9' {
			return 0, errors.New("id " + strconv.Quote(seg) + " is not a decimal number")
		}
		v = v*10 + int(c-'0')
	}
	if v > MaxID {
		return 0, errors.New("id " + strconv.Quote(seg) + " is above 65534")
	}
	return uint16(v), nil
}

// ParseID parses one decimal id (0 to 65534), as found in a path segment
// or a relative SenML name.
func ParseID(s string) (uint16, error) {
	if s == "" {
		return 0, &Error{Code: BadRequest, Msg: "empty id", Err: ErrInvalidPath}
	}
	id, err := parseID(s)
	if err != nil {
		return 0, &Error{Code: BadRequest, Msg: err.Error(), Err: ErrInvalidPath}
	}
	return id, nil
}

// Level returns how many ids p has: 0 for root to 4 for a resource instance.
func (p Path) Level() Level { return Level(p.n) }

// Len returns the number of ids in p.
func (p Path) Len() int { return int(p.n) }

// ID returns the id at position i (0 = object), which must be below Len.
func (p Path) ID(i int) uint16 {
	if i >= int(p.n) {
		panic("model: path id index out of range")
	}
	return p.ids[i]
}

// IDs returns p's ids as a new slice.
func (p Path) IDs() []uint16 { return append([]uint16(nil), p.ids[:p.n]...) }

// IsRoot reports whether p is "/".
func (p Path) IsRoot() bool { return p.n == 0 }

// IsObject reports whether p addresses an object.
func (p Path) IsObject() bool { return p.n == 1 }

// IsInstance reports whether p addresses an object instance.
func (p Path) IsInstance() bool { return p.n == 2 }

// IsResource reports whether p addresses a resource.
func (p Path) IsResource() bool { return p.n == 3 }

// IsResourceInstance reports whether p addresses a resource instance.
func (p Path) IsResourceInstance() bool { return p.n == 4 }

// ObjectID returns the object id; p must not be root.
func (p Path) ObjectID() uint16 { return p.ID(0) }

// InstanceID returns the object instance id; p must be an instance or deeper.
func (p Path) InstanceID() uint16 { return p.ID(1) }

// ResourceID returns the resource id; p must be a resource or deeper.
func (p Path) ResourceID() uint16 { return p.ID(2) }

// ResourceInstanceID returns the resource instance id of a resource
// instance path.
func (p Path) ResourceInstanceID() uint16 { return p.ID(3) }

// Last returns the last id of p; p must not be root.
func (p Path) Last() uint16 { return p.ID(int(p.n) - 1) }

// Parent returns p without its last id; the parent of root is root.
func (p Path) Parent() Path {
	if p.n == 0 {
		return p
	}
	p.n--
	p.ids[p.n] = 0
	return p
}

// Truncate returns the first n ids of p (n may not exceed Len).
func (p Path) Truncate(n int) Path {
	if n >= int(p.n) {
		return p
	}
	for i := n; i < int(p.n); i++ {
		p.ids[i] = 0
	}
	p.n = uint8(n)
	return p
}

// Child returns p with id appended. It fails when p is already a resource
// instance or id is above MaxID.
func (p Path) Child(id uint16) (Path, error) {
	if p.n == 4 {
		return p, pathError(p.String(), "a resource instance has no children")
	}
	if id > MaxID {
		return p, pathError(p.String(), "child id "+strconv.Itoa(int(id))+" is above 65534")
	}
	p.ids[p.n] = id
	p.n++
	return p, nil
}

// MustChild is Child that panics on error. Callers use it where id comes
// from a node already checked.
func (p Path) MustChild(id uint16) Path {
	c, err := p.Child(id)
	if err != nil {
		panic(err)
	}
	return c
}

// HasPrefix reports whether q is p or an ancestor of p: /3/0/1 has the
// prefixes /, /3, /3/0 and /3/0/1.
func (p Path) HasPrefix(q Path) bool {
	if q.n > p.n {
		return false
	}
	for i := 0; i < int(q.n); i++ {
		if p.ids[i] != q.ids[i] {
			return false
		}
	}
	return true
}

// Overlaps reports whether one of p and q is a prefix of the other.
func (p Path) Overlaps(q Path) bool { return p.HasPrefix(q) || q.HasPrefix(p) }

// Compare orders paths depth-first: a parent sorts before its children and
// siblings sort by id. It returns -1, 0 or +1.
func (p Path) Compare(q Path) int {
	n := min(p.n, q.n)
	for i := 0; i < int(n); i++ {
		switch {
		case p.ids[i] < q.ids[i]:
			return -1
		case p.ids[i] > q.ids[i]:
			return 1
		}
	}
	switch {
	case p.n < q.n:
		return -1
	case p.n > q.n:
		return 1
	}
	return 0
}

// AppendText appends the text form of p to b.
func (p Path) AppendText(b []byte) ([]byte, error) { return p.appendTo(b), nil }

func (p Path) appendTo(b []byte) []byte {
	if p.n == 0 {
		return append(b, '/')
	}
	for i := 0; i < int(p.n); i++ {
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(p.ids[i]), 10)
	}
	return b
}

// String returns p as "/3/0/6/1", or "/" for root.
func (p Path) String() string {
	var buf [24]byte
	return string(p.appendTo(buf[:0]))
}

// MarshalText implements encoding.TextMarshaler.
func (p Path) MarshalText() ([]byte, error) { return p.appendTo(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParsePath.
func (p *Path) UnmarshalText(b []byte) error {
	q, err := ParsePath(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}
