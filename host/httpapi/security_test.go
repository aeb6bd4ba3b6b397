package httpapi

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
)

// TestSecurityClients drives /api/security/clients through a real HTTP
// client against the API over a File store: the Leshan 2 and Leshan 1
// shapes, the listing, replacement, conflicts and bad input, and the
// credentials as the store (what the DTLS server asks) then holds them.
func TestSecurityClients(t *testing.T) {
	f, err := store.OpenFile(filepath.Join(t.TempDir(), "store.log"), store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	sec := store.NewSecurity(f)
	e := newEnv(t, envOptions{api: func(c *Config) { c.Security = sec }})
	const js = "application/json"
	for _, tc := range []struct {
		name, method, path, ctype, body string
		status                          int
		golden                          string
	}{
		{"empty list", "GET", "/api/security/clients", "", "", 200, ""},
		{"psk", "PUT", "/api/security/clients", js, `{"endpoint":"dev-psk","tls":{"mode":"psk","details":{"identity":"id-psk","key":"00FFaa"}}}`, 200, ""},
		{"x509", "PUT", "/api/security/clients", js, `{"endpoint":"dev-x509","tls":{"mode":"x509"}}`, 200, "security_x509"},
		{"psk and x509", "PUT", "/api/security/clients", "application/json; charset=utf-8", `{"endpoint":"dev-both","tls":{"mode":"psk","details":{"identity":"id-both","key":"01"},"x509":true}}`, 200, "security_both"},
		{"Leshan 1 psk", "PUT", "/api/security/clients", "", `{"endpoint":"dev-old","psk":{"identity":"id-old","key":"0a0b"}}`, 200, ""},
		{"Leshan 1 x509", "PUT", "/api/security/clients", js, `{"endpoint":"dev-old-x","x509":true}`, 200, ""},
		{"list", "GET", "/api/security/clients", "", "", 200, "security_clients"},
		{"one", "GET", "/api/security/clients/dev-psk", "", "", 200, ""},
		{"escaped endpoint", "PUT", "/api/security/clients", js, `{"endpoint":"a/b c","tls":{"mode":"x509"}}`, 200, ""},
		{"get escaped endpoint", "GET", "/api/security/clients/a%2Fb%20c", "", "", 200, ""},
		{"unknown", "GET", "/api/security/clients/nobody", "", "", 404, "error_no_credential"},
		{"conflict", "PUT", "/api/security/clients", js, `{"endpoint":"dev-x509","tls":{"mode":"psk","details":{"identity":"id-psk","key":"01"}}}`, 409, ""},
		{"not JSON", "PUT", "/api/security/clients", js, `{"endpoint":`, 400, ""},
		{"empty body", "PUT", "/api/security/clients", js, ``, 400, ""},
		{"two objects", "PUT", "/api/security/clients", js, `{"endpoint":"x","tls":{"mode":"x509"}} {}`, 400, ""},
		{"no endpoint", "PUT", "/api/security/clients", js, `{"tls":{"mode":"x509"}}`, 400, ""},
		{"no mode", "PUT", "/api/security/clients", js, `{"endpoint":"x","tls":{}}`, 400, ""},
		{"no tls", "PUT", "/api/security/clients", js, `{"endpoint":"x"}`, 400, ""},
		{"unknown mode", "PUT", "/api/security/clients", js, `{"endpoint":"x","tls":{"mode":"magic"}}`, 400, ""},
		{"rpk", "PUT", "/api/security/clients", js, `{"endpoint":"x","tls":{"mode":"rpk","details":{"key":"3059"}}}`, 400, "error_bad_credential"},
		{"oscore", "PUT", "/api/security/clients", js, `{"endpoint":"x","oscore":{"rid":"01","sid":"02","msec":"03"}}`, 400, ""},
		{"key not hex", "PUT", "/api/security/clients", js, `{"endpoint":"x","tls":{"mode":"psk","details":{"identity":"i","key":"xyz"}}}`, 400, ""},
		{"no key", "PUT", "/api/security/clients", js, `{"endpoint":"x","tls":{"mode":"psk","details":{"identity":"i"}}}`, 400, ""},
		{"unknown field", "PUT", "/api/security/clients", js, `{"endpoint":"x","tls":{"mode":"x509"},"extra":1}`, 400, ""},
		{"both shapes", "PUT", "/api/security/clients", js, `{"endpoint":"x","tls":{"mode":"x509"},"x509":true}`, 400, ""},
		{"key too long", "PUT", "/api/security/clients", js, `{"endpoint":"x","tls":{"mode":"psk","details":{"identity":"i","key":"` + strings.Repeat("00", store.MaxPSK+1) + `"}}}`, 413, ""},
		{"endpoint too long", "GET", "/api/security/clients/" + strings.Repeat("e", store.MaxEndpoint+1), "", "", 413, ""},
		{"XML", "PUT", "/api/security/clients", "application/xml", `<x/>`, 415, ""},
		{"delete", "DELETE", "/api/security/clients/dev-old", "", "", 200, ""},
		{"delete again", "DELETE", "/api/security/clients/dev-old", "", "", 404, ""},
		{"post is not a route", "POST", "/api/security/clients", js, `{}`, 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := e.call(t, tc.method, tc.path, tc.ctype, tc.body)
			if code != tc.status {
				t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.path, code, tc.status, b)
			}
			if tc.golden != "" {
				golden(t, tc.golden, b)
			}
			if code >= 400 && decode(t, b)["message"] == "" {
				t.Errorf("no message: %s", b)
			}
		})
	}
	// What the DTLS server sees.
	ctx := context.Background()
	for id, want := range map[string]*store.Credential{
		"id-psk":  {Endpoint: "dev-psk", PSKIdentity: "id-psk", PSK: []byte{0, 0xff, 0xaa}},
		"id-both": {Endpoint: "dev-both", PSKIdentity: "id-both", PSK: []byte{1}, X509: true},
	} {
		got, err := sec.CredentialByPSKIdentity(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d := storetest.DiffCredential(got, want); d != "" {
			t.Errorf("%s: %s", id, d)
		}
	}
	if _, err := sec.CredentialByPSKIdentity(ctx, "id-old"); err == nil {
		t.Error("a deleted credential's identity is still found")
	}
	var list []jsonCredential
	_, b := e.call(t, "GET", "/api/security/clients", "", "")
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	var eps []string
	for _, c := range list {
		eps = append(eps, c.Endpoint)
	}
	if strings.Join(eps, ",") != "a/b c,dev-both,dev-old-x,dev-psk,dev-x509" {
		t.Errorf("listed %q", eps)
	}
}

