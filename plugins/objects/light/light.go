package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

// ObjectID is IPSO's Light Control object.
const ObjectID = 3311

// Resources of object 3311 this plugin implements.
const (
	resColour      = 5706
	resAppType     = 5750
	resEnergy      = 5805
	resPowerFactor = 5820
	resOnOff       = 5850
	resDimmer      = 5851
	resOnTime      = 5852
	maxTextLen     = 256 // Colour and Application Type
)

// definition is object 3311 version 1.0 as published (OMNA 3311.xml), with
// the resources this plugin implements: names, operations, types and
// cardinality are the published ones, so that any server's definition of
// 3311 decodes what the plugin answers. Sensor Units (5701), which the
// published object has for no clear reason, is left out. The published
// object has no executable resource.
var definition = &model.ObjectDef{
	ID: ObjectID, Name: "Light Control",
	Description:  "A light source that can be switched and dimmed (IPSO 3311).",
	URN:          "urn:oma:lwm2m:ext:3311",
	Version:      model.V1_0,
	LWM2MVersion: model.V1_0,
	Multiple:     true,
	Resources: []model.ResourceDef{
		{ID: resColour, Name: "Colour", Operations: model.OpRead | model.OpWrite, Type: model.TypeString,
			Description: "The colour of the light, as text (a name or an RGB value)."},
		{ID: resAppType, Name: "Application Type", Operations: model.OpRead | model.OpWrite, Type: model.TypeString,
			Description: "What the light is for, as the server writes it."},
		{ID: resEnergy, Name: "Cumulative active power", Operations: model.OpRead, Type: model.TypeFloat, Units: "Wh",
			Description: "The energy the light has used: its watts at full dimmer times the dimmer, over the time it was on."},
		{ID: resPowerFactor, Name: "Power factor", Operations: model.OpRead, Type: model.TypeFloat,
			Description: "As configured."},
		{ID: resOnOff, Name: "On/Off", Operations: model.OpRead | model.OpWrite, Mandatory: true, Type: model.TypeBoolean,
			Description: "Whether the light is on."},
		{ID: resDimmer, Name: "Dimmer", Operations: model.OpRead | model.OpWrite, Type: model.TypeInteger, Units: "/100",
			RangeText: "0..100", Range: model.Range{Min: 0, Max: 100}, HasRange: true,
			Description: "The brightness, in percent."},
		{ID: resOnTime, Name: "On time", Operations: model.OpRead | model.OpWrite, Type: model.TypeInteger, Units: "s",
			Description: "The seconds the light has been on in all. Writing 0 resets it; writing n sets it to n."},
	},
}

// light is object 3311: the lights live in the plugin's key-value space,
// one key per light, so that every instance of the plugin in the host's
// pool sees the same lights, and so that they survive a restart. The
// object itself holds only the configuration.
type light struct {
	cfg Config
}

// state is one light as stored under its key (JSON). The on time and
// the energy accrue while the light is on: they are kept as the amounts
// up to Since, and what accrued since is added when read or settled.
type state struct {
	On       bool    `json:"on"`
	Dimmer   int64   `json:"dimmer"`
	Colour   string  `json:"colour,omitempty"`
	App      string  `json:"app,omitempty"`
	OnNanos  int64   `json:"on_ns"`     // on time up to Since
	EnergyWh float64 `json:"energy_wh"` // energy up to Since
	Since    int64   `json:"since"`     // unix nanoseconds
}

const (
	keyPrefix = "light/"
	keyInit   = "init" // set once the first start created the configured lights
)

func key(id uint16) string { return keyPrefix + strconv.Itoa(int(id)) }

// Definition implements guest.Object.
func (l *light) Definition() *model.ObjectDef { return definition }

