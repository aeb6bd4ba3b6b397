package senml

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// gen makes random definitions, nodes and records for the round-trip
// property tests.
type gen struct {
	rng  *rand.Rand
	cbor bool // values only SenML CBOR carries (NaN, infinities) allowed
}

var valueTypes = []model.Type{model.TypeString, model.TypeInteger, model.TypeUnsigned, model.TypeFloat,
	model.TypeBoolean, model.TypeOpaque, model.TypeTime, model.TypeObjlnk, model.TypeCorelnk}

// selfDescribing are the types that survive SenML without definitions.
var selfDescribing = []model.Type{model.TypeString, model.TypeInteger, model.TypeFloat,
	model.TypeBoolean, model.TypeOpaque, model.TypeObjlnk}

// id returns an id, often small, sometimes the largest.
func (g *gen) id() uint16 {
	switch g.rng.IntN(8) {
	case 0:
		return model.MaxID
	case 1:
		return uint16(g.rng.IntN(model.MaxID + 1))
	}
	return uint16(g.rng.IntN(20))
}

// ids returns n distinct ids in ascending order.
func (g *gen) ids(n int) []uint16 {
	seen := map[uint16]bool{}
	var out []uint16
	for len(out) < n {
		if id := g.id(); !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (g *gen) defs() []*model.ObjectDef {
	var out []*model.ObjectDef
	for _, oid := range g.ids(1 + g.rng.IntN(3)) {
		o := &model.ObjectDef{ID: oid, Name: "random", Multiple: true}
		for _, rid := range g.ids(1 + g.rng.IntN(8)) {
			typ := valueTypes[g.rng.IntN(len(valueTypes))]
			ops := model.OpRead | model.OpWrite
			if g.rng.IntN(10) == 0 {
				typ, ops = model.TypeNone, model.OpExecute
			}
			o.Resources = append(o.Resources, model.ResourceDef{ID: rid, Type: typ, Operations: ops,
				Multiple: typ != model.TypeNone && g.rng.IntN(2) == 0})
		}
		out = append(out, o)
	}
	return out
}

func (g *gen) text() string {
	const pieces = "a\"\\/\n\t\x00\x1f é😀</3/0>;ct=110,"
	var b strings.Builder
	for n := g.rng.IntN(12); n > 0; n-- {
		// Whole runes: cut pieces at rune starts only.
		s := []rune(pieces)
		b.WriteRune(s[g.rng.IntN(len(s))])
	}
	return b.String()
}

func (g *gen) value(t model.Type) model.Value {
	r := g.rng
	switch t {
	case model.TypeString:
		return model.String(g.text())
	case model.TypeCorelnk:
		return model.Corelnk(g.text())
	case model.TypeInteger:
		switch r.IntN(4) {
		case 0:
			return model.Int(int64(r.Uint64()))
		case 1:
			return model.Int([]int64{math.MinInt64, math.MaxInt64, -1, 0}[r.IntN(4)])
		}
		return model.Int(r.Int64N(2000) - 1000)
	case model.TypeUnsigned:
		if r.IntN(2) == 0 {
			return model.Uint(r.Uint64())
		}
		return model.Uint(uint64(r.IntN(1000)))
	case model.TypeFloat:
		switch r.IntN(6) {
		case 0:
			f := math.Float64frombits(r.Uint64())
			if math.IsNaN(f) {
				f = math.NaN() // NaN payloads do not survive: SenML CBOR writes one NaN
			}
			return model.Float(f)
		case 1:
			special := []float64{0, math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64, 1e21, 1e-7, 0.1, 1}
			return model.Float(special[r.IntN(len(special))])
		case 2:
			if g.cbor {
				return model.Float([]float64{math.NaN(), math.Inf(1), math.Inf(-1)}[r.IntN(3)])
			}
		}
		f := float64(r.IntN(20000)-10000) / float64(1+r.IntN(100))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			f = 0
		}
		return model.Float(f)
	case model.TypeBoolean:
		return model.Bool(r.IntN(2) == 0)
	case model.TypeOpaque:
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return model.Opaque(b)
	case model.TypeTime:
		return model.UnixTime(r.Int64N(1<<40) - 1<<39)
	case model.TypeObjlnk:
		return model.Objlnk(uint16(r.Uint32()), uint16(r.Uint32()))
	}
	return model.Value{}
}

// finite replaces NaN and infinite floats, which JSON cannot carry.
func (g *gen) finite(v model.Value) model.Value {
	if v.Type() == model.TypeFloat && !g.cbor && (math.IsNaN(v.Float()) || math.IsInf(v.Float(), 0)) {
		return model.Float(1.5)
	}
	return v
}

// resource makes resource r of an instance, nil for an executable.
func (g *gen) resource(r *model.ResourceDef) *model.Node {
	if r.Type == model.TypeNone {
		return nil
	}
	if !r.Multiple {
		n := model.NewResource(r.ID, g.finite(g.value(r.Type)))
		return &n
	}
	var ris []model.Node
	for _, id := range g.ids(g.rng.IntN(4)) {
		ris = append(ris, model.NewResourceInstance(id, g.finite(g.value(r.Type))))
	}
	n := model.NewMultipleResource(r.ID, ris...)
	return &n
}

func (g *gen) instance(o *model.ObjectDef, id uint16) model.Node {
	var rs []model.Node
	for i := range o.Resources {
		if g.rng.IntN(3) == 0 {
			continue
		}
		if n := g.resource(&o.Resources[i]); n != nil {
			rs = append(rs, *n)
		}
	}
	return model.NewInstance(id, rs...)
}

// node makes a random node of one of defs' objects at a random level.
func (g *gen) node(defs []*model.ObjectDef) (model.Path, model.Node) {
	o := defs[g.rng.IntN(len(defs))]
	for {
		switch g.rng.IntN(4) {
		case 0:
			var is []model.Node
			for _, id := range g.ids(g.rng.IntN(3)) {
				is = append(is, g.instance(o, id))
			}
			return model.ObjectPath(o.ID), model.NewObject(o.ID, is...)
		case 1:
			id := g.id()
			return model.InstancePath(o.ID, id), g.instance(o, id)
		case 2:
			r := &o.Resources[g.rng.IntN(len(o.Resources))]
			if n := g.resource(r); n != nil {
				return model.ResourcePath(o.ID, g.id(), r.ID), *n
			}
		case 3:
			r := &o.Resources[g.rng.IntN(len(o.Resources))]
			if r.Multiple {
				id := g.id()
				return model.ResourceInstancePath(o.ID, g.id(), r.ID, id), model.NewResourceInstance(id, g.finite(g.value(r.Type)))
			}
		}
	}
}

// TestRoundTripNodes encodes random nodes of random definitions and
// decodes them back with the definitions: the node must come back equal.
func TestRoundTripNodes(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			g := &gen{rng: rand.New(rand.NewPCG(1, 2)), cbor: f.name == "cbor"}
			for i := 0; i < 2000; i++ {
				defs := g.defs()
				reg, err := model.NewRegistry(defs...)
				if err != nil {
					t.Fatal(err)
				}
				p, n := g.node(defs)
				b, err := f.encode(nil, p, &n)
				if err != nil {
					t.Fatalf("%d: encode %s %v: %v", i, p, n, err)
				}
				got, err := f.decode(b, p, reg)
				if err != nil {
					t.Fatalf("%d: decode %s of %v: %v\n%s", i, p, n, err, show(f, b))
				}
				want := prune(n)
				if !got.Equal(&want) {
					t.Fatalf("%d: %s\n got %v\nwant %v\n%s", i, p, got, want, show(f, b))
				}
			}
		})
	}
}

