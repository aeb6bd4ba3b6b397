package cbor

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The examples of RFC 8949 Appendix A that this subset can produce.
func TestAppendRFC8949Examples(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"0", AppendInt(nil, 0), "00"},
		{"1", AppendInt(nil, 1), "01"},
		{"10", AppendInt(nil, 10), "0a"},
		{"23", AppendInt(nil, 23), "17"},
		{"24", AppendInt(nil, 24), "1818"},
		{"25", AppendInt(nil, 25), "1819"},
		{"100", AppendInt(nil, 100), "1864"},
		{"1000", AppendInt(nil, 1000), "1903e8"},
		{"1000000", AppendInt(nil, 1000000), "1a000f4240"},
		{"1000000000000", AppendInt(nil, 1000000000000), "1b000000e8d4a51000"},
		{"18446744073709551615", AppendUint(nil, math.MaxUint64), "1bffffffffffffffff"},
		{"-1", AppendInt(nil, -1), "20"},
		{"-10", AppendInt(nil, -10), "29"},
		{"-100", AppendInt(nil, -100), "3863"},
		{"-1000", AppendInt(nil, -1000), "3903e7"},
		{"min int64", AppendInt(nil, math.MinInt64), "3b7fffffffffffffff"},
		{"0.0", AppendFloat(nil, 0), "f90000"},
		{"-0.0", AppendFloat(nil, math.Copysign(0, -1)), "f98000"},
		{"1.0", AppendFloat(nil, 1), "f93c00"},
		{"1.1", AppendFloat(nil, 1.1), "fb3ff199999999999a"},
		{"1.5", AppendFloat(nil, 1.5), "f93e00"},
		{"65504.0", AppendFloat(nil, 65504), "f97bff"},
		{"100000.0", AppendFloat(nil, 100000), "fa47c35000"},
		{"3.4028234663852886e+38", AppendFloat(nil, 3.4028234663852886e+38), "fa7f7fffff"},
		{"1.0e+300", AppendFloat(nil, 1.0e+300), "fb7e37e43c8800759c"},
		{"5.960464477539063e-8", AppendFloat(nil, 5.960464477539063e-8), "f90001"},
		{"0.00006103515625", AppendFloat(nil, 0.00006103515625), "f90400"},
		{"-4.0", AppendFloat(nil, -4), "f9c400"},
		{"-4.1", AppendFloat(nil, -4.1), "fbc010666666666666"},
		{"Infinity", AppendFloat(nil, math.Inf(1)), "f97c00"},
		{"NaN", AppendFloat(nil, math.NaN()), "f97e00"},
		{"-Infinity", AppendFloat(nil, math.Inf(-1)), "f9fc00"},
		{"false", AppendBool(nil, false), "f4"},
		{"true", AppendBool(nil, true), "f5"},
		{"null", AppendNull(nil), "f6"},
		{"1(1363896240)", AppendInt(AppendTag(nil, TagEpochTime), 1363896240), "c11a514b67b0"},
		{"h''", AppendBytes(nil, nil), "40"},
		{"h'01020304'", AppendBytes(nil, []byte{1, 2, 3, 4}), "4401020304"},
		{`""`, AppendText(nil, ""), "60"},
		{`"a"`, AppendText(nil, "a"), "6161"},
		{`"IETF"`, AppendText(nil, "IETF"), "6449455446"},
		{`"\u00fc"`, AppendText(nil, "\u00fc"), "62c3bc"},
		{`"\u6c34"`, AppendText(nil, "\u6c34"), "63e6b0b4"},
		{"[]", AppendArray(nil, 0), "80"},
		{"[1,2,3]", AppendInt(AppendInt(AppendInt(AppendArray(nil, 3), 1), 2), 3), "83010203"},
		{"{}", AppendMap(nil, 0), "a0"},
		{"{1:2,3:4}", AppendInt(AppendInt(AppendInt(AppendInt(AppendMap(nil, 2), 1), 2), 3), 4), "a201020304"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hex.EncodeToString(tc.got); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			// Every example is one complete item: Skip consumes it all.
			r := NewReader(tc.got)
			if err := r.Skip(); err != nil || !r.Done() {
				t.Errorf("Skip: err %v, %d bytes left", err, r.Len())
			}
		})
	}
}

func TestReadScalars(t *testing.T) {
	tests := []struct {
		hex  string
		want Item
	}{
		{"00", Item{Type: Uint, Uint: 0}},
		{"1bffffffffffffffff", Item{Type: Uint, Uint: math.MaxUint64}},
		{"3863", Item{Type: Negint, Uint: 99}},
		{"f93c00", Item{Type: Float, Float: 1}},
		{"f90001", Item{Type: Float, Float: 5.960464477539063e-8}},
		{"f97bff", Item{Type: Float, Float: 65504}},
		{"fa47c35000", Item{Type: Float, Float: 100000}},
		{"fb3ff199999999999a", Item{Type: Float, Float: 1.1}},
		{"f4", Item{Type: Bool}},
		{"f5", Item{Type: Bool, Bool: true}},
		{"f6", Item{Type: Null}},
		{"f7", Item{Type: Undefined}},
		{"f0", Item{Type: Simple, Uint: 16}},
		{"f8ff", Item{Type: Simple, Uint: 255}},
		{"c1", Item{Type: Tag, Uint: 1}},
		{"9f", Item{Type: Array, Indefinite: true}},
		{"bf", Item{Type: Map, Indefinite: true}},
		{"ff", Item{Type: Break}},
	}
	for _, tc := range tests {
		t.Run(tc.hex, func(t *testing.T) {
			it, err := NewReader(unhex(t, tc.hex)).Next()
			if err != nil {
				t.Fatal(err)
			}
			if it.Type != tc.want.Type || it.Uint != tc.want.Uint || it.Bool != tc.want.Bool ||
				it.Float != tc.want.Float || it.Indefinite != tc.want.Indefinite {
				t.Errorf("got %+v, want %+v", it, tc.want)
			}
		})
	}
}

