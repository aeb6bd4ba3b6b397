package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/transport"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

var fastTransport = transport.Config{ACKTimeout: 100 * time.Millisecond, MaxRetransmit: 2, PeerRate: -1, SeparateResponseAfter: 500 * time.Millisecond}

// testObjectID is an object of the tests with a resource of every type,
// multiple instances (Create, Delete), an executable and a read-only
// resource.
const testObjectID = 42770

var testDef = &model.ObjectDef{
	ID: testObjectID, Name: "Test", Version: model.V1_0, LWM2MVersion: model.V1_1, Multiple: true,
	Resources: []model.ResourceDef{
		{ID: 0, Name: "String", Operations: model.OpRead | model.OpWrite, Type: model.TypeString},
		{ID: 1, Name: "Integer", Operations: model.OpRead | model.OpWrite, Type: model.TypeInteger},
		{ID: 2, Name: "Unsigned", Operations: model.OpRead | model.OpWrite, Type: model.TypeUnsigned},
		{ID: 3, Name: "Float", Operations: model.OpRead | model.OpWrite, Type: model.TypeFloat},
		{ID: 4, Name: "Boolean", Operations: model.OpRead | model.OpWrite, Type: model.TypeBoolean},
		{ID: 5, Name: "Opaque", Operations: model.OpRead | model.OpWrite, Type: model.TypeOpaque},
		{ID: 6, Name: "Time", Operations: model.OpRead | model.OpWrite, Type: model.TypeTime},
		{ID: 7, Name: "Objlnk", Operations: model.OpRead | model.OpWrite, Type: model.TypeObjlnk},
		{ID: 9, Name: "Integers", Operations: model.OpRead | model.OpWrite, Multiple: true, Type: model.TypeInteger},
		{ID: 10, Name: "Run", Operations: model.OpExecute, Type: model.TypeNone},
		{ID: 11, Name: "ReadOnly", Operations: model.OpRead, Type: model.TypeString},
	},
}

func testInstance(id uint16) model.Node {
	return model.NewInstance(id,
		model.NewResource(0, model.String("hello")),
		model.NewResource(1, model.Int(-42)),
		model.NewResource(2, model.Uint(42)),
		model.NewResource(3, model.Float(2.5)),
		model.NewResource(4, model.Bool(true)),
		model.NewResource(5, model.Opaque([]byte{1, 2, 3})),
		model.NewResource(6, model.UnixTime(1700000000)),
		model.NewResource(7, model.Objlnk(3, 0)),
		model.NewMultipleResourceOf(9, model.Int(1), model.Int(2)),
		model.NewResource(11, model.String("fixed")),
	)
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// env is an LwM2M server on loopback with the API on a real listener.
type env struct {
	srv   *server.Server
	api   *API
	http  *httptest.Server
	token string
}

type envOptions struct {
	api      func(*Config)
	server   func(*server.Config)
	listener net.Listener // nil: httptest's own
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	defs, err := objects.NewRegistry(testDef)
	if err != nil {
		t.Fatal(err)
	}
	scfg := server.Config{Addr: "127.0.0.1:0", Transport: fastTransport, Definitions: defs}
	if o.server != nil {
		o.server(&scfg)
	}
	srv, err := server.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	e := &env{srv: srv, token: "test-token"}
	cfg := Config{Server: srv, Tokens: []string{e.token}}
	if o.api != nil {
		o.api(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	e.api = a
	hs := httptest.NewUnstartedServer(a)
	if o.listener != nil {
		hs.Listener.Close()
		hs.Listener = o.listener
	}
	hs.Start()
	e.http = hs
	t.Cleanup(func() {
		a.Close()
		hs.Close()
		srv.Close()
	})
	return e
}

// device is a simulated device: the client engine with the built-in
// objects and the test object.
type device struct {
	engine *client.Engine
	test   *stdobj.Object
	temp   *stdobj.Temperature
}

type deviceOptions struct {
	queue     bool
	lifetime  time.Duration
	awakeTime time.Duration
}

func (e *env) startDevice(t *testing.T, ep string, o deviceOptions) *device {
	t.Helper()
	binding := "U"
	if o.queue {
		binding = "UQ"
	}
	if o.lifetime == 0 {
		o.lifetime = 300 * time.Second
	}
	d := &device{
		test: stdobj.New(testDef, testInstance(0)),
		temp: stdobj.NewTemperature(stdobj.TemperatureSensor{Value: 21.5, Units: "Cel"}),
	}
	d.test.OnExecute(10, func(ctx context.Context, inst uint16, args []byte) error { return nil })
	objs := []client.Object{
		stdobj.NewSecurity(stdobj.SecurityAccount{ServerURI: "coap://" + e.srv.Addr().String(), Mode: stdobj.SecurityNoSec, SSID: 1}),
		stdobj.NewServer(stdobj.ServerAccount{SSID: 1, Lifetime: o.lifetime, Binding: binding}),
		stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "wasm2m", ModelNumber: "test", SerialNumber: "1"}),
		d.temp,
		d.test,
	}
	eng, err := client.New(client.Config{Endpoint: ep, Objects: objs, Addr: "127.0.0.1:0", Transport: fastTransport, AwakeTime: o.awakeTime})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		eng.Close()
		d.temp.Close()
	})
	if err := eng.Start(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := eng.WaitRegistered(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the server to know "+ep, func() bool {
		_, err := e.srv.Registration(context.Background(), ep)
		return err == nil
	})
	d.engine = eng
	return d
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// call makes an HTTP request with the env's token (or tok when set; "-"
// for none) and returns the status and body.
func (e *env) call(t *testing.T, method, path, ctype, body string) (int, []byte) {
	return e.callAuth(t, e.token, method, path, ctype, body)
}

