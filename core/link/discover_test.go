package link

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

func ent(p string, a Attributes, other ...Param) Entry {
	return Entry{Path: model.MustPath(p), Attributes: a, Other: other}
}

var trailingSlash = regexp.MustCompile(`([0-9])/>`)

// canonical is how AppendDiscover writes a payload the specification
// prints: no space after commas, no trailing slash in paths, and the
// enabler version on a root link.
func canonical(s string) string {
	s = strings.ReplaceAll(s, ", ", ",")
	s = trailingSlash.ReplaceAllString(s, "$1>")
	if strings.HasPrefix(s, "lwm2m=") {
		s = "</>;" + s
	}
	return s
}

func TestDiscoverExamples(t *testing.T) {
	u32 := Set[uint32]
	dim2 := Set[uint8](2)
	tests := []struct {
		name string
		in   string
		want []Entry // nil: only the round trip is checked
	}{
		// Core 1.2 section 6.3.2, Discover.
		{"6.3.2 object 3", `</3>;pmin=10, </3/0>;pmax=60, </3/0/1>, </3/0/2>, </3/0/3>, </3/0/4>, </3/0/6>;dim=2, </3/0/7>;dim=2;gt=50;lt=42.2, </3/0/8>;dim=2, </3/0/11>, </3/0/16>`, nil},
		{"6.3.2 object 1 depth 1", `</1>, </1/0>, </1/4>;pmax=300`, []Entry{
			ent("/1", Attributes{}), ent("/1/0", Attributes{}), ent("/1/4", Attributes{PMax: u32(300)}),
		}},
		{"6.3.2 instance 3/0", `</3/0>;pmin=10;pmax=60, </3/0/1>, </3/0/2>, </3/0/3>, </3/0/4>, </3/0/6>;dim=2, </3/0/6/0>, </3/0/6/3>, </3/0/7>;dim=2;gt=50;lt=42.2, </3/0/7/0>, </3/0/7/1>;lt=45, </3/0/8>;dim=2, </3/0/8/1>, </3/0/8/2>, </3/0/11>, </3/0/16>`, []Entry{
			ent("/3/0", Attributes{PMin: u32(10), PMax: u32(60)}),
			ent("/3/0/1", Attributes{}), ent("/3/0/2", Attributes{}), ent("/3/0/3", Attributes{}), ent("/3/0/4", Attributes{}),
			ent("/3/0/6", Attributes{Dim: dim2}), ent("/3/0/6/0", Attributes{}), ent("/3/0/6/3", Attributes{}),
			ent("/3/0/7", Attributes{Dim: dim2, GT: Set(50.0), LT: Set(42.2)}), ent("/3/0/7/0", Attributes{}), ent("/3/0/7/1", Attributes{LT: Set(45.0)}),
			ent("/3/0/8", Attributes{Dim: dim2}), ent("/3/0/8/1", Attributes{}), ent("/3/0/8/2", Attributes{}),
			ent("/3/0/11", Attributes{}), ent("/3/0/16", Attributes{}),
		}},
		{"6.3.2 instance 3/0 depth 0", `</3/0>;pmin=10;pmax=60`, []Entry{ent("/3/0", Attributes{PMin: u32(10), PMax: u32(60)})}},
		{"6.3.2 resource 3/0/7", `</3/0/7>;dim=2;pmin=10;pmax=60;gt=50;lt=42.2, </3/0/7/0>, </3/0/7/1>;lt=45`, []Entry{
			ent("/3/0/7", Attributes{Dim: dim2, PMin: u32(10), PMax: u32(60), GT: Set(50.0), LT: Set(42.2)}),
			ent("/3/0/7/0", Attributes{}), ent("/3/0/7/1", Attributes{LT: Set(45.0)}),
		}},
		{"6.3.2 server 1", `</3/0/7>;dim=2;gt=50;lt=42.2, </3/0/7/0>, </3/0/7/1>`, nil},
		{"6.3.2 server 2", `</3/0/7>;dim=2;pmax=300;gt=80;lt=65.5, </3/0/7/0>, </3/0/7/1>`, nil},
		{"7.1 server object", `</1/0/0>,</1/0/1>,</1/0/6>,</1/0/7>, </1/0/8>, </1/1/0>,</1/1/1>,</1/1/2>,</1/1/4>,</1/1/6>,</1/1/7>, </1/1/8>`, nil},
		{"1.0 resource with inherited attributes", `</3/0/7>;dim=8;pmin=10;pmax=60;gt=50;lt=42.2`, nil},
		{"6.4.5 attributes of two objects", `</3>;pmin=60,</4>;pmax=300`, nil},

		// Core 1.2 section 6.1.7.3, Bootstrap-Discover.
		{"6.1.7.3 security object", `</>;lwm2m=1.1,</0/0>;ssid=101;uri="coaps://server_1.example.com", </0/1/>, </0/2>;ssid=102;uri="coaps://server_2.example.com"`, []Entry{
			ent("/", Attributes{LWM2M: Set(model.V1_1)}),
			ent("/0/0", Attributes{SSID: Set[uint16](101), URI: Set("coaps://server_1.example.com")}),
			ent("/0/1", Attributes{}),
			ent("/0/2", Attributes{SSID: Set[uint16](102), URI: Set("coaps://server_2.example.com")}),
		}},
		{"6.1.7.3 root", `</>;lwm2m=1.1,</0/0>;ssid=101;uri="coaps://server_1.example.com", </0/1>, </1/0/>;ssid=101, </3/0>,</5>,</4>`, nil},
		{"6.1.7.3 OSCORE", `</>;lwm2m=1.1,</0/0>;ssid=101;uri="coaps://server_1.example.com",</0/2>;ssid=102;uri="coap://server_1.example.com",</21/0>;ssid=101,</21/2>;ssid=102,</0/1>,</21/1/>`, nil},
		{"6.1.7.3 object version", `</>;lwm2m=1.1,</0/0>,</0/1>;ssid=101;uri="coaps://server_1.example.com", </1/0/>;ssid=101, </3/0>,</5>,</4>,</55>;ver=1.9,</55/0>`, []Entry{
			ent("/", Attributes{LWM2M: Set(model.V1_1)}),
			ent("/0/0", Attributes{}),
			ent("/0/1", Attributes{SSID: Set[uint16](101), URI: Set("coaps://server_1.example.com")}),
			ent("/1/0", Attributes{SSID: Set[uint16](101)}),
			ent("/3/0", Attributes{}), ent("/5", Attributes{}), ent("/4", Attributes{}),
			ent("/55", Attributes{Ver: Set(model.Version{Major: 1, Minor: 9})}), ent("/55/0", Attributes{}),
		}},
		{"6.1.7.3 form of earlier versions", `lwm2m=1.0,</0/0>;ssid=101,</0/1/>,</0/2>;ssid=102`, []Entry{
			ent("/", Attributes{LWM2M: Set(model.V1_0)}),
			ent("/0/0", Attributes{SSID: Set[uint16](101)}),
			ent("/0/1", Attributes{}),
			ent("/0/2", Attributes{SSID: Set[uint16](102)}),
		}},

		// Others.
		{"other parameters kept", `</3/0/9>;pmin=1;obs;title="Battery";if=sensor`, []Entry{
			ent("/3/0/9", Attributes{PMin: u32(1)}, flag("obs"), quo("title", "Battery"), tok("if", "sensor")),
		}},
		{"1.2 attributes", `</3/0/9>;pmin=1;epmin=2;epmax=3;edge=1;con=1;hqmax=5`, nil},
		{"empty payload", ``, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDiscover([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseDiscover(%q): %v", tc.in, err)
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseDiscover(%q)\n got %v\nwant %v", tc.in, got, tc.want)
			}
			out := string(AppendDiscover(nil, got))
			if want := canonical(tc.in); out != want {
				t.Fatalf("AppendDiscover\n got %s\nwant %s", out, want)
			}
			back, err := ParseDiscover([]byte(out))
			if err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("ParseDiscover(AppendDiscover) = %v, %v; want %v", back, err, got)
			}
		})
	}
}

func TestDiscoverErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"path twice", `</3/0>,</3/0/>`, ErrTarget},
		{"root twice", `</>;lwm2m=1.1,</>`, ErrTarget},
		{"path too deep", `</3/0/7/1/2>`, ErrTarget},
		{"alternate path", `</lwm2m/3/0>`, ErrTarget},
		{"id 65535", `</3/65535>`, ErrTarget},
		{"no leading slash (core 1.0 typo)", `</3>;pmin=10, </3/0/1>, <3/0/2>`, ErrTarget},
		{"bad value", `</3/0>;pmin=x`, ErrAttribute},
		{"attribute without value", `</3/0>;pmin`, ErrAttribute},
		{"attribute twice", `</3/0>;pmin=1;pmin=1`, ErrAttribute},
		{"bad ssid", `</0/0>;ssid=0`, ErrAttribute},
		{"bad lwm2m", `lwm2m=one,</0/0>`, ErrAttribute},
		{"syntax", `</3/0>;`, ErrSyntax},
		{"bare parameter other than lwm2m", `ver=1.0,</0/0>`, ErrSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDiscover([]byte(tc.in))
			if err == nil {
				t.Fatalf("ParseDiscover(%q) = %v, want an error", tc.in, got)
			}
			if !errors.Is(err, model.ErrBadRequest) || !errors.Is(err, tc.want) {
				t.Fatalf("ParseDiscover(%q) error %v: want a 4.00 wrapping %v", tc.in, err, tc.want)
			}
			if msg := err.(*model.Error).Msg; !strings.HasPrefix(msg, "link: ") || strings.Contains(msg, "4.00") {
				t.Fatalf("error message %q: want one link: prefix and no nested code", msg)
			}
		})
	}
}

