package adapter

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Object is one object of an object plugin as a core/client Object: each
// method is one call of the plugin (abi.MethodObjectRead...), with the
// plugin's error codes kept. It is Observable: the engine's changed
// function is where the plugin's changed host calls go (see
// Host.RouteChanged).
//
// Its methods are safe for concurrent use; the plugin's carrier bounds how
// many run at once (a Wasm plugin's instance pool).
type Object struct {
	c       Caller
	plugin  string
	def     *model.ObjectDef
	changed atomic.Pointer[[]func(paths ...model.Path)]
}

var (
	_ client.Object     = (*Object)(nil)
	_ client.Observable = (*Object)(nil)
)

// NewObjects returns one Object per object the plugin lists
// (abi.MethodObjectList). plugin is the plugin's id, for errors.
func NewObjects(ctx context.Context, plugin string, c Caller) ([]*Object, error) {
	defs, err := Definitions(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", plugin, err)
	}
	objs := make([]*Object, len(defs))
	for i, d := range defs {
		objs[i] = &Object{c: c, plugin: plugin, def: d}
	}
	return objs, nil
}

// NewObject returns the object def of the plugin without asking the plugin
// for its list: for a host that already has the definition.
func NewObject(plugin string, c Caller, def *model.ObjectDef) *Object {
	return &Object{c: c, plugin: plugin, def: def}
}

// Plugin returns the id of the plugin that implements the object.
func (o *Object) Plugin() string { return o.plugin }

// Definition implements client.Object.
func (o *Object) Definition() *model.ObjectDef { return o.def }

// Observe implements client.Observable. Each engine that serves the
// object (several simulated devices may share one plugin) adds its
// function.
func (o *Object) Observe(changed func(paths ...model.Path)) {
	for {
		old := o.changed.Load()
		var fs []func(paths ...model.Path)
		if old != nil {
			fs = append(fs, *old...)
		}
		fs = append(fs, changed)
		if o.changed.CompareAndSwap(old, &fs) {
			return
		}
	}
}

// Changed reports that the values at paths changed to the engines that
// observe the object.
func (o *Object) Changed(paths ...model.Path) {
	if fs := o.changed.Load(); fs != nil {
		for _, f := range *fs {
			f(paths...)
		}
	}
}

func (o *Object) fail(op string, err error) error {
	return fmt.Errorf("plugin %s: object %d: %s: %w", o.plugin, o.def.ID, op, err)
}

// Instances implements client.Object.
func (o *Object) Instances(ctx context.Context) ([]uint16, error) {
	var resp abi.ObjectInstancesResponse
	if err := call(ctx, o.c, abi.MethodObjectInstances, &abi.ObjectInstancesRequest{ObjectID: uint32(o.def.ID)}, &resp); err != nil {
		return nil, o.fail("instances", err)
	}
	ids := make([]uint16, len(resp.InstanceIDs))
	for i, id := range resp.InstanceIDs {
		if id > model.MaxID || (i > 0 && uint32(ids[i-1]) >= id) {
			return nil, o.fail("instances", model.Errorf(model.InternalServerError, "instance ids not ascending ids up to 65534: %v", resp.InstanceIDs))
		}
		ids[i] = uint16(id)
	}
	return ids, nil
}

// Read implements client.Object.
func (o *Object) Read(ctx context.Context, p model.Path) (model.Node, error) {
	var resp abi.ObjectReadResponse
	if err := call(ctx, o.c, abi.MethodObjectRead, &abi.ObjectReadRequest{Path: abi.PathOf(p)}, &resp); err != nil {
		return model.Node{}, o.fail("read "+p.String(), err)
	}
	n, err := resp.Node.Model()
	if err == nil {
		err = n.CheckAt(p)
	}
	if err != nil {
		return model.Node{}, o.fail("read "+p.String(), model.Errorf(model.InternalServerError, "the plugin answered: %v", err))
	}
	return n, nil
}

// Write implements client.Object.
func (o *Object) Write(ctx context.Context, p model.Path, n model.Node, replace bool) error {
	req := &abi.ObjectWriteRequest{Path: abi.PathOf(p), Node: abi.NodeOf(&n), Replace: replace}
	if err := call(ctx, o.c, abi.MethodObjectWrite, req, nil); err != nil {
		return o.fail("write "+p.String(), err)
	}
	return nil
}

// Execute implements client.Object.
func (o *Object) Execute(ctx context.Context, p model.Path, args []byte) error {
	req := &abi.ObjectExecuteRequest{Path: abi.PathOf(p), Args: args}
	if err := call(ctx, o.c, abi.MethodObjectExecute, req, nil); err != nil {
		return o.fail("execute "+p.String(), err)
	}
	return nil
}

// Create implements client.Object.
func (o *Object) Create(ctx context.Context, n model.Node) (uint16, error) {
	req := &abi.ObjectCreateRequest{ObjectID: uint32(o.def.ID)}
	if n.ID != model.NoID || len(n.Children) > 0 {
		n.Kind = model.KindInstance
		req.Node = abi.NodeOf(&n)
	}
	var resp abi.ObjectCreateResponse
	if err := call(ctx, o.c, abi.MethodObjectCreate, req, &resp); err != nil {
		return 0, o.fail("create", err)
	}
	if resp.InstanceID > model.MaxID || (n.ID != model.NoID && resp.InstanceID != uint32(n.ID)) {
		return 0, o.fail("create", model.Errorf(model.InternalServerError, "the plugin created instance %d, asked for %d", resp.InstanceID, n.ID))
	}
	return uint16(resp.InstanceID), nil
}

// Delete implements client.Object.
func (o *Object) Delete(ctx context.Context, id uint16) error {
	req := &abi.ObjectDeleteRequest{Path: abi.PathOf(model.InstancePath(o.def.ID, id))}
	if err := call(ctx, o.c, abi.MethodObjectDelete, req, nil); err != nil {
		return o.fail(fmt.Sprintf("delete instance %d", id), err)
	}
	return nil
}
