package model

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		in    string
		want  Path
		level Level
		out   string
	}{
		{"/", RootPath(), LevelRoot, "/"},
		{"/3", ObjectPath(3), LevelObject, "/3"},
		{"/3/", ObjectPath(3), LevelObject, "/3"},
		{"/3/0", InstancePath(3, 0), LevelInstance, "/3/0"},
		{"/3/0/", InstancePath(3, 0), LevelInstance, "/3/0"},
		{"/3/0/6", ResourcePath(3, 0, 6), LevelResource, "/3/0/6"},
		{"/3/0/6/1", ResourceInstancePath(3, 0, 6, 1), LevelResourceInstance, "/3/0/6/1"},
		{"/65534/65534/65534/65534", ResourceInstancePath(65534, 65534, 65534, 65534), LevelResourceInstance, "/65534/65534/65534/65534"},
		{"/0/0/0/0", ResourceInstancePath(0, 0, 0, 0), LevelResourceInstance, "/0/0/0/0"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			p, err := ParsePath(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if p != tc.want || p.Level() != tc.level || p.String() != tc.out {
				t.Errorf("got %v (level %v, %q), want %v level %v %q", p.IDs(), p.Level(), p.String(), tc.want.IDs(), tc.level, tc.out)
			}
		})
	}
}

func TestParsePathErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"no leading slash", "3/0"},
		{"double slash", "//"},
		{"empty segment", "/3//0"},
		{"two trailing slashes", "/3/0//"},
		{"too deep", "/3/0/6/1/2"},
		{"65535", "/3/65535"},
		{"above 16 bits", "/70000"},
		{"huge", "/99999999999999999999"},
		{"negative", "/-1"},
		{"plus", "/+3"},
		{"letters", "/3/a"},
		{"trailing garbage", "/3/0x"},
		{"space", "/3/ 0"},
		{"leading zero", "/03"},
		{"query", "/3/0?x"},
		{"unicode digit", "/٣"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePath(tc.in)
			if err == nil {
				t.Fatalf("ParsePath(%q) succeeded", tc.in)
			}
			if !errors.Is(err, ErrInvalidPath) || !errors.Is(err, ErrBadRequest) || CodeOf(err) != BadRequest {
				t.Errorf("ParsePath(%q) error %v: want ErrInvalidPath and 4.00", tc.in, err)
			}
		})
	}
}

func TestNewPath(t *testing.T) {
	p, err := NewPath(3, 0, 7, 2)
	if err != nil || p != ResourceInstancePath(3, 0, 7, 2) {
		t.Fatalf("NewPath = %v, %v", p, err)
	}
	if _, err := NewPath(1, 2, 3, 4, 5); err == nil {
		t.Error("five ids accepted")
	}
	if _, err := NewPath(NoID); err == nil {
		t.Error("65535 accepted")
	}
	if p, err := NewPath(); err != nil || !p.IsRoot() {
		t.Errorf("NewPath() = %v, %v", p, err)
	}
}

func TestPathNavigation(t *testing.T) {
	p := MustPath("/3/0/7/1")
	if p.ObjectID() != 3 || p.InstanceID() != 0 || p.ResourceID() != 7 || p.ResourceInstanceID() != 1 || p.Last() != 1 {
		t.Errorf("ids of %s wrong", p)
	}
	if got := p.Parent(); got != MustPath("/3/0/7") {
		t.Errorf("Parent = %s", got)
	}
	if got := p.Truncate(1); got != ObjectPath(3) {
		t.Errorf("Truncate(1) = %s", got)
	}
	if got := RootPath().Parent(); !got.IsRoot() {
		t.Errorf("root parent = %s", got)
	}
	c, err := MustPath("/3/0").Child(9)
	if err != nil || c != ResourcePath(3, 0, 9) {
		t.Errorf("Child = %s, %v", c, err)
	}
	if _, err := p.Child(0); err == nil {
		t.Error("child of a resource instance")
	}
	if _, err := ObjectPath(1).Child(NoID); err == nil {
		t.Error("child id 65535")
	}
	for _, q := range []string{"/", "/3", "/3/0", "/3/0/7", "/3/0/7/1"} {
		if !p.HasPrefix(MustPath(q)) {
			t.Errorf("%s should have prefix %s", p, q)
		}
	}
	for _, q := range []string{"/4", "/3/1", "/3/0/7/1"} {
		if MustPath("/3/0/7").HasPrefix(MustPath(q)) {
			t.Errorf("/3/0/7 should not have prefix %s", q)
		}
	}
	if !MustPath("/3").Overlaps(MustPath("/3/0/1")) || MustPath("/3/1").Overlaps(MustPath("/3/0/1")) {
		t.Error("Overlaps wrong")
	}
	// Parent and Truncate zero the dropped ids so that == still works.
	if MustPath("/3/0/7").Parent() != InstancePath(3, 0) {
		t.Error("Parent leaves ids behind")
	}
}

func TestPathCompareSortsDepthFirst(t *testing.T) {
	want := []string{"/", "/1", "/1/0", "/1/0/1", "/3", "/3/0", "/3/0/0", "/3/0/7", "/3/0/7/0", "/3/0/7/1", "/3/0/11", "/3/1", "/3303"}
	paths := make([]Path, len(want))
	for i, s := range want {
		paths[i] = MustPath(s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
	slices.SortFunc(paths, Path.Compare)
	for i, p := range paths {
		if p.String() != want[i] {
			t.Fatalf("position %d: %s, want %s", i, p, want[i])
		}
	}
}

func TestPathTextRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 1000 {
		n := r.IntN(5)
		ids := make([]uint16, n)
		for i := range ids {
			ids[i] = uint16(r.IntN(MaxID + 1))
		}
		p, err := NewPath(ids...)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := p.MarshalText()
		var q Path
		if err := q.UnmarshalText(b); err != nil || q != p {
			t.Fatalf("%s: round trip gave %s, %v", p, q, err)
		}
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/", "/3/0/6/1", "/3//0", "/65535", "/3/0/", "/-1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidPath) {
				t.Fatalf("error %v does not wrap ErrInvalidPath", err)
			}
			return
		}
		q, err := ParsePath(p.String())
		if err != nil || q != p {
			t.Fatalf("%q parsed to %s which reparses to %s, %v", s, p, q, err)
		}
	})
}
