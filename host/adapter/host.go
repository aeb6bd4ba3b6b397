package adapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/host/wasm"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// HostConfig configures a Host.
type HostConfig struct {
	// KV keeps the plugins' key-value spaces, one namespace per plugin
	// id. Nil: the kv host methods answer 5.01.
	KV store.KV

	// Logger receives what the host has to report. Nil: discard.
	Logger *slog.Logger

	// RequestTimeout bounds an LwM2M request of a plugin that gives no
	// timeout of its own. Default 30 s.
	RequestTimeout time.Duration
}

// Host answers the host calls of plugins (abi.HostMethod): it implements
// wasm.Host, and the process carrier will call it the same way.
//
//   - HostChanged goes to the changed function of the engine that observes
//     the plugin's objects (RouteChanged);
//   - HostKVGet, HostKVPut, HostKVDelete and HostKVList go to the store's
//     KV with the plugin's id as the namespace;
//   - HostRequest goes to the server (SetServer) as a call of its Go API,
//     and answers with the device's code.
//
// The carrier checks capabilities before it calls Host. Host is safe for
// concurrent use. It never calls back into a plugin, so that a host call
// cannot wait for an instance of its own plugin.
type Host struct {
	kv      store.KV
	log     *slog.Logger
	timeout time.Duration
	srv     atomic.Pointer[server.Server]

	mu      sync.RWMutex
	objects map[string]map[uint16]*Object // plugin id → object id → object
}

var _ wasm.Host = (*Host)(nil)

// NewHost returns a Host.
func NewHost(cfg HostConfig) *Host {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	return &Host{kv: cfg.KV, log: cfg.Logger, timeout: cfg.RequestTimeout, objects: map[string]map[uint16]*Object{}}
}

// SetServer makes s the server that LwM2M requests of plugins go through.
// Until it is set, they fail with 5.03.
func (h *Host) SetServer(s *server.Server) { h.srv.Store(s) }

// RouteChanged makes objs, the objects of plugin, where the plugin's
// changed host calls go: a changed path reaches the object of its object
// id, which hands it to the engine that observes it. It replaces the
// plugin's earlier routes.
func (h *Host) RouteChanged(plugin string, objs []*Object) {
	m := make(map[uint16]*Object, len(objs))
	for _, o := range objs {
		m[o.def.ID] = o
	}
	h.mu.Lock()
	h.objects[plugin] = m
	h.mu.Unlock()
}

// Forget drops what the host keeps for plugin (its changed routes).
func (h *Host) Forget(plugin string) {
	h.mu.Lock()
	delete(h.objects, plugin)
	h.mu.Unlock()
}

// Call implements wasm.Host.
func (h *Host) Call(ctx context.Context, plugin string, m abi.HostMethod, req []byte) ([]byte, error) {
	var resp message
	var err error
	switch m {
	case abi.HostChanged:
		resp, err = h.changed(plugin, req)
	case abi.HostKVGet, abi.HostKVPut, abi.HostKVDelete, abi.HostKVList:
		resp, err = h.kvCall(ctx, plugin, m, req)
	case abi.HostRequest:
		resp, err = h.request(ctx, plugin, req)
	default:
		return nil, model.Errorf(model.NotImplemented, "host method %d", m)
	}
	if err != nil {
		return nil, err
	}
	return resp.MarshalAppend(make([]byte, 0, resp.Size())), nil
}

func badRequest(m abi.HostMethod, err error) error {
	return model.Errorf(model.BadRequest, "host method %d: %v", m, err)
}

