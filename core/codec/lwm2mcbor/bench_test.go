package lwm2mcbor

import (
	"testing"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/model"
)

func BenchmarkEncodeDevice(b *testing.B) {
	n := codectest.DeviceInstance()
	nodes.BenchmarkEncode(b, model.InstancePath(3, 0), &n)
}

func BenchmarkDecodeDevice(b *testing.B) {
	n := codectest.DeviceInstance()
	nodes.BenchmarkDecode(b, model.InstancePath(3, 0), &n, testDefs(b))
}

func BenchmarkParseRecordsDevice(b *testing.B) {
	n := codectest.DeviceInstance()
	data, err := Encode(nil, model.InstancePath(3, 0), &n)
	if err != nil {
		b.Fatal(err)
	}
	codectest.BenchmarkParse(b, data, ParseRecords)
}

func BenchmarkAppendRecordsDevice(b *testing.B) {
	n := codectest.DeviceInstance()
	recs, err := model.Flatten(nil, model.InstancePath(3, 0), &n)
	if err != nil {
		b.Fatal(err)
	}
	codectest.BenchmarkAppend(b, recs, AppendRecords)
}
