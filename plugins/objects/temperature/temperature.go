package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

// ObjectID is IPSO's Temperature object.
const ObjectID = 3303

// Resources of object 3303 this plugin implements.
const (
	resTimestamp  = 5518
	resMin        = 5601
	resMax        = 5602
	resMinRange   = 5603
	resMaxRange   = 5604
	resReset      = 5605
	resValue      = 5700
	resUnits      = 5701
	resAppType    = 5750
	maxAppTypeLen = 256
)

// definition is object 3303 version 1.1 as published (OMNA 3303.xml),
// with the resources this plugin implements: names, operations, types and
// cardinality are the published ones, so that any server's definition of
// 3303 decodes what the plugin answers. The quality resources (6042, 6049)
// and the Fractional Timestamp (6050) are left out: a simulated sensor
// has nothing to say in them.
var definition = &model.ObjectDef{
	ID: ObjectID, Name: "Temperature",
	Description:  "A temperature sensor and the extremes it has seen (IPSO 3303), simulated.",
	URN:          "urn:oma:lwm2m:ext:3303:1.1",
	Version:      model.V1_1,
	LWM2MVersion: model.V1_0,
	Multiple:     true,
	Resources: []model.ResourceDef{
		{ID: resTimestamp, Name: "Timestamp", Operations: model.OpRead, Type: model.TypeTime,
			Description: "When the Sensor Value was measured."},
		{ID: resMin, Name: "Min Measured Value", Operations: model.OpRead, Type: model.TypeFloat,
			Description: "The lowest value since the plugin first started or since the last reset."},
		{ID: resMax, Name: "Max Measured Value", Operations: model.OpRead, Type: model.TypeFloat,
			Description: "The highest value since the plugin first started or since the last reset."},
		{ID: resMinRange, Name: "Min Range Value", Operations: model.OpRead, Type: model.TypeFloat,
			Description: "The lowest value the sensor can report: base - amplitude."},
		{ID: resMaxRange, Name: "Max Range Value", Operations: model.OpRead, Type: model.TypeFloat,
			Description: "The highest value the sensor can report: base + amplitude."},
		{ID: resReset, Name: "Reset Min and Max Measured Values", Operations: model.OpExecute,
			Description: "Starts the window of the Min and Max Measured Values again, now."},
		{ID: resValue, Name: "Sensor Value", Operations: model.OpRead, Mandatory: true, Type: model.TypeFloat,
			Description: "The temperature now."},
		{ID: resUnits, Name: "Sensor Units", Operations: model.OpRead, Type: model.TypeString,
			Description: "The unit of the values, as configured (Cel by default)."},
		{ID: resAppType, Name: "Application Type", Operations: model.OpRead | model.OpWrite, Type: model.TypeString,
			Description: "What the sensor is for, as the server writes it."},
	},
}

// sensor is object 3303: Config.Sensors instances of a simulated sensor.
//
// A Wasm reactor runs only when the host calls it, and ABI v1 has no
// timer: the plugin cannot wake itself up. So the value is a function of
// the clock (a sine wave, see wave), computed afresh by every call, and
// every call is also a tick: it compares each sensor's value with the one
// the previous call saw and reports the paths that moved with
// guest.Changed. An observer gets a moving value at its pmax (the client
// reads the object again then), and at once whenever any call reaches the
// plugin and sees a move.
//
// The Min and Max Measured Values are the extremes of the wave since the
// start of the window (the plugin's first start or the last Reset),
// computed exactly rather than from the samples that happened to be taken.
// The state that must survive an instance and be shared by all of a pool
// (the window's start, the Application Type) lives in the plugin's
// key-value space; what one instance remembers (the last values it saw,
// to tell a move) may differ between instances, and a move reported twice
// costs only a notification the attributes may hold back.
type sensor struct {
	cfg  Config
	seen map[uint16]sample // by instance: what the last tick saw
}

// sample is a sensor's values at one time.
type sample struct {
	value, min, max float64
}

var errNoSensor = model.Errorf(model.NotFound, "no such sensor")

// Definition implements guest.Object.
func (s *sensor) Definition() *model.ObjectDef { return definition }

// Configure implements guest.Configurer: it reads the config and, on the
// plugin's first start, opens the Min/Max window of every sensor.
func (s *sensor) Configure(ctx context.Context, config []byte) error {
	c, err := parseConfig(config)
	if err != nil {
		return err
	}
	s.cfg = c
	s.seen = map[uint16]sample{}
	now := guest.Now(ctx)
	for id := range uint16(c.Sensors) {
		if _, err := guest.KV.Get(ctx, sinceKey(id)); errors.Is(err, model.ErrNotFound) {
			err = s.setSince(ctx, id, now)
		}
		if err != nil {
			return err
		}
	}
	guest.Log(ctx, guest.LevelInfo, "temperature sensors configured", "sensors", c.Sensors, "units", c.Units,
		"base", c.Base, "amplitude", c.Amplitude, "period_seconds", c.PeriodSeconds)
	return nil
}

