package senml

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/wasm2m/wasm2m/core/internal/cbor"
	"github.com/wasm2m/wasm2m/core/internal/jsonx"
	"github.com/wasm2m/wasm2m/core/model"
)

// SenML CBOR labels (RFC 8428 section 6, Table 6). Objlnk's "vlo" is a
// text label (Core 1.1 section 7.4.5).
const (
	labelBaseVersion = -1
	labelBaseName    = -2
	labelBaseTime    = -3
	labelBaseUnit    = -4
	labelBaseValue   = -5
	labelBaseSum     = -6
	labelName        = 0
	labelUnit        = 1
	labelValue       = 2
	labelString      = 3
	labelBool        = 4
	labelSum         = 5
	labelTime        = 6
	labelUpdateTime  = 7
	labelData        = 8
	labelObjlnk      = "vlo"
)

// intLabels maps the integer labels, offset by 6, to field bits.
var intLabels = [...]uint32{
	labelBaseSum + 6:     fBaseSum,
	labelBaseValue + 6:   fBaseValue,
	labelBaseUnit + 6:    fBaseUnit,
	labelBaseTime + 6:    fBaseTime,
	labelBaseName + 6:    fBaseName,
	labelBaseVersion + 6: fBaseVersion,
	labelName + 6:        fName,
	labelUnit + 6:        fUnit,
	labelValue + 6:       fValue,
	labelString + 6:      fString,
	labelBool + 6:        fBool,
	labelSum + 6:         fSum,
	labelTime + 6:        fTime,
	labelUpdateTime + 6:  fUpdateTime,
	labelData + 6:        fData,
}

// EncodeCBOR appends to dst the SenML CBOR encoding of node n, which lives
// at path p: the records EncodeJSON writes, as maps with the integer
// labels of RFC 8428 Table 6 in the order of Core 1.1 section 7.4.5's
// example (bn, n, value). Floats are written in the shortest width that
// holds them exactly; NaN and infinities are allowed.
func EncodeCBOR(dst []byte, p model.Path, n *model.Node) ([]byte, error) {
	var buf [32]model.Record
	recs, single, err := flatten(buf[:0], p, n)
	if err != nil {
		return dst, err
	}
	b := cbor.AppendArray(dst, len(recs))
	for i := range recs {
		r := &recs[i]
		pairs := 2
		if i == 0 && !single {
			pairs = 3
		}
		b = cbor.AppendMap(b, pairs)
		if i == 0 {
			var name [32]byte
			bn := appendPath(name[:0], p)
			if !single {
				bn = append(bn, '/')
			}
			b = appendTextBytes(cbor.AppendInt(b, labelBaseName), bn)
		}
		if !single {
			var name [32]byte
			b = appendTextBytes(cbor.AppendInt(b, labelName), appendRelative(name[:0], r.Path, p))
		}
		if b, err = appendCBORValue(b, r); err != nil {
			return dst, err
		}
	}
	return b, nil
}

// DecodeCBOR decodes the SenML CBOR payload of a Read response or a Write
// request into the node at path p (ParseCBORRecords, then model.Build with
// defs, which may be nil). Records must lie at or below p; their times are
// ignored.
func DecodeCBOR(data []byte, p model.Path, defs model.Definitions) (model.Node, error) {
	recs, err := ParseCBORRecords(data)
	return decodeNode(recs, err, p, defs)
}

// AppendCBORRecords appends to dst the SenML CBOR pack of recs, in their
// order: one map per record with its full path under label 0 (n), its
// value and, when its Time is not zero, its absolute time under label 6
// (t), an integer when whole and a float otherwise.
func AppendCBORRecords(dst []byte, recs []model.Record) ([]byte, error) {
	b := cbor.AppendArray(dst, len(recs))
	var err error
	for i := range recs {
		r := &recs[i]
		if err := checkRecord(r); err != nil {
			return dst, err
		}
		pairs := 2
		if !r.Time.IsZero() {
			pairs = 3
		}
		var name [32]byte
		b = appendTextBytes(cbor.AppendInt(cbor.AppendMap(b, pairs), labelName), appendPath(name[:0], r.Path))
		if b, err = appendCBORValue(b, r); err != nil {
			return dst, err
		}
		if pairs == 3 {
			if b, err = appendCBORTime(b, r); err != nil {
				return dst, err
			}
		}
	}
	return b, nil
}

