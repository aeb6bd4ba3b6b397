package senml

import (
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// Time limits (RFC 8428 section 4.5.3): a resolved time below 2^28 is
// relative to now; no time may lie further than 2^53 seconds from the
// epoch, where float64 seconds stop being exact.
const (
	relativeLimit = 1 << 28
	maxSeconds    = 1 << 53
)

// seconds is an exact SenML time: whole seconds and nanoseconds, nsec in
// [0, 1e9), so that -0.5 is {-1, 500000000}.
type seconds struct {
	sec, nsec int64
}

func (a seconds) add(b seconds) seconds {
	a.sec += b.sec
	a.nsec += b.nsec
	if a.nsec >= 1e9 {
		a.sec++
		a.nsec -= 1e9
	}
	return a
}

// inRange reports whether a lies within maxSeconds of the epoch.
func (a seconds) inRange() bool { return a.sec >= -maxSeconds && a.sec < maxSeconds }

// resolve turns a resolved SenML time into an instant: absolute at or
// above 2^28 seconds, relative to now below.
func (a seconds) resolve(now func() time.Time) time.Time {
	if a.sec >= relativeLimit {
		return time.Unix(a.sec, a.nsec).UTC()
	}
	n := now()
	return time.Unix(n.Unix()+a.sec, int64(n.Nanosecond())+a.nsec).UTC()
}

// isDigit reports whether c is an ASCII decimal digit.
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanNumber checks that b starts with a JSON number (RFC 8259 section 6)
// and returns its length and whether it is an integer literal (no
// fraction, no exponent). n is 0 when b does not start with a number.
func scanNumber(b []byte) (n int, isInt bool) {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return 0, false
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		isInt = false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return 0, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		isInt = false
	}
	return i, isInt
}

// decimal is a JSON number split into its parts: sign, integer digits,
// fraction digits and decimal exponent (saturated far beyond any use).
type decimal struct {
	neg       bool
	int, frac []byte
	exp       int
}

// maxExp bounds the exponent kept by splitNumber; beyond it every non-zero
// number is out of every range used here.
const maxExp = 1 << 20

// splitNumber splits a number that scanNumber accepted.
func splitNumber(b []byte) decimal {
	var d decimal
	i := 0
	if b[0] == '-' {
		d.neg = true
		i++
	}
	j := i
	for j < len(b) && isDigit(b[j]) {
		j++
	}
	d.int = b[i:j]
	if j < len(b) && b[j] == '.' {
		k := j + 1
		for k < len(b) && isDigit(b[k]) {
			k++
		}
		d.frac = b[j+1 : k]
		j = k
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		eneg := false
		if b[j] == '+' || b[j] == '-' {
			eneg = b[j] == '-'
			j++
		}
		e := 0
		for ; j < len(b); j++ {
			if e < maxExp {
				e = e*10 + int(b[j]-'0')
			}
		}
		if eneg {
			e = -e
		}
		d.exp = e
	}
	return d
}

// digit returns digit k of int followed by frac, '0' past the end.
func (d *decimal) digit(k int) byte {
	switch {
	case k < 0:
		return '0'
	case k < len(d.int):
		return d.int[k]
	case k-len(d.int) < len(d.frac):
		return d.frac[k-len(d.int)]
	}
	return '0'
}

// seconds converts d exactly to whole seconds and nanoseconds, truncating
// digits below the nanosecond. ok is false beyond maxSeconds.
func (d *decimal) seconds() (s seconds, ok bool) {
	n := len(d.int) + len(d.frac)
	lz := 0
	for lz < n && d.digit(lz) == '0' {
		lz++
	}
	if lz == n {
		return seconds{}, true // zero, whatever the exponent
	}
	// The value is 0.D × 10^pt where D is the digits without leading
	// zeros; lz shifts the first significant digit.
	pt := len(d.int) + d.exp - lz
	if pt > 16 { // 10^16 > 2^53
		return seconds{}, false
	}
	var sec, nsec int64
	for k := 0; k < pt; k++ {
		sec = sec*10 + int64(d.digit(lz+k)-'0')
	}
	for k := 0; k < 9; k++ {
		nsec = nsec*10 + int64(d.digit(lz+pt+k)-'0')
	}
	if sec >= maxSeconds {
		return seconds{}, false
	}
	if d.neg {
		sec = -sec
		if nsec > 0 {
			sec--
			nsec = 1e9 - nsec
		}
	}
	return seconds{sec, nsec}, true
}

