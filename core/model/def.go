package model

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Version is an object or protocol version such as 1.1.
type Version struct {
	Major, Minor uint8
}

// Versions of the LwM2M enabler, for the lwm2m= registration parameter.
var (
	V1_0 = Version{1, 0}
	V1_1 = Version{1, 1}
	V1_2 = Version{1, 2}
)

// ParseVersion parses "major.minor" (each 0..255). "1" is read as 1.0.
func ParseVersion(s string) (Version, error) {
	maj, mnr, ok := strings.Cut(strings.TrimSpace(s), ".")
	if !ok {
		mnr = "0"
	}
	a, err1 := strconv.ParseUint(maj, 10, 8)
	b, err2 := strconv.ParseUint(mnr, 10, 8)
	if err1 != nil || err2 != nil || maj == "" || mnr == "" || maj[0] == '+' || mnr[0] == '+' {
		return Version{}, fmt.Errorf("version %q: want major.minor", s)
	}
	return Version{uint8(a), uint8(b)}, nil
}

// IsZero reports whether v is 0.0, which stands for "not given".
func (v Version) IsZero() bool { return v == Version{} }

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than w.
func (v Version) Compare(w Version) int {
	switch {
	case v.Major != w.Major:
		return cmpU8(v.Major, w.Major)
	default:
		return cmpU8(v.Minor, w.Minor)
	}
}

func cmpU8(a, b uint8) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (v Version) String() string {
	return strconv.Itoa(int(v.Major)) + "." + strconv.Itoa(int(v.Minor))
}

// Operations are what a resource allows: read, write, execute. An object
// definition's "RW" is OpRead|OpWrite; "" (no operation) is zero.
type Operations uint8

// The operation bits.
const (
	OpRead Operations = 1 << iota
	OpWrite
	OpExecute
)

// ParseOperations parses "R", "W", "RW", "E" or "" (as definition files
// write them; case and space are ignored).
func ParseOperations(s string) (Operations, error) {
	var o Operations
	for _, c := range strings.ToUpper(strings.TrimSpace(s)) {
		var bit Operations
		switch c {
		case 'R':
			bit = OpRead
		case 'W':
			bit = OpWrite
		case 'E':
			bit = OpExecute
		default:
			return 0, fmt.Errorf("operations %q: want R, W, RW, E or nothing", s)
		}
		if o&bit != 0 {
			return 0, fmt.Errorf("operations %q: %c given twice", s, c)
		}
		o |= bit
	}
	if o&OpExecute != 0 && o != OpExecute {
		return 0, fmt.Errorf("operations %q: E does not combine with R or W", s)
	}
	return o, nil
}

// Readable reports whether o includes read.
func (o Operations) Readable() bool { return o&OpRead != 0 }

// Writable reports whether o includes write.
func (o Operations) Writable() bool { return o&OpWrite != 0 }

// Executable reports whether o includes execute.
func (o Operations) Executable() bool { return o&OpExecute != 0 }

func (o Operations) String() string {
	var b []byte
	if o.Readable() {
		b = append(b, 'R')
	}
	if o.Writable() {
		b = append(b, 'W')
	}
	if o.Executable() {
		b = append(b, 'E')
	}
	return string(b)
}

// Range is the numeric range of a resource, parsed from the
// RangeEnumeration of its definition where that is a plain "min..max" or
// "min-max".
type Range struct {
	Min, Max float64
}

// ParseRange parses "min..max" or "min-max" with decimal bounds (either
// may be negative). ok is false for anything else: enumerations, lengths,
// prose and the empty string are kept only as text.
func ParseRange(s string) (r Range, ok bool) {
	s = strings.TrimSpace(s)
	lo, hi, found := strings.Cut(s, "..")
	if !found {
		// "min-max": the separator is a '-' that is not a sign.
		i := strings.IndexByte(s[min(1, len(s)):], '-')
		if i < 0 {
			return Range{}, false
		}
		i += min(1, len(s))
		lo, hi = s[:i], s[i+1:]
	}
	lo, hi = strings.TrimSpace(lo), strings.TrimSpace(hi)
	a, err1 := strconv.ParseFloat(lo, 64)
	b, err2 := strconv.ParseFloat(hi, 64)
	if err1 != nil || err2 != nil || !isDecimalFloat(lo) || !isDecimalFloat(hi) || math.IsInf(a, 0) || math.IsInf(b, 0) || a > b {
		return Range{}, false
	}
	return Range{a, b}, true
}

