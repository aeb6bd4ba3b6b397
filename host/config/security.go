package config

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
)

// Security configures DTLS (coaps) of `wasm2m server`: where it listens,
// its certificate and trust store, and credentials to put into the
// security store at start. Credentials can also be managed at run time
// through the HTTP API (/api/security/clients).
type Security struct {
	// Addr is the UDP address of LwM2M over DTLS; "" means the default
	// (":5684"), "off" turns DTLS off.
	Addr string `json:"addr,omitempty"`
	// NoSecOff turns plain CoAP off: every device must use DTLS.
	NoSecOff bool `json:"nosec_off,omitempty"`
	// Certificate and Key are PEM files of the server's certificate
	// (chain) and private key, for devices that authenticate with X.509;
	// a relative path is relative to the configuration file's folder.
	Certificate string `json:"certificate,omitempty"`
	Key         string `json:"key,omitempty"`
	// Trust are PEM files of the certificate authorities that device
	// certificates must chain to.
	Trust []string `json:"trust,omitempty"`
	// ConnectionID turns DTLS Connection ID (RFC 9146) on or off; default
	// on, so that a device whose NAT mapping changes keeps its session.
	ConnectionID *bool `json:"connection_id,omitempty"`
	// HandshakeTimeout bounds a DTLS handshake, such as "5s".
	HandshakeTimeout Duration `json:"handshake_timeout,omitempty"`
	// MaxHandshakesPerIP bounds the handshakes in progress from one IP
	// address.
	MaxHandshakesPerIP int `json:"max_handshakes_per_ip,omitempty"`
	// Credentials are put into the security store when the server starts
	// (replacing what it holds for the same endpoints).
	Credentials []Credential `json:"credentials,omitempty"`
}

// Credential is one device's DTLS credential (core/store.Credential).
type Credential struct {
	Endpoint    string `json:"endpoint"`
	PSKIdentity string `json:"psk_identity,omitempty"`
	// PSKKey is the pre-shared key in hex.
	PSKKey string `json:"psk_key,omitempty"`
	// X509 lets the device authenticate with a certificate whose subject
	// common name is Endpoint and that chains to Trust.
	X509 bool `json:"x509,omitempty"`
}

// Key decodes c's hex pre-shared key.
func (c *Credential) Key() ([]byte, error) { return hex.DecodeString(c.PSKKey) }

// Off reports whether DTLS is turned off.
func (s *Security) Off() bool { return s.Addr == "off" }

func (s *Security) validate() error {
	if (s.Certificate == "") != (s.Key == "") {
		return fmt.Errorf("%w: security: certificate and key go together", ErrInvalid)
	}
	if s.HandshakeTimeout < 0 || s.MaxHandshakesPerIP < 0 {
		return fmt.Errorf("%w: security: handshake_timeout and max_handshakes_per_ip must not be negative", ErrInvalid)
	}
	if s.NoSecOff && s.Off() {
		return fmt.Errorf("%w: security: nosec_off with DTLS off leaves no way in", ErrInvalid)
	}
	seen := map[string]bool{}
	for i := range s.Credentials {
		c := &s.Credentials[i]
		if strings.TrimSpace(c.Endpoint) == "" {
			return fmt.Errorf("%w: security: credentials[%d]: no endpoint", ErrInvalid, i)
		}
		if seen[c.Endpoint] {
			return fmt.Errorf("%w: security: credentials[%d]: endpoint %q given twice", ErrInvalid, i, c.Endpoint)
		}
		seen[c.Endpoint] = true
		if (c.PSKIdentity == "") != (c.PSKKey == "") {
			return fmt.Errorf("%w: security: credentials[%d] (%s): psk_identity and psk_key go together", ErrInvalid, i, c.Endpoint)
		}
		if _, err := c.Key(); err != nil {
			return fmt.Errorf("%w: security: credentials[%d] (%s): psk_key is not hex: %v", ErrInvalid, i, c.Endpoint, err)
		}
		if c.PSKIdentity == "" && !c.X509 {
			return fmt.Errorf("%w: security: credentials[%d] (%s): neither a pre-shared key nor x509", ErrInvalid, i, c.Endpoint)
		}
	}
	return nil
}

// resolve makes the paths of s relative to dir.
func (s *Security) resolve(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&s.Certificate)
	abs(&s.Key)
	for i := range s.Trust {
		abs(&s.Trust[i])
	}
}
