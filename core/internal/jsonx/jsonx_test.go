package jsonx

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

func TestStr(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
		alias    bool // the content is a slice of the input
		rest     int  // offset after the string
	}{
		{"empty", `""`, "", true, 2},
		{"plain", `"abc",`, "abc", true, 5},
		{"utf-8", `"é€😀"`, "é€😀", true, 11},
		{"del and above", "\"\x7f\"", "\x7f", true, 3},
		{"short escapes", `"q\"b\\s\/n\nr\rt\tb\bf\f"`, "q\"b\\s/n\nr\rt\tb\bf\f", false, 26},
		{"unicode escapes", `"\u0000\u001F\u00e9\u20AC"`, "\x00\x1fé€", false, 26},
		{"surrogate pair", `"\ud83d\ude00 😀"`, "😀 😀", false, 19},
		{"replacement character", `"\ufffd"`, "\ufffd", false, 8},
		{"escape then raw utf-8", `"\né"`, "\né", false, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := Lexer{Data: []byte(tc.in)}
			got, err := l.Str()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want || l.Off != tc.rest {
				t.Errorf("got %q at %d, want %q at %d", got, l.Off, tc.want, tc.rest)
			}
			if aliased := len(got) > 0 && &got[0] == &l.Data[1]; aliased != tc.alias && len(got) > 0 {
				t.Errorf("aliases the input: %v, want %v", aliased, tc.alias)
			}
			if cap(got) != len(got) && tc.alias {
				t.Errorf("capacity %d beyond the content, %d", cap(got), len(got))
			}
		})
	}
}

