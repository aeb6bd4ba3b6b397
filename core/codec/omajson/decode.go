package omajson

import (
	"math"
	"strconv"
	"time"

	"github.com/wasm2m/wasm2m/core/internal/jsonx"
	"github.com/wasm2m/wasm2m/core/model"
)

// now is the clock that relative times (bt + t <= 0) are resolved
// against. Tests replace it.
var now = time.Now

// maxUnix is the last second of year 9999, the latest time this package
// reads or writes: time.Time cannot represent every int64 second, and no
// LwM2M device reports beyond it.
const maxUnix = 253402300799

// Decode decodes an OMA JSON payload into the node at path p (an object,
// object instance, resource or resource instance), as a Read response or
// a Write request to p carries it. Names are relative to the payload's
// base name, or to p when the payload has none (LwM2M 1.0 section 6.4.4:
// the name is relative to the request URI). With defs every value is
// converted to its resource's type and opaque resources are base64-decoded
// (see ParseRecords); defs may be nil. Decode is model.Build over
// ParseRecordsAt(data, p, defs), so a payload that gives a path twice (a
// notification with historical values) is refused: read those with
// ParseRecordsAt, which keeps each record's time. Errors are 4.00.
func Decode(data []byte, p model.Path, defs model.Definitions) (model.Node, error) {
	if p.IsRoot() {
		return model.Node{}, errorf("cannot decode a node at the root path; use ParseRecords")
	}
	recs, err := parse(data, p, true, defs)
	if err != nil {
		return model.Node{}, err
	}
	n, err := model.Build(p, recs, defs)
	if err != nil {
		return model.Node{}, wrap(err)
	}
	return n, nil
}

// ParseRecords decodes an OMA JSON payload into one record per entry, in
// payload order, each with its absolute path and its time (zero when the
// entry has none; see the package documentation for bt and t). Every
// name must resolve, with the base name "bn", to a resource or resource
// instance path: a relative name needs a base name (ParseRecordsAt
// supplies one for payloads without it). An "sv" value is base64-decoded
// to Opaque when defs defines its resource as Opaque, becomes Corelnk for
// a Corelnk resource, and stays a String otherwise (defs may be nil);
// other values keep the type their JSON form gives (see the package
// documentation) and are converted to the resource's type only by
// model.Build. Errors are 4.00 Bad Request. ParseRecords never panics
// and allocates at most a small multiple of len(data).
func ParseRecords(data []byte, defs model.Definitions) ([]model.Record, error) {
	return parse(data, model.Path{}, false, defs)
}

// ParseRecordsAt is ParseRecords for a payload answering a request to
// base: names are relative to base when the payload has no base name
// (LwM2M 1.0 section 6.4.4 writes names relative to the request URI, as
// in its historical-notification example, which has no "bn").
func ParseRecordsAt(data []byte, base model.Path, defs model.Definitions) ([]model.Record, error) {
	return parse(data, base, true, defs)
}

// seconds is a time in seconds, sec + nsec/1e9 with 0 <= nsec < 1e9: bt,
// t and their sum, exact to the nanosecond.
type seconds struct {
	sec  int64
	nsec int64
}

// add returns s + t, and false on overflow.
func (s seconds) add(t seconds) (seconds, bool) {
	r := seconds{sec: s.sec + t.sec, nsec: s.nsec + t.nsec}
	if (t.sec > 0 && r.sec < s.sec) || (t.sec < 0 && r.sec > s.sec) {
		return r, false
	}
	if r.nsec >= 1e9 {
		if r.sec == math.MaxInt64 {
			return r, false
		}
		r.sec++
		r.nsec -= 1e9
	}
	return r, true
}

func (s seconds) positive() bool { return s.sec > 0 || s.sec == 0 && s.nsec > 0 }

// name is an entry's "n": ids below the base name, or an absolute path
// when it starts with a slash.
type name struct {
	ids [4]uint16
	n   uint8
	abs bool
}

func (nm name) String() string {
	b := make([]byte, 0, 24)
	if nm.abs {
		b = append(b, '/')
	}
	for i := 0; i < int(nm.n); i++ {
		if i > 0 {
			b = append(b, '/')
		}
		b = strconv.AppendUint(b, uint64(nm.ids[i]), 10)
	}
	return string(b)
}

