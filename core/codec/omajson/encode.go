package omajson

import (
	"encoding/base64"
	"strconv"
	"time"

	"github.com/wasm2m/wasm2m/core/internal/jsonx"
	"github.com/wasm2m/wasm2m/core/model"
)

// Encode appends the OMA JSON form of n, the node at path p, to dst, as a
// Read response or a Write request to p carries it. The base name is the
// object or object instance at or above p ("/3/0/" for /3/0 and for
// /3/0/6, as in the LwM2M 1.0 section 6.4.4 example), so every entry's
// name holds at least the resource id. Values are written as
// AppendRecords writes them; executable resources (no value) are left
// out. The node must be well formed (see model.Node.Validate); on error
// dst is returned unchanged with a 4.00 error.
func Encode(dst []byte, p model.Path, n *model.Node) ([]byte, error) {
	if err := n.CheckAt(p); err != nil {
		return dst, wrap(err)
	}
	if err := n.Validate(); err != nil {
		return dst, wrap(err)
	}
	base := p
	if base.Len() > 2 {
		base = base.Truncate(2)
	}
	w := nodeWriter{base: base, first: true}
	w.b = append(dst, `{"bn":"`...)
	w.b = appendBase(w.b, base, true)
	w.b = append(w.b, `","e":[`...)
	if err := w.node(p, n); err != nil {
		return dst, err
	}
	return append(w.b, "]}"...), nil
}

type nodeWriter struct {
	b     []byte
	base  model.Path
	first bool
}

// node writes the entries of n, which lives at p and is well formed
// (model.Node.Validate).
func (w *nodeWriter) node(p model.Path, n *model.Node) error {
	if n.HasValue() {
		if n.Value.IsNone() {
			return nil // an executable resource: nothing to carry
		}
		if !w.first {
			w.b = append(w.b, ',')
		}
		w.first = false
		var err error
		if w.b, err = appendEntry(w.b, w.base, p, n.Value); err != nil {
			return err
		}
		w.b = append(w.b, '}')
		return nil
	}
	for i := range n.Children {
		c := &n.Children[i]
		if err := w.node(p.MustChild(c.ID), c); err != nil {
			return err
		}
	}
	return nil
}

// AppendRecords appends the OMA JSON form of recs to dst, in the given
// order, with base as the base name: every record's path must be base or
// below it, and a resource or resource instance path. Names are written
// relative to base (none for a record at base itself). Times are written
// as the package documentation says; a record time at or before the Unix
// epoch, or after year 9999, cannot be carried and is an error. On error dst is returned
// unchanged with a 4.00 error.
func AppendRecords(dst []byte, base model.Path, recs []model.Record) ([]byte, error) {
	slash := false
	timed := 0
	var newest time.Time
	for i := range recs {
		r := &recs[i]
		if !r.Path.HasPrefix(base) {
			return dst, errorf("record %s is outside base %s", r.Path, base)
		}
		if r.Path.Len() < 3 {
			return dst, errorf("record %s: a value needs a resource or resource instance path", r.Path)
		}
		if r.Path != base {
			slash = true
		}
		if !r.Time.IsZero() {
			if !after1970(r.Time) || r.Time.Unix() > maxUnix {
				return dst, errorf("record %s: time %s is not between 1970 and 9999", r.Path, r.Time.Format(time.RFC3339Nano))
			}
			if timed == 0 || r.Time.After(newest) {
				newest = r.Time
			}
			timed++
		}
	}
	useBT := timed > 0 && timed == len(recs)
	var bt int64
	b := append(dst, `{"bn":"`...)
	b = appendBase(b, base, slash)
	b = append(b, '"')
	if useBT {
		bt = newest.Unix()
		b = append(b, `,"bt":`...)
		b = strconv.AppendInt(b, bt, 10)
	}
	b = append(b, `,"e":[`...)
	for i := range recs {
		r := &recs[i]
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendEntry(b, base, r.Path, r.Value); err != nil {
			return dst, err
		}
		if !r.Time.IsZero() {
			s := seconds{sec: r.Time.Unix(), nsec: int64(r.Time.Nanosecond())}
			if useBT {
				s.sec -= bt
			}
			if !useBT || s != (seconds{}) {
				b = append(b, `,"t":`...)
				b = jsonx.AppendSeconds(b, s.sec, s.nsec)
			}
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

func after1970(t time.Time) bool {
	s := t.Unix()
	return s > 0 || s == 0 && t.Nanosecond() > 0
}

// appendBase appends the text of a base name: "/" for the root, the path
// with a trailing slash when names follow, the bare path otherwise.
func appendBase(b []byte, base model.Path, slash bool) []byte {
	b, _ = base.AppendText(b)
	if slash && !base.IsRoot() {
		b = append(b, '/')
	}
	return b
}

// appendEntry appends an entry up to its value: `{"n":"6/0","v":1`. The
// caller closes it after any time.
func appendEntry(b []byte, base, p model.Path, v model.Value) ([]byte, error) {
	b = append(b, '{')
	if p.Len() > base.Len() {
		b = append(b, `"n":"`...)
		for k := base.Len(); k < p.Len(); k++ {
			if k > base.Len() {
				b = append(b, '/')
			}
			b = strconv.AppendUint(b, uint64(p.ID(k)), 10)
		}
		b = append(b, `",`...)
	}
	var ok bool
	switch v.Type() {
	case model.TypeInteger, model.TypeTime:
		b = append(b, `"v":`...)
		return strconv.AppendInt(b, v.Int(), 10), nil
	case model.TypeUnsigned:
		b = append(b, `"v":`...)
		return strconv.AppendUint(b, v.Uint(), 10), nil
	case model.TypeFloat:
		b = append(b, `"v":`...)
		if b, ok = appendFloat(b, v.Float()); !ok {
			return b, errorf("record %s: float %v has no JSON form", p, v.Float())
		}
		return b, nil
	case model.TypeBoolean:
		if v.Bool() {
			return append(b, `"bv":true`...), nil
		}
		return append(b, `"bv":false`...), nil
	case model.TypeString, model.TypeCorelnk:
		b = append(b, `"sv":`...)
		if b, ok = jsonx.AppendString(b, v.Str()); !ok {
			return b, errorf("record %s: %s is not valid UTF-8", p, v.Type())
		}
		return b, nil
	case model.TypeOpaque:
		b = append(b, `"sv":"`...)
		b = base64.StdEncoding.AppendEncode(b, []byte(v.Str()))
		return append(b, '"'), nil
	case model.TypeObjlnk:
		l := v.Objlnk()
		b = append(b, `"ov":"`...)
		b = strconv.AppendUint(b, uint64(l.Object), 10)
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(l.Instance), 10)
		return append(b, '"'), nil
	}
	return b, errorf("record %s has no value", p)
}

// appendFloat appends f as jsonx.AppendFloat does, but for an exponent
// written without a leading zero ("1e-7", as encoding/json writes it,
// not "1e-07"). NaN and infinities have no JSON form.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	b, ok := jsonx.AppendFloat(b, f)
	if n := len(b); ok && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b, ok
}
