package transport

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/udp/coder"

	"github.com/wasm2m/wasm2m/core/model"
)

// goCoapUnmarshal is how (*Message).unmarshal decoded before our own
// decoder: go-coap v3.8.0's coder.DefaultCoder.Decode, its options copied,
// then our checks. FuzzUnmarshal compares the two on every input.
func goCoapUnmarshal(m *Message, b []byte) error {
	var scratch [16]message.Option
	gm := message.Message{Options: scratch[:0]}
	_, err := coder.DefaultCoder.Decode(b, &gm)
	if errors.Is(err, message.ErrOptionsTooSmall) {
		// Every option takes at least one byte.
		gm = message.Message{Options: make(message.Options, 0, len(b))}
		_, err = coder.DefaultCoder.Decode(b, &gm)
	}
	if err != nil {
		return formatError("%v", err)
	}
	code := model.Code(gm.Code)
	switch code.Class() {
	case 1, 3, 6, 7:
		return formatError("code %s in a reserved class", code)
	}
	if code == 0 && len(b) != 4 {
		return formatError("empty message of %d bytes", len(b))
	}
	m.Type = Type(gm.Type)
	m.Code = code
	m.MID = binary.BigEndian.Uint16(b[2:4])
	m.Token = gm.Token
	if len(m.Token) == 0 {
		m.Token = nil
	}
	m.Options = m.Options[:0]
	if len(gm.Options) > 0 && m.Options == nil {
		m.Options = make([]Option, 0, len(gm.Options))
	}
	for _, o := range gm.Options {
		m.Options = append(m.Options, Option{ID: uint16(o.ID), Value: o.Value})
	}
	if len(m.Options) == 0 {
		m.Options = nil
	}
	m.Payload = gm.Payload
	return nil
}

// registerWire is a typical LwM2M Register (OMA-TS-LightweightM2M-Core
// section 6.2.1): an 8-byte token, Uri-Path "rd", four Uri-Query options,
// Content-Format 40 and a 90-byte link-format payload.
func registerWire() []byte {
	m := &Message{Type: Confirmable, Code: POST, MID: 0x1234, Token: []byte{1, 2, 3, 4, 5, 6, 7, 8}}
	m.SetPath("/rd")
	m.SetQueries([]string{"ep=urn:imei:490154203237518", "lt=300", "lwm2m=1.1", "b=U"})
	m.SetContentFormat(40)
	m.Payload = []byte(strings.Repeat("</3/0>,", 12) + "</1/0>,</5>,</6>")[:90]
	b, err := m.AppendBinary(nil)
	if err != nil {
		panic(err)
	}
	return b
}

func BenchmarkUnmarshalRegister(b *testing.B) {
	wire := registerWire()
	// fresh: UnmarshalBinary into a new Message, whose Options it allocates.
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m Message
			if err := m.UnmarshalBinary(wire); err != nil {
				b.Fatal(err)
			}
		}
	})
	// reused: the endpoint's way, into a Message whose Options have room.
	b.Run("reused", func(b *testing.B) {
		b.ReportAllocs()
		m := Message{Options: make([]Option, 0, 8)}
		for b.Loop() {
			if err := m.UnmarshalBinary(wire); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBadElectiveLen checks badElectiveLen against go-coap's table of
// known options for every option number and every length up to beyond the
// longest bound, as go-coap's Option.Unmarshal uses the table.
func TestBadElectiveLen(t *testing.T) {
	for id := 0; id <= 0xffff; id++ {
		def, known := message.CoapOptionDefs[message.OptionID(id)]
		if known && def.ValueFormat == message.ValueUnknown {
			t.Fatalf("option %d: go-coap skips it as unknown, which decodeOptions does not", id)
		}
		for length := range 1100 {
			want := id%2 == 0 && known && (uint32(length) < def.MinLen || uint32(length) > def.MaxLen)
			if got := id%2 == 0 && badElectiveLen(id, length); got != want {
				t.Fatalf("option %d, %d bytes: dropped %v, go-coap %v", id, length, got, want)
			}
		}
	}
}

// sameDecoding reports how a and b, decoded from the same input, differ:
// any field, the nil-ness of Token, Options and Payload, and where Token,
// option values and Payload point and their capacity.
func sameDecoding(a, b *Message) string {
	if !equalMessages(a, b) {
		return "fields"
	}
	if (a.Token == nil) != (b.Token == nil) || (a.Options == nil) != (b.Options == nil) || (a.Payload == nil) != (b.Payload == nil) {
		return "nil-ness"
	}
	same := func(x, y []byte) bool {
		return cap(x) == cap(y) && (cap(x) == 0 || &x[:1][0] == &y[:1][0])
	}
	if !same(a.Token, b.Token) || !same(a.Payload, b.Payload) {
		return "token or payload aliasing"
	}
	for i := range a.Options {
		if !same(a.Options[i].Value, b.Options[i].Value) {
			return "option value aliasing"
		}
	}
	return ""
}

// checkSameAsGoCoap decodes in with unmarshal and with goCoapUnmarshal,
// into a zero Message and into one with content and room for options, and
// fails if the results differ in any way.
func checkSameAsGoCoap(t *testing.T, in []byte) {
	t.Helper()
	var got, want Message
	gotErr := got.UnmarshalBinary(in)
	wantErr := goCoapUnmarshal(&want, in)
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("% x: error %v, go-coap %v", in, gotErr, wantErr)
	}
	if gotErr != nil && !errors.Is(gotErr, errFormat) {
		t.Fatalf("% x: error %v does not wrap errFormat", in, gotErr)
	}
	if d := sameDecoding(&got, &want); d != "" {
		t.Fatalf("% x: decoded %v, go-coap %v (%s differ)", in, &got, &want, d)
	}
	// The endpoint's way: into a Message with room for the options; on
	// error it must be left as it was, its options' backing array too.
	token, x, y, payload := []byte{1}, []byte("x"), []byte("y"), []byte("p")
	prior := func() *Message {
		opts := make([]Option, 2, 8)
		opts[0], opts[1] = Option{OptURIPath, x}, Option{OptURIQuery, y}
		return &Message{Type: Reset, Code: model.Content, MID: 9, Token: token, Options: opts, Payload: payload}
	}
	reused, reusedWant := prior(), prior()
	if err := reused.UnmarshalBinary(in); (err == nil) != (wantErr == nil) {
		t.Fatalf("% x: reused: error %v, go-coap %v", in, err, wantErr)
	}
	backing := reused.Options[:cap(reused.Options)]
	if wantErr == nil {
		_ = goCoapUnmarshal(reusedWant, in)
	}
	if d := sameDecoding(reused, reusedWant); d != "" {
		t.Fatalf("% x: reused: decoded %v, go-coap %v (%s differ)", in, reused, reusedWant, d)
	}
	if wantErr != nil && (string(backing[0].Value) != "x" || string(backing[1].Value) != "y" || backing[2].Value != nil) {
		t.Fatalf("% x: failed decoding changed the options' backing array", in)
	}
}
