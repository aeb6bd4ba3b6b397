package security_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/security"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

func cert(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuthorize(t *testing.T) {
	ctx := context.Background()
	sec := store.NewSecurity(store.NewMemory())
	for _, c := range []*store.Credential{
		{Endpoint: "psk-dev", PSKIdentity: "id-1", PSK: []byte("0123456789abcdef")},
		{Endpoint: "cert-dev", X509: true},
		{Endpoint: "both-dev", PSKIdentity: "id-2", PSK: []byte("k"), X509: true},
		{Endpoint: "psk-only", PSKIdentity: "id-3", PSK: []byte("k")},
	} {
		if err := sec.PutCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	nosec := security.Identity{}
	// The same store behind only the methods of store.Security: Authorize
	// then reads a miss from Credential's 4.04.
	plain := struct{ store.Security }{sec}
	cases := []struct {
		name string
		sec  store.Security
		id   security.Identity
		ep   string
		ok   bool
	}{
		{"nosec without store", nil, nosec, "any", true},
		{"dtls without store", nil, security.Identity{PSK: "id-1"}, "psk-dev", false},
		{"nosec, endpoint without credentials", sec, nosec, "plain-dev", true},
		{"nosec, endpoint with credentials", sec, nosec, "psk-dev", false},
		{"psk of the endpoint", sec, security.Identity{PSK: "id-1"}, "psk-dev", true},
		{"psk of another endpoint", sec, security.Identity{PSK: "id-2"}, "psk-dev", false},
		{"psk, endpoint without credentials", sec, security.Identity{PSK: "id-1"}, "plain-dev", false},
		{"certificate of the endpoint", sec, security.Identity{Certificate: cert(t, "cert-dev")}, "cert-dev", true},
		{"certificate of another name", sec, security.Identity{Certificate: cert(t, "both-dev")}, "cert-dev", false},
		{"certificate, x509 not allowed", sec, security.Identity{Certificate: cert(t, "psk-only")}, "psk-only", false},
		{"psk where x509 is also allowed", sec, security.Identity{PSK: "id-2"}, "both-dev", true},
		{"nosec, endpoint without credentials, no lookup", plain, nosec, "plain-dev", true},
		{"nosec, endpoint with credentials, no lookup", plain, nosec, "psk-dev", false},
		{"psk of the endpoint, no lookup", plain, security.Identity{PSK: "id-1"}, "psk-dev", true},
		{"psk, endpoint without credentials, no lookup", plain, security.Identity{PSK: "id-1"}, "plain-dev", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := security.Authorize(ctx, tc.sec, tc.id, tc.ep)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok {
				if err == nil {
					t.Fatal("authorized")
				}
				if !errors.Is(err, model.ErrForbidden) {
					t.Fatalf("error %v is not a 4.03", err)
				}
			}
		})
	}
}

func TestAuthorizeStoreFailure(t *testing.T) {
	sec := store.NewSecurity(store.NewMemory())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, s := range []store.Security{sec, struct{ store.Security }{sec}} {
		err := security.Authorize(ctx, s, security.Identity{PSK: "x"}, "ep")
		if err == nil || errors.Is(err, model.ErrForbidden) {
			t.Fatalf("a store failure gave %v, want an error that is not a 4.03", err)
		}
	}
}

func TestIdentityString(t *testing.T) {
	if s := (security.Identity{}).String(); s != "" {
		t.Errorf("NoSec: %q", s)
	}
	if s := (security.Identity{PSK: "abc"}).String(); s != "abc" {
		t.Errorf("PSK: %q", s)
	}
	if s := (security.Identity{Certificate: cert(t, "dev-9")}).String(); s != "x509:dev-9" {
		t.Errorf("certificate: %q", s)
	}
}

func TestPSK(t *testing.T) {
	ctx := context.Background()
	sec := store.NewSecurity(store.NewMemory())
	if err := sec.PutCredential(ctx, &store.Credential{Endpoint: "d", PSKIdentity: "id", PSK: []byte{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	lookup := security.PSK(sec)
	k, err := lookup("id")
	if err != nil || string(k) != "\x01\x02\x03" {
		t.Fatalf("known identity: %x, %v", k, err)
	}
	if k, err := lookup("unknown"); err == nil {
		t.Fatalf("unknown identity gave key %x", k)
	}
}

func TestOf(t *testing.T) {
	c := cert(t, "dev-1")
	cases := []struct {
		in   *transport.PeerIdentity
		want security.Identity
	}{
		{nil, security.Identity{}},
		{&transport.PeerIdentity{PSKIdentity: "id"}, security.Identity{PSK: "id"}},
		{&transport.PeerIdentity{Certificate: c, Verified: true}, security.Identity{Certificate: c}},
		{&transport.PeerIdentity{Certificate: c}, security.Identity{Unverified: true}},
	}
	for _, tc := range cases {
		if got := security.Of(tc.in); got != tc.want {
			t.Errorf("Of(%+v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	// An unverified certificate authorizes nothing, even with a credential.
	sec := store.NewSecurity(store.NewMemory())
	if err := sec.PutCredential(context.Background(), &store.Credential{Endpoint: "dev-1", X509: true}); err != nil {
		t.Fatal(err)
	}
	if err := security.Authorize(context.Background(), sec, security.Of(&transport.PeerIdentity{Certificate: c}), "dev-1"); !errors.Is(err, model.ErrForbidden) {
		t.Fatalf("unverified certificate: %v", err)
	}
}
