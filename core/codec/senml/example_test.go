package senml_test

import (
	"fmt"
	"time"

	"github.com/wasm2m/wasm2m/core/codec/senml"
	"github.com/wasm2m/wasm2m/core/model"
)

// A Read of /3/0/6 answered in SenML JSON: the multiple resource's path
// is the base name, each instance its name.
func ExampleEncodeJSON() {
	n := model.NewMultipleResourceOf(6, model.Int(1), model.Int(5))
	b, err := senml.EncodeJSON(nil, model.MustPath("/3/0/6"), &n)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output: [{"bn":"/3/0/6/","n":"0","v":1},{"n":"1","v":5}]
}

// Decoding a Write of /3/0 with no definitions: numbers keep the type
// their literal says.
func ExampleDecodeJSON() {
	data := []byte(`[{"bn":"/3/0/","n":"14","vs":"+02:00"},{"n":"13","v":1367491215},{"n":"7/0","v":3.3}]`)
	n, err := senml.DecodeJSON(data, model.MustPath("/3/0"), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(n)
	// Output: instance 0 {resource 7 [0 = 3.3], resource 13 = 1367491215, resource 14 = "+02:00"}
}

// The body of a Read-Composite request (Core 1.1 Table 7.4.4-6) in SenML
// CBOR.
func ExampleAppendCBORPaths() {
	b, err := senml.AppendCBORPaths(nil, []model.Path{model.MustPath("/3/0/0"), model.MustPath("/1/0")})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%x\n", b)
	// Output: 82a100662f332f302f30a100642f312f30
}

// Parsing the body of a Read-Composite request.
func ExampleParseJSONPaths() {
	paths, err := senml.ParseJSONPaths([]byte(`[{"n":"/3/0/0"},{"n":"/3/0/9"},{"n":"/1/0/1"}]`))
	if err != nil {
		panic(err)
	}
	fmt.Println(paths)
	// Output: [/3/0/0 /3/0/9 /1/0/1]
}

// A Send of two timestamped values.
func ExampleAppendJSONRecords() {
	at := time.Date(2024, 1, 2, 3, 4, 5, 500_000_000, time.UTC)
	recs := []model.Record{
		{Path: model.MustPath("/3303/0/5700"), Value: model.Float(21.5), Time: at},
		{Path: model.MustPath("/3303/0/5701"), Value: model.String("Cel")},
	}
	b, err := senml.AppendJSONRecords(nil, recs)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output: [{"n":"/3303/0/5700","v":21.5,"t":1704164645.5},{"n":"/3303/0/5701","vs":"Cel"}]
}

// Parsing a Read-Composite response and grouping its records by the paths
// that were asked for.
func ExampleParseJSONRecords() {
	data := []byte(`[{"n":"/3/0/0","vs":"Open Mobile Alliance"},{"n":"/3/0/9","v":95},{"n":"/1/0/1","v":86400}]`)
	recs, err := senml.ParseJSONRecords(data)
	if err != nil {
		panic(err)
	}
	entries, err := model.Group(recs, []model.Path{model.MustPath("/3/0"), model.MustPath("/1/0/1")}, nil)
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		fmt.Println(e.Path, e.Node)
	}
	// Output:
	// /3/0 instance 0 {resource 0 = "Open Mobile Alliance", resource 9 = 95}
	// /1/0/1 resource 1 = 86400
}

// A notification with values five and ten seconds old.
func ExampleParseCBORRecords() {
	// [{-2: "/3303/0/5700", -3: 1700000000, 2: 21.5, 6: -5}, {2: 22.0, 6: -10}]
	data := []byte{0x82,
		0xa4, 0x21, 0x6c, '/', '3', '3', '0', '3', '/', '0', '/', '5', '7', '0', '0',
		0x22, 0x1a, 0x65, 0x53, 0xf1, 0x00, 0x02, 0xf9, 0x4d, 0x60, 0x06, 0x24,
		0xa2, 0x02, 0xf9, 0x4d, 0x80, 0x06, 0x29}
	recs, err := senml.ParseCBORRecords(data)
	if err != nil {
		panic(err)
	}
	for _, r := range recs {
		fmt.Println(r.Path, r.Value, r.Time.Format(time.RFC3339))
	}
	// Output:
	// /3303/0/5700 21.5 2023-11-14T22:13:15Z
	// /3303/0/5700 22 2023-11-14T22:13:10Z
}
