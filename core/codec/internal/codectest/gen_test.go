package codectest

import (
	"math"
	"testing"
	"unicode/utf8"

	"github.com/wasm2m/wasm2m/core/model"
)

// census counts what a Gen made.
type census struct {
	types       map[model.Type]int
	levels      map[model.Level]int
	nonFinite   int
	empty       int // empty instances and multiple resources below the top
	large       int // strings and opaque values over 64 KiB
	long        int // strings and opaque values over 255 bytes
	wide        int // containers of 10 children or more
	maxID       int
	invalidText int
}

func (c *census) node(n *model.Node, top bool) {
	if n.ID == model.MaxID {
		c.maxID++
	}
	if n.HasValue() {
		v := n.Value
		c.types[v.Type()]++
		if v.Type() == model.TypeFloat && (math.IsNaN(v.Float()) || math.IsInf(v.Float(), 0)) {
			c.nonFinite++
		}
		switch v.Type() {
		case model.TypeString, model.TypeCorelnk, model.TypeOpaque:
			if len(v.Str()) > 65535 {
				c.large++
			}
			if len(v.Str()) > 255 {
				c.long++
			}
			if v.Type() != model.TypeOpaque && !utf8.ValidString(v.Str()) {
				c.invalidText++
			}
		}
		return
	}
	if !top && len(n.Children) == 0 && n.Kind != model.KindObject {
		c.empty++
	}
	if len(n.Children) >= 10 {
		c.wide++
	}
	for i := range n.Children {
		c.node(&n.Children[i], false)
	}
}

// TestGen checks that Gen reaches what the codecs' tests rely on it to
// reach, and makes nothing its fields exclude.
func TestGen(t *testing.T) {
	tests := []struct {
		name             string
		nonFinite, empty bool
		large            int
	}{
		{"flat", false, false, 0},
		{"containers", false, true, 0},
		{"every value", true, true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := census{types: map[model.Type]int{}, levels: map[model.Level]int{}}
			for seed := uint64(0); seed < 500; seed++ {
				g := NewGen(seed)
				g.NonFinite, g.Empty, g.Large = tc.nonFinite, tc.empty, tc.large
				defs := g.ObjectDefs()
				if _, err := model.NewRegistry(defs...); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				p, n := g.Node(defs)
				if err := n.Validate(); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if err := n.CheckAt(p); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				c.levels[p.Level()]++
				c.node(&n, true)
				o := g.Object(defs[0])
				c.node(&o, true)
			}
			for _, typ := range Types {
				if c.types[typ] < 20 {
					t.Errorf("%d values of type %s", c.types[typ], typ)
				}
			}
			for _, l := range []model.Level{model.LevelObject, model.LevelInstance, model.LevelResource, model.LevelResourceInstance} {
				if c.levels[l] < 20 {
					t.Errorf("%d nodes at level %v", c.levels[l], l)
				}
			}
			if c.wide < 10 || c.maxID < 10 || c.long < 20 {
				t.Errorf("%d wide containers, %d nodes with id %d, %d long values", c.wide, c.maxID, model.MaxID, c.long)
			}
			if (c.nonFinite > 0) != tc.nonFinite || (c.empty > 0) != tc.empty || (c.large > 0) != (tc.large > 0) {
				t.Errorf("%d non-finite floats, %d empty containers, %d values over 64 KiB", c.nonFinite, c.empty, c.large)
			}
			if c.invalidText > 0 {
				t.Errorf("%d strings are not UTF-8", c.invalidText)
			}
		})
	}
}

func TestTypesDef(t *testing.T) {
	d := TypesDef(1024, func(typ model.Type, multiple bool) uint16 {
		if multiple {
			return 10 + uint16(typ-model.TypeString)
		}
		return uint16(typ - model.TypeString)
	}, 9)
	r := Registry(t, d, DeviceDef())
	for i, typ := range Types {
		single := model.ResourceDefAt(r, model.ResourcePath(1024, 0, uint16(i)))
		multiple := model.ResourceDefAt(r, model.ResourcePath(1024, 0, uint16(10+i)))
		if single == nil || single.Type != typ || single.Multiple || multiple == nil || multiple.Type != typ || !multiple.Multiple {
			t.Errorf("type %s: single %+v, multiple %+v", typ, single, multiple)
		}
	}
	if run := model.ResourceDefAt(r, model.ResourcePath(1024, 0, 9)); run == nil || !run.Operations.Executable() {
		t.Errorf("resource 9: %+v, want the executable", run)
	}
	n := DeviceInstance()
	if err := n.Validate(); err != nil {
		t.Error(err)
	}
}
