package server

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

func TestExpiryQueueOrder(t *testing.T) {
	q := newExpiryQueue()
	base := time.Unix(1000, 0)
	r := rand.New(rand.NewPCG(1, 2))
	want := map[string]time.Time{}
	for i := range 1000 {
		id := strconv.Itoa(i)
		at := base.Add(time.Duration(r.IntN(10000)) * time.Millisecond)
		q.set(id, at)
		want[id] = at
	}
	// Rescheduling moves an entry rather than adding one.
	for i := range 100 {
		id := strconv.Itoa(i)
		at := base.Add(time.Duration(20000+i) * time.Millisecond)
		q.set(id, at)
		want[id] = at
	}
	for i := 100; i < 200; i++ {
		q.remove(strconv.Itoa(i))
		delete(want, strconv.Itoa(i))
	}
	if q.len() != len(want) {
		t.Fatalf("len %d, want %d", q.len(), len(want))
	}
	var last int64
	seen := 0
	for now := base; now.Before(base.Add(30 * time.Second)); now = now.Add(time.Second) {
		for _, id := range q.due(now, nil) {
			if want[id].After(now) {
				t.Fatalf("%s due at %v, popped at %v", id, want[id], now)
			}
			// Order holds to the second, the queue's granularity.
			if b := bucketOf(want[id]); b < last {
				t.Fatalf("%s out of order", id)
			} else {
				last = b
			}
			seen++
		}
	}
	if seen != len(want) || q.len() != 0 {
		t.Errorf("popped %d of %d, %d left", seen, len(want), q.len())
	}
	if _, ok := q.next(); ok {
		t.Error("next on an empty queue")
	}
}

// BenchmarkExpiryQueue measures an Update (reschedule) and a tick with
// 100,000 and 1,000,000 registrations queued: both stay O(log n), with no
// scan of the fleet.
func BenchmarkExpiryQueue(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		q := newExpiryQueue()
		base := time.Now()
		ids := make([]string, n)
		for i := range ids {
			ids[i] = strconv.Itoa(i)
			q.set(ids[i], base.Add(time.Duration(i)*time.Millisecond+time.Hour))
		}
		b.Run(fmt.Sprintf("update/%d", n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				q.set(ids[i%n], base.Add(time.Duration(i)*time.Microsecond+2*time.Hour))
				i++
			}
		})
		b.Run(fmt.Sprintf("tick-nothing-due/%d", n), func(b *testing.B) {
			var buf []string
			for b.Loop() {
				buf = q.due(base, buf[:0])
			}
		})
	}
}
