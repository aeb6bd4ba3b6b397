package link

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

func obj(id uint16, ver model.Version, instances ...uint16) Object {
	return Object{ID: id, Version: ver, Instances: instances}
}

var none model.Version

// exampleClientObjects is the example client of Core Appendix F as the
// registration examples of Core section 6.2.1 list it.
var exampleClientObjects = []Object{
	obj(1, none, 0, 1), obj(2, none, 0, 1, 2, 3, 4), obj(3, none, 0), obj(4, none, 0), obj(5, none),
}

const exampleClientLinks = `</1/0>,</1/1>,</2/0>,</2/1>,</2/2>,</2/3>,</2/4>,</3/0>,</4/0>,</5>`

func TestRegistrationExamples(t *testing.T) {
	tests := []struct {
		name  string
		in    string       // as printed
		want  Registration // what it says
		canon string       // what AppendRegistration writes for want; "" means in
	}{
		{"core 6.2.1 objects and instances", exampleClientLinks,
			Registration{Root: "/", Objects: exampleClientObjects}, ""},
		{"core 6.2.1 ct=110", `</>;ct=110, ` + exampleClientLinks,
			Registration{Root: "/", ContentFormats: []uint16{110}, Objects: exampleClientObjects},
			`</>;rt="oma.lwm2m";ct=110,` + exampleClientLinks},
		{"core 6.2.1 ct list", `</>;ct="110 112 60", ` + exampleClientLinks,
			Registration{Root: "/", ContentFormats: []uint16{110, 112, 60}, Objects: exampleClientObjects},
			`</>;rt="oma.lwm2m";ct="110 112 60",` + exampleClientLinks},
		{"core 1.0 ct=11543", `</>;ct=11543, ` + exampleClientLinks,
			Registration{Root: "/", ContentFormats: []uint16{11543}, Objects: exampleClientObjects},
			`</>;rt="oma.lwm2m";ct=11543,` + exampleClientLinks},
		{"core 7.2.3 example 1", `</1/0>,</1/1>,</3/0>`,
			Registration{Root: "/", Objects: []Object{obj(1, none, 0, 1), obj(3, none, 0)}}, ""},
		{"core 7.2.3 example 2", `</1>;ver=1.0,</1/0>,</1/1>,</3/0>`,
			Registration{Root: "/", Objects: []Object{obj(1, model.V1_0, 0, 1), obj(3, none, 0)}}, ""},
		{"core 7.2.3 example 3 (ver on an instance link)", `</1/0>,</1/1>,</3/0>,</44/0>;ver=2.2`,
			Registration{Root: "/", Objects: []Object{obj(1, none, 0, 1), obj(3, none, 0), obj(44, model.Version{Major: 2, Minor: 2}, 0)}},
			`</1/0>,</1/1>,</3/0>,</44>;ver=2.2,</44/0>`},
		{"core 7.2.3 example 4", `</1>,</1/0>,</1/1>,</3/0>,</4/0>`,
			Registration{Root: "/", Objects: []Object{obj(1, none, 0, 1), obj(3, none, 0), obj(4, none, 0)}},
			`</1/0>,</1/1>,</3/0>,</4/0>`},
		{"root with rt and ct", `</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>,</3303/1>`,
			Registration{Root: "/", ContentFormats: []uint16{11543}, Objects: []Object{obj(1, none, 0), obj(3, none, 0), obj(3303, model.V1_1, 0, 1)}}, ""},
		{"ct list of five", `</>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</3/0>`,
			Registration{Root: "/", ContentFormats: []uint16{60, 110, 112, 11542, 11543}, Objects: []Object{obj(3, none, 0)}}, ""},
		{"alternate path", `</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>`,
			Registration{Root: "/lwm2m", Objects: []Object{obj(1, none, 0)}}, ""},
		{"transport alternate path example", `</lwm2m>;rt="oma.lwm2m", </lwm2m/1/0>,</lwm2m/1/1>,</lwm2m/2/0>,</lwm2m/2/1>,</lwm2m/2/2>,</lwm2m/2/3>,</lwm2m/2/4>,</lwm2m/3/0>,</lwm2m/4/0>,</lwm2m/5>`,
			Registration{Root: "/lwm2m", Objects: exampleClientObjects},
			`</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/1/1>,</lwm2m/2/0>,</lwm2m/2/1>,</lwm2m/2/2>,</lwm2m/2/3>,</lwm2m/2/4>,</lwm2m/3/0>,</lwm2m/4/0>,</lwm2m/5>`},
		{"alternate path of two segments with ct", `</a/lwm2m/>;ct=112;rt="core.rd oma.lwm2m",</a/lwm2m/3/0/>,</a/lwm2m/3/1>`,
			Registration{Root: "/a/lwm2m", ContentFormats: []uint16{112}, Objects: []Object{obj(3, none, 0, 1)}},
			`</a/lwm2m>;rt="oma.lwm2m";ct=112,</a/lwm2m/3/0>,</a/lwm2m/3/1>`},
		{"root link last", `</lwm2m/3/0>,</lwm2m>;rt="oma.lwm2m"`,
			Registration{Root: "/lwm2m", Objects: []Object{obj(3, none, 0)}},
			`</lwm2m>;rt="oma.lwm2m",</lwm2m/3/0>`},
		{"other parameters ignored", `</>;rt="oma.lwm2m";title="x";ct=40,</3>;ver=1.1;obs;pmin=nonsense,</3/0>;foo="bar"`,
			Registration{Root: "/", ContentFormats: []uint16{40}, Objects: []Object{obj(3, model.V1_1, 0)}},
			`</>;rt="oma.lwm2m";ct=40,</3>;ver=1.1,</3/0>`},
		{"quoted ver (lenient)", `</3>;ver="1.1",</3/0>`, Registration{Root: "/", Objects: []Object{obj(3, model.V1_1, 0)}},
			`</3>;ver=1.1,</3/0>`},
		{"unsorted input", `</3/1>,</1/0>,</3/0>,</2>`,
			Registration{Root: "/", Objects: []Object{obj(1, none, 0), obj(2, none), obj(3, none, 0, 1)}},
			`</1/0>,</2>,</3/0>,</3/1>`},
		{"same version twice", `</44/0>;ver=2.2,</44/1>;ver=2.2`,
			Registration{Root: "/", Objects: []Object{obj(44, model.Version{Major: 2, Minor: 2}, 0, 1)}},
			`</44>;ver=2.2,</44/0>,</44/1>`},
		{"largest ids", `</65534/65534>`, Registration{Root: "/", Objects: []Object{obj(65534, none, 65534)}}, ""},
		{"empty payload", ``, Registration{Root: "/"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRegistration([]byte(tc.in))
			if err != nil {
				t.Fatalf("ParseRegistration(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseRegistration(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
			}
			canon := tc.canon
			if canon == "" {
				canon = tc.in
			}
			out := string(AppendRegistration(nil, tc.want))
			if out != canon {
				t.Fatalf("AppendRegistration\n got %s\nwant %s", out, canon)
			}
			again, err := ParseRegistration([]byte(out))
			if err != nil || !reflect.DeepEqual(again, tc.want) {
				t.Fatalf("ParseRegistration(AppendRegistration) = %+v, %v", again, err)
			}
		})
	}
}

func TestRegistrationErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"object links without the alternate path (Wakaama)", `</lwm2m>;rt="oma.lwm2m",</1/0>,</3/0>`, ErrTarget},
		{"prefix that is not a segment", `</lwm2m>;rt="oma.lwm2m",</lwm2mx/1/0>`, ErrTarget},
		{"link to the default root beside an alternate one", `</lwm2m>;rt="oma.lwm2m",</>;ct=110`, ErrTarget},
		{"resource", `</3/0/1>`, ErrTarget},
		{"resource instance", `</3/0/1/2>`, ErrTarget},
		{"object id 65535", `</65535>`, ErrTarget},
		{"instance id 65535", `</3/65535>`, ErrTarget},
		{"id too long", `</3/100000>`, ErrTarget},
		{"leading zero", `</03/0>`, ErrTarget},
		{"not a number", `</foo>`, ErrTarget},
		{"relative target", `<3/0>`, ErrTarget},
		{"empty target", `<>`, ErrTarget},
		{"query in target", `</3/0?x=1>`, ErrTarget},
		{"empty segment", `</3//0>`, ErrTarget},
		{"duplicate instance", `</3/0>,</3/0>`, ErrTarget},
		{"duplicate instance with trailing slash", `</3/0>,</3/0/>`, ErrTarget},
		{"duplicate object link", `</3>,</3>`, ErrTarget},
		{"two roots", `</a>;rt="oma.lwm2m",</b>;rt="oma.lwm2m"`, ErrTarget},
		{"root given twice", `</>;ct=110,</>;ct=112`, ErrTarget},
		{"numeric root", `</3>;rt="oma.lwm2m",</3/3/0>`, ErrTarget},
		{"numeric root segment", `</a/1>;rt="oma.lwm2m"`, ErrTarget},
		{"relative root", `<a>;rt="oma.lwm2m"`, ErrTarget},
		{"root with empty segment", `</a//b>;rt="oma.lwm2m"`, ErrTarget},
		{"root with query", `</a?b>;rt="oma.lwm2m"`, ErrTarget},
		{"conflicting versions", `</3>;ver=1.0,</3/0>;ver=1.1`, ErrTarget},
		{"bad ct", `</>;ct=abc,</3/0>`, ErrAttribute},
		{"ct without value", `</>;ct,</3/0>`, ErrAttribute},
		{"bad ver", `</3>;ver=x,</3/0>`, ErrAttribute},
		{"ver twice", `</3>;ver=1.0;ver=1.0`, ErrAttribute},
		{"syntax", `</1/0`, ErrSyntax},
		{"transport example as printed, with spaces in targets", `</lwm2m>;rt="oma.lwm2m", </lwm2m /1/0>`, ErrSyntax},
		{"core 1.0 example typo, no leading slash", `</3/0/1>, <3/0/2>`, ErrTarget},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRegistration([]byte(tc.in))
			if err == nil {
				t.Fatalf("ParseRegistration(%q) = %+v, want an error", tc.in, got)
			}
			if !errors.Is(err, model.ErrBadRequest) || !errors.Is(err, tc.want) {
				t.Fatalf("ParseRegistration(%q) error %v: want a 4.00 wrapping %v", tc.in, err, tc.want)
			}
			if msg := err.(*model.Error).Msg; !strings.HasPrefix(msg, "link: ") || strings.Contains(msg, "4.00") {
				t.Fatalf("error message %q: want one link: prefix and no nested code", msg)
			}
		})
	}
}

