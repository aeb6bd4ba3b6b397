package guest

import (
	"slices"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Fast paths for the hottest call, Read. In a Go guest every heap
// allocation of a call costs on the order of a microsecond (measured under
// wazero on these machines, against well under one for the whole call
// without any), so Read decodes its path without the generated Unmarshal
// (which allocates the Path message and its ids) and encodes its response
// from messages the Dispatcher keeps and reuses. Anything the fast decoder
// does not expect makes it give up, and the generated code decides.

// fastPath decodes a request whose only field is 1, a Path message (the
// requests of Read, Delete and Discover), without allocating. ok is false
// for anything else, including fields of a newer minor version: the
// caller then decodes with the generated Unmarshal.
func fastPath(b []byte) (p model.Path, ok bool) {
	var ids [4]uint16
	n := 0
	seen := false
	for len(b) > 0 {
		if b[0] != 1<<3|2 || seen { // field 1, length-delimited, once
			return model.Path{}, false
		}
		seen = true
		l, k := uvarint(b[1:])
		if k == 0 || l > uint64(len(b)-1-k) {
			return model.Path{}, false
		}
		msg := b[1+k : 1+k+int(l)]
		b = b[1+k+int(l):]
		for len(msg) > 0 {
			if msg[0] != 1<<3|2 { // Path field 1, packed
				return model.Path{}, false
			}
			l, k := uvarint(msg[1:])
			if k == 0 || l > uint64(len(msg)-1-k) {
				return model.Path{}, false
			}
			packed := msg[1+k : 1+k+int(l)]
			msg = msg[1+k+int(l):]
			for len(packed) > 0 {
				v, k := uvarint(packed)
				if k == 0 || v > model.MaxID || n == 4 {
					return model.Path{}, false
				}
				ids[n] = uint16(v)
				n++
				packed = packed[k:]
			}
		}
	}
	p, err := model.NewPath(ids[:n]...)
	return p, err == nil
}

// uvarint decodes a varint of at most 10 bytes; k is 0 when b holds none.
func uvarint(b []byte) (v uint64, k int) {
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, 0
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

// reuse holds the response messages a Dispatcher fills again on every
// call, so that encoding a response allocates nothing once their slices
// have grown to the shapes the plugin returns.
type reuse struct {
	read      abi.ObjectReadResponse
	node      abi.Node
	instances abi.ObjectInstancesResponse
}

// fillNode sets m to n's message, reusing m's children, values and bytes.
func fillNode(m *abi.Node, n *model.Node) {
	m.Kind = abi.NodeKind(n.Kind)
	m.ID = uint32(n.ID)
	if n.HasValue() && !n.Value.IsNone() {
		if m.Value == nil {
			m.Value = new(abi.Value)
		}
		fillValue(m.Value, n.Value)
	} else {
		m.Value = nil
	}
	if n.HasValue() {
		m.Children = m.Children[:0]
		return
	}
	m.Children = slices.Grow(m.Children[:0], len(n.Children))[:len(n.Children)]
	for i := range n.Children {
		fillNode(&m.Children[i], &n.Children[i])
	}
}

func fillValue(m *abi.Value, v model.Value) {
	b := m.Bytes[:0]
	*m = abi.Value{Type: abi.ValueType(v.Type())}
	switch v.Type() {
	case model.TypeInteger, model.TypeTime:
		m.Integer = v.Int()
	case model.TypeUnsigned:
		m.Unsigned = v.Uint()
	case model.TypeFloat:
		m.Float = v.Float()
	case model.TypeBoolean:
		m.Boolean = v.Bool()
	case model.TypeString, model.TypeOpaque, model.TypeCorelnk:
		m.Bytes = append(b, v.Str()...)
		return
	case model.TypeObjlnk:
		l := v.Objlnk()
		m.ObjlnkObject, m.ObjlnkInstance = uint32(l.Object), uint32(l.Instance)
	}
	m.Bytes = b // keep the capacity for the next string
}

// appendChanged appends the encoding of abi.ChangedRequest{Paths: paths}
// without building the message (Changed is called on every value change
// of a sensor).
func appendChanged(b []byte, paths []model.Path) []byte {
	for _, p := range paths {
		n := 0 // the packed ids' length
		for i := 0; i < p.Len(); i++ {
			n += varintLen(uint64(p.ID(i)))
		}
		msg := 0 // the Path message's length
		if n > 0 {
			msg = 1 + varintLen(uint64(n)) + n
		}
		b = append(b, 1<<3|2)
		b = appendUvarint(b, uint64(msg))
		if n == 0 {
			continue
		}
		b = append(b, 1<<3|2)
		b = appendUvarint(b, uint64(n))
		for i := 0; i < p.Len(); i++ {
			b = appendUvarint(b, uint64(p.ID(i)))
		}
	}
	return b
}

func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