func TestReadStrings(t *testing.T) {
	tests := []struct {
		hex  string
		typ  Type
		want string
	}{
		{"4401020304", Bytes, "\x01\x02\x03\x04"},
		{"6449455446", Text, "IETF"},
		{"5f42010243030405ff", Bytes, "\x01\x02\x03\x04\x05"}, // RFC 8949 A: (_ h'0102', h'030405')
		{"7f657374726561646d696e67ff", Text, "streaming"},
		{"7fff", Text, ""},
	}
	for _, tc := range tests {
		t.Run(tc.hex, func(t *testing.T) {
			r := NewReader(unhex(t, tc.hex))
			it, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if it.Type != tc.typ || string(it.Str) != tc.want || !r.Done() {
				t.Errorf("got %v %q (done %v), want %v %q", it.Type, it.Str, r.Done(), tc.typ, tc.want)
			}
		})
	}
}

func TestIntRange(t *testing.T) {
	for _, tc := range []struct {
		it   Item
		want int64
		ok   bool
	}{
		{Item{Type: Uint, Uint: math.MaxInt64}, math.MaxInt64, true},
		{Item{Type: Uint, Uint: math.MaxInt64 + 1}, 0, false},
		{Item{Type: Negint, Uint: math.MaxInt64}, math.MinInt64, true},
		{Item{Type: Negint, Uint: math.MaxInt64 + 1}, 0, false},
		{Item{Type: Text}, 0, false},
	} {
		got, ok := tc.it.Int()
		if got != tc.want || ok != tc.ok {
			t.Errorf("%+v.Int() = %d, %v; want %d, %v", tc.it, got, ok, tc.want, tc.ok)
		}
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct{ name, hex string }{
		{"empty", ""},
		{"truncated head", "19"},
		{"truncated uint64", "1b0000"},
		{"reserved info 28", "1c"},
		{"reserved info 30", "1e"},
		{"indefinite uint", "1f"},
		{"indefinite tag", "df"},
		{"string past end", "6449"},
		{"huge string length", "7bffffffffffffffff41"},
		{"array count past end", "9a00010000"},
		{"map count past end", "a30102"},
		{"huge map count", "bbffffffffffffffff"},
		{"bad utf8", "62c328"},
		{"bad utf8 chunk", "7f62c328ff"},
		{"chunk of other type", "5f6161ff"},
		{"nested indefinite chunk", "5f5fffff"},
		{"unterminated indefinite string", "5f4101"},
		{"simple value below 32 in two bytes", "f801"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(unhex(t, tc.hex))
			err := r.Skip()
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Skip(%s) = %v, want ErrMalformed", tc.hex, err)
			}
		})
	}
}

func TestSkipNested(t *testing.T) {
	// [1, [2, 3], [_ 4, 5], {"a": 1, "b": [_ ]}, 1(0)] then a trailing 7.
	b := unhex(t, "85018202039f0405ffa261610161629fffc10007")
	r := NewReader(b)
	if err := r.Skip(); err != nil {
		t.Fatal(err)
	}
	it, err := r.Next()
	if err != nil || it.Type != Uint || it.Uint != 7 || !r.Done() {
		t.Fatalf("after Skip: %+v %v", it, err)
	}
}

func TestSkipDepthAndBreak(t *testing.T) {
	deep := bytes.Repeat([]byte{0x81}, MaxDepth+2)
	deep = append(deep, 0)
	if err := NewReader(deep).Skip(); !errors.Is(err, errDepth) {
		t.Errorf("deep nesting: %v", err)
	}
	if err := NewReader([]byte{0xff}).Skip(); !errors.Is(err, ErrMalformed) {
		t.Errorf("lone break: %v", err)
	}
	if err := NewReader([]byte{0x82, 0x01, 0xff}).Skip(); !errors.Is(err, ErrMalformed) {
		t.Errorf("break inside definite array: %v", err)
	}
}

func TestFloatShortestRoundTrip(t *testing.T) {
	vals := []float64{0, 1, -1, 0.5, 0.1, 1e-7, 65504, 65505, 1e38, 3.4e38, 1e300, math.SmallestNonzeroFloat64,
		math.MaxFloat64, 5.960464477539063e-8, 6.103515625e-05, 3.0517578125e-05, math.Inf(1), 21.5, -273.15}
	for _, v := range vals {
		b := AppendFloat(nil, v)
		it, err := NewReader(b).Next()
		if err != nil || it.Type != Float || it.Float != v {
			t.Errorf("%v: encoded %x, read back %v (%v)", v, b, it.Float, err)
		}
		if math.Float64bits(v)&(1<<63) == 0 && len(b) > 9 {
			t.Errorf("%v: %d bytes", v, len(b))
		}
	}
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{"85018202039f0405ffa261610161629fffc10007", "7f657374726561646d696e67ff",
		"fb3ff199999999999a", "a201020304", "9fff", "bf6161f5ff", "c11a514b67b0"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(b)
		for !r.Done() {
			before := r.Offset()
			if err := r.Skip(); err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v does not wrap ErrMalformed", err)
				}
				return
			}
			if r.Offset() <= before || r.Offset() > len(b) {
				t.Fatalf("offset %d -> %d of %d", before, r.Offset(), len(b))
			}
		}
	})
}
