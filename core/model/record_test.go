package model

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

// testDefs returns a registry with a small Device-like object 3 and an
// object 3303 (Temperature).
func testDefs(t testing.TB) *Registry {
	t.Helper()
	r, err := NewRegistry(
		&ObjectDef{ID: 3, Name: "Device", Version: V1_1, Resources: []ResourceDef{
			{ID: 0, Name: "Manufacturer", Operations: OpRead, Type: TypeString},
			{ID: 4, Name: "Reboot", Operations: OpExecute, Type: TypeNone},
			{ID: 7, Name: "Power Source Voltage", Operations: OpRead, Multiple: true, Type: TypeInteger},
			{ID: 9, Name: "Battery Level", Operations: OpRead, Type: TypeInteger, RangeText: "0..100", Range: Range{0, 100}, HasRange: true},
			{ID: 13, Name: "Current Time", Operations: OpRead | OpWrite, Type: TypeTime},
		}},
		&ObjectDef{ID: 3303, Name: "Temperature", Multiple: true, Version: V1_1, Resources: []ResourceDef{
			{ID: 5700, Name: "Sensor Value", Operations: OpRead, Type: TypeFloat},
			{ID: 5701, Name: "Sensor Units", Operations: OpRead, Type: TypeString},
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFlattenBuildRoundTrip(t *testing.T) {
	defs := testDefs(t)
	nodes := []struct {
		path string
		n    Node
	}{
		{"/3/0", NewInstance(0, NewResource(0, String("OMA")), NewMultipleResourceOf(7, Int(3800), Int(5000)), NewResource(13, UnixTime(5)))},
		{"/3", NewObject(3, NewInstance(0, NewResource(0, String("OMA"))))},
		{"/3/0/7", NewMultipleResourceOf(7, Int(1), Int(2))},
		{"/3/0/7", NewMultipleResource(7)},
		{"/3/0/7/1", NewResourceInstance(1, Int(2))},
		{"/3/0/0", NewResource(0, String("x"))},
		{"/3303", NewObject(3303, NewInstance(0, NewResource(5700, Float(21.5))), NewInstance(1, NewResource(5700, Float(-4))))},
		{"/3303", NewObject(3303)},
		{"/3303/1", NewInstance(1)},
	}
	for _, tc := range nodes {
		t.Run(tc.path+" "+tc.n.String(), func(t *testing.T) {
			p := MustPath(tc.path)
			recs, err := Flatten(nil, p, &tc.n)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Build(p, recs, defs)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(&tc.n) {
				t.Errorf("built %s, want %s", got, tc.n)
			}
		})
	}
}

func TestBuildConvertsWithDefinitions(t *testing.T) {
	defs := testDefs(t)
	recs := []Record{
		{Path: MustPath("/3303/0/5700"), Value: Int(21)}, // a JSON "21" for a Float resource
		{Path: MustPath("/3303/0/5701"), Value: String("Cel")},
	}
	n, err := Build(MustPath("/3303/0"), recs, defs)
	if err != nil {
		t.Fatal(err)
	}
	if v := n.Child(5700).Value; v != Float(21) {
		t.Errorf("5700 = %v, want Float 21", v)
	}
	// Without definitions the value stays as decoded.
	n, err = Build(MustPath("/3303/0"), recs, nil)
	if err != nil || n.Child(5700).Value != Int(21) {
		t.Errorf("without defs: %v, %v", n, err)
	}
	// Records out of order are sorted.
	n, err = Build(MustPath("/3303/0"), []Record{recs[1], recs[0]}, defs)
	if err != nil || n.Children[0].ID != 5700 {
		t.Errorf("unsorted records: %v, %v", n, err)
	}
}

func TestBuildErrors(t *testing.T) {
	defs := testDefs(t)
	rec := func(p string, v Value) Record { return Record{Path: MustPath(p), Value: v} }
	tests := []struct {
		name string
		path string
		recs []Record
		msg  string
	}{
		{"outside", "/3/0", []Record{rec("/3/1/0", String("x"))}, "outside"},
		{"instance-level record", "/3", []Record{rec("/3/0", String("x"))}, "needs a resource"},
		{"twice", "/3/0", []Record{rec("/3/0/0", String("x")), rec("/3/0/0", String("y"))}, "twice"},
		{"value and instances", "/3/0", []Record{rec("/3/0/5", Int(1)), rec("/3/0/5/0", Int(1))}, "both a value and instances"},
		{"multiple given a value", "/3/0/7", []Record{rec("/3/0/7", Int(1))}, "is multiple"},
		{"single given instances", "/3/0/0", []Record{rec("/3/0/0/0", String("x"))}, "is single"},
		{"single given instance path", "/3/0/0/1", []Record{rec("/3/0/0/1", String("x"))}, "is single"},
		{"wrong type", "/3/0", []Record{rec("/3/0/0", Int(1))}, "cannot convert"},
		{"executable", "/3/0", []Record{rec("/3/0/4", Int(1))}, "executable"},
		{"none value", "/3/0", []Record{rec("/3/0/0", Value{})}, "no value"},
		{"empty single resource", "/3/0/0", nil, "no value"},
		{"empty resource instance", "/3/0/7/0", nil, "no value"},
		{"root", "/", nil, "root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(MustPath(tc.path), tc.recs, defs)
			if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Build = %v, want 4.00 containing %q", err, tc.msg)
			}
		})
	}
}

func TestGroup(t *testing.T) {
	defs := testDefs(t)
	recs := []Record{
		{Path: MustPath("/3/0/0"), Value: String("OMA")},
		{Path: MustPath("/3/0/7/0"), Value: Int(1)},
		{Path: MustPath("/3303/0/5700"), Value: Float(1)},
	}
	es, err := Group(recs, []Path{MustPath("/3/0"), MustPath("/3303/0/5700"), MustPath("/1")}, defs)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].Path != MustPath("/3/0") || len(es[0].Node.Children) != 2 || es[1].Node.Value != Float(1) {
		t.Errorf("Group = %v", es)
	}
	if _, err := Group(recs, []Path{MustPath("/3/0")}, defs); err == nil {
		t.Error("a record below no path was accepted")
	}
	if _, err := Group(recs, []Path{MustPath("/3"), MustPath("/3/0")}, defs); err == nil {
		t.Error("overlapping paths were accepted")
	}
	es, err = Group(recs, nil, defs)
	if err != nil || len(es) != 3 || es[1].Node.Kind != KindResourceInstance {
		t.Errorf("Group(nil paths) = %v, %v", es, err)
	}
}

// randomTree builds a random node under the definitions of testDefs, for
// property tests of Flatten and Build.
func randomInstance(r *rand.Rand, id uint16) Node {
	var res []Node
	if r.IntN(2) == 0 {
		res = append(res, NewResource(0, String(strings.Repeat("x", r.IntN(5)))))
	}
	if r.IntN(2) == 0 {
		var vs []Value
		for range r.IntN(4) {
			vs = append(vs, Int(r.Int64()))
		}
		res = append(res, NewMultipleResourceOf(7, vs...))
	}
	if r.IntN(2) == 0 {
		res = append(res, NewResource(13, UnixTime(r.Int64N(1<<40))))
	}
	return NewInstance(id, res...)
}

func TestFlattenBuildProperty(t *testing.T) {
	defs := testDefs(t)
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 500 {
		var insts []Node
		for id := range uint16(r.IntN(4)) {
			insts = append(insts, randomInstance(r, id*3))
		}
		obj := NewObject(3, insts...)
		recs, err := Flatten(nil, ObjectPath(3), &obj)
		if err != nil {
			t.Fatal(err)
		}
		// Build drops instances that have no records: compare against
		// the object without its empty multiple resources' siblings only.
		got, err := Build(ObjectPath(3), recs, defs)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		want := pruneEmpty(obj)
		if !got.Equal(&want) {
			t.Fatalf("case %d: built %s, want %s", i, got, want)
		}
	}
}

// pruneEmpty drops what a flat format cannot carry below an object: empty
// instances and empty multiple resources.
func pruneEmpty(n Node) Node {
	if n.HasValue() {
		return n
	}
	var kept []Node
	for _, c := range n.Children {
		c = pruneEmpty(c)
		if !c.HasValue() && len(c.Children) == 0 {
			continue
		}
		kept = append(kept, c)
	}
	n.Children = kept
	return n
}
