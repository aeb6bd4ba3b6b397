package process

import (
	"context"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

var _ store.Expirer = (*Store)(nil)

// expiryMinor is the ABI minor version that added MethodStoreExpired and
// MethodStoreDeleteExpired: an older plugin is never sent them.
const expiryMinor = 1

// errNoExpiry is the answer for a plugin of an ABI older than expiryMinor.
func errNoExpiry(m abi.Method) error {
	return model.Errorf(model.NotImplemented, "storage plugin: method %d needs ABI 1.%d", m, expiryMinor)
}

// Expired implements store.Expirer (abi.MethodStoreExpired); 5.01 when
// the plugin does not list lapsed registrations.
func (s *Store) Expired(ctx context.Context, before time.Time, limit int) ([]string, error) {
	const m = abi.MethodStoreExpired
	if s.oldABI {
		return nil, errNoExpiry(m)
	}
	if limit <= 0 {
		return nil, nil
	}
	var resp abi.StoreExpiredResponse
	req := &abi.StoreExpiredRequest{BeforeUnixNano: before.UnixNano(), Limit: uint32(min(int64(limit), 1<<31))}
	if err := s.call(ctx, m, req, &resp); err != nil {
		return nil, err
	}
	return resp.IDs, nil
}

// DeleteExpired implements store.Expirer (abi.MethodStoreDeleteExpired).
func (s *Store) DeleteExpired(ctx context.Context, id string, before time.Time) (*store.Registration, []*store.Observation, error) {
	const m = abi.MethodStoreDeleteExpired
	if s.oldABI {
		return nil, nil, errNoExpiry(m)
	}
	var resp abi.StoreDeleteExpiredResponse
	if err := s.call(ctx, m, &abi.StoreDeleteExpiredRequest{ID: id, BeforeUnixNano: before.UnixNano()}, &resp); err != nil {
		return nil, nil, err
	}
	r, err := regOf(m, resp.Registration)
	if err != nil {
		return nil, nil, err
	}
	obs, err := obsOf(m, resp.Observations)
	return r, obs, err
}

// manifested is a Caller that knows its manifest (*Plugin).
type manifested interface{ Manifest() *abi.Manifest }
