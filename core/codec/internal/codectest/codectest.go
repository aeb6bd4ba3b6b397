// Package codectest holds what the tests of the content-format codecs
// share: the Device object and instance of the specification's examples,
// objects with a resource of every type, a generator of random
// definitions, values and nodes, and the checks and benchmarks every node
// codec runs. It is imported only by _test.go files of the packages under
// core/codec.
//
// It depends on the standard library and core/model only: it must not
// import a codec, so that every codec's tests can import it.
package codectest

import (
	"slices"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

// Types are the value types, String to Corelnk, in the order of
// model.Type.
var Types = []model.Type{
	model.TypeString, model.TypeInteger, model.TypeUnsigned, model.TypeFloat, model.TypeBoolean,
	model.TypeOpaque, model.TypeTime, model.TypeObjlnk, model.TypeCorelnk,
}

// Res returns a resource definition, readable and writable, or
// executable when typ is model.TypeNone.
func Res(id uint16, name string, typ model.Type, multiple bool) model.ResourceDef {
	ops := model.OpRead | model.OpWrite
	if typ == model.TypeNone {
		ops = model.OpExecute
	}
	return model.ResourceDef{ID: id, Name: name, Type: typ, Multiple: multiple, Operations: ops}
}

// DeviceDef returns the Device object (3) as LwM2M 1.0 Appendix E.4
// defines it: resources 0 to 16.
func DeviceDef() *model.ObjectDef {
	r, rw, e := model.OpRead, model.OpRead|model.OpWrite, model.OpExecute
	str, integer, tm := model.TypeString, model.TypeInteger, model.TypeTime
	return &model.ObjectDef{ID: 3, Name: "Device", Resources: []model.ResourceDef{
		{ID: 0, Name: "Manufacturer", Operations: r, Type: str},
		{ID: 1, Name: "Model Number", Operations: r, Type: str},
		{ID: 2, Name: "Serial Number", Operations: r, Type: str},
		{ID: 3, Name: "Firmware Version", Operations: r, Type: str},
		{ID: 4, Name: "Reboot", Operations: e},
		{ID: 5, Name: "Factory Reset", Operations: e},
		{ID: 6, Name: "Available Power Sources", Operations: r, Multiple: true, Type: integer},
		{ID: 7, Name: "Power Source Voltage", Operations: r, Multiple: true, Type: integer},
		{ID: 8, Name: "Power Source Current", Operations: r, Multiple: true, Type: integer},
		{ID: 9, Name: "Battery Level", Operations: r, Type: integer},
		{ID: 10, Name: "Memory Free", Operations: r, Type: integer},
		{ID: 11, Name: "Error Code", Operations: r, Multiple: true, Type: integer},
		{ID: 12, Name: "Reset Error Code", Operations: e},
		{ID: 13, Name: "Current Time", Operations: rw, Type: tm},
		{ID: 14, Name: "UTC Offset", Operations: rw, Type: str},
		{ID: 15, Name: "Timezone", Operations: rw, Type: str},
		{ID: 16, Name: "Supported Binding and Modes", Operations: r, Type: str},
	}}
}

// DeviceInstance returns /3/0 of the specification's examples (LwM2M 1.0
// section 6.4.4, Core 1.1 sections 7.4.3 and Table 7.4.4-2).
func DeviceInstance() model.Node {
	return model.NewInstance(0,
		model.NewResource(0, model.String("Open Mobile Alliance")),
		model.NewResource(1, model.String("Lightweight M2M Client")),
		model.NewResource(2, model.String("345000123")),
		model.NewResource(3, model.String("1.0")),
		model.NewMultipleResourceOf(6, model.Int(1), model.Int(5)),
		model.NewMultipleResourceOf(7, model.Int(3800), model.Int(5000)),
		model.NewMultipleResourceOf(8, model.Int(125), model.Int(900)),
		model.NewResource(9, model.Int(100)),
		model.NewResource(10, model.Int(15)),
		model.NewMultipleResourceOf(11, model.Int(0)),
		model.NewResource(13, model.UnixTime(1367491215)),
		model.NewResource(14, model.String("+02:00")),
		model.NewResource(16, model.String("U")),
	)
}

// ObjlnkDefs returns objects 65, 66 and 67 of the Objlnk examples (LwM2M
// 1.0 section 6.4.4 writes them A, B and C; Core 1.1 Table 7.4.4-4).
func ObjlnkDefs() []*model.ObjectDef {
	s, i, l := model.TypeString, model.TypeInteger, model.TypeObjlnk
	return []*model.ObjectDef{
		{ID: 65, Name: "Example 65", Multiple: true, Resources: []model.ResourceDef{
			Res(0, "Links", l, true), Res(1, "Number", s, false), Res(2, "Count", i, false),
		}},
		{ID: 66, Name: "Example 66", Multiple: true, Resources: []model.ResourceDef{
			Res(0, "Name", s, false), Res(1, "Address", s, false), Res(2, "Link", l, false),
		}},
		{ID: 67, Name: "Example 67", Multiple: true, Resources: []model.ResourceDef{
			Res(0, "IP", s, false), Res(1, "Mask", s, false),
		}},
	}
}

// TypesDef returns object id, with multiple instances, holding for every
// type in Types one single and one multiple resource, readable and
// writable, at the ids at gives, and the executable resource exec.
// Resources are in id order.
func TypesDef(id uint16, at func(t model.Type, multiple bool) uint16, exec uint16) *model.ObjectDef {
	d := &model.ObjectDef{ID: id, Name: "Types", Multiple: true}
	for _, t := range Types {
		d.Resources = append(d.Resources,
			Res(at(t, false), t.String(), t, false),
			Res(at(t, true), t.String()+"s", t, true))
	}
	d.Resources = append(d.Resources, Res(exec, "Run", model.TypeNone, false))
	slices.SortFunc(d.Resources, func(a, b model.ResourceDef) int { return int(a.ID) - int(b.ID) })
	return d
}

// ByNumber is a layout for TypesDef: the single resource of type t has
// id t (1 to 9), the multiple one 10+t.
func ByNumber(t model.Type, multiple bool) uint16 {
	if multiple {
		return 10 + uint16(t)
	}
	return uint16(t)
}

// Registry returns a registry of defs, failing tb on error.
func Registry(tb testing.TB, defs ...*model.ObjectDef) *model.Registry {
	tb.Helper()
	r, err := model.NewRegistry(defs...)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}
