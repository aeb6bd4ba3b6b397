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
