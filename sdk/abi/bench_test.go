package abi_test

import (
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// What one ObjectRead costs in encoding on either side, reusing buffers
// as the host and a guest do.

func BenchmarkObjectReadRequest(b *testing.B) {
	req := &abi.ObjectReadRequest{Path: abi.PathOf(model.MustPath("/3303/0/5700"))}
	buf := req.MarshalAppend(nil)
	var got abi.ObjectReadRequest
	b.ReportAllocs()
	for b.Loop() {
		buf = req.MarshalAppend(buf[:0])
		if err := got.Unmarshal(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := got.Path.Model(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkObjectReadResponseInstance(b *testing.B) {
	n := model.NewInstance(0,
		model.NewResource(5700, model.Float(21.5)),
		model.NewResource(5701, model.String("Cel")),
		model.NewResource(5601, model.Float(-10)),
		model.NewResource(5602, model.Float(35)),
		model.NewMultipleResourceOf(7, model.Int(1), model.Int(2), model.Int(3)),
	)
	resp := &abi.ObjectReadResponse{Node: abi.NodeOf(&n)}
	buf := resp.MarshalAppend(nil)
	b.SetBytes(int64(len(buf)))
	var got abi.ObjectReadResponse
	b.ReportAllocs()
	for b.Loop() {
		buf = resp.MarshalAppend(buf[:0])
		if err := got.Unmarshal(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := got.Node.Model(); err != nil {
			b.Fatal(err)
		}
	}
}
