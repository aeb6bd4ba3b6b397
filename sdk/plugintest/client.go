package plugintest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

// Caller is a plugin reached through ABI v1: Call sends method m with the
// encoded request message and returns the encoded response message, or an
// error that carries the call's status as a CoAP code (*model.Error, as
// abi.ErrorOf makes it). *guest.Dispatcher is one; the Wasm host's
// instance is another. The response may be reused by the next Call.
type Caller interface {
	Call(ctx context.Context, m abi.Method, req []byte) ([]byte, error)
}

var _ Caller = (*guest.Dispatcher)(nil)

// Client makes typed calls to a plugin through a Caller: model types in,
// encoded, sent, and the response decoded back. Errors keep their CoAP
// codes: errors.Is(err, model.ErrNotFound) holds for a 4.04. A Client
// sends one call at a time.
type Client struct {
	mu sync.Mutex
	c  Caller
}

// NewClient returns a Client of c.
func NewClient(c Caller) *Client { return &Client{c: c} }

// Raw sends method m with request bytes req and returns a copy of the
// response bytes: for requests the typed methods cannot make (malformed
// ones, unknown methods).
func (c *Client) Raw(ctx context.Context, m abi.Method, req []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.c.Call(ctx, m, req)
	if err != nil {
		return nil, err
	}
	return slices.Clone(b), nil
}

type message interface {
	MarshalAppend([]byte) []byte
}

// call encodes req, calls m and decodes the response into resp (nil for an
// empty response); a response that does not decode is a 5.02, the
// plugin's fault.
func (c *Client) call(ctx context.Context, m abi.Method, req message, resp interface{ Unmarshal([]byte) error }) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.c.Call(ctx, m, req.MarshalAppend(nil))
	if err != nil {
		return err
	}
	if resp == nil {
		return nil
	}
	if err := resp.Unmarshal(b); err != nil {
		return &model.Error{Code: model.BadGateway, Msg: "plugin response: " + err.Error(), Err: err}
	}
	return nil
}

// badResponse makes a 5.02 of a response that decoded but does not fit.
func badResponse(err error) error {
	return &model.Error{Code: model.BadGateway, Msg: "plugin response: " + err.Error(), Err: err}
}

// Manifest asks the plugin what it is (MethodManifest). ABIMinor is the
// minor version of ABI v1 the plugin was built against.
func (c *Client) Manifest(ctx context.Context) (m guest.Manifest, abiMinor uint32, err error) {
	var resp abi.Manifest
	if err := c.call(ctx, abi.MethodManifest, &abi.ManifestRequest{}, &resp); err != nil {
		return guest.Manifest{}, 0, err
	}
	return guest.Manifest{
		ID: resp.ID, Kind: abi.Kind(resp.Kind), Name: resp.Name, Version: resp.Version,
		Description: resp.Description, Capabilities: resp.Capabilities, ConfigSchema: resp.ConfigSchema,
	}, resp.ABIMinor, nil
}

// Start starts the plugin with config (JSON; nil for none).
func (c *Client) Start(ctx context.Context, config []byte) error {
	return c.call(ctx, abi.MethodStart, &abi.StartRequest{Config: config}, nil)
}

// Stop stops the plugin.
func (c *Client) Stop(ctx context.Context) error {
	return c.call(ctx, abi.MethodStop, &abi.StopRequest{}, nil)
}

// Objects returns the definitions of the objects the plugin implements,
// each validated.
func (c *Client) Objects(ctx context.Context) ([]*model.ObjectDef, error) {
	var resp abi.ObjectListResponse
	if err := c.call(ctx, abi.MethodObjectList, &abi.ObjectListRequest{}, &resp); err != nil {
		return nil, err
	}
	defs := make([]*model.ObjectDef, len(resp.Objects))
	for i := range resp.Objects {
		d, err := resp.Objects[i].Model()
		if err != nil {
			return nil, badResponse(err)
		}
		defs[i] = d
	}
	return defs, nil
}

// Instances returns the instance ids of object id.
func (c *Client) Instances(ctx context.Context, id uint16) ([]uint16, error) {
	var resp abi.ObjectInstancesResponse
	if err := c.call(ctx, abi.MethodObjectInstances, &abi.ObjectInstancesRequest{ObjectID: uint32(id)}, &resp); err != nil {
		return nil, err
	}
	ids := make([]uint16, len(resp.InstanceIDs))
	for i, x := range resp.InstanceIDs {
		if x > model.MaxID {
			return nil, badResponse(model.Errorf(model.BadRequest, "instance id %d above 65534", x))
		}
		ids[i] = uint16(x)
	}
	return ids, nil
}

