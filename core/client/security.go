package client

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/wasm2m/wasm2m/core/model"
)

// Security modes of /0/x/2 (Core 1.1 Appendix E.1).
const (
	modePSK         = 0
	modeRPK         = 1
	modeCertificate = 2
	modeNoSec       = 3
	modeEST         = 4
)

// ErrUnsupportedSecurity marks a server account whose Security Mode the
// engine cannot use: raw public keys (pion/dtls, which the transport uses,
// has no RFC 7250) and certificates with EST.
var ErrUnsupportedSecurity = errors.New("unsupported security mode")

// readSecurity reads the account's Security Mode and keys from its
// Security instance n and checks that they fit its URI's scheme: coap://
// wants NoSec, coaps:// wants a pre-shared key or a certificate with its
// keys. An account that fails the check is unusable, and says why.
func (a *account) readSecurity(n *model.Node) error {
	a.mode = modeNoSec
	hasMode := false
	if v, ok := resourceOf(n, 2); ok {
		if m, ok := intOf(v); ok {
			a.mode, hasMode = m, true
		}
	}
	opaque := func(id uint16) []byte {
		v, ok := resourceOf(n, id)
		if !ok {
			return nil
		}
		if v.Type() == model.TypeString {
			return []byte(v.Str())
		}
		return slices.Clone(v.Bytes())
	}
	a.identity, a.serverCert, a.secret = opaque(3), opaque(4), opaque(5)
	where := fmt.Sprintf("/0/%d", a.secID)
	if !a.secure {
		if hasMode && a.mode != modeNoSec {
			return fmt.Errorf("%s: security mode %d wants a coaps:// server uri, not %q", where, a.mode, a.uri)
		}
		a.identity, a.serverCert, a.secret = nil, nil, nil
		return nil
	}
	switch a.mode {
	case modeNoSec:
		if !hasMode {
			return fmt.Errorf("%s: a coaps:// account needs a security mode (/0/%d/2)", where, a.secID)
		}
		return fmt.Errorf("%s: security mode NoSec with coaps:// server uri %q", where, a.uri)
	case modePSK:
		if len(a.identity) == 0 || len(a.secret) == 0 {
			return fmt.Errorf("%s: pre-shared key mode needs the identity (/0/%d/3) and the key (/0/%d/5)", where, a.secID, a.secID)
		}
		a.serverCert = nil
	case modeCertificate:
		if len(a.identity) == 0 || len(a.secret) == 0 {
			return fmt.Errorf("%s: certificate mode needs the client certificate (/0/%d/3) and its private key (/0/%d/5)", where, a.secID, a.secID)
		}
		if _, err := x509.ParseCertificate(a.identity); err != nil {
			return fmt.Errorf("%s: client certificate (/0/%d/3): %w", where, a.secID, err)
		}
		if _, err := parsePrivateKey(a.secret); err != nil {
			return fmt.Errorf("%s: private key (/0/%d/5): %w", where, a.secID, err)
		}
		if len(a.serverCert) > 0 {
			if _, err := x509.ParseCertificate(a.serverCert); err != nil {
				return fmt.Errorf("%s: server certificate (/0/%d/4): %w", where, a.secID, err)
			}
		}
	case modeRPK:
		return fmt.Errorf("%s: %w: raw public keys (RFC 7250) are not supported by the DTLS stack", where, ErrUnsupportedSecurity)
	case modeEST:
		return fmt.Errorf("%s: %w: certificates with EST", where, ErrUnsupportedSecurity)
	default:
		return fmt.Errorf("%s: %w %d", where, ErrUnsupportedSecurity, a.mode)
	}
	return nil
}

// parsePrivateKey parses a DER private key: PKCS #8, SEC 1 (EC) or PKCS #1
// (RSA).
func parsePrivateKey(der []byte) (any, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PKCS #8, SEC 1 or PKCS #1 private key")
}
