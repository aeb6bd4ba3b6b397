package transport

import "sync"

// notifyTable remembers the non-confirmable notifications Notify sent, by
// peer and message ID, with their tokens, so that a RST answering one
// (RFC 7252 section 4.3 matches it by message ID; RFC 7641 section 3.6
// makes it a cancel) can be told to Config.OnReset. An entry lives for
// EXCHANGE_LIFETIME, within which the peer's RST can still come and the
// message ID is not reused (RFC 7252 section 4.4); the table holds at most
// max entries, the oldest forgotten first.
type notifyTable struct {
	mu sync.Mutex
	m  ttlMap[dedupKey, notifyToken]
}

// notifyToken is a token of up to 8 bytes held without a pointer.
type notifyToken struct {
	b [8]byte
	n uint8
}

func newNotifyTable(lifetime int64, max int) *notifyTable {
	return &notifyTable{m: newTTLMap[dedupKey, notifyToken](lifetime, max, 0)}
}

// put remembers the notification k with token tok, replacing what was
// remembered for k.
func (t *notifyTable) put(k dedupKey, tok []byte, now int64) {
	var v notifyToken
	v.n = uint8(copy(v.b[:], tok))
	t.mu.Lock()
	t.m.put(k, v, 0, now)
	t.mu.Unlock()
}

// take forgets the notification k and returns its token, if it was
// remembered and has not expired.
func (t *notifyTable) take(k dedupKey, now int64) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m.get(k, now)
	t.m.remove(k)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), v.b[:v.n]...), true
}

func (t *notifyTable) sweep(now int64) {
	t.mu.Lock()
	t.m.sweep(now)
	t.mu.Unlock()
}

func (t *notifyTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m.len()
}
