package transport

import (
	"net/netip"
	"sync"
)

// addrKey is a peer address as a map key without pointers, so that the
// garbage collector need not scan the large tables keyed by it. An IPv6
// zone is not part of it.
type addrKey struct {
	ip   [16]byte
	port uint16
}

func keyOf(ap netip.AddrPort) addrKey { return addrKey{ap.Addr().As16(), ap.Port()} }

// dedupKey identifies an incoming CON or NON message: the peer and its
// message ID (RFC 7252 section 4.5).
type dedupKey struct {
	addrKey
	mid uint16
}

func makeDedupKey(peer netip.AddrPort, mid uint16) dedupKey {
	return dedupKey{keyOf(peer), mid}
}

// dedupMaxBytes bounds the reply bytes the deduplication cache keeps; the
// oldest entries go first when it is exceeded.
const dedupMaxBytes = 64 << 20

// dedup is the deduplication cache of incoming messages (RFC 7252 section
// 4.5). Every CON is remembered for EXCHANGE_LIFETIME and every NON for
// NON_LIFETIME (section 4.8.2), each kind in a FIFO of its own: entries of
// one lifetime expire in the order they arrived, so expiry pops the head
// of a queue, O(1) per message, where go-coap scans a peer's whole cache.
// An entry holds the reply sent (the piggybacked response, an empty ACK,
// a RST), which a duplicate gets again; nil while the reply is pending.
// Count (Config.MaxDedupEntries) and bytes are bounded across both FIFOs,
// the oldest entry evicted first.
//
// A message with a remembered MID but another token is not a duplicate (a
// retransmission repeats the token): it is a peer reusing MIDs sooner than
// RFC 7252 section 4.4 allows, typically after it restarted, and is
// processed as new rather than answered with another request's response.
type dedup struct {
	mu       sync.Mutex
	con, non dedupFIFO
	max      int
}

func newDedup(conLifetime, nonLifetime int64, maxEntries int) *dedup {
	return &dedup{
		con: dedupFIFO{m: make(map[dedupKey]uint32), life: conLifetime},
		non: dedupFIFO{m: make(map[dedupKey]uint32), life: nonLifetime},
		max: maxEntries,
	}
}

func (d *dedup) pick(con bool) *dedupFIFO {
	if con {
		return &d.con
	}
	return &d.non
}

// check reports whether the message k with token tok was seen within its
// lifetime, with the reply stored for it (nil if none yet). A message not
// seen is recorded as pending.
func (d *dedup) check(k dedupKey, tok []byte, con bool, now int64) (reply []byte, dup bool) {
	reply, dup, _ = d.checkSeq(k, tok, con, now)
	return reply, dup
}

// checkSeq is check, and for a message not seen the sequence number of its
// new entry, for answerSeq.
func (d *dedup) checkSeq(k dedupKey, tok []byte, con bool, now int64) (reply []byte, dup bool, seq uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.pick(con)
	if r, ok := f.lookup(k, tok, now); ok {
		return r, true, 0
	}
	seq = f.insert(k, tok, now)
	d.bound()
	return nil, false, seq
}

// answer stores the reply sent for k, if k is still remembered.
func (d *dedup) answer(k dedupKey, con bool, reply []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pick(con).answer(k, reply) {
		d.bound()
	}
}

// answerSeq stores the reply sent for the entry check recorded as seq for
// k, if that entry is still remembered: without a lookup in the map, which
// at 100,000 entries is most of what answer costs. An entry that expired,
// was evicted or was replaced by a message reusing k's MID is left alone.
func (d *dedup) answerSeq(k dedupKey, con bool, seq uint32, reply []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.pick(con)
	if seq-f.head >= f.n {
		return
	}
	s := f.slot(seq)
	if !s.live || s.k != k {
		return
	}
	f.bytes += len(reply) - len(s.reply)
	s.reply = reply
	d.bound()
}

// forget removes k, so that its retransmission is processed.
func (d *dedup) forget(k dedupKey, con bool) {
	d.mu.Lock()
	d.pick(con).remove(k)
	d.mu.Unlock()
}