func sinceKey(id uint16) string { return "since/" + strconv.Itoa(int(id)) }
func appKey(id uint16) string   { return "app/" + strconv.Itoa(int(id)) }

func (s *sensor) setSince(ctx context.Context, id uint16, t time.Time) error {
	return guest.KV.Put(ctx, sinceKey(id), strconv.AppendInt(nil, t.UnixNano(), 10))
}

// since returns the start of sensor id's Min/Max window.
func (s *sensor) since(ctx context.Context, id uint16) (time.Time, error) {
	b, err := guest.KV.Get(ctx, sinceKey(id))
	if err != nil {
		return time.Time{}, fmt.Errorf("sensor %d: window start: %w", id, err)
	}
	ns, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("sensor %d: window start %q: %w", id, b, err)
	}
	return time.Unix(0, ns), nil
}

// phase returns where sensor id is on the wave at t, in periods: an
// eighth of a period behind sensor id-1.
func (s *sensor) phase(t time.Time, id uint16) float64 {
	return float64(t.UnixNano())/1e9/s.cfg.PeriodSeconds - float64(id)/8
}

// wave returns the unrounded value at phase u.
func (s *sensor) wave(u float64) float64 {
	u -= math.Floor(u)
	return s.cfg.Base + s.cfg.Amplitude*math.Sin(2*math.Pi*u)
}

// round rounds v to the configured resolution.
func (s *sensor) round(v float64) float64 {
	q := math.Round(v / s.cfg.Resolution)
	if inv := 1 / s.cfg.Resolution; inv == math.Trunc(inv) {
		return q / inv // 0.1: 214/10 is 21.4, where 214*0.1 is 21.400000000000002
	}
	return q * s.cfg.Resolution
}

// at returns sensor id's values at now, with the Min/Max window opened at
// since.
func (s *sensor) at(id uint16, since, now time.Time) sample {
	if now.Before(since) {
		since = now // a clock set back: the window starts again
	}
	u0, u1 := s.phase(since, id), s.phase(now, id)
	v0, v1 := s.wave(u0), s.wave(u1)
	lo, hi := math.Min(v0, v1), math.Max(v0, v1)
	// The wave peaks at a quarter period and bottoms out at three
	// quarters: did the window pass one?
	if math.Ceil(u0-0.25) <= u1-0.25 {
		hi = s.cfg.Base + s.cfg.Amplitude
	}
	if math.Ceil(u0-0.75) <= u1-0.75 {
		lo = s.cfg.Base - s.cfg.Amplitude
	}
	return sample{value: s.round(v1), min: s.round(lo), max: s.round(hi)}
}

// tick computes every sensor's values now, reports those that moved since
// the last tick with guest.Changed, and returns them.
func (s *sensor) tick(ctx context.Context) (map[uint16]sample, time.Time, error) {
	now := guest.Now(ctx)
	all := make(map[uint16]sample, s.cfg.Sensors)
	var moved []model.Path
	for id := range uint16(s.cfg.Sensors) {
		since, err := s.since(ctx, id)
		if err != nil {
			return nil, now, err
		}
		cur := s.at(id, since, now)
		all[id] = cur
		last, ok := s.seen[id]
		s.seen[id] = cur
		if !ok {
			continue // nothing to compare with
		}
		if cur.value != last.value {
			moved = append(moved, model.ResourcePath(ObjectID, id, resTimestamp), model.ResourcePath(ObjectID, id, resValue))
		}
		if cur.min != last.min {
			moved = append(moved, model.ResourcePath(ObjectID, id, resMin))
		}
		if cur.max != last.max {
			moved = append(moved, model.ResourcePath(ObjectID, id, resMax))
		}
	}
	if len(moved) > 0 {
		if err := guest.Changed(ctx, moved...); err != nil {
			return nil, now, err
		}
	}
	return all, now, nil
}

// exists returns errNoSensor unless instance id exists.
func (s *sensor) exists(id uint16) error {
	if int(id) >= s.cfg.Sensors {
		return errNoSensor
	}
	return nil
}

// Instances implements guest.Object.
func (s *sensor) Instances(ctx context.Context) ([]uint16, error) {
	if _, _, err := s.tick(ctx); err != nil {
		return nil, err
	}
	ids := make([]uint16, s.cfg.Sensors)
	for i := range ids {
		ids[i] = uint16(i)
	}
	return ids, nil
}

