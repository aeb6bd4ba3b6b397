package cli

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// startBootstrapCommand runs `wasm2m bootstrap` in-process and returns
// the address it listens on, its logs and a function that stops it and
// returns its exit status.
func startBootstrapCommand(t *testing.T, args ...string) (netip.AddrPort, *syncBuffer, func() int) {
	t.Helper()
	addr, _, logs, stop := startBootstrapCommandHTTP(t, args...)
	return addr, logs, stop
}

// startBootstrapCommandHTTP is startBootstrapCommand that also returns
// the HTTP API's base URL ("" when off).
func startBootstrapCommandHTTP(t *testing.T, args ...string) (netip.AddrPort, string, *syncBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"bootstrap", "-addr", "127.0.0.1:0", "-secure-addr", "127.0.0.1:0", "-data", t.TempDir()}, args...), pw, logs)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	if err != nil {
		cancel()
		<-done
		t.Fatalf("bootstrap printed nothing: %v; logs:\n%s", err, logs.String())
	}
	var addr, secure netip.AddrPort
	httpURL := ""
	f := strings.Fields(line)
	for i, w := range f {
		if w == "udp" && i+1 < len(f) {
			addr, err = netip.ParseAddrPort(strings.TrimSuffix(f[i+1], ","))
		}
		if w == "dtls" && i+1 < len(f) {
			secure, _ = netip.ParseAddrPort(strings.TrimSuffix(f[i+1], ","))
		}
		if strings.HasPrefix(w, "http://") {
			httpURL = strings.TrimSuffix(w, ",")
		}
	}
	if err != nil || !addr.IsValid() {
		cancel()
		<-done
		t.Fatalf("no address in %q", line)
	}
	stopped := false
	stop := func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case c := <-done:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("bootstrap did not stop")
		}
		return -1
	}
	t.Cleanup(func() { stop() })
	lastSecure = secure
	return addr, httpURL, logs, stop
}

// lastSecure is the DTLS address of the last bootstrap command started.
var lastSecure netip.AddrPort

// TestBootstrapCommand runs `wasm2m bootstrap` with a configuration file
// that gives a device an account on an LwM2M server; the device, which
// knows only the bootstrap server, bootstraps through the command and
// registers with that server; the command logs the sequence and stops
// cleanly.
func TestBootstrapCommand(t *testing.T) {
	reg, err := objects.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	tc := transport.Config{ACKTimeout: 200 * time.Millisecond, PeerRate: -1}
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", Definitions: reg, Transport: tc})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sub := srv.Subscribe(server.SubscribeOptions{Types: []server.EventType{server.EventRegistered}})
	defer sub.Close()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "bootstrap.json")
	doc := `{"bootstrap": {"configs": [{"endpoint": "cli-bs", "servers": [
		{"uri": "coap://` + srv.Addr().String() + `", "short_server_id": 3, "lifetime": "2m"}],
		"acls": [{"object_id": 3, "object_instance": 0, "rights": {"3": 7}, "owner": 3}]}]}}`
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, logs, stop := startBootstrapCommand(t, "-config", cfgPath, "-store", "memory")

	sec := stdobj.NewSecurity(stdobj.SecurityAccount{ServerURI: "coap://" + addr.String(), Mode: stdobj.SecurityNoSec, Bootstrap: true})
	e, err := client.New(client.Config{
		Endpoint:  "cli-bs",
		Objects:   []client.Object{sec, stdobj.NewServer(), stdobj.NewAccessControl(), stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "wasm2m"})},
		Addr:      "127.0.0.1:0",
		Transport: tc,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitRegistered(ctx); err != nil {
		t.Fatalf("%v; logs:\n%s", err, logs.String())
	}
	select {
	case ev := <-sub.C:
		if ev.Registration.Endpoint != "cli-bs" || ev.Registration.Lifetime != 120 {
			t.Errorf("registered %+v", ev.Registration)
		}
	case <-ctx.Done():
		t.Fatal("no registration")
	}
	if acc := sec.Accounts(); len(acc) != 2 || acc[1].SSID != 3 {
		t.Errorf("security accounts %+v", acc)
	}
	// The device registers as soon as it accepted Bootstrap-Finish,
	// which may be before the command has its answer and logs the
	// outcome.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), "bootstrap succeeded"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no success logged:\n%s", logs.String())
		}
	}
	if code := stop(); code != 0 {
		t.Errorf("exit status %d; logs:\n%s", code, logs.String())
	}
	for _, want := range []string{"bootstrap started", "bootstrap succeeded", "endpoint=cli-bs", "stopping"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs.String())
		}
	}
}

// TestBootstrapCommandKeepsConfigs: the file store keeps the
// configurations the command put there; a second start without the
// configuration file still serves them.
func TestBootstrapCommandKeepsConfigs(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "bootstrap.json")
	doc := `{"bootstrap": {"configs": [{"endpoint": "kept", "delete": ["/1"], "servers": [
		{"uri": "coaps://dm.example:5684", "short_server_id": 1, "mode": "psk", "psk_identity": "kept", "psk_key": "00112233"}]}]}}`
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	_, _, stop := startBootstrapCommand(t, "-config", cfgPath, "-data", data)
	if code := stop(); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	f, err := store.OpenFile(filepath.Join(data, "registrations.log"), store.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := store.NewBootstraps(f).BootstrapConfig(context.Background(), "kept")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Servers[0]
	if len(c.Delete) != 1 || c.Delete[0] != "/1" || s.Mode != store.ModePSK || s.PSKIdentity != "kept" || string(s.PSK) != "\x00\x11\x22\x33" {
		t.Errorf("stored %+v", c)
	}
}

