package transport

import (
	"net/netip"
	"testing"
)

func TestDedupLifetimes(t *testing.T) {
	d := newDedup(100, 60, 1000)
	peer := netip.MustParseAddrPort("192.0.2.1:5683")
	con, non := makeDedupKey(peer, 1), makeDedupKey(peer, 2)
	tok := []byte{1}
	tests := []struct {
		name string
		k    dedupKey
		con  bool
		now  int64
		dup  bool
	}{
		{"first CON", con, true, 0, false},
		{"first NON", non, false, 0, false},
		{"CON within EXCHANGE_LIFETIME", con, true, 99, true},
		{"NON within NON_LIFETIME", non, false, 59, true},
		{"NON after NON_LIFETIME", non, false, 60, false},
		{"CON after EXCHANGE_LIFETIME", con, true, 100, false},
		{"CON remembered again", con, true, 150, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, dup := d.check(tc.k, tok, tc.con, tc.now); dup != tc.dup {
				t.Fatalf("dup = %t, want %t", dup, tc.dup)
			}
		})
	}
	d.answer(con, true, []byte("reply"))
	if r, dup := d.check(con, tok, true, 160); !dup || string(r) != "reply" {
		t.Fatalf("check = %q, %t; want the stored reply", r, dup)
	}
	d.sweep(199)
	if d.len() != 1 {
		t.Fatalf("len after sweeping the NON: %d", d.len())
	}
	d.sweep(250)
	if d.len() != 0 || d.con.bytes != 0 {
		t.Fatalf("len %d, bytes %d after sweeping all", d.len(), d.con.bytes)
	}
}

func TestDedupReusedMID(t *testing.T) {
	d := newDedup(100, 100, 10)
	k := makeDedupKey(netip.MustParseAddrPort("[2001:db8::1]:5683"), 7)
	d.check(k, []byte("aa"), true, 0)
	d.answer(k, true, []byte("old"))
	if _, dup := d.check(k, []byte("aa"), true, 1); !dup {
		t.Fatal("retransmission not recognized")
	}
	if r, dup := d.check(k, []byte("bb"), true, 2); dup {
		t.Fatalf("new token taken for a duplicate, reply %q", r)
	}
	if r, dup := d.check(k, []byte("bb"), true, 3); !dup || r != nil {
		t.Fatalf("second message not remembered as pending: %q %t", r, dup)
	}
	if d.len() != 1 || d.con.bytes != 0 {
		t.Fatalf("len %d bytes %d", d.len(), d.con.bytes)
	}
}

func TestDedupBound(t *testing.T) {
	d := newDedup(1000, 1000, 10)
	peer := netip.MustParseAddrPort("192.0.2.1:5683")
	for i := range 30 {
		d.check(makeDedupKey(peer, uint16(i)), nil, i%2 == 0, int64(i))
		if n := d.len(); n > 10 {
			t.Fatalf("after %d: %d entries", i, n)
		}
	}
	// The ten newest remain, whatever their kind; the older are gone.
	for i := 20; i < 30; i++ {
		if _, dup := d.check(makeDedupKey(peer, uint16(i)), nil, i%2 == 0, 30); !dup {
			t.Fatalf("MID %d forgotten", i)
		}
	}
	if _, dup := d.check(makeDedupKey(peer, 19), nil, false, 30); dup {
		t.Fatal("MID 19 still remembered")
	}
	d2 := newDedup(1000, 1000, 1000)
	big := make([]byte, dedupMaxBytes/4+1)
	for i := range 6 {
		k := makeDedupKey(peer, uint16(i))
		d2.check(k, nil, true, int64(i))
		d2.answer(k, true, big)
	}
	if d2.con.bytes > dedupMaxBytes {
		t.Fatalf("%d reply bytes kept, bound %d", d2.con.bytes, dedupMaxBytes)
	}
}

func TestDedupRingGrowth(t *testing.T) {
	d := newDedup(1<<40, 1<<40, 1<<20)
	peer := netip.MustParseAddrPort("192.0.2.1:5683")
	for i := range 5000 {
		d.check(makeDedupKey(peer, uint16(i)), []byte{byte(i)}, true, int64(i))
	}
	for i := range 5000 {
		if _, dup := d.check(makeDedupKey(peer, uint16(i)), []byte{byte(i)}, true, 6000); !dup {
			t.Fatalf("MID %d lost in growth", i)
		}
	}
}

