package client

import (
	"math"
	"time"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
)

// This file is the engine's one place that decides when an observation
// notifies. It has the shape of core/client/internal/notify (PolicyFor,
// NewState, Changed, Tick, Sent, SetPolicy) so that the engine switches to
// that package by replacing what is here.

// notifyPolicy is what decides when an observation notifies: the
// <NOTIFICATION> attributes in force (Core 1.1 section 5.1.2), with the
// server's default periods.
type notifyPolicy struct {
	pmin, pmax          time.Duration // pmax 0: no maximum period
	epmin, epmax        time.Duration // 0: none
	gt, lt, st          float64
	hasGT, hasLT, hasST bool
}

// policyFor builds the policy from the server's Default Minimum and
// Maximum Period (/1/x/2, /1/x/3; 0 for none) and the attributes assigned
// at each level of the observed path, shallowest first (Core 1.1 section
// 5.1.1: the deeper level prevails). A pmax smaller than pmin is ignored,
// as is an epmax not above epmin (section 5.1.2).
func policyFor(defPMin, defPMax uint32, levels ...link.Attributes) notifyPolicy {
	a := link.Effective(levels...)
	p := notifyPolicy{pmin: seconds(defPMin), pmax: seconds(defPMax)}
	if v, ok := a.PMin.Get(); ok {
		p.pmin = seconds(v)
	}
	if v, ok := a.PMax.Get(); ok {
		p.pmax = seconds(v)
	}
	if p.pmax > 0 && p.pmax < p.pmin {
		p.pmax = 0
	}
	if v, ok := a.EPMin.Get(); ok {
		p.epmin = seconds(v)
	}
	if v, ok := a.EPMax.Get(); ok {
		p.epmax = seconds(v)
	}
	if p.epmax > 0 && p.epmax <= p.epmin {
		p.epmax = 0
	}
	p.gt, p.hasGT = a.GT.Get()
	p.lt, p.hasLT = a.LT.Get()
	p.st, p.hasST = a.ST.Get()
	return p
}

func seconds(s uint32) time.Duration { return time.Duration(s) * time.Second }

// notifyState is one observation's notification timing.
type notifyState struct {
	p           notifyPolicy
	sent        model.Node // what the last notification (or the response) carried
	sentAt      time.Time
	evalAt      time.Time // when the value was last looked at
	pending     bool      // a change to report once pmin has passed
	evalPending bool      // a change signalled before epmin passed
}

func newNotifyState(p notifyPolicy, sent model.Node, now time.Time) *notifyState {
	return &notifyState{p: p, sent: sent, sentAt: now, evalAt: now}
}

// Changed evaluates the new value v: it reports whether to notify now (the
// caller sends, then calls Sent) and when to call Tick next (zero: no
// timer needed).
func (s *notifyState) Changed(v model.Node, now time.Time) (bool, time.Time) {
	if s.p.epmin > 0 && now.Before(s.evalAt.Add(s.p.epmin)) {
		s.evalPending = true
		return false, s.next()
	}
	s.evalAt, s.evalPending = now, false
	s.pending = s.significant(&v)
	if s.pending && !now.Before(s.sentAt.Add(s.p.pmin)) {
		return true, time.Time{}
	}
	return false, s.next()
}

// Tick is called at the time Changed, Tick or SetPolicy gave: it reports
// whether to notify (a change held by pmin, or pmax passed) and whether to
// read the value and call Changed (epmax passed, or a change held by
// epmin), and when to tick next.
func (s *notifyState) Tick(now time.Time) (notify, evaluate bool, next time.Time) {
	if s.pending && !now.Before(s.sentAt.Add(s.p.pmin)) {
		notify = true
	}
	if s.p.pmax > 0 && !now.Before(s.sentAt.Add(s.p.pmax)) {
		notify = true
	}
	if s.p.epmax > 0 && !now.Before(s.evalAt.Add(s.p.epmax)) {
		evaluate = true
	}
	if s.evalPending && !now.Before(s.evalAt.Add(s.p.epmin)) {
		evaluate = true
	}
	return notify, evaluate, s.next()
}

// Sent records that v went out at now.
func (s *notifyState) Sent(v model.Node, now time.Time) {
	s.sent, s.sentAt = v, now
	s.evalAt = now
	s.pending, s.evalPending = false, false
}

// SetPolicy changes the attributes in force (a Write-Attributes) and
// returns when to tick next.
func (s *notifyState) SetPolicy(p notifyPolicy, now time.Time) time.Time {
	s.p = p
	return s.next()
}

// Next returns when to tick next.
func (s *notifyState) Next() time.Time { return s.next() }

func (s *notifyState) next() time.Time {
	var t time.Time
	at := func(u time.Time) {
		if t.IsZero() || u.Before(t) {
			t = u
		}
	}
	if s.pending {
		at(s.sentAt.Add(s.p.pmin))
	}
	if s.p.pmax > 0 {
		at(s.sentAt.Add(s.p.pmax))
	}
	if s.p.epmax > 0 {
		at(s.evalAt.Add(s.p.epmax))
	}
	if s.evalPending {
		at(s.evalAt.Add(s.p.epmin))
	}
	return t
}

// significant reports whether v differs from what was sent enough to
// notify: with gt, lt or st on a numeric value, when it crossed gt or lt
// or moved by st or more since the last notification (Core 1.1 section
// 5.1.2; any one condition suffices); otherwise when it differs at all.
func (s *notifyState) significant(v *model.Node) bool {
	if s.p.hasGT || s.p.hasLT || s.p.hasST {
		x, ok1 := nodeNumber(&s.sent)
		y, ok2 := nodeNumber(v)
		if ok1 && ok2 {
			switch {
			case s.p.hasGT && (x > s.p.gt) != (y > s.p.gt):
				return true
			case s.p.hasLT && (x < s.p.lt) != (y < s.p.lt):
				return true
			case s.p.hasST && math.Abs(y-x) >= s.p.st:
				return true
			}
			return false
		}
	}
	return !s.sent.Equal(v)
}

func nodeNumber(n *model.Node) (float64, bool) {
	if !n.HasValue() {
		return 0, false
	}
	return numberOf(n.Value)
}
