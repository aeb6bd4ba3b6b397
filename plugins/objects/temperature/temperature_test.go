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
	for _, config := range []string{"", `{"sensors":3,"units":"K","base":294,"amplitude":5,"period_seconds":60,"resolution":0.5}`} {
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
	if err != nil || m.ID != "objects.temperature" {
		t.Fatalf("manifest %+v, %v", m, err)
	}
	plugintest.Conformance(t, p.Dispatcher)
}

// TestDefinitionIsPublished checks that every resource the plugin defines
// is the published one (core/objects' built-in 3303 version 1.1), so that
// a server decodes what the plugin answers with its own definition.
func TestDefinitionIsPublished(t *testing.T) {
	var pub *model.ObjectDef
	for _, d := range objects.Core() {
		if d.ID == ObjectID && d.Version == model.V1_1 {
			pub = d
		}
	}
	if pub == nil {
		t.Fatal("core/objects has no 3303 version 1.1")
	}
	if err := definition.Validate(); err != nil {
		t.Fatal(err)
	}
	if definition.Multiple != pub.Multiple || definition.LWM2MVersion != pub.LWM2MVersion {
		t.Errorf("object: multiple %v lwm2m %v, published %v %v", definition.Multiple, definition.LWM2MVersion, pub.Multiple, pub.LWM2MVersion)
	}
	for _, r := range definition.Resources {
		q := pub.Resource(r.ID)
		if q == nil {
			t.Errorf("resource %d is not in the published definition", r.ID)
			continue
		}
		if r.Name != q.Name || r.Operations != q.Operations || r.Multiple != q.Multiple || r.Mandatory != q.Mandatory || r.Type != q.Type {
			t.Errorf("resource %d: %+v, published %+v", r.ID, r, *q)
		}
	}
	for _, q := range pub.Resources {
		if q.Mandatory && definition.Resource(q.ID) == nil {
			t.Errorf("mandatory resource %d missing", q.ID)
		}
	}
}

func readFloat(t *testing.T, p *plugintest.Plugin, path string) float64 {
	t.Helper()
	n, err := p.Read(ctx, model.MustPath(path))
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return n.Value.Float()
}

func pathStrings(ps []model.Path) []string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return s
}

// TestValueFollowsClock steers the host's clock along the wave. The
// harness's clock starts at plugintest.Epoch, a whole number of hours
// since 1970: sensor 0 is at the start of its period (the base value),
// sensor 1 an eighth of a period behind.
func TestValueFollowsClock(t *testing.T) {
	p := start(t, `{"sensors":2,"base":21,"amplitude":2,"period_seconds":3600,"resolution":0.1}`)
	steps := []struct {
		advance      time.Duration
		v0, min, max float64
		v1           float64
		moved        []string
	}{
		{0, 21, 21, 21, 19.6, nil},
		{15 * time.Minute, 23, 21, 23, 22.4, []string{"/3303/0/5518", "/3303/0/5700", "/3303/0/5602", "/3303/1/5518", "/3303/1/5700", "/3303/1/5602"}},
		{15 * time.Minute, 21, 21, 23, 22.4, []string{"/3303/0/5518", "/3303/0/5700", "/3303/1/5602"}},
		{15 * time.Minute, 19, 19, 23, 19.6, []string{"/3303/0/5518", "/3303/0/5700", "/3303/0/5601", "/3303/1/5518", "/3303/1/5700"}},
		{time.Second, 19, 19, 23, 19.6, nil}, // less than the resolution: no move
	}
	for i, s := range steps {
		p.Host.Advance(s.advance)
		p.Host.TakeChanged()
		if got := readFloat(t, p, "/3303/0/5700"); got != s.v0 {
			t.Errorf("step %d: sensor 0 = %v, want %v", i, got, s.v0)
		}
		if moved := pathStrings(p.Host.TakeChanged()); !slices.Equal(moved, s.moved) {
			t.Errorf("step %d: changed %v, want %v", i, moved, s.moved)
		}
		if got := readFloat(t, p, "/3303/0/5601"); got != s.min {
			t.Errorf("step %d: min = %v, want %v", i, got, s.min)
		}
		if got := readFloat(t, p, "/3303/0/5602"); got != s.max {
			t.Errorf("step %d: max = %v, want %v", i, got, s.max)
		}
		if got := readFloat(t, p, "/3303/1/5700"); got != s.v1 {
			t.Errorf("step %d: sensor 1 = %v, want %v", i, got, s.v1)
		}
	}
	n, err := p.Read(ctx, model.MustPath("/3303/0/5518"))
	if err != nil || !n.Value.Time().Equal(plugintest.Epoch.Add(45*time.Minute+time.Second)) {
		t.Errorf("timestamp %v, %v", n.Value, err)
	}
}

// TestExtremesOverLongWindow checks that the Min and Max cover the whole
// window even when no call happened near the extremes.
func TestExtremesOverLongWindow(t *testing.T) {
	p := start(t, `{"base":10,"amplitude":4,"period_seconds":100,"resolution":1}`)
	p.Host.Advance(10 * time.Hour)
	if lo, hi := readFloat(t, p, "/3303/0/5601"), readFloat(t, p, "/3303/0/5602"); lo != 6 || hi != 14 {
		t.Errorf("min %v max %v, want 6 and 14", lo, hi)
	}
	if lo, hi := readFloat(t, p, "/3303/0/5603"), readFloat(t, p, "/3303/0/5604"); lo != 6 || hi != 14 {
		t.Errorf("range %v..%v, want 6..14", lo, hi)
	}
}

