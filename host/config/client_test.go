package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestClientSection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "device.json")
	doc := `{"client": {"endpoint": "dev-7", "accounts": [
		{"uri": "coaps://127.0.0.1:5784", "bootstrap": true, "mode": "psk", "psk_identity": "dev-7", "psk_key": "0a0b"},
		{"uri": "coaps://127.0.0.1:5684", "short_server_id": 101, "mode": "certificate", "certificate": "dev.pem", "key": "dev.key", "server_certificate": "/etc/srv.pem", "lifetime": "5m", "binding": "UQ"},
		{"uri": "coap://127.0.0.1:5683", "short_server_id": 102, "default_pmin": "5s", "default_pmax": "1m", "notification_storing": true}]}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a := c.Client.Accounts
	if c.Client.Endpoint != "dev-7" || len(a) != 3 || !a[0].Bootstrap || a[0].Mode != ModePSK || a[2].Mode != ModeNoSec {
		t.Fatalf("client %+v", c.Client)
	}
	if time.Duration(a[2].DefaultPmin) != 5*time.Second || time.Duration(a[2].DefaultPmax) != time.Minute || !a[2].NotificationStoring {
		t.Errorf("account %+v", a[2])
	}
	if a[1].Certificate != filepath.Join(dir, "dev.pem") || a[1].ServerCertificate != "/etc/srv.pem" ||
		time.Duration(a[1].Lifetime) != 5*time.Minute || a[1].Binding != "UQ" {
		t.Errorf("account %+v", a[1])
	}
}

func TestClientSectionInvalid(t *testing.T) {
	for name, acct := range map[string]string{
		"not coap":             `{"uri": "http://x", "short_server_id": 1}`,
		"coaps nosec":          `{"uri": "coaps://x:1", "short_server_id": 1}`,
		"psk over coap":        `{"uri": "coap://x:1", "short_server_id": 1, "mode": "psk", "psk_identity": "a", "psk_key": "00"}`,
		"psk without key":      `{"uri": "coaps://x:1", "short_server_id": 1, "mode": "psk", "psk_identity": "a"}`,
		"psk key not hex":      `{"uri": "coaps://x:1", "short_server_id": 1, "mode": "psk", "psk_identity": "a", "psk_key": "zz"}`,
		"certificate alone":    `{"uri": "coaps://x:1", "short_server_id": 1, "mode": "certificate", "certificate": "a.pem"}`,
		"unknown mode":         `{"uri": "coaps://x:1", "short_server_id": 1, "mode": "rpk"}`,
		"no short server id":   `{"uri": "coap://x:1"}`,
		"short id 65535":       `{"uri": "coap://x:1", "short_server_id": 65535}`,
		"two bootstrap":        `{"uri": "coap://x:1", "bootstrap": true}, {"uri": "coap://y:1", "bootstrap": true}`,
		"short id given twice": `{"uri": "coap://x:1", "short_server_id": 3}, {"uri": "coap://y:1", "short_server_id": 3}`,
		"pmax below pmin":      `{"uri": "coap://x:1", "short_server_id": 1, "default_pmin": "1m", "default_pmax": "10s"}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(`{"client": {"accounts": [` + acct + `]}}`))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse = %v, want ErrInvalid", err)
			}
		})
	}
}
