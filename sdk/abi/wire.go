package abi

import (
	"errors"
	"math"
	"strconv"
)

// The protobuf wire format (protobuf.dev/programming-guides/encoding), the
// part abi.proto uses: varints, 64-bit fixed values and length-delimited
// bytes. The generated code in abi.pb.go calls these helpers.

// Wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// maxDepth bounds how deeply messages may nest in a decoded message: a
// Node tree is at most 4 deep and sits 2 or 3 messages below the top, so
// 32 leaves room for any later minor version and stops a hostile peer's
// deeply nested bytes before they exhaust the stack.
const maxDepth = 32

// ErrMalformed is what Unmarshal returns (wrapped, with the message and
// field) for bytes that are not a valid encoding of the message.
var ErrMalformed = errors.New("malformed message")

var (
	errTruncated = errors.New("truncated")
	errOverflow  = errors.New("varint overflows 64 bits")
	errWireType  = errors.New("wrong wire type")
	errFieldNum  = errors.New("invalid field number")
	errGroup     = errors.New("groups are not supported")
	errDepth     = errors.New("nested too deeply")
)

// DecodeError says where Unmarshal found malformed input. It matches
// ErrMalformed with errors.Is.
type DecodeError struct {
	Message string // the message being decoded, such as "Node"
	Field   int32  // the field number, 0 when the tag itself was bad
	Err     error
}

func (e *DecodeError) Error() string {
	s := "abi: decode " + e.Message
	if e.Field != 0 {
		s += " field " + strconv.Itoa(int(e.Field))
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// Is reports whether target is ErrMalformed.
func (e *DecodeError) Is(target error) bool { return target == ErrMalformed }

func decodeError(msg string, field int32, err error) error {
	if _, ok := err.(*DecodeError); ok {
		return err // from a nested message: it names the innermost one
	}
	return &DecodeError{Message: msg, Field: field, Err: err}
}

// sizeVarint returns the length of v as a varint.
func sizeVarint(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// sizeBytes returns the length of a length-delimited field's value with n
// bytes of content, its length prefix included.
func sizeBytes(n int) int { return sizeVarint(uint64(n)) + n }

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendFixed64(b []byte, v uint64) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
		byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }

func boolVarint(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

func float64bits(f float64) uint64     { return math.Float64bits(f) }
func float64frombits(v uint64) float64 { return math.Float64frombits(v) }

// consumeVarint reads a varint from b and returns it with its length, or
// a length of -1 when b is truncated and -2 when the varint overflows.
func consumeVarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, -2 // more than 64 bits
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1
		}
	}
	if len(b) >= 10 {
		return 0, -2
	}
	return 0, -1
}

// varintError is the error of a length < 0 from consumeVarint.
func varintError(n int) error {
	if n == -2 {
		return errOverflow
	}
	return errTruncated
}

// consumeTag reads a field's tag. It returns the rest of b, or an error
// for a bad or truncated tag, a field number 0 or a group.
func consumeTag(b []byte) (num int32, wt int, rest []byte, err error) {
	v, n := consumeVarint(b)
	if n < 0 {
		return 0, 0, nil, varintError(n)
	}
	if v>>3 == 0 || v>>3 > math.MaxInt32>>2 { // field numbers are 1 to 2^29-1
		return 0, 0, nil, errFieldNum
	}
	return int32(v >> 3), int(v & 7), b[n:], nil
}

// readVarint reads a field of wire type varint.
func readVarint(b []byte, wt int) (uint64, []byte, error) {
	if wt != wireVarint {
		return 0, nil, errWireType
	}
	v, n := consumeVarint(b)
	if n < 0 {
		return 0, nil, varintError(n)
	}
	return v, b[n:], nil
}

// readFixed64 reads a field of wire type fixed64.
func readFixed64(b []byte, wt int) (uint64, []byte, error) {
	if wt != wireFixed64 {
		return 0, nil, errWireType
	}
	if len(b) < 8 {
		return 0, nil, errTruncated
	}
	v := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
	return v, b[8:], nil
}

// readBytes reads a length-delimited field and returns its content, which
// aliases b.
func readBytes(b []byte, wt int) ([]byte, []byte, error) {
	if wt != wireBytes {
		return nil, nil, errWireType
	}
	v, n := consumeVarint(b)
	if n < 0 {
		return nil, nil, varintError(n)
	}
	if v > uint64(len(b)-n) {
		return nil, nil, errTruncated
	}
	end := n + int(v)
	return b[n:end:end], b[end:], nil
}

// countVarints returns how many varints p holds (a packed field's
// content), to size the slice they are decoded into.
func countVarints(p []byte) int {
	n := 0
	for _, c := range p {
		if c < 0x80 {
			n++
		}
	}
	return n
}

// countField returns how many times field num occurs in the message b (at
// least 1), to size the slice a repeated message field is decoded into.
// It stops at the first malformed field, which decoding reports.
func countField(b []byte, num int32) int {
	n := 0
	for len(b) > 0 {
		f, wt, rest, err := consumeTag(b)
		if err != nil {
			break
		}
		if f == num {
			n++
		}
		if b, err = skipField(rest, wt); err != nil {
			break
		}
	}
	return max(n, 1)
}

// skipField skips the value of a field this version does not know (a
// newer minor version's field) and returns the rest of b.
func skipField(b []byte, wt int) ([]byte, error) {
	switch wt {
	case wireVarint:
		_, rest, err := readVarint(b, wt)
		return rest, err
	case wireFixed64:
		_, rest, err := readFixed64(b, wt)
		return rest, err
	case wireBytes:
		_, rest, err := readBytes(b, wt)
		return rest, err
	case wireFixed32:
		if len(b) < 4 {
			return nil, errTruncated
		}
		return b[4:], nil
	case 3, 4:
		return nil, errGroup
	}
	return nil, errWireType
}

// cloneBytes copies a bytes field out of the input, which the caller may
// reuse; empty gives nil.
func cloneBytes(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}
