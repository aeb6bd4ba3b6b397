package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
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

// writePEM writes a certificate and, if key is set, its key as PEM files
// in dir and returns their paths.
func writePEM(t *testing.T, dir, name string, der []byte, key any) (certFile, keyFile string) {
	t.Helper()
	certFile = filepath.Join(dir, name+".crt")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if key != nil {
		kb, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		keyFile = filepath.Join(dir, name+".key")
		if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// TestLibcoapDTLSCertificates: libcoap's coap-client with an ECDSA device
// certificate completes a mutual X.509 handshake with a ListenDTLS
// endpoint and checks the server's certificate against the CA; a device
// certificate from another CA is refused, and so is the server by a client
// that trusts another CA.
func TestLibcoapDTLSCertificates(t *testing.T) {
	checkLeaks(t)
	pki, other := newTestPKI(t, "ours"), newTestPKI(t, "other")
	var ss seen
	srv := dtlsServerT(t, ss.handler("server"), DTLSConfig{
		Certificates: []tls.Certificate{pki.server}, ClientCAs: pki.pool, HandshakeTimeout: 2 * time.Second,
	})
	dir := t.TempDir()
	ca, _ := writePEM(t, dir, "ca", pki.ca, nil)
	devCert, devKey := writePEM(t, dir, "device", pki.device.Certificate[0], pki.device.PrivateKey)
	badCert, badKey := writePEM(t, dir, "intruder", other.device.Certificate[0], other.device.PrivateKey)
	otherCA, _ := writePEM(t, dir, "other-ca", other.ca, nil)
	uri := fmt.Sprintf("coaps://%s/hello", srv.LocalAddr())
	for _, name := range []string{"coap-client-openssl", "coap-client-gnutls"} {
		t.Run(name, func(t *testing.T) {
			bin := libcoap(t, name)
			out, errs, err := runLibcoap(bin, "-B", "5", "-c", devCert, "-j", devKey, "-R", ca, uri)
			if err != nil || strings.TrimSpace(out) != "server /hello" {
				t.Fatalf("%s: %v\nstdout: %q\nstderr: %s", filepath.Base(bin), err, out, errs)
			}
			if _, id := ss.last(); id == nil || id.Certificate == nil || id.Certificate.Subject.CommonName != "urn:dev:ours" || !id.Verified {
				t.Errorf("identity %+v", id)
			}
			out, errs, _ = runLibcoap(bin, "-B", "3", "-c", badCert, "-j", badKey, "-R", ca, uri)
			if strings.Contains(out, "server") {
				t.Errorf("a device certificate of another CA answered: %q\nstderr: %s", out, errs)
			}
			out, errs, _ = runLibcoap(bin, "-B", "3", "-c", devCert, "-j", devKey, "-R", otherCA, uri)
			if strings.Contains(out, "server") {
				t.Errorf("libcoap accepted a server certificate of a CA it does not trust: %q\nstderr: %s", out, errs)
			}
		})
	}
}