// ParseCBORRecords decodes a SenML CBOR pack of value records, as
// ParseJSONRecords does for JSON.
func ParseCBORRecords(data []byte) ([]model.Record, error) {
	c, hint, err := newCBORReader(data)
	if err != nil {
		return nil, err
	}
	return readRecords(c, hint)
}

// AppendCBORPaths appends to dst the SenML CBOR path list of paths: one
// map per path holding its full path under label 0 (n).
func AppendCBORPaths(dst []byte, paths []model.Path) ([]byte, error) {
	b := cbor.AppendArray(dst, len(paths))
	for _, p := range paths {
		var name [32]byte
		b = appendTextBytes(cbor.AppendInt(cbor.AppendMap(b, 1), labelName), appendPath(name[:0], p))
	}
	return b, nil
}

// ParseCBORPaths decodes a SenML CBOR path list, as ParseJSONPaths does
// for JSON.
func ParseCBORPaths(data []byte) ([]model.Path, error) {
	c, hint, err := newCBORReader(data)
	if err != nil {
		return nil, err
	}
	return readPaths(c, hint)
}

// appendTextBytes appends a CBOR text string holding s. Package cbor's
// AppendText takes a string; rather than convert, this writes the head as
// an unsigned integer and turns its major type into text's (3).
func appendTextBytes(b, s []byte) []byte {
	n := len(b)
	b = cbor.AppendUint(b, uint64(len(s)))
	b[n] |= cbor.MajorText << 5
	return append(b, s...)
}

// appendCBORValue appends the label and value of r.
func appendCBORValue(b []byte, r *model.Record) ([]byte, error) {
	v := r.Value
	switch v.Type() {
	case model.TypeInteger, model.TypeTime:
		return cbor.AppendInt(cbor.AppendInt(b, labelValue), v.Int()), nil
	case model.TypeUnsigned:
		return cbor.AppendUint(cbor.AppendInt(b, labelValue), v.Uint()), nil
	case model.TypeFloat:
		return cbor.AppendFloat(cbor.AppendInt(b, labelValue), v.Float()), nil
	case model.TypeBoolean:
		return cbor.AppendBool(cbor.AppendInt(b, labelBool), v.Bool()), nil
	case model.TypeString, model.TypeCorelnk:
		s := v.Str()
		if !utf8.ValidString(s) {
			return b, unacceptable("%s: %s value is not valid UTF-8", r.Path, v.Type())
		}
		return cbor.AppendText(cbor.AppendInt(b, labelString), s), nil
	case model.TypeOpaque:
		return cbor.AppendBytesString(cbor.AppendInt(b, labelData), v.Str()), nil
	case model.TypeObjlnk:
		l := v.Objlnk()
		var text [11]byte
		t := strconv.AppendUint(text[:0], uint64(l.Object), 10)
		t = strconv.AppendUint(append(t, ':'), uint64(l.Instance), 10)
		return appendTextBytes(cbor.AppendText(b, labelObjlnk), t), nil
	}
	return b, unacceptable("%s has no value", r.Path)
}

// appendCBORTime appends label 6 and r's absolute time.
func appendCBORTime(b []byte, r *model.Record) ([]byte, error) {
	sec, err := absoluteTime(r)
	if err != nil {
		return b, err
	}
	b = cbor.AppendInt(b, labelTime)
	nsec := r.Time.Nanosecond()
	if nsec == 0 {
		return cbor.AppendInt(b, sec), nil
	}
	// The float nearest the exact decimal, not sec + nsec/1e9 rounded
	// twice.
	var text [32]byte
	f, _ := strconv.ParseFloat(string(jsonx.AppendSeconds(text[:0], sec, int64(nsec))), 64)
	return cbor.AppendFloat(b, f), nil
}

// cborReader reads the records of a SenML CBOR pack (RFC 8428 section 6):
// an array, definite or not, of maps.
type cborReader struct {
	r     *cbor.Reader
	indef bool   // indefinite-length pack
	left  uint64 // records left in a definite-length pack
	done  bool
	rec   int // index of the record being read
	text  [64]byte
}

