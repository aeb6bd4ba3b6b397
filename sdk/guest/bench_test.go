package guest_test

import (
	"context"
	"testing"
	"time"

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

// BenchmarkEvent measures a notification handed to a logic plugin.
func BenchmarkEvent(b *testing.B) {
	logic := &guest.Plugin{Manifest: guest.Manifest{ID: "logic.test", Version: "1"}, Logic: logicFunc(func(context.Context, guest.Event) error { return nil })}
	d := guest.NewDispatcher(logic, nil)
	p := model.MustPath("/3303/0/5700")
	n := model.NewResource(5700, model.Float(21.5))
	ev := &abi.EventRequest{Event: &abi.Event{Type: abi.EventTypeNotification, TimeUnixNano: time.Now().UnixNano(), Endpoint: "dev-000123", RegistrationID: "abcd1234",
		Lifetime: 300, Binding: "U", LWM2MVersion: "1.1", Address: "192.0.2.1:5683", Token: []byte{1, 2, 3, 4},
		Paths: abi.PathsOf([]model.Path{p}), Entries: []abi.Entry{*abi.EntryOf(&model.Entry{Path: p, Node: n})},
		Records: []abi.Record{{Path: abi.PathOf(p), Value: abi.ValueOf(model.Float(21.5))}}}}
	req := ev.MarshalAppend(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Call(context.Background(), abi.MethodEvent, req); err != nil {
			b.Fatal(err)
		}
	}
}
