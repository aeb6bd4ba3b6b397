package senml

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/model"
)

var epoch = func(sec, nsec int64) time.Time { return time.Unix(sec, nsec).UTC() }

// TestParseJSONRecords covers values, names and base fields as RFC 8428
// sections 4 and 5 define them, with the cases other implementations
// (Wakaama's SenML JSON tests among them) exercise.
func TestParseJSONRecords(t *testing.T) {
	r := func(p string, v model.Value) model.Record { return model.Record{Path: mp(p), Value: v} }
	tests := []struct {
		name string
		in   string
		want []model.Record
	}{
		{"empty pack", `[]`, nil},
		{"white space", " \t\n[ { \"n\" : \"/1/0/1\" , \"v\" : 1 } ]\r\n", []model.Record{r("/1/0/1", model.Int(1))}},
		{"int64 max", `[{"n":"/1/0/1","v":9223372036854775807}]`, []model.Record{r("/1/0/1", model.Int(math.MaxInt64))}},
		{"int64 min", `[{"n":"/1/0/1","v":-9223372036854775808}]`, []model.Record{r("/1/0/1", model.Int(math.MinInt64))}},
		{"beyond int64 is unsigned", `[{"n":"/1/0/1","v":9223372036854775808}]`, []model.Record{r("/1/0/1", model.Uint(1<<63))}},
		{"uint64 max", `[{"n":"/1/0/1","v":18446744073709551615}]`, []model.Record{r("/1/0/1", model.Uint(math.MaxUint64))}},
		{"beyond uint64 is float", `[{"n":"/1/0/1","v":18446744073709551616}]`, []model.Record{r("/1/0/1", model.Float(18446744073709551616))}},
		{"below int64 is float", `[{"n":"/1/0/1","v":-9223372036854775809}]`, []model.Record{r("/1/0/1", model.Float(-9223372036854775809))}},
		{"negative zero integer", `[{"n":"/1/0/1","v":-0}]`, []model.Record{r("/1/0/1", model.Int(0))}},
		{"fraction is float", `[{"n":"/1/0/1","v":1.0}]`, []model.Record{r("/1/0/1", model.Float(1))}},
		{"exponent is float", `[{"n":"/1/0/1","v":1e2}]`, []model.Record{r("/1/0/1", model.Float(100))}},
		{"negative zero float", `[{"n":"/1/0/1","v":-0.0}]`, []model.Record{r("/1/0/1", model.Float(math.Copysign(0, -1)))}},
		{"float beyond the fast path", `[{"n":"/1/0/1","v":1.7976931348623157e308}]`, []model.Record{r("/1/0/1", model.Float(math.MaxFloat64))}},
		{"float underflow", `[{"n":"/1/0/1","v":1e-400}]`, []model.Record{r("/1/0/1", model.Float(0))}},
		{"long float", `[{"n":"/1/0/1","v":0.30000000000000004441}]`, []model.Record{r("/1/0/1", model.Float(0.30000000000000004))}},
		{"boolean", `[{"n":"/3311/0/5850","vb":true},{"n":"/3311/1/5850","vb":false}]`,
			[]model.Record{r("/3311/0/5850", model.Bool(true)), r("/3311/1/5850", model.Bool(false))}},
		{"string escapes", `[{"n":"/3/0/0","vs":"a\"b\\c\/\b\f\n\r\t\u00e9\ud83d\ude00é"}]`,
			[]model.Record{r("/3/0/0", model.String("a\"b\\c/\b\f\n\r\té😀é"))}},
		{"opaque base64url", `[{"n":"/5/0/0","vd":"-_8"}]`, []model.Record{r("/5/0/0", model.Opaque([]byte{0xfb, 0xff}))}},
		{"opaque padded", `[{"n":"/5/0/0","vd":"AQIDBAU="}]`, []model.Record{r("/5/0/0", model.Opaque([]byte{1, 2, 3, 4, 5}))}},
		{"opaque standard alphabet", `[{"n":"/5/0/0","vd":"+/8="}]`, []model.Record{r("/5/0/0", model.Opaque([]byte{0xfb, 0xff}))}},
		{"opaque empty", `[{"n":"/5/0/0","vd":""}]`, []model.Record{r("/5/0/0", model.Opaque(nil))}},
		{"objlnk", `[{"n":"/66/0/2","vlo":"67:0"}]`, []model.Record{r("/66/0/2", model.Objlnk(67, 0))}},
		{"base name carries over", `[{"bn":"/3/0/","n":"0","vs":"a"},{"n":"6/1","v":5}]`,
			[]model.Record{r("/3/0/0", model.String("a")), r("/3/0/6/1", model.Int(5))}},
		{"base name replaced", `[{"bn":"/65/0/","n":"1","vs":"a"},{"bn":"/66/1/","n":"0","vs":"b"},{"bn":"","n":"/67/0/1","vs":"c"}]`,
			[]model.Record{r("/65/0/1", model.String("a")), r("/66/1/0", model.String("b")), r("/67/0/1", model.String("c"))}},
		{"base name alone", `[{"bn":"/5/0/1","n":"","vs":"http"}]`, []model.Record{r("/5/0/1", model.String("http"))}},
		{"base name without slash", `[{"bn":"/2/3","n":"/0","v":1234}]`, []model.Record{r("/2/3/0", model.Int(1234))}},
		{"fields in any order", `[{"v":2015,"n":"1","bn":"/65/543/"},{"vb":false,"n":"2/1"}]`,
			[]model.Record{r("/65/543/1", model.Int(2015)), r("/65/543/2/1", model.Bool(false))}},
		{"base value", `[{"bv":1,"n":"/34/0/2","v":1},{"n":"/34/0/3","v":0.5},{"n":"/34/0/4","vs":"x"}]`,
			[]model.Record{r("/34/0/2", model.Int(2)), r("/34/0/3", model.Float(1.5)), r("/34/0/4", model.String("x"))}},
		{"base value past int64", `[{"bv":9223372036854775807,"n":"/34/0/2","v":1}]`, []model.Record{r("/34/0/2", model.Uint(1<<63))}},
		{"base value past uint64", `[{"bv":18446744073709551615,"n":"/34/0/2","v":1}]`, []model.Record{r("/34/0/2", model.Float(18446744073709551616))}},
		{"version 10", `[{"bver":10,"n":"/34/0/2","v":1}]`, []model.Record{r("/34/0/2", model.Int(1))}},
		{"units and sums ignored", `[{"bu":"V","u":"Cel","bs":1,"s":2,"ut":5,"n":"/34/0/2","v":1}]`, []model.Record{r("/34/0/2", model.Int(1))}},
		{"unknown labels ignored", `[{"test":"good","x":{"a":[1,-2.5e3,{"b":null}],"c":true},"n":"/34/0/2","v":1,"y":[]}]`,
			[]model.Record{r("/34/0/2", model.Int(1))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseJSONRecords([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !sameRecords(got, tc.want, 0) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
			for i := range got {
				// Values compare by bits: -0.0 is not 0.0.
				if got[i].Value.Type() == model.TypeFloat && math.Float64bits(got[i].Value.Float()) != math.Float64bits(tc.want[i].Value.Float()) {
					t.Errorf("record %d float bits %x, want %x", i, math.Float64bits(got[i].Value.Float()), math.Float64bits(tc.want[i].Value.Float()))
				}
			}
		})
	}
}

// TestTimes covers bt and t (RFC 8428 section 4.5.3) in both formats.
func TestTimes(t *testing.T) {
	tests := []struct {
		name     string
		json     string
		cbor     string
		want     []time.Time // absolute times, or
		relative []float64   // seconds from now
	}{
		{name: "absolute", json: `[{"n":"/1/0/1","v":1,"t":1700000000}]`, cbor: `81 a3 00 66 2f312f302f31 02 01 06 1a 6553f100`,
			want: []time.Time{epoch(1700000000, 0)}},
		{name: "fraction", json: `[{"n":"/1/0/1","v":1,"t":1700000000.123456789}]`,
			want: []time.Time{epoch(1700000000, 123456789)}},
		{name: "float", cbor: `81 a3 00 66 2f312f302f31 02 01 06 fb 41d954fc4007df3b`, // 1700000000.123
			want: []time.Time{epoch(1700000000, 123000000)}},
		{name: "decimal fraction", cbor: `81 a3 00 66 2f312f302f31 02 01 06 c4 82 22 1b 0000018bcfe56c7b`, // [-3, 1700000001147]
			want: []time.Time{epoch(1700000001, 147000000)}},
		{name: "exponent", json: `[{"n":"/1/0/1","v":1,"t":1.7e9}]`, want: []time.Time{epoch(1700000000, 0)}},
		{name: "beyond nanoseconds truncates", json: `[{"n":"/1/0/1","v":1,"t":1700000000.0000000019}]`,
			want: []time.Time{epoch(1700000000, 1)}},
		{name: "base time plus time", json: `[{"bt":1700000000,"n":"/1/0/1","v":1,"t":-0.25},{"n":"/1/0/1","v":2},{"n":"/1/0/1","v":3,"t":10}]`,
			cbor: `83 a4 22 1a 6553f100 00 66 2f312f302f31 02 01 06 f9 b400 a2 00 66 2f312f302f31 02 02 a3 00 66 2f312f302f31 02 03 06 0a`,
			want: []time.Time{epoch(1699999999, 750000000), epoch(1700000000, 0), epoch(1700000010, 0)}},
		{name: "2^28 is absolute", json: `[{"n":"/1/0/1","v":1,"t":268435456}]`, want: []time.Time{epoch(1<<28, 0)}},
		{name: "zero is now", json: `[{"n":"/1/0/1","v":1,"t":0}]`, cbor: `81 a3 00 66 2f312f302f31 02 01 06 00`, relative: []float64{0}},
		{name: "negative is past", json: `[{"n":"/1/0/1","v":1,"t":-5}]`, cbor: `81 a3 00 66 2f312f302f31 02 01 06 24`, relative: []float64{-5}},
		{name: "below 2^28 is relative", json: `[{"n":"/1/0/1","v":1,"t":268435455}]`, relative: []float64{268435455}},
		{name: "relative base time", json: `[{"bt":-60,"n":"/1/0/1","v":1,"t":-0.5},{"n":"/1/0/1","v":1}]`, relative: []float64{-60.5, -60}},
		{name: "no time", json: `[{"n":"/1/0/1","v":1}]`, cbor: `81 a2 00 66 2f312f302f31 02 01`, want: []time.Time{{}}},
	}
	for _, tc := range tests {
		for _, f := range formats {
			in := tc.json
			if f.name == "cbor" {
				in = tc.cbor
			}
			if in == "" {
				continue
			}
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				b := []byte(in)
				if f.name == "cbor" {
					b = unhex(t, in)
				}
				before := time.Now()
				recs, err := f.parseRecs(b)
				if err != nil {
					t.Fatal(err)
				}
				after := time.Now()
				for i, w := range tc.want {
					if !recs[i].Time.Equal(w) {
						t.Errorf("record %d time %v, want %v", i, recs[i].Time, w)
					}
				}
				for i, s := range tc.relative {
					d := time.Duration(s * float64(time.Second))
					lo, hi := before.Add(d).Add(-time.Second), after.Add(d).Add(time.Second)
					if tm := recs[i].Time; tm.Before(lo) || tm.After(hi) {
						t.Errorf("record %d time %v, want now%+vs", i, tm, s)
					}
				}
			})
		}
	}
}

