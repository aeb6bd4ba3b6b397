package plugintest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
	"github.com/wasm2m/wasm2m/sdk/guest/guestlog"
)

// The example plugin: a temperature sensor (IPSO 3303-like) whose value
// follows the host's clock, and a light control (IPSO 3311-like) whose
// state is kept in the plugin's key-value space. Both are written as a
// plugin author writes them: ordinary Go on core/model types.

var tempDef = &model.ObjectDef{
	ID: 3303, Name: "Temperature", Version: model.V1_0, LWM2MVersion: model.V1_1, Multiple: true,
	Resources: []model.ResourceDef{
		{ID: 5601, Name: "Min Measured Value", Operations: model.OpRead, Type: model.TypeFloat},
		{ID: 5602, Name: "Max Measured Value", Operations: model.OpRead, Type: model.TypeFloat},
		{ID: 5605, Name: "Reset Min and Max Measured Values", Operations: model.OpExecute},
		{ID: 5700, Name: "Sensor Value", Operations: model.OpRead, Mandatory: true, Type: model.TypeFloat},
		{ID: 5701, Name: "Sensor Units", Operations: model.OpRead, Type: model.TypeString},
		{ID: 5750, Name: "Application Type", Operations: model.OpRead | model.OpWrite, Type: model.TypeString},
	},
}

// sensor is the temperature object: a fixed set of instances configured
// at start.
type sensor struct {
	mu      sync.Mutex
	units   string
	sensors map[uint16]*reading
}

type reading struct {
	min, max float64
	seen     bool
	app      string
}

func (s *sensor) Definition() *model.ObjectDef { return tempDef }

// sensorConfig is the configuration the manifest's schema describes.
type sensorConfig struct {
	Sensors int    `json:"sensors"`
	Units   string `json:"units"`
}

