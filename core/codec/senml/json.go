package senml

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"

	"github.com/wasm2m/wasm2m/core/internal/jsonx"
	"github.com/wasm2m/wasm2m/core/model"
)

// EncodeJSON appends to dst the SenML JSON encoding of node n, which lives
// at path p: the response to a Read or the body of a Write of p. The first
// record carries p in "bn" (with a trailing "/") and every record its path
// below p in "n" (Core 1.1 Table 7.4.4-2); a single resource or resource
// instance at p itself is the one record [{"bn":"<p>",<value>}] (Table
// 7.4.4-5). Executable resources inside n are left out; an executable
// resource at p itself is a 4.06 error, as are NaN and infinite floats,
// which JSON cannot carry, and strings that are not valid UTF-8.
func EncodeJSON(dst []byte, p model.Path, n *model.Node) ([]byte, error) {
	var buf [32]model.Record
	recs, single, err := flatten(buf[:0], p, n)
	if err != nil {
		return dst, err
	}
	b := append(dst, '[')
	for i := range recs {
		r := &recs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		if i == 0 {
			b = append(b, `"bn":"`...)
			b = appendPath(b, p)
			if !single {
				b = append(b, '/')
			}
			b = append(b, `",`...)
		}
		if !single {
			b = append(b, `"n":"`...)
			b = appendRelative(b, r.Path, p)
			b = append(b, `",`...)
		}
		if b, err = appendJSONValue(b, r); err != nil {
			return dst, err
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// DecodeJSON decodes the SenML JSON payload of a Read response or a Write
// request into the node at path p (ParseJSONRecords, then model.Build with
// defs, which may be nil). Records must lie at or below p; their times are
// ignored.
func DecodeJSON(data []byte, p model.Path, defs model.Definitions) (model.Node, error) {
	recs, err := ParseJSONRecords(data)
	return decodeNode(recs, err, p, defs)
}

// AppendJSONRecords appends to dst the SenML JSON pack of recs, in their
// order, each record naming its full path in "n" (Core 1.1 Tables 7.4.4-7
// and 7.4.4-8) and, when its Time is not zero, its absolute time in "t".
// Records must be at resource or resource instance level and carry a
// value.
func AppendJSONRecords(dst []byte, recs []model.Record) ([]byte, error) {
	b := append(dst, '[')
	var err error
	for i := range recs {
		r := &recs[i]
		if err := checkRecord(r); err != nil {
			return dst, err
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"n":"`...)
		b = appendPath(b, r.Path)
		b = append(b, `",`...)
		if b, err = appendJSONValue(b, r); err != nil {
			return dst, err
		}
		if !r.Time.IsZero() {
			if b, err = appendJSONTime(b, r); err != nil {
				return dst, err
			}
		}
		b = append(b, '}')
	}
	return append(b, ']'), nil
}

// ParseJSONRecords decodes a SenML JSON pack of value records: a
// Read-Composite response, a Write-Composite request, a Send or a
// (timestamped) notification. Each record names a resource or resource
// instance and carries exactly one value; see the package documentation
// for names, values and times. Records keep the order of the pack.
func ParseJSONRecords(data []byte) ([]model.Record, error) {
	return readRecords(&jsonReader{Lexer: jsonx.Lexer{Data: data}}, len(data)/16)
}

// AppendJSONPaths appends to dst the SenML JSON path list of paths, the
// body of a Read-Composite or Observe-Composite request: one record per
// path with its full path in "n" (Core 1.1 Table 7.4.4-6).
func AppendJSONPaths(dst []byte, paths []model.Path) ([]byte, error) {
	b := append(dst, '[')
	for i, p := range paths {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"n":"`...)
		b = appendPath(b, p)
		b = append(b, `"}`...)
	}
	return append(b, ']'), nil
}

// ParseJSONPaths decodes a SenML JSON path list: records with a name (of
// any level, "/" included) and no value. Times and units are allowed and
// ignored.
func ParseJSONPaths(data []byte) ([]model.Path, error) {
	return readPaths(&jsonReader{Lexer: jsonx.Lexer{Data: data}}, len(data)/12)
}

// appendJSONValue appends the value field of r: `"v":1`, `"vs":"x"`...
func appendJSONValue(b []byte, r *model.Record) ([]byte, error) {
	v := r.Value
	switch v.Type() {
	case model.TypeInteger, model.TypeTime:
		return strconv.AppendInt(append(b, `"v":`...), v.Int(), 10), nil
	case model.TypeUnsigned:
		return strconv.AppendUint(append(b, `"v":`...), v.Uint(), 10), nil
	case model.TypeFloat:
		b, ok := jsonx.AppendFloat(append(b, `"v":`...), v.Float())
		if !ok {
			return b, unacceptable("%s: JSON cannot carry the float %v", r.Path, v.Float())
		}
		return b, nil
	case model.TypeBoolean:
		if v.Bool() {
			return append(b, `"vb":true`...), nil
		}
		return append(b, `"vb":false`...), nil
	case model.TypeString, model.TypeCorelnk:
		b, ok := jsonx.AppendString(append(b, `"vs":`...), v.Str())
		if !ok {
			return b, unacceptable("%s: %s value is not valid UTF-8", r.Path, v.Type())
		}
		return b, nil
	case model.TypeOpaque:
		b = appendBase64(append(b, `"vd":"`...), v.Str())
		return append(b, '"'), nil
	case model.TypeObjlnk:
		l := v.Objlnk()
		b = strconv.AppendUint(append(b, `"vlo":"`...), uint64(l.Object), 10)
		b = strconv.AppendUint(append(b, ':'), uint64(l.Instance), 10)
		return append(b, '"'), nil
	}
	return b, unacceptable("%s has no value", r.Path)
}

// appendJSONTime appends `,"t":<seconds>` for r's time.
func appendJSONTime(b []byte, r *model.Record) ([]byte, error) {
	sec, err := absoluteTime(r)
	if err != nil {
		return b, err
	}
	return jsonx.AppendSeconds(append(b, `,"t":`...), sec, int64(r.Time.Nanosecond())), nil
}

// absoluteTime returns the whole seconds of r's time, refusing a time that
// SenML would read as relative (RFC 8428 section 4.5.3) or that lies
// beyond 2^53 seconds.
func absoluteTime(r *model.Record) (int64, error) {
	sec := r.Time.Unix()
	if sec < relativeLimit || sec >= maxSeconds {
		return 0, unacceptable("%s: time %s cannot be written as an absolute SenML time",
			r.Path, r.Time.UTC().Format(time.RFC3339Nano))
	}
	return sec, nil
}

// appendBase64 appends s in base64url without padding (RFC 8428 section
// 5), in chunks so that no copy of s is allocated.
func appendBase64(b []byte, s string) []byte {
	var chunk [48]byte // a multiple of 3: chunks encode as the whole does
	for len(s) > 0 {
		n := copy(chunk[:], s)
		b = base64.RawURLEncoding.AppendEncode(b, chunk[:n])
		s = s[n:]
	}
	return b
}

// decodeBase64 decodes a "vd" value into dst: base64url as RFC 8428
// section 5 says, also accepting padding and the standard alphabet.
func decodeBase64(dst, s []byte) ([]byte, bool) {
	for i := 0; i < 2 && len(s) > 0 && s[len(s)-1] == '='; i++ {
		s = s[:len(s)-1]
	}
	enc := base64.RawURLEncoding
	for _, c := range s {
		if c == '+' || c == '/' {
			enc = base64.RawStdEncoding
			break
		}
	}
	n := enc.DecodedLen(len(s))
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	n, err := enc.Decode(dst[:n], s)
	return dst[:n], err == nil
}

// jsonReader reads the records of a SenML JSON pack (RFC 8428 section 5):
// an array of objects.
type jsonReader struct {
	jsonx.Lexer
	rec   int // index of the record being read
	state int // 0 before the pack, 1 inside it, 2 after it
	buf   []byte
}

func (j *jsonReader) next(f *fields) (bool, error) {
	switch j.state {
	case 0:
		j.WS()
		if !j.Eat('[') {
			return false, j.syntax("a pack must be a JSON array")
		}
		j.state = 1
		j.WS()
		if j.Eat(']') {
			j.state = 2
			return false, j.end()
		}
	case 2:
		return false, nil
	}
	*f = fields{}
	j.WS()
	if err := j.object(f); err != nil {
		return false, j.lexError(err)
	}
	j.rec++
	j.WS()
	switch {
	case j.Eat(','):
	case j.Eat(']'):
		j.state = 2
		if err := j.end(); err != nil {
			return false, err
		}
	default:
		return false, j.syntax("want ',' or ']' after a record")
	}
	return true, nil
}

// end checks that only white space follows the pack.
func (j *jsonReader) end() error {
	j.WS()
	if !j.AtEnd() {
		return j.syntax("data after the pack")
	}
	return nil
}

// syntax returns the 4.00 error for the syntax problem msg at the current
// offset.
func (j *jsonReader) syntax(msg string) error {
	return syntaxAt(msg, j.Off, len(j.Data))
}

// lexError rewrites an error of the JSON lexer as an error of this
// package, once, where next returns it; the methods below return the
// lexer's errors as they are.
func (j *jsonReader) lexError(err error) error {
	if e, ok := err.(*jsonx.Error); ok {
		return syntaxAt(e.Msg, e.Offset, len(j.Data))
	}
	return err
}

// syntaxAt returns the 4.00 error for the syntax problem msg at offset off
// of an input of size bytes.
func syntaxAt(msg string, off, size int) error {
	if off >= size {
		return errorf("json: %s, at the end of the input", msg)
	}
	return errorf("json: %s, at offset %d", msg, off)
}

// object reads one record.
func (j *jsonReader) object(f *fields) error {
	if !j.Eat('{') {
		return j.syntax("a record must be a JSON object")
	}
	j.WS()
	if j.Eat('}') {
		return nil
	}
	for {
		key, err := j.Str()
		if err != nil {
			return err
		}
		j.WS()
		if !j.Eat(':') {
			return j.syntax("want ':' after a key")
		}
		j.WS()
		if err := j.field(f, key); err != nil {
			return err
		}
		j.WS()
		switch {
		case j.Eat(','):
			j.WS()
		case j.Eat('}'):
			return nil
		default:
			return j.syntax("want ',' or '}' in a record")
		}
	}
}

// field reads the value of key into f.
func (j *jsonReader) field(f *fields, key []byte) error {
	var (
		bit uint32
		err error
	)
	switch string(key) {
	case "bn":
		bit = fBaseName
		f.bn, err = j.text(key)
	case "n":
		bit = fName
		f.n, err = j.text(key)
	case "bu", "u":
		bit = fBaseUnit
		if key[0] == 'u' {
			bit = fUnit
		}
		_, err = j.text(key)
	case "bt":
		bit = fBaseTime
		f.bt, err = j.seconds(key)
	case "t":
		bit = fTime
		f.t, err = j.seconds(key)
	case "ut":
		bit = fUpdateTime
		_, err = j.seconds(key)
	case "bv":
		bit = fBaseValue
		f.bv, err = j.number(key)
	case "v":
		bit = fValue
		f.v, err = j.number(key)
	case "s", "bs":
		bit = fSum
		if key[0] == 'b' {
			bit = fBaseSum
		}
		_, err = j.number(key)
	case "vs":
		bit = fString
		var s []byte
		if s, err = j.text(key); err == nil {
			f.v = model.String(string(s))
		}
	case "vb":
		bit = fBool
		if b, ok := j.Bool(); ok {
			f.v = model.Bool(b)
		} else {
			err = j.typeError(key, "a boolean")
		}
	case "vd":
		bit = fData
		var s []byte
		if s, err = j.text(key); err == nil {
			var ok bool
			if j.buf, ok = decodeBase64(j.buf[:0], s); !ok {
				err = errorf("record %d: \"vd\" is not base64url", j.rec)
			} else {
				f.v = model.Opaque(j.buf)
			}
		}
	case "vlo":
		bit = fObjlnk
		var s []byte
		if s, err = j.text(key); err == nil {
			f.v, err = objlnk(s, j.rec)
		}
	case "bver":
		bit = fBaseVersion
		if j.Peek() == '-' {
			return j.typeError(key, "a non-negative integer")
		}
		lit, isInt, lexErr := j.Number()
		if lexErr != nil || !isInt {
			return j.typeError(key, "a non-negative integer")
		}
		v, ok := jsonx.ParseUint(lit)
		if !ok {
			v = math.MaxUint64
		}
		f.version = v
	default:
		if len(key) > 0 && key[len(key)-1] == '_' {
			return errorf("record %d: label %q must be understood", j.rec, key)
		}
		return j.Skip()
	}
	if err != nil {
		return err
	}
	if !f.mark(bit) {
		return errorf("record %d: label %q given twice", j.rec, key)
	}
	return nil
}

func (j *jsonReader) typeError(key []byte, want string) error {
	return errorf("record %d: %q must be %s", j.rec, key, want)
}

// text reads the string value of key.
func (j *jsonReader) text(key []byte) ([]byte, error) {
	if j.Peek() != '"' {
		return nil, j.typeError(key, "a string")
	}
	return j.Str()
}

// number reads the numeric value of key as a Value.
func (j *jsonReader) number(key []byte) (model.Value, error) {
	lit, isInt, err := j.Number()
	if err != nil {
		return model.Value{}, j.typeError(key, "a number")
	}
	v, ok := jsonx.NumberValue(lit, isInt)
	if !ok {
		return model.Value{}, errorf("record %d: %q is out of range", j.rec, key)
	}
	return v, nil
}

// seconds reads the numeric value of key as exact seconds.
func (j *jsonReader) seconds(key []byte) (seconds, error) {
	lit, _, err := j.Number()
	if err != nil {
		return seconds{}, j.typeError(key, "a number")
	}
	d := jsonx.SplitNumber(lit)
	s, ok := decimalSeconds(&d)
	if !ok {
		return seconds{}, errorf("record %d: %q is out of range", j.rec, key)
	}
	return s, nil
}

// objlnk parses a "vlo" value, "object:instance".
func objlnk(s []byte, rec int) (model.Value, error) {
	l, err := model.ParseObjectLink(string(s))
	if err != nil {
		return model.Value{}, errorf("record %d: \"vlo\": %v", rec, err)
	}
	return model.Objlnk(l.Object, l.Instance), nil
}
