package stdobj

import (
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// Position is what the Location object reports. Optional values are
// pointers (nil: the resource is absent); new(12.5) makes one.
type Position struct {
	Latitude  float64  // 0: degrees
	Longitude float64  // 1: degrees
	Altitude  *float64 // 2: metres
	Radius    *float64 // 3: metres, the accuracy of the position
	Velocity  []byte   // 4: 3GPP TS 23.032 velocity, nil for none
	Speed     *float64 // 6: m/s
	// Timestamp is when the position was determined (5); the zero time
	// means now.
	Timestamp time.Time
}

// Location is the Location object (6), version 1.0: one static instance,
// 0, set by the owner with SetPosition.
type Location struct {
	*Object
}

// NewLocation returns the Location object at pos. Create and Delete from
// a server are refused (4.05).
func NewLocation(pos Position) *Location {
	l := &Location{Object: New(coreDef(LocationID, model.V1_0)).Static()}
	if err := l.AddInstance(model.NewInstance(0, pos.resources()...)); err != nil {
		panic("stdobj: new location: " + err.Error())
	}
	return l
}

func (pos Position) resources() []model.Node {
	ts := pos.Timestamp
	if ts.IsZero() {
		ts = time.Now()
	}
	rs := []model.Node{
		model.NewResource(0, model.Float(pos.Latitude)),
		model.NewResource(1, model.Float(pos.Longitude)),
		model.NewResource(5, model.Time(ts)),
	}
	opt := func(id uint16, f *float64) {
		if f != nil {
			rs = append(rs, model.NewResource(id, model.Float(*f)))
		}
	}
	opt(2, pos.Altitude)
	opt(3, pos.Radius)
	opt(6, pos.Speed)
	if pos.Velocity != nil {
		rs = append(rs, model.NewResource(4, model.Opaque(pos.Velocity)))
	}
	return rs
}

// SetPosition sets every resource to pos (optional ones pos lacks are
// removed) and reports the resources that changed together.
func (l *Location) SetPosition(pos Position) error {
	given := make(map[uint16]bool)
	var ch changes
	for _, n := range pos.resources() {
		given[n.ID] = true
		ch.set(l.Object, model.ResourcePath(LocationID, 0, n.ID), n.Value)
	}
	for _, id := range []uint16{2, 3, 4, 6} {
		p := model.ResourcePath(LocationID, 0, id)
		if _, ok := l.Get(p); ok && !given[id] && ch.err == nil {
			ch.err = l.remove(p)
			ch.paths = append(ch.paths, p)
		}
	}
	return ch.report(l.Object)
}
