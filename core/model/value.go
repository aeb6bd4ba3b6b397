package model

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Type is an LwM2M data type (Core 1.1 Appendix C).
type Type uint8

// The LwM2M data types. TypeNone is the type of an executable resource,
// which has no value.
const (
	TypeNone Type = iota
	TypeString
	TypeInteger
	TypeUnsigned
	TypeFloat
	TypeBoolean
	TypeOpaque
	TypeTime
	TypeObjlnk
	TypeCorelnk
)

var typeNames = [...]string{
	TypeNone:     "none",
	TypeString:   "String",
	TypeInteger:  "Integer",
	TypeUnsigned: "Unsigned Integer",
	TypeFloat:    "Float",
	TypeBoolean:  "Boolean",
	TypeOpaque:   "Opaque",
	TypeTime:     "Time",
	TypeObjlnk:   "Objlnk",
	TypeCorelnk:  "Corelnk",
}

// String returns the type's name as object definitions spell it, such as
// "Unsigned Integer", or "none" for TypeNone.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// ParseType parses a type name as object definition files spell it. The
// match ignores case and surrounding space; "" and "none" give TypeNone.
func ParseType(s string) (Type, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return TypeNone, nil
	}
	for t, name := range typeNames {
		if strings.EqualFold(s, name) {
			return Type(t), nil
		}
	}
	switch strings.ToLower(s) {
	case "unsigned", "unsignedinteger", "unsigned_integer", "uint":
		return TypeUnsigned, nil
	case "int":
		return TypeInteger, nil
	case "bool":
		return TypeBoolean, nil
	case "objectlink", "objlink", "object link":
		return TypeObjlnk, nil
	case "corelink", "core link":
		return TypeCorelnk, nil
	}
	return TypeNone, fmt.Errorf("unknown data type %q", s)
}

// ObjectLink is the value of an Objlnk resource: a reference to an object
// instance. NullObjectLink (65535:65535) refers to nothing.
type ObjectLink struct {
	Object   uint16
	Instance uint16
}

// NullObjectLink is the object link that refers to no instance.
var NullObjectLink = ObjectLink{Object: NoID, Instance: NoID}

// IsNull reports whether l is 65535:65535.
func (l ObjectLink) IsNull() bool { return l == NullObjectLink }

// String formats l as "object:instance", as text and JSON formats write it.
func (l ObjectLink) String() string {
	return strconv.Itoa(int(l.Object)) + ":" + strconv.Itoa(int(l.Instance))
}

// ParseObjectLink parses "object:instance" with each id in 0..65535.
func ParseObjectLink(s string) (ObjectLink, error) {
	o, i, ok := strings.Cut(s, ":")
	if !ok {
		return ObjectLink{}, fmt.Errorf("object link %q: want object:instance", s)
	}
	ov, err1 := strconv.ParseUint(o, 10, 16)
	iv, err2 := strconv.ParseUint(i, 10, 16)
	if err1 != nil || err2 != nil || o[0] == '+' || i == "" || i[0] == '+' {
		return ObjectLink{}, fmt.Errorf("object link %q: ids must be decimal 0..65535", s)
	}
	return ObjectLink{Object: uint16(ov), Instance: uint16(iv)}, nil
}

// Value is a typed LwM2M value. It is a small comparable value type: two
// Values are equal with == when they have the same type and content (a
// float compares by its bits). The zero Value has TypeNone and holds
// nothing, which is what an executable resource has.
type Value struct {
	typ Type
	num uint64 // integer, unsigned, float bits, boolean, time seconds, objlnk
	str string // string, opaque bytes, corelnk
}

// Int returns an Integer value.
func Int(v int64) Value { return Value{typ: TypeInteger, num: uint64(v)} }

// Uint returns an Unsigned Integer value.
func Uint(v uint64) Value { return Value{typ: TypeUnsigned, num: v} }