// Configure implements guest.Configurer: it reads the config and, on the
// plugin's first start (no lights were ever created), creates the
// configured lights. A plugin whose lights the server deleted starts with
// none.
func (l *light) Configure(ctx context.Context, config []byte) error {
	c, err := parseConfig(config)
	if err != nil {
		return err
	}
	l.cfg = c
	if _, err := guest.KV.Get(ctx, keyInit); !errors.Is(err, model.ErrNotFound) {
		return err // nil: started before
	}
	now := guest.Now(ctx)
	for id := range uint16(c.Lights) {
		if err := l.save(ctx, id, l.fresh(now)); err != nil {
			return err
		}
	}
	guest.Log(ctx, guest.LevelInfo, "lights created", "lights", c.Lights)
	return guest.KV.Put(ctx, keyInit, []byte("1"))
}

// fresh returns a new light: off, at full dimmer, in the configured colour.
func (l *light) fresh(now time.Time) state {
	return state{Dimmer: 100, Colour: l.cfg.Colour, Since: now.UnixNano()}
}

func (l *light) load(ctx context.Context, id uint16) (state, error) {
	b, err := guest.KV.Get(ctx, key(id))
	if errors.Is(err, model.ErrNotFound) {
		return state{}, model.Errorf(model.NotFound, "no light %d", id)
	}
	if err != nil {
		return state{}, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, fmt.Errorf("light %d: stored state: %w", id, err)
	}
	return st, nil
}

func (l *light) save(ctx context.Context, id uint16, st state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return guest.KV.Put(ctx, key(id), b)
}

// accrued returns the on time and the energy of st at now.
func (l *light) accrued(st *state, now time.Time) (on time.Duration, wh float64) {
	on, wh = time.Duration(st.OnNanos), st.EnergyWh
	if d := time.Duration(now.UnixNano() - st.Since); st.On && d > 0 {
		on += d
		wh += l.cfg.Watts * float64(st.Dimmer) / 100 * d.Hours()
	}
	return on, wh
}

// settle moves what accrued up to now into st, before a change of the
// rate (On/Off, Dimmer) or of the counter.
func (l *light) settle(st *state, now time.Time) {
	on, wh := l.accrued(st, now)
	st.OnNanos, st.EnergyWh, st.Since = int64(on), wh, now.UnixNano()
}

// Instances implements guest.Object.
func (l *light) Instances(ctx context.Context) ([]uint16, error) {
	keys, err := guest.KV.List(ctx, keyPrefix)
	if err != nil {
		return nil, err
	}
	ids := make([]uint16, 0, len(keys))
	for _, k := range keys {
		if id, err := model.ParseID(strings.TrimPrefix(k, keyPrefix)); err == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids) // the keys sort as text: light/10 before light/2
	return ids, nil
}

// resource returns resource res of st at now.
func (l *light) resource(st *state, res uint16, now time.Time) (model.Node, error) {
	on, wh := l.accrued(st, now)
	var v model.Value
	switch res {
	case resColour:
		v = model.String(st.Colour)
	case resAppType:
		v = model.String(st.App)
	case resEnergy:
		v = model.Float(math.Round(wh*1000) / 1000)
	case resPowerFactor:
		v = model.Float(l.cfg.PowerFactor)
	case resOnOff:
		v = model.Bool(st.On)
	case resDimmer:
		v = model.Int(st.Dimmer)
	case resOnTime:
		v = model.Int(int64(on / time.Second))
	default:
		return model.Node{}, model.Errorf(model.NotFound, "no resource %d", res)
	}
	return model.NewResource(res, v), nil
}

// Read implements guest.Object.
func (l *light) Read(ctx context.Context, p model.Path) (model.Node, error) {
	st, err := l.load(ctx, p.InstanceID())
	if err != nil {
		return model.Node{}, err
	}
	now := guest.Now(ctx)
	if p.IsResourceInstance() {
		return model.Node{}, model.Errorf(model.NotFound, "%s: single-instance resource", p)
	}
	if p.IsResource() {
		return l.resource(&st, p.ResourceID(), now)
	}
	in := model.NewInstance(p.InstanceID())
	for _, r := range definition.Resources {
		n, _ := l.resource(&st, r.ID, now)
		in.Children = append(in.Children, n)
	}
	return in, nil
}

