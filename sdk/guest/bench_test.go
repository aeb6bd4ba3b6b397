package guest_test

import (
	"context"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

// BenchmarkDispatch measures a call through the Dispatcher natively, with
// no host in the context (as on wasip1): decoding, checks, the object,
// encoding. Allocations matter most: in a Wasm guest each costs about a
// microsecond.
func BenchmarkDispatch(b *testing.B) {
	inst := model.NewInstance(0, model.NewResource(0, model.Int(21)), model.NewMultipleResourceOf(2, model.String("a"), model.String("b")))
	o := &object{
		read: func(_ context.Context, p model.Path) (model.Node, error) {
			if p.IsInstance() {
				return inst, nil
			}
			return model.NewResource(0, model.Int(21)), nil
		},
		write:   func(context.Context, model.Path, model.Node, bool) error { return nil },
		execute: func(context.Context, model.Path, []byte) error { return nil },
	}
	d := guest.NewDispatcher(plugin(o), nil)
	ctx := context.Background()
	if _, err := d.Call(ctx, abi.MethodStart, nil); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		m    abi.Method
		req  interface{ MarshalAppend([]byte) []byte }
	}{
		{"read resource", abi.MethodObjectRead, &abi.ObjectReadRequest{Path: abi.PathOf(model.MustPath("/42771/0/0"))}},
		{"read instance", abi.MethodObjectRead, &abi.ObjectReadRequest{Path: abi.PathOf(model.MustPath("/42771/0"))}},
		{"instances", abi.MethodObjectInstances, &abi.ObjectInstancesRequest{ObjectID: 42771}},
		{"write resource", abi.MethodObjectWrite, &abi.ObjectWriteRequest{Path: abi.PathOf(model.MustPath("/42771/0/0")), Node: abi.NodeOf(&model.Node{Kind: model.KindResource, Value: model.Int(3)}), Replace: true}},
		{"execute", abi.MethodObjectExecute, &abi.ObjectExecuteRequest{Path: abi.PathOf(model.MustPath("/42771/0/1"))}},
	} {
		req := c.req.MarshalAppend(nil)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.Call(ctx, c.m, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
