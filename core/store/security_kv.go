package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/wasm2m/wasm2m/core/model"
)

// The security and bootstrap kinds are kept once, over KV, so that every
// backend that implements KV (Memory, File, a storage plugin behind the
// process host) keeps them too. They live in reserved namespaces: a
// namespace a plugin gets is its id, dotted lowercase words, which never
// starts with '#'.
//
// Layout (version 1):
//
//	#security  ep/<endpoint>      a credential record
//	#security  psk/<identity>     the endpoint holding that PSK identity (raw UTF-8)
//	#bootstrap ep/<endpoint>      a bootstrap configuration record
//
// A record is a JSON object whose "v" field is its version (1); byte
// strings are base64 (encoding/json's []byte). A record of another version,
// or one that does not decode, is refused with an error wrapping ErrFormat
// (5.00), never read as if it were this version.
//
// A change spans several KV writes, which a crash may cut between: the PSK
// index is written before the credential and removed after it, and every
// lookup through the index checks that the credential it leads to still
// holds that identity, so a stale index entry is never believed and is
// overwritten by the next credential that claims the identity.
const (
	SecurityNamespace  = "#security"
	BootstrapNamespace = "#bootstrap"

	recordVersion = 1
	keyEndpoint   = "ep/"
	keyPSK        = "psk/"

	// listPage is how many keys a listing asks KVList for at once: a
	// page costs one call, each record another.
	listPage = 100
)

// Bounds of the security and bootstrap kinds. Beyond them a call fails
// with a 4.13 (model.ErrRequestEntityTooLarge).
const (
	MaxEndpoint    = 512 // bytes of an endpoint name
	MaxPSKIdentity = 512 // bytes of a PSK identity
	MaxPSK         = 64  // bytes of a pre-shared key
	MaxServerURI   = 1024
	MaxBSDelete    = 64  // paths of a BootstrapConfig's Delete
	MaxBSServers   = 32  // server accounts of a BootstrapConfig
	MaxBSACLs      = 256 // ACL instances of a BootstrapConfig
)

// ReservedNamespace reports whether ns is a namespace of the KV space
// that the host keeps for itself ("#security", "#bootstrap", and any
// other starting with '#'). A host that names a plugin's namespace after
// the id its manifest declares must refuse such an id: the Go guest SDK
// never declares one, but a plugin in another language may.
func ReservedNamespace(ns string) bool { return strings.HasPrefix(ns, "#") }

var (
	_ Security   = (*kvSecurity)(nil)
	_ Bootstraps = (*kvBootstraps)(nil)
)

// NewSecurity returns the Security kept in kv's reserved namespace
// "#security". It holds no state but a lock that serializes its own
// changes: two Security over one KV in one process, or in processes that
// share a backend, may race on one PSK identity; the index check keeps
// that from ever returning a wrong credential, and the later write wins.
func NewSecurity(kv KV) Security { return &kvSecurity{kv: kv} }

// NewBootstraps returns the Bootstraps kept in kv's reserved namespace
// "#bootstrap".
func NewBootstraps(kv KV) Bootstraps { return &kvBootstraps{kv: kv} }

type kvSecurity struct {
	kv KV
	mu sync.Mutex // serializes changes: check the index, then write
}

type kvBootstraps struct {
	kv KV
}

// credentialRecord is the stored form of a Credential, version 1.
type credentialRecord struct {
	V           int    `json:"v"`
	Endpoint    string `json:"ep"`
	PSKIdentity string `json:"psk_id,omitempty"`
	PSK         []byte `json:"psk,omitempty"`
	X509        bool   `json:"x509,omitempty"`
}

// bootstrapRecord is the stored form of a BootstrapConfig, version 1.
// Delete is kept as null (nil: the default, ["/"]) or an array.
type bootstrapRecord struct {
	V        int            `json:"v"`
	Endpoint string         `json:"ep"`
	Delete   []string       `json:"delete"`
	Servers  []serverRecord `json:"servers,omitempty"`
	ACLs     []aclRecord    `json:"acls,omitempty"`
}

