package guest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Dispatcher serves the calls of ABI v1 (abi.Method) to a plugin: it
// decodes the request message, checks it against the object definitions,
// calls the plugin's Object or Logic and encodes the response. The Wasm
// exports of this package run every call through one Dispatcher; a test
// harness makes its own, so that a plugin under test is reached through
// exactly the code, and the encodings, that the host reaches it through.
//
// A Dispatcher runs one call at a time, as a Wasm instance does: Call
// holds a lock for the whole call. A plugin must not call back into its
// own Dispatcher from a call.
type Dispatcher struct {
	mu      sync.Mutex
	plugin  *Plugin
	err     error // why the plugin cannot serve: every call fails with it
	host    Host
	objects []objectEntry // in the plugin's order
	out     []byte        // the response buffer, reused across calls
	reuse   reuse         // response messages, reused across calls
	events  eventCache    // strings repeated from one event to the next
	started bool
}

type objectEntry struct {
	def *model.ObjectDef
	obj Object
}

// NewDispatcher returns a Dispatcher for p, or for the plugin given to
// Register when p is nil. h is the host that host functions called with
// the context of a call reach; nil leaves them the default host (the
// imports on wasip1). A plugin that cannot serve (none registered, an
// invalid manifest) gives a Dispatcher whose every call fails with 5.00
// and the reason; Err returns it.
func NewDispatcher(p *Plugin, h Host) *Dispatcher {
	d := &Dispatcher{host: h}
	if p == nil {
		p, d.err = Registered()
	} else {
		q := *p
		q.Objects = slices.Clone(p.Objects)
		if err := q.check(); err != nil {
			d.err = err
		}
		p = &q
	}
	if d.err != nil {
		return d
	}
	d.plugin = p
	for _, o := range p.Objects {
		d.objects = append(d.objects, objectEntry{def: o.Definition(), obj: o})
	}
	return d
}

// Err returns why the plugin cannot serve, or nil.
func (d *Dispatcher) Err() error { return d.err }

// Plugin returns the plugin served, or nil when it cannot serve.
func (d *Dispatcher) Plugin() *Plugin { return d.plugin }

// Call serves one call: req is the encoded request message of m, and the
// result the encoded response message, valid until the next Call. An error
// is what crosses the ABI, rebuilt: a *model.Error with the status as its
// code and the plugin's message (abi.ErrorOf); a panic of the plugin is
// recovered as a 5.00 with the panic's text.
func (d *Dispatcher) Call(ctx context.Context, m abi.Method, req []byte) (resp []byte, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return nil, &model.Error{Code: model.InternalServerError, Msg: d.err.Error()}
	}
	if d.host != nil {
		ctx = withHost(ctx, d.host)
	}
	defer func() {
		if r := recover(); r != nil {
			resp, err = nil, &model.Error{Code: model.InternalServerError, Msg: fmt.Sprint("panic: ", r)}
		}
	}()
	out, err := d.call(ctx, m, req)
	if err != nil {
		// As the error crosses the ABI: a status and a message.
		return nil, abi.ErrorOf(abi.StatusOf(err), messageOf(err))
	}
	if out == nil {
		return d.out[:0], nil
	}
	d.out = out.MarshalAppend(d.out[:0])
	return d.out, nil
}

type marshaler interface {
	MarshalAppend(b []byte) []byte
}

// requestPath decodes the path of a Read, Delete or Discover request: the
// fast way when it can, else with the generated code (whose errors then
// say what is wrong).
func requestPath(m abi.Method, b []byte) (model.Path, error) {
	if p, ok := fastPath(b); ok {
		return p, nil
	}
	var req abi.ObjectReadRequest // field 1 is the path in all three
	if err := req.Unmarshal(b); err != nil {
		return model.Path{}, badRequest(m, err)
	}
	return req.Path.Model()
}

// badRequest wraps a decoding error as a 4.00.
func badRequest(m abi.Method, err error) error {
	return &model.Error{Code: model.BadRequest, Msg: fmt.Sprintf("method %d: %v", m, err), Err: err}
}