// bound evicts the oldest entries while the count or the bytes are over
// their bounds. The newest entry is never evicted.
func (d *dedup) bound() {
	for d.con.len()+d.non.len() > max(d.max, 1) || (d.con.bytes+d.non.bytes > dedupMaxBytes && d.con.len()+d.non.len() > 1) {
		tc, okc := d.con.oldest()
		tn, okn := d.non.oldest()
		if okc && (!okn || tc <= tn) {
			d.con.evict()
		} else {
			d.non.evict()
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

// dedupSlot is one entry of a dedupFIFO, in arrival order. A slot whose
// entry was replaced or removed is dead and only waits to be popped.
type dedupSlot struct {
	k     dedupKey
	live  bool
	tokN  uint8
	tok   [8]byte
	t     int64
	reply []byte
}

// dedupFIFO is a map from key to sequence number over a ring of slots in
// arrival order; sequence seq lives at ring[seq & (len(ring)-1)].
type dedupFIFO struct {
	m     map[dedupKey]uint32
	ring  []dedupSlot
	head  uint32 // sequence number of the oldest slot
	n     uint32 // slots in the ring, live or dead
	life  int64
	bytes int
}

func (f *dedupFIFO) len() int { return len(f.m) }

func (f *dedupFIFO) slot(seq uint32) *dedupSlot { return &f.ring[seq&uint32(len(f.ring)-1)] }

func (f *dedupFIFO) lookup(k dedupKey, tok []byte, now int64) ([]byte, bool) {
	seq, ok := f.m[k]
	if !ok {
		return nil, false
	}
	s := f.slot(seq)
	if now-s.t < f.life && string(s.tok[:s.tokN]) == string(tok) {
		return s.reply, true
	}
	// Expired but not yet swept, or a reused MID: the slot dies, and the
	// caller inserts the message anew.
	f.kill(s)
	delete(f.m, k)
	return nil, false
}

func (f *dedupFIFO) kill(s *dedupSlot) {
	s.live = false
	f.bytes -= len(s.reply)
	s.reply = nil
}

func (f *dedupFIFO) insert(k dedupKey, tok []byte, now int64) uint32 {
	if int(f.n) == len(f.ring) {
		f.grow()
	}
	seq := f.head + f.n
	f.n++
	s := f.slot(seq)
	*s = dedupSlot{k: k, live: true, t: now}
	s.tokN = uint8(copy(s.tok[:], tok))
	f.m[k] = seq
	return seq
}

func (f *dedupFIFO) grow() {
	ring := make([]dedupSlot, max(64, 2*len(f.ring)))
	for i := range f.n {
		seq := f.head + i
		ring[seq&uint32(len(ring)-1)] = *f.slot(seq)
	}
	f.ring = ring
}

func (f *dedupFIFO) answer(k dedupKey, reply []byte) bool {
	seq, ok := f.m[k]
	if !ok {
		return false
	}
	s := f.slot(seq)
	f.bytes += len(reply) - len(s.reply)
	s.reply = reply
	return true
}

func (f *dedupFIFO) remove(k dedupKey) {
	if seq, ok := f.m[k]; ok {
		f.kill(f.slot(seq))
		delete(f.m, k)
	}
}

// pop removes the oldest slot, and its entry if it is live.
func (f *dedupFIFO) pop() {
	s := f.slot(f.head)
	if s.live {
		delete(f.m, s.k)
		f.bytes -= len(s.reply)
	}
	*s = dedupSlot{}
	f.head++
	f.n--
	if f.n == 0 && len(f.ring) > 1<<16 {
		f.ring = nil // give a burst's memory back
	}
}

// oldest returns the arrival time of the oldest live entry.
func (f *dedupFIFO) oldest() (int64, bool) {
	for f.n > 0 {
		if s := f.slot(f.head); s.live {
			return s.t, true
		}
		f.pop()
	}
	return 0, false
}

// evict removes the oldest live entry.
func (f *dedupFIFO) evict() {
	if _, ok := f.oldest(); ok {
		f.pop()
	}
}

// sweep removes the entries older than the lifetime.
func (f *dedupFIFO) sweep(now int64) {
	for f.n > 0 {
		s := f.slot(f.head)
		if s.live && now-s.t < f.life {
			return
		}
		f.pop()
	}
}
