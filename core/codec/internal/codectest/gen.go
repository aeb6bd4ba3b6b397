package codectest

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// Gen makes random object definitions, values and nodes that fit them,
// reaching the edges every format has: every type, ids from 0 to
// model.MaxID, integers of every width and at both ends of their range,
// floats of every kind, text that needs escaping or spans the length
// fields of TLV and CBOR, and containers larger than a decoder keeps on
// its stack. Its fields say what the format under test cannot carry.
type Gen struct {
	R *rand.Rand
	// NonFinite lets Float values be NaN or infinite, which JSON cannot
	// carry.
	NonFinite bool
	// Empty lets instances and multiple resources be empty, which the
	// flat formats (OMA JSON, SenML) cannot carry below the node they
	// encode. Without it, instances and multiple resources hold at least
	// one value where their definition allows one.
	Empty bool
	// Large is how many more strings and opaque values longer than 64 KiB
	// Gen may make.
	Large int
}

// NewGen returns a Gen seeded with seed that makes neither non-finite
// floats, nor empty containers, nor values longer than 64 KiB.
func NewGen(seed uint64) *Gen {
	return &Gen{R: rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))}
}

// ID returns an id: mostly small, sometimes any, sometimes model.MaxID.
func (g *Gen) ID() uint16 {
	switch g.R.IntN(8) {
	case 0:
		return model.MaxID
	case 1:
		return uint16(g.R.IntN(model.MaxID + 1))
	}
	return uint16(g.R.IntN(40))
}

