package notify

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
)

// checkInvariants checks what must hold of any run under one policy (runs
// with a Write-Attributes are not checked: their bounds change midway):
//
//   - no two notifications closer than pmin, the first counting from the
//     Observe response;
//   - no gap longer than pmax without a notification while pmax is in
//     force, up to the end of the run;
//   - a notification before pmax is due carries a change: a value other
//     than the last one sent (for edge, one the object took since), that
//     meets gt, lt or st when they apply (judged here with exact
//     arithmetic, independently of the package), or the edge's value;
//   - an evaluation Tick asks for comes no earlier than epmin after the
//     previous read;
//   - in poll mode, no gap longer than epmax (as in force) between reads;
//   - without conditions, the last value is sent once it has been stable
//     long enough for pmin, epmin and epmax to let it through.
func checkInvariants(t testing.TB, p Policy, m mode, until float64, r run) {
	t.Helper()
	if len(r.policies) != 1 {
		return
	}
	pmax := p.maxPeriod()
	end := at(until).Sub(t0)
	var prev time.Duration
	last := r.values[0].v
	for _, n := range r.notes {
		gap := n.d - prev
		if gap < p.PMin {
			t.Errorf("%s: notification at %v, %v after the previous one: less than pmin", fmtPolicy(p), n.d, gap)
		}
		if pmax > 0 && gap > pmax {
			t.Errorf("%s: notification at %v, %v after the previous one: more than pmax", fmtPolicy(p), n.d, gap)
		}
		if pmax == 0 || gap < pmax {
			if why := unqualified(p, last, n); why != "" {
				t.Errorf("%s: notification at %v of %s after %s, before pmax: %s", fmtPolicy(p), n.d, n.v, last, why)
			}
		}
		prev, last = n.d, n.v
	}
	if pmax > 0 && end-prev > pmax {
		t.Errorf("%s: no notification from %v to the end at %v: more than pmax", fmtPolicy(p), prev, end)
	}

	for i := 1; i < len(r.reads); i++ {
		if r.reads[i].eval && r.reads[i].d-r.reads[i-1].d < p.EPMin {
			t.Errorf("%s: evaluation at %v, %v after the previous read: less than epmin", fmtPolicy(p), r.reads[i].d, r.reads[i].d-r.reads[i-1].d)
		}
	}
	epmax := p.maxEvalPeriod()
	if m == poll && epmax > 0 {
		for i := 1; i < len(r.reads); i++ {
			if gap := r.reads[i].d - r.reads[i-1].d; gap > epmax {
				t.Errorf("%s: no read from %v to %v: more than epmax", fmtPolicy(p), r.reads[i-1].d, r.reads[i].d)
			}
		}
		if gap := end - r.reads[len(r.reads)-1].d; gap > epmax {
			t.Errorf("%s: no read from %v to the end at %v: more than epmax", fmtPolicy(p), r.reads[len(r.reads)-1].d, end)
		}
	}

	final := r.values[len(r.values)-1]
	conditions := p.hasValueConditions() && Numeric(final.v) || p.Edge != EdgeNone && isBoolean(&final.v)
	if !conditions && (m == push || epmax > 0) {
		bound := p.PMin + 2*p.EPMin + epmax
		if end-final.d > bound && !last.Equal(&final.v) {
			t.Errorf("%s: %s, the value since %v, not sent by the end at %v (last sent %s)", fmtPolicy(p), final.v, final.d, end, last)
		}
	}
}