type serverRecord struct {
	ShortID             uint16 `json:"ssid"`
	SecurityInstance    uint16 `json:"security_instance,omitempty"`
	ServerInstance      uint16 `json:"server_instance,omitempty"`
	URI                 string `json:"uri"`
	Mode                uint8  `json:"mode"`
	PSKIdentity         string `json:"psk_id,omitempty"`
	PSK                 []byte `json:"psk,omitempty"`
	Certificate         []byte `json:"cert,omitempty"`
	PrivateKey          []byte `json:"private_key,omitempty"`
	ServerCertificate   []byte `json:"server_cert,omitempty"`
	Lifetime            uint32 `json:"lifetime,omitempty"`
	DefaultPmin         uint32 `json:"pmin,omitempty"`
	DefaultPmax         uint32 `json:"pmax,omitempty"`
	Binding             string `json:"binding,omitempty"`
	NotificationStoring bool   `json:"notification_storing,omitempty"`
}

type aclRecord struct {
	Instance       uint16            `json:"instance,omitempty"`
	ObjectID       uint16            `json:"object"`
	ObjectInstance uint16            `json:"object_instance"`
	Rights         map[uint16]uint16 `json:"rights,omitempty"`
	Owner          uint16            `json:"owner"`
}

// checkName checks an endpoint name or PSK identity: 4.00 if empty or not
// UTF-8, 4.13 if longer than max.
func checkName(what, s string, max int) error {
	switch {
	case s == "":
		return model.Errorf(model.BadRequest, "store: empty %s", what)
	case len(s) > max:
		return model.Errorf(model.RequestEntityTooLarge, "store: %s of %d bytes, more than %d", what, len(s), max)
	case !utf8.ValidString(s):
		return model.Errorf(model.BadRequest, "store: %s %q is not UTF-8", what, s)
	}
	return nil
}

func checkCredential(c *Credential) error {
	if c == nil {
		return model.Errorf(model.BadRequest, "store: nil credential")
	}
	if err := checkName("endpoint", c.Endpoint, MaxEndpoint); err != nil {
		return err
	}
	switch {
	case c.PSKIdentity != "" && len(c.PSK) == 0:
		return model.Errorf(model.BadRequest, "store: credential of %q: a PSK identity and no key", c.Endpoint)
	case c.PSKIdentity == "" && len(c.PSK) > 0:
		return model.Errorf(model.BadRequest, "store: credential of %q: a PSK and no identity", c.Endpoint)
	case c.PSKIdentity == "" && !c.X509:
		return model.Errorf(model.BadRequest, "store: credential of %q: neither a PSK nor X.509", c.Endpoint)
	}
	if c.PSKIdentity != "" {
		if err := checkName("PSK identity", c.PSKIdentity, MaxPSKIdentity); err != nil {
			return err
		}
		if len(c.PSK) > MaxPSK {
			return model.Errorf(model.RequestEntityTooLarge, "store: PSK of %d bytes, more than %d", len(c.PSK), MaxPSK)
		}
	}
	return nil
}

// formatError is the error of a stored record this build cannot read.
func formatError(what, key string, err error) error {
	if key == "" {
		return &model.Error{Code: model.InternalServerError, Msg: fmt.Sprintf("store: %s record: %v", what, err), Err: ErrFormat}
	}
	return &model.Error{Code: model.InternalServerError, Msg: fmt.Sprintf("store: %s record %q: %v", what, key, err), Err: ErrFormat}
}

