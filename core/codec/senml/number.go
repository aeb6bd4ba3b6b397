package senml

import (
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/wasm2m/wasm2m/core/internal/jsonx"
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

// decimalSeconds converts a number exactly to a SenML time, truncating
// digits below the nanosecond; ok is false beyond maxSeconds.
func decimalSeconds(d *jsonx.Decimal) (seconds, bool) {
	sec, nsec, ok := d.Seconds(maxSeconds - 1)
	return seconds{sec, nsec}, ok
}

// floatSeconds converts a float time exactly as its shortest decimal
// form reads (a float sent as 1700000000.123 is that many seconds).
func floatSeconds(f float64) (seconds, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return seconds{}, false
	}
	var buf [32]byte
	b := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	d := jsonx.SplitNumber(b)
	return decimalSeconds(&d)
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
