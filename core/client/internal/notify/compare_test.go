package notify

import (
	"math"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

func TestCmpValue(t *testing.T) {
	const big = 1 << 53 // above it, float64 does not hold every integer
	cases := []struct {
		name string
		v    model.Value
		f    float64
		want int
		ok   bool
	}{
		{"float below", model.Float(1), 2, -1, true},
		{"float equal", model.Float(2), 2, 0, true},
		{"float above", model.Float(3), 2, 1, true},
		{"float +Inf", model.Float(math.Inf(1)), 1e308, 1, true},
		{"float NaN", model.Float(math.NaN()), 0, 0, false},
		{"int below a fraction", model.Int(2), 2.5, -1, true},
		{"int above a fraction", model.Int(3), 2.5, 1, true},
		{"int equal", model.Int(-7), -7, 0, true},
		{"negative int above a negative fraction", model.Int(0), -0.5, 1, true},
		{"negative int below a negative fraction", model.Int(-1), -0.5, -1, true},
		{"int 2^53+1 above 2^53", model.Int(big + 1), big, 1, true},
		{"int 2^53-1 below 2^53", model.Int(big - 1), big, -1, true},
		{"max int below 2^63", model.Int(math.MaxInt64), 0x1p63, -1, true},
		{"min int equal to -2^63", model.Int(math.MinInt64), -0x1p63, 0, true},
		{"min int above -2^64", model.Int(math.MinInt64), -0x1p64, 1, true},
		{"uint above a negative", model.Uint(0), -0.5, 1, true},
		{"uint 2^53+1 above 2^53", model.Uint(big + 1), big, 1, true},
		{"max uint below 2^64", model.Uint(math.MaxUint64), 0x1p64, -1, true},
		{"max uint above 2^64 - 2^11", model.Uint(math.MaxUint64), 0x1p64 - 0x1p11, 1, true},
		{"uint equal", model.Uint(10), 10, 0, true},
		{"uint below a fraction", model.Uint(10), 10.25, -1, true},
		{"time is not numeric", model.UnixTime(5), 1, 0, false},
		{"string is not numeric", model.String("5"), 1, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := cmpValue(tc.v, tc.f)
			if got != tc.want || ok != tc.ok {
				t.Errorf("cmpValue(%s, %v) = %d, %v; want %d, %v", tc.v, tc.f, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestStepReached(t *testing.T) {
	cases := []struct {
		name    string
		last, v model.Value
		st      float64
		want    bool
	}{
		{"float up by st", model.Float(1), model.Float(1.5), 0.5, true},
		{"float down by st", model.Float(1.5), model.Float(1), 0.5, true},
		{"float under st", model.Float(1), model.Float(1.4), 0.5, false},
		{"float from NaN", model.Float(math.NaN()), model.Float(1), 0, false},
		{"float to +Inf", model.Float(1), model.Float(math.Inf(1)), 1e308, true},
		{"st 0 with equal values", model.Float(1), model.Float(1), 0, true},
		{"int across zero", model.Int(-3), model.Int(3), 6, true},
		{"int across zero under st", model.Int(-3), model.Int(2), 6, false},
		{"int extremes", model.Int(math.MinInt64), model.Int(math.MaxInt64), 0x1p64, false},
		{"int extremes, st just below", model.Int(math.MinInt64), model.Int(math.MaxInt64), 0x1p64 - 0x1p11, true},
		{"int 1 apart above 2^53", model.Int(1<<53 + 1), model.Int(1 << 53), 1, true},
		{"int fraction of st", model.Int(0), model.Int(2), 2.5, false},
		{"uint down", model.Uint(10), model.Uint(4), 6, true},
		{"uint near 2^64", model.Uint(math.MaxUint64), model.Uint(math.MaxUint64 - 1), 1, true},
		{"uint near 2^64 under st", model.Uint(math.MaxUint64), model.Uint(math.MaxUint64 - 1), 1.5, false},
		{"time is not numeric", model.UnixTime(0), model.UnixTime(10), 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := stepReached(tc.last, tc.v, tc.st); got != tc.want {
				t.Errorf("stepReached(%s, %s, %v) = %v, want %v", tc.last, tc.v, tc.st, got, tc.want)
			}
		})
	}
}
