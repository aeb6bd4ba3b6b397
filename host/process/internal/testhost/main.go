// Command testhost is an object plugin written with sdk/guest whose
// objects make host calls, served as a process plugin with
// procplugin.Host as its host: object 3303, one instance, whose Sensor
// Value (5700) is kept in the plugin's key-value space (kv): Read gets
// it, Write puts it, logs the change and tells the host it changed
// (changed). Its manifest asks for kv and changed.
package main

import (
	"context"
	"errors"
	"strconv"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

type sensor struct{}

var def = &model.ObjectDef{
	ID: 3303, Name: "Temperature", Multiple: true, Version: model.Version{Major: 1, Minor: 1},
	Resources: []model.ResourceDef{{ID: 5700, Name: "Sensor Value", Operations: model.OpRead | model.OpWrite, Mandatory: true, Type: model.TypeFloat}},
}

var valuePath = model.MustPath("/3303/0/5700")

func (sensor) Definition() *model.ObjectDef                { return def }
func (sensor) Instances(context.Context) ([]uint16, error) { return []uint16{0}, nil }

func (sensor) Read(ctx context.Context, p model.Path) (model.Node, error) {
	if p.Len() >= 2 && p.ID(1) != 0 || p.Len() >= 3 && p.ID(2) != 5700 {
		return model.Node{}, model.ErrNotFound
	}
	v, err := guest.KV.Get(ctx, "value")
	if errors.Is(err, model.ErrNotFound) {
		v, err = []byte("0"), nil
	}
	if err != nil {
		return model.Node{}, err
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return model.Node{}, model.Errorf(model.InternalServerError, "stored value %q: %v", v, err)
	}
	res := model.Node{Kind: model.KindResource, ID: 5700, Value: model.Float(f)}
	if p.Len() == 3 {
		return res, nil
	}
	return model.Node{Kind: model.KindInstance, ID: 0, Children: []model.Node{res}}, nil
}

func (sensor) Write(ctx context.Context, p model.Path, n model.Node, _ bool) error {
	if p != valuePath {
		return model.ErrMethodNotAllowed
	}
	v := strconv.FormatFloat(n.Value.Float(), 'g', -1, 64)
	if err := guest.KV.Put(ctx, "value", []byte(v)); err != nil {
		return err
	}
	guest.Log(ctx, guest.LevelInfo, "value changed", "value", v)
	return guest.Changed(ctx, valuePath)
}

func (sensor) Execute(context.Context, model.Path, []byte) error { return model.ErrMethodNotAllowed }
func (sensor) Create(context.Context, model.Node) (uint16, error) {
	return 0, model.ErrMethodNotAllowed
}
func (sensor) Delete(context.Context, uint16) error { return model.ErrMethodNotAllowed }

func main() {
	d := guest.NewDispatcher(&guest.Plugin{
		Manifest: guest.Manifest{ID: "objects.testhost", Name: "host calls", Version: "1.0.0",
			Capabilities: []string{abi.CapKV, abi.CapChanged}},
		Objects: []guest.Object{sensor{}},
	}, procplugin.Host())
	if d.Err() != nil {
		panic(d.Err())
	}
	procplugin.Serve(procplugin.Serial(d))
}
