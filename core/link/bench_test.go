package link

import (
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

// registration50 is a client with the root link, content formats and 50
// objects: the core objects and IPSO objects, every third with a version,
// most with two instances.
func registration50() Registration {
	r := Registration{Root: "/", ContentFormats: []uint16{60, 110, 112, 11542, 11543}}
	ids := []uint16{1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 14, 15, 16, 19, 20}
	for id := uint16(3300); len(ids) < 50; id++ {
		ids = append(ids, id)
	}
	for i, id := range ids {
		o := Object{ID: id}
		if i%3 == 0 {
			o.Version = model.V1_1
		}
		switch i % 5 {
		case 0: // supported, not instantiated
		case 1:
			o.Instances = []uint16{0}
		default:
			o.Instances = []uint16{0, 1}
		}
		r.Objects = append(r.Objects, o)
	}
	return r
}

func BenchmarkParseRegistration50(b *testing.B) {
	payload := AppendRegistration(nil, registration50())
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRegistration(payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendRegistration50(b *testing.B) {
	r := registration50()
	buf := AppendRegistration(nil, r)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRegistration(buf[:0], r)
	}
}

func BenchmarkParse50(b *testing.B) {
	payload := AppendRegistration(nil, registration50())
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppend50(b *testing.B) {
	links, err := Parse(AppendRegistration(nil, registration50()))
	if err != nil {
		b.Fatal(err)
	}
	buf := Append(nil, links)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], links)
	}
}

func BenchmarkParseDiscover(b *testing.B) {
	payload := []byte(`</3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/2>,</3/0/3>,</3/0/4>,</3/0/6>;dim=2,</3/0/6/0>,</3/0/6/3>,</3/0/7>;dim=2;gt=50;lt=42.2,</3/0/7/0>,</3/0/7/1>;lt=45,</3/0/8>;dim=2,</3/0/8/1>,</3/0/8/2>,</3/0/11>,</3/0/16>`)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseDiscover(payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseQuery(b *testing.B) {
	q := []string{"pmin=10", "pmax=60", "gt=50", "lt=42.2", "st=0.5"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseQuery(q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEffective(b *testing.B) {
	object := Attributes{PMin: Set[uint32](10)}
	instance := Attributes{PMax: Set[uint32](60)}
	resource := Attributes{GT: Set(50.0), LT: Set(42.2)}
	b.ReportAllocs()
	for b.Loop() {
		_ = Effective(object, instance, resource)
	}
}
