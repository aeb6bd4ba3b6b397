package adapter_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/host/adapter"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

var valveDef = &model.ObjectDef{
	ID: 42769, Name: "Valve", Version: model.V1_0, LWM2MVersion: model.V1_1, Multiple: true,
	Resources: []model.ResourceDef{
		{ID: 0, Name: "Open", Operations: model.OpRead | model.OpWrite, Mandatory: true, Type: model.TypeBoolean},
		{ID: 2, Name: "Flush", Operations: model.OpExecute},
	},
}

// hostCall sends host method m with req for plugin "logic.test" and
// decodes the response into resp.
func hostCall(t *testing.T, h *adapter.Host, m abi.HostMethod, req interface{ MarshalAppend([]byte) []byte }, resp interface{ Unmarshal([]byte) error }) error {
	t.Helper()
	b, err := h.Call(context.Background(), "logic.test", m, req.MarshalAppend(nil))
	if err != nil {
		return err
	}
	if err := resp.Unmarshal(b); err != nil {
		t.Fatalf("host method %d: response: %v", m, err)
	}
	return nil
}

// TestHostRequest sends every operation of HostRequest through a real
// server to a real device and checks the answers and their codes.
func TestHostRequest(t *testing.T) {
	srv := startServer(t, store.NewMemory())
	srv.Definitions().Add(valveDef)
	valve := stdobj.New(valveDef, model.NewInstance(0, model.NewResource(0, model.Bool(false))))
	var flushed []string
	valve.OnExecute(2, func(ctx context.Context, inst uint16, args []byte) error {
		flushed = append(flushed, string(args))
		return nil
	})
	startDevice(t, srv, "dev-h", valve)
	h := adapter.NewHost(adapter.HostConfig{KV: store.NewMemory(), Logger: testLogger(t)})

	var resp abi.LWM2MResponse
	req := &abi.LWM2MRequest{Endpoint: "dev-h", Operation: abi.OperationRead, Path: abi.PathOf(model.MustPath("/3/0/0"))}
	if err := hostCall(t, h, abi.HostRequest, req, &resp); !errors.Is(err, model.ErrServiceUnavailable) {
		t.Fatalf("before SetServer: %v, want 5.03", err)
	}
	h.SetServer(srv)

	p := func(s string) *abi.Path { return abi.PathOf(model.MustPath(s)) }
	node := func(n model.Node) *abi.Node { return abi.NodeOf(&n) }
	tests := []struct {
		name  string
		req   abi.LWM2MRequest
		code  model.Code
		check func(t *testing.T, r *abi.LWM2MResponse)
	}{
		{"read", abi.LWM2MRequest{Operation: abi.OperationRead, Path: p("/3/0/0")}, model.Content, func(t *testing.T, r *abi.LWM2MResponse) {
			if n, err := r.Node.Model(); err != nil || n.Value != model.String("Acme") {
				t.Errorf("node %v %v", n, err)
			}
		}},
		{"write", abi.LWM2MRequest{Operation: abi.OperationWriteReplace, Path: p("/42769/0/0"), Node: node(model.NewResource(0, model.Bool(true)))}, model.Changed, nil},
		{"write update", abi.LWM2MRequest{Operation: abi.OperationWriteUpdate, Path: p("/42769/0"), Node: node(model.NewInstance(0, model.NewResource(0, model.Bool(true))))}, model.Changed, nil},
		{"execute", abi.LWM2MRequest{Operation: abi.OperationExecute, Path: p("/42769/0/2"), Args: []byte("0='a'")}, model.Changed, nil},
		{"create", abi.LWM2MRequest{Operation: abi.OperationCreate, Path: p("/42769"), Node: node(model.NewInstance(5, model.NewResource(0, model.Bool(false))))}, model.Created, func(t *testing.T, r *abi.LWM2MResponse) {
			if l, err := r.Location.Model(); err != nil || l != model.MustPath("/42769/5") {
				t.Errorf("location %v %v", l, err)
			}
		}},
		{"delete", abi.LWM2MRequest{Operation: abi.OperationDelete, Path: p("/42769/5")}, model.Deleted, nil},
		{"discover", abi.LWM2MRequest{Operation: abi.OperationDiscover, Path: p("/42769")}, model.Content, func(t *testing.T, r *abi.LWM2MResponse) {
			if !strings.Contains(r.Links, "</42769/0/0>") {
				t.Errorf("links %q", r.Links)
			}
		}},
		{"write attributes", abi.LWM2MRequest{Operation: abi.OperationWriteAttributes, Path: p("/42769/0/0"), Attributes: "pmin=1&pmax=60"}, model.Changed, nil},
		{"observe", abi.LWM2MRequest{Operation: abi.OperationObserve, Path: p("/42769/0/0"), Attributes: "pmax=30"}, model.Content, func(t *testing.T, r *abi.LWM2MResponse) {
			if n, err := r.Node.Model(); err != nil || n.Value != model.Bool(true) || len(r.Token) == 0 {
				t.Errorf("node %v %v, token %x", n, err, r.Token)
			}
		}},
		{"cancel observe", abi.LWM2MRequest{Operation: abi.OperationCancelObserve, Path: p("/42769/0/0")}, model.Content, nil},
		{"read composite", abi.LWM2MRequest{Operation: abi.OperationReadComposite, Paths: []abi.Path{*p("/3/0/0"), *p("/42769/0/0")}}, model.Content, func(t *testing.T, r *abi.LWM2MResponse) {
			if len(r.Entries) != 2 {
				t.Errorf("entries %d", len(r.Entries))
			}
		}},
		{"write composite", abi.LWM2MRequest{Operation: abi.OperationWriteComposite, Entries: []abi.Entry{{Path: p("/42769/0/0"), Node: node(model.NewResource(0, model.Bool(false)))}}}, model.Changed, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Endpoint = "dev-h"
			var resp abi.LWM2MResponse
			if err := hostCall(t, h, abi.HostRequest, &tc.req, &resp); err != nil {
				t.Fatal(err)
			}
			if model.Code(resp.Code) != tc.code {
				t.Errorf("code %s, want %s", model.Code(resp.Code), tc.code)
			}
			if tc.check != nil {
				tc.check(t, &resp)
			}
		})
	}
	if v, _ := valve.Get(model.MustPath("/42769/0/0")); v != model.Bool(false) {
		t.Errorf("the writes did not reach the device: %v", v)
	}
	if !slices.Equal(flushed, []string{"0='a'"}) {
		t.Errorf("executions %q", flushed)
	}

	// Errors carry the device's codes, or 5.04 for a timeout.
	errTests := []struct {
		name string
		req  abi.LWM2MRequest
		want error
	}{
		{"missing resource", abi.LWM2MRequest{Endpoint: "dev-h", Operation: abi.OperationRead, Path: p("/3/0/4242")}, model.ErrNotFound},
		{"unknown device", abi.LWM2MRequest{Endpoint: "nobody", Operation: abi.OperationRead, Path: p("/3/0/0")}, model.ErrNotFound},
		{"not writable", abi.LWM2MRequest{Endpoint: "dev-h", Operation: abi.OperationWriteReplace, Path: p("/3/0/0"), Node: node(model.NewResource(0, model.String("x")))}, model.ErrMethodNotAllowed},
		{"no node", abi.LWM2MRequest{Endpoint: "dev-h", Operation: abi.OperationWriteReplace, Path: p("/42769/0/0")}, model.ErrBadRequest},
		{"bad attributes", abi.LWM2MRequest{Endpoint: "dev-h", Operation: abi.OperationWriteAttributes, Path: p("/42769/0/0"), Attributes: "color=red"}, model.ErrBadRequest},
		{"cancel of nothing", abi.LWM2MRequest{Endpoint: "dev-h", Operation: abi.OperationCancelObserve, Path: p("/3/0/0")}, model.ErrNotFound},
		{"unknown operation", abi.LWM2MRequest{Endpoint: "dev-h", Operation: 99, Path: p("/3/0/0")}, model.ErrBadRequest},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			var resp abi.LWM2MResponse
			if err := hostCall(t, h, abi.HostRequest, &tc.req, &resp); !errors.Is(err, tc.want) {
				t.Errorf("%v, want %v", err, tc.want)
			}
		})
	}
}

