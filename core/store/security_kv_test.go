package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/store/storetest"
)

var fileVariants = []struct {
	name string
	opts store.FileOptions
}{
	{"group commit", store.FileOptions{}},
	{"fsync per put", store.FileOptions{MaxBatch: 1}},
	{"commit interval", store.FileOptions{CommitInterval: time.Millisecond, MaxBatch: 8}},
	{"always compacting", store.FileOptions{CompactSize: 1, NoSync: true}},
}

func openSecFile(t *testing.T, opts store.FileOptions) *store.File {
	t.Helper()
	f, err := store.OpenFile(filepath.Join(t.TempDir(), "store.log"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMemorySecurityConformance(t *testing.T) {
	storetest.RunSecurity(t, func(t *testing.T) storetest.SecurityStore {
		return storetest.SecurityOverKV(store.NewMemory())
	})
	storetest.RunBootstraps(t, func(t *testing.T) storetest.BootstrapStore {
		return storetest.BootstrapsOverKV(store.NewMemory())
	})
}

func TestFileSecurityConformance(t *testing.T) {
	for _, tc := range fileVariants {
		t.Run(tc.name, func(t *testing.T) {
			storetest.RunSecurity(t, func(t *testing.T) storetest.SecurityStore {
				return storetest.SecurityOverKV(openSecFile(t, tc.opts))
			})
			storetest.RunBootstraps(t, func(t *testing.T) storetest.BootstrapStore {
				return storetest.BootstrapsOverKV(openSecFile(t, tc.opts))
			})
		})
	}
}

// TestFileSecurityRestart: credentials, the PSK index and bootstrap
// configurations come back after a restart, through replay of the log and
// through a compacted snapshot.
func TestFileSecurityRestart(t *testing.T) {
	ctx := context.Background()
	for _, compact := range []bool{false, true} {
		name := "replay"
		if compact {
			name = "snapshot"
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "store.log")
			opts := store.FileOptions{CompactSize: -1}
			if compact {
				opts.CompactSize = 1
			}
			f, err := store.OpenFile(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			sec, bs := store.NewSecurity(f), store.NewBootstraps(f)
			a := storetest.NewPSKCredential("dev-a", "id-a")
			x := &store.Credential{Endpoint: "dev-x", X509: true}
			for _, c := range []*store.Credential{storetest.NewPSKCredential("dev-a", "old"), a, x, storetest.NewPSKCredential("gone", "id-gone")} {
				if err := sec.PutCredential(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			if err := sec.DeleteCredential(ctx, "gone"); err != nil {
				t.Fatal(err)
			}
			cfg := storetest.NewBootstrapConfig("dev-a")
			if err := bs.PutBootstrapConfig(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}

			f, err = store.OpenFile(path, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sec, bs = store.NewSecurity(f), store.NewBootstraps(f)
			for _, want := range []*store.Credential{a, x} {
				got, err := sec.Credential(ctx, want.Endpoint)
				if err != nil {
					t.Fatal(err)
				}
				if d := storetest.DiffCredential(got, want); d != "" {
					t.Fatal(d)
				}
			}
			if c, err := sec.CredentialByPSKIdentity(ctx, "id-a"); err != nil || c.Endpoint != "dev-a" {
				t.Fatalf("id-a: %v, %v", c, err)
			}
			for _, id := range []string{"old", "id-gone"} {
				if _, err := sec.CredentialByPSKIdentity(ctx, id); !errors.Is(err, model.ErrNotFound) {
					t.Fatalf("%s: %v", id, err)
				}
			}
			got, err := bs.BootstrapConfig(ctx, "dev-a")
			if err != nil {
				t.Fatal(err)
			}
			if d := storetest.DiffBootstrapConfig(got, cfg); d != "" {
				t.Fatal(d)
			}
		})
	}
}

// TestSecurityStaleIndex: an index entry left by a crash between two KV
// writes (pointing at an endpoint that does not hold the identity, or at
// none) is never believed, and a new claim of the identity replaces it.
func TestSecurityStaleIndex(t *testing.T) {
	ctx := context.Background()
	m := store.NewMemory()
	defer m.Close()
	sec := store.NewSecurity(m)
	b := storetest.NewPSKCredential("dev-b", "id-b")
	if err := sec.PutCredential(ctx, b); err != nil {
		t.Fatal(err)
	}
	// A crash after the index write of a Put that never wrote its record.
	if err := m.KVPut(ctx, store.SecurityNamespace, "psk/id-x", []byte("dev-b")); err != nil {
		t.Fatal(err)
	}
	// A crash after a Delete removed the record but not the index.
	if err := m.KVPut(ctx, store.SecurityNamespace, "psk/id-gone", []byte("dev-gone")); err != nil {
		t.Fatal(err)
	}
	// A damaged index entry.
	if err := m.KVPut(ctx, store.SecurityNamespace, "psk/id-bad", []byte{0xff}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"id-x", "id-gone", "id-bad"} {
		if c, err := sec.CredentialByPSKIdentity(ctx, id); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("%s: %v, %v; want a 4.04", id, c, err)
		}
		ep := "new-" + strings.TrimPrefix(id, "id-")
		if err := sec.PutCredential(ctx, storetest.NewPSKCredential(ep, id)); err != nil {
			t.Fatalf("claim %s: %v", id, err)
		}
		if c, err := sec.CredentialByPSKIdentity(ctx, id); err != nil || c.Endpoint != ep {
			t.Fatalf("%s: %v, %v", id, c, err)
		}
	}
	if c, err := sec.CredentialByPSKIdentity(ctx, "id-b"); err != nil || c.Endpoint != "dev-b" {
		t.Fatalf("id-b: %v, %v", c, err)
	}
}

// TestSecurityRecordVersion: a record of another version, or one that
// does not decode, is an error that says so, never a misread credential.
func TestSecurityRecordVersion(t *testing.T) {
	ctx := context.Background()
	m := store.NewMemory()
	defer m.Close()
	sec, bs := store.NewSecurity(m), store.NewBootstraps(m)
	for _, tc := range []struct {
		name, ns, value, want string
	}{
		{"credential v2", store.SecurityNamespace, `{"v":2,"ep":"dev","x509":true}`, "version 2"},
		{"credential without version", store.SecurityNamespace, `{"ep":"dev","x509":true}`, "no version"},
		{"credential unknown field", store.SecurityNamespace, `{"v":1,"ep":"dev","x509":true,"rpk":"00"}`, "unknown field"},
		{"credential of another endpoint", store.SecurityNamespace, `{"v":1,"ep":"other","x509":true}`, "holds endpoint"},
		{"credential not JSON", store.SecurityNamespace, `v1`, "invalid"},
		{"bootstrap v0", store.BootstrapNamespace, `{"v":0,"ep":"dev"}`, "version 0"},
		{"bootstrap invalid", store.BootstrapNamespace, `{"v":1,"ep":"dev","servers":[{"ssid":0,"uri":"coap://h","mode":3}]}`, "short server id 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := m.KVPut(ctx, tc.ns, "ep/dev", []byte(tc.value)); err != nil {
				t.Fatal(err)
			}
			var err error
			if tc.ns == store.SecurityNamespace {
				_, err = sec.Credential(ctx, "dev")
			} else {
				_, err = bs.BootstrapConfig(ctx, "dev")
			}
			if !errors.Is(err, store.ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v; want an error wrapping ErrFormat that says %q", err, tc.want)
			}
			if err := m.KVDelete(ctx, tc.ns, "ep/dev"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSecurityNamespacesReserved: the namespaces are not plugin ids (the
// host gives a plugin the namespace of its id: dotted lowercase words).
func TestSecurityNamespacesReserved(t *testing.T) {
	for _, ns := range []string{store.SecurityNamespace, store.BootstrapNamespace} {
		if !strings.HasPrefix(ns, "#") || !store.ReservedNamespace(ns) {
			t.Errorf("%q could be a plugin's namespace", ns)
		}
	}
	for _, id := range []string{"objects.temperature", "storage.redis", "logic.auto-observe"} {
		if store.ReservedNamespace(id) {
			t.Errorf("plugin id %q is reserved", id)
		}
	}
}
