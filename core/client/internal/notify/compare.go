package notify

import (
	"math"

	"github.com/wasm2m/wasm2m/core/model"
)

// Thresholds and steps are float64 attributes (Core Table 5.1.2-2) while
// Integer and Unsigned Integer values are 64-bit, beyond the 53 bits a
// float64 holds exactly. The comparisons below are exact for every value,
// so that a threshold of 9007199254740993 (2^53+1) is crossed by the
// integer above it and not by the one below.

// cmpValue compares a numeric value with a finite f: -1 if v < f, 0 if
// equal, +1 if v > f. ok is false when they cannot be compared: v is NaN
// or not numeric.
func cmpValue(v model.Value, f float64) (c int, ok bool) {
	switch v.Type() {
	case model.TypeFloat:
		x := v.Float()
		switch {
		case x < f:
			return -1, true
		case x > f:
			return 1, true
		case x == f:
			return 0, true
		}
		return 0, false // NaN
	case model.TypeInteger:
		return cmpIntFloat(v.Int(), f), true
	case model.TypeUnsigned:
		return cmpUintFloat(v.Uint(), f), true
	}
	return 0, false
}

// cmpIntFloat compares i with a finite f exactly.
func cmpIntFloat(i int64, f float64) int {
	switch {
	case f >= 0x1p63:
		return -1
	case f < -0x1p63:
		return 1
	}
	t := math.Trunc(f) // in [-2^63, 2^63): int64(t) is exact
	return cmpWhole(cmpInt(i, int64(t)), f-t)
}

// cmpUintFloat compares u with a finite f exactly.
func cmpUintFloat(u uint64, f float64) int {
	switch {
	case f < 0:
		return 1
	case f >= 0x1p64:
		return -1
	}
	t := math.Trunc(f) // in [0, 2^64): uint64(t) is exact
	return cmpWhole(cmpUint(u, uint64(t)), f-t)
}

// cmpWhole finishes comparing an integer n with f = t + frac, given c, the
// comparison of n with the integer t: when n == t, n is below f if frac is
// positive and above it if negative.
func cmpWhole(c int, frac float64) int {
	if c != 0 {
		return c
	}
	switch {
	case frac > 0:
		return -1
	case frac < 0:
		return 1
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// above reports whether v > gt; a NaN is not.
func above(v model.Value, gt float64) bool {
	c, ok := cmpValue(v, gt)
	return ok && c > 0
}

// below reports whether v < lt; a NaN is not.
func below(v model.Value, lt float64) bool {
	c, ok := cmpValue(v, lt)
	return ok && c < 0
}

// stepReached reports whether |v - last| >= st for two numeric values of
// the same type and a finite st >= 0. Integer differences are computed
// exactly: the magnitude of the difference of two int64 or two uint64
// always fits a uint64. A NaN never reaches a step.
func stepReached(last, v model.Value, st float64) bool {
	switch v.Type() {
	case model.TypeFloat:
		return math.Abs(v.Float()-last.Float()) >= st
	case model.TypeInteger:
		a, b := v.Int(), last.Int()
		if a < b {
			a, b = b, a
		}
		return cmpUintFloat(uint64(a)-uint64(b), st) >= 0
	case model.TypeUnsigned:
		a, b := v.Uint(), last.Uint()
		if a < b {
			a, b = b, a
		}
		return cmpUintFloat(a-b, st) >= 0
	}
	return false
}
