package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
)

// sample returns a typical registration (the storetest fixture cannot be
// imported here: storetest imports store).
func sample(id, ep string) *Registration {
	now := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
	return &Registration{
		ID: id, Endpoint: ep, Lifetime: 86400, Version: model.V1_1, Binding: "U",
		Address:  netip.MustParseAddrPort("198.51.100.7:56830"),
		RootPath: "/",
		Objects: []link.Object{
			{ID: 0, Instances: []uint16{0, 1}},
			{ID: 1, Version: model.V1_1, Instances: []uint16{0}},
			{ID: 2, Instances: []uint16{0, 1, 2}},
			{ID: 3, Version: model.V1_1, Instances: []uint16{0}},
			{ID: 4, Instances: []uint16{0}},
			{ID: 5, Instances: []uint16{0}},
			{ID: 6},
			{ID: 3303, Version: model.V1_1, Instances: []uint16{0, 1}},
		},
		ContentFormats: []uint16{110, 112, 11542, 11543},
		RegisteredAt:   now, UpdatedAt: now.Add(time.Minute),
		Secure: true, Identity: ep,
	}
}

func sampleObservation(token string, r *Registration) *Observation {
	return &Observation{
		Token: token, RegistrationID: r.ID, Endpoint: r.Endpoint,
		Paths:  []model.Path{model.MustPath("/3303/0/5700")},
		Format: NoFormat, CreatedAt: time.Date(2025, 3, 14, 15, 10, 0, 0, time.UTC),
	}
}

// decodeFull decodes a registration payload and builds its shared parts,
// as replay does.
func decodeFull(t *testing.T, p []byte) *Registration {
	t.Helper()
	d, ok := decodeRegistration(p)
	if !ok {
		t.Fatalf("decodeRegistration(%x) failed", p)
	}
	d.reg.Objects = decodeObjects(d.objects)
	d.reg.ContentFormats = decodeFormats(d.formats)
	return d.reg
}

func registrationVariants() map[string]*Registration {
	v := map[string]*Registration{"typical": sample("r1", "urn:imei:490154203237518")}
	add := func(name string, change func(r *Registration)) {
		r := sample("r-"+name, "ep-"+name)
		change(r)
		v[name] = r
	}
	add("zero", func(r *Registration) { *r = Registration{ID: r.ID, Endpoint: r.Endpoint} })
	add("ipv6 zone", func(r *Registration) { r.Address = netip.MustParseAddrPort("[fe80::1%eth0]:5683") })
	add("4in6", func(r *Registration) { r.Address = netip.MustParseAddrPort("[::ffff:192.0.2.1]:1") })
	add("port without address", func(r *Registration) { r.Address = netip.AddrPortFrom(netip.Addr{}, 7) })
	add("identity", func(r *Registration) { r.Identity = "psk" })
	add("no identity", func(r *Registration) { r.Identity = "" })
	add("queue sms", func(r *Registration) { r.Queue, r.SMS, r.Binding = true, "+1555", "UQS" })
	add("max", func(r *Registration) {
		r.Lifetime = 1<<32 - 1
		r.Version = model.Version{Major: 255, Minor: 255}
		r.Objects = []link.Object{{ID: 65535, Version: model.Version{Major: 255, Minor: 255}, Instances: []uint16{65535, 0}}}
		r.ContentFormats = []uint16{65535, 0}
	})
	add("old times", func(r *Registration) {
		r.RegisteredAt = time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)
		r.UpdatedAt = time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC)
	})
	add("long strings", func(r *Registration) {
		r.ID = strings.Repeat("i", 300)
		r.RootPath = "/" + strings.Repeat("p", 200)
	})
	return v
}

func TestRegistrationRoundTrip(t *testing.T) {
	for name, r := range registrationVariants() {
		t.Run(name, func(t *testing.T) {
			rec := appendRegistrationRecord(nil, r, 0)
			if n := registrationRecordLen(r); n != len(rec) {
				t.Fatalf("registrationRecordLen = %d, record is %d bytes", n, len(rec))
			}
			if got := binary.LittleEndian.Uint32(rec); int(got) != len(rec)-recordHeader {
				t.Fatalf("length field %d, payload %d", got, len(rec)-recordHeader)
			}
			if rec[8] != kindPutRegistration || binary.LittleEndian.Uint32(rec[4:]) != recordCRC(rec) {
				t.Fatalf("bad record header % x", rec[:9])
			}
			got := decodeFull(t, rec[recordHeader:])
			want := *r
			want.RegisteredAt, want.UpdatedAt = r.RegisteredAt.UTC(), r.UpdatedAt.UTC()
			if want.Objects != nil && len(want.Objects) == 0 {
				want.Objects = nil
			}
			if !reflect.DeepEqual(got, &want) {
				t.Fatalf("round trip\n got %+v\nwant %+v", got, &want)
			}
			if again := appendRegistrationRecord(nil, got, 0); !bytes.Equal(again, rec) {
				t.Fatalf("re-encoding differs:\n% x\n% x", again, rec)
			}
		})
	}
}