func TestTTLMap(t *testing.T) {
	m := newTTLMap[string, int](100, 3, 0)
	m.put("a", 1, 0, 0)
	m.put("b", 2, 0, 10)
	m.put("c", 3, 0, 20)
	if v, ok := m.get("a", 50); !ok || v != 1 {
		t.Fatalf("get a = %d, %t", v, ok)
	}
	m.set("a", 11, 0, 90, true)
	// Over the count bound the oldest queued entry goes, touched or not.
	m.put("d", 4, 0, 95)
	want := map[string]bool{"a": false, "b": true, "c": true, "d": true}
	for k, present := range want {
		if _, ok := m.get(k, 95); ok != present {
			t.Fatalf("%s present = %t, want %t", k, ok, present)
		}
	}
	m.set("c", 33, 0, 100, true) // c used at 100
	m.sweep(115)                 // b (last used 10) expires; c and d stay
	want = map[string]bool{"b": false, "c": true, "d": true}
	for k, present := range want {
		if _, ok := m.get(k, 115); ok != present {
			t.Fatalf("after sweep %s present = %t, want %t", k, ok, present)
		}
	}
	m.sweep(196) // d (95) expires; c, touched at 100, is queued again
	if _, ok := m.get("c", 196); !ok || m.len() != 1 {
		t.Fatalf("touched entry expired early; len %d", m.len())
	}
	m.sweep(300)
	if m.len() != 0 {
		t.Fatalf("len %d after everything expired", m.len())
	}
	// Bytes bound.
	b := newTTLMap[int, []byte](1000, 0, 100)
	for i := range 10 {
		b.put(i, make([]byte, 30), 30, int64(i))
		if b.bytes > 100 {
			t.Fatalf("%d bytes kept", b.bytes)
		}
	}
	b.remove(9)
	if b.bytes != 60 || b.len() != 2 {
		t.Fatalf("after remove: %d bytes, %d entries", b.bytes, b.len())
	}
	// Stale slots from many replacements are compacted.
	c := newTTLMap[int, int](1000, 0, 0)
	for i := range 10000 {
		c.put(i%3, i, 0, int64(i))
	}
	if c.q.n > 2*c.len()+1024 {
		t.Fatalf("%d slots for %d entries", c.q.n, c.len())
	}
}

// answerSeq stores the reply in the entry check made, and in no other: not
// after the entry expired, nor in a newer entry for the same key.
func TestDedupAnswerSeq(t *testing.T) {
	d := newDedup(100, 50, 1<<10)
	k := makeDedupKey(netip.MustParseAddrPort("192.0.2.1:5683"), 7)
	_, _, seq := d.checkSeq(k, []byte("aa"), true, 0)
	d.answerSeq(k, true, seq, []byte("one"))
	if r, dup := d.check(k, []byte("aa"), true, 1); !dup || string(r) != "one" {
		t.Fatalf("check = %q, %v; want the stored reply", r, dup)
	}
	// The same MID with another token replaces the entry; the old
	// request's late answer must not land in the new one.
	_, dup, seq2 := d.checkSeq(k, []byte("bb"), true, 2)
	if dup || seq2 == seq {
		t.Fatalf("reused MID: dup %v, seq %d (old %d)", dup, seq2, seq)
	}
	d.answerSeq(k, true, seq, []byte("late"))
	if r, dup := d.check(k, []byte("bb"), true, 3); !dup || r != nil {
		t.Fatalf("check = %q, %v; want the new entry still pending", r, dup)
	}
	d.answerSeq(k, true, seq2, []byte("two"))
	if r, _ := d.check(k, []byte("bb"), true, 4); string(r) != "two" {
		t.Fatalf("check = %q, want two", r)
	}
	// Swept: the answer is dropped, nothing is resurrected.
	d.sweep(1000)
	d.answerSeq(k, true, seq2, []byte("gone"))
	if d.len() != 0 {
		t.Fatalf("%d entries after the sweep and a late answer", d.len())
	}
}
