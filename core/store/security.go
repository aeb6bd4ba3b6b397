package store

import (
	"context"
	"slices"
)

// Credential is how one device proves over DTLS that it is the endpoint it
// registers as (Core 1.1 section 7.1, Transport 1.1 section 5.2). A server
// completes a handshake only with an identity it has a credential for, and
// accepts a Register (or Update, De-register, Send) over that session only
// for the credential's Endpoint; any other endpoint gets 4.03.
type Credential struct {
	Endpoint string // the ep= the identity belongs to; unique

	// PSKIdentity and PSK are the device's pre-shared key (its Security
	// instance's /0/x/3 and /0/x/5). The identity is unique among
	// credentials; an empty PSKIdentity means the device has no PSK.
	PSKIdentity string
	PSK         []byte

	// X509 lets the device authenticate with an X.509 certificate that
	// chains to the server's trust store and whose subject common name is
	// Endpoint (the convention of Eclipse Leshan and Wakaama).
	X509 bool
}

// Clone returns a deep copy of c. Clone of nil is nil.
func (c *Credential) Clone() *Credential {
	if c == nil {
		return nil
	}
	d := *c
	d.PSK = slices.Clone(c.PSK)
	return &d
}

// Security keeps the devices' DTLS credentials: the security store of a
// server and of a bootstrap server.
//
// It follows the rules of Store: safe for concurrent use, a change is
// durable when the call returns for a durable store, returned values are
// shared and immutable, a context already done changes nothing. Not-found
// errors are 4.04 (model.ErrNotFound); a credential without an endpoint, or
// with a PSK identity and no key (or a key and no identity), is a 4.00; a
// PSK identity that another endpoint already holds is a 4.09
// (model.ErrConflict) and changes nothing.
type Security interface {
	// PutCredential inserts c, or replaces the credential of c.Endpoint.
	PutCredential(ctx context.Context, c *Credential) error
	// DeleteCredential removes the credential of endpoint ep;
	// model.ErrNotFound if absent.
	DeleteCredential(ctx context.Context, ep string) error
	// Credential returns the credential of endpoint ep; model.ErrNotFound
	// if absent.
	Credential(ctx context.Context, ep string) (*Credential, error)
	// CredentialByPSKIdentity returns the credential holding PSK identity
	// id; model.ErrNotFound if none does.
	CredentialByPSKIdentity(ctx context.Context, id string) (*Credential, error)
	// Credentials calls fn with every credential, in ascending endpoint
	// order, until fn returns false.
	Credentials(ctx context.Context, fn func(*Credential) bool) error
}

// CredentialLookup is a Security that tells a missing credential apart
// without an error value: Authorize asks it for every plain Register.
// The Security of NewSecurity implements it.
type CredentialLookup interface {
	// LookupCredential returns the credential of endpoint ep, and false
	// with no error if it has none.
	LookupCredential(ctx context.Context, ep string) (*Credential, bool, error)
}

// SecurityMode is a Security instance's Security Mode (/0/x/2, Core 1.1
// Appendix E.1).
type SecurityMode uint8

// The security modes.
const (
	ModePSK         SecurityMode = 0
	ModeRPK         SecurityMode = 1
	ModeCertificate SecurityMode = 2
	ModeNoSec       SecurityMode = 3
)

// BootstrapConfig is what a bootstrap server gives one device (Core 1.1
// section 6.1.7): the paths it deletes first, then the server accounts and
// access control instances it writes, then Bootstrap-Finish.
type BootstrapConfig struct {
	Endpoint string // the ep= of the Bootstrap-Request; unique

	// Delete lists the paths of Bootstrap-Delete, sent in order before any
	// write ("/" deletes everything but the bootstrap account and the
	// Device instance; "/1" every Server instance). nil means ["/"]; an
	// empty, non-nil slice deletes nothing.
	Delete []string

	// Servers are the device management server accounts to write: each is
	// one Security (/0) and one Server (/1) instance.
	Servers []ServerAccount

	// ACLs are Access Control instances (/2) to write.
	ACLs []ACL
}

