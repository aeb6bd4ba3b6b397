package store

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/wasm2m/wasm2m/core/model"
)

// KV is a small key-value space for plugins' own state, split into
// namespaces: the host gives each plugin the namespace of its id, so that no
// plugin sees another's keys. Values are opaque bytes.
//
// Bounds: a namespace is 1 to MaxKVNamespace bytes, a key 1 to MaxKVKey
// bytes of UTF-8, a value at most MaxKVValue bytes; beyond, a 4.13
// (model.ErrRequestEntityTooLarge); an empty or non-UTF-8 namespace or key
// is a 4.00.
//
// Implementations are safe for concurrent use and follow the rules of
// Store: KVPut and KVDelete return once the change is durable for a
// durable store, a context already done changes nothing and returns its
// error, and every method after Close returns an error wrapping ErrClosed.
// The store keeps its own copy of a value put, and KVGet returns a copy the
// caller may change.
type KV interface {
	// KVGet returns the value of key in namespace ns; model.ErrNotFound
	// (4.04) if there is none.
	KVGet(ctx context.Context, ns, key string) ([]byte, error)
	// KVPut sets key in ns to value (which may be empty).
	KVPut(ctx context.Context, ns, key string, value []byte) error
	// KVDelete removes key from ns; removing a missing key is no error.
	KVDelete(ctx context.Context, ns, key string) error
	// KVList returns the keys of ns that start with prefix and sort after
	// after (exclusive; "" lists from the start), in ascending byte order,
	// at most limit of them (0 or more than MaxKVList: MaxKVList), and
	// whether more follow the last one.
	KVList(ctx context.Context, ns, prefix, after string, limit int) (keys []string, more bool, err error)
}

// Bounds of the key-value space.
const (
	MaxKVNamespace = 256      // bytes of a namespace
	MaxKVKey       = 1024     // bytes of a key (ABI v1's KVGetRequest)
	MaxKVValue     = 64 << 10 // bytes of a value
	MaxKVList      = 1000     // keys in one KVList answer
)

var (
	_ KV = (*Memory)(nil)
	_ KV = (*File)(nil)
)

// kvSpace is the key-value space of an index: namespace → key → value.
// Values are owned by the index and never changed once stored.
type kvSpace map[string]map[string][]byte

func (s kvSpace) get(ns, key string) ([]byte, bool) {
	v, ok := s[ns][key]
	return v, ok
}

// put stores value (owned by the index from now on) and returns the value
// it replaced and whether there was one.
func (s *kvSpace) put(ns, key string, value []byte) (prev []byte, had bool) {
	if *s == nil {
		*s = make(kvSpace)
	}
	m := (*s)[ns]
	if m == nil {
		m = make(map[string][]byte)
		(*s)[ns] = m
	}
	prev, had = m[key]
	m[key] = value
	return prev, had
}

func (s kvSpace) delete(ns, key string) (prev []byte, had bool) {
	m := s[ns]
	prev, had = m[key]
	if had {
		delete(m, key)
		if len(m) == 0 {
			delete(s, ns)
		}
	}
	return prev, had
}

