// Package tlv implements the OMA LwM2M TLV content format,
// application/vnd.oma.lwm2m+tlv: Content-Format 11542, and 1542 as some
// LwM2M 1.0 devices still send it, with the same bytes. The format is
// specified in Core 1.1 section 7.4.3 (1.0 section 6.4.3, 1.2 section
// 7.4.5); the bytes of each data type come from Core 1.1 Appendix C.
//
// Encode writes a model.Node that lives at a path; Decode reads one back,
// typing values with the object definitions it is given. Both are safe for
// concurrent use: they keep no state between calls.
//
// Package tlv depends on core/model and the standard library only. It must
// not import core/codec (the dispatcher imports it, not the other way
// round), another codec, go-coap, wazero or go-plugin.
package tlv

import (
	"encoding/binary"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/wasm2m/wasm2m/core/model"
)

// The type of identifier, bits 7-6 of the Type byte (Core 1.1 section
// 7.4.3, Table: TLV format and description).
const (
	typObjectInstance   byte = 0x00 // 00: its value is resource TLVs
	typResourceInstance byte = 0x40 // 01: one value, inside a multiple resource
	typMultipleResource byte = 0x80 // 10: its value is resource instance TLVs
	typResource         byte = 0xC0 // 11: one value
	typMask             byte = 0xC0
)

// Other fields of the Type byte.
const (
	bitID16       byte = 0x20 // bit 5: the identifier is 16 bits, else 8
	lengthShift        = 3    // bits 4-3: how many bytes the Length field has (0 to 3)
	lengthInType  byte = 0x07 // bits 2-0: the value's length when bits 4-3 are 00
	maxValueLen        = 1<<24 - 1
	maxTypeLength      = 7
)

func typName(t byte) string {
	switch t {
	case typObjectInstance:
		return "object instance"
	case typResourceInstance:
		return "resource instance"
	case typMultipleResource:
		return "multiple resource"
	}
	return "resource"
}

// Encode appends the TLV encoding of node n, which lives at path p, to dst.
//
// An object is encoded as a sequence of Object Instance TLVs; an object
// instance as the sequence of its resource TLVs, without an Object Instance
// TLV around them (Core 1.1 section 7.4.3 makes that wrapper optional when
// the request names the instance); a single resource as one Resource TLV;
// a multiple resource as one Multiple Resource TLV holding a Resource
// Instance TLV per instance, even when it has none; a resource instance as
// one Resource Instance TLV. Each value is typed by its model.Value
// (Appendix C): Integer and Time in the fewest of 1, 2, 4 or 8 bytes, two's
// complement; Unsigned Integer in the fewest of 1, 2, 4 or 8 bytes; Float in
// 4 bytes when float32 holds it exactly, else 8; Boolean as one byte 0 or
// 1; Objlnk as object id then instance id, 16 bits each; String, Corelnk
// and Opaque as their bytes. Identifiers and lengths take the fewest bytes
// that hold them.
//
// A single resource or resource instance whose Value is TypeNone (an
// executable resource) encodes to nothing and is skipped inside containers.
// Encode fails with a 4.00 *model.Error when n cannot live at p, when its
// tree is not well formed (wrong nesting, children out of order or
// repeated, an id above model.MaxID) or when a String or Corelnk is not
// valid UTF-8, and with 4.13 when a TLV would exceed the format's 24-bit
// length. On failure dst is returned unchanged.
func Encode(dst []byte, p model.Path, n *model.Node) ([]byte, error) {
	if p.IsRoot() {
		return dst, model.Errorf(model.BadRequest, "tlv: cannot encode a node at the root path")
	}
	if n.Kind.Level() != p.Level() {
		return dst, model.Errorf(model.BadRequest, "tlv: a %s cannot be the node at %s", n.Kind, p)
	}
	if n.ID != p.Last() {
		return dst, model.Errorf(model.BadRequest, "tlv: node id %d does not match path %s", n.ID, p)
	}
	switch n.Kind {
	case model.KindObject, model.KindInstance:
		// A sequence of TLVs without a wrapper: only the children are sized.
		size, err := contentLen(n, p)
		if err != nil {
			return dst, err
		}
		dst = slices.Grow(dst, size)
		return appendChildren(dst, n), nil
	}
	if skip(n) {
		return dst, nil
	}
	size, err := contentLen(n, p)
	if err != nil {
		return dst, err
	}
	if size > maxValueLen {
		return dst, tooLarge(p, size)
	}
	dst = slices.Grow(dst, headerLen(n.ID, size)+size)
	return appendTLV(dst, n, size), nil
}

