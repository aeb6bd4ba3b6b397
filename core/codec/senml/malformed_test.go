package senml

import (
	"strings"
	"testing"
)

// malformedJSON are SenML JSON packs that every decoder refuses with 4.00.
var malformedJSON = []struct {
	name, in string
}{
	// Not JSON, or not a pack.
	{"empty input", ``},
	{"white space only", "  \n"},
	{"object", `{"n":"/3/0/0","vs":"x"}`},
	{"unterminated array", `[`},
	{"unterminated record", `[{"n":"/3/0/0","vs":"x"`},
	{"missing comma", `[{"n":"/3/0/0","vs":"x"} {"n":"/3/0/1","vs":"x"}]`},
	{"trailing comma", `[{"n":"/3/0/0","vs":"x"},]`},
	{"trailing comma in record", `[{"n":"/3/0/0","vs":"x",}]`},
	{"trailing data", `[{"n":"/3/0/0","vs":"x"}] x`},
	{"two packs", `[][]`},
	{"record not an object", `[1]`},
	{"record an array", `[[]]`},
	{"unquoted key", `[{n:"/3/0/0","vs":"x"}]`},
	{"missing colon", `[{"n" "/3/0/0"}]`},
	{"single quotes", `[{'n':'/3/0/0','vs':'x'}]`},
	{"unterminated string", `[{"n":"/3/0/0","vs":"x}]`},
	{"control character in string", "[{\"n\":\"/3/0/0\",\"vs\":\"a\nb\"}]"},
	{"bad escape", `[{"n":"/3/0/0","vs":"\x41"}]`},
	{"short unicode escape", `[{"n":"/3/0/0","vs":"\u00"}]`},
	{"lone high surrogate", `[{"n":"/3/0/0","vs":"\ud800"}]`},
	{"lone low surrogate", `[{"n":"/3/0/0","vs":"\udc00x"}]`},
	{"surrogate pair broken", `[{"n":"/3/0/0","vs":"\ud800\u0041"}]`},
	{"invalid UTF-8", "[{\"n\":\"/3/0/0\",\"vs\":\"\xff\"}]"},
	{"invalid UTF-8 with escapes", "[{\"n\":\"/3/0/0\",\"vs\":\"\\n\xc3\"}]"},
	{"invalid UTF-8 in a key", "[{\"n\xff\":1,\"n\":\"/3/0/0\",\"vs\":\"x\"}]"},
	{"deep nesting under an unknown label", `[{"x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `,"n":"/3/0/0","v":1}]`},
	{"bad literal under an unknown label", `[{"x":nul,"n":"/3/0/0","v":1}]`},
	// Bad numbers (RFC 8259 section 6).
	{"leading zero", `[{"n":"/3/0/9","v":01}]`},
	{"plus sign", `[{"n":"/3/0/9","v":+1}]`},
	{"bare fraction", `[{"n":"/3/0/9","v":.5}]`},
	{"empty fraction", `[{"n":"/3/0/9","v":1.}]`},
	{"empty exponent", `[{"n":"/3/0/9","v":1e}]`},
	{"minus alone", `[{"n":"/3/0/9","v":-}]`},
	{"NaN", `[{"n":"/3/0/9","v":NaN}]`},
	{"infinity", `[{"n":"/3/0/9","v":Infinity}]`},
	{"hex", `[{"n":"/3/0/9","v":0x10}]`},
	{"number too large", `[{"n":"/3/0/9","v":1e400}]`},
	{"integer too large", `[{"n":"/3/0/9","v":` + strings.Repeat("9", 400) + `}]`},
	// Wrong value types.
	{"v a string", `[{"n":"/3/0/9","v":"1"}]`},
	{"v null", `[{"n":"/3/0/9","v":null}]`},
	{"v true", `[{"n":"/3/0/9","v":true}]`},
	{"vs a number", `[{"n":"/3/0/0","vs":1}]`},
	{"vs null", `[{"n":"/3/0/0","vs":null}]`},
	{"vb a string", `[{"n":"/3311/0/5850","vb":"true"}]`},
	{"vb a number", `[{"n":"/3311/0/5850","vb":1}]`},
	{"vd a number", `[{"n":"/5/0/0","vd":1}]`},
	{"vlo a number", `[{"n":"/66/0/2","vlo":66}]`},
	{"n a number", `[{"n":3,"vs":"x"}]`},
	{"bn null", `[{"bn":null,"n":"/3/0/0","vs":"x"}]`},
	{"t a string", `[{"n":"/3/0/9","v":1,"t":"1"}]`},
	{"bt an object", `[{"bt":{},"n":"/3/0/9","v":1}]`},
	{"bv a string", `[{"bv":"1","n":"/3/0/9","v":1}]`},
	{"u a number", `[{"n":"/3/0/9","v":1,"u":1}]`},
	{"s a string", `[{"n":"/3/0/9","v":1,"s":"1"}]`},
	{"bver a fraction", `[{"bver":1.5,"n":"/3/0/9","v":1}]`},
	{"bver negative", `[{"bver":-1,"n":"/3/0/9","v":1}]`},
	{"bver a string", `[{"bver":"10","n":"/3/0/9","v":1}]`},
	// Values.
	{"two values", `[{"n":"/3/0/9","v":1,"vs":"1"}]`},
	{"two other values", `[{"n":"/3/0/9","vb":true,"vd":"AA"}]`},
	{"no value", `[{"n":"/3/0/9"}]`},
	{"no value after a value", `[{"n":"/3/0/9","v":1},{"n":"/3/0/10"}]`},
	{"sum only", `[{"n":"/3/0/9","s":1}]`},
	{"bad base64", `[{"n":"/5/0/0","vd":"!!"}]`},
	{"base64 of bad length", `[{"n":"/5/0/0","vd":"A"}]`},
	{"base64 mixed alphabets", `[{"n":"/5/0/0","vd":"+_8"}]`},
	{"base64 too much padding", `[{"n":"/5/0/0","vd":"AA==="}]`},
	{"objlnk without colon", `[{"n":"/66/0/2","vlo":"66"}]`},
	{"objlnk not numbers", `[{"n":"/66/0/2","vlo":"a:b"}]`},
	{"objlnk too large", `[{"n":"/66/0/2","vlo":"70000:1"}]`},
	{"base value overflow", `[{"bv":1e308,"n":"/3/0/9","v":1e308}]`},
	// Names.
	{"no name", `[{"v":1}]`},
	{"relative name without bn", `[{"n":"0","vs":"x"}]`},
	{"relative names after a record", `[{"n":"/3/0/0","vs":"x"},{"n":"1","vs":"y"}]`},
	{"name not a number", `[{"n":"/3/0/x","vs":"x"}]`},
	{"name with five ids", `[{"n":"/3/0/6/0/1","v":1}]`},
	{"id above 65534", `[{"n":"/3/0/65535","v":1}]`},
	{"empty segment", `[{"n":"/3//0","v":1}]`},
	{"leading zero in an id", `[{"n":"/3/0/01","v":1}]`},
	{"name without a slash", `[{"n":"3/0/0","vs":"x"}]`},
	{"bn and n doubled slash", `[{"bn":"/3/0/","n":"/0","vs":"x"}]`},
	{"value at instance level", `[{"n":"/3/0","v":1}]`},
	{"value at object level", `[{"n":"/3","v":1}]`},
	{"value at the root", `[{"n":"/","v":1}]`},
	// Labels.
	{"must-understand label", `[{"n":"/3/0/9","v":1,"foo_":1}]`},
	{"must-understand label with bn", `[{"bn":"/","test_":"fail","n":"3/0/9","v":1}]`},
	{"duplicate label", `[{"n":"/3/0/9","n":"/3/0/10","v":1}]`},
	{"duplicate value", `[{"n":"/3/0/9","v":1,"v":2}]`},
	{"version 11", `[{"bver":11,"n":"/3/0/9","v":1}]`},
	{"huge version", `[{"bver":100000000000000000000,"n":"/3/0/9","v":1}]`},
	// Times.
	{"time too large", `[{"n":"/3/0/9","v":1,"t":1e20}]`},
	{"time 2^53", `[{"n":"/3/0/9","v":1,"t":9007199254740992}]`},
	{"time too small", `[{"n":"/3/0/9","v":1,"t":-9007199254740993}]`},
	{"base time plus time too large", `[{"bt":9007199254740991,"n":"/3/0/9","v":1,"t":1}]`},
}

// malformedCBOR are SenML CBOR packs that every decoder refuses with 4.00.
var malformedCBOR = []struct {
	name, hex string
}{
	{"empty input", ``},
	{"not an array", `a0`},
	{"a text string", `63 616263`},
	{"truncated array", `82 a1 00 61 2f`},
	{"truncated record", `81 a2 00 66 2f332f302f39`},
	{"truncated string", `81 a2 00 66 2f332f30 02 01`},
	{"truncated float", `81 a2 00 66 2f332f302f39 02 fb 3ff0`},
	{"trailing bytes", `81 a2 00 66 2f332f302f39 02 01 00`},
	{"trailing break", `81 a2 00 66 2f332f302f39 02 01 ff`},
	{"count beyond the data", `9b 0000000100000000 a0`},
	{"map count beyond the data", `81 bb 0000000100000000 00`},
	{"indefinite pack without break", `9f a2 00 66 2f332f302f39 02 01`},
	{"indefinite record without break", `81 bf 00 66 2f332f302f39 02 01`},
	{"record not a map", `81 01`},
	{"record an array", `81 80`},
	{"reserved additional information", `81 a2 00 66 2f332f302f39 02 1c`},
	{"bool key", `81 a2 f4 00 00 66 2f332f302f39`},
	{"byte string key", `81 a2 41 00 00 00 66 2f332f302f39`},
	{"array key", `81 a2 80 00 00 66 2f332f302f39`},
	{"float key", `81 a2 f9 0000 00 00 66 2f332f302f39`},
	{"must-understand text label", `81 a3 00 66 2f332f302f39 02 01 64 666f6f5f 01`},
	{"invalid UTF-8 text", `81 a2 00 66 2f332f302f39 03 61 ff`},
	{"invalid UTF-8 key", `81 a3 00 66 2f332f302f39 02 01 61 ff 01`},
	{"v a text string", `81 a2 00 66 2f332f302f39 02 61 31`},
	{"v null", `81 a2 00 66 2f332f302f39 02 f6`},
	{"v a bignum", `81 a2 00 66 2f332f302f39 02 c2 41 01`},
	{"v an epoch time tag", `81 a2 00 66 2f332f302f39 02 c1 01`},
	{"vs a number", `81 a2 00 66 2f332f302f30 03 01`},
	{"vs a byte string", `81 a2 00 66 2f332f302f30 03 41 61`},
	{"vb a number", `81 a2 00 6c 2f333331312f302f35383530 04 01`},
	{"vd a text string", `81 a2 00 66 2f352f302f30 08 61 41`},
	{"vlo a number", `81 a2 00 66 2f36362f302f32 63 766c6f 01`},
	{"vlo bad", `81 a2 00 66 2f36362f302f32 63 766c6f 62 3636`},
	{"n a byte string", `81 a2 00 46 2f332f302f39 02 01`},
	{"bn a number", `81 a3 21 01 00 61 39 02 01`},
	{"t a text string", `81 a3 00 66 2f332f302f39 02 01 06 61 31`},
	{"t NaN", `81 a3 00 66 2f332f302f39 02 01 06 f9 7e00`},
	{"t infinity", `81 a3 00 66 2f332f302f39 02 01 06 f9 7c00`},
	{"t too large", `81 a3 00 66 2f332f302f39 02 01 06 1b 0020000000000000`},
	{"t too small", `81 a3 00 66 2f332f302f39 02 01 06 3b 0020000000000000`},
	{"t decimal fraction too large", `81 a3 00 66 2f332f302f39 02 01 06 c4 82 14 01`},
	{"bver a negative number", `81 a3 20 20 00 66 2f332f302f39 02 01`},
	{"bver 11", `81 a3 20 0b 00 66 2f332f302f39 02 01`},
	{"two values", `81 a3 00 66 2f332f302f39 02 01 03 61 31`},
	{"no value", `81 a1 00 66 2f332f302f39`},
	{"no name", `81 a1 02 01`},
	{"relative name without bn", `81 a2 00 61 39 02 01`},
	{"bad name", `81 a2 00 66 2f332f302f78 02 01`},
	{"value at instance level", `81 a2 00 64 2f332f30 02 01`},
	{"duplicate label", `81 a3 00 66 2f332f302f39 00 66 2f332f302f39 02 01`},
	{"duplicate value label", `81 a3 00 66 2f332f302f39 02 01 02 02`},
	{"decimal fraction not an array", `81 a2 00 66 2f332f302f39 02 c4 01`},
	{"decimal fraction of one", `81 a2 00 66 2f332f302f39 02 c4 81 01`},
	{"decimal fraction of three", `81 a2 00 66 2f332f302f39 02 c4 83 01 01 01`},
	{"decimal fraction indefinite of three", `81 a2 00 66 2f332f302f39 02 c4 9f 01 01 01 ff`},
	{"decimal fraction with a float", `81 a2 00 66 2f332f302f39 02 c4 82 01 f9 3c00`},
	{"decimal fraction exponent not an integer", `81 a2 00 66 2f332f302f39 02 c4 82 f4 01`},
	{"decimal fraction mantissa -2^64", `81 a2 00 66 2f332f302f39 02 c4 82 00 3b ffffffffffffffff`},
	{"decimal fraction too large", `81 a2 00 66 2f332f302f39 02 c4 82 19 ffff 01`},
	{"truncated decimal fraction", `81 a2 00 66 2f332f302f39 02 c4 82 01`},
	{"deep nesting under an unknown label", `81 a3 00 66 2f332f302f39 02 01 09 ` + strings.Repeat("81", 20) + `00`},
	{"truncated value under an unknown label", `81 a3 00 66 2f332f302f39 02 01 09 82 01`},
	{"break under an unknown label", `81 a3 00 66 2f332f302f39 02 01 09 ff`},
	{"base value overflow", `81 a3 24 fb 7fefffffffffffff 00 66 2f332f302f39 02 fb 7fefffffffffffff`},
}

func TestMalformedJSON(t *testing.T) {
	for _, tc := range malformedJSON {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseJSONRecords([]byte(tc.in))
			mustBadRequest(t, err)
			_, err = DecodeJSON([]byte(tc.in), mp("/3/0"), nil)
			mustBadRequest(t, err)
		})
	}
}

func TestMalformedCBOR(t *testing.T) {
	for _, tc := range malformedCBOR {
		t.Run(tc.name, func(t *testing.T) {
			in := unhex(t, tc.hex)
			_, err := ParseCBORRecords(in)
			mustBadRequest(t, err)
			_, err = DecodeCBOR(in, mp("/3/0"), nil)
			mustBadRequest(t, err)
		})
	}
}

// TestMalformedPaths covers what path lists refuse beyond malformed packs.
func TestMalformedPaths(t *testing.T) {
	jsonTests := []struct{ name, in string }{
		{"a value", `[{"n":"/3/0/0","vs":"x"}]`},
		{"vlo", `[{"n":"/3/0/0","vlo":"1:1"}]`},
		{"no name", `[{"t":1}]`},
		{"bad name", `[{"n":"/3/0/0/0/0"}]`},
		{"relative name", `[{"n":"3"}]`},
		{"must-understand label", `[{"n":"/3","x_":1}]`},
		{"version 11", `[{"bver":11,"n":"/3"}]`},
		{"not a pack", `{"n":"/3"}`},
		{"trailing data", `[{"n":"/3"}],`},
	}
	for _, tc := range jsonTests {
		t.Run("json/"+tc.name, func(t *testing.T) {
			_, err := ParseJSONPaths([]byte(tc.in))
			mustBadRequest(t, err)
		})
	}
	cborTests := []struct{ name, hex string }{
		{"a value", `81 a2 00 62 2f33 02 01`},
		{"no name", `81 a0`},
		{"bad name", `81 a1 00 62 2f78`},
		{"name a number", `81 a1 00 01`},
		{"trailing bytes", `81 a1 00 62 2f33 00`},
		{"truncated", `82 a1 00 62 2f33`},
	}
	for _, tc := range cborTests {
		t.Run("cbor/"+tc.name, func(t *testing.T) {
			_, err := ParseCBORPaths(unhex(t, tc.hex))
			mustBadRequest(t, err)
		})
	}
}
