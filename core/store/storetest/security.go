package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
)

// SecurityStore is a store.Security that can be closed: what RunSecurity
// tests.
type SecurityStore interface {
	store.Security
	Close() error
}

// BootstrapStore is a store.Bootstraps that can be closed: what
// RunBootstraps tests.
type BootstrapStore interface {
	store.Bootstraps
	Close() error
}

type securityOverKV struct {
	store.Security
	KVStore
}

func (s securityOverKV) Close() error { return s.KVStore.Close() }

type bootstrapsOverKV struct {
	store.Bootstraps
	KVStore
}

func (s bootstrapsOverKV) Close() error { return s.KVStore.Close() }

// SecurityOverKV returns store.NewSecurity(kv), closed by closing kv.
func SecurityOverKV(kv KVStore) SecurityStore { return securityOverKV{store.NewSecurity(kv), kv} }

// BootstrapsOverKV returns store.NewBootstraps(kv), closed by closing kv.
func BootstrapsOverKV(kv KVStore) BootstrapStore {
	return bootstrapsOverKV{store.NewBootstraps(kv), kv}
}

// RunSecurity runs the conformance suite of store.Security, one subtest
// per rule of its contract. open returns a new, empty store for each
// subtest; RunSecurity closes it.
func RunSecurity(t *testing.T, open func(t *testing.T) SecurityStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s SecurityStore)
	}{
		{"PutAndGet", testCredPutAndGet},
		{"ByPSKIdentity", testCredByPSKIdentity},
		{"Replace", testCredReplace},
		{"Conflict", testCredConflict},
		{"IdentityFreedByDelete", testCredIdentityFreed},
		{"Delete", testCredDelete},
		{"InvalidInput", testCredInvalid},
		{"ListOrder", testCredList},
		{"Copies", testCredCopies},
		{"ContextDone", testCredContextDone},
		{"Concurrent", testCredConcurrent},
		{"Closed", testCredClosed},
		{"Lookup", testCredLookup},
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

// RunBootstraps runs the conformance suite of store.Bootstraps, one
// subtest per rule of its contract. open returns a new, empty store for
// each subtest; RunBootstraps closes it.
func RunBootstraps(t *testing.T, open func(t *testing.T) BootstrapStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s BootstrapStore)
	}{
		{"PutAndGet", testBSPutAndGet},
		{"DeleteDefault", testBSDeleteDefault},
		{"Replace", testBSReplace},
		{"Delete", testBSDelete},
		{"InvalidInput", testBSInvalid},
		{"ListOrder", testBSList},
		{"Copies", testBSCopies},
		{"ContextDone", testBSContextDone},
		{"Concurrent", testBSConcurrent},
		{"Closed", testBSClosed},
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

// NewPSKCredential returns a PSK credential of ep with identity id and a
// 16-byte key derived from both.
func NewPSKCredential(ep, id string) *store.Credential {
	key := make([]byte, 16)
	copy(key, ep+"/"+id)
	key[15] = byte(len(ep))
	return &store.Credential{Endpoint: ep, PSKIdentity: id, PSK: key}
}

// NewBootstrapConfig returns a typical bootstrap configuration of ep: a
// DTLS-PSK account and a NoSec one, two deletes, an ACL.
func NewBootstrapConfig(ep string) *store.BootstrapConfig {
	return &store.BootstrapConfig{
		Endpoint: ep,
		Delete:   []string{"/0", "/1"},
		Servers: []store.ServerAccount{
			{ShortID: 101, URI: "coaps://dm.example.com:5684", Mode: store.ModePSK, PSKIdentity: ep + "-dm", PSK: []byte{1, 2, 3, 4, 5, 6, 7, 8},
				Lifetime: 300, DefaultPmin: 10, DefaultPmax: 60, Binding: "UQ", NotificationStoring: true},
			{ShortID: 102, SecurityInstance: 7, ServerInstance: 3, URI: "coap://[2001:db8::1]:5683", Mode: store.ModeNoSec},
		},
		ACLs: []store.ACL{
			{Instance: 4, ObjectID: 3, ObjectInstance: 0, Rights: map[uint16]uint16{101: 1 | 2 | 4, 0: 1}, Owner: 101},
		},
	}
}

// DiffCredential returns "" if got and want hold the same credential, or
// a description of the first difference.
func DiffCredential(got, want *store.Credential) string {
	switch {
	case got == nil || want == nil:
		if got != want {
			return fmt.Sprintf("credential %v, want %v", got, want)
		}
	case got.Endpoint != want.Endpoint:
		return fmt.Sprintf("Endpoint %q, want %q", got.Endpoint, want.Endpoint)
	case got.PSKIdentity != want.PSKIdentity:
		return fmt.Sprintf("PSKIdentity %q, want %q", got.PSKIdentity, want.PSKIdentity)
	case !bytes.Equal(got.PSK, want.PSK):
		return fmt.Sprintf("PSK %x, want %x", got.PSK, want.PSK)
	case got.X509 != want.X509:
		return fmt.Sprintf("X509 %v, want %v", got.X509, want.X509)
	}
	return ""
}

// DiffBootstrapConfig returns "" if got and want hold the same
// configuration, or a description of the first difference. Delete's nil
// (the default) and empty (delete nothing) differ; an empty list of
// servers or ACLs, or an empty map of rights, is the same as nil.
func DiffBootstrapConfig(got, want *store.BootstrapConfig) string {
	if got == nil || want == nil {
		if got != want {
			return fmt.Sprintf("configuration %v, want %v", got, want)
		}
		return ""
	}
	if got.Endpoint != want.Endpoint {
		return fmt.Sprintf("Endpoint %q, want %q", got.Endpoint, want.Endpoint)
	}
	if (got.Delete == nil) != (want.Delete == nil) || !reflect.DeepEqual(nonNil(got.Delete), nonNil(want.Delete)) {
		return fmt.Sprintf("Delete %#v, want %#v", got.Delete, want.Delete)
	}
	if len(got.Servers) != len(want.Servers) {
		return fmt.Sprintf("%d servers, want %d", len(got.Servers), len(want.Servers))
	}
	for i := range got.Servers {
		g, w := got.Servers[i], want.Servers[i]
		for _, b := range []*[]byte{&g.PSK, &g.Certificate, &g.PrivateKey, &g.ServerCertificate, &w.PSK, &w.Certificate, &w.PrivateKey, &w.ServerCertificate} {
			if len(*b) == 0 {
				*b = nil
			}
		}
		if !reflect.DeepEqual(g, w) {
			return fmt.Sprintf("server %d: %+v, want %+v", i, g, w)
		}
	}
	if len(got.ACLs) != len(want.ACLs) {
		return fmt.Sprintf("%d ACLs, want %d", len(got.ACLs), len(want.ACLs))
	}
	for i := range got.ACLs {
		g, w := got.ACLs[i], want.ACLs[i]
		if len(g.Rights) == 0 {
			g.Rights = nil
		}
		if len(w.Rights) == 0 {
			w.Rights = nil
		}
		if !reflect.DeepEqual(g, w) {
			return fmt.Sprintf("ACL %d: %+v, want %+v", i, g, w)
		}
	}
	return ""
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func putCred(t *testing.T, s store.Security, c *store.Credential) {
	t.Helper()
	if err := s.PutCredential(bg, c); err != nil {
		t.Fatalf("PutCredential(%q): %v", c.Endpoint, err)
	}
}

// wantCred fails t unless ep has credential want (nil: none).
func wantCred(t *testing.T, s store.Security, ep string, want *store.Credential) {
	t.Helper()
	got, err := s.Credential(bg, ep)
	if want == nil {
		wantNotFound(t, fmt.Sprintf("Credential(%q)", ep), err)
		return
	}
	if err != nil {
		t.Fatalf("Credential(%q): %v", ep, err)
	}
	if d := DiffCredential(got, want); d != "" {
		t.Fatalf("Credential(%q): %s", ep, d)
	}
}

// wantIdentity fails t unless PSK identity id belongs to the credential
// of ep ("": to none).
func wantIdentity(t *testing.T, s store.Security, id, ep string) {
	t.Helper()
	got, err := s.CredentialByPSKIdentity(bg, id)
	if ep == "" {
		if !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("CredentialByPSKIdentity(%q) = %v, %v; want a 4.04", id, got, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("CredentialByPSKIdentity(%q): %v", id, err)
	}
	if got.Endpoint != ep || got.PSKIdentity != id {
		t.Fatalf("CredentialByPSKIdentity(%q) = endpoint %q identity %q, want endpoint %q", id, got.Endpoint, got.PSKIdentity, ep)
	}
}

func listCreds(t *testing.T, s store.Security) []string {
	t.Helper()
	var eps []string
	if err := s.Credentials(bg, func(c *store.Credential) bool {
		eps = append(eps, c.Endpoint)
		return true
	}); err != nil {
		t.Fatalf("Credentials: %v", err)
	}
	return eps
}

func testCredPutAndGet(t *testing.T, s SecurityStore) {
	psk := NewPSKCredential("dev-psk", "id-psk")
	x509 := &store.Credential{Endpoint: "dev-x509", X509: true}
	both := NewPSKCredential("dev-both", "id-both")
	both.X509 = true
	// The longest names and key the bounds allow, and non-ASCII ones.
	long := &store.Credential{Endpoint: strings.Repeat("e", store.MaxEndpoint), PSKIdentity: strings.Repeat("i", store.MaxPSKIdentity), PSK: bytes.Repeat([]byte{0xff}, store.MaxPSK)}
	utf := NewPSKCredential("gerät/1 ü", "identität ü")
	for _, c := range []*store.Credential{psk, x509, both, long, utf} {
		putCred(t, s, c)
	}
	for _, c := range []*store.Credential{psk, x509, both, long, utf} {
		wantCred(t, s, c.Endpoint, c)
	}
	wantCred(t, s, "nobody", nil)
}

func testCredByPSKIdentity(t *testing.T, s SecurityStore) {
	putCred(t, s, NewPSKCredential("dev-1", "id-1"))
	putCred(t, s, NewPSKCredential("dev-2", "id-2"))
	putCred(t, s, &store.Credential{Endpoint: "dev-3", X509: true})
	wantIdentity(t, s, "id-1", "dev-1")
	wantIdentity(t, s, "id-2", "dev-2")
	wantIdentity(t, s, "id-3", "")
	// An identity is not an endpoint, nor the other way round.
	wantIdentity(t, s, "dev-1", "")
	wantCred(t, s, "id-1", nil)
	got, err := s.CredentialByPSKIdentity(bg, "id-1")
	if err != nil {
		t.Fatal(err)
	}
	if d := DiffCredential(got, NewPSKCredential("dev-1", "id-1")); d != "" {
		t.Fatal(d)
	}
}

func testCredReplace(t *testing.T, s SecurityStore) {
	putCred(t, s, NewPSKCredential("dev", "old"))
	// A new identity for the endpoint: the old one belongs to nobody.
	c := NewPSKCredential("dev", "new")
	putCred(t, s, c)
	wantCred(t, s, "dev", c)
	wantIdentity(t, s, "new", "dev")
	wantIdentity(t, s, "old", "")
	// The same identity with a new key.
	c2 := &store.Credential{Endpoint: "dev", PSKIdentity: "new", PSK: []byte("another key")}
	putCred(t, s, c2)
	wantCred(t, s, "dev", c2)
	wantIdentity(t, s, "new", "dev")
	// X.509 only: no identity left.
	x := &store.Credential{Endpoint: "dev", X509: true}
	putCred(t, s, x)
	wantCred(t, s, "dev", x)
	wantIdentity(t, s, "new", "")
	// The freed identities can be taken by another endpoint.
	putCred(t, s, NewPSKCredential("other", "old"))
	putCred(t, s, NewPSKCredential("third", "new"))
	wantIdentity(t, s, "old", "other")
	wantIdentity(t, s, "new", "third")
	if got := listCreds(t, s); !reflect.DeepEqual(got, []string{"dev", "other", "third"}) {
		t.Fatalf("Credentials: %q", got)
	}
}

func testCredConflict(t *testing.T, s SecurityStore) {
	a := NewPSKCredential("dev-a", "shared")
	b := NewPSKCredential("dev-b", "mine")
	putCred(t, s, a)
	putCred(t, s, b)
	// A new endpoint claiming a taken identity.
	err := s.PutCredential(bg, NewPSKCredential("dev-c", "shared"))
	wantCode(t, "new endpoint, taken identity", err, model.ErrConflict)
	// An existing endpoint claiming it.
	err = s.PutCredential(bg, NewPSKCredential("dev-b", "shared"))
	wantCode(t, "existing endpoint, taken identity", err, model.ErrConflict)
	// Nothing changed.
	wantCred(t, s, "dev-a", a)
	wantCred(t, s, "dev-b", b)
	wantCred(t, s, "dev-c", nil)
	wantIdentity(t, s, "shared", "dev-a")
	wantIdentity(t, s, "mine", "dev-b")
	if got := listCreds(t, s); !reflect.DeepEqual(got, []string{"dev-a", "dev-b"}) {
		t.Fatalf("Credentials: %q", got)
	}
}

func testCredIdentityFreed(t *testing.T, s SecurityStore) {
	putCred(t, s, NewPSKCredential("dev-a", "shared"))
	if err := s.DeleteCredential(bg, "dev-a"); err != nil {
		t.Fatal(err)
	}
	wantIdentity(t, s, "shared", "")
	c := NewPSKCredential("dev-b", "shared")
	putCred(t, s, c)
	wantIdentity(t, s, "shared", "dev-b")
	wantCred(t, s, "dev-b", c)
}

func testCredDelete(t *testing.T, s SecurityStore) {
	putCred(t, s, NewPSKCredential("dev-1", "id-1"))
	putCred(t, s, NewPSKCredential("dev-2", "id-2"))
	if err := s.DeleteCredential(bg, "dev-1"); err != nil {
		t.Fatal(err)
	}
	wantCred(t, s, "dev-1", nil)
	wantIdentity(t, s, "id-1", "")
	wantNotFound(t, "DeleteCredential again", s.DeleteCredential(bg, "dev-1"))
	wantNotFound(t, "DeleteCredential of nobody", s.DeleteCredential(bg, "nobody"))
	wantCred(t, s, "dev-2", NewPSKCredential("dev-2", "id-2"))
	wantIdentity(t, s, "id-2", "dev-2")
}

func testCredInvalid(t *testing.T, s SecurityStore) {
	keep := NewPSKCredential("dev", "id")
	putCred(t, s, keep)
	tooLong := strings.Repeat("x", store.MaxEndpoint+1)
	for _, tc := range []struct {
		name string
		c    *store.Credential
		want error
	}{
		{"nil", nil, model.ErrBadRequest},
		{"no endpoint", &store.Credential{PSKIdentity: "a", PSK: []byte{1}}, model.ErrBadRequest},
		{"identity without key", &store.Credential{Endpoint: "dev", PSKIdentity: "a"}, model.ErrBadRequest},
		{"key without identity", &store.Credential{Endpoint: "dev", PSK: []byte{1}}, model.ErrBadRequest},
		{"nothing to authenticate with", &store.Credential{Endpoint: "dev"}, model.ErrBadRequest},
		{"endpoint not UTF-8", &store.Credential{Endpoint: "dev\xff", X509: true}, model.ErrBadRequest},
		{"identity not UTF-8", &store.Credential{Endpoint: "dev", PSKIdentity: "id\xff", PSK: []byte{1}}, model.ErrBadRequest},
		{"endpoint too long", &store.Credential{Endpoint: tooLong, X509: true}, model.ErrRequestEntityTooLarge},
		{"identity too long", &store.Credential{Endpoint: "dev", PSKIdentity: strings.Repeat("i", store.MaxPSKIdentity+1), PSK: []byte{1}}, model.ErrRequestEntityTooLarge},
		{"key too long", &store.Credential{Endpoint: "dev", PSKIdentity: "id", PSK: make([]byte, store.MaxPSK+1)}, model.ErrRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, "PutCredential", s.PutCredential(bg, tc.c), tc.want)
		})
	}
	wantCred(t, s, "dev", keep)
	wantIdentity(t, s, "id", "dev")
	_, err := s.Credential(bg, "")
	wantCode(t, "Credential of no endpoint", err, model.ErrBadRequest)
	_, err = s.Credential(bg, tooLong)
	wantCode(t, "Credential of a too long endpoint", err, model.ErrRequestEntityTooLarge)
	_, err = s.CredentialByPSKIdentity(bg, "")
	wantCode(t, "CredentialByPSKIdentity of no identity", err, model.ErrBadRequest)
	wantCode(t, "DeleteCredential of no endpoint", s.DeleteCredential(bg, ""), model.ErrBadRequest)
	if got := listCreds(t, s); !reflect.DeepEqual(got, []string{"dev"}) {
		t.Fatalf("Credentials: %q", got)
	}
}

// testCredList puts more credentials than one page of a KV listing, in a
// random order, and reads them back in ascending endpoint order.
func testCredList(t *testing.T, s SecurityStore) {
	const n = 230
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("dev-%04d", i))
	}
	order := slicesPerm(n)
	for _, i := range order {
		c := NewPSKCredential(want[i], "id-"+want[i])
		if i%3 == 0 {
			c = &store.Credential{Endpoint: want[i], X509: true}
		}
		putCred(t, s, c)
	}
	if got := listCreds(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("Credentials: %d endpoints, want %d in order: %q", len(got), len(want), got)
	}
	var got []string
	if err := s.Credentials(bg, func(c *store.Credential) bool {
		got = append(got, c.Endpoint)
		return len(got) < 3
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want[:3]) {
		t.Fatalf("Credentials stopped after 3: %q", got)
	}
}

