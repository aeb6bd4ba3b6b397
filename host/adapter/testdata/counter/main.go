// Command counter is a test object plugin: object 42800, whose instances 0
// and 1 count executions of their resource 1, keep their count and label in
// the plugin's key-value space (so that every instance of the plugin, and
// the next run, sees them) and report each change with Changed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

var def = &model.ObjectDef{
	ID: 42800, Name: "Counter", Version: model.V1_0, LWM2MVersion: model.V1_1, Multiple: true,
	Resources: []model.ResourceDef{
		{ID: 0, Name: "Value", Operations: model.OpRead, Mandatory: true, Type: model.TypeInteger},
		{ID: 1, Name: "Increment", Operations: model.OpExecute},
		{ID: 2, Name: "Label", Operations: model.OpRead | model.OpWrite, Type: model.TypeString},
		{ID: 3, Name: "Name", Operations: model.OpRead, Type: model.TypeString},
	},
}

type counter struct{ name string }

func (*counter) Definition() *model.ObjectDef { return def }

func (c *counter) Configure(ctx context.Context, config []byte) error {
	c.name = "counter"
	if len(config) > 0 {
		var cfg struct{ Name string }
		if err := json.Unmarshal(config, &cfg); err != nil {
			return err
		}
		if cfg.Name != "" {
			c.name = cfg.Name
		}
	}
	return nil
}

func (*counter) Instances(context.Context) ([]uint16, error) { return []uint16{0, 1}, nil }

func key(what string, id uint16) string { return what + "/" + strconv.Itoa(int(id)) }

func value(ctx context.Context, id uint16) (int64, error) {
	b, err := guest.KV.Get(ctx, key("value", id))
	if errors.Is(err, model.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(b), 10, 64)
}

func label(ctx context.Context, id uint16) (string, error) {
	b, err := guest.KV.Get(ctx, key("label", id))
	if errors.Is(err, model.ErrNotFound) {
		return "", nil
	}
	return string(b), err
}

func (c *counter) resource(ctx context.Context, id, res uint16) (model.Node, error) {
	switch res {
	case 0:
		v, err := value(ctx, id)
		return model.NewResource(0, model.Int(v)), err
	case 2:
		l, err := label(ctx, id)
		return model.NewResource(2, model.String(l)), err
	case 3:
		return model.NewResource(3, model.String(c.name)), nil
	}
	return model.Node{}, model.ErrNotFound
}

func (c *counter) Read(ctx context.Context, p model.Path) (model.Node, error) {
	id := p.InstanceID()
	if id > 1 {
		return model.Node{}, model.ErrNotFound
	}
	if p.IsInstance() {
		var rs []model.Node
		for _, r := range []uint16{0, 2, 3} {
			n, err := c.resource(ctx, id, r)
			if err != nil {
				return model.Node{}, err
			}
			rs = append(rs, n)
		}
		return model.NewInstance(id, rs...), nil
	}
	if p.IsResourceInstance() {
		return model.Node{}, model.ErrNotFound
	}
	return c.resource(ctx, id, p.ResourceID())
}

func (c *counter) Write(ctx context.Context, p model.Path, n model.Node, replace bool) error {
	id := p.InstanceID()
	if id > 1 {
		return model.ErrNotFound
	}
	l := n.Value.Str()
	if p.IsInstance() {
		r := n.Child(2)
		if r == nil {
			if !replace {
				return nil
			}
			l = ""
		} else {
			l = r.Value.Str()
		}
	}
	if err := guest.KV.Put(ctx, key("label", id), []byte(l)); err != nil {
		return err
	}
	return guest.Changed(ctx, model.ResourcePath(def.ID, id, 2))
}

func (c *counter) Execute(ctx context.Context, p model.Path, args []byte) error {
	id := p.InstanceID()
	if id > 1 {
		return model.ErrNotFound
	}
	v, err := value(ctx, id)
	if err != nil {
		return err
	}
	if err := guest.KV.Put(ctx, key("value", id), []byte(strconv.FormatInt(v+1, 10))); err != nil {
		return err
	}
	guest.Log(ctx, guest.LevelInfo, "incremented", "instance", id, "value", v+1)
	return guest.Changed(ctx, model.ResourcePath(def.ID, id, 0))
}

func (*counter) Create(context.Context, model.Node) (uint16, error) {
	return 0, model.Errorf(model.MethodNotAllowed, "the counters are fixed")
}

func (*counter) Delete(_ context.Context, id uint16) error {
	if id > 1 {
		return model.ErrNotFound
	}
	return model.Errorf(model.MethodNotAllowed, "the counters are fixed")
}

func init() {
	guest.Register(guest.Plugin{
		Manifest: guest.Manifest{ID: "objects.counter", Name: "Counter", Version: "1.0.0",
			Capabilities: []string{abi.CapChanged, abi.CapKV},
			ConfigSchema: `{"type":"object","properties":{"name":{"type":"string"}}}`},
		Objects: []guest.Object{&counter{}},
	})
}

func main() {}
