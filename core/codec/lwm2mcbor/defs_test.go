package lwm2mcbor

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

// deviceDef is the Device object (LwM2M 1.0 Appendix E.4), enough of it
// for the specification's examples.
var deviceDef = &model.ObjectDef{ID: 3, Name: "Device", Resources: []model.ResourceDef{
	{ID: 0, Name: "Manufacturer", Operations: model.OpRead, Type: model.TypeString},
	{ID: 1, Name: "Model Number", Operations: model.OpRead, Type: model.TypeString},
	{ID: 2, Name: "Serial Number", Operations: model.OpRead, Type: model.TypeString},
	{ID: 3, Name: "Firmware Version", Operations: model.OpRead, Type: model.TypeString},
	{ID: 4, Name: "Reboot", Operations: model.OpExecute},
	{ID: 5, Name: "Factory Reset", Operations: model.OpExecute},
	{ID: 6, Name: "Available Power Sources", Operations: model.OpRead, Multiple: true, Type: model.TypeInteger},
	{ID: 7, Name: "Power Source Voltage", Operations: model.OpRead, Multiple: true, Type: model.TypeInteger},
	{ID: 8, Name: "Power Source Current", Operations: model.OpRead, Multiple: true, Type: model.TypeInteger},
	{ID: 9, Name: "Battery Level", Operations: model.OpRead, Type: model.TypeInteger},
	{ID: 10, Name: "Memory Free", Operations: model.OpRead, Type: model.TypeInteger},
	{ID: 11, Name: "Error Code", Operations: model.OpRead, Multiple: true, Type: model.TypeInteger},
	{ID: 12, Name: "Reset Error Code", Operations: model.OpExecute},
	{ID: 13, Name: "Current Time", Operations: model.OpRead | model.OpWrite, Type: model.TypeTime},
	{ID: 14, Name: "UTC Offset", Operations: model.OpRead | model.OpWrite, Type: model.TypeString},
	{ID: 15, Name: "Timezone", Operations: model.OpRead | model.OpWrite, Type: model.TypeString},
	{ID: 16, Name: "Supported Binding and Modes", Operations: model.OpRead, Type: model.TypeString},
}}

// typesDef has one single and one multiple resource of every type: id t
// is single, id 10+t multiple, for t in String..Corelnk (1..9); 30 is
// executable.
var typesDef = func() *model.ObjectDef {
	d := &model.ObjectDef{ID: 1000, Name: "Types", Multiple: true}
	for t := model.TypeString; t <= model.TypeCorelnk; t++ {
		d.Resources = append(d.Resources, model.ResourceDef{ID: uint16(t), Type: t, Operations: model.OpRead | model.OpWrite})
	}
	for t := model.TypeString; t <= model.TypeCorelnk; t++ {
		d.Resources = append(d.Resources, model.ResourceDef{ID: 10 + uint16(t), Type: t, Multiple: true, Operations: model.OpRead | model.OpWrite})
	}
	d.Resources = append(d.Resources, model.ResourceDef{ID: 30, Operations: model.OpExecute})
	return d
}()

