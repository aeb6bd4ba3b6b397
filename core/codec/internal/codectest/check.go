package codectest

import (
	"errors"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

// NodeCodec is a codec of nodes as the checks and benchmarks of this
// package call it.
type NodeCodec struct {
	Encode func(dst []byte, p model.Path, n *model.Node) ([]byte, error)
	Decode func(data []byte, p model.Path, defs model.Definitions) (model.Node, error)
	// Show formats a payload for a failure message; nil prints it as
	// text.
	Show func(data []byte) string
}

func (c NodeCodec) show(data []byte) string {
	if c.Show == nil {
		return string(data)
	}
	return c.Show(data)
}

// CheckDecode checks what every fuzz target of a node decoder checks of
// untrusted data decoded at p with defs: Decode fails only with 4.00,
// and what it decodes encodes, and decodes back Equal.
func (c NodeCodec) CheckDecode(t testing.TB, data []byte, p model.Path, defs model.Definitions) {
	t.Helper()
	n, err := c.Decode(data, p, defs)
	if err != nil {
		if !errors.Is(err, model.ErrBadRequest) {
			t.Fatalf("Decode at %s: error %v is not 4.00", p, err)
		}
		return
	}
	enc, err := c.Encode(nil, p, &n)
	if err != nil {
		t.Fatalf("Decode at %s gave %v, which does not encode: %v", p, n, err)
	}
	back, err := c.Decode(enc, p, defs)
	if err != nil {
		t.Fatalf("re-decode at %s of %s: %v", p, c.show(enc), err)
	}
	if !back.Equal(&n) {
		t.Fatalf("at %s: %s\nfirst  %v\nsecond %v", p, c.show(enc), n, back)
	}
}

// CheckRoundTrip checks that n, at p, encodes and decodes back Equal to
// want with defs.
func (c NodeCodec) CheckRoundTrip(t testing.TB, p model.Path, n, want *model.Node, defs model.Definitions) {
	t.Helper()
	data, err := c.Encode(nil, p, n)
	if err != nil {
		t.Fatalf("Encode %s %v: %v", p, n, err)
	}
	got, err := c.Decode(data, p, defs)
	if err != nil {
		t.Fatalf("Decode %s of %v: %v\n%s", p, n, err, c.show(data))
	}
	if !got.Equal(want) {
		t.Fatalf("at %s: %s\ngot  %v\nwant %v", p, c.show(data), got, *want)
	}
}

// BenchmarkEncode measures encoding n at p into a reused buffer.
func (c NodeCodec) BenchmarkEncode(b *testing.B, p model.Path, n *model.Node) {
	buf, err := c.Encode(nil, p, n)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = c.Encode(buf[:0], p, n); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode measures decoding the encoding of n at p with defs.
func (c NodeCodec) BenchmarkDecode(b *testing.B, p model.Path, n *model.Node, defs model.Definitions) {
	data, err := c.Encode(nil, p, n)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decode(data, p, defs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse measures parse, which decodes data into records.
func BenchmarkParse(b *testing.B, data []byte, parse func(data []byte) ([]model.Record, error)) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend measures appendRecs, which encodes recs, into a reused
// buffer.
func BenchmarkAppend(b *testing.B, recs []model.Record, appendRecs func(dst []byte, recs []model.Record) ([]byte, error)) {
	buf, err := appendRecs(nil, recs)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = appendRecs(buf[:0], recs); err != nil {
			b.Fatal(err)
		}
	}
}

// Malformed is a node that no encoder may accept at its path.
type Malformed struct {
	Name string
	Path model.Path
	Node model.Node
}

// MalformedNodes returns nodes that do not fit their path
// (model.Node.CheckAt) or are not well formed (model.Node.Validate).
func MalformedNodes() []Malformed {
	one := model.Int(1)
	return []Malformed{
		{"root path", model.RootPath(), model.NewObject(3)},
		{"id mismatch", model.InstancePath(3, 1), DeviceInstance()},
		{"level mismatch", model.ObjectPath(3), DeviceInstance()},
		{"resource at instance path", model.InstancePath(3, 0), model.NewResource(0, one)},
		{"resource in object", model.ObjectPath(3), model.Node{Kind: model.KindObject, ID: 3,
			Children: []model.Node{model.NewResource(0, one)}}},
		{"resource instance in instance", model.InstancePath(3, 0), model.Node{Kind: model.KindInstance,
			Children: []model.Node{model.NewResourceInstance(0, one)}}},
		{"resource in multiple resource", model.ResourcePath(3, 0, 6), model.Node{Kind: model.KindMultipleResource, ID: 6,
			Children: []model.Node{model.NewResource(0, one)}}},
		{"instance in instance", model.InstancePath(3, 0), model.Node{Kind: model.KindInstance,
			Children: []model.Node{model.NewInstance(1)}}},
		{"unknown kind", model.InstancePath(3, 0), model.Node{Kind: model.KindInstance,
			Children: []model.Node{{Kind: 42, ID: 1}}}},
		{"duplicate resource", model.InstancePath(3, 0), model.Node{Kind: model.KindInstance,
			Children: []model.Node{model.NewResource(1, one), model.NewResource(1, model.Int(2))}}},
		{"unsorted resources", model.InstancePath(3, 0), model.Node{Kind: model.KindInstance,
			Children: []model.Node{model.NewResource(2, one), model.NewResource(1, model.Int(2))}}},
		{"duplicate instance", model.ObjectPath(3), model.Node{Kind: model.KindObject, ID: 3,
			Children: []model.Node{model.NewInstance(0, model.NewResource(1, one)), model.NewInstance(0, model.NewResource(1, one))}}},
		{"duplicate resource instance", model.ResourcePath(3, 0, 6), model.Node{Kind: model.KindMultipleResource, ID: 6,
			Children: []model.Node{model.NewResourceInstance(0, one), model.NewResourceInstance(0, one)}}},
		{"id above 65534", model.InstancePath(3, 0), model.NewInstance(0, model.NewResource(65535, one))},
		{"resource with children", model.ResourcePath(3, 0, 6), model.Node{Kind: model.KindResource, ID: 6,
			Value: one, Children: []model.Node{model.NewResourceInstance(0, one)}}},
		{"nested resource with children", model.InstancePath(3, 0), model.NewInstance(0, model.Node{Kind: model.KindResource, ID: 6,
			Value: one, Children: []model.Node{model.NewResourceInstance(0, one)}})},
		{"instance with a value", model.InstancePath(3, 0), model.Node{Kind: model.KindInstance, Value: one}},
		{"object with a value", model.ObjectPath(3), model.Node{Kind: model.KindObject, ID: 3, Value: one}},
	}
}

// CheckEncodeErrors checks that Encode refuses each node of cases with
// 4.00 and returns dst as it was.
func (c NodeCodec) CheckEncodeErrors(t *testing.T, cases []Malformed) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			got, err := c.Encode([]byte("keep"), tc.Path, &tc.Node)
			if !errors.Is(err, model.ErrBadRequest) {
				t.Fatalf("got %q, %v; want 4.00", got, err)
			}
			if string(got) != "keep" {
				t.Errorf("dst changed to %q", got)
			}
		})
	}
}
