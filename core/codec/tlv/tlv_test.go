package tlv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/model"
)

// testObject is object 1024: resources 0 to 8 single of each type, 9
// executable, 10 to 18 multiple of each type, in the order of
// codectest.Types.
const testObject = 1024

// res returns a resource definition for tests.
func res(id uint16, typ model.Type, multiple bool) model.ResourceDef {
	return codectest.Res(id, "", typ, multiple)
}

// testDefs returns the definitions the spec examples need (objects 1 and
// 2 as LwM2M 1.0 defines them, 3 with the resources LwM2M 1.1 adds, 65
// and 66 as the Objlnk examples describe them) and object 1024.
func testDefs(tb testing.TB) *model.Registry {
	tb.Helper()
	str, integer, boolean, objlnk, none := model.TypeString, model.TypeInteger, model.TypeBoolean, model.TypeObjlnk, model.TypeNone
	device := codectest.DeviceDef()
	device.Resources = append(device.Resources, // LwM2M 1.1 adds 17 to 22
		res(17, str, false), res(18, str, false), res(19, str, false),
		res(20, integer, false), res(21, integer, false), res(22, objlnk, true))
	server := &model.ObjectDef{ID: 1, Name: "LwM2M Server", Multiple: true, Resources: []model.ResourceDef{
		res(0, integer, false), res(1, integer, false), res(2, integer, false), res(3, integer, false),
		res(4, none, false), res(5, integer, false), res(6, boolean, false), res(7, str, false),
		res(8, none, false),
	}}
	acl := &model.ObjectDef{ID: 2, Name: "Access Control", Multiple: true, Resources: []model.ResourceDef{
		res(0, integer, false), res(1, integer, false), res(2, integer, true), res(3, integer, false),
	}}
	obj65 := &model.ObjectDef{ID: 65, Resources: []model.ResourceDef{
		res(0, objlnk, true), res(1, str, false), res(2, integer, false),
	}}
	obj66 := &model.ObjectDef{ID: 66, Multiple: true, Resources: []model.ResourceDef{
		res(0, str, false), res(1, str, false), res(2, objlnk, false),
	}}
	test := codectest.TypesDef(testObject, func(t model.Type, multiple bool) uint16 {
		id := uint16(t - model.TypeString)
		if multiple {
			id += 10
		}
		return id
	}, 9)
	r, err := model.NewRegistry(device, server, acl, obj65, obj66, test)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// nodes is this package's codec for the shared checks.
var nodes = codectest.NodeCodec{Encode: Encode, Decode: Decode, Show: hex.EncodeToString}

// unhex decodes hex digits, ignoring white space and # comments to the end
// of a line.
func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	var digits strings.Builder
	for line := range strings.Lines(s) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func golden(tb testing.TB, name string) []byte {
	tb.Helper()
	s, err := os.ReadFile(filepath.Join("testdata", "spec", name))
	if err != nil {
		tb.Fatal(err)
	}
	return unhex(tb, string(s))
}

// The nodes of the spec examples.
var (
	deviceInstance = codectest.DeviceInstance()
	aclObject      = model.NewObject(2,
		model.NewInstance(0,
			model.NewResource(0, model.Int(1)),
			model.NewResource(1, model.Int(0)),
			model.NewMultipleResource(2, model.NewResourceInstance(127, model.Int(7))),
			model.NewResource(3, model.Int(127)),
		),
		model.NewInstance(2,
			model.NewResource(0, model.Int(3)),
			model.NewResource(1, model.Int(0)),
			model.NewMultipleResource(2,
				model.NewResourceInstance(127, model.Int(7)),
				model.NewResourceInstance(310, model.Int(1))),
			model.NewResource(3, model.Int(127)),
		),
	)
	serverObject = model.NewObject(1, model.NewInstance(0,
		model.NewResource(0, model.Int(1)),
		model.NewResource(1, model.Int(86400)),
		model.NewResource(6, model.Bool(true)),
		model.NewResource(7, model.String("U")),
	))
	obj65Instance = model.NewInstance(0,
		model.NewMultipleResourceOf(0, model.Objlnk(66, 0), model.Objlnk(66, 1)),
		model.NewResource(1, model.String("8613800755500")),
		model.NewResource(2, model.Int(0x12345678)),
	)
	obj66Object = model.NewObject(66,
		model.NewInstance(0,
			model.NewResource(0, model.String("myService 1")),
			model.NewResource(1, model.String("Internet.15.234")),
			model.NewResource(2, model.Objlnk(67, 0)),
		),
		model.NewInstance(1,
			model.NewResource(0, model.String("myService 2")),
			model.NewResource(1, model.String("Internet.15.235")),
			model.NewResource(2, model.Objlnk(65535, 65535)),
		),
	)
)

// TestSpecExamples checks every TLV example the specification prints
// (Core 1.1 sections 7.4.3.1 to 7.4.3.3), and TLVs cut from them at
// resource and resource instance level, in both directions.
func TestSpecExamples(t *testing.T) {
	defs := testDefs(t)
	tests := []struct {
		name   string
		data   []byte
		path   string
		node   model.Node
		decode bool // decode only: the encoder writes other bytes for this node
	}{
		{name: "device instance", data: golden(t, "device-instance.hex"), path: "/3/0", node: deviceInstance},
		{name: "device object", data: golden(t, "device-object.hex"), path: "/3", node: model.NewObject(3, deviceInstance)},
		{name: "device instance wrapped", data: golden(t, "device-object.hex"), path: "/3/0", node: deviceInstance, decode: true},
		{name: "access control object", data: golden(t, "acl-object.hex"), path: "/2", node: aclObject},
		{name: "server object", data: golden(t, "server-object.hex"), path: "/1", node: serverObject},
		{name: "object 65 instance", data: golden(t, "obj65-instance.hex"), path: "/65/0", node: obj65Instance},
		{name: "object 66", data: golden(t, "obj66-object.hex"), path: "/66", node: obj66Object},
		{name: "available power sources", data: unhex(t, "86 06 41 00 01 41 01 05"), path: "/3/0/6",
			node: model.NewMultipleResourceOf(6, model.Int(1), model.Int(5))},
		{name: "power source voltage", data: unhex(t, "88 07 08 42 00 0E D8 42 01 13 88"), path: "/3/0/7",
			node: model.NewMultipleResourceOf(7, model.Int(3800), model.Int(5000))},
		{name: "power source current 1", data: unhex(t, "42 01 03 84"), path: "/3/0/8/1",
			node: model.NewResourceInstance(1, model.Int(900))},
		{name: "acl 310", data: unhex(t, "61 01 36 01"), path: "/2/2/2/310",
			node: model.NewResourceInstance(310, model.Int(1))},
		{name: "current time", data: unhex(t, "C4 0D 51 82 42 8F"), path: "/3/0/13",
			node: model.NewResource(13, model.UnixTime(1367491215))},
		{name: "manufacturer", data: unhex(t, "C8 00 14 4F 70 65 6E 20 4D 6F 62 69 6C 65 20 41 6C 6C 69 61 6E 63 65"), path: "/3/0/0",
			node: model.NewResource(0, model.String("Open Mobile Alliance"))},
		{name: "null object link", data: unhex(t, "C4 02 FF FF FF FF"), path: "/66/1/2",
			node: model.NewResource(2, model.Objlnk(65535, 65535))},
		{name: "lifetime", data: unhex(t, "C4 01 00 01 51 80"), path: "/1/0/1",
			node: model.NewResource(1, model.Int(86400))},
		{name: "notification storing", data: unhex(t, "C1 06 01"), path: "/1/0/6",
			node: model.NewResource(6, model.Bool(true))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := model.MustPath(tc.path)
			got, err := Decode(tc.data, p, defs)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !got.Equal(&tc.node) {
				t.Errorf("Decode:\n got %v\nwant %v", got, tc.node)
			}
			if tc.decode {
				return
			}
			enc, err := Encode(nil, p, &tc.node)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(enc, tc.data) {
				t.Errorf("Encode:\n got % X\nwant % X", enc, tc.data)
			}
		})
	}
}

