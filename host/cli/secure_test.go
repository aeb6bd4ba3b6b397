package cli

import (
	"bufio"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startSecureServerCommand runs `wasm2m server` with DTLS on a free port
// and returns its DTLS address and HTTP API base URL.
func startSecureServerCommand(t *testing.T, args ...string) (netip.AddrPort, string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"server", "-addr", "127.0.0.1:0", "-secure-addr", "127.0.0.1:0", "-http", "127.0.0.1:0", "-data", t.TempDir()}, args...), pw, logs)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop")
		}
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	if err != nil {
		t.Fatalf("server printed nothing: %v; logs:\n%s", err, logs.String())
	}
	var addr netip.AddrPort
	base := ""
	f := strings.Fields(line)
	for i, w := range f {
		if w == "dtls" && i+1 < len(f) {
			addr, _ = netip.ParseAddrPort(strings.TrimSuffix(f[i+1], ","))
		}
		if strings.HasPrefix(w, "http://") {
			base = strings.TrimSuffix(w, ",")
		}
	}
	if !addr.IsValid() || base == "" {
		t.Fatalf("no DTLS or HTTP address in %q", line)
	}
	return addr, base, logs
}

func httpSend(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// runClientCommand runs `wasm2m client` until the test ends.
func runClientCommand(t *testing.T, args ...string) *syncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- Main(ctx, append([]string{"client"}, args...), io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("client did not stop")
		}
	})
	return logs
}

// waitFor polls the HTTP API until ok(body) or 15 s.
func waitFor(t *testing.T, url, token string, ok func(code int, body string) bool) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := httpGet(t, url, token)
		if ok(code, body) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %d %s", url, code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServerCommandDTLS runs `wasm2m server` with DTLS and `wasm2m client`
