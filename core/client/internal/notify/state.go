package notify

import (
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// State is the notification state of one observation: the last value sent
// and when, the last evaluation, and what is waiting for a timer. Every
// method is given the current time, which must not go backwards from one
// call to the next, and returns when the engine must call Tick next (the
// zero time: no timer); after NewState, Next says it. A time returned is
// never before the time given; a deadline the engine let pass comes back
// as now.
//
// When Changed or Tick says notify, the next time it returns assumes the
// notification is sent at that moment; Sent, which the engine must call
// after every notification, records it and returns the same time.
//
// A State is not safe for concurrent use.
type State struct {
	p Policy

	sent   model.Node // the value of the last notification
	sentAt time.Time  // when it was sent
	evalAt time.Time  // the last evaluation: a Changed looked at, or a notification

	pending  bool    // a change qualified inside pmin: evaluate when pmin ends
	deferred bool    // a change was reported inside epmin: evaluate when epmin ends
	asked    bool    // Tick asked for an evaluation: the next Changed is it
	seen     [2]bool // for edge: Boolean values (false, true) sent or evaluated since the last notification
}

// NewState returns the state of an observation whose Observe response
// carried sent at now: the response counts as the first notification
// (Core section 5.1.2), so pmin and pmax count from now and changes from
// sent.
func NewState(p Policy, sent model.Node, now time.Time) *State {
	s := &State{p: p}
	s.record(sent, now)
	return s
}

// Policy returns the policy in force.
func (s *State) Policy() Policy { return s.p }

// Next returns when the engine must call Tick next, as the last call
// returned, or the zero time for no timer. The engine calls it after
// NewState, for pmax and epmax count from the Observe response.
func (s *State) Next(now time.Time) time.Time { return s.next(now) }

// Changed reports a value of the observed node: the object said it
// changed, or the engine read it because Tick asked for an evaluation. It
// returns whether to send a notification with v now, and when the engine
// must call Tick next.
//
// v is evaluated against the conditions unless it comes inside epmin of
// the previous evaluation without Tick having asked for it; then it is
// not looked at and Tick asks for an evaluation when epmin ends. A change
// that qualifies is sent at once when pmin has passed since the last
// notification and held otherwise: Tick asks for an evaluation when pmin
// ends. Changed also says notify when pmax has passed, whatever v.
func (s *State) Changed(v model.Node, now time.Time) (notify bool, next time.Time) {
	if s.pmaxDue(now) {
		return true, s.nextAfterSend(now)
	}
	if !s.asked && s.p.EPMin > 0 && now.Before(s.evalAt.Add(s.p.EPMin)) {
		s.deferred = true
		return false, s.next(now)
	}
	s.asked, s.deferred = false, false
	s.evalAt = now
	s.see(&v)
	if !s.qualifies(&v) {
		s.pending = false
		return false, s.next(now)
	}
	if !now.Before(s.sentAt.Add(s.p.PMin)) {
		s.pending = false
		return true, s.nextAfterSend(now)
	}
	s.pending = true
	return false, s.next(now)
}

// Tick is called at the time Changed, Tick, Sent or SetPolicy asked for
// (calling it at another time is harmless). It returns notify when pmax
// has passed since the last notification: read the value and send it. It
// returns evaluate when an evaluation is due: pmin ended with a change
// held, epmin ended after a change that came too early, or epmax passed
// since the previous evaluation; then the engine reads the value and calls
// Changed with it, which decides. If the read fails, nothing stays
// pending: the next change, epmax or pmax brings the observation back.
func (s *State) Tick(now time.Time) (notify, evaluate bool, next time.Time) {
	if s.pmaxDue(now) {
		return true, false, s.nextAfterSend(now)
	}
	if s.evaluationDue(now) {
		s.asked = true
		s.pending, s.deferred = false, false
		s.evalAt = now
		return false, true, s.next(now)
	}
	return false, false, s.next(now)
}

// Sent records that a notification carrying v was sent at now, which
// restarts pmin and pmax (Core section 5.1.2) and makes v the value later
// ones are compared with. It returns when the engine must call Tick next.
func (s *State) Sent(v model.Node, now time.Time) time.Time {
	s.record(v, now)
	return s.next(now)
}

// SetPolicy applies new attributes to the observation, after a
// Write-Attributes on a level it inherits from, and returns when the
// engine must call Tick next. The last notification, a change held for
// pmin and what edge has seen are kept: the new periods count from the
// last notification, and the new conditions judge the next evaluation
// (Core section 6.4.2 leaves this to the implementation).
func (s *State) SetPolicy(p Policy, now time.Time) time.Time {
	s.p = p
	return s.next(now)
}

// record makes v, sent at now, the last notification.
func (s *State) record(v model.Node, now time.Time) {
	s.sent = v.Clone()
	s.sentAt, s.evalAt = now, now
	s.pending, s.deferred, s.asked = false, false, false
	s.seen = [2]bool{}
	s.see(&s.sent)
}

// see notes a Boolean value for edge.
func (s *State) see(v *model.Node) {
	if isBoolean(v) {
		s.seen[b2i(v.Value.Bool())] = true
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// qualifies reports whether v is a change that calls for a notification
// under the conditions in force (see the package comment).
func (s *State) qualifies(v *model.Node) bool {
	if s.p.Edge != EdgeNone && isBoolean(v) {
		to := s.p.Edge.target()
		return v.Value.Bool() == to && s.seen[b2i(!to)]
	}
	if v.Equal(&s.sent) {
		return false
	}
	if !s.p.hasValueConditions() || !Numeric(*v) || !Numeric(s.sent) ||
		v.Value.Type() != s.sent.Value.Type() {
		// No condition, or none that applies: any change qualifies, and
		// so does one the conditions cannot judge, a value whose type
		// differs from the last one sent.
		return true
	}
	last, cur := s.sent.Value, v.Value
	return s.p.HasGT && above(last, s.p.GT) != above(cur, s.p.GT) ||
		s.p.HasLT && below(last, s.p.LT) != below(cur, s.p.LT) ||
		s.p.HasST && stepReached(last, cur, s.p.ST)
}

// pmaxDue reports whether the maximum period has passed at now.
func (s *State) pmaxDue(now time.Time) bool {
	pmax := s.p.maxPeriod()
	return pmax > 0 && !now.Before(s.sentAt.Add(pmax))
}

// evaluationDue reports whether an evaluation is due at now.
func (s *State) evaluationDue(now time.Time) bool {
	epminOver := s.p.EPMin <= 0 || !now.Before(s.evalAt.Add(s.p.EPMin))
	if s.pending && epminOver && !now.Before(s.sentAt.Add(s.p.PMin)) {
		return true
	}
	if s.deferred && epminOver {
		return true
	}
	epmax := s.p.maxEvalPeriod()
	return epmax > 0 && !now.Before(s.evalAt.Add(epmax))
}

// next returns when Tick must be called next in the current state.
func (s *State) next(now time.Time) time.Time {
	return s.nextFrom(now, s.sentAt, s.evalAt, s.pending, s.deferred)
}

// nextAfterSend returns when Tick must be called next once a notification
// is sent at now.
func (s *State) nextAfterSend(now time.Time) time.Time {
	return s.nextFrom(now, now, now, false, false)
}

// nextFrom returns the earliest deadline of a state with the given last
// notification, last evaluation and waiting evaluations, no earlier than
// now, or the zero time if there is none.
func (s *State) nextFrom(now, sentAt, evalAt time.Time, pending, deferred bool) time.Time {
	var t time.Time
	consider := func(c time.Time) {
		if t.IsZero() || c.Before(t) {
			t = c
		}
	}
	if pmax := s.p.maxPeriod(); pmax > 0 {
		consider(sentAt.Add(pmax))
	}
	if pending {
		c := sentAt.Add(s.p.PMin)
		if s.p.EPMin > 0 {
			if e := evalAt.Add(s.p.EPMin); e.After(c) {
				c = e
			}
		}
		consider(c)
	}
	if deferred {
		consider(evalAt.Add(s.p.EPMin))
	}
	if epmax := s.p.maxEvalPeriod(); epmax > 0 {
		consider(evalAt.Add(epmax))
	}
	if !t.IsZero() && t.Before(now) {
		t = now
	}
	return t
}