func slicesPerm(n int) []int {
	r := rand.New(rand.NewPCG(1, 2))
	return r.Perm(n)
}

func testCredCopies(t *testing.T, s SecurityStore) {
	c := NewPSKCredential("dev", "id")
	want := c.Clone()
	putCred(t, s, c)
	c.PSK[0] ^= 0xff // the caller's slice is not the store's
	wantCred(t, s, "dev", want)
	got, err := s.Credential(bg, "dev")
	if err != nil {
		t.Fatal(err)
	}
	got.Clone().PSK[0] ^= 0xff
	wantCred(t, s, "dev", want)
	if d := DiffCredential(got.Clone(), got); d != "" {
		t.Fatalf("Clone: %s", d)
	}
}

func testCredContextDone(t *testing.T, s SecurityStore) {
	c := NewPSKCredential("dev", "id")
	putCred(t, s, c)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	wantCode(t, "put", s.PutCredential(ctx, NewPSKCredential("dev", "other")), context.Canceled)
	wantCode(t, "put new", s.PutCredential(ctx, NewPSKCredential("new", "new")), context.Canceled)
	wantCode(t, "delete", s.DeleteCredential(ctx, "dev"), context.Canceled)
	_, err := s.Credential(ctx, "dev")
	wantCode(t, "get", err, context.Canceled)
	_, err = s.CredentialByPSKIdentity(ctx, "id")
	wantCode(t, "by identity", err, context.Canceled)
	wantCode(t, "list", s.Credentials(ctx, func(*store.Credential) bool { return true }), context.Canceled)
	wantCred(t, s, "dev", c)
	wantCred(t, s, "new", nil)
	wantIdentity(t, s, "id", "dev")
	wantIdentity(t, s, "other", "")
}

