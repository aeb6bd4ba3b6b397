package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBootstrapSection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bs.json")
	doc := `{"bootstrap": {"addr": "127.0.0.1:5783", "configs": [
		{"endpoint": "dev-1", "servers": [
			{"uri": "coaps://dm.example:5684", "short_server_id": 1, "mode": "psk", "psk_identity": "dev-1", "psk_key": "0a0b", "lifetime": "5m"},
			{"uri": "coap://dm2.example:5683", "short_server_id": 2}],
		 "acls": [{"object_id": 3, "object_instance": 0, "rights": {"1": 7, "0": 1}, "owner": 1}]},
		{"endpoint": "dev-2", "delete": [], "servers": [
			{"uri": "coaps://dm.example:5684", "short_server_id": 1, "mode": "certificate", "certificate": "dev2.pem", "key": "/keys/dev2.key", "server_certificate": "srv.der"}]}]}}`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Bootstrap
	if b.Addr != "127.0.0.1:5783" || len(b.Configs) != 2 {
		t.Fatalf("bootstrap %+v", b)
	}
	d1, d2 := b.Configs[0], b.Configs[1]
	if d1.Delete != nil || len(d1.Servers) != 2 || d1.Servers[1].Mode != ModeNoSec || time.Duration(d1.Servers[0].Lifetime) != 5*time.Minute {
		t.Errorf("dev-1 %+v", d1)
	}
	if r, err := d1.ACLs[0].RightsBySSID(); err != nil || r[1] != 7 || r[0] != 1 {
		t.Errorf("rights %v %v", r, err)
	}
	if d2.Delete == nil || len(d2.Delete) != 0 {
		t.Errorf("dev-2 delete %#v: want empty, not nil", d2.Delete)
	}
	s := d2.Servers[0]
	if s.Certificate != filepath.Join(dir, "dev2.pem") || s.Key != "/keys/dev2.key" || s.ServerCertificate != filepath.Join(dir, "srv.der") {
		t.Errorf("files not resolved against the config's folder: %+v", s)
	}
}

func TestBootstrapSectionInvalid(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"no endpoint":        {`{"servers": []}`, "no endpoint"},
		"bootstrap account":  {`{"endpoint": "a", "servers": [{"uri": "coap://x:1", "bootstrap": true}]}`, "no bootstrap account"},
		"no ssid":            {`{"endpoint": "a", "servers": [{"uri": "coap://x:1"}]}`, "short_server_id"},
		"ssid twice":         {`{"endpoint": "a", "servers": [{"uri": "coap://x:1", "short_server_id": 1}, {"uri": "coap://y:1", "short_server_id": 1}]}`, "given twice"},
		"coaps nosec":        {`{"endpoint": "a", "servers": [{"uri": "coaps://x:1", "short_server_id": 1}]}`, "psk or certificate"},
		"psk not hex":        {`{"endpoint": "a", "servers": [{"uri": "coaps://x:1", "short_server_id": 1, "mode": "psk", "psk_identity": "a", "psk_key": "zz"}]}`, "not hex"},
		"cert without key":   {`{"endpoint": "a", "servers": [{"uri": "coaps://x:1", "short_server_id": 1, "mode": "certificate", "certificate": "c.pem"}]}`, "certificate and key"},
		"bad delete":         {`{"endpoint": "a", "delete": ["1"], "servers": []}`, "delete"},
		"bad rights key":     {`{"endpoint": "a", "servers": [], "acls": [{"object_id": 3, "rights": {"x": 1}, "owner": 1}]}`, "rights"},
		"rights beyond bits": {`{"endpoint": "a", "servers": [], "acls": [{"object_id": 3, "rights": {"1": 64}, "owner": 1}]}`, "access bits"},
		"unknown field":      {`{"endpoint": "a", "servers": [], "server": []}`, "unknown field"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(`{"bootstrap": {"configs": [` + tc.doc + `]}}`))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an invalid configuration about %q", err, tc.want)
			}
		})
	}
	_, err := Parse(strings.NewReader(`{"bootstrap": {"configs": [{"endpoint": "a", "servers": []}, {"endpoint": "a", "servers": []}]}}`))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("endpoint twice: %v", err)
	}
}