// Read reads the node at p; the node returned fits p.
func (c *Client) Read(ctx context.Context, p model.Path) (model.Node, error) {
	var resp abi.ObjectReadResponse
	if err := c.call(ctx, abi.MethodObjectRead, &abi.ObjectReadRequest{Path: abi.PathOf(p)}, &resp); err != nil {
		return model.Node{}, err
	}
	n, err := resp.Node.Model()
	if err != nil {
		return model.Node{}, badResponse(err)
	}
	if err := n.CheckAt(p); err != nil {
		return model.Node{}, badResponse(err)
	}
	return n, nil
}

// Write writes n at p, replacing or (replace false, at an instance)
// updating.
func (c *Client) Write(ctx context.Context, p model.Path, n model.Node, replace bool) error {
	return c.call(ctx, abi.MethodObjectWrite, &abi.ObjectWriteRequest{Path: abi.PathOf(p), Node: abi.NodeOf(&n), Replace: replace}, nil)
}

// Execute executes resource p with args.
func (c *Client) Execute(ctx context.Context, p model.Path, args string) error {
	return c.call(ctx, abi.MethodObjectExecute, &abi.ObjectExecuteRequest{Path: abi.PathOf(p), Args: []byte(args)}, nil)
}

// Create creates an instance of object from n (an instance node with the
// id asked for, or model.NoID) and returns the id created.
func (c *Client) Create(ctx context.Context, object uint16, n model.Node) (uint16, error) {
	var resp abi.ObjectCreateResponse
	if err := c.call(ctx, abi.MethodObjectCreate, &abi.ObjectCreateRequest{ObjectID: uint32(object), Node: abi.NodeOf(&n)}, &resp); err != nil {
		return 0, err
	}
	if resp.InstanceID > model.MaxID {
		return 0, badResponse(model.Errorf(model.BadRequest, "instance id %d above 65534", resp.InstanceID))
	}
	return uint16(resp.InstanceID), nil
}

// Delete deletes the instance at p.
func (c *Client) Delete(ctx context.Context, p model.Path) error {
	return c.call(ctx, abi.MethodObjectDelete, &abi.ObjectDeleteRequest{Path: abi.PathOf(p)}, nil)
}

// Discover asks the plugin for the link format of p (5.01 from a plugin
// that leaves discovery to the host).
func (c *Client) Discover(ctx context.Context, p model.Path) (string, error) {
	var resp abi.ObjectDiscoverResponse
	if err := c.call(ctx, abi.MethodObjectDiscover, &abi.ObjectDiscoverRequest{Path: abi.PathOf(p)}, &resp); err != nil {
		return "", err
	}
	return resp.Links, nil
}

// Event hands a logic plugin event e.
func (c *Client) Event(ctx context.Context, e guest.Event) error {
	return c.call(ctx, abi.MethodEvent, &abi.EventRequest{Event: eventMsg(&e)}, nil)
}

// eventMsg encodes e as the host does.
func eventMsg(e *guest.Event) *abi.Event {
	m := &abi.Event{
		Type:           abi.EventType(e.Type),
		Endpoint:       e.Endpoint,
		RegistrationID: e.RegistrationID,
		Lifetime:       uint32(e.Lifetime / time.Second),
		Binding:        e.Binding,
		Queue:          e.Queue,
		Address:        e.Address,
		Token:          e.Token,
	}
	if !e.Time.IsZero() {
		m.TimeUnixNano = e.Time.UnixNano()
	}
	if !e.LWM2MVersion.IsZero() {
		m.LWM2MVersion = e.LWM2MVersion.String()
	}
	for _, o := range e.Objects {
		r := abi.RegisteredObject{ID: uint32(o.ID)}
		if !o.Version.IsZero() {
			r.Version = o.Version.String()
		}
		for _, id := range o.Instances {
			r.Instances = append(r.Instances, uint32(id))
		}
		m.Objects = append(m.Objects, r)
	}
	if len(e.Paths) > 0 {
		m.Paths = abi.PathsOf(e.Paths)
	}
	if len(e.Entries) > 0 {
		m.Entries = abi.EntriesOf(e.Entries)
	}
	for _, r := range e.Records {
		rec := abi.Record{Path: abi.PathOf(r.Path), Value: abi.ValueOf(r.Value)}
		if !r.Time.IsZero() {
			rec.TimeUnixNano = r.Time.UnixNano()
		}
		m.Records = append(m.Records, rec)
	}
	if e.Err != nil {
		m.ErrorCode = uint32(abi.StatusOf(e.Err))
		m.Error = e.Err.Error()
		var me *model.Error
		if errors.As(e.Err, &me) && me.Msg != "" {
			m.Error = me.Msg
		}
	}
	return m
}
