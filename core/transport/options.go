package transport

import (
	"math/bits"
	"strings"
)

// Get returns the value of the first option id in m.
func (m *Message) Get(id uint16) ([]byte, bool) {
	for _, o := range m.Options {
		if o.ID == id {
			return o.Value, true
		}
		if o.ID > id {
			break
		}
	}
	return nil, false
}

func (m *Message) has(id uint16) bool {
	_, ok := m.Get(id)
	return ok
}

// Add adds an option id with value v after any others of the same number,
// keeping Options sorted.
func (m *Message) Add(id uint16, v []byte) {
	i := len(m.Options)
	for i > 0 && m.Options[i-1].ID > id {
		i--
	}
	m.Options = append(m.Options, Option{})
	copy(m.Options[i+1:], m.Options[i:])
	m.Options[i] = Option{ID: id, Value: v}
}

// Set replaces every option id with one of value v.
func (m *Message) Set(id uint16, v []byte) {
	m.Remove(id)
	m.Add(id, v)
}

// Remove removes every option id.
func (m *Message) Remove(id uint16) {
	out := m.Options[:0]
	for _, o := range m.Options {
		if o.ID != id {
			out = append(out, o)
		}
	}
	clear(m.Options[len(out):])
	m.Options = out
}

// values returns the values of every option id, in order.
func (m *Message) values(id uint16) []string {
	var out []string
	for _, o := range m.Options {
		if o.ID == id {
			out = append(out, string(o.Value))
		}
	}
	return out
}

// appendUint appends v in the minimal big-endian form of a uint option:
// no bytes for 0 (RFC 7252 section 3.2).
func appendUint(dst []byte, v uint32) []byte {
	n := (bits.Len32(v) + 7) / 8
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, byte(v>>(8*i)))
	}
	return dst
}

// decodeUint decodes a uint option value of at most four bytes. Leading
// zero bytes are accepted, as RFC 7252 section 3.2 asks of a receiver.
func decodeUint(b []byte) (uint32, bool) {
	if len(b) > 4 {
		return 0, false
	}
	var v uint32
	for _, c := range b {
		v = v<<8 | uint32(c)
	}
	return v, true
}

// Uint returns the first option id decoded as a uint (RFC 7252 section
// 3.2); false if absent or longer than four bytes.
func (m *Message) Uint(id uint16) (uint32, bool) {
	b, ok := m.Get(id)
	if !ok {
		return 0, false
	}
	return decodeUint(b)
}

// SetUint replaces every option id with one holding v in minimal form.
func (m *Message) SetUint(id uint16, v uint32) {
	m.Set(id, appendUint(nil, v))
}

