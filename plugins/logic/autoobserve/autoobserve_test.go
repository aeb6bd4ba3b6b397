package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
	"github.com/wasm2m/wasm2m/sdk/plugintest"
)

var ctx = context.Background()

// start returns the plugin under test with config, answering requests to
// devices from dev.
func start(t *testing.T, config string, dev *devices, opts ...plugintest.Option) *plugintest.Plugin {
	t.Helper()
	p := newPlugin()
	pt := plugintest.New(t, &p, append([]plugintest.Option{plugintest.Config(config)}, opts...)...)
	if dev != nil {
		pt.Host.Respond(dev.respond)
	}
	return pt
}

// devices is the scripted responder: devices with values at paths, which
// answer Observe with the value, record Writes, and fail paths listed in
// fail with their code.
type devices struct {
	mu     sync.Mutex
	values map[string]model.Value // "endpoint /path"
	fail   map[string]model.Code
}

func newDevices() *devices {
	return &devices{values: map[string]model.Value{}, fail: map[string]model.Code{}}
}

func (d *devices) set(ep, path string, v model.Value) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.values[ep+" "+path] = v
}

func (d *devices) get(ep, path string) model.Value {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.values[ep+" "+path]
}

func (d *devices) respond(ctx context.Context, req plugintest.Request) (plugintest.Response, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := req.Endpoint + " " + req.Path.String()
	if c, ok := d.fail[k]; ok {
		return plugintest.Response{}, model.Errorf(c, "scripted failure")
	}
	v, ok := d.values[k]
	if !ok {
		return plugintest.Response{}, model.Errorf(model.NotFound, "%s", k)
	}
	switch req.Operation {
	case abi.OperationObserve:
		n := model.NewResource(req.Path.ResourceID(), v)
		return plugintest.Response{Node: &n, Token: []byte{1, 2}}, nil
	case abi.OperationWriteReplace:
		d.values[k] = req.Node.Value
		return plugintest.Response{}, nil
	}
	return plugintest.Response{}, model.Errorf(model.MethodNotAllowed, "not scripted")
}

// registered is a Registered event of ep with objects: "3303" for an
// object without instances, "3303/0" for instance 0.
func registered(ep string, objects ...string) guest.Event {
	e := guest.Event{Type: guest.EventRegistered, Endpoint: ep, RegistrationID: "r-" + ep, Binding: "U"}
	for _, s := range objects {
		p := model.MustPath("/" + s)
		o := e.Object(p.ObjectID())
		if o == nil {
			e.Objects = append(e.Objects, guest.RegisteredObject{ID: p.ObjectID()})
			o = &e.Objects[len(e.Objects)-1]
		}
		if p.Len() > 1 {
			o.Instances = append(o.Instances, p.InstanceID())
		}
	}
	return e
}

// notify is a Notification of ep with one value at path, as records.
func notify(ep, path string, v model.Value) guest.Event {
	p := model.MustPath(path)
	return guest.Event{Type: guest.EventNotification, Endpoint: ep, Token: []byte{1, 2}, Paths: []model.Path{p},
		Entries: []model.Entry{{Path: p, Node: model.NewResource(p.ResourceID(), v)}},
		Records: []model.Record{{Path: p, Value: v}}}
}

// ops returns the requests sent so far as "endpoint op /path [value]".
func ops(p *plugintest.Plugin) []string {
	var s []string
	for _, r := range p.Host.Requests() {
		line := fmt.Sprintf("%s %d %s", r.Endpoint, r.Operation, r.Path)
		if r.Attributes != "" {
			line += " ?" + r.Attributes
		}
		if r.Node != nil {
			line += " = " + model.FormatText(r.Node.Value)
		}
		s = append(s, line)
	}
	return s
}

const (
	opObserve = abi.OperationObserve
	opWrite   = abi.OperationWriteReplace
)

func line(ep string, op abi.Operation, path, rest string) string {
	s := fmt.Sprintf("%s %d %s", ep, op, path)
	if rest != "" {
		s += " " + rest
	}
	return s
}

