package objects

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

type objectVersion struct {
	id uint16
	v  model.Version
}

func (k objectVersion) String() string { return fmt.Sprintf("%d@%s", k.id, k.v) }

// builtinIDs are the objects Core defines, every version of which the
// corpus has must be built in.
var builtinIDs = []uint16{0, 1, 2, 3, 4, 5, 6, 7, 3303, 3311}

// lwm2mVersionOmitted lists the corpus files that give no LWM2MVersion
// where the object was published for a later enabler: the loader reads
// them as 1.0, the built-in says what the specification says.
var lwm2mVersionOmitted = map[objectVersion]bool{
	{4, model.V1_1}: true, // 4-1_1.xml: Connectivity Monitoring 1.1 is LwM2M 1.1
}

// TestCoreMatchesCorpus compares each built-in definition with the
// published file of the same object and version.
func TestCoreMatchesCorpus(t *testing.T) {
	dir := findDDFDir(t)
	all, err := LoadDir(os.DirFS(dir), ".")
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	published := make(map[objectVersion]*model.ObjectDef)
	for _, d := range all {
		if slices.Contains(builtinIDs, d.ID) {
			published[objectVersion{d.ID, d.Version}] = d
		}
	}
	builtin := make(map[objectVersion]*model.ObjectDef)
	for _, d := range Core() {
		builtin[objectVersion{d.ID, d.Version}] = d
	}
	for k := range published {
		if builtin[k] == nil {
			t.Errorf("the corpus has object %d version %s; Core does not", k.id, k.v)
		}
	}
	for _, b := range Core() {
		k := objectVersion{b.ID, b.Version}
		t.Run(k.String(), func(t *testing.T) {
			p := published[k]
			if p == nil {
				t.Skipf("the corpus has no object %d version %s", k.id, k.v)
			}
			if b.Name != p.Name || b.Multiple != p.Multiple || b.Mandatory != p.Mandatory || b.Version != p.Version || b.URN != p.URN {
				t.Errorf("object header:\n built-in %q multiple=%v mandatory=%v %s %q\npublished %q multiple=%v mandatory=%v %s %q",
					b.Name, b.Multiple, b.Mandatory, b.Version, b.URN, p.Name, p.Multiple, p.Mandatory, p.Version, p.URN)
			}
			if b.LWM2MVersion != p.LWM2MVersion && !lwm2mVersionOmitted[k] {
				t.Errorf("LWM2MVersion: built-in %s, published %s", b.LWM2MVersion, p.LWM2MVersion)
			}
			var bIDs, pIDs []uint16
			for _, r := range b.Resources {
				bIDs = append(bIDs, r.ID)
			}
			for _, r := range p.Resources {
				pIDs = append(pIDs, r.ID)
			}
			if !slices.Equal(bIDs, pIDs) {
				t.Fatalf("resource ids:\n built-in %v\npublished %v", bIDs, pIDs)
			}
			for i := range b.Resources {
				br, pr := &b.Resources[i], &p.Resources[i]
				if br.Name != pr.Name || br.Operations != pr.Operations || br.Multiple != pr.Multiple ||
					br.Mandatory != pr.Mandatory || br.Type != pr.Type {
					t.Errorf("resource %d:\n built-in %q %q multiple=%v mandatory=%v %s\npublished %q %q multiple=%v mandatory=%v %s",
						br.ID, br.Name, br.Operations, br.Multiple, br.Mandatory, br.Type,
						pr.Name, pr.Operations, pr.Multiple, pr.Mandatory, pr.Type)
				}
			}
		})
	}
}

func TestCoreValid(t *testing.T) {
	defs := Core()
	if len(defs) != len(core) {
		t.Fatalf("Core returned %d definitions, want %d", len(defs), len(core))
	}
	for i, d := range defs {
		if err := d.Validate(); err != nil {
			t.Errorf("object %d %s: %v", d.ID, d.Version, err)
		}
		if i > 0 && (defs[i-1].ID > d.ID || defs[i-1].ID == d.ID && defs[i-1].Version.Compare(d.Version) >= 0) {
			t.Errorf("object %d %s out of order", d.ID, d.Version)
		}
		for _, r := range d.Resources {
			if r.HasRange != (r.RangeText != "" && (r.Type == model.TypeInteger || r.Type == model.TypeUnsigned || r.Type == model.TypeFloat)) {
				t.Errorf("object %d %s resource %d: range %q of a %s resource parsed=%v", d.ID, d.Version, r.ID, r.RangeText, r.Type, r.HasRange)
			}
		}
	}
	reg, err := NewRegistry()
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	if reg.Len() != len(defs) {
		t.Errorf("registry holds %d definitions, want %d", reg.Len(), len(defs))
	}
	versions := []struct {
		id   uint16
		want []model.Version
	}{
		{0, []model.Version{v1_0, v1_1, v1_2}},
		{1, []model.Version{v1_0, v1_1}},
		{2, []model.Version{v1_0, v1_1}},
		{3, []model.Version{v1_0, v1_1, v1_2}},
		{4, []model.Version{v1_0, v1_1, v1_2, v1_3}},
		{5, []model.Version{v1_0, v1_1}},
		{6, []model.Version{v1_0}},
		{7, []model.Version{v1_0}},
		{3303, []model.Version{v1_0, v1_1}},
		{3311, []model.Version{v1_0}},
	}
	for _, tc := range versions {
		t.Run(fmt.Sprint(tc.id), func(t *testing.T) {
			if got := reg.Versions(tc.id); !slices.Equal(got, tc.want) {
				t.Errorf("Versions(%d) = %v, want %v", tc.id, got, tc.want)
			}
		})
	}
	spot := []struct {
		path string
		v    model.Version
		want model.ResourceDef
	}{
		{"/3/0/11", v1_2, model.ResourceDef{ID: 11, Name: "Error Code", Operations: opR, Multiple: true, Mandatory: true,
			Type: tInt, RangeText: "0..32", Range: model.Range{Max: 32}, HasRange: true}},
		{"/3303/0/5700", v1_1, model.ResourceDef{ID: 5700, Name: "Sensor Value", Operations: opR, Mandatory: true, Type: tFloat}},
		{"/1/0/8", v1_0, model.ResourceDef{ID: 8, Name: "Registration Update Trigger", Operations: opE, Mandatory: true}},
		{"/3311/0/5851", v1_0, model.ResourceDef{ID: 5851, Name: "Dimmer", Operations: opRW, Type: tInt, Units: "/100",
			RangeText: "0..100", Range: model.Range{Max: 100}, HasRange: true}},
	}
	for _, tc := range spot {
		t.Run(tc.path, func(t *testing.T) {
			p := model.MustPath(tc.path)
			d := reg.Get(p.ObjectID(), tc.v)
			if d == nil {
				t.Fatalf("no object %d %s", p.ObjectID(), tc.v)
			}
			r := d.Resource(p.ResourceID())
			if r == nil || !reflect.DeepEqual(*r, tc.want) {
				t.Errorf("resource = %+v, want %+v", r, tc.want)
			}
		})
	}
	if d := reg.Object(3); d == nil || d.Version != v1_2 {
		t.Errorf("newest object 3 = %v, want version 1.2", d)
	}
	if d := reg.View(map[uint16]model.Version{3: v1_1}).Object(3); d != device1_1 {
		t.Errorf("object 3 viewed at 1.1 = %v, want the built-in 1.1", d)
	}
}

