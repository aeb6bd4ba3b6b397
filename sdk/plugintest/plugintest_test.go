package plugintest_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
	"github.com/wasm2m/wasm2m/sdk/plugintest"
)

var ctx = context.Background()

func TestConformance(t *testing.T) {
	p := plugintest.New(t, nil, plugintest.Config(`{"sensors":2}`))
	plugintest.Conformance(t, p.Dispatcher)
}

func TestSensor(t *testing.T) {
	p := plugintest.New(t, nil, plugintest.Config(`{"sensors":2,"units":"K"}`))
	if !p.Host.Logged("sensor configured sensors=2 units=K") {
		t.Errorf("logs %v lack the configuration line", p.Host.Logs())
	}
	p.Host.SetNow(time.Date(2026, 1, 1, 10, 30, 0, 0, time.UTC))
	read := func(path string) model.Value {
		t.Helper()
		n, err := p.Read(ctx, model.MustPath(path))
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		return n.Value
	}
	if got := read("/3303/1/5700"); got != model.Float(24) {
		t.Errorf("/3303/1/5700 at 10:30 = %v, want 24", got)
	}
	p.Host.Advance(10 * time.Minute)
	if got := read("/3303/1/5700"); got != model.Float(25) {
		t.Errorf("/3303/1/5700 at 10:40 = %v, want 25", got)
	}
	if got := read("/3303/1/5601"); got != model.Float(24) {
		t.Errorf("min = %v, want 24", got)
	}
	if got := read("/3303/0/5701"); got != model.String("K") {
		t.Errorf("units = %v, want K", got)
	}
	if err := p.Execute(ctx, model.MustPath("/3303/1/5605"), ""); err != nil {
		t.Fatalf("reset min and max: %v", err)
	}
	want := []model.Path{model.MustPath("/3303/1/5601"), model.MustPath("/3303/1/5602")}
	if got := p.Host.TakeChanged(); !equalPaths(got, want) {
		t.Errorf("changed %v, want %v", got, want)
	}
	if got := read("/3303/1/5601"); got != model.Float(25) {
		t.Errorf("min after reset = %v, want 25", got)
	}
	if err := p.Write(ctx, model.MustPath("/3303/0/5750"), model.NewResource(5750, model.String("fridge")), true); err != nil {
		t.Fatal(err)
	}
	if got := read("/3303/0/5750"); got != model.String("fridge") {
		t.Errorf("application type = %v", got)
	}
	// Errors keep their codes across the encoding.
	_, err := p.Read(ctx, model.MustPath("/3303/7/5700"))
	if !errors.Is(err, model.ErrNotFound) || !strings.Contains(err.Error(), "no sensor 7") {
		t.Errorf("read of a missing sensor: %v", err)
	}
	err = p.Write(ctx, model.MustPath("/3303/0/5700"), model.NewResource(5700, model.Float(1)), true)
	if !errors.Is(err, model.ErrMethodNotAllowed) {
		t.Errorf("write of the sensor value: %v, want 4.05", err)
	}
	_, err = p.Create(ctx, 3303, model.NewInstance(model.NoID))
	if !errors.Is(err, model.ErrMethodNotAllowed) {
		t.Errorf("create: %v, want 4.05", err)
	}
}

func TestSensorConfig(t *testing.T) {
	pl := examplePlugin()
	p := plugintest.New(t, &pl, plugintest.NoStart())
	err := p.Start(ctx, []byte(`{"sensors":9}`))
	if err == nil || model.CodeOf(err) != model.InternalServerError || !strings.Contains(err.Error(), "9 sensors") {
		t.Errorf("start with 9 sensors: %v, want a 5.00 saying why", err)
	}
	if err := p.Start(ctx, nil); err != nil {
		t.Errorf("start after a failed start: %v", err)
	}
	if err := p.Start(ctx, nil); !errors.Is(err, model.ErrPreconditionFailed) {
		t.Errorf("second start: %v, want 4.12", err)
	}
}

