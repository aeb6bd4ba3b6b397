package link

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

func TestDefsMatchIndexes(t *testing.T) {
	if len(defs) != numAttrs {
		t.Fatalf("%d defs, %d indexes", len(defs), numAttrs)
	}
	for i, d := range defs {
		var a Attributes
		d.setUnset(&a)
		for j := range numAttrs {
			want := StateAbsent
			if j == i {
				want = StateUnset
			}
			if got := a.state(j); got != want {
				t.Fatalf("after unsetting %s, state(%d) (%s) = %s, want %s", d.name, j, defs[j].name, got, want)
			}
		}
		if lookup(d.name) != i {
			t.Fatalf("lookup(%q) = %d, want %d", d.name, lookup(d.name), i)
		}
	}
	if lookup("nope") != -1 {
		t.Fatal("lookup of an unknown name")
	}
}

func TestAttr(t *testing.T) {
	var a Attr[uint32]
	if !a.IsAbsent() || a.IsSet() || a.IsUnset() {
		t.Fatal("zero Attr is not absent")
	}
	if v, ok := a.Get(); ok || v != 0 {
		t.Fatal("Get on absent")
	}
	a = Set[uint32](10)
	if v, ok := a.Get(); !ok || v != 10 || !a.IsSet() {
		t.Fatal("Set")
	}
	a = Unset[uint32]()
	if _, ok := a.Get(); ok || !a.IsUnset() {
		t.Fatal("Unset")
	}
	for s, want := range map[State]string{StateAbsent: "absent", StateSet: "set", StateUnset: "unset", 7: "state(7)"} {
		if s.String() != want {
			t.Fatalf("State(%d).String() = %q", s, s.String())
		}
	}
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		name  string
		query string // options joined by '&', as the specification writes them
		want  Attributes
		canon string // AppendQuery's output joined by '&'; "" means query
	}{
		// Transport 1.1 and 1.2, Device Management & Service Enablement
		// Interface, the Write-Attributes examples 1 to 5.
		{"spec 1: pmin at resource", "pmin=1", Attributes{PMin: Set[uint32](1)}, ""},
		{"spec 2: unset pmin", "pmin", Attributes{PMin: Unset[uint32]()}, ""},
		{"spec 3: pmin at instance", "pmin=10", Attributes{PMin: Set[uint32](10)}, ""},
		{"spec 4: gt and st", "gt=45&st=10", Attributes{GT: Set(45.0), ST: Set(10.0)}, ""},
		{"spec 5: lt, gt and st", "lt=20&gt=85&st=10", Attributes{LT: Set(20.0), GT: Set(85.0), ST: Set(10.0)}, "gt=85&lt=20&st=10"},
		{"periods", "pmin=10&pmax=60", Attributes{PMin: Set[uint32](10), PMax: Set[uint32](60)}, ""},
		{"1.1 evaluation periods", "epmin=1&epmax=30", Attributes{EPMin: Set[uint32](1), EPMax: Set[uint32](30)}, ""},
		{"1.2 attributes", "edge=1&con=0&hqmax=5", Attributes{Edge: Set(true), Con: Set(false), HQMax: Set[uint32](5)}, ""},
		{"all unset", "pmin&pmax&gt&lt&st&epmin&epmax&edge&con&hqmax", Attributes{
			PMin: Unset[uint32](), PMax: Unset[uint32](), GT: Unset[float64](), LT: Unset[float64](), ST: Unset[float64](),
			EPMin: Unset[uint32](), EPMax: Unset[uint32](), Edge: Unset[bool](), Con: Unset[bool](), HQMax: Unset[uint32](),
		}, ""},
		{"decimals", "gt=42.2&lt=0.5&st=0.25", Attributes{GT: Set(42.2), LT: Set(0.5), ST: Set(0.25)}, ""},
		{"negative thresholds", "gt=-5&lt=-20.5", Attributes{GT: Set(-5.0), LT: Set(-20.5)}, ""},
		{"leading zeros", "pmin=010&gt=07.50", Attributes{PMin: Set[uint32](10), GT: Set(7.5)}, "pmin=10&gt=7.5"},
		{"pmax 0 means none", "pmin=10&pmax=0", Attributes{PMin: Set[uint32](10), PMax: Set[uint32](0)}, ""},
		{"pmax equal to pmin", "pmin=10&pmax=10", Attributes{PMin: Set[uint32](10), PMax: Set[uint32](10)}, ""},
		{"largest period", "pmax=4294967295", Attributes{PMax: Set[uint32](math.MaxUint32)}, ""},
		{"set and unset mixed", "pmin=5&pmax", Attributes{PMin: Set[uint32](5), PMax: Unset[uint32]()}, ""},
		{"rules only between set values", "lt=50&gt", Attributes{LT: Set(50.0), GT: Unset[float64]()}, "gt&lt=50"},
		{"empty query", "", Attributes{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var q []string
			if tc.query != "" {
				q = strings.Split(tc.query, "&")
			}
			got, err := ParseQuery(q)
			if err != nil {
				t.Fatalf("ParseQuery(%q): %v", q, err)
			}
			if !got.Equal(tc.want) {
				t.Fatalf("ParseQuery(%q) = %s, want %s", q, got, tc.want)
			}
			canon := tc.canon
			if canon == "" {
				canon = tc.query
			}
			out := got.AppendQuery(nil)
			if s := strings.Join(out, "&"); s != canon {
				t.Fatalf("AppendQuery = %q, want %q", s, canon)
			}
			back, err := ParseQuery(out)
			if err != nil || !back.Equal(got) {
				t.Fatalf("ParseQuery(AppendQuery) = %s, %v; want %s", back, err, got)
			}
		})
	}
}

