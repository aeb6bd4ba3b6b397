package transport

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"github.com/wasm2m/wasm2m/core/model"
)

// codecCases are messages with their wire form written out by hand from
// RFC 7252 section 3 and 3.1.
var codecCases = []struct {
	name string
	msg  Message
	wire []byte
}{
	{
		name: "CON GET with Uri-Path",
		msg:  Message{Type: Confirmable, Code: GET, MID: 0x7d34, Options: []Option{{OptURIPath, []byte("temperature")}}},
		wire: append([]byte{0x40, 0x01, 0x7d, 0x34, 0xbb}, "temperature"...),
	},
	{
		name: "ACK 2.05 with token, empty Content-Format and payload",
		msg: Message{Type: Acknowledgement, Code: model.Content, MID: 0x7d34, Token: []byte{0x42},
			Options: []Option{{OptContentFormat, []byte{}}}, Payload: []byte("22.3 C")},
		wire: append([]byte{0x61, 0x45, 0x7d, 0x34, 0x42, 0xc0, 0xff}, "22.3 C"...),
	},
	{
		name: "empty ACK",
		msg:  Message{Type: Acknowledgement, MID: 0x0102},
		wire: []byte{0x60, 0x00, 0x01, 0x02},
	},
	{
		name: "RST",
		msg:  Message{Type: Reset, MID: 0xffff},
		wire: []byte{0x70, 0x00, 0xff, 0xff},
	},
	{
		name: "NON with 8-byte token and repeated Uri-Path",
		msg: Message{Type: NonConfirmable, Code: POST, MID: 1, Token: []byte("12345678"),
			Options: []Option{{OptURIPath, []byte("rd")}, {OptURIPath, []byte("a")}}},
		wire: append([]byte{0x58, 0x02, 0x00, 0x01}, "12345678\xb2rd\x01a"...),
	},
	{
		name: "one-byte extended delta: No-Response after Uri-Path",
		msg:  Message{Type: NonConfirmable, Code: GET, MID: 2, Options: []Option{{OptURIPath, []byte("x")}, {OptNoResponse, []byte{2}}}},
		// 258-11 = 247 = 13 + 234: nibble 13, extended byte 234 (0xea).
		wire: []byte{0x50, 0x01, 0x00, 0x02, 0xb1, 'x', 0xd1, 0xea, 0x02},
	},
	{
		name: "two-byte extended delta: No-Response alone",
		msg:  Message{Type: NonConfirmable, Code: GET, MID: 3, Options: []Option{{OptNoResponse, []byte{2}}}},
		// 258 = 269 - 11: nibble 14 needs 258 >= 269, so nibble 13 with 245.
		wire: []byte{0x50, 0x01, 0x00, 0x03, 0xd1, 0xf5, 0x02},
	},
	{
		name: "two-byte extended length",
		msg:  Message{Type: Confirmable, Code: GET, MID: 4, Options: []Option{{OptURIQuery, bytes.Repeat([]byte{'q'}, 300)}}},
		// delta 15 = 13 + 2; length 300 = 269 + 31.
		wire: append([]byte{0x40, 0x01, 0x00, 0x04, 0xde, 0x02, 0x00, 0x1f}, bytes.Repeat([]byte{'q'}, 300)...),
	},
}

func TestCodecGolden(t *testing.T) {
	for _, tc := range codecCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.msg.AppendBinary(nil)
			if err != nil {
				t.Fatalf("AppendBinary: %v", err)
			}
			if !bytes.Equal(got, tc.wire) {
				t.Fatalf("AppendBinary = % x\nwant          % x", got, tc.wire)
			}
			var m Message
			if err := m.UnmarshalBinary(tc.wire); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			if !equalMessages(&m, &tc.msg) {
				t.Fatalf("UnmarshalBinary = %+v, want %+v", m, tc.msg)
			}
		})
	}
}