// testCredConcurrent: writers on their own endpoints, readers, and racers
// for one identity, of which exactly one wins.
func testCredConcurrent(t *testing.T, s SecurityStore) {
	const workers, rounds = 8, 20
	var wg sync.WaitGroup
	var won atomic.Int32
	errs := make(chan error, workers*rounds*4)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.PutCredential(bg, NewPSKCredential(fmt.Sprintf("racer-%d", w), "contested"))
			switch {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, model.ErrConflict):
				errs <- fmt.Errorf("racer %d: %v", w, err)
			}
			for i := range rounds {
				ep := fmt.Sprintf("w%d-%d", w, i)
				if err := s.PutCredential(bg, NewPSKCredential(ep, "id-"+ep)); err != nil {
					errs <- err
					return
				}
				c, err := s.CredentialByPSKIdentity(bg, "id-"+ep)
				if err != nil || c.Endpoint != ep {
					errs <- fmt.Errorf("by identity %q: %v, %v", "id-"+ep, c, err)
					return
				}
				if i%2 == 0 {
					if err := s.DeleteCredential(bg, ep); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if won.Load() != 1 {
		t.Fatalf("%d racers got the contested identity, want 1", won.Load())
	}
	c, err := s.CredentialByPSKIdentity(bg, "contested")
	if err != nil || !strings.HasPrefix(c.Endpoint, "racer-") {
		t.Fatalf("contested: %v, %v", c, err)
	}
	if got := len(listCreds(t, s)); got != 1+workers*rounds/2 {
		t.Fatalf("%d credentials, want %d", got, 1+workers*rounds/2)
	}
}

func testCredClosed(t *testing.T, s SecurityStore) {
	putCred(t, s, NewPSKCredential("dev", "id"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "put after close", s.PutCredential(bg, NewPSKCredential("new", "new")), store.ErrClosed)
	wantCode(t, "delete after close", s.DeleteCredential(bg, "dev"), store.ErrClosed)
	_, err := s.Credential(bg, "dev")
	wantCode(t, "get after close", err, store.ErrClosed)
	_, err = s.CredentialByPSKIdentity(bg, "id")
	wantCode(t, "by identity after close", err, store.ErrClosed)
	wantCode(t, "list after close", s.Credentials(bg, func(*store.Credential) bool { return true }), store.ErrClosed)
}

func putBS(t *testing.T, s store.Bootstraps, c *store.BootstrapConfig) {
	t.Helper()
	if err := s.PutBootstrapConfig(bg, c); err != nil {
		t.Fatalf("PutBootstrapConfig(%q): %v", c.Endpoint, err)
	}
}

func wantBS(t *testing.T, s store.Bootstraps, ep string, want *store.BootstrapConfig) {
	t.Helper()
	got, err := s.BootstrapConfig(bg, ep)
	if want == nil {
		wantNotFound(t, fmt.Sprintf("BootstrapConfig(%q)", ep), err)
		return
	}
	if err != nil {
		t.Fatalf("BootstrapConfig(%q): %v", ep, err)
	}
	if d := DiffBootstrapConfig(got, want); d != "" {
		t.Fatalf("BootstrapConfig(%q): %s", ep, d)
	}
}

func listBS(t *testing.T, s store.Bootstraps) []string {
	t.Helper()
	var eps []string
	if err := s.BootstrapConfigs(bg, func(c *store.BootstrapConfig) bool {
		eps = append(eps, c.Endpoint)
		return true
	}); err != nil {
		t.Fatalf("BootstrapConfigs: %v", err)
	}
	return eps
}

func testBSPutAndGet(t *testing.T, s BootstrapStore) {
	full := NewBootstrapConfig("dev-full")
	cert := &store.BootstrapConfig{Endpoint: "dev-cert", Servers: []store.ServerAccount{{
		ShortID: 1, URI: "coaps://dm.example.com", Mode: store.ModeCertificate,
		Certificate: []byte{0x30, 0x82, 1, 2}, PrivateKey: []byte{0x30, 0x81, 3}, ServerCertificate: []byte{0x30, 0x82, 4, 5},
	}}}
	bare := &store.BootstrapConfig{Endpoint: "dev-bare"}
	for _, c := range []*store.BootstrapConfig{full, cert, bare} {
		putBS(t, s, c)
	}
	for _, c := range []*store.BootstrapConfig{full, cert, bare} {
		wantBS(t, s, c.Endpoint, c)
	}
	wantBS(t, s, "nobody", nil)
}

// testBSDeleteDefault: nil Delete (delete "/") and an empty one (delete
// nothing) are kept apart.
func testBSDeleteDefault(t *testing.T, s BootstrapStore) {
	putBS(t, s, &store.BootstrapConfig{Endpoint: "nil"})
	putBS(t, s, &store.BootstrapConfig{Endpoint: "empty", Delete: []string{}})
	got, err := s.BootstrapConfig(bg, "nil")
	if err != nil || got.Delete != nil {
		t.Fatalf("nil Delete came back as %#v, %v", got.Delete, err)
	}
	got, err = s.BootstrapConfig(bg, "empty")
	if err != nil || got.Delete == nil || len(got.Delete) != 0 {
		t.Fatalf("empty Delete came back as %#v, %v", got.Delete, err)
	}
}

func testBSReplace(t *testing.T, s BootstrapStore) {
	putBS(t, s, NewBootstrapConfig("dev"))
	c := NewBootstrapConfig("dev")
	c.Servers = c.Servers[1:]
	c.Delete = []string{"/"}
	putBS(t, s, c)
	wantBS(t, s, "dev", c)
	if got := listBS(t, s); !reflect.DeepEqual(got, []string{"dev"}) {
		t.Fatalf("BootstrapConfigs: %q", got)
	}
}

func testBSDelete(t *testing.T, s BootstrapStore) {
	putBS(t, s, NewBootstrapConfig("dev-1"))
	putBS(t, s, NewBootstrapConfig("dev-2"))
	if err := s.DeleteBootstrapConfig(bg, "dev-1"); err != nil {
		t.Fatal(err)
	}
	wantBS(t, s, "dev-1", nil)
	wantNotFound(t, "DeleteBootstrapConfig again", s.DeleteBootstrapConfig(bg, "dev-1"))
	wantBS(t, s, "dev-2", NewBootstrapConfig("dev-2"))
}

func testBSInvalid(t *testing.T, s BootstrapStore) {
	keep := NewBootstrapConfig("dev")
	putBS(t, s, keep)
	with := func(f func(c *store.BootstrapConfig)) *store.BootstrapConfig {
		c := NewBootstrapConfig("dev")
		f(c)
		return c
	}
	psk := store.ServerAccount{ShortID: 9, URI: "coaps://h:5684", Mode: store.ModePSK, PSKIdentity: "i", PSK: []byte{1}}
	for _, tc := range []struct {
		name string
		c    *store.BootstrapConfig
		want error
	}{
		{"nil", nil, model.ErrBadRequest},
		{"no endpoint", with(func(c *store.BootstrapConfig) { c.Endpoint = "" }), model.ErrBadRequest},
		{"endpoint too long", with(func(c *store.BootstrapConfig) { c.Endpoint = strings.Repeat("e", store.MaxEndpoint+1) }), model.ErrRequestEntityTooLarge},
		{"bad path to delete", with(func(c *store.BootstrapConfig) { c.Delete = []string{"/0", "1/x"} }), model.ErrBadRequest},
		{"short id 0", with(func(c *store.BootstrapConfig) { c.Servers[0].ShortID = 0 }), model.ErrBadRequest},
		{"short id 65535", with(func(c *store.BootstrapConfig) { c.Servers[0].ShortID = 65535 }), model.ErrBadRequest},
		{"short id twice", with(func(c *store.BootstrapConfig) { c.Servers[1].ShortID = c.Servers[0].ShortID }), model.ErrBadRequest},
		{"PSK without identity", with(func(c *store.BootstrapConfig) { c.Servers[0].PSKIdentity = "" }), model.ErrBadRequest},
		{"PSK without key", with(func(c *store.BootstrapConfig) { c.Servers[0].PSK = nil }), model.ErrBadRequest},
		{"PSK identity not UTF-8", with(func(c *store.BootstrapConfig) { c.Servers[0].PSKIdentity = "id\xff" }), model.ErrBadRequest},
		{"PSK key too long", with(func(c *store.BootstrapConfig) { c.Servers[0].PSK = make([]byte, store.MaxPSK+1) }), model.ErrRequestEntityTooLarge},
		{"certificate without server certificate", with(func(c *store.BootstrapConfig) {
			c.Servers[0] = store.ServerAccount{ShortID: 1, URI: "coaps://h", Mode: store.ModeCertificate, Certificate: []byte{1}, PrivateKey: []byte{2}}
		}), model.ErrBadRequest},
		{"unknown mode", with(func(c *store.BootstrapConfig) { c.Servers[1].Mode = 4 }), model.ErrBadRequest},
		{"http URI", with(func(c *store.BootstrapConfig) { c.Servers[1].URI = "http://h:80" }), model.ErrBadRequest},
		{"URI without host", with(func(c *store.BootstrapConfig) { c.Servers[1].URI = "coap://" }), model.ErrBadRequest},
		{"URI not a URI", with(func(c *store.BootstrapConfig) { c.Servers[1].URI = "coap:h:5683" }), model.ErrBadRequest},
		{"Security instance twice", with(func(c *store.BootstrapConfig) {
			c.Servers[0].SecurityInstance = 7
		}), model.ErrBadRequest},
		{"Server instance twice", with(func(c *store.BootstrapConfig) {
			c.Servers[0].ServerInstance = 3
		}), model.ErrBadRequest},
		{"ACL instance twice", with(func(c *store.BootstrapConfig) { c.ACLs = append(c.ACLs, c.ACLs[0]) }), model.ErrBadRequest},
		{"ACL undefined right", with(func(c *store.BootstrapConfig) { c.ACLs[0].Rights = map[uint16]uint16{1: 32} }), model.ErrBadRequest},
		{"too many servers", with(func(c *store.BootstrapConfig) {
			c.Servers = nil
			for i := range store.MaxBSServers + 1 {
				p := psk
				p.ShortID = uint16(i + 1)
				c.Servers = append(c.Servers, p)
			}
		}), model.ErrRequestEntityTooLarge},
		{"too large to store", with(func(c *store.BootstrapConfig) {
			c.Servers[1] = store.ServerAccount{ShortID: 2, URI: "coaps://h", Mode: store.ModeCertificate,
				Certificate: make([]byte, 40<<10), PrivateKey: []byte{2}, ServerCertificate: make([]byte, 40<<10)}
		}), model.ErrRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, "PutBootstrapConfig", s.PutBootstrapConfig(bg, tc.c), tc.want)
		})
	}
	wantBS(t, s, "dev", keep)
	_, err := s.BootstrapConfig(bg, "")
	wantCode(t, "BootstrapConfig of no endpoint", err, model.ErrBadRequest)
	wantCode(t, "DeleteBootstrapConfig of no endpoint", s.DeleteBootstrapConfig(bg, ""), model.ErrBadRequest)
	if got := listBS(t, s); !reflect.DeepEqual(got, []string{"dev"}) {
		t.Fatalf("BootstrapConfigs: %q", got)
	}
}

