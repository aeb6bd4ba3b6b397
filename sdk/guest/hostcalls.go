package guest

import (
	"context"
	"strconv"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// hostCall encodes req, calls host method m and decodes the response into
// resp (which may be nil for an empty response).
func hostCall(ctx context.Context, m abi.HostMethod, req marshaler, resp interface{ Unmarshal([]byte) error }) error {
	var b []byte
	if req != nil {
		b = req.MarshalAppend(reqBuf())
		keepReqBuf(b)
	}
	return hostCallBytes(ctx, m, b, resp)
}

// hostCallBytes calls host method m with the encoded request b.
func hostCallBytes(ctx context.Context, m abi.HostMethod, b []byte, resp interface{ Unmarshal([]byte) error }) error {
	h := hostOf(ctx)
	if h == nil {
		return ErrNoHost
	}
	out, err := h.Call(ctx, m, b)
	if err != nil {
		return err
	}
	if resp == nil {
		return nil
	}
	if err := resp.Unmarshal(out); err != nil {
		return &model.Error{Code: model.BadGateway, Msg: "host method " + strconv.Itoa(int(m)) + ": " + err.Error(), Err: err}
	}
	return nil
}

// Changed tells the host that the values at paths changed, so that the
// observations of these paths (and of every path above or below them)
// fire. It needs the manifest's abi.CapChanged. An object calls it when a
// value changes on its own, or as a side effect of a call.
func Changed(ctx context.Context, paths ...model.Path) error {
	if len(paths) == 0 {
		return nil
	}
	b := appendChanged(reqBuf(), paths)
	keepReqBuf(b)
	return hostCallBytes(ctx, abi.HostChanged, b, nil)
}

// KVStore is the plugin's own key-value space, kept by the host's storage
// backend. Keys are UTF-8, at most 1024 bytes. Every method needs the
// manifest's abi.CapKV.
type KVStore struct{}

// KV is the plugin's key-value space.
var KV KVStore

// Get returns the value of key, or an error matching model.ErrNotFound.
func (KVStore) Get(ctx context.Context, key string) ([]byte, error) {
	var resp abi.KVGetResponse
	if err := hostCall(ctx, abi.HostKVGet, &abi.KVGetRequest{Key: key}, &resp); err != nil {
		return nil, err
	}
	if !resp.Found {
		return nil, model.Errorf(model.NotFound, "kv: no key %q", key)
	}
	if resp.Value == nil {
		resp.Value = []byte{}
	}
	return resp.Value, nil
}

// Put sets key to value.
func (KVStore) Put(ctx context.Context, key string, value []byte) error {
	return hostCall(ctx, abi.HostKVPut, &abi.KVPutRequest{Key: key, Value: value}, nil)
}

// Delete removes key; removing a missing key is no error.
func (KVStore) Delete(ctx context.Context, key string) error {
	return hostCall(ctx, abi.HostKVDelete, &abi.KVDeleteRequest{Key: key}, nil)
}

// List returns the keys that start with prefix, in ascending byte order.
func (KVStore) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	req := abi.KVListRequest{Prefix: prefix}
	for {
		var resp abi.KVListResponse
		if err := hostCall(ctx, abi.HostKVList, &req, &resp); err != nil {
			return nil, err
		}
		keys = append(keys, resp.Keys...)
		if !resp.More || len(resp.Keys) == 0 {
			return keys, nil
		}
		req.After = resp.Keys[len(resp.Keys)-1]
	}
}

