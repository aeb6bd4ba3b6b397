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

// TestExpiryQueueStale checks the stale entries that moves leave in their
// old buckets: an id moved back and forth is popped once, at its last
// schedule, and buckets stay within twice their live ids.
func TestExpiryQueueStale(t *testing.T) {
	q := newExpiryQueue()
	base := time.Unix(1000, 0)
	a, b := base.Add(time.Second), base.Add(2*time.Second)
	// Bounce 100 ids between two seconds many times; leave half in each.
	for round := range 50 {
		for i := range 100 {
			when := a
			if (round+i)%2 == 1 {
				when = b
			}
			q.set(strconv.Itoa(i), when)
		}
	}
	for _, s := range []int64{bucketOf(a), bucketOf(b)} {
		bk := q.buckets[s]
		if bk == nil || bk.live != 50 || len(bk.ids) > 2*bk.live+compactSlack {
			t.Fatalf("bucket %d: %+v entries for 50 live ids", s, bk)
		}
	}
	// A new id beside them, and one removed.
	q.setNew("new", b)
	q.remove("0")
	got := map[string]int64{}
	for _, now := range []time.Time{a, b} {
		for _, id := range q.due(now, nil) {
			if _, dup := got[id]; dup {
				t.Fatalf("%s popped twice", id)
			}
			got[id] = now.Unix()
		}
	}
	if len(got) != 100 || q.len() != 0 {
		t.Fatalf("popped %d ids, want 100 (99 and the new one); %d left", len(got), q.len())
	}
	if _, ok := got["0"]; ok {
		t.Error("a removed id was popped")
	}
	// After 50 rounds, id i was last set at round 49: at a when 49+i is
	// even.
	for i := 1; i < 100; i++ {
		want := bucketOf(a)
		if (49+i)%2 == 1 {
			want = bucketOf(b)
		}
		if got[strconv.Itoa(i)] != want {
			t.Errorf("id %d popped at %d, want %d", i, got[strconv.Itoa(i)], want)
		}
	}
	if _, ok := q.next(); ok {
		t.Error("next on an empty queue")
	}
}

// TestExpiryQueueRemoveAll checks that a bucket whose ids all moved or
// went is gone, and next skips it.
func TestExpiryQueueRemoveAll(t *testing.T) {
	q := newExpiryQueue()
	base := time.Unix(1000, 0)
	for i := range 10 {
		q.setNew(strconv.Itoa(i), base)
	}
	for i := range 5 {
		q.remove(strconv.Itoa(i))
	}
	for i := 5; i < 10; i++ {
		q.set(strconv.Itoa(i), base.Add(time.Minute))
	}
	if n := len(q.buckets); n != 1 {
		t.Fatalf("%d buckets, want the one a minute later", n)
	}
	if at, ok := q.next(); !ok || !at.Equal(base.Add(time.Minute)) {
		t.Fatalf("next %v %v, want %v", at, ok, base.Add(time.Minute))
	}
	if due := q.due(base.Add(30*time.Second), nil); len(due) != 0 {
		t.Fatalf("due %v", due)
	}
	if due := q.due(base.Add(time.Minute), nil); len(due) != 5 {
		t.Fatalf("due %v, want 5", due)
	}
}

// BenchmarkExpiryQueueNew measures scheduling new registrations into a
// queue of n, as a Register does.
func BenchmarkExpiryQueueNew(b *testing.B) {
	base := time.Now()
	q := newExpiryQueue()
	ids := make([]string, 1_000_000)
	for i := range ids {
		ids[i] = strconv.Itoa(i)
	}
	i := 0
	for b.Loop() {
		q.setNew(ids[i%len(ids)], base.Add(time.Duration(i)*50*time.Microsecond+time.Hour))
		i++
		if i%len(ids) == 0 {
			q = newExpiryQueue()
		}
	}
}