// skip reports whether n holds no value and so encodes to nothing.
func skip(n *model.Node) bool { return n.HasValue() && n.Value.IsNone() }

func tooLarge(p model.Path, size int) error {
	return model.Errorf(model.RequestEntityTooLarge, "tlv: %s needs %d bytes, above the 24-bit TLV length limit", p, size)
}

// tlvType returns the TLV type of a node of kind k.
func tlvType(k model.Kind) byte {
	switch k {
	case model.KindInstance:
		return typObjectInstance
	case model.KindResourceInstance:
		return typResourceInstance
	case model.KindMultipleResource:
		return typMultipleResource
	}
	return typResource
}

// contentLen returns the length of n's TLV value: the value bytes of a
// single resource or resource instance, the TLVs of its children for the
// other kinds. It checks the tree below n on the way; p is n's path, for
// error messages (child paths are made only for errors and containers:
// making one per value was a quarter of the time of an Encode).
func contentLen(n *model.Node, p model.Path) (int, error) {
	if n.HasValue() {
		return leafLen(n, p)
	}
	if !n.Value.IsNone() {
		return 0, model.Errorf(model.BadRequest, "tlv: %s: a %s holds no value", p, n.Kind)
	}
	k1, k2 := childKinds(n.Kind)
	total := 0
	for i := range n.Children {
		c := &n.Children[i]
		if c.ID > model.MaxID {
			return 0, model.Errorf(model.BadRequest, "tlv: %s: child id %d is above %d", p, c.ID, model.MaxID)
		}
		if c.Kind != k1 && c.Kind != k2 {
			return 0, model.Errorf(model.BadRequest, "tlv: %s: a %s cannot hold a %s", p.MustChild(c.ID), n.Kind, c.Kind)
		}
		if i > 0 && n.Children[i-1].ID >= c.ID {
			if n.Children[i-1].ID == c.ID {
				return 0, model.Errorf(model.BadRequest, "tlv: %s: id given twice", p.MustChild(c.ID))
			}
			return 0, model.Errorf(model.BadRequest, "tlv: %s: children out of id order", p)
		}
		if skip(c) {
			continue
		}
		var l int
		var err error
		if c.HasValue() {
			l, err = leafLen(c, p)
		} else {
			l, err = contentLen(c, p.MustChild(c.ID)) // p is above resource level here
		}
		if err != nil {
			return 0, err
		}
		if l > maxValueLen {
			return 0, tooLarge(p.MustChild(c.ID), l)
		}
		total += headerLen(c.ID, l) + l
	}
	return total, nil
}

// leafLen returns the length of the value of n, a single resource or a
// resource instance whose parent is at parent (n itself when it is the
// node at parent, at the top of an Encode).
func leafLen(n *model.Node, parent model.Path) (int, error) {
	at := func() model.Path {
		if parent.Len() > 0 && n.Kind.Level() == parent.Level() {
			return parent
		}
		return parent.MustChild(n.ID)
	}
	if len(n.Children) != 0 {
		return 0, model.Errorf(model.BadRequest, "tlv: %s: a %s has no children", at(), n.Kind)
	}
	l, ok := valueLen(n.Value)
	if !ok {
		return 0, model.Errorf(model.BadRequest, "tlv: %s: %s value is not valid UTF-8", at(), n.Value.Type())
	}
	return l, nil
}

// childKinds returns the kinds the children of a k node may have.
func childKinds(k model.Kind) (model.Kind, model.Kind) {
	switch k {
	case model.KindObject:
		return model.KindInstance, model.KindInstance
	case model.KindInstance:
		return model.KindResource, model.KindMultipleResource
	}
	return model.KindResourceInstance, model.KindResourceInstance
}

// sizeOf returns the length of the value of n, already checked by
// contentLen.
func sizeOf(n *model.Node) int {
	if n.HasValue() {
		l, _ := valueLen(n.Value)
		return l
	}
	total := 0
	for i := range n.Children {
		c := &n.Children[i]
		if skip(c) {
			continue
		}
		l := sizeOf(c)
		total += headerLen(c.ID, l) + l
	}
	return total
}

