package procplugin

import (
	"context"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// Storage is a storage backend as a process plugin serves it: core/store's
// Store and KV in the ABI's messages (sdk may not import core/store, and a
// backend that keeps the messages as they are, as plugins/storage/redis
// does, converts nothing). The host's adapter (host/process) makes one a
// core/store.Store again and holds the contract of that interface:
// implementations follow it, in these terms.
//
// Implementations are safe for concurrent use. A mutating method returns
// only once its change is durable. Missing things are 4.04
// (model.ErrNotFound), refused input 4.00, a key or value beyond
// core/store's bounds 4.13. Returned messages are the caller's.
type Storage interface {
	// PutRegistration inserts r or replaces the registration with r.ID;
	// one that held r.Endpoint under another id is removed with its
	// observations and returned.
	PutRegistration(ctx context.Context, r *abi.Registration) (replaced *abi.Registration, err error)
	// DeleteRegistration removes registration id and its observations
	// and returns them.
	DeleteRegistration(ctx context.Context, id string) (*abi.Registration, []abi.Observation, error)
	Registration(ctx context.Context, id string) (*abi.Registration, error)
	RegistrationByEndpoint(ctx context.Context, ep string) (*abi.Registration, error)
	// Registrations returns a page of at most limit registrations from
	// cursor ("" for the first page) and the cursor of the next page (""
	// after the last one).
	Registrations(ctx context.Context, cursor string, limit int) (regs []abi.Registration, next string, err error)
	CountRegistrations(ctx context.Context) (int, error)
	// PutObservation inserts o or replaces the observation of o.Token;
	// 4.04 if registration o.RegistrationID is absent.
	PutObservation(ctx context.Context, o *abi.Observation) error
	DeleteObservation(ctx context.Context, token []byte) (*abi.Observation, error)
	Observation(ctx context.Context, token []byte) (*abi.Observation, error)
	ObservationsOf(ctx context.Context, registrationID string) ([]abi.Observation, error)

	KVGet(ctx context.Context, ns, key string) ([]byte, error)
	KVPut(ctx context.Context, ns, key string, value []byte) error
	KVDelete(ctx context.Context, ns, key string) error
	KVList(ctx context.Context, ns, prefix, after string, limit int) (keys []string, more bool, err error)
}

// Expirer is what a Storage shared by several servers adds (ABI 1.1) so
// that registrations expire whichever server made them: a Storage that
// implements it answers abi.MethodStoreExpired and
// abi.MethodStoreDeleteExpired; StorageHandler answers 5.01 for one that
// does not, and the host then expires registrations on its own.
type Expirer interface {
	// Expired returns the ids of at most limit registrations whose
	// lifetime (UpdatedAtUnixNano plus Lifetime seconds) ended before
	// before, earliest first, without a scan of every registration.
	Expired(ctx context.Context, before time.Time, limit int) ([]string, error)
	// DeleteExpired is DeleteRegistration of a registration whose
	// lifetime still ended before before, in one atomic step: 4.04 if it
	// is absent or no longer lapsed (updated meanwhile), so that of
	// several servers expiring it at once only one removes it.
	DeleteExpired(ctx context.Context, id string, before time.Time) (*abi.Registration, []abi.Observation, error)
}

// MaxExpired bounds the ids one StoreExpired call returns.
const MaxExpired = 10000

// DefaultPage is the page size of Registrations when the host asks for
// none.
const DefaultPage = 500

// StorageHandler returns the Handler of a storage plugin: it answers
// Manifest with m (its kind set to storage and abi_minor to this build's
// when left empty), Start and Stop with nothing, the storage methods
// (abi.MethodStorePutRegistration to abi.MethodStoreKVList) from s, and
// 5.01 to anything else. It refuses, with a 4.00 and before s sees it, a
// request that does not decode, a registration without id or endpoint and
// an observation without token or registration id. When s is an io.Closer,
// so is the handler, and Serve closes s when the plugin stops.
func StorageHandler(m *abi.Manifest, s Storage) Handler {
	man := *m
	if man.Kind == "" {
		man.Kind = string(abi.KindStorage)
	}
	if man.ABIMinor == 0 {
		man.ABIMinor = abi.Minor
	}
	h := &storageHandler{manifest: man.MarshalAppend(nil), s: s}
	if c, ok := s.(interface{ Close() error }); ok {
		return &closingStorageHandler{h, c}
	}
	return h
}

type storageHandler struct {
	manifest []byte
	s        Storage
}

type closingStorageHandler struct {
	*storageHandler
	c interface{ Close() error }
}

func (h *closingStorageHandler) Close() error { return h.c.Close() }

type decoder interface{ Unmarshal([]byte) error }

func decode(m abi.Method, b []byte, v decoder) error {
	if err := v.Unmarshal(b); err != nil {
		return model.Errorf(model.BadRequest, "method %d: %v", m, err)
	}
	return nil
}

func encode(v interface {
	Size() int
	MarshalAppend([]byte) []byte
}) []byte {
	return v.MarshalAppend(make([]byte, 0, v.Size()))
}

func checkRegistration(r *abi.Registration) error {
	if r == nil || r.ID == "" || r.Endpoint == "" {
		return model.Errorf(model.BadRequest, "registration without id or endpoint")
	}
	return nil
}

func checkObservation(o *abi.Observation) error {
	if o == nil || len(o.Token) == 0 || o.RegistrationID == "" {
		return model.Errorf(model.BadRequest, "observation without token or registration id")
	}
	return nil
}

func (h *storageHandler) expiry(ctx context.Context, m abi.Method, b []byte) ([]byte, error) {
	e, ok := h.s.(Expirer)
	if !ok {
		return nil, model.Errorf(model.NotImplemented, "method %d: this storage does not list expired registrations", m)
	}
	if m == abi.MethodStoreExpired {
		var req abi.StoreExpiredRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		limit := int(req.Limit)
		if limit <= 0 || limit > MaxExpired {
			limit = MaxExpired
		}
		ids, err := e.Expired(ctx, time.Unix(0, req.BeforeUnixNano), limit)
		if err != nil {
			return nil, err
		}
		return encode(&abi.StoreExpiredResponse{IDs: ids}), nil
	}
	var req abi.StoreDeleteExpiredRequest
	if err := decode(m, b, &req); err != nil {
		return nil, err
	}
	if req.ID == "" {
		return nil, model.Errorf(model.BadRequest, "delete expired: no id")
	}
	r, obs, err := e.DeleteExpired(ctx, req.ID, time.Unix(0, req.BeforeUnixNano))
	if err != nil {
		return nil, err
	}
	return encode(&abi.StoreDeleteExpiredResponse{Registration: r, Observations: obs}), nil
}

func (h *storageHandler) Call(ctx context.Context, m abi.Method, b []byte) ([]byte, error) {
	s := h.s
	switch m {
	case abi.MethodManifest:
		return h.manifest, nil
	case abi.MethodStart, abi.MethodStop:
		return nil, nil
	case abi.MethodStorePutRegistration:
		var req abi.StorePutRegistrationRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		if err := checkRegistration(req.Registration); err != nil {
			return nil, err
		}
		old, err := s.PutRegistration(ctx, req.Registration)
		if err != nil {
			return nil, err
		}
		return encode(&abi.StorePutRegistrationResponse{Replaced: old}), nil
	case abi.MethodStoreDeleteRegistration:
		var req abi.StoreDeleteRegistrationRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		r, obs, err := s.DeleteRegistration(ctx, req.ID)
		if err != nil {
			return nil, err
		}
		return encode(&abi.StoreDeleteRegistrationResponse{Registration: r, Observations: obs}), nil
	case abi.MethodStoreRegistration:
		var req abi.StoreRegistrationRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		r, err := s.Registration(ctx, req.ID)
		if err != nil {
			return nil, err
		}
		return encode(&abi.StoreRegistrationResponse{Registration: r}), nil
	case abi.MethodStoreRegistrationByEndpoint:
		var req abi.StoreRegistrationByEndpointRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		r, err := s.RegistrationByEndpoint(ctx, req.Endpoint)
		if err != nil {
			return nil, err
		}
		return encode(&abi.StoreRegistrationByEndpointResponse{Registration: r}), nil
	case abi.MethodStoreRegistrations:
		var req abi.StoreRegistrationsRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		limit := int(req.Limit)
		if limit <= 0 {
			limit = DefaultPage
		}
		regs, next, err := s.Registrations(ctx, req.Cursor, limit)
		if err != nil {
			return nil, err
		}
		return encode(&abi.StoreRegistrationsResponse{Registrations: regs, NextCursor: next}), nil
	case abi.MethodStoreCountRegistrations:
		n, err := s.CountRegistrations(ctx)
		if err != nil {
			return nil, err
		}
		return encode(&abi.StoreCountRegistrationsResponse{Count: uint64(n)}), nil
	case abi.MethodStorePutObservation:
		var req abi.StorePutObservationRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		if err := checkObservation(req.Observation); err != nil {
			return nil, err
		}
		return nil, s.PutObservation(ctx, req.Observation)
	case abi.MethodStoreDeleteObservation:
		var req abi.StoreDeleteObservationRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		o, err := s.DeleteObservation(ctx, req.Token)
		if err != nil {
			return nil, err
		}
		return encode(&abi.StoreDeleteObservationResponse{Observation: o}), nil
	case abi.MethodStoreObservation:
		var req abi.StoreObservationRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		o, err := s.Observation(ctx, req.Token)
		if err != nil {
			return nil, err
		}
		return encode(&abi.StoreObservationResponse{Observation: o}), nil
	case abi.MethodStoreObservationsOf:
		var req abi.StoreObservationsOfRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		obs, err := s.ObservationsOf(ctx, req.RegistrationID)
		if err != nil {
			return nil, err
		}
		return encode(&abi.StoreObservationsOfResponse{Observations: obs}), nil
	case abi.MethodStoreKVGet:
		var req abi.StoreKVGetRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		v, err := s.KVGet(ctx, req.Namespace, req.Key)
		if err != nil {
			return nil, err
		}
		return encode(&abi.StoreKVGetResponse{Value: v}), nil
	case abi.MethodStoreKVPut:
		var req abi.StoreKVPutRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		return nil, s.KVPut(ctx, req.Namespace, req.Key, req.Value)
	case abi.MethodStoreKVDelete:
		var req abi.StoreKVDeleteRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		return nil, s.KVDelete(ctx, req.Namespace, req.Key)
	case abi.MethodStoreExpired, abi.MethodStoreDeleteExpired:
		return h.expiry(ctx, m, b)
	case abi.MethodStoreKVList:
		var req abi.StoreKVListRequest
		if err := decode(m, b, &req); err != nil {
			return nil, err
		}
		keys, more, err := s.KVList(ctx, req.Namespace, req.Prefix, req.After, int(req.Limit))
		if err != nil {
			return nil, err
		}
		return encode(&abi.StoreKVListResponse{Keys: keys, More: more}), nil
	}
	return nil, model.Errorf(model.NotImplemented, "method %d: not a storage method", m)
}