// entry is one element of "e" before the base name and base time, which
// may follow "e" in the object, are known.
type entry struct {
	name name
	val  model.Value // an "sv" stays a String until its path is known
	isSV bool
	t    seconds
	hasT bool
}

// decoder reads a payload with the shared JSON lexer. Its methods return
// the lexer's errors as they are; parse rewrites them, once, as errors of
// this package.
type decoder struct {
	jsonx.Lexer
}

func (d *decoder) errorf(format string, args ...any) error {
	return errorf("offset %d: "+format, append([]any{d.Off}, args...)...)
}

// parse decodes a payload into records. defBase, when hasDef, is the base
// of names when the payload has no "bn".
func parse(data []byte, defBase model.Path, hasDef bool, defs model.Definitions) ([]model.Record, error) {
	recs, err := parseRecords(data, defBase, hasDef, defs)
	if e, ok := err.(*jsonx.Error); ok {
		return nil, errorf("offset %d: %s", e.Offset, e.Msg)
	}
	return recs, err
}

// parseRecords is parse before lexer errors are rewritten.
func parseRecords(data []byte, defBase model.Path, hasDef bool, defs model.Definitions) ([]model.Record, error) {
	d := decoder{jsonx.Lexer{Data: data}}
	var (
		base           model.Path
		hasBN, seenBN  bool
		bt             seconds
		hasBT          bool
		entries        []entry
		seenE          bool
		err            error
		badKeyPosition int
	)
	d.WS()
	if err := d.Expect('{'); err != nil {
		return nil, err
	}
	d.WS()
	if !d.Eat('}') {
		for {
			d.WS()
			badKeyPosition = d.Off
			key, err := d.Str()
			if err != nil {
				return nil, err
			}
			d.WS()
			if err := d.Expect(':'); err != nil {
				return nil, err
			}
			d.WS()
			switch string(key) {
			case "bn":
				if seenBN {
					d.Off = badKeyPosition
					return nil, d.errorf(`"bn" given twice`)
				}
				seenBN = true
				s, err := d.Str()
				if err != nil {
					return nil, err
				}
				if len(s) > 0 {
					base, err = model.ParsePath(string(s))
					if err != nil {
						return nil, wrapf(err, "base name")
					}
					hasBN = true
				}
			case "bt":
				if hasBT {
					d.Off = badKeyPosition
					return nil, d.errorf(`"bt" given twice`)
				}
				hasBT = true
				if bt, err = d.seconds("bt"); err != nil {
					return nil, err
				}
			case "e":
				if seenE {
					d.Off = badKeyPosition
					return nil, d.errorf(`"e" given twice`)
				}
				seenE = true
				if entries, err = d.entries(); err != nil {
					return nil, err
				}
			default:
				if err := d.Skip(); err != nil {
					return nil, err
				}
			}
			d.WS()
			if d.Eat(',') {
				continue
			}
			if d.Eat('}') {
				break
			}
			if d.AtEnd() {
				return nil, d.errorf("unexpected end of data in the top-level object")
			}
			return nil, d.errorf("want ',' or '}', have %q", d.Peek())
		}
	}
	d.WS()
	if !d.AtEnd() {
		return nil, d.errorf("data after the top-level object")
	}
	if !seenE {
		return nil, errorf(`no resource array "e"`)
	}

	recs := make([]model.Record, len(entries))
	var clock seconds
	haveClock := false
	for i := range entries {
		e := &entries[i]
		var b model.Path
		switch {
		case e.name.abs:
			if hasBN {
				return nil, errorf("entry %d: absolute name %q with a base name", i, e.name)
			}
		case hasBN:
			b = base
		case hasDef:
			b = defBase
		case e.name.n == 0:
			return nil, errorf("entry %d: no name and no base name", i)
		default:
			return nil, errorf("entry %d: relative name %q needs a base name", i, e.name)
		}
		p := b
		for k := 0; k < int(e.name.n); k++ {
			if p.Len() == 4 {
				return nil, errorf("entry %d: name %q below base %s is deeper than a resource instance", i, e.name, b)
			}
			p = p.MustChild(e.name.ids[k])
		}
		if p.Len() < 3 {
			return nil, errorf("entry %d: %s is not a resource or resource instance path", i, p)
		}
		v := e.val
		if e.isSV {
			if def := model.ResourceDefAt(defs, p); def != nil {
				switch def.Type {
				case model.TypeOpaque:
					if v, err = model.ParseText(v.Str(), model.TypeOpaque); err != nil {
						return nil, wrapf(err, "entry %d (%s)", i, p)
					}
				case model.TypeCorelnk:
					v = model.Corelnk(v.Str())
				}
			}
		}
		var ts time.Time
		if hasBT || e.hasT {
			sum, ok := bt.add(e.t)
			if !ok {
				return nil, errorf("entry %d (%s): bt + t overflows", i, p)
			}
			if !sum.positive() {
				// Zero or negative: seconds before the time of decoding.
				if !haveClock {
					c := now()
					clock = seconds{sec: c.Unix(), nsec: int64(c.Nanosecond())}
					haveClock = true
				}
				if sum, ok = clock.add(sum); !ok || !sum.positive() {
					return nil, errorf("entry %d (%s): relative time falls before 1970", i, p)
				}
			}
			if sum.sec > maxUnix {
				return nil, errorf("entry %d (%s): time is after year 9999", i, p)
			}
			ts = time.Unix(sum.sec, sum.nsec).UTC()
		}
		recs[i] = model.Record{Path: p, Value: v, Time: ts}
	}
	return recs, nil
}