func TestParseQueryErrors(t *testing.T) {
	tests := []struct {
		name  string
		query []string
	}{
		{"unknown", []string{"foo=1"}},
		{"wrong case", []string{"PMIN=1"}},
		{"property dim", []string{"dim=2"}},
		{"property ver", []string{"ver=1.0"}},
		{"property ssid", []string{"ssid=1"}},
		{"property uri", []string{"uri=coap://x"}},
		{"property lwm2m", []string{"lwm2m=1.1"}},
		{"ct", []string{"ct=40"}},
		{"rt", []string{"rt=x"}},
		{"twice", []string{"pmin=1", "pmin=2"}},
		{"set and unset", []string{"pmin=1", "pmin"}},
		{"empty option", []string{""}},
		{"no name", []string{"=5"}},
		{"empty value", []string{"pmin="}},
		{"negative period", []string{"pmin=-1"}},
		{"fractional period", []string{"pmin=1.5"}},
		{"letters", []string{"pmin=abc"}},
		{"period too large", []string{"pmax=4294967296"}},
		{"quoted value", []string{`pmin="10"`}},
		{"space", []string{"pmin= 10"}},
		{"exponent", []string{"gt=1e5"}},
		{"no integer part", []string{"gt=.5"}},
		{"no fraction digits", []string{"gt=5."}},
		{"plus sign", []string{"gt=+5"}},
		{"double minus", []string{"lt=--5"}},
		{"inf", []string{"gt=inf"}},
		{"NaN", []string{"lt=NaN"}},
		{"hex", []string{"gt=0x10"}},
		{"huge float", []string{"gt=1" + strings.Repeat("0", 400)}},
		{"negative step", []string{"st=-1"}},
		{"edge 2", []string{"edge=2"}},
		{"con true", []string{"con=true"}},
		{"negative hqmax", []string{"hqmax=-1"}},
		{"pmax below pmin", []string{"pmin=10", "pmax=5"}},
		{"lt equal to gt", []string{"lt=10", "gt=10"}},
		{"lt above gt", []string{"lt=20", "gt=10"}},
		{"lt + 2st equal to gt", []string{"lt=10", "gt=14", "st=2"}},
		{"lt + 2st above gt", []string{"gt=14", "st=3", "lt=10"}},
		{"epmin equal to epmax", []string{"epmin=10", "epmax=10"}},
		{"epmin above epmax", []string{"epmin=10", "epmax=5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseQuery(tc.query)
			if err == nil {
				t.Fatalf("ParseQuery(%q) = %s, want an error", tc.query, got)
			}
			if !errors.Is(err, model.ErrBadRequest) || !errors.Is(err, ErrAttribute) {
				t.Fatalf("ParseQuery(%q) error %v: want a 4.00 wrapping ErrAttribute", tc.query, err)
			}
			if !got.IsZero() {
				t.Fatalf("ParseQuery(%q) returned %s with its error", tc.query, got)
			}
		})
	}
}

