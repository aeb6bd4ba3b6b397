// Package jsonx is the small part of JSON (RFC 8259) that the OMA JSON
// (11543) and SenML JSON (110) codecs share: a Lexer that walks untrusted
// bytes one token at a time, returning strings without escapes as slices
// of its input; the lossless classification of number literals into LwM2M
// values and their exact conversion to seconds; and append-style writers
// for strings, floats and decimal seconds. The codecs keep what is theirs:
// field names, which value a field may hold, and the wording of their
// errors (a Lexer reports an *Error, which each codec rewrites with its
// own prefix).
//
// It depends on the standard library and core/model only.
package jsonx

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/wasm2m/wasm2m/core/model"
)

// MaxDepth bounds how deeply Skip follows nested arrays and objects: a
// value nested deeper is refused, so that hostile input cannot exhaust
// the stack.
const MaxDepth = 32

// Error is a syntax error: what is wrong, at which offset of the input.
type Error struct {
	Offset int    // the offset of the problem; len(input) at the end
	Msg    string // lowercase, without an offset: "unterminated string"
}

func (e *Error) Error() string {
	return "offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Lexer reads JSON tokens from Data, starting at offset Off, which every
// method advances past what it consumed. Its methods return errors of
// type *Error. The zero Lexer reads nothing; a Lexer is not safe for
// concurrent use.
type Lexer struct {
	Data []byte
	Off  int
}

func (l *Lexer) errorf(msg string) error { return &Error{Offset: l.Off, Msg: msg} }

// errorHave returns an error "<msg>, have 'c'" for the byte at Off, or
// "unexpected end of data, <msg>" at the end.
func (l *Lexer) errorHave(msg string) error {
	if l.Off >= len(l.Data) {
		return l.errorf("unexpected end of data, " + msg)
	}
	return l.errorf(msg + ", have " + strconv.QuoteRune(rune(l.Data[l.Off])))
}

// WS skips white space (RFC 8259 section 2).
func (l *Lexer) WS() {
	i := l.Off
	for i < len(l.Data) && (l.Data[i] == ' ' || l.Data[i] == '\t' || l.Data[i] == '\n' || l.Data[i] == '\r') {
		i++
	}
	l.Off = i
}

// AtEnd reports whether all of Data has been read.
func (l *Lexer) AtEnd() bool { return l.Off >= len(l.Data) }

// Peek returns the next byte without consuming it, 0 at the end.
func (l *Lexer) Peek() byte {
	if l.Off < len(l.Data) {
		return l.Data[l.Off]
	}
	return 0
}

// Eat consumes c if it comes next, and reports whether it did.
func (l *Lexer) Eat(c byte) bool {
	if l.Off < len(l.Data) && l.Data[l.Off] == c {
		l.Off++
		return true
	}
	return false
}

// Expect consumes c, or returns an error naming what came instead.
func (l *Lexer) Expect(c byte) error {
	if l.Eat(c) {
		return nil
	}
	return l.errorHave("want " + strconv.QuoteRune(rune(c)))
}

// Word consumes the literal w (true, false, null) if it comes next, and
// reports whether it did.
func (l *Lexer) Word(w string) bool {
	if len(l.Data)-l.Off >= len(w) && string(l.Data[l.Off:l.Off+len(w)]) == w {
		l.Off += len(w)
		return true
	}
	return false
}

// Bool consumes true or false; ok is false, and nothing consumed, when
// neither comes next.
func (l *Lexer) Bool() (v, ok bool) {
	switch {
	case l.Word("true"):
		return true, true
	case l.Word("false"):
		return false, true
	}
	return false, false
}

// Str reads a string (RFC 8259 section 7) and returns its content: a
// slice of Data, with its capacity cut to its length, when it has no
// escape, a new slice otherwise. The content must be valid UTF-8, and
// \u escapes of surrogates must come in pairs.
func (l *Lexer) Str() ([]byte, error) {
	if l.Off >= len(l.Data) || l.Data[l.Off] != '"' {
		return nil, l.errorHave("want a string")
	}
	start := l.Off + 1
	for i := start; i < len(l.Data); i++ {
		switch c := l.Data[i]; {
		case c == '"':
			s := l.Data[start:i:i]
			if !utf8.Valid(s) {
				l.Off = start
				return nil, l.errorf("string is not valid UTF-8")
			}
			l.Off = i + 1
			return s, nil
		case c == '\\':
			l.Off = i
			return l.strEscaped(start)
		case c < 0x20:
			l.Off = i
			return nil, l.errorf("control character in a string")
		}
	}
	l.Off = len(l.Data)
	return nil, l.errorf("unterminated string")
}

// strEscaped continues Str from the first backslash, at Off, copying the
// content from start into a new buffer no longer than the input.
func (l *Lexer) strEscaped(start int) ([]byte, error) {
	out := make([]byte, 0, l.Off-start+16)
	out = append(out, l.Data[start:l.Off]...)
	for l.Off < len(l.Data) {
		c := l.Data[l.Off]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				l.Off = start
				return nil, l.errorf("string is not valid UTF-8")
			}
			l.Off++
			return out, nil
		case c < 0x20:
			return nil, l.errorf("control character in a string")
		case c != '\\':
			out = append(out, c)
			l.Off++
			continue
		}
		if l.Off+1 >= len(l.Data) {
			return nil, l.errorf("unterminated escape")
		}
		switch e := l.Data[l.Off+1]; e {
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
			r, ok := hex4(l.Data[l.Off+2:])
			if !ok {
				return nil, l.errorf(`bad \u escape`)
			}
			if utf16.IsSurrogate(r) {
				// A high surrogate, escaped, then a low one, escaped.
				rest := l.Data[l.Off+6:]
				r2, ok := rune(0), false
				if len(rest) >= 2 && rest[0] == '\\' && rest[1] == 'u' {
					r2, ok = hex4(rest[2:])
				}
				if r = utf16.DecodeRune(r, r2); !ok || r == utf8.RuneError {
					return nil, l.errorf("unpaired surrogate in a string")
				}
				l.Off += 6
			}
			out = utf8.AppendRune(out, r)
			l.Off += 4
		default:
			return nil, l.errorf(`bad escape \` + string(rune(e)))
		}
		l.Off += 2
	}
	return nil, l.errorf("unterminated string")
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

// Number reads a number (RFC 8259 section 6) and returns its text, a
// slice of Data, and whether it is an integer literal (no fraction, no
// exponent). When no number comes next nothing is consumed.
func (l *Lexer) Number() (lit []byte, isInt bool, err error) {
	b, start := l.Data, l.Off
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return nil, false, l.errorHave("want a number")
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			l.Off = j
			return nil, false, l.errorf("number with no digit after '.'")
		}
		i, isInt = j, false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			l.Off = j
			return nil, false, l.errorf("number with no digit in its exponent")
		}
		i, isInt = j, false
	}
	l.Off = i
	return b[start:i], isInt, nil
}

// digits returns the offset of the first byte at or after i in b that is
// not a decimal digit.
func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Skip reads and discards one value of any kind, such as the value of a
// member a codec does not know, following at most MaxDepth levels of
// nested arrays and objects.
func (l *Lexer) Skip() error { return l.skip(0) }

func (l *Lexer) skip(depth int) error {
	if depth > MaxDepth {
		return l.errorf("values nested too deeply")
	}
	switch c := l.Peek(); {
	case c == '"':
		_, err := l.Str()
		return err
	case c == '-' || isDigit(c):
		_, _, err := l.Number()
		return err
	case c == 't', c == 'f', c == 'n':
		if l.Word("true") || l.Word("false") || l.Word("null") {
			return nil
		}
		return l.errorf("bad literal")
	case c == '[':
		l.Off++
		l.WS()
		if l.Eat(']') {
			return nil
		}
		for {
			l.WS()
			if err := l.skip(depth + 1); err != nil {
				return err
			}
			l.WS()
			if l.Eat(',') {
				continue
			}
			if l.Eat(']') {
				return nil
			}
			return l.errorHave("want ',' or ']' in an array")
		}
	case c == '{':
		l.Off++
		l.WS()
		if l.Eat('}') {
			return nil
		}
		for {
			l.WS()
			if _, err := l.Str(); err != nil {
				return err
			}
			l.WS()
			if err := l.Expect(':'); err != nil {
				return err
			}
			l.WS()
			if err := l.skip(depth + 1); err != nil {
				return err
			}
			l.WS()
			if l.Eat(',') {
				continue
			}
			if l.Eat('}') {
				return nil
			}
			return l.errorHave("want ',' or '}' in an object")
		}
	}
	return l.errorHave("want a value")
}

// Decimal is a number literal split into its parts: sign, integer
// digits, fraction digits and decimal exponent (saturated at ±2^20, far
// beyond any range used here). Int and Frac alias the literal.
type Decimal struct {
	Neg       bool
	Int, Frac []byte
	Exp       int
}

// maxExp bounds the exponent SplitNumber keeps; beyond it every non-zero
// number is out of every range used here.
const maxExp = 1 << 20

// SplitNumber splits a number literal that Number accepted, or any text
// of the same grammar (such as "-12345e-3" built from a CBOR decimal
// fraction).
func SplitNumber(lit []byte) Decimal {
	var d Decimal
	i := 0
	if lit[0] == '-' {
		d.Neg = true
		i++
	}
	j := i
	for j < len(lit) && isDigit(lit[j]) {
		j++
	}
	d.Int = lit[i:j]
	if j < len(lit) && lit[j] == '.' {
		k := j + 1
		for k < len(lit) && isDigit(lit[k]) {
			k++
		}
		d.Frac = lit[j+1 : k]
		j = k
	}
	if j < len(lit) && (lit[j] == 'e' || lit[j] == 'E') {
		j++
		eneg := false
		if lit[j] == '+' || lit[j] == '-' {
			eneg = lit[j] == '-'
			j++
		}
		e := 0
		for ; j < len(lit); j++ {
			if e < maxExp {
				e = e*10 + int(lit[j]-'0')
			}
		}
		if eneg {
			e = -e
		}
		d.Exp = e
	}
	return d
}

// digit returns digit k of Int followed by Frac, '0' outside them.
func (d *Decimal) digit(k int) byte {
	switch {
	case k < 0:
		return '0'
	case k < len(d.Int):
		return d.Int[k]
	case k-len(d.Int) < len(d.Frac):
		return d.Frac[k-len(d.Int)]
	}
	return '0'
}

// Seconds converts d exactly to whole seconds and nanoseconds, nsec in
// [0, 1e9) (so -0.5 is -1 s and 500000000 ns), truncating digits below
// the nanosecond. ok is false when the whole seconds of |d| exceed max.
func (d *Decimal) Seconds(max int64) (sec, nsec int64, ok bool) {
	n := len(d.Int) + len(d.Frac)
	lz := 0
	for lz < n && d.digit(lz) == '0' {
		lz++
	}
	if lz == n {
		return 0, 0, true // zero, whatever the exponent
	}
	// The value is 0.D × 10^pt where D is the digits without leading
	// zeros.
	pt := len(d.Int) + d.Exp - lz
	if pt > 19 { // 10^19 > math.MaxInt64
		return 0, 0, false
	}
	var whole uint64 // 19 digits fit
	for k := 0; k < pt; k++ {
		whole = whole*10 + uint64(d.digit(lz+k)-'0')
	}
	if whole > uint64(max) {
		return 0, 0, false
	}
	for k := 0; k < 9; k++ {
		nsec = nsec*10 + int64(d.digit(lz+pt+k)-'0')
	}
	sec = int64(whole)
	if d.Neg {
		sec = -sec
		if nsec > 0 {
			sec--
			nsec = 1e9 - nsec
		}
	}
	return sec, nsec, true
}

// ParseUint parses decimal digits into a uint64; ok is false on
// overflow.
func ParseUint(digits []byte) (v uint64, ok bool) {
	for _, c := range digits {
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// NumberValue converts a number literal that Number accepted, without
// loss: an integer literal is an Integer when it fits an int64, an
// Unsigned Integer when it fits only a uint64, and a Float beyond; a
// literal with a fraction or an exponent is a Float (the nearest to its
// decimal value). ok is false for a number beyond the float64 range.
func NumberValue(lit []byte, isInt bool) (v model.Value, ok bool) {
	d := SplitNumber(lit)
	if isInt {
		if m, ok := ParseUint(d.Int); ok {
			switch {
			case !d.Neg && m <= math.MaxInt64:
				return model.Int(int64(m)), true
			case !d.Neg:
				return model.Uint(m), true
			case m <= 1<<63:
				return model.Int(int64(-m)), true
			}
		}
	} else if f, ok := fastFloat(&d); ok {
		return model.Float(f), true
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return model.Value{}, false
	}
	return model.Float(f), true
}

// fastFloat converts d exactly when its significant digits fit 2^53 and
// its exponent a power of ten that float64 holds exactly: one correctly
// rounded multiplication or division (Clinger's fast path).
func fastFloat(d *Decimal) (float64, bool) {
	n := len(d.Int) + len(d.Frac)
	if n > 19 {
		return 0, false
	}
	var m uint64
	for k := 0; k < n; k++ {
		m = m*10 + uint64(d.digit(k)-'0')
	}
	e := d.Exp - len(d.Frac)
	var f float64
	switch {
	case m == 0:
		f = 0
	case m >= 1<<53 || e < -22 || e > 22:
		return 0, false
	case e >= 0:
		f = float64(m) * pow10[e]
	default:
		f = float64(m) / pow10[-e]
	}
	if d.Neg {
		f = -f
	}
	return f, true
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a string (RFC 8259 section 7): '"', '\' and
// the control characters escaped (\n, \r, \t, \b, \f or \u00XX),
// everything else as it is. It reports false, appending nothing, when s
// is not valid UTF-8, which JSON cannot carry.
func AppendString(b []byte, s string) ([]byte, bool) {
	n := len(b)
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return b[:n], false
			}
			i += size - 1
			continue
		}
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
	return append(b, '"'), true
}

// AppendFloat appends f so that it reads back as the same float and as a
// Float, not an integer: the shortest digits that read back exactly, in
// plain decimal with at least one fraction digit ("1.0", "0.25") between
// 1e-6 and 1e21 in magnitude, in exponent form beyond ("1e+21",
// "1e-07"). It reports false, appending nothing, for NaN and the
// infinities, which JSON cannot carry.
func AppendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(b, f, 'e', -1, 64), true
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	for _, c := range b[start:] {
		if c == '.' {
			return b, true
		}
	}
	return append(b, '.', '0'), true
}

// AppendSeconds appends sec + nsec/1e9 seconds, nsec in [0, 1e9), as a
// number: an integer when nsec is 0, else with up to nine fraction digits
// and no trailing zero ("-1.5" for sec -2, nsec 500000000).
func AppendSeconds(b []byte, sec, nsec int64) []byte {
	if nsec == 0 {
		return strconv.AppendInt(b, sec, 10)
	}
	if sec < 0 {
		// sec + nsec/1e9 = -((-sec-1) + (1e9-nsec)/1e9)
		b = append(b, '-')
		b = strconv.AppendUint(b, uint64(-(sec + 1)), 10)
		nsec = 1e9 - nsec
	} else {
		b = strconv.AppendInt(b, sec, 10)
	}
	var frac [10]byte
	frac[0] = '.'
	for i := 9; i >= 1; i-- {
		frac[i] = byte('0' + nsec%10)
		nsec /= 10
	}
	n := 10
	for frac[n-1] == '0' {
		n--
	}
	return append(b, frac[:n]...)
}