// set applies resource node r to st at now. The SDK has checked r against
// the definition: a writable resource, a value of its type, in range.
func (l *light) set(st *state, r *model.Node, now time.Time) error {
	switch r.ID {
	case resColour, resAppType:
		s := r.Value.Str()
		if len(s) > maxTextLen {
			return model.Errorf(model.BadRequest, "resource %d: longer than %d bytes", r.ID, maxTextLen)
		}
		if r.ID == resColour {
			st.Colour = s
		} else {
			st.App = s
		}
	case resOnOff:
		l.settle(st, now)
		st.On = r.Value.Bool()
	case resDimmer:
		l.settle(st, now)
		st.Dimmer = r.Value.Int()
	case resOnTime:
		if r.Value.Int() < 0 {
			return model.Errorf(model.BadRequest, "on time %d: negative", r.Value.Int())
		}
		l.settle(st, now)
		st.OnNanos = int64(min(r.Value.Int(), math.MaxInt64/int64(time.Second))) * int64(time.Second)
	default:
		return model.Errorf(model.MethodNotAllowed, "resource %d is not writable", r.ID)
	}
	return nil
}

// Write implements guest.Object. A replace of an instance resets what it
// does not give: off, full dimmer, the configured colour, no application
// type, on time 0 (the energy is not writable and stays).
func (l *light) Write(ctx context.Context, p model.Path, n model.Node, replace bool) error {
	id := p.InstanceID()
	st, err := l.load(ctx, id)
	if err != nil {
		return err
	}
	now := guest.Now(ctx)
	switch {
	case p.IsInstance():
		if replace {
			l.settle(&st, now)
			energy := st.EnergyWh
			st = l.fresh(now)
			st.EnergyWh = energy
		}
		for i := range n.Children {
			if err := l.set(&st, &n.Children[i], now); err != nil {
				return err
			}
		}
	case p.IsResource():
		if err := l.set(&st, &n, now); err != nil {
			return err
		}
	default:
		return model.Errorf(model.NotFound, "%s: single-instance resource", p)
	}
	return l.save(ctx, id, st)
}

// Execute implements guest.Object: Light Control has no executable
// resource, and the SDK answers 4.05 before this is reached.
func (l *light) Execute(ctx context.Context, p model.Path, args []byte) error {
	return model.Errorf(model.MethodNotAllowed, "light control executes nothing")
}

// Create implements guest.Object: a new light, off at full dimmer in the
// configured colour unless n says otherwise, at the id asked for or the
// lowest free one.
func (l *light) Create(ctx context.Context, n model.Node) (uint16, error) {
	ids, err := l.Instances(ctx)
	if err != nil {
		return 0, err
	}
	if len(ids) >= l.cfg.MaxLights {
		return 0, model.Errorf(model.BadRequest, "%d lights already, the most there may be", len(ids))
	}
	id := n.ID
	switch {
	case id == model.NoID:
		for id = 0; slices.Contains(ids, id); id++ {
		}
	case slices.Contains(ids, id):
		return 0, model.Errorf(model.BadRequest, "light %d exists", id)
	}
	now := guest.Now(ctx)
	st := l.fresh(now)
	for i := range n.Children {
		if err := l.set(&st, &n.Children[i], now); err != nil {
			return 0, err
		}
	}
	if err := l.save(ctx, id, st); err != nil {
		return 0, err
	}
	guest.Log(ctx, guest.LevelInfo, "light created", "instance", id)
	return id, nil
}

// Delete implements guest.Object.
func (l *light) Delete(ctx context.Context, id uint16) error {
	if _, err := l.load(ctx, id); err != nil {
		return err
	}
	if err := guest.KV.Delete(ctx, key(id)); err != nil {
		return err
	}
	guest.Log(ctx, guest.LevelInfo, "light deleted", "instance", id)
	return nil
}
