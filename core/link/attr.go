package link

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/wasm2m/wasm2m/core/model"
)

// State says whether an attribute is absent, set to a value, or explicitly
// unset.
type State uint8

// The states of an Attr. StateUnset only comes from a Write-Attributes (or
// Observe) query naming an attribute without a value, which removes that
// attribute at the level written (Core 1.1 and 1.2 section 6.3.4); stored
// attributes are either absent or set.
const (
	StateAbsent State = iota // not given; the zero Attr
	StateSet                 // given with Value
	StateUnset               // given without a value
)

// String returns "absent", "set" or "unset".
func (s State) String() string {
	switch s {
	case StateAbsent:
		return "absent"
	case StateSet:
		return "set"
	case StateUnset:
		return "unset"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

// Attr is one attribute's state and, when set, its value. The zero Attr is
// absent.
type Attr[T any] struct {
	State State
	Value T // meaningful only when State is StateSet
}

// Set returns an attribute set to v.
func Set[T any](v T) Attr[T] { return Attr[T]{State: StateSet, Value: v} }

// Unset returns an attribute that is explicitly unset.
func Unset[T any]() Attr[T] { return Attr[T]{State: StateUnset} }

// IsSet reports whether a holds a value.
func (a Attr[T]) IsSet() bool { return a.State == StateSet }

// IsUnset reports whether a is explicitly unset.
func (a Attr[T]) IsUnset() bool { return a.State == StateUnset }

// IsAbsent reports whether a was not given.
func (a Attr[T]) IsAbsent() bool { return a.State == StateAbsent }

// Get returns a's value and whether it is set.
func (a Attr[T]) Get() (T, bool) {
	if a.State != StateSet {
		var zero T
		return zero, false
	}
	return a.Value, true
}

// Attributes is the set of LwM2M attributes of one link or one
// Write-Attributes request (Core 1.1 and 1.2 section 5.1.2), each absent,
// set, or (in a Write-Attributes query) explicitly unset.
//
// The <PROPERTIES> class (Table 5.1.2-1) and the CoRE attributes are read
// only: the client reports them in Register, Discover and
// Bootstrap-Discover payloads. The <NOTIFICATION> class (Table 5.1.2-2) is
// what Write-Attributes writes and observations use; epmin and epmax are
// new in 1.1, edge, con and hqmax in 1.2.
//
// Periods are whole seconds. gt, lt and st are floats; the specification's
// ABNF (1*DIGIT ["." 1*DIGIT]) has no sign, a known erratum
// (OMA_LwM2M_for_Developers issue 563): thresholds below zero are real, so
// gt and lt accept a leading '-', while st, a step, may not be negative.
type Attributes struct {
	// CoRE attributes.
	RT Attr[string]   // rt: resource type(s), space-separated (RFC 6690 section 3.1)
	CT Attr[[]uint16] // ct: content formats (RFC 7252 section 7.2.1), one or a quoted list

	// <PROPERTIES> class.
	LWM2M Attr[model.Version] // lwm2m: enabler version, on the root link of Bootstrap-Discover
	Ver   Attr[model.Version] // ver: object version, on an object link
	SSID  Attr[uint16]        // ssid: short server id, 1 to 65534, on a Security, Server or OSCORE instance
	URI   Attr[string]        // uri: server URI, on a Security instance
	Dim   Attr[uint8]         // dim: number of instances of a multiple resource

	// <NOTIFICATION> class.
	PMin  Attr[uint32]  // pmin: minimum period, seconds
	PMax  Attr[uint32]  // pmax: maximum period, seconds; 0 means none (1.2)
	GT    Attr[float64] // gt: greater than
	LT    Attr[float64] // lt: less than
	ST    Attr[float64] // st: step
	EPMin Attr[uint32]  // epmin: minimum evaluation period, seconds (1.1)
	EPMax Attr[uint32]  // epmax: maximum evaluation period, seconds (1.1)
	Edge  Attr[bool]    // edge: notify on the rising (true) or falling (false) edge of a boolean (1.2)
	Con   Attr[bool]    // con: send notifications confirmable (1.2)
	HQMax Attr[uint32]  // hqmax: maximum historical queue (1.2)
}

// Levels where an attribute may be assigned, as bits 1<<model.Level.
const (
	atRoot     = 1 << model.LevelRoot
	atObject   = 1 << model.LevelObject
	atInstance = 1 << model.LevelInstance
	atResource = 1 << model.LevelResource
	atResInst  = 1 << model.LevelResourceInstance
	atAny      = atRoot | atObject | atInstance | atResource | atResInst
	atAllNodes = atObject | atInstance | atResource | atResInst
	atValues   = atResource | atResInst
)

// attrDef describes one attribute for the table-driven parsing,
// formatting, merging and comparing below.
type attrDef struct {
	name   string
	want   string // what a valid value is, for error messages
	notify bool   // <NOTIFICATION> class: writable by Write-Attributes
	levels uint8  // where it may be assigned (Core section 5.1.2 tables)
	quoted bool   // written as a quoted-string in links by LwM2M convention

	setUnset    func(*Attributes)
	parse       func(*Attributes, string) error
	appendValue func([]byte, *Attributes) []byte
}

func mkDef[T any](name string, notify bool, levels uint8, quoted bool,
	field func(*Attributes) *Attr[T],
	parse func(string) (T, bool),
	format func([]byte, T) []byte,
	want string,
) attrDef {
	return attrDef{
		name: name, want: want, notify: notify, levels: levels, quoted: quoted,
		setUnset: func(a *Attributes) { *field(a) = Unset[T]() },
		parse: func(a *Attributes, s string) error {
			v, ok := parse(s)
			if !ok {
				return badValueOf(name, want, s)
			}
			*field(a) = Set(v)
			return nil
		},
		appendValue: func(dst []byte, a *Attributes) []byte { return format(dst, field(a).Value) },
	}
}

// badValue returns the error for value s of attribute defs[i].
func badValue(i int, s string) error { return badValueOf(defs[i].name, defs[i].want, s) }

func badValueOf(name, want, s string) error {
	return model.Errorf(model.BadRequest, "link: %w: %s=%q: want %s", ErrAttribute, name, clip(s), want)
}

// Indexes of the attributes in defs. The operations that must not make
// their Attributes escape to the heap (state, Merge, Effective, Equal) go
// through these and explicit field lists rather than defs' closures.
const (
	iRT = iota
	iCT
	iLWM2M
	iVer
	iSSID
	iURI
	iDim
	iPMin
	iPMax
	iGT
	iLT
	iST
	iEPMin
	iEPMax
	iEdge
	iCon
	iHQMax
	numAttrs
)

// state returns the state of the attribute defs[i] describes.
func (a *Attributes) state(i int) State {
	switch i {
	case iRT:
		return a.RT.State
	case iCT:
		return a.CT.State
	case iLWM2M:
		return a.LWM2M.State
	case iVer:
		return a.Ver.State
	case iSSID:
		return a.SSID.State
	case iURI:
		return a.URI.State
	case iDim:
		return a.Dim.State
	case iPMin:
		return a.PMin.State
	case iPMax:
		return a.PMax.State
	case iGT:
		return a.GT.State
	case iLT:
		return a.LT.State
	case iST:
		return a.ST.State
	case iEPMin:
		return a.EPMin.State
	case iEPMax:
		return a.EPMax.State
	case iEdge:
		return a.Edge.State
	case iCon:
		return a.Con.State
	case iHQMax:
		return a.HQMax.State
	}
	return StateAbsent
}

// defs lists the attributes in the order they are written, which is the
// order of the i* indexes: the order of
// the specification's examples (`</>;rt="oma.lwm2m";ct=11543`,
// `</0/0>;ssid=101;uri="..."`, `</3/0/7>;dim=2;pmin=10;pmax=60;gt=50;lt=42.2`).
var defs = []attrDef{
	mkDef("rt", false, atAny, true, func(a *Attributes) *Attr[string] { return &a.RT },
		parseString, appendString, "a resource type"),
	mkDef("ct", false, atAny, false, func(a *Attributes) *Attr[[]uint16] { return &a.CT },
		parseCT, appendCT, `a content format number or a quoted list of them ("60 110")`),
	mkDef("lwm2m", false, atRoot, false, func(a *Attributes) *Attr[model.Version] { return &a.LWM2M },
		parseVersion, appendVersion, "major.minor"),
	mkDef("ver", false, atObject, false, func(a *Attributes) *Attr[model.Version] { return &a.Ver },
		parseVersion, appendVersion, "major.minor"),
	mkDef("ssid", false, atInstance, false, func(a *Attributes) *Attr[uint16] { return &a.SSID },
		parseSSID, appendUint16, "an integer from 1 to 65534"),
	mkDef("uri", false, atInstance, true, func(a *Attributes) *Attr[string] { return &a.URI },
		parseString, appendString, "a URI"),
	mkDef("dim", false, atResource, false, func(a *Attributes) *Attr[uint8] { return &a.Dim },
		parseDim, appendUint8, "an integer from 0 to 255"),
	mkDef("pmin", true, atAllNodes, false, func(a *Attributes) *Attr[uint32] { return &a.PMin },
		parseSeconds, appendUint32, "whole seconds from 0 to 4294967295"),
	mkDef("pmax", true, atAllNodes, false, func(a *Attributes) *Attr[uint32] { return &a.PMax },
		parseSeconds, appendUint32, "whole seconds from 0 to 4294967295"),
	mkDef("gt", true, atValues, false, func(a *Attributes) *Attr[float64] { return &a.GT },
		parseSignedDecimal, appendFloat, "a decimal number such as 42.2 or -5"),
	mkDef("lt", true, atValues, false, func(a *Attributes) *Attr[float64] { return &a.LT },
		parseSignedDecimal, appendFloat, "a decimal number such as 42.2 or -5"),
	mkDef("st", true, atValues, false, func(a *Attributes) *Attr[float64] { return &a.ST },
		parseDecimal, appendFloat, "a non-negative decimal number such as 0.5"),
	mkDef("epmin", true, atAllNodes, false, func(a *Attributes) *Attr[uint32] { return &a.EPMin },
		parseSeconds, appendUint32, "whole seconds from 0 to 4294967295"),
	mkDef("epmax", true, atAllNodes, false, func(a *Attributes) *Attr[uint32] { return &a.EPMax },
		parseSeconds, appendUint32, "whole seconds from 0 to 4294967295"),
	mkDef("edge", true, atValues, false, func(a *Attributes) *Attr[bool] { return &a.Edge },
		parseBit, appendBit, "0 or 1"),
	mkDef("con", true, atAllNodes, false, func(a *Attributes) *Attr[bool] { return &a.Con },
		parseBit, appendBit, "0 or 1"),
	mkDef("hqmax", true, atAllNodes, false, func(a *Attributes) *Attr[uint32] { return &a.HQMax },
		parseSeconds, appendUint32, "an integer from 0 to 4294967295"),
}

// lookup returns the index in defs of the attribute named name, or -1.
func lookup(name string) int {
	for i := range defs {
		if defs[i].name == name {
			return i
		}
	}
	return -1
}

// Value parsers. Each reports false for a value its ABNF does not allow.

func parseString(s string) (string, bool) { return s, true }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseUint parses 1*DIGIT (leading zeros allowed) no larger than max.
func parseUint(s string, max uint64) (uint64, bool) {
	if !isDigits(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > max {
		return 0, false
	}
	return v, true
}

func parseSeconds(s string) (uint32, bool) {
	v, ok := parseUint(s, math.MaxUint32)
	return uint32(v), ok
}

func parseSSID(s string) (uint16, bool) {
	v, ok := parseUint(s, model.MaxID)
	return uint16(v), ok && v >= 1
}

func parseDim(s string) (uint8, bool) {
	v, ok := parseUint(s, math.MaxUint8)
	return uint8(v), ok
}

func parseBit(s string) (bool, bool) {
	switch s {
	case "0":
		return false, true
	case "1":
		return true, true
	}
	return false, false
}

// parseCardinal parses an RFC 6690 cardinal ("0" / %x31-39 *DIGIT) that
// fits a CoAP content format (0 to 65535).
func parseCardinal(s string) (uint16, bool) {
	if len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	v, ok := parseUint(s, math.MaxUint16)
	return uint16(v), ok
}

// parseCT parses ct-value = cardinal / DQUOTE cardinal *( 1*SP cardinal )
// DQUOTE (RFC 7252 section 7.2.1); the quotes are already gone.
func parseCT(s string) ([]uint16, bool) {
	out := make([]uint16, 0, strings.Count(s, " ")+1)
	for {
		f, rest, found := strings.Cut(s, " ")
		v, ok := parseCardinal(f)
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if !found {
			return out, true
		}
		s = strings.TrimLeft(rest, " ")
		if s == "" {
			return nil, false // trailing space
		}
	}
}

// parseVersion parses 1*DIGIT "." 1*DIGIT, each part 0 to 255.
func parseVersion(s string) (model.Version, bool) {
	maj, mnr, ok := strings.Cut(s, ".")
	if !ok || !isDigits(maj) || !isDigits(mnr) {
		return model.Version{}, false
	}
	v, err := model.ParseVersion(s)
	return v, err == nil
}

// parseDecimal parses 1*DIGIT ["." 1*DIGIT].
func parseDecimal(s string) (float64, bool) {
	ip, fp, dot := strings.Cut(s, ".")
	if !isDigits(ip) || dot && !isDigits(fp) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// parseSignedDecimal parses ["-"] 1*DIGIT ["." 1*DIGIT].
func parseSignedDecimal(s string) (float64, bool) {
	if neg, ok := strings.CutPrefix(s, "-"); ok {
		f, ok := parseDecimal(neg)
		return -f, ok
	}
	return parseDecimal(s)
}

// Value formatters.

func appendString(dst []byte, s string) []byte { return append(dst, s...) }

func appendUint8(dst []byte, v uint8) []byte { return strconv.AppendUint(dst, uint64(v), 10) }

func appendUint16(dst []byte, v uint16) []byte { return strconv.AppendUint(dst, uint64(v), 10) }

func appendUint32(dst []byte, v uint32) []byte { return strconv.AppendUint(dst, uint64(v), 10) }

func appendVersion(dst []byte, v model.Version) []byte {
	dst = strconv.AppendUint(dst, uint64(v.Major), 10)
	dst = append(dst, '.')
	return strconv.AppendUint(dst, uint64(v.Minor), 10)
}

// appendFloat writes the shortest decimal that reads back exactly, never
// in exponent form, as the attributes' ABNF has none.
func appendFloat(dst []byte, f float64) []byte { return strconv.AppendFloat(dst, f, 'f', -1, 64) }

func appendBit(dst []byte, b bool) []byte {
	if b {
		return append(dst, '1')
	}
	return append(dst, '0')
}

func appendCT(dst []byte, cts []uint16) []byte {
	for i, ct := range cts {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = strconv.AppendUint(dst, uint64(ct), 10)
	}
	return dst
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// ParseParams reads the LwM2M attributes among a link's parameters and
// returns them with the other parameters, in their order. Parameters that
// are not LwM2M attributes are not an error (Core section 6.2.1: "Any
// other parameters included in the link MUST NOT be interpreted as an
// error"). Whether a value was quoted does not matter, so `ver="1.1"`, as
// some clients send it, reads as ver=1.1. An attribute without a value, an
// attribute given twice and a bad value are 4.00 errors wrapping
// ErrAttribute. ParseParams does not check where an attribute may be
// attached (see CheckLevel) nor the rules between attributes (see
// Validate): a client reports what it has.
func ParseParams(params []Param) (Attributes, []Param, error) {
	var a Attributes
	other, err := parseParamsInto(&a, params)
	if err != nil {
		return Attributes{}, nil, err
	}
	return a, other, nil
}

// parseParamsInto is ParseParams writing to *a, which must be zero.
func parseParamsInto(a *Attributes, params []Param) ([]Param, error) {
	var other []Param
	for _, p := range params {
		i := lookup(p.Key)
		if i < 0 {
			other = append(other, p)
			continue
		}
		d := &defs[i]
		if !p.HasValue {
			return nil, model.Errorf(model.BadRequest, "link: %w: %s has no value", ErrAttribute, d.name)
		}
		if a.state(i) != StateAbsent {
			return nil, model.Errorf(model.BadRequest, "link: %w: %s given twice", ErrAttribute, d.name)
		}
		if err := d.parse(a, p.Value); err != nil {
			return nil, err
		}
	}
	return other, nil
}

// ParseQuery parses the Uri-Query options of a Write-Attributes request
// (Core 1.1 and 1.2 section 6.3.4; Transport section "Device Management &
// Service Enablement Interface": PUT /3/0/9?pmin=1&pmax=5), or the
// observation attributes of a 1.2 Observe (Core 1.2 section 6.4.1). Each
// element of query is one option, "name=value" or "name" alone; a name
// alone unsets the attribute at the level written.
//
// Only <NOTIFICATION> attributes may be written. An unknown attribute, a
// property attribute, one given twice, an empty option or value and a bad
// value are rejected, as is a set of values that breaks the rules of
// Validate (the specification requires rejecting a single Write-Attributes
// that does, Core section 5.1.2). Every error is a 4.00 *model.Error
// wrapping ErrAttribute.
//
// A query with no attribute gives zero Attributes and no error; the
// Write-Attributes parameter table makes at least one attribute required,
// which the caller checks with IsZero where it matters.
func ParseQuery(query []string) (Attributes, error) {
	var a Attributes
	for _, q := range query {
		name, value, hasValue := strings.Cut(q, "=")
		if name == "" {
			return Attributes{}, model.Errorf(model.BadRequest, "link: %w: query option %q has no attribute name", ErrAttribute, clip(q))
		}
		i := lookup(name)
		if i < 0 {
			return Attributes{}, model.Errorf(model.BadRequest, "link: %w: unknown attribute %q", ErrAttribute, clip(name))
		}
		d := &defs[i]
		if !d.notify {
			return Attributes{}, model.Errorf(model.BadRequest, "link: %w: %s is not a <NOTIFICATION> attribute and cannot be written", ErrAttribute, name)
		}
		if a.state(i) != StateAbsent {
			return Attributes{}, model.Errorf(model.BadRequest, "link: %w: %s given twice", ErrAttribute, name)
		}
		if !hasValue {
			d.setUnset(&a)
			continue
		}
		if err := d.parse(&a, value); err != nil {
			return Attributes{}, err
		}
	}
	if err := a.Validate(); err != nil {
		return Attributes{}, err
	}
	return a, nil
}

// Validate checks the values that are set in a against the rules between
// attributes and the ranges a parser would enforce, so that attributes
// built in code are checked like parsed ones:
//
//   - pmax >= pmin when both are set, unless pmax is 0, which in 1.2 means
//     no maximum period (Core 1.2 Table 5.1.2-2; Core 1.1 section 5.1.2:
//     "The maximum period parameter MUST be greater than or equal to the
//     minimum period parameter");
//   - lt < gt, and lt + 2*st < gt when st is set too (Core section 5.1.2);
//   - epmin < epmax (Core 1.1 and 1.2 section 5.1.2: "the epmin value must
//     be less than the epmax value");
//   - gt, lt and st finite and st not negative; ssid from 1 to 65534; a
//     ct list not empty.
//
// The error is a 4.00 *model.Error wrapping ErrAttribute. Absent and unset
// attributes are not checked. A client receiving several Write-Attributes
// may end up with a combination that breaks these rules; the specification
// asks it to ignore pmax for such a resource, not to refuse the later
// request, so Merge does not call Validate.
func (a Attributes) Validate() error {
	bad := func(format string, args ...any) error {
		return model.Errorf(model.BadRequest, "link: %w: "+format, append([]any{ErrAttribute}, args...)...)
	}
	for _, f := range [...]struct {
		name string
		v    Attr[float64]
	}{{"gt", a.GT}, {"lt", a.LT}, {"st", a.ST}} {
		if f.v.IsSet() && (math.IsNaN(f.v.Value) || math.IsInf(f.v.Value, 0)) {
			return bad("%s is not a finite number", f.name)
		}
	}
	if st, ok := a.ST.Get(); ok && st < 0 {
		return bad("st %v is negative", st)
	}
	if ssid, ok := a.SSID.Get(); ok && (ssid == 0 || ssid > model.MaxID) {
		return bad("ssid %d is outside 1 to 65534", ssid)
	}
	if ct, ok := a.CT.Get(); ok && len(ct) == 0 {
		return bad("ct lists no content format")
	}
	pmin, okMin := a.PMin.Get()
	pmax, okMax := a.PMax.Get()
	if okMin && okMax && pmax != 0 && pmax < pmin {
		return bad("pmax %d is less than pmin %d", pmax, pmin)
	}
	gt, okGT := a.GT.Get()
	lt, okLT := a.LT.Get()
	if okGT && okLT {
		if !(lt < gt) {
			return bad("lt %v is not less than gt %v", lt, gt)
		}
		if st, ok := a.ST.Get(); ok && !(lt+2*st < gt) {
			return bad("lt %v + 2*st %v is not less than gt %v", lt, st, gt)
		}
	}
	epmin, okEMin := a.EPMin.Get()
	epmax, okEMax := a.EPMax.Get()
	if okEMin && okEMax && !(epmin < epmax) {
		return bad("epmin %d is not less than epmax %d", epmin, epmax)
	}
	return nil
}

// CheckLevel reports whether every attribute given in a (set or unset) may
// be assigned at path level l, per the Assignation Level column of Core
// 1.1 and 1.2 Tables 5.1.2-1 and 5.1.2-2: pmin, pmax, epmin, epmax, con
// and hqmax at the object, object instance, resource and resource
// instance levels; gt, lt, st and edge at the resource and resource
// instance levels only; dim at a resource, ssid and uri at an object
// instance, ver at an object and lwm2m at the root; rt and ct anywhere.
// A Write-Attributes handler calls it with the level of the request's
// path. The error is a 4.00 *model.Error wrapping ErrAttribute.
func (a Attributes) CheckLevel(l model.Level) error {
	if l > model.LevelResourceInstance {
		return model.Errorf(model.BadRequest, "link: %w: no attribute at %s level", ErrAttribute, l)
	}
	for i := range numAttrs {
		if a.state(i) != StateAbsent && defs[i].levels&(1<<l) == 0 {
			return model.Errorf(model.BadRequest, "link: %w: %s cannot be assigned at %s level", ErrAttribute, defs[i].name, l)
		}
	}
	return nil
}

func mergeAttr[T any](dst *Attr[T], src Attr[T]) {
	switch src.State {
	case StateSet:
		*dst = src
	case StateUnset:
		*dst = Attr[T]{}
	}
}

// Merge returns a with more applied, as a client applies successive
// Write-Attributes requests to the attributes stored at one level: an
// attribute set in more replaces a's, one unset in more is removed (it
// becomes absent), one absent from more keeps a's state. The result holds
// no unset attribute unless a did.
func (a Attributes) Merge(more Attributes) Attributes {
	mergeAttr(&a.RT, more.RT)
	mergeAttr(&a.CT, more.CT)
	mergeAttr(&a.LWM2M, more.LWM2M)
	mergeAttr(&a.Ver, more.Ver)
	mergeAttr(&a.SSID, more.SSID)
	mergeAttr(&a.URI, more.URI)
	mergeAttr(&a.Dim, more.Dim)
	mergeAttr(&a.PMin, more.PMin)
	mergeAttr(&a.PMax, more.PMax)
	mergeAttr(&a.GT, more.GT)
	mergeAttr(&a.LT, more.LT)
	mergeAttr(&a.ST, more.ST)
	mergeAttr(&a.EPMin, more.EPMin)
	mergeAttr(&a.EPMax, more.EPMax)
	mergeAttr(&a.Edge, more.Edge)
	mergeAttr(&a.Con, more.Con)
	mergeAttr(&a.HQMax, more.HQMax)
	return a
}

func inheritAttr[T any](dst *Attr[T], src Attr[T]) {
	if src.State == StateSet {
		*dst = src
	}
}

// Effective returns the <NOTIFICATION> attributes in force for an
// observation, from the attributes assigned at each level of the observed
// path, shallowest first: Effective(object, instance, resource), or with a
// fourth argument for a resource instance. A value set at a deeper level
// prevails over one set higher up (Core 1.1 and 1.2 section 5.1.1, rules 1
// to 5 and 3a: resource instance over resource over object instance over
// object); absent and unset attributes inherit. The properties class (dim,
// ver, ...) describes one node and is not inherited: the result holds none.
//
// Defaults from the Server object (Default Minimum Period /1/x/2, Default
// Maximum Period /1/x/3) are not applied here; nor is the rule that a pmax
// smaller than pmin is ignored, which the notification logic applies.
func Effective(levels ...Attributes) Attributes {
	var out Attributes
	for i := range levels {
		l := &levels[i]
		inheritAttr(&out.PMin, l.PMin)
		inheritAttr(&out.PMax, l.PMax)
		inheritAttr(&out.GT, l.GT)
		inheritAttr(&out.LT, l.LT)
		inheritAttr(&out.ST, l.ST)
		inheritAttr(&out.EPMin, l.EPMin)
		inheritAttr(&out.EPMax, l.EPMax)
		inheritAttr(&out.Edge, l.Edge)
		inheritAttr(&out.Con, l.Con)
		inheritAttr(&out.HQMax, l.HQMax)
	}
	return out
}

// IsZero reports whether no attribute is given in a.
func (a Attributes) IsZero() bool {
	for i := range numAttrs {
		if a.state(i) != StateAbsent {
			return false
		}
	}
	return true
}

func eqAttr[T comparable](a, b Attr[T]) bool {
	return a.State == b.State && (a.State != StateSet || a.Value == b.Value)
}

// Equal reports whether a and b give the same attributes in the same
// states with the same values (floats compared with ==).
func (a Attributes) Equal(b Attributes) bool {
	return eqAttr(a.RT, b.RT) &&
		a.CT.State == b.CT.State && (a.CT.State != StateSet || slices.Equal(a.CT.Value, b.CT.Value)) &&
		eqAttr(a.LWM2M, b.LWM2M) && eqAttr(a.Ver, b.Ver) && eqAttr(a.SSID, b.SSID) &&
		eqAttr(a.URI, b.URI) && eqAttr(a.Dim, b.Dim) &&
		eqAttr(a.PMin, b.PMin) && eqAttr(a.PMax, b.PMax) &&
		eqAttr(a.GT, b.GT) && eqAttr(a.LT, b.LT) && eqAttr(a.ST, b.ST) &&
		eqAttr(a.EPMin, b.EPMin) && eqAttr(a.EPMax, b.EPMax) &&
		eqAttr(a.Edge, b.Edge) && eqAttr(a.Con, b.Con) && eqAttr(a.HQMax, b.HQMax)
}

// AppendQuery appends a's <NOTIFICATION> attributes to dst as Uri-Query
// options for a Write-Attributes or Observe request, "pmin=10" for a set
// attribute and "pmin" for an unset one, and returns the extended slice.
// Properties, which Write-Attributes cannot carry, are left out.
func (a Attributes) AppendQuery(dst []string) []string {
	var buf []byte
	for i := range numAttrs {
		d := &defs[i]
		if !d.notify {
			continue
		}
		switch a.state(i) {
		case StateSet:
			buf = append(buf[:0], d.name...)
			buf = append(buf, '=')
			buf = d.appendValue(buf, &a)
			dst = append(dst, string(buf))
		case StateUnset:
			dst = append(dst, d.name)
		}
	}
	return dst
}

// AppendLinkParams appends a's set attributes to dst as link parameters,
// in the order of the specification's examples, and returns the extended
// slice. rt, uri and a ct list of more than one format are marked Quoted,
// as LwM2M writes them (`rt="oma.lwm2m"`, `uri="coaps://..."`,
// `ct="60 110"`); numbers and versions are tokens (`ct=11543`, `ver=1.1`).
// Unset attributes have no link form and are left out, as is an empty ct.
func (a Attributes) AppendLinkParams(dst []Param) []Param {
	for i := range numAttrs {
		d := &defs[i]
		if a.state(i) != StateSet {
			continue
		}
		quoted := d.quoted
		if i == iCT {
			if len(a.CT.Value) == 0 {
				continue
			}
			quoted = len(a.CT.Value) > 1
		}
		dst = append(dst, Param{Key: d.name, Value: string(d.appendValue(nil, &a)), HasValue: true, Quoted: quoted})
	}
	return dst
}

// String formats a for logs and test failures as link parameters
// separated by ";", an unset attribute as its name alone:
// `pmin=10;pmax;gt=50`.
func (a Attributes) String() string {
	var b []byte
	for i := range numAttrs {
		d := &defs[i]
		st := a.state(i)
		if st == StateAbsent {
			continue
		}
		if len(b) > 0 {
			b = append(b, ';')
		}
		if st == StateUnset {
			b = append(b, d.name...)
			continue
		}
		p := Param{Key: d.name, Value: string(d.appendValue(nil, &a)), HasValue: true, Quoted: d.quoted}
		b = appendParam(b, p)
	}
	return string(b)
}