// Request sends an LwM2M request to a registered device and returns the
// device's answer (a logic plugin on a server, with the manifest's
// abi.CapRequest). The error of a device's error response carries its
// code: errors.Is(err, model.ErrNotFound) for a 4.04; 5.04 on timeout.
// Device wraps the common operations.
func Request(ctx context.Context, req *abi.LWM2MRequest) (*abi.LWM2MResponse, error) {
	resp := new(abi.LWM2MResponse)
	if err := hostCall(ctx, abi.HostRequest, req, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// Device sends LwM2M requests to one registered device through Request.
//
//	dev := guest.Device{Endpoint: e.Endpoint}
//	n, err := dev.Read(ctx, model.MustPath("/3303/0/5700"))
type Device struct {
	Endpoint string
	// Timeout bounds each request; zero leaves the host's default.
	Timeout time.Duration
	// ContentFormat is the CoAP content format to ask for or send (such
	// as 11543 for LwM2M JSON); zero leaves the server's choice.
	ContentFormat uint16
}

func (d Device) request(op abi.Operation) *abi.LWM2MRequest {
	r := &abi.LWM2MRequest{Endpoint: d.Endpoint, Operation: op}
	if d.Timeout > 0 {
		ms := d.Timeout.Milliseconds()
		r.TimeoutMS = uint32(min(max(ms, 1), 1<<32-1))
	}
	if d.ContentFormat != 0 {
		cf := uint32(d.ContentFormat)
		r.ContentFormat = &cf
	}
	return r
}

func (d Device) pathRequest(op abi.Operation, p model.Path) *abi.LWM2MRequest {
	r := d.request(op)
	r.Path = abi.PathOf(p)
	return r
}

// nodeAt decodes the node of a response and checks it fits p.
func nodeAt(resp *abi.LWM2MResponse, p model.Path) (model.Node, error) {
	n, err := resp.Node.Model()
	if err != nil {
		return model.Node{}, &model.Error{Code: model.BadGateway, Msg: "response: " + err.Error(), Err: err}
	}
	if err := n.CheckAt(p); err != nil {
		return model.Node{}, &model.Error{Code: model.BadGateway, Msg: "response: " + err.Error(), Err: err}
	}
	return n, nil
}

// Read reads the node at p (Core 1.1 section 6.3.1).
func (d Device) Read(ctx context.Context, p model.Path) (model.Node, error) {
	resp, err := Request(ctx, d.pathRequest(abi.OperationRead, p))
	if err != nil {
		return model.Node{}, err
	}
	return nodeAt(resp, p)
}

// Write writes n at p: a replace, or with replace false a partial update
// of an instance (Core 1.1 section 6.3.3).
func (d Device) Write(ctx context.Context, p model.Path, n model.Node, replace bool) error {
	op := abi.OperationWriteUpdate
	if replace {
		op = abi.OperationWriteReplace
	}
	r := d.pathRequest(op, p)
	r.Node = abi.NodeOf(&n)
	_, err := Request(ctx, r)
	return err
}

// Execute executes resource p with args (Core 1.1 section 5.4.5 syntax,
// such as `0='a',1`; empty for none).
func (d Device) Execute(ctx context.Context, p model.Path, args string) error {
	r := d.pathRequest(abi.OperationExecute, p)
	r.Args = []byte(args)
	_, err := Request(ctx, r)
	return err
}

// Create creates an instance of object from n (an instance node; its id
// the one asked for, or model.NoID to let the device choose) and returns
// the new instance's path.
func (d Device) Create(ctx context.Context, object uint16, n model.Node) (model.Path, error) {
	r := d.pathRequest(abi.OperationCreate, model.ObjectPath(object))
	r.Node = abi.NodeOf(&n)
	resp, err := Request(ctx, r)
	if err != nil {
		return model.Path{}, err
	}
	p, err := resp.Location.Model()
	if err != nil {
		return model.Path{}, &model.Error{Code: model.BadGateway, Msg: "create response: " + err.Error(), Err: err}
	}
	return p, nil
}

// Delete deletes the instance at p.
func (d Device) Delete(ctx context.Context, p model.Path) error {
	_, err := Request(ctx, d.pathRequest(abi.OperationDelete, p))
	return err
}

// Discover returns the CoRE link format of p's attributes and children.
func (d Device) Discover(ctx context.Context, p model.Path) (string, error) {
	resp, err := Request(ctx, d.pathRequest(abi.OperationDiscover, p))
	if err != nil {
		return "", err
	}
	return resp.Links, nil
}

// WriteAttributes sets the attributes of p, given as a query such as
// "pmin=10&pmax=60" (Core 1.1 section 5.4.4).
func (d Device) WriteAttributes(ctx context.Context, p model.Path, attrs string) error {
	r := d.pathRequest(abi.OperationWriteAttributes, p)
	r.Attributes = attrs
	_, err := Request(ctx, r)
	return err
}

// Observe starts an observation of p, with attrs (as WriteAttributes;
// empty for none) set by the host first. It returns the observation's
// token and the current value; later values arrive as EventNotification
// events with that token.
func (d Device) Observe(ctx context.Context, p model.Path, attrs string) ([]byte, model.Node, error) {
	r := d.pathRequest(abi.OperationObserve, p)
	r.Attributes = attrs
	resp, err := Request(ctx, r)
	if err != nil {
		return nil, model.Node{}, err
	}
	if resp.Node == nil {
		return resp.Token, model.Node{}, nil
	}
	n, err := nodeAt(resp, p)
	return resp.Token, n, err
}

// CancelObserve cancels the observation of p.
func (d Device) CancelObserve(ctx context.Context, p model.Path) error {
	_, err := Request(ctx, d.pathRequest(abi.OperationCancelObserve, p))
	return err
}

// ReadComposite reads several paths at once (Core 1.1 section 6.3.8).
func (d Device) ReadComposite(ctx context.Context, paths ...model.Path) ([]model.Entry, error) {
	r := d.request(abi.OperationReadComposite)
	r.Paths = abi.PathsOf(paths)
	resp, err := Request(ctx, r)
	if err != nil {
		return nil, err
	}
	es, err := abi.EntriesModel(resp.Entries)
	if err != nil {
		return nil, &model.Error{Code: model.BadGateway, Msg: "response: " + err.Error(), Err: err}
	}
	return es, nil
}

// WriteComposite writes several nodes at once (Core 1.1 section 6.3.9).
func (d Device) WriteComposite(ctx context.Context, entries ...model.Entry) error {
	r := d.request(abi.OperationWriteComposite)
	r.Entries = abi.EntriesOf(entries)
	_, err := Request(ctx, r)
	return err
}
