// Command tiny is the smallest useful object plugin: one object with one
// read-only resource, a read counter, which logs when it starts and
// reports its change (so that it imports every host function). The guest
// package's tests build it for wasip1 and check its exports and imports;
// its size is the floor of a Go plugin.
package main

import (
	"context"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

var def = &model.ObjectDef{
	ID: 42770, Name: "Tiny", Version: model.V1_0,
	Resources: []model.ResourceDef{
		{ID: 0, Name: "Count", Operations: model.OpRead, Mandatory: true, Type: model.TypeInteger},
	},
}

type tiny struct{ reads int64 }

func (*tiny) Definition() *model.ObjectDef { return def }

func (*tiny) Instances(context.Context) ([]uint16, error) { return []uint16{0}, nil }

func (t *tiny) Read(ctx context.Context, p model.Path) (model.Node, error) {
	if p.InstanceID() != 0 {
		return model.Node{}, model.ErrNotFound
	}
	t.reads++
	if err := guest.Changed(ctx, model.ResourcePath(def.ID, 0, 0)); err != nil {
		return model.Node{}, err
	}
	r := model.NewResource(0, model.Int(t.reads))
	if p.IsInstance() {
		return model.NewInstance(0, r), nil
	}
	return r, nil
}

func (*tiny) Write(context.Context, model.Path, model.Node, bool) error {
	return model.ErrMethodNotAllowed
}

func (*tiny) Execute(context.Context, model.Path, []byte) error { return model.ErrMethodNotAllowed }

func (*tiny) Create(context.Context, model.Node) (uint16, error) {
	return 0, model.ErrMethodNotAllowed
}

func (*tiny) Delete(_ context.Context, id uint16) error {
	if id != 0 {
		return model.ErrNotFound
	}
	return model.ErrMethodNotAllowed
}

func (*tiny) Configure(ctx context.Context, config []byte) error {
	guest.Log(ctx, guest.LevelInfo, "tiny started", "config_bytes", len(config))
	return nil
}

func init() {
	guest.Register(guest.Plugin{
		Manifest: guest.Manifest{ID: "objects.tiny", Name: "Tiny", Version: "1.0.0", Capabilities: []string{abi.CapChanged}},
		Objects:  []guest.Object{&tiny{}},
	})
}

func main() {}
