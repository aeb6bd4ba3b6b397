package server

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
)

// Expiry on a store shared by several servers (store.Expirer, such as
// storage.redis). Each server's queue only holds the registrations it
// tracks: those it restored at start, or that registered or updated
// through it. A registration made on another server, or on a server that
// died, would never expire here. So a server on an Expirer also polls the
// store, every Config.ExpiryPoll, for registrations that lapsed more than
// ExpiryGrace ago (one call, whose cost follows what it returns), and
// removes each with DeleteExpired, which is atomic in the store: of the
// servers that race to expire a registration, the one whose delete
// removed it emits EventExpired; the others, and a server whose device
// updated it meanwhile, get a 4.04 and emit nothing. Its own queue goes
// through the same delete, so that a registration is expired once across
// the servers, never once per server.

// expiredBatch is how many lapsed registrations one poll asks for; a full
// batch is followed at once by another, up to maxBatches a poll.
const (
	expiredBatch = 1000
	maxBatches   = 100
)

// sharedExpirer returns the store as an Expirer when it implements it and
// can list lapsed registrations (a storage plugin of an older ABI answers
// 5.01).
func (s *Server) sharedExpirer(ctx context.Context) store.Expirer {
	e, ok := s.store.(store.Expirer)
	if !ok {
		return nil
	}
	if _, err := e.Expired(ctx, time.Unix(0, 0), 1); err != nil {
		if errors.Is(err, model.ErrNotImplemented) {
			s.log.Info("the store does not list expired registrations: each server expires the registrations it tracks")
			return nil
		}
		s.log.Warn("list expired registrations", "err", err)
	}
	return e
}

// pollExpired runs until Close: every ExpiryPoll, the registrations the
// shared store lists as lapsed are expired.
func (s *Server) pollExpired() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.ExpiryPoll)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.expireShared()
	}
}

// expireShared expires what the shared store lists as lapsed, a batch at
// a time while batches come back full and every id in them was settled.
func (s *Server) expireShared() {
	ctx := context.Background()
	for range maxBatches {
		ids, err := s.shared.Expired(ctx, s.now().Add(-s.cfg.ExpiryGrace), expiredBatch)
		if err != nil {
			s.log.Warn("list expired registrations", "err", err)
			return
		}
		settled := 0
		for _, id := range ids {
			if s.expireStored(ctx, id) {
				settled++
			}
			select {
			case <-s.stop:
				return
			default:
			}
		}
		if len(ids) < expiredBatch || settled < len(ids) {
			return
		}
	}
}

// expireStored removes registration id if it lapsed more than ExpiryGrace
// ago, through the shared store's atomic delete: it emits EventExpired
// only when its delete removed the registration. A registration updated
// meanwhile is scheduled again; one that is gone (another server expired
// or de-registered it) is forgotten. It reports whether id was settled
// (removed, rescheduled or gone) rather than failed.
func (s *Server) expireStored(ctx context.Context, id string) bool {
	r, _, err := s.shared.DeleteExpired(ctx, id, s.now().Add(-s.cfg.ExpiryGrace))
	if err == nil {
		s.untrack(r)
		s.log.Info("registration expired", "endpoint", r.Endpoint, "registration", r.ID)
		s.emit(Event{Type: EventExpired, Registration: r})
		return true
	}
	if !errors.Is(err, model.ErrNotFound) {
		s.log.Error("expire registration", "registration", id, "err", err)
		return false
	}
	cur, err := s.store.Registration(ctx, id)
	switch {
	case err == nil:
		s.expiry.set(id, cur.ExpiresAt().Add(s.cfg.ExpiryGrace))
	case errors.Is(err, model.ErrNotFound):
		s.drop(id, netip.AddrPort{}, "")
	default:
		return false
	}
	return true
}
