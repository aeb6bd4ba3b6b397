package main

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
	"github.com/wasm2m/wasm2m/sdk/plugintest"
)

var ctx = context.Background()

func start(t *testing.T, opts ...plugintest.Option) *plugintest.Plugin {
	t.Helper()
	p := newPlugin()
	return plugintest.New(t, &p, opts...)
}

func TestConformance(t *testing.T) {
	plugintest.Conformance(t, start(t).Dispatcher)
	plugintest.Conformance(t, plugintest.New(t, nil).Dispatcher) // the one init registers
}

// TestDefinitionIsTheDDF keeps the Go definition and ../26241.xml equal.
func TestDefinitionIsTheDDF(t *testing.T) {
	ddf, err := objects.LoadFile("../26241.xml")
	if err != nil {
		t.Fatal(err)
	}
	want := ddf[0]
	got := definition
	if got.ID != want.ID || got.Name != want.Name || got.Description != want.Description || got.URN != want.URN ||
		got.Version != want.Version || got.LWM2MVersion != want.LWM2MVersion || got.Multiple != want.Multiple || got.Mandatory != want.Mandatory {
		t.Errorf("object\n got %+v\nwant %+v", *got, *want)
	}
	if !slices.Equal(got.Resources, want.Resources) {
		t.Errorf("resources\n got %+v\nwant %+v", got.Resources, want.Resources)
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

func write(t *testing.T, p *plugintest.Plugin, path string, v model.Value) {
	t.Helper()
	mp := model.MustPath(path)
	if err := p.Write(ctx, mp, model.NewResource(mp.ResourceID(), v), true); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func changed(p *plugintest.Plugin) []string {
	var s []string
	for _, c := range p.Host.TakeChanged() {
		s = append(s, c.String())
	}
	return s
}

// TestValve is examples/c-plugin's TestValve on the Go valve: the two
// behave the same.
func TestValve(t *testing.T) {
	p := start(t)
	write(t, p, "/26241/0/0", model.Bool(true))
	if got := changed(p); !slices.Equal(got, []string{"/26241/0/2", "/26241/0/3"}) {
		t.Errorf("changed after opening: %v", got)
	}
	write(t, p, "/26241/0/1", model.Int(25))
	if got := changed(p); !slices.Equal(got, []string{"/26241/0/2"}) {
		t.Errorf("changed after throttling: %v", got)
	}
	if v := read(t, p, "/26241/0/2"); v.Float() != 3 {
		t.Errorf("flow %v", v)
	}
	write(t, p, "/26241/0/0", model.Bool(false))
	write(t, p, "/26241/0/0", model.Bool(true))
	if v := read(t, p, "/26241/0/3"); v.Int() != 2 {
		t.Errorf("cycles %v", v)
	}
	p.Host.TakeChanged()
	if err := p.Execute(ctx, model.MustPath("/26241/0/4"), ""); err != nil {
		t.Fatal(err)
	}
	if got := changed(p); !slices.Equal(got, []string{"/26241/0/3"}) {
		t.Errorf("changed after reset: %v", got)
	}
	if err := p.Write(ctx, model.MustPath("/26241/0"), model.NewInstance(0, model.NewResource(0, model.Bool(true))), true); err != nil {
		t.Fatal(err)
	}
	if pos, name, cycles := read(t, p, "/26241/0/1"), read(t, p, "/26241/0/5"), read(t, p, "/26241/0/3"); pos.Int() != 100 || name.Str() != "" || cycles.Int() != 0 {
		t.Errorf("after a replace: position %v name %v cycles %v", pos, name, cycles)
	}
	if err := p.Write(ctx, model.MustPath("/26241/0/1"), model.NewResource(1, model.Int(101)), true); !errors.Is(err, model.ErrBadRequest) {
		t.Errorf("position 101: %v", err)
	}
	id, err := p.Create(ctx, ObjectID, model.NewInstance(model.NoID, model.NewResource(0, model.Bool(true))))
	if err != nil || id != 1 {
		t.Fatalf("create: %d, %v", id, err)
	}
	if v := read(t, p, "/26241/1/3"); v.Int() != 1 {
		t.Errorf("a valve created open: cycles %v", v)
	}
	if !p.Host.Logged("valve created instance=1") || !p.Host.Logged("cycle count reset instance=0") {
		t.Errorf("logs %v", p.Host.Logs())
	}
}

// TestSameStoreAsC checks the key-value layout the C valve uses too.
func TestSameStoreAsC(t *testing.T) {
	h := plugintest.NewHost()
	h.SetKV("init", []byte("1"))
	h.SetKV("valve/3", []byte{1, 40, 7, 1, 0, 0, 'p', 'u', 'm', 'p'}) // open, 40 %, 263 cycles, "pump"
	p := start(t, plugintest.WithHost(h))
	n, err := p.Read(ctx, model.MustPath("/26241/3"))
	if err != nil {
		t.Fatal(err)
	}
	want := model.NewInstance(3,
		model.NewResource(0, model.Bool(true)), model.NewResource(1, model.Int(40)),
		model.NewResource(2, model.Float(4.8)), model.NewResource(3, model.Int(263)),
		model.NewResource(5, model.String("pump")))
	if !n.Equal(&want) {
		t.Errorf("got %v\nwant %v", n, want)
	}
	if ids, _ := p.Instances(ctx, ObjectID); !slices.Equal(ids, []uint16{3}) {
		t.Errorf("instances %v: valve 0 was created although init was set", ids)
	}
}
