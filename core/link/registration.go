package link

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/wasm2m/wasm2m/core/model"
)

// ResourceTypeLWM2M is the resource type that marks the link to the root
// of a client's LwM2M objects in a registration payload, "oma.lwm2m"
// (registered with IANA; Transport 1.1 and 1.2, "Alternate Path").
const ResourceTypeLWM2M = "oma.lwm2m"

// Registration is what the payload of a Register or Update request says
// about a client (Core 1.1 and 1.2 sections 6.2.1 and 6.2.2): where its
// objects live, the content formats it supports, and its objects with their
// versions and instances.
type Registration struct {
	// Root is the path under which the client hosts its objects: "/" by
	// default, or the alternate path given by the link with
	// rt="oma.lwm2m" (Transport, "Alternate Path"), such as "/lwm2m",
	// without a trailing slash. The server prepends it to every path it
	// sends the client. "" is read as "/".
	Root string

	// ContentFormats are the formats named by the ct attribute of the
	// root link (Core section 6.2.1: `</>;ct=110` or `</>;ct="110 112"`),
	// in the order given; nil when there is none.
	ContentFormats []uint16

	// Objects are the objects supported and the instances available, by
	// ascending id.
	Objects []Object
}

// Object is one object of a Registration.
type Object struct {
	ID uint16
	// Version is the object version given by ver; the zero Version means
	// not given, which stands for 1.0 or the version of the enabler the
	// client registered with (Core section 7.2.3).
	Version model.Version
	// Instances are the ids of the available instances, ascending; none
	// for an object that is supported but not instantiated (`</5>`).
	Instances []uint16
}

// Object returns the object with the given id.
func (r *Registration) Object(id uint16) (Object, bool) {
	i, ok := slices.BinarySearchFunc(r.Objects, id, func(o Object, id uint16) int { return cmp.Compare(o.ID, id) })
	if !ok {
		return Object{}, false
	}
	return r.Objects[i], true
}

// Versions returns the object versions the client gave, by object id, in
// the form model.Registry.View takes. Objects without a ver are left out.
func (r *Registration) Versions() map[uint16]model.Version {
	m := make(map[uint16]model.Version)
	for _, o := range r.Objects {
		if !o.Version.IsZero() {
			m[o.ID] = o.Version
		}
	}
	return m
}

// Paths returns the path of every instance, and of every object without
// instances, in ascending order.
func (r *Registration) Paths() []model.Path {
	var out []model.Path
	for _, o := range r.Objects {
		if len(o.Instances) == 0 {
			out = append(out, model.ObjectPath(o.ID))
		}
		for _, i := range o.Instances {
			out = append(out, model.InstancePath(o.ID, i))
		}
	}
	return out
}

// ParseRegistration parses the link-format payload of a Register or Update
// request (Core 1.1 and 1.2 sections 6.2.1 and 6.2.2), such as
//
//	</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>,</3303/1>
//	</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/3/0>
//
// The root path is "/" unless one link has rt="oma.lwm2m" (among other
// resource types, possibly); its target is then the root, which must be
// "/" or a path whose segments are not numeric (Transport, "Alternate
// Path": "This link MUST NOT contain numerical URI segment"). The root
// link carries the content formats (ct). Every other link must lie below
// the root and name an object or an object instance with ids no larger
// than 65534, written as model.ParsePath reads them (a single trailing
// slash allowed). ver on an object link gives its version; ver on an
// instance link (Core section 7.2.3 prints `</44/0>;ver=2.2`) is read as
// its object's version. Other parameters are ignored, as section 6.2.1
// requires.
//
// A link outside the root, a path of another level, a second root link,
// an object or instance listed twice and two different versions for one
// object are 4.00 errors wrapping ErrTarget; a bad ct or ver is one
// wrapping ErrAttribute; bad link format one wrapping ErrSyntax.
//
// The registration rules of the client side (the Security and OSCORE
// objects MUST NOT be listed) are not checked. An empty payload gives a
// Registration with root "/" and no objects.
func ParseRegistration(b []byte) (Registration, error) {
	if reg, ok := parsePlain(b); ok {
		return reg, nil
	}
	return parseRegistration(b)
}