// TestHostKV checks the kv host methods: the namespace is the plugin's id.
func TestHostKV(t *testing.T) {
	kv := store.NewMemory()
	h := adapter.NewHost(adapter.HostConfig{KV: kv})
	var get abi.KVGetResponse
	if err := hostCall(t, h, abi.HostKVGet, &abi.KVGetRequest{Key: "a"}, &get); err != nil || get.Found {
		t.Fatalf("get of a missing key: %+v %v", get, err)
	}
	for _, k := range []string{"a", "b/1", "b/2", "b/3"} {
		if err := hostCall(t, h, abi.HostKVPut, &abi.KVPutRequest{Key: k, Value: []byte("v" + k)}, &abi.KVPutResponse{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := hostCall(t, h, abi.HostKVGet, &abi.KVGetRequest{Key: "b/2"}, &get); err != nil || !get.Found || string(get.Value) != "vb/2" {
		t.Fatalf("get: %+v %v", get, err)
	}
	if v, err := kv.KVGet(context.Background(), "logic.test", "b/2"); err != nil || string(v) != "vb/2" {
		t.Fatalf("in the store: %q %v", v, err)
	}
	var list abi.KVListResponse
	if err := hostCall(t, h, abi.HostKVList, &abi.KVListRequest{Prefix: "b/", After: "b/1", Limit: 1}, &list); err != nil || !slices.Equal(list.Keys, []string{"b/2"}) || !list.More {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := hostCall(t, h, abi.HostKVDelete, &abi.KVDeleteRequest{Key: "a"}, &abi.KVDeleteResponse{}); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, store.MaxKVValue+1)
	if err := hostCall(t, h, abi.HostKVPut, &abi.KVPutRequest{Key: "big", Value: big}, &abi.KVPutResponse{}); !errors.Is(err, model.ErrRequestEntityTooLarge) {
		t.Fatalf("value too large: %v", err)
	}
	if _, err := adapter.NewHost(adapter.HostConfig{}).Call(context.Background(), "p", abi.HostKVGet, nil); !errors.Is(err, model.ErrNotImplemented) {
		t.Fatalf("no kv: %v", err)
	}
	if _, err := h.Call(context.Background(), "p", abi.HostMethod(99), nil); !errors.Is(err, model.ErrNotImplemented) {
		t.Fatalf("unknown host method: %v", err)
	}
}

// TestHostChanged checks the routing of changed paths to the engines that
// observe a plugin's objects.
func TestHostChanged(t *testing.T) {
	h := adapter.NewHost(adapter.HostConfig{})
	o := adapter.NewObject("objects.valve", nil, valveDef)
	var mu sync.Mutex
	var got [][]model.Path
	for range 2 { // two engines share the object
		o.Observe(func(paths ...model.Path) {
			mu.Lock()
			got = append(got, paths)
			mu.Unlock()
		})
	}
	h.RouteChanged("objects.valve", []*adapter.Object{o})
	req := &abi.ChangedRequest{Paths: abi.PathsOf([]model.Path{model.MustPath("/42769/0/0"), model.MustPath("/42769/1")})}
	if _, err := h.Call(context.Background(), "objects.valve", abi.HostChanged, req.MarshalAppend(nil)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[0]) != 2 {
		t.Fatalf("changed calls: %v", got)
	}
	other := &abi.ChangedRequest{Paths: abi.PathsOf([]model.Path{model.MustPath("/3/0/0")})}
	if _, err := h.Call(context.Background(), "objects.valve", abi.HostChanged, other.MarshalAppend(nil)); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("changed of another object: %v", err)
	}
	if _, err := h.Call(context.Background(), "objects.other", abi.HostChanged, req.MarshalAppend(nil)); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("changed of another plugin: %v", err)
	}
	h.Forget("objects.valve")
	if _, err := h.Call(context.Background(), "objects.valve", abi.HostChanged, req.MarshalAppend(nil)); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("changed after Forget: %v", err)
	}
}