// appendChildren appends the TLVs of n's children to dst.
func appendChildren(dst []byte, n *model.Node) []byte {
	for i := range n.Children {
		c := &n.Children[i]
		if skip(c) {
			continue
		}
		dst = appendTLV(dst, c, sizeOf(c))
	}
	return dst
}

// appendTLV appends the TLV of n, whose value is size bytes long, to dst.
func appendTLV(dst []byte, n *model.Node, size int) []byte {
	dst = appendHeader(dst, tlvType(n.Kind), n.ID, size)
	if n.HasValue() {
		return appendValue(dst, n.Value)
	}
	return appendChildren(dst, n)
}

// headerLen returns the length of the Type, Identifier and Length fields of
// a TLV with identifier id and a value of l bytes.
func headerLen(id uint16, l int) int {
	h := 2
	if id > 0xFF {
		h++
	}
	switch {
	case l <= maxTypeLength:
	case l <= 0xFF:
		h++
	case l <= 0xFFFF:
		h += 2
	default:
		h += 3
	}
	return h
}

// appendHeader appends the Type, Identifier and Length fields of a TLV to
// dst, each in the fewest bytes.
func appendHeader(dst []byte, typ byte, id uint16, l int) []byte {
	t := typ
	if id > 0xFF {
		t |= bitID16
	}
	var lenBytes int
	switch {
	case l <= maxTypeLength:
		t |= byte(l)
	case l <= 0xFF:
		lenBytes = 1
	case l <= 0xFFFF:
		lenBytes = 2
	default:
		lenBytes = 3
	}
	t |= byte(lenBytes) << lengthShift
	dst = append(dst, t)
	if id > 0xFF {
		dst = append(dst, byte(id>>8), byte(id))
	} else {
		dst = append(dst, byte(id))
	}
	for i := lenBytes - 1; i >= 0; i-- {
		dst = append(dst, byte(l>>(8*i)))
	}
	return dst
}

// valueLen returns the length of v's TLV value (Core 1.1 Appendix C); ok
// is false for a String or Corelnk that is not valid UTF-8.
func valueLen(v model.Value) (n int, ok bool) {
	switch v.Type() {
	case model.TypeString, model.TypeCorelnk:
		s := v.Str()
		return len(s), utf8.ValidString(s)
	case model.TypeOpaque:
		return len(v.Str()), true
	case model.TypeInteger, model.TypeTime:
		return intLen(v.Int()), true
	case model.TypeUnsigned:
		return uintLen(v.Uint()), true
	case model.TypeFloat:
		if fitsFloat32(v.Float()) {
			return 4, true
		}
		return 8, true
	case model.TypeBoolean:
		return 1, true
	case model.TypeObjlnk:
		return 4, true
	}
	return 0, true
}

// intLen returns the fewest of 1, 2, 4 or 8 bytes that hold x in two's
// complement.
func intLen(x int64) int {
	switch {
	case x >= math.MinInt8 && x <= math.MaxInt8:
		return 1
	case x >= math.MinInt16 && x <= math.MaxInt16:
		return 2
	case x >= math.MinInt32 && x <= math.MaxInt32:
		return 4
	}
	return 8
}

// uintLen returns the fewest of 1, 2, 4 or 8 bytes that hold x.
func uintLen(x uint64) int {
	switch {
	case x <= math.MaxUint8:
		return 1
	case x <= math.MaxUint16:
		return 2
	case x <= math.MaxUint32:
		return 4
	}
	return 8
}

// fitsFloat32 reports whether binary32 holds f exactly, bit for bit once
// widened back (so -0 stays -0 and a NaN keeps its payload).
func fitsFloat32(f float64) bool {
	return math.Float64bits(float64(float32(f))) == math.Float64bits(f)
}

// appendBigEndian appends the low n bytes of x to dst, most significant
// first.
func appendBigEndian(dst []byte, x uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(x>>(8*i)))
	}
	return dst
}

// appendValue appends the TLV value of v (Core 1.1 Appendix C) to dst.
func appendValue(dst []byte, v model.Value) []byte {
	switch v.Type() {
	case model.TypeString, model.TypeCorelnk, model.TypeOpaque:
		return append(dst, v.Str()...)
	case model.TypeInteger, model.TypeTime:
		x := v.Int()
		return appendBigEndian(dst, uint64(x), intLen(x))
	case model.TypeUnsigned:
		x := v.Uint()
		return appendBigEndian(dst, x, uintLen(x))
	case model.TypeFloat:
		f := v.Float()
		if fitsFloat32(f) {
			return binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(f)))
		}
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(f))
	case model.TypeBoolean:
		if v.Bool() {
			return append(dst, 1)
		}
		return append(dst, 0)
	case model.TypeObjlnk:
		l := v.Objlnk()
		return append(dst, byte(l.Object>>8), byte(l.Object), byte(l.Instance>>8), byte(l.Instance))
	}
	return dst
}

