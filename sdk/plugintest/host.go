package plugintest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

// Host is a fake host for a plugin under test: it implements guest.Host
// (and guest.Clock) the way the real host answers the imports, decoding
// each host request and encoding each response, and it records what the
// plugin did. It is safe for concurrent use.
//
// Capabilities are enforced as the real host enforces them: a host method
// whose capability was not granted fails with 4.03. New grants what the
// plugin's manifest asks for.
type Host struct {
	mu        sync.Mutex
	grants    map[string]bool // nil: everything granted
	kv        map[string][]byte
	logs      []LogEntry
	changed   []model.Path
	requests  []Request
	responder Responder
	now       time.Time
	calls     map[abi.HostMethod]int
}

// Epoch is the time a new Host's clock shows: 2026-01-01T00:00:00Z.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// NewHost returns a Host with every capability granted, an empty
// key-value space, a clock stopped at Epoch and no responder (requests to
// devices fail with 4.04, as for an unknown endpoint).
func NewHost() *Host {
	return &Host{kv: map[string][]byte{}, now: Epoch, calls: map[abi.HostMethod]int{}}
}

var _ guest.Host = (*Host)(nil)
var _ guest.Clock = (*Host)(nil)

// LogEntry is one line a plugin logged.
type LogEntry struct {
	Level guest.Level
	Msg   string // the message with its attributes: `msg key=value`
}

// Grant replaces the granted capabilities (abi.CapKV...) with caps.
func (h *Host) Grant(caps ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.grants = map[string]bool{}
	for _, c := range caps {
		h.grants[c] = true
	}
}

// Log implements guest.Host: it records the line.
func (h *Host) Log(level guest.Level, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, LogEntry{Level: level, Msg: msg})
}

// Logs returns the lines logged so far.
func (h *Host) Logs() []LogEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.logs)
}

// Logged reports whether a line logged so far contains s.
func (h *Host) Logged(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.logs {
		if strings.Contains(l.Msg, s) {
			return true
		}
	}
	return false
}

// Changed returns the paths reported with guest.Changed so far, in order.
func (h *Host) Changed() []model.Path {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.changed)
}

// TakeChanged returns the paths reported so far and forgets them.
func (h *Host) TakeChanged() []model.Path {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.changed
	h.changed = nil
	return c
}

// KV returns a copy of the plugin's key-value space.
func (h *Host) KV() map[string][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := make(map[string][]byte, len(h.kv))
	for k, v := range h.kv {
		m[k] = slices.Clone(v)
	}
	return m
}

// SetKV sets key in the plugin's key-value space, as if the plugin had
// put it (state left by an earlier run).
func (h *Host) SetKV(key string, value []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.kv[key] = slices.Clone(value)
}

// Calls returns how many times the plugin called host method m.
func (h *Host) Calls(m abi.HostMethod) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[m]
}

// Now implements guest.Clock: the time guest.Now shows the plugin.
func (h *Host) Now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

// SetNow sets the clock.
func (h *Host) SetNow(t time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = t
}

// Advance moves the clock forward by d.
func (h *Host) Advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
}

// Request is an LwM2M request a logic plugin sent to a device (Request
// and guest.Device), decoded.
type Request struct {
	Endpoint      string
	Operation     abi.Operation
	Path          model.Path    // every operation but the composite ones
	Paths         []model.Path  // read-composite
	Node          *model.Node   // writes and create
	Entries       []model.Entry // write-composite
	Args          string        // execute
	Attributes    string        // write-attributes, observe: "pmin=10&pmax=60"
	ContentFormat *uint16       // nil: the server's choice
	Timeout       time.Duration // zero: the host's default
}

// Response is what a device answers to a Request. Code zero is filled in
// with the success code of the operation.
type Response struct {
	Code     model.Code
	Node     *model.Node   // read, observe
	Entries  []model.Entry // read-composite
	Links    string        // discover
	Location model.Path    // create
	Token    []byte        // observe
}