// call serves m; a nil response with a nil error is an empty message.
func (d *Dispatcher) call(ctx context.Context, m abi.Method, b []byte) (marshaler, error) {
	if !d.started && m != abi.MethodManifest && m != abi.MethodStart {
		// A host that skips Start (it must not) still gets a configured
		// plugin: Start with no config.
		if err := d.start(ctx, nil); err != nil {
			return nil, err
		}
	}
	switch m {
	case abi.MethodManifest:
		return d.manifest(), nil
	case abi.MethodStart:
		var req abi.StartRequest
		if err := req.Unmarshal(b); err != nil {
			return nil, badRequest(m, err)
		}
		return nil, d.start(ctx, req.Config)
	case abi.MethodStop:
		return nil, d.stop(ctx)
	case abi.MethodObjectList:
		resp := &abi.ObjectListResponse{Objects: make([]abi.ObjectDef, len(d.objects))}
		for i, o := range d.objects {
			resp.Objects[i] = *abi.ObjectDefOf(o.def)
		}
		return resp, nil
	case abi.MethodObjectInstances:
		var req abi.ObjectInstancesRequest
		if err := req.Unmarshal(b); err != nil {
			return nil, badRequest(m, err)
		}
		o, err := d.object(req.ObjectID)
		if err != nil {
			return nil, err
		}
		ids, err := d.instances(ctx, o)
		if err != nil {
			return nil, err
		}
		resp := &d.reuse.instances
		resp.InstanceIDs = resp.InstanceIDs[:0]
		for _, id := range ids {
			resp.InstanceIDs = append(resp.InstanceIDs, uint32(id))
		}
		return resp, nil
	case abi.MethodObjectRead:
		p, err := requestPath(m, b)
		if err != nil {
			return nil, err
		}
		n, err := d.read(ctx, p)
		if err != nil {
			return nil, err
		}
		fillNode(&d.reuse.node, &n)
		d.reuse.read.Node = &d.reuse.node
		return &d.reuse.read, nil
	case abi.MethodObjectWrite:
		var req abi.ObjectWriteRequest
		if err := req.Unmarshal(b); err != nil {
			return nil, badRequest(m, err)
		}
		return nil, d.write(ctx, &req)
	case abi.MethodObjectExecute:
		var req abi.ObjectExecuteRequest
		if err := req.Unmarshal(b); err != nil {
			return nil, badRequest(m, err)
		}
		return nil, d.execute(ctx, &req)
	case abi.MethodObjectCreate:
		var req abi.ObjectCreateRequest
		if err := req.Unmarshal(b); err != nil {
			return nil, badRequest(m, err)
		}
		id, err := d.create(ctx, &req)
		if err != nil {
			return nil, err
		}
		return &abi.ObjectCreateResponse{InstanceID: uint32(id)}, nil
	case abi.MethodObjectDelete:
		var req abi.ObjectDeleteRequest
		if err := req.Unmarshal(b); err != nil {
			return nil, badRequest(m, err)
		}
		return nil, d.delete(ctx, &req)
	case abi.MethodObjectDiscover:
		var req abi.ObjectDiscoverRequest
		if err := req.Unmarshal(b); err != nil {
			return nil, badRequest(m, err)
		}
		links, err := d.discover(ctx, &req)
		if err != nil {
			return nil, err
		}
		return &abi.ObjectDiscoverResponse{Links: links}, nil
	case abi.MethodEvent:
		if d.plugin.Logic == nil {
			return nil, model.Errorf(model.NotImplemented, "plugin %s is not a logic plugin", d.plugin.Manifest.ID)
		}
		e, ok := d.events.fastEvent(b)
		if !ok {
			var req abi.EventRequest
			if err := req.Unmarshal(b); err != nil {
				return nil, badRequest(m, err)
			}
			var err error
			if e, err = eventOf(req.Event); err != nil {
				return nil, err
			}
		}
		return nil, d.plugin.Logic.OnEvent(ctx, e)
	}
	return nil, model.Errorf(model.NotImplemented, "method %d is not part of ABI v1.%d", m, abi.Minor)
}

func (d *Dispatcher) manifest() *abi.Manifest {
	mf := &d.plugin.Manifest
	return &abi.Manifest{
		ID: mf.ID, Kind: string(mf.Kind), ABIMinor: abi.Minor, Name: mf.Name, Version: mf.Version,
		Description: mf.Description, Capabilities: mf.Capabilities, ConfigSchema: mf.ConfigSchema,
	}
}

// parts returns the plugin's objects and logic, each once.
func (d *Dispatcher) parts() []any {
	var ps []any
	add := func(x any) {
		for _, y := range ps {
			if y == x {
				return
			}
		}
		ps = append(ps, x)
	}
	for _, o := range d.objects {
		add(o.obj)
	}
	if d.plugin.Logic != nil {
		add(d.plugin.Logic)
	}
	return ps
}

func (d *Dispatcher) start(ctx context.Context, config []byte) error {
	if d.started {
		return errStarted
	}
	for _, x := range d.parts() {
		if c, ok := x.(Configurer); ok {
			if err := c.Configure(ctx, config); err != nil {
				return err
			}
		}
	}
	d.started = true
	return nil
}

