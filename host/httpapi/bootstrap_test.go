package httpapi

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
)

// bsEnv is a BootstrapAPI on a real listener over a real store.
type bsEnv struct {
	api   *BootstrapAPI
	url   string
	store store.Bootstraps
	reg   *prometheus.Registry
}

func newBSEnv(t *testing.T, kv store.KV, opt func(*BootstrapConfig)) *bsEnv {
	t.Helper()
	e := &bsEnv{store: store.NewBootstraps(kv), reg: prometheus.NewRegistry()}
	cfg := BootstrapConfig{Store: e.store, Tokens: []string{"bs-token"}, Registry: e.reg}
	if opt != nil {
		opt(&cfg)
	}
	a, err := NewBootstrap(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a)
	t.Cleanup(hs.Close)
	e.api, e.url = a, hs.URL
	return e
}

func (e *bsEnv) call(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	return call(t, e.url, "bs-token", method, path, "application/json", body)
}

// leshanConfig is a configuration as Leshan's bootstrap demo UI posts it:
// a DM server over DTLS-PSK at Security /0/1 and Server /1/0, a NoSec one,
// an ACL, with some of Leshan's fields that wasm2m does not write, empty.
const leshanConfig = `{
  "autoIdForSecurityObject": false,
  "toDelete": ["/0", "/1"],
  "servers": {
    "0": {"shortId": 123, "lifetime": 300, "defaultMinPeriod": 1, "notifIfDisabled": true, "binding": "UQ", "disableTimeout": null, "muteSend": null},
    "2": {"shortId": 7, "binding": "U", "notifIfDisabled": false}
  },
  "security": {
    "1": {"uri": "coaps://dm.example.com:5684", "bootstrapServer": false, "securityMode": "PSK",
          "publicKeyOrId": [100, 101, 118, 45, 105, 100], "serverPublicKey": [], "secretKey": [1, 2, 3, 255],
          "serverId": 123, "smsSecurityMode": "NO_SEC", "serverSmsNumber": "", "clientOldOffTime": null},
    "3": {"uri": "coap://[2001:db8::1]:5683", "securityMode": "NO_SEC", "serverId": 7}
  },
  "acls": {
    "0": {"objectId": 3, "objectInstanceId": 0, "acls": {"123": 7, "0": 1}, "AccessControlOwner": 123}
  },
  "oscore": {}
}`