// equalMessages compares two messages, treating nil and empty slices as
// equal.
func equalMessages(a, b *Message) bool {
	if a.Type != b.Type || a.Code != b.Code || a.MID != b.MID || !bytes.Equal(a.Token, b.Token) || !bytes.Equal(a.Payload, b.Payload) || len(a.Options) != len(b.Options) {
		return false
	}
	for i := range a.Options {
		if a.Options[i].ID != b.Options[i].ID || !bytes.Equal(a.Options[i].Value, b.Options[i].Value) {
			return false
		}
	}
	return true
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		wire []byte
	}{
		{"short", []byte{0x40, 0x01, 0x00}},
		{"version 2", []byte{0x80, 0x01, 0x00, 0x01}},
		{"token length 9", append([]byte{0x49, 0x01, 0x00, 0x01}, "123456789"...)},
		{"truncated token", []byte{0x44, 0x01, 0x00, 0x01, 1, 2}},
		{"option delta nibble 15", []byte{0x40, 0x01, 0x00, 0x01, 0xf0}},
		{"option length nibble 15", []byte{0x40, 0x01, 0x00, 0x01, 0xbf}},
		{"truncated option value", []byte{0x40, 0x01, 0x00, 0x01, 0xb5, 'a'}},
		{"truncated extended delta", []byte{0x40, 0x01, 0x00, 0x01, 0xe0, 0x01}},
		{"payload marker without payload", []byte{0x40, 0x01, 0x00, 0x01, 0xff}},
		{"class 1 code", []byte{0x40, 1 << 5, 0x00, 0x01}},
		{"class 3 code", []byte{0x40, 3 << 5, 0x00, 0x01}},
		{"class 7 code", []byte{0x40, 7<<5 | 1, 0x00, 0x01}},
		{"empty with token", []byte{0x41, 0x00, 0x00, 0x01, 0x99}},
		{"empty with payload", []byte{0x40, 0x00, 0x00, 0x01, 0xff, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m Message
			err := m.UnmarshalBinary(tc.wire)
			if err == nil {
				t.Fatalf("UnmarshalBinary(% x) = %+v, want an error", tc.wire, m)
			}
			if !errors.Is(err, errFormat) {
				t.Fatalf("error %v does not wrap errFormat", err)
			}
		})
	}
}

func TestAppendErrors(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
	}{
		{"token of 9 bytes", Message{Code: GET, Token: []byte("123456789")}},
		{"type 4", Message{Type: 4, Code: GET}},
		{"option 0", Message{Code: GET, Options: []Option{{0, nil}}}},
		{"option value too long", Message{Code: GET, Options: []Option{{OptURIQuery, make([]byte, maxOptionValueLen+1)}}}},
		{"empty with token", Message{Token: []byte{1}}},
		{"empty with payload", Message{Payload: []byte{1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if b, err := tc.msg.AppendBinary(nil); err == nil {
				t.Fatalf("AppendBinary = % x, want an error", b)
			}
		})
	}
}

func TestAppendSortsOptions(t *testing.T) {
	m := Message{Code: GET, Options: []Option{{OptURIQuery, []byte("b")}, {OptURIPath, []byte("x")}, {OptURIQuery, []byte("a")}}}
	b, err := m.AppendBinary([]byte{0xaa})
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0xaa {
		t.Fatalf("AppendBinary overwrote dst")
	}
	var back Message
	if err := back.UnmarshalBinary(b[1:]); err != nil {
		t.Fatal(err)
	}
	if got := back.Path() + "?" + strings.Join(back.Queries(), "&"); got != "/x?b&a" {
		t.Fatalf("after sorting: %s, want /x?b&a (repeated options keep their order)", got)
	}
	if m.Options[0].ID != OptURIQuery {
		t.Fatalf("AppendBinary reordered the caller's options")
	}
}

