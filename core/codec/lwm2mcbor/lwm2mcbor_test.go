package lwm2mcbor

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/internal/cbor"
	"github.com/wasm2m/wasm2m/core/model"
)

const deviceDiag = `{[3, 0]: {0: "Open Mobile Alliance", 1: "Lightweight M2M Client", 2: "345000123", 3: "1.0", ` +
	`6: {0: 1, 1: 5}, 7: {0: 3800, 1: 5000}, 8: {0: 125, 1: 900}, 9: 100, 10: 15, [11, 0]: 0, ` +
	`13: 1(1367491215), 14: "+02:00", 16: "U"}}`

// The Device object instance of the LwM2M examples (Core 1.2 section 7.4:
// Read /3/0), in the canonical form and in other spellings.
func TestDeviceInstance(t *testing.T) {
	defs := testDefs(t)
	want := codectest.DeviceInstance()
	p := model.InstancePath(3, 0)
	got, err := Encode(nil, p, &want)
	if err != nil {
		t.Fatal(err)
	}
	if d := diag(got); d != deviceDiag {
		t.Errorf("got  %s\nwant %s", d, deviceDiag)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "device.cbor"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, golden) {
		t.Errorf("got  %x\nwant %x (testdata/device.cbor)", got, golden)
	}
	spellings := map[string][]byte{
		"canonical": got,
		"nested": enc(m{{3, m{{0, m{
			{0, "Open Mobile Alliance"}, {1, "Lightweight M2M Client"}, {2, "345000123"}, {3, "1.0"},
			{6, m{{0, 1}, {1, 5}}}, {7, m{{0, 3800}, {1, 5000}}}, {8, m{{0, 125}, {1, 900}}},
			{9, 100}, {10, 15}, {11, m{{0, 0}}}, {13, tag{1, 1367491215}}, {14, "+02:00"}, {16, "U"},
		}}}}}),
		"flat, indefinite, unordered, plain time": enc(im{
			{ia{3, 0, 16}, "U"}, {ia{3, 0, 14}, "+02:00"}, {ia{3, 0, 13}, 1367491215},
			{[]int{3, 0, 0}, "Open Mobile Alliance"}, {[]int{3, 0, 1}, "Lightweight M2M Client"},
			{[]int{3, 0, 2}, "345000123"}, {[]int{3, 0, 3}, "1.0"},
			{[]int{3, 0, 6, 1}, 5}, {[]int{3, 0, 6, 0}, 1}, {[]int{3, 0, 7, 0}, 3800}, {[]int{3, 0, 7, 1}, 5000},
			{[]int{3, 0, 8, 0}, 125}, {[]int{3, 0, 8, 1}, 900}, {[]int{3, 0, 9}, 100}, {[]int{3, 0, 10}, 15},
			{[]int{3, 0, 11, 0}, 0},
		}),
		"mixed keys": enc(m{{3, m{{[]int{0}, im{
			{0, "Open Mobile Alliance"}, {1, "Lightweight M2M Client"}, {2, "345000123"}, {3, "1.0"},
			{6, im{{0, 1}, {1, 5}}}, {[]int{7, 0}, 3800}, {[]int{7, 1}, 5000}, {8, m{{0, 125}, {1, 900}}},
			{ia{9}, 100}, {10, 15}, {ia{11, 0}, 0}, {13, tag{1, 1367491215}}, {14, "+02:00"}, {16, "U"},
		}}}}}),
	}
	for name, data := range spellings {
		t.Run(name, func(t *testing.T) {
			n, err := Decode(data, p, defs)
			if err != nil {
				t.Fatal(err)
			}
			if !n.Equal(&want) {
				t.Errorf("got  %v\nwant %v", n, want)
			}
		})
	}
}