// Decode decodes the node at path p from a TLV payload; defs give resource
// types (may be nil).
//
// At an object path the payload is a sequence of Object Instance TLVs
// (none gives an object without instances). At an instance path it is the
// sequence of the instance's resource TLVs, or a single Object Instance TLV
// around them whose id is p's instance id. At a resource path it is one
// Resource TLV or one Multiple Resource TLV with p's resource id; at a
// resource instance path one Resource Instance TLV with p's id. Identifier
// and Length fields of every legal size are accepted, as are children in
// any id order (the node's children come out sorted).
//
// Each value is read as the type its resource definition gives (Core 1.1
// Appendix C): Integer and Time from 1, 2, 4 or 8 bytes of two's
// complement, Unsigned Integer from 1, 2, 4 or 8 bytes, Float from 4 or 8,
// Boolean from one byte 0 or 1, Objlnk from 4, String and Corelnk from
// valid UTF-8, Opaque as is. When the resource is not defined (defs is nil,
// or it does not know the object or the resource) the value is decoded as
// Opaque, holding the raw bytes. A defined resource must come as the
// format says for its multiplicity: a multiple resource as a Multiple
// Resource TLV, a single one as a Resource TLV.
//
// Every error is a 4.00 *model.Error (errors.Is(err, model.ErrBadRequest)):
// a truncated TLV, a length past the end of its container, bytes after the
// node, a TLV nested where it does not belong, an id that does not match
// p, an id given twice or the reserved id 65535, a value of the wrong width
// or not valid UTF-8, a value for an executable resource. Decode never
// panics, and what it allocates is bounded by a small multiple of
// len(data). The returned node shares no memory with data: its String,
// Corelnk and Opaque values are substrings of one copy of it.
func Decode(data []byte, p model.Path, defs model.Definitions) (model.Node, error) {
	d := decoder{data: data}
	if defs != nil && !p.IsRoot() {
		d.obj = defs.Object(p.ObjectID())
	}
	switch p.Level() {
	case model.LevelObject:
		return d.object(data, 0, p)
	case model.LevelInstance:
		if len(data) > 0 && data[0]&typMask == typObjectInstance {
			h, err := next(data, 0)
			if err != nil {
				return model.Node{}, err
			}
			if h.end != len(data) {
				return model.Node{}, errorf(h.end, "bytes after the object instance TLV")
			}
			if h.id != p.InstanceID() {
				return model.Node{}, errorf(0, "object instance TLV has id %d, the path is %s", h.id, p)
			}
			return d.instance(h.value, h.valueOff, p)
		}
		return d.instance(data, 0, p)
	case model.LevelResource, model.LevelResourceInstance:
		if len(data) == 0 {
			return model.Node{}, errorf(0, "empty payload, want one TLV for %s", p)
		}
		h, err := next(data, 0)
		if err != nil {
			return model.Node{}, err
		}
		if h.end != len(data) {
			return model.Node{}, errorf(h.end, "bytes after the %s TLV", typName(h.typ))
		}
		if h.id != p.Last() {
			return model.Node{}, errorf(0, "%s TLV has id %d, the path is %s", typName(h.typ), h.id, p)
		}
		if p.Level() == model.LevelResource {
			if h.typ != typResource && h.typ != typMultipleResource {
				return model.Node{}, errorf(0, "%s TLV where %s needs a resource or multiple resource TLV", typName(h.typ), p)
			}
			return d.resource(&h, p)
		}
		if h.typ != typResourceInstance {
			return model.Node{}, errorf(0, "%s TLV where %s needs a resource instance TLV", typName(h.typ), p)
		}
		def := d.resourceDef(p.ResourceID())
		if def != nil && !def.Multiple {
			return model.Node{}, errorf(0, "resource %s is single, it has no instances", p.Parent())
		}
		v, err := d.value(h.value, h.valueOff, def, p)
		if err != nil {
			return model.Node{}, err
		}
		return model.NewResourceInstance(h.id, v), nil
	}
	return model.Node{}, model.Errorf(model.BadRequest, "tlv: cannot decode a node at the root path")
}