// TestGoCoapRoundTrip checks the codec against go-coap's decoder and
// encoder directly, for messages built with the option helpers.
func TestGoCoapRoundTrip(t *testing.T) {
	msgs := []*Message{}
	for _, tc := range codecCases {
		msgs = append(msgs, &tc.msg)
	}
	reg := &Message{Type: Confirmable, Code: POST, MID: 999, Token: []byte{1, 2, 3, 4}}
	reg.SetPath("/rd")
	reg.AddQuery("ep=dev1")
	reg.AddQuery("lt=300")
	reg.AddQuery("lwm2m=1.1")
	reg.SetContentFormat(40)
	reg.Payload = []byte("</1/0>,</3/0>")
	msgs = append(msgs, reg)
	notif := &Message{Type: NonConfirmable, Code: model.Content, MID: 1000, Token: []byte{9}}
	notif.SetObserve(70000)
	notif.SetContentFormat(11542)
	notif.SetBlock2(Block{Num: 3, More: true, Size: 512})
	notif.SetUint(OptSize2, 100000)
	notif.SetUint(OptMaxAge, 0)
	notif.Payload = bytes.Repeat([]byte{0xab}, 512)
	msgs = append(msgs, notif)

	for _, m := range msgs {
		t.Run(m.String(), func(t *testing.T) {
			wire, err := m.AppendBinary(nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := goCoapEncode(t, m); !bytes.Equal(wire, want) {
				t.Fatalf("encoded % x, go-coap encodes % x", wire, want)
			}
			var gm message.Message
			gm.Options = make(message.Options, 0, 32)
			if _, err := coder.DefaultCoder.Decode(wire, &gm); err != nil {
				t.Fatalf("go-coap Decode: %v", err)
			}
			if Type(gm.Type) != m.Type || model.Code(gm.Code) != m.Code || uint16(gm.MessageID) != m.MID ||
				!bytes.Equal(gm.Token, m.Token) || !bytes.Equal(gm.Payload, m.Payload) || len(gm.Options) != len(m.Options) {
				t.Fatalf("go-coap decoded %v, want %v", gm.String(), m)
			}
			for i, o := range gm.Options {
				if uint16(o.ID) != m.Options[i].ID || !bytes.Equal(o.Value, m.Options[i].Value) {
					t.Fatalf("option %d: go-coap %v %x, want %d %x", i, o.ID, o.Value, m.Options[i].ID, m.Options[i].Value)
				}
			}
			// And back: go-coap's encoding decodes to the same message.
			size, _ := coder.DefaultCoder.Size(gm)
			buf := make([]byte, size)
			if _, err := coder.DefaultCoder.Encode(gm, buf); err != nil {
				t.Fatal(err)
			}
			var back Message
			if err := back.UnmarshalBinary(buf); err != nil {
				t.Fatal(err)
			}
			if !equalMessages(&back, m) {
				t.Fatalf("go-coap encoding decodes to %v, want %v", &back, m)
			}
		})
	}
	if codes.Code(GET) != codes.GET || codes.Code(IPATCH) != codes.IPATCH || message.OptionID(OptNoResponse) != message.NoResponse {
		t.Fatal("constants differ from go-coap's")
	}
}

func TestPath(t *testing.T) {
	tests := []struct {
		in   string
		segs []string
		path string
	}{
		{"", nil, "/"},
		{"/", nil, "/"},
		{"/rd", []string{"rd"}, "/rd"},
		{"rd/abc", []string{"rd", "abc"}, "/rd/abc"},
		{"/3/0/1", []string{"3", "0", "1"}, "/3/0/1"},
		{"/a/", []string{"a", ""}, "/a/"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			m := &Message{Code: GET}
			m.SetQueries([]string{"x=1"})
			m.SetPath("/old/path")
			m.SetPath(tc.in)
			if got := m.PathSegments(); !reflect.DeepEqual(got, tc.segs) {
				t.Fatalf("PathSegments = %q, want %q", got, tc.segs)
			}
			if got := m.Path(); got != tc.path {
				t.Fatalf("Path = %q, want %q", got, tc.path)
			}
			if got := m.Queries(); !reflect.DeepEqual(got, []string{"x=1"}) {
				t.Fatalf("Queries = %q after SetPath", got)
			}
		})
	}
}