func TestResetMinMax(t *testing.T) {
	p := start(t, `{"sensors":2}`)
	p.Host.Advance(30 * time.Minute) // sensor 0 went up to 23 and back to 21
	if hi := readFloat(t, p, "/3303/0/5602"); hi != 23 {
		t.Fatalf("max %v, want 23", hi)
	}
	p.Host.TakeChanged()
	if err := p.Execute(ctx, model.MustPath("/3303/0/5605"), ""); err != nil {
		t.Fatal(err)
	}
	if moved := pathStrings(p.Host.TakeChanged()); !slices.Equal(moved, []string{"/3303/0/5602"}) {
		t.Errorf("changed %v after reset, want the max only", moved)
	}
	if lo, hi := readFloat(t, p, "/3303/0/5601"), readFloat(t, p, "/3303/0/5602"); lo != 21 || hi != 21 {
		t.Errorf("after reset min %v max %v, want 21 and 21", lo, hi)
	}
	if hi := readFloat(t, p, "/3303/1/5602"); hi == 21 {
		t.Errorf("sensor 1's max was reset too")
	}
	if !p.Host.Logged("min and max reset instance=0") {
		t.Errorf("logs: %v", p.Host.Logs())
	}
}

// TestStateShared checks what a pool of Wasm instances relies on: a second
// instance of the plugin, started on the same key-value space, sees the
// window and the Application Type the first one set.
func TestStateShared(t *testing.T) {
	a := start(t, "")
	if err := a.Write(ctx, model.MustPath("/3303/0/5750"), model.NewResource(5750, model.String("boiler room")), true); err != nil {
		t.Fatal(err)
	}
	if got := pathStrings(a.Host.TakeChanged()); !slices.Equal(got, []string{"/3303/0/5750"}) {
		t.Errorf("changed %v", got)
	}
	a.Host.Advance(15 * time.Minute)
	b := start(t, "", plugintest.WithHost(a.Host))
	n, err := b.Read(ctx, model.MustPath("/3303/0"))
	if err != nil {
		t.Fatal(err)
	}
	if app := n.Child(5750); app == nil || app.Value.Str() != "boiler room" {
		t.Errorf("instance read by the second instance: %v", n)
	}
	if lo := n.Child(5601); lo == nil || lo.Value.Float() != 21 {
		t.Errorf("the second instance opened its own window: %v", n)
	}
	// A partial update without 5750 leaves it; a replace without it clears it.
	if err := b.Write(ctx, model.MustPath("/3303/0"), model.NewInstance(0), false); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.Read(ctx, model.MustPath("/3303/0/5750")); n.Value.Str() != "boiler room" {
		t.Errorf("after a partial update: %v", n)
	}
	if err := b.Write(ctx, model.MustPath("/3303/0"), model.NewInstance(0), true); err != nil {
		t.Fatal(err)
	}
	if n, _ := a.Read(ctx, model.MustPath("/3303/0/5750")); n.Value.Str() != "" {
		t.Errorf("after a replace: %v", n)
	}
}

func TestRefusals(t *testing.T) {
	p := start(t, `{"sensors":2}`)
	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"create", func() error { _, err := p.Create(ctx, ObjectID, model.NewInstance(5)); return err }, model.ErrMethodNotAllowed},
		{"delete", func() error { return p.Delete(ctx, model.MustPath("/3303/1")) }, model.ErrMethodNotAllowed},
		{"delete missing", func() error { return p.Delete(ctx, model.MustPath("/3303/2")) }, model.ErrNotFound},
		{"read missing", func() error { _, err := p.Read(ctx, model.MustPath("/3303/2/5700")); return err }, model.ErrNotFound},
		{"write value", func() error {
			return p.Write(ctx, model.MustPath("/3303/0/5700"), model.NewResource(5700, model.Float(1)), true)
		}, model.ErrMethodNotAllowed},
		{"long application type", func() error {
			return p.Write(ctx, model.MustPath("/3303/0/5750"), model.NewResource(5750, model.String(strings.Repeat("x", 300))), true)
		}, model.ErrBadRequest},
		{"execute value", func() error { return p.Execute(ctx, model.MustPath("/3303/0/5700"), "") }, model.ErrMethodNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestConfig(t *testing.T) {
	bad := []string{
		`{"sensors":0}`, `{"sensors":17}`, `{"amplitude":-1}`, `{"period_seconds":0}`,
		`{"resolution":0}`, `{"unknown":1}`, `{"units":"` + strings.Repeat("u", 33) + `"}`, `[1]`, `{`,
	}
	for _, config := range bad {
		t.Run(config, func(t *testing.T) {
			p := start(t, "", plugintest.NoStart())
			if err := p.Start(ctx, []byte(config)); err == nil {
				t.Errorf("started with %s", config)
			}
		})
	}
	p := start(t, `{"sensors":4,"units":"K"}`)
	ids, err := p.Instances(ctx, ObjectID)
	if err != nil || !slices.Equal(ids, []uint16{0, 1, 2, 3}) {
		t.Errorf("instances %v, %v", ids, err)
	}
	if n, _ := p.Read(ctx, model.MustPath("/3303/3/5701")); n.Value.Str() != "K" {
		t.Errorf("units %v", n)
	}
}

// TestSchemaMatchesConfig keeps the manifest's JSON Schema and Config
// together: the same property names, and the defaults the schema states
// are DefaultConfig's.
func TestSchemaMatchesConfig(t *testing.T) {
	var schema struct {
		Type       string `json:"type"`
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
