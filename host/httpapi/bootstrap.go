package httpapi

import (
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasm2m/wasm2m/core/store"
)

// BootstrapConfig configures a BootstrapAPI.
type BootstrapConfig struct {
	// Store keeps the bootstrap configurations the API manages;
	// required.
	Store store.Bootstraps
	// Tokens are the bearer tokens accepted in the Authorization header.
	// At least one is required unless AuthDisabled.
	Tokens []string
	// AuthDisabled serves every route without a token: for local use only.
	AuthDisabled bool
	// Ready reports whether the bootstrap server is serving, for
	// /healthz: a non-nil error answers 503 with its text. nil: always
	// ready.
	Ready func() error
	// Logger receives the API's logs; nil discards them.
	Logger *slog.Logger
	// Registry, if not nil, receives the counter of HTTP requests
	// (wasm2m_http_requests_total).
	Registry prometheus.Registerer
}

// BootstrapAPI is the HTTP API of a bootstrap server (`wasm2m
// bootstrap`): the bootstrap configurations of the devices, in the shape
// of the Eclipse Leshan bootstrap demo server, at /api/bootstrap, with
// /healthz and its own OpenAPI document at /api/openapi.json, behind the
// same bearer-token authentication as API. It is an http.Handler, safe
// for concurrent use, and starts no goroutine: it needs no Close.
type BootstrapAPI struct {
	cfg   BootstrapConfig
	front front
}

// NewBootstrap returns the API over cfg.Store.
func NewBootstrap(cfg BootstrapConfig) (*BootstrapAPI, error) {
	if cfg.Store == nil {
		return nil, errors.New("httpapi: no bootstrap store")
	}
	au, err := newAuth(cfg.Tokens, cfg.AuthDisabled)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	count := newHTTPCounter()
	if cfg.Registry != nil {
		if err := cfg.Registry.Register(count); err != nil {
			return nil, fmt.Errorf("httpapi: register the bootstrap API's metrics: %w", err)
		}
	}
	return &BootstrapAPI{cfg: cfg, front: front{log: cfg.Logger, auth: au, count: count}}, nil
}

// ServeHTTP routes, authenticates, counts, and turns a panic into a 500.
func (b *BootstrapAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	serve(&b.front, b, bootstrapRoutes, w, r)
}

// bootstrapRoutes is every operation of BootstrapAPI; its OpenAPI
// document (openapi_bootstrap.json) lists the same ones.
var bootstrapRoutes = []route[*BootstrapAPI]{
	{http.MethodGet, "/healthz", "healthz", (*BootstrapAPI).health, true},
	{http.MethodGet, "/api/openapi.json", "openapi", (*BootstrapAPI).openAPI, true},
	{http.MethodGet, "/api/bootstrap", "bootstrap_configs", (*BootstrapAPI).list, false},
	{http.MethodGet, "/api/bootstrap/{endpoint}", "bootstrap_config", (*BootstrapAPI).get, false},
	{http.MethodPost, "/api/bootstrap/{endpoint}", "put_bootstrap_config", (*BootstrapAPI).put, false},
	{http.MethodDelete, "/api/bootstrap/{endpoint}", "delete_bootstrap_config", (*BootstrapAPI).delete, false},
}

//go:embed openapi_bootstrap.json
var bootstrapOpenAPIDoc []byte

func (b *BootstrapAPI) openAPI(w http.ResponseWriter, r *http.Request, _ params) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(bootstrapOpenAPIDoc)
}