func TestLight(t *testing.T) {
	p := plugintest.New(t, nil)
	h := p.Host
	on := model.MustPath("/3311/0/5850")
	if err := p.Write(ctx, on, model.NewResource(5850, model.Bool(true)), true); err != nil {
		t.Fatal(err)
	}
	var st struct {
		On bool `json:"on"`
	}
	if err := json.Unmarshal(h.KV()["light/0"], &st); err != nil || !st.On {
		t.Errorf("kv light/0 = %s (%v), want on", h.KV()["light/0"], err)
	}
	if got := h.TakeChanged(); !equalPaths(got, []model.Path{model.MustPath("/3311/0/5852")}) {
		t.Errorf("changed %v, want the on time", got)
	}
	h.Advance(90 * time.Second)
	n, err := p.Read(ctx, model.MustPath("/3311/0"))
	if err != nil {
		t.Fatal(err)
	}
	if c := n.Child(5852); c == nil || c.Value != model.Int(90) {
		t.Errorf("instance %v: want on time 90", n)
	}
	// Partial update keeps what it does not name; replace resets it.
	if err := p.Write(ctx, model.MustPath("/3311/0"), model.NewInstance(0, model.NewResource(5851, model.Int(40))), false); err != nil {
		t.Fatal(err)
	}
	n, _ = p.Read(ctx, model.MustPath("/3311/0"))
	if n.Child(5850).Value != model.Bool(true) || n.Child(5851).Value != model.Int(40) {
		t.Errorf("after partial update: %v", n)
	}
	err = p.Write(ctx, model.MustPath("/3311/0/5851"), model.NewResource(5851, model.Int(101)), true)
	if !errors.Is(err, model.ErrBadRequest) {
		t.Errorf("dimmer 101: %v, want 4.00 (range)", err)
	}
	id, err := p.Create(ctx, 3311, model.NewInstance(model.NoID, model.NewResource(5706, model.String("red"))))
	if err != nil || id != 1 {
		t.Fatalf("create: %d, %v", id, err)
	}
	if !h.Logged("light created instance=1") {
		t.Errorf("logs %v", h.Logs())
	}
	if ids, _ := p.Instances(ctx, 3311); len(ids) != 2 {
		t.Errorf("instances %v", ids)
	}
	if err := p.Delete(ctx, model.MustPath("/3311/1")); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.KV()["light/1"]; ok {
		t.Error("light/1 still in the kv space")
	}
}

// TestCapabilities shows a manifest that forgot a capability: the host
// refuses the host function with 4.03, as the real host does.
func TestCapabilities(t *testing.T) {
	pl := examplePlugin()
	pl.Manifest.Capabilities = []string{abi.CapChanged}
	p := plugintest.New(t, &pl, plugintest.NoStart())
	err := p.Start(ctx, nil)
	if !errors.Is(err, model.ErrForbidden) {
		t.Fatalf("start without kv: %v, want 4.03", err)
	}
}

// TestRaw sends bytes the typed client would not.
func TestRaw(t *testing.T) {
	p := plugintest.New(t, nil)
	_, err := p.Raw(ctx, abi.MethodObjectRead, []byte{0xff})
	if !errors.Is(err, model.ErrBadRequest) {
		t.Errorf("malformed read: %v, want 4.00", err)
	}
	_, err = p.Raw(ctx, abi.MethodEvent, nil)
	if !errors.Is(err, model.ErrNotImplemented) {
		t.Errorf("event to an object plugin: %v, want 5.01", err)
	}
	b, err := p.Raw(ctx, abi.MethodManifest, nil)
	if err != nil {
		t.Fatal(err)
	}
	var m abi.Manifest
	if err := m.Unmarshal(b); err != nil || m.ID != "objects.example" || m.Kind != "object" || m.ABIMinor != abi.Minor {
		t.Errorf("manifest %+v, %v", m, err)
	}
}

func equalPaths(a, b []model.Path) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// brokenObject breaks the rules the conformance kit checks, for the kit's
// own test.
type brokenObject struct{ light }

func (brokenObject) Read(ctx context.Context, p model.Path) (model.Node, error) {
	if p.IsInstance() {
		return model.NewInstance(p.InstanceID(), model.NewResource(5850, model.String("yes"))), nil
	}
	return model.Node{}, errors.New("broken")
}

func (brokenObject) Definition() *model.ObjectDef { return lightDef }

func TestConformanceCatches(t *testing.T) {
	pl := guest.Plugin{
		Manifest: guest.Manifest{ID: "objects.broken", Version: "0.1.0", Capabilities: []string{abi.CapKV, abi.CapChanged}},
		Objects:  []guest.Object{brokenObject{}},
	}
	p := plugintest.New(t, &pl)
	failed := map[string]string{}
	for _, r := range plugintest.Check(ctx, p.Dispatcher) {
		if len(r.Failures) > 0 {
			failed[r.Name] = strings.Join(r.Failures, "\n")
		}
	}
	for name, want := range map[string]string{
		"object 3311/read":              "resource 5850 (On/Off) holds a String, the definition says Boolean",
		"object 3311/unknown instance":  "read /3311/1 succeeded, want 4.04",
		"object 3311/create and delete": "4.00 Bad Request",
	} {
		if !strings.Contains(failed[name], want) {
			t.Errorf("check %q: failures %q, want one with %q", name, failed[name], want)
		}
	}
	if _, ok := failed["manifest"]; ok {
		t.Errorf("manifest failed: %s", failed["manifest"])
	}
}
