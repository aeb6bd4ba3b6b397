package notify

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// t0 is the time every test starts at: the Observe response.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// at returns t0 plus sec seconds.
func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// since returns the seconds from t0 to t, or -1 for the zero time.
func since(t time.Time) float64 {
	if t.IsZero() {
		return -1
	}
	return t.Sub(t0).Seconds()
}

const sec = time.Second

// Nodes of each kind the tests observe.
func fl(f float64) model.Node { return model.NewResource(5700, model.Float(f)) }
func in(i int64) model.Node   { return model.NewResource(5700, model.Int(i)) }
func un(u uint64) model.Node  { return model.NewResource(5700, model.Uint(u)) }
func bo(b bool) model.Node    { return model.NewResource(5500, model.Bool(b)) }
func tm(s int64) model.Node   { return model.NewResource(5518, model.UnixTime(s)) }
func st(s string) model.Node  { return model.NewResource(5750, model.String(s)) }
func ri(f float64) model.Node { return model.NewResourceInstance(1, model.Float(f)) }
func multi(fs ...float64) model.Node {
	vs := make([]model.Value, len(fs))
	for i, f := range fs {
		vs[i] = model.Float(f)
	}
	return model.NewMultipleResourceOf(5700, vs...)
}
func inst(f float64, unit string) model.Node {
	return model.NewInstance(0, fl(f), model.NewResource(5701, model.String(unit)))
}

// event is something that happens at t seconds in a simulation: the
// observed value becomes v, or the policy becomes p (a Write-Attributes).
type event struct {
	t float64
	v *model.Node
	p *Policy
}

// ch returns the event of the value becoming v at t.
func ch(t float64, v model.Node) event { return event{t: t, v: &v} }

func (e event) String() string {
	t := strconv.FormatFloat(e.t, 'f', -1, 64) + "s:"
	switch {
	case e.p != nil:
		return t + "{" + fmtPolicy(*e.p) + "}"
	case e.v.HasValue():
		return t + e.v.Value.String()
	}
	return t + e.v.String()
}

// setp returns the event of the policy becoming p at t.
func setp(t float64, p Policy) event { return event{t: t, p: &p} }

// note is a notification: t seconds after t0, carrying v. In a run, d is
// the exact offset from t0, and fresh says whether the object took a value
// other than the last one sent since the last notification.
type note struct {
	t     float64
	v     model.Node
	d     time.Duration
	fresh bool
}

func (n note) String() string {
	if n.v.HasValue() {
		return strconv.FormatFloat(n.t, 'f', -1, 64) + "s:" + n.v.Value.String()
	}
	return strconv.FormatFloat(n.t, 'f', -1, 64) + "s:" + n.v.String()
}

func notesString(ns []note) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = n.String()
	}
	return strings.Join(s, " ")
}

func secondsString(ts []float64) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = strconv.FormatFloat(t, 'f', -1, 64)
	}
	return strings.Join(s, " ")
}

// mode says how the simulated object behaves.
type mode uint8

const (
	push mode = iota // the object reports every change: Changed is called at once
	poll             // the object reports nothing: only evaluations read it
)

func (m mode) String() string {
	if m == poll {
		return "poll"
	}
	return "push"
}

// run is what a simulation saw: the notifications and the times Tick asked
// for an evaluation, plus what the invariant checks need.
type run struct {
	notes []note
	evals []float64

	policies []policyAt // the policy in force from each time on
	values   []note     // every value the object took, with its time
	reads    []read     // every read of the value: evaluations and notifications, in order
}

// read is one read of the value in a run.
type read struct {
	d    time.Duration
	eval bool // asked by Tick (else a notification, or the Observe response)
}

type policyAt struct {
	t float64
	p Policy
}

