package senml

import (
	"bytes"
	"runtime"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/model"
)

// The benchmarks read and write the Device object instance of Core 1.1
// Table 7.4.4-2.

func BenchmarkEncodeJSON(b *testing.B) { benchEncode(b, formats[0]) }
func BenchmarkEncodeCBOR(b *testing.B) { benchEncode(b, formats[1]) }
func BenchmarkDecodeJSON(b *testing.B) { benchDecode(b, formats[0]) }
func BenchmarkDecodeCBOR(b *testing.B) { benchDecode(b, formats[1]) }

func BenchmarkParseJSONRecords(b *testing.B) { benchParseRecords(b, formats[0]) }
func BenchmarkParseCBORRecords(b *testing.B) { benchParseRecords(b, formats[1]) }

func benchEncode(b *testing.B, f format) {
	n := codectest.DeviceInstance()
	f.nodes().BenchmarkEncode(b, mp("/3/0"), &n)
}

func benchDecode(b *testing.B, f format) {
	n := codectest.DeviceInstance()
	f.nodes().BenchmarkDecode(b, mp("/3/0"), &n, testDefs(b))
}

func benchParseRecords(b *testing.B, f format) {
	n := codectest.DeviceInstance()
	data, err := f.encode(nil, mp("/3/0"), &n)
	if err != nil {
		b.Fatal(err)
	}
	codectest.BenchmarkParse(b, data, f.parseRecs)
}

// TestAllocationBound checks that decoding hostile input allocates at most
// a fixed multiple of its size.
func TestAllocationBound(t *testing.T) {
	const factor = 64
	many := func(first, rest string, n int) []byte {
		return []byte("[" + first + strings.Repeat(","+rest, n) + "]")
	}
	cborMany := func(n int) []byte {
		// A definite array claiming n records of 3 bytes each: {2: 1}.
		b := []byte{0x9a, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
		b = append(b, 0xa2, 0x21, 0x66)
		b = append(b, "/1/1/1"...)
		b = append(b, 0x02, 0x01)
		return append(b, bytes.Repeat([]byte{0xa1, 0x02, 0x01}, n-1)...)
	}
	tests := []struct {
		name  string
		data  []byte
		parse func([]byte) error
	}{
		{"json small records", many(`{"bn":"/1/1/1","v":1}`, `{"v":1}`, 100000), func(b []byte) error { _, err := ParseJSONRecords(b); return err }},
		{"json escaped strings", many(`{"bn":"/1/1/1","vs":"\n"}`, `{"vs":"\n"}`, 100000), func(b []byte) error { _, err := ParseJSONRecords(b); return err }},
		{"json paths", many(`{"n":"/1"}`, `{"n":"/1"}`, 100000), func(b []byte) error { _, err := ParseJSONPaths(b); return err }},
		{"json unknown labels", many(`{"bn":"/1/1/1","v":1,"x":[[[{"a":"\u0041"}]]]}`, `{"v":1,"x":[[[{"a":"\u0041"}]]]}`, 20000), func(b []byte) error { _, err := ParseJSONRecords(b); return err }},
		{"cbor small records", cborMany(100000), func(b []byte) error { _, err := ParseCBORRecords(b); return err }},
		{"cbor truncated claim", cborMany(100000)[:1000], func(b []byte) error { _, err := ParseCBORRecords(b); return err }},
		{"cbor paths", append([]byte{0x9a, 0, 1, 0x86, 0xa0}, bytes.Repeat([]byte{0xa1, 0x00, 0x61, '/'}, 100000)...), func(b []byte) error { _, err := ParseCBORPaths(b); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := tc.parse(tc.data)
			runtime.ReadMemStats(&after)
			if strings.Contains(tc.name, "truncated") {
				mustBadRequest(t, err)
			} else if err != nil {
				t.Fatal(err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > factor*uint64(len(tc.data))+1<<16 {
				t.Errorf("allocated %d bytes for %d bytes of input", got, len(tc.data))
			}
		})
	}
	_ = model.Record{}
}
