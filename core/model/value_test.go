package model

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestValueAccessors(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		v    Value
		typ  Type
		any  any
	}{
		{"int", Int(-42), TypeInteger, int64(-42)},
		{"uint", Uint(math.MaxUint64), TypeUnsigned, uint64(math.MaxUint64)},
		{"float", Float(21.5), TypeFloat, 21.5},
		{"bool", Bool(true), TypeBoolean, true},
		{"string", String("Open Mobile Alliance"), TypeString, "Open Mobile Alliance"},
		{"opaque", Opaque([]byte{0, 1, 0xff}), TypeOpaque, []byte{0, 1, 0xff}},
		{"time", Time(now), TypeTime, now},
		{"objlnk", Objlnk(3, 0), TypeObjlnk, ObjectLink{3, 0}},
		{"corelnk", Corelnk("</3/0>"), TypeCorelnk, "</3/0>"},
		{"none", Value{}, TypeNone, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.v.Type() != tc.typ {
				t.Errorf("Type = %v, want %v", tc.v.Type(), tc.typ)
			}
			got := tc.v.Any()
			switch want := tc.any.(type) {
			case []byte:
				if string(got.([]byte)) != string(want) {
					t.Errorf("Any = %v, want %v", got, want)
				}
			case time.Time:
				if !got.(time.Time).Equal(want) {
					t.Errorf("Any = %v, want %v", got, want)
				}
			default:
				if got != tc.any {
					t.Errorf("Any = %#v, want %#v", got, tc.any)
				}
			}
		})
	}
	// Accessors of the wrong type give zero values, never another type's bits.
	if Float(1).Int() != 0 || Int(1).Float() != 0 || String("x").Bool() || Int(5).Str() != "" || Int(1).Objlnk() != (ObjectLink{}) {
		t.Error("wrong-type accessor returned something")
	}
	// Opaque copies its input.
	b := []byte{1, 2}
	v := Opaque(b)
	b[0] = 9
	if v.Str() != "\x01\x02" {
		t.Error("Opaque aliases its input")
	}
	if v.Bytes()[0] = 7; v.Str() != "\x01\x02" {
		t.Error("Bytes aliases the value")
	}
}

func TestValueEquality(t *testing.T) {
	if Int(1) == Uint(1) || Int(1) == Time(time.Unix(1, 0)) || String("a") == Corelnk("a") || String("a") == OpaqueString("a") {
		t.Error("values of different types compare equal")
	}
	if Float(math.NaN()) != Float(math.NaN()) || Float(math.Float64frombits(0x7ff8000000000bad)) != Float(math.NaN()) {
		t.Error("every NaN should be the one canonical NaN")
	}
	if !Objlnk(1, 2).Equal(Objlnk(1, 2)) {
		t.Error("Equal")
	}
}

func TestTextRoundTrip(t *testing.T) {
	tests := []struct {
		v    Value
		text string
	}{
		{Int(0), "0"},
		{Int(-9223372036854775808), "-9223372036854775808"},
		{Int(9223372036854775807), "9223372036854775807"},
		{Uint(18446744073709551615), "18446744073709551615"},
		{Float(21.5), "21.5"},
		{Float(-0.000125), "-0.000125"},
		{Float(1), "1"},
		{Float(1e300), "1e+300"},
		{Float(5e-324), "5e-324"},
		{Bool(false), "0"},
		{Bool(true), "1"},
		{String("héllo, world"), "héllo, world"},
		{String(""), ""},
		{Opaque([]byte("hello")), "aGVsbG8="},
		{UnixTime(1367491215), "1367491215"},
		{UnixTime(-1), "-1"},
		{Objlnk(65535, 65535), "65535:65535"},
		{Objlnk(3, 0), "3:0"},
		{Corelnk(`</3/0>;ct=60`), `</3/0>;ct=60`},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			if got := FormatText(tc.v); got != tc.text {
				t.Errorf("FormatText(%v) = %q, want %q", tc.v, got, tc.text)
			}
			back, err := ParseText(tc.text, tc.v.Type())
			if err != nil || back != tc.v {
				t.Errorf("ParseText(%q) = %v, %v; want %v", tc.text, back, err, tc.v)
			}
		})
	}
}