func (s kvSpace) list(ns, prefix, after string, limit int) ([]string, bool) {
	if limit <= 0 || limit > MaxKVList {
		limit = MaxKVList
	}
	var keys []string
	for k := range s[ns] {
		if strings.HasPrefix(k, prefix) && k > after {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) > limit {
		return keys[:limit:limit], true
	}
	return keys, false
}

// kvEntry is one key of a snapshot.
type kvEntry struct {
	ns, key string
	value   []byte
}

// entries lists the space, for a snapshot; the values are shared.
func (s kvSpace) entries() []kvEntry {
	var out []kvEntry
	for ns, m := range s {
		for k, v := range m {
			out = append(out, kvEntry{ns, k, v})
		}
	}
	return out
}

func checkKVName(what, s string, max int) error {
	switch {
	case s == "":
		return model.Errorf(model.BadRequest, "store: kv: empty %s", what)
	case len(s) > max:
		return model.Errorf(model.RequestEntityTooLarge, "store: kv: %s of %d bytes, more than %d", what, len(s), max)
	case !utf8.ValidString(s):
		return model.Errorf(model.BadRequest, "store: kv: %s %q is not UTF-8", what, s)
	}
	return nil
}

func checkKV(ns, key string) error {
	if err := checkKVName("namespace", ns, MaxKVNamespace); err != nil {
		return err
	}
	return checkKVName("key", key, MaxKVKey)
}

func checkKVValue(v []byte) error {
	if len(v) > MaxKVValue {
		return model.Errorf(model.RequestEntityTooLarge, "store: kv: value of %d bytes, more than %d", len(v), MaxKVValue)
	}
	return nil
}

func notFoundKV(ns, key string) error { return notFoundIn("kv key", ns, key) }

// KVGet implements KV for Memory and File.
func (s *indexed) KVGet(ctx context.Context, ns, key string) ([]byte, error) {
	if err := checkKV(ns, key); err != nil {
		return nil, err
	}
	if err := s.rlock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	v, ok := s.ix.kv.get(ns, key)
	if !ok {
		return nil, notFoundKV(ns, key)
	}
	return slices.Clone(v), nil
}

// kvLookup is KVGet for a key made of prefix and name, without an error
// value for a miss (ok false) and without building the key: the security
// store asks for every plain Register whether its endpoint has a
// credential, and the answer is almost always no.
func (s *indexed) kvLookup(ctx context.Context, ns, prefix, name string) (v []byte, ok bool, err error) {
	if err := s.rlock(ctx); err != nil {
		return nil, false, err
	}
	defer s.mu.RUnlock()
	v, ok = s.ix.kv[ns][prefix+name]
	if !ok {
		return nil, false, nil
	}
	return slices.Clone(v), true, nil
}

// kvLookuper is the KV of Memory and File, which look a key up without
// allocating for a miss.
type kvLookuper interface {
	kvLookup(ctx context.Context, ns, prefix, name string) ([]byte, bool, error)
}

// KVList implements KV for Memory and File.
func (s *indexed) KVList(ctx context.Context, ns, prefix, after string, limit int) ([]string, bool, error) {
	if err := checkKVName("namespace", ns, MaxKVNamespace); err != nil {
		return nil, false, err
	}
	if err := s.rlock(ctx); err != nil {
		return nil, false, err
	}
	defer s.mu.RUnlock()
	keys, more := s.ix.kv.list(ns, prefix, after, limit)
	return keys, more, nil
}

// KVPut implements KV.
func (m *Memory) KVPut(ctx context.Context, ns, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkKV(ns, key); err != nil {
		return err
	}
	if err := checkKVValue(value); err != nil {
		return err
	}
	own := slices.Clone(value)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.ix.kv.put(ns, key, own)
	return nil
}

// KVDelete implements KV.
func (m *Memory) KVDelete(ctx context.Context, ns, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkKV(ns, key); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.ix.kv.delete(ns, key)
	return nil
}

// KVPut implements KV: the change is one record of the log, written with
// the same group commit as registrations, and durable when KVPut returns.
func (f *File) KVPut(ctx context.Context, ns, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkKV(ns, key); err != nil {
		return err
	}
	if err := checkKVValue(value); err != nil {
		return err
	}
	own := slices.Clone(value)
	if own == nil {
		own = []byte{}
	}
	buf := f.getBuf()
	defer f.putBuf(buf)
	*buf = appendKVRecord(*buf, kindPutKV, ns, key, own)
	f.mu.Lock()
	if err := f.usable(); err != nil {
		f.mu.Unlock()
		return err
	}
	prev, had := f.ix.kv.put(ns, key, own)
	delta := len(*buf)
	if had {
		delta -= kvRecordLen(ns, key, prev)
	}
	f.addLive(delta)
	b := f.queue(*buf)
	f.mu.Unlock()
	return f.wait(ctx, b)
}

// KVDelete implements KV. Deleting a missing key writes nothing.
func (f *File) KVDelete(ctx context.Context, ns, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkKV(ns, key); err != nil {
		return err
	}
	buf := f.getBuf()
	defer f.putBuf(buf)
	f.mu.Lock()
	if err := f.usable(); err != nil {
		f.mu.Unlock()
		return err
	}
	prev, had := f.ix.kv.delete(ns, key)
	if !had {
		f.mu.Unlock()
		return nil
	}
	f.addLive(-kvRecordLen(ns, key, prev))
	*buf = appendKVRecord(*buf, kindDeleteKV, ns, key, nil)
	b := f.queue(*buf)
	f.mu.Unlock()
	return f.wait(ctx, b)
}

// Record kinds of the key-value space (see format.go):
//
//	5 put kv     string namespace, string key, then the value to the end
//	6 delete kv  string namespace, string key
const (
	kindPutKV    = 5
	kindDeleteKV = 6
	kindLast     = kindDeleteKV
)

// appendKVRecord appends a put (with value) or delete record.
func appendKVRecord(dst []byte, kind byte, ns, key string, value []byte) []byte {
	dst, at := beginRecord(dst)
	dst = appendString(dst, ns)
	dst = appendString(dst, key)
	dst = append(dst, value...)
	endRecord(dst, at, kind)
	return dst
}

// kvRecordLen returns the length of the put record of ns, key and value.
func kvRecordLen(ns, key string, value []byte) int {
	return recordHeader + stringLen(ns) + stringLen(key) + len(value)
}

// applyKV makes the change of a kv record during replay.
func (f *File) applyKV(kind byte, p []byte) bool {
	d := decoder{b: p}
	ns := d.string()
	key := d.string()
	if d.bad || ns == "" || key == "" {
		return false
	}
	switch kind {
	case kindPutKV:
		value := append([]byte{}, d.b...)
		prev, had := f.ix.kv.put(ns, key, value)
		f.live += int64(kvRecordLen(ns, key, value))
		if had {
			f.live -= int64(kvRecordLen(ns, key, prev))
		}
	case kindDeleteKV:
		if !d.ok() {
			return false
		}
		if prev, had := f.ix.kv.delete(ns, key); had {
			f.live -= int64(kvRecordLen(ns, key, prev))
		}
	}
	return true
}

// appendKVSnapshot appends a put record, marked as the start of a write,
// for each entry.
func appendKVSnapshot(dst []byte, e kvEntry) []byte {
	dst, at := beginRecord(dst)
	dst = appendString(dst, e.ns)
	dst = appendString(dst, e.key)
	dst = append(dst, e.value...)
	endRecord(dst, at, kindPutKV|batchStart)
	return dst
}

// knownKind reports whether k (without the batch flag) is a record kind of
// this version.
func knownKind(k byte) bool { return k >= kindPutRegistration && k <= kindLast }