// Contains reports whether f lies within r, bounds included.
func (r Range) Contains(f float64) bool { return f >= r.Min && f <= r.Max }

// ResourceDef defines one resource of an object.
type ResourceDef struct {
	ID          uint16
	Name        string
	Operations  Operations
	Multiple    bool // multiple instances
	Mandatory   bool
	Type        Type
	RangeText   string // RangeEnumeration as written
	Range       Range  // parsed from RangeText when HasRange
	HasRange    bool
	Units       string
	Description string
}

// Check reports whether v may be written to this resource: its type is
// the resource's and a numeric value lies within the resource's range.
// The error is a 4.00 *Error.
func (r *ResourceDef) Check(v Value) error {
	if v.Type() != r.Type {
		return Errorf(BadRequest, "resource %d (%s) is %s, not %s", r.ID, r.Name, r.Type, v.Type())
	}
	if !r.HasRange {
		return nil
	}
	var f float64
	switch v.Type() {
	case TypeInteger:
		f = float64(v.Int())
	case TypeUnsigned:
		f = float64(v.Uint())
	case TypeFloat:
		f = v.Float()
	default:
		return nil
	}
	if !r.Range.Contains(f) {
		return Errorf(BadRequest, "resource %d (%s): %s is outside %s", r.ID, r.Name, FormatText(v), r.RangeText)
	}
	return nil
}

// ObjectDef defines an object: its id, version, cardinality and resources.
// An ObjectDef is immutable once added to a Registry; share it, never
// modify it.
type ObjectDef struct {
	ID           uint16
	Name         string
	Description  string
	URN          string
	Version      Version // ObjectVersion; 1.0 when the definition gives none
	LWM2MVersion Version // the enabler version the object was written for
	Multiple     bool    // multiple instances
	Mandatory    bool
	Resources    []ResourceDef // ascending id order
}

// Resource returns the definition of resource id, or nil.
func (o *ObjectDef) Resource(id uint16) *ResourceDef {
	// A hand-written search: slices.BinarySearchFunc would copy each
	// ResourceDef it compares.
	lo, hi := 0, len(o.Resources)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if o.Resources[m].ID < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(o.Resources) && o.Resources[lo].ID == id {
		return &o.Resources[lo]
	}
	return nil
}

// Validate checks that o is usable: ids within range, resources in
// ascending id order without duplicates, executables typed none and
// non-executables typed.
func (o *ObjectDef) Validate() error {
	if o.ID > MaxID {
		return fmt.Errorf("object %d: id above 65534", o.ID)
	}
	for i := range o.Resources {
		r := &o.Resources[i]
		if r.ID > MaxID {
			return fmt.Errorf("object %d resource %d: id above 65534", o.ID, r.ID)
		}
		if i > 0 && o.Resources[i-1].ID >= r.ID {
			return fmt.Errorf("object %d resource %d: duplicate or out of order", o.ID, r.ID)
		}
		if r.Operations.Executable() && r.Type != TypeNone {
			return fmt.Errorf("object %d resource %d: executable with type %s", o.ID, r.ID, r.Type)
		}
		if !r.Operations.Executable() && r.Type == TypeNone {
			return fmt.Errorf("object %d resource %d: not executable, so it needs a type", o.ID, r.ID)
		}
	}
	return nil
}

// Definitions gives codecs, clients and servers the object definitions in
// effect. Object returns nil for an object it does not know. Implementations
// are safe for concurrent use.
type Definitions interface {
	Object(id uint16) *ObjectDef
}

// ResourceDefAt returns the definition of the resource that path p
// addresses or is inside of (p at resource or resource instance level), or
// nil when defs is nil, p is shallower, or the object or resource is
// unknown.
func ResourceDefAt(defs Definitions, p Path) *ResourceDef {
	if defs == nil || p.Len() < 3 {
		return nil
	}
	o := defs.Object(p.ObjectID())
	if o == nil {
		return nil
	}
	return o.Resource(p.ResourceID())
}