// TestEncodeJSONValues checks the value fields EncodeJSON and
// AppendJSONRecords write, and that they read back.
func TestEncodeJSONValues(t *testing.T) {
	tests := []struct {
		name string
		v    model.Value
		want string
	}{
		{"integer", model.Int(-12), `"v":-12`},
		{"unsigned", model.Uint(math.MaxUint64), `"v":18446744073709551615`},
		{"whole float", model.Float(1), `"v":1.0`},
		{"float", model.Float(0.1), `"v":0.1`},
		{"negative zero", model.Float(math.Copysign(0, -1)), `"v":-0.0`},
		{"big float", model.Float(1e21), `"v":1e+21`},
		{"float 1e20", model.Float(1e20), `"v":100000000000000000000.0`},
		{"small float", model.Float(1e-7), `"v":1e-07`},
		{"max float", model.Float(math.MaxFloat64), `"v":1.7976931348623157e+308`},
		{"time", model.UnixTime(1367491215), `"v":1367491215`},
		{"true", model.Bool(true), `"vb":true`},
		{"false", model.Bool(false), `"vb":false`},
		{"string", model.String("a\"b\\c\n\x01\x1f\u007fé😀</>"), `"vs":"a\"b\\c\n\u0001\u001f` + "\u007fé😀</>\""},
		{"corelnk", model.Corelnk("</3/0>;ct=110"), `"vs":"</3/0>;ct=110"`},
		{"opaque", model.Opaque([]byte{0xfb, 0xff}), `"vd":"-_8"`},
		{"long opaque", model.Opaque(bytes.Repeat([]byte{0xff, 0xfe, 0x01}, 34)), `"vd":"` + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xff, 0xfe, 0x01}, 34)) + `"`},
		{"empty opaque", model.Opaque(nil), `"vd":""`},
		{"objlnk", model.Objlnk(66, 1), `"vlo":"66:1"`},
		{"null objlnk", model.Objlnk(65535, 65535), `"vlo":"65535:65535"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := []model.Record{{Path: mp("/1/0/1"), Value: tc.v}}
			got, err := AppendJSONRecords(nil, rec)
			if err != nil {
				t.Fatal(err)
			}
			if want := `[{"n":"/1/0/1",` + tc.want + `}]`; string(got) != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			back, err := ParseJSONRecords(got)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.v
			switch tc.v.Type() { // what JSON cannot tell without definitions
			case model.TypeTime:
				want = model.Int(tc.v.Int())
			case model.TypeCorelnk:
				want = model.String(tc.v.Str())
			}
			if back[0].Value != want {
				t.Errorf("read back %v, want %v", back[0].Value, want)
			}
		})
	}
}

// TestEncodeCBORValues checks the bytes of each value and that they read
// back.
func TestEncodeCBORValues(t *testing.T) {
	tests := []struct {
		name string
		v    model.Value
		want string
	}{
		{"integer", model.Int(-12), "02 2b"},
		{"unsigned", model.Uint(math.MaxUint64), "02 1b ffffffffffffffff"},
		{"whole float is half", model.Float(1), "02 f9 3c00"},
		{"half", model.Float(1.5), "02 f9 3e00"},
		{"single", model.Float(100000), "02 fa 47c35000"},
		{"double", model.Float(0.1), "02 fb 3fb999999999999a"},
		{"NaN", model.Float(math.NaN()), "02 f9 7e00"},
		{"infinity", model.Float(math.Inf(-1)), "02 f9 fc00"},
		{"time", model.UnixTime(1367491215), "02 1a 5182428f"},
		{"true", model.Bool(true), "04 f5"},
		{"string", model.String("é"), "03 62 c3a9"},
		{"corelnk", model.Corelnk("</1>"), "03 64 3c2f313e"},
		{"opaque", model.Opaque([]byte{1, 2, 3}), "08 43 010203"},
		{"objlnk", model.Objlnk(66, 1), "63 766c6f 64 36363a31"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := []model.Record{{Path: mp("/1/0/1"), Value: tc.v}}
			got, err := AppendCBORRecords(nil, rec)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, "81 a2 00 66 2f312f302f31"+tc.want); !bytes.Equal(got, want) {
				t.Errorf("got  %x\nwant %x", got, want)
			}
			back, err := ParseCBORRecords(got)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.v
			switch tc.v.Type() {
			case model.TypeTime:
				want = model.Int(tc.v.Int())
			case model.TypeCorelnk:
				want = model.String(tc.v.Str())
			}
			if back[0].Value != want {
				t.Errorf("read back %v, want %v", back[0].Value, want)
			}
		})
	}
}

// TestEncodeTimes checks "t" in both formats.
func TestEncodeTimes(t *testing.T) {
	tests := []struct {
		name       string
		tm         time.Time
		json, cbor string
	}{
		{"whole", epoch(1700000000, 0), `"t":1700000000`, "06 1a 6553f100"},
		{"fraction", epoch(1700000000, 123000000), `"t":1700000000.123`, "06 fb 41d954fc4007df3b"},
		{"nanoseconds", epoch(1700000000, 1), `"t":1700000000.000000001`, "06 fa 4ecaa7e2"},
		{"2^28", epoch(1<<28, 0), `"t":268435456`, "06 1a 10000000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := []model.Record{{Path: mp("/1/0/1"), Value: model.Int(1), Time: tc.tm}}
			j, err := AppendJSONRecords(nil, rec)
			if err != nil {
				t.Fatal(err)
			}
			if want := `[{"n":"/1/0/1","v":1,` + tc.json + `}]`; string(j) != want {
				t.Errorf("json %s, want %s", j, want)
			}
			if back, err := ParseJSONRecords(j); err != nil || !back[0].Time.Equal(tc.tm) {
				t.Errorf("json reads back %v, %v", back, err)
			}
			c, err := AppendCBORRecords(nil, rec)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, "81 a3 00 66 2f312f302f31 02 01"+tc.cbor); !bytes.Equal(c, want) {
				t.Errorf("cbor %x, want %x", c, want)
			}
			back, err := ParseCBORRecords(c)
			if err != nil {
				t.Fatal(err)
			}
			if d := back[0].Time.Sub(tc.tm); d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("cbor reads back %v, want %v", back[0].Time, tc.tm)
			}
		})
	}
}

// TestEncodeNodes checks the names of node-level encoding (Core 1.1
// Tables 7.4.4-2 and 7.4.4-5) at every level, and that nodes read back.
func TestEncodeNodes(t *testing.T) {
	power := model.NewMultipleResourceOf(6, model.Int(1), model.Int(5))
	tests := []struct {
		name       string
		path       string
		node       model.Node
		json, cbor string
	}{
		{"object", "/3", model.NewObject(3, model.NewInstance(0, model.NewResource(9, model.Int(100)), power)),
			`[{"bn":"/3/","n":"0/6/0","v":1},{"n":"0/6/1","v":5},{"n":"0/9","v":100}]`,
			"83 a3 21 63 2f332f 00 65 302f362f30 02 01 a2 00 65 302f362f31 02 05 a2 00 63 302f39 02 18 64"},
		{"multiple resource", "/3/0/6", power, `[{"bn":"/3/0/6/","n":"0","v":1},{"n":"1","v":5}]`,
			"82 a3 21 67 2f332f302f362f 00 61 30 02 01 a2 00 61 31 02 05"},
		{"multiple resource of one", "/3/0/11", model.NewMultipleResourceOf(11, model.Int(0)),
			`[{"bn":"/3/0/11/","n":"0","v":0}]`, "81 a3 21 68 2f332f302f31312f 00 61 30 02 00"},
		{"resource instance", "/3/0/6/1", model.NewResourceInstance(1, model.Int(5)), `[{"bn":"/3/0/6/1","v":5}]`,
			"81 a2 21 68 2f332f302f362f31 02 05"},
		{"empty instance", "/3/0", model.NewInstance(0), `[]`, "80"},
		{"executables left out", "/3/0", model.NewInstance(0, model.NewResource(4, model.Value{}), model.NewResource(9, model.Int(1))),
			`[{"bn":"/3/0/","n":"9","v":1}]`, "81 a3 21 65 2f332f302f 00 61 39 02 01"},
		{"largest ids", "/65534/65534/65534/65534", model.NewResourceInstance(65534, model.Int(1)),
			`[{"bn":"/65534/65534/65534/65534","v":1}]`, "81 a2 21 78 18 2f36353533342f36353533342f36353533342f3635353334 02 01"},
	}
	for _, tc := range tests {
		for _, f := range formats {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				p := mp(tc.path)
				want := []byte(tc.json)
				if f.name == "cbor" {
					want = unhex(t, tc.cbor)
				}
				got, err := f.encode([]byte("prefix"), p, &tc.node)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(got, []byte("prefix")) || !bytes.Equal(got[6:], want) {
					t.Fatalf("got  %s\nwant %s", show(f, got[6:]), show(f, want))
				}
				back, err := f.decode(got[6:], p, nil)
				if err != nil {
					t.Fatal(err)
				}
				wantNode := tc.node
				if tc.name == "executables left out" {
					wantNode = model.NewInstance(0, model.NewResource(9, model.Int(1)))
				}
				if !back.Equal(&wantNode) {
					t.Errorf("read back %v, want %v", back, wantNode)
				}
			})
		}
	}
}

// TestEncodeErrors checks what the encoders refuse.
func TestEncodeErrors(t *testing.T) {
	nodes := []struct {
		name string
		path string
		node model.Node
		code model.Code
		json bool // JSON only
	}{
		{"NaN", "/3/0/9", model.NewResource(9, model.Float(math.NaN())), model.NotAcceptable, true},
		{"infinity", "/3/0/9", model.NewResource(9, model.Float(math.Inf(1))), model.NotAcceptable, true},
		{"invalid UTF-8", "/3/0/0", model.NewResource(0, model.String("a\xffb")), model.NotAcceptable, false},
		{"invalid UTF-8 corelnk", "/3/0/0", model.NewResource(0, model.Corelnk("\xc3")), model.NotAcceptable, false},
		{"executable resource", "/3/0/4", model.NewResource(4, model.Value{}), model.NotAcceptable, false},
	}
	for _, f := range formats {
		t.Run(f.name+"/malformed", func(t *testing.T) { f.nodes().CheckEncodeErrors(t, codectest.MalformedNodes()) })
	}
	for _, tc := range nodes {
		for _, f := range formats {
			if tc.json && f.name != "json" {
				continue
			}
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				dst := []byte("keep")
				got, err := f.encode(dst, mp(tc.path), &tc.node)
				if model.CodeOf(err) != tc.code {
					t.Fatalf("error %v, want %s", err, tc.code)
				}
				if string(got) != "keep" {
					t.Errorf("dst changed to %q", got)
				}
			})
		}
	}
	recs := []struct {
		name string
		rec  model.Record
		code model.Code
	}{
		{"no value", model.Record{Path: mp("/3/0/1")}, model.NotAcceptable},
		{"instance path", model.Record{Path: mp("/3/0"), Value: model.Int(1)}, model.BadRequest},
		{"time before 2^28", model.Record{Path: mp("/3/0/1"), Value: model.Int(1), Time: epoch(1<<28-1, 0)}, model.NotAcceptable},
		{"time before the epoch", model.Record{Path: mp("/3/0/1"), Value: model.Int(1), Time: epoch(-10, 0)}, model.NotAcceptable},
		{"time beyond 2^53", model.Record{Path: mp("/3/0/1"), Value: model.Int(1), Time: epoch(1<<53, 0)}, model.NotAcceptable},
	}
	for _, tc := range recs {
		for _, f := range formats {
			t.Run(f.name+"/record/"+tc.name, func(t *testing.T) {
				_, err := f.appendRecs(nil, []model.Record{{Path: mp("/1/0/1"), Value: model.Int(1)}, tc.rec})
				if model.CodeOf(err) != tc.code {
					t.Fatalf("error %v, want %s", err, tc.code)
				}
			})
		}
	}
}

// TestDecodeNodes covers node-level decoding beyond the specification's
// examples.
func TestDecodeNodes(t *testing.T) {
	defs := testDefs(t)
	tests := []struct {
		name string
		path string
		in   string
		defs bool
		want model.Node
	}{
		{"empty multiple resource with definitions", "/3/0/11", `[]`, true, model.NewMultipleResource(11)},
		{"definitions convert", "/3308/0", `[{"bn":"/3308/0/","n":"5900","v":18}]`, true,
			model.NewInstance(0, model.NewResource(5900, model.Float(18)))},
		{"times ignored", "/3/0/9", `[{"bn":"/3/0/9","v":80,"t":-5}]`, false, model.NewResource(9, model.Int(80))},
		{"resource instance", "/3/0/7/1", `[{"n":"/3/0/7/1","v":5000}]`, true, model.NewResourceInstance(1, model.Int(5000))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d model.Definitions
			if tc.defs {
				d = defs
			}
			got, err := DecodeJSON([]byte(tc.in), mp(tc.path), d)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(&tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	bad := []struct {
		name string
		path string
		in   string
	}{
		{"record outside the path", "/3/0", `[{"n":"/3/1/0","vs":"x"}]`},
		{"two values for one resource", "/3/0", `[{"n":"/3/0/9","v":1},{"n":"/3/0/9","v":2}]`},
		{"root path", "/", `[{"n":"/3/0/9","v":1}]`},
		{"empty single resource", "/3/0/9", `[]`},
		{"value of the wrong type", "/3/0/9", `[{"n":"/3/0/9","vs":"x"}]`},
		{"instances of a single resource", "/3/0/9", `[{"n":"/3/0/9/0","v":1}]`},
	}
	for _, tc := range bad {
		for _, f := range formats {
			t.Run("bad/"+f.name+"/"+tc.name, func(t *testing.T) {
				in := []byte(tc.in)
				if f.name == "cbor" {
					recs, err := ParseJSONRecords(in)
					if err != nil {
						t.Fatal(err)
					}
					if in, err = AppendCBORRecords(nil, recs); err != nil {
						t.Fatal(err)
					}
				}
				_, err := f.decode(in, mp(tc.path), defs)
				mustBadRequest(t, err)
			})
		}
	}
}

// TestPathLists covers path lists at every level.
func TestPathLists(t *testing.T) {
	paths := []model.Path{mp("/"), mp("/1"), mp("/3/0"), mp("/3/0/9"), mp("/3/0/6/1"), mp("/65534/65534/65534/65534")}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			b, err := f.appendPaths(nil, paths)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.parsePaths(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(paths) {
				t.Fatalf("got %v, want %v", got, paths)
			}
			for i := range got {
				if got[i] != paths[i] {
					t.Errorf("path %d = %s, want %s", i, got[i], paths[i])
				}
			}
		})
	}
	if b, _ := AppendJSONPaths(nil, paths[:2]); string(b) != `[{"n":"/"},{"n":"/1"}]` {
		t.Errorf("json %s", b)
	}
	// Base names, times and units are allowed in path lists (RFC 8790
	// section 3.1 allows them in a FETCH pack).
	got, err := ParseJSONPaths([]byte(`[{"bn":"/3/0/","n":"0"},{"n":"9","t":-5,"u":"%"},{"bn":"/1/0/"},{"bn":"","n":"/5"}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []model.Path{mp("/3/0/0"), mp("/3/0/9"), mp("/1/0"), mp("/5")}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if got, err := ParseCBORPaths(unhex(t, "80")); err != nil || len(got) != 0 {
		t.Errorf("empty list: %v %v", got, err)
	}
}

// TestIndefiniteCBOR reads indefinite-length packs, records and strings,
// which RFC 8949 allows anywhere.
func TestIndefiniteCBOR(t *testing.T) {
	// [_ {_ 0: (_ "/3/0", "/0"), 3: (_ "a", "b")}, {-2: "/3/0/", 0: "1", 2: 5}]
	in := unhex(t, "9f bf 00 7f 64 2f332f30 62 2f30 ff 03 7f 61 61 61 62 ff ff a3 21 65 2f332f302f 00 61 31 02 05 ff")
	recs, err := ParseCBORRecords(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []model.Record{{Path: mp("/3/0/0"), Value: model.String("ab")}, {Path: mp("/3/0/1"), Value: model.Int(5)}}
	if !sameRecords(recs, want, 0) {
		t.Errorf("got %v, want %v", recs, want)
	}
	paths, err := ParseCBORPaths(unhex(t, "9f a1 00 62 2f31 bf 00 61 2f ff ff"))
	if err != nil || len(paths) != 2 || paths[0] != mp("/1") || paths[1] != mp("/") {
		t.Errorf("paths %v %v", paths, err)
	}
}

// TestCBORNumbers covers the CBOR number forms of "v".
func TestCBORNumbers(t *testing.T) {
	tests := []struct {
		name string
		v    string
		want model.Value
	}{
		{"uint", "18 64", model.Int(100)},
		{"uint beyond int64", "1b 8000000000000000", model.Uint(1 << 63)},
		{"negint", "38 63", model.Int(-100)},
		{"negint min int64", "3b 7fffffffffffffff", model.Int(math.MinInt64)},
		{"negint below int64", "3b 8000000000000000", model.Float(-9223372036854775809)},
		{"half", "f9 3e00", model.Float(1.5)},
		{"single", "fa 3fc00000", model.Float(1.5)},
		{"double", "fb 3ff8000000000000", model.Float(1.5)},
		{"NaN payload canonical", "fb 7ff8000000000001", model.Float(math.NaN())},
		{"decimal fraction", "c4 82 21 19 6ab3", model.Float(273.15)},
		{"decimal fraction indefinite", "c4 9f 21 19 6ab3 ff", model.Float(273.15)},
		{"negative decimal fraction", "c4 82 20 38 0e", model.Float(-1.5)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := ParseCBORRecords(unhex(t, "81 a2 00 66 2f312f302f31 02"+tc.v))
			if err != nil {
				t.Fatal(err)
			}
			got := recs[0].Value
			if got != tc.want {
				t.Errorf("got %v (%x), want %v", got, math.Float64bits(got.Float()), tc.want)
			}
		})
	}
}

// TestParsePath checks the allocation-free path parser against
// model.ParsePath on every short name over a small alphabet.
func TestParsePath(t *testing.T) {
	const alphabet = "/019x"
	var name []byte
	var walk func(n int)
	count := 0
	walk = func(n int) {
		want, werr := model.ParsePath(string(name))
		got, gerr := parsePath(name)
		count++
		if (werr == nil) != (gerr == nil) || werr == nil && got != want {
			t.Fatalf("parsePath(%q) = %v, %v; model.ParsePath = %v, %v", name, got, gerr, want, werr)
		}
		if gerr != nil && !errors.Is(gerr, model.ErrInvalidPath) {
			t.Fatalf("parsePath(%q) error %v", name, gerr)
		}
		if n == 0 {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			name = append(name, alphabet[i])
			walk(n - 1)
			name = name[:len(name)-1]
		}
	}
	walk(8)
	for _, s := range []string{"/65534", "/65535", "/99999", "/100000", "/00", "/0/1/2/3/", "/0/1/2/3/4", "/1//", "//"} {
		want, werr := model.ParsePath(s)
		got, gerr := parsePath([]byte(s))
		if (werr == nil) != (gerr == nil) || got != want {
			t.Errorf("parsePath(%q) = %v, %v; model.ParsePath = %v, %v", s, got, gerr, want, werr)
		}
	}
	t.Logf("%d names", count)
}

// TestNoAllocations checks that encoding a Device instance appends without
// allocating, and that decoding allocates little.
func TestNoAllocations(t *testing.T) {
	n := codectest.DeviceInstance()
	p := mp("/3/0")
	buf := make([]byte, 0, 1024)
	for _, f := range formats {
		a := testing.AllocsPerRun(100, func() {
			if _, err := f.encode(buf[:0], p, &n); err != nil {
				t.Fatal(err)
			}
		})
		if a != 0 {
			t.Errorf("%s: encoding allocates %v times", f.name, a)
		}
	}
	recs, _ := model.Flatten(nil, p, &n)
	for _, f := range formats {
		a := testing.AllocsPerRun(100, func() {
			if _, err := f.appendRecs(buf[:0], recs); err != nil {
				t.Fatal(err)
			}
		})
		if a != 0 {
			t.Errorf("%s: appending records allocates %v times", f.name, a)
		}
	}
}
