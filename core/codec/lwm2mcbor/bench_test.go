package lwm2mcbor

import (
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

func BenchmarkEncodeDevice(b *testing.B) {
	n := deviceInstance()
	p := model.InstancePath(3, 0)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = Encode(buf[:0], p, &n); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeDevice(b *testing.B) {
	n := deviceInstance()
	p := model.InstancePath(3, 0)
	data, err := Encode(nil, p, &n)
	if err != nil {
		b.Fatal(err)
	}
	defs := testDefs(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data, p, defs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRecordsDevice(b *testing.B) {
	n := deviceInstance()
	data, err := Encode(nil, model.InstancePath(3, 0), &n)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRecords(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendRecordsDevice(b *testing.B) {
	n := deviceInstance()
	recs, err := model.Flatten(nil, model.InstancePath(3, 0), &n)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = AppendRecords(buf[:0], recs); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}
