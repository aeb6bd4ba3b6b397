package omajson

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/model"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compact removes the whitespace between JSON tokens of the specification's
// printed examples (none of their strings holds a space next to a quote).
func compact(b []byte) []byte {
	var out []byte
	in := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case in && c == '\\':
			out = append(out, c, b[i+1])
			i++
			continue
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\n' || c == '\t' || c == '\r'):
			continue
		}
		out = append(out, c)
	}
	return out
}

func setNow(t *testing.T, sec int64) {
	t.Helper()
	old := now
	now = func() time.Time { return time.Unix(sec, 0) }
	t.Cleanup(func() { now = old })
}

// LwM2M 1.0 section 6.4.4: Read on the Device object instance, /3/0.
func TestSpecDeviceInstance(t *testing.T) {
	defs := testDefs(t)
	want := codectest.DeviceInstance()
	golden := readFile(t, "device.json")

	t.Run("encode", func(t *testing.T) {
		got, err := Encode(nil, model.InstancePath(3, 0), &want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, golden) {
			t.Errorf("got  %s\nwant %s", got, golden)
		}
		if spec := compact(readFile(t, "device-spec.json")); !bytes.Equal(got, spec) {
			t.Errorf("got  %s\nspec %s", got, spec)
		}
	})
	for _, file := range []string{"device.json", "device-spec.json"} {
		t.Run("decode "+file, func(t *testing.T) {
			got, err := Decode(readFile(t, file), model.InstancePath(3, 0), defs)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(&want) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
		})
	}
	t.Run("decode without definitions", func(t *testing.T) {
		got, err := Decode(golden, model.InstancePath(3, 0), nil)
		if err != nil {
			t.Fatal(err)
		}
		// Without definitions the time is an Integer.
		if v := got.Find(model.MustPath("/13")).Value; v != model.Int(1367491215) {
			t.Errorf("/3/0/13 = %v", v)
		}
	})
	t.Run("decode a resource from the instance payload", func(t *testing.T) {
		got, err := Decode(golden, model.ResourcePath(3, 0, 7), defs)
		if err == nil {
			t.Fatalf("decoded %v from records outside /3/0/7", got)
		}
	})
}

// LwM2M 1.0 section 6.4.4: a notification carrying historical values of a
// temperature resource, with "bt" after "e" and no base name; the names
// are relative to the observed path.
func TestSpecHistorical(t *testing.T) {
	data := readFile(t, "historical-spec.json")
	want := []model.Record{
		{Path: model.ResourcePath(72, 1, 2), Value: model.Float(22.4), Time: time.Unix(25462634-5, 0).UTC()},
		{Path: model.ResourcePath(72, 1, 2), Value: model.Float(22.9), Time: time.Unix(25462634-30, 0).UTC()},
		{Path: model.ResourcePath(72, 1, 2), Value: model.Float(24.1), Time: time.Unix(25462634-50, 0).UTC()},
	}
	got, err := ParseRecordsAt(data, model.ObjectPath(72), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, got, want)

	if _, err := ParseRecords(data, nil); !errors.Is(err, model.ErrBadRequest) {
		t.Errorf("ParseRecords without a base: err = %v, want 4.00", err)
	}
	if _, err := Decode(data, model.ObjectPath(72), nil); !errors.Is(err, model.ErrBadRequest) {
		t.Errorf("Decode of a history: err = %v, want 4.00 (path given twice)", err)
	}

	// Re-encoded, bt is the newest time and t is relative to it.
	enc, err := AppendRecords(nil, model.ObjectPath(72), got)
	if err != nil {
		t.Fatal(err)
	}
	const wantEnc = `{"bn":"/72/","bt":25462629,"e":[{"n":"1/2","v":22.4},{"n":"1/2","v":22.9,"t":-25},{"n":"1/2","v":24.1,"t":-45}]}`
	if string(enc) != wantEnc {
		t.Errorf("got  %s\nwant %s", enc, wantEnc)
	}
	again, err := ParseRecords(enc, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, again, want)
}