func TestObservationRoundTrip(t *testing.T) {
	r := sample("r", "ep")
	tests := map[string]*Observation{
		"typical": sampleObservation("\x01\x02", r),
		"composite": {
			Token: "t", RegistrationID: "r", Endpoint: "ep", Composite: true, Format: 112,
			Paths: []model.Path{model.RootPath(), model.ObjectPath(3), model.InstancePath(3, 0),
				model.ResourcePath(3, 0, 1), model.ResourceInstancePath(3, 0, 6, 65535)},
		},
		"no paths": {Token: "t", RegistrationID: "r"},
	}
	for name, o := range tests {
		t.Run(name, func(t *testing.T) {
			rec := appendObservationRecord(nil, o, 0)
			if n := observationRecordLen(o); n != len(rec) {
				t.Fatalf("observationRecordLen = %d, record is %d bytes", n, len(rec))
			}
			got, ok := decodeObservation(rec[recordHeader:])
			if !ok {
				t.Fatal("decodeObservation failed")
			}
			want := *o
			want.CreatedAt = o.CreatedAt.UTC()
			if !reflect.DeepEqual(got, &want) {
				t.Fatalf("round trip\n got %+v\nwant %+v", got, &want)
			}
		})
	}
}

// TestDecodeShortOrLong checks that every truncation of a payload, and
// the payload with a byte added, is refused without a panic.
func TestDecodeShortOrLong(t *testing.T) {
	r := registrationVariants()["max"]
	r.Identity, r.SMS = "id", "sms"
	r.Address = netip.MustParseAddrPort("[fe80::1%eth0]:5683")
	reg := appendRegistration(nil, r)
	obs := appendObservation(nil, sampleObservation("tok", r))
	for n := range len(reg) {
		if _, ok := decodeRegistration(reg[:n]); ok {
			t.Fatalf("registration cut to %d of %d bytes decodes", n, len(reg))
		}
	}
	if _, ok := decodeRegistration(append(reg, 0)); ok {
		t.Fatal("registration with a trailing byte decodes")
	}
	for n := range len(obs) {
		if _, ok := decodeObservation(obs[:n]); ok {
			t.Fatalf("observation cut to %d of %d bytes decodes", n, len(obs))
		}
	}
	if _, ok := decodeObservation(append(obs, 0)); ok {
		t.Fatal("observation with a trailing byte decodes")
	}
}

func TestHeader(t *testing.T) {
	good := appendHeader(nil)
	if len(good) != headerSize || string(good[:8]) != magic {
		t.Fatalf("header % x", good)
	}
	withVersion := func(v uint16) []byte {
		h := appendHeader(nil)
		binary.LittleEndian.PutUint16(h[8:], v)
		binary.LittleEndian.PutUint32(h[12:], crcOf(h[:12]))
		return h
	}
	tests := []struct {
		name string
		h    []byte
		want error
		text string
	}{
		{"good", good, nil, ""},
		{"version 2", withVersion(2), ErrFormat, "format version 2"},
		{"version 0", withVersion(0), ErrFormat, "format version 0"},
		{"other magic", append([]byte("SQLite f"), good[8:]...), ErrFormat, "not a wasm2m store"},
		{"bad checksum", append(good[:12:12], 0, 0, 0, 0), ErrCorrupt, "checksum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkHeader(tc.h)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("checkHeader: %v; want %v mentioning %q", err, tc.want, tc.text)
			}
		})
	}
}

func crcOf(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// writeLog writes a log made of the header and recs to a new file and
// returns its path.
func writeLog(t *testing.T, recs ...[]byte) string {
	t.Helper()
	b := appendHeader(nil)
	for _, r := range recs {
		b = append(b, r...)
	}
	path := filepath.Join(t.TempDir(), "store.log")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