// newCBORReader reads the head of a pack and returns a first capacity for
// its records: the count a definite-length pack announces, but no more
// than one record per 3 bytes, the smallest a record takes.
func newCBORReader(data []byte) (*cborReader, int, error) {
	c := &cborReader{r: cbor.NewReader(data)}
	it, err := c.r.Next()
	if err != nil {
		return nil, 0, errorf("%v", err)
	}
	if it.Type != cbor.Array {
		return nil, 0, errorf("cbor: a pack must be an array, not a %s", it.Type)
	}
	c.indef, c.left = it.Indefinite, it.Uint
	if c.indef {
		return c, 0, nil
	}
	return c, int(min(c.left, uint64(len(data)/3))), nil
}

// malformed reports an error of package cbor, which starts "cbor: ".
func (c *cborReader) malformed(err error) error {
	return errorf("record %d: %v", c.rec, err)
}

func (c *cborReader) next(f *fields) (bool, error) {
	if c.done {
		return false, nil
	}
	if c.indef && c.r.PeekBreak() || !c.indef && c.left == 0 {
		c.done = true
		if !c.r.Done() {
			return false, errorf("cbor: %d bytes after the pack", c.r.Len())
		}
		return false, nil
	}
	if !c.indef {
		c.left--
	}
	*f = fields{}
	if err := c.record(f); err != nil {
		return false, err
	}
	c.rec++
	return true, nil
}

// record reads one record map.
func (c *cborReader) record(f *fields) error {
	it, err := c.r.Next()
	if err != nil {
		return c.malformed(err)
	}
	if it.Type != cbor.Map {
		return errorf("record %d: a record must be a map, not a %s", c.rec, it.Type)
	}
	for k := uint64(0); it.Indefinite || k < it.Uint; k++ {
		if it.Indefinite && c.r.PeekBreak() {
			break
		}
		key, err := c.r.Next()
		if err != nil {
			return c.malformed(err)
		}
		var bit uint32
		switch key.Type {
		case cbor.Uint, cbor.Negint:
			if l, ok := key.Int(); ok && l >= -6 && l <= 8 {
				bit = intLabels[l+6]
			}
		case cbor.Text:
			switch {
			case string(key.Str) == labelObjlnk:
				bit = fObjlnk
			case len(key.Str) > 0 && key.Str[len(key.Str)-1] == '_':
				return errorf("record %d: label %q must be understood", c.rec, key.Str)
			}
		default:
			return errorf("record %d: a label must be an integer or a text string, not a %s", c.rec, key.Type)
		}
		if bit == 0 {
			if err := c.r.Skip(); err != nil {
				return c.malformed(err)
			}
			continue
		}
		if err := c.field(f, bit); err != nil {
			return err
		}
		if !f.mark(bit) {
			return errorf("record %d: label %q given twice", c.rec, labelNames[bit])
		}
	}
	return nil
}

// field reads the value of the field bit into f.
func (c *cborReader) field(f *fields, bit uint32) error {
	var err error
	switch bit {
	case fBaseName:
		f.bn, err = c.textValue(bit)
	case fName:
		f.n, err = c.textValue(bit)
	case fBaseUnit, fUnit:
		_, err = c.textValue(bit)
	case fBaseTime:
		f.bt, err = c.seconds(bit)
	case fTime:
		f.t, err = c.seconds(bit)
	case fUpdateTime:
		_, err = c.seconds(bit)
	case fBaseValue:
		f.bv, err = c.number(bit)
	case fValue:
		f.v, err = c.number(bit)
	case fSum, fBaseSum:
		_, err = c.number(bit)
	case fString:
		var s []byte
		if s, err = c.textValue(bit); err == nil {
			f.v = model.String(string(s))
		}
	case fObjlnk:
		var s []byte
		if s, err = c.textValue(bit); err == nil {
			f.v, err = objlnk(s, c.rec)
		}
	case fBool:
		var it cbor.Item
		if it, err = c.item(bit, cbor.Bool); err == nil {
			f.v = model.Bool(it.Bool)
		}
	case fData:
		var it cbor.Item
		if it, err = c.item(bit, cbor.Bytes); err == nil {
			f.v = model.Opaque(it.Str)
		}
	case fBaseVersion:
		var it cbor.Item
		if it, err = c.item(bit, cbor.Uint); err == nil {
			f.version = it.Uint
		}
	}
	return err
}

// item reads the next item, which must be of type t.
func (c *cborReader) item(bit uint32, t cbor.Type) (cbor.Item, error) {
	it, err := c.r.Next()
	if err != nil {
		return it, c.malformed(err)
	}
	if it.Type != t {
		return it, c.typeError(bit, it, t.String())
	}
	return it, nil
}

