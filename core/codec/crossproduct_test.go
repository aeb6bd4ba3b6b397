package codec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
)

// sampleValues returns, for type t, values that stress every format: the
// extremes, empty strings and bytes, values that change width in TLV and
// CBOR, and text that needs escaping in JSON.
func sampleValues(t model.Type) []model.Value {
	switch t {
	case model.TypeString:
		return []model.Value{model.String(""), model.String("Open Mobile Alliance"), model.String("quote \" backslash \\ tab \t nl \n ctl \x01 é 水 😀"), model.String(strings.Repeat("x", 300))}
	case model.TypeInteger:
		return []model.Value{model.Int(0), model.Int(-1), model.Int(127), model.Int(-129), model.Int(32768), model.Int(-2147483649), model.Int(math.MaxInt64), model.Int(math.MinInt64)}
	case model.TypeUnsigned:
		return []model.Value{model.Uint(0), model.Uint(255), model.Uint(65536), model.Uint(1 << 53), model.Uint(math.MaxUint64)}
	case model.TypeFloat:
		return []model.Value{model.Float(0), model.Float(1), model.Float(-1.5), model.Float(21.5), model.Float(0.1), model.Float(-273.15), model.Float(1e300), model.Float(3.4028234663852886e38), model.Float(5e-324), model.Float(1 << 60)}
	case model.TypeBoolean:
		return []model.Value{model.Bool(false), model.Bool(true)}
	case model.TypeOpaque:
		return []model.Value{model.Opaque(nil), model.Opaque([]byte{0}), model.Opaque([]byte{0xde, 0xad, 0xbe, 0xef, 0xff, 0xfe}), model.Opaque([]byte(strings.Repeat("\xa5", 70000)))}
	case model.TypeTime:
		return []model.Value{model.UnixTime(0), model.UnixTime(1367491215), model.UnixTime(-1), model.UnixTime(1 << 40)}
	case model.TypeObjlnk:
		return []model.Value{model.Objlnk(0, 0), model.Objlnk(3, 0), model.Objlnk(65535, 65535)}
	case model.TypeCorelnk:
		return []model.Value{model.Corelnk(""), model.Corelnk(`</3/0>;ct=60,</1/0>;rt="oma.lwm2m"`)}
	}
	return nil
}

type shape struct {
	name string
	path model.Path
	node model.Node
}

// shapes returns every node shape the formats carry, for every type:
// single resources, resource instances, multiple resources, an instance
// holding one of each and an object of two instances.
func shapes() []shape {
	const obj = 42769
	var out []shape
	var all []model.Node
	for t := model.TypeString; t <= model.TypeCorelnk; t++ {
		vals := sampleValues(t)
		sid, mid := resourceOf(t, false), resourceOf(t, true)
		for i, v := range vals {
			out = append(out,
				shape{fmt.Sprintf("resource %s #%d", t, i), model.ResourcePath(obj, 0, sid), model.NewResource(sid, v)},
				shape{fmt.Sprintf("resource instance %s #%d", t, i), model.ResourceInstancePath(obj, 0, mid, uint16(i*300)), model.NewResourceInstance(uint16(i*300), v)})
		}
		multi := model.NewMultipleResourceOf(mid, vals...)
		out = append(out, shape{fmt.Sprintf("multiple resource %s", t), model.ResourcePath(obj, 0, mid), multi})
		all = append(all, model.NewResource(sid, vals[len(vals)-1]), multi)
	}
	inst := model.NewInstance(0, all...)
	out = append(out,
		shape{"instance of every type", model.InstancePath(obj, 0), inst},
		shape{"instance id 65534", model.InstancePath(obj, 65534), model.NewInstance(65534, model.NewResource(0, model.String("x")))},
		shape{"object of two instances", model.ObjectPath(obj), model.NewObject(obj, inst, model.NewInstance(7, model.NewResource(resourceOf(model.TypeBoolean, false), model.Bool(true))))},
	)
	return out
}

