package process

import (
	"context"
	"slices"
	"strings"

	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

// StoreKV is a Store with a key-value space, as store.Memory and
// store.File are.
type StoreKV interface {
	store.Store
	store.KV
}

// StorageOf returns s as the storage of a process plugin, in the ABI's
// messages: what serves a built-in store (memory, file) as a process
// plugin, and the in-process side of the benchmarks. Closing it closes s.
//
// Registrations pages by registration id: each page visits every
// registration and sorts what follows the cursor, which is fine for the
// built-in stores' sizes in tests, not for a fleet.
func StorageOf(s StoreKV) procplugin.Storage { return storage{s} }

type storage struct{ s StoreKV }

func (st storage) Close() error { return st.s.Close() }

func (st storage) PutRegistration(ctx context.Context, m *abi.Registration) (*abi.Registration, error) {
	r, err := RegistrationModel(m)
	if err != nil {
		return nil, err
	}
	old, err := st.s.PutRegistration(ctx, r)
	return RegistrationOf(old), err
}

func (st storage) DeleteRegistration(ctx context.Context, id string) (*abi.Registration, []abi.Observation, error) {
	r, obs, err := st.s.DeleteRegistration(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return RegistrationOf(r), observationsOf(obs), nil
}

func observationsOf(obs []*store.Observation) []abi.Observation {
	if len(obs) == 0 {
		return nil
	}
	out := make([]abi.Observation, len(obs))
	for i, o := range obs {
		out[i] = *ObservationOf(o)
	}
	return out
}

func (st storage) Registration(ctx context.Context, id string) (*abi.Registration, error) {
	r, err := st.s.Registration(ctx, id)
	return RegistrationOf(r), err
}

func (st storage) RegistrationByEndpoint(ctx context.Context, ep string) (*abi.Registration, error) {
	r, err := st.s.RegistrationByEndpoint(ctx, ep)
	return RegistrationOf(r), err
}

func (st storage) Registrations(ctx context.Context, cursor string, limit int) ([]abi.Registration, string, error) {
	var all []*store.Registration
	err := st.s.Registrations(ctx, func(r *store.Registration) bool {
		if r.ID > cursor {
			all = append(all, r)
		}
		return true
	})
	if err != nil {
		return nil, "", err
	}
	slices.SortFunc(all, func(a, b *store.Registration) int { return strings.Compare(a.ID, b.ID) })
	next := ""
	if len(all) > limit {
		all = all[:limit]
		next = all[limit-1].ID
	}
	out := make([]abi.Registration, len(all))
	for i, r := range all {
		out[i] = *RegistrationOf(r)
	}
	return out, next, nil
}

func (st storage) CountRegistrations(ctx context.Context) (int, error) {
	return st.s.CountRegistrations(ctx)
}

func (st storage) PutObservation(ctx context.Context, m *abi.Observation) error {
	o, err := ObservationModel(m)
	if err != nil {
		return err
	}
	return st.s.PutObservation(ctx, o)
}

func (st storage) DeleteObservation(ctx context.Context, token []byte) (*abi.Observation, error) {
	o, err := st.s.DeleteObservation(ctx, string(token))
	return ObservationOf(o), err
}

func (st storage) Observation(ctx context.Context, token []byte) (*abi.Observation, error) {
	o, err := st.s.Observation(ctx, string(token))
	return ObservationOf(o), err
}

func (st storage) ObservationsOf(ctx context.Context, id string) ([]abi.Observation, error) {
	obs, err := st.s.ObservationsOf(ctx, id)
	return observationsOf(obs), err
}

func (st storage) KVGet(ctx context.Context, ns, key string) ([]byte, error) {
	return st.s.KVGet(ctx, ns, key)
}

func (st storage) KVPut(ctx context.Context, ns, key string, value []byte) error {
	return st.s.KVPut(ctx, ns, key, value)
}

func (st storage) KVDelete(ctx context.Context, ns, key string) error {
	return st.s.KVDelete(ctx, ns, key)
}

func (st storage) KVList(ctx context.Context, ns, prefix, after string, limit int) ([]string, bool, error) {
	return st.s.KVList(ctx, ns, prefix, after, limit)
}
