package transport

import (
	"math/rand/v2"
	"net/netip"
	"sync"
)

// maxPeers bounds the peer table, so that a flood from spoofed source
// addresses costs bounded memory; the least recently queued peer goes
// first.
const maxPeers = 1 << 20

// peerState is everything the endpoint keeps per peer: the next message
// ID it uses towards the peer (RFC 7252 section 4.4) and the token bucket
// that limits what the peer may send. It is dropped after
// Config.PeerIdleTimeout without traffic; nothing that matters lives here,
// since exchanges in flight have their own table and observations live in
// the LwM2M server's tables.
type peerState struct {
	tokens float64
	refill int64
	mid    uint16
}

type peerTable struct {
	mu     sync.Mutex
	m      ttlMap[addrKey, peerState]
	rate   float64 // tokens per nanosecond; < 0: no limit
	burst  float64
	limits bool
}

func newPeerTable(idle int64, rate float64, burst int) *peerTable {
	return &peerTable{
		m:      newTTLMap[addrKey, peerState](idle, maxPeers, 0),
		rate:   rate / 1e9,
		burst:  float64(burst),
		limits: rate >= 0,
	}
}

// lookup returns the state of peer, refilled to now, or a new state
// (known false) if it has none.
func (p *peerTable) lookup(peer addrKey, now int64) (st peerState, known bool) {
	st, ok := p.m.get(peer, now)
	if !ok {
		return peerState{tokens: p.burst, refill: now, mid: uint16(rand.Uint32())}, false
	}
	if p.limits {
		st.tokens = min(p.burst, st.tokens+float64(now-st.refill)*p.rate)
	}
	st.refill = now
	return st, true
}

// store keeps st as the state of peer, which lookup said was known or
// not: a new peer's state is inserted without looking for it again.
func (p *peerTable) store(peer addrKey, st peerState, known bool, now int64) {
	if !known || !p.m.set(peer, st, 0, now, true) {
		p.m.put(peer, st, 0, now)
	}
}

// allow takes one token from peer's bucket (RFC 7252 section 4.7 asks a
// sender to be gentle; this makes the receiver enforce it) and reports
// whether there was one.
func (p *peerTable) allow(peer netip.AddrPort, now int64) bool {
	k := keyOf(peer)
	p.mu.Lock()
	defer p.mu.Unlock()
	st, known := p.lookup(k, now)
	ok := !p.limits || st.tokens >= 1
	if ok && p.limits {
		st.tokens--
	}
	p.store(k, st, known, now)
	return ok
}

// touch marks an existing peer as active.
func (p *peerTable) touch(peer netip.AddrPort, now int64) {
	k := keyOf(peer)
	p.mu.Lock()
	if st, ok := p.m.get(k, now); ok {
		p.m.set(k, st, 0, now, true)
	}
	p.mu.Unlock()
}

// nextMID returns the next message ID to use towards peer. The counter
// starts at a random value when the peer's state is created (RFC 7252
// section 4.4).
func (p *peerTable) nextMID(peer netip.AddrPort, now int64) uint16 {
	k := keyOf(peer)
	p.mu.Lock()
	defer p.mu.Unlock()
	st, known := p.lookup(k, now)
	mid := st.mid
	st.mid++
	p.store(k, st, known, now)
	return mid
}

func (p *peerTable) sweep(now int64) {
	p.mu.Lock()
	p.m.sweep(now)
	p.mu.Unlock()
}

func (p *peerTable) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m.len()
}