func TestParseTextErrors(t *testing.T) {
	tests := []struct {
		typ Type
		in  string
	}{
		{TypeInteger, ""},
		{TypeInteger, "1.5"},
		{TypeInteger, "+1"},
		{TypeInteger, "9223372036854775808"},
		{TypeInteger, " 1"},
		{TypeUnsigned, "-1"},
		{TypeUnsigned, "18446744073709551616"},
		{TypeFloat, "NaN"},
		{TypeFloat, "Inf"},
		{TypeFloat, "0x1p3"},
		{TypeFloat, "1_000"},
		{TypeFloat, ""},
		{TypeBoolean, "true"},
		{TypeBoolean, "2"},
		{TypeBoolean, ""},
		{TypeString, "\xff"},
		{TypeOpaque, "!!!"},
		{TypeTime, "yesterday"},
		{TypeObjlnk, "3"},
		{TypeObjlnk, "3:"},
		{TypeObjlnk, "3:65536"},
		{TypeObjlnk, "-1:0"},
		{TypeNone, "x"},
	}
	for _, tc := range tests {
		t.Run(tc.typ.String()+"/"+tc.in, func(t *testing.T) {
			_, err := ParseText(tc.in, tc.typ)
			if !errors.Is(err, ErrWrongType) || CodeOf(err) != BadRequest {
				t.Errorf("ParseText(%q, %v) = %v, want a 4.00 ErrWrongType", tc.in, tc.typ, err)
			}
		})
	}
}

func TestConvert(t *testing.T) {
	ok := []struct {
		in   Value
		to   Type
		want Value
	}{
		{Float(3), TypeInteger, Int(3)},
		{Float(-3), TypeInteger, Int(-3)},
		{Float(3), TypeUnsigned, Uint(3)},
		{Float(1700000000), TypeTime, UnixTime(1700000000)},
		{Int(3), TypeFloat, Float(3)},
		{Int(3), TypeUnsigned, Uint(3)},
		{Int(1700000000), TypeTime, UnixTime(1700000000)},
		{Uint(3), TypeInteger, Int(3)},
		{Uint(1 << 53), TypeFloat, Float(1 << 53)},
		{UnixTime(5), TypeInteger, Int(5)},
		{String("3:4"), TypeObjlnk, Objlnk(3, 4)},
		{String("</1>"), TypeCorelnk, Corelnk("</1>")},
		{Corelnk("</1>"), TypeString, String("</1>")},
		{Bool(true), TypeBoolean, Bool(true)},
	}
	for _, tc := range ok {
		got, err := tc.in.Convert(tc.to)
		if err != nil || got != tc.want {
			t.Errorf("%v.Convert(%v) = %v, %v; want %v", tc.in, tc.to, got, err, tc.want)
		}
	}
	bad := []struct {
		in Value
		to Type
	}{
		{Float(3.5), TypeInteger},
		{Float(1e30), TypeInteger},
		{Float(math.NaN()), TypeInteger},
		{Float(-1), TypeUnsigned},
		{Int(-1), TypeUnsigned},
		{Uint(math.MaxUint64), TypeInteger},
		{Int(1<<53 + 1), TypeFloat},
		{Int(1), TypeBoolean},
		{String("x"), TypeInteger},
		{String("x"), TypeObjlnk},
		{String("x"), TypeOpaque},
		{OpaqueString("x"), TypeString},
		{Bool(true), TypeInteger},
	}
	for _, tc := range bad {
		if got, err := tc.in.Convert(tc.to); !errors.Is(err, ErrWrongType) {
			t.Errorf("%v.Convert(%v) = %v, %v; want ErrWrongType", tc.in, tc.to, got, err)
		}
	}
}

func TestParseType(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Type
	}{
		{"String", TypeString}, {"Integer", TypeInteger}, {"Unsigned Integer", TypeUnsigned},
		{"unsigned integer", TypeUnsigned}, {"Float", TypeFloat}, {"Boolean", TypeBoolean},
		{"Opaque", TypeOpaque}, {"Time", TypeTime}, {"Objlnk", TypeObjlnk}, {"Corelnk", TypeCorelnk},
		{"", TypeNone}, {" none ", TypeNone}, {"Unsigned", TypeUnsigned},
	} {
		got, err := ParseType(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseType(%q) = %v, %v", tc.in, got, err)
		}
	}
	if _, err := ParseType("Decimal"); err == nil {
		t.Error("ParseType accepted Decimal")
	}
	for ty := TypeNone; ty <= TypeCorelnk; ty++ {
		if got, err := ParseType(ty.String()); err != nil || got != ty {
			t.Errorf("ParseType(%v.String()) = %v, %v", ty, got, err)
		}
	}
}

func TestObjectLink(t *testing.T) {
	if !NullObjectLink.IsNull() || NullObjectLink.String() != "65535:65535" {
		t.Error("null object link")
	}
	l, err := ParseObjectLink("65535:65535")
	if err != nil || !l.IsNull() {
		t.Errorf("ParseObjectLink null = %v, %v", l, err)
	}
	for _, s := range []string{"", ":", "1:", ":1", "1:2:3", "+1:2", "1:+2", "a:b", "65536:0"} {
		if _, err := ParseObjectLink(s); err == nil {
			t.Errorf("ParseObjectLink(%q) succeeded", s)
		}
	}
}

func TestValueString(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		want string
	}{
		{String("a"), `"a"`},
		{OpaqueString("\x01\xab"), "0x01ab"},
		{Int(-2), "-2"},
		{Value{}, "none"},
		{UnixTime(0), "0 (1970-01-01T00:00:00Z)"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