func TestStrErrors(t *testing.T) {
	tests := []struct {
		name, in string
		msg      string
		off      int
	}{
		{"end", ``, "unexpected end of data, want a string", 0},
		{"not a string", `1`, "want a string, have '1'", 0},
		{"unterminated", `"abc`, "unterminated string", 4},
		{"unterminated after escape", `"\n`, "unterminated string", 3},
		{"unterminated escape", `"abc\`, "unterminated escape", 4},
		{"control character", "\"a\nb\"", "control character in a string", 2},
		{"control character after escape", "\"\\n\x01\"", "control character in a string", 3},
		{"invalid utf-8", "\"a\xc3\"", "string is not valid UTF-8", 1},
		{"invalid utf-8 with escape", "\"\\n\xc3\"", "string is not valid UTF-8", 1},
		{"encoded surrogate", "\"\xed\xa0\x80\"", "string is not valid UTF-8", 1},
		{"bad escape", `"\x41"`, `bad escape \x`, 1},
		{"short unicode escape", `"\u12"`, `bad \u escape`, 1},
		{"bad hex", `"\u12g4"`, `bad \u escape`, 1},
		{"lone high surrogate", `"\ud800"`, "unpaired surrogate in a string", 1},
		{"lone low surrogate", `"\udc00x"`, "unpaired surrogate in a string", 1},
		{"reversed surrogates", `"\udc00\ud800"`, "unpaired surrogate in a string", 1},
		{"high surrogate then letter", `"\ud800\u0041"`, "unpaired surrogate in a string", 1},
		{"high surrogate then short escape", `"\ud800\udc0"`, "unpaired surrogate in a string", 1},
		{"high surrogate then raw text", `"\ud800abcdef"`, "unpaired surrogate in a string", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := Lexer{Data: []byte(tc.in)}
			got, err := l.Str()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %q, %v; want an *Error", got, err)
			}
			if e.Msg != tc.msg || e.Offset != tc.off {
				t.Errorf("got %q at %d, want %q at %d", e.Msg, e.Offset, tc.msg, tc.off)
			}
		})
	}
}

func TestNumber(t *testing.T) {
	tests := []struct {
		in    string
		lit   string
		isInt bool
		want  model.Value
	}{
		{"0", "0", true, model.Int(0)},
		{"-0", "-0", true, model.Int(0)},
		{"12,", "12", true, model.Int(12)},
		{"-12]", "-12", true, model.Int(-12)},
		{"9223372036854775807", "9223372036854775807", true, model.Int(math.MaxInt64)},
		{"-9223372036854775808", "-9223372036854775808", true, model.Int(math.MinInt64)},
		{"9223372036854775808", "9223372036854775808", true, model.Uint(1 << 63)},
		{"18446744073709551615", "18446744073709551615", true, model.Uint(math.MaxUint64)},
		{"18446744073709551616", "18446744073709551616", true, model.Float(18446744073709551616)},
		{"-9223372036854775809", "-9223372036854775809", true, model.Float(-9223372036854775809)},
		{"1.0", "1.0", false, model.Float(1)},
		{"-0.0", "-0.0", false, model.Float(math.Copysign(0, -1))},
		{"0.1", "0.1", false, model.Float(0.1)},
		{"1e2", "1e2", false, model.Float(100)},
		{"1E+2}", "1E+2", false, model.Float(100)},
		{"-2.5e-3", "-2.5e-3", false, model.Float(-0.0025)},
		{"1e400000000000", "1e400000000000", false, model.Value{}},
		{"1e-400", "1e-400", false, model.Float(0)},
		{"123456789012345678901234567890", "123456789012345678901234567890", true, model.Float(1.2345678901234568e29)},
		{"0.30000000000000004441", "0.30000000000000004441", false, model.Float(0.30000000000000004)},
		{"4.9e-324", "4.9e-324", false, model.Float(5e-324)},
		{"1.7976931348623157e308", "1.7976931348623157e308", false, model.Float(math.MaxFloat64)},
		{"1.8e308", "1.8e308", false, model.Value{}},
		{"01", "0", true, model.Int(0)},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			l := Lexer{Data: []byte(tc.in)}
			lit, isInt, err := l.Number()
			if err != nil {
				t.Fatal(err)
			}
			if string(lit) != tc.lit || isInt != tc.isInt || l.Off != len(lit) {
				t.Fatalf("got %q %v at %d, want %q %v", lit, isInt, l.Off, tc.lit, tc.isInt)
			}
			v, ok := NumberValue(lit, isInt)
			if ok != !tc.want.IsNone() || v != tc.want {
				t.Errorf("NumberValue = %v %v, want %v", v, ok, tc.want)
			}
		})
	}
}

func TestNumberErrors(t *testing.T) {
	tests := []struct {
		in, msg string
		off     int
	}{
		{"", "unexpected end of data, want a number", 0},
		{"-", "want a number, have '-'", 0},
		{"+1", "want a number, have '+'", 0},
		{".5", "want a number, have '.'", 0},
		{"-a", "want a number, have '-'", 0},
		{"1.", "number with no digit after '.'", 2},
		{"1.e5", "number with no digit after '.'", 2},
		{"1e", "number with no digit in its exponent", 2},
		{"1e+", "number with no digit in its exponent", 3},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			l := Lexer{Data: []byte(tc.in)}
			_, _, err := l.Number()
			var e *Error
			if !errors.As(err, &e) || e.Msg != tc.msg || e.Offset != tc.off {
				t.Errorf("got %v, want %q at %d", err, tc.msg, tc.off)
			}
		})
	}
}

func TestSeconds(t *testing.T) {
	const max53 = 1<<53 - 1
	tests := []struct {
		in        string
		max       int64
		sec, nsec int64
		ok        bool
	}{
		{"0", max53, 0, 0, true},
		{"1700000000", max53, 1700000000, 0, true},
		{"1.5", max53, 1, 5e8, true},
		{"-0.5", max53, -1, 5e8, true},
		{"-1.5", max53, -2, 5e8, true},
		{"0.0000000019", max53, 0, 1, true},
		{"-0.0000000001", max53, 0, 0, true},
		{"1.5e3", max53, 1500, 0, true},
		{"15e-1", max53, 1, 5e8, true},
		{"1e-9", max53, 0, 1, true},
		{"-1e-10", max53, 0, 0, true},
		{"0e999999999", max53, 0, 0, true},
		{"9007199254740991.999999999", max53, max53, 999999999, true},
		{"9007199254740992", max53, 0, 0, false},
		{"-9007199254740991.5", max53, -max53 - 1, 5e8, true},
		{"9223372036854775807.5", math.MaxInt64, math.MaxInt64, 5e8, true},
		{"-9223372036854775807.5", math.MaxInt64, math.MinInt64, 5e8, true},
		{"9223372036854775808", math.MaxInt64, 0, 0, false},
		{"99999999999999999999", math.MaxInt64, 0, 0, false},
		{"1e19", math.MaxInt64, 0, 0, false},
		{"1e18", math.MaxInt64, 1e18, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d := SplitNumber([]byte(tc.in))
			sec, nsec, ok := d.Seconds(tc.max)
			if sec != tc.sec || nsec != tc.nsec || ok != tc.ok {
				t.Errorf("got %d %d %v, want %d %d %v", sec, nsec, ok, tc.sec, tc.nsec, tc.ok)
			}
		})
	}
}

func TestSkip(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct {
		name, in string
		msg      string // "" when Skip succeeds and consumes all of in
	}{
		{"string", `"a\u0041"`, ""},
		{"number", `-1.5e3`, ""},
		{"literals", `[true,false,null]`, ""},
		{"object", `{"a":[1,{"b":{}}], "c" : "d" }`, ""},
		{"white space", "[ 1 ,\t2\n,\r3 ]", ""},
		{"nesting at the limit", deep(MaxDepth + 1), ""},
		{"nesting beyond the limit", deep(MaxDepth + 2), "values nested too deeply"},
		{"bad literal", `nul`, "bad literal"},
		{"bad value", `+`, "want a value, have '+'"},
		{"end", ``, "unexpected end of data, want a value"},
		{"unterminated array", `[1,2`, "unexpected end of data, want ',' or ']' in an array"},
		{"trailing comma", `[1,]`, "want a value, have ']'"},
		{"missing colon", `{"a" 1}`, "want ':', have '1'"},
		{"key not a string", `{a:1}`, "want a string, have 'a'"},
		{"missing comma", `{"a":1 "b":2}`, "want ',' or '}' in an object, have '\"'"},
		{"bad number inside", `[1.]`, "number with no digit after '.'"},
		{"bad string inside", "{\"a\":\"\x01\"}", "control character in a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := Lexer{Data: []byte(tc.in)}
			err := l.Skip()
			if tc.msg == "" {
				if err != nil || !l.AtEnd() {
					t.Errorf("got %v at %d of %d", err, l.Off, len(tc.in))
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Msg != tc.msg {
				t.Errorf("got %v, want %q", err, tc.msg)
			}
		})
	}
}

func TestLexerTokens(t *testing.T) {
	l := Lexer{Data: []byte(" \t\r\n{ true false x")}
	l.WS()
	if l.Peek() != '{' || l.Eat('[') || !l.Eat('{') {
		t.Fatalf("at %d: want '{'", l.Off)
	}
	if err := l.Expect(':'); err == nil || err.Error() != "offset 5: want ':', have ' '" {
		t.Errorf("Expect: %v", err)
	}
	l.WS()
	if v, ok := l.Bool(); !v || !ok {
		t.Errorf("Bool = %v %v, want true", v, ok)
	}
	l.WS()
	if v, ok := l.Bool(); v || !ok {
		t.Errorf("Bool = %v %v, want false", v, ok)
	}
	l.WS()
	if _, ok := l.Bool(); ok || l.Peek() != 'x' {
		t.Errorf("Bool consumed %q", l.Data[:l.Off])
	}
	if l.Word("xy") || !l.Word("x") || !l.AtEnd() || l.Peek() != 0 {
		t.Errorf("Word: at %d", l.Off)
	}
	if err := l.Expect('}'); err == nil || err.Error() != "offset 18: unexpected end of data, want '}'" {
		t.Errorf("Expect at the end: %v", err)
	}
}

func TestAppendString(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", `""`, true},
		{"abc", `"abc"`, true},
		{"q\"b\\s/\n\r\t\b\f\x00\x1f\x7f", `"q\"b\\s/\n\r\t\b\f\u0000\u001f` + "\x7f" + `"`, true},
		{"é€😀\u2028<>&", "\"é€😀\u2028<>&\"", true},
		{"a\xc3", "", false},
		{"\xed\xa0\x80", "", false},
		{"\xff", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			got, ok := AppendString([]byte("x"), tc.in)
			if ok != tc.ok || ok && string(got) != "x"+tc.want || !ok && string(got) != "x" {
				t.Fatalf("got %q %v, want %q %v", got, ok, tc.want, tc.ok)
			}
			if !ok {
				return
			}
			l := Lexer{Data: got[1:]}
			back, err := l.Str()
			if err != nil || string(back) != tc.in {
				t.Errorf("reads back as %q, %v", back, err)
			}
		})
	}
}

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{-1.5, "-1.5"},
		{0.1, "0.1"},
		{1e20, "100000000000000000000.0"},
		{1e21, "1e+21"},
		{1e-6, "0.000001"},
		{1e-7, "1e-07"},
		{-2.5e-300, "-2.5e-300"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{5e-324, "5e-324"},
		{math.NaN(), ""},
		{math.Inf(1), ""},
		{math.Inf(-1), ""},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			got, ok := AppendFloat([]byte("x"), tc.f)
			if ok != (tc.want != "") || string(got) != "x"+tc.want {
				t.Fatalf("got %q %v, want %q", got, ok, tc.want)
			}
			if !ok {
				return
			}
			l := Lexer{Data: got[1:]}
			lit, isInt, err := l.Number()
			if err != nil || isInt || !l.AtEnd() {
				t.Fatalf("reads back as %q %v, %v", lit, isInt, err)
			}
			if v, ok := NumberValue(lit, isInt); !ok || v != model.Float(tc.f) {
				t.Errorf("reads back as %v", v)
			}
		})
	}
}

func TestAppendSeconds(t *testing.T) {
	tests := []struct {
		sec, nsec int64
		want      string
	}{
		{0, 0, "0"},
		{1700000000, 0, "1700000000"},
		{-5, 0, "-5"},
		{1, 5e8, "1.5"},
		{0, 1, "0.000000001"},
		{-1, 5e8, "-0.5"},
		{-2, 999999999, "-1.000000001"},
		{math.MaxInt64, 999999999, "9223372036854775807.999999999"},
		{math.MinInt64, 1, "-9223372036854775807.999999999"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			got := AppendSeconds([]byte("x"), tc.sec, tc.nsec)
			if string(got) != "x"+tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			d := SplitNumber(got[1:])
			sec, nsec, ok := d.Seconds(math.MaxInt64)
			if !ok || sec != tc.sec || nsec != tc.nsec {
				t.Errorf("reads back as %d %d %v", sec, nsec, ok)
			}
		})
	}
}

// The hot paths allocate nothing but the copy of an escaped string.
func TestAllocations(t *testing.T) {
	data := []byte(`{"a":"plain","b":-12.5e3,"c":[true,null,{"d":"x"}]}`)
	if a := testing.AllocsPerRun(100, func() {
		l := Lexer{Data: data}
		if err := l.Skip(); err != nil {
			t.Fatal(err)
		}
		l = Lexer{Data: data[5:]}
		if _, err := l.Str(); err != nil {
			t.Fatal(err)
		}
		l = Lexer{Data: data[17:]}
		lit, isInt, err := l.Number()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := NumberValue(lit, isInt); !ok {
			t.Fatal("out of range")
		}
	}); a != 0 {
		t.Errorf("%v allocations to read, want 0", a)
	}
	buf := make([]byte, 0, 64)
	if a := testing.AllocsPerRun(100, func() {
		b, _ := AppendString(buf[:0], "a\"b\n€")
		b, _ = AppendFloat(b, 21.5)
		_ = AppendSeconds(b, -2, 5e8)
	}); a != 0 {
		t.Errorf("%v allocations to write, want 0", a)
	}
}
