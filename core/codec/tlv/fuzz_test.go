package tlv

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

// gen makes random well-formed definitions and nodes.
type gen struct {
	r     *rand.Rand
	large int // how many values above 64 KiB it may still make
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15)), large: 2}
}

// id returns an id, mostly small, sometimes one that needs 16 bits.
func (g *gen) id() uint16 {
	switch g.r.IntN(8) {
	case 0:
		return uint16(256 + g.r.IntN(model.MaxID-256+1))
	case 1:
		return model.MaxID
	}
	return uint16(g.r.IntN(40))
}

// ids returns n distinct ids in ascending order.
func (g *gen) ids(n int) []uint16 {
	seen := map[uint16]bool{}
	var out []uint16
	for len(out) < n {
		id := g.id()
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// objectDef returns an object definition with random resources, every
// type among them, some executable, single and multiple.
func (g *gen) objectDef(id uint16) *model.ObjectDef {
	o := &model.ObjectDef{ID: id, Multiple: g.r.IntN(2) == 0}
	for _, rid := range g.ids(g.count(14)) {
		t := allTypes[g.r.IntN(len(allTypes))]
		if g.r.IntN(10) == 0 {
			t = model.TypeNone
		}
		o.Resources = append(o.Resources, res(rid, t, t != model.TypeNone && g.r.IntN(3) == 0))
	}
	return o
}

// count returns how many children a container gets: mostly below n,
// sometimes more than the decoder keeps on the goroutine stack.
func (g *gen) count(n int) int {
	if g.r.IntN(10) == 0 {
		return 10 + g.r.IntN(30)
	}
	return g.r.IntN(n)
}

// length returns the length of a string or opaque value: mostly short,
// sometimes past the 8-bit and 16-bit length fields.
func (g *gen) length() int {
	switch n := g.r.IntN(50); {
	case n == 0 && g.large > 0:
		g.large--
		return 65536 + g.r.IntN(5000)
	case n < 5:
		return 256 + g.r.IntN(1000)
	case n < 15:
		return 8 + g.r.IntN(248)
	}
	return g.r.IntN(8)
}

func (g *gen) text() string {
	n := g.length()
	var b strings.Builder
	for b.Len() < n {
		switch g.r.IntN(10) {
		case 0:
			b.WriteRune(rune(0x80 + g.r.IntN(0x780))) // 2 bytes
		case 1:
			b.WriteRune(rune(0x800 + g.r.IntN(0xD000-0x800))) // 3 bytes
		case 2:
			b.WriteRune(rune(0x10000 + g.r.IntN(0x10FFFF-0x10000))) // 4 bytes
		default:
			b.WriteByte(byte(0x20 + g.r.IntN(0x5F)))
		}
	}
	return b.String()
}

// integer returns an int64 of random magnitude, so that every width
// appears.
func (g *gen) integer() int64 {
	x := int64(g.r.Uint64() >> g.r.IntN(64))
	if g.r.IntN(2) == 0 {
		x = -x - 1
	}
	return x
}

func (g *gen) float() float64 {
	switch g.r.IntN(8) {
	case 0:
		return []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(),
			math.MaxFloat64, math.SmallestNonzeroFloat64, math.MaxFloat32}[g.r.IntN(8)]
	case 1, 2:
		return float64(math.Float32frombits(g.r.Uint32())) // any float32, NaNs too
	case 3:
		return math.Float64frombits(g.r.Uint64()) // any float64, NaNs too
	case 4:
		return float64(g.r.IntN(2000) - 1000)
	}
	return g.r.NormFloat64() * math.Pow(10, float64(g.r.IntN(40)-20))
}

func (g *gen) value(t model.Type) model.Value {
	switch t {
	case model.TypeString:
		return model.String(g.text())
	case model.TypeCorelnk:
		return model.Corelnk(g.text())
	case model.TypeOpaque:
		b := make([]byte, g.length())
		for i := range b {
			b[i] = byte(g.r.Uint32())
		}
		return model.Opaque(b)
	case model.TypeInteger:
		return model.Int(g.integer())
	case model.TypeTime:
		return model.UnixTime(g.integer())
	case model.TypeUnsigned:
		return model.Uint(g.r.Uint64() >> g.r.IntN(64))
	case model.TypeFloat:
		return model.Float(g.float())
	case model.TypeBoolean:
		return model.Bool(g.r.IntN(2) == 0)
	case model.TypeObjlnk:
		return model.Objlnk(uint16(g.r.Uint32()), uint16(g.r.Uint32()))
	}
	return model.Value{}
}

// resource returns a resource node for def, with the value types def
// gives.
func (g *gen) resource(def *model.ResourceDef) model.Node {
	if !def.Multiple {
		return model.NewResource(def.ID, g.value(def.Type))
	}
	n := model.Node{Kind: model.KindMultipleResource, ID: def.ID}
	for _, id := range g.ids(g.count(6)) {
		n.Children = append(n.Children, model.NewResourceInstance(id, g.value(def.Type)))
	}
	return n
}

// instance returns an instance holding a random subset of def's readable
// resources.
func (g *gen) instance(def *model.ObjectDef, id uint16) model.Node {
	n := model.Node{Kind: model.KindInstance, ID: id}
	for i := range def.Resources {
		r := &def.Resources[i]
		if r.Type != model.TypeNone && g.r.IntN(4) != 0 {
			n.Children = append(n.Children, g.resource(r))
		}
	}
	return n
}

func (g *gen) object(def *model.ObjectDef) model.Node {
	n := model.Node{Kind: model.KindObject, ID: def.ID}
	for _, id := range g.ids(g.count(4)) {
		n.Children = append(n.Children, g.instance(def, id))
	}
	return n
}

// entry is a node and its path.
type entry struct {
	path model.Path
	node model.Node
}

// subtrees returns n (at p) and every node below it that a TLV payload
// can carry on its own.
func subtrees(p model.Path, n model.Node) []entry {
	out := []entry{{p, n}}
	for _, c := range n.Children {
		out = append(out, subtrees(p.MustChild(c.ID), c)...)
	}
	return out
}

// TestRoundTrip encodes random well-formed nodes built from random
// definitions, at every level, and checks that they decode to an Equal
// node; and that, decoded without definitions (values as Opaque), they
// re-encode to the same bytes.
func TestRoundTrip(t *testing.T) {
	const rounds = 500
	for seed := uint64(1); seed <= rounds; seed++ {
		g := newGen(seed)
		def := g.objectDef(uint16(g.r.IntN(model.MaxID + 1)))
		defs, err := model.NewRegistry(def)
		if err != nil {
			t.Fatal(err)
		}
		obj := g.object(def)
		for _, e := range subtrees(model.ObjectPath(def.ID), obj) {
			if err := roundTrip(e.path, &e.node, defs); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
		}
	}
}

func roundTrip(p model.Path, n *model.Node, defs model.Definitions) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("generated node at %s: %v", p, err)
	}
	b, err := Encode(nil, p, n)
	if err != nil {
		return fmt.Errorf("Encode %s: %v", p, err)
	}
	got, err := Decode(b, p, defs)
	if err != nil {
		return fmt.Errorf("Decode %s: %v\n% X", p, err, clip(b))
	}
	if !got.Equal(n) {
		return fmt.Errorf("Decode %s:\n got %.500v\nwant %.500v", p, got, *n)
	}
	raw, err := Decode(b, p, nil)
	if err != nil {
		return fmt.Errorf("Decode %s without definitions: %v", p, err)
	}
	b2, err := Encode(nil, p, &raw)
	if err != nil {
		return fmt.Errorf("Encode %s of the opaque node: %v", p, err)
	}
	if !bytes.Equal(b, b2) {
		return fmt.Errorf("%s: the opaque node re-encodes to other bytes", p)
	}
	return nil
}

