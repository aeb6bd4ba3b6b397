package loadgen

import (
	"errors"
	"strconv"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// Generator selects how the simulated devices of Run talk to the target.
// Both give every device its own UDP socket connected to the target and
// the same CON retransmission; they differ in what they cost the load
// generator's process per request, which on a small machine is CPU taken
// from the server it measures.
type Generator string

const (
	// GeneratorAuto is Lean where it is available (Linux), else Netpoll.
	GeneratorAuto Generator = ""
	// GeneratorLean drives every socket from one event loop on an OS
	// thread of its own: non-blocking sockets in one epoll set, a write
	// and a read per request, requests built from a precomputed template
	// (only the message ID, the token and the endpoint name change) and
	// responses matched on their header and token without a decode.
	// Linux only.
	GeneratorLean Generator = "lean"
	// GeneratorNetpoll runs InFlight goroutines over Go's net package:
	// a read deadline per request and core/transport's Message codec for
	// every request and response. It works everywhere.
	GeneratorNetpoll Generator = "netpoll"
)

// errNoLean is returned where the lean generator is not built.
var errNoLean = errors.New("loadgen: the lean generator needs Linux")

// The 4-byte CoAP header of a CON POST with an 8-byte token (RFC 7252
// section 3): version 1, type CON, TKL 8, code 0.02.
const (
	conTKL8 = 1<<6 | byte(transport.Confirmable)<<4 | 8
	tokLen  = 8
)

// appendOption appends one option header and value (RFC 7252 section
// 3.1): delta is the option number minus the previous option's.
func appendOption(dst []byte, delta int, val []byte) []byte {
	nib := func(v int) (byte, []byte) {
		switch {
		case v < 13:
			return byte(v), nil
		case v < 269:
			return 13, []byte{byte(v - 13)}
		}
		v -= 269
		return 14, []byte{byte(v >> 8), byte(v)}
	}
	dn, dext := nib(delta)
	ln, lext := nib(len(val))
	dst = append(dst, dn<<4|ln)
	dst = append(dst, dext...)
	dst = append(dst, lext...)
	return append(dst, val...)
}

// registerTemplate is the wire form of the Register every device sends,
// cut around the one option that changes from request to request, the
// endpoint name (Uri-Query ep=NAME): head holds the header and token
// (message ID and token zero), Uri-Path rd and Content-Format 40; tail the
// other queries, the payload marker and the payload. The bytes are those
// registerMessage encodes to, in the same order.
type registerTemplate struct {
	head, tail []byte
	ep         []byte // "ep=" and the run's prefix
}

func newRegisterTemplate(cfg *Config) *registerTemplate {
	t := &registerTemplate{ep: []byte("ep=" + cfg.Prefix)}
	t.head = append(t.head, conTKL8, byte(transport.POST), 0, 0)
	t.head = append(t.head, make([]byte, tokLen)...)
	t.head = appendOption(t.head, int(transport.OptURIPath), []byte("rd"))
	t.head = appendOption(t.head, int(transport.OptContentFormat-transport.OptURIPath), []byte{40}) // application/link-format
	// The ep query follows at delta 15-12 = 3; then the other queries at
	// delta 0.
	t.tail = appendOption(t.tail, 0, []byte("lt="+strconv.FormatUint(uint64(cfg.Lifetime), 10)))
	t.tail = appendOption(t.tail, 0, []byte("lwm2m="+cfg.Version))
	t.tail = appendOption(t.tail, 0, []byte("b=U"))
	if cfg.Payload != "" {
		t.tail = append(t.tail, 0xff)
		t.tail = append(t.tail, cfg.Payload...)
	}
	return t
}

// append appends the Register of endpoint prefix+i with mid and tok to
// dst.
func (t *registerTemplate) append(dst []byte, mid uint16, tok uint64, i int) []byte {
	dst = append(dst, t.head...)
	putMIDToken(dst, mid, tok)
	var num [20]byte
	n := strconv.AppendInt(num[:0], int64(i), 10)
	l := len(t.ep) + len(n)
	const delta = byte(transport.OptURIQuery - transport.OptContentFormat)
	switch {
	case l < 13:
		dst = append(dst, delta<<4|byte(l))
	case l < 269:
		dst = append(dst, delta<<4|13, byte(l-13))
	default:
		dst = append(dst, delta<<4|14, byte((l-269)>>8), byte(l-269))
	}
	dst = append(dst, t.ep...)
	dst = append(dst, n...)
	return append(dst, t.tail...)
}

// putMIDToken writes the message ID and the 8-byte token into the request
// b, which starts with a header of token length 8.
func putMIDToken(b []byte, mid uint16, tok uint64) {
	b[2], b[3] = byte(mid>>8), byte(mid)
	for i := range tokLen {
		b[4+i] = byte(tok >> (8 * i))
	}
}

// The kinds of datagram matchReply tells apart.
const (
	replyOther    = iota // not an answer to the request: skip it
	replyEmptyACK        // the request is acknowledged; a separate response follows
	replyReset           // the target answered RST
	replyResponse        // the response, with its code
)

// matchReply classifies the datagram b received by a device whose request
// in flight has message ID mid and token tok, as device.await does with
// a decoded message, but reading only the 4-byte header and the token
// (RFC 7252 sections 3, 4.2, 5.2): a piggybacked response is an ACK with
// mid and tok; an empty ACK (exactly 4 bytes) with mid announces a
// separate response, which is a CON or NON with tok and a response code;
// an RST with mid refuses the request. Options and payload are not
// looked at. For a separate response in a CON, ackMID is the message ID to
// acknowledge, and ack reports that one is due.
func matchReply(b []byte, mid uint16, tok uint64) (kind int, code model.Code, ackMID uint16, ack bool) {
	if len(b) < 4 || b[0]>>6 != 1 {
		return replyOther, 0, 0, false
	}
	typ, tkl := transport.Type(b[0]>>4&3), int(b[0]&0x0f)
	code = model.Code(b[1])
	m := uint16(b[2])<<8 | uint16(b[3])
	if tkl > 8 || len(b) < 4+tkl {
		return replyOther, 0, 0, false
	}
	switch typ {
	case transport.Reset:
		if m == mid && code == 0 && len(b) == 4 {
			return replyReset, 0, 0, false
		}
		return replyOther, 0, 0, false
	case transport.Acknowledgement:
		if m != mid {
			return replyOther, 0, 0, false
		}
		if code == 0 {
			if len(b) != 4 {
				return replyOther, 0, 0, false // an Empty message is 4 bytes (RFC 7252 section 4.1)
			}
			return replyEmptyACK, 0, 0, false
		}
	}
	if !isResponseCode(code) || tkl != tokLen || !tokenIs(b[4:4+tokLen], tok) {
		return replyOther, 0, 0, false
	}
	return replyResponse, code, m, typ == transport.Confirmable
}

// isResponseCode reports whether c is in a response class: 2, 4 or 5
// (RFC 7252 section 12.1).
func isResponseCode(c model.Code) bool {
	cl := c.Class()
	return cl == 2 || cl == 4 || cl == 5
}

func tokenIs(b []byte, tok uint64) bool {
	for i := range tokLen {
		if b[i] != byte(tok>>(8*i)) {
			return false
		}
	}
	return true
}

// appendEmptyACK appends the Empty ACK of message ID mid.
func appendEmptyACK(dst []byte, mid uint16) []byte {
	return append(dst, 1<<6|byte(transport.Acknowledgement)<<4, 0, byte(mid>>8), byte(mid))
}

// locationOf returns the location ("/rd/ID") a Register response gives.
func locationOf(resp []byte) (string, bool) {
	var m transport.Message
	if m.UnmarshalBinary(resp) != nil {
		return "", false
	}
	segs := m.LocationPath()
	if len(segs) == 0 {
		return "", false
	}
	return "/" + joinPath(segs), true
}

// appendUpdate appends the wire form of the Update (POST loc, no payload)
// with message ID and token zero, for putMIDToken to fill in. It fails
// for a location that does not fit in options.
func appendUpdate(dst []byte, loc string) ([]byte, bool) {
	m := updateMessage(loc)
	m.Type, m.Token = transport.Confirmable, make([]byte, tokLen)
	b, err := m.AppendBinary(dst)
	return b, err == nil
}
