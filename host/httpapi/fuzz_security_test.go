package httpapi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/wasm2m/wasm2m/core/store/storetest"
)

func addGolden(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzDecodeCredential: any body of PUT /api/security/clients decodes to
// a credential or an error, and a credential that decodes encodes and
// decodes again to the same credential.
func FuzzDecodeCredential(f *testing.F) {
	addGolden(f, "security_*.json")
	f.Add([]byte(`{"endpoint":"dev-old","psk":{"identity":"id-old","key":"0a0b"}}`))
	f.Add([]byte(`{"endpoint":"dev","x509":true}`))
	f.Add([]byte(`{"endpoint":"x","tls":{"mode":"rpk","details":{"key":"3059"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCredential(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(encodeCredential(c))
		if err != nil {
			t.Fatal(err)
		}
		d, err := decodeCredential(again)
		if err != nil {
			t.Fatalf("%s does not decode again: %v", again, err)
		}
		if diff := storetest.DiffCredential(d, c); diff != "" {
			t.Fatalf("round trip through %s: %s", again, diff)
		}
	})
}

// FuzzDecodeBootstrapConfig: any body of POST /api/bootstrap/{ep}
// decodes to a configuration or an error, and a configuration that
// decodes encodes and decodes again to the same one.
func FuzzDecodeBootstrapConfig(f *testing.F) {
	addGolden(f, "bootstrap_config.json")
	f.Add([]byte(leshanConfig))
	f.Add([]byte(`{"servers":{"0":{"shortId":1}},"security":{"0":{"uri":"coaps://h","securityMode":"X509","publicKeyOrId":"MIIB","secretKey":[-1,0],"serverPublicKey":"MII=","serverId":1}}}`))
	f.Add([]byte(`{"toDelete":[],"acls":{"1":{"objectId":3,"acls":{"0":1}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeBootstrapConfig("dev", b)
		if err != nil {
			return
		}
		again, err := json.Marshal(encodeBootstrapConfig(c))
		if err != nil {
			t.Fatal(err)
		}
		d, err := decodeBootstrapConfig("dev", again)
		if err != nil {
			t.Fatalf("%s does not decode again: %v", again, err)
		}
		if c.Delete == nil { // shown as ["/"], its meaning
			c.Delete = []string{"/"}
		}
		if diff := storetest.DiffBootstrapConfig(d, c); diff != "" {
			t.Fatalf("round trip through %s: %s", again, diff)
		}
	})
}
