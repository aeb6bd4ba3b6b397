package codec

import (
	"encoding/hex"
	"errors"
	"math"
	"testing"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/model"
)

// allTypes is an object with one single and one multiple resource of
// every data type, plus an executable, for tests that must reach every
// type through every format.
func allTypes() *model.ObjectDef {
	d := codectest.TypesDef(42769, resourceOf, execID)
	d.Name, d.Version = "All Types", model.V1_0
	return d
}

// resourceOf returns the id of the single (or multiple) resource of type t
// in allTypes.
func resourceOf(t model.Type, multiple bool) uint16 {
	id := uint16(t-model.TypeString) * 2
	if multiple {
		id++
	}
	return id
}

const execID = 18

func testDefs(t testing.TB) *model.Registry {
	t.Helper()
	r, err := model.NewRegistry(allTypes())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFormatNames(t *testing.T) {
	for _, f := range Formats() {
		if !f.Known() {
			t.Errorf("%d unknown", f)
		}
		for _, s := range []string{f.Name(), f.MediaType(), f.String()[len(f.Name())+1 : len(f.String())-1]} {
			got, err := ParseFormat(s)
			if err != nil || got != f {
				t.Errorf("ParseFormat(%q) = %v, %v; want %v", s, got, err, f)
			}
		}
	}
	if got, _ := ParseFormat("text/plain"); got != Text {
		t.Error("text/plain")
	}
	if got, _ := ParseFormat("Application/SenML+CBOR"); got != SenMLCBOR {
		t.Error("case")
	}
	if _, err := ParseFormat("application/xml"); !errors.Is(err, model.ErrBadRequest) {
		t.Errorf("unknown media type: %v", err)
	}
	if TLV.MinVersion() != model.V1_0 || SenMLCBOR.MinVersion() != model.V1_1 || LwM2MCBOR.MinVersion() != model.V1_2 {
		t.Error("MinVersion")
	}
	if !Text.SingleValue() || TLV.SingleValue() || !SenMLJSON.Composite() || TLV.Composite() {
		t.Error("SingleValue/Composite")
	}
	if Format(9999).Known() || Format(9999).Name() != "9999" || None.Name() != "none" {
		t.Error("unknown format naming")
	}
}

func single(t model.Type, v model.Value) (model.Path, model.Node) {
	id := resourceOf(t, false)
	return model.ResourcePath(42769, 0, id), model.NewResource(id, v)
}

func TestText(t *testing.T) {
	defs := testDefs(t)
	tests := []struct {
		v    model.Value
		text string
	}{
		{model.String("Open Mobile Alliance"), "Open Mobile Alliance"},
		{model.Int(-5), "-5"},
		{model.Uint(18446744073709551615), "18446744073709551615"},
		{model.Float(21.25), "21.25"},
		{model.Bool(true), "1"},
		{model.Opaque([]byte{0xde, 0xad, 0xbe, 0xef}), "3q2+7w=="},
		{model.UnixTime(1367491215), "1367491215"},
		{model.Objlnk(3, 0), "3:0"},
		{model.Corelnk("</3/0>"), "</3/0>"},
	}
	for _, tc := range tests {
		t.Run(tc.v.Type().String(), func(t *testing.T) {
			p, n := single(tc.v.Type(), tc.v)
			b, err := Encode(nil, Text, p, &n)
			if err != nil || string(b) != tc.text {
				t.Fatalf("Encode = %q, %v; want %q", b, err, tc.text)
			}
			got, err := Decode(Text, b, p, defs)
			if err != nil || !got.Equal(&n) {
				t.Errorf("Decode = %v, %v; want %v", got, err, n)
			}
		})
	}
	// Without definitions text is a String.
	got, err := Decode(Text, []byte("12"), model.ResourcePath(9, 9, 9), nil)
	if err != nil || got.Value != model.String("12") {
		t.Errorf("untyped text = %v, %v", got, err)
	}
	// A resource instance of a multiple resource.
	ri := resourceOf(model.TypeInteger, true)
	got, err = Decode(Text, []byte("7"), model.ResourceInstancePath(42769, 0, ri, 3), defs)
	if err != nil || got.Kind != model.KindResourceInstance || got.ID != 3 || got.Value != model.Int(7) {
		t.Errorf("resource instance = %v, %v", got, err)
	}
}

func TestSingleValueErrors(t *testing.T) {
	defs := testDefs(t)
	intPath := model.ResourcePath(42769, 0, resourceOf(model.TypeInteger, false))
	multiPath := model.ResourcePath(42769, 0, resourceOf(model.TypeInteger, true))
	multi := model.NewMultipleResourceOf(multiPath.Last(), model.Int(1))
	inst := model.NewInstance(0, model.NewResource(0, model.String("x")))
	tests := []struct {
		name string
		err  error
		code model.Code
	}{
		{"text of a multiple resource", encodeErr(Text, multiPath, multi), model.NotAcceptable},
		{"cbor of an instance", encodeErr(CBOR, model.InstancePath(42769, 0), inst), model.NotAcceptable},
		{"opaque of an integer", encodeErr(Opaque, intPath, model.NewResource(intPath.Last(), model.Int(1))), model.NotAcceptable},
		{"text NaN", encodeErr(Text, model.ResourcePath(42769, 0, resourceOf(model.TypeFloat, false)), model.NewResource(resourceOf(model.TypeFloat, false), model.Float(math.NaN()))), model.NotAcceptable},
		{"node does not fit path", encodeErr(Text, intPath, model.NewResource(99, model.Int(1))), model.BadRequest},
		{"unknown format", encodeErr(Format(7), intPath, model.NewResource(intPath.Last(), model.Int(1))), model.NotAcceptable},
		{"text not an integer", decodeErr(Text, "1.5", intPath, defs), model.BadRequest},
		{"text into a multiple resource", decodeErr(Text, "1", multiPath, defs), model.BadRequest},
		{"text at an instance", decodeErr(Text, "1", model.InstancePath(42769, 0), defs), model.BadRequest},
		{"text to an executable", decodeErr(Text, "1", model.ResourcePath(42769, 0, execID), defs), model.BadRequest},
		{"opaque to an integer", decodeErr(Opaque, "\x01", intPath, defs), model.UnsupportedContentFormat},
		{"cbor trailing bytes", decodeErr(CBOR, "\x01\x02", intPath, defs), model.BadRequest},
		{"cbor empty", decodeErr(CBOR, "", intPath, defs), model.BadRequest},
		{"cbor array", decodeErr(CBOR, "\x81\x01", intPath, defs), model.BadRequest},
		{"cbor unknown tag", decodeErr(CBOR, "\xc2\x41\x01", intPath, defs), model.BadRequest},
		{"cbor tag 1 over text", decodeErr(CBOR, "\xc1\x61\x31", intPath, defs), model.BadRequest},
		{"cbor text to integer", decodeErr(CBOR, "\x61\x31", intPath, defs), model.BadRequest},
		{"cbor fractional time", decodeErr(CBOR, "\xc1\xfb\x3f\xf8\x00\x00\x00\x00\x00\x00", model.ResourcePath(42769, 0, resourceOf(model.TypeTime, false)), defs), model.BadRequest},
		{"unknown format", decodeErr(Format(7), "x", intPath, defs), model.UnsupportedContentFormat},
		{"root path", decodeErr(TLV, "", model.RootPath(), defs), model.BadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if model.CodeOf(tc.err) != tc.code {
				t.Errorf("got %v, want %s", tc.err, tc.code)
			}
		})
	}
}