func testBSList(t *testing.T, s BootstrapStore) {
	const n = 230
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("dev-%04d", i))
	}
	for _, i := range slicesPerm(n) {
		putBS(t, s, NewBootstrapConfig(want[i]))
	}
	if got := listBS(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("BootstrapConfigs: %d endpoints, want %d in order: %q", len(got), len(want), got)
	}
	var got []string
	if err := s.BootstrapConfigs(bg, func(c *store.BootstrapConfig) bool {
		got = append(got, c.Endpoint)
		if d := DiffBootstrapConfig(c, NewBootstrapConfig(c.Endpoint)); d != "" {
			t.Errorf("%s: %s", c.Endpoint, d)
		}
		return len(got) < 3
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want[:3]) {
		t.Fatalf("BootstrapConfigs stopped after 3: %q", got)
	}
}

func testBSCopies(t *testing.T, s BootstrapStore) {
	c := NewBootstrapConfig("dev")
	putBS(t, s, c)
	c.Servers[0].PSK[0] ^= 0xff
	c.ACLs[0].Rights[101] = 0
	c.Delete[0] = "/9"
	wantBS(t, s, "dev", NewBootstrapConfig("dev"))
	got, err := s.BootstrapConfig(bg, "dev")
	if err != nil {
		t.Fatal(err)
	}
	d := got.Clone()
	d.Servers[0].PSK[0] ^= 0xff
	d.ACLs[0].Rights[101] = 0
	if diff := DiffBootstrapConfig(got, NewBootstrapConfig("dev")); diff != "" {
		t.Fatalf("Clone is not deep: %s", diff)
	}
	wantBS(t, s, "dev", NewBootstrapConfig("dev"))
}