// prune removes what SenML cannot carry from below the top of a node: an
// instance or a multiple resource with nothing in it has no record, so
// it does not come back (OMA issue 494 for multiple resources).
func prune(n model.Node) model.Node {
	if len(n.Children) == 0 {
		return n
	}
	var kept []model.Node
	for _, c := range n.Children {
		c = prune(c)
		if !c.HasValue() && len(c.Children) == 0 {
			continue
		}
		kept = append(kept, c)
	}
	n.Children = kept
	return n
}

// TestRoundTripNodesWithoutDefinitions does the same with the types SenML
// describes by itself and no definitions.
func TestRoundTripNodesWithoutDefinitions(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			g := &gen{rng: rand.New(rand.NewPCG(3, 4)), cbor: f.name == "cbor"}
			for i := 0; i < 2000; i++ {
				defs := g.defs()
				for _, o := range defs {
					for j := range o.Resources {
						r := &o.Resources[j]
						r.Type = selfDescribing[g.rng.IntN(len(selfDescribing))]
						r.Operations = model.OpRead
					}
				}
				p, n := g.node(defs)
				if n.Kind == model.KindMultipleResource && len(n.Children) == 0 {
					continue // only definitions tell an empty multiple resource
				}
				b, err := f.encode(nil, p, &n)
				if err != nil {
					t.Fatalf("%d: encode %s %v: %v", i, p, n, err)
				}
				got, err := f.decode(b, p, nil)
				if err != nil {
					t.Fatalf("%d: decode %s of %v: %v\n%s", i, p, n, err, show(f, b))
				}
				want := prune(n)
				if !got.Equal(&want) {
					t.Fatalf("%d: %s\n got %v\nwant %v\n%s", i, p, got, want, show(f, b))
				}
			}
		})
	}
}