func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// fuzzPaths are the paths FuzzDecode decodes at, chosen by its second
// argument: every level, of defined objects (with every type in 1024),
// of an undefined object, and on resources of each multiplicity.
var fuzzPaths = []model.Path{
	model.ObjectPath(3),
	model.InstancePath(3, 0),
	model.ResourcePath(3, 0, 6),
	model.ResourceInstancePath(3, 0, 6, 1),
	model.ResourcePath(3, 0, 13),
	model.ObjectPath(2),
	model.ResourcePath(2, 0, 2),
	model.ObjectPath(testObject),
	model.InstancePath(testObject, 0),
	model.ResourcePath(testObject, 0, 3),
	model.ResourcePath(testObject, 0, 13),
	model.ResourceInstancePath(testObject, 0, 10, 2),
	model.InstancePath(65, 0),
	model.InstancePath(77, 0),
	model.ResourceInstancePath(77, 0, 1, 2),
	model.ObjectPath(1),
}

// FuzzDecode checks that Decode never panics, fails only with 4.00, and
// that whatever it decodes is a valid node at the path which re-encodes
// to no more bytes than it came from and decodes back Equal.
func FuzzDecode(f *testing.F) {
	defs := testDefs(f)
	f.Fuzz(func(t *testing.T, data []byte, pathIndex uint8, noDefs bool) {
		p := fuzzPaths[int(pathIndex)%len(fuzzPaths)]
		var d model.Definitions = defs
		if noDefs {
			d = nil
		}
		n, err := Decode(data, p, d)
		if err != nil {
			if !errors.Is(err, model.ErrBadRequest) {
				t.Fatalf("error %v is not a 4.00", err)
			}
			return
		}
		if err := n.Validate(); err != nil {
			t.Fatalf("decoded node is not valid: %v", err)
		}
		if err := n.CheckAt(p); err != nil {
			t.Fatalf("decoded node does not fit %s: %v", p, err)
		}
		b, err := Encode(nil, p, &n)
		if err != nil {
			t.Fatalf("decoded node does not encode: %v", err)
		}
		if len(b) > len(data) {
			t.Fatalf("re-encoding grew from %d to %d bytes", len(data), len(b))
		}
		back, err := Decode(b, p, d)
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v\n% X", err, b)
		}
		if !back.Equal(&n) {
			t.Fatalf("re-encoding decodes to another node:\n got %v\nwant %v", back, n)
		}
	})
}

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the seed corpus of FuzzDecode under testdata/fuzz")

