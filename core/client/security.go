package client

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
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
		if _, err := transport.X509KeyPairDER(a.identity, a.secret); err != nil {
			return fmt.Errorf("%s: client certificate (/0/%d/3) and private key (/0/%d/5): %w", where, a.secID, a.secID, err)
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

// dtlsConfig returns the DTLS configuration of a coaps account, whose
// credentials readSecurity checked; idle is Config.DTLSIdleTimeout.
func (a *account) dtlsConfig(idle time.Duration) *transport.DTLSClientConfig {
	c := &transport.DTLSClientConfig{ConnectionID: true, SessionIdleTimeout: max(idle, 0)}
	switch a.mode {
	case modePSK:
		c.PSKIdentity, c.PSK = string(a.identity), a.secret
	case modeCertificate:
		cert, _ := transport.X509KeyPairDER(a.identity, a.secret) // checked by readSecurity
		c.Certificates = []tls.Certificate{cert}
		if len(a.serverCert) > 0 {
			c.ServerCertificate = a.serverCert
		} else if u, err := url.Parse(a.uri); err == nil {
			// No server certificate to pin: the system's roots
			// and the URI's host name.
			c.ServerName = u.Hostname()
		}
	}
	return c
}

// setSecureLocked records the DTLS configuration of every usable coaps
// account, by server address, for secureFor, and returns the servers
// whose credentials changed, which need a new session (resetSessions,
// once e.mu is released). e.mu is held.
func (e *Engine) setSecureLocked(dm []account, bs *account) (reset []netip.AddrPort) {
	next := map[netip.AddrPort]*transport.DTLSClientConfig{}
	add := func(a *account) {
		if a.err == nil && a.secure {
			if _, dup := next[a.addr]; !dup {
				next[a.addr] = a.dtlsConfig(e.cfg.DTLSIdleTimeout)
			}
		}
	}
	if bs != nil {
		add(bs)
	}
	for i := range dm {
		add(&dm[i])
	}
	for addr, old := range e.secure {
		if c, ok := next[addr]; !ok || !sameDTLS(old, c) {
			reset = append(reset, addr)
		}
	}
	e.secure = next
	return reset
}

// resetSessions ends the DTLS sessions with peers.
func resetSessions(ep *transport.Endpoint, peers []netip.AddrPort) {
	if ep == nil {
		return
	}
	for _, p := range peers {
		ep.ResetSession(p)
	}
}

// sameDTLS reports whether a and b authenticate the same way.
func sameDTLS(a, b *transport.DTLSClientConfig) bool {
	if a.PSKIdentity != b.PSKIdentity || !bytes.Equal(a.PSK, b.PSK) || !bytes.Equal(a.ServerCertificate, b.ServerCertificate) ||
		a.ServerName != b.ServerName || len(a.Certificates) != len(b.Certificates) {
		return false
	}
	for i := range a.Certificates {
		if !slices.EqualFunc(a.Certificates[i].Certificate, b.Certificates[i].Certificate, bytes.Equal) {
			return false
		}
	}
	return true
}

// secureFor tells the transport how to talk to peer: over DTLS with the
// credentials of the coaps account of that server, or plainly (nil).
func (e *Engine) secureFor(peer netip.AddrPort) *transport.DTLSClientConfig {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.secure[peer]
}