// LwM2M 1.0 section 6.4.4: Object Link values, read on the root path. The
// specification names the objects A, B and C and writes the null link
// FFFF:FFFF; here they are 65, 66 and 67 and 65535:65535.
func TestSpecObjectLinks(t *testing.T) {
	data := readFile(t, "objlnk-spec.json")
	defs := testDefs(t)
	recs, err := ParseRecords(data, defs)
	if err != nil {
		t.Fatal(err)
	}
	want := []model.Record{
		{Path: model.MustPath("/65/0/0/0"), Value: model.Objlnk(66, 0)},
		{Path: model.MustPath("/65/0/0/1"), Value: model.Objlnk(66, 1)},
		{Path: model.MustPath("/65/0/1"), Value: model.String("8613800755500")},
		{Path: model.MustPath("/65/0/2"), Value: model.Int(1)},
		{Path: model.MustPath("/66/0/0"), Value: model.String("myService1")},
		{Path: model.MustPath("/66/0/1"), Value: model.String("Internet.15.234")},
		{Path: model.MustPath("/66/0/2"), Value: model.Objlnk(67, 0)},
		{Path: model.MustPath("/66/1/0"), Value: model.String("myService2")},
		{Path: model.MustPath("/66/1/1"), Value: model.String("Internet.15.235")},
		{Path: model.MustPath("/66/1/2"), Value: model.Objlnk(model.NoID, model.NoID)},
		{Path: model.MustPath("/67/0/0"), Value: model.String("85.76.76.84")},
		{Path: model.MustPath("/67/0/1"), Value: model.String("85.76.255.255")},
	}
	checkRecords(t, recs, want)

	enc, err := AppendRecords(nil, model.RootPath(), recs)
	if err != nil {
		t.Fatal(err)
	}
	if c := compact(data); !bytes.Equal(enc, c) {
		t.Errorf("got  %s\nwant %s", enc, c)
	}

	entries, err := model.Group(recs, []model.Path{model.ObjectPath(65), model.ObjectPath(66), model.ObjectPath(67)}, defs)
	if err != nil {
		t.Fatal(err)
	}
	want66 := model.NewObject(66,
		model.NewInstance(0,
			model.NewResource(0, model.String("myService1")),
			model.NewResource(1, model.String("Internet.15.234")),
			model.NewResource(2, model.Objlnk(67, 0))),
		model.NewInstance(1,
			model.NewResource(0, model.String("myService2")),
			model.NewResource(1, model.String("Internet.15.235")),
			model.NewResource(2, model.Objlnk(model.NoID, model.NoID))))
	if len(entries) != 3 || !entries[1].Node.Equal(&want66) {
		t.Errorf("Group: %v", entries)
	}
	// Object 66 on its own, as Read /66 returns it.
	enc66, err := Encode(nil, model.ObjectPath(66), &want66)
	if err != nil {
		t.Fatal(err)
	}
	const wantEnc66 = `{"bn":"/66/","e":[{"n":"0/0","sv":"myService1"},{"n":"0/1","sv":"Internet.15.234"},{"n":"0/2","ov":"67:0"},` +
		`{"n":"1/0","sv":"myService2"},{"n":"1/1","sv":"Internet.15.235"},{"n":"1/2","ov":"65535:65535"}]}`
	if string(enc66) != wantEnc66 {
		t.Errorf("got  %s\nwant %s", enc66, wantEnc66)
	}
}

func checkRecords(t *testing.T, got, want []model.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Path != w.Path || g.Value != w.Value || !g.Time.Equal(w.Time) || g.Time.IsZero() != w.Time.IsZero() {
			t.Errorf("record %d: got %v %v %v, want %v %v %v", i, g.Path, g.Value, g.Time, w.Path, w.Value, w.Time)
		}
	}
}

func TestEncodeValues(t *testing.T) {
	p := model.ResourcePath(1000, 0, 1)
	tests := []struct {
		name string
		v    model.Value
		want string
	}{
		{"integer", model.Int(-42), `"v":-42`},
		{"min integer", model.Int(math.MinInt64), `"v":-9223372036854775808`},
		{"unsigned max", model.Uint(math.MaxUint64), `"v":18446744073709551615`},
		{"float integral", model.Float(1), `"v":1.0`},
		{"float negative zero", model.Float(math.Copysign(0, -1)), `"v":-0.0`},
		{"float fraction", model.Float(22.4), `"v":22.4`},
		{"float large", model.Float(1e21), `"v":1e+21`},
		{"float below 1e21", model.Float(1e20), `"v":100000000000000000000.0`},
		{"float small", model.Float(1e-7), `"v":1e-7`},
		{"float max", model.Float(math.MaxFloat64), `"v":1.7976931348623157e+308`},
		{"float smallest", model.Float(5e-324), `"v":5e-324`},
		{"boolean true", model.Bool(true), `"bv":true`},
		{"boolean false", model.Bool(false), `"bv":false`},
		{"string", model.String("Open Mobile Alliance"), `"sv":"Open Mobile Alliance"`},
		{"string escapes", model.String("q\"b\\s/\n\r\t\b\f\x00\x1f\x7f"), `"sv":"q\"b\\s/\n\r\t\b\f\u0000\u001f` + "\x7f" + `"`},
		{"string unicode", model.String("é€😀\u2028"), `"sv":"é€😀` + "\u2028" + `"`},
		{"string empty", model.String(""), `"sv":""`},
		{"corelnk", model.Corelnk(`</3/0>;ct="60 110"`), `"sv":"</3/0>;ct=\"60 110\""`},
		{"opaque", model.Opaque([]byte{0, 1, 2, 0xff}), `"sv":"AAEC/w=="`},
		{"opaque empty", model.Opaque(nil), `"sv":""`},
		{"time", model.UnixTime(1367491215), `"v":1367491215`},
		{"objlnk", model.Objlnk(10, 3), `"ov":"10:3"`},
		{"objlnk null", model.Objlnk(model.NoID, model.NoID), `"ov":"65535:65535"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := model.NewResource(1, tc.v)
			got, err := Encode(nil, p, &n)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"bn":"/1000/0/","e":[{"n":"1",` + tc.want + `}]}`
			if string(got) != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			back, err := Decode(got, p, model.Definitions(nil))
			if err != nil {
				t.Fatal(err)
			}
			// Without definitions only the JSON type survives.
			wantBack := tc.v
			switch tc.v.Type() {
			case model.TypeTime:
				wantBack = model.Int(tc.v.Int())
			case model.TypeCorelnk:
				wantBack = model.String(tc.v.Str())
			case model.TypeOpaque:
				wantBack = model.String(base64.StdEncoding.EncodeToString(tc.v.Bytes()))
			}
			if back.Value != wantBack {
				t.Errorf("decoded %v, want %v", back.Value, wantBack)
			}
		})
	}
}