// TestBootstrapAPI drives every route of the bootstrap API through a real
// HTTP client against a File store: Leshan's shape in and out, how it
// maps onto store.BootstrapConfig, bad input, and every route used with
// only documented statuses.
func TestBootstrapAPI(t *testing.T) {
	f, err := store.OpenFile(filepath.Join(t.TempDir(), "store.log"), store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	e := newBSEnv(t, f, nil)
	steps := []struct {
		name, method, path, body string
		status                   int
		golden                   string
	}{
		{"healthz", "GET", "/healthz", "", 200, "healthz"},
		{"empty list", "GET", "/api/bootstrap", "", 200, ""},
		{"post", "POST", "/api/bootstrap/dev1", leshanConfig, 200, "bootstrap_config"},
		{"get", "GET", "/api/bootstrap/dev1", "", 200, "bootstrap_config"},
		{"post base64 bytes, default delete", "POST", "/api/bootstrap/dev2",
			`{"servers":{"0":{"shortId":1}},"security":{"0":{"uri":"coaps://h","securityMode":"X509","publicKeyOrId":"MIIB","secretKey":[-1,0],"serverPublicKey":"MII=","serverId":1}}}`, 200, ""},
		{"list", "GET", "/api/bootstrap", "", 200, "bootstrap_configs"},
		{"unknown", "GET", "/api/bootstrap/nobody", "", 404, "error_no_bootstrap_config"},
		{"not JSON", "POST", "/api/bootstrap/x", `{"servers":`, 400, ""},
		{"not an object", "POST", "/api/bootstrap/x", `[]`, 400, ""},
		{"unknown field", "POST", "/api/bootstrap/x", `{"serverz":{}}`, 400, ""},
		{"unsupported Leshan field", "POST", "/api/bootstrap/x", `{"servers":{"0":{"shortId":1,"muteSend":false,"trigger":true}},"security":{"0":{"uri":"coap://h","securityMode":"NO_SEC","serverId":1}}}`, 400, "error_bad_config"},
		{"bootstrap account", "POST", "/api/bootstrap/x", `{"security":{"0":{"uri":"coap://bs","bootstrapServer":true,"securityMode":"NO_SEC"}}}`, 400, ""},
		{"security without server", "POST", "/api/bootstrap/x", `{"security":{"1":{"uri":"coap://h","securityMode":"NO_SEC","serverId":5}}}`, 400, ""},
		{"server without security", "POST", "/api/bootstrap/x", `{"servers":{"0":{"shortId":5}}}`, 400, ""},
		{"bad mode", "POST", "/api/bootstrap/x", `{"servers":{"0":{"shortId":1}},"security":{"1":{"uri":"coap://h","securityMode":"EST","serverId":1}}}`, 400, ""},
		{"bad instance id", "POST", "/api/bootstrap/x", `{"acls":{"65535":{"objectId":3}}}`, 400, ""},
		{"byte out of range", "POST", "/api/bootstrap/x", `{"servers":{"0":{"shortId":1}},"security":{"1":{"uri":"coaps://h","securityMode":"PSK","publicKeyOrId":[300],"secretKey":[1],"serverId":1}}}`, 400, ""},
		{"short id out of range", "POST", "/api/bootstrap/x", `{"servers":{"0":{"shortId":0}},"security":{"1":{"uri":"coap://h","securityMode":"NO_SEC","serverId":0}}}`, 400, "error_invalid_bootstrap_config"},
		{"PSK without key", "POST", "/api/bootstrap/x", `{"servers":{"0":{"shortId":1}},"security":{"1":{"uri":"coaps://h","securityMode":"PSK","publicKeyOrId":[1],"serverId":1}}}`, 400, ""},
		{"http URI", "POST", "/api/bootstrap/x", `{"servers":{"0":{"shortId":1}},"security":{"1":{"uri":"http://h","securityMode":"NO_SEC","serverId":1}}}`, 400, ""},
		{"bad path to delete", "POST", "/api/bootstrap/x", `{"toDelete":["0"]}`, 400, ""},
		{"too large", "POST", "/api/bootstrap/x", `{"servers":{"0":{"shortId":1}},"security":{"1":{"uri":"coaps://h","securityMode":"X509","serverId":1,"publicKeyOrId":"` + strings.Repeat("A", 80<<10) + `","secretKey":[1],"serverPublicKey":[1]}}}`, 413, ""},
		{"no config made", "GET", "/api/bootstrap/x", "", 404, ""},
		{"delete", "DELETE", "/api/bootstrap/dev2", "", 204, ""},
		{"delete again", "DELETE", "/api/bootstrap/dev2", "", 404, ""},
		{"put is not a route", "PUT", "/api/bootstrap/dev1", "{}", 405, ""},
		{"no such route", "GET", "/api/clients", "", 404, ""},
		{"openapi", "GET", "/api/openapi.json", "", 200, ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, b := e.call(t, s.method, s.path, s.body)
			if code != s.status {
				t.Fatalf("%s %s: %d, want %d: %s", s.method, s.path, code, s.status, b)
			}
			if s.golden != "" {
				golden(t, s.golden, b)
			}
		})
	}

	t.Run("as stored", func(t *testing.T) {
		got, err := e.store.BootstrapConfig(context.Background(), "dev1")
		if err != nil {
			t.Fatal(err)
		}
		want := &store.BootstrapConfig{
			Endpoint: "dev1",
			Delete:   []string{"/0", "/1"},
			Servers: []store.ServerAccount{
				{ShortID: 123, SecurityInstance: 1, ServerInstance: 0, URI: "coaps://dm.example.com:5684", Mode: store.ModePSK,
					PSKIdentity: "dev-id", PSK: []byte{1, 2, 3, 255}, Lifetime: 300, DefaultPmin: 1, Binding: "UQ", NotificationStoring: true},
				{ShortID: 7, SecurityInstance: 3, ServerInstance: 2, URI: "coap://[2001:db8::1]:5683", Mode: store.ModeNoSec, Binding: "U"},
			},
			ACLs: []store.ACL{{Instance: 0, ObjectID: 3, ObjectInstance: 0, Rights: map[uint16]uint16{123: 7, 0: 1}, Owner: 123}},
		}
		if d := storetest.DiffBootstrapConfig(got, want); d != "" {
			t.Error(d)
		}
		got, err = e.store.BootstrapConfig(context.Background(), "nobody")
		if err == nil {
			t.Errorf("nobody: %v", got)
		}
	})

	t.Run("served document is the file", func(t *testing.T) {
		_, b := e.call(t, "GET", "/api/openapi.json", "")
		want, _ := os.ReadFile("openapi_bootstrap.json")
		if string(b) != string(want) {
			t.Errorf("%d bytes, want the file's %d", len(b), len(want))
		}
	})

	t.Run("every route used and documented", func(t *testing.T) {
		doc := loadOpenAPIFile(t, "openapi_bootstrap.json")
		mfs, err := e.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		used := map[string]bool{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				l := labels(m)
				used[l["route"]+" "+l["method"]] = true
				if l["route"] == "unmatched" {
					continue
				}
				var rt *route[*BootstrapAPI]
				for i := range bootstrapRoutes {
					if bootstrapRoutes[i].name == l["route"] && bootstrapRoutes[i].method == l["method"] {
						rt = &bootstrapRoutes[i]
					}
				}
				if rt == nil {
					t.Errorf("no route %s %s", l["method"], l["route"])
					continue
				}
				if _, ok := doc.Paths[rt.pattern][strings.ToLower(rt.method)].Responses[l["status"]]; !ok {
					t.Errorf("%s %s answered %s, which the document does not list", rt.method, rt.pattern, l["status"])
				}
			}
		}
		for _, rt := range bootstrapRoutes {
			if !used[rt.name+" "+rt.method] {
				t.Errorf("route %s %s was not exercised", rt.method, rt.pattern)
			}
		}
	})
}