func TestRegistrationHelpers(t *testing.T) {
	r, err := ParseRegistration([]byte(`</1/0>,</3>;ver=1.1,</3/0>,</5>,</3303/1>,</3303/0>`))
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := r.Object(3303); !ok || !slices.Equal(o.Instances, []uint16{0, 1}) {
		t.Fatalf("Object(3303) = %+v, %v", o, ok)
	}
	if _, ok := r.Object(2); ok {
		t.Fatal("Object(2) found")
	}
	if v := r.Versions(); !reflect.DeepEqual(v, map[uint16]model.Version{3: model.V1_1}) {
		t.Fatalf("Versions = %v", v)
	}
	want := []model.Path{model.InstancePath(1, 0), model.InstancePath(3, 0), model.ObjectPath(5), model.InstancePath(3303, 0), model.InstancePath(3303, 1)}
	if p := r.Paths(); !reflect.DeepEqual(p, want) {
		t.Fatalf("Paths = %v, want %v", p, want)
	}
	if got := string(AppendRegistration(nil, Registration{})); got != "" {
		t.Fatalf("empty Registration wrote %q", got)
	}
	if got := string(AppendRegistration([]byte("x"), Registration{Root: "", Objects: []Object{obj(3, none, 0)}})); got != "x</3/0>" {
		t.Fatalf("root \"\" wrote %q", got)
	}
}

