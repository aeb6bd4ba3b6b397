package httpapi

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
)

// jsonCredential is a credential in the shape of the Eclipse Leshan demo
// servers (2.x): {"endpoint", "tls": {"mode": "psk", "details":
// {"identity", "key": hex}}} or {"endpoint", "tls": {"mode": "x509"}}.
// A credential that allows both a PSK and X.509 is mode "psk" with
// "x509": true beside "details", wasm2m's addition.
type jsonCredential struct {
	Endpoint string  `json:"endpoint"`
	TLS      jsonTLS `json:"tls"`
}

type jsonTLS struct {
	Mode    string          `json:"mode"`
	Details *jsonTLSDetails `json:"details,omitempty"`
	X509    bool            `json:"x509,omitempty"`
}

type jsonTLSDetails struct {
	Identity string `json:"identity,omitempty"`
	Key      string `json:"key,omitempty"`
}

func encodeCredential(c *store.Credential) jsonCredential {
	j := jsonCredential{Endpoint: c.Endpoint}
	if c.PSKIdentity != "" {
		j.TLS = jsonTLS{Mode: "psk", Details: &jsonTLSDetails{Identity: c.PSKIdentity, Key: hex.EncodeToString(c.PSK)}, X509: c.X509}
	} else {
		j.TLS = jsonTLS{Mode: "x509"}
	}
	return j
}

// jsonCredentialIn is what PUT /api/security/clients takes: the shape of
// jsonCredential, or the older Leshan (1.x) one, {"endpoint", "psk":
// {"identity", "key"}} or {"endpoint", "x509": true}.
type jsonCredentialIn struct {
	Endpoint *string `json:"endpoint"`
	TLS      *struct {
		Mode    string `json:"mode"`
		Details *struct {
			Identity *string `json:"identity"`
			Key      *string `json:"key"`
		} `json:"details"`
		X509 bool `json:"x509"`
	} `json:"tls"`
	PSK *struct {
		Identity *string `json:"identity"`
		Key      *string `json:"key"`
	} `json:"psk"`
	X509   *bool           `json:"x509"`
	RPK    json.RawMessage `json:"rpk"`
	OSCORE json.RawMessage `json:"oscore"`
}

// decodeCredential reads a credential from the body of a request; its
// errors are the caller's (400).
func decodeCredential(b []byte) (*store.Credential, error) {
	var in jsonCredentialIn
	if err := strictJSON(b, &in); err != nil {
		return nil, err
	}
	if in.Endpoint == nil || *in.Endpoint == "" {
		return nil, errors.New("no endpoint")
	}
	if !emptyJSON(in.OSCORE) {
		return nil, errors.New("OSCORE is not supported: give tls")
	}
	if !emptyJSON(in.RPK) {
		return nil, errors.New("raw public keys are not supported (pion/dtls has no RFC 7250): use psk or x509")
	}
	c := &store.Credential{Endpoint: *in.Endpoint}
	identity := func(id, key *string) error {
		if id == nil || *id == "" {
			return errors.New("psk: no identity")
		}
		if key == nil || *key == "" {
			return errors.New("psk: no key")
		}
		k, err := hex.DecodeString(*key)
		if err != nil {
			return fmt.Errorf("psk: the key is not a hex string: %v", err)
		}
		c.PSKIdentity, c.PSK = *id, k
		return nil
	}
	switch {
	case in.TLS != nil && (in.PSK != nil || in.X509 != nil):
		return nil, errors.New("give either tls (Leshan 2) or psk/x509 (Leshan 1), not both")
	case in.TLS != nil:
		switch in.TLS.Mode {
		case "psk":
			if in.TLS.Details == nil {
				return nil, errors.New("tls: mode psk without details")
			}
			if err := identity(in.TLS.Details.Identity, in.TLS.Details.Key); err != nil {
				return nil, err
			}
			c.X509 = in.TLS.X509
		case "x509":
			if in.TLS.Details != nil {
				return nil, errors.New("tls: mode x509 takes no details (the certificate's common name is the endpoint)")
			}
			c.X509 = true
		case "rpk":
			return nil, errors.New("tls: raw public keys are not supported (pion/dtls has no RFC 7250): use psk or x509")
		case "":
			return nil, errors.New("tls: no mode")
		default:
			return nil, fmt.Errorf("tls: unknown mode %q: want psk or x509", in.TLS.Mode)
		}
	case in.PSK != nil:
		if err := identity(in.PSK.Identity, in.PSK.Key); err != nil {
			return nil, err
		}
		c.X509 = in.X509 != nil && *in.X509
	case in.X509 != nil && *in.X509:
		c.X509 = true
	default:
		return nil, errors.New("no credential: give tls with mode psk or x509")
	}
	return c, nil
}

