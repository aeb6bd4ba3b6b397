package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/store"
)

// coapClient returns the path of libcoap's coap-client without DTLS
// (Debian's libcoap3-bin), skipping the test when it is absent, unless CI
// is set: CI installs it, so its absence there is a failure.
func coapClient(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("coap-client-notls")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("coap-client-notls not found; .ci/run installs libcoap3-bin")
		}
		t.Skip("coap-client-notls not found (apt-get install libcoap3-bin)")
	}
	return p
}

func runCoAPClient(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"-B", "5", "-v", "7"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("coap-client %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestLibcoapClientRegisters drives the server with an independent CoAP
// implementation: libcoap's client registers, updates and de-registers.
func TestLibcoapClientRegisters(t *testing.T) {
	bin := coapClient(t)
	s := startServer(t, Config{})
	sub := s.Subscribe(SubscribeOptions{})
	base := fmt.Sprintf("coap://%s", s.Addr())

	out := runCoAPClient(t, bin, "-m", "post", "-t", "40", "-e", `</>;ct="60 110 112 11542",</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>`,
		base+"/rd?ep=libcoap-1&lt=120&lwm2m=1.1&b=U")
	if !strings.Contains(out, "2.01") {
		t.Fatalf("register: no 2.01 in\n%s", out)
	}
	e := next(t, sub, EventRegistered)
	r := e.Registration
	if r.Endpoint != "libcoap-1" || r.Lifetime != 120 || len(r.Objects) != 3 || len(r.ContentFormats) != 4 {
		t.Fatalf("registration from libcoap: %+v", r)
	}
	if !strings.Contains(out, r.ID) {
		t.Errorf("the Location-Path rd/%s is not in libcoap's view of the response:\n%s", r.ID, out)
	}

	out = runCoAPClient(t, bin, "-m", "post", base+"/rd/"+r.ID+"?lt=240")
	if !strings.Contains(out, "2.04") {
		t.Fatalf("update: no 2.04 in\n%s", out)
	}
	e = next(t, sub, EventUpdated)
	if e.Registration.Lifetime != 240 {
		t.Errorf("update from libcoap: %+v", e.Registration)
	}

	out = runCoAPClient(t, bin, "-m", "delete", base+"/rd/"+r.ID)
	if !strings.Contains(out, "2.02") {
		t.Fatalf("de-register: no 2.02 in\n%s", out)
	}
	next(t, sub, EventDeregistered)

	// Bad input from libcoap gets the right codes too.
	out = runCoAPClient(t, bin, "-m", "post", "-t", "40", "-e", "</1/0>", base+"/rd?lt=60")
	if !strings.Contains(out, "4.00") {
		t.Errorf("register without ep: no 4.00 in\n%s", out)
	}
	out = runCoAPClient(t, bin, "-m", "post", "-t", "40", "-e", "</1/0>", base+"/rd?ep=x&lwm2m=9.9")
	if !strings.Contains(out, "4.12") {
		t.Errorf("register with lwm2m=9.9: no 4.12 in\n%s", out)
	}
}

// coapDTLSClient returns the path of a libcoap client with DTLS (Debian's
// libcoap3-bin builds it over OpenSSL and GnuTLS), like coapClient.
func coapDTLSClient(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"coap-client-openssl", "coap-client-gnutls"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("coap-client-openssl not found; .ci/run installs libcoap3-bin")
	}
	t.Skip("coap-client-openssl not found (apt-get install libcoap3-bin)")
	return ""
}

// TestLibcoapDTLSRegisters: libcoap's DTLS client completes a PSK
// handshake with the server and registers as the endpoint its identity
// belongs to; with a wrong key it gets no handshake and no registration.
func TestLibcoapDTLSRegisters(t *testing.T) {
	bin := coapDTLSClient(t)
	s := startSecureServer(t, Config{}, &store.Credential{Endpoint: "libcoap-dtls", PSKIdentity: "libcoap-id", PSK: []byte("secret-psk-1234")})
	sub := s.Subscribe(SubscribeOptions{})
	uri := fmt.Sprintf("coaps://%s/rd?ep=libcoap-dtls&lt=120&lwm2m=1.1&b=U", s.SecureAddr())
	out := runCoAPClient(t, bin, "-m", "post", "-t", "40", "-e", `</1/0>,</3/0>`, "-u", "libcoap-id", "-k", "secret-psk-1234", uri)
	if !strings.Contains(out, "2.01") {
		t.Fatalf("register over DTLS: no 2.01 in\n%s", out)
	}
	r := next(t, sub, EventRegistered).Registration
	if r.Endpoint != "libcoap-dtls" || !r.Secure || r.Identity != "libcoap-id" {
		t.Fatalf("registration %+v", r)
	}

	// A wrong key: the handshake fails, nothing registers.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	bad := strings.Replace(uri, "ep=libcoap-dtls", "ep=libcoap-dtls&lt=60", 1)
	out2, _ := exec.CommandContext(ctx, bin, "-B", "4", "-v", "7", "-m", "post", "-t", "40", "-e", `</1/0>`,
		"-u", "libcoap-id", "-k", "not-the-key", bad).CombinedOutput()
	if strings.Contains(string(out2), "2.01") {
		t.Fatalf("a wrong key registered:\n%s", out2)
	}
	got, err := s.Registration(ctxT(t), "libcoap-dtls")
	if err != nil || got.ID != r.ID || got.Lifetime != 120 {
		t.Fatalf("after the wrong key: %+v %v", got, err)
	}
}
