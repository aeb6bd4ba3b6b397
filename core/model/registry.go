package model

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Registry holds object definitions keyed by object id and version. It is
// safe for concurrent use: readers never block (they load an immutable
// snapshot), writers serialize among themselves and publish a new
// snapshot. A Registry implements Definitions with the newest version of
// each object; View picks other versions.
type Registry struct {
	mu   sync.Mutex // serializes writers
	snap atomic.Pointer[snapshot]
}

// snapshot maps an object id to its definitions, oldest version first.
type snapshot map[uint16][]*ObjectDef

// NewRegistry returns a registry holding defs.
func NewRegistry(defs ...*ObjectDef) (*Registry, error) {
	r := &Registry{}
	if err := r.Add(defs...); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Registry) load() snapshot {
	if s := r.snap.Load(); s != nil {
		return *s
	}
	return nil
}

// Add validates and adds definitions. A definition with the id and
// version of one already held replaces it. Nothing is added when any
// definition is invalid.
func (r *Registry) Add(defs ...*ObjectDef) error {
	for _, d := range defs {
		if d == nil {
			return fmt.Errorf("registry: nil object definition")
		}
		if err := d.Validate(); err != nil {
			return fmt.Errorf("registry: %w", err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	next := maps.Clone(r.load())
	if next == nil {
		next = snapshot{}
	}
	for _, d := range defs {
		vs := slices.Clone(next[d.ID])
		i, found := slices.BinarySearchFunc(vs, d.Version, func(e *ObjectDef, v Version) int { return e.Version.Compare(v) })
		if found {
			vs[i] = d
		} else {
			vs = slices.Insert(vs, i, d)
		}
		next[d.ID] = vs
	}
	r.snap.Store(&next)
	return nil
}

// Object returns the newest version of object id, or nil.
func (r *Registry) Object(id uint16) *ObjectDef {
	vs := r.load()[id]
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

// Get returns object id at version v exactly, or nil.
func (r *Registry) Get(id uint16, v Version) *ObjectDef {
	for _, d := range r.load()[id] {
		if d.Version == v {
			return d
		}
	}
	return nil
}

// Versions returns the versions held for object id, oldest first.
func (r *Registry) Versions(id uint16) []Version {
	vs := r.load()[id]
	out := make([]Version, len(vs))
	for i, d := range vs {
		out[i] = d.Version
	}
	return out
}

// All returns every definition held, by object id then version.
func (r *Registry) All() []*ObjectDef {
	s := r.load()
	ids := slices.Sorted(maps.Keys(s))
	var out []*ObjectDef
	for _, id := range ids {
		out = append(out, s[id]...)
	}
	return out
}

// Len returns the number of definitions held (each version counts).
func (r *Registry) Len() int {
	n := 0
	for _, vs := range r.load() {
		n += len(vs)
	}
	return n
}

// View returns the definitions a device with the given object versions
// uses: for each object in versions, that version when the registry holds
// it (the newest older one otherwise, then the newest); for every other
// object, the newest. A device registering </3>;ver=1.1 gets object 3
// version 1.1. The view reads the registry's snapshot at the time of each
// call.
func (r *Registry) View(versions map[uint16]Version) Definitions {
	return view{r: r, versions: versions}
}

type view struct {
	r        *Registry
	versions map[uint16]Version
}

func (v view) Object(id uint16) *ObjectDef {
	want, ok := v.versions[id]
	if !ok {
		return v.r.Object(id)
	}
	vs := v.r.load()[id]
	var best *ObjectDef
	for _, d := range vs {
		if d.Version.Compare(want) <= 0 {
			best = d
		}
	}
	if best == nil && len(vs) > 0 {
		best = vs[len(vs)-1]
	}
	return best
}
