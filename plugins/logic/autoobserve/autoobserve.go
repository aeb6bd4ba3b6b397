package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

// logic is the plugin's guest.Logic.
//
// Which rules are tripped for which device is kept in the plugin's
// key-value space, one key per tripped rule (see trippedKey),
// because the host runs a pool of instances of a plugin, each with its own
// memory, and the next notification may reach another instance. A rule
// with no key is clear: the first value past the threshold trips it.
type logic struct {
	cfg *Config
}

// Configure implements guest.Configurer.
func (l *logic) Configure(ctx context.Context, config []byte) error {
	c, err := parseConfig(config)
	if err != nil {
		return err
	}
	l.cfg = c
	guest.Log(ctx, guest.LevelInfo, "configured", "observe", len(c.Observe), "rules", len(c.Rules))
	return nil
}

// OnEvent implements guest.Logic.
func (l *logic) OnEvent(ctx context.Context, e guest.Event) error {
	switch e.Type {
	case guest.EventRegistered:
		return l.registered(ctx, e)
	case guest.EventNotification, guest.EventSend:
		if e.Err != nil {
			return nil // a failed notification carries no value
		}
		records := e.Records
		if len(records) == 0 {
			for i := range e.Entries {
				var err error
				if records, err = model.Flatten(records, e.Entries[i].Path, &e.Entries[i].Node); err != nil {
					return fmt.Errorf("%s: notification: %w", e.Endpoint, err)
				}
			}
		}
		return l.check(ctx, e.Endpoint, records)
	case guest.EventDeregistered, guest.EventExpired:
		return l.forget(ctx, e.Endpoint)
	}
	return nil
}

// device returns the requests to endpoint ep.
func (l *logic) device(ep string) guest.Device {
	return guest.Device{Endpoint: ep, Timeout: time.Duration(l.cfg.TimeoutMS) * time.Millisecond}
}

// registered observes the configured paths the device registered, and
// checks the rules against their current values. A device registering
// again starts with every rule clear. It tries every path and returns
// what failed.
func (l *logic) registered(ctx context.Context, e guest.Event) error {
	if err := l.forget(ctx, e.Endpoint); err != nil {
		return err
	}
	dev := l.device(e.Endpoint)
	var errs []error
	var records []model.Record
	for _, s := range l.cfg.Observe {
		p := model.MustPath(s) // checked by Configure
		if !registers(&e, p) {
			continue
		}
		_, n, err := dev.Observe(ctx, p, l.cfg.Attributes)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: observe %s: %w", e.Endpoint, p, err))
			continue
		}
		guest.Log(ctx, guest.LevelInfo, "observing", "endpoint", e.Endpoint, "path", p.String())
		if n.Kind != 0 {
			if records, err = model.Flatten(records, p, &n); err != nil {
				errs = append(errs, fmt.Errorf("%s: observe %s: %w", e.Endpoint, p, err))
			}
		}
	}
	if err := l.check(ctx, e.Endpoint, records); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// registers reports whether the registration of e has p's object, and
// p's instance if p names one and the registration lists instances.
func registers(e *guest.Event, p model.Path) bool {
	o := e.Object(p.ObjectID())
	if o == nil {
		return false
	}
	return p.Len() < 2 || len(o.Instances) == 0 || slices.Contains(o.Instances, p.InstanceID())
}

// number returns v as a number, if it is one.
func number(v model.Value) (float64, bool) {
	switch v.Type() {
	case model.TypeFloat:
		return v.Float(), true
	case model.TypeInteger:
		return float64(v.Int()), true
	case model.TypeUnsigned:
		return float64(v.Uint()), true
	case model.TypeTime:
		return float64(v.Time().Unix()), true
	case model.TypeBoolean:
		if v.Bool() {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// next returns whether rule r is tripped after value x, tripped before.
func (r *Rule) next(tripped bool, x float64) bool {
	if r.Above != nil {
		if tripped {
			return x > *r.Above-r.Hysteresis
		}
		return x > *r.Above
	}
	if tripped {
		return x < *r.Below+r.Hysteresis
	}
	return x < *r.Below
}

// endpointKeys returns the prefix of endpoint ep's keys. The endpoint's
// length goes first, so that no endpoint's prefix is another's ("a/" and
// "a/b/" would be).
func endpointKeys(ep string) string { return "tripped/" + strconv.Itoa(len(ep)) + ":" + ep + "/" }

func trippedKey(ep string, rule int) string { return endpointKeys(ep) + strconv.Itoa(rule) }

// check runs the rules over the records a device gave, in order, and
// writes to the device for each rule whose state the records change:
// Write when it trips, Clear when it clears. A rule that trips and clears
// within one notification (samples of a Send) writes nothing.
func (l *logic) check(ctx context.Context, ep string, records []model.Record) error {
	var errs []error
	for i := range l.cfg.Rules {
		r := &l.cfg.Rules[i]
		if !slices.ContainsFunc(records, func(rec model.Record) bool {
			_, ok := number(rec.Value)
			return ok && rec.Path == r.path
		}) {
			continue
		}
		key := trippedKey(ep, i)
		_, err := guest.KV.Get(ctx, key)
		if err != nil && !errors.Is(err, model.ErrNotFound) {
			errs = append(errs, err)
			continue
		}
		was := err == nil
		now := was
		for _, rec := range records {
			if x, ok := number(rec.Value); ok && rec.Path == r.path {
				now = r.next(now, x)
			}
		}
		if now == was {
			continue
		}
		if err := l.act(ctx, ep, r, now); err != nil {
			errs = append(errs, err)
			continue // the state stays: the next value tries again
		}
		if now {
			err = guest.KV.Put(ctx, key, []byte{'1'})
		} else {
			err = guest.KV.Delete(ctx, key)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// act writes what rule r asks when it trips (tripped) or clears.
func (l *logic) act(ctx context.Context, ep string, r *Rule, tripped bool) error {
	a, what := r.Write, "tripped"
	if !tripped {
		a, what = r.Clear, "cleared"
	}
	guest.Log(ctx, guest.LevelInfo, "rule "+what, "endpoint", ep, "path", r.Path)
	if a == nil {
		return nil
	}
	n := model.NewResource(a.path.ResourceID(), a.value)
	if a.path.IsResourceInstance() {
		n = model.NewResourceInstance(a.path.ResourceInstanceID(), a.value)
	}
	if err := l.device(ep).Write(ctx, a.path, n, true); err != nil {
		return fmt.Errorf("%s: write %s: %w", ep, a.path, err)
	}
	return nil
}

// forget clears every rule of endpoint ep.
func (l *logic) forget(ctx context.Context, ep string) error {
	keys, err := guest.KV.List(ctx, endpointKeys(ep))
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := guest.KV.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}
