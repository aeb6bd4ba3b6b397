package server

import (
	"container/heap"
	"sync"
	"time"
)

// expiryQueue orders registrations by the time they expire: an indexed
// min-heap, so that Register and Update cost O(log n) and a tick costs
// nothing but the registrations that are due (no scan of the fleet; Leshan's
// Redis store slowed down because its cleaner scanned everything).
type expiryQueue struct {
	mu    sync.Mutex
	items expiryHeap
	index map[string]int // registration id -> position in items
	wake  chan struct{}  // nudges the loop when the earliest deadline moves earlier
}

type expiryItem struct {
	id string
	at int64 // unix nanoseconds
}

type expiryHeap struct {
	items []expiryItem
	index map[string]int
}

func (h *expiryHeap) Len() int           { return len(h.items) }
func (h *expiryHeap) Less(i, j int) bool { return h.items[i].at < h.items[j].at }
func (h *expiryHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.index[h.items[i].id] = i
	h.index[h.items[j].id] = j
}
func (h *expiryHeap) Push(x any) {
	it := x.(expiryItem)
	h.index[it.id] = len(h.items)
	h.items = append(h.items, it)
}
func (h *expiryHeap) Pop() any {
	n := len(h.items) - 1
	it := h.items[n]
	h.items = h.items[:n]
	delete(h.index, it.id)
	return it
}

func newExpiryQueue() *expiryQueue {
	q := &expiryQueue{wake: make(chan struct{}, 1)}
	q.index = make(map[string]int)
	q.items.index = q.index
	return q
}

// set schedules (or reschedules) registration id to expire at t.
func (q *expiryQueue) set(id string, t time.Time) {
	at := t.UnixNano()
	q.mu.Lock()
	earliest := len(q.items.items) == 0 || at < q.items.items[0].at
	if i, ok := q.index[id]; ok {
		q.items.items[i].at = at
		heap.Fix(&q.items, i)
	} else {
		heap.Push(&q.items, expiryItem{id: id, at: at})
	}
	q.mu.Unlock()
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
	if i, ok := q.index[id]; ok {
		heap.Remove(&q.items, i)
	}
	q.mu.Unlock()
}

// due pops every registration whose time is at or before now.
func (q *expiryQueue) due(now time.Time, dst []string) []string {
	n := now.UnixNano()
	q.mu.Lock()
	for len(q.items.items) > 0 && q.items.items[0].at <= n {
		dst = append(dst, heap.Pop(&q.items).(expiryItem).id)
	}
	q.mu.Unlock()
	return dst
}

// next returns the earliest deadline, and false when the queue is empty.
func (q *expiryQueue) next() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items.items) == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, q.items.items[0].at), true
}

func (q *expiryQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items.items)
}
