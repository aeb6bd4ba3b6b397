package store

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzSecurityRecords feeds the credential and bootstrap configuration
// decoders arbitrary bytes (what a damaged or foreign backend may hold):
// they either refuse them with an error wrapping ErrFormat, or return a
// value that passes the checks of a Put and encodes to a record that
// decodes to the same value.
func FuzzSecurityRecords(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"ep":"dev","psk_id":"id","psk":"AQID"}`,
		`{"v":1,"ep":"dev","x509":true}`,
		`{"v":2,"ep":"dev","x509":true}`,
		`{"v":1,"ep":"dev","delete":null}`,
		`{"v":1,"ep":"dev","delete":["/0","/1/0"],"servers":[{"ssid":1,"uri":"coaps://h:5684","mode":0,"psk_id":"i","psk":"AQ=="},{"ssid":2,"security_instance":4,"server_instance":2,"uri":"coap://h","mode":3,"lifetime":60,"binding":"UQ","notification_storing":true}],"acls":[{"instance":1,"object":3,"object_instance":0,"rights":{"0":1,"1":31},"owner":1}]}`,
		`{"v":1,"ep":"dev","servers":[{"ssid":1,"uri":"coaps://h","mode":2,"cert":"MA==","private_key":"MA==","server_cert":"MA=="}]}`,
		`{"v":1}`, `{}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := decodeCredential(b); err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("credential: %v does not wrap ErrFormat", err)
			}
		} else {
			enc, err := encodeCredential(c)
			if err != nil {
				t.Fatalf("a decoded credential does not encode: %v", err)
			}
			d, err := decodeCredential(enc)
			if err != nil || d.Endpoint != c.Endpoint || d.PSKIdentity != c.PSKIdentity || !bytes.Equal(d.PSK, c.PSK) || d.X509 != c.X509 {
				t.Fatalf("credential round trip: %+v, %v; want %+v", d, err, c)
			}
		}
		if c, err := decodeBootstrapConfig(b); err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("bootstrap: %v does not wrap ErrFormat", err)
			}
		} else {
			enc, err := encodeBootstrapConfig(c)
			if err != nil {
				// Bounds of the stored size only: the checks passed.
				if len(b) <= MaxKVValue {
					t.Fatalf("a decoded configuration does not encode: %v", err)
				}
				return
			}
			d, err := decodeBootstrapConfig(enc)
			if err != nil {
				t.Fatalf("bootstrap round trip: %v", err)
			}
			enc2, err := encodeBootstrapConfig(d)
			if err != nil || !bytes.Equal(enc, enc2) {
				t.Fatalf("bootstrap round trip changes the record:\n%s\n%s", enc, enc2)
			}
		}
	})
}
