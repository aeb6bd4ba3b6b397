package store

import (
	"context"
	"slices"
	"sync"
)

// Memory is a Store that keeps everything in memory and loses it on exit.
// Reads share one read lock and never copy; mutations take the write lock
// for a few map operations.
type Memory struct {
	indexed
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory.
func NewMemory() *Memory {
	return &Memory{indexed{ix: newIndex()}}
}

// PutRegistration implements Store.
func (m *Memory) PutRegistration(ctx context.Context, r *Registration) (*Registration, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkRegistration(r); err != nil {
		return nil, err
	}
	own := ownRegistration(r)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	m.ix.shareOwn(own)
	_, replaced, _ := m.ix.putRegistration(own)
	return replaced, nil
}

// DeleteRegistration implements Store.
func (m *Memory) DeleteRegistration(ctx context.Context, id string) (*Registration, []*Observation, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, nil, ErrClosed
	}
	r := m.ix.regs[id]
	if r == nil {
		return nil, nil, notFoundRegistration(id)
	}
	return r, m.ix.removeRegistration(r), nil
}

// PutObservation implements Store.
func (m *Memory) PutObservation(ctx context.Context, o *Observation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkObservation(o); err != nil {
		return err
	}
	own := ownObservation(o)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	_, err := m.ix.putObservation(own)
	return err
}

// DeleteObservation implements Store.
func (m *Memory) DeleteObservation(ctx context.Context, token string) (*Observation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if o := m.ix.deleteObservation(token); o != nil {
		return o, nil
	}
	return nil, notFoundObservation(token)
}

// Close implements Store. It drops the data, so that a closed Memory holds
// no memory.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.ix = index{}
	return nil
}

// indexed is an index behind a read-write lock, and the read side of
// Store over it, which Memory and File share. Reads take the read lock
// and fail with ErrClosed once Close has set closed.
type indexed struct {
	mu     sync.RWMutex
	ix     index
	closed bool
}

// rlock takes the read lock of an open store for a context not done; the
// caller releases it with s.mu.RUnlock. On error it holds no lock.
func (s *indexed) rlock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// Registration implements Store for Memory and File.
func (s *indexed) Registration(ctx context.Context, id string) (*Registration, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	if r := s.ix.regs[id]; r != nil {
		return r, nil
	}
	return nil, notFoundRegistration(id)
}

// RegistrationByEndpoint implements Store for Memory and File.
func (s *indexed) RegistrationByEndpoint(ctx context.Context, ep string) (*Registration, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	if r := s.ix.byEP[ep]; r != nil {
		return r, nil
	}
	return nil, notFoundEndpoint(ep)
}

// Registrations implements Store for Memory and File. It copies the list
// of registrations (a pointer each) under the read lock and calls fn
// without holding it.
func (s *indexed) Registrations(ctx context.Context, fn func(*Registration) bool) error {
	if err := s.rlock(ctx); err != nil {
		return err
	}
	list := s.ix.registrationList()
	s.mu.RUnlock()
	return iterate(ctx, list, fn)
}

// CountRegistrations implements Store for Memory and File.
func (s *indexed) CountRegistrations(ctx context.Context) (int, error) {
	if err := s.rlock(ctx); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	return len(s.ix.regs), nil
}

// Observation implements Store for Memory and File.
func (s *indexed) Observation(ctx context.Context, token string) (*Observation, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	if o := s.ix.obs[token]; o != nil {
		return o, nil
	}
	return nil, notFoundObservation(token)
}

// ObservationsOf implements Store for Memory and File.
func (s *indexed) ObservationsOf(ctx context.Context, registrationID string) ([]*Observation, error) {
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	return slices.Clone(s.ix.obsOf[registrationID]), nil
}
