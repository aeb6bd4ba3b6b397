package transport

import (
	"net/netip"
	"sync"
)

// dedupKey identifies an incoming CON or NON message: the peer and its
// message ID (RFC 7252 section 4.5).
type dedupKey struct {
	peer netip.AddrPort
	mid  uint16
}

// dedupMaxBytes bounds the reply bytes the deduplication cache keeps; the
// oldest entries go first when it is exceeded.
const dedupMaxBytes = 64 << 20

// dedup is the deduplication cache of incoming messages (RFC 7252 section
// 4.5). Every CON is remembered for EXCHANGE_LIFETIME and every NON for
// NON_LIFETIME (section 4.8.2), in two ttlMaps because each holds entries
// of one lifetime only, which is what makes its FIFO expiry exact. An
// entry holds the reply sent (the piggybacked response, an empty ACK, a
// RST), which a duplicate gets again; nil while the reply is pending.
// Count (Config.MaxDedupEntries) and bytes are bounded across both, the
// oldest entry evicted first.
type dedup struct {
	mu       sync.Mutex
	con, non ttlMap[dedupKey, []byte]
	max      int
}

func newDedup(conLifetime, nonLifetime int64, maxEntries int) *dedup {
	return &dedup{
		con: newTTLMap[dedupKey, []byte](conLifetime, 0, 0),
		non: newTTLMap[dedupKey, []byte](nonLifetime, 0, 0),
		max: maxEntries,
	}
}

func (d *dedup) pick(con bool) *ttlMap[dedupKey, []byte] {
	if con {
		return &d.con
	}
	return &d.non
}

// check reports whether k was seen within its lifetime, with the reply
// stored for it (nil if none yet). A message not seen is recorded as
// pending.
func (d *dedup) check(k dedupKey, con bool, now int64) (reply []byte, dup bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.pick(con)
	if r, ok := c.get(k, now); ok {
		return r, true
	}
	c.put(k, nil, 0, now)
	d.bound(k)
	return nil, false
}

// answer stores the reply sent for k, if k is still remembered.
func (d *dedup) answer(k dedupKey, con bool, reply []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pick(con).set(k, reply, len(reply), 0, false) {
		d.bound(k)
	}
}

// forget removes k, so that its retransmission is processed.
func (d *dedup) forget(k dedupKey, con bool) {
	d.mu.Lock()
	d.pick(con).remove(k)
	d.mu.Unlock()
}

// bound evicts the oldest entries (never keep) while the count or the
// bytes are over their bounds.
func (d *dedup) bound(keep dedupKey) {
	for d.con.len()+d.non.len() > d.max || d.con.bytes+d.non.bytes > dedupMaxBytes {
		tc, okc := d.con.oldest()
		tn, okn := d.non.oldest()
		first, second := &d.con, &d.non
		if !okc || (okn && tn < tc) {
			first, second = second, first
		}
		if !first.evictOldest(keep) && !second.evictOldest(keep) {
			return
		}
	}
}

func (d *dedup) sweep(now int64) {
	d.mu.Lock()
	d.con.sweep(now)
	d.non.sweep(now)
	d.mu.Unlock()
}

func (d *dedup) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.con.len() + d.non.len()
}