const thermostat = `{
  "observe": ["/3303/0/5700", "/3303/1/5700", "/3311/0/5850", "/9999/0/1"],
  "attributes": "pmin=1&pmax=60",
  "rules": [{"path": "/3303/0/5700", "above": 30, "hysteresis": 1,
             "write": {"path": "/3311/0/5850", "value": true},
             "clear": {"path": "/3311/0/5850", "value": false}}]
}`

func TestObserveOnRegistered(t *testing.T) {
	dev := newDevices()
	dev.set("d1", "/3303/0/5700", model.Float(21))
	dev.set("d1", "/3311/0/5850", model.Bool(false))
	p := start(t, thermostat, dev)
	// 3303 instance 1 and object 9999 are not registered: not observed.
	if err := p.Event(ctx, registered("d1", "3", "3303/0", "3311/0")); err != nil {
		t.Fatal(err)
	}
	want := []string{
		line("d1", opObserve, "/3303/0/5700", "?pmin=1&pmax=60"),
		line("d1", opObserve, "/3311/0/5850", "?pmin=1&pmax=60"),
	}
	if got := ops(p); !slices.Equal(got, want) {
		t.Errorf("requests\n got %q\nwant %q", got, want)
	}
	if !p.Host.Logged("observing endpoint=d1 path=/3303/0/5700") {
		t.Errorf("logs %v", p.Host.Logs())
	}
	// An object registered without instances: the path is observed.
	dev.set("d2", "/3303/0/5700", model.Float(21))
	dev.set("d2", "/3303/1/5700", model.Float(21))
	if err := p.Event(ctx, registered("d2", "3303")); err != nil {
		t.Fatal(err)
	}
	if got := ops(p)[2:]; !slices.Equal(got, []string{
		line("d2", opObserve, "/3303/0/5700", "?pmin=1&pmax=60"),
		line("d2", opObserve, "/3303/1/5700", "?pmin=1&pmax=60"),
	}) {
		t.Errorf("requests for d2 %q", got)
	}
}

// TestObserveFailure: a path the device refuses is an error of the event,
// and the other paths are still observed.
func TestObserveFailure(t *testing.T) {
	dev := newDevices()
	dev.set("d1", "/3311/0/5850", model.Bool(false))
	dev.fail["d1 /3303/0/5700"] = model.Unauthorized
	p := start(t, thermostat, dev)
	err := p.Event(ctx, registered("d1", "3303/0", "3311/0"))
	if err == nil || !strings.Contains(err.Error(), "observe /3303/0/5700") {
		t.Errorf("event error %v", err)
	}
	if got := ops(p); len(got) != 2 || got[1] != line("d1", opObserve, "/3311/0/5850", "?pmin=1&pmax=60") {
		t.Errorf("requests %q", got)
	}
}

// TestThreshold sends a series of notifications: the rule trips above 30,
// stays tripped down to 29 (hysteresis 1), clears below, trips again.
func TestThreshold(t *testing.T) {
	dev := newDevices()
	dev.set("d1", "/3303/0/5700", model.Float(21))
	dev.set("d1", "/3311/0/5850", model.Bool(false))
	p := start(t, thermostat, dev)
	if err := p.Event(ctx, registered("d1", "3303/0", "3311/0")); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		v     model.Value
		write string // "" for none
	}{
		{model.Float(25), ""},
		{model.Float(30), ""}, // not above
		{model.Float(30.5), "1"},
		{model.Float(35), ""},
		{model.Float(29.5), ""}, // inside the hysteresis: still tripped
		{model.Int(29), "0"},    // back by the hysteresis: cleared
		{model.Float(28), ""},
		{model.Int(31), "1"}, // an integer resource works too
	}
	for i, s := range steps {
		before := len(p.Host.Requests())
		if err := p.Event(ctx, notify("d1", "/3303/0/5700", s.v)); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got := ops(p)[before:]
		var want []string
		if s.write != "" {
			want = []string{line("d1", opWrite, "/3311/0/5850", "= "+s.write)}
		}
		if !slices.Equal(got, want) {
			t.Errorf("step %d (%v): requests %q, want %q", i, s.v, got, want)
		}
	}
	if v := dev.get("d1", "/3311/0/5850"); !v.Bool() {
		t.Errorf("the device's light is %v", v)
	}
	// Another device has its own state.
	dev.set("d2", "/3311/0/5850", model.Bool(false))
	if err := p.Event(ctx, notify("d2", "/3303/0/5700", model.Float(31))); err != nil {
		t.Fatal(err)
	}
	if got := ops(p); got[len(got)-1] != line("d2", opWrite, "/3311/0/5850", "= 1") {
		t.Errorf("d2: %q", got)
	}
}

