package notify

import (
	"math"
	"testing"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
)

func TestPolicyFor(t *testing.T) {
	type attrs = link.Attributes
	u := link.Set[uint32]
	f := link.Set[float64]
	cases := []struct {
		name           string
		defMin, defMax uint32
		levels         []attrs // object, instance, resource, resource instance
		want           Policy
	}{
		{
			name: "nothing: no attribute",
			want: Policy{},
		},
		{
			name:   "the server's default periods",
			defMin: 5, defMax: 60,
			want: Policy{PMin: 5 * sec, PMax: 60 * sec},
		},
		{
			name:   "pmin and pmax at the object override the defaults",
			defMin: 5, defMax: 60,
			levels: []attrs{{PMin: u(10), PMax: u(120)}},
			want:   Policy{PMin: 10 * sec, PMax: 120 * sec},
		},
		{
			name:   "instance over object",
			levels: []attrs{{PMin: u(10), PMax: u(100)}, {PMin: u(20)}},
			want:   Policy{PMin: 20 * sec, PMax: 100 * sec},
		},
		{
			name:   "resource over instance over object",
			levels: []attrs{{PMin: u(10), PMax: u(100)}, {PMin: u(20), PMax: u(200)}, {PMin: u(30)}},
			want:   Policy{PMin: 30 * sec, PMax: 200 * sec},
		},
		{
			name: "resource instance over resource (Core section 5.1.1 rule 3a)",
			levels: []attrs{{}, {}, {GT: f(50), ST: f(2), PMin: u(1)},
				{GT: f(60), PMin: u(3)}},
			want: Policy{PMin: 3 * sec, GT: 60, HasGT: true, ST: 2, HasST: true},
		},
		{
			name:   "an unset attribute falls back to the level above",
			defMin: 5,
			levels: []attrs{{PMin: u(10)}, {}, {PMin: link.Unset[uint32](), PMax: u(30)}},
			want:   Policy{PMin: 10 * sec, PMax: 30 * sec},
		},
		{
			name:   "unset at every level falls back to the server's default",
			defMin: 5, defMax: 50,
			levels: []attrs{{PMin: link.Unset[uint32]()}, {PMax: link.Unset[uint32]()}},
			want:   Policy{PMin: 5 * sec, PMax: 50 * sec},
		},
		{
			name:   "pmax smaller than pmin is ignored",
			levels: []attrs{{PMin: u(30)}, {PMax: u(10)}},
			want:   Policy{PMin: 30 * sec},
		},
		{
			name:   "a default pmax smaller than pmin is ignored",
			defMax: 10,
			levels: []attrs{{}, {}, {PMin: u(30)}},
			want:   Policy{PMin: 30 * sec},
		},
		{
			name:   "pmax smaller than the default pmin is ignored",
			defMin: 30,
			levels: []attrs{{PMax: u(10)}},
			want:   Policy{PMin: 30 * sec},
		},
		{
			name:   "pmax equal to pmin is kept",
			levels: []attrs{{PMin: u(10), PMax: u(10)}},
			want:   Policy{PMin: 10 * sec, PMax: 10 * sec},
		},
		{
			name:   "pmax 0 is no maximum period, over a default",
			defMax: 60,
			levels: []attrs{{}, {}, {PMax: u(0)}},
			want:   Policy{},
		},
		{
			name:   "gt, lt and st",
			levels: []attrs{{}, {}, {GT: f(50), LT: f(-10.5), ST: f(2.5)}},
			want:   Policy{GT: 50, HasGT: true, LT: -10.5, HasLT: true, ST: 2.5, HasST: true},
		},
		{
			name:   "lt not less than gt once merged: gt, lt and st dropped",
			levels: []attrs{{}, {}, {LT: f(60), ST: f(1)}, {GT: f(50)}},
			want:   Policy{},
		},
		{
			name:   "lt equal to gt: dropped",
			levels: []attrs{{}, {}, {LT: f(50), GT: f(50)}},
			want:   Policy{},
		},
		{
			name:   "lt + 2*st not less than gt: dropped",
			levels: []attrs{{}, {}, {LT: f(10), GT: f(50)}, {ST: f(20)}},
			want:   Policy{},
		},
		{
			name:   "lt + 2*st less than gt: kept",
			levels: []attrs{{}, {}, {LT: f(10), GT: f(50)}, {ST: f(19.5)}},
			want:   Policy{GT: 50, HasGT: true, LT: 10, HasLT: true, ST: 19.5, HasST: true},
		},
		{
			name:   "st with only one threshold is not checked against it",
			levels: []attrs{{}, {}, {GT: f(1), ST: f(100)}},
			want:   Policy{GT: 1, HasGT: true, ST: 100, HasST: true},
		},
		{
			name:   "a negative st: dropped",
			levels: []attrs{{}, {}, {GT: f(1), ST: f(-1)}},
			want:   Policy{},
		},
		{
			name:   "a gt that is not finite: dropped",
			levels: []attrs{{}, {}, {GT: f(math.Inf(1)), ST: f(1)}},
			want:   Policy{},
		},
		{
			name:   "an lt that is NaN: dropped",
			levels: []attrs{{}, {}, {LT: f(math.NaN())}},
			want:   Policy{},
		},
		{
			name:   "epmin and epmax",
			levels: []attrs{{EPMin: u(5)}, {EPMax: u(60)}},
			want:   Policy{EPMin: 5 * sec, EPMax: 60 * sec},
		},
		{
			name:   "epmax less than epmin is raised to epmin",
			levels: []attrs{{EPMin: u(30)}, {EPMax: u(10)}},
			want:   Policy{EPMin: 30 * sec, EPMax: 30 * sec},
		},
		{
			name:   "epmax 0 is none",
			levels: []attrs{{EPMin: u(30), EPMax: u(0)}},
			want:   Policy{EPMin: 30 * sec},
		},
		{
			name:   "edge=1 is rising",
			levels: []attrs{{}, {}, {Edge: link.Set(true)}},
			want:   Policy{Edge: EdgeRising},
		},
		{
			name:   "edge=0 is falling, over edge=1 higher up",
			levels: []attrs{{}, {}, {Edge: link.Set(true)}, {Edge: link.Set(false)}},
			want:   Policy{Edge: EdgeFalling},
		},
		{
			name:   "con=1 at the object",
			levels: []attrs{{Con: link.Set(true)}},
			want:   Policy{Confirmable: true},
		},
		{
			name:   "con=0 at the resource over con=1 at the object",
			levels: []attrs{{Con: link.Set(true)}, {}, {Con: link.Set(false)}},
			want:   Policy{},
		},
		{
			name:   "properties and hqmax do not make a policy",
			levels: []attrs{{Ver: link.Set(model.V1_1), HQMax: u(10)}, {SSID: link.Set[uint16](1)}, {Dim: link.Set[uint8](2)}},
			want:   Policy{},
		},
		{
			name:   "the attributes of a 1.2 Observe alone, with the server's defaults",
			defMin: 1, defMax: 300,
			levels: []attrs{{PMax: u(30), EPMax: u(10), Con: link.Set(true)}},
			want:   Policy{PMin: 1 * sec, PMax: 30 * sec, EPMax: 10 * sec, Confirmable: true},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := PolicyFor(tc.defMin, tc.defMax, tc.levels...)
			if got != tc.want {
				t.Errorf("PolicyFor(%d, %d, %v):\n got  %s\n want %s", tc.defMin, tc.defMax, tc.levels, fmtPolicy(got), fmtPolicy(tc.want))
			}
		})
	}
}

