package jsonx

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/wasm2m/wasm2m/core/model"
)

// FuzzLexer checks the lexer against encoding/json and against itself:
// Skip accepts what encoding/json accepts but for what jsonx refuses on
// purpose (nesting beyond MaxDepth, text that is not UTF-8, unpaired
// surrogates); a string reads as encoding/json reads it and survives
// AppendString; a number is classified without loss, survives AppendFloat
// when it is a Float, and converts to the seconds that exact arithmetic
// gives. Its seeds are committed under testdata/fuzz/FuzzLexer.
func FuzzLexer(f *testing.F) {
	for _, s := range []string{`"a\u00e9\ud83d\ude00"`, `-12.5e-3`, `{"a":[1,true,null]}`, `18446744073709551616`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := Lexer{Data: data}
		l.WS()
		start := l.Off
		err := l.Skip()
		if l.Off < start || l.Off > len(data) {
			t.Fatalf("Skip left the offset at %d of %d", l.Off, len(data))
		}
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Skip: %T %v is not an *Error", err, err)
			}
			if json.Valid(data) && !refused(data) {
				t.Fatalf("Skip refuses what encoding/json accepts: %v", err)
			}
			return
		}
		l.WS()
		if !l.AtEnd() {
			return // a value and then something else
		}
		if !json.Valid(data) {
			t.Fatalf("Skip accepts what encoding/json refuses")
		}
		value := data[start:]
		value = value[:len(bytes.TrimRight(value, " \t\r\n"))]
		switch {
		case value[0] == '"':
			checkString(t, value)
		case value[0] == '-' || isDigit(value[0]):
			checkNumber(t, value)
		}
	})
}

// refused reports whether data holds what jsonx refuses and encoding/json
// does not: a value nested more than MaxDepth deep, bytes that are not
// UTF-8, or a \u escape of a surrogate.
func refused(data []byte) bool {
	if !utf8.Valid(data) {
		return true
	}
	depth, in := 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case in && c == '\\':
			if i+2 < len(data) && data[i+1] == 'u' && (data[i+2] == 'd' || data[i+2] == 'D') {
				return true
			}
			i++
		case c == '"':
			in = !in
		case !in && (c == '[' || c == '{'):
			if depth++; depth > MaxDepth {
				return true
			}
		case !in && (c == ']' || c == '}'):
			depth--
		}
	}
	return false
}

func checkString(t *testing.T, value []byte) {
	l := Lexer{Data: value}
	s, err := l.Str()
	if err != nil {
		t.Fatalf("Skip accepts the string, Str does not: %v", err)
	}
	var want string
	if err := json.Unmarshal(value, &want); err != nil || string(s) != want {
		t.Fatalf("Str = %q, encoding/json reads %q, %v", s, want, err)
	}
	b, ok := AppendString(nil, string(s))
	if !ok {
		t.Fatalf("AppendString refuses %q", s)
	}
	l = Lexer{Data: b}
	back, err := l.Str()
	if err != nil || !bytes.Equal(back, s) || !l.AtEnd() {
		t.Fatalf("%q written as %s reads back as %q, %v", s, b, back, err)
	}
}

func checkNumber(t *testing.T, value []byte) {
	l := Lexer{Data: value}
	lit, isInt, err := l.Number()
	if err != nil || !bytes.Equal(lit, value) {
		t.Fatalf("Number = %q, %v; want %q", lit, err, value)
	}
	v, ok := NumberValue(lit, isInt)
	f, ferr := strconv.ParseFloat(string(lit), 64)
	if !ok {
		if ferr == nil || !math.IsInf(f, 0) {
			t.Fatalf("NumberValue refuses %s, which is the float %v", lit, f)
		}
	} else {
		i, ierr := strconv.ParseInt(string(lit), 10, 64)
		u, uerr := strconv.ParseUint(string(lit), 10, 64)
		var want model.Value
		switch {
		case isInt && ierr == nil:
			want = model.Int(i)
		case isInt && uerr == nil:
			want = model.Uint(u)
		default:
			want = model.Float(f)
		}
		if v != want {
			t.Fatalf("NumberValue(%s) = %v, want %v", lit, v, want)
		}
		if v.Type() == model.TypeFloat {
			b, ok := AppendFloat(nil, v.Float())
			l := Lexer{Data: b}
			blit, bInt, err := l.Number()
			if !ok || err != nil || bInt || !l.AtEnd() {
				t.Fatalf("%v written as %s: %v %v", v, b, bInt, err)
			}
			if back, _ := NumberValue(blit, bInt); back != v {
				t.Fatalf("%v written as %s reads back as %v", v, b, back)
			}
		}
	}
	d := SplitNumber(lit)
	if d.Exp > 400 || d.Exp < -400 || len(lit) > 400 {
		return // exact arithmetic would be slow; the unit tests cover these
	}
	r, okr := new(big.Rat).SetString(string(lit))
	if !okr {
		t.Fatalf("big.Rat refuses %s", lit)
	}
	for _, max := range []int64{1<<53 - 1, math.MaxInt64} {
		sec, nsec, ok := d.Seconds(max)
		// Whole nanoseconds, truncated toward zero.
		ns := new(big.Rat).Mul(r, big.NewRat(1e9, 1))
		trunc := new(big.Int).Quo(ns.Num(), ns.Denom())
		whole := new(big.Int).Quo(trunc, big.NewInt(1e9))
		whole.Abs(whole)
		if fits := whole.Cmp(big.NewInt(max)) <= 0; ok != fits {
			t.Fatalf("Seconds(%s, %d): ok %v, want %v", lit, max, ok, fits)
		}
		if !ok {
			continue
		}
		if nsec < 0 || nsec >= 1e9 {
			t.Fatalf("Seconds(%s): nsec %d out of [0, 1e9)", lit, nsec)
		}
		got := new(big.Int).Mul(big.NewInt(sec), big.NewInt(1e9))
		got.Add(got, big.NewInt(nsec))
		if got.Cmp(trunc) != 0 {
			t.Fatalf("Seconds(%s) = %d s %d ns, want %s ns", lit, sec, nsec, trunc)
		}
		b := AppendSeconds(nil, sec, nsec)
		bd := SplitNumber(b)
		if s2, n2, ok := bd.Seconds(max); !ok || s2 != sec || n2 != nsec {
			t.Fatalf("%d s %d ns written as %s reads back as %d %d %v", sec, nsec, b, s2, n2, ok)
		}
	}
}