func (h *Host) changed(plugin string, b []byte) (message, error) {
	var req abi.ChangedRequest
	if err := req.Unmarshal(b); err != nil {
		return nil, badRequest(abi.HostChanged, err)
	}
	paths, err := abi.PathsModel(req.Paths)
	if err != nil {
		return nil, err
	}
	h.mu.RLock()
	objs := h.objects[plugin]
	h.mu.RUnlock()
	// Group the paths by object, in order, so that each object's engine
	// gets one call.
	for len(paths) > 0 {
		if paths[0].Len() == 0 {
			return nil, model.Errorf(model.BadRequest, "changed: the root path")
		}
		id := paths[0].ObjectID()
		o := objs[id]
		if o == nil {
			return nil, model.Errorf(model.NotFound, "changed: plugin %s implements no object %d here", plugin, id)
		}
		n := 1
		for n < len(paths) && paths[n].Len() > 0 && paths[n].ObjectID() == id {
			n++
		}
		o.Changed(paths[:n]...)
		paths = paths[n:]
	}
	return &abi.ChangedResponse{}, nil
}

func (h *Host) kvCall(ctx context.Context, ns string, m abi.HostMethod, b []byte) (message, error) {
	if h.kv == nil {
		return nil, model.Errorf(model.NotImplemented, "no key-value store")
	}
	switch m {
	case abi.HostKVGet:
		var req abi.KVGetRequest
		if err := req.Unmarshal(b); err != nil {
			return nil, badRequest(m, err)
		}
		v, err := h.kv.KVGet(ctx, ns, req.Key)
		if errors.Is(err, model.ErrNotFound) {
			return &abi.KVGetResponse{}, nil
		}
		if err != nil {
			return nil, err
		}
		return &abi.KVGetResponse{Found: true, Value: v}, nil
	case abi.HostKVPut:
		var req abi.KVPutRequest
		if err := req.Unmarshal(b); err != nil {
			return nil, badRequest(m, err)
		}
		return &abi.KVPutResponse{}, h.kv.KVPut(ctx, ns, req.Key, req.Value)
	case abi.HostKVDelete:
		var req abi.KVDeleteRequest
		if err := req.Unmarshal(b); err != nil {
			return nil, badRequest(m, err)
		}
		return &abi.KVDeleteResponse{}, h.kv.KVDelete(ctx, ns, req.Key)
	default:
		var req abi.KVListRequest
		if err := req.Unmarshal(b); err != nil {
			return nil, badRequest(m, err)
		}
		keys, more, err := h.kv.KVList(ctx, ns, req.Prefix, req.After, int(min(req.Limit, store.MaxKVList)))
		if err != nil {
			return nil, err
		}
		return &abi.KVListResponse{Keys: keys, More: more}, nil
	}
}

