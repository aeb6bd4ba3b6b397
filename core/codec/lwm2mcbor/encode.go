package lwm2mcbor

import (
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/wasm2m/wasm2m/core/internal/cbor"
	"github.com/wasm2m/wasm2m/core/model"
)

// Encode appends the LwM2M CBOR form of n, the node at path p, to dst:
// one map from the object level down to n, in the canonical form the
// package documentation describes. A Read of /3/0 gives {[3, 0]: {0:
// "Open Mobile Alliance", ...}}, a Read of /3/0/0 {[3, 0, 0]: "Open
// Mobile Alliance"}. Executable resources (no value) are left out; an
// object, instance or multiple resource without children is an empty
// map. The node must be well formed (see model.Node.Validate) and hold a
// value if it is a resource; on error dst is returned unchanged with a
// 4.00 error.
func Encode(dst []byte, p model.Path, n *model.Node) ([]byte, error) {
	if err := n.CheckAt(p); err != nil {
		return dst, wrap(err)
	}
	if n.HasValue() && n.Value.IsNone() {
		return dst, errorf("%s has no value to encode", p)
	}
	if err := n.Validate(); err != nil {
		return dst, wrap(err)
	}
	b := cbor.AppendMap(dst, 1)
	var key [4]uint16
	for i := 0; i < p.Len(); i++ {
		key[i] = p.ID(i)
	}
	b, err := appendNodeEntry(b, key, p.Len(), p, n)
	if err != nil {
		return dst, err
	}
	return b, nil
}

// checkValue reports whether v is one LwM2M CBOR can carry: text must be
// valid UTF-8.
func checkValue(p model.Path, v model.Value) error {
	switch v.Type() {
	case model.TypeString, model.TypeCorelnk:
		if !utf8.ValidString(v.Str()) {
			return errorf("%s: %s is not valid UTF-8", p, v.Type())
		}
	}
	return nil
}

// present reports whether c is written: every node but a resource
// without a value (an executable).
func present(c *model.Node) bool { return !c.HasValue() || !c.Value.IsNone() }

// appendNodeEntry appends the map entry for n, whose key so far holds
// key[:kn] (the ids from the enclosing map down to n), collapsing single
// children into the key. n is well formed (model.Node.Validate).
func appendNodeEntry(b []byte, key [4]uint16, kn int, p model.Path, n *model.Node) ([]byte, error) {
	for !n.HasValue() {
		count, only := 0, -1
		for i := range n.Children {
			if present(&n.Children[i]) {
				count++
				only = i
			}
		}
		if count != 1 {
			b = appendKey(b, key[:kn])
			b = cbor.AppendMap(b, count)
			for i := range n.Children {
				c := &n.Children[i]
				if !present(c) {
					continue
				}
				var err error
				if b, err = appendNodeEntry(b, [4]uint16{c.ID}, 1, p.MustChild(c.ID), c); err != nil {
					return b, err
				}
			}
			return b, nil
		}
		n = &n.Children[only]
		p = p.MustChild(n.ID)
		key[kn] = n.ID
		kn++
	}
	b = appendKey(b, key[:kn])
	return appendValue(b, p, n.Value)
}

// appendKey appends a key: a single id, or an array of them.
func appendKey(b []byte, ids []uint16) []byte {
	if len(ids) == 1 {
		return cbor.AppendUint(b, uint64(ids[0]))
	}
	b = cbor.AppendArray(b, len(ids))
	for _, id := range ids {
		b = cbor.AppendUint(b, uint64(id))
	}
	return b
}