func TestParseParams(t *testing.T) {
	tests := []struct {
		name      string
		link      string
		want      Attributes
		wantOther []Param
	}{
		{"properties", `</0/0>;ssid=101;uri="coaps://server_1.example.com"`,
			Attributes{SSID: Set[uint16](101), URI: Set("coaps://server_1.example.com")}, nil},
		{"root", `</>;rt="oma.lwm2m";ct=11543`, Attributes{RT: Set("oma.lwm2m"), CT: Set([]uint16{11543})}, nil},
		{"ct list", `</>;ct="60 110 112 11542 11543"`, Attributes{CT: Set([]uint16{60, 110, 112, 11542, 11543})}, nil},
		{"ct list with wide spaces", `</>;ct="0  65535"`, Attributes{CT: Set([]uint16{0, 65535})}, nil},
		{"quoted version (lenient)", `</3>;ver="1.1"`, Attributes{Ver: Set(model.V1_1)}, nil},
		{"enabler version", `</>;lwm2m=1.2`, Attributes{LWM2M: Set(model.V1_2)}, nil},
		{"rt list", `</x>;rt="oma.lwm2m core.rd"`, Attributes{RT: Set("oma.lwm2m core.rd")}, nil},
		{"unquoted rt", `</x>;rt=oma.lwm2m`, Attributes{RT: Set("oma.lwm2m")}, nil},
		{"dim bounds", `</3/0/7>;dim=255`, Attributes{Dim: Set[uint8](255)}, nil},
		{"notification", `</3/0/7>;pmin=10;pmax=60;gt=50;lt=42.2;st=1;epmin=1;epmax=2;edge=0;con=1;hqmax=9`,
			Attributes{PMin: Set[uint32](10), PMax: Set[uint32](60), GT: Set(50.0), LT: Set(42.2), ST: Set(1.0),
				EPMin: Set[uint32](1), EPMax: Set[uint32](2), Edge: Set(false), Con: Set(true), HQMax: Set[uint32](9)}, nil},
		{"others kept in order", `</x>;obs;title="T";pmin=1;if=sensor`, Attributes{PMin: Set[uint32](1)},
			[]Param{flag("obs"), quo("title", "T"), tok("if", "sensor")}},
		{"inconsistent values are reported as they are", `</x>;pmin=10;pmax=5;lt=9;gt=1`,
			Attributes{PMin: Set[uint32](10), PMax: Set[uint32](5), LT: Set(9.0), GT: Set(1.0)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			links, err := Parse([]byte(tc.link))
			if err != nil {
				t.Fatal(err)
			}
			got, other, err := ParseParams(links[0].Params)
			if err != nil {
				t.Fatalf("ParseParams(%s): %v", tc.link, err)
			}
			if !got.Equal(tc.want) {
				t.Fatalf("ParseParams(%s) = %s, want %s", tc.link, got, tc.want)
			}
			if !reflect.DeepEqual(other, tc.wantOther) {
				t.Fatalf("other = %#v, want %#v", other, tc.wantOther)
			}
		})
	}
}

func TestParseParamsErrors(t *testing.T) {
	for _, link := range []string{
		`</x>;pmin`,
		`</x>;pmin=1;pmin=2`,
		`</x>;ct=011`,
		`</x>;ct=65536`,
		`</x>;ct=""`,
		`</x>;ct=" 60"`,
		`</x>;ct="60 "`,
		`</x>;ct="60,110"`,
		`</x>;ssid=0`,
		`</x>;ssid=65535`,
		`</x>;dim=256`,
		`</x>;dim=-1`,
		`</x>;ver=1`,
		`</x>;ver=1.x`,
		`</x>;ver=.1`,
		`</x>;ver=1.1.1`,
		`</x>;lwm2m=256.0`,
		`</x>;edge=yes`,
		`</x>;gt=abc`,
	} {
		t.Run(link, func(t *testing.T) {
			links, err := Parse([]byte(link))
			if err != nil {
				t.Fatal(err)
			}
			a, other, err := ParseParams(links[0].Params)
			if err == nil {
				t.Fatalf("ParseParams(%s) = %s, %v; want an error", link, a, other)
			}
			if !errors.Is(err, model.ErrBadRequest) || !errors.Is(err, ErrAttribute) {
				t.Fatalf("error %v: want a 4.00 wrapping ErrAttribute", err)
			}
		})
	}
}

