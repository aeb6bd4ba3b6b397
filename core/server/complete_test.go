package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server/servertest"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// With the file store, a Register is answered once it is durable, from
// completeLoop, and read off the socket inline: many at once all get
// their 2.01 and their events, and are tracked by address.
func TestRegisterGroupCommitted(t *testing.T) {
	st, err := store.OpenFile(t.TempDir()+"/store.log", store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, Config{Store: st, Security: store.NewSecurity(st)})
	if s.inlineRegister() == nil {
		t.Fatal("Registers are not served inline with the file store")
	}
	sub := s.Subscribe(SubscribeOptions{Types: []EventType{EventRegistered}, Buffer: 256})
	const n = 40
	devices := make([]*servertest.Device, n)
	for i := range devices {
		devices[i] = newDevice(t, s, fmt.Sprintf("gc-%d", i), nil)
	}
	var wg sync.WaitGroup
	for _, d := range devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.Register(ctxT(t)); err != nil {
				t.Errorf("register: %v", err)
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for range n {
		seen[next(t, sub, EventRegistered).Registration.Endpoint] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct Registered events, want %d", len(seen), n)
	}
	for _, d := range devices {
		r, err := s.Registration(ctxT(t), d.Endpoint())
		if err != nil {
			t.Fatal(err)
		}
		if "/rd/"+r.ID != d.Location() {
			t.Fatalf("%s registered as %s, told %s", d.Endpoint(), r.ID, d.Location())
		}
		s.mu.Lock()
		byAddr := s.byAddr[d.Addr()]
		s.mu.Unlock()
		if byAddr != r.ID {
			t.Fatalf("%s not tracked by address", d.Endpoint())
		}
	}
	if _, err := s.Read(ctxT(t), "gc-0", mustPath("/3/0/0")); err != nil {
		t.Fatal(err)
	}
	// A re-Register replaces the old registration, which the event names.
	old := devices[1].Location()
	if err := devices[1].Register(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	e := next(t, sub, EventRegistered)
	if e.Previous == nil || "/rd/"+e.Previous.ID != old || devices[1].Location() == old {
		t.Fatalf("re-Register: previous %+v, location %s (was %s)", e.Previous, devices[1].Location(), old)
	}
	if _, err := s.store.Registration(ctxT(t), old[len("/rd/"):]); !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("the replaced registration is still stored: %v", err)
	}
	// An endpoint with credentials may still not register without DTLS.
	if err := s.cfg.Security.PutCredential(ctxT(t), &store.Credential{Endpoint: "locked", PSKIdentity: "id", PSK: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	var me *model.Error
	if err := newDevice(t, s, "locked", nil).Register(ctxT(t)); !errors.As(err, &me) || me.Code != model.Forbidden {
		t.Fatalf("NoSec Register of an endpoint with credentials: %v", err)
	}
}

// asyncStore is a Memory that claims to commit in groups, failing on
// demand. It is not local: its Registers are not served inline.
type asyncStore struct {
	*store.Memory
	refuse, fail error
}

func (a *asyncStore) PutRegistrationAsync(ctx context.Context, r *store.Registration, done func(*store.Registration, error)) error {
	if a.refuse != nil {
		return a.refuse
	}
	if a.fail != nil {
		go done(nil, a.fail)
		return nil
	}
	replaced, err := a.PutRegistration(ctx, r)
	go done(replaced, err)
	return nil
}

// A store that refuses the change, or fails to write it, gets its error
// to the device, and no Registered event.
func TestRegisterGroupCommitFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   *asyncStore
		want model.Code
	}{
		{"refused", &asyncStore{Memory: store.NewMemory(), refuse: store.ErrClosed}, model.ServiceUnavailable},
		{"write failed", &asyncStore{Memory: store.NewMemory(), fail: errors.New("disk on fire")}, model.InternalServerError},
		{"ok", &asyncStore{Memory: store.NewMemory()}, model.Created},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, Config{Store: tc.st})
			if s.inlineRegister() != nil {
				t.Fatal("a store that is not local is served inline")
			}
			sub := s.Subscribe(SubscribeOptions{Types: []EventType{EventRegistered}})
			err := newDevice(t, s, "dev", nil).Register(ctxT(t))
			if tc.want == model.Created {
				if err != nil {
					t.Fatal(err)
				}
				next(t, sub, EventRegistered)
				return
			}
			var me *model.Error
			if !errors.As(err, &me) || me.Code != tc.want {
				t.Fatalf("register: %v, want %v", err, tc.want)
			}
			select {
			case e := <-sub.C:
				t.Fatalf("event %v for a failed Register", e.Type)
			default:
			}
		})
	}
}

// Registers are served inline only when nothing they read may block.
func TestInlineRegisterWhenLocal(t *testing.T) {
	file, err := store.OpenFile(t.TempDir()+"/store.log", store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	remote := struct{ store.Security }{store.NewSecurity(store.NewMemory())}
	for _, tc := range []struct {
		name   string
		st     store.Store
		sec    store.Security
		inline bool
	}{
		{"memory store: answers at once anyway", store.NewMemory(), nil, false},
		{"file store", file, nil, true},
		{"file store, local security", file, store.NewSecurity(file), true},
		{"file store, security of a plugin", file, remote, false},
	} {
		s := &Server{store: tc.st, cfg: Config{Security: tc.sec}}
		if got := s.inlineRegister() != nil; got != tc.inline {
			t.Errorf("%s: inline %v, want %v", tc.name, got, tc.inline)
		}
	}
}

func TestIsRegister(t *testing.T) {
	msg := func(code model.Code, path string) *transport.Message {
		m := &transport.Message{Code: code}
		m.SetPath(path)
		return m
	}
	for _, tc := range []struct {
		m    *transport.Message
		want bool
	}{
		{msg(transport.POST, "/rd"), true},
		{msg(transport.POST, "/rd/abc"), false},
		{msg(transport.POST, "/dp"), false},
		{msg(transport.POST, "/"), false},
		{msg(transport.GET, "/rd"), false},
		{msg(transport.DELETE, "/rd"), false},
	} {
		if got := isRegister(tc.m); got != tc.want {
			t.Errorf("isRegister(%v) = %v", tc.m, got)
		}
	}
}