// simulate plays events against a State the way the client engine drives
// it: one timer, set to the time each call returns; Changed on each change
// in push mode; on Tick, read and send when it says notify, read and call
// Changed when it says evaluate; Sent after every notification. Events at
// the same time as the timer come first. It stops after until seconds.
//
// It fails the test when a call breaks the API contract: a next time
// before now, or Sent disagreeing with the time returned with notify.
func simulate(tb testing.TB, p Policy, start model.Node, events []event, until float64, m mode) run {
	tb.Helper()
	var r run
	s := NewState(p, start, t0)
	cur := start
	r.policies = append(r.policies, policyAt{0, p})
	r.values = append(r.values, note{v: start})
	r.reads = append(r.reads, read{})
	next := s.Next(t0)
	end := at(until)
	last := start // the value of the last notification
	fresh := false

	check := func(call string, now, n time.Time) {
		tb.Helper()
		if !n.IsZero() && n.Before(now) {
			tb.Fatalf("%s at %gs returned next %gs, in the past", call, since(now), since(n))
		}
	}
	send := func(now, want time.Time) time.Time {
		tb.Helper()
		d := now.Sub(t0)
		r.notes = append(r.notes, note{t: d.Seconds(), v: cur, d: d, fresh: fresh})
		r.reads = append(r.reads, read{d: d})
		last, fresh = cur, false
		got := s.Sent(cur, now)
		if !got.Equal(want) {
			tb.Fatalf("Sent at %gs returned next %gs, the call that said notify %gs", since(now), since(got), since(want))
		}
		return got
	}
	changed := func(now time.Time) time.Time {
		tb.Helper()
		notify, n := s.Changed(cur, now)
		check("Changed", now, n)
		if notify {
			return send(now, n)
		}
		return n
	}

	i := 0
	for steps := 0; ; steps++ {
		if steps > 100000 {
			tb.Fatalf("no progress: %d steps by %gs", steps, since(next))
		}
		hasEvent := i < len(events)
		var evT time.Time
		if hasEvent {
			evT = at(events[i].t)
		}
		if !next.IsZero() && (!hasEvent || next.Before(evT)) {
			if next.After(end) {
				break
			}
			now := next
			notify, evaluate, n := s.Tick(now)
			check("Tick", now, n)
			switch {
			case notify && evaluate:
				tb.Fatalf("Tick at %gs said both notify and evaluate", since(now))
			case notify:
				n = send(now, n)
			case evaluate:
				r.evals = append(r.evals, since(now))
				r.reads = append(r.reads, read{d: now.Sub(t0), eval: true})
				n = changed(now)
			}
			next = n
			continue
		}
		if !hasEvent || evT.After(end) {
			break
		}
		e := events[i]
		i++
		if e.p != nil {
			next = s.SetPolicy(*e.p, evT)
			check("SetPolicy", evT, next)
			r.policies = append(r.policies, policyAt{e.t, *e.p})
		}
		if e.v != nil {
			cur = *e.v
			r.values = append(r.values, note{t: e.t, v: cur, d: evT.Sub(t0)})
			if !cur.Equal(&last) {
				fresh = true
			}
			if m == push {
				next = changed(evT)
			}
		}
	}
	return r
}

// scenario is one table-driven simulation: a policy, the value in the
// Observe response, what happens, and the notifications and evaluations
// expected.
type scenario struct {
	name   string
	p      Policy
	start  model.Node
	mode   mode
	events []event
	until  float64
	want   []note
	evals  []float64 // times Tick asks for an evaluation
}

func runScenarios(t *testing.T, cases []scenario) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := simulate(t, tc.p, tc.start, tc.events, tc.until, tc.mode)
			if got, want := notesString(r.notes), notesString(tc.want); got != want {
				t.Errorf("notifications:\n got  %s\n want %s", got, want)
			}
			if got, want := secondsString(r.evals), secondsString(tc.evals); got != want {
				t.Errorf("evaluations asked at:\n got  %s\n want %s", got, want)
			}
			checkInvariants(t, tc.p, tc.mode, tc.until, r)
		})
	}
}

// fmtPolicy formats p for failure messages.
func fmtPolicy(p Policy) string {
	var b strings.Builder
	fmt.Fprintf(&b, "pmin=%v pmax=%v", p.PMin, p.PMax)
	if p.HasGT {
		fmt.Fprintf(&b, " gt=%v", p.GT)
	}
	if p.HasLT {
		fmt.Fprintf(&b, " lt=%v", p.LT)
	}
	if p.HasST {
		fmt.Fprintf(&b, " st=%v", p.ST)
	}
	fmt.Fprintf(&b, " epmin=%v epmax=%v edge=%v con=%v", p.EPMin, p.EPMax, p.Edge, p.Confirmable)
	return b.String()
}