func TestNewRegistryExtra(t *testing.T) {
	mine := &model.ObjectDef{ID: 3, Name: "My Device", Version: v1_2, LWM2MVersion: v1_1}
	vendor := &model.ObjectDef{ID: 32770, Name: "Vendor", Version: v1_0, LWM2MVersion: v1_0}
	reg, err := NewRegistry(mine, vendor)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Get(3, v1_2) != mine || reg.Get(3, v1_1) != device1_1 || reg.Object(32770) != vendor {
		t.Errorf("extra definitions not registered as given")
	}
	if reg.Len() != len(core)+1 {
		t.Errorf("registry holds %d definitions, want %d", reg.Len(), len(core)+1)
	}
	bad := []struct {
		name  string
		extra *model.ObjectDef
	}{
		{"nil", nil},
		{"invalid", &model.ObjectDef{ID: 9, Resources: []model.ResourceDef{{ID: 2}, {ID: 1}}}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if reg, err := NewRegistry(tc.extra); err == nil {
				t.Errorf("NewRegistry = %v, want an error", reg)
			}
		})
	}
}

// TestCoreNotMutated checks that callers changing the slice Core returns,
// and registries built from it, leave the built-in definitions as they
// were. (The definitions themselves are shared and documented immutable;
// nothing here may write through them.)
func TestCoreNotMutated(t *testing.T) {
	snapshot := deepCopy(Core())

	c := Core()
	c[0] = nil
	c = append(c[:1], c[3:]...)
	_ = append(c, &model.ObjectDef{ID: 9})
	slices.Reverse(Core())

	if _, err := NewRegistry(&model.ObjectDef{ID: 3, Name: "Replacement", Version: v1_2}); err != nil {
		t.Fatal(err)
	}
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Add(&model.ObjectDef{ID: 0, Name: "Replacement", Version: v1_0}); err != nil {
		t.Fatal(err)
	}

	if got := Core(); !reflect.DeepEqual(deepCopy(got), snapshot) {
		t.Errorf("built-in definitions changed")
	}
	a, b := Core(), Core()
	if &a[0] == &b[0] {
		t.Errorf("Core returned the same slice twice")
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("Core()[%d] differs between calls; the definitions are meant to be shared", i)
		}
	}
}

func deepCopy(defs []*model.ObjectDef) []model.ObjectDef {
	out := make([]model.ObjectDef, len(defs))
	for i, d := range defs {
		out[i] = *d
		out[i].Resources = slices.Clone(d.Resources)
	}
	return out
}

func TestRevise(t *testing.T) {
	base := define(obj{id: 40000, name: "Base"}, v1_0, v1_0,
		res{1, "One", opR, single, mandatory, tInt, "", ""},
		res{3, "Three", opR, single, optional, tInt, "", ""},
	)
	before := deepCopy([]*model.ObjectDef{base})
	next := revise(base, v1_1, v1_1,
		res{3, "Three", opRW, single, optional, tInt, "", "0..9"},
		res{2, "Two", opE, single, optional, tNone, "", ""},
	)
	if !reflect.DeepEqual(deepCopy([]*model.ObjectDef{base}), before) {
		t.Errorf("revise modified its base")
	}
	var got []string
	for _, r := range next.Resources {
		got = append(got, fmt.Sprintf("%d %s %s", r.ID, r.Name, r.Operations))
	}
	if want := []string{"1 One R", "2 Two E", "3 Three RW"}; !slices.Equal(got, want) {
		t.Errorf("revised resources %q, want %q", got, want)
	}
	if next.URN != "urn:oma:lwm2m:ext:40000:1.1" || next.Version != v1_1 {
		t.Errorf("revised header %q %s", next.URN, next.Version)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("define accepted an executable with a type")
		}
	}()
	define(obj{id: 40001}, v1_0, v1_0, res{1, "Bad", opE, single, optional, tInt, "", ""})
}
