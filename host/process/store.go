package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"unicode/utf8"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Caller is a plugin reached through ABI v1, carrier-neutral: host/adapter
// declares the same interface. *Plugin is one.
type Caller interface {
	Call(ctx context.Context, m abi.Method, req []byte) ([]byte, error)
}

// Store is a storage plugin as a core/store.Store and store.KV: each
// method is one call of the plugin (abi.MethodStorePutRegistration to
// abi.MethodStoreKVList), but Registrations, which pages through
// abi.MethodStoreRegistrations. It holds the parts of the Store contract
// that need no storage (a done context, a closed store, input to refuse)
// before crossing; the plugin holds the rest, and storetest checks both.
//
// A Store is safe for concurrent use. Close closes the Caller when it is
// an io.Closer (a *Plugin: its process stops).
type Store struct {
	c      Caller
	closed atomic.Bool
	// Page is the number of registrations Registrations asks for at a
	// time; 0: the plugin's default.
	Page int
	// oldABI: the plugin's manifest says an ABI minor older than the
	// expiry methods (expiry.go).
	oldABI bool
}

var (
	_ store.Store = (*Store)(nil)
	_ store.KV    = (*Store)(nil)
)

// NewStore returns the Store of the storage plugin c.
func NewStore(c Caller) *Store {
	s := &Store{c: c}
	if p, ok := c.(manifested); ok && p.Manifest() != nil {
		s.oldABI = p.Manifest().ABIMinor < expiryMinor
	}
	return s
}

type message interface {
	Size() int
	MarshalAppend([]byte) []byte
}

type decodable interface{ Unmarshal([]byte) error }

func (s *Store) call(ctx context.Context, m abi.Method, req message, resp decodable) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	out, err := s.c.Call(ctx, m, req.MarshalAppend(make([]byte, 0, req.Size())))
	if err != nil {
		return err
	}
	if resp != nil {
		if err := resp.Unmarshal(out); err != nil {
			return model.Errorf(model.InternalServerError, "storage plugin: response to method %d: %v", m, err)
		}
	}
	return nil
}

// broke reports a response that makes no sense as a 5.00: the plugin broke
// the contract.
func broke(m abi.Method, err error) error {
	return model.Errorf(model.InternalServerError, "storage plugin: response to method %d: %v", m, err)
}

func regOf(m abi.Method, r *abi.Registration) (*store.Registration, error) {
	out, err := RegistrationModel(r)
	if err != nil {
		return nil, broke(m, err)
	}
	return out, nil
}

func obsOf(m abi.Method, os []abi.Observation) ([]*store.Observation, error) {
	if len(os) == 0 {
		return nil, nil
	}
	out := make([]*store.Observation, len(os))
	for i := range os {
		o, err := ObservationModel(&os[i])
		if err != nil {
			return nil, broke(m, err)
		}
		out[i] = o
	}
	return out, nil
}

// PutRegistration implements store.Store.
func (s *Store) PutRegistration(ctx context.Context, r *store.Registration) (*store.Registration, error) {
	if r == nil || r.ID == "" || r.Endpoint == "" {
		return nil, model.Errorf(model.BadRequest, "store: registration without id or endpoint")
	}
	const m = abi.MethodStorePutRegistration
	var resp abi.StorePutRegistrationResponse
	if err := s.call(ctx, m, &abi.StorePutRegistrationRequest{Registration: RegistrationOf(r)}, &resp); err != nil {
		return nil, err
	}
	if resp.Replaced == nil {
		return nil, nil
	}
	return regOf(m, resp.Replaced)
}

// DeleteRegistration implements store.Store.
func (s *Store) DeleteRegistration(ctx context.Context, id string) (*store.Registration, []*store.Observation, error) {
	const m = abi.MethodStoreDeleteRegistration
	var resp abi.StoreDeleteRegistrationResponse
	if err := s.call(ctx, m, &abi.StoreDeleteRegistrationRequest{ID: id}, &resp); err != nil {
		return nil, nil, err
	}
	r, err := regOf(m, resp.Registration)
	if err != nil {
		return nil, nil, err
	}
	obs, err := obsOf(m, resp.Observations)
	return r, obs, err
}

// Registration implements store.Store.
func (s *Store) Registration(ctx context.Context, id string) (*store.Registration, error) {
	const m = abi.MethodStoreRegistration
	var resp abi.StoreRegistrationResponse
	if err := s.call(ctx, m, &abi.StoreRegistrationRequest{ID: id}, &resp); err != nil {
		return nil, err
	}
	return regOf(m, resp.Registration)
}

// RegistrationByEndpoint implements store.Store.
func (s *Store) RegistrationByEndpoint(ctx context.Context, ep string) (*store.Registration, error) {
	const m = abi.MethodStoreRegistrationByEndpoint
	var resp abi.StoreRegistrationByEndpointResponse
	if err := s.call(ctx, m, &abi.StoreRegistrationByEndpointRequest{Endpoint: ep}, &resp); err != nil {
		return nil, err
	}
	return regOf(m, resp.Registration)
}

// Registrations implements store.Store, a page at a time: fn runs while
// no call is in progress, so it may call the store.
func (s *Store) Registrations(ctx context.Context, fn func(*store.Registration) bool) error {
	const m = abi.MethodStoreRegistrations
	cursor := ""
	for {
		var resp abi.StoreRegistrationsResponse
		if err := s.call(ctx, m, &abi.StoreRegistrationsRequest{Cursor: cursor, Limit: uint32(s.Page)}, &resp); err != nil {
			return err
		}
		for i := range resp.Registrations {
			r, err := regOf(m, &resp.Registrations[i])
			if err != nil {
				return err
			}
			if !fn(r) {
				return nil
			}
		}
		if resp.NextCursor == "" {
			return nil
		}
		if resp.NextCursor == cursor {
			return broke(m, errors.New("the next cursor is the cursor asked for"))
		}
		cursor = resp.NextCursor
	}
}

