// Package cbor is the small subset of CBOR (RFC 8949) that LwM2M's content
// formats need: append-style encoders for every major type, and a Reader
// that walks untrusted bytes one data item at a time without allocating
// more than the input it was given. It serves the CBOR (60), SenML CBOR
// (112) and LwM2M CBOR (11544) codecs.
//
// It depends on the standard library only.
package cbor

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// Major types (RFC 8949 section 3.1).
const (
	MajorUint   = 0
	MajorNegint = 1
	MajorBytes  = 2
	MajorText   = 3
	MajorArray  = 4
	MajorMap    = 5
	MajorTag    = 6
	MajorSimple = 7
)

// Tags used by LwM2M (RFC 8949 section 3.4).
const (
	TagEpochTime = 1 // numeric date/time, seconds since the epoch
)

func appendHead(b []byte, major byte, v uint64) []byte {
	m := major << 5
	switch {
	case v < 24:
		return append(b, m|byte(v))
	case v <= math.MaxUint8:
		return append(b, m|24, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), v)
}

// AppendUint appends an unsigned integer.
func AppendUint(b []byte, v uint64) []byte { return appendHead(b, MajorUint, v) }

// AppendInt appends a signed integer: major type 0 when v >= 0, 1 otherwise.
func AppendInt(b []byte, v int64) []byte {
	if v >= 0 {
		return appendHead(b, MajorUint, uint64(v))
	}
	return appendHead(b, MajorNegint, uint64(-1-v))
}

// AppendFloat appends f in the shortest of half, single and double
// precision that holds it exactly (RFC 8949 section 4.2.2 preferred
// serialization). NaN is written as the canonical half-precision NaN.
func AppendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) {
		return append(b, 0xf9, 0x7e, 0x00)
	}
	if f32 := float32(f); float64(f32) == f {
		if h, ok := toHalf(f32); ok {
			return binary.BigEndian.AppendUint16(append(b, 0xf9), h)
		}
		return binary.BigEndian.AppendUint32(append(b, 0xfa), math.Float32bits(f32))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xfb), math.Float64bits(f))
}

// AppendFloat64 appends f as a double-precision float, whatever its value.
func AppendFloat64(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xfb), math.Float64bits(f))
}

// toHalf returns the half-precision bits of f when f converts exactly.
func toHalf(f float32) (uint16, bool) {
	bits := math.Float32bits(f)
	sign := uint16(bits>>16) & 0x8000
	exp := int(bits>>23&0xff) - 127
	mant := bits & 0x7fffff
	switch {
	case bits&0x7fffffff == 0:
		return sign, true
	case exp == 128: // infinity (NaN handled by the caller)
		if mant != 0 {
			return 0, false
		}
		return sign | 0x7c00, true
	case exp >= -14 && exp <= 15: // normal half
		if mant&0x1fff != 0 {
			return 0, false
		}
		return sign | uint16(exp+15)<<10 | uint16(mant>>13), true
	case exp >= -24 && exp < -14: // subnormal half
		shift := uint(-14-exp) + 13
		full := mant | 0x800000
		if full&(1<<shift-1) != 0 {
			return 0, false
		}
		return sign | uint16(full>>shift), true
	}
	return 0, false
}

func fromHalf(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h >> 10 & 0x1f)
	mant := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(mant, -24)
	case 31:
		if mant == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(mant+1024, exp-25)
}

// AppendBool appends true or false.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xf5)
	}
	return append(b, 0xf4)
}

// AppendNull appends null.
func AppendNull(b []byte) []byte { return append(b, 0xf6) }

// AppendText appends a definite-length text string.
func AppendText(b []byte, s string) []byte {
	return append(appendHead(b, MajorText, uint64(len(s))), s...)
}

// AppendBytes appends a definite-length byte string.
func AppendBytes(b []byte, p []byte) []byte {
	return append(appendHead(b, MajorBytes, uint64(len(p))), p...)
}

// AppendBytesString appends a definite-length byte string holding s.
func AppendBytesString(b []byte, s string) []byte {
	return append(appendHead(b, MajorBytes, uint64(len(s))), s...)
}

// AppendArray appends the head of a definite-length array of n items.
func AppendArray(b []byte, n int) []byte { return appendHead(b, MajorArray, uint64(n)) }