// request sends a plugin's LwM2M request through the server's Go API.
func (h *Host) request(ctx context.Context, plugin string, b []byte) (message, error) {
	var req abi.LWM2MRequest
	if err := req.Unmarshal(b); err != nil {
		return nil, badRequest(abi.HostRequest, err)
	}
	srv := h.srv.Load()
	if srv == nil {
		return nil, model.Errorf(model.ServiceUnavailable, "no server to send requests through")
	}
	timeout := h.timeout
	if req.TimeoutMS > 0 {
		timeout = time.Duration(req.TimeoutMS) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := do(ctx, srv, &req)
	if err != nil {
		if model.CodeOf(err) == model.InternalServerError && errors.Is(err, context.DeadlineExceeded) {
			err = &model.Error{Code: model.GatewayTimeout, Msg: err.Error(), Err: err}
		}
		h.log.Debug("plugin request failed", "plugin", plugin, "endpoint", req.Endpoint, "op", int32(req.Operation), "err", err)
		return nil, err
	}
	return resp, nil
}

func do(ctx context.Context, srv *server.Server, req *abi.LWM2MRequest) (*abi.LWM2MResponse, error) {
	var opts []server.Option
	if req.ContentFormat != nil {
		opts = append(opts, server.WithFormat(codec.Format(*req.ContentFormat)))
	}
	ep := req.Endpoint
	p, err := req.Path.Model()
	if err != nil {
		return nil, err
	}
	node := func() (model.Node, error) {
		if req.Node == nil {
			return model.Node{}, model.Errorf(model.BadRequest, "request: no node")
		}
		return req.Node.Model()
	}
	resp := &abi.LWM2MResponse{}
	switch req.Operation {
	case abi.OperationRead:
		n, err := srv.Read(ctx, ep, p, opts...)
		if err != nil {
			return nil, err
		}
		resp.Code, resp.Node = uint32(model.Content), abi.NodeOf(&n)
	case abi.OperationWriteReplace, abi.OperationWriteUpdate:
		n, err := node()
		if err != nil {
			return nil, err
		}
		if err := srv.Write(ctx, ep, p, n, req.Operation == abi.OperationWriteReplace, opts...); err != nil {
			return nil, err
		}
		resp.Code = uint32(model.Changed)
	case abi.OperationExecute:
		if err := srv.Execute(ctx, ep, p, string(req.Args)); err != nil {
			return nil, err
		}
		resp.Code = uint32(model.Changed)
	case abi.OperationCreate:
		n, err := node()
		if err != nil {
			return nil, err
		}
		if p.Len() != 1 {
			return nil, model.Errorf(model.BadRequest, "create: path %s is not an object", p)
		}
		loc, err := srv.Create(ctx, ep, p.ObjectID(), n, opts...)
		if err != nil {
			return nil, err
		}
		resp.Code, resp.Location = uint32(model.Created), abi.PathOf(loc)
	case abi.OperationDelete:
		if err := srv.Delete(ctx, ep, p); err != nil {
			return nil, err
		}
		resp.Code = uint32(model.Deleted)
	case abi.OperationDiscover:
		entries, err := srv.Discover(ctx, ep, p)
		if err != nil {
			return nil, err
		}
		resp.Code, resp.Links = uint32(model.Content), string(link.AppendDiscover(nil, entries))
	case abi.OperationWriteAttributes:
		if err := writeAttributes(ctx, srv, ep, p, req.Attributes); err != nil {
			return nil, err
		}
		resp.Code = uint32(model.Changed)
	case abi.OperationObserve:
		if req.Attributes != "" {
			if err := writeAttributes(ctx, srv, ep, p, req.Attributes); err != nil {
				return nil, err
			}
		}
		o, err := srv.Observe(ctx, ep, p, opts...)
		if err != nil {
			return nil, err
		}
		resp.Code, resp.Token = uint32(model.Content), []byte(o.Token)
		for i := range o.First {
			if o.First[i].Path == p {
				resp.Node = abi.NodeOf(&o.First[i].Node)
			}
		}
	case abi.OperationCancelObserve:
		obs, err := srv.Observations(ctx, ep)
		if err != nil {
			return nil, err
		}
		tok := ""
		for _, o := range obs {
			if !o.Composite && len(o.Paths) == 1 && o.Paths[0] == p {
				tok = o.Token
			}
		}
		if tok == "" {
			return nil, model.Errorf(model.NotFound, "no observation of %s on %s", p, ep)
		}
		if err := srv.CancelObservation(ctx, tok, true); err != nil {
			return nil, err
		}
		resp.Code = uint32(model.Content)
	case abi.OperationReadComposite:
		paths, err := abi.PathsModel(req.Paths)
		if err != nil {
			return nil, err
		}
		entries, err := srv.ReadComposite(ctx, ep, paths, opts...)
		if err != nil {
			return nil, err
		}
		resp.Code, resp.Entries = uint32(model.Content), abi.EntriesOf(entries)
	case abi.OperationWriteComposite:
		entries, err := abi.EntriesModel(req.Entries)
		if err != nil {
			return nil, err
		}
		if err := srv.WriteComposite(ctx, ep, entries, opts...); err != nil {
			return nil, err
		}
		resp.Code = uint32(model.Changed)
	default:
		return nil, model.Errorf(model.BadRequest, "request: unknown operation %d", req.Operation)
	}
	return resp, nil
}

func writeAttributes(ctx context.Context, srv *server.Server, ep string, p model.Path, q string) error {
	attrs, err := link.ParseQuery(strings.Split(q, "&"))
	if err != nil {
		return fmt.Errorf("attributes %q: %w", q, err)
	}
	return srv.WriteAttributes(ctx, ep, p, attrs)
}
