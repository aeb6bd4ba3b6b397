package senml

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/model"
)

// The examples of Core 1.1 (OMA-TS-LightweightM2M_Core-V1_1-20180710-A)
// section 7.4.4, Tables 7.4.4-2 to 7.4.4-8, in SenML JSON as printed, and
// in SenML CBOR: the hex of Table 7.4.4-2 is the one section 7.4.5
// prints; the other CBOR packs are the same records with the labels of
// RFC 8428 Table 6, in the key order of that example (bn, bt, n, value,
// t).
const (
	// Table 7.4.4-2: Read /3/0 (Device object instance).
	table2JSON = `[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},
	 {"n":"1","vs":"Lightweight M2M Client"},
	 {"n":"2","vs":"345000123"},
	 {"n":"3","vs":"1.0"},
	 {"n":"6/0","v":1},
	 {"n":"6/1","v":5},
	 {"n":"7/0","v":3800},
	 {"n":"7/1","v":5000},
	 {"n":"8/0","v":125},
	 {"n":"8/1","v":900},
	 {"n":"9","v":100},
	 {"n":"10","v":15},
	 {"n":"11/0","v":0},
	 {"n":"13","v":1367491215},
	 {"n":"14","vs":"+02:00"},
	 {"n":"16","vs":"U"}]`
	table2CBOR = `90 a3 21 65 2f 33 2f 30 2f 00 61 30 03 74 4f 70 65 6e 20 4d 6f 62 69 6c 65 20 41 6c 6c 69
	61 6e 63 65 a2 00 61 31 03 76 4c 69 67 68 74 77 65 69 67 68 74 20 4d 32 4d 20 43 6c 69 65 6e 74
	a2 00 61 32 03 69 33 34 35 30 30 30 31 32 33 a2 00 61 33 03 63 31 2e 30 a2 00 63 36 2f 30 02 01
	a2 00 63 36 2f 31 02 05 a2 00 63 37 2f 30 02 19 0e d8 a2 00 63 37 2f 31 02 19 13 88 a2 00 63 38
	2f 30 02 18 7d a2 00 63 38 2f 31 02 19 03 84 a2 00 61 39 02 18 64 a2 00 62 31 30 02 0f a2 00 64
	31 31 2f 30 02 00 a2 00 62 31 33 02 1a 51 82 42 8f a2 00 62 31 34 03 66 2b 30 32 3a 30 30 a2 00
	62 31 36 03 61 55`

	// Table 7.4.4-3: a notification with timestamped values of /72/1/2.
	table3JSON = `[{"bn":"/72/","bt":25462634,"n":"1/2","v":22.4,"t":-5},
	 {"n":"1/2","v":22.9,"t":-30},
	 {"n":"1/2","v":24.1,"t":-50}]`
	table3CBOR = `83a521642f37322f221a0184876a0063312f3202fb40366666666666660624a30063312f3202fb4036e6666
	666666606381da30063312f3202fb403819999999999a063831`

	// Table 7.4.4-4: objects 65 to 67 with Objlnk values. Wakaama's copy
	// of this table notes that the printed /66/1/2 link is in hex; here
	// it is "65535:65535", the decimal form "vlo" takes.
	table4JSON = `[{"bn":"/","n":"65/0/0/0","vlo":"66:0"},
	 {"n":"65/0/0/1","vlo":"66:1"},
	 {"n":"65/0/1","vs":"8613800755500"},
	 {"n":"65/0/2","v":1},
	 {"n":"66/0/0","vs":"myService1"},
	 {"n":"66/0/1","vs":"Internet.15.234"},
	 {"n":"66/0/2","vlo":"67:0"},
	 {"n":"66/1/0","vs":"myService2"},
	 {"n":"66/1/1","vs":"Internet.15.235"},
	 {"n":"66/1/2","vlo":"65535:65535"},
	 {"n":"67/0/0","vs":"85.76.76.84"},
	 {"n":"67/0/1","vs":"85.76.255.255"}]`
	table4CBOR = `8ca321612f006836352f302f302f3063766c6f6436363a30a2006836352f302f302f3163766c6f6436363a31
	a2006636352f302f31036d38363133383030373535353030a2006636352f302f320201a2006636362f302f30036a6d79
	5365727669636531a2006636362f302f31036f496e7465726e65742e31352e323334a2006636362f302f3263766c6f64
	36373a30a2006636362f312f30036a6d795365727669636532a2006636362f312f31036f496e7465726e65742e31352e
	323335a2006636362f312f3263766c6f6b36353533353a3635353335a2006636372f302f30036b38352e37362e37362e
	3834a2006636372f302f31036d38352e37362e3235352e323535`

	// Table 7.4.4-5: Read /3/0/0, a single resource (with the closing
	// quote that Wakaama's copy notes is missing in print).
	table5JSON = `[{"bn":"/3/0/0","vs":"Open Mobile Alliance"}]`
	table5CBOR = `81a221662f332f302f3003744f70656e204d6f62696c6520416c6c69616e6365`

	// Table 7.4.4-6: a Read-Composite request.
	table6JSON = `[{"n":"/3/0/0"}, {"n":"/3/0/9"}, {"n":"/1/0/1"}]`
	table6CBOR = `83a100662f332f302f30a100662f332f302f39a100662f312f302f31`

	// Table 7.4.4-7: the Read-Composite response.
	table7JSON = `[{"n":"/3/0/0", "vs":"Open Mobile Alliance"},
	 {"n":"/3/0/9", "v":95},
	 {"n":"/1/0/1", "v":86400}]`
	table7CBOR = `83a200662f332f302f3003744f70656e204d6f62696c6520416c6c69616e6365a200662f332f302f3902185f
	a200662f312f302f31021a00015180`

	// Table 7.4.4-8: a Write-Composite request.
	table8JSON = `[{"n":"/3311/0/5850", "vb":false},
	 {"n":"/3311/1/5850", "vb":false},
	 {"n":"/3311/2/5851", "v":20},
	 {"n":"/3308/0/5900", "v":18}]`
	table8CBOR = `84a2006c2f333331312f302f3538353004f4a2006c2f333331312f312f3538353004f4a2006c2f333331312f32
	2f353835310214a2006c2f333330382f302f353930300212`
)