// The example of the assignment: {3: {0: {0: "Open Mobile Alliance", 7:
// {0: 5000, 1: 3800}}}} and its collapsed spelling.
func TestCollapsedKeys(t *testing.T) {
	o := model.NewObject(3, model.NewInstance(0,
		model.NewResource(0, model.String("Open Mobile Alliance")),
		model.NewMultipleResourceOf(7, model.Int(5000), model.Int(3800))))
	got, err := Encode(nil, model.ObjectPath(3), &o)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{[3, 0]: {0: "Open Mobile Alliance", 7: {0: 5000, 1: 3800}}}`
	if d := diag(got); d != want {
		t.Errorf("got  %s\nwant %s", d, want)
	}
	for _, data := range [][]byte{got, enc(m{{3, m{{0, m{{0, "Open Mobile Alliance"}, {7, m{{0, 5000}, {1, 3800}}}}}}}})} {
		n, err := Decode(data, model.ObjectPath(3), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !n.Equal(&o) {
			t.Errorf("got %v", n)
		}
	}

	one := model.NewInstance(0, model.NewResource(0, model.String("Open Mobile Alliance")),
		model.NewMultipleResourceOf(7, model.Int(5000)))
	got, _ = Encode(nil, model.InstancePath(3, 0), &one)
	if d, want := diag(got), `{[3, 0]: {0: "Open Mobile Alliance", [7, 0]: 5000}}`; d != want {
		t.Errorf("got  %s\nwant %s", d, want)
	}
}

func TestEncodeShapes(t *testing.T) {
	tests := []struct {
		name string
		p    model.Path
		n    model.Node
		want string
	}{
		{"resource", model.ResourcePath(3, 0, 0), model.NewResource(0, model.String("Open Mobile Alliance")),
			`{[3, 0, 0]: "Open Mobile Alliance"}`},
		{"multiple resource", model.ResourcePath(3, 0, 6), model.NewMultipleResourceOf(6, model.Int(1), model.Int(5)),
			`{[3, 0, 6]: {0: 1, 1: 5}}`},
		{"resource instance", model.ResourceInstancePath(3, 0, 6, 1), model.NewResourceInstance(1, model.Int(5)),
			`{[3, 0, 6, 1]: 5}`},
		{"single instance object", model.ObjectPath(1), model.NewObject(1, model.NewInstance(0,
			model.NewResource(0, model.Int(1)), model.NewResource(1, model.Int(300)))),
			`{[1, 0]: {0: 1, 1: 300}}`},
		{"two instances", model.ObjectPath(1), model.NewObject(1,
			model.NewInstance(0, model.NewResource(1, model.Int(300))),
			model.NewInstance(1, model.NewResource(0, model.Int(2)), model.NewResource(1, model.Int(86400)))),
			`{1: {[0, 1]: 300, 1: {0: 2, 1: 86400}}}`},
		{"empty object", model.ObjectPath(3), model.NewObject(3), `{3: {}}`},
		{"empty instance", model.InstancePath(3, 0), model.NewInstance(0), `{[3, 0]: {}}`},
		{"empty multiple resource", model.ResourcePath(3, 0, 6), model.NewMultipleResource(6), `{[3, 0, 6]: {}}`},
		{"empty instance in object", model.ObjectPath(3), model.NewObject(3, model.NewInstance(0),
			model.NewInstance(1, model.NewResource(9, model.Int(1)))), `{3: {0: {}, [1, 9]: 1}}`},
		{"executables left out", model.InstancePath(3, 0), model.NewInstance(0,
			model.NewResource(4, model.Value{}), model.NewResource(9, model.Int(100)), model.NewResource(12, model.Value{})),
			`{[3, 0, 9]: 100}`},
		{"only executables", model.InstancePath(3, 0), model.NewInstance(0, model.NewResource(4, model.Value{})),
			`{[3, 0]: {}}`},
		{"large ids", model.ResourceInstancePath(65534, 65534, 65534, 65534), model.NewResourceInstance(65534, model.Bool(true)),
			`{[65534, 65534, 65534, 65534]: true}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode([]byte{0xaa}, tc.p, &tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if got[0] != 0xaa {
				t.Fatal("dst prefix lost")
			}
			if d := diag(got[1:]); d != tc.want {
				t.Errorf("got  %s\nwant %s", d, tc.want)
			}
			back, err := Decode(got[1:], tc.p, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.n.Clone()
			dropExecutables(&want)
			if !back.Equal(&want) {
				t.Errorf("decoded %v, want %v", back, want)
			}
		})
	}
}

func dropExecutables(n *model.Node) {
	n.Children = slices.DeleteFunc(n.Children, func(c model.Node) bool { return c.HasValue() && c.Value.IsNone() })
	for i := range n.Children {
		dropExecutables(&n.Children[i])
	}
}

