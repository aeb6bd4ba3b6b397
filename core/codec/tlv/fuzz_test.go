package tlv

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/model"
)

// newGen returns a generator of everything TLV carries: NaN and
// infinities, empty containers, and two values longer than 64 KiB.
func newGen(seed uint64) *codectest.Gen {
	g := codectest.NewGen(seed)
	g.NonFinite, g.Empty, g.Large = true, true, 2
	return g
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
		def := g.ObjectDef(uint16(g.R.IntN(model.MaxID + 1)))
		defs, err := model.NewRegistry(def)
		if err != nil {
			t.Fatal(err)
		}
		obj := g.Object(def)
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
		g.Large = 0
		def := g.ObjectDef(testObject)
		obj := g.Object(def)
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