// Float returns a Float value. Every NaN becomes the one NaN of
// math.NaN, so that Values compare equal whatever NaN payload a peer sent.
func Float(v float64) Value {
	if v != v {
		v = math.NaN()
	}
	return Value{typ: TypeFloat, num: math.Float64bits(v)}
}

// Bool returns a Boolean value.
func Bool(v bool) Value {
	if v {
		return Value{typ: TypeBoolean, num: 1}
	}
	return Value{typ: TypeBoolean}
}

// String returns a String value.
func String(v string) Value { return Value{typ: TypeString, str: v} }

// Opaque returns an Opaque value holding a copy of b.
func Opaque(b []byte) Value { return Value{typ: TypeOpaque, str: string(b)} }

// OpaqueString returns an Opaque value whose bytes are those of s.
func OpaqueString(s string) Value { return Value{typ: TypeOpaque, str: s} }

// Time returns a Time value: t as whole seconds since the Unix epoch,
// truncated toward negative infinity.
func Time(t time.Time) Value { return Value{typ: TypeTime, num: uint64(t.Unix())} }

// UnixTime returns a Time value of sec seconds since the Unix epoch.
func UnixTime(sec int64) Value { return Value{typ: TypeTime, num: uint64(sec)} }

// Objlnk returns an Objlnk value referring to /object/instance.
func Objlnk(object, instance uint16) Value {
	return Value{typ: TypeObjlnk, num: uint64(object)<<16 | uint64(instance)}
}

// Corelnk returns a Corelnk value: CoRE link format text (RFC 6690).
func Corelnk(v string) Value { return Value{typ: TypeCorelnk, str: v} }

// Type returns v's type.
func (v Value) Type() Type { return v.typ }

// IsNone reports whether v holds no value (TypeNone).
func (v Value) IsNone() bool { return v.typ == TypeNone }

// Int returns an Integer or Time value as int64 (0 for other types).
func (v Value) Int() int64 {
	if v.typ == TypeInteger || v.typ == TypeTime {
		return int64(v.num)
	}
	return 0
}

// Uint returns an Unsigned Integer value (0 for other types).
func (v Value) Uint() uint64 {
	if v.typ == TypeUnsigned {
		return v.num
	}
	return 0
}

// Float returns a Float value (0 for other types).
func (v Value) Float() float64 {
	if v.typ == TypeFloat {
		return math.Float64frombits(v.num)
	}
	return 0
}

// Bool returns a Boolean value (false for other types).
func (v Value) Bool() bool { return v.typ == TypeBoolean && v.num != 0 }

// Str returns the text of a String or Corelnk value, or the bytes of an
// Opaque value as a string ("" for other types).
func (v Value) Str() string {
	switch v.typ {
	case TypeString, TypeCorelnk, TypeOpaque:
		return v.str
	}
	return ""
}

// Bytes returns a copy of an Opaque value's bytes, or of a String or
// Corelnk value's text (nil for other types).
func (v Value) Bytes() []byte {
	switch v.typ {
	case TypeString, TypeCorelnk, TypeOpaque:
		return []byte(v.str)
	}
	return nil
}

// Time returns a Time value as a time.Time in UTC (the zero time for other
// types).
func (v Value) Time() time.Time {
	if v.typ == TypeTime {
		return time.Unix(int64(v.num), 0).UTC()
	}
	return time.Time{}
}

// Objlnk returns an Objlnk value (0:0 for other types).
func (v Value) Objlnk() ObjectLink {
	if v.typ == TypeObjlnk {
		return ObjectLink{Object: uint16(v.num >> 16), Instance: uint16(v.num)}
	}
	return ObjectLink{}
}

// Any returns v's content as a Go value: int64 (Integer), uint64
// (Unsigned Integer), float64, bool, string (String, Corelnk), []byte
// (Opaque), time.Time (Time), ObjectLink, or nil (none).
func (v Value) Any() any {
	switch v.typ {
	case TypeString, TypeCorelnk:
		return v.str
	case TypeInteger:
		return v.Int()
	case TypeUnsigned:
		return v.num
	case TypeFloat:
		return v.Float()
	case TypeBoolean:
		return v.Bool()
	case TypeOpaque:
		return v.Bytes()
	case TypeTime:
		return v.Time()
	case TypeObjlnk:
		return v.Objlnk()
	}
	return nil
}

