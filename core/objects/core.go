package objects

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/wasm2m/wasm2m/core/model"
)

// Core returns the built-in definitions, ordered by id then version:
//
//	0 LWM2M Security           1.0 1.1 1.2
//	1 LwM2M Server             1.0 1.1
//	2 LwM2M Access Control     1.0 1.1
//	3 Device                   1.0 1.1 1.2
//	4 Connectivity Monitoring  1.0 1.1 1.2 1.3
//	5 Firmware Update          1.0 1.1
//	6 Location                 1.0
//	7 Connectivity Statistics  1.0
//	3303 Temperature           1.0 1.1
//	3311 Light Control         1.0
//
// The slice is fresh on every call and the caller may change it; the
// definitions it points to are shared by every caller and by every
// registry NewRegistry builds, so they are immutable, as model.ObjectDef
// requires once registered: never modify one, copy it instead.
//
// The tables agree with the published definition files on names, ids,
// operations, cardinality, mandatory flags and types; units and ranges are
// given where a client or server can use them, and descriptions are short
// phrases of our own.
func Core() []*model.ObjectDef { return slices.Clone(core) }

// NewRegistry returns a model.Registry holding Core() and the given extra
// definitions. An extra definition with the id and version of a built-in
// one replaces it; it fails, adding nothing, when an extra definition is
// nil or invalid.
func NewRegistry(extra ...*model.ObjectDef) (*model.Registry, error) {
	defs := make([]*model.ObjectDef, 0, len(core)+len(extra))
	defs = append(append(defs, core...), extra...)
	return model.NewRegistry(defs...)
}

// res is one line of a built-in table.
type res struct {
	id    uint16
	name  string
	ops   model.Operations
	multi bool // multiple instances
	mand  bool // mandatory
	typ   model.Type
	units string
	rng   string // RangeEnumeration as text; parsed for numeric types
}

// Short names that keep each table line readable.
const (
	single    = false
	multiple  = true
	optional  = false
	mandatory = true

	op0  model.Operations = 0 // no operation: the resource is for bootstrap only
	opR                   = model.OpRead
	opW                   = model.OpWrite
	opRW                  = model.OpRead | model.OpWrite
	opE                   = model.OpExecute

	tNone    = model.TypeNone
	tString  = model.TypeString
	tInt     = model.TypeInteger
	tUint    = model.TypeUnsigned
	tFloat   = model.TypeFloat
	tBool    = model.TypeBoolean
	tOpaque  = model.TypeOpaque
	tTime    = model.TypeTime
	tObjlnk  = model.TypeObjlnk
	tCorelnk = model.TypeCorelnk
)

var (
	v1_0 = model.V1_0
	v1_1 = model.V1_1
	v1_2 = model.V1_2
	v1_3 = model.Version{Major: 1, Minor: 3}
)

// obj is the header of a built-in object.
type obj struct {
	id    uint16
	name  string
	multi bool
	mand  bool
	desc  string
}

// define builds version ver of o, written for LwM2M lwm2m. It panics on
// an invalid table, which only package initialization calls it with.
func define(o obj, ver, lwm2m model.Version, rs ...res) *model.ObjectDef {
	d := &model.ObjectDef{
		ID:           o.id,
		Name:         o.name,
		Description:  o.desc,
		URN:          urn(o.id, ver),
		Version:      ver,
		LWM2MVersion: lwm2m,
		Multiple:     o.multi,
		Mandatory:    o.mand,
		Resources:    make([]model.ResourceDef, 0, len(rs)),
	}
	for _, r := range rs {
		d.Resources = append(d.Resources, r.def())
	}
	return checked(d)
}

// revise builds version ver of base's object: base's resources with
// changes applied, a change replacing the resource with its id or adding
// a new one. base is not modified.
func revise(base *model.ObjectDef, ver, lwm2m model.Version, changes ...res) *model.ObjectDef {
	d := *base
	d.URN = urn(d.ID, ver)
	d.Version = ver
	d.LWM2MVersion = lwm2m
	d.Resources = slices.Clone(base.Resources)
	for _, c := range changes {
		i := slices.IndexFunc(d.Resources, func(r model.ResourceDef) bool { return r.ID == c.id })
		if i >= 0 {
			d.Resources[i] = c.def()
		} else {
			d.Resources = append(d.Resources, c.def())
		}
	}
	return checked(&d)
}

func checked(d *model.ObjectDef) *model.ObjectDef {
	slices.SortFunc(d.Resources, func(a, b model.ResourceDef) int { return cmp.Compare(a.ID, b.ID) })
	if err := d.Validate(); err != nil {
		panic("objects: built-in definition: " + err.Error())
	}
	return d
}

func (r res) def() model.ResourceDef {
	d := model.ResourceDef{
		ID:         r.id,
		Name:       r.name,
		Operations: r.ops,
		Multiple:   r.multi,
		Mandatory:  r.mand,
		Type:       r.typ,
		RangeText:  r.rng,
		Units:      r.units,
	}
	switch r.typ {
	case tInt, tUint, tFloat:
		d.Range, d.HasRange = model.ParseRange(r.rng)
	}
	return d
}

// urn returns the object URN in the OMNA registry's form: OMA objects
// (0-1023) are urn:oma:lwm2m:oma:<id>, the others this package defines
// are urn:oma:lwm2m:ext:<id>, and a version other than 1.0 is appended.
func urn(id uint16, ver model.Version) string {
	s := "urn:oma:lwm2m:oma:"
	if id >= 1024 {
		s = "urn:oma:lwm2m:ext:"
	}
	s += strconv.Itoa(int(id))
	if ver != v1_0 {
		s += ":" + ver.String()
	}
	return s
}