// Path returns the Uri-Path segments joined as "/rd/abc", or "/" when
// there are none. Segments are taken as they are, without percent
// encoding.
func (m *Message) Path() string {
	var b strings.Builder
	for _, o := range m.Options {
		if o.ID == OptURIPath {
			b.WriteByte('/')
			b.Write(o.Value)
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}

// PathSegments returns the Uri-Path segments.
func (m *Message) PathSegments() []string { return m.values(OptURIPath) }

// SetPath replaces the Uri-Path options with the segments of p, following
// RFC 7252 section 6.4 step 8: "" and "/" give no segment, and every other
// path gives one segment per "/"-separated part after the leading "/"
// ("/a/" is "a" and "").
func (m *Message) SetPath(p string) {
	m.Remove(OptURIPath)
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return
	}
	for s := range strings.SplitSeq(p, "/") {
		m.Add(OptURIPath, []byte(s))
	}
}

// Queries returns the Uri-Query options, such as "ep=dev1" and "lt=300".
func (m *Message) Queries() []string { return m.values(OptURIQuery) }

// AddQuery adds a Uri-Query option after the others.
func (m *Message) AddQuery(q string) { m.Add(OptURIQuery, []byte(q)) }

// SetQueries replaces the Uri-Query options with qs.
func (m *Message) SetQueries(qs []string) {
	m.Remove(OptURIQuery)
	for _, q := range qs {
		m.AddQuery(q)
	}
}

// LocationPath returns the Location-Path segments, such as "rd" and
// "5a3f" in the response to a Register.
func (m *Message) LocationPath() []string { return m.values(OptLocationPath) }

// SetLocationPath replaces the Location-Path options with segs.
func (m *Message) SetLocationPath(segs ...string) {
	m.Remove(OptLocationPath)
	for _, s := range segs {
		m.Add(OptLocationPath, []byte(s))
	}
}

func (m *Message) uint16Opt(id uint16) (uint16, bool) {
	b, ok := m.Get(id)
	if !ok || len(b) > 2 {
		return 0, false
	}
	v, _ := decodeUint(b)
	return uint16(v), true
}

// ContentFormat returns the Content-Format option.
func (m *Message) ContentFormat() (uint16, bool) { return m.uint16Opt(OptContentFormat) }

// SetContentFormat sets the Content-Format option.
func (m *Message) SetContentFormat(cf uint16) { m.SetUint(OptContentFormat, uint32(cf)) }

// Accept returns the Accept option.
func (m *Message) Accept() (uint16, bool) { return m.uint16Opt(OptAccept) }

// SetAccept sets the Accept option.
func (m *Message) SetAccept(cf uint16) { m.SetUint(OptAccept, uint32(cf)) }

// Observe returns the Observe option (RFC 7641 section 2): 0 registers and
// 1 deregisters in a request; a 24-bit sequence number in a notification.
func (m *Message) Observe() (uint32, bool) {
	b, ok := m.Get(OptObserve)
	if !ok || len(b) > 3 {
		return 0, false
	}
	v, _ := decodeUint(b)
	return v, true
}

// SetObserve sets the Observe option to the low 24 bits of v.
func (m *Message) SetObserve(v uint32) { m.SetUint(OptObserve, v&0xffffff) }

// Block is the value of a Block1 or Block2 option (RFC 7959 section 2.2):
// the block number, whether more blocks follow, and the block size, a
// power of two from 16 to 1024 (SZX 0 to 6).
type Block struct {
	Num  uint32 // 0 to 2^20-1
	More bool
	Size uint16
}

// maxBlockNum is the largest block number a three-byte option holds.
const maxBlockNum = 1<<20 - 1

// szx returns the SZX exponent of size, rounding down to a valid size.
func szx(size uint16) uint32 {
	switch {
	case size >= 1024:
		return 6
	case size <= 16:
		return 0
	}
	return uint32(bits.Len16(size)) - 5
}

// value encodes b as an option value.
func (b Block) value() []byte {
	v := b.Num<<4 | szx(b.Size)
	if b.More {
		v |= 8
	}
	return appendUint(nil, v)
}

// parseBlock decodes a Block option value; SZX 7 (reserved, RFC 7959
// section 2.2) and values longer than three bytes are refused.
func parseBlock(v []byte) (Block, bool) {
	if len(v) > 3 {
		return Block{}, false
	}
	n, _ := decodeUint(v)
	x := n & 7
	if x == 7 {
		return Block{}, false
	}
	return Block{Num: n >> 4, More: n&8 != 0, Size: 16 << x}, true
}

// Block1 returns the Block1 option (RFC 7959 section 2.3); false if absent
// or malformed.
func (m *Message) Block1() (Block, bool) {
	v, ok := m.Get(OptBlock1)
	if !ok {
		return Block{}, false
	}
	return parseBlock(v)
}

// Block2 returns the Block2 option (RFC 7959 section 2.2); false if absent
// or malformed.
func (m *Message) Block2() (Block, bool) {
	v, ok := m.Get(OptBlock2)
	if !ok {
		return Block{}, false
	}
	return parseBlock(v)
}

// SetBlock1 sets the Block1 option. Size is rounded down to a valid block
// size (16 to 1024); Num is taken modulo 2^20.
func (m *Message) SetBlock1(b Block) { b.Num &= maxBlockNum; m.Set(OptBlock1, b.value()) }

// SetBlock2 sets the Block2 option, like SetBlock1.
func (m *Message) SetBlock2(b Block) { b.Num &= maxBlockNum; m.Set(OptBlock2, b.value()) }

// optDef is what the endpoint knows of an option number (RFC 7252 section
// 5.10, RFC 7641, RFC 7959, RFC 7967).
type optDef struct {
	min, max   uint16
	repeatable bool
}

func lookupOpt(id uint16) (optDef, bool) {
	switch id {
	case OptIfMatch:
		return optDef{0, 8, true}, true
	case OptURIHost:
		return optDef{1, 255, false}, true
	case OptETag:
		return optDef{1, 8, true}, true
	case OptIfNoneMatch:
		return optDef{0, 0, false}, true
	case OptObserve:
		return optDef{0, 3, false}, true
	case OptURIPort:
		return optDef{0, 2, false}, true
	case OptLocationPath, OptURIPath, OptURIQuery, OptLocationQuery:
		return optDef{0, 255, true}, true
	case OptContentFormat, OptAccept:
		return optDef{0, 2, false}, true
	case OptMaxAge, OptSize2, OptSize1:
		return optDef{0, 4, false}, true
	case OptBlock1, OptBlock2:
		return optDef{0, 3, false}, true
	case OptProxyURI:
		return optDef{1, 1034, false}, true
	case OptProxyScheme:
		return optDef{1, 255, false}, true
	case OptNoResponse:
		return optDef{0, 1, false}, true
	}
	return optDef{}, false
}

// critical reports whether option id is critical: odd (RFC 7252 section
// 5.4.6).
func critical(id uint16) bool { return id&1 == 1 }

// badCriticalOption returns the first critical option of m that must be
// treated as unrecognized (RFC 7252 section 5.4.1): an unknown number, a
// value length out of range (section 5.4.3), a non-repeatable option given
// twice (section 5.4.5), or a Block option with the reserved SZX 7.
func badCriticalOption(m *Message) (uint16, bool) {
	for i, o := range m.Options {
		if !critical(o.ID) {
			continue
		}
		d, ok := lookupOpt(o.ID)
		if !ok || len(o.Value) < int(d.min) || len(o.Value) > int(d.max) {
			return o.ID, true
		}
		if !d.repeatable && i > 0 && m.Options[i-1].ID == o.ID {
			return o.ID, true
		}
		if o.ID == OptBlock1 || o.ID == OptBlock2 {
			if _, ok := parseBlock(o.Value); !ok {
				return o.ID, true
			}
		}
	}
	return 0, false
}