// TestCrossProduct encodes every node shape in every data format that can
// carry it and decodes it back equal (the way Eclipse Leshan runs each
// data test over every content format). Formats that cannot carry a shape
// must refuse it with 4.06.
func TestCrossProduct(t *testing.T) {
	defs := testDefs(t)
	counts := map[Format]int{}
	for _, f := range DataFormats() {
		for _, s := range shapes() {
			t.Run(f.Name()+"/"+s.name, func(t *testing.T) {
				b, err := Encode(nil, f, s.path, &s.node)
				if !CanEncode(f, &s.node) {
					if model.CodeOf(err) != model.NotAcceptable {
						t.Fatalf("Encode = %v, want 4.06", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				got, err := Decode(f, b, s.path, defs)
				if err != nil {
					t.Fatalf("Decode(%q): %v", clip(b), err)
				}
				if !got.Equal(&s.node) {
					t.Fatalf("round trip through %v:\n got  %v\n want %v\n bytes %q", f, got, s.node, clip(b))
				}
				counts[f]++
			})
		}
	}
	for _, f := range DataFormats() {
		if f == Opaque {
			continue
		}
		if counts[f] < 20 {
			t.Errorf("%v carried only %d shapes", f, counts[f])
		}
	}
	t.Logf("round trips per format: %v", counts)
}

func clip(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// TestCrossProductRandom does the same over random instances whose
// resources and values are drawn from every type.
func TestCrossProductRandom(t *testing.T) {
	defs := testDefs(t)
	r := rand.New(rand.NewPCG(11, 12))
	for i := range 300 {
		var res []model.Node
		for typ := model.TypeString; typ <= model.TypeCorelnk; typ++ {
			vals := sampleValues(typ)
			if r.IntN(2) == 0 {
				res = append(res, model.NewResource(resourceOf(typ, false), vals[r.IntN(len(vals))]))
			}
			if r.IntN(3) == 0 {
				var ris []model.Node
				for range r.IntN(3) + 1 {
					id := uint16(r.IntN(model.MaxID + 1))
					if slicesHasID(ris, id) {
						continue
					}
					ris = append(ris, model.NewResourceInstance(id, vals[r.IntN(len(vals))]))
				}
				res = append(res, model.NewMultipleResource(resourceOf(typ, true), ris...))
			}
		}
		if len(res) == 0 {
			continue
		}
		id := uint16(r.IntN(model.MaxID + 1))
		inst := model.NewInstance(id, res...)
		p := model.InstancePath(42769, id)
		for _, f := range []Format{TLV, JSON, SenMLJSON, SenMLCBOR, LwM2MCBOR} {
			b, err := Encode(nil, f, p, &inst)
			if err != nil {
				t.Fatalf("case %d %v: %v", i, f, err)
			}
			got, err := Decode(f, b, p, defs)
			if err != nil || !got.Equal(&inst) {
				t.Fatalf("case %d %v: %v\n got  %v\n want %v", i, f, err, got, inst)
			}
		}
	}
}

func slicesHasID(ns []model.Node, id uint16) bool {
	for _, n := range ns {
		if n.ID == id {
			return true
		}
	}
	return false
}

// TestCompositeCrossProduct sends the same entries through every
// composite format as records and back.
func TestCompositeCrossProduct(t *testing.T) {
	defs := testDefs(t)
	var entries []model.Entry
	var paths []model.Path
	for i, s := range shapes() {
		if s.path.Level() < model.LevelResource || i%3 != 0 {
			continue
		}
		// One entry per resource: skip shapes at a path already taken.
		clash := false
		for _, p := range paths {
			if p.Overlaps(s.path) {
				clash = true
			}
		}
		if clash {
			continue
		}
		entries = append(entries, model.Entry{Path: s.path, Node: s.node})
		paths = append(paths, s.path)
	}
	if len(entries) < 5 {
		t.Fatalf("only %d entries", len(entries))
	}
	for _, f := range []Format{SenMLJSON, SenMLCBOR, LwM2MCBOR} {
		t.Run(f.Name(), func(t *testing.T) {
			b, err := EncodeEntries(nil, f, entries)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeEntries(f, b, paths, defs)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(entries) {
				t.Fatalf("%d entries back, want %d", len(got), len(entries))
			}
			for i := range got {
				if got[i].Path != entries[i].Path || !got[i].Node.Equal(&entries[i].Node) {
					t.Errorf("entry %d: %s %v, want %s %v", i, got[i].Path, got[i].Node, entries[i].Path, entries[i].Node)
				}
			}
		})
	}
	for _, f := range []Format{SenMLJSON, SenMLCBOR} {
		b, err := EncodePaths(nil, f, paths)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodePaths(f, b)
		if err != nil || len(got) != len(paths) {
			t.Fatalf("%v paths: %v, %v", f, got, err)
		}
		for i := range got {
			if got[i] != paths[i] {
				t.Errorf("%v path %d: %s, want %s", f, i, got[i], paths[i])
			}
		}
	}
	if _, err := EncodeRecords(nil, TLV, nil); model.CodeOf(err) != model.NotAcceptable {
		t.Errorf("TLV records: %v", err)
	}
	if _, err := DecodePaths(TLV, nil); model.CodeOf(err) != model.UnsupportedContentFormat {
		t.Errorf("TLV paths: %v", err)
	}
}

// TestCrossProductCoreObjects runs a Device instance, a Server object and
// a Temperature object, typed by the built-in definitions, through every
// format that carries nodes.
func TestCrossProductCoreObjects(t *testing.T) {
	defs, err := objects.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	dev := codectest.DeviceInstance()
	server := model.NewObject(1,
		model.NewInstance(0, model.NewResource(0, model.Int(101)), model.NewResource(1, model.Int(86400)), model.NewResource(6, model.Bool(false)), model.NewResource(7, model.String("U"))),
		model.NewInstance(1, model.NewResource(0, model.Int(102)), model.NewResource(1, model.Int(300)), model.NewResource(6, model.Bool(true)), model.NewResource(7, model.String("UQ"))),
	)
	temp := model.NewObject(3303,
		model.NewInstance(0, model.NewResource(5700, model.Float(21.5)), model.NewResource(5701, model.String("Cel"))),
		model.NewInstance(1, model.NewResource(5700, model.Float(-4.25))),
	)
	for _, s := range []shape{{"device", model.InstancePath(3, 0), dev}, {"server", model.ObjectPath(1), server}, {"temperature", model.ObjectPath(3303), temp}} {
		for _, f := range []Format{TLV, LegacyTLV, JSON, LegacyJSON, SenMLJSON, SenMLCBOR, LwM2MCBOR} {
			b, err := Encode(nil, f, s.path, &s.node)
			if err != nil {
				t.Fatalf("%s as %v: %v", s.name, f, err)
			}
			got, err := Decode(f, b, s.path, defs)
			if err != nil || !got.Equal(&s.node) {
				t.Errorf("%s through %v: %v\n got  %v\n want %v", s.name, f, err, got, s.node)
			}
		}
	}
}