// entries reads the resource array "e".
func (d *decoder) entries() ([]entry, error) {
	if err := d.Expect('['); err != nil {
		return nil, err
	}
	out := []entry{}
	d.WS()
	if d.Eat(']') {
		return out, nil
	}
	for {
		d.WS()
		e, err := d.entry(len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		d.WS()
		if d.Eat(',') {
			continue
		}
		if d.Eat(']') {
			return out, nil
		}
		if d.AtEnd() {
			return nil, d.errorf(`unexpected end of data in "e"`)
		}
		return nil, d.errorf(`want ',' or ']' in "e", have %q`, d.Peek())
	}
}

// entry reads one element of "e".
func (d *decoder) entry(idx int) (entry, error) {
	var e entry
	if err := d.Expect('{'); err != nil {
		return e, err
	}
	var seenN, hasValue bool
	d.WS()
	if !d.Eat('}') {
		for {
			d.WS()
			at := d.Off
			key, err := d.Str()
			if err != nil {
				return e, err
			}
			d.WS()
			if err := d.Expect(':'); err != nil {
				return e, err
			}
			d.WS()
			k := string(key)
			switch k {
			case "n", "t":
				if k == "n" && seenN || k == "t" && e.hasT {
					d.Off = at
					return e, d.errorf("entry %d: %q given twice", idx, k)
				}
			case "v", "bv", "sv", "ov":
				if hasValue {
					d.Off = at
					return e, d.errorf("entry %d: more than one value", idx)
				}
				hasValue = true
			}
			switch k {
			case "n":
				seenN = true
				s, err := d.Str()
				if err != nil {
					return e, err
				}
				if e.name, err = parseName(s); err != nil {
					d.Off = at
					return e, d.errorf("entry %d: name %q: %v", idx, s, err)
				}
			case "t":
				e.hasT = true
				if e.t, err = d.seconds("t"); err != nil {
					return e, err
				}
			case "v":
				if e.val, err = d.number(); err != nil {
					return e, err
				}
			case "bv":
				b, err := d.boolean()
				if err != nil {
					return e, err
				}
				e.val = model.Bool(b)
			case "sv":
				s, err := d.Str()
				if err != nil {
					return e, err
				}
				e.val = model.String(string(s))
				e.isSV = true
			case "ov":
				s, err := d.Str()
				if err != nil {
					return e, err
				}
				l, err := model.ParseObjectLink(string(s))
				if err != nil {
					d.Off = at
					return e, d.errorf("entry %d: %v", idx, err)
				}
				e.val = model.Objlnk(l.Object, l.Instance)
			default:
				if err := d.Skip(); err != nil {
					return e, err
				}
			}
			d.WS()
			if d.Eat(',') {
				continue
			}
			if d.Eat('}') {
				break
			}
			if d.AtEnd() {
				return e, d.errorf("unexpected end of data in entry %d", idx)
			}
			return e, d.errorf("want ',' or '}' in entry %d, have %q", idx, d.Peek())
		}
	}
	if !hasValue {
		return e, d.errorf("entry %d has no value (v, bv, sv or ov)", idx)
	}
	return e, nil
}

// parseName parses an entry name: ids separated by slashes, relative to
// the base name, or absolute when it starts with a slash. "" and "/"
// name the base itself and the root.
func parseName(s []byte) (name, error) {
	var nm name
	if len(s) > 0 && s[0] == '/' {
		nm.abs = true
		s = s[1:]
	}
	if len(s) == 0 {
		return nm, nil
	}
	for {
		seg := s
		j := indexSlash(s)
		if j >= 0 {
			seg = s[:j]
		}
		if nm.n == 4 {
			return nm, errText("more than 4 ids")
		}
		id, err := parseID(seg)
		if err != nil {
			return nm, err
		}
		nm.ids[nm.n] = id
		nm.n++
		if j < 0 {
			return nm, nil
		}
		s = s[j+1:]
		if len(s) == 0 {
			return nm, errText("empty segment")
		}
	}
}

func indexSlash(s []byte) int {
	for i, c := range s {
		if c == '/' {
			return i
		}
	}
	return -1
}

type errText string

func (e errText) Error() string { return string(e) }

// parseID parses a decimal id 0..65534 without sign or leading zero, the
// spelling of model.ParsePath.
func parseID(s []byte) (uint16, error) {
	if len(s) == 0 {
		return 0, errText("empty segment")
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, errText("id with a leading zero")
	}
	if len(s) > 5 {
		return 0, errText("id above 65534")
	}
	v := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errText("id is not a decimal number")
		}
		v = v*10 + int(c-'0')
	}
	if v > model.MaxID {
		return 0, errText("id above 65534")
	}
	return uint16(v), nil
}