func TestBootstrapOpenAPIMatchesRoutes(t *testing.T) {
	checkOpenAPI(t, "openapi_bootstrap.json", bootstrapRoutes)
}

// TestBootstrapAPIAuth: the same bearer tokens as the server's API:
// required unless disabled, never for /healthz and the document.
func TestBootstrapAPIAuth(t *testing.T) {
	e := newBSEnv(t, store.NewMemory(), func(c *BootstrapConfig) { c.Tokens = []string{"one", "two"} })
	for _, tc := range []struct {
		name, tok, method, path string
		want                    int
	}{
		{"no token", "", "GET", "/api/bootstrap", 401},
		{"wrong token", "three", "GET", "/api/bootstrap", 401},
		{"no token to post", "", "POST", "/api/bootstrap/dev", 401},
		{"first token", "one", "GET", "/api/bootstrap", 200},
		{"second token", "two", "GET", "/api/bootstrap", 200},
		{"health is public", "", "GET", "/healthz", 200},
		{"the document is public", "", "GET", "/api/openapi.json", 200},
		{"an unknown route needs a token", "", "GET", "/api/nothing", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := call(t, e.url, tc.tok, tc.method, tc.path, "application/json", `{}`)
			if code != tc.want {
				t.Fatalf("%d, want %d: %s", code, tc.want, b)
			}
			if code == 401 {
				golden(t, "error_unauthorized", b)
			}
		})
	}
	off := newBSEnv(t, store.NewMemory(), func(c *BootstrapConfig) { c.Tokens, c.AuthDisabled = nil, true })
	if code, b := call(t, off.url, "", "POST", "/api/bootstrap/dev", "application/json", `{"toDelete":[]}`); code != 200 {
		t.Fatalf("auth disabled: %d %s", code, b)
	}
	if _, err := NewBootstrap(BootstrapConfig{Store: off.store}); !errors.Is(err, ErrNoToken) {
		t.Errorf("no token: %v", err)
	}
	if _, err := NewBootstrap(BootstrapConfig{Store: off.store, Tokens: []string{""}}); err == nil {
		t.Error("an empty token is accepted")
	}
	if _, err := NewBootstrap(BootstrapConfig{Tokens: []string{"t"}}); err == nil {
		t.Error("no store is accepted")
	}
}

// TestBootstrapAPIHealth: Ready decides /healthz.
func TestBootstrapAPIHealth(t *testing.T) {
	ready := errors.New("the bootstrap server is not listening")
	e := newBSEnv(t, store.NewMemory(), func(c *BootstrapConfig) { c.Ready = func() error { return ready } })
	if code, b := e.call(t, "GET", "/healthz", ""); code != 503 || !strings.Contains(string(b), "not listening") {
		t.Fatalf("%d %s", code, b)
	}
	ready = nil
	if code, b := e.call(t, "GET", "/healthz", ""); code != 200 {
		t.Fatalf("%d %s", code, b)
	}
}

// TestBootstrapAPIStoreClosed: a store that fails is a JSON 503, never a
// stack trace.
func TestBootstrapAPIStoreClosed(t *testing.T) {
	m := store.NewMemory()
	e := newBSEnv(t, m, nil)
	m.Close()
	for _, r := range []struct{ method, path string }{{"GET", "/api/bootstrap"}, {"GET", "/api/bootstrap/x"}, {"POST", "/api/bootstrap/x"}, {"DELETE", "/api/bootstrap/x"}} {
		if code, b := e.call(t, r.method, r.path, `{}`); code != 503 {
			t.Errorf("%s %s: %d %s", r.method, r.path, code, b)
		}
	}
}