func TestDecodeNumbers(t *testing.T) {
	tests := []struct {
		lit  string
		want model.Value
	}{
		{"0", model.Int(0)},
		{"-0", model.Int(0)},
		{"42", model.Int(42)},
		{"-9223372036854775808", model.Int(math.MinInt64)},
		{"9223372036854775807", model.Int(math.MaxInt64)},
		{"9223372036854775808", model.Uint(1 << 63)},
		{"18446744073709551615", model.Uint(math.MaxUint64)},
		{"18446744073709551616", model.Float(18446744073709551616)},
		{"-9223372036854775809", model.Float(-9223372036854775809)},
		{"1.0", model.Float(1)},
		{"-0.0", model.Float(math.Copysign(0, -1))},
		{"1e2", model.Float(100)},
		{"1E+2", model.Float(100)},
		{"2.5e-3", model.Float(0.0025)},
		{"1.367491215E9", model.Float(1367491215)},
		{"1e-400", model.Float(0)},
	}
	for _, tc := range tests {
		t.Run(tc.lit, func(t *testing.T) {
			data := `{"bn":"/1/0/","e":[{"n":"1","v":` + tc.lit + `}]}`
			recs, err := ParseRecords([]byte(data), nil)
			if err != nil {
				t.Fatal(err)
			}
			if recs[0].Value != tc.want {
				t.Errorf("got %v (%s), want %v (%s)", recs[0].Value, recs[0].Value.Type(), tc.want, tc.want.Type())
			}
		})
	}
}

