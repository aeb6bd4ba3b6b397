package store

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
)

// Registration is one device's registration as the server keeps it (Core
// 1.1 section 6.2.1).
//
// A store keeps empty slices as nil and strips the monotonic clock reading
// of times, and a File gives them back in UTC: compare times with
// time.Equal.
type Registration struct {
	ID             string         // location id, /rd/<ID>; unique
	Endpoint       string         // ep=; unique among registrations
	Lifetime       uint32         // lt= seconds
	Version        model.Version  // lwm2m=
	Binding        string         // b= ("U", "UQ", "N", "T", "S", combinations)
	Queue          bool           // Q (1.1) or UQ binding (1.0)
	SMS            string         // sms=
	Address        netip.AddrPort // where the device talks from (the server sends there)
	RootPath       string         // "/" or the alternate path
	Objects        []link.Object  // objects, versions, instances
	ContentFormats []uint16       // ct= of the root link
	RegisteredAt   time.Time
	UpdatedAt      time.Time // last Register or Update
	Secure         bool      // over DTLS
	Identity       string    // the DTLS identity it authenticated with ("" for NoSec)
}

// Clone returns a deep copy of r, which the caller may change without
// touching r: its Objects (with their Instances) and ContentFormats are
// copies. Clone of nil is nil.
func (r *Registration) Clone() *Registration {
	if r == nil {
		return nil
	}
	c := *r
	c.Objects = cloneObjects(r.Objects)
	c.ContentFormats = slices.Clone(r.ContentFormats)
	return &c
}

// ExpiresAt returns when the registration lapses unless the device updates
// it: UpdatedAt plus Lifetime seconds (Core 1.1 section 6.2.1).
func (r *Registration) ExpiresAt() time.Time {
	return r.UpdatedAt.Add(time.Duration(r.Lifetime) * time.Second)
}

// cloneObjects copies objs and all their instances with two allocations,
// keeping nil slices nil. Each copied Instances slice has its capacity cut
// to its length, so that appending to one cannot write over the next.
func cloneObjects(objs []link.Object) []link.Object {
	if objs == nil {
		return nil
	}
	out := make([]link.Object, len(objs))
	n := 0
	for _, o := range objs {
		n += len(o.Instances)
	}
	var insts []uint16
	if n > 0 {
		insts = make([]uint16, 0, n)
	}
	for i, o := range objs {
		out[i] = o
		if o.Instances != nil {
			start := len(insts)
			insts = append(insts, o.Instances...)
			out[i].Instances = insts[start:len(insts):len(insts)]
		}
	}
	return out
}

// Observation is an observation the server started (Core 1.1 section
// 6.4.1); the token is how a notification finds it.
type Observation struct {
	Token          string       // the CoAP token, as bytes in a string
	RegistrationID string       // the registration it belongs to
	Endpoint       string       // the endpoint of that registration
	Paths          []model.Path // one path, or several for Observe-Composite
	Composite      bool         // started by Observe-Composite (Core 1.1 section 6.4.3)
	Format         uint16       // the content format asked for (Accept), 0xffff for none
	CreatedAt      time.Time
}

// NoFormat is the Observation.Format of an observation that asked for no
// particular content format.
const NoFormat = 0xffff

// Clone returns a deep copy of o. Clone of nil is nil.
func (o *Observation) Clone() *Observation {
	if o == nil {
		return nil
	}
	c := *o
	c.Paths = slices.Clone(o.Paths)
	return &c
}

// Store keeps registrations and observations.
//
// Implementations are safe for concurrent use. Every mutating method
// returns only once the change is durable for a durable store (after the
// fsync of the group commit that carried it): what a caller acknowledges to
// a device is never lost. A mutating method that fails may still have made
// its change when the failure came after the change was handed to storage
// (a context that ended while waiting for the commit, a failed write).
//
// Returned values are shared and immutable: callers Clone before changing
// one. A store never changes a value it has returned, and keeps its own
// copy of what it is given, so a caller may reuse a value it passed in.
//
// Every method called with a context that is already done returns an error
// wrapping the context's error and changes nothing. Every method called
// after Close returns an error wrapping ErrClosed. Not-found errors are
// 4.04 (errors.Is(err, model.ErrNotFound)); a registration without an ID or
// an endpoint, or an observation without a token or a registration ID, is
// refused with a 4.00.
//
// Lifecycle: open (NewMemory, OpenFile, or a plugin's constructor), use
// from any number of goroutines, Close once every call has returned.
type Store interface {
	// PutRegistration inserts r, or replaces the registration with r.ID,
	// keeping that one's observations. If another registration holds
	// r.Endpoint, it is removed in the same step, with its observations,
	// and returned (a re-Register from the same endpoint replaces the old
	// registration).
	PutRegistration(ctx context.Context, r *Registration) (replaced *Registration, err error)
	// DeleteRegistration removes registration id and its observations and
	// returns them; model.ErrNotFound (4.04) if absent.
	DeleteRegistration(ctx context.Context, id string) (*Registration, []*Observation, error)
	// Registration returns registration id; model.ErrNotFound if absent.
	Registration(ctx context.Context, id string) (*Registration, error)
	// RegistrationByEndpoint returns the registration of endpoint ep;
	// model.ErrNotFound if absent.
	RegistrationByEndpoint(ctx context.Context, ep string) (*Registration, error)
	// Registrations calls fn with every registration, in no particular
	// order, until fn returns false. fn may call the store. A registration
	// put or deleted while Registrations runs may or may not be seen.
	Registrations(ctx context.Context, fn func(*Registration) bool) error
	// CountRegistrations returns the number of registrations.
	CountRegistrations(ctx context.Context) (int, error)
	// PutObservation inserts o, or replaces the observation with o.Token
	// (which may have belonged to another registration). Registration
	// o.RegistrationID must exist, else model.ErrNotFound.
	PutObservation(ctx context.Context, o *Observation) error
	// DeleteObservation removes the observation with token and returns it;
	// model.ErrNotFound if absent.
	DeleteObservation(ctx context.Context, token string) (*Observation, error)
	// Observation returns the observation with token; model.ErrNotFound
	// if absent.
	Observation(ctx context.Context, token string) (*Observation, error)
	// ObservationsOf returns the observations of registration
	// registrationID, in no particular order: none if it has none or does
	// not exist.
	ObservationsOf(ctx context.Context, registrationID string) ([]*Observation, error)
	// Close releases the store. Calls in progress must have returned;
	// Close after Close returns nil.
	Close() error
}