// number reads "v": an integer literal is an Integer when it fits an
// int64, an Unsigned Integer when it fits only a uint64, a Float beyond;
// a fraction or an exponent makes a Float.
func (d *decoder) number() (model.Value, error) {
	at := d.Off
	lit, isInt, err := d.Number()
	if err != nil {
		return model.Value{}, err
	}
	v, ok := jsonx.NumberValue(lit, isInt)
	if !ok {
		d.Off = at
		return model.Value{}, d.errorf("number %s is out of range", clip(lit))
	}
	return v, nil
}

// seconds reads bt or t: a number of seconds, exact to the nanosecond
// when written without an exponent (further fraction digits are
// truncated).
func (d *decoder) seconds(field string) (seconds, error) {
	at := d.Off
	lit, _, err := d.Number()
	if err != nil {
		return seconds{}, err
	}
	s, ok := parseSeconds(lit)
	if !ok {
		d.Off = at
		return seconds{}, d.errorf("%s %s is out of range", field, clip(lit))
	}
	return s, nil
}

// parseSeconds converts a valid JSON number to seconds: exactly, up to
// math.MaxInt64 whole seconds, when it has no exponent; through a
// float64, rounded to the nanosecond, when it has one.
func parseSeconds(lit []byte) (seconds, bool) {
	exp := false
	for _, c := range lit {
		if c == 'e' || c == 'E' {
			exp = true
			break
		}
	}
	var s seconds
	if !exp {
		d := jsonx.SplitNumber(lit)
		var ok bool
		s.sec, s.nsec, ok = d.Seconds(math.MaxInt64)
		return s, ok
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil || math.IsNaN(f) || f >= 9e18 || f <= -9e18 {
		return s, false
	}
	fl := math.Floor(f)
	s.sec = int64(fl)
	s.nsec = int64(math.Round((f - fl) * 1e9))
	if s.nsec >= 1e9 {
		s.sec++
		s.nsec -= 1e9
	}
	return s, true
}

// boolean reads true or false.
func (d *decoder) boolean() (bool, error) {
	if v, ok := d.Bool(); ok {
		return v, nil
	}
	return false, d.errorf(`"bv" must be true or false`)
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}
