package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
)

// KVStore is a key-value space that can be closed: what RunKV tests.
type KVStore interface {
	store.KV
	Close() error
}

// RunKV runs the conformance suite of store.KV, one subtest per rule of
// its contract. open returns a new, empty store for each subtest; RunKV
// closes it (but for the subtest of Close, which closes it itself).
func RunKV(t *testing.T, open func(t *testing.T) KVStore) {
	tests := []struct {
		name string
		run  func(t *testing.T, s KVStore)
	}{
		{"PutGet", testKVPutGet},
		{"Copies", testKVCopies},
		{"NotFound", testKVNotFound},
		{"Namespaces", testKVNamespaces},
		{"List", testKVList},
		{"Bounds", testKVBounds},
		{"ContextDone", testKVContextDone},
		{"Concurrent", testKVConcurrent},
		{"Closed", testKVClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			tc.run(t, s)
		})
	}
}

func kvPut(t *testing.T, s store.KV, ns, key, value string) {
	t.Helper()
	if err := s.KVPut(bg, ns, key, []byte(value)); err != nil {
		t.Fatalf("KVPut(%q, %q): %v", ns, key, err)
	}
}

// WantKV fails t unless key in ns holds value.
func WantKV(t testing.TB, s store.KV, ns, key, value string) {
	t.Helper()
	got, err := s.KVGet(bg, ns, key)
	if err != nil {
		t.Fatalf("KVGet(%q, %q): %v", ns, key, err)
	}
	if string(got) != value {
		t.Fatalf("KVGet(%q, %q) = %q, want %q", ns, key, got, value)
	}
}

// WantNoKV fails t unless key in ns is absent (4.04).
func WantNoKV(t testing.TB, s store.KV, ns, key string) {
	t.Helper()
	got, err := s.KVGet(bg, ns, key)
	if !errors.Is(err, model.ErrNotFound) {
		t.Fatalf("KVGet(%q, %q) = %q, %v; want a 4.04", ns, key, got, err)
	}
}

func listAll(t *testing.T, s store.KV, ns, prefix string) []string {
	t.Helper()
	keys, more, err := s.KVList(bg, ns, prefix, "", 0)
	if err != nil || more {
		t.Fatalf("KVList(%q, %q) = %q, more %v, %v", ns, prefix, keys, more, err)
	}
	return keys
}

func testKVPutGet(t *testing.T, s KVStore) {
	kvPut(t, s, "objects.valve", "state", "open")
	WantKV(t, s, "objects.valve", "state", "open")
	kvPut(t, s, "objects.valve", "state", "closed")
	WantKV(t, s, "objects.valve", "state", "closed")
	kvPut(t, s, "objects.valve", "empty", "")
	WantKV(t, s, "objects.valve", "empty", "")
	bin := []byte{0, 1, 2, 0xff, 0}
	if err := s.KVPut(bg, "objects.valve", "bin", bin); err != nil {
		t.Fatal(err)
	}
	WantKV(t, s, "objects.valve", "bin", string(bin))
	if err := s.KVDelete(bg, "objects.valve", "state"); err != nil {
		t.Fatal(err)
	}
	WantNoKV(t, s, "objects.valve", "state")
	if got := listAll(t, s, "objects.valve", ""); !slices.Equal(got, []string{"bin", "empty"}) {
		t.Fatalf("keys %q", got)
	}
}

func testKVCopies(t *testing.T, s KVStore) {
	v := []byte("abc")
	if err := s.KVPut(bg, "p", "k", v); err != nil {
		t.Fatal(err)
	}
	v[0] = 'X' // the store kept its own copy
	got, err := s.KVGet(bg, "p", "k")
	if err != nil || string(got) != "abc" {
		t.Fatalf("after changing the value put: %q, %v", got, err)
	}
	got[1] = 'Y' // the caller's copy
	WantKV(t, s, "p", "k", "abc")
}

func testKVNotFound(t *testing.T, s KVStore) {
	WantNoKV(t, s, "p", "missing")
	if err := s.KVDelete(bg, "p", "missing"); err != nil {
		t.Fatalf("KVDelete of a missing key: %v", err)
	}
	if keys := listAll(t, s, "p", ""); len(keys) != 0 {
		t.Fatalf("keys of an empty namespace: %q", keys)
	}
}

func testKVNamespaces(t *testing.T, s KVStore) {
	kvPut(t, s, "a", "k", "1")
	kvPut(t, s, "b", "k", "2")
	kvPut(t, s, "ab", "x", "3")
	WantKV(t, s, "a", "k", "1")
	WantKV(t, s, "b", "k", "2")
	WantNoKV(t, s, "a", "x")
	if got := listAll(t, s, "a", ""); !slices.Equal(got, []string{"k"}) {
		t.Fatalf("keys of a: %q", got)
	}
	if err := s.KVDelete(bg, "a", "k"); err != nil {
		t.Fatal(err)
	}
	WantKV(t, s, "b", "k", "2")
}

