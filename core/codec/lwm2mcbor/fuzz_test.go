package lwm2mcbor

import (
	"errors"
	"slices"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

// fuzzPaths are the request paths FuzzDecode decodes every input at.
var fuzzPaths = []model.Path{
	model.ObjectPath(3),
	model.InstancePath(3, 0),
	model.ResourcePath(3, 0, 6),
	model.ResourceInstancePath(3, 0, 6, 1),
	model.ObjectPath(13),
	model.InstancePath(13, 26),
	model.ResourcePath(13, 26, 1),
	model.InstancePath(1000, 0),
	model.ResourcePath(1000, 0, 16),
}

// FuzzDecode checks that Decode never panics, fails only with 4.00, and
// that whatever it decodes encodes and decodes back to the same node.
func FuzzDecode(f *testing.F) {
	n := deviceInstance()
	device, err := Encode(nil, model.InstancePath(3, 0), &n)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(device)
	defs := testDefs(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range []model.Definitions{nil, defs} {
			for _, p := range fuzzPaths {
				n, err := Decode(data, p, d)
				if err != nil {
					if !errors.Is(err, model.ErrBadRequest) {
						t.Fatalf("Decode at %s: error %v is not 4.00", p, err)
					}
					continue
				}
				enc, err := Encode(nil, p, &n)
				if err != nil {
					t.Fatalf("Decode at %s gave %v, which does not encode: %v", p, n, err)
				}
				back, err := Decode(enc, p, d)
				if err != nil {
					t.Fatalf("re-decode at %s of %s: %v", p, diag(enc), err)
				}
				if !back.Equal(&n) {
					t.Fatalf("at %s: %s\nfirst  %v\nsecond %v", p, diag(enc), n, back)
				}
			}
		}
	})
}

// FuzzParseRecords checks that ParseRecords never panics, fails only with
// 4.00, and that its records survive AppendRecords and ParseRecords.
func FuzzParseRecords(f *testing.F) {
	n := deviceInstance()
	device, err := Encode(nil, model.InstancePath(3, 0), &n)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(device)
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ParseRecords(data)
		if err != nil {
			if !errors.Is(err, model.ErrBadRequest) {
				t.Fatalf("error %v is not 4.00", err)
			}
			return
		}
		enc, err := AppendRecords(nil, recs)
		if err != nil {
			t.Fatalf("records %v do not encode: %v", recs, err)
		}
		back, err := ParseRecords(enc)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", diag(enc), err)
		}
		if !slices.Equal(back, recs) {
			t.Fatalf("%s\nfirst  %v\nsecond %v", diag(enc), recs, back)
		}
	})
}