// unqualified says why notification n, sent before pmax was due after one
// of last, carries no change that qualifies, or returns "".
func unqualified(p Policy, last model.Node, n note) string {
	v := n.v
	if p.Edge != EdgeNone && isBoolean(&v) {
		switch {
		case !n.fresh:
			return "the object took no other value since the last notification"
		case v.Value.Bool() != (p.Edge == EdgeRising):
			return "not the value of the edge"
		}
		return ""
	}
	if v.Equal(&last) {
		return "the value did not change"
	}
	if !p.hasValueConditions() || !Numeric(v) || !Numeric(last) || v.Value.Type() != last.Value.Type() {
		return ""
	}
	a, b := exact(last.Value), exact(v.Value)
	if p.HasGT && a != nil && b != nil && (a.Cmp(big.NewFloat(p.GT)) > 0) != (b.Cmp(big.NewFloat(p.GT)) > 0) {
		return ""
	}
	if p.HasGT && (a == nil) != (b == nil) && (a != nil && a.Cmp(big.NewFloat(p.GT)) > 0 || b != nil && b.Cmp(big.NewFloat(p.GT)) > 0) {
		return "" // NaN is not above gt: leaving or entering the region from NaN crosses it
	}
	if p.HasLT && a != nil && b != nil && (a.Cmp(big.NewFloat(p.LT)) < 0) != (b.Cmp(big.NewFloat(p.LT)) < 0) {
		return ""
	}
	if p.HasLT && (a == nil) != (b == nil) && (a != nil && a.Cmp(big.NewFloat(p.LT)) < 0 || b != nil && b.Cmp(big.NewFloat(p.LT)) < 0) {
		return ""
	}
	if p.HasST && a != nil && b != nil && new(big.Float).Abs(new(big.Float).Sub(b, a)).Cmp(big.NewFloat(p.ST)) >= 0 {
		return ""
	}
	return "no crossing of gt or lt and a variation below st"
}

// exact returns a numeric value as an exact big.Float, or nil for NaN.
// Infinities are kept: big.Float holds them.
func exact(v model.Value) *big.Float {
	f := new(big.Float).SetPrec(256)
	switch v.Type() {
	case model.TypeInteger:
		return f.SetInt64(v.Int())
	case model.TypeUnsigned:
		return f.SetUint64(v.Uint())
	case model.TypeFloat:
		if math.IsNaN(v.Float()) {
			return nil
		}
		return f.SetFloat64(v.Float())
	}
	return nil
}

// gen makes random policies and event sequences from a seeded source, so
// that a failure names the seed that reproduces it.
type gen struct{ r *rand.Rand }

func newGen(s1, s2 uint64) gen { return gen{rand.New(rand.NewPCG(s1, s2))} }

// kinds of observed node the generator picks from.
var kinds = []string{"float", "int", "uint", "bool", "time", "string", "instance", "multiple"}

// value returns a random value of kind k, from a small set so that values
// repeat and cross the thresholds often.
func (g gen) value(k string) model.Node {
	x := g.r.IntN(21) - 10
	switch k {
	case "float":
		switch g.r.IntN(40) {
		case 0:
			return fl(math.NaN())
		case 1:
			return fl(math.Inf(1))
		}
		return fl(float64(x) * 2.5)
	case "int":
		if g.r.IntN(30) == 0 {
			return in(math.MinInt64 + int64(g.r.IntN(3)))
		}
		return in(int64(x) * 3)
	case "uint":
		if g.r.IntN(30) == 0 {
			return un(math.MaxUint64 - uint64(g.r.IntN(3)))
		}
		return un(uint64(x+10) * 3)
	case "bool":
		return bo(x%2 == 0)
	case "time":
		return tm(int64(x) * 10)
	case "string":
		return st(string(rune('a' + x + 10)))
	case "instance":
		return inst(float64(x%3), "Cel")
	}
	return multi(float64(x%2), float64(x%3))
}

// seconds returns 0 with probability 1/3, else 1 to 20 seconds.
func (g gen) period() uint32 {
	if g.r.IntN(3) == 0 {
		return 0
	}
	return uint32(1 + g.r.IntN(20))
}

// policy returns a random policy, resolved by PolicyFor from random
// attributes at a random number of levels, or (one time in four) built by
// hand so that the rules PolicyFor applies are broken.
func (g gen) policy() Policy {
	if g.r.IntN(4) == 0 {
		p := Policy{
			PMin: seconds(g.period()), PMax: seconds(g.period()),
			EPMin: seconds(g.period()), EPMax: seconds(g.period()),
			Edge: Edge(g.r.IntN(3)),
		}
		p.GT, p.HasGT = float64(g.r.IntN(21)-10)*2, g.r.IntN(3) == 0
		p.LT, p.HasLT = float64(g.r.IntN(21)-10)*2, g.r.IntN(3) == 0
		p.ST, p.HasST = float64(g.r.IntN(10)), g.r.IntN(3) == 0
		return p
	}
	levels := make([]link.Attributes, 1+g.r.IntN(4))
	for i := range levels {
		a := &levels[i]
		pick := func() bool { return g.r.IntN(4) == 0 }
		if pick() {
			a.PMin = link.Set(g.period())
		}
		if pick() {
			a.PMax = link.Set(g.period())
		}
		if pick() {
			a.EPMin = link.Set(g.period())
		}
		if pick() {
			a.EPMax = link.Set(g.period())
		}
		if pick() {
			a.GT = link.Set(float64(g.r.IntN(21)-10) * 2)
		}
		if pick() {
			a.LT = link.Set(float64(g.r.IntN(21)-10) * 2)
		}
		if pick() {
			a.ST = link.Set(float64(g.r.IntN(10)))
		}
		if pick() {
			a.Edge = link.Set(g.r.IntN(2) == 0)
		}
		if pick() {
			a.PMin = link.Unset[uint32]()
		}
	}
	return PolicyFor(g.period(), g.period(), levels...)
}