func testKVList(t *testing.T, s KVStore) {
	var want []string
	for i := range 25 {
		k := fmt.Sprintf("dev/%02d", i)
		kvPut(t, s, "p", k, "v")
		want = append(want, k)
	}
	kvPut(t, s, "p", "other", "v")
	kvPut(t, s, "p", "dev", "v") // the prefix itself is a key too
	want = append([]string{"dev"}, want...)
	if got := listAll(t, s, "p", "dev"); !slices.Equal(got, want) {
		t.Fatalf("prefix dev: %q", got)
	}
	// Pages of 10, each after the last key of the one before.
	var got []string
	after := ""
	for page := 0; ; page++ {
		keys, more, err := s.KVList(bg, "p", "dev", after, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) > 10 {
			t.Fatalf("page %d: %d keys, limit 10", page, len(keys))
		}
		got = append(got, keys...)
		if !more {
			break
		}
		if page > 5 || len(keys) == 0 {
			t.Fatalf("paging does not end: %q", got)
		}
		after = keys[len(keys)-1]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged: %q, want %q", got, want)
	}
	keys, more, err := s.KVList(bg, "p", "", "dev/24", 0)
	if err != nil || more || !slices.Equal(keys, []string{"other"}) {
		t.Fatalf("after dev/24: %q %v %v", keys, more, err)
	}
	keys, more, err = s.KVList(bg, "p", "", "", 27)
	if err != nil || more || len(keys) != 27 {
		t.Fatalf("limit equal to the count: %d keys, more %v, %v", len(keys), more, err)
	}
}

func wantCode(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

func testKVBounds(t *testing.T, s KVStore) {
	long := strings.Repeat("k", store.MaxKVKey)
	kvPut(t, s, "p", long, "v")
	WantKV(t, s, "p", long, "v")
	wantCode(t, "key too long", s.KVPut(bg, "p", long+"k", nil), model.ErrRequestEntityTooLarge)
	_, err := s.KVGet(bg, "p", long+"k")
	wantCode(t, "get of a key too long", err, model.ErrRequestEntityTooLarge)
	big := bytes.Repeat([]byte{7}, store.MaxKVValue)
	if err := s.KVPut(bg, "p", "big", big); err != nil {
		t.Fatalf("value of MaxKVValue bytes: %v", err)
	}
	wantCode(t, "value too large", s.KVPut(bg, "p", "big", append(big, 7)), model.ErrRequestEntityTooLarge)
	if got, err := s.KVGet(bg, "p", "big"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("a refused put changed the value: %d bytes, %v", len(got), err)
	}
	nsLong := strings.Repeat("n", store.MaxKVNamespace+1)
	wantCode(t, "namespace too long", s.KVPut(bg, nsLong, "k", nil), model.ErrRequestEntityTooLarge)
	wantCode(t, "empty key", s.KVPut(bg, "p", "", nil), model.ErrBadRequest)
	wantCode(t, "empty namespace", s.KVPut(bg, "", "k", nil), model.ErrBadRequest)
	wantCode(t, "key not UTF-8", s.KVPut(bg, "p", "\xff", nil), model.ErrBadRequest)
	wantCode(t, "delete with an empty key", s.KVDelete(bg, "p", ""), model.ErrBadRequest)
	_, _, err = s.KVList(bg, "", "", "", 0)
	wantCode(t, "list of an empty namespace name", err, model.ErrBadRequest)
}

func testKVContextDone(t *testing.T, s KVStore) {
	kvPut(t, s, "p", "k", "v")
	ctx, cancel := context.WithCancel(bg)
	cancel()
	wantCode(t, "put", s.KVPut(ctx, "p", "k", []byte("new")), context.Canceled)
	wantCode(t, "delete", s.KVDelete(ctx, "p", "k"), context.Canceled)
	_, err := s.KVGet(ctx, "p", "k")
	wantCode(t, "get", err, context.Canceled)
	_, _, err = s.KVList(ctx, "p", "", "", 0)
	wantCode(t, "list", err, context.Canceled)
	WantKV(t, s, "p", "k", "v")
}

func testKVConcurrent(t *testing.T, s KVStore) {
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns := fmt.Sprintf("plugin.%d", w%2)
			for i := range each {
				key := fmt.Sprintf("w%d/%02d", w, i)
				if err := s.KVPut(bg, ns, key, []byte(key)); err != nil {
					errs <- err
					return
				}
				if i%5 == 4 {
					if err := s.KVDelete(bg, ns, key); err != nil {
						errs <- err
						return
					}
				}
				if _, _, err := s.KVList(bg, ns, "", "", 0); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for ns := range 2 {
		keys := listAll(t, s, fmt.Sprintf("plugin.%d", ns), "")
		if want := workers / 2 * each * 4 / 5; len(keys) != want {
			t.Fatalf("plugin.%d: %d keys, want %d", ns, len(keys), want)
		}
		for _, k := range keys {
			WantKV(t, s, fmt.Sprintf("plugin.%d", ns), k, k)
		}
	}
}

func testKVClosed(t *testing.T, s KVStore) {
	kvPut(t, s, "p", "k", "v")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "put after close", s.KVPut(bg, "p", "k", nil), store.ErrClosed)
	wantCode(t, "delete after close", s.KVDelete(bg, "p", "k"), store.ErrClosed)
	_, err := s.KVGet(bg, "p", "k")
	wantCode(t, "get after close", err, store.ErrClosed)
	_, _, err = s.KVList(bg, "p", "", "", 0)
	wantCode(t, "list after close", err, store.ErrClosed)
}
