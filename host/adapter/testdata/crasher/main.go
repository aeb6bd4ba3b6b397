// Command crasher is a test object plugin that traps on purpose: object
// 42801 reads 7 at /42801/0/0, and executing /42801/0/1 hits a fatal error
// of the Go runtime (no panic to recover: the instance traps).
package main

import (
	"context"
	"sync"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

var def = &model.ObjectDef{
	ID: 42801, Name: "Crasher", Version: model.V1_0,
	Resources: []model.ResourceDef{
		{ID: 0, Name: "Value", Operations: model.OpRead, Mandatory: true, Type: model.TypeInteger},
		{ID: 1, Name: "Crash", Operations: model.OpExecute},
	},
}

type crasher struct{ mu sync.Mutex }

func (*crasher) Definition() *model.ObjectDef { return def }

func (*crasher) Instances(context.Context) ([]uint16, error) { return []uint16{0}, nil }

func (*crasher) Read(_ context.Context, p model.Path) (model.Node, error) {
	if p.InstanceID() != 0 || p.IsResourceInstance() || (p.IsResource() && p.ResourceID() != 0) {
		return model.Node{}, model.ErrNotFound
	}
	r := model.NewResource(0, model.Int(7))
	if p.IsInstance() {
		return model.NewInstance(0, r), nil
	}
	return r, nil
}

func (*crasher) Write(context.Context, model.Path, model.Node, bool) error {
	return model.ErrMethodNotAllowed
}

func (c *crasher) Execute(_ context.Context, p model.Path, _ []byte) error {
	if p.InstanceID() != 0 {
		return model.ErrNotFound
	}
	c.mu.Unlock() // fatal error: sync: unlock of unlocked mutex
	return nil
}

func (*crasher) Create(context.Context, model.Node) (uint16, error) {
	return 0, model.ErrMethodNotAllowed
}

func (*crasher) Delete(_ context.Context, id uint16) error {
	if id != 0 {
		return model.ErrNotFound
	}
	return model.ErrMethodNotAllowed
}

func init() {
	guest.Register(guest.Plugin{
		Manifest: guest.Manifest{ID: "objects.crasher", Name: "Crasher", Version: "1.0.0"},
		Objects:  []guest.Object{&crasher{}},
	})
}

func main() {}