func randomRegistration(r *rand.Rand) Registration {
	roots := []string{"/", "/", "/lwm2m", "/a/b", "/x%20y", "/dev-1", "/a;b,c=d"}
	reg := Registration{Root: roots[r.IntN(len(roots))]}
	if r.IntN(2) == 0 {
		for range 1 + r.IntN(5) {
			reg.ContentFormats = append(reg.ContentFormats, uint16(r.IntN(65536)))
		}
	}
	ids := map[uint16]bool{}
	for range r.IntN(12) {
		id := uint16(r.IntN(model.MaxID + 1))
		if r.IntN(2) == 0 {
			id = uint16(r.IntN(30))
		}
		if ids[id] {
			continue
		}
		ids[id] = true
		o := Object{ID: id}
		if r.IntN(3) == 0 {
			o.Version = model.Version{Major: uint8(r.IntN(256)), Minor: uint8(r.IntN(256))}
		}
		inst := map[uint16]bool{}
		for range r.IntN(5) {
			i := uint16(r.IntN(model.MaxID + 1))
			if r.IntN(2) == 0 {
				i = uint16(r.IntN(5))
			}
			if !inst[i] {
				inst[i] = true
				o.Instances = append(o.Instances, i)
			}
		}
		slices.Sort(o.Instances)
		reg.Objects = append(reg.Objects, o)
	}
	slices.SortFunc(reg.Objects, func(a, b Object) int { return int(a.ID) - int(b.ID) })
	return reg
}

func TestRoundTripRandomRegistrations(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 5000 {
		reg := randomRegistration(r)
		out := AppendRegistration(nil, reg)
		back, err := ParseRegistration(out)
		if err != nil {
			t.Fatalf("case %d: ParseRegistration(%q): %v", i, out, err)
		}
		if !reflect.DeepEqual(back, reg) {
			t.Fatalf("case %d: round trip via %q\n got %+v\nwant %+v", i, out, back, reg)
		}
	}
}