// TestFuzzSeeds writes the committed seed corpus of FuzzDecode when run
// with -update-seeds: the spec's examples at their paths, each TLV shape,
// malformed payloads and encodings of random nodes.
func TestFuzzSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite testdata/fuzz/FuzzDecode/seed-*")
	}
	type seed struct {
		data   []byte
		path   model.Path
		noDefs bool
	}
	var seeds []seed
	for _, s := range []struct {
		file string
		path model.Path
	}{
		{"device-instance.hex", model.InstancePath(3, 0)},
		{"device-object.hex", model.ObjectPath(3)},
		{"device-object.hex", model.InstancePath(3, 0)},
		{"acl-object.hex", model.ObjectPath(2)},
		{"server-object.hex", model.ObjectPath(1)},
		{"obj65-instance.hex", model.InstancePath(65, 0)},
		{"obj65-instance.hex", model.InstancePath(77, 0)},
	} {
		seeds = append(seeds, seed{golden(t, s.file), s.path, false}, seed{golden(t, s.file), s.path, true})
	}
	for _, s := range []struct {
		hex  string
		path model.Path
	}{
		{"86 06 41 00 01 41 01 05", model.ResourcePath(3, 0, 6)},
		{"41 01 05", model.ResourceInstancePath(3, 0, 6, 1)},
		{"C4 0D 51 82 42 8F", model.ResourcePath(3, 0, 13)},
		{"C4 03 3F C0 00 00", model.ResourcePath(testObject, 0, 3)},
		{"C8 03 08 3F B9 99 99 99 99 99 9A", model.ResourcePath(testObject, 0, 3)},
		{"88 0D 0D 44 00 3F C0 00 00 64 01 2C 3F 80 00 00", model.ResourcePath(testObject, 0, 13)},
		{"44 02 00 03 00 00", model.ResourceInstancePath(testObject, 0, 10, 2)},
		{"C1 00 41 C1 01 FF C1 02 FF C4 03 3F C0 00 00 C1 04 01 C1 05 00 C1 06 80 C4 07 00 03 00 00 C1 08 3C",
			model.InstancePath(testObject, 0)},
		{"08 00 05 C1 00 41 80 0A 20 01 2C", model.ObjectPath(testObject)},
		{"78 00 02 00 00 01 2A", model.ResourceInstancePath(77, 0, 1, 2)},
		{"61 00 02 2A", model.ResourceInstancePath(77, 0, 1, 2)},
		{"C8 09 05 64", model.InstancePath(3, 0)},
		{"08 00 02 C1 09 64", model.ObjectPath(3)},
		{"C2 00 C3 28", model.InstancePath(testObject, 0)},
		{"C1 09 01", model.InstancePath(testObject, 0)},
		{"C3 09 00 00 64", model.ResourcePath(3, 0, 13)},
	} {
		seeds = append(seeds, seed{unhex(t, s.hex), s.path, false})
	}
	for i := uint64(1); i <= 6; i++ {
		g := newGen(1000 + i)
		g.large = 0
		def := g.objectDef(testObject)
		obj := g.object(def)
		b, err := Encode(nil, model.ObjectPath(testObject), &obj)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, seed{b, model.ObjectPath(testObject), true})
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	old, _ := filepath.Glob(filepath.Join(dir, "seed-*"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range seeds {
		idx := slices.Index(fuzzPaths, s.path)
		if idx < 0 {
			t.Fatalf("seed %d: path %s is not in fuzzPaths", i, s.path)
		}
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nuint8(%d)\nbool(%t)\n", quoteBytes(s.data), idx, s.noDefs)
		name := filepath.Join(dir, fmt.Sprintf("seed-%02d", i))
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// quoteBytes quotes b as a Go string literal of bytes, as the fuzz corpus
// format wants it.
func quoteBytes(b []byte) string {
	var s strings.Builder
	s.WriteByte('"')
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c >= 0x20 && c < 0x7F:
			s.WriteByte(c)
		default:
			fmt.Fprintf(&s, "\\x%02x", c)
		}
	}
	s.WriteByte('"')
	return s.String()
}