func TestOptionHelpers(t *testing.T) {
	m := &Message{Code: model.Created}
	m.SetLocationPath("rd", "5a3f")
	if got := m.LocationPath(); !reflect.DeepEqual(got, []string{"rd", "5a3f"}) {
		t.Fatalf("LocationPath = %q", got)
	}
	m.SetQueries([]string{"a=1", "b=2"})
	m.AddQuery("c=3")
	if got := m.Queries(); !reflect.DeepEqual(got, []string{"a=1", "b=2", "c=3"}) {
		t.Fatalf("Queries = %q", got)
	}
	m.SetAccept(11543)
	if v, ok := m.Accept(); !ok || v != 11543 {
		t.Fatalf("Accept = %d, %t", v, ok)
	}
	m.SetContentFormat(0)
	if v, ok := m.ContentFormat(); !ok || v != 0 {
		t.Fatalf("ContentFormat = %d, %t", v, ok)
	}
	if b, _ := m.Get(OptContentFormat); len(b) != 0 {
		t.Fatalf("Content-Format 0 encoded as % x, want no bytes (RFC 7252 section 3.2)", b)
	}
	m.SetObserve(1<<24 + 5)
	if v, ok := m.Observe(); !ok || v != 5 {
		t.Fatalf("Observe = %d, %t; want the low 24 bits", v, ok)
	}
	m.Remove(OptObserve)
	if _, ok := m.Observe(); ok {
		t.Fatal("Observe after Remove")
	}
	m.Set(OptETag, []byte{1})
	m.Add(OptETag, []byte{2})
	if v, _ := m.Get(OptETag); !bytes.Equal(v, []byte{1}) {
		t.Fatalf("Get returns % x, want the first", v)
	}
	for i := 1; i < len(m.Options); i++ {
		if m.Options[i-1].ID > m.Options[i].ID {
			t.Fatalf("options not sorted: %v", m.Options)
		}
	}
	if _, ok := m.Uint(OptMaxAge); ok {
		t.Fatal("Uint of an absent option")
	}
	m.Set(OptMaxAge, []byte{0, 0, 0, 1, 0})
	if _, ok := m.Uint(OptMaxAge); ok {
		t.Fatal("Uint of five bytes")
	}
}

func TestUint(t *testing.T) {
	tests := []struct {
		v    uint32
		wire []byte
	}{
		{0, nil},
		{1, []byte{1}},
		{255, []byte{255}},
		{256, []byte{1, 0}},
		{65535, []byte{255, 255}},
		{1 << 16, []byte{1, 0, 0}},
		{1<<32 - 1, []byte{255, 255, 255, 255}},
	}
	for _, tc := range tests {
		m := &Message{}
		m.SetUint(OptMaxAge, tc.v)
		if b, _ := m.Get(OptMaxAge); !bytes.Equal(b, tc.wire) {
			t.Errorf("SetUint(%d) = % x, want % x", tc.v, b, tc.wire)
		}
		if v, ok := m.Uint(OptMaxAge); !ok || v != tc.v {
			t.Errorf("Uint = %d, %t, want %d", v, ok, tc.v)
		}
	}
	// RFC 7252 section 3.2: leading zeros are accepted.
	if v, ok := decodeUint([]byte{0, 0, 7}); !ok || v != 7 {
		t.Errorf("decodeUint with leading zeros = %d, %t", v, ok)
	}
}

func TestBlock(t *testing.T) {
	tests := []struct {
		b    Block
		wire []byte
	}{
		{Block{0, false, 16}, nil},
		{Block{0, true, 1024}, []byte{0x0e}},
		{Block{1, false, 64}, []byte{0x12}},
		{Block{15, true, 32}, []byte{0xf9}},
		{Block{16, false, 512}, []byte{0x01, 0x05}},
		{Block{maxBlockNum, true, 1024}, []byte{0xff, 0xff, 0xfe}},
	}
	for _, tc := range tests {
		m := &Message{}
		m.SetBlock2(tc.b)
		m.SetBlock1(tc.b)
		if b, _ := m.Get(OptBlock2); !bytes.Equal(b, tc.wire) {
			t.Errorf("SetBlock2(%+v) = % x, want % x", tc.b, b, tc.wire)
		}
		if got, ok := m.Block2(); !ok || got != tc.b {
			t.Errorf("Block2 = %+v, %t, want %+v", got, ok, tc.b)
		}
		if got, ok := m.Block1(); !ok || got != tc.b {
			t.Errorf("Block1 = %+v, %t, want %+v", got, ok, tc.b)
		}
	}
	m := &Message{}
	m.Set(OptBlock2, []byte{0x07})
	if _, ok := m.Block2(); ok {
		t.Error("SZX 7 accepted")
	}
	m.Set(OptBlock2, []byte{1, 2, 3, 4})
	if _, ok := m.Block2(); ok {
		t.Error("four-byte Block2 accepted")
	}
	m.SetBlock2(Block{Size: 1000})
	if b, _ := m.Block2(); b.Size != 512 {
		t.Errorf("size 1000 rounded to %d, want 512", b.Size)
	}
}