func (c *cborReader) typeError(bit uint32, it cbor.Item, want string) error {
	return errorf("record %d: %q must be a %s, not a %s", c.rec, labelNames[bit], want, it.Type)
}

func (c *cborReader) textValue(bit uint32) ([]byte, error) {
	it, err := c.item(bit, cbor.Text)
	return it.Str, err
}

// number reads a numeric value: an integer (Integer, Unsigned Integer, or
// Float below -2^63), a float, or a decimal fraction (tag 4, a Float).
func (c *cborReader) number(bit uint32) (model.Value, error) {
	it, err := c.r.Next()
	if err != nil {
		return model.Value{}, c.malformed(err)
	}
	switch it.Type {
	case cbor.Uint:
		if it.Uint <= math.MaxInt64 {
			return model.Int(int64(it.Uint)), nil
		}
		return model.Uint(it.Uint), nil
	case cbor.Negint:
		if i, ok := it.Int(); ok {
			return model.Int(i), nil
		}
		return model.Float(-1 - float64(it.Uint)), nil
	case cbor.Float:
		if math.IsNaN(it.Float) {
			return model.Float(math.NaN()), nil
		}
		return model.Float(it.Float), nil
	case cbor.Tag:
		text, err := c.decimalFraction(bit, it)
		if err != nil {
			return model.Value{}, err
		}
		f, err := strconv.ParseFloat(string(text), 64)
		if err != nil {
			return model.Value{}, errorf("record %d: %q is out of range", c.rec, labelNames[bit])
		}
		return model.Float(f), nil
	}
	return model.Value{}, c.typeError(bit, it, "number")
}

// seconds reads a time: an integer, a float or a decimal fraction.
func (c *cborReader) seconds(bit uint32) (seconds, error) {
	it, err := c.r.Next()
	if err != nil {
		return seconds{}, c.malformed(err)
	}
	var (
		s  seconds
		ok bool
	)
	switch it.Type {
	case cbor.Uint:
		s, ok = seconds{sec: int64(it.Uint)}, it.Uint < maxSeconds
	case cbor.Negint:
		s, ok = seconds{sec: -1 - int64(it.Uint)}, it.Uint < maxSeconds
	case cbor.Float:
		s, ok = floatSeconds(it.Float)
	case cbor.Tag:
		text, err := c.decimalFraction(bit, it)
		if err != nil {
			return seconds{}, err
		}
		d := jsonx.SplitNumber(text)
		s, ok = decimalSeconds(&d)
	default:
		return seconds{}, c.typeError(bit, it, "number")
	}
	if !ok {
		return seconds{}, errorf("record %d: %q is out of range", c.rec, labelNames[bit])
	}
	return s, nil
}

// decimalFraction reads the content of tag 4 (RFC 8949 section 3.4.4),
// [exponent, mantissa] with integers for both, and returns it as the
// text of a JSON number ("-12345e-3").
func (c *cborReader) decimalFraction(bit uint32, tag cbor.Item) ([]byte, error) {
	if tag.Uint != 4 {
		return nil, errorf("record %d: %q has tag %d, not a number", c.rec, labelNames[bit], tag.Uint)
	}
	arr, err := c.r.Next()
	if err != nil {
		return nil, c.malformed(err)
	}
	if arr.Type != cbor.Array || !arr.Indefinite && arr.Uint != 2 {
		return nil, errorf("record %d: %q: a decimal fraction is an array of two integers", c.rec, labelNames[bit])
	}
	var parts [2]cbor.Item
	for i := range parts {
		if parts[i], err = c.r.Next(); err != nil {
			return nil, c.malformed(err)
		}
	}
	if arr.Indefinite && !c.r.PeekBreak() {
		return nil, errorf("record %d: %q: a decimal fraction is an array of two integers", c.rec, labelNames[bit])
	}
	exp, ok := parts[0].Int()
	man := parts[1]
	if !ok || man.Type != cbor.Uint && man.Type != cbor.Negint || man.Type == cbor.Negint && man.Uint == math.MaxUint64 {
		return nil, errorf("record %d: %q: a decimal fraction is an array of two 64-bit integers", c.rec, labelNames[bit])
	}
	t := c.text[:0]
	if man.Type == cbor.Negint {
		t = append(t, '-')
		man.Uint++
	}
	t = strconv.AppendUint(t, man.Uint, 10)
	t = strconv.AppendInt(append(t, 'e'), exp, 10)
	return t, nil
}
