package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// rec builds a record of kind (with flags) around payload.
func rec(kind byte, payload []byte) []byte {
	b, at := beginRecord(nil)
	b = append(b, payload...)
	endRecord(b, at, kind)
	return b
}

func regRec(r *Registration, flags byte) []byte { return appendRegistrationRecord(nil, r, flags) }

func obsRec(o *Observation, flags byte) []byte { return appendObservationRecord(nil, o, flags) }

// flip returns a copy of b with byte i changed.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x40
	return c
}

// contents lists what an opened File holds, for comparisons.
func contents(t *testing.T, f *File) (regs, obs []string) {
	t.Helper()
	ctx := context.Background()
	err := f.Registrations(ctx, func(r *Registration) bool {
		regs = append(regs, r.ID)
		list, err := f.ObservationsOf(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list {
			obs = append(obs, o.Token)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(regs)
	slices.Sort(obs)
	return regs, obs
}

func TestTornTailEveryOffset(t *testing.T) {
	a, b, c := sample("a", "ep-a"), sample("b", "ep-b"), sample("c", "ep-c")
	recs := [][]byte{regRec(a, batchStart), regRec(b, batchStart), obsRec(sampleObservation("t", a), batchStart)}
	last := regRec(c, batchStart)
	full := writeLog(t, append(recs, last)...)
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	lastAt := len(data) - len(last)
	for cut := lastAt; cut < len(data); cut++ {
		t.Run(fmt.Sprint(cut-lastAt), func(t *testing.T) {
			path := writeLog(t)
			if err := os.WriteFile(path, data[:cut], 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := OpenFile(path, FileOptions{NoSync: true, Preallocate: -1})
			if err != nil {
				t.Fatalf("open with the last record cut at %d of %d bytes: %v", cut-lastAt, len(last), err)
			}
			regs, obs := contents(t, f)
			if strings.Join(regs, ",") != "a,b" || strings.Join(obs, ",") != "t" {
				t.Fatalf("after the cut: registrations %q, observations %q; want a,b and t", regs, obs)
			}
			if st, _ := os.Stat(path); st.Size() != int64(lastAt) {
				t.Fatalf("file is %d bytes after open, want the torn tail cut at %d", st.Size(), lastAt)
			}
			// Appending after the cut works, and survives a reopen.
			if _, err := f.PutRegistration(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			f, err = OpenFile(path, FileOptions{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if regs, _ := contents(t, f); strings.Join(regs, ",") != "a,b,c" {
				t.Fatalf("after reopen: %q", regs)
			}
		})
	}
}

func TestReplayDamage(t *testing.T) {
	a, b, c, d := sample("a", "ep-a"), sample("b", "ep-b"), sample("c", "ep-c"), sample("d", "ep-d")
	ra, rb, rc, rd := regRec(a, batchStart), regRec(b, batchStart), regRec(c, batchStart), regRec(d, 0)
	ro := obsRec(sampleObservation("t", a), 0)
	offB := headerSize + len(ra)
	tests := []struct {
		name    string
		recs    [][]byte
		want    string // registrations kept, comma-separated
		wantErr error
		text    []string // in the error
	}{
		{"clean", [][]byte{ra, rb, rc}, "a,b,c", nil, nil},
		{"damaged record before a later write", [][]byte{ra, flip(rb, 20), rc}, "", ErrCorrupt,
			[]string{fmt.Sprintf("offset %d", offB), fmt.Sprintf("from offset %d", offB+len(rb))}},
		{"damaged length before a later write", [][]byte{ra, flip(rb, 1), rc}, "", ErrCorrupt,
			[]string{fmt.Sprintf("offset %d", offB)}},
		{"damaged checksum before a later write", [][]byte{ra, flip(rb, 5), rc}, "", ErrCorrupt, nil},
		{"damaged last write", [][]byte{ra, rb, flip(rc, 30)}, "a,b", nil, nil},
		{"damaged first record of the last write, rest intact", [][]byte{ra, rb, flip(rc, 30), rd, ro}, "a,b", nil, nil},
		{"damaged middle of the last write, rest intact", [][]byte{ra, rb, rc, flip(rd, 12), ro}, "a,b,c", nil, nil},
		{"zeros after the last record", [][]byte{ra, rb, make([]byte, 4096)}, "a,b", nil, nil},
		{"record header cut short", [][]byte{ra, rb, rc[:5]}, "a,b", nil, nil},
		{"length beyond the end", [][]byte{ra, rb, rc[:len(rc)-1]}, "a,b", nil, nil},
		{"unknown kind with a good checksum", [][]byte{ra, rec(9|batchStart, []byte("x"))}, "", ErrCorrupt,
			[]string{"kind 9", fmt.Sprintf("offset %d", offB)}},
		{"undecodable payload with a good checksum", [][]byte{ra, rec(kindPutRegistration, []byte{1, 2, 3})}, "", ErrCorrupt,
			[]string{"does not decode"}},
		{"observation of an unknown registration", [][]byte{obsRec(sampleObservation("t", a), batchStart)}, "", ErrCorrupt,
			[]string{"does not exist"}},
		{"deletion of an unknown registration", [][]byte{ra, rec(kindDeleteRegistration|batchStart, []byte("zz"))}, "", ErrCorrupt,
			[]string{`"zz"`}},
		{"deletion of an unknown observation", [][]byte{ra, rec(kindDeleteObservation, []byte("zz"))}, "", ErrCorrupt, nil},
		{"deletes and replacements", [][]byte{ra, rb, ro, rec(kindDeleteRegistration, []byte("b")),
			regRec(sample("a2", "ep-a"), batchStart), rc}, "a2,c", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeLog(t, tc.recs...)
			before, _ := os.ReadFile(path)
			f, err := OpenFile(path, FileOptions{NoSync: true})
			if tc.wantErr != nil {
				if err == nil {
					f.Close()
					t.Fatal("open succeeded")
				}
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				for _, s := range tc.text {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not mention %q", err, s)
					}
				}
				if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
					t.Fatal("a refused file was changed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if regs, _ := contents(t, f); strings.Join(regs, ",") != tc.want {
				t.Fatalf("registrations %q, want %q", regs, tc.want)
			}
		})
	}
}

func TestOpenHeader(t *testing.T) {
	good := appendHeader(nil)
	v2 := bytes.Clone(good)
	binary.LittleEndian.PutUint16(v2[8:], 2)
	binary.LittleEndian.PutUint32(v2[12:], crcOf(v2[:12]))
	tests := []struct {
		name    string
		data    []byte
		wantErr error
		text    string
	}{
		{"empty file", nil, nil, ""},
		{"header cut short", good[:7], nil, ""},
		{"header only", good, nil, ""},
		{"zeros shorter than a header", make([]byte, 5), nil, ""},
		{"zeros (a crash during creation)", make([]byte, 4096), nil, ""},
		{"version 2", append(bytes.Clone(v2), regRec(sample("a", "b"), batchStart)...), ErrFormat, "format version 2"},
		{"short garbage", []byte("hello"), ErrFormat, "do not start"},
		{"another file", bytes.Repeat([]byte("x"), 100), ErrFormat, "not a wasm2m store"},
		{"zero header, then data", append(make([]byte, 16), 1), ErrFormat, "not a wasm2m store"},
		{"header checksum", append(good[:12:12], 1, 2, 3, 4), ErrCorrupt, "checksum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeLog(t)
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := OpenFile(path, FileOptions{NoSync: true})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				f.Close()
				if b, _ := os.ReadFile(path); !bytes.Equal(b, good) {
					t.Fatalf("file % x after open, want the header", b)
				}
				return
			}
			if err == nil {
				f.Close()
				t.Fatal("open succeeded")
			}
			if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("error %v, want %v mentioning %q", err, tc.wantErr, tc.text)
			}
			if b, _ := os.ReadFile(path); !bytes.Equal(b, tc.data) {
				t.Fatal("a refused file was changed")
			}
		})
	}
}