func testDefs(t testing.TB) *model.Registry {
	t.Helper()
	r, err := model.NewRegistry(deviceDef, typesDef)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// deviceInstance is /3/0 of the LwM2M 1.0 section 6.4.4 example.
func deviceInstance() model.Node {
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

// gen makes random definitions and nodes that fit them.
type gen struct {
	r *rand.Rand
}

func (g gen) id(max int) uint16 {
	switch g.r.IntN(4) {
	case 0:
		return uint16(g.r.IntN(max + 1))
	case 1:
		return model.MaxID - uint16(g.r.IntN(3))
	}
	return uint16(g.r.IntN(10))
}

// object returns a random object definition with id.
func (g gen) object(id uint16) *model.ObjectDef {
	d := &model.ObjectDef{ID: id, Multiple: true}
	n := g.r.IntN(8)
	next := uint16(g.r.IntN(3))
	for i := 0; i < n && next <= model.MaxID; i++ {
		rd := model.ResourceDef{ID: next, Multiple: g.r.IntN(2) == 0, Operations: model.OpRead | model.OpWrite}
		if g.r.IntN(8) == 0 {
			rd.Operations, rd.Multiple = model.OpExecute, false
		} else {
			rd.Type = model.Type(1 + g.r.IntN(int(model.TypeCorelnk)))
		}
		d.Resources = append(d.Resources, rd)
		next += 1 + uint16(g.r.IntN(4000))
		if next < rd.ID {
			break
		}
	}
	return d
}

func (g gen) str() string {
	const pieces = "a\"\\/\n\r\t\b\f\x00\x01\x1f\x7f é€😀\u2028<>&"
	rs := []rune(pieces)
	var b strings.Builder
	for n := g.r.IntN(12); n > 0; n-- {
		b.WriteRune(rs[g.r.IntN(len(rs))])
	}
	return b.String()
}

// value returns a random value of type t.
func (g gen) value(t model.Type) model.Value {
	switch t {
	case model.TypeString:
		return model.String(g.str())
	case model.TypeCorelnk:
		return model.Corelnk("</" + g.str() + ">")
	case model.TypeInteger:
		switch g.r.IntN(3) {
		case 0:
			return model.Int(math.MinInt64 + g.r.Int64N(3))
		case 1:
			return model.Int(math.MaxInt64 - g.r.Int64N(3))
		}
		return model.Int(g.r.Int64N(2000) - 1000)
	case model.TypeUnsigned:
		if g.r.IntN(2) == 0 {
			return model.Uint(math.MaxUint64 - g.r.Uint64N(3))
		}
		return model.Uint(g.r.Uint64())
	case model.TypeFloat:
		for {
			var f float64
			switch g.r.IntN(4) {
			case 0:
				f = math.Float64frombits(g.r.Uint64())
			case 1:
				f = float64(g.r.IntN(2000) - 1000)
			case 2:
				f = math.Copysign(0, -1)
			default:
				f = g.r.NormFloat64() * math.Pow(10, float64(g.r.IntN(40)-20))
			}
			if !math.IsNaN(f) && !math.IsInf(f, 0) {
				return model.Float(f)
			}
		}
	case model.TypeBoolean:
		return model.Bool(g.r.IntN(2) == 0)
	case model.TypeOpaque:
		b := make([]byte, g.r.IntN(10))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return model.Opaque(b)
	case model.TypeTime:
		return model.UnixTime(g.r.Int64N(1<<40) - 1<<39)
	case model.TypeObjlnk:
		return model.Objlnk(uint16(g.r.IntN(65536)), uint16(g.r.IntN(65536)))
	}
	return model.Value{}
}

// instance returns a random instance of d; LwM2M CBOR carries empty
// instances and empty multiple resources, so there are some.
func (g gen) instance(d *model.ObjectDef, id uint16) model.Node {
	n := model.Node{Kind: model.KindInstance, ID: id}
	for _, rd := range d.Resources {
		if g.r.IntN(4) == 0 || rd.Operations.Executable() {
			continue
		}
		if rd.Multiple {
			m := model.Node{Kind: model.KindMultipleResource, ID: rd.ID}
			var ri uint16
			for k := g.r.IntN(4); k > 0; k-- {
				ri += uint16(g.r.IntN(3))
				m.Children = append(m.Children, model.NewResourceInstance(ri, g.value(rd.Type)))
				ri++
			}
			n.Children = append(n.Children, m)
			continue
		}
		n.Children = append(n.Children, model.NewResource(rd.ID, g.value(rd.Type)))
	}
	return n
}

// object returns a random object node of d.
func (g gen) objectNode(d *model.ObjectDef) model.Node {
	o := model.Node{Kind: model.KindObject, ID: d.ID}
	var id uint16
	for k := g.r.IntN(3); k > 0; k-- {
		id += uint16(g.r.IntN(100))
		o.Children = append(o.Children, g.instance(d, id))
		id++
	}
	return o
}