func TestDiscoverDim(t *testing.T) {
	es, err := ParseDiscover([]byte(`</3/0/7>;dim=2`))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := es[0].Dim.Get(); !ok || d != 2 {
		t.Fatalf("Entry.Dim = %v", es[0].Dim)
	}
}

func TestRoundTripRandomDiscover(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for i := range 3000 {
		var entries []Entry
		seen := map[model.Path]bool{}
		for range r.IntN(8) {
			ids := make([]uint16, r.IntN(5))
			for j := range ids {
				ids[j] = uint16(r.IntN(4))
				if r.IntN(8) == 0 {
					ids[j] = uint16(r.IntN(model.MaxID + 1))
				}
			}
			p, err := model.NewPath(ids...)
			if err != nil || seen[p] {
				continue
			}
			seen[p] = true
			var set Attributes
			set = set.Merge(randomAttributes(r, false)) // links carry no unset attribute
			e := Entry{Path: p, Attributes: set}
			if r.IntN(3) == 0 {
				e.Other = []Param{flag("obs"), quo("title", randomText(r))}
			}
			entries = append(entries, e)
		}
		out := AppendDiscover(nil, entries)
		back, err := ParseDiscover(out)
		if err != nil {
			t.Fatalf("case %d: ParseDiscover(%q): %v", i, out, err)
		}
		if len(back) != len(entries) {
			t.Fatalf("case %d: %d entries back, want %d", i, len(back), len(entries))
		}
		for j := range back {
			if back[j].Path != entries[j].Path || !back[j].Attributes.Equal(entries[j].Attributes) || !reflect.DeepEqual(back[j].Other, entries[j].Other) {
				t.Fatalf("case %d entry %d via %q:\n got %v\nwant %v", i, j, out, back[j], entries[j])
			}
		}
	}
}
