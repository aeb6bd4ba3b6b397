// Package storetest is the conformance suite of store.Store. Every storage
// backend, built in or plugin, runs Run from its tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
//	}
//
// The suite uses the Store interface only, so that a backend in another
// process (behind the plugin host) passes or fails the same tests.
//
// Package storetest depends on the standard library, core/model, core/link
// and core/store only. It imports testing: only tests may import it.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
)

// NewRegistration returns a typical registration of a LwM2M 1.1 device:
// eight objects (Security, Server, Access Control, Device, Connectivity
// Monitoring, Firmware Update, Location and Temperature), some with
// versions and several instances, over DTLS with a PSK identity equal to
// its endpoint. Each call returns new slices.
func NewRegistration(id, ep string) *store.Registration {
	now := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
	return &store.Registration{
		ID:       id,
		Endpoint: ep,
		Lifetime: 86400,
		Version:  model.V1_1,
		Binding:  "U",
		Address:  netip.MustParseAddrPort("198.51.100.7:56830"),
		RootPath: "/",
		Objects: []link.Object{
			{ID: 0, Instances: []uint16{0, 1}},
			{ID: 1, Version: model.V1_1, Instances: []uint16{0}},
			{ID: 2, Instances: []uint16{0, 1, 2}},
			{ID: 3, Version: model.V1_1, Instances: []uint16{0}},
			{ID: 4, Instances: []uint16{0}},
			{ID: 5, Instances: []uint16{0}},
			{ID: 6},
			{ID: 3303, Version: model.V1_1, Instances: []uint16{0, 1}},
		},
		ContentFormats: []uint16{110, 112, 11542, 11543},
		RegisteredAt:   now,
		UpdatedAt:      now.Add(90 * time.Second),
		Secure:         true,
		Identity:       ep,
	}
}

// NewObservation returns an observation of registration r at paths (one
// path by default: /3303/0/5700).
func NewObservation(token string, r *store.Registration, paths ...string) *store.Observation {
	o := &store.Observation{
		Token:          token,
		RegistrationID: r.ID,
		Endpoint:       r.Endpoint,
		Format:         store.NoFormat,
		CreatedAt:      time.Date(2025, 3, 14, 15, 10, 0, 1, time.UTC),
	}
	if len(paths) == 0 {
		paths = []string{"/3303/0/5700"}
	}
	for _, p := range paths {
		o.Paths = append(o.Paths, model.MustPath(p))
	}
	o.Composite = len(paths) > 1
	return o
}

// Run runs the conformance suite, one subtest per rule of the Store
// contract. open returns a new, empty store for each subtest; Run closes
// it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"PutAndGet", testPutAndGet},
		{"FieldsRoundTrip", testFieldsRoundTrip},
		{"UpdateKeepsObservations", testUpdateKeepsObservations},
		{"UpdateMovesEndpoint", testUpdateMovesEndpoint},
		{"ReplaceByEndpoint", testReplaceByEndpoint},
		{"ReplaceByEndpointAndID", testReplaceByEndpointAndID},
		{"DeleteCascades", testDeleteCascades},
		{"NotFound", testNotFound},
		{"ObservationOfUnknownRegistration", testObservationOfUnknownRegistration},
		{"Observations", testObservations},
		{"ObservationTokenMoves", testObservationTokenMoves},
		{"ObservationsOf", testObservationsOf},
		{"RegistrationsVisitsEvery", testRegistrationsVisitsEvery},
		{"RegistrationsStops", testRegistrationsStops},
		{"RegistrationsCallbackUsesStore", testRegistrationsCallbackUsesStore},
		{"Count", testCount},
		{"ReturnedValuesUnchanged", testReturnedValuesUnchanged},
		{"KeepsOwnCopy", testKeepsOwnCopy},
		{"CloneIsDeep", testCloneIsDeep},
		{"InvalidInput", testInvalidInput},
		{"ContextDone", testContextDone},
		{"Closed", testClosed},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			tc.run(t, s)
		})
	}
}

var bg = context.Background()

func put(t *testing.T, s store.Store, r *store.Registration) *store.Registration {
	t.Helper()
	replaced, err := s.PutRegistration(bg, r)
	if err != nil {
		t.Fatalf("PutRegistration(%q, %q): %v", r.ID, r.Endpoint, err)
	}
	return replaced
}

func putObs(t *testing.T, s store.Store, o *store.Observation) {
	t.Helper()
	if err := s.PutObservation(bg, o); err != nil {
		t.Fatalf("PutObservation(%x): %v", o.Token, err)
	}
}

func get(t *testing.T, s store.Store, id string) *store.Registration {
	t.Helper()
	r, err := s.Registration(bg, id)
	if err != nil {
		t.Fatalf("Registration(%q): %v", id, err)
	}
	return r
}

func wantRegistration(t *testing.T, what string, got, want *store.Registration) {
	t.Helper()
	if d := DiffRegistration(got, want); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
}

