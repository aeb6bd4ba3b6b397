package server

import (
	"container/heap"
	"sync"
	"time"
)

// expiryQueue orders registrations by the time they expire, in buckets of
// one second: scheduling, rescheduling (every Update) and removing cost a
// few operations on small maps whatever the size of the fleet, and a tick
// touches only the registrations that are due — no scan of the fleet
// (Leshan's Redis store slowed down because its cleaner scanned
// everything), and no O(log n) sift through a million-entry heap on every
// Update. A registration expires at most one second after its deadline.
//
// A bucket is a slice, not a set: moving or removing an id leaves its
// entry behind, stale (at no longer names that bucket), and due skips it.
// A bucket whose stale entries outnumber its live ones is compacted, so
// that it never holds more than twice its live ids (and a few more). A
// new registration therefore costs one map insert (at) and an append,
// where a set per second cost a second map insert, and a lookup first.
type expiryQueue struct {
	mu      sync.Mutex
	at      map[string]int64  // registration id -> its bucket
	buckets map[int64]*bucket // unix second -> ids due then, and stale ones
	order   secondHeap        // bucket seconds, earliest first; may hold emptied ones
	wake    chan struct{}     // nudges the loop when the earliest deadline moves earlier
}

// bucket holds the ids scheduled in one second, and stale entries of ids
// moved or removed since. live counts the ids whose at names the bucket.
type bucket struct {
	ids  []string
	live int
}

// compactSlack is how many stale entries a bucket keeps beyond its live
// count before it is compacted.
const compactSlack = 16

type secondHeap []int64

func (h secondHeap) Len() int           { return len(h) }
func (h secondHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h secondHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *secondHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *secondHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newExpiryQueue() *expiryQueue {
	return &expiryQueue{
		at:      make(map[string]int64),
		buckets: make(map[int64]*bucket),
		wake:    make(chan struct{}, 1),
	}
}

// bucketOf rounds t up to a whole second, so that nothing expires early.
func bucketOf(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// set schedules (or reschedules) registration id to expire at t.
func (q *expiryQueue) set(id string, t time.Time) {
	b := bucketOf(t)
	q.mu.Lock()
	old, ok := q.at[id]
	if ok && old == b {
		q.mu.Unlock()
		return
	}
	q.at[id] = b
	if ok {
		q.leaveLocked(old)
	}
	earliest := q.addLocked(b, id)
	q.mu.Unlock()
	q.nudge(earliest)
}

// setNew schedules registration id, which the queue does not hold (a new
// registration's fresh id), to expire at t: set without the lookup of a
// previous schedule. Were id queued already, its old entry would only be
// left stale, and skipped when its second comes.
func (q *expiryQueue) setNew(id string, t time.Time) {
	b := bucketOf(t)
	q.mu.Lock()
	q.at[id] = b
	earliest := q.addLocked(b, id)
	q.mu.Unlock()
	q.nudge(earliest)
}

// addLocked appends id to bucket b, creating it, and reports whether b is
// now the earliest second.
func (q *expiryQueue) addLocked(b int64, id string) bool {
	bk := q.buckets[b]
	earliest := false
	if bk == nil {
		bk = &bucket{}
		q.buckets[b] = bk
		earliest = len(q.order) == 0 || b < q.order[0]
		heap.Push(&q.order, b)
	}
	bk.ids = append(bk.ids, id)
	bk.live++
	return earliest
}

// leaveLocked counts one id less in bucket b, whose entry stays stale:
// the bucket goes when nothing in it is live (its second stays in order
// until it comes up, and is skipped then or reused), and is compacted
// when it holds more than twice its live ids.
func (q *expiryQueue) leaveLocked(b int64) {
	bk := q.buckets[b]
	if bk == nil {
		return
	}
	bk.live--
	switch {
	case bk.live <= 0:
		delete(q.buckets, b)
	case len(bk.ids) > 2*bk.live+compactSlack:
		// Keep each id whose schedule is this bucket, once: an id moved
		// away and back has two entries here.
		seen := make(map[string]struct{}, bk.live)
		ids := bk.ids[:0]
		for _, id := range bk.ids {
			if at, ok := q.at[id]; !ok || at != b {
				continue
			}
			if _, dup := seen[id]; dup {
				continue
			}
			seen[id] = struct{}{}
			ids = append(ids, id)
		}
		clear(bk.ids[len(ids):]) // no stale strings kept alive
		bk.ids = ids
		bk.live = len(ids)
	}
}

func (q *expiryQueue) nudge(earliest bool) {
	if earliest {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// remove forgets registration id.
func (q *expiryQueue) remove(id string) {
	q.mu.Lock()
	if b, ok := q.at[id]; ok {
		delete(q.at, id)
		q.leaveLocked(b)
	}
	q.mu.Unlock()
}

// due pops every registration whose time is at or before now.
func (q *expiryQueue) due(now time.Time, dst []string) []string {
	n := now.Unix()
	q.mu.Lock()
	for len(q.order) > 0 && q.order[0] <= n {
		b := heap.Pop(&q.order).(int64)
		bk := q.buckets[b]
		if bk == nil {
			continue
		}
		delete(q.buckets, b)
		for _, id := range bk.ids {
			// A stale entry (moved, removed, or a second entry of an id
			// moved away and back) is skipped.
			if at, ok := q.at[id]; ok && at == b {
				delete(q.at, id)
				dst = append(dst, id)
			}
		}
	}
	q.mu.Unlock()
	return dst
}

// next returns the earliest deadline, and false when the queue is empty.
func (q *expiryQueue) next() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.order) > 0 {
		if _, ok := q.buckets[q.order[0]]; ok {
			return time.Unix(q.order[0], 0), true
		}
		heap.Pop(&q.order) // emptied by removes and reschedules
	}
	return time.Time{}, false
}

func (q *expiryQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.at)
}