// TestTrippedAtRegistration: the value the Observe returns is checked too.
func TestTrippedAtRegistration(t *testing.T) {
	dev := newDevices()
	dev.set("d1", "/3303/0/5700", model.Float(40))
	dev.set("d1", "/3311/0/5850", model.Bool(false))
	p := start(t, thermostat, dev)
	if err := p.Event(ctx, registered("d1", "3303/0", "3311/0")); err != nil {
		t.Fatal(err)
	}
	if got := ops(p); len(got) != 3 || got[2] != line("d1", opWrite, "/3311/0/5850", "= 1") {
		t.Errorf("requests %q", got)
	}
	if !p.Host.Logged("rule tripped endpoint=d1 path=/3303/0/5700") {
		t.Errorf("logs %v", p.Host.Logs())
	}
	// De-registered: forgotten. Registering again trips again.
	if err := p.Event(ctx, guest.Event{Type: guest.EventDeregistered, Endpoint: "d1"}); err != nil {
		t.Fatal(err)
	}
	if kv := p.Host.KV(); len(kv) != 0 {
		t.Errorf("key-value space after de-registration: %v", kv)
	}
	if err := p.Event(ctx, registered("d1", "3303/0", "3311/0")); err != nil {
		t.Fatal(err)
	}
	if got := ops(p); len(got) != 6 || got[5] != line("d1", opWrite, "/3311/0/5850", "= 1") {
		t.Errorf("requests %q", got)
	}
}

// TestWriteFailure: a write the device refuses is the event's error, and
// the rule stays clear so that the next value tries again.
func TestWriteFailure(t *testing.T) {
	dev := newDevices()
	dev.fail["d1 /3311/0/5850"] = model.MethodNotAllowed
	p := start(t, thermostat, dev)
	err := p.Event(ctx, notify("d1", "/3303/0/5700", model.Float(31)))
	if !errors.Is(err, model.ErrMethodNotAllowed) {
		t.Errorf("event error %v, want the device's 4.05", err)
	}
	delete(dev.fail, "d1 /3311/0/5850")
	dev.set("d1", "/3311/0/5850", model.Bool(false))
	if err := p.Event(ctx, notify("d1", "/3303/0/5700", model.Float(32))); err != nil {
		t.Fatal(err)
	}
	if v := dev.get("d1", "/3311/0/5850"); !v.Bool() {
		t.Error("the retry did not write")
	}
}

