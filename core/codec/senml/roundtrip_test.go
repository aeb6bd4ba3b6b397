package senml

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/model"
)

// selfDescribing are the types that survive SenML without definitions.
var selfDescribing = []model.Type{model.TypeString, model.TypeInteger, model.TypeFloat,
	model.TypeBoolean, model.TypeOpaque, model.TypeObjlnk}

// newGen returns a generator for format f: empty containers (pruned
// before comparing), NaN and infinities only where SenML CBOR carries
// them.
func newGen(f format, seed uint64) *codectest.Gen {
	g := codectest.NewGen(seed)
	g.Empty = true
	g.NonFinite = f.name == "cbor"
	return g
}

// TestRoundTripNodes encodes random nodes of random definitions and
// decodes them back with the definitions: the node must come back equal.
func TestRoundTripNodes(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			g, c := newGen(f, 1), f.nodes()
			for range 2000 {
				defs := g.ObjectDefs()
				reg := codectest.Registry(t, defs...)
				p, n := g.Node(defs)
				want := prune(n)
				c.CheckRoundTrip(t, p, &n, &want, reg)
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
			g, c := newGen(f, 3), f.nodes()
			for range 2000 {
				defs := g.ObjectDefs()
				for _, o := range defs {
					for j := range o.Resources {
						r := &o.Resources[j]
						r.Type = selfDescribing[g.R.IntN(len(selfDescribing))]
						r.Operations = model.OpRead
					}
				}
				p, n := g.Node(defs)
				if n.Kind == model.KindMultipleResource && len(n.Children) == 0 {
					continue // only definitions tell an empty multiple resource
				}
				want := prune(n)
				c.CheckRoundTrip(t, p, &n, &want, nil)
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
			g := newGen(f, 5)
			for i := 0; i < 2000; i++ {
				var recs []model.Record
				for n := g.R.IntN(6); n > 0; n-- {
					p := model.ResourcePath(g.ID(), g.ID(), g.ID())
					if g.R.IntN(2) == 0 {
						p = p.MustChild(g.ID())
					}
					r := model.Record{Path: p, Value: g.Value(selfDescribing[g.R.IntN(len(selfDescribing))])}
					switch g.R.IntN(3) {
					case 0:
						r.Time = time.Unix(relativeLimit+g.R.Int64N(1<<34), 0)
					case 1:
						r.Time = time.Unix(relativeLimit+g.R.Int64N(1<<34), g.R.Int64N(1e9))
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
	g := codectest.NewGen(7)
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			for i := 0; i < 2000; i++ {
				var paths []model.Path
				for n := g.R.IntN(6); n > 0; n-- {
					p := model.RootPath()
					for l := g.R.IntN(5); l > 0; l-- {
						p = p.MustChild(g.ID())
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