// fakeLogic is a logic plugin in Go behind a Caller: it records the events
// it gets and fails those of the types in fail.
type fakeLogic struct {
	mu    sync.Mutex
	types []abi.EventType
	fail  abi.EventType
	block chan struct{}
}

func (f *fakeLogic) Call(ctx context.Context, m abi.Method, req []byte) ([]byte, error) {
	var r abi.EventRequest
	if m != abi.MethodEvent || r.Unmarshal(req) != nil || r.Event == nil {
		return nil, model.Errorf(model.BadRequest, "not an event")
	}
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	f.types = append(f.types, r.Event.Type)
	f.mu.Unlock()
	if r.Event.Type == f.fail {
		return nil, model.Errorf(model.InternalServerError, "hook failed")
	}
	return nil, nil
}

func (f *fakeLogic) seen() []abi.EventType {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.types)
}

// TestLogicOrderAndFailures checks that events reach a logic plugin in
// order, that a failing hook is counted and not fatal, and that a plugin
// that falls behind loses events rather than hold up the server.
func TestLogicOrderAndFailures(t *testing.T) {
	srv := startServer(t, store.NewMemory())
	f := &fakeLogic{fail: abi.EventTypeRegistered}
	l := adapter.StartLogic(srv, f, adapter.LogicConfig{Plugin: "logic.fake", Logger: testLogger(t),
		Types: []server.EventType{server.EventRegistered, server.EventDeregistered}})
	defer l.Close()
	e := startDevice(t, srv, "dev-o")
	e.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(f.seen()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := f.seen(); !slices.Equal(got, []abi.EventType{abi.EventTypeRegistered, abi.EventTypeDeregistered}) {
		t.Fatalf("events %v", got)
	}
	if s := l.Stats(); s.Delivered != 1 || s.Failed != 1 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}

	// A plugin stuck in its hook: the server goes on (registrations are
	// answered) and the events beyond the buffer are dropped and counted.
	stuck := &fakeLogic{block: make(chan struct{})}
	ls := adapter.StartLogic(srv, stuck, adapter.LogicConfig{Plugin: "logic.stuck", Buffer: 1})
	for i := range 4 {
		startDevice(t, srv, "dev-s"+string(rune('a'+i))).Close()
	}
	close(stuck.block)
	ls.Close()
	if s := ls.Stats(); s.Dropped == 0 {
		t.Fatalf("a stuck plugin lost nothing: %+v", s)
	}
}