func (e *env) callAuth(t *testing.T, tok, method, path, ctype, body string) (int, []byte) {
	t.Helper()
	return call(t, e.http.URL, tok, method, path, ctype, body)
}

// call makes an HTTP request to the server at base with token tok ("" for
// none) and returns the status and body; an error status must come with
// a JSON body.
func call(t *testing.T, base, tok, method, path, ctype, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s: %d with content type %q: %s", method, path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return resp.StatusCode, b
}

// volatile are the fields whose values change from run to run; golden
// files hold a placeholder.
var volatile = map[string]any{
	"registrationId": "ID", "registrationDate": 0, "lastUpdate": 0, "expiresAt": 0,
	"address": "ADDRESS", "requestId": "REQUEST-ID",
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if p, ok := volatile[k]; ok {
				x[k] = p
				continue
			}
			x[k] = normalize(c)
		}
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
	}
	return v
}

// golden compares the JSON body b with testdata/name.json, with the
// volatile fields replaced.
func golden(t *testing.T, name string, b []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: not JSON: %v: %s", name, err, b)
	}
	got, err := json.MarshalIndent(normalize(v), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	file := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update if intended):\n%s", name, file, got)
	}
}

// stream is an open event stream.
type stream struct {
	resp   *http.Response
	events chan sseMsg
	done   chan struct{}
}

type sseMsg struct {
	name string
	data []byte
}

// openStream subscribes to /api/event?query and reads it in the
// background (unless paused is set, in which case nothing reads it).
func (e *env) openStream(t *testing.T, query string) *stream {
	t.Helper()
	req, err := http.NewRequest("GET", e.http.URL+"/api/event"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event stream: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{resp: resp, events: make(chan sseMsg, 1024), done: make(chan struct{})}
	br := bufio.NewReader(resp.Body)
	// The first comment says the subscription is in place.
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, ":") {
		t.Fatalf("event stream starts with %q, %v", line, err)
	}
	go func() {
		defer close(s.done)
		var m sseMsg
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				m.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				m.data = []byte(line[len("data: "):])
			case line == "" && m.name != "":
				s.events <- m
				m = sseMsg{}
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

var closeMu sync.Mutex

func (s *stream) close() {
	closeMu.Lock()
	defer closeMu.Unlock()
	s.resp.Body.Close()
	<-s.done
}

// next returns the next event named name, skipping others.
func (s *stream) next(t *testing.T, name string, d time.Duration) sseMsg {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case m := <-s.events:
			if m.name == name {
				return m
			}
		case <-timeout:
			t.Fatalf("no %s event within %v", name, d)
		}
	}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, b)
	}
	return m
}
