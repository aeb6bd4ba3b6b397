package stdobj

import (
	"context"
	"math"
	"sync"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// IPSO Temperature resources this file refers to by name.
const (
	tempMinMeasured uint16 = 5601
	tempMaxMeasured uint16 = 5602
	tempMinRange    uint16 = 5603
	tempMaxRange    uint16 = 5604
	tempReset       uint16 = 5605
	tempValue       uint16 = 5700
	tempUnits       uint16 = 5701
	tempTimestamp   uint16 = 5518
	tempAppType     uint16 = 5750
)

// TemperatureSensor describes one instance of the Temperature object.
type TemperatureSensor struct {
	Value           float64  // 5700: the first reading
	Units           string   // 5701, such as "Cel"; "" is not written
	MinRange        *float64 // 5603: the lowest value the sensor measures
	MaxRange        *float64 // 5604: the highest
	ApplicationType string   // 5750 (version 1.1), "" is not written
}

// Temperature is the IPSO Temperature object (3303), version 1.1: one
// instance per sensor. SetValue records a reading, keeps Min and Max
// Measured Value and reports what changed; Reset Min and Max Measured
// Values (5605) sets both to the current value. Simulate moves the values
// over time so that observations have something to report; Close stops
// the simulations.
type Temperature struct {
	*Object

	mu      sync.Mutex // orders readings so min and max follow them
	sims    sync.WaitGroup
	stop    chan struct{}
	stopped bool
}

// NewTemperature returns the Temperature object with sensors, sensor i
// in instance i. Servers may not create or delete sensors (4.05).
func NewTemperature(sensors ...TemperatureSensor) *Temperature {
	def := coreDef(TemperatureID, model.V1_1)
	t := &Temperature{Object: New(def).Static(), stop: make(chan struct{})}
	now := time.Now()
	for i, s := range sensors {
		rs := []model.Node{
			model.NewResource(tempValue, model.Float(s.Value)),
			model.NewResource(tempMinMeasured, model.Float(s.Value)),
			model.NewResource(tempMaxMeasured, model.Float(s.Value)),
			model.NewResource(tempTimestamp, model.Time(now)),
		}
		if s.Units != "" {
			rs = append(rs, model.NewResource(tempUnits, model.String(s.Units)))
		}
		if s.MinRange != nil {
			rs = append(rs, model.NewResource(tempMinRange, model.Float(*s.MinRange)))
		}
		if s.MaxRange != nil {
			rs = append(rs, model.NewResource(tempMaxRange, model.Float(*s.MaxRange)))
		}
		if s.ApplicationType != "" {
			rs = append(rs, model.NewResource(tempAppType, model.String(s.ApplicationType)))
		}
		if err := t.AddInstance(model.NewInstance(uint16(i), keep(def, rs...)...)); err != nil {
			panic("stdobj: new temperature: " + err.Error())
		}
	}
	t.OnExecute(tempReset, func(ctx context.Context, inst uint16, args []byte) error {
		t.mu.Lock()
		v, _ := t.Get(model.ResourcePath(TemperatureID, inst, tempValue))
		var ch changes
		ch.set(t.Object, model.ResourcePath(TemperatureID, inst, tempMinMeasured), v)
		ch.set(t.Object, model.ResourcePath(TemperatureID, inst, tempMaxMeasured), v)
		t.mu.Unlock()
		return ch.report(t.Object)
	})
	return t
}

// changes collects what several sets changed, to report them together
// once the caller's own lock is released.
type changes struct {
	paths []model.Path
	err   error
}

// set sets p to v in o, remembering p if it changed and the first error.
func (c *changes) set(o *Object, p model.Path, v model.Value) {
	if c.err != nil {
		return
	}
	changed, err := o.set(p, v)
	if changed {
		c.paths = append(c.paths, p)
	}
	c.err = err
}

// report reports the changed paths through o and returns the first error.
func (c *changes) report(o *Object) error {
	o.notify(c.paths...)
	return c.err
}

// SetValue records reading v of sensor inst: Sensor Value, the timestamp,
// and Min or Max Measured Value when v passes them. The resources that
// changed are reported together.
func (t *Temperature) SetValue(inst uint16, v float64) error {
	p := func(id uint16) model.Path { return model.ResourcePath(TemperatureID, inst, id) }
	var ch changes
	t.mu.Lock()
	ch.set(t.Object, p(tempValue), model.Float(v))
	if has(t.def, tempTimestamp) {
		ch.set(t.Object, p(tempTimestamp), model.Time(time.Now()))
	}
	if lo, ok := t.Get(p(tempMinMeasured)); !ok || v < lo.Float() {
		ch.set(t.Object, p(tempMinMeasured), model.Float(v))
	}
	if hi, ok := t.Get(p(tempMaxMeasured)); !ok || v > hi.Float() {
		ch.set(t.Object, p(tempMaxMeasured), model.Float(v))
	}
	t.mu.Unlock()
	return ch.report(t.Object)
}

// Value returns the last reading of sensor inst.
func (t *Temperature) Value(inst uint16) (float64, bool) {
	v, ok := t.Get(model.ResourcePath(TemperatureID, inst, tempValue))
	return v.Float(), ok
}

// Simulate records a reading of sensor inst every interval, fn(now) (a
// sine of 5 degrees around 20 with a period of ten minutes when fn is
// nil), in a goroutine that stops when ctx is done or Close is called.
// It fails once the object is closed, or for an interval that is not
// positive.
func (t *Temperature) Simulate(ctx context.Context, inst uint16, interval time.Duration, fn func(now time.Time) float64) error {
	if interval <= 0 {
		return model.Errorf(model.BadRequest, "simulate /%d/%d: interval %v is not positive", TemperatureID, inst, interval)
	}
	if fn == nil {
		fn = func(now time.Time) float64 {
			return 20 + 5*math.Sin(2*math.Pi*float64(now.UnixNano()%int64(10*time.Minute))/float64(10*time.Minute))
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return ErrClosed
	}
	t.sims.Add(1)
	go func() {
		defer t.sims.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.stop:
				return
			case now := <-tick.C:
				_ = t.SetValue(inst, fn(now)) // an instance removed since: nothing to record
			}
		}
	}()
	return nil
}

// Close stops the simulations and waits for them to end. It returns nil,
// and does nothing more when called again.
func (t *Temperature) Close() error {
	t.mu.Lock()
	if !t.stopped {
		t.stopped = true
		close(t.stop)
	}
	t.mu.Unlock()
	t.sims.Wait()
	return nil
}