// CountRegistrations implements store.Store.
func (s *Store) CountRegistrations(ctx context.Context) (int, error) {
	var resp abi.StoreCountRegistrationsResponse
	if err := s.call(ctx, abi.MethodStoreCountRegistrations, &abi.StoreCountRegistrationsRequest{}, &resp); err != nil {
		return 0, err
	}
	return int(resp.Count), nil
}

// PutObservation implements store.Store.
func (s *Store) PutObservation(ctx context.Context, o *store.Observation) error {
	if o == nil || o.Token == "" || o.RegistrationID == "" {
		return model.Errorf(model.BadRequest, "store: observation without token or registration id")
	}
	return s.call(ctx, abi.MethodStorePutObservation, &abi.StorePutObservationRequest{Observation: ObservationOf(o)}, nil)
}

func (s *Store) oneObservation(m abi.Method, o *abi.Observation) (*store.Observation, error) {
	if o == nil {
		return nil, broke(m, errors.New("no observation"))
	}
	out, err := ObservationModel(o)
	if err != nil {
		return nil, broke(m, err)
	}
	return out, nil
}

// DeleteObservation implements store.Store.
func (s *Store) DeleteObservation(ctx context.Context, token string) (*store.Observation, error) {
	const m = abi.MethodStoreDeleteObservation
	var resp abi.StoreDeleteObservationResponse
	if err := s.call(ctx, m, &abi.StoreDeleteObservationRequest{Token: []byte(token)}, &resp); err != nil {
		return nil, err
	}
	return s.oneObservation(m, resp.Observation)
}

// Observation implements store.Store.
func (s *Store) Observation(ctx context.Context, token string) (*store.Observation, error) {
	const m = abi.MethodStoreObservation
	var resp abi.StoreObservationResponse
	if err := s.call(ctx, m, &abi.StoreObservationRequest{Token: []byte(token)}, &resp); err != nil {
		return nil, err
	}
	return s.oneObservation(m, resp.Observation)
}

// ObservationsOf implements store.Store.
func (s *Store) ObservationsOf(ctx context.Context, registrationID string) ([]*store.Observation, error) {
	const m = abi.MethodStoreObservationsOf
	var resp abi.StoreObservationsOfResponse
	if err := s.call(ctx, m, &abi.StoreObservationsOfRequest{RegistrationID: registrationID}, &resp); err != nil {
		return nil, err
	}
	return obsOf(m, resp.Observations)
}

// CheckKV refuses a namespace, key or value outside store.KV's bounds:
// 4.00 for an empty or non-UTF-8 namespace or key, 4.13 beyond the
// lengths. value < 0 skips the value.
func CheckKV(ns, key string, value int) error {
	switch {
	case ns == "" || !utf8.ValidString(ns):
		return model.Errorf(model.BadRequest, "kv: namespace empty or not UTF-8")
	case len(ns) > store.MaxKVNamespace:
		return model.Errorf(model.RequestEntityTooLarge, "kv: namespace of %d bytes, at most %d", len(ns), store.MaxKVNamespace)
	case key == "" || !utf8.ValidString(key):
		return model.Errorf(model.BadRequest, "kv: key empty or not UTF-8")
	case len(key) > store.MaxKVKey:
		return model.Errorf(model.RequestEntityTooLarge, "kv: key of %d bytes, at most %d", len(key), store.MaxKVKey)
	case value > store.MaxKVValue:
		return model.Errorf(model.RequestEntityTooLarge, "kv: value of %d bytes, at most %d", value, store.MaxKVValue)
	}
	return nil
}

// KVGet implements store.KV.
func (s *Store) KVGet(ctx context.Context, ns, key string) ([]byte, error) {
	if err := CheckKV(ns, key, -1); err != nil {
		return nil, err
	}
	var resp abi.StoreKVGetResponse
	if err := s.call(ctx, abi.MethodStoreKVGet, &abi.StoreKVGetRequest{Namespace: ns, Key: key}, &resp); err != nil {
		return nil, err
	}
	if resp.Value == nil {
		return []byte{}, nil
	}
	return resp.Value, nil
}

// KVPut implements store.KV.
func (s *Store) KVPut(ctx context.Context, ns, key string, value []byte) error {
	if err := CheckKV(ns, key, len(value)); err != nil {
		return err
	}
	return s.call(ctx, abi.MethodStoreKVPut, &abi.StoreKVPutRequest{Namespace: ns, Key: key, Value: value}, nil)
}

// KVDelete implements store.KV.
func (s *Store) KVDelete(ctx context.Context, ns, key string) error {
	if err := CheckKV(ns, key, -1); err != nil {
		return err
	}
	return s.call(ctx, abi.MethodStoreKVDelete, &abi.StoreKVDeleteRequest{Namespace: ns, Key: key}, nil)
}

// KVList implements store.KV.
func (s *Store) KVList(ctx context.Context, ns, prefix, after string, limit int) ([]string, bool, error) {
	if err := CheckKV(ns, "k", -1); err != nil {
		return nil, false, err
	}
	if limit <= 0 || limit > store.MaxKVList {
		limit = store.MaxKVList
	}
	var resp abi.StoreKVListResponse
	if err := s.call(ctx, abi.MethodStoreKVList, &abi.StoreKVListRequest{Namespace: ns, Prefix: prefix, After: after, Limit: uint32(limit)}, &resp); err != nil {
		return nil, false, err
	}
	return resp.Keys, resp.More, nil
}

// Close implements store.Store: it closes the Caller if it is an
// io.Closer. Close after Close returns nil.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if c, ok := s.c.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
