package model

import (
	"errors"
	"strings"
	"testing"
)

func device() Node {
	return NewInstance(0,
		NewResource(0, String("Open Mobile Alliance")),
		NewResource(1, String("Lightweight M2M Client")),
		NewMultipleResourceOf(7, Int(3800), Int(5000)),
		NewResource(4, Value{}), // executable Reboot listed in a tree
		NewResource(13, UnixTime(1367491215)),
	)
}

func TestConstructorsSort(t *testing.T) {
	n := device()
	ids := []uint16{}
	for _, c := range n.Children {
		ids = append(ids, c.ID)
	}
	if want := []uint16{0, 1, 4, 7, 13}; string(ids16(ids)) != string(ids16(want)) {
		t.Errorf("children ids %v, want %v", ids, want)
	}
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	if c := n.Child(7); c == nil || c.Kind != KindMultipleResource || len(c.Children) != 2 || c.Children[1].Value != Int(5000) {
		t.Errorf("Child(7) = %v", c)
	}
	if n.Child(2) != nil {
		t.Error("Child(2) found something")
	}
	if f := n.Find(MustPath("/7/1")); f == nil || f.Value != Int(5000) {
		t.Errorf("Find(/7/1) = %v", f)
	}
	if n.Find(RootPath()) != &n {
		t.Error("Find(/) is not n")
	}
}

func ids16(ids []uint16) []byte {
	var b []byte
	for _, id := range ids {
		b = append(b, byte(id>>8), byte(id))
	}
	return b
}

func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name string
		n    Node
		msg  string
	}{
		{"instance in instance", Node{Kind: KindInstance, Children: []Node{{Kind: KindInstance}}}, "cannot hold"},
		{"resource instance in instance", Node{Kind: KindInstance, Children: []Node{NewResourceInstance(1, Int(1))}}, "cannot hold"},
		{"resource in object", Node{Kind: KindObject, Children: []Node{NewResource(1, Int(1))}}, "cannot hold"},
		{"duplicate", Node{Kind: KindInstance, Children: []Node{NewResource(1, Int(1)), NewResource(1, Int(2))}}, "duplicate"},
		{"order", Node{Kind: KindInstance, Children: []Node{NewResource(2, Int(1)), NewResource(1, Int(2))}}, "out of order"},
		{"value on container", Node{Kind: KindObject, Value: Int(1)}, "holds no value"},
		{"children on resource", Node{Kind: KindResource, Children: []Node{NewResourceInstance(0, Int(1))}}, "has no children"},
		{"id 65535", Node{Kind: KindInstance, ID: NoID}, "above 65534"},
		{"deep id 65535", NewInstance(0, NewMultipleResource(3, Node{Kind: KindResourceInstance, ID: NoID, Value: Int(1)})), "/0/3/65535"},
		{"zero kind", Node{}, "unknown kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.n.Validate()
			if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Validate = %v, want 4.00 containing %q", err, tc.msg)
			}
		})
	}
}

func TestEqualAndClone(t *testing.T) {
	a, b := device(), device()
	if !a.Equal(&b) {
		t.Fatal("equal trees differ")
	}
	c := a.Clone()
	c.Children[3].Children[0].Value = Int(1)
	if !a.Equal(&b) || a.Equal(&c) {
		t.Error("Clone shares children or Equal misses a deep change")
	}
	b.Children = b.Children[:4]
	if a.Equal(&b) {
		t.Error("Equal ignores a missing child")
	}
}

func TestSort(t *testing.T) {
	n := Node{Kind: KindInstance, Children: []Node{
		{Kind: KindMultipleResource, ID: 7, Children: []Node{NewResourceInstance(2, Int(2)), NewResourceInstance(0, Int(0))}},
		NewResource(1, Int(1)),
	}}
	n.Sort()
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckAt(t *testing.T) {
	n := device()
	if err := n.CheckAt(MustPath("/3/0")); err != nil {
		t.Error(err)
	}
	for _, p := range []string{"/", "/3", "/3/1", "/3/0/0"} {
		if err := n.CheckAt(MustPath(p)); err == nil {
			t.Errorf("instance 0 fits at %s", p)
		}
	}
	r := NewResource(5, Int(1))
	if err := r.CheckAt(MustPath("/3/0/5")); err != nil {
		t.Error(err)
	}
	mr := NewMultipleResource(5)
	if err := mr.CheckAt(MustPath("/3/0/5")); err != nil {
		t.Error(err)
	}
}

func TestNodeString(t *testing.T) {
	n := NewInstance(0, NewResource(1, String("x")), NewMultipleResourceOf(7, Int(1), Int(2)))
	want := `instance 0 {resource 1 = "x", resource 7 [0 = 1, 1 = 2]}`
	if got := n.String(); got != want {
		t.Errorf("String = %s, want %s", got, want)
	}
}

func TestValidateDoesNotAllocate(t *testing.T) {
	n := device()
	if a := testing.AllocsPerRun(100, func() { _ = n.Validate() }); a != 0 {
		t.Errorf("Validate of a valid tree allocates %v times", a)
	}
}

func BenchmarkParsePath(b *testing.B) {
	for b.Loop() {
		if _, err := ParsePath("/3303/0/5700"); err != nil {
			b.Fatal(err)
		}
	}
}
