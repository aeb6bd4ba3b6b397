package transport

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wasm2m/wasm2m/core/model"
)

// Type is the CoAP message type (RFC 7252 section 3, section 4).
type Type uint8

// Message types.
const (
	Confirmable     Type = 0
	NonConfirmable  Type = 1
	Acknowledgement Type = 2
	Reset           Type = 3
)

// String returns the short name of t: CON, NON, ACK or RST.
func (t Type) String() string {
	switch t {
	case Confirmable:
		return "CON"
	case NonConfirmable:
		return "NON"
	case Acknowledgement:
		return "ACK"
	case Reset:
		return "RST"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Request method codes (RFC 7252 section 12.1.1; FETCH, PATCH and iPATCH
// from RFC 8132). They share model.Code with the response codes.
const (
	GET    model.Code = 1
	POST   model.Code = 2
	PUT    model.Code = 3
	DELETE model.Code = 4
	FETCH  model.Code = 5
	PATCH  model.Code = 6
	IPATCH model.Code = 7
)

// Option numbers (RFC 7252 section 5.10 and 12.2; Observe from RFC 7641,
// Block1, Block2 and Size2 from RFC 7959, No-Response from RFC 7967).
const (
	OptIfMatch       uint16 = 1
	OptURIHost       uint16 = 3
	OptETag          uint16 = 4
	OptIfNoneMatch   uint16 = 5
	OptObserve       uint16 = 6
	OptURIPort       uint16 = 7
	OptLocationPath  uint16 = 8
	OptURIPath       uint16 = 11
	OptContentFormat uint16 = 12
	OptMaxAge        uint16 = 14
	OptURIQuery      uint16 = 15
	OptAccept        uint16 = 17
	OptLocationQuery uint16 = 20
	OptBlock2        uint16 = 23
	OptBlock1        uint16 = 27
	OptSize2         uint16 = 28
	OptProxyURI      uint16 = 35
	OptProxyScheme   uint16 = 39
	OptSize1         uint16 = 60
	OptNoResponse    uint16 = 258
)

// maxOptionValueLen is the longest value the option length field can say
// (RFC 7252 section 3.1).
const maxOptionValueLen = 65535 + 269

// maxTokenSize is the longest token, in bytes (RFC 7252 section 3).
const maxTokenSize = 8

// Option is one CoAP option: its number and its raw value.
type Option struct {
	ID    uint16
	Value []byte
}

// Message is one CoAP message (RFC 7252 section 3). Options are kept
// sorted by ID, repeated options in the order they were added; the helpers
// below keep that order, and AppendBinary sorts a copy if a caller built
// the slice by hand out of order.
type Message struct {
	Type    Type
	Code    model.Code // 0 for an Empty message; 0.01..0.31 requests; 2.00..5.31 responses
	MID     uint16
	Token   []byte // 0 to 8 bytes
	Options []Option
	Payload []byte
}

// IsEmpty reports whether m is an Empty message (code 0.00, RFC 7252
// section 4.1): an ACK, a RST, or a CON ping.
func (m *Message) IsEmpty() bool { return m.Code == 0 }

// IsRequest reports whether m carries a request: code class 0 with a
// non-zero detail (RFC 7252 section 5.8; unknown methods count too).
func (m *Message) IsRequest() bool { return m.Code != 0 && m.Code.Class() == 0 }

// IsResponse reports whether m carries a response: code class 2, 4 or 5.
func (m *Message) IsResponse() bool {
	c := m.Code.Class()
	return c == 2 || c == 4 || c == 5
}

// errFormat is wrapped by every error UnmarshalBinary and AppendBinary
// return, so that the endpoint can tell a message format error (RFC 7252
// section 4.2) from anything else.
var errFormat = errors.New("coap message format error")

func formatError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errFormat, fmt.Sprintf(format, args...))
}

// AppendBinary appends the wire form of m to dst (RFC 7252 section 3). It
// refuses a token longer than 8 bytes, an option number 0, an option value
// longer than the option length field can express, and an Empty message
// with a token, options or a payload (RFC 7252 section 4.1).
func (m *Message) AppendBinary(dst []byte) ([]byte, error) {
	if m.Type > Reset {
		return dst, formatError("bad type %d", m.Type)
	}
	if len(m.Token) > maxTokenSize {
		return dst, formatError("token of %d bytes, at most 8", len(m.Token))
	}
	if m.Code == 0 && (len(m.Token) > 0 || len(m.Options) > 0 || len(m.Payload) > 0) {
		return dst, formatError("empty message with token, options or payload")
	}
	sorted := true
	for i, o := range m.Options {
		if o.ID == 0 {
			return dst, formatError("option number 0")
		}
		if len(o.Value) > maxOptionValueLen {
			return dst, formatError("option %d value of %d bytes", o.ID, len(o.Value))
		}
		if i > 0 && o.ID < m.Options[i-1].ID {
			sorted = false
		}
	}
	opts := m.Options
	if !sorted {
		var arr [16]Option
		opts = append(arr[:0], m.Options...)
		slices.SortStableFunc(opts, func(a, b Option) int { return int(a.ID) - int(b.ID) })
	}
	// RFC 7252 section 3: the 4-byte header, the token, the options as
	// deltas from the previous number, and the payload after a marker.
	dst = append(dst, 1<<6|byte(m.Type)<<4|byte(len(m.Token)), byte(m.Code), byte(m.MID>>8), byte(m.MID))
	dst = append(dst, m.Token...)
	prev := 0
	for _, o := range opts {
		dst = appendOptionHeader(dst, int(o.ID)-prev, len(o.Value))
		dst = append(dst, o.Value...)
		prev = int(o.ID)
	}
	if len(m.Payload) > 0 {
		dst = append(dst, 0xff)
		dst = append(dst, m.Payload...)
	}
	return dst, nil
}

// appendOptionHeader appends the byte of an option's delta and length
// nibbles and their extended bytes (RFC 7252 section 3.1): 0 to 12 in the
// nibble, 13 and one byte for 13 to 268, 14 and two bytes beyond.
func appendOptionHeader(dst []byte, delta, length int) []byte {
	dn, dext := optionNibble(delta)
	ln, lext := optionNibble(length)
	dst = append(dst, byte(dn<<4|ln))
	dst = appendOptionExt(dst, dn, dext)
	return appendOptionExt(dst, ln, lext)
}

func optionNibble(v int) (nibble, ext int) {
	switch {
	case v < 13:
		return v, 0
	case v < 269:
		return 13, v - 13
	default:
		return 14, v - 269
	}
}

func appendOptionExt(dst []byte, nibble, ext int) []byte {
	switch nibble {
	case 13:
		return append(dst, byte(ext))
	case 14:
		return append(dst, byte(ext>>8), byte(ext))
	}
	return dst
}

// MarshalBinary returns the wire form of m.
func (m *Message) MarshalBinary() ([]byte, error) { return m.AppendBinary(nil) }

// UnmarshalBinary decodes one CoAP message from b (RFC 7252 section 3).
// The result aliases b: Token, option values and Payload point into it, so
// b must not change while m is in use. m.Options reuses its capacity. On
// error m is left as it was.
//
// Besides what the wire format itself forbids (version other than 1, token
// length 9 to 15, truncated header, token or options, the reserved option
// nibble 15, an option number beyond 65535, a payload marker with no
// payload), it refuses a code in the reserved classes 1, 3, 6 and 7 and an
// Empty message with anything after the message ID (RFC 7252 section 4.1).
// Elective options of a number that go-coap v3.8.0 knows whose value length
// is out of its range are dropped (RFC 7252 section 5.4.3; see
// badElectiveLen); critical ones are kept for the endpoint to refuse. An
// option number 0 (a delta of 0 with no option of another number before
// it) is dropped.
func (m *Message) UnmarshalBinary(b []byte) error {
	// RFC 7252 section 3: the 4-byte header, then the token.
	if len(b) < 4 {
		return formatError("message of %d bytes, shorter than the header", len(b))
	}
	if b[0]>>6 != 1 {
		return formatError("version %d", b[0]>>6)
	}
	tkl := int(b[0] & 0xf)
	if tkl > maxTokenSize {
		return formatError("token length %d", tkl)
	}
	if len(b) < 4+tkl {
		return formatError("token truncated")
	}
	// The options go to a scratch array first, so that m is unchanged
	// on error; more than len(arr) go to the heap.
	var arr [16]Option
	opts, payload, err := decodeOptions(b[4+tkl:], arr[:0])
	if err != nil {
		return err
	}
	code := model.Code(b[1])
	switch code.Class() {
	case 1, 3, 6, 7: // RFC 7252 section 3: "All other class values are reserved."
		return formatError("code %s in a reserved class", code)
	}
	if code == 0 && len(b) != 4 {
		return formatError("empty message of %d bytes", len(b))
	}
	m.Type = Type(b[0] >> 4 & 3)
	m.Code = code
	m.MID = binary.BigEndian.Uint16(b[2:4])
	m.Token = nil
	if tkl > 0 {
		m.Token = b[4 : 4+tkl]
	}
	if len(opts) == 0 {
		m.Options = nil
	} else {
		if m.Options == nil {
			m.Options = make([]Option, 0, len(opts))
		}
		m.Options = append(m.Options[:0], opts...)
	}
	m.Payload = payload
	return nil
}

// decodeOptions decodes the options in b and appends them to dst (RFC 7252
// section 3.1), returning them and the payload after the marker, nil if
// there is none. It drops what go-coap v3.8.0's Options.Unmarshal drops: an
// option number 0, and an elective option of a known number whose value
// length is out of range (badElectiveLen).
func decodeOptions(b []byte, dst []Option) ([]Option, []byte, error) {
	prev := 0
	for len(b) > 0 {
		h := b[0]
		if h == 0xff {
			// RFC 7252 section 3: a marker followed by a zero-length
			// payload is a message format error.
			if len(b) == 1 {
				return dst, nil, formatError("payload marker without payload")
			}
			return dst, b[1:], nil
		}
		b = b[1:]
		delta, length := int(h>>4), int(h&0xf)
		if delta == 15 || length == 15 {
			return dst, nil, formatError("option nibble 15 without the payload marker")
		}
		var ok bool
		if delta, b, ok = optionExt(b, delta); !ok {
			return dst, nil, formatError("option delta truncated")
		}
		if length, b, ok = optionExt(b, length); !ok {
			return dst, nil, formatError("option length truncated")
		}
		if len(b) < length {
			return dst, nil, formatError("option value truncated")
		}
		id := prev + delta
		if id > 0xffff {
			return dst, nil, formatError("option number %d", id)
		}
		if id != 0 && !(id%2 == 0 && badElectiveLen(id, length)) {
			dst = append(dst, Option{ID: uint16(id), Value: b[:length]})
		}
		b = b[length:]
		prev = id
	}
	return dst, nil, nil
}

// optionExt reads the extended bytes that an option delta or length nibble
// of 13 or 14 announces (RFC 7252 section 3.1). It reports false if they
// are missing.
func optionExt(b []byte, nibble int) (int, []byte, bool) {
	switch nibble {
	case 13:
		if len(b) < 1 {
			return 0, b, false
		}
		return int(b[0]) + 13, b[1:], true
	case 14:
		if len(b) < 2 {
			return 0, b, false
		}
		return int(binary.BigEndian.Uint16(b)) + 269, b[2:], true
	}
	return nibble, b, true
}

// badElectiveLen reports whether the elective (even) option number id is
// one that go-coap v3.8.0 knows (message.CoapOptionDefs) and length is
// outside the range of value lengths it allows for it. TestBadElectiveLen
// checks it against go-coap's table.
func badElectiveLen(id, length int) bool {
	lo, hi := 0, 0
	switch id {
	case int(OptETag):
		lo, hi = 1, 8
	case int(OptObserve):
		hi = 3
	case int(OptLocationPath), int(OptLocationQuery):
		hi = 255
	case int(OptContentFormat):
		hi = 2
	case int(OptMaxAge), int(OptSize2), int(OptSize1):
		hi = 4
	case 252: // Echo, RFC 9175
		lo, hi = 1, 40
	case int(OptNoResponse):
		hi = 1
	case 292: // Request-Tag, RFC 9175
		hi = 8
	default:
		return false
	}
	return length < lo || length > hi
}

// String formats m for logs, such as
// "CON GET mid=4711 token=0a1b /rd?ep=dev1 cf=11542 payload=12B".
func (m *Message) String() string {
	if m == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString(m.Type.String())
	b.WriteByte(' ')
	b.WriteString(codeName(m.Code))
	b.WriteString(" mid=")
	b.WriteString(strconv.Itoa(int(m.MID)))
	if len(m.Token) > 0 {
		b.WriteString(" token=")
		b.WriteString(hex.EncodeToString(m.Token))
	}
	if m.has(OptURIPath) || m.IsRequest() {
		b.WriteByte(' ')
		b.WriteString(m.Path())
		for i, q := range m.Queries() {
			if i == 0 {
				b.WriteByte('?')
			} else {
				b.WriteByte('&')
			}
			b.WriteString(q)
		}
	}
	if segs := m.LocationPath(); len(segs) > 0 {
		b.WriteString(" location=/")
		b.WriteString(strings.Join(segs, "/"))
	}
	if v, ok := m.Observe(); ok {
		b.WriteString(" observe=")
		b.WriteString(strconv.FormatUint(uint64(v), 10))
	}
	if v, ok := m.ContentFormat(); ok {
		b.WriteString(" cf=")
		b.WriteString(strconv.Itoa(int(v)))
	}
	if v, ok := m.Block1(); ok {
		fmt.Fprintf(&b, " block1=%d/%t/%d", v.Num, v.More, v.Size)
	}
	if v, ok := m.Block2(); ok {
		fmt.Fprintf(&b, " block2=%d/%t/%d", v.Num, v.More, v.Size)
	}
	if len(m.Payload) > 0 {
		b.WriteString(" payload=")
		b.WriteString(strconv.Itoa(len(m.Payload)))
		b.WriteByte('B')
	}
	return b.String()
}

// codeName names a request method, or formats a response code as 2.05.
func codeName(c model.Code) string {
	switch c {
	case 0:
		return "Empty"
	case GET:
		return "GET"
	case POST:
		return "POST"
	case PUT:
		return "PUT"
	case DELETE:
		return "DELETE"
	case FETCH:
		return "FETCH"
	case PATCH:
		return "PATCH"
	case IPATCH:
		return "iPATCH"
	}
	return c.String()
}

// clone returns a copy of m whose Options slice is its own; option values,
// Token and Payload are shared.
func (m *Message) clone() *Message {
	c := *m
	c.Options = slices.Clone(m.Options)
	return &c
}