func TestAppendLinkParams(t *testing.T) {
	a := Attributes{
		RT: Set("oma.lwm2m"), CT: Set([]uint16{60, 110}), LWM2M: Set(model.V1_1), Ver: Set(model.Version{Major: 2, Minor: 2}),
		SSID: Set[uint16](101), URI: Set(`coap://x/"q"`), Dim: Set[uint8](2),
		PMin: Set[uint32](10), PMax: Unset[uint32](), GT: Set(50.0), LT: Set(-42.2), ST: Set(0.5),
		EPMin: Set[uint32](1), EPMax: Set[uint32](2), Edge: Set(true), Con: Set(false), HQMax: Set[uint32](3),
	}
	got := string(Append(nil, []Link{{Target: "/x", Params: a.AppendLinkParams(nil)}}))
	want := `</x>;rt="oma.lwm2m";ct="60 110";lwm2m=1.1;ver=2.2;ssid=101;uri="coap://x/\"q\"";dim=2;` +
		`pmin=10;gt=50;lt=-42.2;st=0.5;epmin=1;epmax=2;edge=1;con=0;hqmax=3`
	if got != want {
		t.Fatalf("AppendLinkParams\n got %s\nwant %s", got, want)
	}
	if s := string(appendAttrParams([]byte("</x>"), &a)); s != want {
		t.Fatalf("appendAttrParams disagrees:\n got %s\nwant %s", s, want)
	}
	single := Attributes{CT: Set([]uint16{11543})}.AppendLinkParams(nil)
	if len(single) != 1 || single[0].Quoted || single[0].Value != "11543" {
		t.Fatalf("single ct = %#v, want an unquoted token", single)
	}
	if ps := (Attributes{CT: Set([]uint16{})}).AppendLinkParams(nil); len(ps) != 0 {
		t.Fatalf("empty ct written: %#v", ps)
	}
	wantString := `rt="oma.lwm2m";ct=60 110;lwm2m=1.1;ver=2.2;ssid=101;uri="coap://x/\"q\"";dim=2;` +
		`pmin=10;pmax;gt=50;lt=-42.2;st=0.5;epmin=1;epmax=2;edge=1;con=0;hqmax=3`
	if a.String() != strings.Replace(wantString, "ct=60 110", `ct="60 110"`, 1) {
		t.Fatalf("String = %s", a.String())
	}
}

func TestMerge(t *testing.T) {
	tests := []struct {
		name         string
		stored, more Attributes
		want         Attributes
	}{
		{"set into empty", Attributes{}, Attributes{PMin: Set[uint32](10)}, Attributes{PMin: Set[uint32](10)}},
		{"later wins", Attributes{PMin: Set[uint32](10)}, Attributes{PMin: Set[uint32](20)}, Attributes{PMin: Set[uint32](20)}},
		{"absent keeps", Attributes{PMin: Set[uint32](10), GT: Set(5.0)}, Attributes{PMax: Set[uint32](60)},
			Attributes{PMin: Set[uint32](10), PMax: Set[uint32](60), GT: Set(5.0)}},
		{"unset removes", Attributes{PMin: Set[uint32](10), PMax: Set[uint32](60)}, Attributes{PMin: Unset[uint32]()},
			Attributes{PMax: Set[uint32](60)}},
		{"unset of absent", Attributes{}, Attributes{GT: Unset[float64]()}, Attributes{}},
		{"every attribute", Attributes{}, Attributes{
			RT: Set("a"), CT: Set([]uint16{1}), LWM2M: Set(model.V1_0), Ver: Set(model.V1_1), SSID: Set[uint16](1), URI: Set("u"),
			Dim: Set[uint8](1), PMin: Set[uint32](1), PMax: Set[uint32](2), GT: Set(3.0), LT: Set(1.0), ST: Set(0.1),
			EPMin: Set[uint32](1), EPMax: Set[uint32](2), Edge: Set(true), Con: Set(true), HQMax: Set[uint32](1),
		}, Attributes{
			RT: Set("a"), CT: Set([]uint16{1}), LWM2M: Set(model.V1_0), Ver: Set(model.V1_1), SSID: Set[uint16](1), URI: Set("u"),
			Dim: Set[uint8](1), PMin: Set[uint32](1), PMax: Set[uint32](2), GT: Set(3.0), LT: Set(1.0), ST: Set(0.1),
			EPMin: Set[uint32](1), EPMax: Set[uint32](2), Edge: Set(true), Con: Set(true), HQMax: Set[uint32](1),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.stored.Merge(tc.more); !got.Equal(tc.want) {
				t.Fatalf("%s merged with %s = %s, want %s", tc.stored, tc.more, got, tc.want)
			}
		})
	}
}

