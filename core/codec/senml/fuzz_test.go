package senml

import (
	"errors"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

// The fuzz targets check that the decoders never panic, fail only with
// 4.00, and that whatever they decode encodes and decodes back equal.
// Their seeds are the examples of the specification (spec_test.go) and
// the malformed inputs (malformed_test.go), and the corpus committed
// under testdata/fuzz.

func jsonSeeds(add func(string)) {
	for _, s := range []string{table2JSON, table3JSON, table4JSON, table5JSON, table6JSON, table7JSON, table8JSON,
		`[{"bv":1,"bt":1700000000,"bver":10,"n":"/34/0/2","v":1,"t":0.5,"x":{"y":[null]}}]`,
		`[{"n":"/5/0/0","vd":"AQIDBAU="},{"n":"/5/0/1","vs":"\ud83d\ude00\n"},{"n":"/5/0/2","v":-1.5e-3}]`} {
		add(s)
	}
	for _, tc := range malformedJSON {
		add(tc.in)
	}
}

func cborSeeds(f testing.TB, add func([]byte)) {
	for _, s := range []string{table2CBOR, table3CBOR, table4CBOR, table5CBOR, table6CBOR, table7CBOR, table8CBOR,
		"9f bf 00 7f 64 2f332f30 62 2f30 ff 03 7f 61 61 61 62 ff ff a3 21 65 2f332f302f 00 61 31 02 05 ff",
		"81 a4 22 1a 6553f100 00 66 2f312f302f31 02 c4 82 21 19 6ab3 06 f9 b400"} {
		add(unhex(f, s))
	}
	for _, tc := range malformedCBOR {
		add(unhex(f, tc.hex))
	}
}

func mustDecodeError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, model.ErrBadRequest) {
		t.Fatalf("decode error %v is not 4.00", err)
	}
}

// unwritable reports whether a record has a time that SenML cannot write
// as absolute: a relative time resolved before 2^28 seconds.
func unwritable(recs []model.Record) bool {
	for _, r := range recs {
		if !r.Time.IsZero() && (r.Time.Unix() < relativeLimit || r.Time.Unix() >= maxSeconds) {
			return true
		}
	}
	return false
}

func fuzzRecords(t *testing.T, f format, data []byte) {
	recs, err := f.parseRecs(data)
	if err != nil {
		mustDecodeError(t, err)
		return
	}
	b, err := f.appendRecs(nil, recs)
	if err != nil {
		if unwritable(recs) && model.CodeOf(err) == model.NotAcceptable {
			return
		}
		t.Fatalf("append %v: %v", recs, err)
	}
	back, err := f.parseRecs(b)
	if err != nil {
		t.Fatalf("parse %s: %v", show(f, b), err)
	}
	if !recordsMatch(back, recs, f.name == "cbor") {
		t.Fatalf("round trip\n got %v\nwant %v\n%s", back, recs, show(f, b))
	}
}

func FuzzParseJSONRecords(f *testing.F) {
	jsonSeeds(func(s string) { f.Add([]byte(s)) })
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRecords(t, formats[0], data) })
}

func FuzzParseCBORRecords(f *testing.F) {
	cborSeeds(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, data []byte) { fuzzRecords(t, formats[1], data) })
}

var fuzzDefs, _ = newTestDefs()

func fuzzNode(t *testing.T, f format, data []byte, path string) {
	p, err := model.ParsePath(path)
	if err != nil {
		return
	}
	for _, defs := range []model.Definitions{nil, fuzzDefs} {
		f.nodes().CheckDecode(t, data, p, defs)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	jsonSeeds(func(s string) {
		for _, p := range []string{"/3/0", "/3/0/0", "/72", "/3/0/6", "/3/0/6/1", "/65"} {
			f.Add([]byte(s), p)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte, path string) { fuzzNode(t, formats[0], data, path) })
}

func FuzzDecodeCBOR(f *testing.F) {
	cborSeeds(f, func(b []byte) {
		for _, p := range []string{"/3/0", "/3/0/0", "/72", "/3/0/6", "/3/0/6/1", "/65"} {
			f.Add(b, p)
		}
	})
	f.Fuzz(func(t *testing.T, data []byte, path string) { fuzzNode(t, formats[1], data, path) })
}

func fuzzPaths(t *testing.T, f format, data []byte) {
	paths, err := f.parsePaths(data)
	if err != nil {
		mustDecodeError(t, err)
		return
	}
	b, err := f.appendPaths(nil, paths)
	if err != nil {
		t.Fatalf("append %v: %v", paths, err)
	}
	back, err := f.parsePaths(b)
	if err != nil {
		t.Fatalf("parse %s: %v", show(f, b), err)
	}
	if len(back) != len(paths) {
		t.Fatalf("round trip: got %v, want %v", back, paths)
	}
	for i := range back {
		if back[i] != paths[i] {
			t.Fatalf("round trip: got %v, want %v", back, paths)
		}
	}
}

func FuzzParseJSONPaths(f *testing.F) {
	jsonSeeds(func(s string) { f.Add([]byte(s)) })
	f.Add([]byte(`[{"n":"/"},{"bn":"/3/0/","n":"1"},{"n":"/1"}]`))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzPaths(t, formats[0], data) })
}

func FuzzParseCBORPaths(f *testing.F) {
	cborSeeds(f, func(b []byte) { f.Add(b) })
	f.Add(unhex(f, "9f a1 00 62 2f31 bf 00 61 2f ff ff"))
	f.Fuzz(func(t *testing.T, data []byte) { fuzzPaths(t, formats[1], data) })
}
