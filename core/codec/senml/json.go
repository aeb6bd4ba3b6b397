package senml

import (
	"encoding/base64"
	"math"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"

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
	return readRecords(&jsonReader{data: data}, len(data)/16)
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
	return readPaths(&jsonReader{data: data}, len(data)/12)
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
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return b, unacceptable("%s: JSON cannot carry the float %v", r.Path, f)
		}
		return appendJSONFloat(append(b, `"v":`...), f), nil
	case model.TypeBoolean:
		if v.Bool() {
			return append(b, `"vb":true`...), nil
		}
		return append(b, `"vb":false`...), nil
	case model.TypeString, model.TypeCorelnk:
		s := v.Str()
		if !utf8.ValidString(s) {
			return b, unacceptable("%s: %s value is not valid UTF-8", r.Path, v.Type())
		}
		return appendJSONString(append(b, `"vs":`...), s), nil
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

// appendJSONFloat appends f with a fraction or an exponent, so that it
// reads back as a Float: "1.0", "0.25", "1e+21".
func appendJSONFloat(b []byte, f float64) []byte {
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(b, f, 'e', -1, 64)
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	for _, c := range b[n:] {
		if c == '.' {
			return b
		}
	}
	return append(b, '.', '0')
}

// appendJSONTime appends `,"t":<seconds>` for r's time.
func appendJSONTime(b []byte, r *model.Record) ([]byte, error) {
	sec, err := absoluteTime(r)
	if err != nil {
		return b, err
	}
	return appendSeconds(append(b, `,"t":`...), sec, r.Time.Nanosecond()), nil
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

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping '"', '\' and the
// control characters (RFC 8259 section 7). s must be valid UTF-8.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
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
	data  []byte
	off   int
	rec   int // index of the record being read
	state int // 0 before the pack, 1 inside it, 2 after it
	buf   []byte
}