// parseRegistration is ParseRegistration through Parse: every form the
// link format allows, and the errors.
func parseRegistration(b []byte) (Registration, error) {
	links, err := Parse(b)
	if err != nil {
		return Registration{}, err
	}
	reg := Registration{Root: "/"}
	rootAt := -1
	for i := range links {
		if !linkHasResourceType(&links[i], ResourceTypeLWM2M) {
			continue
		}
		if rootAt >= 0 {
			return Registration{}, model.Errorf(model.BadRequest, "link: %w: two links with rt=%q: <%s> and <%s>",
				ErrTarget, ResourceTypeLWM2M, clip(links[rootAt].Target), clip(links[i].Target))
		}
		root, err := rootPath(links[i].Target)
		if err != nil {
			return Registration{}, err
		}
		reg.Root, rootAt = root, i
	}

	// Each object or instance link becomes an item; see objectsOf.
	items := make([]regItem, 0, len(links))
	rootSeen := false
	for i := range links {
		l := &links[i]
		t := l.Target
		if t == reg.Root || reg.Root != "/" && t == reg.Root+"/" {
			if rootSeen {
				return Registration{}, model.Errorf(model.BadRequest, "link: %w: root link <%s> given twice", ErrTarget, clip(l.Target))
			}
			rootSeen = true
			v, ok, err := paramValue(l, "ct")
			if err != nil {
				return Registration{}, err
			}
			if ok {
				cts, good := parseCT(v)
				if !good {
					return Registration{}, atTarget(l.Target, badValue(iCT, v))
				}
				reg.ContentFormats = cts
			}
			continue
		}
		rel := t
		if reg.Root != "/" {
			rest, ok := strings.CutPrefix(t, reg.Root)
			if !ok || !strings.HasPrefix(rest, "/") {
				return Registration{}, model.Errorf(model.BadRequest, "link: %w: <%s> is outside the root path %s", ErrTarget, clip(l.Target), reg.Root)
			}
			rel = rest
		}
		p, err := model.ParsePath(rel)
		if err != nil {
			return Registration{}, model.Errorf(model.BadRequest, "link: %w: <%s>: %v", ErrTarget, clip(l.Target), errMsg(err))
		}
		it := regItem{obj: p.ObjectID()}
		switch p.Level() {
		case model.LevelObject:
			it.isObj = true
		case model.LevelInstance:
			it.inst = p.InstanceID()
		default:
			return Registration{}, model.Errorf(model.BadRequest, "link: %w: <%s> is a %s; a registration lists objects and object instances", ErrTarget, clip(l.Target), p.Level())
		}
		v, ok, err := paramValue(l, "ver")
		if err != nil {
			return Registration{}, err
		}
		if ok {
			ver, good := parseVersion(v)
			if !good {
				return Registration{}, atTarget(l.Target, badValue(iVer, v))
			}
			it.ver = ver
		}
		items = append(items, it)
	}
	if reg.Objects, err = objectsOf(items); err != nil {
		return Registration{}, err
	}
	return reg, nil
}

// regItem is an object link or an object instance link of a registration.
type regItem struct {
	obj, inst uint16
	isObj     bool // an object link </o>, sorting before its instances
	ver       model.Version
}