// Definitions decide what an "sv" holds and, through model.Build, which
// numeric type a "v" has.
func TestDecodeWithDefinitions(t *testing.T) {
	defs := testDefs(t)
	tests := []struct {
		name  string
		entry string
		res   uint16
		want  model.Value
	}{
		{"opaque base64", `"sv":"AAEC/w=="`, 6, model.Opaque([]byte{0, 1, 2, 0xff})},
		{"opaque unpadded base64", `"sv":"AAEC/w"`, 6, model.Opaque([]byte{0, 1, 2, 0xff})},
		{"opaque empty", `"sv":""`, 6, model.Opaque([]byte{})},
		{"corelnk", `"sv":"</1>"`, 9, model.Corelnk("</1>")},
		{"string stays string", `"sv":"AAEC/w=="`, 1, model.String("AAEC/w==")},
		{"integer to float", `"v":3`, 4, model.Float(3)},
		{"float to integer", `"v":3.0`, 2, model.Int(3)},
		{"integer to unsigned", `"v":3`, 3, model.Uint(3)},
		{"integer to time", `"v":1367491215`, 7, model.UnixTime(1367491215)},
		{"string to objlnk", `"sv":"3:0"`, 8, model.Objlnk(3, 0)},
		{"objlnk", `"ov":"3:0"`, 8, model.Objlnk(3, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := model.ResourcePath(1000, 0, tc.res)
			data := `{"e":[{` + tc.entry + `}]}`
			n, err := Decode([]byte(data), p, defs)
			if err != nil {
				t.Fatal(err)
			}
			if n.Value != tc.want {
				t.Errorf("got %v (%s), want %v (%s)", n.Value, n.Value.Type(), tc.want, tc.want.Type())
			}
		})
	}
	bad := []struct {
		name  string
		entry string
		res   uint16
	}{
		{"opaque not base64", `"sv":"!!"`, 6},
		{"boolean from number", `"v":1`, 5},
		{"integer from fraction", `"v":1.5`, 2},
		{"unsigned from negative", `"v":-1`, 3},
		{"objlnk from bad string", `"sv":"x"`, 8},
		{"executable", `"v":1`, 30},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p := model.ResourcePath(1000, 0, tc.res)
			data := `{"e":[{` + tc.entry + `}]}`
			if n, err := Decode([]byte(data), p, defs); !errors.Is(err, model.ErrBadRequest) || !strings.HasPrefix(err.(*model.Error).Msg, "omajson: ") {
				t.Errorf("got %v, %v; want a 4.00 omajson error", n, err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []model.Path
	}{
		{"base with slash", `{"bn":"/3/0/","e":[{"n":"6/1","v":1}]}`, []model.Path{model.MustPath("/3/0/6/1")}},
		{"base without slash", `{"bn":"/3/0","e":[{"n":"6/1","v":1}]}`, []model.Path{model.MustPath("/3/0/6/1")}},
		{"root base", `{"bn":"/","e":[{"n":"3/0/6","v":1}]}`, []model.Path{model.MustPath("/3/0/6")}},
		{"base is the resource", `{"bn":"/1024/0/1","e":[{"v":22.9,"t":500},{"v":22.4,"t":510}]}`,
			[]model.Path{model.MustPath("/1024/0/1"), model.MustPath("/1024/0/1")}},
		{"empty name", `{"bn":"/3/0/1/","e":[{"n":"","v":1}]}`, []model.Path{model.MustPath("/3/0/1")}},
		{"absolute name", `{"e":[{"n":"/3/0/6/1","v":1}]}`, []model.Path{model.MustPath("/3/0/6/1")}},
		{"empty base is no base", `{"bn":"","e":[{"n":"/3/0/1","v":1}]}`, []model.Path{model.MustPath("/3/0/1")}},
		{"bn after e", `{"e":[{"n":"1","v":1}],"bn":"/3/0/"}`, []model.Path{model.MustPath("/3/0/1")}},
		{"max ids", `{"bn":"/65534/65534/","e":[{"n":"65534/65534","v":1}]}`, []model.Path{model.MustPath("/65534/65534/65534/65534")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := ParseRecords([]byte(tc.data), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(tc.want) {
				t.Fatalf("got %v", recs)
			}
			for i := range recs {
				if recs[i].Path != tc.want[i] {
					t.Errorf("record %d: got %s, want %s", i, recs[i].Path, tc.want[i])
				}
			}
		})
	}
	t.Run("default base", func(t *testing.T) {
		recs, err := ParseRecordsAt([]byte(`{"e":[{"n":"0","v":1},{"n":"1","v":5}]}`), model.ResourcePath(3, 0, 6), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 || recs[1].Path != model.MustPath("/3/0/6/1") {
			t.Errorf("got %v", recs)
		}
	})
}

func TestTimes(t *testing.T) {
	setNow(t, 1_700_000_000)
	tests := []struct {
		name string
		data string
		want []time.Time // zero: no time
	}{
		{"none", `{"bn":"/1/0/","e":[{"n":"1","v":1}]}`, []time.Time{{}}},
		{"absolute t", `{"bn":"/1/0/","e":[{"n":"1","v":1,"t":1367491215}]}`, []time.Time{time.Unix(1367491215, 0)}},
		{"bt only", `{"bn":"/1/0/","bt":1367491215,"e":[{"n":"1","v":1}]}`, []time.Time{time.Unix(1367491215, 0)}},
		{"bt and t", `{"bn":"/1/0/","bt":1367491215,"e":[{"n":"1","v":1,"t":-15},{"n":"2","v":2,"t":5}]}`,
			[]time.Time{time.Unix(1367491200, 0), time.Unix(1367491220, 0)}},
		{"relative t", `{"bn":"/1/0/","e":[{"n":"1","v":1,"t":-5}]}`, []time.Time{time.Unix(1_700_000_000-5, 0)}},
		{"zero t is now", `{"bn":"/1/0/","e":[{"n":"1","v":1,"t":0}]}`, []time.Time{time.Unix(1_700_000_000, 0)}},
		{"relative sum", `{"bn":"/1/0/","bt":-10,"e":[{"n":"1","v":1,"t":5}]}`, []time.Time{time.Unix(1_700_000_000-5, 0)}},
		{"fraction", `{"bn":"/1/0/","e":[{"n":"1","v":1,"t":1367491215.25}]}`, []time.Time{time.Unix(1367491215, 25e7)}},
		{"negative fraction", `{"bn":"/1/0/","bt":1367491215,"e":[{"n":"1","v":1,"t":-0.5}]}`, []time.Time{time.Unix(1367491214, 5e8)}},
		{"nanoseconds", `{"bn":"/1/0/","e":[{"n":"1","v":1,"t":1.0000000019}]}`, []time.Time{time.Unix(1, 1)}},
		{"exponent", `{"bn":"/1/0/","e":[{"n":"1","v":1,"t":1.3674912E9}]}`, []time.Time{time.Unix(1367491200, 0)}},
		{"bt after e", `{"bn":"/1/0/","e":[{"n":"1","v":1,"t":-1}],"bt":100}`, []time.Time{time.Unix(99, 0)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := ParseRecords([]byte(tc.data), nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range recs {
				w := tc.want[i]
				if w.IsZero() != r.Time.IsZero() || !w.IsZero() && !r.Time.Equal(w) {
					t.Errorf("record %d: time %v, want %v", i, r.Time, w)
				}
				if !r.Time.IsZero() && r.Time.Location() != time.UTC {
					t.Errorf("record %d: time not in UTC", i)
				}
			}
		})
	}
	bad := []struct{ name, data string }{
		{"before 1970", `{"bn":"/1/0/","e":[{"n":"1","v":1,"t":-1800000000}]}`},
		{"overflow", `{"bn":"/1/0/","bt":9223372036854775807,"e":[{"n":"1","v":1,"t":1}]}`},
		{"after 9999", `{"bn":"/1/0/","e":[{"n":"1","v":1,"t":253402300800}]}`},
		{"bt out of int64", `{"bn":"/1/0/","bt":9223372036854775808,"e":[]}`},
		{"t exponent out of range", `{"bn":"/1/0/","e":[{"n":"1","v":1,"t":1e300}]}`},
		{"t a string", `{"bn":"/1/0/","e":[{"n":"1","v":1,"t":"-5"}]}`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if recs, err := ParseRecords([]byte(tc.data), nil); !errors.Is(err, model.ErrBadRequest) {
				t.Errorf("got %v, %v; want 4.00", recs, err)
			}
		})
	}
}

func TestAppendRecordsTimes(t *testing.T) {
	p1, p2 := model.ResourcePath(1, 0, 1), model.ResourcePath(1, 0, 2)
	tests := []struct {
		name string
		recs []model.Record
		want string
	}{
		{"no time", []model.Record{{Path: p1, Value: model.Int(1)}}, `{"bn":"/1/0/","e":[{"n":"1","v":1}]}`},
		{"all timed", []model.Record{
			{Path: p1, Value: model.Int(1), Time: time.Unix(500, 0)},
			{Path: p1, Value: model.Int(2), Time: time.Unix(520, 0)},
			{Path: p2, Value: model.Int(3), Time: time.Unix(510, 0)},
		}, `{"bn":"/1/0/","bt":520,"e":[{"n":"1","v":1,"t":-20},{"n":"1","v":2},{"n":"2","v":3,"t":-10}]}`},
		{"some timed", []model.Record{
			{Path: p1, Value: model.Int(1), Time: time.Unix(500, 0)},
			{Path: p2, Value: model.Int(3)},
		}, `{"bn":"/1/0/","e":[{"n":"1","v":1,"t":500},{"n":"2","v":3}]}`},
		{"fractions", []model.Record{
			{Path: p1, Value: model.Int(1), Time: time.Unix(500, 5e8)},
			{Path: p1, Value: model.Int(2), Time: time.Unix(499, 25e7)},
			{Path: p1, Value: model.Int(3), Time: time.Unix(500, 1)},
		}, `{"bn":"/1/0/","bt":500,"e":[{"n":"1","v":1,"t":0.5},{"n":"1","v":2,"t":-0.75},{"n":"1","v":3,"t":0.000000001}]}`},
		{"at the base", []model.Record{{Path: p1, Value: model.Int(1), Time: time.Unix(500, 0)}}, `{"bn":"/1/0/1","bt":500,"e":[{"v":1}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := model.InstancePath(1, 0)
			if tc.name == "at the base" {
				base = p1
			}
			got, err := AppendRecords([]byte("x"), base, tc.recs)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "x"+tc.want {
				t.Errorf("got  %s\nwant x%s", got, tc.want)
			}
			back, err := ParseRecords(got[1:], nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.recs {
				tc.recs[i].Time = utcOrZero(tc.recs[i].Time)
			}
			checkRecords(t, back, tc.recs)
		})
	}
}

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

func TestEncodeErrors(t *testing.T) {
	nodes.CheckEncodeErrors(t, append(codectest.MalformedNodes(),
		codectest.Malformed{Name: "nan", Path: model.ResourcePath(1, 0, 1), Node: model.NewResource(1, model.Float(math.NaN()))},
		codectest.Malformed{Name: "infinity", Path: model.ResourcePath(1, 0, 1), Node: model.NewResource(1, model.Float(math.Inf(-1)))},
		codectest.Malformed{Name: "invalid utf-8", Path: model.ResourcePath(1, 0, 1), Node: model.NewResource(1, model.String("a\xffb"))}))

	recTests := []struct {
		name string
		base model.Path
		recs []model.Record
	}{
		{"outside base", model.InstancePath(1, 0), []model.Record{{Path: model.ResourcePath(1, 1, 0), Value: model.Int(1)}}},
		{"instance level", model.ObjectPath(1), []model.Record{{Path: model.InstancePath(1, 1), Value: model.Int(1)}}},
		{"no value", model.ObjectPath(1), []model.Record{{Path: model.ResourcePath(1, 1, 0)}}},
		{"time at epoch", model.ObjectPath(1), []model.Record{{Path: model.ResourcePath(1, 1, 0), Value: model.Int(1), Time: time.Unix(0, 0)}}},
		{"time before epoch", model.ObjectPath(1), []model.Record{{Path: model.ResourcePath(1, 1, 0), Value: model.Int(1), Time: time.Unix(-5, 0)}}},
		{"time after 9999", model.ObjectPath(1), []model.Record{{Path: model.ResourcePath(1, 1, 0), Value: model.Int(1), Time: time.Unix(maxUnix+1, 0)}}},
	}
	for _, tc := range recTests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendRecords([]byte("keep"), tc.base, tc.recs)
			if !errors.Is(err, model.ErrBadRequest) || string(got) != "keep" {
				t.Errorf("got %q, %v; want dst kept and 4.00", got, err)
			}
		})
	}
}

func TestEncodeSkipsExecutables(t *testing.T) {
	n := model.NewInstance(0, model.NewResource(4, model.Value{}), model.NewResource(9, model.Int(100)),
		model.NewMultipleResource(11))
	got, err := Encode(nil, model.InstancePath(3, 0), &n)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"bn":"/3/0/","e":[{"n":"9","v":100}]}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
	o := model.NewObject(3)
	if got, _ = Encode(nil, model.ObjectPath(3), &o); string(got) != `{"bn":"/3/","e":[]}` {
		t.Errorf("empty object: %s", got)
	}
	back, err := Decode(got, model.ObjectPath(3), nil)
	if err != nil || !back.Equal(&o) {
		t.Errorf("empty object back: %v, %v", back, err)
	}
}

// Every malformed payload is a 4.00 error, never a panic.
func TestMalformed(t *testing.T) {
	deep := `{"bn":"/1/0/","x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `,"e":[]}`
	tests := []struct{ name, data string }{
		{"empty", ``},
		{"spaces", `   `},
		{"null", `null`},
		{"array", `[]`},
		{"no e", `{"bn":"/3/0/"}`},
		{"empty object", `{}`},
		{"e not an array", `{"e":{}}`},
		{"e null", `{"e":null}`},
		{"entry not an object", `{"bn":"/1/0/","e":[1]}`},
		{"trailing data", `{"bn":"/1/0/","e":[]} x`},
		{"two objects", `{"e":[]}{"e":[]}`},
		{"truncated", `{"bn":"/1/0/","e":[{"n":"1","v":1}`},
		{"truncated key", `{"bn`},
		{"missing colon", `{"bn" "/1/0/","e":[]}`},
		{"trailing comma in object", `{"bn":"/1/0/","e":[],}`},
		{"trailing comma in array", `{"bn":"/1/0/","e":[{"n":"1","v":1},]}`},
		{"missing comma", `{"bn":"/1/0/" "e":[]}`},
		{"single quotes", `{'e':[]}`},
		{"bom", "\ufeff{\"e\":[]}"},
		{"duplicate bn", `{"bn":"/1/0/","bn":"/1/0/","e":[]}`},
		{"duplicate e", `{"e":[],"e":[]}`},
		{"duplicate bt", `{"bt":1,"bt":1,"e":[]}`},
		{"duplicate n", `{"bn":"/1/0/","e":[{"n":"1","n":"1","v":1}]}`},
		{"duplicate t", `{"bn":"/1/0/","e":[{"n":"1","t":1,"t":1,"v":1}]}`},
		{"no value", `{"bn":"/1/0/","e":[{"n":"1"}]}`},
		{"two values", `{"bn":"/1/0/","e":[{"n":"1","v":1,"sv":"a"}]}`},
		{"same value twice", `{"bn":"/1/0/","e":[{"n":"1","v":1,"v":1}]}`},
		{"v a string", `{"bn":"/1/0/","e":[{"n":"1","v":"1"}]}`},
		{"v null", `{"bn":"/1/0/","e":[{"n":"1","v":null}]}`},
		{"v true", `{"bn":"/1/0/","e":[{"n":"1","v":true}]}`},
		{"bv a number", `{"bn":"/1/0/","e":[{"n":"1","bv":1}]}`},
		{"bv a string", `{"bn":"/1/0/","e":[{"n":"1","bv":"true"}]}`},
		{"sv a number", `{"bn":"/1/0/","e":[{"n":"1","sv":1}]}`},
		{"ov without colon", `{"bn":"/1/0/","e":[{"n":"1","ov":"1"}]}`},
		{"ov id too large", `{"bn":"/1/0/","e":[{"n":"1","ov":"65536:0"}]}`},
		{"ov a number", `{"bn":"/1/0/","e":[{"n":"1","ov":1}]}`},
		{"n a number", `{"bn":"/1/0/","e":[{"n":1,"v":1}]}`},
		{"name leading zero", `{"bn":"/1/0/","e":[{"n":"01","v":1}]}`},
		{"name not decimal", `{"bn":"/1/0/","e":[{"n":"a","v":1}]}`},
		{"name sign", `{"bn":"/1/0/","e":[{"n":"+1","v":1}]}`},
		{"name empty segment", `{"bn":"/1/0/","e":[{"n":"1//2","v":1}]}`},
		{"name trailing slash", `{"bn":"/1/0/","e":[{"n":"1/","v":1}]}`},
		{"name id above 65534", `{"bn":"/1/0/","e":[{"n":"65535","v":1}]}`},
		{"name too long id", `{"bn":"/1/0/","e":[{"n":"000001","v":1}]}`},
		{"name five ids", `{"e":[{"n":"/1/2/3/4/5","v":1}]}`},
		{"too deep", `{"bn":"/1/0/","e":[{"n":"1/2/3","v":1}]}`},
		{"too shallow", `{"bn":"/1/","e":[{"n":"0","v":1}]}`},
		{"base only object", `{"bn":"/1","e":[{"v":1}]}`},
		{"relative without base", `{"e":[{"n":"1/0/1","v":1}]}`},
		{"no name no base", `{"e":[{"v":1}]}`},
		{"absolute with base", `{"bn":"/1/0/","e":[{"n":"/1/0/1","v":1}]}`},
		{"bn without slash", `{"bn":"3/0/","e":[{"n":"1","v":1}]}`},
		{"bn id above 65534", `{"bn":"/70000/","e":[{"n":"1/1","v":1}]}`},
		{"bn a number", `{"bn":3,"e":[]}`},
		{"bt a string", `{"bt":"1","e":[]}`},
		{"control character", "{\"bn\":\"/1/0/\",\"e\":[{\"n\":\"1\",\"sv\":\"a\nb\"}]}"},
		{"invalid utf-8", "{\"bn\":\"/1/0/\",\"e\":[{\"n\":\"1\",\"sv\":\"a\xffb\"}]}"},
		{"invalid utf-8 with escape", "{\"bn\":\"/1/0/\",\"e\":[{\"n\":\"1\",\"sv\":\"\\n\xc3\"}]}"},
		{"lone high surrogate", `{"bn":"/1/0/","e":[{"n":"1","sv":"\ud800"}]}`},
		{"lone low surrogate", `{"bn":"/1/0/","e":[{"n":"1","sv":"\udc00"}]}`},
		{"reversed surrogates", `{"bn":"/1/0/","e":[{"n":"1","sv":"\udc00\ud800"}]}`},
		{"high surrogate then letter", `{"bn":"/1/0/","e":[{"n":"1","sv":"\ud800\u0041"}]}`},
		{"bad escape", `{"bn":"/1/0/","e":[{"n":"1","sv":"\x"}]}`},
		{"short unicode escape", `{"bn":"/1/0/","e":[{"n":"1","sv":"\u12"}]}`},
		{"bad hex", `{"bn":"/1/0/","e":[{"n":"1","sv":"\u12g4"}]}`},
		{"unterminated string", `{"bn":"/1/0/","e":[{"n":"1","sv":"abc`},
		{"unterminated escape", `{"bn":"/1/0/","e":[{"n":"1","sv":"abc\`},
		{"number leading zero", `{"bn":"/1/0/","e":[{"n":"1","v":01}]}`},
		{"number leading plus", `{"bn":"/1/0/","e":[{"n":"1","v":+1}]}`},
		{"number bare minus", `{"bn":"/1/0/","e":[{"n":"1","v":-}]}`},
		{"number trailing dot", `{"bn":"/1/0/","e":[{"n":"1","v":1.}]}`},
		{"number leading dot", `{"bn":"/1/0/","e":[{"n":"1","v":.5}]}`},
		{"number empty exponent", `{"bn":"/1/0/","e":[{"n":"1","v":1e}]}`},
		{"number hex", `{"bn":"/1/0/","e":[{"n":"1","v":0x10}]}`},
		{"number overflow", `{"bn":"/1/0/","e":[{"n":"1","v":1e309}]}`},
		{"NaN", `{"bn":"/1/0/","e":[{"n":"1","v":NaN}]}`},
		{"Infinity", `{"bn":"/1/0/","e":[{"n":"1","v":Infinity}]}`},
		{"unknown member nested too deeply", deep},
		{"unknown member bad literal", `{"x":nul,"e":[]}`},
		{"unknown member bad value", `{"x":@,"e":[]}`},
		{"unknown member unterminated", `{"x":[1,2`},
		{"unknown member bad object", `{"x":{"a" 1},"e":[]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := ParseRecords([]byte(tc.data), nil)
			if !errors.Is(err, model.ErrBadRequest) {
				t.Fatalf("ParseRecords: got %v, %v; want 4.00", recs, err)
			}
			if !strings.HasPrefix(err.(*model.Error).Msg, "omajson: ") {
				t.Errorf("message %q lacks the omajson prefix", err)
			}
			if n, err := Decode([]byte(tc.data), model.InstancePath(1, 0), nil); err == nil {
				// Only payloads whose fault is the missing base may decode
				// once the request path supplies one.
				switch tc.name {
				case "relative without base", "no name no base":
				default:
					t.Errorf("Decode: got %v, want an error", n)
				}
			} else if !errors.Is(err, model.ErrBadRequest) {
				t.Errorf("Decode: %v, want 4.00", err)
			}
		})
	}
	t.Run("decode at root", func(t *testing.T) {
		if _, err := Decode([]byte(`{"e":[]}`), model.RootPath(), nil); !errors.Is(err, model.ErrBadRequest) {
			t.Errorf("err = %v", err)
		}
	})
}

// Unknown members are skipped, whatever their value.
func TestUnknownMembers(t *testing.T) {
	data := `{"ver":1,"x":{"a":[1,-2.5e3,true,false,null,"s\"\u00e9",{}],"b":{}},"bn":"/1/0/",` +
		`"e":[{"n":"1","u":"Cel","v":1,"ut":[]}],"y":[]}`
	recs, err := ParseRecords([]byte(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, recs, []model.Record{{Path: model.ResourcePath(1, 0, 1), Value: model.Int(1)}})
}

func TestStringEscapesDecode(t *testing.T) {
	tests := []struct{ json, want string }{
		{`"plain"`, "plain"},
		{`"q\"b\\s\/n\nr\rt\tb\bf\f"`, "q\"b\\s/n\nr\rt\tb\bf\f"},
		{`"\u0000\u001F\u00e9\u20AC"`, "\x00\x1fé€"},
		{`"\ud83d\ude00 and 😀"`, "😀 and 😀"},
		{`"é€ raw"`, "é€ raw"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			recs, err := ParseRecords([]byte(`{"bn":"/1/0/","e":[{"n":"1","sv":`+tc.json+`}]}`), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := recs[0].Value.Str(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Random nodes over random definitions survive Encode and Decode.
func TestRoundTripRandomNodes(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			g := codectest.NewGen(seed) // no empty containers: OMA JSON cannot carry them
			defs := g.ObjectDefs()
			p, n := g.Node(defs)
			nodes.CheckRoundTrip(t, p, &n, &n, codectest.Registry(t, defs...))
		})
	}
}

// Without definitions every type but Opaque, Corelnk and Time survives,
// and an Unsigned Integer survives when it does not fit an Integer.
func TestRoundTripWithoutDefinitions(t *testing.T) {
	g := codectest.NewGen(7)
	types := []model.Type{model.TypeString, model.TypeInteger, model.TypeFloat, model.TypeBoolean, model.TypeObjlnk}
	for i := 0; i < 500; i++ {
		v := g.Value(types[g.R.IntN(len(types))])
		if i%5 == 0 {
			v = model.Uint(1<<63 + g.R.Uint64N(1<<63))
		}
		n := model.NewInstance(1, model.NewResource(uint16(i), v))
		data, err := Encode(nil, model.InstancePath(5, 1), &n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(data, model.InstancePath(5, 1), nil)
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if !got.Equal(&n) {
			t.Fatalf("%s\ngot  %v\nwant %v", data, got, n)
		}
	}
}

// Random records with random times survive AppendRecords and ParseRecords.
func TestRoundTripRandomRecords(t *testing.T) {
	defs := testDefs(t)
	for seed := uint64(0); seed < 300; seed++ {
		g := codectest.NewGen(seed)
		var recs []model.Record
		allTimed := g.R.IntN(2) == 0
		for k := g.R.IntN(6); k > 0; k-- {
			rd := typesDef.Resources[g.R.IntN(len(typesDef.Resources))]
			if rd.Operations.Executable() {
				continue
			}
			p := model.ResourcePath(typesDef.ID, uint16(g.R.IntN(3)), rd.ID)
			if rd.Multiple {
				p = p.MustChild(uint16(g.R.IntN(3)))
			}
			r := model.Record{Path: p, Value: g.Value(rd.Type), Time: g.Time()}
			if allTimed && r.Time.IsZero() {
				r.Time = time.Unix(1+g.R.Int64N(maxUnix), 0).UTC()
			}
			recs = append(recs, r)
		}
		base := model.ObjectPath(typesDef.ID)
		if g.R.IntN(2) == 0 {
			base = model.RootPath()
		}
		data, err := AppendRecords(nil, base, recs)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		got, err := ParseRecords(data, defs)
		if err != nil {
			t.Fatalf("seed %d: %s: %v", seed, data, err)
		}
		// ParseRecords keeps the JSON type of numbers; Build converts.
		for i := range got {
			if def := model.ResourceDefAt(defs, got[i].Path); def != nil {
				if got[i].Value, err = got[i].Value.Convert(def.Type); err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
			}
		}
		checkRecords(t, got, recs)
	}
}

// A decoder allocates at most a small multiple of its input, whatever
// the input claims.
func TestDecodeAllocationBound(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"e":[`)
	for i := 0; i < 10000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"v":0}`)
	}
	b.WriteString(`]}`)
	data := []byte(b.String())
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	if _, err := ParseRecordsAt(data, model.ResourcePath(1, 0, 1), nil); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms1)
	if got := ms1.TotalAlloc - ms0.TotalAlloc; got > 64*uint64(len(data)) {
		t.Errorf("allocated %d bytes for %d bytes of input", got, len(data))
	}
}