// Equal reports whether v and w have the same type and content.
func (v Value) Equal(w Value) bool { return v == w }

// String formats v for humans and logs: its text form, quoted for
// strings, hex for opaque. It is not an encoding; see FormatText.
func (v Value) String() string {
	switch v.typ {
	case TypeNone:
		return "none"
	case TypeString, TypeCorelnk:
		return strconv.Quote(v.str)
	case TypeOpaque:
		return fmt.Sprintf("0x%x", v.str)
	case TypeTime:
		return strconv.FormatInt(v.Int(), 10) + " (" + v.Time().Format(time.RFC3339) + ")"
	}
	return FormatText(v)
}

// FormatText returns v in the text/plain content format (Core 1.1 section
// 7.4.1): decimal integers, the shortest decimal float that reads back
// exactly, "0"/"1" for booleans, seconds for time, "o:i" for object links
// and base64 (RFC 4648 section 4, padded) for opaque.
func FormatText(v Value) string {
	return string(AppendText(nil, v))
}

// AppendText appends the text/plain form of v (see FormatText) to b.
func AppendText(b []byte, v Value) []byte {
	switch v.typ {
	case TypeString, TypeCorelnk:
		return append(b, v.str...)
	case TypeInteger, TypeTime:
		return strconv.AppendInt(b, int64(v.num), 10)
	case TypeUnsigned:
		return strconv.AppendUint(b, v.num, 10)
	case TypeFloat:
		return appendFloat(b, v.Float())
	case TypeBoolean:
		if v.num != 0 {
			return append(b, '1')
		}
		return append(b, '0')
	case TypeOpaque:
		return base64.StdEncoding.AppendEncode(b, []byte(v.str))
	case TypeObjlnk:
		l := v.Objlnk()
		b = strconv.AppendUint(b, uint64(l.Object), 10)
		b = append(b, ':')
		return strconv.AppendUint(b, uint64(l.Instance), 10)
	}
	return b
}

