package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
	"github.com/wasm2m/wasm2m/host/config"
)

// defaultSecureAddr is where `wasm2m server` serves LwM2M over DTLS.
const defaultSecureAddr = ":5684"

// securityFlags are the DTLS flags of `wasm2m server`; each wins over the
// config file's security section.
type securityFlags struct {
	fs                  *flag.FlagSet
	addr, cert, key     *string
	trust               []string
	nosec, connectionID *bool
}

func addSecurityFlags(fs *flag.FlagSet) *securityFlags {
	f := &securityFlags{fs: fs}
	f.addr = fs.String("secure-addr", defaultSecureAddr, "UDP address for LwM2M over DTLS (coaps), or \"off\"; devices authenticate with the credentials of the security store (-config's security section, /api/security/clients)")
	f.nosec = fs.Bool("nosec", true, "serve plain CoAP (NoSec) on -addr; -nosec=false makes every device use DTLS")
	f.cert = fs.String("cert", "", "PEM file of the server's certificate (chain), for devices that use X.509 (with -key)")
	f.key = fs.String("key", "", "PEM file of the server's private key (with -cert)")
	fs.Func("trust", "a PEM file of certificate authorities device certificates must chain to (repeat for several)", func(s string) error {
		f.trust = append(f.trust, s)
		return nil
	})
	f.connectionID = fs.Bool("cid", true, "offer DTLS Connection ID (RFC 9146), so that a device whose NAT mapping changes keeps its session")
	return f
}

// merge applies the flags given over the config file's section.
func (f *securityFlags) merge(sc config.Security) (config.Security, error) {
	if explicit(f.fs, "secure-addr") || sc.Addr == "" {
		sc.Addr = *f.addr
	}
	if explicit(f.fs, "nosec") {
		sc.NoSecOff = !*f.nosec
	}
	if explicit(f.fs, "cert") {
		sc.Certificate = *f.cert
	}
	if explicit(f.fs, "key") {
		sc.Key = *f.key
	}
	if len(f.trust) > 0 {
		sc.Trust = f.trust
	}
	if explicit(f.fs, "cid") {
		v := *f.connectionID
		sc.ConnectionID = &v
	}
	c := config.Config{Security: sc}
	if err := c.Validate(); err != nil {
		return sc, err
	}
	return c.Security, nil
}

// serverSecurity is what the server's DTLS needs: the credentials store
// (kept in the store's key-value space, so in every backend), the
// address ("" for DTLS off) and the DTLS settings.
type serverSecurity struct {
	store store.Security
	addr  string
	dtls  transport.DTLSConfig
}

// openSecurity builds the server's security from sc over st, and puts the
// section's credentials into the store.
func openSecurity(ctx context.Context, sc config.Security, st store.Store) (serverSecurity, error) {
	var ss serverSecurity
	kv, ok := st.(store.KV)
	if !ok {
		if sc.Off() && len(sc.Credentials) == 0 {
			return ss, nil
		}
		return ss, errors.New("the store backend keeps no key-value space, where credentials live: DTLS needs -secure-addr off")
	}
	ss.store = store.NewSecurity(kv)
	for _, c := range sc.Credentials {
		key, _ := c.Key() // checked by config
		cred := &store.Credential{Endpoint: c.Endpoint, PSKIdentity: c.PSKIdentity, PSK: key, X509: c.X509}
		if err := ss.store.PutCredential(ctx, cred); err != nil {
			return ss, fmt.Errorf("security: credential of %s: %w", c.Endpoint, err)
		}
	}
	if sc.Off() {
		return ss, nil
	}
	ss.addr = sc.Addr
	ss.dtls = transport.DTLSConfig{
		ConnectionID:       sc.ConnectionID == nil || *sc.ConnectionID,
		HandshakeTimeout:   time.Duration(sc.HandshakeTimeout),
		MaxHandshakesPerIP: sc.MaxHandshakesPerIP,
	}
	if sc.Certificate != "" {
		cert, err := tls.LoadX509KeyPair(sc.Certificate, sc.Key)
		if err != nil {
			return ss, fmt.Errorf("security: server certificate: %w", err)
		}
		ss.dtls.Certificates = []tls.Certificate{cert}
	}
	if len(sc.Trust) > 0 {
		if sc.Certificate == "" {
			return ss, errors.New("security: a trust store (-trust) needs the server's certificate (-cert, -key)")
		}
		pool := x509.NewCertPool()
		for _, p := range sc.Trust {
			b, err := os.ReadFile(p)
			if err != nil {
				return ss, fmt.Errorf("security: trust: %w", err)
			}
			if !pool.AppendCertsFromPEM(b) {
				return ss, fmt.Errorf("security: trust: no PEM certificate in %s", p)
			}
		}
		ss.dtls.ClientCAs = pool
	}
	return ss, nil
}