func TestValues(t *testing.T) {
	p := model.ResourcePath(1000, 0, 1)
	tests := []struct {
		name    string
		v       model.Value
		diag    string
		noDefs  model.Value // what Decode gives without definitions
		typeRes uint16      // a typesDef resource of the value's type
	}{
		{"integer", model.Int(-42), "-42", model.Int(-42), 2},
		{"integer min", model.Int(math.MinInt64), "-9223372036854775808", model.Int(math.MinInt64), 2},
		{"unsigned small", model.Uint(7), "7", model.Int(7), 3},
		{"unsigned max", model.Uint(math.MaxUint64), "18446744073709551615", model.Uint(math.MaxUint64), 3},
		{"float half", model.Float(1.5), "1.5", model.Float(1.5), 4},
		{"float integral", model.Float(3), "3.0", model.Float(3), 4},
		{"float double", model.Float(22.4), "22.4", model.Float(22.4), 4},
		{"float negative zero", model.Float(math.Copysign(0, -1)), "-0.0", model.Float(math.Copysign(0, -1)), 4},
		{"float infinity", model.Float(math.Inf(1)), "Infinity", model.Float(math.Inf(1)), 4},
		{"float nan", model.Float(math.NaN()), "NaN", model.Float(math.NaN()), 4},
		{"boolean", model.Bool(true), "true", model.Bool(true), 5},
		{"string", model.String("a\"é😀"), `"a\"é😀"`, model.String("a\"é😀"), 1},
		{"string empty", model.String(""), `""`, model.String(""), 1},
		{"opaque", model.Opaque([]byte{0, 0xff}), "h'00ff'", model.Opaque([]byte{0, 0xff}), 6},
		{"opaque empty", model.Opaque(nil), "h''", model.Opaque(nil), 6},
		{"time", model.UnixTime(1367491215), "1(1367491215)", model.UnixTime(1367491215), 7},
		{"time before 1970", model.UnixTime(-5), "1(-5)", model.UnixTime(-5), 7},
		{"objlnk", model.Objlnk(12, 34), `"12:34"`, model.String("12:34"), 8},
		{"objlnk null", model.Objlnk(65535, 65535), `"65535:65535"`, model.String("65535:65535"), 8},
		{"corelnk", model.Corelnk("</3/0>"), `"</3/0>"`, model.String("</3/0>"), 9},
	}
	defs := testDefs(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := model.NewResource(1, tc.v)
			got, err := Encode(nil, p, &n)
			if err != nil {
				t.Fatal(err)
			}
			if d, want := diag(got), "{[1000, 0, 1]: "+tc.diag+"}"; d != want {
				t.Errorf("got  %s\nwant %s", d, want)
			}
			back, err := Decode(got, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if back.Value != tc.noDefs {
				t.Errorf("without definitions: %v (%s), want %v (%s)", back.Value, back.Value.Type(), tc.noDefs, tc.noDefs.Type())
			}
			tp := model.ResourcePath(1000, 0, tc.typeRes)
			n.ID = tc.typeRes
			got, _ = Encode(nil, tp, &n)
			back, err = Decode(got, tp, defs)
			if err != nil {
				t.Fatal(err)
			}
			if back.Value != tc.v {
				t.Errorf("with definitions: %v (%s), want %v (%s)", back.Value, back.Value.Type(), tc.v, tc.v.Type())
			}
		})
	}
}

