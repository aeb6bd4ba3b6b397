package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
)

// fuzzSeeds are logs (after the header) that reach every branch of replay:
// every record kind, replacement by endpoint, a torn tail, damage before a
// later write, and records that check out but make no sense.
func fuzzSeeds() [][]byte {
	a, b := sample("a", "ep-a"), sample("b", "ep-b")
	a2 := sample("a2", "ep-a")
	a2.Objects, a2.Identity = a2.Objects[:2], "psk"
	o := sampleObservation("t1", a)
	cat := func(recs ...[]byte) []byte {
		var out []byte
		for _, r := range recs {
			out = append(out, r...)
		}
		return out
	}
	ra := regRec(a, batchStart)
	return [][]byte{
		nil,
		ra,
		cat(ra, regRec(b, 0), obsRec(o, batchStart), rec(kindDeleteObservation, []byte("t1"))),
		cat(ra, obsRec(o, batchStart), regRec(a2, batchStart), rec(kindDeleteRegistration|batchStart, []byte("a2"))),
		cat(ra, regRec(b, batchStart)[:20]),
		cat(flip(ra, 30), regRec(b, batchStart)),
		cat(ra, rec(kindDeleteRegistration, []byte("x"))),
		cat(ra, rec(0x7f|batchStart, nil)),
		cat(obsRec(o, batchStart)),
	}
}

// FuzzReplay writes arbitrary bytes after a valid header and opens the
// result as a log. OpenFile must not panic; it either refuses the file with
// ErrCorrupt or ErrFormat, or opens a consistent store that a reopen and a
// compaction give back unchanged.
func FuzzReplay(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	dir := f.TempDir()
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, fmt.Sprintf("%d.log", n.Add(1)))
		defer func() {
			for _, p := range []string{path, path + ".lock", path + ".compact"} {
				os.Remove(p)
			}
		}()
		if err := os.WriteFile(path, append(appendHeader(nil), data...), 0o600); err != nil {
			t.Fatal(err)
		}
		opts := FileOptions{NoSync: true, CompactSize: -1}
		s, err := OpenFile(path, opts)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrFormat) {
				t.Fatalf("OpenFile: %v, which is neither ErrCorrupt nor ErrFormat", err)
			}
			return
		}
		checkConsistent(t, s)
		want := dump(t, s)
		if err := s.Compact(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = OpenFile(path, opts)
		if err != nil {
			t.Fatalf("reopen after compaction: %v", err)
		}
		defer s.Close()
		checkConsistent(t, s)
		if got := dump(t, s); got != want {
			t.Fatalf("reopen after compaction:\n got %s\nwant %s", got, want)
		}
	})
}

// dump encodes the whole content of f, in a stable order.
func dump(t *testing.T, f *File) string {
	t.Helper()
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []byte
	for _, id := range sortedKeys(f.ix.regs) {
		out = appendRegistrationRecord(out, f.ix.regs[id], 0)
	}
	for _, tok := range sortedKeys(f.ix.obs) {
		out = appendObservationRecord(out, f.ix.obs[tok], 0)
	}
	return string(out)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkConsistent checks the invariants of f's index.
func checkConsistent(t *testing.T, f *File) {
	t.Helper()
	f.mu.RLock()
	defer f.mu.RUnlock()
	ix := &f.ix
	if len(ix.byEP) != len(ix.regs) {
		t.Fatalf("%d endpoints, %d registrations", len(ix.byEP), len(ix.regs))
	}
	live := 0
	refs := map[string]int{}
	for id, r := range ix.regs {
		if r.ID != id || ix.byEP[r.Endpoint] != r {
			t.Fatalf("registration %q indexed wrongly", id)
		}
		live += registrationRecordLen(r)
		if len(r.Objects) > 0 {
			refs[string(appendObjects(nil, r.Objects))]++
		}
	}
	for k, e := range ix.objects.m {
		if refs[k] != e.refs {
			t.Fatalf("shared layout used by %d registrations counts %d", refs[k], e.refs)
		}
	}
	if len(refs) != len(ix.objects.m) {
		t.Fatalf("%d layouts in use, %d shared", len(refs), len(ix.objects.m))
	}
	n := 0
	for id, list := range ix.obsOf {
		if ix.regs[id] == nil || len(list) == 0 {
			t.Fatalf("observation list of registration %q (%d items), which does not exist", id, len(list))
		}
		for _, o := range list {
			if o.RegistrationID != id || ix.obs[o.Token] != o {
				t.Fatalf("observation %x indexed wrongly", o.Token)
			}
			live += observationRecordLen(o)
		}
		n += len(list)
	}
	if n != len(ix.obs) {
		t.Fatalf("%d observations by token, %d by registration", len(ix.obs), n)
	}
	if int64(live) != f.live {
		t.Fatalf("live data is %d bytes, accounted %d", live, f.live)
	}
}