// IDs returns n distinct ids in ascending order.
func (g *Gen) IDs(n int) []uint16 {
	seen := map[uint16]bool{}
	var out []uint16
	for len(out) < n {
		if id := g.ID(); !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Count returns how many children a container gets: mostly below n,
// sometimes more than a decoder keeps on the goroutine stack.
func (g *Gen) Count(n int) int {
	if g.R.IntN(10) == 0 {
		return 10 + g.R.IntN(30)
	}
	return g.R.IntN(n)
}

// ObjectDef returns a definition of object id with random resources:
// every type among them, single and multiple, some executable, and
// sometimes none at all.
func (g *Gen) ObjectDef(id uint16) *model.ObjectDef {
	d := &model.ObjectDef{ID: id, Name: "random", Multiple: g.R.IntN(4) != 0}
	for _, rid := range g.IDs(g.Count(14)) {
		t := Types[g.R.IntN(len(Types))]
		if g.R.IntN(10) == 0 {
			t = model.TypeNone
		}
		d.Resources = append(d.Resources, Res(rid, "", t, t != model.TypeNone && g.R.IntN(5) < 2))
	}
	return d
}

// ObjectDefs returns the definitions of one to three objects with
// distinct ids.
func (g *Gen) ObjectDefs() []*model.ObjectDef {
	var out []*model.ObjectDef
	for _, id := range g.IDs(1 + g.R.IntN(3)) {
		out = append(out, g.ObjectDef(id))
	}
	return out
}

// length returns the length of a string or opaque value: mostly short,
// sometimes past the 8-bit and 16-bit length fields.
func (g *Gen) length() int {
	switch n := g.R.IntN(50); {
	case n == 0 && g.Large > 0:
		g.Large--
		return 65536 + g.R.IntN(5000)
	case n < 5:
		return 256 + g.R.IntN(1000)
	case n < 15:
		return 8 + g.R.IntN(248)
	}
	return g.R.IntN(8)
}

// pieces are the characters that need care in one format or another:
// JSON escapes, control characters, DEL, multi-byte UTF-8, the line
// separator JavaScript dislikes, HTML-sensitive characters and CoRE Link
// syntax.
var pieces = []rune("a\"\\/\n\r\t\b\f\x00\x01\x1f\x7f é€😀\u2028<>&;=,</3/0>")

// Text returns valid UTF-8: half the time a few characters that need
// care, else a run of random characters of every UTF-8 length.
func (g *Gen) Text() string {
	var b strings.Builder
	if g.R.IntN(2) == 0 {
		for n := g.R.IntN(12); n > 0; n-- {
			b.WriteRune(pieces[g.R.IntN(len(pieces))])
		}
		return b.String()
	}
	n := g.length()
	for b.Len() < n {
		switch g.R.IntN(10) {
		case 0:
			b.WriteRune(rune(0x80 + g.R.IntN(0x780))) // 2 bytes
		case 1:
			b.WriteRune(rune(0x800 + g.R.IntN(0xD000-0x800))) // 3 bytes
		case 2:
			b.WriteRune(rune(0x10000 + g.R.IntN(0x10FFFF-0x10000))) // 4 bytes
		default:
			b.WriteByte(byte(0x20 + g.R.IntN(0x5F)))
		}
	}
	return b.String()
}

// integer returns an int64 of any width: near both ends of the range,
// small, or of random magnitude.
func (g *Gen) integer() int64 {
	switch g.R.IntN(5) {
	case 0:
		return math.MinInt64 + g.R.Int64N(3)
	case 1:
		return math.MaxInt64 - g.R.Int64N(3)
	case 2:
		return g.R.Int64N(2000) - 1000
	}
	x := int64(g.R.Uint64() >> g.R.IntN(64))
	if g.R.IntN(2) == 0 {
		x = -x - 1
	}
	return x
}

// specialFloats are the floats at the edges of float64 and of the
// shorter encodings, and those whose text form is a corner case.
var specialFloats = []float64{0, math.Copysign(0, -1), 1, 0.1, 1e21, 1e-7, math.MaxFloat64,
	math.SmallestNonzeroFloat64, math.MaxFloat32, math.SmallestNonzeroFloat32, 65504}

// float returns a float of any kind: any bits of float64 or float32, an
// integer, a special value, a fraction, a number of any magnitude; NaN
// and infinities only with NonFinite.
func (g *Gen) float() float64 {
	for {
		var f float64
		switch g.R.IntN(8) {
		case 0:
			f = math.Float64frombits(g.R.Uint64())
		case 1:
			f = float64(math.Float32frombits(g.R.Uint32()))
		case 2:
			f = float64(g.R.IntN(2000) - 1000)
		case 3:
			f = specialFloats[g.R.IntN(len(specialFloats))]
		case 4:
			f = []float64{math.NaN(), math.Inf(1), math.Inf(-1)}[g.R.IntN(3)]
		case 5:
			f = float64(g.R.IntN(20000)-10000) / float64(1+g.R.IntN(100))
		default:
			f = g.R.NormFloat64() * math.Pow(10, float64(g.R.IntN(40)-20))
		}
		if g.NonFinite || !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f
		}
	}
}

// Value returns a random value of type t; the zero Value for
// model.TypeNone.
func (g *Gen) Value(t model.Type) model.Value {
	switch t {
	case model.TypeString:
		return model.String(g.Text())
	case model.TypeCorelnk:
		if g.R.IntN(2) == 0 {
			return model.Corelnk("</" + g.Text() + ">")
		}
		return model.Corelnk(g.Text())
	case model.TypeInteger:
		return model.Int(g.integer())
	case model.TypeUnsigned:
		switch g.R.IntN(4) {
		case 0:
			return model.Uint(math.MaxUint64 - g.R.Uint64N(3))
		case 1:
			return model.Uint(g.R.Uint64N(1000))
		case 2:
			return model.Uint(g.R.Uint64())
		}
		return model.Uint(g.R.Uint64() >> g.R.IntN(64))
	case model.TypeFloat:
		return model.Float(g.float())
	case model.TypeBoolean:
		return model.Bool(g.R.IntN(2) == 0)
	case model.TypeOpaque:
		b := make([]byte, g.length())
		for i := range b {
			b[i] = byte(g.R.Uint32())
		}
		return model.Opaque(b)
	case model.TypeTime:
		if g.R.IntN(2) == 0 {
			return model.UnixTime(g.R.Int64N(1<<40) - 1<<39)
		}
		return model.UnixTime(g.integer())
	case model.TypeObjlnk:
		return model.Objlnk(uint16(g.R.Uint32()), uint16(g.R.Uint32()))
	}
	return model.Value{}
}

// Resource returns a resource node for d with values of d's type; ok is
// false for an executable resource, which has no node.
func (g *Gen) Resource(d *model.ResourceDef) (n model.Node, ok bool) {
	if d.Type == model.TypeNone {
		return model.Node{}, false
	}
	if !d.Multiple {
		return model.NewResource(d.ID, g.Value(d.Type)), true
	}
	n = model.Node{Kind: model.KindMultipleResource, ID: d.ID}
	count := g.Count(6)
	if count == 0 && !g.Empty {
		count = 1
	}
	for _, id := range g.IDs(count) {
		n.Children = append(n.Children, model.NewResourceInstance(id, g.Value(d.Type)))
	}
	return n, true
}

// Instance returns instance id of d holding a random subset of d's
// resources that have values (at least one unless Empty).
func (g *Gen) Instance(d *model.ObjectDef, id uint16) model.Node {
	n := model.Node{Kind: model.KindInstance, ID: id}
	first := -1
	for i := range d.Resources {
		r := &d.Resources[i]
		if r.Type != model.TypeNone && first < 0 {
			first = i
		}
		if g.R.IntN(4) == 0 {
			continue
		}
		if c, ok := g.Resource(r); ok {
			n.Children = append(n.Children, c)
		}
	}
	if len(n.Children) == 0 && !g.Empty && first >= 0 {
		c, _ := g.Resource(&d.Resources[first])
		n.Children = append(n.Children, c)
	}
	return n
}

// Object returns an object node of d with random instances; without
// Empty, none when d has no resource with a value.
func (g *Gen) Object(d *model.ObjectDef) model.Node {
	n := model.Node{Kind: model.KindObject, ID: d.ID}
	if !g.Empty && !slices.ContainsFunc(d.Resources, func(r model.ResourceDef) bool { return r.Type != model.TypeNone }) {
		return n
	}
	for _, id := range g.IDs(g.Count(4)) {
		n.Children = append(n.Children, g.Instance(d, id))
	}
	return n
}

// Node returns a random node of one of defs' objects at a random level
// (object, instance, resource or resource instance) and its path.
func (g *Gen) Node(defs []*model.ObjectDef) (model.Path, model.Node) {
	d := defs[g.R.IntN(len(defs))]
	for {
		level := g.R.IntN(4)
		if len(d.Resources) == 0 && level >= 2 {
			continue
		}
		switch level {
		case 0:
			return model.ObjectPath(d.ID), g.Object(d)
		case 1:
			id := g.ID()
			return model.InstancePath(d.ID, id), g.Instance(d, id)
		case 2:
			r := &d.Resources[g.R.IntN(len(d.Resources))]
			if n, ok := g.Resource(r); ok {
				return model.ResourcePath(d.ID, g.ID(), r.ID), n
			}
		case 3:
			r := &d.Resources[g.R.IntN(len(d.Resources))]
			if r.Multiple {
				id := g.ID()
				return model.ResourceInstancePath(d.ID, g.ID(), r.ID, id), model.NewResourceInstance(id, g.Value(r.Type))
			}
		}
	}
}

// Time returns a record time: zero one time in three, else a time
// between 1970 and year 9999, whole seconds or not.
func (g *Gen) Time() time.Time {
	const maxUnix = 253402300799 // the last second of year 9999
	switch g.R.IntN(3) {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(1+g.R.Int64N(2e9), 0).UTC()
	}
	return time.Unix(g.R.Int64N(maxUnix), 1+g.R.Int64N(1e9-1)).UTC()
}