func TestDecodeValueForms(t *testing.T) {
	p := model.ResourcePath(1, 0, 1)
	tests := []struct {
		name string
		v    any
		want model.Value
	}{
		{"half float", raw{0xf9, 0x3e, 0x00}, model.Float(1.5)},
		{"single float", raw{0xfa, 0x47, 0xc3, 0x50, 0x00}, model.Float(100000)},
		{"double float", raw{0xfb, 0x3f, 0xf1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a}, model.Float(1.1)},
		{"nan payload", raw{0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 2}, model.Float(math.NaN())},
		{"long uint for small", raw{0x1b, 0, 0, 0, 0, 0, 0, 0, 5}, model.Int(5)},
		{"indefinite text", raw{0x7f, 0x61, 'a', 0x62, 'b', 'c', 0xff}, model.String("abc")},
		{"indefinite bytes", raw{0x5f, 0x41, 1, 0x40, 0xff}, model.Opaque([]byte{1})},
		{"time as float", tag{1, 1367491215.0}, model.UnixTime(1367491215)},
		{"time long", tag{1, raw{0x1b, 0, 0, 0, 0, 0x51, 0x82, 0x42, 0x8f}}, model.UnixTime(1367491215)},
		{"negative one", -1, model.Int(-1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := enc(m{{[]int{1, 0, 1}, tc.v}})
			n, err := Decode(data, p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if n.Value != tc.want {
				t.Errorf("got %v (%s), want %v (%s)", n.Value, n.Value.Type(), tc.want, tc.want.Type())
			}
		})
	}
}

// Spellings a real peer accepts (the Anjay Lite test suite's payloads,
// written out anew here): the same records whatever the keys look like.
func TestSpellings(t *testing.T) {
	one := []model.Record{{Path: model.ResourcePath(13, 26, 1), Value: model.Int(42)}}
	two := []model.Record{{Path: model.ResourcePath(13, 26, 1), Value: model.Int(42)}, {Path: model.ResourcePath(13, 26, 2), Value: model.Int(21)}}
	composite := []model.Record{{Path: model.ResourcePath(13, 26, 1), Value: model.Int(1)}, {Path: model.ResourcePath(14, 27, 2), Value: model.Int(2)}}
	tests := []struct {
		name string
		hex  string
		want []model.Record
	}{
		{"array key", "a1 83 0d 18 1a 01 18 2a", one},
		{"indefinite map and array", "bf 9f 0d 18 1a 01 ff 18 2a ff", one},
		{"nested", "a1 0d a1 18 1a a1 01 18 2a", one},
		{"nested indefinite", "bf 0d bf 18 1a bf 01 18 2a ff ff ff", one},
		{"nested one-id arrays", "a1 81 0d a1 81 18 1a a1 81 01 18 2a", one},
		{"instance key", "a1 82 0d 18 1a a2 01 18 2a 02 15", two},
		{"two full keys", "a2 83 0d 18 1a 01 18 2a 83 0d 18 1a 02 15", two},
		{"instance given twice", "a2 82 0d 18 1a a1 01 18 2a 83 0d 18 1a 02 15", two},
		{"instance given twice, other order", "a2 83 0d 18 1a 01 18 2a 82 0d 18 1a a1 81 02 15", two},
		{"composite", "a2 0d a1 18 1a a1 01 01 0e a1 18 1b a1 02 02", composite},
		{"composite indefinite", "bf 0d bf 18 1a bf 01 01 ff ff 0e bf 18 1b bf 02 02 ff ff ff", composite},
		{"composite indefinite with arrays", "bf 9f 0d ff bf 9f 18 1a ff bf 9f 01 ff 01 ff ff 9f 0e ff bf 9f 18 1b ff bf 9f 02 ff 02 ff ff ff", composite},
		{"all types", "a1 82 0d 18 1a a7 01 01 02 20 03 f9 41 00 04 64 74 65 73 74 05 44 11 22 33 44 06 65 31 32 3a 33 34 07 01",
			[]model.Record{
				{Path: model.ResourcePath(13, 26, 1), Value: model.Int(1)},
				{Path: model.ResourcePath(13, 26, 2), Value: model.Int(-1)},
				{Path: model.ResourcePath(13, 26, 3), Value: model.Float(2.5)},
				{Path: model.ResourcePath(13, 26, 4), Value: model.String("test")},
				{Path: model.ResourcePath(13, 26, 5), Value: model.Opaque([]byte{0x11, 0x22, 0x33, 0x44})},
				{Path: model.ResourcePath(13, 26, 6), Value: model.String("12:34")},
				{Path: model.ResourcePath(13, 26, 7), Value: model.Int(1)},
			}},
		{"null and int", "a1 83 0d 18 1a 01 a2 02 f6 03 05", []model.Record{
			{Path: model.ResourceInstancePath(13, 26, 1, 2)},
			{Path: model.ResourceInstancePath(13, 26, 1, 3), Value: model.Int(5)},
		}},
		{"empty", "a0", nil},
		{"empty indefinite", "bf ff", nil},
		{"empty maps only", "a1 0d a1 18 1a a0", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRecords(unhex(t, tc.hex))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestAppendRecords(t *testing.T) {
	tests := []struct {
		name string
		recs []model.Record
		want string
	}{
		{"none", nil, "{}"},
		{"one", []model.Record{{Path: model.ResourcePath(3, 0, 0), Value: model.String("x")}}, `{[3, 0, 0]: "x"}`},
		{"composite, any order", []model.Record{
			{Path: model.ResourcePath(1, 0, 1), Value: model.Int(300)},
			{Path: model.ResourceInstancePath(3, 0, 7, 1), Value: model.Int(5000)},
			{Path: model.ResourcePath(3, 0, 0), Value: model.String("Open Mobile Alliance")},
			{Path: model.ResourceInstancePath(3, 0, 7, 0), Value: model.Int(3800)},
			{Path: model.ResourcePath(3303, 0, 5700), Value: model.Float(22.4)},
			{Path: model.ResourcePath(3303, 1, 5700), Value: model.Float(-3)},
		}, `{[1, 0, 1]: 300, [3, 0]: {0: "Open Mobile Alliance", 7: {0: 3800, 1: 5000}}, 3303: {[0, 5700]: 22.4, [1, 5700]: -3.0}}`},
		{"null", []model.Record{{Path: model.ResourceInstancePath(13, 26, 1, 2)}, {Path: model.ResourceInstancePath(13, 26, 1, 3), Value: model.Int(5)}},
			`{[13, 26, 1]: {2: null, 3: 5}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendRecords([]byte{0xaa}, tc.recs)
			if err != nil {
				t.Fatal(err)
			}
			if d := diag(got[1:]); d != tc.want {
				t.Errorf("got  %s\nwant %s", d, tc.want)
			}
			back, err := ParseRecords(got[1:])
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Clone(tc.recs)
			slices.SortFunc(want, cmpRecord)
			if len(back) != len(want) {
				t.Fatalf("got %v", back)
			}
			for i := range back {
				if back[i] != want[i] {
					t.Errorf("record %d: %v, want %v", i, back[i], want[i])
				}
			}
		})
	}
	errs := []struct {
		name string
		recs []model.Record
	}{
		{"instance level", []model.Record{{Path: model.InstancePath(3, 0), Value: model.Int(1)}}},
		{"twice", []model.Record{{Path: model.ResourcePath(3, 0, 1), Value: model.Int(1)}, {Path: model.ResourcePath(3, 0, 1), Value: model.Int(2)}}},
		{"below another", []model.Record{{Path: model.ResourceInstancePath(3, 0, 1, 0), Value: model.Int(1)}, {Path: model.ResourcePath(3, 0, 1), Value: model.Int(2)}}},
		{"timestamp", []model.Record{{Path: model.ResourcePath(3, 0, 1), Value: model.Int(1), Time: time.Unix(5, 0)}}},
		{"invalid utf-8", []model.Record{{Path: model.ResourcePath(3, 0, 1), Value: model.String("\xff")}}},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendRecords([]byte("keep"), tc.recs)
			if !errors.Is(err, model.ErrBadRequest) || string(got) != "keep" {
				t.Errorf("got %q, %v; want dst kept and 4.00", got, err)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	nodes.CheckEncodeErrors(t, append(codectest.MalformedNodes(),
		codectest.Malformed{Name: "executable", Path: model.ResourcePath(3, 0, 4), Node: model.NewResource(4, model.Value{})},
		codectest.Malformed{Name: "invalid utf-8", Path: model.ResourcePath(1, 0, 1), Node: model.NewResource(1, model.String("a\xffb"))},
		codectest.Malformed{Name: "invalid utf-8 deep", Path: model.InstancePath(1, 0), Node: model.NewInstance(0,
			model.NewResource(1, model.Corelnk("\xff")), model.NewResource(2, model.Int(1)))}))
}

// Every malformed payload is a 4.00 error, never a panic.
func TestMalformed(t *testing.T) {
	tests := []struct {
		name      string
		data      []byte
		malformed bool // also wraps cbor.ErrMalformed
	}{
		{"empty", nil, true},
		{"not a map", enc([]int{3}), false},
		{"integer", enc(3), false},
		{"trailing data", append(enc(m{}), 0), false},
		{"truncated map", unhex(t, "a2 83 0d 18 1a 01 18 2a"), true},
		{"truncated indefinite", unhex(t, "bf 83 0d 18 1a 01 18 2a"), true},
		{"truncated key array", unhex(t, "a1 83 0d 18"), true},
		{"unterminated key array", unhex(t, "a1 9f 0d 18 1a 01"), true},
		{"reserved info", unhex(t, "a1 1c 01"), true},
		{"count beyond data", unhex(t, "bb 00 00 00 01 00 00 00 00"), true},
		{"break as key", unhex(t, "a1 ff 01"), false},
		{"break in a definite map", unhex(t, "a2 01 a0 ff 00"), false},
		{"negative key", enc(m{{-1, m{}}}), false},
		{"text key", enc(m{{"3", m{}}}), false},
		{"float key", enc(m{{1.5, m{}}}), false},
		{"map key", enc(m{{m{}, m{}}}), false},
		{"nested array key", raw{0xa1, 0x81, 0x81, 0x01, 0xa0}, false},
		{"text in key array", enc(m{{raw{0x82, 0x03, 0x61, '0'}, m{}}}), false},
		{"empty key array", enc(m{{[]int{}, 1}}), false},
		{"empty indefinite key array", enc(m{{ia{}, 1}}), false},
		{"id 65535", enc(m{{[]int{65535, 0, 0}, 1}}), false},
		{"id beyond uint16", enc(m{{[]int{70000, 0, 0}, 1}}), false},
		{"five ids", enc(m{{[]int{13, 26, 3, 4, 5}, 5}}), false},
		{"five ids across maps", enc(m{{[]int{13, 26, 1}, m{{2, 5}, {[]int{3, 4}, 6}}}}), false},
		{"five levels nested", enc(m{{13, m{{26, m{{1, m{{2, m{{3, 4}}}}}}}}}}), false},
		{"map at resource instance", enc(m{{[]int{13, 26, 1, 2}, m{}}}), false},
		{"value at object", enc(m{{3, 1}}), false},
		{"value at instance", enc(m{{[]int{3, 0}, "x"}}), false},
		{"null at instance", enc(m{{[]int{3, 0}, null}}), false},
		{"same key twice", enc(m{{[]int{3, 0, 1}, 1}, {[]int{3, 0, 1}, 2}}), false},
		{"same path two spellings", enc(m{{[]int{3, 0, 1}, 1}, {3, m{{0, m{{1, 2}}}}}}), false},
		{"same id twice in a map", enc(m{{3, m{{0, m{{1, 1}, {1, 2}}}}}}), false},
		{"value with instances", enc(m{{[]int{3, 0, 6}, 1}, {[]int{3, 0, 6, 0}, 2}}), false},
		{"value and empty map", enc(m{{[]int{3, 0, 6}, 1}, {[]int{3, 0}, m{{6, m{}}}}}), false},
		{"array value", enc(m{{[]int{3, 0, 6}, []int{1, 2}}}), false},
		{"undefined", enc(m{{[]int{3, 0, 6}, raw{0xf7}}}), false},
		{"simple value", enc(m{{[]int{3, 0, 6}, raw{0xf0}}}), false},
		{"simple value two bytes", enc(m{{[]int{3, 0, 6}, raw{0xf8, 0x20}}}), false},
		{"integer below int64", enc(m{{[]int{3, 0, 6}, raw{0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0}}}), false},
		{"other tag", enc(m{{[]int{3, 0, 6}, tag{0, "2013-03-21T20:04:00Z"}}}), false},
		{"decimal fraction", enc(m{{[]int{3, 0, 6}, tag{4, []int{-1, 45}}}}), false},
		{"time as text", enc(m{{[]int{3, 0, 13}, tag{1, "x"}}}), false},
		{"time fraction", enc(m{{[]int{3, 0, 13}, tag{1, 1.5}}}), false},
		{"time out of range", enc(m{{[]int{3, 0, 13}, tag{1, uint64(math.MaxUint64)}}}), false},
		{"time infinite", enc(m{{[]int{3, 0, 13}, tag{1, math.Inf(1)}}}), false},
		{"time truncated", raw{0xa1, 0x83, 0x03, 0x00, 0x0d, 0xc1}, true},
		{"invalid utf-8", enc(m{{[]int{3, 0, 0}, raw{0x62, 0xc3, 0x28}}}), true},
		{"bad chunk", enc(m{{[]int{3, 0, 0}, raw{0x7f, 0x41, 'a', 0xff}}}), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := ParseRecords(tc.data)
			if !errors.Is(err, model.ErrBadRequest) {
				t.Fatalf("ParseRecords(%x): got %v, %v; want 4.00", tc.data, recs, err)
			}
			if !strings.HasPrefix(err.(*model.Error).Msg, "lwm2mcbor: ") {
				t.Errorf("message %q lacks the lwm2mcbor prefix", err)
			}
			if tc.malformed != errors.Is(err, cbor.ErrMalformed) {
				t.Errorf("errors.Is(%v, cbor.ErrMalformed) = %v", err, !tc.malformed)
			}
			if _, err := Decode(tc.data, model.InstancePath(3, 0), nil); !errors.Is(err, model.ErrBadRequest) {
				t.Errorf("Decode: %v, want 4.00", err)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	defs := testDefs(t)
	tests := []struct {
		name string
		p    model.Path
		data []byte
	}{
		{"root", model.RootPath(), enc(m{})},
		{"value outside", model.InstancePath(3, 0), enc(m{{[]int{3, 1, 0}, "x"}})},
		{"empty map outside", model.InstancePath(3, 0), enc(m{{[]int{3, 1}, m{}}})},
		{"value outside an empty resource", model.ResourcePath(3, 0, 6), enc(m{{[]int{3, 0, 6}, m{}}, {[]int{3, 0, 7}, 1}})},
		{"empty map above", model.InstancePath(3, 0), enc(m{{3, m{}}})},
		{"null", model.InstancePath(3, 0), enc(m{{[]int{3, 0, 0}, null}})},
		{"empty single resource", model.ResourcePath(3, 0, 9), enc(m{{[]int{3, 0, 9}, m{}}})},
		{"empty single resource below", model.InstancePath(3, 0), enc(m{{[]int{3, 0}, m{{9, m{}}}}})},
		{"wrong type", model.ResourcePath(3, 0, 0), enc(m{{[]int{3, 0, 0}, 5}})},
		{"single given instances", model.ResourcePath(3, 0, 9), enc(m{{[]int{3, 0, 9, 0}, 5}})},
		{"multiple given a value", model.ResourcePath(3, 0, 6), enc(m{{[]int{3, 0, 6}, 5}})},
		{"resource not present", model.ResourcePath(3, 0, 9), enc(m{})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Decode(tc.data, tc.p, defs)
			if !errors.Is(err, model.ErrBadRequest) {
				t.Fatalf("got %v, %v; want 4.00", n, err)
			}
			if !strings.HasPrefix(err.(*model.Error).Msg, "lwm2mcbor: ") {
				t.Errorf("message %q lacks the lwm2mcbor prefix", err)
			}
		})
	}
}

// Empty maps, present or implied, decode to nodes without children.
func TestDecodeEmpty(t *testing.T) {
	defs := testDefs(t)
	tests := []struct {
		name string
		p    model.Path
		data []byte
		defs model.Definitions
		want model.Node
	}{
		{"empty multiple resource without definitions", model.ResourcePath(3, 0, 6), enc(m{{[]int{3, 0, 6}, m{}}}), nil, model.NewMultipleResource(6)},
		{"empty multiple resource", model.ResourcePath(3, 0, 6), enc(m{{3, im{{0, m{{6, im{}}}}}}}), defs, model.NewMultipleResource(6)},
		{"implied empty multiple resource", model.ResourcePath(3, 0, 6), enc(m{}), defs, model.NewMultipleResource(6)},
		{"empty instance", model.InstancePath(3, 0), enc(m{{[]int{3, 0}, m{}}}), nil, model.NewInstance(0)},
		{"implied empty instance", model.InstancePath(3, 0), enc(m{}), nil, model.NewInstance(0)},
		{"empty object", model.ObjectPath(3), enc(m{{3, m{}}}), nil, model.NewObject(3)},
		{"empty parts merged", model.ObjectPath(3), enc(m{{[]int{3, 1}, m{}}, {3, m{{0, m{{[]int{6}, m{}}}}, {[]int{2, 7}, m{}}}}, {[]int{3, 2, 0}, "x"}}), nil,
			model.NewObject(3, model.NewInstance(0, model.NewMultipleResource(6)), model.NewInstance(1),
				model.NewInstance(2, model.NewResource(0, model.String("x")), model.NewMultipleResource(7)))},
		{"empty map merged with values", model.InstancePath(3, 0), enc(m{{[]int{3, 0}, m{}}, {[]int{3, 0, 9}, 1}}), defs,
			model.NewInstance(0, model.NewResource(9, model.Int(1)))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := Decode(tc.data, tc.p, tc.defs)
			if err != nil {
				t.Fatal(err)
			}
			if !n.Equal(&tc.want) {
				t.Errorf("got  %v\nwant %v", n, tc.want)
			}
		})
	}
}

// Random nodes over random definitions survive Encode and Decode.
func TestRoundTripRandomNodes(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			g := codectest.NewGen(seed)
			g.Empty = true // LwM2M CBOR carries empty instances and multiple resources
			g.Large = 1
			defs := g.ObjectDefs()
			p, n := g.Node(defs)
			nodes.CheckRoundTrip(t, p, &n, &n, codectest.Registry(t, defs...))
			// The records of the node give the same payload, but for empty
			// containers, which records cannot carry.
			recs, err := model.Flatten(nil, p, &n)
			if err != nil {
				t.Fatal(err)
			}
			fromRecs, err := AppendRecords(nil, recs)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseRecords(fromRecs)
			if err != nil {
				t.Fatal(err)
			}
			for i := range recs {
				recs[i].Value = withoutDefs(recs[i].Value)
			}
			if !slices.Equal(back, recs) {
				t.Fatalf("%s\ngot  %v\nwant %v", diag(fromRecs), back, recs)
			}
		})
	}
}

// Without definitions Integer, Float, Boolean, String, Opaque and Time
// survive, and an Unsigned Integer that does not fit an Integer.
func TestRoundTripWithoutDefinitions(t *testing.T) {
	g := codectest.NewGen(7)
	types := []model.Type{model.TypeString, model.TypeInteger, model.TypeFloat, model.TypeBoolean, model.TypeOpaque, model.TypeTime}
	for i := 0; i < 500; i++ {
		v := g.Value(types[g.R.IntN(len(types))])
		if i%5 == 0 {
			v = model.Uint(1<<63 + g.R.Uint64N(1<<63))
		}
		n := model.NewInstance(1, model.NewResource(uint16(i), v), model.NewMultipleResourceOf(uint16(i+1000), v, v))
		data, err := Encode(nil, model.InstancePath(5, 1), &n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(data, model.InstancePath(5, 1), nil)
		if err != nil {
			t.Fatalf("%s: %v", diag(data), err)
		}
		if !got.Equal(&n) {
			t.Fatalf("%s\ngot  %v\nwant %v", diag(data), got, n)
		}
	}
}

// Random records, from several objects, survive AppendRecords and
// ParseRecords, in path order.
func TestRoundTripRandomRecords(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		g := codectest.NewGen(seed)
		seen := map[model.Path]bool{}
		var recs []model.Record
		for k := g.R.IntN(12); k > 0; k-- {
			p := model.ResourcePath(uint16(g.R.IntN(3)), uint16(g.R.IntN(3)), uint16(g.R.IntN(4)))
			multiple := p.ResourceID() >= 2
			if multiple {
				p = p.MustChild(uint16(g.R.IntN(3)))
			}
			if seen[p] {
				continue
			}
			seen[p] = true
			v := g.Value(model.Type(1 + g.R.IntN(int(model.TypeCorelnk))))
			if g.R.IntN(10) == 0 {
				v = model.Value{}
			}
			recs = append(recs, model.Record{Path: p, Value: v})
		}
		data, err := AppendRecords(nil, recs)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		got, err := ParseRecords(data)
		if err != nil {
			t.Fatalf("seed %d: %s: %v", seed, diag(data), err)
		}
		want := slices.Clone(recs)
		slices.SortFunc(want, cmpRecord)
		for i := range want {
			want[i].Value = withoutDefs(want[i].Value)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d: %s\ngot  %v\nwant %v", seed, diag(data), got, want)
		}
	}
}

// withoutDefs is the value ParseRecords gives back for v.
func withoutDefs(v model.Value) model.Value {
	switch v.Type() {
	case model.TypeUnsigned:
		if v.Uint() <= math.MaxInt64 {
			return model.Int(int64(v.Uint()))
		}
	case model.TypeObjlnk:
		return model.String(v.Objlnk().String())
	case model.TypeCorelnk:
		return model.String(v.Str())
	}
	return v
}

// A decoder allocates at most a small multiple of its input, whatever
// the input claims.
func TestDecodeAllocationBound(t *testing.T) {
	// {[_ 1, 0, 1]: {0: 0, 1: 0, ...}} with 20000 resource instances.
	b := []byte{0xa1, 0x83, 0x01, 0x00, 0x01, 0xbf}
	for i := 0; i < 20000; i++ {
		b = cbor.AppendUint(b, uint64(i))
		b = append(b, 0x00)
	}
	b = append(b, 0xff)
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	recs, err := ParseRecords(b)
	runtime.ReadMemStats(&ms1)
	if err != nil || len(recs) != 20000 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if got := ms1.TotalAlloc - ms0.TotalAlloc; got > 64*uint64(len(b)) {
		t.Errorf("allocated %d bytes for %d bytes of input", got, len(b))
	}
	// A count larger than the data is refused before anything is sized.
	if _, err := ParseRecords(unhex(t, "bb 7f ff ff ff ff ff ff ff")); !errors.Is(err, model.ErrBadRequest) {
		t.Errorf("huge count: %v", err)
	}
}