func TestNumeric(t *testing.T) {
	cases := []struct {
		name string
		n    model.Node
		want bool
	}{
		{"Float resource", fl(1.5), true},
		{"Integer resource", in(-3), true},
		{"Unsigned Integer resource", un(3), true},
		{"Float resource instance", ri(2), true},
		{"Integer resource instance", model.NewResourceInstance(0, model.Int(1)), true},
		{"Time resource", tm(1700000000), false},
		{"Boolean resource", bo(true), false},
		{"String resource", st("1"), false},
		{"Opaque resource", model.NewResource(1, model.Opaque([]byte{1})), false},
		{"Objlnk resource", model.NewResource(1, model.Objlnk(3, 0)), false},
		{"executable resource", model.NewResource(4, model.Value{}), false},
		{"multiple resource of Floats", multi(1, 2), false},
		{"object instance", inst(1, "Cel"), false},
		{"object", model.NewObject(3303, inst(1, "Cel")), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Numeric(tc.n); got != tc.want {
				t.Errorf("Numeric(%s) = %v, want %v", tc.n, got, tc.want)
			}
		})
	}
}

func TestEdgeString(t *testing.T) {
	for e, want := range map[Edge]string{EdgeNone: "none", EdgeFalling: "falling", EdgeRising: "rising", 7: "edge(7)"} {
		t.Run(want, func(t *testing.T) {
			if got := e.String(); got != want {
				t.Errorf("Edge(%d).String() = %q, want %q", int8(e), got, want)
			}
		})
	}
}