func testBSContextDone(t *testing.T, s BootstrapStore) {
	putBS(t, s, NewBootstrapConfig("dev"))
	ctx, cancel := context.WithCancel(bg)
	cancel()
	wantCode(t, "put", s.PutBootstrapConfig(ctx, &store.BootstrapConfig{Endpoint: "dev"}), context.Canceled)
	wantCode(t, "delete", s.DeleteBootstrapConfig(ctx, "dev"), context.Canceled)
	_, err := s.BootstrapConfig(ctx, "dev")
	wantCode(t, "get", err, context.Canceled)
	wantCode(t, "list", s.BootstrapConfigs(ctx, func(*store.BootstrapConfig) bool { return true }), context.Canceled)
	wantBS(t, s, "dev", NewBootstrapConfig("dev"))
}

func testBSConcurrent(t *testing.T, s BootstrapStore) {
	const workers, rounds = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range rounds {
				ep := fmt.Sprintf("w%d-%d", w, i)
				if err := s.PutBootstrapConfig(bg, NewBootstrapConfig(ep)); err != nil {
					errs <- err
					return
				}
				if _, err := s.BootstrapConfig(bg, ep); err != nil {
					errs <- err
					return
				}
				// Everyone writes "shared": one of them is there at the end.
				if err := s.PutBootstrapConfig(bg, NewBootstrapConfig("shared")); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(listBS(t, s)); got != 1+workers*rounds {
		t.Fatalf("%d configurations, want %d", got, 1+workers*rounds)
	}
	wantBS(t, s, "shared", NewBootstrapConfig("shared"))
}

func testBSClosed(t *testing.T, s BootstrapStore) {
	putBS(t, s, NewBootstrapConfig("dev"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "put after close", s.PutBootstrapConfig(bg, NewBootstrapConfig("new")), store.ErrClosed)
	wantCode(t, "delete after close", s.DeleteBootstrapConfig(bg, "dev"), store.ErrClosed)
	_, err := s.BootstrapConfig(bg, "dev")
	wantCode(t, "get after close", err, store.ErrClosed)
	wantCode(t, "list after close", s.BootstrapConfigs(bg, func(*store.BootstrapConfig) bool { return true }), store.ErrClosed)
}

// lookupOf returns the CredentialLookup of s, or nil if it has none.
func lookupOf(s SecurityStore) store.CredentialLookup {
	if o, ok := s.(securityOverKV); ok {
		l, _ := o.Security.(store.CredentialLookup)
		return l
	}
	l, _ := s.(store.CredentialLookup)
	return l
}

// testCredLookup checks LookupCredential, for a store that has it: the
// same answers as Credential, with a miss as false and no error.
func testCredLookup(t *testing.T, s SecurityStore) {
	l := lookupOf(s)
	if l == nil {
		t.Skip("no store.CredentialLookup")
	}
	ctx := context.Background()
	c := NewPSKCredential("dev-l", "id-l")
	putCred(t, s, c)
	got, ok, err := l.LookupCredential(ctx, "dev-l")
	if err != nil || !ok || got.PSKIdentity != "id-l" || got.Endpoint != "dev-l" {
		t.Fatalf("LookupCredential(dev-l) = %+v, %v, %v", got, ok, err)
	}
	got.PSK[0] ^= 0xff // a copy: the stored credential stays
	wantCred(t, s, "dev-l", c)
	if got, ok, err := l.LookupCredential(ctx, "nobody"); got != nil || ok || err != nil {
		t.Fatalf("LookupCredential(nobody) = %+v, %v, %v; want nil, false, nil", got, ok, err)
	}
	if _, _, err := l.LookupCredential(ctx, ""); err == nil {
		t.Fatal("LookupCredential of an empty endpoint name: no error")
	}
	if err := s.DeleteCredential(ctx, "dev-l"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := l.LookupCredential(ctx, "dev-l"); ok || err != nil {
		t.Fatalf("LookupCredential after delete: %v, %v", ok, err)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := l.LookupCredential(done, "dev-l"); !errors.Is(err, context.Canceled) {
		t.Fatalf("LookupCredential with a done context: %v", err)
	}
}