// TestMergeIncremental applies Write-Attributes requests one after the
// other, as a client does, starting from queries.
func TestMergeIncremental(t *testing.T) {
	var stored Attributes
	for _, q := range []string{"pmin=10&pmax=60", "gt=50", "pmax", "lt=20&st=5", "pmin=1&gt"} {
		wa, err := ParseQuery(strings.Split(q, "&"))
		if err != nil {
			t.Fatalf("ParseQuery(%q): %v", q, err)
		}
		stored = stored.Merge(wa)
	}
	want := Attributes{PMin: Set[uint32](1), LT: Set(20.0), ST: Set(5.0)}
	if !stored.Equal(want) {
		t.Fatalf("stored = %s, want %s", stored, want)
	}
}

func TestEffective(t *testing.T) {
	// Core 1.2 section 6.3.2: pmin assigned to the Device object, pmax to
	// its instance 0, dim, gt and lt to resource 7, lt to instance 1 of
	// resource 7.
	object := Attributes{PMin: Set[uint32](10)}
	instance := Attributes{PMax: Set[uint32](60)}
	resource := Attributes{Dim: Set[uint8](2), GT: Set(50.0), LT: Set(42.2)}
	resInst1 := Attributes{LT: Set(45.0)}
	tests := []struct {
		name   string
		levels []Attributes
		want   Attributes
	}{
		{"none", nil, Attributes{}},
		{"object only", []Attributes{object}, object},
		{"resource 7", []Attributes{object, instance, resource},
			Attributes{PMin: Set[uint32](10), PMax: Set[uint32](60), GT: Set(50.0), LT: Set(42.2)}},
		{"resource instance 7/1", []Attributes{object, instance, resource, resInst1},
			Attributes{PMin: Set[uint32](10), PMax: Set[uint32](60), GT: Set(50.0), LT: Set(45.0)}},
		{"resource over instance over object", []Attributes{
			{PMin: Set[uint32](1), PMax: Set[uint32](100)},
			{PMin: Set[uint32](2)},
			{PMin: Set[uint32](3), PMax: Unset[uint32]()},
		}, Attributes{PMin: Set[uint32](3), PMax: Set[uint32](100)}},
		{"properties are not inherited", []Attributes{{Ver: Set(model.V1_1), RT: Set("x")}, {SSID: Set[uint16](1), PMin: Set[uint32](5)}},
			Attributes{PMin: Set[uint32](5)}},
		{"1.2 attributes", []Attributes{{Con: Set(true), HQMax: Set[uint32](10)}, {Edge: Set(false), EPMin: Set[uint32](1)}, {Con: Set(false), EPMax: Set[uint32](9)}},
			Attributes{Con: Set(false), HQMax: Set[uint32](10), Edge: Set(false), EPMin: Set[uint32](1), EPMax: Set[uint32](9)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Effective(tc.levels...); !got.Equal(tc.want) {
				t.Fatalf("Effective = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestCheckLevel(t *testing.T) {
	tests := []struct {
		name  string
		a     Attributes
		level model.Level
		ok    bool
	}{
		{"pmin at object", Attributes{PMin: Set[uint32](1)}, model.LevelObject, true},
		{"pmin at resource instance", Attributes{PMin: Set[uint32](1)}, model.LevelResourceInstance, true},
		{"pmin at root", Attributes{PMin: Set[uint32](1)}, model.LevelRoot, false},
		{"gt at resource", Attributes{GT: Set(1.0)}, model.LevelResource, true},
		{"gt at resource instance", Attributes{GT: Set(1.0)}, model.LevelResourceInstance, true},
		{"gt at instance", Attributes{GT: Set(1.0)}, model.LevelInstance, false},
		{"unset st at object", Attributes{ST: Unset[float64]()}, model.LevelObject, false},
		{"edge at object", Attributes{Edge: Set(true)}, model.LevelObject, false},
		{"con at object", Attributes{Con: Set(true)}, model.LevelObject, true},
		{"hqmax at instance", Attributes{HQMax: Set[uint32](1)}, model.LevelInstance, true},
		{"dim at resource", Attributes{Dim: Set[uint8](1)}, model.LevelResource, true},
		{"dim at instance", Attributes{Dim: Set[uint8](1)}, model.LevelInstance, false},
		{"ssid at instance", Attributes{SSID: Set[uint16](1)}, model.LevelInstance, true},
		{"ver at object", Attributes{Ver: Set(model.V1_1)}, model.LevelObject, true},
		{"ver at instance", Attributes{Ver: Set(model.V1_1)}, model.LevelInstance, false},
		{"lwm2m at root", Attributes{LWM2M: Set(model.V1_1)}, model.LevelRoot, true},
		{"rt anywhere", Attributes{RT: Set("x")}, model.LevelResource, true},
		{"nothing anywhere", Attributes{}, model.LevelRoot, true},
		{"level out of range", Attributes{}, model.Level(5), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.a.CheckLevel(tc.level)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckLevel(%s) of %s = %v, want ok=%v", tc.level, tc.a, err, tc.ok)
			}
			if err != nil && (!errors.Is(err, model.ErrBadRequest) || !errors.Is(err, ErrAttribute)) {
				t.Fatalf("error %v: want a 4.00 wrapping ErrAttribute", err)
			}
		})
	}
}

func TestValidateBuiltValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Attributes
	}{
		{"ssid 0", Attributes{SSID: Set[uint16](0)}},
		{"ssid 65535", Attributes{SSID: Set[uint16](65535)}},
		{"empty ct", Attributes{CT: Set([]uint16(nil))}},
		{"NaN gt", Attributes{GT: Set(math.NaN())}},
		{"infinite lt", Attributes{LT: Set(math.Inf(-1))}},
		{"negative st", Attributes{ST: Set(-0.5)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.a.Validate(); !errors.Is(err, ErrAttribute) {
				t.Fatalf("Validate(%s) = %v, want ErrAttribute", tc.a, err)
			}
		})
	}
	if err := (Attributes{}).Validate(); err != nil {
		t.Fatalf("zero Attributes: %v", err)
	}
}

func TestEqual(t *testing.T) {
	a := Attributes{CT: Set([]uint16{1, 2}), PMin: Set[uint32](1)}
	for _, tc := range []struct {
		b    Attributes
		want bool
	}{
		{Attributes{CT: Set([]uint16{1, 2}), PMin: Set[uint32](1)}, true},
		{Attributes{CT: Set([]uint16{2, 1}), PMin: Set[uint32](1)}, false},
		{Attributes{CT: Set([]uint16{1, 2}), PMin: Set[uint32](2)}, false},
		{Attributes{CT: Set([]uint16{1, 2}), PMin: Unset[uint32]()}, false},
		{Attributes{CT: Set([]uint16{1, 2})}, false},
	} {
		if got := a.Equal(tc.b); got != tc.want {
			t.Errorf("%s Equal %s = %v", a, tc.b, got)
		}
	}
	// The value of an attribute that is not set does not count.
	if !(Attributes{PMin: Attr[uint32]{State: StateUnset, Value: 5}}).Equal(Attributes{PMin: Unset[uint32]()}) {
		t.Error("unset attributes with different stale values differ")
	}
}

// randomAttributes returns attributes with random states and values that
// parse back: every value in range, notification values consistent when
// notifyOnly is set (a query must pass Validate).
func randomAttributes(r *rand.Rand, notifyOnly bool) Attributes {
	var a Attributes
	state := func() State { return State(r.IntN(3)) }
	pick := func(s State) bool { return s == StateSet }
	u32 := func() uint32 {
		if r.IntN(4) == 0 {
			return r.Uint32()
		}
		return uint32(r.IntN(100))
	}
	f := func() float64 {
		switch r.IntN(4) {
		case 0:
			return float64(r.IntN(1000)) / 8
		case 1:
			return -float64(r.IntN(1000)) / 10
		case 2:
			return r.NormFloat64() * 1e6
		}
		return math.Float64frombits(r.Uint64()&^(1<<63)) / 1e300 // tiny or huge, positive, finite
	}
	setU32 := func(dst *Attr[uint32]) {
		switch s := state(); {
		case pick(s):
			*dst = Set(u32())
		case s == StateUnset:
			*dst = Unset[uint32]()
		}
	}
	setF := func(dst *Attr[float64], nonNeg bool) {
		switch s := state(); {
		case pick(s):
			v := f()
			if nonNeg || math.IsInf(v, 0) || math.IsNaN(v) {
				v = math.Abs(v)
				if math.IsInf(v, 0) || math.IsNaN(v) {
					v = 1
				}
			}
			*dst = Set(v)
		case s == StateUnset:
			*dst = Unset[float64]()
		}
	}
	setB := func(dst *Attr[bool]) {
		switch s := state(); {
		case pick(s):
			*dst = Set(r.IntN(2) == 1)
		case s == StateUnset:
			*dst = Unset[bool]()
		}
	}
	setU32(&a.PMin)
	setU32(&a.PMax)
	setF(&a.GT, false)
	setF(&a.LT, false)
	setF(&a.ST, true)
	setU32(&a.EPMin)
	setU32(&a.EPMax)
	setB(&a.Edge)
	setB(&a.Con)
	setU32(&a.HQMax)
	if !notifyOnly {
		if r.IntN(2) == 0 {
			a.RT = Set(randomText(r))
		}
		if r.IntN(2) == 0 {
			cts := make([]uint16, 1+r.IntN(4))
			for i := range cts {
				cts[i] = uint16(r.IntN(65536))
			}
			a.CT = Set(cts)
		}
		if r.IntN(2) == 0 {
			a.LWM2M = Set(model.Version{Major: uint8(r.IntN(256)), Minor: uint8(r.IntN(256))})
		}
		if r.IntN(2) == 0 {
			a.Ver = Set(model.Version{Major: uint8(r.IntN(256)), Minor: uint8(r.IntN(256))})
		}
		if r.IntN(2) == 0 {
			a.SSID = Set(uint16(1 + r.IntN(model.MaxID)))
		}
		if r.IntN(2) == 0 {
			a.URI = Set(randomText(r))
		}
		if r.IntN(2) == 0 {
			a.Dim = Set(uint8(r.IntN(256)))
		}
	}
	return a
}

func randomText(r *rand.Rand) string {
	const chars = "ab .:/\"\\,;=\t\u00e9"
	var b strings.Builder
	for range r.IntN(12) {
		b.WriteByte(chars[r.IntN(len(chars))])
	}
	return b.String()
}

func TestRoundTripRandomQuery(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tried := 0
	for range 20000 {
		a := randomAttributes(r, true)
		if a.Validate() != nil {
			continue
		}
		tried++
		q := a.AppendQuery(nil)
		back, err := ParseQuery(q)
		if err != nil {
			t.Fatalf("ParseQuery(AppendQuery(%s)) = %q: %v", a, q, err)
		}
		if !back.Equal(a) {
			t.Fatalf("round trip of %s via %q gave %s", a, q, back)
		}
	}
	if tried < 1000 {
		t.Fatalf("only %d random queries were consistent", tried)
	}
}

func TestRoundTripRandomLinkParams(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 10000 {
		a := randomAttributes(r, false)
		// Links carry set attributes only.
		var set Attributes
		set = set.Merge(a)
		out := Append(nil, []Link{{Target: "/x", Params: a.AppendLinkParams(nil)}})
		links, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(%q): %v", out, err)
		}
		back, other, err := ParseParams(links[0].Params)
		if err != nil || len(other) != 0 {
			t.Fatalf("ParseParams(%q) = %v, %v", out, other, err)
		}
		if !back.Equal(set) {
			t.Fatalf("round trip of %s via %q gave %s", set, out, back)
		}
	}
}