func (j *jsonReader) next(f *fields) (bool, error) {
	switch j.state {
	case 0:
		j.ws()
		if !j.eat('[') {
			return false, j.syntax("a pack must be a JSON array")
		}
		j.state = 1
		j.ws()
		if j.eat(']') {
			j.state = 2
			return false, j.end()
		}
	case 2:
		return false, nil
	}
	*f = fields{}
	j.ws()
	if err := j.object(f); err != nil {
		return false, err
	}
	j.rec++
	j.ws()
	switch {
	case j.eat(','):
	case j.eat(']'):
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
	j.ws()
	if j.off < len(j.data) {
		return j.syntax("data after the pack")
	}
	return nil
}

func (j *jsonReader) ws() {
	for j.off < len(j.data) {
		switch j.data[j.off] {
		case ' ', '\t', '\n', '\r':
			j.off++
		default:
			return
		}
	}
}

// eat consumes c if it comes next.
func (j *jsonReader) eat(c byte) bool {
	if j.off < len(j.data) && j.data[j.off] == c {
		j.off++
		return true
	}
	return false
}

func (j *jsonReader) peek() byte {
	if j.off < len(j.data) {
		return j.data[j.off]
	}
	return 0
}

func (j *jsonReader) syntax(msg string) error {
	if j.off >= len(j.data) {
		return errorf("json: %s, at the end of the input", msg)
	}
	return errorf("json: %s, at offset %d", msg, j.off)
}

// object reads one record.
func (j *jsonReader) object(f *fields) error {
	if !j.eat('{') {
		return j.syntax("a record must be a JSON object")
	}
	j.ws()
	if j.eat('}') {
		return nil
	}
	for {
		key, err := j.str()
		if err != nil {
			return err
		}
		j.ws()
		if !j.eat(':') {
			return j.syntax("want ':' after a key")
		}
		j.ws()
		if err := j.field(f, key); err != nil {
			return err
		}
		j.ws()
		switch {
		case j.eat(','):
			j.ws()
		case j.eat('}'):
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
		switch {
		case j.literal("true"):
			f.v = model.Bool(true)
		case j.literal("false"):
			f.v = model.Bool(false)
		default:
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
		n, isInt := scanNumber(j.data[j.off:])
		if n == 0 || !isInt || j.data[j.off] == '-' {
			return j.typeError(key, "a non-negative integer")
		}
		v, ok := parseUint(j.data[j.off : j.off+n])
		if !ok {
			v = math.MaxUint64
		}
		j.off += n
		f.version = v
	default:
		if len(key) > 0 && key[len(key)-1] == '_' {
			return errorf("record %d: label %q must be understood", j.rec, key)
		}
		return j.skip(0)
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

// literal consumes the literal s if it comes next.
func (j *jsonReader) literal(s string) bool {
	if len(j.data)-j.off >= len(s) && string(j.data[j.off:j.off+len(s)]) == s {
		j.off += len(s)
		return true
	}
	return false
}

// text reads the string value of key.
func (j *jsonReader) text(key []byte) ([]byte, error) {
	if j.peek() != '"' {
		return nil, j.typeError(key, "a string")
	}
	return j.str()
}

// number reads the numeric value of key as a Value.
func (j *jsonReader) number(key []byte) (model.Value, error) {
	n, isInt := scanNumber(j.data[j.off:])
	if n == 0 {
		return model.Value{}, j.typeError(key, "a number")
	}
	b := j.data[j.off : j.off+n]
	j.off += n
	v, ok := numberValue(b, isInt)
	if !ok {
		return model.Value{}, errorf("record %d: %q is out of range", j.rec, key)
	}
	return v, nil
}

// seconds reads the numeric value of key as exact seconds.
func (j *jsonReader) seconds(key []byte) (seconds, error) {
	n, _ := scanNumber(j.data[j.off:])
	if n == 0 {
		return seconds{}, j.typeError(key, "a number")
	}
	d := splitNumber(j.data[j.off : j.off+n])
	j.off += n
	s, ok := d.seconds()
	if !ok {
		return seconds{}, errorf("record %d: %q is out of range", j.rec, key)
	}
	return s, nil
}

// str reads a JSON string, returning its content: a slice of the input
// when it has no escape, a new slice otherwise. The content must be valid
// UTF-8.
func (j *jsonReader) str() ([]byte, error) {
	if !j.eat('"') {
		return nil, j.syntax("want a string")
	}
	start := j.off
	for i := start; i < len(j.data); i++ {
		switch c := j.data[i]; {
		case c == '"':
			s := j.data[start:i:i]
			j.off = i + 1
			if !utf8.Valid(s) {
				return nil, j.syntax("string is not valid UTF-8")
			}
			return s, nil
		case c == '\\':
			return j.strEscaped(start, i)
		case c < 0x20:
			j.off = i
			return nil, j.syntax("control character in a string")
		}
	}
	j.off = len(j.data)
	return nil, j.syntax("unterminated string")
}

// strEscaped decodes a string with escapes; data[start:i] has none.
func (j *jsonReader) strEscaped(start, i int) ([]byte, error) {
	out := make([]byte, 0, i-start+16)
	out = append(out, j.data[start:i]...)
	for i < len(j.data) {
		c := j.data[i]
		switch {
		case c == '"':
			j.off = i + 1
			if !utf8.Valid(out) {
				return nil, j.syntax("string is not valid UTF-8")
			}
			return out, nil
		case c < 0x20:
			j.off = i
			return nil, j.syntax("control character in a string")
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(j.data) {
			break
		}
		j.off = i
		switch e := j.data[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(j.data[i+2:])
			if !ok {
				return nil, j.syntax("bad \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				r2, ok := rune(0), false
				if i+7 < len(j.data) && j.data[i+2] == '\\' && j.data[i+3] == 'u' {
					r2, ok = hex4(j.data[i+4:])
				}
				r = utf16.DecodeRune(r, r2)
				if !ok || r == utf8.RuneError {
					return nil, j.syntax("lone surrogate in a \\u escape")
				}
				i += 6
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, j.syntax("bad escape in a string")
		}
		i += 2
	}
	j.off = len(j.data)
	return nil, j.syntax("unterminated string")
}

// hex4 reads four hexadecimal digits.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// maxDepth bounds the nesting of values skipped under unknown labels.
const maxDepth = 32

// skip reads and discards one JSON value.
func (j *jsonReader) skip(depth int) error {
	if depth > maxDepth {
		return j.syntax("values nest too deeply")
	}
	switch c := j.peek(); {
	case c == '"':
		_, err := j.str()
		return err
	case c == '-' || isDigit(c):
		n, _ := scanNumber(j.data[j.off:])
		if n == 0 {
			return j.syntax("bad number")
		}
		j.off += n
		return nil
	case c == 't' || c == 'f' || c == 'n':
		if j.literal("true") || j.literal("false") || j.literal("null") {
			return nil
		}
	case c == '[':
		j.off++
		j.ws()
		if j.eat(']') {
			return nil
		}
		for {
			if err := j.skip(depth + 1); err != nil {
				return err
			}
			j.ws()
			if j.eat(']') {
				return nil
			}
			if !j.eat(',') {
				return j.syntax("want ',' or ']' in an array")
			}
			j.ws()
		}
	case c == '{':
		j.off++
		j.ws()
		if j.eat('}') {
			return nil
		}
		for {
			if _, err := j.str(); err != nil {
				return err
			}
			j.ws()
			if !j.eat(':') {
				return j.syntax("want ':' after a key")
			}
			j.ws()
			if err := j.skip(depth + 1); err != nil {
				return err
			}
			j.ws()
			if j.eat('}') {
				return nil
			}
			if !j.eat(',') {
				return j.syntax("want ',' or '}' in an object")
			}
			j.ws()
		}
	}
	return j.syntax("want a JSON value")
}

// objlnk parses a "vlo" value, "object:instance".
func objlnk(s []byte, rec int) (model.Value, error) {
	l, err := model.ParseObjectLink(string(s))
	if err != nil {
		return model.Value{}, errorf("record %d: \"vlo\": %v", rec, err)
	}
	return model.Objlnk(l.Object, l.Instance), nil
}
