package main

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
	"github.com/wasm2m/wasm2m/sdk/plugintest"
)

var ctx = context.Background()

// start returns the plugin under test with config (JSON; "" for none).
func start(t *testing.T, config string, opts ...plugintest.Option) *plugintest.Plugin {
	t.Helper()
	p := newPlugin()
	return plugintest.New(t, &p, append([]plugintest.Option{plugintest.Config(config)}, opts...)...)
}

func TestConformance(t *testing.T) {
	for _, config := range []string{"", `{"lights":3,"watts":60}`, `{"lights":0}`} {
		t.Run("config="+config, func(t *testing.T) {
			plugintest.Conformance(t, start(t, config).Dispatcher)
		})
	}
}

// TestRegistered checks the plugin that init registers: the one a Wasm
// build serves.
func TestRegistered(t *testing.T) {
	p := plugintest.New(t, nil)
	m, _, err := p.Manifest(ctx)
	if err != nil || m.ID != "objects.light" {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	plugintest.Conformance(t, p.Dispatcher)
}

// TestDefinitionIsPublished checks that every resource the plugin defines
// is the published one (core/objects' built-in 3311 version 1.0).
func TestDefinitionIsPublished(t *testing.T) {
	var pub *model.ObjectDef
	for _, d := range objects.Core() {
		if d.ID == ObjectID && d.Version == model.V1_0 {
			pub = d
		}
	}
	if pub == nil {
		t.Fatal("core/objects has no 3311 version 1.0")
	}
	if err := definition.Validate(); err != nil {
		t.Fatal(err)
	}
	if definition.Multiple != pub.Multiple {
		t.Errorf("multiple %v, published %v", definition.Multiple, pub.Multiple)
	}
	for _, r := range definition.Resources {
		q := pub.Resource(r.ID)
		if q == nil {
			t.Errorf("resource %d is not in the published definition", r.ID)
			continue
		}
		if r.Name != q.Name || r.Operations != q.Operations || r.Multiple != q.Multiple || r.Mandatory != q.Mandatory || r.Type != q.Type || r.Units != q.Units || r.Range != q.Range {
			t.Errorf("resource %d: %+v, published %+v", r.ID, r, *q)
		}
	}
	for _, q := range pub.Resources {
		if q.Mandatory && definition.Resource(q.ID) == nil {
			t.Errorf("mandatory resource %d missing", q.ID)
		}
	}
}

func write(t *testing.T, p *plugintest.Plugin, path string, v model.Value) {
	t.Helper()
	mp := model.MustPath(path)
	if err := p.Write(ctx, mp, model.NewResource(mp.ResourceID(), v), true); err != nil {
		t.Fatalf("write %s = %v: %v", path, v, err)
	}
}

func read(t *testing.T, p *plugintest.Plugin, path string) model.Value {
	t.Helper()
	n, err := p.Read(ctx, model.MustPath(path))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return n.Value
}

// TestOnTimeAndEnergy switches a light on and off and dims it along the
// host's clock: the on time counts the seconds it was on, the energy its
// watts times the dimmer over that time.
func TestOnTimeAndEnergy(t *testing.T) {
	p := start(t, `{"watts":10}`)
	if v := read(t, p, "/3311/0/5850"); v.Bool() {
		t.Fatal("a new light is on")
	}
	p.Host.Advance(time.Hour) // off: nothing accrues
	write(t, p, "/3311/0/5850", model.Bool(true))
	p.Host.Advance(30 * time.Minute) // 10 W for 30 min: 5 Wh
	write(t, p, "/3311/0/5851", model.Int(50))
	p.Host.Advance(30 * time.Minute) // 5 W for 30 min: 2.5 Wh
	if v := read(t, p, "/3311/0/5852"); v.Int() != 3600 {
		t.Errorf("on time %v, want 3600", v)
	}
	if v := read(t, p, "/3311/0/5805"); v.Float() != 7.5 {
		t.Errorf("energy %v, want 7.5", v)
	}
	write(t, p, "/3311/0/5850", model.Bool(false))
	p.Host.Advance(time.Hour)
	if v := read(t, p, "/3311/0/5852"); v.Int() != 3600 {
		t.Errorf("on time after an hour off %v, want 3600", v)
	}
	write(t, p, "/3311/0/5852", model.Int(0)) // IPSO: writing 0 resets
	if v := read(t, p, "/3311/0/5852"); v.Int() != 0 {
		t.Errorf("on time after reset %v", v)
	}
	write(t, p, "/3311/0/5850", model.Bool(true))
	p.Host.Advance(90 * time.Second)
	if v := read(t, p, "/3311/0/5852"); v.Int() != 90 {
		t.Errorf("on time %v, want 90", v)
	}
	write(t, p, "/3311/0/5852", model.Int(1000))
	p.Host.Advance(10 * time.Second)
	n, err := p.Read(ctx, model.MustPath("/3311/0"))
	if err != nil {
		t.Fatal(err)
	}
	want := model.NewInstance(0,
		model.NewResource(5706, model.String("white")),
		model.NewResource(5750, model.String("")),
		model.NewResource(5805, model.Float(7.639)), // and 5 W for 100 s more, to the mWh
		model.NewResource(5820, model.Float(0.95)),
		model.NewResource(5850, model.Bool(true)),
		model.NewResource(5851, model.Int(50)),
		model.NewResource(5852, model.Int(1010)),
	)
	if !n.Equal(&want) {
		t.Errorf("instance\n got %v\nwant %v", n, want)
	}
}

func TestWriteInstance(t *testing.T) {
	p := start(t, `{"colour":"amber"}`)
	in := model.NewInstance(0,
		model.NewResource(5706, model.String("#ff0000")),
		model.NewResource(5750, model.String("porch")),
		model.NewResource(5850, model.Bool(true)),
		model.NewResource(5851, model.Int(20)),
	)
	if err := p.Write(ctx, model.MustPath("/3311/0"), in, false); err != nil {
		t.Fatal(err)
	}
	if err := p.Write(ctx, model.MustPath("/3311/0"), model.NewInstance(0, model.NewResource(5851, model.Int(70))), false); err != nil {
		t.Fatal(err)
	}
	if c, d := read(t, p, "/3311/0/5706"), read(t, p, "/3311/0/5851"); c.Str() != "#ff0000" || d.Int() != 70 {
		t.Errorf("after a partial update: colour %v dimmer %v", c, d)
	}
	if err := p.Write(ctx, model.MustPath("/3311/0"), model.NewInstance(0, model.NewResource(5750, model.String("hall"))), true); err != nil {
		t.Fatal(err)
	}
	if c, on, d, app := read(t, p, "/3311/0/5706"), read(t, p, "/3311/0/5850"), read(t, p, "/3311/0/5851"), read(t, p, "/3311/0/5750"); c.Str() != "amber" || on.Bool() || d.Int() != 100 || app.Str() != "hall" {
		t.Errorf("after a replace: colour %v on %v dimmer %v app %v", c, on, d, app)
	}
}

func TestCreateDelete(t *testing.T) {
	p := start(t, `{"lights":2,"max_lights":4}`)
	ids := func() []uint16 {
		t.Helper()
		ids, err := p.Instances(ctx, ObjectID)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := ids(); !slices.Equal(got, []uint16{0, 1}) {
		t.Fatalf("instances %v", got)
	}
	id, err := p.Create(ctx, ObjectID, model.NewInstance(model.NoID, model.NewResource(5850, model.Bool(true))))
	if err != nil || id != 2 {
		t.Fatalf("create: %d, %v", id, err)
	}
	if v := read(t, p, "/3311/2/5850"); !v.Bool() {
		t.Error("created light is off")
	}
	if !p.Host.Logged("light created instance=2") {
		t.Errorf("logs %v", p.Host.Logs())
	}
	if _, err := p.Create(ctx, ObjectID, model.NewInstance(1)); !errors.Is(err, model.ErrBadRequest) {
		t.Errorf("create of a taken id: %v", err)
	}
	if id, err := p.Create(ctx, ObjectID, model.NewInstance(10)); err != nil || id != 10 {
		t.Fatalf("create 10: %d, %v", id, err)
	}
	if got := ids(); !slices.Equal(got, []uint16{0, 1, 2, 10}) {
		t.Errorf("instances %v, want ascending by number", got)
	}
	if _, err := p.Create(ctx, ObjectID, model.NewInstance(model.NoID)); !errors.Is(err, model.ErrBadRequest) {
		t.Errorf("create past max_lights: %v", err)
	}
	for _, id := range []uint16{0, 1, 2, 10} {
		if err := p.Delete(ctx, model.InstancePath(ObjectID, id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Delete(ctx, model.MustPath("/3311/0")); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("delete again: %v", err)
	}
	if _, err := p.Read(ctx, model.MustPath("/3311/0")); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("read deleted: %v", err)
	}
	// A restart on the same storage does not bring the lights back.
	q := start(t, `{"lights":2,"max_lights":4}`, plugintest.WithHost(p.Host))
	if got, err := q.Instances(ctx, ObjectID); err != nil || len(got) != 0 {
		t.Errorf("after restart: %v, %v", got, err)
	}
}

// TestStateShared checks what a pool of Wasm instances relies on: a second
// instance of the plugin, on the same key-value space, sees the lights the
// first one switched and created.
func TestStateShared(t *testing.T) {
	a := start(t, "")
	b := start(t, "", plugintest.WithHost(a.Host))
	write(t, a, "/3311/0/5850", model.Bool(true))
	if _, err := a.Create(ctx, ObjectID, model.NewInstance(7)); err != nil {
		t.Fatal(err)
	}
	a.Host.Advance(time.Minute)
	if v := read(t, b, "/3311/0/5852"); v.Int() != 60 {
		t.Errorf("on time seen by the other instance %v", v)
	}
	if ids, _ := b.Instances(ctx, ObjectID); !slices.Equal(ids, []uint16{0, 7}) {
		t.Errorf("instances seen by the other instance %v", ids)
	}
}

func TestRefusals(t *testing.T) {
	p := start(t, "")
	cases := []struct {
		name string
		path string
		v    model.Value
		want error
	}{
		{"dimmer over 100", "/3311/0/5851", model.Int(101), model.ErrBadRequest},
		{"dimmer negative", "/3311/0/5851", model.Int(-1), model.ErrBadRequest},
		{"on time negative", "/3311/0/5852", model.Int(-5), model.ErrBadRequest},
		{"on/off as a string", "/3311/0/5850", model.String("on"), model.ErrBadRequest},
		{"long colour", "/3311/0/5706", model.String(strings.Repeat("r", 257)), model.ErrBadRequest},
		{"energy", "/3311/0/5805", model.Float(0), model.ErrMethodNotAllowed},
		{"missing light", "/3311/4/5850", model.Bool(true), model.ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mp := model.MustPath(tc.path)
			if err := p.Write(ctx, mp, model.NewResource(mp.ResourceID(), tc.v), true); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	if err := p.Execute(ctx, model.MustPath("/3311/0/5850"), ""); !errors.Is(err, model.ErrMethodNotAllowed) {
		t.Errorf("execute: %v", err)
	}
	if v := read(t, p, "/3311/0/5851"); v.Int() != 100 {
		t.Errorf("a refused write changed the dimmer: %v", v)
	}
}

func TestConfig(t *testing.T) {
	bad := []string{
		`{"lights":-1}`, `{"lights":17}`, `{"max_lights":0}`, `{"max_lights":65}`, `{"watts":-1}`,
		`{"power_factor":1.5}`, `{"colour":"` + strings.Repeat("c", 65) + `"}`, `{"unknown":1}`, `[]`, `{`,
	}
	for _, config := range bad {
		t.Run(config, func(t *testing.T) {
			p := start(t, "", plugintest.NoStart())
			if err := p.Start(ctx, []byte(config)); err == nil {
				t.Errorf("started with %s", config)
			}
		})
	}
}

// TestSchemaMatchesConfig keeps the manifest's JSON Schema and Config
// together: the same property names, and the defaults the schema states
// are DefaultConfig's.
func TestSchemaMatchesConfig(t *testing.T) {
	var schema struct {
		Properties map[string]struct {
			Default any `json:"default"`
		} `json:"properties"`
	}
	if err := json.Unmarshal([]byte(configSchema), &schema); err != nil {
		t.Fatal(err)
	}
	defaults := map[string]any{}
	b, _ := json.Marshal(DefaultConfig())
	json.Unmarshal(b, &defaults)
	ct := reflect.TypeFor[Config]()
	if len(schema.Properties) != ct.NumField() {
		t.Errorf("schema has %d properties, Config %d fields", len(schema.Properties), ct.NumField())
	}
	for i := range ct.NumField() {
		name := ct.Field(i).Tag.Get("json")
		prop, ok := schema.Properties[name]
		if !ok {
			t.Errorf("schema lacks %q", name)
			continue
		}
		if !reflect.DeepEqual(prop.Default, defaults[name]) {
			t.Errorf("%s: schema default %v, DefaultConfig %v", name, prop.Default, defaults[name])
		}
	}
}