// AppendMap appends the head of a definite-length map of n pairs.
func AppendMap(b []byte, n int) []byte { return appendHead(b, MajorMap, uint64(n)) }

// AppendTag appends a tag head.
func AppendTag(b []byte, tag uint64) []byte { return appendHead(b, MajorTag, tag) }

// Type says what a decoded Item is.
type Type uint8

// Item types. Negint is a negative integer that fits an int64 or not:
// its value is -1 - Item.Uint.
const (
	Invalid Type = iota
	Uint
	Negint
	Bytes
	Text
	Array
	Map
	Tag
	Float
	Bool
	Null
	Undefined
	Simple
	Break
)

var typeNames = [...]string{"invalid", "unsigned integer", "negative integer", "byte string",
	"text string", "array", "map", "tag", "float", "boolean", "null", "undefined", "simple value", "break"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// Item is one decoded CBOR data item head, with the content of strings.
type Item struct {
	Type Type
	// Uint is the value of Uint, the magnitude minus one of Negint, the
	// count of a definite Array or Map, the tag number of Tag and the
	// number of a Simple value.
	Uint uint64
	// Indefinite is set for an indefinite-length Array or Map; its items
	// run until an item of type Break.
	Indefinite bool
	Float      float64
	Bool       bool
	// Str is the content of a Bytes or Text item (chunks of an
	// indefinite-length string joined). It aliases the input when the
	// string is definite; copy it to keep it.
	Str []byte
}

// Int returns the value of a Uint or Negint item as an int64, and false
// when it does not fit.
func (it Item) Int() (int64, bool) {
	switch it.Type {
	case Uint:
		if it.Uint > math.MaxInt64 {
			return 0, false
		}
		return int64(it.Uint), true
	case Negint:
		if it.Uint > math.MaxInt64 {
			return 0, false
		}
		return -1 - int64(it.Uint), true
	}
	return 0, false
}

// Errors returned by the Reader. Every error wraps ErrMalformed.
var (
	ErrMalformed = errors.New("cbor: malformed")
	errTruncated = wrap("unexpected end of data")
	errReserved  = wrap("reserved additional information")
	errDepth     = wrap("nesting too deep")
	errBadUTF8   = wrap("text string is not valid UTF-8")
	errChunk     = wrap("bad chunk in indefinite-length string")
	errBreak     = wrap("unexpected break")
	errLength    = wrap("length exceeds the data")
)

type malformed struct{ msg string }

func (e *malformed) Error() string        { return "cbor: " + e.msg }
func (e *malformed) Is(target error) bool { return target == ErrMalformed }

func wrap(msg string) error { return &malformed{msg} }

// MaxDepth is how deeply arrays, maps and tags may nest in data read by a
// Reader (Skip) before it gives up.
const MaxDepth = 16

// Reader reads CBOR data items from a byte slice. It never reads past the
// slice, never panics, and allocates only to join the chunks of an
// indefinite-length string (at most the size of its input).
type Reader struct {
	data []byte
	off  int
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader { return &Reader{data: b} }

// Len returns how many bytes are left.
func (r *Reader) Len() int { return len(r.data) - r.off }

// Offset returns how many bytes have been read.
func (r *Reader) Offset() int { return r.off }

// Done reports whether every byte has been read.
func (r *Reader) Done() bool { return r.off >= len(r.data) }

// head reads an initial byte and its argument.
func (r *Reader) head() (major byte, info byte, arg uint64, err error) {
	if r.off >= len(r.data) {
		return 0, 0, 0, errTruncated
	}
	ib := r.data[r.off]
	r.off++
	major, info = ib>>5, ib&0x1f
	switch {
	case info < 24:
		return major, info, uint64(info), nil
	case info <= 27:
		n := 1 << (info - 24)
		if len(r.data)-r.off < n {
			return 0, 0, 0, errTruncated
		}
		p := r.data[r.off : r.off+n]
		r.off += n
		switch n {
		case 1:
			arg = uint64(p[0])
		case 2:
			arg = uint64(binary.BigEndian.Uint16(p))
		case 4:
			arg = uint64(binary.BigEndian.Uint32(p))
		default:
			arg = binary.BigEndian.Uint64(p)
		}
		return major, info, arg, nil
	case info == 31:
		return major, info, 0, nil
	}
	return 0, 0, 0, errReserved
}

// Next reads the next item head. For a string it also reads the content;
// for an array, map or tag the caller reads the enclosed items next.
func (r *Reader) Next() (Item, error) {
	major, info, arg, err := r.head()
	if err != nil {
		return Item{}, err
	}
	indef := info == 31
	switch major {
	case MajorUint, MajorNegint, MajorTag:
		if indef {
			return Item{}, errReserved
		}
		t := Uint
		if major == MajorNegint {
			t = Negint
		} else if major == MajorTag {
			t = Tag
		}
		return Item{Type: t, Uint: arg}, nil
	case MajorBytes, MajorText:
		t := Bytes
		if major == MajorText {
			t = Text
		}
		var s []byte
		if indef {
			s, err = r.chunks(major)
		} else {
			s, err = r.take(arg)
		}
		if err != nil {
			return Item{}, err
		}
		if t == Text && !utf8.Valid(s) {
			return Item{}, errBadUTF8
		}
		return Item{Type: t, Str: s}, nil
	case MajorArray, MajorMap:
		t := Array
		if major == MajorMap {
			t = Map
		}
		if !indef {
			// Every item takes at least one byte: a count beyond the
			// remaining bytes cannot be honest, so refuse it before a
			// caller sizes anything by it.
			min := arg
			if t == Map {
				if arg > math.MaxUint64/2 {
					return Item{}, errLength
				}
				min = 2 * arg
			}
			if min > uint64(r.Len()) {
				return Item{}, errLength
			}
		}
		return Item{Type: t, Uint: arg, Indefinite: indef}, nil
	}
	// Major type 7: simple values and floats.
	switch info {
	case 20, 21:
		return Item{Type: Bool, Bool: info == 21}, nil
	case 22:
		return Item{Type: Null}, nil
	case 23:
		return Item{Type: Undefined}, nil
	case 24:
		if arg < 32 {
			return Item{}, wrap("simple value " + strconv.FormatUint(arg, 10) + " in two bytes")
		}
		return Item{Type: Simple, Uint: arg}, nil
	case 25:
		return Item{Type: Float, Float: fromHalf(uint16(arg))}, nil
	case 26:
		return Item{Type: Float, Float: float64(math.Float32frombits(uint32(arg)))}, nil
	case 27:
		return Item{Type: Float, Float: math.Float64frombits(arg)}, nil
	case 31:
		return Item{Type: Break}, nil
	}
	return Item{Type: Simple, Uint: arg}, nil
}

func (r *Reader) take(n uint64) ([]byte, error) {
	if n > uint64(r.Len()) {
		return nil, errLength
	}
	s := r.data[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return s, nil
}

// chunks joins the definite-length chunks of an indefinite-length string
// of the given major type, up to its break.
func (r *Reader) chunks(major byte) ([]byte, error) {
	var out []byte
	for {
		m, info, arg, err := r.head()
		if err != nil {
			return nil, err
		}
		if m == MajorSimple && info == 31 {
			if out == nil {
				out = []byte{}
			}
			return out, nil
		}
		if m != major || info == 31 {
			return nil, errChunk
		}
		s, err := r.take(arg)
		if err != nil {
			return nil, err
		}
		if major == MajorText && !utf8.Valid(s) {
			return nil, errBadUTF8
		}
		out = append(out, s...)
	}
}

// PeekBreak reports whether the next byte is a break (0xff), consuming it
// if so: the end of an indefinite-length array or map.
func (r *Reader) PeekBreak() bool {
	if r.off < len(r.data) && r.data[r.off] == 0xff {
		r.off++
		return true
	}
	return false
}

// Skip reads and discards one complete data item, nested ones included.
func (r *Reader) Skip() error { return r.skip(0) }

func (r *Reader) skip(depth int) error {
	if depth > MaxDepth {
		return errDepth
	}
	it, err := r.Next()
	if err != nil {
		return err
	}
	switch it.Type {
	case Break:
		return errBreak
	case Tag:
		return r.skip(depth + 1)
	case Array, Map:
		per := uint64(1)
		if it.Type == Map {
			per = 2
		}
		if it.Indefinite {
			for !r.PeekBreak() {
				for k := uint64(0); k < per; k++ {
					if err := r.skip(depth + 1); err != nil {
						return err
					}
				}
			}
			return nil
		}
		for i := uint64(0); i < it.Uint*per; i++ {
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
	}
	return nil
}