func (b *BootstrapAPI) health(w http.ResponseWriter, r *http.Request, _ params) {
	if b.cfg.Ready != nil {
		if err := b.cfg.Ready(); err != nil {
			writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (b *BootstrapAPI) list(w http.ResponseWriter, r *http.Request, _ params) {
	out := map[string]*jsonBootstrapConfig{}
	if err := b.cfg.Store.BootstrapConfigs(r.Context(), func(c *store.BootstrapConfig) bool {
		out[c.Endpoint] = encodeBootstrapConfig(c)
		return true
	}); err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (b *BootstrapAPI) get(w http.ResponseWriter, r *http.Request, p params) {
	c, err := b.cfg.Store.BootstrapConfig(r.Context(), p.endpoint)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, encodeBootstrapConfig(c))
}

func (b *BootstrapAPI) put(w http.ResponseWriter, r *http.Request, p params) {
	body, ok := readJSON(w, r)
	if !ok {
		return
	}
	c, err := decodeBootstrapConfig(p.endpoint, body)
	if err != nil {
		badRequest(w, "bad_config", err.Error())
		return
	}
	if err := b.cfg.Store.PutBootstrapConfig(r.Context(), c); err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, encodeBootstrapConfig(c))
}

func (b *BootstrapAPI) delete(w http.ResponseWriter, r *http.Request, p params) {
	if err := b.cfg.Store.DeleteBootstrapConfig(r.Context(), p.endpoint); err != nil {
		storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// jsonBootstrapConfig is a bootstrap configuration in the shape of the
// Eclipse Leshan bootstrap demo server (its BootstrapConfig): the paths
// to delete, and Server (/1), Security (/0) and Access Control (/2)
// instances by instance id. See doc.go for how it maps onto
// store.BootstrapConfig.
type jsonBootstrapConfig struct {
	ToDelete []string                  `json:"toDelete"`
	Servers  map[string]jsonBSServer   `json:"servers"`
	Security map[string]jsonBSSecurity `json:"security"`
	ACLs     map[string]jsonBSACL      `json:"acls"`
}

type jsonBSServer struct {
	ShortID          uint16  `json:"shortId"`
	Lifetime         *uint32 `json:"lifetime,omitempty"`
	DefaultMinPeriod *uint32 `json:"defaultMinPeriod,omitempty"`
	DefaultMaxPeriod *uint32 `json:"defaultMaxPeriod,omitempty"`
	NotifIfDisabled  bool    `json:"notifIfDisabled"`
	Binding          string  `json:"binding,omitempty"`
}

type jsonBSSecurity struct {
	URI             string    `json:"uri"`
	BootstrapServer bool      `json:"bootstrapServer"`
	SecurityMode    string    `json:"securityMode"`
	PublicKeyOrID   byteArray `json:"publicKeyOrId"`
	ServerPublicKey byteArray `json:"serverPublicKey"`
	SecretKey       byteArray `json:"secretKey"`
	ServerID        uint16    `json:"serverId"`
}

type jsonBSACL struct {
	ObjectID           uint16            `json:"objectId"`
	ObjectInstanceID   uint16            `json:"objectInstanceId"`
	ACLs               map[string]uint16 `json:"acls"`
	AccessControlOwner uint16            `json:"AccessControlOwner"`
}

// byteArray is a byte string as Leshan's bootstrap demo writes it: an
// array of numbers 0 to 255. It also reads what Jackson reads into a
// byte[]: numbers -128 to 255, or a base64 string.
type byteArray []byte

func (b byteArray) MarshalJSON() ([]byte, error) {
	out := make([]byte, 0, 2+4*len(b))
	out = append(out, '[')
	for i, x := range b {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendUint(out, uint64(x), 10)
	}
	return append(out, ']'), nil
}

func (b *byteArray) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*b = nil
		return nil
	}
	var s string
	if json.Unmarshal(data, &s) == nil {
		v, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return fmt.Errorf("a byte string is an array of numbers or base64: %v", err)
		}
		*b = v
		return nil
	}
	var ns []int
	if err := json.Unmarshal(data, &ns); err != nil {
		return errors.New("a byte string is an array of numbers or base64")
	}
	v := make([]byte, len(ns))
	for i, n := range ns {
		if n < -128 || n > 255 {
			return fmt.Errorf("byte %d is %d, not -128 to 255", i, n)
		}
		v[i] = byte(n)
	}
	*b = v
	return nil
}

// The security modes by their Leshan names.
var modeNames = map[store.SecurityMode]string{
	store.ModePSK: "PSK", store.ModeRPK: "RPK", store.ModeCertificate: "X509", store.ModeNoSec: "NO_SEC",
}

func encodeBootstrapConfig(c *store.BootstrapConfig) *jsonBootstrapConfig {
	j := &jsonBootstrapConfig{
		ToDelete: c.Delete,
		Servers:  map[string]jsonBSServer{},
		Security: map[string]jsonBSSecurity{},
		ACLs:     map[string]jsonBSACL{},
	}
	if j.ToDelete == nil {
		j.ToDelete = []string{"/"}
	}
	opt := func(v uint32) *uint32 {
		if v == 0 {
			return nil
		}
		return &v
	}
	var secIDs, srvIDs, aclIDs []uint16
	for _, s := range c.Servers {
		secIDs, srvIDs = append(secIDs, s.SecurityInstance), append(srvIDs, s.ServerInstance)
	}
	for _, a := range c.ACLs {
		aclIDs = append(aclIDs, a.Instance)
	}
	secKeys, srvKeys, aclKeys := instanceKeys(secIDs), instanceKeys(srvIDs), instanceKeys(aclIDs)
	for i, s := range c.Servers {
		srv := jsonBSServer{ShortID: s.ShortID, Lifetime: opt(s.Lifetime), DefaultMinPeriod: opt(s.DefaultPmin), DefaultMaxPeriod: opt(s.DefaultPmax),
			NotifIfDisabled: s.NotificationStoring, Binding: s.Binding}
		sec := jsonBSSecurity{URI: s.URI, SecurityMode: modeNames[s.Mode], ServerID: s.ShortID,
			PublicKeyOrID: byteArray{}, ServerPublicKey: byteArray{}, SecretKey: byteArray{}}
		switch s.Mode {
		case store.ModePSK:
			sec.PublicKeyOrID, sec.SecretKey = byteArray(s.PSKIdentity), s.PSK
		case store.ModeCertificate, store.ModeRPK:
			sec.PublicKeyOrID, sec.SecretKey, sec.ServerPublicKey = s.Certificate, s.PrivateKey, s.ServerCertificate
		}
		j.Servers[srvKeys[i]] = srv
		j.Security[secKeys[i]] = sec
	}
	for i, a := range c.ACLs {
		acl := jsonBSACL{ObjectID: a.ObjectID, ObjectInstanceID: a.ObjectInstance, ACLs: map[string]uint16{}, AccessControlOwner: a.Owner}
		for ssid, bits := range a.Rights {
			acl.ACLs[strconv.Itoa(int(ssid))] = bits
		}
		j.ACLs[aclKeys[i]] = acl
	}
	return j
}

// instanceKeys returns the map keys of instance ids. Id 0 is "the
// bootstrap server picks" (store.ServerAccount): the first such instance
// is key "0", as a configuration made through this API has it; more of
// them (made through the Go API) get the lowest ids from 1 up that no
// instance names, so that no two keys collide.
func instanceKeys(ids []uint16) []string {
	used := map[uint16]bool{}
	for _, id := range ids {
		used[id] = true
	}
	out := make([]string, len(ids))
	zero, next := false, uint16(1)
	for i, id := range ids {
		switch {
		case id != 0:
		case !zero:
			zero = true
		default:
			for used[next] {
				next++
			}
			used[next] = true
			id = next
		}
		out[i] = strconv.Itoa(int(id))
	}
	return out
}

// The fields of Leshan's ServerConfig and ServerSecurity that wasm2m does
// not write to a device: a configuration may carry them only empty (null,
// false, "", [], {}; smsSecurityMode "NO_SEC").
var (
	leshanServerExtras = []string{"disableTimeout", "apnLink", "registrationPriority", "initialDelay", "registrationFailure",
		"bootstrapOnRegistrationFailure", "communicationRetryCount", "CommunicationRetryTimer", "SequenceDelayTimer",
		"SequenceRetryCount", "trigger", "preferredTransport", "muteSend"}
	leshanSecurityExtras = []string{"smsSecurityMode", "smsBindingKeyParam", "smsBindingKeySecret", "serverSmsNumber",
		"clientOldOffTime", "bootstrapServerAccountTimeout", "matchingType", "certificateUsage", "sni", "cipherSuite", "oscoreSecurityMode"}
	leshanConfigExtras = []string{"autoIdForSecurityObject", "contentFormat", "oscore"}
)

// splitJSON decodes an object into its fields, checks that every field is
// in known or, empty, in extras, and decodes the known ones into v.
func splitJSON(what string, raw json.RawMessage, v any, extras []string) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return fmt.Errorf("%s: not a JSON object", what)
	}
	known := map[string]json.RawMessage{}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		switch {
		case slices.Contains(extras, k):
			if !emptyJSON(fields[k]) && !(k == "smsSecurityMode" && string(fields[k]) == `"NO_SEC"`) {
				return fmt.Errorf("%s: %s is not supported by wasm2m (leave it out or null)", what, k)
			}
		default:
			known[k] = fields[k]
		}
	}
	b, _ := json.Marshal(known)
	if err := strictJSON(b, v); err != nil {
		return fmt.Errorf("%s: %v", what, err)
	}
	return nil
}

