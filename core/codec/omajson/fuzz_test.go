package omajson

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

// fuzzPaths are the request paths FuzzDecode decodes every input at.
var fuzzPaths = []model.Path{
	model.ObjectPath(3),
	model.InstancePath(3, 0),
	model.ResourcePath(3, 0, 6),
	model.ResourceInstancePath(3, 0, 6, 1),
	model.InstancePath(1000, 0),
	model.ResourcePath(1000, 0, 16),
}

func addSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzDecode checks that Decode never panics, fails only with 4.00, and
// that whatever it decodes encodes and decodes back to the same node.
func FuzzDecode(f *testing.F) {
	addSeeds(f)
	defs := testDefs(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range []model.Definitions{nil, defs} {
			for _, p := range fuzzPaths {
				nodes.CheckDecode(t, data, p, d)
			}
		}
	})
}

// FuzzParseRecords checks that ParseRecords never panics, fails only with
// 4.00, and that its records survive AppendRecords and ParseRecords.
func FuzzParseRecords(f *testing.F) {
	addSeeds(f)
	defs := testDefs(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range []model.Definitions{nil, defs} {
			recs, err := ParseRecords(data, d)
			if err != nil {
				if !errors.Is(err, model.ErrBadRequest) {
					t.Fatalf("error %v is not 4.00", err)
				}
				if _, err := ParseRecordsAt(data, model.InstancePath(3, 0), d); err != nil && !errors.Is(err, model.ErrBadRequest) {
					t.Fatalf("ParseRecordsAt: error %v is not 4.00", err)
				}
				continue
			}
			enc, err := AppendRecords(nil, model.RootPath(), recs)
			if err != nil {
				t.Fatalf("records %v do not encode: %v", recs, err)
			}
			back, err := ParseRecords(enc, d)
			if err != nil {
				t.Fatalf("re-parse of %s: %v", enc, err)
			}
			if len(back) != len(recs) {
				t.Fatalf("%s: %d records, then %d", enc, len(recs), len(back))
			}
			for i := range recs {
				a, b := recs[i], back[i]
				if a.Path != b.Path || a.Value != b.Value || !a.Time.Equal(b.Time) || a.Time.IsZero() != b.Time.IsZero() {
					t.Fatalf("%s: record %d: %v %v %v, then %v %v %v", enc, i, a.Path, a.Value, a.Time, b.Path, b.Value, b.Time)
				}
			}
		}
	})
}