// decodeRecord decodes a record of version 1 into v, refusing another
// version and unknown fields.
func decodeRecord(b []byte, v any) error {
	var head struct {
		V *int `json:"v"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	if head.V == nil {
		return errors.New("no version")
	}
	if *head.V != recordVersion {
		return fmt.Errorf("version %d, this build reads version %d", *head.V, recordVersion)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the record")
	}
	return nil
}

// encodeCredential returns the stored form of c (version 1); it checks c
// as PutCredential does.
func encodeCredential(c *Credential) ([]byte, error) {
	if err := checkCredential(c); err != nil {
		return nil, err
	}
	return json.Marshal(credentialRecord{V: recordVersion, Endpoint: c.Endpoint, PSKIdentity: c.PSKIdentity, PSK: c.PSK, X509: c.X509})
}

// decodeCredential reads a credential record. An error wraps ErrFormat.
func decodeCredential(b []byte) (*Credential, error) {
	var r credentialRecord
	if err := decodeRecord(b, &r); err != nil {
		return nil, formatError("credential", "", err)
	}
	c := &Credential{Endpoint: r.Endpoint, PSKIdentity: r.PSKIdentity, PSK: r.PSK, X509: r.X509}
	if err := checkCredential(c); err != nil {
		return nil, formatError("credential", r.Endpoint, err)
	}
	return c, nil
}

// encodeBootstrapConfig returns the stored form of c (version 1); it
// checks c as PutBootstrapConfig does.
func encodeBootstrapConfig(c *BootstrapConfig) ([]byte, error) {
	if err := CheckBootstrapConfig(c); err != nil {
		return nil, err
	}
	r := bootstrapRecord{V: recordVersion, Endpoint: c.Endpoint, Delete: c.Delete}
	for _, s := range c.Servers {
		r.Servers = append(r.Servers, serverRecord{
			ShortID: s.ShortID, SecurityInstance: s.SecurityInstance, ServerInstance: s.ServerInstance,
			URI: s.URI, Mode: uint8(s.Mode), PSKIdentity: s.PSKIdentity, PSK: s.PSK,
			Certificate: s.Certificate, PrivateKey: s.PrivateKey, ServerCertificate: s.ServerCertificate,
			Lifetime: s.Lifetime, DefaultPmin: s.DefaultPmin, DefaultPmax: s.DefaultPmax,
			Binding: s.Binding, NotificationStoring: s.NotificationStoring,
		})
	}
	for _, a := range c.ACLs {
		r.ACLs = append(r.ACLs, aclRecord{Instance: a.Instance, ObjectID: a.ObjectID, ObjectInstance: a.ObjectInstance, Rights: a.Rights, Owner: a.Owner})
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxKVValue {
		return nil, model.Errorf(model.RequestEntityTooLarge, "store: bootstrap configuration of %q: %d bytes stored, more than %d", c.Endpoint, len(b), MaxKVValue)
	}
	return b, nil
}

// decodeBootstrapConfig reads a bootstrap configuration record. An error
// wraps ErrFormat.
func decodeBootstrapConfig(b []byte) (*BootstrapConfig, error) {
	var r bootstrapRecord
	if err := decodeRecord(b, &r); err != nil {
		return nil, formatError("bootstrap configuration", "", err)
	}
	c := &BootstrapConfig{Endpoint: r.Endpoint, Delete: r.Delete}
	for _, s := range r.Servers {
		c.Servers = append(c.Servers, ServerAccount{
			ShortID: s.ShortID, SecurityInstance: s.SecurityInstance, ServerInstance: s.ServerInstance,
			URI: s.URI, Mode: SecurityMode(s.Mode), PSKIdentity: s.PSKIdentity, PSK: s.PSK,
			Certificate: s.Certificate, PrivateKey: s.PrivateKey, ServerCertificate: s.ServerCertificate,
			Lifetime: s.Lifetime, DefaultPmin: s.DefaultPmin, DefaultPmax: s.DefaultPmax,
			Binding: s.Binding, NotificationStoring: s.NotificationStoring,
		})
	}
	for _, a := range r.ACLs {
		c.ACLs = append(c.ACLs, ACL{Instance: a.Instance, ObjectID: a.ObjectID, ObjectInstance: a.ObjectInstance, Rights: a.Rights, Owner: a.Owner})
	}
	if err := CheckBootstrapConfig(c); err != nil {
		return nil, formatError("bootstrap configuration", r.Endpoint, err)
	}
	return c, nil
}

// CheckBootstrapConfig returns the 4.00 (or 4.13, for a bound passed) that
// PutBootstrapConfig gives c, or nil: an endpoint; Delete paths that parse
// (model.ParsePath); per server account a short server id of 1 to 65534
// not given twice, a coap:// or coaps:// URI with a host, a known mode, a
// PSK mode account with an identity and a key, a certificate (or raw
// public key) mode account with its certificate, private key and the
// server's certificate; text (URI, PSK identity, binding) in UTF-8;
// Security, Server and ACL instance ids not given
// twice (0 is "pick one" and may repeat); ACL rights of at most the five
// defined bits.
func CheckBootstrapConfig(c *BootstrapConfig) error {
	if c == nil {
		return model.Errorf(model.BadRequest, "store: nil bootstrap configuration")
	}
	if err := checkName("endpoint", c.Endpoint, MaxEndpoint); err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		return model.Errorf(model.BadRequest, "store: bootstrap configuration of %q: "+format, append([]any{c.Endpoint}, args...)...)
	}
	switch {
	case len(c.Delete) > MaxBSDelete:
		return model.Errorf(model.RequestEntityTooLarge, "store: bootstrap configuration of %q: %d paths to delete, more than %d", c.Endpoint, len(c.Delete), MaxBSDelete)
	case len(c.Servers) > MaxBSServers:
		return model.Errorf(model.RequestEntityTooLarge, "store: bootstrap configuration of %q: %d servers, more than %d", c.Endpoint, len(c.Servers), MaxBSServers)
	case len(c.ACLs) > MaxBSACLs:
		return model.Errorf(model.RequestEntityTooLarge, "store: bootstrap configuration of %q: %d ACLs, more than %d", c.Endpoint, len(c.ACLs), MaxBSACLs)
	}
	for _, p := range c.Delete {
		if _, err := model.ParsePath(p); err != nil {
			return bad("path to delete %q: %v", p, err)
		}
	}
	ssids := map[uint16]bool{}
	secInst := map[uint16]bool{}
	srvInst := map[uint16]bool{}
	for i, s := range c.Servers {
		if s.ShortID < 1 || s.ShortID > 65534 {
			return bad("server %d: short server id %d, not 1 to 65534", i, s.ShortID)
		}
		if ssids[s.ShortID] {
			return bad("server %d: short server id %d given twice", i, s.ShortID)
		}
		ssids[s.ShortID] = true
		if s.SecurityInstance != 0 {
			if secInst[s.SecurityInstance] {
				return bad("server %d: Security instance %d given twice", i, s.SecurityInstance)
			}
			secInst[s.SecurityInstance] = true
		}
		if s.ServerInstance != 0 {
			if srvInst[s.ServerInstance] {
				return bad("server %d: Server instance %d given twice", i, s.ServerInstance)
			}
			srvInst[s.ServerInstance] = true
		}
		if !utf8.ValidString(s.URI) || !utf8.ValidString(s.PSKIdentity) || !utf8.ValidString(s.Binding) {
			return bad("server %d: a URI, PSK identity or binding that is not UTF-8", i)
		}
		if len(s.URI) > MaxServerURI {
			return model.Errorf(model.RequestEntityTooLarge, "store: bootstrap configuration of %q: server %d: URI of %d bytes, more than %d", c.Endpoint, i, len(s.URI), MaxServerURI)
		}
		u, err := url.Parse(s.URI)
		if err != nil || (u.Scheme != "coap" && u.Scheme != "coaps") || u.Host == "" || !strings.HasPrefix(s.URI, u.Scheme+"://") {
			return bad("server %d: URI %q is not coap://host:port or coaps://host:port", i, s.URI)
		}
		switch s.Mode {
		case ModePSK:
			if s.PSKIdentity == "" || len(s.PSK) == 0 {
				return bad("server %d: PSK mode needs an identity and a key", i)
			}
			if len(s.PSKIdentity) > MaxPSKIdentity || len(s.PSK) > MaxPSK {
				return model.Errorf(model.RequestEntityTooLarge, "store: bootstrap configuration of %q: server %d: PSK identity of %d bytes or key of %d, more than %d or %d",
					c.Endpoint, i, len(s.PSKIdentity), len(s.PSK), MaxPSKIdentity, MaxPSK)
			}
		case ModeCertificate, ModeRPK:
			if len(s.Certificate) == 0 || len(s.PrivateKey) == 0 || len(s.ServerCertificate) == 0 {
				return bad("server %d: certificate mode needs the device's certificate, its private key and the server's certificate", i)
			}
		case ModeNoSec:
		default:
			return bad("server %d: unknown security mode %d", i, s.Mode)
		}
	}
	aclInst := map[uint16]bool{}
	for i, a := range c.ACLs {
		if a.Instance != 0 {
			if aclInst[a.Instance] {
				return bad("ACL %d: instance %d given twice", i, a.Instance)
			}
			aclInst[a.Instance] = true
		}
		for ssid, bits := range a.Rights {
			if bits > 31 {
				return bad("ACL %d: rights %d of server %d: only the bits 1, 2, 4, 8 and 16 are defined", i, bits, ssid)
			}
		}
	}
	return nil
}

var _ CredentialLookup = (*kvSecurity)(nil)

// credentialKey returns the key of the credential of ep.
func credentialKey(ep string) string { return keyEndpoint + ep }

// get returns the credential of ep stored under its key.
func (s *kvSecurity) get(ctx context.Context, ep string) (*Credential, error) {
	c, ok, err := s.lookup(ctx, ep)
	if err == nil && !ok {
		err = notFound("credential for endpoint", ep)
	}
	return c, err
}

// lookup returns the credential of ep stored under its key, ok false if
// there is none.
func (s *kvSecurity) lookup(ctx context.Context, ep string) (c *Credential, ok bool, err error) {
	var b []byte
	if l, fast := s.kv.(kvLookuper); fast {
		b, ok, err = l.kvLookup(ctx, SecurityNamespace, keyEndpoint, ep)
	} else {
		b, err = s.kv.KVGet(ctx, SecurityNamespace, credentialKey(ep))
		ok = err == nil
		if errors.Is(err, model.ErrNotFound) {
			err = nil
		}
	}
	if err != nil || !ok {
		return nil, false, err
	}
	c, err = s.decode(ep, b)
	return c, err == nil, err
}

// decode decodes the credential b stored under the key of ep.
func (s *kvSecurity) decode(ep string, b []byte) (*Credential, error) {
	c, err := decodeCredential(b)
	if err != nil {
		return nil, err
	}
	if c.Endpoint != ep {
		return nil, formatError("credential", credentialKey(ep), fmt.Errorf("holds endpoint %q", c.Endpoint))
	}
	return c, nil
}

// holder returns the endpoint whose credential holds PSK identity id, or
// "" if none does (no index entry, or a stale one).
func (s *kvSecurity) holder(ctx context.Context, id string) (*Credential, error) {
	b, err := s.kv.KVGet(ctx, SecurityNamespace, keyPSK+id)
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ep := string(b)
	if checkName("endpoint", ep, MaxEndpoint) != nil {
		return nil, nil // a damaged index entry: believe nothing
	}
	c, err := s.get(ctx, ep)
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if c.PSKIdentity != id {
		return nil, nil
	}
	return c, nil
}

// PutCredential implements Security.
func (s *kvSecurity) PutCredential(ctx context.Context, c *Credential) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec, err := encodeCredential(c)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.PSKIdentity != "" {
		h, err := s.holder(ctx, c.PSKIdentity)
		if err != nil {
			return err
		}
		if h != nil && h.Endpoint != c.Endpoint {
			return model.Errorf(model.Conflict, "store: PSK identity %q belongs to endpoint %q", c.PSKIdentity, h.Endpoint)
		}
	}
	old, err := s.get(ctx, c.Endpoint)
	if err != nil && !errors.Is(err, model.ErrNotFound) && !errors.Is(err, ErrFormat) {
		return err
	}
	// Index first: a crash after it leaves an entry that the credential
	// does not back, which lookups ignore.
	if c.PSKIdentity != "" {
		if err := s.kv.KVPut(ctx, SecurityNamespace, keyPSK+c.PSKIdentity, []byte(c.Endpoint)); err != nil {
			return err
		}
	}
	if err := s.kv.KVPut(ctx, SecurityNamespace, credentialKey(c.Endpoint), rec); err != nil {
		return err
	}
	if old != nil && old.PSKIdentity != "" && old.PSKIdentity != c.PSKIdentity {
		s.dropIndex(ctx, old.PSKIdentity, c.Endpoint)
	}
	return nil
}

// dropIndex removes the index entry of id if it names ep. Failing leaves a
// stale entry, which lookups ignore: the change is already made, so the
// error is not the caller's.
func (s *kvSecurity) dropIndex(ctx context.Context, id, ep string) {
	b, err := s.kv.KVGet(ctx, SecurityNamespace, keyPSK+id)
	if err != nil || string(b) != ep {
		return
	}
	_ = s.kv.KVDelete(ctx, SecurityNamespace, keyPSK+id)
}

// DeleteCredential implements Security.
func (s *kvSecurity) DeleteCredential(ctx context.Context, ep string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkName("endpoint", ep, MaxEndpoint); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.get(ctx, ep)
	if err != nil && !errors.Is(err, ErrFormat) {
		return err
	}
	if err := s.kv.KVDelete(ctx, SecurityNamespace, credentialKey(ep)); err != nil {
		return err
	}
	if old != nil && old.PSKIdentity != "" {
		s.dropIndex(ctx, old.PSKIdentity, ep)
	}
	return nil
}

// Credential implements Security.
func (s *kvSecurity) Credential(ctx context.Context, ep string) (*Credential, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkName("endpoint", ep, MaxEndpoint); err != nil {
		return nil, err
	}
	return s.get(ctx, ep)
}

// LookupCredential implements CredentialLookup.
func (s *kvSecurity) LookupCredential(ctx context.Context, ep string) (*Credential, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if err := checkName("endpoint", ep, MaxEndpoint); err != nil {
		return nil, false, err
	}
	return s.lookup(ctx, ep)
}

// CredentialByPSKIdentity implements Security.
func (s *kvSecurity) CredentialByPSKIdentity(ctx context.Context, id string) (*Credential, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkName("PSK identity", id, MaxPSKIdentity); err != nil {
		return nil, err
	}
	c, err := s.holder(ctx, id)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, notFound("credential with PSK identity", id)
	}
	return c, nil
}

// Credentials implements Security.
func (s *kvSecurity) Credentials(ctx context.Context, fn func(*Credential) bool) error {
	return listRecords(ctx, s.kv, SecurityNamespace, func(key string, b []byte) (bool, error) {
		c, err := decodeCredential(b)
		if err != nil {
			return false, err
		}
		return fn(c), nil
	})
}

// listRecords calls fn with every record under "ep/" in ns, in ascending
// key (so endpoint) order, a page at a time; a key deleted between the
// page and its read is skipped.
func listRecords(ctx context.Context, kv KV, ns string, fn func(key string, b []byte) (bool, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	after := ""
	for {
		keys, more, err := kv.KVList(ctx, ns, keyEndpoint, after, listPage)
		if err != nil {
			return err
		}
		for _, k := range keys {
			b, err := kv.KVGet(ctx, ns, k)
			if errors.Is(err, model.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			goOn, err := fn(k, b)
			if err != nil {
				return err
			}
			if !goOn {
				return nil
			}
		}
		if !more || len(keys) == 0 {
			return nil
		}
		after = keys[len(keys)-1]
	}
}

// PutBootstrapConfig implements Bootstraps.
func (s *kvBootstraps) PutBootstrapConfig(ctx context.Context, c *BootstrapConfig) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := encodeBootstrapConfig(c)
	if err != nil {
		return err
	}
	return s.kv.KVPut(ctx, BootstrapNamespace, keyEndpoint+c.Endpoint, b)
}

// DeleteBootstrapConfig implements Bootstraps.
func (s *kvBootstraps) DeleteBootstrapConfig(ctx context.Context, ep string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkName("endpoint", ep, MaxEndpoint); err != nil {
		return err
	}
	// KVDelete of a missing key is no error: look first, for the 4.04.
	if _, err := s.kv.KVGet(ctx, BootstrapNamespace, keyEndpoint+ep); err != nil {
		if errors.Is(err, model.ErrNotFound) {
			return notFound("bootstrap configuration for endpoint", ep)
		}
		return err
	}
	return s.kv.KVDelete(ctx, BootstrapNamespace, keyEndpoint+ep)
}

// BootstrapConfig implements Bootstraps.
func (s *kvBootstraps) BootstrapConfig(ctx context.Context, ep string) (*BootstrapConfig, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkName("endpoint", ep, MaxEndpoint); err != nil {
		return nil, err
	}
	b, err := s.kv.KVGet(ctx, BootstrapNamespace, keyEndpoint+ep)
	if err != nil {
		if errors.Is(err, model.ErrNotFound) {
			return nil, notFound("bootstrap configuration for endpoint", ep)
		}
		return nil, err
	}
	c, err := decodeBootstrapConfig(b)
	if err != nil {
		return nil, err
	}
	if c.Endpoint != ep {
		return nil, formatError("bootstrap configuration", keyEndpoint+ep, fmt.Errorf("holds endpoint %q", c.Endpoint))
	}
	return c, nil
}

// BootstrapConfigs implements Bootstraps.
func (s *kvBootstraps) BootstrapConfigs(ctx context.Context, fn func(*BootstrapConfig) bool) error {
	return listRecords(ctx, s.kv, BootstrapNamespace, func(key string, b []byte) (bool, error) {
		c, err := decodeBootstrapConfig(b)
		if err != nil {
			return false, err
		}
		return fn(c), nil
	})
}
