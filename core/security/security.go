// Package security decides whether a device may act as an endpoint: the
// check, shared by the LwM2M server and the bootstrap server, that a
// device's DTLS identity belongs to the endpoint name it gives (Core 1.1
// section 7.1: "the LwM2M Server MUST verify that the endpoint client name
// matches the identity the client authenticated with"), and the pre-shared
// key lookup a DTLS handshake makes, both against a store.Security.
//
// security imports the standard library, core/model, core/store and
// core/transport only.
package security

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// Identity is what a device authenticated with in its DTLS handshake: a
// pre-shared key identity or a certificate (verified against the trust
// store by the handshake). The zero Identity is a device without DTLS.
type Identity struct {
	PSK         string            // the PSK identity, "" if none
	Certificate *x509.Certificate // the verified client certificate, nil if none
	// Unverified marks a DTLS session whose certificate no trust store
	// vouched for: it is secure but authorizes nothing.
	Unverified bool
}

// Of returns the identity a transport peer proved in its DTLS handshake;
// the zero Identity for nil (plain CoAP). A certificate that no trust
// store verified (the DTLS endpoint has no ClientCAs) proves nothing: it
// yields an Unverified identity, which no credential authorizes.
func Of(id *transport.PeerIdentity) Identity {
	switch {
	case id == nil:
		return Identity{}
	case id.PSKIdentity != "":
		return Identity{PSK: id.PSKIdentity}
	case id.Certificate != nil && id.Verified:
		return Identity{Certificate: id.Certificate}
	}
	return Identity{Unverified: true}
}

// Secure reports whether id came from a DTLS handshake.
func (id Identity) Secure() bool { return id.PSK != "" || id.Certificate != nil || id.Unverified }

// String names id as a registration records it: the PSK identity, or
// "x509:" and the certificate's subject common name, or "" for NoSec.
func (id Identity) String() string {
	switch {
	case id.PSK != "":
		return id.PSK
	case id.Certificate != nil:
		return "x509:" + id.Certificate.Subject.CommonName
	case id.Unverified:
		return "x509:unverified"
	}
	return ""
}

// Authorize reports whether a device that authenticated as id may act as
// endpoint ep, as the credentials in sec say: nil if it may, a 4.03
// (model.ErrForbidden) with the reason if not. A pre-shared key identity
// must be the one of ep's credential; a certificate must have ep as its
// subject common name, and ep's credential must allow X.509. A device
// without DTLS may act as ep only if ep has no credential: a device that
// has credentials must use them. With a nil sec, only devices without DTLS
// are known, and any of them may act as any endpoint.
func Authorize(ctx context.Context, sec store.Security, id Identity, ep string) error {
	if sec == nil {
		if id.Secure() {
			return model.Errorf(model.Forbidden, "no credentials are kept for endpoint %q", ep)
		}
		return nil
	}
	cred, found, err := credential(ctx, sec, ep)
	switch {
	case err != nil:
		return fmt.Errorf("credentials of endpoint %q: %w", ep, err)
	case !found:
		if id.Secure() {
			return model.Errorf(model.Forbidden, "DTLS identity %q does not belong to endpoint %q", id.String(), ep)
		}
		return nil
	}
	switch {
	case !id.Secure():
		return model.Errorf(model.Forbidden, "endpoint %q has credentials: it must use DTLS (coaps)", ep)
	case id.PSK != "":
		if cred.PSKIdentity != id.PSK {
			return model.Errorf(model.Forbidden, "PSK identity %q does not belong to endpoint %q", id.PSK, ep)
		}
	case id.Certificate == nil:
		return model.Errorf(model.Forbidden, "the certificate of endpoint %q was not verified against a trust store", ep)
	default:
		if !cred.X509 {
			return model.Errorf(model.Forbidden, "endpoint %q may not use a certificate", ep)
		}
		if cn := id.Certificate.Subject.CommonName; cn != ep {
			return model.Errorf(model.Forbidden, "certificate of %q does not belong to endpoint %q", cn, ep)
		}
	}
	return nil
}

// LookupTimeout bounds the store lookup of one handshake's pre-shared key.
const LookupTimeout = 5 * time.Second

// PSK returns the pre-shared key lookup of a DTLS server: the key of the
// credential holding identity, or an error, which fails the handshake, for
// an identity no credential holds.
func PSK(sec store.Security) func(identity string) ([]byte, error) {
	return func(identity string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), LookupTimeout)
		defer cancel()
		cred, err := sec.CredentialByPSKIdentity(ctx, identity)
		if err != nil {
			return nil, fmt.Errorf("psk identity %q: %w", identity, err)
		}
		return cred.PSK, nil
	}
}

// credential returns the credential of ep, found false if it has none.
func credential(ctx context.Context, sec store.Security, ep string) (c *store.Credential, found bool, err error) {
	if l, ok := sec.(store.CredentialLookup); ok {
		return l.LookupCredential(ctx, ep)
	}
	c, err = sec.Credential(ctx, ep)
	if errors.Is(err, model.ErrNotFound) {
		return nil, false, nil
	}
	return c, err == nil, err
}