// TestRoundTripRecords appends random records, some with times, and
// parses them back: paths, values and times must survive (times exactly
// in JSON, to within a float64's precision in CBOR).
func TestRoundTripRecords(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			g := &gen{rng: rand.New(rand.NewPCG(5, 6)), cbor: f.name == "cbor"}
			for i := 0; i < 2000; i++ {
				var recs []model.Record
				for n := g.rng.IntN(6); n > 0; n-- {
					p := model.ResourcePath(g.id(), g.id(), g.id())
					if g.rng.IntN(2) == 0 {
						p = p.MustChild(g.id())
					}
					r := model.Record{Path: p, Value: g.finite(g.value(selfDescribing[g.rng.IntN(len(selfDescribing))]))}
					switch g.rng.IntN(3) {
					case 0:
						r.Time = time.Unix(relativeLimit+g.rng.Int64N(1<<34), 0)
					case 1:
						r.Time = time.Unix(relativeLimit+g.rng.Int64N(1<<34), g.rng.Int64N(1e9))
					}
					recs = append(recs, r)
				}
				b, err := f.appendRecs(nil, recs)
				if err != nil {
					t.Fatalf("%d: append %v: %v", i, recs, err)
				}
				got, err := f.parseRecs(b)
				if err != nil {
					t.Fatalf("%d: parse: %v\n%s", i, err, show(f, b))
				}
				if !recordsMatch(got, recs, f.name == "cbor") {
					t.Fatalf("%d:\n got %v\nwant %v\n%s", i, got, recs, show(f, b))
				}
			}
		})
	}
}

// recordsMatch compares records; with approx, times may differ by a
// float64 ulp of their seconds, as SenML CBOR writes fractional times as
// floats.
func recordsMatch(got, want []model.Record, approx bool) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Path != w.Path || g.Value != w.Value || g.Time.IsZero() != w.Time.IsZero() {
			return false
		}
		if approx {
			s := float64(w.Time.Unix())
			ulp := time.Duration((math.Nextafter(s, math.Inf(1)) - s) * 1e9)
			if d := g.Time.Sub(w.Time); d < -ulp || d > ulp {
				return false
			}
		} else if !g.Time.Equal(w.Time) {
			return false
		}
	}
	return true
}

// TestRoundTripPaths appends random path lists and parses them back.
func TestRoundTripPaths(t *testing.T) {
	g := &gen{rng: rand.New(rand.NewPCG(7, 8))}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			for i := 0; i < 2000; i++ {
				var paths []model.Path
				for n := g.rng.IntN(6); n > 0; n-- {
					p := model.RootPath()
					for l := g.rng.IntN(5); l > 0; l-- {
						p = p.MustChild(g.id())
					}
					paths = append(paths, p)
				}
				b, err := f.appendPaths(nil, paths)
				if err != nil {
					t.Fatal(err)
				}
				got, err := f.parsePaths(b)
				if err != nil || !slices.Equal(got, paths) {
					t.Fatalf("%d: got %v, %v; want %v", i, got, err, paths)
				}
			}
		})
	}
}
