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
type expiryQueue struct {
	mu      sync.Mutex
	at      map[string]int64              // registration id -> its bucket
	buckets map[int64]map[string]struct{} // unix second -> ids due then
	order   secondHeap                    // bucket seconds, earliest first; may hold emptied ones
	wake    chan struct{}                 // nudges the loop when the earliest deadline moves earlier
}

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
		buckets: make(map[int64]map[string]struct{}),
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
	if old, ok := q.at[id]; ok {
		if old == b {
			q.mu.Unlock()
			return
		}
		q.removeLocked(id, old)
	}
	q.at[id] = b
	set := q.buckets[b]
	earliest := false
	if set == nil {
		set = make(map[string]struct{})
		q.buckets[b] = set
		earliest = len(q.order) == 0 || b < q.order[0]
		heap.Push(&q.order, b)
	}
	set[id] = struct{}{}
	q.mu.Unlock()
	if earliest {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

func (q *expiryQueue) removeLocked(id string, b int64) {
	delete(q.at, id)
	if set := q.buckets[b]; set != nil {
		delete(set, id)
		if len(set) == 0 {
			// The second stays in order until it comes up; it is
			// skipped then (or reused if it fills again).
			delete(q.buckets, b)
		}
	}
}

// remove forgets registration id.
func (q *expiryQueue) remove(id string) {
	q.mu.Lock()
	if b, ok := q.at[id]; ok {
		q.removeLocked(id, b)
	}
	q.mu.Unlock()
}

// due pops every registration whose time is at or before now.
func (q *expiryQueue) due(now time.Time, dst []string) []string {
	n := now.Unix()
	q.mu.Lock()
	for len(q.order) > 0 && q.order[0] <= n {
		b := heap.Pop(&q.order).(int64)
		set := q.buckets[b]
		if set == nil {
			continue
		}
		delete(q.buckets, b)
		for id := range set {
			delete(q.at, id)
			dst = append(dst, id)
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