// events returns n changes of kind k at random times, some at the same
// second and some between seconds, in order.
func (g gen) events(k string, n int) []event {
	evs := make([]event, n)
	t := 0.0
	for i := range evs {
		switch g.r.IntN(4) {
		case 0: // same time as the previous one
		case 1:
			t += float64(g.r.IntN(10)+1) / 10
		default:
			t += float64(g.r.IntN(15))
		}
		evs[i] = ch(t, g.value(k))
	}
	return evs
}

// TestInvariants runs random policies over random event sequences, in both
// modes and for every kind of node, and checks the invariants of each run.
func TestInvariants(t *testing.T) {
	const seeds = 300
	for _, m := range []mode{push, poll} {
		for _, k := range kinds {
			t.Run(m.String()+"/"+k, func(t *testing.T) {
				for seed := range uint64(seeds) {
					g := newGen(seed, uint64(len(k))<<8|uint64(m))
					p := g.policy()
					start := g.value(k)
					evs := g.events(k, 5+g.r.IntN(40))
					until := evs[len(evs)-1].t + float64(g.r.IntN(60))
					r := simulate(t, p, start, evs, until, m)
					checkInvariants(t, p, m, until, r)
					if t.Failed() {
						t.Fatalf("seed %d: %s, start %s, events %v", seed, fmtPolicy(p), start, evs)
					}
				}
			})
		}
	}
}

// TestErraticEngine calls Changed and Tick at random times, not only when
// asked, as an engine with late timers or spurious wake-ups would: the
// next time is never in the past and no notification comes inside pmin.
func TestErraticEngine(t *testing.T) {
	for seed := range uint64(500) {
		g := newGen(seed, 99)
		p := g.policy()
		k := kinds[g.r.IntN(len(kinds))]
		s := NewState(p, g.value(k), t0)
		now, lastSent := t0, t0
		for range 60 {
			now = now.Add(time.Duration(g.r.IntN(8000)) * time.Millisecond)
			var notify, evaluate bool
			var next time.Time
			if g.r.IntN(2) == 0 {
				notify, next = s.Changed(g.value(k), now)
			} else {
				notify, evaluate, next = s.Tick(now)
			}
			if !next.IsZero() && next.Before(now) {
				t.Fatalf("seed %d: next %v before now %v", seed, next, now)
			}
			if notify && evaluate {
				t.Fatalf("seed %d: notify and evaluate at once", seed)
			}
			if notify {
				if gap := now.Sub(lastSent); gap < p.PMin {
					t.Fatalf("seed %d: %s: notification %v after the previous one", seed, fmtPolicy(p), gap)
				}
				if got := s.Sent(g.value(k), now); !got.Equal(next) {
					t.Fatalf("seed %d: Sent returned %v, the call that said notify %v", seed, got, next)
				}
				lastSent = now
			}
		}
	}
}

// FuzzState is TestInvariants with the fuzzer choosing the seeds.
func FuzzState(f *testing.F) {
	f.Add(uint64(0), uint64(0), uint8(0), uint8(0))
	f.Add(uint64(1), uint64(2), uint8(1), uint8(3))
	f.Add(uint64(42), uint64(7), uint8(0), uint8(7))
	f.Fuzz(func(t *testing.T, s1, s2 uint64, m, k uint8) {
		g := newGen(s1, s2)
		kind := kinds[int(k)%len(kinds)]
		md := mode(m % 2)
		p := g.policy()
		start := g.value(kind)
		evs := g.events(kind, 1+g.r.IntN(40))
		until := evs[len(evs)-1].t + float64(g.r.IntN(60))
		checkInvariants(t, p, md, until, simulate(t, p, start, evs, until, md))
	})
}