// format is one of the two SenML encodings, for tests that run over both.
type format struct {
	name        string
	encode      func([]byte, model.Path, *model.Node) ([]byte, error)
	decode      func([]byte, model.Path, model.Definitions) (model.Node, error)
	appendRecs  func([]byte, []model.Record) ([]byte, error)
	parseRecs   func([]byte) ([]model.Record, error)
	appendPaths func([]byte, []model.Path) ([]byte, error)
	parsePaths  func([]byte) ([]model.Path, error)
}

var formats = []format{
	{"json", EncodeJSON, DecodeJSON, AppendJSONRecords, ParseJSONRecords, AppendJSONPaths, ParseJSONPaths},
	{"cbor", EncodeCBOR, DecodeCBOR, AppendCBORRecords, ParseCBORRecords, AppendCBORPaths, ParseCBORPaths},
}

// wire returns the bytes of an example in format f.
func wire(t *testing.T, f format, jsonText, cborHex string) []byte {
	if f.name == "json" {
		return []byte(jsonText)
	}
	return unhex(t, cborHex)
}

// canonical returns the bytes an encoder must produce for an example:
// the JSON without the printed white space, the CBOR as is.
func canonical(t *testing.T, f format, jsonText, cborHex string) []byte {
	if f.name == "json" {
		return []byte(compact(jsonText))
	}
	return unhex(t, cborHex)
}

func show(f format, b []byte) string {
	if f.name == "json" {
		return string(b)
	}
	return hex.EncodeToString(b)
}

func TestSpecNodes(t *testing.T) {
	defs := testDefs(t)
	tests := []struct {
		name       string
		path       string
		json, cbor string
		defs       bool
		want       model.Node
	}{
		{"table 7.4.4-2 device instance", "/3/0", table2JSON, table2CBOR, true, codectest.DeviceInstance()},
		{"table 7.4.4-5 single resource", "/3/0/0", table5JSON, table5CBOR, false,
			model.NewResource(0, model.String("Open Mobile Alliance"))},
	}
	for _, f := range formats {
		for _, tc := range tests {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				var d model.Definitions
				if tc.defs {
					d = defs
				}
				p := mp(tc.path)
				got, err := f.decode(wire(t, f, tc.json, tc.cbor), p, d)
				if err != nil {
					t.Fatal(err)
				}
				if !got.Equal(&tc.want) {
					t.Fatalf("decoded\n%v\nwant\n%v", got, tc.want)
				}
				enc, err := f.encode(nil, p, &tc.want)
				if err != nil {
					t.Fatal(err)
				}
				if want := canonical(t, f, tc.json, tc.cbor); !bytes.Equal(enc, want) {
					t.Errorf("encoded\n%s\nwant\n%s", show(f, enc), show(f, want))
				}
			})
		}
	}
}