// decodeBootstrapConfig reads the configuration of ep from a request
// body; its errors are the caller's (400).
func decodeBootstrapConfig(ep string, body []byte) (*store.BootstrapConfig, error) {
	var in struct {
		ToDelete *[]string                  `json:"toDelete"`
		Servers  map[string]json.RawMessage `json:"servers"`
		Security map[string]json.RawMessage `json:"security"`
		ACLs     map[string]json.RawMessage `json:"acls"`
	}
	if err := splitJSON("configuration", body, &in, leshanConfigExtras); err != nil {
		return nil, err
	}
	c := &store.BootstrapConfig{Endpoint: ep}
	if in.ToDelete != nil {
		c.Delete = *in.ToDelete
		if c.Delete == nil {
			c.Delete = []string{}
		}
	}
	// Server instances by short server id.
	type srvAt struct {
		inst uint16
		srv  jsonBSServer
	}
	srvs, err := decodeInstances[jsonBSServer]("servers", in.Servers, leshanServerExtras)
	if err != nil {
		return nil, err
	}
	servers := map[uint16]srvAt{}
	for _, e := range srvs {
		if _, dup := servers[e.v.ShortID]; dup {
			return nil, fmt.Errorf("servers %d: short server id %d given twice", e.id, e.v.ShortID)
		}
		servers[e.v.ShortID] = srvAt{e.id, e.v}
	}
	seen := map[uint16]bool{}
	// The Security instances in the order of their ids, each with the
	// Server instance of its serverId.
	secs, err := decodeInstances[jsonBSSecurity]("security", in.Security, leshanSecurityExtras)
	if err != nil {
		return nil, err
	}
	for _, e := range secs {
		id, s := e.id, e.v
		if s.BootstrapServer {
			return nil, fmt.Errorf("security %d: a bootstrap server account is not written by wasm2m bootstrap (the device keeps its own)", id)
		}
		srv, ok := servers[s.ServerID]
		if !ok {
			return nil, fmt.Errorf("security %d: serverId %d has no servers entry with that shortId", id, s.ServerID)
		}
		if seen[s.ServerID] {
			return nil, fmt.Errorf("security %d: serverId %d given twice", id, s.ServerID)
		}
		seen[s.ServerID] = true
		a := store.ServerAccount{
			ShortID: s.ServerID, SecurityInstance: id, ServerInstance: srv.inst, URI: s.URI,
			Binding: srv.srv.Binding, NotificationStoring: srv.srv.NotifIfDisabled,
		}
		for _, f := range []struct {
			p *uint32
			v *uint32
		}{{&a.Lifetime, srv.srv.Lifetime}, {&a.DefaultPmin, srv.srv.DefaultMinPeriod}, {&a.DefaultPmax, srv.srv.DefaultMaxPeriod}} {
			if f.v != nil {
				*f.p = *f.v
			}
		}
		switch s.SecurityMode {
		case "PSK":
			a.Mode, a.PSKIdentity, a.PSK = store.ModePSK, string(s.PublicKeyOrID), s.SecretKey
		case "X509", "RPK":
			a.Mode = store.ModeCertificate
			if s.SecurityMode == "RPK" {
				a.Mode = store.ModeRPK
			}
			a.Certificate, a.PrivateKey, a.ServerCertificate = s.PublicKeyOrID, s.SecretKey, s.ServerPublicKey
		case "NO_SEC":
			a.Mode = store.ModeNoSec
		default:
			return nil, fmt.Errorf("security %d: securityMode %q: want PSK, RPK, X509 or NO_SEC", id, s.SecurityMode)
		}
		c.Servers = append(c.Servers, a)
	}
	for ssid := range servers {
		if !seen[ssid] {
			return nil, fmt.Errorf("servers: shortId %d has no security entry with that serverId", ssid)
		}
	}
	acls, err := decodeInstances[jsonBSACL]("acls", in.ACLs, nil)
	if err != nil {
		return nil, err
	}
	for _, e := range acls {
		id, a := e.id, e.v
		acl := store.ACL{Instance: id, ObjectID: a.ObjectID, ObjectInstance: a.ObjectInstanceID, Owner: a.AccessControlOwner}
		for s, bits := range a.ACLs {
			ssid, err := strconv.ParseUint(s, 10, 16)
			if err != nil {
				return nil, fmt.Errorf("acls %d: %q is not a short server id", id, s)
			}
			if acl.Rights == nil {
				acl.Rights = map[uint16]uint16{}
			}
			if _, dup := acl.Rights[uint16(ssid)]; dup {
				return nil, fmt.Errorf("acls %d: short server id %d given twice", id, ssid)
			}
			acl.Rights[uint16(ssid)] = bits
		}
		c.ACLs = append(c.ACLs, acl)
	}
	return c, nil
}

// instanceOf is one entry of a map of instances: its id and value.
type instanceOf[T any] struct {
	id uint16
	v  T
}

// decodeInstances decodes a map of instances (key: the instance id) with
// splitJSON, in ascending id order.
func decodeInstances[T any](what string, m map[string]json.RawMessage, extras []string) ([]instanceOf[T], error) {
	out := make([]instanceOf[T], 0, len(m))
	seen := map[uint64]bool{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		n, err := strconv.ParseUint(k, 10, 16)
		if err != nil || n == 65535 {
			return nil, fmt.Errorf("%s %q: not an instance id (0 to 65534)", what, k)
		}
		if seen[n] {
			return nil, fmt.Errorf("%s %q: instance %d given twice", what, k, n)
		}
		seen[n] = true
		e := instanceOf[T]{id: uint16(n)}
		if err := splitJSON(fmt.Sprintf("%s %d", what, n), m[k], &e.v, extras); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b instanceOf[T]) int { return int(a.id) - int(b.id) })
	return out, nil
}
