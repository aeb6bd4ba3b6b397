package lwm2mcbor

import (
	"errors"
	"slices"
	"testing"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
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
	n := codectest.DeviceInstance()
	device, err := Encode(nil, model.InstancePath(3, 0), &n)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(device)
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
	n := codectest.DeviceInstance()
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
