package transport

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runLibcoap runs a libcoap client and returns its stdout, stderr and
// error, without failing: a refused handshake is an expected outcome.
func runLibcoap(bin string, args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// TestLibcoapDTLSClient: libcoap's coap-client (over OpenSSL and over
// GnuTLS) completes a PSK handshake with a ListenDTLS endpoint and gets
// answers; with a wrong key or an unknown identity it gets none.
func TestLibcoapDTLSClient(t *testing.T) {
	checkLeaks(t)
	var ss seen
	srv := dtlsServerT(t, ss.handler("server"), DTLSConfig{PSK: pskTable(testPSK), HandshakeTimeout: 2 * time.Second, ConnectionID: true})
	uri := fmt.Sprintf("coaps://%s/hello", srv.LocalAddr())
	for _, name := range []string{"coap-client-openssl", "coap-client-gnutls"} {
		t.Run(name, func(t *testing.T) {
			bin := libcoap(t, name)
			out, errs, err := runLibcoap(bin, "-B", "5", "-u", "dev-1", "-k", "secret-1", uri)
			if err != nil || strings.TrimSpace(out) != "server /hello" {
				t.Fatalf("%s: %v\nstdout: %q\nstderr: %s", filepath.Base(bin), err, out, errs)
			}
			if _, id := ss.last(); id == nil || id.PSKIdentity != "dev-1" {
				t.Errorf("identity %+v", id)
			}
			for _, cred := range [][2]string{{"dev-1", "wrong"}, {"nobody", "secret-1"}} {
				ss.mu.Lock()
				before := len(ss.peers)
				ss.mu.Unlock()
				out, _, _ := runLibcoap(bin, "-B", "3", "-u", cred[0], "-k", cred[1], uri)
				if strings.Contains(out, "server") {
					t.Errorf("identity %q with key %q answered: %q", cred[0], cred[1], out)
				}
				ss.mu.Lock()
				n := len(ss.peers)
				ss.mu.Unlock()
				if n != before {
					t.Errorf("identity %q with key %q reached the handler", cred[0], cred[1])
				}
			}
		})
	}
}