// Table 7.4.4-2 without definitions: numbers stay Integers, and the time
// resource encodes as the same number.
func TestSpecDeviceWithoutDefinitions(t *testing.T) {
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			got, err := f.decode(wire(t, f, table2JSON, table2CBOR), mp("/3/0"), nil)
			if err != nil {
				t.Fatal(err)
			}
			if v := got.Find(mp("/13")).Value; v != model.Int(1367491215) {
				t.Errorf("/3/0/13 = %v, want Integer 1367491215", v)
			}
			enc, err := f.encode(nil, mp("/3/0"), &got)
			if err != nil {
				t.Fatal(err)
			}
			if want := canonical(t, f, table2JSON, table2CBOR); !bytes.Equal(enc, want) {
				t.Errorf("encoded\n%s\nwant\n%s", show(f, enc), show(f, want))
			}
		})
	}
}

// Table 7.4.4-3: the resolved times are 25462634 - 5, - 30 and - 50, below
// 2^28 and so relative to now (RFC 8428 section 4.5.3).
func TestSpecTimestamped(t *testing.T) {
	p := mp("/72/1/2")
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			before := time.Now()
			recs, err := f.parseRecs(wire(t, f, table3JSON, table3CBOR))
			if err != nil {
				t.Fatal(err)
			}
			after := time.Now()
			want := []struct {
				v float64
				t int64
			}{{22.4, 25462634 - 5}, {22.9, 25462634 - 30}, {24.1, 25462634 - 50}}
			if len(recs) != len(want) {
				t.Fatalf("got %d records, want %d", len(recs), len(want))
			}
			for i, w := range want {
				r := recs[i]
				if r.Path != p || r.Value != model.Float(w.v) {
					t.Errorf("record %d = %s %v, want %s %v", i, r.Path, r.Value, p, w.v)
				}
				lo := before.Add(time.Duration(w.t) * time.Second).Truncate(time.Second)
				hi := after.Add(time.Duration(w.t+1) * time.Second)
				if r.Time.Before(lo) || r.Time.After(hi) {
					t.Errorf("record %d time %v, want now + %ds", i, r.Time, w.t)
				}
			}
			// The notification has three values for one resource: not a
			// node.
			if _, err := f.decode(wire(t, f, table3JSON, table3CBOR), p, nil); err == nil {
				t.Error("decoded three values of one resource as a node")
			}
		})
	}
}

// Table 7.4.4-4: records of three objects, grouped into one node each.
func TestSpecObjectLinks(t *testing.T) {
	defs := testDefs(t)
	want := []model.Entry{
		{Path: mp("/65"), Node: model.NewObject(65, model.NewInstance(0,
			model.NewMultipleResourceOf(0, model.Objlnk(66, 0), model.Objlnk(66, 1)),
			model.NewResource(1, model.String("8613800755500")),
			model.NewResource(2, model.Int(1))))},
		{Path: mp("/66"), Node: model.NewObject(66,
			model.NewInstance(0,
				model.NewResource(0, model.String("myService1")),
				model.NewResource(1, model.String("Internet.15.234")),
				model.NewResource(2, model.Objlnk(67, 0))),
			model.NewInstance(1,
				model.NewResource(0, model.String("myService2")),
				model.NewResource(1, model.String("Internet.15.235")),
				model.NewResource(2, model.Objlnk(65535, 65535))))},
		{Path: mp("/67"), Node: model.NewObject(67, model.NewInstance(0,
			model.NewResource(0, model.String("85.76.76.84")),
			model.NewResource(1, model.String("85.76.255.255"))))},
	}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			recs, err := f.parseRecs(wire(t, f, table4JSON, table4CBOR))
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 12 {
				t.Fatalf("got %d records, want 12", len(recs))
			}
			entries, err := model.Group(recs, []model.Path{mp("/65"), mp("/66"), mp("/67")}, defs)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(want) {
				t.Fatalf("got %d entries, want %d", len(entries), len(want))
			}
			for i := range want {
				if entries[i].Path != want[i].Path || !entries[i].Node.Equal(&want[i].Node) {
					t.Errorf("entry %d = %s %v\nwant %s %v", i, entries[i].Path, entries[i].Node, want[i].Path, want[i].Node)
				}
			}
			// Record by record, the pack reads back as written with full
			// names.
			enc, err := f.appendRecs(nil, recs)
			if err != nil {
				t.Fatal(err)
			}
			back, err := f.parseRecs(enc)
			if err != nil || !sameRecords(back, recs, 0) {
				t.Errorf("records do not read back: %v", err)
			}
		})
	}
}

