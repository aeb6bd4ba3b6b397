package model

import (
	"fmt"
	"sync"
	"testing"
)

func TestRegistryVersions(t *testing.T) {
	r, err := NewRegistry(
		&ObjectDef{ID: 3, Name: "Device 1.1", Version: V1_1},
		&ObjectDef{ID: 3, Name: "Device 1.0", Version: V1_0},
		&ObjectDef{ID: 3, Name: "Device 1.2", Version: V1_2},
		&ObjectDef{ID: 1, Name: "Server", Version: V1_0},
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Object(3).Name; got != "Device 1.2" {
		t.Errorf("Object(3) = %s, want the newest", got)
	}
	if got := r.Get(3, V1_0); got == nil || got.Name != "Device 1.0" {
		t.Errorf("Get(3, 1.0) = %v", got)
	}
	if r.Get(3, Version{2, 0}) != nil || r.Object(4) != nil {
		t.Error("found what is not there")
	}
	if vs := r.Versions(3); len(vs) != 3 || vs[0] != V1_0 || vs[2] != V1_2 {
		t.Errorf("Versions = %v", vs)
	}
	if r.Len() != 4 || len(r.All()) != 4 || r.All()[0].ID != 1 {
		t.Errorf("Len %d, All %v", r.Len(), r.All())
	}
	v := r.View(map[uint16]Version{3: V1_1, 1: {1, 5}})
	if got := v.Object(3).Name; got != "Device 1.1" {
		t.Errorf("view 3 = %s", got)
	}
	if got := v.Object(1).Name; got != "Server" {
		t.Errorf("view 1 (asks 1.5, has 1.0) = %s", got)
	}
	v = r.View(map[uint16]Version{3: {0, 9}})
	if got := v.Object(3).Name; got != "Device 1.2" {
		t.Errorf("view of a version older than all = %s", got)
	}
	// Replacing the same id and version.
	if err := r.Add(&ObjectDef{ID: 3, Name: "Device 1.0 bis", Version: V1_0}); err != nil {
		t.Fatal(err)
	}
	if r.Get(3, V1_0).Name != "Device 1.0 bis" || r.Len() != 4 {
		t.Error("Add did not replace")
	}
}

func TestRegistryRejectsInvalid(t *testing.T) {
	r, _ := NewRegistry()
	bad := []*ObjectDef{
		nil,
		{ID: NoID},
		{ID: 1, Resources: []ResourceDef{{ID: 2, Type: TypeString}, {ID: 1, Type: TypeString}}},
		{ID: 1, Resources: []ResourceDef{{ID: 1, Type: TypeString}, {ID: 1, Type: TypeString}}},
		{ID: 1, Resources: []ResourceDef{{ID: 4, Operations: OpExecute, Type: TypeInteger}}},
		{ID: 1, Resources: []ResourceDef{{ID: 4, Operations: OpRead}}},
	}
	for i, d := range bad {
		if err := r.Add(&ObjectDef{ID: 9}, d); err == nil {
			t.Errorf("case %d accepted", i)
		}
	}
	if r.Len() != 0 {
		t.Error("a failed Add added something")
	}
}

func TestRegistryConcurrentReaders(t *testing.T) {
	r, _ := NewRegistry(&ObjectDef{ID: 0, Version: V1_0})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if err := r.Add(&ObjectDef{ID: uint16(w*1000 + i), Name: fmt.Sprint(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				if r.Object(0) == nil {
					t.Error("lost object 0")
					return
				}
				_ = r.View(nil).Object(1001)
			}
		}()
	}
	wg.Wait()
	if r.Len() != 801 {
		t.Errorf("Len = %d, want 801", r.Len())
	}
}

func BenchmarkRegistryObject(b *testing.B) {
	r, _ := NewRegistry(&ObjectDef{ID: 3, Version: V1_0}, &ObjectDef{ID: 3, Version: V1_1})
	for b.Loop() {
		if r.Object(3) == nil {
			b.Fatal("nil")
		}
	}
}
