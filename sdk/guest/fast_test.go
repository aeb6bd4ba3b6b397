package guest

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// FuzzFastPath checks the fast path decoder against the generated one:
// whatever fastPath accepts, Unmarshal accepts with the same path.
func FuzzFastPath(f *testing.F) {
	for _, p := range []string{"/", "/3", "/3303/0", "/3303/0/5700", "/3/0/6/1", "/65534/65534/65534/65534"} {
		f.Add((&abi.ObjectReadRequest{Path: abi.PathOf(model.MustPath(p))}).MarshalAppend(nil))
	}
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Add([]byte{0x0a, 0x02, 0x08, 0x03})                   // ids unpacked
	f.Add([]byte{0x0a, 0x05, 0x0a, 0x03, 0xff, 0xff, 0x03}) // id 65535
	f.Add([]byte{0x0a, 0x03, 0x0a, 0x01, 0x03, 0x10, 0x01}) // an unknown field after
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ok := fastPath(b)
		var req abi.ObjectReadRequest
		err := req.Unmarshal(b)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("fastPath took %x as %s, Unmarshal: %v", b, p, err)
		}
		q, err := req.Path.Model()
		if err != nil || q != p {
			t.Fatalf("fastPath took %x as %s, generated code as %s, %v", b, p, q, err)
		}
	})
}

func TestFastPathTakesTheCommonForms(t *testing.T) {
	for _, s := range []string{"/", "/3", "/3303/0", "/3303/0/5700", "/3/0/6/1"} {
		b := (&abi.ObjectReadRequest{Path: abi.PathOf(model.MustPath(s))}).MarshalAppend(nil)
		if p, ok := fastPath(b); !ok || p.String() != s {
			t.Errorf("fastPath(%x) = %s, %v; want %s", b, p, ok, s)
		}
	}
}

func TestAppendChanged(t *testing.T) {
	for _, ps := range [][]model.Path{
		nil,
		{model.MustPath("/3303/0/5700")},
		{model.RootPath(), model.MustPath("/3"), model.MustPath("/65534/200/16384/127")},
	} {
		want := (&abi.ChangedRequest{Paths: abi.PathsOf(ps)}).MarshalAppend(nil)
		if got := appendChanged(nil, ps); !bytes.Equal(got, want) {
			t.Errorf("appendChanged(%v) = %x, generated code %x", ps, got, want)
		}
	}
}

func FuzzFillNode(f *testing.F) {
	f.Add(uint16(1), int64(5), "x", true)
	f.Fuzz(func(t *testing.T, id uint16, i int64, s string, multi bool) {
		if id > model.MaxID {
			return
		}
		n := model.NewInstance(0, model.NewResource(id, model.String(s)))
		if multi {
			n = model.NewInstance(1,
				model.NewMultipleResource(id, model.NewResourceInstance(0, model.Int(i)), model.NewResourceInstance(3, model.Opaque([]byte(s)))),
				model.NewResource(id+1, model.Value{}))
		}
		var m abi.Node
		// Fill twice with different shapes: reuse must not leak the first.
		other := model.NewInstance(9, model.NewResource(1, model.String("leftover-leftover")), model.NewResource(2, model.Float(1)), model.NewResource(3, model.Bool(true)))
		fillNode(&m, &other)
		fillNode(&m, &n)
		if got, want := m.MarshalAppend(nil), abi.NodeOf(&n).MarshalAppend(nil); !bytes.Equal(got, want) {
			t.Fatalf("fillNode(%v) encodes %x, NodeOf %x", n, got, want)
		}
	})
}

// FuzzFastEvent checks the fast event decoder against the generated code
// and eventOf: whatever fastEvent accepts, they accept, with the same
// Event.
func FuzzFastEvent(f *testing.F) {
	p := model.MustPath("/3303/0/5700")
	for _, ev := range []*abi.Event{
		{Type: abi.EventTypeNotification, TimeUnixNano: 1700000000123456789, Endpoint: "dev-1", RegistrationID: "r1", Lifetime: 300,
			Binding: "U", LWM2MVersion: "1.1", Address: "192.0.2.1:5683", Token: []byte{1, 2},
			Paths:   abi.PathsOf([]model.Path{p}),
			Entries: []abi.Entry{*abi.EntryOf(&model.Entry{Path: p, Node: model.NewResource(5700, model.Float(21.5))})},
			Records: []abi.Record{{Path: abi.PathOf(p), Value: abi.ValueOf(model.Float(21.5)), TimeUnixNano: 1}}},
		{Type: abi.EventTypeSend, Endpoint: "dev-2", Entries: []abi.Entry{*abi.EntryOf(&model.Entry{Path: model.MustPath("/3/0"),
			Node: model.NewInstance(0, model.NewResource(0, model.String("acme")), model.NewMultipleResourceOf(7, model.Int(-5), model.Uint(3)),
				model.NewResource(13, model.UnixTime(99)), model.NewResource(14, model.Objlnk(1, 2)), model.NewResource(15, model.Opaque([]byte{0})),
				model.NewResource(16, model.Bool(true)), model.NewResource(17, model.Corelnk("</1>")))})}},
		{Type: abi.EventTypeNotification, Endpoint: "dev-3", ErrorCode: 132, Error: "gone"},
		{Type: abi.EventTypeRegistered, Endpoint: "dev-4", Objects: []abi.RegisteredObject{{ID: 3303, Instances: []uint32{0}}}},
		{Type: abi.EventTypeAwake, Queue: true, Binding: "UQ"},
	} {
		f.Add((&abi.EventRequest{Event: ev}).MarshalAppend(nil))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c eventCache
		for range 2 { // the second time with the strings cached
			fast, ok := c.fastEvent(b)
			var req abi.EventRequest
			err := req.Unmarshal(b)
			if !ok {
				return
			}
			if err != nil {
				t.Fatalf("fastEvent took %x, Unmarshal: %v", b, err)
			}
			slow, err := eventOf(req.Event)
			if err != nil {
				t.Fatalf("fastEvent took %x, eventOf: %v", b, err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("%x:\nfast %+v\nslow %+v", b, fast, slow)
			}
		}
	})
}

func TestFastEventTakesNotifications(t *testing.T) {
	p := model.MustPath("/3303/0/5700")
	ev := &abi.Event{Type: abi.EventTypeNotification, TimeUnixNano: 1, Endpoint: "dev-1", RegistrationID: "r1", Lifetime: 300,
		Binding: "U", LWM2MVersion: "1.1", Address: "192.0.2.1:5683", Token: []byte{1, 2},
		Paths:   abi.PathsOf([]model.Path{p}),
		Entries: []abi.Entry{*abi.EntryOf(&model.Entry{Path: p, Node: model.NewMultipleResourceOf(5700, model.Float(21.5), model.String("x"))})},
		Records: []abi.Record{{Path: abi.PathOf(p), Value: abi.ValueOf(model.Float(21.5))}}}
	var c eventCache
	if _, ok := c.fastEvent((&abi.EventRequest{Event: ev}).MarshalAppend(nil)); !ok {
		t.Error("fastEvent gave up on a notification")
	}
	ev.Objects = []abi.RegisteredObject{{ID: 1}}
	if _, ok := c.fastEvent((&abi.EventRequest{Event: ev}).MarshalAppend(nil)); ok {
		t.Error("fastEvent took a registration's objects, which it leaves to the generated code")
	}
}