// Table 7.4.4-6: the path list of a Read-Composite request.
func TestSpecPathList(t *testing.T) {
	want := []model.Path{mp("/3/0/0"), mp("/3/0/9"), mp("/1/0/1")}
	for _, f := range formats {
		t.Run(f.name, func(t *testing.T) {
			got, err := f.parsePaths(wire(t, f, table6JSON, table6CBOR))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("path %d = %s, want %s", i, got[i], want[i])
				}
			}
			enc, err := f.appendPaths(nil, want)
			if err != nil {
				t.Fatal(err)
			}
			if w := canonical(t, f, table6JSON, table6CBOR); !bytes.Equal(enc, w) {
				t.Errorf("encoded\n%s\nwant\n%s", show(f, enc), show(f, w))
			}
		})
	}
}

// Tables 7.4.4-7 and 7.4.4-8: the Read-Composite response and a
// Write-Composite request, record lists with a full name in every record.
func TestSpecRecordLists(t *testing.T) {
	defs := testDefs(t)
	tests := []struct {
		name       string
		json, cbor string
		want       []model.Record
		paths      []model.Path // for model.Group; nil for a write
		entries    []model.Entry
	}{
		{
			name: "table 7.4.4-7 read-composite response", json: table7JSON, cbor: table7CBOR,
			want: []model.Record{
				{Path: mp("/3/0/0"), Value: model.String("Open Mobile Alliance")},
				{Path: mp("/3/0/9"), Value: model.Int(95)},
				{Path: mp("/1/0/1"), Value: model.Int(86400)},
			},
			paths: []model.Path{mp("/3/0/0"), mp("/3/0/9"), mp("/1/0/1")},
			entries: []model.Entry{
				{Path: mp("/3/0/0"), Node: model.NewResource(0, model.String("Open Mobile Alliance"))},
				{Path: mp("/3/0/9"), Node: model.NewResource(9, model.Int(95))},
				{Path: mp("/1/0/1"), Node: model.NewResource(1, model.Int(86400))},
			},
		},
		{
			name: "table 7.4.4-8 write-composite", json: table8JSON, cbor: table8CBOR,
			want: []model.Record{
				{Path: mp("/3311/0/5850"), Value: model.Bool(false)},
				{Path: mp("/3311/1/5850"), Value: model.Bool(false)},
				{Path: mp("/3311/2/5851"), Value: model.Int(20)},
				{Path: mp("/3308/0/5900"), Value: model.Int(18)},
			},
			entries: []model.Entry{
				{Path: mp("/3311/0/5850"), Node: model.NewResource(5850, model.Bool(false))},
				{Path: mp("/3311/1/5850"), Node: model.NewResource(5850, model.Bool(false))},
				{Path: mp("/3311/2/5851"), Node: model.NewResource(5851, model.Int(20))},
				// Set Point Value is a Float: the definitions convert.
				{Path: mp("/3308/0/5900"), Node: model.NewResource(5900, model.Float(18))},
			},
		},
	}
	for _, f := range formats {
		for _, tc := range tests {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				got, err := f.parseRecs(wire(t, f, tc.json, tc.cbor))
				if err != nil {
					t.Fatal(err)
				}
				if !sameRecords(got, tc.want, 0) {
					t.Fatalf("got %v\nwant %v", got, tc.want)
				}
				enc, err := f.appendRecs(nil, tc.want)
				if err != nil {
					t.Fatal(err)
				}
				if w := canonical(t, f, tc.json, tc.cbor); !bytes.Equal(enc, w) {
					t.Errorf("encoded\n%s\nwant\n%s", show(f, enc), show(f, w))
				}
				entries, err := model.Group(got, tc.paths, defs)
				if err != nil {
					t.Fatal(err)
				}
				if len(entries) != len(tc.entries) {
					t.Fatalf("got %d entries, want %d", len(entries), len(tc.entries))
				}
				for i := range entries {
					if entries[i].Path != tc.entries[i].Path || !entries[i].Node.Equal(&tc.entries[i].Node) {
						t.Errorf("entry %d = %s %v, want %s %v", i, entries[i].Path, entries[i].Node,
							tc.entries[i].Path, tc.entries[i].Node)
					}
				}
			})
		}
	}
}
