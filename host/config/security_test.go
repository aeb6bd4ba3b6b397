package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSecuritySection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wasm2m.json")
	doc := `{"security": {"addr": "127.0.0.1:5684", "certificate": "server.pem", "key": "/abs/server.key",
		"trust": ["ca.pem"], "connection_id": false, "handshake_timeout": "3s", "max_handshakes_per_ip": 4,
		"credentials": [{"endpoint": "dev-1", "psk_identity": "dev-1-id", "psk_key": "00112233"},
		                {"endpoint": "dev-2", "x509": true}]}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Security
	if s.Addr != "127.0.0.1:5684" || s.Off() || s.NoSecOff || s.ConnectionID == nil || *s.ConnectionID ||
		time.Duration(s.HandshakeTimeout) != 3*time.Second || s.MaxHandshakesPerIP != 4 {
		t.Errorf("section %+v", s)
	}
	if s.Certificate != filepath.Join(dir, "server.pem") || s.Key != "/abs/server.key" || s.Trust[0] != filepath.Join(dir, "ca.pem") {
		t.Errorf("paths %q %q %q", s.Certificate, s.Key, s.Trust)
	}
	k, err := s.Credentials[0].Key()
	if err != nil || string(k) != "\x00\x11\x22\x33" || !s.Credentials[1].X509 {
		t.Errorf("credentials %+v: %x %v", s.Credentials, k, err)
	}
}

func TestSecuritySectionInvalid(t *testing.T) {
	for name, doc := range map[string]string{
		"certificate without key": `{"security": {"certificate": "a.pem"}}`,
		"negative timeout":        `{"security": {"handshake_timeout": "-1s"}}`,
		"no way in":               `{"security": {"addr": "off", "nosec_off": true}}`,
		"no endpoint":             `{"security": {"credentials": [{"psk_identity": "a", "psk_key": "00"}]}}`,
		"endpoint twice":          `{"security": {"credentials": [{"endpoint": "a", "x509": true}, {"endpoint": "a", "x509": true}]}}`,
		"identity without key":    `{"security": {"credentials": [{"endpoint": "a", "psk_identity": "a"}]}}`,
		"key not hex":             `{"security": {"credentials": [{"endpoint": "a", "psk_identity": "a", "psk_key": "xyz"}]}}`,
		"nothing to authenticate": `{"security": {"credentials": [{"endpoint": "a"}]}}`,
		"unknown field":           `{"security": {"adress": ":5684"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(doc))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse = %v, want ErrInvalid", err)
			}
		})
	}
}
