package link

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

// checkError fails unless err is a 4.00 *model.Error wrapping one of the
// package's sentinels.
func checkError(t *testing.T, in []byte, err error) {
	t.Helper()
	var e *model.Error
	if !errors.As(err, &e) || e.Code != model.BadRequest {
		t.Fatalf("input %q: error %v is not a 4.00 *model.Error", in, err)
	}
	if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrAttribute) && !errors.Is(err, ErrTarget) {
		t.Fatalf("input %q: error %v wraps no sentinel of package link", in, err)
	}
}

// FuzzParse checks that Parse never panics, that its errors are 4.00, and
// that formatting what it parsed and parsing that again gives the same
// links, and the same bytes when formatted once more.
func FuzzParse(f *testing.F) {
	for _, s := range seedLinks {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		links, err := Parse(in)
		if err != nil {
			checkError(t, in, err)
			return
		}
		out := Append(nil, links)
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q) = %#v; Append gave %q, which does not parse: %v", in, links, out, err)
		}
		if !reflect.DeepEqual(back, links) {
			t.Fatalf("Parse(%q) = %#v\nAppend gave %q, which parses as %#v", in, links, out, back)
		}
		if again := Append(nil, back); !bytes.Equal(again, out) {
			t.Fatalf("Append not stable: %q then %q", out, again)
		}
	})
}

// FuzzParseRegistration checks that ParseRegistration never panics, that
// its result is well formed, and that AppendRegistration of it parses back
// to the same Registration.
func FuzzParseRegistration(f *testing.F) {
	for _, s := range seedLinks {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		reg, err := ParseRegistration(in)
		if err != nil {
			checkError(t, in, err)
			return
		}
		for i, o := range reg.Objects {
			if o.ID > model.MaxID || i > 0 && reg.Objects[i-1].ID >= o.ID {
				t.Fatalf("input %q: objects not unique and ascending: %+v", in, reg.Objects)
			}
			for j, id := range o.Instances {
				if id > model.MaxID || j > 0 && o.Instances[j-1] >= id {
					t.Fatalf("input %q: instances of %d not unique and ascending: %v", in, o.ID, o.Instances)
				}
			}
		}
		out := AppendRegistration(nil, reg)
		back, err := ParseRegistration(out)
		if err != nil {
			t.Fatalf("ParseRegistration(%q) = %+v; AppendRegistration gave %q, which fails: %v", in, reg, out, err)
		}
		if !reflect.DeepEqual(back, reg) {
			t.Fatalf("ParseRegistration(%q) = %+v\nAppendRegistration gave %q, which parses as %+v", in, reg, out, back)
		}
	})
}

// FuzzParseDiscover checks that ParseDiscover never panics and that
// AppendDiscover of its entries parses back to the same entries.
func FuzzParseDiscover(f *testing.F) {
	for _, s := range seedLinks {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		entries, err := ParseDiscover(in)
		if err != nil {
			checkError(t, in, err)
			return
		}
		out := AppendDiscover(nil, entries)
		back, err := ParseDiscover(out)
		if err != nil {
			t.Fatalf("ParseDiscover(%q); AppendDiscover gave %q, which fails: %v", in, out, err)
		}
		if len(back) != len(entries) {
			t.Fatalf("ParseDiscover(%q): %d entries, %d after a round trip via %q", in, len(entries), len(back), out)
		}
		for i := range back {
			if back[i].Path != entries[i].Path || !back[i].Attributes.Equal(entries[i].Attributes) || !reflect.DeepEqual(back[i].Other, entries[i].Other) {
				t.Fatalf("ParseDiscover(%q) entry %d = %v, after a round trip via %q %v", in, i, entries[i], out, back[i])
			}
		}
	})
}

// FuzzParseQuery checks that ParseQuery never panics, that what it accepts
// is consistent, and that AppendQuery of it parses back to the same
// attributes. The input is the query as a URI writes it, options separated
// by '&'.
func FuzzParseQuery(f *testing.F) {
	for _, s := range seedQueries {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var q []string
		if in != "" {
			q = strings.Split(in, "&")
		}
		a, err := ParseQuery(q)
		if err != nil {
			checkError(t, []byte(in), err)
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("ParseQuery(%q) accepted %s, which Validate refuses: %v", q, a, err)
		}
		out := a.AppendQuery(nil)
		back, err := ParseQuery(out)
		if err != nil {
			t.Fatalf("ParseQuery(%q) = %s; AppendQuery gave %q, which fails: %v", q, a, out, err)
		}
		if !back.Equal(a) {
			t.Fatalf("ParseQuery(%q) = %s; after a round trip via %q %s", q, a, out, back)
		}
	})
}

// seedLinks are the link-format seeds of the fuzz targets; the committed
// corpus under testdata/fuzz holds them too, with the crashers found.
var seedLinks = []string{
	``,
	`</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>,</3303/1>`,
	`</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>`,
	`</>;ct="60 110 112 11542 11543", </1/0>,</1/1>,</2/0>,</5>`,
	`</1>;ver=1.0,</1/0>,</1/1>,</3/0>,</44/0>;ver=2.2`,
	`</3/0>;pmin=10;pmax=60, </3/0/6>;dim=2, </3/0/6/0>, </3/0/7>;dim=2;gt=50;lt=42.2, </3/0/7/1>;lt=45`,
	`</>;lwm2m=1.1,</0/0>;ssid=101;uri="coaps://server_1.example.com", </0/1/>, </1/0/>;ssid=101,</55>;ver=1.9`,
	`lwm2m=1.0,</0/0>;ssid=101,</0/1/>,</0/2>;ssid=102`,
	`</a>;title="x, \"y\"; z";title*=UTF-8'de'n%c3%a4chstes;obs,<coap://[::1]/a%20b?c#d>;x=a=b`,
	`</3/0/9>;pmin=1;epmin=2;epmax=3;edge=1;con=1;hqmax=5;st=0.5`,
}

// seedQueries are the Write-Attributes seeds of FuzzParseQuery.
var seedQueries = []string{
	``,
	`pmin=1`,
	`pmin`,
	`gt=45&st=10`,
	`lt=20&gt=85&st=10`,
	`pmin=10&pmax=60&epmin=1&epmax=30`,
	`edge=1&con=0&hqmax=5`,
	`pmin&pmax&gt&lt&st&epmin&epmax&edge&con&hqmax`,
	`gt=-5.25&lt=-20`,
	`pmin=10&pmax=5`,
	`dim=2`,
	`pmin=1&pmin=2`,
}
