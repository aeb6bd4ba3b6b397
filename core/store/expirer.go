package store

import (
	"context"
	"time"
)

// Expirer is a Store that several servers share (a Redis, say): it knows
// which registrations lapsed, whichever server made them, so that a
// registration made on one server expires on another, even when the first
// is gone. core/server polls a store that implements it (besides its own
// expiry queue, which covers the registrations it tracks) and removes what
// it lists with DeleteExpired.
//
// Implementations are safe for concurrent use, also by several processes.
// A store that cannot list lapsed registrations after all (a storage
// plugin of an older ABI) answers 5.01 (model.ErrNotImplemented) from
// both methods, and the server then relies on its own queue.
type Expirer interface {
	// Expired returns the ids of at most limit registrations whose
	// lifetime (ExpiresAt) ended before before, earliest first. Its cost
	// follows what it returns, not the number of registrations: no scan.
	Expired(ctx context.Context, before time.Time, limit int) ([]string, error)
	// DeleteExpired removes registration id and its observations, as
	// DeleteRegistration does, only if its lifetime still ended before
	// before, in one atomic step: model.ErrNotFound (4.04) if it is
	// absent or no longer lapsed (its device updated it meanwhile). Of
	// several servers expiring the same registration at once, exactly one
	// removes it: the one that emits the expiry.
	DeleteExpired(ctx context.Context, id string, before time.Time) (*Registration, []*Observation, error)
}
