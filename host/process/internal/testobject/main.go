// Command testobject is an object plugin written with sdk/guest, as a Wasm
// plugin is, served as a process plugin: object 3303 with one instance
// whose Sensor Value (5700) is 21.5.
package main

import (
	"context"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/guest"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

type sensor struct{}

var def = &model.ObjectDef{
	ID: 3303, Name: "Temperature", Multiple: true, Version: model.Version{Major: 1, Minor: 1},
	Resources: []model.ResourceDef{{ID: 5700, Name: "Sensor Value", Operations: model.OpRead, Mandatory: true, Type: model.TypeFloat}},
}

func (sensor) Definition() *model.ObjectDef                { return def }
func (sensor) Instances(context.Context) ([]uint16, error) { return []uint16{0}, nil }

func (sensor) Read(_ context.Context, p model.Path) (model.Node, error) {
	res := model.Node{Kind: model.KindResource, ID: 5700, Value: model.Float(21.5)}
	switch {
	case p.Len() >= 2 && p.ID(1) != 0, p.Len() >= 3 && p.ID(2) != 5700:
		return model.Node{}, model.ErrNotFound
	case p.Len() == 3:
		return res, nil
	}
	return model.Node{Kind: model.KindInstance, ID: 0, Children: []model.Node{res}}, nil
}

func (sensor) Write(context.Context, model.Path, model.Node, bool) error {
	return model.ErrMethodNotAllowed
}
func (sensor) Execute(context.Context, model.Path, []byte) error { return model.ErrMethodNotAllowed }
func (sensor) Create(context.Context, model.Node) (uint16, error) {
	return 0, model.ErrMethodNotAllowed
}
func (sensor) Delete(context.Context, uint16) error { return model.ErrMethodNotAllowed }

func main() {
	d := guest.NewDispatcher(&guest.Plugin{
		Manifest: guest.Manifest{ID: "objects.testprocess", Name: "test object", Version: "1.0.0"},
		Objects:  []guest.Object{sensor{}},
	}, nil)
	if d.Err() != nil {
		panic(d.Err())
	}
	procplugin.Serve(procplugin.Serial(d))
}
