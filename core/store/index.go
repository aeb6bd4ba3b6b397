package store

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"unique"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
)

// index is the live data of a store: registrations by ID and by endpoint,
// observations by token and by registration, and the object layouts and
// content format lists that registrations share. Memory is an index behind
// a lock; File is the same plus a log. The methods of index do not lock:
// the store that holds it does.
//
// Every value in an index is owned by it and never changed once inserted:
// a replacement is a new value. That is what lets the stores hand out the
// values themselves, without copies.
type index struct {
	regs    map[string]*Registration
	byEP    map[string]*Registration
	obs     map[string]*Observation
	obsOf   map[string][]*Observation
	kv      kvSpace // plugins' key-value space (kv.go)
	objects shared[[]link.Object]
	formats shared[[]uint16]
	key     []byte // scratch for sharing keys
	objKey  []byte // scratch for shareOwn
	ctKey   []byte // scratch for shareOwn
}

func newIndex() index {
	return index{
		regs:    make(map[string]*Registration),
		byEP:    make(map[string]*Registration),
		obs:     make(map[string]*Observation),
		obsOf:   make(map[string][]*Observation),
		objects: shared[[]link.Object]{m: make(map[string]*sharedValue[[]link.Object])},
		formats: shared[[]uint16]{m: make(map[string]*sharedValue[[]uint16])},
	}
}

// shared holds one copy of each distinct value of a kind, keyed by its
// encoding, with a count of the registrations that use it. Most devices
// of a fleet register the same objects, so most registrations point at one
// []link.Object instead of holding their own.
type shared[T any] struct {
	m map[string]*sharedValue[T]
}

type sharedValue[T any] struct {
	v    T
	refs int
}

// acquire returns the shared value whose encoding is key, building it with
// build if there is none yet. canon re-encodes a built value: a key that
// was read from a file may spell a value in another way than the store
// does, and values are kept under the store's spelling only.
func (s *shared[T]) acquire(key []byte, build func([]byte) T, canon func(T) []byte) T {
	if e, ok := s.m[string(key)]; ok {
		e.refs++
		return e.v
	}
	v := build(key)
	key = canon(v)
	if e, ok := s.m[string(key)]; ok {
		e.refs++
		return e.v
	}
	s.m[string(key)] = &sharedValue[T]{v: v, refs: 1}
	return v
}

// release drops one use of the value whose encoding is key.
func (s *shared[T]) release(key []byte) {
	e, ok := s.m[string(key)]
	if !ok {
		return
	}
	if e.refs--; e.refs == 0 {
		delete(s.m, string(key))
	}
}

// share points r's Objects and ContentFormats at the index's shared
// copies of them, given as their encodings.
func (ix *index) share(r *Registration, objects, formats []byte) {
	r.Objects, r.ContentFormats = nil, nil
	if !emptyList(objects) {
		r.Objects = ix.objects.acquire(objects, decodeObjects, func(v []link.Object) []byte {
			ix.key = appendObjects(ix.key[:0], v)
			return ix.key
		})
	}
	if !emptyList(formats) {
		r.ContentFormats = ix.formats.acquire(formats, decodeFormats, func(v []uint16) []byte {
			ix.key = appendFormats(ix.key[:0], v)
			return ix.key
		})
	}
}

// emptyList reports whether key, the encoding of a list, has no elements.
func emptyList(key []byte) bool {
	n, _ := binary.Uvarint(key)
	return n == 0
}

// shareOwn is share for a registration given by a caller: it encodes the
// caller's Objects and ContentFormats to find or make the shared copies.
func (ix *index) shareOwn(r *Registration) {
	ix.objKey = appendObjects(ix.objKey[:0], r.Objects)
	ix.ctKey = appendFormats(ix.ctKey[:0], r.ContentFormats)
	ix.share(r, ix.objKey, ix.ctKey)
}

// unshare drops r's uses of shared values.
func (ix *index) unshare(r *Registration) {
	if len(r.Objects) > 0 {
		ix.key = appendObjects(ix.key[:0], r.Objects)
		ix.objects.release(ix.key)
	}
	if len(r.ContentFormats) > 0 {
		ix.key = appendFormats(ix.key[:0], r.ContentFormats)
		ix.formats.release(ix.key)
	}
}

// putRegistration installs r, which must already be shared. It returns the
// registration r replaces by ID (prev) and the one it replaces by endpoint
// (replaced), with replaced's observations, which are removed.
func (ix *index) putRegistration(r *Registration) (prev, replaced *Registration, dropped []*Observation) {
	if other := ix.byEP[r.Endpoint]; other != nil && other.ID != r.ID {
		replaced = other
		dropped = ix.removeRegistration(other)
	}
	if prev = ix.regs[r.ID]; prev != nil {
		if ix.byEP[prev.Endpoint] == prev {
			delete(ix.byEP, prev.Endpoint)
		}
		ix.unshare(prev)
	}
	ix.regs[r.ID] = r
	ix.byEP[r.Endpoint] = r
	return prev, replaced, dropped
}