func encodeErr(f Format, p model.Path, n model.Node) error {
	_, err := Encode(nil, f, p, &n)
	return err
}

func decodeErr(f Format, data string, p model.Path, defs model.Definitions) error {
	_, err := Decode(f, []byte(data), p, defs)
	return err
}

func TestOpaque(t *testing.T) {
	defs := testDefs(t)
	p, n := single(model.TypeOpaque, model.Opaque([]byte{0, 1, 2, 0xff}))
	b, err := Encode(nil, Opaque, p, &n)
	if err != nil || hex.EncodeToString(b) != "000102ff" {
		t.Fatalf("Encode = %x, %v", b, err)
	}
	got, err := Decode(Opaque, b, p, defs)
	if err != nil || !got.Equal(&n) {
		t.Errorf("Decode = %v, %v", got, err)
	}
	got, err = Decode(Opaque, nil, model.ResourcePath(5, 0, 0), nil)
	if err != nil || got.Value != model.Opaque(nil) {
		t.Errorf("empty untyped opaque = %v, %v", got, err)
	}
}

// CBOR vectors: the value encodings of Core 1.1 section 7.4.5 with RFC 8949
// Appendix A bytes.
func TestCBORVectors(t *testing.T) {
	defs := testDefs(t)
	tests := []struct {
		v   model.Value
		hex string
	}{
		{model.Int(-100), "3863"},
		{model.Int(1000000), "1a000f4240"},
		{model.Uint(18446744073709551615), "1bffffffffffffffff"},
		{model.Float(1.1), "fb3ff199999999999a"},
		{model.Float(1.5), "f93e00"},
		{model.Float(100000), "fa47c35000"},
		{model.Bool(false), "f4"},
		{model.String("IETF"), "6449455446"},
		{model.Opaque([]byte{1, 2, 3, 4}), "4401020304"},
		{model.UnixTime(1363896240), "c11a514b67b0"},
		{model.Objlnk(3, 0), "63333a30"},
		{model.Corelnk("</1>"), "643c2f313e"},
	}
	for _, tc := range tests {
		t.Run(tc.hex, func(t *testing.T) {
			p, n := single(tc.v.Type(), tc.v)
			b, err := Encode(nil, CBOR, p, &n)
			if err != nil || hex.EncodeToString(b) != tc.hex {
				t.Fatalf("Encode = %x, %v; want %s", b, err, tc.hex)
			}
			got, err := Decode(CBOR, b, p, defs)
			if err != nil || !got.Equal(&n) {
				t.Errorf("Decode = %v, %v; want %v", got, err, n)
			}
		})
	}
	// Other spellings peers send: an integer for a float or a time, a
	// plain integer time, a float time in whole seconds.
	lenient := []struct {
		t    model.Type
		hex  string
		want model.Value
	}{
		{model.TypeFloat, "1864", model.Float(100)},
		{model.TypeTime, "1a514b67b0", model.UnixTime(1363896240)},
		{model.TypeTime, "c1fb41d452d9ec000000", model.UnixTime(1363896240)},
		{model.TypeUnsigned, "05", model.Uint(5)},
		{model.TypeInteger, "f94500", model.Int(5)},
	}
	for _, tc := range lenient {
		p, _ := single(tc.t, model.Value{})
		b, _ := hex.DecodeString(tc.hex)
		got, err := Decode(CBOR, b, p, defs)
		if err != nil || got.Value != tc.want {
			t.Errorf("%s as %s = %v, %v; want %v", tc.hex, tc.t, got.Value, err, tc.want)
		}
	}
	// Untyped CBOR keeps the CBOR type.
	for _, tc := range []struct {
		hex  string
		want model.Value
	}{
		{"1bffffffffffffffff", model.Uint(math.MaxUint64)},
		{"3b7fffffffffffffff", model.Int(math.MinInt64)},
		{"c11a514b67b0", model.UnixTime(1363896240)},
		{"4101", model.Opaque([]byte{1})},
		{"6161", model.String("a")},
	} {
		b, _ := hex.DecodeString(tc.hex)
		got, err := Decode(CBOR, b, model.ResourcePath(9, 9, 9), nil)
		if err != nil || got.Value != tc.want {
			t.Errorf("untyped %s = %v, %v; want %v", tc.hex, got.Value, err, tc.want)
		}
	}
	b, _ := hex.DecodeString("3bffffffffffffffff")
	if _, err := Decode(CBOR, b, model.ResourcePath(9, 9, 9), nil); err == nil {
		t.Error("an integer below -2^63 decoded")
	}
}