func TestBadCriticalOption(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		bad  uint16
	}{
		{"none", nil, 0},
		{"known elective and critical", []Option{{OptURIPath, []byte("a")}, {OptContentFormat, nil}, {OptURIQuery, []byte("q")}}, 0},
		{"unknown elective", []Option{{2048, []byte("x")}}, 0},
		{"unknown critical", []Option{{9, nil}}, 9},
		{"Uri-Host too long", []Option{{OptURIHost, make([]byte, 256)}}, OptURIHost},
		{"Uri-Host empty", []Option{{OptURIHost, nil}}, OptURIHost},
		{"Accept given twice", []Option{{OptAccept, []byte{1}}, {OptAccept, []byte{2}}}, OptAccept},
		{"Block2 SZX 7", []Option{{OptBlock2, []byte{7}}}, OptBlock2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, bad := badCriticalOption(&Message{Code: GET, Options: tc.opts})
			if bad != (tc.bad != 0) || id != tc.bad {
				t.Fatalf("badCriticalOption = %d, %t, want %d", id, bad, tc.bad)
			}
		})
	}
}

func TestMessageString(t *testing.T) {
	m := &Message{Type: Confirmable, Code: POST, MID: 4711, Token: []byte{0x0a, 0x1b}, Payload: []byte("hello")}
	m.SetPath("/rd")
	m.AddQuery("ep=dev1")
	m.SetContentFormat(40)
	want := "CON POST mid=4711 token=0a1b /rd?ep=dev1 cf=40 payload=5B"
	if got := m.String(); got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
	ack := &Message{Type: Acknowledgement, Code: model.Content, MID: 1}
	if got := ack.String(); got != "ACK 2.05 mid=1" {
		t.Fatalf("String = %q", got)
	}
}

// goCoapEncode encodes m with go-coap's encoder, as AppendBinary did before
// it had its own: what AppendBinary writes must be the same bytes.
func goCoapEncode(t testing.TB, m *Message) []byte {
	t.Helper()
	opts := make(message.Options, 0, len(m.Options))
	for _, o := range m.Options {
		opts = append(opts, message.Option{ID: message.OptionID(o.ID), Value: o.Value})
	}
	slices.SortStableFunc(opts, func(a, b message.Option) int { return int(a.ID) - int(b.ID) })
	gm := message.Message{Token: m.Token, Options: opts, Code: codes.Code(m.Code), Payload: m.Payload, MessageID: int32(m.MID), Type: message.Type(m.Type)}
	size, err := coder.DefaultCoder.Size(gm)
	if err != nil {
		t.Fatalf("go-coap Size of %v: %v", m, err)
	}
	b := make([]byte, size)
	if _, err := coder.DefaultCoder.Encode(gm, b); err != nil {
		t.Fatalf("go-coap Encode of %v: %v", m, err)
	}
	return b
}

// clampUint32 gives a size as a 4-byte option value, also where int has
// 32 bits.
func TestClampUint32(t *testing.T) {
	maxInt := int(^uint(0) >> 1)
	wantMax := uint32(math.MaxUint32)
	if uint64(maxInt) < math.MaxUint32 {
		wantMax = uint32(maxInt)
	}
	for _, tc := range []struct {
		n    int
		want uint32
	}{{-1, 0}, {0, 0}, {1024, 1024}, {maxInt, wantMax}} {
		if got := clampUint32(tc.n); got != tc.want {
			t.Errorf("clampUint32(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}
