package transport

// ring is a growable FIFO queue.
type ring[T any] struct {
	buf     []T
	head, n int
}

func (r *ring[T]) push(v T) {
	if r.n == len(r.buf) {
		nb := make([]T, max(16, 2*len(r.buf)))
		for i := range r.n {
			nb[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = nb, 0
	}
	r.buf[(r.head+r.n)%len(r.buf)] = v
	r.n++
}

// front returns the oldest element; the queue must not be empty.
func (r *ring[T]) front() T { return r.buf[r.head] }

func (r *ring[T]) pop() {
	var zero T
	r.buf[r.head] = zero
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	if r.n == 0 {
		r.head = 0
		if len(r.buf) > 1024 {
			r.buf = nil // give a burst's memory back
		}
	}
}

// ttlMap is a map whose entries expire ttl after they were last used,
// bounded by a count and a byte budget with the oldest evicted first.
// Expiry and eviction are O(1) amortized per operation: every entry has a
// slot in a FIFO queue in insertion order, so the sweep stops at the first
// slot that is not due. An entry used since its slot was queued (touched)
// is queued again when its slot comes up, so a touched entry goes at most
// 2×ttl after its last use. A replaced or removed entry leaves a stale
// slot, recognised by its generation and skipped.
//
// Times are nanoseconds on the endpoint's monotonic clock. ttlMap is not
// safe for concurrent use; its owner locks.
type ttlMap[K comparable, V any] struct {
	m        map[K]ttlEntry[V]
	q        ring[ttlSlot[K]]
	gen      uint64
	bytes    int
	ttl      int64
	max      int // 0: unbounded count
	maxBytes int // 0: unbounded bytes
}

type ttlEntry[V any] struct {
	v    V
	gen  uint64
	last int64
	size int
}

type ttlSlot[K comparable] struct {
	k   K
	gen uint64
	t   int64
}

func newTTLMap[K comparable, V any](ttl int64, maxCount, maxBytes int) ttlMap[K, V] {
	return ttlMap[K, V]{m: make(map[K]ttlEntry[V]), ttl: ttl, max: maxCount, maxBytes: maxBytes}
}

func (c *ttlMap[K, V]) len() int { return len(c.m) }

// get returns the value of k unless it is absent or expired.
func (c *ttlMap[K, V]) get(k K, now int64) (V, bool) {
	e, ok := c.m[k]
	if !ok || now-e.last >= c.ttl {
		var zero V
		return zero, false
	}
	return e.v, true
}

// put inserts k, or replaces it as if new, and evicts the oldest entries
// (never k) while a bound is exceeded.
func (c *ttlMap[K, V]) put(k K, v V, size int, now int64) {
	if old, ok := c.m[k]; ok {
		c.bytes -= old.size
	}
	c.gen++
	c.m[k] = ttlEntry[V]{v: v, gen: c.gen, last: now, size: size}
	c.bytes += size
	c.q.push(ttlSlot[K]{k: k, gen: c.gen, t: now})
	if c.q.n > 2*len(c.m)+1024 {
		c.compact()
	}
	c.bound(k)
}

// set replaces the value of k in place, keeping its age unless touch is
// true, in which case it counts as used at now. It reports whether k was
// present.
func (c *ttlMap[K, V]) set(k K, v V, size int, now int64, touch bool) bool {
	e, ok := c.m[k]
	if !ok {
		return false
	}
	c.bytes += size - e.size
	e.v, e.size = v, size
	if touch {
		e.last = now
	}
	c.m[k] = e
	if size > 0 {
		c.bound(k)
	}
	return true
}

func (c *ttlMap[K, V]) remove(k K) {
	if e, ok := c.m[k]; ok {
		c.bytes -= e.size
		delete(c.m, k)
	}
}

func (c *ttlMap[K, V]) bound(keep K) {
	for (c.max > 0 && len(c.m) > c.max) || (c.maxBytes > 0 && c.bytes > c.maxBytes) {
		if !c.evictOldest(keep) {
			return
		}
	}
}

// skipStale drops stale slots from the head and reports whether a live one
// remains.
func (c *ttlMap[K, V]) skipStale() bool {
	for c.q.n > 0 {
		s := c.q.front()
		if e, ok := c.m[s.k]; ok && e.gen == s.gen {
			return true
		}
		c.q.pop()
	}
	return false
}

// oldest returns the queue time of the oldest live entry.
func (c *ttlMap[K, V]) oldest() (int64, bool) {
	if !c.skipStale() {
		return 0, false
	}
	return c.q.front().t, true
}

// evictOldest removes the oldest entry other than keep and reports whether
// it removed one.
func (c *ttlMap[K, V]) evictOldest(keep K) bool {
	for range 2 {
		if !c.skipStale() {
			return false
		}
		s := c.q.front()
		c.q.pop()
		if s.k == keep {
			if len(c.m) == 1 {
				c.q.push(s)
				return false
			}
			c.q.push(s)
			continue
		}
		c.bytes -= c.m[s.k].size
		delete(c.m, s.k)
		return true
	}
	return false
}

// sweep removes every entry not used for ttl.
func (c *ttlMap[K, V]) sweep(now int64) {
	for c.q.n > 0 {
		s := c.q.front()
		e, ok := c.m[s.k]
		if !ok || e.gen != s.gen {
			c.q.pop()
			continue
		}
		if now-s.t < c.ttl {
			return
		}
		c.q.pop()
		if now-e.last < c.ttl {
			s.t = e.last
			c.q.push(s)
			continue
		}
		c.bytes -= e.size
		delete(c.m, s.k)
	}
}

// compact drops every stale slot.
func (c *ttlMap[K, V]) compact() {
	var q ring[ttlSlot[K]]
	for c.q.n > 0 {
		s := c.q.front()
		c.q.pop()
		if e, ok := c.m[s.k]; ok && e.gen == s.gen {
			q.push(s)
		}
	}
	c.q = q
}