// ServerAccount is one LwM2M server account of a BootstrapConfig.
type ServerAccount struct {
	ShortID uint16 // /0/x/10 and /1/x/0, 1 to 65534; unique within a config

	// SecurityInstance and ServerInstance are the instance ids written
	// (/0/SecurityInstance, /1/ServerInstance); 0 picks the lowest id not
	// used by the config (the bootstrap account keeps its own).
	SecurityInstance uint16
	ServerInstance   uint16

	URI  string       // /0/x/0: coap://host:port or coaps://host:port
	Mode SecurityMode // /0/x/2

	// PSK mode: /0/x/3 and /0/x/5.
	PSKIdentity string
	PSK         []byte

	// Certificate mode: the device's certificate (DER, /0/x/3), its private
	// key (PKCS#8 DER, /0/x/5) and the server's certificate (DER, /0/x/4).
	Certificate       []byte
	PrivateKey        []byte
	ServerCertificate []byte

	Lifetime    uint32 // /1/x/1 seconds; 0 leaves it out
	DefaultPmin uint32 // /1/x/2; 0 leaves it out
	DefaultPmax uint32 // /1/x/3; 0 leaves it out
	Binding     string // /1/x/7; "" means "U"
	// NotificationStoring is /1/x/6.
	NotificationStoring bool
}

// ACL is one Access Control instance (/2/x, Core 1.1 Appendix E.3).
type ACL struct {
	Instance       uint16            // /2/Instance; 0 picks the lowest free id
	ObjectID       uint16            // /2/x/0
	ObjectInstance uint16            // /2/x/1
	Rights         map[uint16]uint16 // /2/x/2: short server id (0: default) → access bits (1 R, 2 W, 4 E, 8 D, 16 C)
	Owner          uint16            // /2/x/3: the short server id of the owner
}

// Clone returns a deep copy of c. Clone of nil is nil.
func (c *BootstrapConfig) Clone() *BootstrapConfig {
	if c == nil {
		return nil
	}
	d := *c
	d.Delete = slices.Clone(c.Delete)
	if c.Servers != nil {
		d.Servers = make([]ServerAccount, len(c.Servers))
		for i, s := range c.Servers {
			s.PSK = slices.Clone(s.PSK)
			s.Certificate = slices.Clone(s.Certificate)
			s.PrivateKey = slices.Clone(s.PrivateKey)
			s.ServerCertificate = slices.Clone(s.ServerCertificate)
			d.Servers[i] = s
		}
	}
	if c.ACLs != nil {
		d.ACLs = make([]ACL, len(c.ACLs))
		for i, a := range c.ACLs {
			if a.Rights != nil {
				r := make(map[uint16]uint16, len(a.Rights))
				for k, v := range a.Rights {
					r[k] = v
				}
				a.Rights = r
			}
			d.ACLs[i] = a
		}
	}
	return &d
}

// Bootstraps keeps a bootstrap server's per-endpoint configurations. It
// follows the rules of Security; a configuration that cannot be written to
// a device (no endpoint, a short server id out of range or given twice, a
// mode without its keys, a URI that is not coap:// or coaps://) is a 4.00.
type Bootstraps interface {
	// PutBootstrapConfig inserts c, or replaces the configuration of
	// c.Endpoint.
	PutBootstrapConfig(ctx context.Context, c *BootstrapConfig) error
	// DeleteBootstrapConfig removes the configuration of endpoint ep;
	// model.ErrNotFound if absent.
	DeleteBootstrapConfig(ctx context.Context, ep string) error
	// BootstrapConfig returns the configuration of endpoint ep;
	// model.ErrNotFound if absent.
	BootstrapConfig(ctx context.Context, ep string) (*BootstrapConfig, error)
	// BootstrapConfigs calls fn with every configuration, in ascending
	// endpoint order, until fn returns false.
	BootstrapConfigs(ctx context.Context, fn func(*BootstrapConfig) bool) error
}