func TestBootstrapCommandUsage(t *testing.T) {
	var out, errb strings.Builder
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"bootstrap": {"configs": [{"endpoint": "", "servers": []}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := Main(context.Background(), []string{"bootstrap", "-config", bad}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "no endpoint") {
		t.Errorf("invalid config: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := Main(context.Background(), []string{"bootstrap", "-http-no-auth", "-http-token", "x"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "choose one") {
		t.Errorf("-http-no-auth with a token: exit %d, %q", code, errb.String())
	}
}

// TestBootstrapCommandStopsOnSignal runs `wasm2m bootstrap` in a child
// process on the file store and stops it with SIGTERM, then SIGINT: it
// exits 0 each time, having closed its store.
func TestBootstrapCommandStopsOnSignal(t *testing.T) {
	stopsOnSignal(t, "bootstrap -addr 127.0.0.1:0 -secure-addr 127.0.0.1:0", "wasm2m bootstrap")
}

// TestBootstrapCommandHTTP serves the bootstrap HTTP API (host/httpapi's
// BootstrapAPI) with -http over the command's store: it lists the
// configuration of the config file, needs the token, and a configuration
// deleted through it is gone for the next Bootstrap-Request (4.00).
func TestBootstrapCommandHTTP(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "bootstrap.json")
	doc := `{"bootstrap": {"configs": [{"endpoint": "web-1", "servers": [{"uri": "coap://127.0.0.1:5683", "short_server_id": 4}]}]}}`
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, base, logs, _ := startBootstrapCommandHTTP(t, "-config", cfgPath, "-store", "memory", "-http", "127.0.0.1:0", "-http-token", "tok")
	if base == "" {
		t.Fatalf("no HTTP API; logs:\n%s", logs.String())
	}
	call := func(method, path, token string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := call("GET", "/healthz", ""); code != 200 {
		t.Errorf("healthz %d %s", code, body)
	}
	if code, _ := call("GET", "/api/bootstrap", ""); code != 401 {
		t.Errorf("without the token: %d", code)
	}
	if code, body := call("GET", "/api/bootstrap", "tok"); code != 200 || !strings.Contains(body, `"web-1"`) || !strings.Contains(body, "coap://127.0.0.1:5683") {
		t.Errorf("list %d %s", code, body)
	}
	if code, body := call("DELETE", "/api/bootstrap/web-1", "tok"); code/100 != 2 {
		t.Fatalf("delete %d %s", code, body)
	}
	dev, err := transport.Listen("127.0.0.1:0", transport.Config{ACKTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	m := &transport.Message{Code: transport.POST}
	m.SetPath("/bs")
	m.AddQuery("ep=web-1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := dev.Do(ctx, addr, m)
	if err != nil || resp.Code != model.BadRequest {
		t.Errorf("bootstrap-request after the delete: %v %v", resp, err)
	}
}

// TestBootstrapCommandDTLS: a device whose bootstrap account is coaps://
// with a pre-shared key (its credential in the config file's security
// section) is bootstrapped over DTLS by the command and registers with the
// server it was given; the same endpoint over plain CoAP is refused,
// since it has a credential.
func TestBootstrapCommandDTLS(t *testing.T) {
	reg, err := objects.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	tc := transport.Config{ACKTimeout: 200 * time.Millisecond, PeerRate: -1}
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", Definitions: reg, Transport: tc})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "bootstrap.json")
	doc := `{"security": {"credentials": [{"endpoint": "psk-dev", "psk_identity": "psk-dev-id", "psk_key": "000102030405060708090a0b0c0d0e0f"}]},
		"bootstrap": {"configs": [{"endpoint": "psk-dev", "servers": [{"uri": "coap://` + srv.Addr().String() + `", "short_server_id": 5}]}]}}`
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	plain, logs, _ := startBootstrapCommand(t, "-config", cfgPath, "-store", "memory")
	secure := lastSecure
	if !secure.IsValid() {
		t.Fatalf("no dtls address; logs:\n%s", logs.String())
	}

	// Plain CoAP for an endpoint that has a credential: 4.03.
	dev, err := transport.Listen("127.0.0.1:0", tc)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	m := &transport.Message{Code: transport.POST}
	m.SetPath("/bs")
	m.AddQuery("ep=psk-dev")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if resp, err := dev.Do(ctx, plain, m); err != nil || resp.Code != model.Forbidden {
		t.Errorf("plain bootstrap-request of psk-dev: %v %v", resp, err)
	}

	key := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	sec := stdobj.NewSecurity(stdobj.SecurityAccount{ServerURI: "coaps://" + secure.String(), Mode: stdobj.SecurityPSK,
		PublicKeyOrIdentity: []byte("psk-dev-id"), SecretKey: key, Bootstrap: true})
	e, err := client.New(client.Config{
		Endpoint:  "psk-dev",
		Objects:   []client.Object{sec, stdobj.NewServer(), stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "wasm2m"})},
		Addr:      "127.0.0.1:0",
		Transport: tc,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitRegistered(ctx); err != nil {
		t.Fatalf("%v; logs:\n%s", err, logs.String())
	}
	// The device may register before the command logs the outcome.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(logs.String(), "bootstrap succeeded"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no success logged:\n%s", logs.String())
		}
	}
	if acc := sec.Accounts(); len(acc) != 2 || acc[1].SSID != 5 {
		t.Errorf("security accounts %+v", acc)
	}
}