// Responder answers the LwM2M requests of a logic plugin in place of the
// devices. An error with a code (model.Errorf(model.NotFound, ...)) is the
// device's error response; context.DeadlineExceeded a timeout (5.04).
type Responder func(ctx context.Context, req Request) (Response, error)

// Respond sets the responder.
func (h *Host) Respond(r Responder) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.responder = r
}

// Requests returns the LwM2M requests the plugin sent so far.
func (h *Host) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.requests)
}

// capability returns the capability host method m needs.
func capability(m abi.HostMethod) string {
	switch m {
	case abi.HostChanged:
		return abi.CapChanged
	case abi.HostKVGet, abi.HostKVPut, abi.HostKVDelete, abi.HostKVList:
		return abi.CapKV
	case abi.HostRequest:
		return abi.CapRequest
	}
	return ""
}

// maxKey is the longest key the KV space takes (abi.proto's KVGetRequest).
const maxKey = 1024

// kvListDefault is how many keys a KV list answers at most when the
// plugin gives no limit: small, so that paging is exercised.
const kvListDefault = 16

// Call implements guest.Host: it decodes the request of host method m,
// acts on it and encodes the response.
func (h *Host) Call(ctx context.Context, m abi.HostMethod, req []byte) ([]byte, error) {
	h.mu.Lock()
	h.calls[m]++
	c := capability(m)
	if c == "" {
		h.mu.Unlock()
		return nil, model.Errorf(model.NotImplemented, "host method %d is not part of ABI v1.%d", m, abi.Minor)
	}
	if h.grants != nil && !h.grants[c] {
		h.mu.Unlock()
		return nil, model.Errorf(model.Forbidden, "host method %d needs capability %q, which the manifest does not ask for", m, c)
	}
	if m == abi.HostRequest {
		h.mu.Unlock()
		return h.request(ctx, req)
	}
	defer h.mu.Unlock()
	bad := func(err error) error { return model.Errorf(model.BadRequest, "host method %d: %v", m, err) }
	var resp interface{ MarshalAppend([]byte) []byte }
	switch m {
	case abi.HostChanged:
		var r abi.ChangedRequest
		if err := r.Unmarshal(req); err != nil {
			return nil, bad(err)
		}
		ps, err := abi.PathsModel(r.Paths)
		if err != nil {
			return nil, err
		}
		h.changed = append(h.changed, ps...)
		resp = &abi.ChangedResponse{}
	case abi.HostKVGet:
		var r abi.KVGetRequest
		if err := r.Unmarshal(req); err != nil {
			return nil, bad(err)
		}
		if err := checkKey(r.Key); err != nil {
			return nil, err
		}
		v, ok := h.kv[r.Key]
		resp = &abi.KVGetResponse{Found: ok, Value: v}
	case abi.HostKVPut:
		var r abi.KVPutRequest
		if err := r.Unmarshal(req); err != nil {
			return nil, bad(err)
		}
		if err := checkKey(r.Key); err != nil {
			return nil, err
		}
		h.kv[r.Key] = slices.Clone(r.Value)
		resp = &abi.KVPutResponse{}
	case abi.HostKVDelete:
		var r abi.KVDeleteRequest
		if err := r.Unmarshal(req); err != nil {
			return nil, bad(err)
		}
		if err := checkKey(r.Key); err != nil {
			return nil, err
		}
		delete(h.kv, r.Key)
		resp = &abi.KVDeleteResponse{}
	case abi.HostKVList:
		var r abi.KVListRequest
		if err := r.Unmarshal(req); err != nil {
			return nil, bad(err)
		}
		var keys []string
		for k := range h.kv {
			if strings.HasPrefix(k, r.Prefix) && k > r.After {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		limit := int(r.Limit)
		if limit == 0 {
			limit = kvListDefault
		}
		out := &abi.KVListResponse{Keys: keys}
		if len(keys) > limit {
			out.Keys, out.More = keys[:limit], true
		}
		resp = out
	}
	return resp.MarshalAppend(nil), nil
}

func checkKey(k string) error {
	if len(k) > maxKey {
		return model.Errorf(model.BadRequest, "kv: key of %d bytes, at most %d", len(k), maxKey)
	}
	return nil
}

// request serves HostRequest through the responder.
func (h *Host) request(ctx context.Context, b []byte) ([]byte, error) {
	var m abi.LWM2MRequest
	if err := m.Unmarshal(b); err != nil {
		return nil, model.Errorf(model.BadRequest, "host request: %v", err)
	}
	req, err := requestOf(&m)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.requests = append(h.requests, req)
	r := h.responder
	h.mu.Unlock()
	if r == nil {
		return nil, model.Errorf(model.NotFound, "no device %q (plugintest: no responder)", req.Endpoint)
	}
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	resp, err := r(ctx, req)
	if err != nil {
		if ctx.Err() != nil || err == context.DeadlineExceeded {
			return nil, model.Errorf(model.GatewayTimeout, "device %q: %v", req.Endpoint, err)
		}
		return nil, err
	}
	out := abi.LWM2MResponse{Code: uint32(resp.Code), Links: resp.Links, Token: resp.Token}
	if out.Code == 0 {
		out.Code = uint32(successCode(req.Operation))
	}
	if resp.Node != nil {
		out.Node = abi.NodeOf(resp.Node)
	}
	if len(resp.Entries) > 0 {
		out.Entries = abi.EntriesOf(resp.Entries)
	}
	if req.Operation == abi.OperationCreate {
		out.Location = abi.PathOf(resp.Location)
	}
	return out.MarshalAppend(nil), nil
}

func successCode(op abi.Operation) model.Code {
	switch op {
	case abi.OperationRead, abi.OperationDiscover, abi.OperationObserve, abi.OperationReadComposite:
		return model.Content
	case abi.OperationCreate:
		return model.Created
	case abi.OperationDelete:
		return model.Deleted
	}
	return model.Changed
}

func requestOf(m *abi.LWM2MRequest) (Request, error) {
	r := Request{
		Endpoint: m.Endpoint, Operation: m.Operation, Args: string(m.Args), Attributes: m.Attributes,
		Timeout: time.Duration(m.TimeoutMS) * time.Millisecond,
	}
	if m.Operation <= abi.OperationUnspecified || m.Operation > abi.OperationWriteComposite {
		return r, model.Errorf(model.BadRequest, "host request: unknown operation %d", m.Operation)
	}
	if m.Endpoint == "" {
		return r, model.Errorf(model.BadRequest, "host request: no endpoint")
	}
	var err error
	if r.Path, err = m.Path.Model(); err != nil {
		return r, err
	}
	if len(m.Paths) > 0 {
		if r.Paths, err = abi.PathsModel(m.Paths); err != nil {
			return r, err
		}
	}
	if m.Node != nil {
		n, err := nodeModel(m.Node)
		if err != nil {
			return r, err
		}
		r.Node = &n
	}
	if len(m.Entries) > 0 {
		if r.Entries, err = abi.EntriesModel(m.Entries); err != nil {
			return r, err
		}
	}
	if m.ContentFormat != nil {
		if *m.ContentFormat > 0xffff {
			return r, model.Errorf(model.BadRequest, "host request: content format %d", *m.ContentFormat)
		}
		cf := uint16(*m.ContentFormat)
		r.ContentFormat = &cf
	}
	return r, nil
}

// nodeModel is abi.Node.Model that also takes the instance id 65535
// (model.NoID) of a Create that lets the other side choose.
func nodeModel(m *abi.Node) (model.Node, error) {
	if m.Kind != abi.NodeKindInstance || m.ID != model.NoID {
		return m.Model()
	}
	c := *m
	c.ID = 0
	n, err := c.Model()
	n.ID = model.NoID
	return n, err
}