// appendValue appends v; a value of no type is null.
func appendValue(b []byte, p model.Path, v model.Value) ([]byte, error) {
	switch v.Type() {
	case model.TypeNone:
		return cbor.AppendNull(b), nil
	case model.TypeInteger:
		return cbor.AppendInt(b, v.Int()), nil
	case model.TypeUnsigned:
		return cbor.AppendUint(b, v.Uint()), nil
	case model.TypeFloat:
		return cbor.AppendFloat(b, v.Float()), nil
	case model.TypeBoolean:
		return cbor.AppendBool(b, v.Bool()), nil
	case model.TypeString, model.TypeCorelnk:
		if !utf8.ValidString(v.Str()) {
			return b, errorf("%s: %s is not valid UTF-8", p, v.Type())
		}
		return cbor.AppendText(b, v.Str()), nil
	case model.TypeOpaque:
		return cbor.AppendBytesString(b, v.Str()), nil
	case model.TypeTime:
		return cbor.AppendInt(cbor.AppendTag(b, cbor.TagEpochTime), v.Int()), nil
	case model.TypeObjlnk:
		l := v.Objlnk()
		var buf [11]byte
		s := strconv.AppendUint(buf[:0], uint64(l.Object), 10)
		s = append(s, ':')
		s = strconv.AppendUint(s, uint64(l.Instance), 10)
		return cbor.AppendText(b, string(s)), nil
	}
	return b, errorf("%s: unknown value type %d", p, v.Type())
}

// AppendRecords appends the LwM2M CBOR form of recs to dst: one map from
// the object level down holding every record, in the canonical form the
// package documentation describes, whatever the order of recs. Each
// record must be at a resource or resource instance path, no path may be
// given twice or lie below another record's, and no record may have a
// time (LwM2M CBOR has none; use SenML for historical values). A record
// without a value is written as null (a Write-Composite removal). On
// error dst is returned unchanged with a 4.00 error.
func AppendRecords(dst []byte, recs []model.Record) ([]byte, error) {
	for i := range recs {
		r := &recs[i]
		if r.Path.Len() < 3 {
			return dst, errorf("record %s: a value needs a resource or resource instance path", r.Path)
		}
		if !r.Time.IsZero() {
			return dst, errorf("record %s: LwM2M CBOR carries no timestamp", r.Path)
		}
		if err := checkValue(r.Path, r.Value); err != nil {
			return dst, err
		}
	}
	s := recs
	if !slices.IsSortedFunc(s, cmpRecord) {
		s = slices.Clone(recs)
		slices.SortStableFunc(s, cmpRecord)
	}
	for i := 1; i < len(s); i++ {
		if s[i].Path.HasPrefix(s[i-1].Path) {
			if s[i].Path == s[i-1].Path {
				return dst, errorf("record %s given twice", s[i].Path)
			}
			return dst, errorf("record %s lies below record %s", s[i].Path, s[i-1].Path)
		}
	}
	b, err := appendRecordMap(dst, s, 0)
	if err != nil {
		return dst, err
	}
	return b, nil
}

func cmpRecord(a, b model.Record) int { return a.Path.Compare(b.Path) }

// appendRecordMap appends the map of records s (sorted, without
// conflicts), which all share their first d ids and are deeper than d.
func appendRecordMap(b []byte, s []model.Record, d int) ([]byte, error) {
	groups := 0
	for i := range s {
		if i == 0 || s[i].Path.ID(d) != s[i-1].Path.ID(d) {
			groups++
		}
	}
	b = cbor.AppendMap(b, groups)
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j].Path.ID(d) == s[i].Path.ID(d) {
			j++
		}
		var err error
		if b, err = appendRecordEntry(b, s[i:j], d); err != nil {
			return b, err
		}
		i = j
	}
	return b, nil
}

// appendRecordEntry appends the entry for records g, which share their
// first d+1 ids, collapsing single children into the key.
func appendRecordEntry(b []byte, g []model.Record, d int) ([]byte, error) {
	e := d + 1
	for {
		if len(g) == 1 && g[0].Path.Len() == e {
			b = appendPathKey(b, g[0].Path, d, e)
			return appendValue(b, g[0].Path, g[0].Value)
		}
		// Sorted and without conflicts: every record of g is deeper than
		// e, and they share id e when the first and the last do.
		if g[0].Path.ID(e) != g[len(g)-1].Path.ID(e) {
			b = appendPathKey(b, g[0].Path, d, e)
			return appendRecordMap(b, g, e)
		}
		e++
	}
}

// appendPathKey appends the key made of ids d to e-1 of p.
func appendPathKey(b []byte, p model.Path, d, e int) []byte {
	if e-d == 1 {
		return cbor.AppendUint(b, uint64(p.ID(d)))
	}
	b = cbor.AppendArray(b, e-d)
	for k := d; k < e; k++ {
		b = cbor.AppendUint(b, uint64(p.ID(k)))
	}
	return b
}