// objectsOf returns the objects the items list: sorting the items groups
// them by object, finds duplicates, and lets the objects and all their
// instances be allocated once, at their final size. No items give nil.
func objectsOf(items []regItem) ([]Object, error) {
	if len(items) == 0 {
		return nil, nil
	}
	slices.SortFunc(items, func(a, b regItem) int {
		if c := cmp.Compare(a.obj, b.obj); c != 0 {
			return c
		}
		if a.isObj != b.isObj {
			if a.isObj {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.inst, b.inst)
	})
	nObjs, nInsts := 0, 0
	for i, it := range items {
		if i == 0 || it.obj != items[i-1].obj {
			nObjs++
		}
		if !it.isObj {
			nInsts++
		}
	}
	objs := make([]Object, 0, nObjs)
	var insts []uint16
	if nInsts > 0 {
		insts = make([]uint16, 0, nInsts)
	}
	for i, it := range items {
		if i == 0 || it.obj != items[i-1].obj {
			objs = append(objs, Object{ID: it.obj})
		} else if it.isObj == items[i-1].isObj && it.inst == items[i-1].inst {
			if it.isObj {
				return nil, model.Errorf(model.BadRequest, "link: %w: object %d listed twice", ErrTarget, it.obj)
			}
			return nil, model.Errorf(model.BadRequest, "link: %w: instance /%d/%d listed twice", ErrTarget, it.obj, it.inst)
		}
		o := &objs[len(objs)-1]
		if !it.ver.IsZero() {
			if !o.Version.IsZero() && o.Version != it.ver {
				return nil, model.Errorf(model.BadRequest, "link: %w: object %d given versions %s and %s", ErrTarget, it.obj, o.Version, it.ver)
			}
			o.Version = it.ver
		}
		if !it.isObj {
			insts = append(insts, it.inst)
			if o.Instances == nil {
				o.Instances = insts[len(insts)-1:]
			} else {
				o.Instances = o.Instances[:len(o.Instances)+1]
			}
		}
	}
	// Cap each object's instances so that appending to one cannot write
	// over the next object's.
	for i := range objs {
		o := &objs[i]
		o.Instances = o.Instances[:len(o.Instances):len(o.Instances)]
	}
	return objs, nil
}

// parsePlain parses the registration payload most clients send, without
// Parse's links and strings: no whitespace, the root link </> with at
// most rt="oma.lwm2m" and a ct parameter (a cardinal, or a quoted list of
// cardinals each separated by one space), and links </o> and </o/i> with
// ids in their one decimal spelling and at most a ver parameter
// (major.minor, each of 1 to 3 digits). For anything else, including every error, it reports
// false and ParseRegistration takes the general path, which gives the same
// result for what parsePlain accepts (FuzzParsePlain checks that).
func parsePlain(b []byte) (Registration, bool) {
	if len(b) == 0 {
		return Registration{}, false
	}
	reg := Registration{Root: "/"}
	var buf [32]regItem
	items := buf[:0]
	rootSeen := false
	i := 0
	for {
		// "</"
		if i+1 >= len(b) || b[i] != '<' || b[i+1] != '/' {
			return Registration{}, false
		}
		i += 2
		root := i < len(b) && b[i] == '>'
		var it regItem
		if !root {
			var ok bool
			if it.obj, i, ok = plainID(b, i); !ok {
				return Registration{}, false
			}
			it.isObj = true
			if i < len(b) && b[i] == '/' {
				if it.inst, i, ok = plainID(b, i+1); !ok {
					return Registration{}, false
				}
				it.isObj = false
			}
		}
		if i >= len(b) || b[i] != '>' {
			return Registration{}, false
		}
		i++
		hasCT, hasVer, hasRT := false, false, false
		for i < len(b) && b[i] == ';' {
			i++
			var ok bool
			switch {
			case root && !hasRT && hasPrefix(b[i:], `rt="oma.lwm2m"`):
				i += len(`rt="oma.lwm2m"`)
				hasRT = true
			case root && !hasRT && hasPrefix(b[i:], `rt=oma.lwm2m`) && (i+len(`rt=oma.lwm2m`) == len(b) || b[i+len(`rt=oma.lwm2m`)] == ',' || b[i+len(`rt=oma.lwm2m`)] == ';'):
				i += len(`rt=oma.lwm2m`)
				hasRT = true
			case root && !hasCT && hasPrefix(b[i:], "ct="):
				if reg.ContentFormats, i, ok = plainCT(b, i+3); !ok {
					return Registration{}, false
				}
				hasCT = true
			case !root && !hasVer && hasPrefix(b[i:], "ver="):
				if it.ver, i, ok = plainVersion(b, i+4); !ok {
					return Registration{}, false
				}
				hasVer = true
			default:
				return Registration{}, false
			}
		}
		if root {
			if rootSeen {
				return Registration{}, false
			}
			rootSeen = true
		} else {
			items = append(items, it)
		}
		if i == len(b) {
			break
		}
		if b[i] != ',' || i+1 == len(b) {
			return Registration{}, false
		}
		i++
	}
	objs, err := objectsOf(items)
	if err != nil {
		return Registration{}, false
	}
	reg.Objects = objs
	return reg, true
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

// plainID reads an id at b[i:] in its one spelling (no leading zero,
// at most 65534) and returns it and the index after it.
func plainID(b []byte, i int) (uint16, int, bool) {
	start, v := i, 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 5 {
		v = v*10 + int(b[i]-'0')
		i++
	}
	n := i - start
	if n == 0 || n > 1 && b[start] == '0' || v > model.MaxID || i < len(b) && b[i] >= '0' && b[i] <= '9' {
		return 0, i, false
	}
	return uint16(v), i, true
}

// plainCard reads a cardinal (RFC 7252 section 7.2.1: no leading zero,
// at most 65535) at b[i:].
func plainCard(b []byte, i int) (uint16, int, bool) {
	start, v := i, 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 5 {
		v = v*10 + int(b[i]-'0')
		i++
	}
	n := i - start
	if n == 0 || n > 1 && b[start] == '0' || v > 0xffff || i < len(b) && b[i] >= '0' && b[i] <= '9' {
		return 0, i, false
	}
	return uint16(v), i, true
}

// plainCT reads a ct value at b[i:]: a cardinal, or a quoted list of
// cardinals separated by single spaces.
func plainCT(b []byte, i int) ([]uint16, int, bool) {
	if i >= len(b) {
		return nil, i, false
	}
	if b[i] != '"' {
		v, i, ok := plainCard(b, i)
		if !ok {
			return nil, i, false
		}
		return []uint16{v}, i, true
	}
	i++
	n := 1
	for j := i; j < len(b) && b[j] != '"'; j++ {
		if b[j] == ' ' {
			n++
		}
	}
	out := make([]uint16, 0, n)
	for {
		v, j, ok := plainCard(b, i)
		if !ok {
			return nil, j, false
		}
		out = append(out, v)
		i = j
		if i >= len(b) {
			return nil, i, false
		}
		if b[i] == '"' {
			return out, i + 1, true
		}
		if b[i] != ' ' {
			return nil, i, false
		}
		i++
	}
}

// plainVersion reads major.minor at b[i:], each part 1 to 3 digits and at
// most 255.
func plainVersion(b []byte, i int) (model.Version, int, bool) {
	var parts [2]int
	for k := range parts {
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 3 {
			parts[k] = parts[k]*10 + int(b[i]-'0')
			i++
		}
		if i == start || parts[k] > 255 || i < len(b) && b[i] >= '0' && b[i] <= '9' {
			return model.Version{}, i, false
		}
		if k == 0 {
			if i >= len(b) || b[i] != '.' {
				return model.Version{}, i, false
			}
			i++
		}
	}
	return model.Version{Major: uint8(parts[0]), Minor: uint8(parts[1])}, i, true
}

// paramValue returns the value of l's parameter named name, if any. A
// parameter given twice or without a value is a 4.00 error wrapping
// ErrAttribute. Other parameters are not looked at, so that a
// registration is not refused for a parameter it does not use.
func paramValue(l *Link, name string) (string, bool, error) {
	var v string
	found := false
	for _, p := range l.Params {
		if p.Key != name {
			continue
		}
		if found {
			return "", false, model.Errorf(model.BadRequest, "link: %w: <%s>: %s given twice", ErrAttribute, clip(l.Target), name)
		}
		if !p.HasValue {
			return "", false, model.Errorf(model.BadRequest, "link: %w: <%s>: %s has no value", ErrAttribute, clip(l.Target), name)
		}
		v, found = p.Value, true
	}
	return v, found, nil
}

// linkHasResourceType reports whether one of l's rt parameters lists t.
func linkHasResourceType(l *Link, t string) bool {
	for _, p := range l.Params {
		if p.Key != "rt" || !p.HasValue {
			continue
		}
		for v := p.Value; v != ""; {
			var f string
			f, v, _ = strings.Cut(v, " ")
			if f == t {
				return true
			}
		}
	}
	return false
}

// rootPath checks and normalizes the target of the rt="oma.lwm2m" link.
func rootPath(target string) (string, error) {
	bad := func(why string) error {
		return model.Errorf(model.BadRequest, "link: %w: root path <%s>: %s", ErrTarget, clip(target), why)
	}
	if target == "/" {
		return target, nil
	}
	if !strings.HasPrefix(target, "/") {
		return "", bad("must start with /")
	}
	t := strings.TrimSuffix(target, "/")
	for rest := t[1:]; ; {
		seg, next, more := strings.Cut(rest, "/")
		switch {
		case seg == "":
			return "", bad("empty segment")
		case strings.ContainsAny(seg, "?#"):
			return "", bad("has a query or fragment")
		case isDigits(seg):
			return "", bad("numeric segment " + strconv.Quote(seg))
		}
		if !more {
			return t, nil
		}
		rest = next
	}
}

// AppendRegistration appends the link-format payload of a Register or
// Update request describing r to dst and returns the extended buffer. A
// root link `<root>;rt="oma.lwm2m"` comes first, with ct when r has content
// formats, unless the root is "/" and there are none. Each object follows
// in the order given: its object link `</o>` when it has a version (with
// ver) or no instance, then one link per instance. For example
//
//	</>;rt="oma.lwm2m";ct=11543,</1/0>,</3/0>,</3303>;ver=1.1,</3303/0>,</3303/1>
//
// AppendRegistration does not check r: a root path that ParseRegistration
// would refuse, duplicate ids or ids above 65534 produce a payload that
// ParseRegistration rejects.
func AppendRegistration(dst []byte, r Registration) []byte {
	root := r.Root
	if root == "" {
		root = "/"
	}
	prefix := root
	if prefix == "/" {
		prefix = ""
	}
	first := true
	sep := func() {
		if !first {
			dst = append(dst, ',')
		}
		first = false
	}
	if root != "/" || len(r.ContentFormats) > 0 {
		sep()
		dst = append(dst, '<')
		dst = appendTarget(dst, root)
		dst = append(dst, ">;rt=\""...)
		dst = append(dst, ResourceTypeLWM2M...)
		dst = append(dst, '"')
		if len(r.ContentFormats) > 0 {
			dst = append(dst, ";ct="...)
			if len(r.ContentFormats) > 1 {
				dst = append(dst, '"')
			}
			dst = appendCT(dst, r.ContentFormats)
			if len(r.ContentFormats) > 1 {
				dst = append(dst, '"')
			}
		}
	}
	for _, o := range r.Objects {
		if !o.Version.IsZero() || len(o.Instances) == 0 {
			sep()
			dst = append(dst, '<')
			dst = appendTarget(dst, prefix)
			dst = append(dst, '/')
			dst = strconv.AppendUint(dst, uint64(o.ID), 10)
			dst = append(dst, '>')
			if !o.Version.IsZero() {
				dst = append(dst, ";ver="...)
				dst = appendVersion(dst, o.Version)
			}
		}
		for _, i := range o.Instances {
			sep()
			dst = append(dst, '<')
			dst = appendTarget(dst, prefix)
			dst = append(dst, '/')
			dst = strconv.AppendUint(dst, uint64(o.ID), 10)
			dst = append(dst, '/')
			dst = strconv.AppendUint(dst, uint64(i), 10)
			dst = append(dst, '>')
		}
	}
	return dst
}