// strictJSON decodes one JSON value into v, refusing unknown fields and
// anything after it.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty body: want a JSON object")
		}
		return fmt.Errorf("not the JSON expected: %v", err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON object")
	}
	return nil
}

// emptyJSON reports whether a JSON value is absent or says nothing: null,
// false, "", [] or {}.
func emptyJSON(m json.RawMessage) bool {
	switch string(bytes.TrimSpace(m)) {
	case "", "null", "false", `""`, "[]", "{}":
		return true
	}
	return false
}

// readJSON reads a JSON request body (application/json, or no content
// type) of at most maxBody bytes. Its error has been written.
func readJSON(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", fmt.Sprintf("content type %q: want application/json", ct))
			return nil, false
		}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		badRequest(w, "bad_body", "read the body: "+err.Error())
		return nil, false
	}
	if len(b) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body larger than %d bytes", maxBody))
		return nil, false
	}
	return b, true
}

// storeError writes the HTTP error of a store's error: its 4.00, 4.04,
// 4.09 and 4.13 are the caller's, anything else the server's.
func storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, model.ErrBadRequest):
		badRequest(w, "invalid", errText(err))
	case errors.Is(err, model.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", errText(err))
	case errors.Is(err, model.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", errText(err))
	case errors.Is(err, model.ErrRequestEntityTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", errText(err))
	case errors.Is(err, model.ErrServiceUnavailable), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, "unavailable", errText(err))
	default:
		writeError(w, http.StatusInternalServerError, "store", errText(err))
	}
}

// security returns the security store, or writes the 404 of a server
// that keeps none.
func (a *API) security(w http.ResponseWriter) store.Security {
	if a.cfg.Security == nil {
		writeError(w, http.StatusNotFound, "no_security_store", "this server keeps no DTLS credentials (no security store configured)")
	}
	return a.cfg.Security
}

func (a *API) listCredentials(w http.ResponseWriter, r *http.Request, _ params) {
	sec := a.security(w)
	if sec == nil {
		return
	}
	out := []jsonCredential{}
	if err := sec.Credentials(r.Context(), func(c *store.Credential) bool {
		out = append(out, encodeCredential(c))
		return true
	}); err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getCredential(w http.ResponseWriter, r *http.Request, p params) {
	sec := a.security(w)
	if sec == nil {
		return
	}
	c, err := sec.Credential(r.Context(), p.endpoint)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, encodeCredential(c))
}

func (a *API) putCredential(w http.ResponseWriter, r *http.Request, _ params) {
	sec := a.security(w)
	if sec == nil {
		return
	}
	b, ok := readJSON(w, r)
	if !ok {
		return
	}
	c, err := decodeCredential(b)
	if err != nil {
		badRequest(w, "bad_credential", err.Error())
		return
	}
	if err := sec.PutCredential(r.Context(), c); err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, encodeCredential(c))
}

func (a *API) deleteCredential(w http.ResponseWriter, r *http.Request, p params) {
	sec := a.security(w)
	if sec == nil {
		return
	}
	if err := sec.DeleteCredential(r.Context(), p.endpoint); err != nil {
		storeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
