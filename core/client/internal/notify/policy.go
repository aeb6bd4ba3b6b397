package notify

import (
	"math"
	"strconv"
	"time"

	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
)

// Edge is the edge attribute of a Boolean resource (Core 1.2 Table
// 5.1.2-2). The zero Edge is none, so that the zero Policy has no
// attribute at all.
type Edge int8

// The values of Edge.
const (
	EdgeNone    Edge = iota // no edge attribute
	EdgeFalling             // edge=0: notify when the value goes from true to false
	EdgeRising              // edge=1: notify when the value goes from false to true
)

// String returns "none", "falling" or "rising".
func (e Edge) String() string {
	switch e {
	case EdgeNone:
		return "none"
	case EdgeFalling:
		return "falling"
	case EdgeRising:
		return "rising"
	}
	return "edge(" + strconv.Itoa(int(e)) + ")"
}

// target returns the value a qualifying change goes to.
func (e Edge) target() bool { return e == EdgeRising }

// Policy is the notification attributes in force for one observation,
// resolved: levels merged, server defaults applied, and the rules between
// attributes applied (see PolicyFor). The zero Policy has no attribute:
// every change notifies at once, and nothing notifies without a change.
type Policy struct {
	PMin time.Duration // minimum period; 0: none
	PMax time.Duration // maximum period; 0: none

	GT, LT, ST          float64 // thresholds and step, for numeric resources
	HasGT, HasLT, HasST bool

	EPMin time.Duration // minimum evaluation period (1.1); 0: none
	EPMax time.Duration // maximum evaluation period (1.1); 0: none

	Edge        Edge // EdgeNone, EdgeFalling or EdgeRising (1.2, Boolean resources)
	Confirmable bool // con=1: send notifications confirmable (1.2)
}

// seconds converts whole seconds of an attribute to a Duration. Every
// uint32 fits: 2^32 seconds is about 136 years, a Duration about 292.
func seconds(s uint32) time.Duration { return time.Duration(s) * time.Second }

// PolicyFor resolves the attributes written at each level of an
// observation's path, shallowest first as link.Effective takes them
// (object, object instance, resource, resource instance: a deeper level
// prevails, an absent or unset attribute inherits; Core section 5.1.1), with
// the server's Default Minimum Period and Default Maximum Period (Server
// object resources 2 and 3, whole seconds; 0 when the resource is absent,
// which is none). For a 1.2 Observe that carries its own attributes, which
// replace those attached to the path (Core 1.2 section 6.4.1), pass those
// alone.
//
// On the merged values it applies what the specification says of
// inconsistent ones, which no single Write-Attributes can produce but
// several can (Core section 5.1.2):
//
//   - pmax smaller than pmin is ignored (PMax 0); pmax 0 is no maximum;
//   - gt, lt and st are dropped together when lt >= gt, or lt + 2*st >= gt
//     with all three set, or one of them is not finite, or st is negative:
//     the change value conditions are "valid" only when the rules hold,
//     and without them every change qualifies;
//   - epmax not greater than epmin is raised to epmin, so that evaluations
//     still happen periodically but never more often than epmin;
//   - edge=0 and edge=1 give EdgeFalling and EdgeRising, no edge EdgeNone.
func PolicyFor(defaultPMin, defaultPMax uint32, levels ...link.Attributes) Policy {
	a := link.Effective(levels...)
	var p Policy

	pmin, pmax := defaultPMin, defaultPMax
	if v, ok := a.PMin.Get(); ok {
		pmin = v
	}
	if v, ok := a.PMax.Get(); ok {
		pmax = v
	}
	if pmax < pmin {
		pmax = 0
	}
	p.PMin, p.PMax = seconds(pmin), seconds(pmax)

	p.GT, p.HasGT = a.GT.Get()
	p.LT, p.HasLT = a.LT.Get()
	p.ST, p.HasST = a.ST.Get()
	if !valueConditionsValid(&p) {
		p.GT, p.LT, p.ST = 0, 0, 0
		p.HasGT, p.HasLT, p.HasST = false, false, false
	}

	epmin, _ := a.EPMin.Get()
	epmax, _ := a.EPMax.Get()
	if epmax != 0 && epmax < epmin {
		epmax = epmin
	}
	p.EPMin, p.EPMax = seconds(epmin), seconds(epmax)

	if e, ok := a.Edge.Get(); ok {
		p.Edge = EdgeFalling
		if e {
			p.Edge = EdgeRising
		}
	}
	p.Confirmable, _ = a.Con.Get()
	return p
}

// valueConditionsValid reports whether the gt, lt and st set in p are
// finite, st is not negative, and they keep the rules of Core section
// 5.1.2: lt < gt, and lt + 2*st < gt when all three are set.
func valueConditionsValid(p *Policy) bool {
	finite := func(has bool, f float64) bool { return !has || !math.IsNaN(f) && !math.IsInf(f, 0) }
	if !finite(p.HasGT, p.GT) || !finite(p.HasLT, p.LT) || !finite(p.HasST, p.ST) {
		return false
	}
	if p.HasST && p.ST < 0 {
		return false
	}
	if p.HasGT && p.HasLT {
		if !(p.LT < p.GT) {
			return false
		}
		if p.HasST && !(p.LT+2*p.ST < p.GT) {
			return false
		}
	}
	return true
}

// maxPeriod returns the maximum period in force: PMax, or 0 (none) when it
// is smaller than PMin, which Core section 5.1.2 says to ignore.
func (p *Policy) maxPeriod() time.Duration {
	if p.PMax < p.PMin {
		return 0
	}
	return p.PMax
}

// maxEvalPeriod returns the maximum evaluation period in force: EPMax,
// raised to EPMin when it is not greater (see PolicyFor), or 0 (none).
func (p *Policy) maxEvalPeriod() time.Duration {
	if p.EPMax <= 0 {
		return 0
	}
	return max(p.EPMax, p.EPMin)
}

// hasValueConditions reports whether gt, lt or st is set.
func (p *Policy) hasValueConditions() bool { return p.HasGT || p.HasLT || p.HasST }

// Numeric reports whether gt, lt and st apply to n: a single resource or a
// resource instance holding an Integer, Unsigned Integer or Float ("Numerical
// & Readable Resource", Core Table 5.1.2-2). A Time value is not numeric
// (Leshan and Anjay Lite read the table the same way), nor is a multiple
// resource, an object instance or an object: for those any change
// qualifies.
func Numeric(n model.Node) bool {
	if !n.HasValue() {
		return false
	}
	switch n.Value.Type() {
	case model.TypeInteger, model.TypeUnsigned, model.TypeFloat:
		return true
	}
	return false
}

// isBoolean reports whether n is a single resource or resource instance
// holding a Boolean, to which edge applies.
func isBoolean(n *model.Node) bool {
	return n.HasValue() && n.Value.Type() == model.TypeBoolean
}