// removeRegistration removes r, which is in the index, and its
// observations, and returns those.
func (ix *index) removeRegistration(r *Registration) []*Observation {
	delete(ix.regs, r.ID)
	if ix.byEP[r.Endpoint] == r {
		delete(ix.byEP, r.Endpoint)
	}
	obs := ix.obsOf[r.ID]
	for _, o := range obs {
		delete(ix.obs, o.Token)
	}
	delete(ix.obsOf, r.ID)
	ix.unshare(r)
	return obs
}

// putObservation installs o and returns the observation it replaces, if
// any. Its registration must exist.
func (ix *index) putObservation(o *Observation) (prev *Observation, err error) {
	if _, ok := ix.regs[o.RegistrationID]; !ok {
		return nil, model.Errorf(model.NotFound, "store: observation of registration %q: no such registration", o.RegistrationID)
	}
	if prev = ix.obs[o.Token]; prev != nil {
		ix.unlinkObservation(prev)
	}
	ix.obs[o.Token] = o
	ix.obsOf[o.RegistrationID] = append(ix.obsOf[o.RegistrationID], o)
	return prev, nil
}

// deleteObservation removes the observation with token and returns it,
// or nil if there is none.
func (ix *index) deleteObservation(token string) *Observation {
	o := ix.obs[token]
	if o == nil {
		return nil
	}
	delete(ix.obs, token)
	ix.unlinkObservation(o)
	return o
}

// unlinkObservation removes o from its registration's list.
func (ix *index) unlinkObservation(o *Observation) {
	list := ix.obsOf[o.RegistrationID]
	i := slices.Index(list, o)
	if i < 0 {
		return
	}
	if len(list) == 1 {
		delete(ix.obsOf, o.RegistrationID)
		return
	}
	// The list may be shared with a caller of ObservationsOf only through
	// a copy, so it can be changed in place.
	ix.obsOf[o.RegistrationID] = slices.Delete(list, i, i+1)
}

// registrationList returns every registration, for iterating without the
// store's lock.
func (ix *index) registrationList() []*Registration {
	list := make([]*Registration, 0, len(ix.regs))
	for _, r := range ix.regs {
		list = append(list, r)
	}
	return list
}

// iterate calls fn with each registration of list until fn returns false or
// ctx ends.
func iterate(ctx context.Context, list []*Registration, fn func(*Registration) bool) error {
	for i, r := range list {
		if i%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !fn(r) {
			return nil
		}
	}
	return nil
}

// ownRegistration returns the copy of r that a store keeps: ID and Endpoint
// in one allocation, Identity sharing Endpoint's bytes when equal, Binding
// and RootPath interned, times with no monotonic reading. Objects and
// ContentFormats still alias the caller's until the index shares them.
func ownRegistration(r *Registration) *Registration {
	c := *r
	both := r.ID + r.Endpoint
	c.ID, c.Endpoint = both[:len(r.ID)], both[len(r.ID):]
	if r.Identity == r.Endpoint {
		c.Identity = c.Endpoint
	} else {
		c.Identity = strings.Clone(r.Identity)
	}
	c.SMS = strings.Clone(r.SMS)
	internStrings(&c)
	c.RegisteredAt = c.RegisteredAt.Round(0)
	c.UpdatedAt = c.UpdatedAt.Round(0)
	return &c
}

// internStrings replaces the strings that most registrations share with a
// canonical copy.
func internStrings(r *Registration) {
	r.Binding = intern(r.Binding)
	r.RootPath = intern(r.RootPath)
}

func intern(s string) string {
	switch s {
	case "":
		return ""
	case "/":
		return "/"
	case "U":
		return "U"
	case "UQ":
		return "UQ"
	}
	return unique.Make(s).Value()
}

// ownObservation returns the copy of o that a store keeps.
func ownObservation(o *Observation) *Observation {
	c := *o
	c.Token = strings.Clone(o.Token)
	c.RegistrationID = strings.Clone(o.RegistrationID)
	c.Endpoint = strings.Clone(o.Endpoint)
	c.Paths = slices.Clip(slices.Clone(o.Paths))
	if len(c.Paths) == 0 {
		c.Paths = nil
	}
	c.CreatedAt = c.CreatedAt.Round(0)
	return &c
}

func checkRegistration(r *Registration) error {
	switch {
	case r == nil:
		return model.Errorf(model.BadRequest, "store: nil registration")
	case r.ID == "":
		return model.Errorf(model.BadRequest, "store: registration of endpoint %q without an id", r.Endpoint)
	case r.Endpoint == "":
		return model.Errorf(model.BadRequest, "store: registration %q without an endpoint", r.ID)
	}
	return nil
}

func checkObservation(o *Observation) error {
	switch {
	case o == nil:
		return model.Errorf(model.BadRequest, "store: nil observation")
	case o.Token == "":
		return model.Errorf(model.BadRequest, "store: observation of registration %q without a token", o.RegistrationID)
	case o.RegistrationID == "":
		return model.Errorf(model.BadRequest, "store: observation without a registration id")
	}
	return nil
}

func notFoundRegistration(id string) error {
	return notFound("registration", id)
}

func notFoundEndpoint(ep string) error {
	return notFound("registration of endpoint", ep)
}

func notFoundObservation(token string) error {
	return model.Errorf(model.NotFound, "store: observation with token %x not found", token)
}