func wantObservation(t *testing.T, what string, got, want *store.Observation) {
	t.Helper()
	if d := DiffObservation(got, want); d != "" {
		t.Fatalf("%s: %s", what, d)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("%s: error %v, want one matching model.ErrNotFound", what, err)
	}
}

func tokens(obs []*store.Observation) []string {
	var ts []string
	for _, o := range obs {
		ts = append(ts, o.Token)
	}
	sort.Strings(ts)
	return ts
}

func wantTokens(t *testing.T, s store.Store, regID string, want ...string) {
	t.Helper()
	obs, err := s.ObservationsOf(bg, regID)
	if err != nil {
		t.Fatalf("ObservationsOf(%q): %v", regID, err)
	}
	sort.Strings(want)
	if got := tokens(obs); !slices.Equal(got, want) {
		t.Fatalf("ObservationsOf(%q) tokens = %q, want %q", regID, got, want)
	}
	for _, o := range obs {
		if o.RegistrationID != regID {
			t.Fatalf("ObservationsOf(%q) returned %x of registration %q", regID, o.Token, o.RegistrationID)
		}
	}
}

// DiffRegistration describes how got differs from want, or returns "" if
// they are the same registration: times compare with time.Equal, and nil
// and empty slices are the same.
func DiffRegistration(got, want *store.Registration) string {
	switch {
	case got == nil && want == nil:
		return ""
	case got == nil || want == nil:
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	var d []string
	field := func(name string, g, w any) {
		d = append(d, fmt.Sprintf("%s = %v, want %v", name, g, w))
	}
	if got.ID != want.ID {
		field("ID", got.ID, want.ID)
	}
	if got.Endpoint != want.Endpoint {
		field("Endpoint", got.Endpoint, want.Endpoint)
	}
	if got.Lifetime != want.Lifetime {
		field("Lifetime", got.Lifetime, want.Lifetime)
	}
	if got.Version != want.Version {
		field("Version", got.Version, want.Version)
	}
	if got.Binding != want.Binding {
		field("Binding", got.Binding, want.Binding)
	}
	if got.Queue != want.Queue {
		field("Queue", got.Queue, want.Queue)
	}
	if got.SMS != want.SMS {
		field("SMS", got.SMS, want.SMS)
	}
	if got.Address != want.Address {
		field("Address", got.Address, want.Address)
	}
	if got.RootPath != want.RootPath {
		field("RootPath", got.RootPath, want.RootPath)
	}
	if !sameObjects(got.Objects, want.Objects) {
		field("Objects", got.Objects, want.Objects)
	}
	if !slices.Equal(got.ContentFormats, want.ContentFormats) {
		field("ContentFormats", got.ContentFormats, want.ContentFormats)
	}
	if !got.RegisteredAt.Equal(want.RegisteredAt) {
		field("RegisteredAt", got.RegisteredAt, want.RegisteredAt)
	}
	if !got.UpdatedAt.Equal(want.UpdatedAt) {
		field("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	}
	if got.Secure != want.Secure {
		field("Secure", got.Secure, want.Secure)
	}
	if got.Identity != want.Identity {
		field("Identity", got.Identity, want.Identity)
	}
	if len(d) == 0 {
		return ""
	}
	return fmt.Sprintf("registration %q: %v", want.ID, d)
}

func sameObjects(a, b []link.Object) bool {
	return slices.EqualFunc(a, b, func(x, y link.Object) bool {
		return x.ID == y.ID && x.Version == y.Version && slices.Equal(x.Instances, y.Instances)
	})
}

// DiffObservation describes how got differs from want, or returns "" if
// they are the same observation.
func DiffObservation(got, want *store.Observation) string {
	switch {
	case got == nil && want == nil:
		return ""
	case got == nil || want == nil:
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	if got.Token != want.Token || got.RegistrationID != want.RegistrationID || got.Endpoint != want.Endpoint ||
		!slices.Equal(got.Paths, want.Paths) || got.Composite != want.Composite || got.Format != want.Format ||
		!got.CreatedAt.Equal(want.CreatedAt) {
		return fmt.Sprintf("observation %x: got %+v, want %+v", want.Token, *got, *want)
	}
	return ""
}

func testPutAndGet(t *testing.T, s store.Store) {
	want := NewRegistration("r1", "urn:imei:490154203237518")
	if replaced := put(t, s, want.Clone()); replaced != nil {
		t.Fatalf("PutRegistration into an empty store replaced %q", replaced.ID)
	}
	wantRegistration(t, "Registration", get(t, s, "r1"), want)
	byEP, err := s.RegistrationByEndpoint(bg, want.Endpoint)
	if err != nil {
		t.Fatalf("RegistrationByEndpoint: %v", err)
	}
	wantRegistration(t, "RegistrationByEndpoint", byEP, want)
	if n, err := s.CountRegistrations(bg); err != nil || n != 1 {
		t.Fatalf("CountRegistrations = %d, %v; want 1", n, err)
	}
}

func testFieldsRoundTrip(t *testing.T, s store.Store) {
	base := func(id string) *store.Registration { return NewRegistration(id, "ep-"+id) }
	tests := []struct {
		name   string
		change func(r *store.Registration)
	}{
		{"typical", func(r *store.Registration) {}},
		{"zero values", func(r *store.Registration) {
			*r = store.Registration{ID: r.ID, Endpoint: r.Endpoint}
		}},
		{"IPv6 with zone", func(r *store.Registration) {
			r.Address = netip.MustParseAddrPort("[fe80::1%eth0]:5683")
		}},
		{"IPv4-mapped IPv6", func(r *store.Registration) {
			r.Address = netip.MustParseAddrPort("[::ffff:192.0.2.1]:5684")
		}},
		{"no address", func(r *store.Registration) { r.Address = netip.AddrPort{} }},
		{"queue mode and SMS", func(r *store.Registration) {
			r.Binding, r.Queue, r.SMS = "UQS", true, "+15555550123"
		}},
		{"LwM2M 1.0", func(r *store.Registration) { r.Version = model.V1_0 }},
		{"alternate root path", func(r *store.Registration) { r.RootPath = "/lwm2m" }},
		{"identity other than endpoint", func(r *store.Registration) { r.Identity = "psk-id-7" }},
		{"NoSec", func(r *store.Registration) { r.Secure, r.Identity = false, "" }},
		{"no objects and no formats", func(r *store.Registration) { r.Objects, r.ContentFormats = nil, nil }},
		{"largest ids and lifetime", func(r *store.Registration) {
			r.Lifetime = 1<<32 - 1
			r.Objects = []link.Object{{ID: 65534, Version: model.Version{Major: 255, Minor: 255}, Instances: []uint16{65534}}}
			r.ContentFormats = []uint16{65535}
		}},
		{"times far apart, in another zone", func(r *store.Registration) {
			r.RegisteredAt = time.Date(1970, 1, 1, 0, 0, 0, 1, time.FixedZone("X", 3600))
			r.UpdatedAt = time.Date(2199, 12, 31, 23, 59, 59, 999999999, time.UTC)
		}},
		{"binary id, endpoint and identity", func(r *store.Registration) {
			r.ID, r.Endpoint, r.Identity = r.ID+"\x00\xff", r.Endpoint+"\x00é", "\x00\x01"
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := base(fmt.Sprintf("f%d", i))
			tc.change(want)
			put(t, s, want.Clone())
			wantRegistration(t, "Registration", get(t, s, want.ID), want)
			o := NewObservation(fmt.Sprintf("tok-%d", i), want, "/3/0", "/3303/0/5700", "/1/0/1", "/")
			o.Format = 112
			putObs(t, s, o.Clone())
			got, err := s.Observation(bg, o.Token)
			if err != nil {
				t.Fatalf("Observation: %v", err)
			}
			wantObservation(t, "Observation", got, o)
		})
	}
}

func testUpdateKeepsObservations(t *testing.T, s store.Store) {
	r := NewRegistration("r1", "ep1")
	put(t, s, r)
	putObs(t, s, NewObservation("t1", r))
	upd := r.Clone()
	upd.Lifetime, upd.UpdatedAt = 300, r.UpdatedAt.Add(time.Hour)
	upd.Objects = upd.Objects[:3]
	if replaced := put(t, s, upd); replaced != nil {
		t.Fatalf("an update replaced %q", replaced.ID)
	}
	wantRegistration(t, "after update", get(t, s, "r1"), upd)
	wantTokens(t, s, "r1", "t1")
	if n, _ := s.CountRegistrations(bg); n != 1 {
		t.Fatalf("CountRegistrations = %d, want 1", n)
	}
}

func testUpdateMovesEndpoint(t *testing.T, s store.Store) {
	r := NewRegistration("r1", "ep1")
	put(t, s, r)
	putObs(t, s, NewObservation("t1", r))
	moved := NewRegistration("r1", "ep2")
	if replaced := put(t, s, moved); replaced != nil {
		t.Fatalf("moving an endpoint replaced %q", replaced.ID)
	}
	_, err := s.RegistrationByEndpoint(bg, "ep1")
	wantNotFound(t, "RegistrationByEndpoint(old endpoint)", err)
	got, err := s.RegistrationByEndpoint(bg, "ep2")
	if err != nil {
		t.Fatalf("RegistrationByEndpoint(new endpoint): %v", err)
	}
	wantRegistration(t, "RegistrationByEndpoint(new endpoint)", got, moved)
	wantTokens(t, s, "r1", "t1")
}

func testReplaceByEndpoint(t *testing.T, s store.Store) {
	old := NewRegistration("old", "ep1")
	put(t, s, old)
	putObs(t, s, NewObservation("t1", old))
	putObs(t, s, NewObservation("t2", old, "/3/0/0", "/3/0/1"))
	other := NewRegistration("other", "ep2")
	put(t, s, other)
	putObs(t, s, NewObservation("t3", other))

	fresh := NewRegistration("new", "ep1")
	replaced := put(t, s, fresh)
	wantRegistration(t, "replaced", replaced, old)
	_, err := s.Registration(bg, "old")
	wantNotFound(t, "Registration(replaced)", err)
	for _, tok := range []string{"t1", "t2"} {
		_, err := s.Observation(bg, tok)
		wantNotFound(t, "Observation of the replaced registration", err)
	}
	wantTokens(t, s, "old")
	wantTokens(t, s, "other", "t3")
	got, err := s.RegistrationByEndpoint(bg, "ep1")
	if err != nil {
		t.Fatalf("RegistrationByEndpoint: %v", err)
	}
	wantRegistration(t, "RegistrationByEndpoint", got, fresh)
	if n, _ := s.CountRegistrations(bg); n != 2 {
		t.Fatalf("CountRegistrations = %d, want 2", n)
	}
	// The token of a removed observation is free again.
	putObs(t, s, NewObservation("t1", fresh))
	wantTokens(t, s, "new", "t1")
}

func testReplaceByEndpointAndID(t *testing.T, s store.Store) {
	a := NewRegistration("a", "ep1")
	b := NewRegistration("b", "ep2")
	put(t, s, a)
	put(t, s, b)
	putObs(t, s, NewObservation("ta", a))
	putObs(t, s, NewObservation("tb", b))
	a2 := NewRegistration("a", "ep2")
	replaced := put(t, s, a2)
	wantRegistration(t, "replaced", replaced, b)
	_, err := s.Registration(bg, "b")
	wantNotFound(t, "Registration(b)", err)
	_, err = s.RegistrationByEndpoint(bg, "ep1")
	wantNotFound(t, "RegistrationByEndpoint(ep1)", err)
	got, err := s.RegistrationByEndpoint(bg, "ep2")
	if err != nil {
		t.Fatalf("RegistrationByEndpoint(ep2): %v", err)
	}
	wantRegistration(t, "RegistrationByEndpoint(ep2)", got, a2)
	wantTokens(t, s, "a", "ta")
	wantTokens(t, s, "b")
	if n, _ := s.CountRegistrations(bg); n != 1 {
		t.Fatalf("CountRegistrations = %d, want 1", n)
	}
}

func testDeleteCascades(t *testing.T, s store.Store) {
	a := NewRegistration("a", "ep-a")
	b := NewRegistration("b", "ep-b")
	put(t, s, a)
	put(t, s, b)
	oa1, oa2, ob := NewObservation("a1", a), NewObservation("a2", a, "/3/0"), NewObservation("b1", b)
	putObs(t, s, oa1)
	putObs(t, s, oa2)
	putObs(t, s, ob)

	r, obs, err := s.DeleteRegistration(bg, "a")
	if err != nil {
		t.Fatalf("DeleteRegistration: %v", err)
	}
	wantRegistration(t, "deleted", r, a)
	if got := tokens(obs); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("DeleteRegistration returned observations %q, want a1 and a2", got)
	}
	for _, o := range obs {
		want := oa1
		if o.Token == "a2" {
			want = oa2
		}
		wantObservation(t, "deleted observation", o, want)
	}
	_, err = s.Registration(bg, "a")
	wantNotFound(t, "Registration(deleted)", err)
	_, err = s.RegistrationByEndpoint(bg, "ep-a")
	wantNotFound(t, "RegistrationByEndpoint(deleted)", err)
	_, err = s.Observation(bg, "a1")
	wantNotFound(t, "Observation(deleted)", err)
	wantTokens(t, s, "a")
	wantTokens(t, s, "b", "b1")
	_, _, err = s.DeleteRegistration(bg, "a")
	wantNotFound(t, "DeleteRegistration twice", err)
	if n, _ := s.CountRegistrations(bg); n != 1 {
		t.Fatalf("CountRegistrations = %d, want 1", n)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	r := NewRegistration("r", "ep")
	put(t, s, r)
	putObs(t, s, NewObservation("tok", r))
	tests := []struct {
		name string
		call func() error
	}{
		{"Registration", func() error { _, err := s.Registration(bg, "nope"); return err }},
		{"Registration by endpoint as id", func() error { _, err := s.Registration(bg, "ep"); return err }},
		{"RegistrationByEndpoint", func() error { _, err := s.RegistrationByEndpoint(bg, "nope"); return err }},
		{"RegistrationByEndpoint by id", func() error { _, err := s.RegistrationByEndpoint(bg, "r"); return err }},
		{"DeleteRegistration", func() error { _, _, err := s.DeleteRegistration(bg, "nope"); return err }},
		{"Observation", func() error { _, err := s.Observation(bg, "nope"); return err }},
		{"DeleteObservation", func() error { _, err := s.DeleteObservation(bg, "nope"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { wantNotFound(t, tc.name, tc.call()) })
	}
	wantRegistration(t, "untouched", get(t, s, "r"), r)
}

func testObservationOfUnknownRegistration(t *testing.T, s store.Store) {
	ghost := NewRegistration("ghost", "ep")
	err := s.PutObservation(bg, NewObservation("tok", ghost))
	wantNotFound(t, "PutObservation of an unknown registration", err)
	_, err = s.Observation(bg, "tok")
	wantNotFound(t, "Observation after a refused put", err)
	wantTokens(t, s, "ghost")

	// Nor of a deleted one.
	put(t, s, ghost)
	if _, _, err := s.DeleteRegistration(bg, "ghost"); err != nil {
		t.Fatal(err)
	}
	err = s.PutObservation(bg, NewObservation("tok", ghost))
	wantNotFound(t, "PutObservation of a deleted registration", err)
}

func testObservations(t *testing.T, s store.Store) {
	r := NewRegistration("r", "ep")
	put(t, s, r)
	o := NewObservation("\x01\x02\x03\x04\x05\x06\x07\x08", r, "/3/0/9")
	o.Format = 11543
	putObs(t, s, o.Clone())
	got, err := s.Observation(bg, o.Token)
	if err != nil {
		t.Fatalf("Observation: %v", err)
	}
	wantObservation(t, "Observation", got, o)

	o2 := NewObservation(o.Token, r, "/3/0/0", "/3/0/13")
	putObs(t, s, o2.Clone())
	got, err = s.Observation(bg, o.Token)
	if err != nil {
		t.Fatalf("Observation after replace: %v", err)
	}
	wantObservation(t, "replaced Observation", got, o2)
	wantTokens(t, s, "r", o.Token)

	del, err := s.DeleteObservation(bg, o.Token)
	if err != nil {
		t.Fatalf("DeleteObservation: %v", err)
	}
	wantObservation(t, "DeleteObservation", del, o2)
	_, err = s.Observation(bg, o.Token)
	wantNotFound(t, "Observation after delete", err)
	_, err = s.DeleteObservation(bg, o.Token)
	wantNotFound(t, "DeleteObservation twice", err)
	wantTokens(t, s, "r")
	wantRegistration(t, "registration after its observation went", get(t, s, "r"), r)
}

func testObservationTokenMoves(t *testing.T, s store.Store) {
	a, b := NewRegistration("a", "ep-a"), NewRegistration("b", "ep-b")
	put(t, s, a)
	put(t, s, b)
	putObs(t, s, NewObservation("tok", a))
	putObs(t, s, NewObservation("tok", b))
	wantTokens(t, s, "a")
	wantTokens(t, s, "b", "tok")
	if _, _, err := s.DeleteRegistration(bg, "a"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Observation(bg, "tok")
	if err != nil {
		t.Fatalf("Observation after deleting its former registration: %v", err)
	}
	wantObservation(t, "moved observation", got, NewObservation("tok", b))
}

func testObservationsOf(t *testing.T, s store.Store) {
	a, b := NewRegistration("a", "ep-a"), NewRegistration("b", "ep-b")
	put(t, s, a)
	put(t, s, b)
	for i := range 5 {
		putObs(t, s, NewObservation(fmt.Sprintf("a%d", i), a))
	}
	putObs(t, s, NewObservation("b0", b))
	if _, err := s.DeleteObservation(bg, "a2"); err != nil {
		t.Fatal(err)
	}
	wantTokens(t, s, "a", "a0", "a1", "a3", "a4")
	wantTokens(t, s, "b", "b0")
	wantTokens(t, s, "unknown")

	// The returned slice is the caller's.
	obs, _ := s.ObservationsOf(bg, "a")
	obs[0] = nil
	wantTokens(t, s, "a", "a0", "a1", "a3", "a4")
}

func testRegistrationsVisitsEvery(t *testing.T, s store.Store) {
	const n = 200
	want := make(map[string]*store.Registration)
	for i := range n {
		r := NewRegistration(fmt.Sprintf("r%03d", i), fmt.Sprintf("ep%03d", i))
		r.Lifetime = uint32(i)
		put(t, s, r)
		want[r.ID] = r
	}
	if _, _, err := s.DeleteRegistration(bg, "r007"); err != nil {
		t.Fatal(err)
	}
	delete(want, "r007")
	seen := make(map[string]bool)
	err := s.Registrations(bg, func(r *store.Registration) bool {
		if seen[r.ID] {
			t.Errorf("Registrations visited %q twice", r.ID)
		}
		seen[r.ID] = true
		if d := DiffRegistration(r, want[r.ID]); d != "" {
			t.Errorf("Registrations: %s", d)
		}
		return true
	})
	if err != nil {
		t.Fatalf("Registrations: %v", err)
	}
	if len(seen) != len(want) {
		t.Fatalf("Registrations visited %d, want %d", len(seen), len(want))
	}
}

func testRegistrationsStops(t *testing.T, s store.Store) {
	for i := range 10 {
		put(t, s, NewRegistration(fmt.Sprintf("r%d", i), fmt.Sprintf("ep%d", i)))
	}
	for _, stopAt := range []int{1, 3, 10} {
		calls := 0
		err := s.Registrations(bg, func(*store.Registration) bool {
			calls++
			return calls < stopAt
		})
		if err != nil {
			t.Fatalf("Registrations: %v", err)
		}
		if calls != stopAt {
			t.Fatalf("fn returning false on call %d: called %d times", stopAt, calls)
		}
	}
	// An empty store calls fn never.
	for i := range 10 {
		if _, _, err := s.DeleteRegistration(bg, fmt.Sprintf("r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Registrations(bg, func(*store.Registration) bool { t.Fatal("fn called on an empty store"); return false }); err != nil {
		t.Fatal(err)
	}
}

func testRegistrationsCallbackUsesStore(t *testing.T, s store.Store) {
	for i := range 20 {
		put(t, s, NewRegistration(fmt.Sprintf("r%02d", i), fmt.Sprintf("ep%02d", i)))
	}
	done := make(chan error, 1)
	go func() {
		// What an expiry sweep does: delete from inside the iteration.
		done <- s.Registrations(bg, func(r *store.Registration) bool {
			if _, err := s.Registration(bg, r.ID); err != nil {
				t.Errorf("Registration(%q) inside Registrations: %v", r.ID, err)
			}
			if _, _, err := s.DeleteRegistration(bg, r.ID); err != nil {
				t.Errorf("DeleteRegistration(%q) inside Registrations: %v", r.ID, err)
			}
			return true
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Registrations: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Registrations deadlocked when fn called the store")
	}
	if n, _ := s.CountRegistrations(bg); n != 0 {
		t.Fatalf("CountRegistrations = %d after deleting every one, want 0", n)
	}
}

func testCount(t *testing.T, s store.Store) {
	count := func(want int) {
		t.Helper()
		n, err := s.CountRegistrations(bg)
		if err != nil || n != want {
			t.Fatalf("CountRegistrations = %d, %v; want %d", n, err, want)
		}
	}
	count(0)
	put(t, s, NewRegistration("a", "ep1"))
	put(t, s, NewRegistration("b", "ep2"))
	put(t, s, NewRegistration("c", "ep3"))
	count(3)
	put(t, s, NewRegistration("a", "ep1")) // update
	count(3)
	put(t, s, NewRegistration("d", "ep2")) // replaces b
	count(3)
	if _, _, err := s.DeleteRegistration(bg, "c"); err != nil {
		t.Fatal(err)
	}
	count(2)
}

func testReturnedValuesUnchanged(t *testing.T, s store.Store) {
	r := NewRegistration("r", "ep")
	put(t, s, r)
	o := NewObservation("tok", r)
	putObs(t, s, o)
	gotR := get(t, s, "r")
	gotO, err := s.Observation(bg, "tok")
	if err != nil {
		t.Fatal(err)
	}
	obsOf, err := s.ObservationsOf(bg, "r")
	if err != nil {
		t.Fatal(err)
	}

	upd := NewRegistration("r", "ep")
	upd.Lifetime, upd.Binding, upd.Objects[0].Instances[0] = 60, "UQ", 9
	upd.ContentFormats[0] = 60
	put(t, s, upd)
	o2 := NewObservation("tok", r, "/5/0/3")
	putObs(t, s, o2)
	replaced := put(t, s, NewRegistration("other", "ep"))

	wantRegistration(t, "value returned before the update", gotR, r)
	wantObservation(t, "observation returned before it was replaced", gotO, o)
	wantObservation(t, "ObservationsOf before the replace", obsOf[0], o)
	wantRegistration(t, "replaced", replaced, upd)
	if _, _, err := s.DeleteRegistration(bg, "other"); err != nil {
		t.Fatal(err)
	}
	wantRegistration(t, "replaced, after the delete", replaced, upd)
}

func testKeepsOwnCopy(t *testing.T, s store.Store) {
	r := NewRegistration("r", "ep")
	want := r.Clone()
	put(t, s, r)
	r.Lifetime = 1
	r.Objects[0].Instances[0] = 99
	r.Objects[1] = link.Object{ID: 42}
	r.ContentFormats[0] = 0
	wantRegistration(t, "after the caller changed what it put", get(t, s, "r"), want)

	o := NewObservation("tok", want, "/3/0/1", "/3/0/2")
	wantO := o.Clone()
	putObs(t, s, o)
	o.Paths[0] = model.MustPath("/1/2/3")
	o.Format = 1
	got, err := s.Observation(bg, "tok")
	if err != nil {
		t.Fatal(err)
	}
	wantObservation(t, "after the caller changed what it put", got, wantO)
}

func testCloneIsDeep(t *testing.T, s store.Store) {
	r := NewRegistration("r", "ep")
	put(t, s, r)
	put(t, s, NewRegistration("r2", "ep2")) // another user of the same layout
	c := get(t, s, "r").Clone()
	c.Objects[0].Instances[0] = 77
	c.Objects[0].Instances = append(c.Objects[0].Instances, 78)
	c.Objects[3].Version = model.V1_2
	c.Objects = append(c.Objects, link.Object{ID: 9})
	c.ContentFormats[1] = 0
	c.Endpoint = "changed"
	wantRegistration(t, "after changing a clone", get(t, s, "r"), r)
	wantRegistration(t, "another registration with the same objects", get(t, s, "r2"), NewRegistration("r2", "ep2"))

	// A changed clone puts as a new value.
	put(t, s, c)
	wantRegistration(t, "the changed clone put back", get(t, s, "r"), c)
	wantRegistration(t, "the other registration", get(t, s, "r2"), NewRegistration("r2", "ep2"))

	o := NewObservation("tok", r, "/3/0/1", "/3/0/2")
	putObs(t, s, o)
	got, _ := s.Observation(bg, "tok")
	oc := got.Clone()
	oc.Paths[0] = model.MustPath("/4")
	got, _ = s.Observation(bg, "tok")
	wantObservation(t, "after changing a clone", got, o)

	if (*store.Registration)(nil).Clone() != nil || (*store.Observation)(nil).Clone() != nil {
		t.Fatal("Clone of nil is not nil")
	}
}

func testInvalidInput(t *testing.T, s store.Store) {
	r := NewRegistration("r", "ep")
	put(t, s, r)
	tests := []struct {
		name string
		call func() error
	}{
		{"registration without id", func() error {
			_, err := s.PutRegistration(bg, NewRegistration("", "ep-x"))
			return err
		}},
		{"registration without endpoint", func() error {
			_, err := s.PutRegistration(bg, NewRegistration("x", ""))
			return err
		}},
		{"observation without token", func() error { return s.PutObservation(bg, NewObservation("", r)) }},
		{"observation without registration", func() error {
			o := NewObservation("tok", r)
			o.RegistrationID = ""
			return s.PutObservation(bg, o)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, model.ErrBadRequest) {
				t.Fatalf("error %v, want one matching model.ErrBadRequest", err)
			}
		})
	}
	if n, _ := s.CountRegistrations(bg); n != 1 {
		t.Fatalf("CountRegistrations = %d after refused puts, want 1", n)
	}
	wantTokens(t, s, "r")
}

func testContextDone(t *testing.T, s store.Store) {
	r := NewRegistration("r", "ep")
	put(t, s, r)
	putObs(t, s, NewObservation("tok", r))
	ctx, cancel := context.WithCancel(bg)
	cancel()
	tests := []struct {
		name string
		call func() error
	}{
		{"PutRegistration", func() error { _, err := s.PutRegistration(ctx, NewRegistration("new", "ep-new")); return err }},
		{"DeleteRegistration", func() error { _, _, err := s.DeleteRegistration(ctx, "r"); return err }},
		{"Registration", func() error { _, err := s.Registration(ctx, "r"); return err }},
		{"RegistrationByEndpoint", func() error { _, err := s.RegistrationByEndpoint(ctx, "ep"); return err }},
		{"Registrations", func() error {
			return s.Registrations(ctx, func(*store.Registration) bool { return true })
		}},
		{"CountRegistrations", func() error { _, err := s.CountRegistrations(ctx); return err }},
		{"PutObservation", func() error { return s.PutObservation(ctx, NewObservation("tok2", r)) }},
		{"DeleteObservation", func() error { _, err := s.DeleteObservation(ctx, "tok"); return err }},
		{"Observation", func() error { _, err := s.Observation(ctx, "tok"); return err }},
		{"ObservationsOf", func() error { _, err := s.ObservationsOf(ctx, "r"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, context.Canceled) {
				t.Fatalf("error %v, want one matching context.Canceled", err)
			}
		})
	}
	_, err := s.Registration(bg, "new")
	wantNotFound(t, "registration put with a done context", err)
	wantRegistration(t, "registration deleted with a done context", get(t, s, "r"), r)
	wantTokens(t, s, "r", "tok")
}

func testClosed(t *testing.T, s store.Store) {
	r := NewRegistration("r", "ep")
	put(t, s, r)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"PutRegistration", func() error { _, err := s.PutRegistration(bg, NewRegistration("new", "ep-new")); return err }},
		{"DeleteRegistration", func() error { _, _, err := s.DeleteRegistration(bg, "r"); return err }},
		{"Registration", func() error { _, err := s.Registration(bg, "r"); return err }},
		{"RegistrationByEndpoint", func() error { _, err := s.RegistrationByEndpoint(bg, "ep"); return err }},
		{"Registrations", func() error {
			return s.Registrations(bg, func(*store.Registration) bool { return true })
		}},
		{"CountRegistrations", func() error { _, err := s.CountRegistrations(bg); return err }},
		{"PutObservation", func() error { return s.PutObservation(bg, NewObservation("tok", r)) }},
		{"DeleteObservation", func() error { _, err := s.DeleteObservation(bg, "tok"); return err }},
		{"Observation", func() error { _, err := s.Observation(bg, "tok"); return err }},
		{"ObservationsOf", func() error { _, err := s.ObservationsOf(bg, "r"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, store.ErrClosed) {
				t.Fatalf("error %v, want one matching store.ErrClosed", err)
			}
		})
	}
	// Run closes the store again: that must be harmless.
}

// testConcurrent has many goroutines put, update, replace and delete
// registrations and observations, over endpoints and tokens that collide,
// while others read and iterate; then it checks that the store is
// consistent. Run it with -race.
func testConcurrent(t *testing.T, s store.Store) {
	const (
		writers = 16
		rounds  = 40
		shared  = 4 // endpoints every writer fights over
	)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allTokens := make(map[string]bool)
	stop := make(chan struct{})
	errc := make(chan error, writers+2)
	report := func(err error) {
		select {
		case errc <- err:
		default: // one error per goroutine is enough to fail
		}
	}
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				var r *store.Registration
				switch i % 4 {
				case 0, 1: // a registration of its own, new or updated
					r = NewRegistration(fmt.Sprintf("g%d-r%d", g, i%8), fmt.Sprintf("g%d-ep%d", g, i%3))
				case 2: // a contended endpoint
					r = NewRegistration(fmt.Sprintf("g%d-r%d", g, i), fmt.Sprintf("shared-%d", i%shared))
				case 3: // a contended ID
					r = NewRegistration(fmt.Sprintf("shared-r%d", i%shared), fmt.Sprintf("g%d-ep%d", g, i))
				}
				r.Lifetime = uint32(g*1000 + i)
				if _, err := s.PutRegistration(bg, r); err != nil {
					report(fmt.Errorf("PutRegistration: %w", err))
					return
				}
				tok := fmt.Sprintf("g%d-t%d", g, i%6)
				if i%5 == 0 {
					tok = fmt.Sprintf("shared-t%d", i%3)
				}
				mu.Lock()
				allTokens[tok] = true
				mu.Unlock()
				// The registration may have been replaced meanwhile.
				if err := s.PutObservation(bg, NewObservation(tok, r)); err != nil && !errors.Is(err, model.ErrNotFound) {
					report(fmt.Errorf("PutObservation: %w", err))
					return
				}
				switch i % 7 {
				case 3:
					if _, _, err := s.DeleteRegistration(bg, r.ID); err != nil && !errors.Is(err, model.ErrNotFound) {
						report(fmt.Errorf("DeleteRegistration: %w", err))
						return
					}
				case 5:
					if _, err := s.DeleteObservation(bg, tok); err != nil && !errors.Is(err, model.ErrNotFound) {
						report(fmt.Errorf("DeleteObservation: %w", err))
						return
					}
				}
			}
		}()
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond): // leave the CPU to the writers
				}
				err := s.Registrations(bg, func(r *store.Registration) bool {
					if r.ID == "" || r.Endpoint == "" {
						report(fmt.Errorf("Registrations gave an empty registration"))
						return false
					}
					if _, err := s.ObservationsOf(bg, r.ID); err != nil {
						report(err)
						return false
					}
					return true
				})
				if err != nil {
					report(err)
					return
				}
				if _, err := s.RegistrationByEndpoint(bg, "shared-0"); err != nil && !errors.Is(err, model.ErrNotFound) {
					report(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}

	// The store is consistent.
	n, err := s.CountRegistrations(bg)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	eps := make(map[string]string)
	err = s.Registrations(bg, func(r *store.Registration) bool {
		seen++
		if other, dup := eps[r.Endpoint]; dup {
			t.Errorf("endpoint %q held by %q and %q", r.Endpoint, other, r.ID)
		}
		eps[r.Endpoint] = r.ID
		if byEP, err := s.RegistrationByEndpoint(bg, r.Endpoint); err != nil || byEP.ID != r.ID {
			t.Errorf("RegistrationByEndpoint(%q) = %v, %v; want %q", r.Endpoint, byEP, err, r.ID)
		}
		obs, err := s.ObservationsOf(bg, r.ID)
		if err != nil {
			t.Errorf("ObservationsOf(%q): %v", r.ID, err)
		}
		for _, o := range obs {
			if got, err := s.Observation(bg, o.Token); err != nil || got.RegistrationID != r.ID {
				t.Errorf("Observation(%x) = %v, %v; want one of %q", o.Token, got, err, r.ID)
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != n {
		t.Fatalf("CountRegistrations = %d, Registrations visited %d", n, seen)
	}
	for tok := range allTokens {
		o, err := s.Observation(bg, tok)
		if errors.Is(err, model.ErrNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Registration(bg, o.RegistrationID); err != nil {
			t.Errorf("observation %x belongs to registration %q: %v", tok, o.RegistrationID, err)
		}
		list, _ := s.ObservationsOf(bg, o.RegistrationID)
		if !slices.Contains(tokens(list), tok) {
			t.Errorf("observation %x is missing from ObservationsOf(%q)", tok, o.RegistrationID)
		}
	}
}