// TestSecurityClientsWithoutStore: a server with no security store
// answers the credential routes with a JSON 404 that says so.
func TestSecurityClientsWithoutStore(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/security/clients", ""},
		{"PUT", "/api/security/clients", `{"endpoint":"x","tls":{"mode":"x509"}}`},
		{"GET", "/api/security/clients/x", ""},
		{"DELETE", "/api/security/clients/x", ""},
	} {
		code, b := e.call(t, r.method, r.path, "application/json", r.body)
		if code != 404 {
			t.Fatalf("%s %s: %d %s", r.method, r.path, code, b)
		}
		golden(t, "error_no_security_store", b)
	}
}

// TestSecurityClientsAuth: the credential routes need a token unless
// authentication is disabled.
func TestSecurityClientsAuth(t *testing.T) {
	sec := store.NewSecurity(store.NewMemory())
	on := newEnv(t, envOptions{api: func(c *Config) { c.Security = sec }})
	off := newEnv(t, envOptions{api: func(c *Config) { c.Security = sec; c.Tokens = nil; c.AuthDisabled = true }})
	body := `{"endpoint":"dev","tls":{"mode":"x509"}}`
	if code, b := on.callAuth(t, "", "PUT", "/api/security/clients", "application/json", body); code != 401 {
		t.Fatalf("no token: %d %s", code, b)
	}
	if code, b := on.callAuth(t, "wrong", "GET", "/api/security/clients/dev", "", ""); code != 401 {
		t.Fatalf("wrong token: %d %s", code, b)
	}
	if code, b := off.callAuth(t, "", "PUT", "/api/security/clients", "application/json", body); code != 200 {
		t.Fatalf("auth disabled: %d %s", code, b)
	}
	if code, b := on.call(t, "GET", "/api/security/clients/dev", "", ""); code != 200 {
		t.Fatalf("token: %d %s", code, b)
	}
}