// TestSpecExampleSizes checks the payload sizes the specification states
// beside its examples.
func TestSpecExampleSizes(t *testing.T) {
	for _, tc := range []struct {
		file string
		size int
	}{
		{"device-instance.hex", 121},
		{"device-object.hex", 124},
		{"acl-object.hex", 38},
		{"obj65-instance.hex", 37},
	} {
		t.Run(tc.file, func(t *testing.T) {
			if got := len(golden(t, tc.file)); got != tc.size {
				t.Errorf("%d bytes, the specification says %d", got, tc.size)
			}
		})
	}
}

// TestValues encodes and decodes one value of every type and width as a
// single resource of object 1024, and as a resource instance.
func TestValues(t *testing.T) {
	defs := testDefs(t)
	tests := []struct {
		name  string
		v     model.Value
		value string // hex of the TLV value
	}{
		{"string empty", model.String(""), ""},
		{"string ascii", model.String("abc"), "616263"},
		{"string utf-8", model.String("é€😀"), "C3A9E282ACF09F9880"},
		{"corelnk", model.Corelnk("</3/0>"), "3C2F332F303E"},
		{"opaque empty", model.Opaque(nil), ""},
		{"opaque", model.Opaque([]byte{0, 0xff, 0x80}), "00FF80"},
		{"integer 0", model.Int(0), "00"},
		{"integer 127", model.Int(127), "7F"},
		{"integer -128", model.Int(-128), "80"},
		{"integer 128", model.Int(128), "0080"},
		{"integer -129", model.Int(-129), "FF7F"},
		{"integer 32767", model.Int(32767), "7FFF"},
		{"integer -32768", model.Int(-32768), "8000"},
		{"integer 32768", model.Int(32768), "00008000"},
		{"integer max int32", model.Int(math.MaxInt32), "7FFFFFFF"},
		{"integer min int32", model.Int(math.MinInt32), "80000000"},
		{"integer max int32+1", model.Int(math.MaxInt32 + 1), "0000000080000000"},
		{"integer max int64", model.Int(math.MaxInt64), "7FFFFFFFFFFFFFFF"},
		{"integer min int64", model.Int(math.MinInt64), "8000000000000000"},
		{"integer -1", model.Int(-1), "FF"},
		{"unsigned 0", model.Uint(0), "00"},
		{"unsigned 255", model.Uint(255), "FF"},
		{"unsigned 256", model.Uint(256), "0100"},
		{"unsigned 65535", model.Uint(65535), "FFFF"},
		{"unsigned 65536", model.Uint(65536), "00010000"},
		{"unsigned max uint32", model.Uint(math.MaxUint32), "FFFFFFFF"},
		{"unsigned max uint32+1", model.Uint(math.MaxUint32 + 1), "0000000100000000"},
		{"unsigned max uint64", model.Uint(math.MaxUint64), "FFFFFFFFFFFFFFFF"},
		{"float 0", model.Float(0), "00000000"},
		{"float -0", model.Float(math.Copysign(0, -1)), "80000000"},
		{"float 1.5", model.Float(1.5), "3FC00000"},
		{"float -2.25", model.Float(-2.25), "C0100000"},
		{"float 0.1", model.Float(0.1), "3FB999999999999A"},
		{"float 1e300", model.Float(1e300), "7E37E43C8800759C"},
		{"float smallest float32", model.Float(float64(math.SmallestNonzeroFloat32)), "00000001"},
		{"float inf", model.Float(math.Inf(1)), "7F800000"},
		{"float -inf", model.Float(math.Inf(-1)), "FF800000"},
		{"float max float64", model.Float(math.MaxFloat64), "7FEFFFFFFFFFFFFF"},
		{"boolean false", model.Bool(false), "00"},
		{"boolean true", model.Bool(true), "01"},
		{"time 0", model.UnixTime(0), "00"},
		{"time 2013", model.UnixTime(1367491215), "5182428F"},
		{"time 2038+", model.UnixTime(1 << 31), "0000000080000000"},
		{"time negative", model.UnixTime(-86400), "FFFEAE80"},
		{"objlnk", model.Objlnk(3, 0), "00030000"},
		{"objlnk 16-bit", model.Objlnk(0x1234, 0xABCD), "1234ABCD"},
		{"objlnk null", model.Objlnk(65535, 65535), "FFFFFFFF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := uint16(indexOf(codectest.Types, tc.v.Type()))
			value := unhex(t, tc.value)
			// As a single resource: one Resource TLV.
			p := model.ResourcePath(testObject, 0, r)
			n := model.NewResource(r, tc.v)
			checkBothWays(t, defs, p, n, smallTLV(typResource, byte(r), value))
			// As instance 7 of the multiple resource: one Resource Instance TLV.
			p = model.ResourceInstancePath(testObject, 0, r+10, 7)
			n = model.NewResourceInstance(7, tc.v)
			checkBothWays(t, defs, p, n, smallTLV(typResourceInstance, 7, value))
		})
	}
}