func TestCanEncode(t *testing.T) {
	r := model.NewResource(1, model.Int(1))
	o := model.NewResource(1, model.Opaque(nil))
	inst := model.NewInstance(0)
	for _, tc := range []struct {
		f    Format
		n    *model.Node
		want bool
	}{
		{Text, &r, true}, {Text, &inst, false}, {Opaque, &r, false}, {Opaque, &o, true},
		{CBOR, &r, true}, {TLV, &inst, true}, {SenMLCBOR, &inst, true}, {LinkFormat, &r, false}, {Format(7), &r, false},
	} {
		if got := CanEncode(tc.f, tc.n); got != tc.want {
			t.Errorf("CanEncode(%v, %v) = %v", tc.f, tc.n, got)
		}
	}
}

func FuzzDecodeSingle(f *testing.F) {
	for _, s := range []string{"1", "-1", "1.5", "3:0", "aGVsbG8=", "\xc1\x1a\x51\x4b\x67\xb0", "\x63\x33\x3a\x30", "\xfb\x3f\xf1\x99\x99\x99\x99\x99\x9a", "\x7f\x61\x61\xff"} {
		for t := model.TypeString; t <= model.TypeCorelnk; t++ {
			f.Add([]byte(s), uint8(t))
		}
	}
	defs := testDefs(f)
	f.Fuzz(func(t *testing.T, data []byte, typ uint8) {
		p := model.ResourcePath(42769, 0, uint16(typ)%20)
		for _, fm := range []Format{Text, Opaque, CBOR} {
			n, err := Decode(fm, data, p, defs)
			if err != nil {
				if model.CodeOf(err) == model.InternalServerError {
					t.Fatalf("%v: error without a CoAP code: %v", fm, err)
				}
				continue
			}
			b, err := Encode(nil, fm, p, &n)
			if err != nil {
				if fm == Text && n.Value.Type() == model.TypeFloat {
					continue // NaN and infinities decode from CBOR only
				}
				t.Fatalf("%v: decoded %v does not encode: %v", fm, n, err)
			}
			back, err := Decode(fm, b, p, defs)
			if err != nil || !back.Equal(&n) {
				t.Fatalf("%v: %v -> %x -> %v, %v", fm, n, b, back, err)
			}
		}
	})
}
