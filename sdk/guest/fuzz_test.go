package guest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
	"github.com/wasm2m/wasm2m/sdk/plugintest"
)

// FuzzDispatch sends arbitrary bytes as the request of every method: the
// Dispatcher answers or fails with a status, and never panics on its own
// (a panic would show as "panic:" in a 5.00).
func FuzzDispatch(f *testing.F) {
	seeds := []struct {
		m   abi.Method
		msg interface{ MarshalAppend([]byte) []byte }
	}{
		{abi.MethodObjectRead, &abi.ObjectReadRequest{Path: abi.PathOf(model.MustPath("/42771/0/2/1"))}},
		{abi.MethodObjectWrite, &abi.ObjectWriteRequest{Path: abi.PathOf(model.MustPath("/42771/0")), Node: abi.NodeOf(&model.Node{Kind: model.KindInstance, Children: []model.Node{model.NewMultipleResourceOf(2, model.String("a"))}}), Replace: true}},
		{abi.MethodObjectExecute, &abi.ObjectExecuteRequest{Path: abi.PathOf(model.MustPath("/42771/0/1")), Args: []byte("0='x'")}},
		{abi.MethodObjectCreate, &abi.ObjectCreateRequest{ObjectID: 42771, Node: &abi.Node{Kind: abi.NodeKindInstance, ID: 65535}}},
		{abi.MethodObjectDelete, &abi.ObjectDeleteRequest{Path: abi.PathOf(model.MustPath("/42771/0"))}},
		{abi.MethodObjectInstances, &abi.ObjectInstancesRequest{ObjectID: 42771}},
		{abi.MethodEvent, &abi.EventRequest{Event: &abi.Event{Type: abi.EventTypeNotification, Paths: []abi.Path{{IDs: []uint32{3}}}}}},
		{abi.MethodStart, &abi.StartRequest{Config: []byte("{}")}},
	}
	for _, s := range seeds {
		f.Add(int32(s.m), s.msg.MarshalAppend(nil))
	}
	f.Add(int32(abi.MethodObjectRead), []byte{0x0a, 0x7f})
	ok := func(context.Context, model.Path, model.Node, bool) error { return nil }
	o := &object{
		read: func(_ context.Context, p model.Path) (model.Node, error) {
			if p.Level() == model.LevelInstance {
				return model.NewInstance(p.InstanceID(), model.NewResource(0, model.Int(1))), nil
			}
			if p.IsResourceInstance() {
				return model.NewResourceInstance(p.ResourceInstanceID(), model.String("t")), nil
			}
			if p.ResourceID() == 2 {
				return model.NewMultipleResourceOf(2, model.String("t")), nil
			}
			return model.NewResource(p.ResourceID(), model.Int(1)), nil
		},
		write:   ok,
		execute: func(context.Context, model.Path, []byte) error { return nil },
	}
	logic := &guest.Plugin{Manifest: guest.Manifest{ID: "logic.test", Version: "1"}, Logic: logicFunc(func(context.Context, guest.Event) error { return nil })}
	f.Fuzz(func(t *testing.T, m int32, b []byte) {
		for _, p := range []*guest.Plugin{plugin(o), logic} {
			d := guest.NewDispatcher(p, plugintest.NewHost())
			_, err := d.Call(context.Background(), abi.Method(m), b)
			if err != nil && strings.Contains(err.Error(), "panic") {
				t.Fatalf("%s: method %d, %x: %v", p.Manifest.ID, m, b, err)
			}
			if err != nil && model.CodeOf(err).Class() != 4 && model.CodeOf(err).Class() != 5 {
				t.Fatalf("%s: method %d, %x: %v is not a 4.xx or 5.xx", p.Manifest.ID, m, b, err)
			}
		}
	})
}

type logicFunc func(context.Context, guest.Event) error

func (f logicFunc) OnEvent(ctx context.Context, e guest.Event) error { return f(ctx, e) }