// parseUint parses decimal digits into a uint64; ok is false on overflow.
func parseUint(digits []byte) (v uint64, ok bool) {
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

// numberValue converts a JSON number that scanNumber accepted to a Value:
// an integer literal to Integer, Unsigned Integer or (beyond 64 bits)
// Float; anything else to Float. ok is false for a number beyond the
// float64 range.
func numberValue(b []byte, isInt bool) (v model.Value, ok bool) {
	d := splitNumber(b)
	if isInt {
		if m, ok := parseUint(d.int); ok {
			switch {
			case !d.neg && m <= math.MaxInt64:
				return model.Int(int64(m)), true
			case !d.neg:
				return model.Uint(m), true
			case m <= 1<<63:
				return model.Int(int64(-m)), true
			}
		}
	} else if f, ok := fastFloat(&d); ok {
		return model.Float(f), true
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return model.Value{}, false
	}
	return model.Float(f), true
}

// fastFloat converts d exactly when its significant digits fit 2^53 and
// its exponent a power of ten that float64 holds exactly: one correctly
// rounded multiplication or division (Clinger's fast path).
func fastFloat(d *decimal) (float64, bool) {
	n := len(d.int) + len(d.frac)
	if n > 19 {
		return 0, false
	}
	var m uint64
	for k := 0; k < n; k++ {
		m = m*10 + uint64(d.digit(k)-'0')
	}
	e := d.exp - len(d.frac)
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
	if d.neg {
		f = -f
	}
	return f, true
}

// floatSeconds converts a float time exactly as its shortest decimal
// form reads (a float sent as 1700000000.123 is that many seconds).
func floatSeconds(f float64) (seconds, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return seconds{}, false
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	d := splitNumber(b)
	return d.seconds()
}

// addBase adds a base value to a "v" value (RFC 8428 section 4.1): exactly
// for two integers (an Integer, Unsigned Integer or Float as the sum
// fits), as floats otherwise. ok is false when a finite sum overflows
// float64.
func addBase(bv, v model.Value) (sum model.Value, ok bool) {
	if isIntType(bv) && isIntType(v) {
		var a, b big.Int
		intOf(&a, bv)
		intOf(&b, v)
		a.Add(&a, &b)
		switch {
		case a.IsInt64():
			return model.Int(a.Int64()), true
		case a.IsUint64():
			return model.Uint(a.Uint64()), true
		}
		f, _ := new(big.Float).SetInt(&a).Float64()
		return model.Float(f), true
	}
	x, y := floatOf(bv), floatOf(v)
	s := x + y
	if math.IsInf(s, 0) && !math.IsInf(x, 0) && !math.IsInf(y, 0) {
		return model.Value{}, false
	}
	if math.IsNaN(s) {
		s = math.NaN()
	}
	return model.Float(s), true
}

func isIntType(v model.Value) bool {
	return v.Type() == model.TypeInteger || v.Type() == model.TypeUnsigned
}

func intOf(z *big.Int, v model.Value) {
	if v.Type() == model.TypeUnsigned {
		z.SetUint64(v.Uint())
		return
	}
	z.SetInt64(v.Int())
}

func floatOf(v model.Value) float64 {
	switch v.Type() {
	case model.TypeInteger:
		return float64(v.Int())
	case model.TypeUnsigned:
		return float64(v.Uint())
	}
	return v.Float()
}

// appendSeconds appends t as decimal seconds: an integer when whole, else
// with the nanoseconds and no trailing zero.
func appendSeconds(b []byte, sec int64, nsec int) []byte {
	if nsec == 0 {
		return strconv.AppendInt(b, sec, 10)
	}
	if sec < 0 {
		// -1.5 s is sec -2, nsec 5e8: write the magnitude.
		b = append(b, '-')
		sec = -sec - 1
		nsec = 1e9 - nsec
		b = strconv.AppendInt(b, sec, 10)
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
