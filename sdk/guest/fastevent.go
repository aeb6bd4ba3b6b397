package guest

import (
	"math"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// A fast decoder for the request of MethodEvent, the call a logic plugin
// gets for every notification. The generated Unmarshal and the conversions
// make about twenty allocations for a notification of one value; this one
// makes the few the Event handed to the plugin needs (its slices, the
// token), and reuses the strings that repeat from one event to the next
// (endpoint, registration id, binding, address, version). Anything it does
// not expect (an unknown field, a field given twice, a registration's
// object list, a value the model refuses) makes it give up, and the
// generated code decides, with its errors.

// eventCache keeps the strings of the last event.
type eventCache struct {
	endpoint, regID, binding, address, version string
	lwm2m                                      model.Version
}

// intern returns b as a string, the cached one when it is the same.
func intern(cached *string, b []byte) string {
	if string(b) != *cached { // compares without allocating
		*cached = string(b)
	}
	return *cached
}

// wire reads protobuf fields; any problem sets bad, and reads return zero.
type wire struct {
	b   []byte
	bad bool
}

func (w *wire) more() bool { return !w.bad && len(w.b) > 0 }

func (w *wire) tag() (num uint64, wt uint64) {
	v := w.varint()
	return v >> 3, v & 7
}

func (w *wire) varint() uint64 {
	v, k := uvarint(w.b)
	if k == 0 {
		w.bad = true
		return 0
	}
	w.b = w.b[k:]
	return v
}

func (w *wire) bytes() []byte {
	n := w.varint()
	if w.bad || n > uint64(len(w.b)) {
		w.bad = true
		return nil
	}
	b := w.b[:n:n]
	w.b = w.b[n:]
	return b
}

func (w *wire) fixed64() uint64 {
	if len(w.b) < 8 {
		w.bad = true
		return 0
	}
	b := w.b
	v := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	w.b = w.b[8:]
	return v
}

// field reads the next tag and checks its wire type; a wrong wire type, an
// unknown field (want 0) or a singular field seen before (bit in once)
// sets bad.
func (w *wire) field(wts []uint64, once *uint64, repeated uint64) uint64 {
	num, wt := w.tag()
	if w.bad || num == 0 || num >= uint64(len(wts)) || wts[num] != wt+1 {
		w.bad = true
		return 0
	}
	if repeated&(1<<num) == 0 {
		if *once&(1<<num) != 0 {
			w.bad = true
			return 0
		}
		*once |= 1 << num
	}
	return num
}

// Wire types (plus one, 0 for no such field) of the fields of each message.
const (
	wtVarint  = 0 + 1
	wtFixed64 = 1 + 1
	wtBytes   = 2 + 1
)

var (
	eventRequestWires = []uint64{0, wtBytes}
	eventWires        = []uint64{0, wtVarint, wtVarint, wtBytes, wtBytes, wtVarint, wtBytes, wtBytes, wtVarint, wtBytes, 0, wtBytes, wtBytes, wtBytes, wtBytes, wtVarint, wtBytes}
	eventRepeated     = uint64(1<<12 | 1<<13 | 1<<14)
	pathWires         = []uint64{0, wtBytes}
	entryWires        = []uint64{0, wtBytes, wtBytes}
	recordWires       = []uint64{0, wtBytes, wtBytes, wtVarint}
	nodeWires         = []uint64{0, wtVarint, wtVarint, wtBytes, wtBytes}
	valueWires        = []uint64{0, wtVarint, wtVarint, wtVarint, wtFixed64, wtVarint, wtBytes, wtVarint, wtVarint}
)

// fastEvent decodes an EventRequest; ok is false when the generated code
// must decide.
func (c *eventCache) fastEvent(b []byte) (e Event, ok bool) {
	w := wire{b: b}
	var once uint64
	var ev []byte
	for w.more() {
		if w.field(eventRequestWires, &once, 0) == 1 {
			ev = w.bytes()
		}
	}
	if w.bad || once == 0 {
		return Event{}, false
	}
	w = wire{b: ev}
	once = 0
	var code uint32
	var msg string
	for w.more() {
		switch w.field(eventWires, &once, eventRepeated) {
		case 1:
			t := w.varint()
			if t < uint64(EventRegistered) || t > uint64(EventSend) {
				return Event{}, false
			}
			e.Type = EventType(t)
		case 2:
			if n := int64(w.varint()); n != 0 {
				e.Time = time.Unix(0, n)
			}
		case 3:
			e.Endpoint = intern(&c.endpoint, w.bytes())
		case 4:
			e.RegistrationID = intern(&c.regID, w.bytes())
		case 5:
			e.Lifetime = time.Duration(uint32(w.varint())) * time.Second
		case 6:
			e.Binding = intern(&c.binding, w.bytes())
		case 7:
			v := w.bytes()
			if len(v) > 0 {
				if string(v) != c.version || c.lwm2m.IsZero() {
					lv, err := model.ParseVersion(string(v))
					if err != nil {
						return Event{}, false
					}
					c.version, c.lwm2m = string(v), lv
				}
				e.LWM2MVersion = c.lwm2m
			}
		case 8:
			e.Queue = w.varint() != 0
		case 9:
			e.Address = intern(&c.address, w.bytes())
		case 11:
			if v := w.bytes(); len(v) > 0 {
				e.Token = append([]byte(nil), v...)
			}
		case 12:
			p, ok := pathIn(w.bytes())
			if !ok {
				return Event{}, false
			}
			e.Paths = append(e.Paths, p)
		case 13:
			en, ok := entryIn(w.bytes())
			if !ok {
				return Event{}, false
			}
			e.Entries = append(e.Entries, en)
		case 14:
			r, ok := recordIn(w.bytes())
			if !ok {
				return Event{}, false
			}
			e.Records = append(e.Records, r)
		case 15:
			code = uint32(w.varint())
		case 16:
			msg = string(w.bytes())
		}
	}
	if w.bad || e.Type == 0 {
		return Event{}, false
	}
	if code != 0 || msg != "" {
		c := model.Code(code)
		if code == 0 || code > 255 {
			c = model.InternalServerError
		}
		e.Err = &model.Error{Code: c, Msg: msg}
	}
	return e, true
}

// pathIn decodes a Path message: ids packed, at most 4, each at most
// 65534.
func pathIn(b []byte) (model.Path, bool) {
	w := wire{b: b}
	var ids [4]uint16
	n := 0
	var once uint64
	for w.more() {
		if w.field(pathWires, &once, 1<<1) != 1 {
			return model.Path{}, false
		}
		p := wire{b: w.bytes()}
		for p.more() {
			v := p.varint()
			if v > model.MaxID || n == 4 {
				return model.Path{}, false
			}
			ids[n] = uint16(v)
			n++
		}
		if p.bad {
			return model.Path{}, false
		}
	}
	if w.bad {
		return model.Path{}, false
	}
	p, err := model.NewPath(ids[:n]...)
	return p, err == nil
}

func entryIn(b []byte) (model.Entry, bool) {
	w := wire{b: b}
	var once uint64
	var e model.Entry
	hasNode := false
	for w.more() {
		switch w.field(entryWires, &once, 0) {
		case 1:
			p, ok := pathIn(w.bytes())
			if !ok {
				return model.Entry{}, false
			}
			e.Path = p
		case 2:
			n, ok := nodeIn(w.bytes(), 0)
			if !ok {
				return model.Entry{}, false
			}
			e.Node, hasNode = n, true
		}
	}
	if w.bad || !hasNode {
		return model.Entry{}, false
	}
	e.Node.Sort()
	if e.Node.Validate() != nil || e.Node.CheckAt(e.Path) != nil {
		return model.Entry{}, false
	}
	return e, true
}

func recordIn(b []byte) (model.Record, bool) {
	w := wire{b: b}
	var once uint64
	var r model.Record
	for w.more() {
		switch w.field(recordWires, &once, 0) {
		case 1:
			p, ok := pathIn(w.bytes())
			if !ok {
				return model.Record{}, false
			}
			r.Path = p
		case 2:
			v, ok := valueIn(w.bytes())
			if !ok {
				return model.Record{}, false
			}
			r.Value = v
		case 3:
			if n := int64(w.varint()); n != 0 {
				r.Time = time.Unix(0, n)
			}
		}
	}
	return r, !w.bad
}

// nodeIn decodes a Node message at depth (0 for an entry's node), as
// abi.Node.Model does before it sorts and validates.
func nodeIn(b []byte, depth int) (model.Node, bool) {
	if depth >= 4 {
		return model.Node{}, false
	}
	w := wire{b: b}
	var once uint64
	var n model.Node
	for w.more() {
		switch w.field(nodeWires, &once, 1<<4) {
		case 1:
			k := w.varint()
			if k < uint64(model.KindObject) || k > uint64(model.KindResourceInstance) {
				return model.Node{}, false
			}
			n.Kind = model.Kind(k)
		case 2:
			id := w.varint()
			if id > model.MaxID {
				return model.Node{}, false
			}
			n.ID = uint16(id)
		case 3:
			v, ok := valueIn(w.bytes())
			if !ok {
				return model.Node{}, false
			}
			n.Value = v
		case 4:
			c, ok := nodeIn(w.bytes(), depth+1)
			if !ok {
				return model.Node{}, false
			}
			n.Children = append(n.Children, c)
		}
	}
	if w.bad || n.Kind == 0 {
		return model.Node{}, false
	}
	return n, true
}

// valueIn decodes a Value message as abi.Value.Model does.
func valueIn(b []byte) (model.Value, bool) {
	w := wire{b: b}
	var once uint64
	var m abi.Value
	var bs []byte
	for w.more() {
		switch w.field(valueWires, &once, 0) {
		case 1:
			m.Type = abi.ValueType(int32(w.varint()))
		case 2:
			v := w.varint()
			m.Integer = int64(v>>1) ^ -int64(v&1)
		case 3:
			m.Unsigned = w.varint()
		case 4:
			m.Float = math.Float64frombits(w.fixed64())
		case 5:
			m.Boolean = w.varint() != 0
		case 6:
			bs = w.bytes()
		case 7:
			m.ObjlnkObject = uint32(w.varint())
		case 8:
			m.ObjlnkInstance = uint32(w.varint())
		}
	}
	if w.bad {
		return model.Value{}, false
	}
	switch model.Type(m.Type) {
	case model.TypeString:
		return model.String(string(bs)), true
	case model.TypeOpaque:
		return model.Opaque(bs), true
	case model.TypeCorelnk:
		return model.Corelnk(string(bs)), true
	}
	if m.Type < abi.ValueTypeNone || m.Type > abi.ValueTypeCorelnk {
		return model.Value{}, false
	}
	v, err := m.Model()
	return v, err == nil
}
