package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server/servertest"
	"github.com/wasm2m/wasm2m/core/store"
)

// TestEveryRoute drives every route of the API through a real HTTP client
// against a server with a real simulated device, checks the JSON shapes
// against golden files, and checks that every route was used and every
// status it answered is in the OpenAPI document.
func TestEveryRoute(t *testing.T) {
	sec := store.NewSecurity(store.NewMemory())
	e := newEnv(t, envOptions{api: func(c *Config) { c.Security = sec }})
	events := e.openStream(t, "?ep=dev1")
	d := e.startDevice(t, "dev1", deviceOptions{})
	reg := events.next(t, evRegistration, 5*time.Second)
	golden(t, "event_registration", reg.data)

	type step struct {
		name, method, path, ctype, body string
		status                          int
		golden                          string // testdata file, "" for none
		check                           func(t *testing.T, b []byte)
	}
	field := func(k, want string) func(t *testing.T, b []byte) {
		return func(t *testing.T, b []byte) {
			t.Helper()
			if got := fmt.Sprint(decode(t, b)[k]); got != want {
				t.Errorf("%s = %q, want %q: %s", k, got, want, b)
			}
		}
	}
	steps := []step{
		{"healthz", "GET", "/healthz", "", "", 200, "healthz", nil},
		{"openapi", "GET", "/api/openapi.json", "", "", 200, "", field("openapi", "3.0.3")},
		{"clients", "GET", "/api/clients", "", "", 200, "clients", nil},
		{"client", "GET", "/api/clients/dev1", "", "", 200, "client", nil},
		{"unknown client", "GET", "/api/clients/nope", "", "", 404, "error_unknown_endpoint", nil},
		{"read object", "GET", "/api/clients/dev1/42770", "", "", 200, "read_object", nil},
		{"read instance", "GET", "/api/clients/dev1/42770/0", "", "", 200, "read_instance", nil},
		{"read resource", "GET", "/api/clients/dev1/3/0/0", "", "", 200, "read_resource", nil},
		{"read multiple resource", "GET", "/api/clients/dev1/42770/0/9", "", "", 200, "read_multiple_resource", nil},
		{"read resource instance", "GET", "/api/clients/dev1/42770/0/9/1", "", "", 200, "read_resource_instance", nil},
		{"read TLV", "GET", "/api/clients/dev1/42770/0?format=TLV", "", "", 200, "read_instance", nil},
		{"read SenML JSON", "GET", "/api/clients/dev1/42770/0?format=SENML_JSON&timeout=3", "", "", 200, "read_instance", nil},
		{"read unknown format", "GET", "/api/clients/dev1/3/0?format=XML", "", "", 400, "error_bad_format", nil},
		{"read bad timeout", "GET", "/api/clients/dev1/3/0?timeout=soon", "", "", 400, "", nil},
		{"read absent", "GET", "/api/clients/dev1/42770/9", "", "", 200, "read_not_found", nil},
		{"read unknown client", "GET", "/api/clients/nope/3/0", "", "", 404, "", nil},
		{"path too long", "GET", "/api/clients/dev1/3/0/1/2/3", "", "", 400, "error_bad_path", nil},
		{"path id too large", "GET", "/api/clients/dev1/3/70000", "", "", 400, "", nil},
		{"discover", "GET", "/api/clients/dev1/42770/0/discover", "", "", 200, "discover", nil},
		{"discover resource instance", "GET", "/api/clients/dev1/42770/0/9/1/discover", "", "", 400, "", nil},
		{"write text", "PUT", "/api/clients/dev1/42770/0/0", "text/plain", "bye", 200, "response_changed", nil},
		{"read written", "GET", "/api/clients/dev1/42770/0/0", "", "", 200, "", func(t *testing.T, b []byte) {
			if !strings.Contains(string(b), `"value":"bye"`) {
				t.Errorf("%s", b)
			}
		}},
		{"write text integer", "PUT", "/api/clients/dev1/42770/0/1", "text/plain", "7", 200, "", field("status", "CHANGED")},
		{"write JSON", "PUT", "/api/clients/dev1/42770/0/2", "application/json", `{"id":2,"kind":"singleResource","type":"UNSIGNED_INTEGER","value":"9"}`, 200, "", field("status", "CHANGED")},
		{"write instance", "PUT", "/api/clients/dev1/42770/0?replace=false&format=SENML_CBOR", "application/json",
			`{"kind":"instance","resources":[{"id":3,"kind":"singleResource","type":"FLOAT","value":"1.25"},{"id":7,"kind":"singleResource","type":"OBJLNK","value":{"objectId":3303,"objectInstanceId":0}},{"id":5,"kind":"singleResource","type":"OPAQUE","value":"cafe"},{"id":6,"kind":"singleResource","type":"TIME","value":1700000001000}]}`,
			200, "", field("status", "CHANGED")},
		{"write multiple resource", "PUT", "/api/clients/dev1/42770/0/9", "application/json", `{"id":9,"kind":"multiResource","type":"INTEGER","values":{"0":"5","3":"6"}}`, 200, "", field("status", "CHANGED")},
		{"read after writes", "GET", "/api/clients/dev1/42770/0", "", "", 200, "read_instance_written", nil},
		{"write read-only", "PUT", "/api/clients/dev1/42770/0/11", "text/plain", "x", 200, "response_method_not_allowed", nil},
		{"write bad JSON", "PUT", "/api/clients/dev1/42770/0/1", "application/json", `{"id":1,`, 400, "", nil},
		{"write wrong kind", "PUT", "/api/clients/dev1/42770/0/1", "application/json", `{"kind":"instance","resources":[]}`, 400, "", nil},
		{"write bad value", "PUT", "/api/clients/dev1/42770/0/1", "application/json", `{"id":1,"kind":"singleResource","type":"INTEGER","value":"seven"}`, 400, "error_bad_node", nil},
		{"write XML", "PUT", "/api/clients/dev1/42770/0/1", "application/xml", `<x/>`, 415, "", nil},
		{"write object", "PUT", "/api/clients/dev1/42770", "application/json", `{}`, 400, "", nil},
		{"partial update of a resource", "PUT", "/api/clients/dev1/42770/0/1?replace=false", "text/plain", "1", 400, "", nil},
		{"write attributes", "PUT", "/api/clients/dev1/42770/0/1/attributes?pmin=1&pmax=10", "", "", 200, "response_changed", nil},
		{"write bad attributes", "PUT", "/api/clients/dev1/42770/0/1/attributes?pmin=x", "", "", 400, "", nil},
		{"write no attributes", "PUT", "/api/clients/dev1/42770/0/1/attributes", "", "", 400, "", nil},
		{"execute", "POST", "/api/clients/dev1/42770/0/10", "text/plain", "0='a'", 200, "response_changed", nil},
		{"create", "POST", "/api/clients/dev1/42770", "application/json", `{"id":5,"kind":"instance","resources":[{"id":0,"kind":"singleResource","type":"STRING","value":"five"}]}`, 200, "response_created", nil},
		{"create without id", "POST", "/api/clients/dev1/42770", "application/json", `{"kind":"instance","resources":[{"id":0,"kind":"singleResource","type":"STRING","value":"any"}]}`, 200, "", field("status", "CREATED")},
		{"create at instance path", "POST", "/api/clients/dev1/42770/8", "application/json", `{"kind":"instance","resources":[{"id":0,"kind":"singleResource","type":"STRING","value":"eight"}]}`, 200, "", field("location", "/42770/8")},
		{"create a resource", "POST", "/api/clients/dev1/42770", "application/json", `{"id":0,"kind":"singleResource","type":"STRING","value":"x"}`, 400, "", nil},
		{"post resource instance", "POST", "/api/clients/dev1/42770/0/9/1", "", "", 400, "", nil},
		{"delete", "DELETE", "/api/clients/dev1/42770/5", "", "", 200, "response_deleted", nil},
		{"delete again", "DELETE", "/api/clients/dev1/42770/5", "", "", 200, "", field("status", "NOT_FOUND")},
		{"delete resource", "DELETE", "/api/clients/dev1/42770/0/1", "", "", 400, "", nil},
		{"observe", "POST", "/api/clients/dev1/42770/0/1/observe", "", "", 200, "response_observe", nil},
		{"observe temperature", "POST", "/api/clients/dev1/3303/0/5700/observe?format=SENML_JSON", "", "", 200, "", field("status", "CONTENT")},
		{"read composite", "GET", "/api/clients/dev1/composite?paths=/3/0/0,/42770/0/1", "", "", 200, "read_composite", nil},
		{"read composite without paths", "GET", "/api/clients/dev1/composite", "", "", 400, "", nil},
		{"write composite", "PUT", "/api/clients/dev1/composite?nodeformat=SENML_JSON", "application/json",
			`{"/42770/0/0":{"id":0,"kind":"singleResource","type":"STRING","value":"composite"},"/42770/0/9/0":{"id":0,"kind":"resourceInstance","type":"INTEGER","value":"11"}}`,
			200, "response_changed", nil},
		{"write composite not an object", "PUT", "/api/clients/dev1/composite", "application/json", `[]`, 400, "", nil},
		{"observe composite", "POST", "/api/clients/dev1/composite/observe?paths=/42770/0/0,/42770/0/4", "", "", 200, "response_observe_composite", nil},
		{"object specs", "GET", "/api/objectspecs/dev1", "", "", 200, "", nil},
		{"object specs of nobody", "GET", "/api/objectspecs/nope", "", "", 404, "", nil},
		{"put credential", "PUT", "/api/security/clients", "application/json", `{"endpoint":"dev1","tls":{"mode":"psk","details":{"identity":"dev1-id","key":"0102030405060708"}}}`, 200, "security_psk", nil},
		{"put conflicting credential", "PUT", "/api/security/clients", "application/json", `{"endpoint":"dev2","tls":{"mode":"psk","details":{"identity":"dev1-id","key":"01"}}}`, 409, "error_conflict", nil},
		{"put bad credential", "PUT", "/api/security/clients", "application/json", `{"endpoint":"dev2","tls":{"mode":"rpk","details":{"key":"01"}}}`, 400, "", nil},
		{"credentials", "GET", "/api/security/clients", "", "", 200, "", func(t *testing.T, b []byte) {
			if !strings.Contains(string(b), `"identity":"dev1-id"`) {
				t.Errorf("%s", b)
			}
		}},
		{"credential", "GET", "/api/security/clients/dev1", "", "", 200, "security_psk", nil},
		{"delete credential", "DELETE", "/api/security/clients/dev1", "", "", 200, "", nil},
		{"credential deleted", "GET", "/api/security/clients/dev1", "", "", 404, "", nil},
		{"no such route", "GET", "/api/nothing", "", "", 404, "error_no_route", nil},
		{"wrong method", "DELETE", "/api/clients", "", "", 405, "error_method", nil},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, b := e.call(t, s.method, s.path, s.ctype, s.body)
			if code != s.status {
				t.Fatalf("%s %s: %d, want %d: %s", s.method, s.path, code, s.status, b)
			}
			if s.golden != "" {
				golden(t, s.golden, b)
			}
			if s.check != nil {
				s.check(t, b)
			}
		})
	}

	t.Run("object specs shape", func(t *testing.T) {
		_, b := e.call(t, "GET", "/api/objectspecs/dev1", "", "")
		var specs []map[string]any
		if err := json.Unmarshal(b, &specs); err != nil {
			t.Fatal(err)
		}
		var keep []map[string]any
		for _, s := range specs {
			if id := s["id"].(float64); id == testObjectID || id == 3303 {
				keep = append(keep, s)
			}
		}
		b, _ = json.Marshal(keep)
		golden(t, "objectspecs", b)
	})

	t.Run("notifications", func(t *testing.T) {
		if err := d.test.Set(model.MustPath("/42770/0/1"), model.Int(99)); err != nil {
			t.Fatal(err)
		}
		for {
			m := events.next(t, evNotification, 5*time.Second)
			if strings.Contains(string(m.data), `"res":"/42770/0/1"`) {
				golden(t, "event_notification", m.data)
				break
			}
		}
		if err := d.test.Set(model.MustPath("/42770/0/4"), model.Bool(false)); err != nil {
			t.Fatal(err)
		}
		for {
			m := events.next(t, evNotification, 5*time.Second)
			if strings.Contains(string(m.data), `"kind":"composite"`) {
				golden(t, "event_notification_composite", m.data)
				break
			}
		}
	})

	t.Run("send", func(t *testing.T) {
		if err := d.engine.Send(ctxT(t, 5*time.Second), 1, model.MustPath("/42770/0/0")); err != nil {
			t.Fatal(err)
		}
		golden(t, "event_send", events.next(t, evSend, 5*time.Second).data)
	})

	t.Run("update", func(t *testing.T) {
		// Registration Update Trigger (/1/0/8), through the API.
		if code, b := e.call(t, "POST", "/api/clients/dev1/1/0/8", "", ""); code != 200 || !strings.Contains(string(b), `"CHANGED"`) {
			t.Fatalf("%d %s", code, b)
		}
		golden(t, "event_updated", events.next(t, evUpdated, 5*time.Second).data)
	})

	cancels := []struct{ name, path string }{
		{"cancel observe actively", "/api/clients/dev1/42770/0/1/observe?active"},
		{"cancel observe passively", "/api/clients/dev1/3303/0/5700/observe"},
		{"cancel composite actively", "/api/clients/dev1/composite/observe?paths=/42770/0/0,/42770/0/4&active"},
	}
	for _, c := range cancels {
		t.Run(c.name, func(t *testing.T) {
			code, b := e.call(t, "DELETE", c.path, "", "")
			if code != 200 {
				t.Fatalf("%d %s", code, b)
			}
			if strings.Contains(c.path, "active") {
				if got := decode(t, b)["status"]; got != "CONTENT" {
					t.Errorf("status %v: %s", got, b)
				}
			} else if len(b) != 0 {
				t.Errorf("a passive cancel answers %q", b)
			}
		})
	}
	t.Run("no observations left", func(t *testing.T) {
		obs, err := e.srv.Observations(context.Background(), "dev1")
		if err != nil || len(obs) != 0 {
			t.Errorf("%d observations left, %v", len(obs), err)
		}
		for _, p := range []string{"/api/clients/dev1/42770/0/1/observe?active", "/api/clients/dev1/composite/observe?paths=/3/0/0&active"} {
			if code, b := e.call(t, "DELETE", p, "", ""); code != 404 {
				t.Errorf("%s: %d %s", p, code, b)
			}
		}
		if code, _ := e.call(t, "DELETE", "/api/clients/dev1/composite/observe?paths=/3/0/0", "", ""); code != 200 {
			t.Errorf("passive cancel of nothing: %d", code)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		// A device that registers and then goes silent.
		dev, err := servertest.New(servertest.Config{Endpoint: "mute", Server: e.srv.Addr(), Lifetime: 300,
			Objects: []model.Node{model.NewObject(3, model.NewInstance(0, model.NewResource(0, model.String("OMA"))))}})
		if err != nil {
			t.Fatal(err)
		}
		if err := dev.Register(ctxT(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
		dev.Close()
		code, b := e.call(t, "GET", "/api/clients/mute/3/0/0?timeout=1", "", "")
		if code != http.StatusGatewayTimeout {
			t.Fatalf("%d %s", code, b)
		}
		if m := decode(t, b); m["error"] != "timeout" {
			t.Errorf("%s", b)
		}
	})

	t.Run("de-registration", func(t *testing.T) {
		d.engine.Close()
		golden(t, "event_deregistration", events.next(t, evDeregistration, 5*time.Second).data)
	})

	t.Run("metrics", func(t *testing.T) {
		code, b := e.call(t, "GET", "/metrics", "", "")
		if code != 200 {
			t.Fatal(code)
		}
		for _, want := range []string{
			`wasm2m_registrations 1`, // the mute device
			`wasm2m_lwm2m_requests_total{code="CONTENT",operation="read"}`,
			`wasm2m_lwm2m_requests_total{code="NOT_FOUND",operation="read"} 1`,
			`wasm2m_lwm2m_requests_total{code="GATEWAY_TIMEOUT",operation="read"} 1`,
			`wasm2m_lwm2m_requests_total{code="CREATED",operation="create"} 3`,
			`wasm2m_events_total{type="registered"} 2`,
			`wasm2m_notifications_total`,
			`wasm2m_delayed_requests 0`,
			`wasm2m_event_stream_subscribers 1`,
			`wasm2m_event_queue_depth`,
			`wasm2m_server_events_dropped_total 0`,
			`wasm2m_lwm2m_request_duration_seconds_bucket`,
			`go_goroutines`,
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("no %q in the metrics", want)
			}
		}
	})

	t.Run("every route used and documented", func(t *testing.T) {
		// The event stream is counted when it ends.
		events.close()
		waitFor(t, 5*time.Second, "the event stream to end", func() bool {
			return strings.Contains(metricsText(t, e), `route="event"`)
		})
		doc := loadOpenAPI(t)
		mfs, err := e.api.m.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		used := map[string]bool{}
		for _, mf := range mfs {
			if mf.GetName() != "wasm2m_http_requests_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				l := labels(m)
				used[l["route"]] = true
				if l["route"] == "unmatched" {
					continue
				}
				rt := routeByName(l["route"], l["method"])
				if rt == nil {
					t.Errorf("no route %s %s", l["method"], l["route"])
					continue
				}
				op := doc.Paths[rt.pattern][strings.ToLower(rt.method)]
				if _, ok := op.Responses[l["status"]]; !ok {
					t.Errorf("%s %s answered %s, which the OpenAPI document does not list", rt.method, rt.pattern, l["status"])
				}
			}
		}
		for _, rt := range routes {
			if !used[rt.name] {
				t.Errorf("route %s %s was not exercised", rt.method, rt.pattern)
			}
		}
	})
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func routeByName(name, method string) *route[*API] {
	for i := range routes {
		if routes[i].name == name && routes[i].method == method {
			return &routes[i]
		}
	}
	return nil
}

type openAPIDocument struct {
	OpenAPI  string                                 `json:"openapi"`
	Security []map[string][]string                  `json:"security"`
	Paths    map[string]map[string]openAPIOperation `json:"paths"`
}

type openAPIOperation struct {
	OperationID string                     `json:"operationId"`
	Security    *[]map[string][]string     `json:"security"`
	Parameters  []map[string]any           `json:"parameters"`
	Responses   map[string]json.RawMessage `json:"responses"`
}

func loadOpenAPI(t *testing.T) *openAPIDocument { return loadOpenAPIFile(t, "openapi.json") }

func loadOpenAPIFile(t *testing.T, file string) *openAPIDocument {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDocument
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

// TestOpenAPIMatchesRoutes checks the OpenAPI document against the route
// table both ways: every route is documented, every documented operation
// is a route, with the same authentication, path parameters and error
// responses.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	checkOpenAPI(t, "openapi.json", routes)
	// The served document is the file.
	e := newEnv(t, envOptions{})
	code, b := e.callAuth(t, "", "GET", "/api/openapi.json", "", "")
	want, _ := os.ReadFile("openapi.json")
	if code != 200 || string(b) != string(want) {
		t.Errorf("/api/openapi.json: %d, %d bytes, want the file's %d", code, len(b), len(want))
	}
}

func checkOpenAPI[T any](t *testing.T, file string, table []route[T]) {
	t.Helper()
	doc := loadOpenAPIFile(t, file)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	if len(doc.Security) == 0 {
		t.Error("no global security requirement")
	}
	var documented, served []string
	ids := map[string]bool{}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
			if op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("%s %s: missing or duplicate operationId %q", m, p, op.OperationID)
			}
			ids[op.OperationID] = true
			var inPath []string
			for _, prm := range op.Parameters {
				if prm["in"] == "path" {
					inPath = append(inPath, "{"+prm["name"].(string)+"}")
				}
			}
			for _, seg := range strings.Split(p, "/") {
				if strings.HasPrefix(seg, "{") && !slices.Contains(inPath, seg) {
					t.Errorf("%s %s: path parameter %s not declared", m, p, seg)
				}
			}
		}
	}
	for _, rt := range table {
		served = append(served, rt.method+" "+rt.pattern)
		op, ok := doc.Paths[rt.pattern][strings.ToLower(rt.method)]
		if !ok {
			continue
		}
		public := op.Security != nil && len(*op.Security) == 0
		if public != rt.public {
			t.Errorf("%s %s: public %v in the document, %v served", rt.method, rt.pattern, public, rt.public)
		}
		if _, ok := op.Responses["401"]; !ok && !rt.public {
			t.Errorf("%s %s: no 401 documented", rt.method, rt.pattern)
		}
		if strings.Contains(rt.pattern, "/{path}") {
			for _, c := range []string{"400", "404", "504"} {
				if _, ok := op.Responses[c]; !ok {
					t.Errorf("%s %s: no %s documented", rt.method, rt.pattern, c)
				}
			}
		}
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("routes and document differ:\ndocumented %q\nserved     %q", documented, served)
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		method, path, route string
		ep, lwm2m           string
		bad                 bool
	}{
		{"GET", "/api/clients", "clients", "", "", false},
		{"GET", "/api/clients/", "clients", "", "", false},
		{"GET", "/api/clients/a%2Fb", "client", "a/b", "", false},
		{"GET", "/api/clients/e/3", "read", "e", "/3", false},
		{"GET", "/api/clients/e/3/0/1/2", "read", "e", "/3/0/1/2", false},
		{"GET", "/api/clients/e/3/0/discover", "discover", "e", "/3/0", false},
		{"PUT", "/api/clients/e/3/0/1/attributes", "write_attributes", "e", "/3/0/1", false},
		{"POST", "/api/clients/e/3/0/1/observe", "observe", "e", "/3/0/1", false},
		{"GET", "/api/clients/e/composite", "read_composite", "e", "", false},
		{"DELETE", "/api/clients/e/composite/observe", "cancel_observe_composite", "e", "", false},
		{"GET", "/api/clients/e/3/x", "", "", "", false},
		{"GET", "/api/clients/e/1/2/3/4/5", "", "", "", true},
		{"GET", "/api/clients/e/65535", "", "", "", true},
	} {
		rt, p, _, bad := match(routes, tc.method, tc.path)
		name := ""
		if rt != nil {
			name = rt.name
		}
		if name != tc.route || (bad != nil) != tc.bad || (rt != nil && (p.endpoint != tc.ep || (tc.lwm2m != "" && p.path.String() != tc.lwm2m))) {
			t.Errorf("%s %s: route %q ep %q path %v bad %v", tc.method, tc.path, name, p.endpoint, p.path, bad)
		}
	}
}

func metricsText(t *testing.T, e *env) string {
	t.Helper()
	_, b := e.call(t, "GET", "/metrics", "", "")
	return string(b)
}

// TestEventStreamFilter: ?ep= limits the stream to one device.
func TestEventStreamFilter(t *testing.T) {
	e := newEnv(t, envOptions{})
	only := e.openStream(t, "?ep=two")
	all := e.openStream(t, "")
	e.startDevice(t, "one", deviceOptions{})
	e.startDevice(t, "two", deviceOptions{})
	for _, want := range []string{"one", "two"} {
		if m := decode(t, all.next(t, evRegistration, 5*time.Second).data); m["endpoint"] != want {
			t.Errorf("all: %v, want %s", m["endpoint"], want)
		}
	}
	if m := decode(t, only.next(t, evRegistration, 5*time.Second).data); m["endpoint"] != "two" {
		t.Errorf("filtered: %v", m["endpoint"])
	}
}