// smallTLV writes a TLV with an 8-bit id and a value of up to 255 bytes,
// independently of the encoder.
func smallTLV(typ, id byte, value []byte) []byte {
	if len(value) <= 7 {
		return append([]byte{typ | byte(len(value)), id}, value...)
	}
	return append([]byte{typ | 0x08, id, byte(len(value))}, value...)
}

func indexOf(ts []model.Type, t model.Type) int {
	for i, u := range ts {
		if u == t {
			return i
		}
	}
	panic("no type " + t.String())
}

// checkBothWays checks that n at p encodes to want and want decodes to n.
func checkBothWays(t *testing.T, defs model.Definitions, p model.Path, n model.Node, want []byte) {
	t.Helper()
	got, err := Encode(nil, p, &n)
	if err != nil {
		t.Fatalf("Encode %s: %v", p, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Encode %s:\n got % X\nwant % X", p, got, want)
	}
	back, err := Decode(want, p, defs)
	if err != nil {
		t.Fatalf("Decode %s: %v", p, err)
	}
	if !back.Equal(&n) {
		t.Errorf("Decode %s:\n got %v\nwant %v", p, back, n)
	}
}

// TestDecodeWidths checks that every legal width decodes, minimal or not.
func TestDecodeWidths(t *testing.T) {
	defs := testDefs(t)
	tests := []struct {
		name  string
		r     uint16 // resource of object 1024
		value string
		want  model.Value
	}{
		{"integer 5 in 2 bytes", 1, "0005", model.Int(5)},
		{"integer 5 in 4 bytes", 1, "00000005", model.Int(5)},
		{"integer 5 in 8 bytes", 1, "0000000000000005", model.Int(5)},
		{"integer -2 in 2 bytes", 1, "FFFE", model.Int(-2)},
		{"integer -2 in 4 bytes", 1, "FFFFFFFE", model.Int(-2)},
		{"integer -2 in 8 bytes", 1, "FFFFFFFFFFFFFFFE", model.Int(-2)},
		{"unsigned 200 in 1 byte", 2, "C8", model.Uint(200)},
		{"unsigned 200 in 8 bytes", 2, "00000000000000C8", model.Uint(200)},
		{"unsigned 0xFFFE in 2 bytes", 2, "FFFE", model.Uint(0xFFFE)},
		{"unsigned 0xFFFFFFFE in 4 bytes", 2, "FFFFFFFE", model.Uint(0xFFFFFFFE)},
		{"float 1.5 in 8 bytes", 3, "3FF8000000000000", model.Float(1.5)},
		{"float 1.5 in 4 bytes", 3, "3FC00000", model.Float(1.5)},
		{"time -1 in 8 bytes", 6, "FFFFFFFFFFFFFFFF", model.UnixTime(-1)},
		{"time in 2 bytes", 6, "0100", model.UnixTime(256)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			value := unhex(t, tc.value)
			data := smallTLV(typResource, byte(tc.r), value)
			got, err := Decode(data, model.ResourcePath(testObject, 0, tc.r), defs)
			if err != nil {
				t.Fatal(err)
			}
			if want := model.NewResource(tc.r, tc.want); !got.Equal(&want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

// TestHeaders checks the identifier and length fields at every size:
// what Encode writes (the fewest bytes) and that Decode reads it back.
func TestHeaders(t *testing.T) {
	tests := []struct {
		name   string
		id     uint16
		length int
		header string
	}{
		{"8-bit id, length 0 in type", 5, 0, "C0 05"},
		{"8-bit id, length 7 in type", 5, 7, "C7 05"},
		{"8-bit id, 8-bit length 8", 5, 8, "C8 05 08"},
		{"8-bit id, 8-bit length 255", 255, 255, "C8 FF FF"},
		{"16-bit id 256, length in type", 256, 1, "E1 01 00"},
		{"16-bit id 65534, length in type", 65534, 3, "E3 FF FE"},
		{"8-bit id, 16-bit length 256", 0, 256, "D0 00 01 00"},
		{"8-bit id, 16-bit length 65535", 1, 65535, "D0 01 FF FF"},
		{"8-bit id, 24-bit length 65536", 1, 65536, "D8 01 01 00 00"},
		{"16-bit id, 24-bit length 70000", 4660, 70000, "F8 12 34 01 11 70"},
		{"16-bit id, 16-bit length", 300, 1000, "F0 01 2C 03 E8"},
		{"16-bit id, 8-bit length", 300, 100, "E8 01 2C 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			value := bytes.Repeat([]byte{0xA5}, tc.length)
			p := model.ResourcePath(77, 0, tc.id) // undefined: Opaque
			n := model.NewResource(tc.id, model.Opaque(value))
			checkBothWays(t, nil, p, n, append(unhex(t, tc.header), value...))
		})
	}
}

// TestDecodeHeaders checks that Decode accepts headers larger than
// needed and ignores bits 2-0 of the Type byte when a Length field is
// present (Core 1.1 section 7.4.3).
func TestDecodeHeaders(t *testing.T) {
	tests := []struct {
		name string
		data string
	}{
		{"16-bit id for id 9", "E1 00 09 2A"},
		{"8-bit length for 1 byte", "C8 09 01 2A"},
		{"16-bit length for 1 byte", "D0 09 00 01 2A"},
		{"24-bit length for 1 byte", "D8 09 00 00 01 2A"},
		{"16-bit id and 24-bit length", "F8 00 09 00 00 01 2A"},
		{"bits 2-0 ignored with 8-bit length", "CF 09 01 2A"},
		{"bits 2-0 ignored with 24-bit length", "DD 09 00 00 01 2A"},
	}
	want := model.NewResource(9, model.Opaque([]byte{0x2A}))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(unhex(t, tc.data), model.ResourcePath(77, 0, 9), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(&want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

// TestShapes checks each level's TLV shape in both directions.
func TestShapes(t *testing.T) {
	defs := testDefs(t)
	o := uint16(testObject)
	tests := []struct {
		name string
		path model.Path
		node model.Node
		data string
	}{
		{"single resource", model.ResourcePath(o, 0, 1), model.NewResource(1, model.Int(3)), "C1 01 03"},
		{"multiple resource", model.ResourcePath(o, 0, 11),
			model.NewMultipleResourceOf(11, model.Int(3), model.Int(4)), "86 0B 41 00 03 41 01 04"},
		{"empty multiple resource", model.ResourcePath(o, 0, 11), model.NewMultipleResource(11), "80 0B"},
		{"multiple resource with 16-bit instance ids", model.ResourcePath(o, 0, 11),
			model.NewMultipleResource(11, model.NewResourceInstance(1000, model.Int(1))), "84 0B 61 03 E8 01"},
		{"resource instance", model.ResourceInstancePath(o, 0, 14, 3), model.NewResourceInstance(3, model.Bool(true)), "41 03 01"},
		{"instance", model.InstancePath(o, 5),
			model.NewInstance(5, model.NewResource(4, model.Bool(false)), model.NewMultipleResourceOf(14, model.Bool(true))),
			"C1 04 00 83 0E 41 00 01"},
		{"empty instance", model.InstancePath(o, 5), model.NewInstance(5), ""},
		{"object", model.ObjectPath(o),
			model.NewObject(o, model.NewInstance(1, model.NewResource(4, model.Bool(true))), model.NewInstance(300)),
			"03 01 C1 04 01 20 01 2C"},
		{"empty object", model.ObjectPath(o), model.NewObject(o), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkBothWays(t, defs, tc.path, tc.node, unhex(t, tc.data))
		})
	}
}

// TestEncodeSkipsNone checks that executable resources and values of
// TypeNone encode to nothing.
func TestEncodeSkipsNone(t *testing.T) {
	o := uint16(testObject)
	tests := []struct {
		name string
		path model.Path
		node model.Node
		data string
	}{
		{"executable resource alone", model.ResourcePath(o, 0, 9), model.NewResource(9, model.Value{}), ""},
		{"none resource instance alone", model.ResourceInstancePath(o, 0, 11, 0), model.NewResourceInstance(0, model.Value{}), ""},
		{"executable in instance", model.InstancePath(o, 0),
			model.NewInstance(0, model.NewResource(1, model.Int(1)), model.NewResource(9, model.Value{}), model.NewResource(10, model.Int(2))),
			"C1 01 01 C1 0A 02"},
		{"none in multiple resource", model.ResourcePath(o, 0, 11),
			model.NewMultipleResource(11, model.NewResourceInstance(0, model.Value{}), model.NewResourceInstance(1, model.Int(1))),
			"83 0B 41 01 01"},
		{"instance of executables in object", model.ObjectPath(o),
			model.NewObject(o, model.NewInstance(2, model.NewResource(9, model.Value{}))), "00 02"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode(nil, tc.path, &tc.node)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, tc.data); !bytes.Equal(got, want) {
				t.Errorf("got % X, want % X", got, want)
			}
		})
	}
}

// TestEncodeAppends checks that Encode appends to dst and leaves dst
// alone on error.
func TestEncodeAppends(t *testing.T) {
	n := model.NewResource(1, model.Int(1))
	got, err := Encode([]byte{0xEE}, model.ResourcePath(1, 0, 1), &n)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0xEE, 0xC1, 0x01, 0x01}; !bytes.Equal(got, want) {
		t.Errorf("got % X, want % X", got, want)
	}
	got, err = Encode([]byte{0xEE}, model.ResourcePath(1, 0, 2), &n)
	if err == nil || !bytes.Equal(got, []byte{0xEE}) {
		t.Errorf("got % X, %v; want EE and an error", got, err)
	}
}

// TestDecodeUnordered checks that children in any id order come out
// sorted.
func TestDecodeUnordered(t *testing.T) {
	defs := testDefs(t)
	data := unhex(t, "08 02 06 C1 01 05 C1 00 07 08 01 00 ")
	got, err := Decode(data, model.ObjectPath(2), defs)
	if err != nil {
		t.Fatal(err)
	}
	want := model.NewObject(2, model.NewInstance(1),
		model.NewInstance(2, model.NewResource(0, model.Int(7)), model.NewResource(1, model.Int(5))))
	if !got.Equal(&want) {
		t.Errorf("got %v, want %v", got, want)
	}
	data = unhex(t, "86 02 41 05 01 41 02 02")
	got, err = Decode(data, model.ResourcePath(2, 0, 2), defs)
	if err != nil {
		t.Fatal(err)
	}
	want = model.NewMultipleResource(2, model.NewResourceInstance(2, model.Int(2)), model.NewResourceInstance(5, model.Int(1)))
	if !got.Equal(&want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestDecodeWithoutDefinitions checks that values of undefined resources
// decode as Opaque and the structure still does.
func TestDecodeWithoutDefinitions(t *testing.T) {
	data := golden(t, "acl-object.hex")
	for _, defs := range []model.Definitions{nil, testDefs(t).View(map[uint16]model.Version{})} {
		p := model.ObjectPath(2)
		if defs != nil {
			p = model.ObjectPath(4242) // not defined
		}
		got, err := Decode(data, p, defs)
		if err != nil {
			t.Fatal(err)
		}
		op := func(b ...byte) model.Value { return model.Opaque(b) }
		want := model.NewObject(p.ObjectID(),
			model.NewInstance(0,
				model.NewResource(0, op(1)), model.NewResource(1, op(0)),
				model.NewMultipleResource(2, model.NewResourceInstance(127, op(7))),
				model.NewResource(3, op(127))),
			model.NewInstance(2,
				model.NewResource(0, op(3)), model.NewResource(1, op(0)),
				model.NewMultipleResource(2, model.NewResourceInstance(127, op(7)), model.NewResourceInstance(310, op(1))),
				model.NewResource(3, op(127))),
		)
		if !got.Equal(&want) {
			t.Errorf("got %v\nwant %v", got, want)
		}
		// Opaque re-encodes to the same bytes.
		enc, err := Encode(nil, p, &got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, data) {
			t.Errorf("re-encoded % X, want % X", enc, data)
		}
	}
}

// TestDecodeErrors checks that malformed payloads fail with 4.00.
func TestDecodeErrors(t *testing.T) {
	defs := testDefs(t)
	tests := []struct {
		name string
		path string
		data string
	}{
		// Truncation and lengths.
		{"empty at resource", "/3/0/9", ""},
		{"empty at resource instance", "/3/0/6/0", ""},
		{"one byte header", "/3/0/9", "C1"},
		{"one byte header in instance", "/3/0", "C1 09 64 C1"},
		{"16-bit id truncated", "/3/0/9", "E1 00"},
		{"8-bit length missing", "/3/0/9", "C8 09"},
		{"16-bit length truncated", "/3/0/9", "D0 09 00"},
		{"24-bit length truncated", "/3/0/9", "D8 09 00 00"},
		{"value past the end", "/3/0/9", "C2 09 64"},
		{"8-bit length past the end", "/3/0/0", "C8 00 05 41 42"},
		{"24-bit length overflow", "/3/0/0", "D8 00 FF FF FF 41"},
		{"child past its parent", "/3", "08 00 02 C1 09 64"},
		{"resource value past the end in instance", "/3/0", "86 06 41 00 01 41 01 05 C1 09"},
		{"resource instance past multiple resource", "/3/0/6", "84 06 41 00 01 41 01 05"},
		// Extra bytes.
		{"bytes after resource", "/3/0/9", "C1 09 64 00"},
		{"second resource at resource path", "/3/0/9", "C1 09 64 C1 09 64"},
		{"bytes after resource instance", "/3/0/6/0", "41 00 01 41 01 05"},
		{"bytes after wrapped instance", "/3/0", "00 00 C1 09 64"},
		// Ids.
		{"resource id mismatch", "/3/0/9", "C1 0A 64"},
		{"resource instance id mismatch", "/3/0/6/1", "41 00 01"},
		{"wrapped instance id mismatch", "/3/0", "03 01 C1 09 64"},
		{"reserved resource id", "/3/0", "E1 FF FF 00"},
		{"reserved instance id", "/3", "20 FF FF"},
		{"reserved resource instance id", "/3/0/6", "85 06 61 FF FF 01"},
		{"duplicate resource", "/3/0", "C1 09 64 C1 09 63"},
		{"duplicate resource unordered", "/3/0", "C1 09 64 C1 0A 01 C1 09 63"},
		{"duplicate resource instance", "/3/0/6", "86 06 41 00 01 41 00 05"},
		{"duplicate object instance", "/3", "00 00 00 00"},
		// Nesting.
		{"resource instance in instance", "/3/0", "41 00 01"},
		{"object instance after resources", "/3/0", "C1 09 64 00 01"},
		{"object instance nested in object instance", "/3/0", "00 00 02 00 00"},
		{"resource in multiple resource", "/3/0/6", "83 06 C1 00 01"},
		{"multiple resource in multiple resource", "/3/0/6", "82 06 80 00"},
		{"resource at object", "/3", "C1 09 64"},
		{"multiple resource at object", "/3", "80 06"},
		{"resource instance at resource", "/3/0/6", "41 06 01"},
		{"object instance at resource", "/3/0/9", "03 09 C1 09 64"},
		{"resource at resource instance", "/3/0/6/0", "C1 00 01"},
		{"multiple resource at resource instance", "/3/0/6/0", "80 00"},
		{"multiple TLV for single resource", "/3/0/9", "83 09 41 00 64"},
		{"single TLV for multiple resource", "/3/0/6", "C1 06 01"},
		{"single TLV for multiple resource in instance", "/3/0", "C1 06 01"},
		{"multiple TLV for single resource in instance", "/3/0", "83 09 41 00 64"},
		{"instance of a single resource", "/3/0/9/0", "41 00 64"},
		// Widths.
		{"integer of 3 bytes", "/3/0/9", "C3 09 00 00 64"},
		{"integer of 0 bytes", "/3/0/9", "C0 09"},
		{"integer of 5 bytes", "/1024/0/1", "C5 01 00 00 00 00 01"},
		{"integer of 16 bytes", "/1024/0/1", "C8 01 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01"},
		{"unsigned of 0 bytes", "/1024/0/2", "C0 02"},
		{"unsigned of 3 bytes", "/1024/0/2", "C3 02 01 02 03"},
		{"float of 2 bytes", "/1024/0/3", "C2 03 3F C0"},
		{"float of 0 bytes", "/1024/0/3", "C0 03"},
		{"float of 16 bytes", "/1024/0/3", "C8 03 10 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"},
		{"boolean of 0 bytes", "/1024/0/4", "C0 04"},
		{"boolean of 2 bytes", "/1024/0/4", "C2 04 00 01"},
		{"boolean 2", "/1024/0/4", "C1 04 02"},
		{"boolean FF", "/1024/0/4", "C1 04 FF"},
		{"time of 3 bytes", "/1024/0/6", "C3 06 00 00 01"},
		{"objlnk of 3 bytes", "/1024/0/7", "C3 07 00 03 00"},
		{"objlnk of 8 bytes", "/1024/0/7", "C8 07 08 00 03 00 00 00 03 00 00"},
		{"integer of 3 bytes in multiple resource", "/1024/0/11", "85 0B 43 00 00 00 01"},
		// Text.
		{"string not UTF-8", "/1024/0/0", "C2 00 C3 28"},
		{"string truncated UTF-8", "/1024/0/0", "C2 00 E2 82"},
		{"string surrogate", "/1024/0/0", "C3 00 ED A0 80"},
		{"corelnk not UTF-8", "/1024/0/8", "C1 08 FF"},
		{"string instance not UTF-8", "/1024/0/10/0", "41 00 80"},
		// Executable.
		{"value for executable resource", "/1024/0", "C1 09 01"},
		{"empty value for executable resource", "/1024/0/9", "C0 09"},
		// Paths.
		{"root path", "/", "C1 09 64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(unhex(t, tc.data), model.MustPath(tc.path), defs)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, model.ErrBadRequest) {
				t.Fatalf("error %v is not a 4.00", err)
			}
			if !strings.Contains(err.Error(), "tlv: ") {
				t.Errorf("error %q lacks the tlv: prefix", err)
			}
		})
	}
}

// TestEncodeErrors checks that nodes that cannot be encoded at their path
// fail with 4.00, and a value too long for a TLV with 4.13.
func TestEncodeErrors(t *testing.T) {
	nodes.CheckEncodeErrors(t, append(codectest.MalformedNodes(),
		codectest.Malformed{Name: "string not UTF-8", Path: model.ResourcePath(3, 0, 0), Node: model.NewResource(0, model.String("\xff"))},
		codectest.Malformed{Name: "corelnk not UTF-8 in instance", Path: model.InstancePath(3, 0),
			Node: model.NewInstance(0, model.NewResource(0, model.Corelnk("a\xc3")))}))
	t.Run("value above 24-bit length", func(t *testing.T) {
		big := model.OpaqueString(strings.Repeat("x", maxValueLen+1))
		for _, tc := range []struct {
			path model.Path
			node model.Node
		}{
			{model.ResourcePath(3, 0, 0), model.NewResource(0, big)},
			{model.InstancePath(3, 0), model.NewInstance(0, model.NewResource(0, big))},
			{model.ResourcePath(3, 0, 6), model.NewMultipleResource(6, model.NewResourceInstance(0, big))},
		} {
			_, err := Encode(nil, tc.path, &tc.node)
			if !errors.Is(err, model.ErrRequestEntityTooLarge) {
				t.Errorf("%s: error %v, want 4.13", tc.path, err)
			}
		}
	})
	t.Run("value at 24-bit length limit", func(t *testing.T) {
		n := model.NewResource(0, model.OpaqueString(strings.Repeat("x", maxValueLen)))
		b, err := Encode(nil, model.ResourcePath(3, 0, 0), &n)
		if err != nil {
			t.Fatal(err)
		}
		if want := []byte{0xD8, 0x00, 0xFF, 0xFF, 0xFF}; !bytes.Equal(b[:5], want) {
			t.Errorf("header % X, want % X", b[:5], want)
		}
	})
}

// TestLargeValues checks a value that needs the 24-bit length field, in
// every container.
func TestLargeValues(t *testing.T) {
	defs := testDefs(t)
	text := strings.Repeat("0123456789abcdef", 70000/16) // 70000 bytes
	long := model.String(text)
	o := uint16(testObject)
	inst := model.NewInstance(1, model.NewResource(0, long), model.NewMultipleResource(10, model.NewResourceInstance(2, long)))
	tests := []struct {
		name   string
		path   model.Path
		node   model.Node
		header string // the first bytes of the encoding
	}{
		{"resource", model.ResourcePath(o, 0, 0), model.NewResource(0, long), "D8 00 01 11 70"},
		{"resource instance", model.ResourceInstancePath(o, 0, 10, 2), model.NewResourceInstance(2, long), "58 02 01 11 70"},
		{"multiple resource", model.ResourcePath(o, 0, 10), model.NewMultipleResource(10, model.NewResourceInstance(2, long)),
			"98 0A 01 11 75 58 02 01 11 70"},
		{"instance", model.InstancePath(o, 1), inst, "D8 00 01 11 70"},
		{"object", model.ObjectPath(o), model.NewObject(o, inst), "18 01 02 22 EF D8 00 01 11 70"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Encode(nil, tc.path, &tc.node)
			if err != nil {
				t.Fatal(err)
			}
			if h := unhex(t, tc.header); !bytes.HasPrefix(b, h) {
				t.Errorf("starts % X, want % X", b[:len(h)], h)
			}
			got, err := Decode(b, tc.path, defs)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(&tc.node) {
				t.Error("decoded node differs")
			}
		})
	}
}

func BenchmarkEncodeDeviceInstance(b *testing.B) {
	p := model.InstancePath(3, 0)
	buf, err := Encode(nil, p, &deviceInstance)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = Encode(buf[:0], p, &deviceInstance)
	}
}

func BenchmarkEncodeDeviceInstanceNewBuffer(b *testing.B) {
	p := model.InstancePath(3, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(nil, p, &deviceInstance); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeDeviceInstance(b *testing.B) {
	defs := testDefs(b)
	data := golden(b, "device-instance.hex")
	p := model.InstancePath(3, 0)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data, p, defs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeDeviceObject(b *testing.B) {
	defs := testDefs(b)
	data := golden(b, "device-object.hex")
	p := model.ObjectPath(3)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data, p, defs); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDecodeCopies checks that the decoded node does not share memory
// with the payload.
func TestDecodeCopies(t *testing.T) {
	data := golden(t, "obj66-object.hex")
	got, err := Decode(data, model.ObjectPath(66), testDefs(t))
	if err != nil {
		t.Fatal(err)
	}
	clear(data)
	if !got.Equal(&obj66Object) {
		t.Errorf("node changed with the payload: %v", got)
	}
}

// TestDecodeAllocationBound decodes payloads made of the smallest TLVs,
// the worst case for nodes per byte, and checks that Decode allocates a
// bounded multiple of their size.
func TestDecodeAllocationBound(t *testing.T) {
	const n = 60000
	many := func(prefix []byte, tlv func(i int) []byte) []byte {
		b := append([]byte(nil), prefix...)
		for i := range n {
			b = append(b, tlv(i)...)
		}
		return b
	}
	id16 := func(typ byte, i int) []byte { return []byte{typ | bitID16, byte(i >> 8), byte(i)} }
	tests := []struct {
		name string
		path model.Path
		data []byte
	}{
		{"empty instances", model.ObjectPath(77), many(nil, func(i int) []byte { return id16(typObjectInstance, i) })},
		{"empty resources", model.InstancePath(77, 0), many(nil, func(i int) []byte { return id16(typResource, i) })},
		{"empty resource instances", model.ResourcePath(77, 0, 1),
			many([]byte{typMultipleResource | 0x18 | bitID16, 0, 1, 3 * n >> 16, 3 * n >> 8 & 0xFF, 3 * n & 0xFF},
				func(i int) []byte { return id16(typResourceInstance, i) })},
		{"one-byte values", model.InstancePath(77, 0), many(nil, func(i int) []byte { return []byte{typResource | 1 | bitID16, byte(i >> 8), byte(i), 7} })},
		{"two-byte duplicates", model.InstancePath(77, 0), many(nil, func(int) []byte { return []byte{typResource, 5} })},
		{"lengths past the end", model.ResourcePath(77, 0, 1), []byte{typResource | 0x18, 1, 0xFF, 0xFF, 0xFF}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Decode(tc.data, tc.path, nil)
			runtime.ReadMemStats(&after)
			if err != nil && !strings.Contains(tc.name, "past") && !strings.Contains(tc.name, "duplicates") {
				t.Fatal(err)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes in, %d allocated (%.1fx)", len(tc.data), alloc, float64(alloc)/float64(len(tc.data)))
			if limit := 40*uint64(len(tc.data)) + 4096; alloc > limit {
				t.Errorf("allocated %d bytes for %d, above %d", alloc, len(tc.data), limit)
			}
		})
	}
}

// TestDecodeManyChildren checks containers with more children than the
// decoder keeps on the goroutine stack, in any order, and a duplicate
// among them.
func TestDecodeManyChildren(t *testing.T) {
	defs := testDefs(t)
	const n = 100
	var inst, multi, obj []byte
	want := model.Node{Kind: model.KindInstance, ID: 0}
	wantMulti := model.Node{Kind: model.KindMultipleResource, ID: 11}
	wantObj := model.Node{Kind: model.KindObject, ID: testObject}
	for i := n - 1; i >= 0; i-- { // descending: the decoder must sort
		id := byte(i)
		inst = append(inst, typResource|1, id, id)
		multi = append(multi, typResourceInstance|1, id, id)
		obj = append(obj, typObjectInstance, id)
	}
	for i := range n {
		want.Children = append(want.Children, model.NewResource(uint16(i), model.Opaque([]byte{byte(i)})))
		wantMulti.Children = append(wantMulti.Children, model.NewResourceInstance(uint16(i), model.Int(int64(int8(i)))))
		wantObj.Children = append(wantObj.Children, model.NewInstance(uint16(i)))
	}
	multiTLV := append([]byte{typMultipleResource | 0x10, 11, byte(len(multi) >> 8), byte(len(multi))}, multi...)
	tests := []struct {
		name string
		path model.Path
		data []byte
		defs model.Definitions
		want model.Node
	}{
		{"resources", model.InstancePath(77, 0), inst, nil, want},
		{"resource instances", model.ResourcePath(testObject, 0, 11), multiTLV, defs, wantMulti},
		{"object instances", model.ObjectPath(testObject), obj, defs, wantObj},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.data, tc.path, tc.defs)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(&tc.want) {
				t.Errorf("got %.300v\nwant %.300v", got, tc.want)
			}
			if len(got.Children) != cap(got.Children) {
				t.Errorf("children: len %d, cap %d; want an exact allocation", len(got.Children), cap(got.Children))
			}
			// The same with the first child repeated at the end.
			dup := tc.data
			if tc.name == "resource instances" {
				dup = append(append([]byte{typMultipleResource | 0x10, 11, byte((len(multi) + 3) >> 8), byte(len(multi) + 3)}, multi...), multi[:3]...)
			} else {
				first := 3
				if tc.name == "object instances" {
					first = 2
				}
				dup = append(slices.Clone(tc.data), tc.data[:first]...)
			}
			if _, err := Decode(dup, tc.path, tc.defs); !errors.Is(err, model.ErrBadRequest) || !strings.Contains(err.Error(), "given twice") {
				t.Errorf("duplicate: error %v, want 4.00 given twice", err)
			}
		})
	}
}