// devices over coaps: one whose credential comes from the configuration
// file's security section, one whose credential is put through the HTTP
// API; both register over DTLS and are read through the API; a device with
// a wrong key never registers.
func TestServerCommandDTLS(t *testing.T) {
	const key = "000102030405060708090a0b0c0d0e0f"
	cfg := filepath.Join(t.TempDir(), "wasm2m.json")
	if err := os.WriteFile(cfg, []byte(`{"security": {"credentials": [{"endpoint": "cfg-dev", "psk_identity": "cfg-id", "psk_key": "`+key+`"}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, base, logs := startSecureServerCommand(t, "-store", "memory", "-http-token", "tok", "-config", cfg)
	code, body := httpSend(t, "PUT", base+"/api/security/clients", "tok",
		`{"endpoint": "api-dev", "tls": {"mode": "psk", "details": {"identity": "api-dev", "key": "`+key+`"}}}`)
	if code != 200 {
		t.Fatalf("PUT credential: %d %s", code, body)
	}
	coaps := "coaps://" + addr.String()
	runClientCommand(t, "-server", coaps, "-endpoint", "cfg-dev", "-psk-identity", "cfg-id", "-psk-key", key, "-lifetime", "60s")
	runClientCommand(t, "-server", coaps, "-endpoint", "api-dev", "-psk-key", key, "-lifetime", "60s")
	wrong := runClientCommand(t, "-server", coaps, "-endpoint", "wrong-dev", "-psk-identity", "api-dev", "-psk-key", "ffff"+key[4:])
	for _, ep := range []string{"cfg-dev", "api-dev"} {
		waitFor(t, base+"/api/clients/"+ep, "tok", func(code int, body string) bool {
			return code == 200 && strings.Contains(body, `"secure":true`)
		})
		if code, body := httpGet(t, base+"/api/clients/"+ep+"/3/0/0", "tok"); code != 200 || !strings.Contains(body, `"value":"wasm2m"`) {
			t.Errorf("read %s over DTLS: %d %s", ep, code, body)
		}
	}
	// The others registered within that time; the wrong key gets as long
	// again, and more.
	time.Sleep(2 * time.Second)
	if code, body := httpGet(t, base+"/api/clients/wrong-dev", "tok"); code != 404 {
		t.Errorf("a device with a wrong key: %d %s\nserver:\n%s\nclient:\n%s", code, body, logs.String(), wrong.String())
	}
}

// TestBootstrapThenRegisterOverDTLS is the whole path: a device that has
// only a bootstrap account, over DTLS with a pre-shared key, is given a
// device management account with its own DTLS credentials by `wasm2m
// bootstrap`, then registers with `wasm2m server` over DTLS with them, and
// is read and observed through the server's HTTP API.
func TestBootstrapThenRegisterOverDTLS(t *testing.T) {
	const bsKey, dmKey = "101112131415161718191a1b1c1d1e1f", "202122232425262728292a2b2c2d2e2f"
	dir := t.TempDir()
	dmCfg := filepath.Join(dir, "server.json")
	if err := os.WriteFile(dmCfg, []byte(`{"security": {"credentials": [{"endpoint": "full-dev", "psk_identity": "full-dev-dm", "psk_key": "`+dmKey+`"}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	dm, base, _ := startSecureServerCommand(t, "-store", "memory", "-http-token", "tok", "-config", dmCfg)
	bsCfg := filepath.Join(dir, "bootstrap.json")
	doc := `{"security": {"credentials": [{"endpoint": "full-dev", "psk_identity": "full-dev-bs", "psk_key": "` + bsKey + `"}]},
		"bootstrap": {"configs": [{"endpoint": "full-dev", "servers": [{"uri": "coaps://` + dm.String() + `", "short_server_id": 1,
			"mode": "psk", "psk_identity": "full-dev-dm", "psk_key": "` + dmKey + `", "lifetime": "60s"}]}]}}`
	if err := os.WriteFile(bsCfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	_, bsLogs, stopBS := startBootstrapCommand(t, "-config", bsCfg, "-store", "memory")
	defer stopBS()
	bs := lastSecure
	if !bs.IsValid() {
		t.Fatal("no DTLS address of wasm2m bootstrap")
	}
	events := sseEvents(t, base+"/api/event?ep=full-dev", "tok")
	devLogs := runClientCommand(t, "-bootstrap", "coaps://"+bs.String(), "-endpoint", "full-dev", "-psk-identity", "full-dev-bs", "-psk-key", bsKey,
		"-temperature-interval", "100ms")
	body := waitFor(t, base+"/api/clients/full-dev", "tok", func(code int, body string) bool {
		return code == 200 && strings.Contains(body, `"secure":true`)
	})
	if !strings.Contains(bsLogs.String(), "bootstrap started") {
		t.Errorf("the bootstrap server did not bootstrap the device:\n%s", bsLogs.String())
	}
	if code, read := httpGet(t, base+"/api/clients/full-dev/3/0/0", "tok"); code != 200 || !strings.Contains(read, `"value":"wasm2m"`) {
		t.Fatalf("read over DTLS: %d %s\n%s", code, read, devLogs.String())
	}
	if code, obs := httpSend(t, "POST", base+"/api/clients/full-dev/3303/0/5700/observe", "tok", ""); code != 200 || !strings.Contains(obs, `"success":true`) {
		t.Fatalf("observe over DTLS: %d %s (registration %s)", code, obs, body)
	}
	select {
	case <-events:
	case <-time.After(15 * time.Second):
		t.Fatal("no NOTIFICATION event from the observation over DTLS")
	}
}

// sseEvents reads the event stream at url and signals each NOTIFICATION.
func sseEvents(t *testing.T, url, token string) <-chan struct{} {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("event stream: %s", resp.Status)
	}
	ch := make(chan struct{}, 64)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "event: NOTIFICATION" {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	return ch
}

// TestLibcoapDTLSAgainstServerCommand: the real libcoap DTLS client
// (Debian's coap-client-openssl) completes a PSK handshake with `wasm2m
// server` and registers; with a wrong key it registers nothing.
func TestLibcoapDTLSAgainstServerCommand(t *testing.T) {
	bin, err := exec.LookPath("coap-client-openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("coap-client-openssl not found; .ci/run installs libcoap3-bin")
		}
		t.Skip("coap-client-openssl not found (apt-get install libcoap3-bin)")
	}
	cfg := filepath.Join(t.TempDir(), "wasm2m.json")
	if err := os.WriteFile(cfg, []byte(`{"security": {"credentials": [{"endpoint": "libcoap-cmd", "psk_identity": "libcoap-cmd-id", "psk_key": "`+hexOf("libcoap secret")+`"}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, base, _ := startSecureServerCommand(t, "-store", "memory", "-http-token", "tok", "-config", cfg)
	register := func(key string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, _ := exec.CommandContext(ctx, bin, "-B", "5", "-v", "7", "-m", "post", "-t", "40", "-e", "</1/0>,</3/0>", "-u", "libcoap-cmd-id", "-k", key,
			"coaps://"+addr.String()+"/rd?ep=libcoap-cmd&lt=120&lwm2m=1.1").CombinedOutput()
		return string(out)
	}
	if out := register("wrong secret!!"); strings.Contains(out, "2.01") {
		t.Fatalf("a wrong key registered:\n%s", out)
	}
	if code, body := httpGet(t, base+"/api/clients/libcoap-cmd", "tok"); code != 404 {
		t.Fatalf("after the wrong key: %d %s", code, body)
	}
	if out := register("libcoap secret"); !strings.Contains(out, "2.01") {
		t.Fatalf("register over DTLS: no 2.01 in\n%s", out)
	}
	waitFor(t, base+"/api/clients/libcoap-cmd", "tok", func(code int, body string) bool {
		return code == 200 && strings.Contains(body, `"secure":true`)
	})
}

func hexOf(s string) string { return hex.EncodeToString([]byte(s)) }