// resource returns resource res of sensor id.
func (s *sensor) resource(ctx context.Context, id, res uint16, cur sample, now time.Time) (model.Node, error) {
	var v model.Value
	switch res {
	case resTimestamp:
		v = model.UnixTime(now.Unix())
	case resMin:
		v = model.Float(cur.min)
	case resMax:
		v = model.Float(cur.max)
	case resMinRange:
		v = model.Float(s.round(s.cfg.Base - s.cfg.Amplitude))
	case resMaxRange:
		v = model.Float(s.round(s.cfg.Base + s.cfg.Amplitude))
	case resValue:
		v = model.Float(cur.value)
	case resUnits:
		v = model.String(s.cfg.Units)
	case resAppType:
		b, err := guest.KV.Get(ctx, appKey(id))
		if err != nil && !errors.Is(err, model.ErrNotFound) {
			return model.Node{}, err
		}
		v = model.String(string(b))
	default:
		return model.Node{}, model.Errorf(model.NotFound, "sensor %d has no resource %d", id, res)
	}
	return model.NewResource(res, v), nil
}

// Read implements guest.Object.
func (s *sensor) Read(ctx context.Context, p model.Path) (model.Node, error) {
	id := p.InstanceID()
	if err := s.exists(id); err != nil {
		return model.Node{}, err
	}
	all, now, err := s.tick(ctx)
	if err != nil {
		return model.Node{}, err
	}
	if p.IsResourceInstance() {
		return model.Node{}, model.Errorf(model.NotFound, "%s: single-instance resource", p)
	}
	if p.IsResource() {
		return s.resource(ctx, id, p.ResourceID(), all[id], now)
	}
	in := model.NewInstance(id)
	for _, r := range definition.Resources {
		if r.Operations&model.OpRead == 0 {
			continue
		}
		n, err := s.resource(ctx, id, r.ID, all[id], now)
		if err != nil {
			return model.Node{}, err
		}
		in.Children = append(in.Children, n)
	}
	return in, nil
}

// Write implements guest.Object: the Application Type is the only
// writable resource (the SDK refuses the others with 4.05).
func (s *sensor) Write(ctx context.Context, p model.Path, n model.Node, replace bool) error {
	id := p.InstanceID()
	if err := s.exists(id); err != nil {
		return err
	}
	if _, _, err := s.tick(ctx); err != nil {
		return err
	}
	app, set := "", true
	switch {
	case p.IsInstance():
		if c := n.Child(resAppType); c != nil {
			app = c.Value.Str()
		} else if !replace {
			set = false // a partial update without 5750 leaves it alone
		}
	case p.IsResource() && p.ResourceID() == resAppType:
		app = n.Value.Str()
	default:
		return model.Errorf(model.NotFound, "%s: no such resource", p)
	}
	if !set {
		return nil
	}
	if len(app) > maxAppTypeLen {
		return model.Errorf(model.BadRequest, "application type longer than %d bytes", maxAppTypeLen)
	}
	var err error
	if app == "" {
		err = guest.KV.Delete(ctx, appKey(id))
	} else {
		err = guest.KV.Put(ctx, appKey(id), []byte(app))
	}
	if err != nil {
		return err
	}
	return guest.Changed(ctx, model.ResourcePath(ObjectID, id, resAppType))
}

// Execute implements guest.Object: Reset Min and Max Measured Values
// (5605) opens a new window now, so that both become the current value.
func (s *sensor) Execute(ctx context.Context, p model.Path, args []byte) error {
	id := p.InstanceID()
	if err := s.exists(id); err != nil {
		return err
	}
	if p.ResourceID() != resReset {
		return model.Errorf(model.MethodNotAllowed, "%s is not executable", p) // the SDK answers first
	}
	if err := s.setSince(ctx, id, guest.Now(ctx)); err != nil {
		return err
	}
	guest.Log(ctx, guest.LevelInfo, "min and max reset", "instance", id)
	_, _, err := s.tick(ctx) // reports 5601 and 5602 if they moved
	return err
}

// Create implements guest.Object: the sensors are configured, not created.
func (s *sensor) Create(ctx context.Context, n model.Node) (uint16, error) {
	return 0, model.Errorf(model.MethodNotAllowed, "temperature sensors are configured (sensors), not created")
}

// Delete implements guest.Object: the sensors are configured, not deleted.
func (s *sensor) Delete(ctx context.Context, id uint16) error {
	if err := s.exists(id); err != nil {
		return err
	}
	return model.Errorf(model.MethodNotAllowed, "temperature sensors are configured (sensors), not deleted")
}