func (s *sensor) Configure(ctx context.Context, config []byte) error {
	c := sensorConfig{Sensors: 1, Units: "Cel"}
	if len(config) > 0 {
		if err := json.Unmarshal(config, &c); err != nil {
			return fmt.Errorf("sensor config: %w", err)
		}
	}
	if c.Sensors < 1 || c.Sensors > 8 {
		return fmt.Errorf("sensor config: %d sensors, want 1 to 8", c.Sensors)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.units = c.Units
	s.sensors = map[uint16]*reading{}
	for i := range c.Sensors {
		s.sensors[uint16(i)] = &reading{}
	}
	guest.Log(ctx, guest.LevelInfo, "sensor configured", "sensors", c.Sensors, "units", c.Units)
	return nil
}

// value is the temperature now: 20 degrees plus a tenth of a degree per
// minute past the hour, plus one per instance, so that tests can steer it
// with the host's clock.
func value(ctx context.Context, id uint16) float64 {
	return 20 + float64(guest.Now(ctx).Minute())/10 + float64(id)
}

func (s *sensor) Instances(ctx context.Context) ([]uint16, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]uint16, 0, len(s.sensors))
	for id := range s.sensors {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

func (s *sensor) get(p model.Path) (*reading, error) {
	r := s.sensors[p.InstanceID()]
	if r == nil {
		return nil, model.Errorf(model.NotFound, "no sensor %d", p.InstanceID())
	}
	return r, nil
}

// sample measures sensor id and updates its min and max.
func (s *sensor) sample(ctx context.Context, id uint16, r *reading) float64 {
	v := value(ctx, id)
	if !r.seen || v < r.min {
		r.min = v
	}
	if !r.seen || v > r.max {
		r.max = v
	}
	r.seen = true
	return v
}

func (s *sensor) resource(ctx context.Context, id, res uint16, r *reading) (model.Node, bool) {
	switch res {
	case 5700:
		return model.NewResource(res, model.Float(s.sample(ctx, id, r))), true
	case 5601:
		s.sample(ctx, id, r)
		return model.NewResource(res, model.Float(r.min)), true
	case 5602:
		s.sample(ctx, id, r)
		return model.NewResource(res, model.Float(r.max)), true
	case 5701:
		return model.NewResource(res, model.String(s.units)), true
	case 5750:
		return model.NewResource(res, model.String(r.app)), true
	}
	return model.Node{}, false
}

func (s *sensor) Read(ctx context.Context, p model.Path) (model.Node, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.get(p)
	if err != nil {
		return model.Node{}, err
	}
	if p.IsInstance() {
		var rs []model.Node
		for _, id := range []uint16{5601, 5602, 5700, 5701, 5750} {
			n, _ := s.resource(ctx, p.InstanceID(), id, r)
			rs = append(rs, n)
		}
		return model.NewInstance(p.InstanceID(), rs...), nil
	}
	n, ok := s.resource(ctx, p.InstanceID(), p.ResourceID(), r)
	if !ok || p.IsResourceInstance() {
		return model.Node{}, model.Errorf(model.NotFound, "%s", p)
	}
	return n, nil
}

func (s *sensor) Write(ctx context.Context, p model.Path, n model.Node, replace bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.get(p)
	if err != nil {
		return err
	}
	if p.IsInstance() {
		if c := n.Child(5750); c != nil {
			r.app = c.Value.Str()
		} else if replace {
			r.app = ""
		}
		return nil
	}
	r.app = n.Value.Str() // the SDK let through writable resources only: 5750
	return nil
}

func (s *sensor) Execute(ctx context.Context, p model.Path, args []byte) error {
	s.mu.Lock()
	r, err := s.get(p)
	if err == nil {
		r.seen = false // 5605: the only executable
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return guest.Changed(ctx, model.ResourcePath(3303, p.InstanceID(), 5601), model.ResourcePath(3303, p.InstanceID(), 5602))
}

func (s *sensor) Create(ctx context.Context, n model.Node) (uint16, error) {
	return 0, model.Errorf(model.MethodNotAllowed, "sensors are configured, not created")
}

func (s *sensor) Delete(ctx context.Context, id uint16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.get(model.InstancePath(3303, id)); err != nil {
		return err
	}
	return model.Errorf(model.MethodNotAllowed, "sensors are configured, not deleted")
}

var lightDef = &model.ObjectDef{
	ID: 3311, Name: "Light Control", Version: model.V1_0, LWM2MVersion: model.V1_1, Multiple: true,
	Resources: []model.ResourceDef{
		{ID: 5706, Name: "Colour", Operations: model.OpRead | model.OpWrite, Type: model.TypeString},
		{ID: 5750, Name: "Application Type", Operations: model.OpRead | model.OpWrite, Type: model.TypeString},
		{ID: 5850, Name: "On/Off", Operations: model.OpRead | model.OpWrite, Mandatory: true, Type: model.TypeBoolean},
		{ID: 5851, Name: "Dimmer", Operations: model.OpRead | model.OpWrite, Type: model.TypeInteger, RangeText: "0..100", Range: model.Range{Min: 0, Max: 100}, HasRange: true},
		{ID: 5852, Name: "On Time", Operations: model.OpRead | model.OpWrite, Type: model.TypeInteger, Units: "s"},
	},
}

// light is the light control object: each instance is an instance node
// kept under the key "light/<id>" in the plugin's key-value space, in the
// plugin's own encoding (JSON of a small struct).
type light struct{}

type lightState struct {
	On      bool   `json:"on"`
	Dimmer  int64  `json:"dimmer"`
	OnSince int64  `json:"on_since"` // unix seconds; 0 when off
	Colour  string `json:"colour"`
	App     string `json:"app"`
}

func (light) Definition() *model.ObjectDef { return lightDef }

func key(id uint16) string { return "light/" + strconv.Itoa(int(id)) }

func (light) load(ctx context.Context, id uint16) (lightState, error) {
	b, err := guest.KV.Get(ctx, key(id))
	if err != nil {
		return lightState{}, err // 4.04 when the key is missing: the instance does not exist
	}
	var st lightState
	if err := json.Unmarshal(b, &st); err != nil {
		return lightState{}, fmt.Errorf("light %d: %w", id, err)
	}
	return st, nil
}

func (light) save(ctx context.Context, id uint16, st lightState) error {
	b, _ := json.Marshal(st)
	return guest.KV.Put(ctx, key(id), b)
}

func (l light) Configure(ctx context.Context, config []byte) error {
	// First start: one light, off.
	keys, err := guest.KV.List(ctx, "light/")
	if err != nil || len(keys) > 0 {
		return err
	}
	return l.save(ctx, 0, lightState{Dimmer: 100, Colour: "white"})
}

func (light) Instances(ctx context.Context) ([]uint16, error) {
	keys, err := guest.KV.List(ctx, "light/")
	if err != nil {
		return nil, err
	}
	var ids []uint16
	for _, k := range keys {
		id, err := model.ParseID(k[len("light/"):])
		if err == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

func (l light) resource(ctx context.Context, st *lightState, res uint16) model.Node {
	switch res {
	case 5706:
		return model.NewResource(res, model.String(st.Colour))
	case 5750:
		return model.NewResource(res, model.String(st.App))
	case 5850:
		return model.NewResource(res, model.Bool(st.On))
	case 5851:
		return model.NewResource(res, model.Int(st.Dimmer))
	}
	on := int64(0)
	if st.On {
		on = guest.Now(ctx).Unix() - st.OnSince
	}
	return model.NewResource(5852, model.Int(on))
}

func (l light) Read(ctx context.Context, p model.Path) (model.Node, error) {
	st, err := l.load(ctx, p.InstanceID())
	if err != nil {
		return model.Node{}, err
	}
	if p.IsInstance() {
		in := model.Node{Kind: model.KindInstance, ID: p.InstanceID()}
		for _, r := range lightDef.Resources {
			in.Children = append(in.Children, l.resource(ctx, &st, r.ID))
		}
		return in, nil
	}
	if p.IsResourceInstance() {
		return model.Node{}, model.Errorf(model.NotFound, "%s", p)
	}
	return l.resource(ctx, &st, p.ResourceID()), nil
}

// set applies resource node r to st.
func (light) set(ctx context.Context, st *lightState, r *model.Node) {
	switch r.ID {
	case 5706:
		st.Colour = r.Value.Str()
	case 5750:
		st.App = r.Value.Str()
	case 5850:
		if r.Value.Bool() && !st.On {
			st.OnSince = guest.Now(ctx).Unix()
		}
		st.On = r.Value.Bool()
	case 5851:
		st.Dimmer = r.Value.Int()
	case 5852:
		if r.Value.Int() == 0 && st.On {
			st.OnSince = guest.Now(ctx).Unix() // writing 0 resets the counter
		}
	}
}

func (l light) Write(ctx context.Context, p model.Path, n model.Node, replace bool) error {
	id := p.InstanceID()
	st, err := l.load(ctx, id)
	if err != nil {
		return err
	}
	if p.IsInstance() {
		if replace {
			st = lightState{}
		}
		for i := range n.Children {
			l.set(ctx, &st, &n.Children[i])
		}
	} else {
		l.set(ctx, &st, &n)
	}
	if err := l.save(ctx, id, st); err != nil {
		return err
	}
	if p.IsInstance() || p.ResourceID() == 5850 {
		// The On Time changes with On/Off.
		return guest.Changed(ctx, model.ResourcePath(3311, id, 5852))
	}
	return nil
}

func (light) Execute(ctx context.Context, p model.Path, args []byte) error {
	return model.Errorf(model.MethodNotAllowed, "light control executes nothing")
}

func (l light) Create(ctx context.Context, n model.Node) (uint16, error) {
	ids, err := l.Instances(ctx)
	if err != nil {
		return 0, err
	}
	id := n.ID
	if id == model.NoID {
		for id = 0; slices.Contains(ids, id); id++ {
		}
	} else if slices.Contains(ids, id) {
		return 0, model.Errorf(model.BadRequest, "light %d exists", id)
	}
	st := lightState{Dimmer: 100}
	for i := range n.Children {
		l.set(ctx, &st, &n.Children[i])
	}
	guestlog.New().InfoContext(ctx, "light created", "instance", id)
	return id, l.save(ctx, id, st)
}

func (l light) Delete(ctx context.Context, id uint16) error {
	if _, err := l.load(ctx, id); err != nil {
		return err
	}
	return guest.KV.Delete(ctx, key(id))
}

// examplePlugin is the object plugin made of both.
func examplePlugin() guest.Plugin {
	return guest.Plugin{
		Manifest: guest.Manifest{
			ID: "objects.example", Name: "Example sensor and light", Version: "1.0.0",
			Capabilities: []string{abi.CapChanged, abi.CapKV},
			ConfigSchema: `{"type":"object","properties":{"sensors":{"type":"integer","minimum":1,"maximum":8},"units":{"type":"string"}}}`,
		},
		Objects: []guest.Object{&sensor{}, light{}},
	}
}

// A plugin's main package registers in init; so does this test.
func init() { guest.Register(examplePlugin()) }