// errorf returns a 4.00 error about the TLV at byte off of the payload.
func errorf(off int, format string, args ...any) error {
	return model.Errorf(model.BadRequest, "tlv: byte %d: "+format, append([]any{off}, args...)...)
}

// decoder holds what a Decode call knows of its object.
type decoder struct {
	obj  *model.ObjectDef // definition of the path's object, or nil
	data []byte           // the payload
	str  string           // string(data) once a value needed it
}

// text returns the n bytes of the payload at offset off as a string. The
// first call copies the whole payload into one string, and every String,
// Corelnk and Opaque value of the node is a substring of it: one
// allocation per Decode instead of one per value. A caller that keeps one
// small value of a large payload keeps the whole copy alive; the payload
// is mostly values, so that is at most the size of the node it came in.
func (d *decoder) text(off, n int) string {
	if d.str == "" {
		d.str = string(d.data)
	}
	return d.str[off : off+n]
}

// resourceDef returns the definition of resource id of the path's object,
// or nil. It does what model.ObjectDef.Resource does (Resources are in
// ascending id order) without copying a ResourceDef per comparison, which
// made that lookup a fifth of the time of a decode.
func (d *decoder) resourceDef(id uint16) *model.ResourceDef {
	if d.obj == nil {
		return nil
	}
	rs := d.obj.Resources
	lo, hi := 0, len(rs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if rs[m].ID < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(rs) && rs[lo].ID == id {
		return &rs[lo]
	}
	return nil
}

// header is one TLV as next splits it off.
type header struct {
	typ      byte   // bits 7-6 of the Type byte
	id       uint16 // identifier
	value    []byte // the value, capacity clipped to its length
	valueOff int    // offset of the value in the payload
	end      int    // offset of the byte after the TLV, relative to b
}

// next reads the TLV at the start of b, which is at offset off in the
// payload (Core 1.1 section 7.4.3). Bits 2-0 of the Type byte are ignored
// when a Length field is present, as the format requires.
func next(b []byte, off int) (header, error) {
	if len(b) < 2 {
		return header{}, errorf(off, "truncated TLV header")
	}
	t := b[0]
	h := header{typ: t & typMask}
	i := 2
	if t&bitID16 != 0 {
		if len(b) < 3 {
			return header{}, errorf(off, "truncated TLV header")
		}
		h.id = binary.BigEndian.Uint16(b[1:])
		i = 3
	} else {
		h.id = uint16(b[1])
	}
	if h.id == model.NoID {
		return header{}, errorf(off, "%s TLV uses the reserved id 65535", typName(h.typ))
	}
	l := int(t & lengthInType)
	if lenBytes := int(t>>lengthShift) & 3; lenBytes > 0 {
		if len(b)-i < lenBytes {
			return header{}, errorf(off, "truncated TLV length field")
		}
		l = 0
		for _, c := range b[i : i+lenBytes] {
			l = l<<8 | int(c)
		}
		i += lenBytes
	}
	if l > len(b)-i {
		return header{}, errorf(off, "%s TLV %d has length %d, only %d bytes follow", typName(h.typ), h.id, l, len(b)-i)
	}
	h.value = b[i : i+l : i+l]
	h.valueOff = off + i
	h.end = i + l
	return h, nil
}

// scratchLen is how many children an object or instance collects on the
// goroutine stack before the slice it returns is allocated (a container
// with more spills them to the heap); multipleScratchLen the same for a
// multiple resource, which usually has few instances.
const (
	scratchLen         = 16
	multipleScratchLen = 8
)

// object decodes the Object Instance TLVs in b (at offset off) as the
// object at p.
func (d *decoder) object(b []byte, off int, p model.Path) (model.Node, error) {
	children, err := d.children(b, off, p)
	if err != nil {
		return model.Node{}, err
	}
	return model.Node{Kind: model.KindObject, ID: p.Last(), Children: children}, nil
}

// instance decodes the resource TLVs in b (at offset off) as the object
// instance at p.
func (d *decoder) instance(b []byte, off int, p model.Path) (model.Node, error) {
	children, err := d.children(b, off, p)
	if err != nil {
		return model.Node{}, err
	}
	return model.Node{Kind: model.KindInstance, ID: p.Last(), Children: children}, nil
}

// children decodes the TLVs in b (at offset off) as the children of the
// object or object instance at p: Object Instance TLVs of an object,
// Resource and Multiple Resource TLVs of an instance.
func (d *decoder) children(b []byte, off int, p model.Path) ([]model.Node, error) {
	var scratch [scratchLen]model.Node
	small, big := scratch[:0], []model.Node(nil)
	object := p.Len() == 1
	for len(b) > 0 {
		if big == nil && len(small) == cap(small) {
			var err error
			if big, err = spill(small, b, off); err != nil {
				return nil, err
			}
		}
		h, err := next(b, off)
		if err != nil {
			return nil, err
		}
		var c model.Node
		switch {
		case object && h.typ == typObjectInstance:
			c, err = d.instance(h.value, h.valueOff, model.InstancePath(p.ObjectID(), h.id))
		case object:
			return nil, errorf(off, "%s TLV where object %s needs object instance TLVs", typName(h.typ), p)
		case h.typ == typResource || h.typ == typMultipleResource:
			c, err = d.resource(&h, model.ResourcePath(p.ObjectID(), p.InstanceID(), h.id))
		default:
			return nil, errorf(off, "%s TLV where object instance %s needs resource TLVs", typName(h.typ), p)
		}
		if err != nil {
			return nil, err
		}
		if big != nil {
			big = append(big, c)
		} else {
			small = append(small, c)
		}
		b, off = b[h.end:], off+h.end
	}
	return finish(small, big, p)
}

// resource decodes h, a Resource or Multiple Resource TLV, as the resource
// at p.
func (d *decoder) resource(h *header, p model.Path) (model.Node, error) {
	def := d.resourceDef(h.id)
	if h.typ == typResource {
		if def != nil && def.Multiple {
			return model.Node{}, errorf(h.valueOff, "resource %s is multiple, it needs a multiple resource TLV", p)
		}
		v, err := d.value(h.value, h.valueOff, def, p)
		if err != nil {
			return model.Node{}, err
		}
		return model.NewResource(h.id, v), nil
	}
	if def != nil && !def.Multiple {
		return model.Node{}, errorf(h.valueOff, "resource %s is single, it needs a resource TLV", p)
	}
	return d.multiple(h, def, p)
}

// multiple decodes the Resource Instance TLVs in h, a Multiple Resource
// TLV, as the resource at p, whose definition is def (or nil). It is apart
// from resource so that single resources do not pay for its scratch.
func (d *decoder) multiple(h *header, def *model.ResourceDef, p model.Path) (model.Node, error) {
	var scratch [multipleScratchLen]model.Node
	small, big := scratch[:0], []model.Node(nil)
	b, off := h.value, h.valueOff
	for len(b) > 0 {
		if big == nil && len(small) == cap(small) {
			var err error
			if big, err = spill(small, b, off); err != nil {
				return model.Node{}, err
			}
		}
		ih, err := next(b, off)
		if err != nil {
			return model.Node{}, err
		}
		if ih.typ != typResourceInstance {
			return model.Node{}, errorf(off, "%s TLV where multiple resource %s needs resource instance TLVs", typName(ih.typ), p)
		}
		v, err := d.value(ih.value, ih.valueOff, def, model.ResourceInstancePath(p.ObjectID(), p.InstanceID(), h.id, ih.id))
		if err != nil {
			return model.Node{}, err
		}
		if c := model.NewResourceInstance(ih.id, v); big != nil {
			big = append(big, c)
		} else {
			small = append(small, c)
		}
		b, off = b[ih.end:], off+ih.end
	}
	children, err := finish(small, big, p)
	if err != nil {
		return model.Node{}, err
	}
	return model.Node{Kind: model.KindMultipleResource, ID: h.id, Children: children}, nil
}

// spill copies small, the full scratch of a container, to the heap with
// room for exactly the TLVs left in b (at offset off), the rest of the
// container. It counts
// them by their headers alone, so that a container of many children is
// allocated once at its final size: append, growing large slices by a
// quarter at a time, would allocate about five times that. Every child
// takes at least 2 bytes of payload, so the slice is at most 32 bytes per
// byte of b.
func spill(small []model.Node, b []byte, off int) ([]model.Node, error) {
	n := 0
	for len(b) > 0 {
		h, err := next(b, off)
		if err != nil {
			return nil, err
		}
		b, off = b[h.end:], off+h.end
		n++
	}
	big := make([]model.Node, len(small), len(small)+n)
	copy(big, small)
	return big, nil
}

// finish sorts the children of a container by id, refuses an id given
// twice and returns them in a slice of their own (nil for none): big when
// they spilled to the heap, else a copy of small, the scratch on the
// goroutine stack that must not escape.
func finish(small, big []model.Node, p model.Path) ([]model.Node, error) {
	kids := small
	if big != nil {
		kids = big
	}
	if len(kids) == 0 {
		return nil, nil
	}
	if !slices.IsSortedFunc(kids, cmpID) {
		slices.SortStableFunc(kids, cmpID)
	}
	for i := 1; i < len(kids); i++ {
		if kids[i-1].ID == kids[i].ID {
			return nil, model.Errorf(model.BadRequest, "tlv: %s given twice", p.MustChild(kids[i].ID))
		}
	}
	if big != nil {
		return big, nil
	}
	out := make([]model.Node, len(small))
	copy(out, small)
	return out, nil
}

func cmpID(a, b model.Node) int { return int(a.ID) - int(b.ID) }

// value reads b, at offset off of the payload, as the value of the
// resource at p, whose definition is def (nil: Opaque), per Core 1.1
// Appendix C.
func (d *decoder) value(b []byte, off int, def *model.ResourceDef, p model.Path) (model.Value, error) {
	t := model.TypeOpaque
	if def != nil {
		t = def.Type
	}
	switch t {
	case model.TypeOpaque:
		return model.OpaqueString(d.text(off, len(b))), nil
	case model.TypeString, model.TypeCorelnk:
		if !utf8.Valid(b) {
			return model.Value{}, errorf(off, "%s: %s value is not valid UTF-8", p, t)
		}
		if t == model.TypeCorelnk {
			return model.Corelnk(d.text(off, len(b))), nil
		}
		return model.String(d.text(off, len(b))), nil
	case model.TypeInteger, model.TypeTime:
		var x int64
		switch len(b) {
		case 1:
			x = int64(int8(b[0]))
		case 2:
			x = int64(int16(binary.BigEndian.Uint16(b)))
		case 4:
			x = int64(int32(binary.BigEndian.Uint32(b)))
		case 8:
			x = int64(binary.BigEndian.Uint64(b))
		default:
			return model.Value{}, badWidth(off, p, t, len(b), "1, 2, 4 or 8")
		}
		if t == model.TypeTime {
			return model.UnixTime(x), nil
		}
		return model.Int(x), nil
	case model.TypeUnsigned:
		var x uint64
		switch len(b) {
		case 1:
			x = uint64(b[0])
		case 2:
			x = uint64(binary.BigEndian.Uint16(b))
		case 4:
			x = uint64(binary.BigEndian.Uint32(b))
		case 8:
			x = binary.BigEndian.Uint64(b)
		default:
			return model.Value{}, badWidth(off, p, t, len(b), "1, 2, 4 or 8")
		}
		return model.Uint(x), nil
	case model.TypeFloat:
		switch len(b) {
		case 4:
			return model.Float(float64(math.Float32frombits(binary.BigEndian.Uint32(b)))), nil
		case 8:
			return model.Float(math.Float64frombits(binary.BigEndian.Uint64(b))), nil
		}
		return model.Value{}, badWidth(off, p, t, len(b), "4 or 8")
	case model.TypeBoolean:
		if len(b) != 1 {
			return model.Value{}, badWidth(off, p, t, len(b), "1")
		}
		switch b[0] {
		case 0:
			return model.Bool(false), nil
		case 1:
			return model.Bool(true), nil
		}
		return model.Value{}, errorf(off, "%s: Boolean value is %d, want 0 or 1", p, b[0])
	case model.TypeObjlnk:
		if len(b) != 4 {
			return model.Value{}, badWidth(off, p, t, len(b), "4")
		}
		return model.Objlnk(binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])), nil
	case model.TypeNone:
		return model.Value{}, errorf(off, "%s: resource is executable and holds no value", p)
	}
	return model.Value{}, errorf(off, "%s: resource has unknown type %s", p, t)
}

func badWidth(off int, p model.Path, t model.Type, n int, want string) error {
	return errorf(off, "%s: %s value of %d bytes, want %s", p, t, n, want)
}