// TestSeries: a Send with several samples acts on where they end.
func TestSeries(t *testing.T) {
	dev := newDevices()
	dev.set("d1", "/3311/0/5850", model.Bool(false))
	p := start(t, thermostat, dev)
	path := model.MustPath("/3303/0/5700")
	send := func(vs ...float64) {
		t.Helper()
		e := guest.Event{Type: guest.EventSend, Endpoint: "d1"}
		for _, v := range vs {
			e.Records = append(e.Records, model.Record{Path: path, Value: model.Float(v)})
		}
		if err := p.Event(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	send(20, 35, 20) // tripped and cleared within the send
	if got := ops(p); len(got) != 0 {
		t.Errorf("requests %q", got)
	}
	send(20, 35, 29.5)
	if got := ops(p); !slices.Equal(got, []string{line("d1", opWrite, "/3311/0/5850", "= 1")}) {
		t.Errorf("requests %q", got)
	}
}

// TestEntriesOnly: a notification of an instance, as entries without
// records, is flattened to find the rule's resource.
func TestEntriesOnly(t *testing.T) {
	dev := newDevices()
	dev.set("d1", "/3311/0/5850", model.Bool(false))
	p := start(t, thermostat, dev)
	e := guest.Event{Type: guest.EventNotification, Endpoint: "d1", Paths: []model.Path{model.MustPath("/3303/0")},
		Entries: []model.Entry{{Path: model.MustPath("/3303/0"), Node: model.NewInstance(0,
			model.NewResource(5700, model.Float(33)), model.NewResource(5701, model.String("Cel")))}}}
	if err := p.Event(ctx, e); err != nil {
		t.Fatal(err)
	}
	if got := ops(p); len(got) != 1 {
		t.Errorf("requests %q", got)
	}
	// A failed notification carries no value.
	if err := p.Event(ctx, guest.Event{Type: guest.EventNotification, Endpoint: "d1", Err: model.ErrNotFound}); err != nil {
		t.Error(err)
	}
}

// TestBelowAndTypes: a rule on a low value, whose actions write typed
// values to a resource instance and a float resource.
func TestBelowAndTypes(t *testing.T) {
	dev := newDevices()
	dev.set("d1", "/3/0/7/1", model.Int(0))
	dev.set("d1", "/3311/0/5851", model.Int(0))
	p := start(t, `{"rules": [
	  {"path": "/3/0/9", "below": 15, "write": {"path": "/3311/0/5851", "value": 20}, "clear": {"path": "/3311/0/5851", "value": "100", "type": "integer"}},
	  {"path": "/3/0/9", "below": 5, "write": {"path": "/3/0/7/1", "value": 3300, "type": "integer"}}
	]}`, dev)
	if err := p.Event(ctx, notify("d1", "/3/0/9", model.Int(10))); err != nil {
		t.Fatal(err)
	}
	if err := p.Event(ctx, notify("d1", "/3/0/9", model.Int(4))); err != nil {
		t.Fatal(err)
	}
	if err := p.Event(ctx, notify("d1", "/3/0/9", model.Int(50))); err != nil {
		t.Fatal(err)
	}
	want := []string{
		line("d1", opWrite, "/3311/0/5851", "= 20"),
		line("d1", opWrite, "/3/0/7/1", "= 3300"),
		line("d1", opWrite, "/3311/0/5851", "= 100"),
	}
	if got := ops(p); !slices.Equal(got, want) {
		t.Errorf("requests\n got %q\nwant %q", got, want)
	}
	if n := p.Host.Requests()[1].Node; n.Kind != model.KindResourceInstance || n.ID != 1 {
		t.Errorf("resource instance write: %v", n)
	}
}

// TestStateShared checks what a pool of Wasm instances relies on: a rule
// tripped by one instance of the plugin is cleared by another, and
// endpoints whose names are prefixes of each other keep apart.
func TestStateShared(t *testing.T) {
	dev := newDevices()
	for _, ep := range []string{"a", "a/0"} {
		dev.set(ep, "/3311/0/5850", model.Bool(false))
	}
	a := start(t, thermostat, dev)
	b := start(t, thermostat, dev, plugintest.WithHost(a.Host))
	for _, ep := range []string{"a", "a/0"} {
		if err := a.Event(ctx, notify(ep, "/3303/0/5700", model.Float(31))); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Event(ctx, guest.Event{Type: guest.EventExpired, Endpoint: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Event(ctx, notify("a/0", "/3303/0/5700", model.Float(20))); err != nil {
		t.Fatal(err)
	}
	if v := dev.get("a/0", "/3311/0/5850"); v.Bool() {
		t.Error("the second instance did not clear what the first tripped")
	}
	if kv := a.Host.KV(); len(kv) != 0 {
		t.Errorf("key-value space %v", kv)
	}
}

func TestConfig(t *testing.T) {
	bad := []string{
		`{"observe": ["/"]}`,
		`{"observe": ["3303"]}`,
		`{"observe": ["/70000"]}`,
		`{"rules": [{"path": "/3303/0", "above": 1, "write": {"path": "/1/0/1", "value": 1}}]}`,
		`{"rules": [{"path": "/3303/0/5700", "write": {"path": "/1/0/1", "value": 1}}]}`,
		`{"rules": [{"path": "/3303/0/5700", "above": 1, "below": 0, "write": {"path": "/1/0/1", "value": 1}}]}`,
		`{"rules": [{"path": "/3303/0/5700", "above": 1}]}`,
		`{"rules": [{"path": "/3303/0/5700", "above": 1, "hysteresis": -1, "write": {"path": "/1/0/1", "value": 1}}]}`,
		`{"rules": [{"path": "/3303/0/5700", "above": 1, "write": {"path": "/1/0", "value": 1}}]}`,
		`{"rules": [{"path": "/3303/0/5700", "above": 1, "write": {"path": "/1/0/1", "value": null}}]}`,
		`{"rules": [{"path": "/3303/0/5700", "above": 1, "write": {"path": "/1/0/1", "value": [1]}}]}`,
		`{"rules": [{"path": "/3303/0/5700", "above": 1, "write": {"path": "/1/0/1", "value": 1.5, "type": "integer"}}]}`,
		`{"rules": [{"path": "/3303/0/5700", "above": 1, "write": {"path": "/1/0/1", "value": 1, "type": "decimal"}}]}`,
		`{"rules": [{"path": "/3303/0/5700", "above": 1, "write": {"path": "/1/0/1", "value": 1}, "clear": {"path": "x", "value": 1}}]}`,
		`{"observe": [], "extra": 1}`,
		`{"attributes": "` + strings.Repeat("a", 257) + `"}`,
		`{`,
	}
	for _, config := range bad {
		t.Run(config, func(t *testing.T) {
			p := start(t, "", nil, plugintest.NoStart())
			if err := p.Start(ctx, []byte(config)); err == nil {
				t.Errorf("started with %s", config)
			}
		})
	}
	start(t, "", nil) // no config: nothing to do, but it starts
}

func TestActionValue(t *testing.T) {
	cases := []struct {
		json, typ string
		want      model.Value
	}{
		{`true`, "", model.Bool(true)},
		{`false`, "boolean", model.Bool(false)},
		{`"on"`, "", model.String("on")},
		{`20`, "", model.Int(20)},
		{`-3`, "", model.Int(-3)},
		{`20.0`, "", model.Float(20)},
		{`2e1`, "", model.Float(20)},
		{`0.5`, "", model.Float(0.5)},
		{`20`, "float", model.Float(20)},
		{`7`, "unsigned", model.Uint(7)},
		{`"3:0"`, "objlnk", model.Objlnk(3, 0)},
		{`"AQI="`, "opaque", model.Opaque([]byte{1, 2})},
		{`1767225600`, "time", model.UnixTime(1767225600)},
	}
	for _, tc := range cases {
		t.Run(tc.json+" "+tc.typ, func(t *testing.T) {
			v, err := actionValue([]byte(tc.json), tc.typ)
			if err != nil || !v.Equal(tc.want) {
				t.Errorf("got %v (%v), %v; want %v", v, v.Type(), err, tc.want)
			}
		})
	}
}

// TestSchemaNamesConfig keeps the manifest's JSON Schema and Config
// together: every field of Config, Rule and Action is a property.
func TestSchemaNamesConfig(t *testing.T) {
	for _, name := range []string{"observe", "attributes", "rules", "timeout_ms", "path", "above", "below", "hysteresis", "write", "clear", "value", "type"} {
		if !strings.Contains(configSchema, `"`+name+`": {`) {
			t.Errorf("schema lacks property %q", name)
		}
	}
}
