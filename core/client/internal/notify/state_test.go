package notify

import (
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// TestContract calls the methods directly and checks each answer: what
// the engine can rely on beyond what the simulations show.
func TestContract(t *testing.T) {
	type step struct {
		at       float64
		call     string // "changed", "tick", "sent", "next" or "policy"
		v        model.Node
		p        Policy
		notify   bool
		evaluate bool
		next     float64 // seconds after t0; -1: the zero time
	}
	cases := []struct {
		name  string
		p     Policy
		start model.Node
		steps []step
	}{
		{
			name:  "no attribute: no timer ever",
			start: fl(1),
			steps: []step{
				{at: 0, call: "next", next: -1},
				{at: 1, call: "changed", v: fl(2), notify: true, next: -1},
				{at: 1, call: "sent", v: fl(2), next: -1},
				{at: 2, call: "changed", v: fl(2), next: -1},
				{at: 3, call: "tick", next: -1},
			},
		},
		{
			name:  "pmax and epmax count from the Observe response",
			p:     Policy{PMax: 30 * sec, EPMax: 10 * sec},
			start: fl(1),
			steps: []step{{at: 0, call: "next", next: 10}},
		},
		{
			name:  "a Tick before its time changes nothing",
			p:     Policy{PMax: 30 * sec},
			start: fl(1),
			steps: []step{
				{at: 5, call: "tick", next: 30},
				{at: 29.999, call: "tick", next: 30},
				{at: 30, call: "tick", notify: true, next: 60},
			},
		},
		{
			name:  "a late Tick notifies and counts the next pmax from now",
			p:     Policy{PMax: 30 * sec},
			start: fl(1),
			steps: []step{
				{at: 45, call: "tick", notify: true, next: 75},
				{at: 45, call: "sent", v: fl(1), next: 75},
			},
		},
		{
			name:  "Changed says notify when pmax has passed, whatever the value",
			p:     Policy{PMax: 30 * sec, GT: 50, HasGT: true},
			start: fl(1),
			steps: []step{
				{at: 40, call: "changed", v: fl(1), notify: true, next: 70},
			},
		},
		{
			name:  "a deadline the engine let pass comes back as now",
			p:     Policy{PMin: 10 * sec},
			start: fl(1),
			steps: []step{
				{at: 2, call: "changed", v: fl(2), next: 10},
				{at: 25, call: "next", next: 25},
				{at: 25, call: "tick", evaluate: true, next: -1},
			},
		},
		{
			name:  "after an evaluation Tick asked for, nothing stays pending if no value comes",
			p:     Policy{PMin: 10 * sec},
			start: fl(1),
			steps: []step{
				{at: 2, call: "changed", v: fl(2), next: 10},
				{at: 10, call: "tick", evaluate: true, next: -1},
				{at: 11, call: "tick", next: -1},
				{at: 12, call: "changed", v: fl(2), notify: true, next: -1},
			},
		},
		{
			name:  "the evaluation Tick asked for is looked at, even inside epmin",
			p:     Policy{PMin: 10 * sec, EPMin: 10 * sec, EPMax: 100 * sec},
			start: fl(1),
			steps: []step{
				{at: 10, call: "changed", v: fl(2), notify: true, next: 110},
				{at: 10, call: "sent", v: fl(2), next: 110},
				{at: 15, call: "changed", v: fl(3), next: 20},
				{at: 20, call: "tick", evaluate: true, next: 120},
				{at: 20.5, call: "changed", v: fl(3), notify: true, next: 120.5},
			},
		},
		{
			name:  "a held change waits for epmin as well as pmin, even if Tick comes early",
			p:     Policy{PMin: 10 * sec, EPMin: 6 * sec},
			start: fl(1),
			steps: []step{
				{at: 7, call: "changed", v: fl(2), next: 13},
				{at: 10, call: "tick", next: 13},
				{at: 13, call: "tick", evaluate: true, next: -1},
			},
		},
		{
			name:  "an early Tick does not evaluate before epmax",
			p:     Policy{EPMax: 10 * sec},
			start: fl(1),
			steps: []step{
				{at: 9, call: "tick", next: 10},
				{at: 10, call: "tick", evaluate: true, next: 20},
			},
		},
		{
			name:  "SetPolicy returns the next time under the new policy",
			p:     Policy{PMax: 60 * sec},
			start: fl(1),
			steps: []step{
				{at: 10, call: "policy", p: Policy{PMax: 20 * sec}, next: 20},
				{at: 11, call: "policy", p: Policy{}, next: -1},
				{at: 12, call: "policy", p: Policy{EPMax: 5 * sec}, next: 12},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewState(tc.p, tc.start, t0)
			for i, st := range tc.steps {
				now := at(st.at)
				var notify, evaluate bool
				var next time.Time
				switch st.call {
				case "changed":
					notify, next = s.Changed(st.v, now)
				case "tick":
					notify, evaluate, next = s.Tick(now)
				case "sent":
					next = s.Sent(st.v, now)
				case "next":
					next = s.Next(now)
				case "policy":
					next = s.SetPolicy(st.p, now)
					if s.Policy() != st.p {
						t.Errorf("step %d: Policy() = %s after SetPolicy(%s)", i, fmtPolicy(s.Policy()), fmtPolicy(st.p))
					}
				default:
					t.Fatalf("step %d: unknown call %q", i, st.call)
				}
				if notify != st.notify || evaluate != st.evaluate || since(next) != st.next {
					t.Errorf("step %d: %s at %gs = notify %v, evaluate %v, next %gs; want %v, %v, %gs",
						i, st.call, st.at, notify, evaluate, since(next), st.notify, st.evaluate, st.next)
				}
			}
		})
	}
}

// TestSentKeepsACopy checks that the engine may reuse the node it sent.
func TestSentKeepsACopy(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    func() model.Node
	}{
		{"instance", func() model.Node { return inst(1, "Cel") }},
		{"multiple resource", func() model.Node { return multi(1, 2) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.n()
			s := NewState(Policy{}, tc.n(), t0)
			s.Sent(n, at(1))
			n.Children[0].Value = model.Float(99)
			if notify, _ := s.Changed(tc.n(), at(2)); notify {
				t.Errorf("the value sent changed with the caller's node")
			}
			s = NewState(Policy{}, n, at(3))
			n.Children[0].Value = model.Float(98)
			if notify, _ := s.Changed(tc.n(), at(4)); !notify {
				t.Errorf("the Observe response changed with the caller's node")
			}
		})
	}
}