func (d *Dispatcher) stop(ctx context.Context) error {
	var errs []error
	for _, x := range d.parts() {
		if s, ok := x.(Stopper); ok {
			errs = append(errs, s.Stop(ctx))
		}
	}
	return errors.Join(errs...)
}

// object returns the object with id, or a 4.04.
func (d *Dispatcher) object(id uint32) (*objectEntry, error) {
	for i := range d.objects {
		if uint32(d.objects[i].def.ID) == id {
			return &d.objects[i], nil
		}
	}
	return nil, model.Errorf(model.NotFound, "plugin %s has no object %d", d.plugin.Manifest.ID, id)
}

// instances returns the object's instance ids in ascending order.
func (d *Dispatcher) instances(ctx context.Context, o *objectEntry) ([]uint16, error) {
	ids, err := o.obj.Instances(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.IsSorted(ids) {
		ids = slices.Clone(ids)
		slices.Sort(ids)
	}
	return slices.Compact(ids), nil
}

// target returns the object p is in and, for a resource or resource
// instance path, the resource's definition: 4.00 for the root path, 4.04
// for an unknown object or resource.
func (d *Dispatcher) target(p model.Path) (*objectEntry, *model.ResourceDef, error) {
	if p.IsRoot() {
		return nil, nil, errRoot
	}
	o, err := d.object(uint32(p.ObjectID()))
	if err != nil {
		return nil, nil, err
	}
	if p.Level() < model.LevelResource {
		return o, nil, nil
	}
	res := o.def.Resource(p.ResourceID())
	if res == nil {
		return nil, nil, model.Errorf(model.NotFound, "object %d has no resource %d", o.def.ID, p.ResourceID())
	}
	if p.IsResourceInstance() && !res.Multiple {
		return nil, nil, model.Errorf(model.NotFound, "resource %d of object %d has no instances", res.ID, o.def.ID)
	}
	return o, res, nil
}

func (d *Dispatcher) read(ctx context.Context, p model.Path) (model.Node, error) {
	o, res, err := d.target(p)
	if err != nil {
		return model.Node{}, err
	}
	if res != nil && !res.Operations.Readable() {
		return model.Node{}, model.Errorf(model.MethodNotAllowed, "resource %d (%s) is not readable", res.ID, res.Name)
	}
	if p.IsObject() {
		ids, err := d.instances(ctx, o)
		if err != nil {
			return model.Node{}, err
		}
		n := model.Node{Kind: model.KindObject, ID: p.ObjectID()}
		for _, id := range ids {
			in, err := d.readChecked(ctx, o, model.InstancePath(p.ObjectID(), id))
			if errors.Is(err, model.ErrNotFound) {
				continue // deleted since Instances
			}
			if err != nil {
				return model.Node{}, err
			}
			n.Children = append(n.Children, in)
		}
		return n, nil
	}
	return d.readChecked(ctx, o, p)
}

// readChecked reads p from o and checks that the object's answer fits:
// an object that returns a node of the wrong shape has a bug (5.00).
func (d *Dispatcher) readChecked(ctx context.Context, o *objectEntry, p model.Path) (model.Node, error) {
	n, err := o.obj.Read(ctx, p)
	if err != nil {
		return model.Node{}, err
	}
	if err := n.CheckAt(p); err != nil {
		return model.Node{}, model.Errorf(model.InternalServerError, "object %d read %s: %s", o.def.ID, p, messageOf(err))
	}
	if err := n.Validate(); err != nil {
		return model.Node{}, model.Errorf(model.InternalServerError, "object %d read %s: %s", o.def.ID, p, messageOf(err))
	}
	return n, nil
}

func (d *Dispatcher) write(ctx context.Context, req *abi.ObjectWriteRequest) error {
	p, err := req.Path.Model()
	if err != nil {
		return err
	}
	if p.IsRoot() {
		return errRoot
	}
	if p.Level() < model.LevelInstance {
		return model.Errorf(model.MethodNotAllowed, "write needs an instance, resource or resource instance path, not %s", p)
	}
	o, res, err := d.target(p)
	if err != nil {
		return err
	}
	if res != nil && !res.Operations.Writable() {
		return model.Errorf(model.MethodNotAllowed, "resource %d (%s) is not writable", res.ID, res.Name)
	}
	n, err := req.Node.Model()
	if err != nil {
		return err
	}
	if err := n.CheckAt(p); err != nil {
		return err
	}
	if err := checkValues(o.def, res, &n, true); err != nil {
		return err
	}
	return o.obj.Write(ctx, p, n, req.Replace)
}

func (d *Dispatcher) execute(ctx context.Context, req *abi.ObjectExecuteRequest) error {
	p, err := req.Path.Model()
	if err != nil {
		return err
	}
	if p.IsRoot() {
		return errRoot
	}
	if !p.IsResource() {
		return model.Errorf(model.MethodNotAllowed, "execute needs a resource path, not %s", p)
	}
	o, res, err := d.target(p)
	if err != nil {
		return err
	}
	if !res.Operations.Executable() {
		return model.Errorf(model.MethodNotAllowed, "resource %d (%s) is not executable", res.ID, res.Name)
	}
	return o.obj.Execute(ctx, p, req.Args)
}

func (d *Dispatcher) create(ctx context.Context, req *abi.ObjectCreateRequest) (uint16, error) {
	o, err := d.object(req.ObjectID)
	if err != nil {
		return 0, err
	}
	n := model.Node{Kind: model.KindInstance, ID: model.NoID}
	if req.Node != nil {
		if req.Node.Kind != abi.NodeKindInstance {
			return 0, model.Errorf(model.BadRequest, "create needs an instance node, not kind %d", req.Node.Kind)
		}
		id := req.Node.ID
		m := *req.Node
		if id == model.NoID {
			m.ID = 0 // valid for the checks; put back below
		}
		if n, err = m.Model(); err != nil {
			return 0, err
		}
		n.ID = uint16(id)
	}
	if err := checkValues(o.def, nil, &n, false); err != nil {
		return 0, err
	}
	id, err := o.obj.Create(ctx, n)
	if err != nil {
		return 0, err
	}
	if id > model.MaxID || n.ID != model.NoID && id != n.ID {
		return 0, model.Errorf(model.InternalServerError, "object %d created instance %d when asked for %d", o.def.ID, id, n.ID)
	}
	return id, nil
}

func (d *Dispatcher) delete(ctx context.Context, req *abi.ObjectDeleteRequest) error {
	p, err := req.Path.Model()
	if err != nil {
		return err
	}
	if p.IsRoot() {
		return errRoot
	}
	if !p.IsInstance() {
		return model.Errorf(model.MethodNotAllowed, "delete needs an instance path, not %s", p)
	}
	o, _, err := d.target(p)
	if err != nil {
		return err
	}
	return o.obj.Delete(ctx, p.InstanceID())
}

// Discoverer is implemented by an Object that answers Discover itself
// (MethodObjectDiscover): the CoRE link format of p's attributes and
// children, such as `</3303/0>,</3303/0/5700>;pmin=10`. Without it the
// plugin answers 5.01 and the host discovers from the definition and the
// instances.
type Discoverer interface {
	Discover(ctx context.Context, p model.Path) (string, error)
}

func (d *Dispatcher) discover(ctx context.Context, req *abi.ObjectDiscoverRequest) (string, error) {
	p, err := req.Path.Model()
	if err != nil {
		return "", err
	}
	o, _, err := d.target(p)
	if err != nil {
		return "", err
	}
	dis, ok := o.obj.(Discoverer)
	if !ok {
		return "", model.Errorf(model.NotImplemented, "object %d does not discover", o.def.ID)
	}
	return dis.Discover(ctx, p)
}

// checkValues checks node n, written or created in object def (inside
// resource res for a resource instance): every
// resource defined (else 4.04), writable when a server writes (else 4.05),
// not executable (4.05), and every value of the resource's type and range
// (else 4.00).
func checkValues(def *model.ObjectDef, res *model.ResourceDef, n *model.Node, write bool) error {
	var check func(n *model.Node, res *model.ResourceDef) error
	check = func(n *model.Node, res *model.ResourceDef) error {
		switch n.Kind {
		case model.KindObject, model.KindInstance:
			for i := range n.Children {
				if err := check(&n.Children[i], nil); err != nil {
					return err
				}
			}
			return nil
		case model.KindResource, model.KindMultipleResource:
			res = def.Resource(n.ID)
		}
		if res == nil {
			return model.Errorf(model.NotFound, "object %d has no resource %d", def.ID, n.ID)
		}
		if write && !res.Operations.Writable() {
			return model.Errorf(model.MethodNotAllowed, "resource %d (%s) is not writable", res.ID, res.Name)
		}
		if res.Operations.Executable() {
			return model.Errorf(model.MethodNotAllowed, "resource %d (%s) is executable and holds no value", res.ID, res.Name)
		}
		if n.Kind == model.KindMultipleResource && !res.Multiple || n.Kind == model.KindResource && res.Multiple {
			return model.Errorf(model.BadRequest, "resource %d (%s): a %s where the definition says multiple=%v", res.ID, res.Name, n.Kind, res.Multiple)
		}
		if n.HasValue() {
			return res.Check(n.Value)
		}
		for i := range n.Children {
			if err := check(&n.Children[i], res); err != nil {
				return err
			}
		}
		return nil
	}
	return check(n, res)
}