func appendFloat(b []byte, f float64) []byte {
	// Plain decimal where it is short, exponent form for very large or
	// small magnitudes; both read back exactly with ParseFloat.
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(b, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// ErrWrongType is wrapped by the errors of ParseText and Convert when text
// or a value does not fit the wanted type.
var ErrWrongType = errors.New("value does not fit the type")

func typeError(t Type, format string, args ...any) error {
	return &Error{Code: BadRequest, Msg: fmt.Sprintf("%s: ", t) + fmt.Sprintf(format, args...), Err: ErrWrongType}
}

// ParseText parses the text/plain form of a value of type t (the inverse
// of FormatText). Booleans are "0" or "1" only; integers are decimal; a
// float accepts any decimal or exponent form; opaque is standard base64,
// padded or not; strings must be valid UTF-8. Errors are 4.00.
func ParseText(s string, t Type) (Value, error) {
	switch t {
	case TypeString:
		if !utf8.ValidString(s) {
			return Value{}, typeError(t, "not valid UTF-8")
		}
		return String(s), nil
	case TypeCorelnk:
		if !utf8.ValidString(s) {
			return Value{}, typeError(t, "not valid UTF-8")
		}
		return Corelnk(s), nil
	case TypeInteger, TypeTime:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || s[0] == '+' {
			return Value{}, typeError(t, "%q is not a 64-bit decimal integer", clip(s))
		}
		if t == TypeTime {
			return UnixTime(n), nil
		}
		return Int(n), nil
	case TypeUnsigned:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || s[0] == '+' {
			return Value{}, typeError(t, "%q is not a 64-bit unsigned decimal integer", clip(s))
		}
		return Uint(n), nil
	case TypeFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !isDecimalFloat(s) {
			return Value{}, typeError(t, "%q is not a decimal number", clip(s))
		}
		return Float(f), nil
	case TypeBoolean:
		switch s {
		case "0":
			return Bool(false), nil
		case "1":
			return Bool(true), nil
		}
		return Value{}, typeError(t, "%q is not 0 or 1", clip(s))
	case TypeOpaque:
		enc := base64.StdEncoding
		if len(s)%4 != 0 {
			enc = base64.RawStdEncoding
		}
		b, err := enc.DecodeString(s)
		if err != nil {
			return Value{}, typeError(t, "not base64: %v", err)
		}
		return Opaque(b), nil
	case TypeObjlnk:
		l, err := ParseObjectLink(s)
		if err != nil {
			return Value{}, typeError(t, "%v", err)
		}
		return Objlnk(l.Object, l.Instance), nil
	}
	return Value{}, typeError(t, "has no text form")
}

// isDecimalFloat refuses what strconv.ParseFloat accepts but no LwM2M peer
// means: hex floats, underscores, "Inf", "NaN" and a leading "+".
func isDecimalFloat(s string) bool {
	if s == "" || s[0] == '+' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == 'e' || c == 'E' || c == '+') {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Convert returns v as a value of type t, for formats whose values do not
// carry the LwM2M type (a JSON number, a CBOR integer). It converts only
// where nothing is lost: an integral float to an integer type, an integer
// to a float when exact, between Integer, Unsigned Integer and Time when
// in range, String to Corelnk and back, and String to Objlnk by parsing
// "o:i". Any other pair (booleans and opaque among them) is a
// 4.00 error wrapping ErrWrongType. A value of type t is returned as is.
func (v Value) Convert(t Type) (Value, error) {
	if v.typ == t {
		return v, nil
	}
	switch t {
	case TypeInteger, TypeTime:
		var n int64
		switch v.typ {
		case TypeInteger, TypeTime:
			n = int64(v.num)
		case TypeUnsigned:
			if v.num > math.MaxInt64 {
				return Value{}, typeError(t, "%d is out of range", v.num)
			}
			n = int64(v.num)
		case TypeFloat:
			f := v.Float()
			if f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
				return Value{}, typeError(t, "%v is not a 64-bit integer", f)
			}
			n = int64(f)
		default:
			return Value{}, typeError(t, "cannot convert %s", v.typ)
		}
		return Value{typ: t, num: uint64(n)}, nil
	case TypeUnsigned:
		switch v.typ {
		case TypeInteger, TypeTime:
			if int64(v.num) < 0 {
				return Value{}, typeError(t, "%d is negative", int64(v.num))
			}
			return Uint(v.num), nil
		case TypeFloat:
			f := v.Float()
			if f != math.Trunc(f) || f < 0 || f >= 1<<64 {
				return Value{}, typeError(t, "%v is not a 64-bit unsigned integer", f)
			}
			return Uint(uint64(f)), nil
		}
	case TypeFloat:
		switch v.typ {
		case TypeInteger, TypeTime:
			n := int64(v.num)
			f := float64(n)
			if f >= 1<<63 || int64(f) != n {
				return Value{}, typeError(t, "%d has no exact float", n)
			}
			return Float(f), nil
		case TypeUnsigned:
			f := float64(v.num)
			if f >= 1<<64 || uint64(f) != v.num {
				return Value{}, typeError(t, "%d has no exact float", v.num)
			}
			return Float(f), nil
		}
	case TypeString:
		switch v.typ {
		case TypeCorelnk:
			return String(v.str), nil
		}
	case TypeCorelnk:
		if v.typ == TypeString {
			return Corelnk(v.str), nil
		}
	case TypeObjlnk:
		if v.typ == TypeString {
			l, err := ParseObjectLink(v.str)
			if err != nil {
				return Value{}, typeError(t, "%v", err)
			}
			return Objlnk(l.Object, l.Instance), nil
		}
	case TypeBoolean:
		// No implicit conversion: a peer that sends 1 for true must say
		// so in a format that types booleans.
	}
	return Value{}, typeError(t, "cannot convert %s", v.typ)
}
