package abi_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/sdk/abi"
)

// message is what every generated message implements.
type message interface {
	Size() int
	MarshalAppend(b []byte) []byte
	Unmarshal(b []byte) error
}

func u32(v uint32) *uint32 { return &v }

func fullPath() *abi.Path { return &abi.Path{IDs: []uint32{3303, 0, 5700, 65534}} }

func fullValue() *abi.Value {
	return &abi.Value{
		Type: abi.ValueTypeFloat, Integer: math.MinInt64, Unsigned: math.MaxUint64,
		Float: -0.5, Boolean: true, Bytes: []byte("\x00h\xffi"),
		ObjlnkObject: 65535, ObjlnkInstance: 7,
	}
}

func fullNode() *abi.Node {
	return &abi.Node{
		Kind: abi.NodeKindInstance, ID: 1, Value: fullValue(),
		Children: []abi.Node{
			{Kind: abi.NodeKindResource, ID: 5700, Value: &abi.Value{Type: abi.ValueTypeFloat, Float: 21.5}},
			{Kind: abi.NodeKindMultipleResource, ID: 7, Children: []abi.Node{
				{Kind: abi.NodeKindResourceInstance, ID: 0, Value: &abi.Value{Type: abi.ValueTypeInteger, Integer: -1}},
				{Kind: abi.NodeKindResourceInstance, ID: 9, Value: &abi.Value{Type: abi.ValueTypeString, Bytes: []byte("x")}},
			}},
		},
	}
}

func fullEntry() abi.Entry { return abi.Entry{Path: fullPath(), Node: fullNode()} }

func fullRecord() abi.Record {
	return abi.Record{Path: fullPath(), Value: fullValue(), TimeUnixNano: -1_700_000_000_123_456_789}
}

func fullResourceDef() abi.ResourceDef {
	return abi.ResourceDef{
		ID: 5700, Name: "Sensor Value", Operations: 3, Multiple: true, Mandatory: true,
		Type: abi.ValueTypeFloat, RangeText: "-40..85", HasRange: true, RangeMin: -40, RangeMax: 85,
		Units: "Cel", Description: "the value",
	}
}

func fullObjectDef() abi.ObjectDef {
	return abi.ObjectDef{
		ID: 3303, Name: "Temperature", Description: "a sensor", URN: "urn:oma:lwm2m:ext:3303:1.1",
		Version: "1.1", LWM2MVersion: "1.0", Multiple: true, Mandatory: true,
		Resources: []abi.ResourceDef{fullResourceDef(), {ID: 5701, Name: "Units", Type: abi.ValueTypeString, Operations: 1}},
	}
}

func fullEvent() *abi.Event {
	return &abi.Event{
		Type: abi.EventTypeNotification, TimeUnixNano: 1_700_000_000_000_000_001,
		Endpoint: "urn:dev:ops:32473-thermo-1", RegistrationID: "a1b2", Lifetime: 86400,
		Binding: "UQ", LWM2MVersion: "1.1", Queue: true, Address: "192.0.2.1:5683",
		Objects: []abi.RegisteredObject{
			{ID: 3303, Version: "1.1", Instances: []uint32{0, 1, 65534}},
			{ID: 1, Version: "1.0", Instances: []uint32{0}},
		},
		Token: []byte{0xde, 0xad, 0, 1}, Paths: []abi.Path{*fullPath(), {}},
		Entries: []abi.Entry{fullEntry(), fullEntry()}, Records: []abi.Record{fullRecord(), fullRecord()},
		ErrorCode: 132, Error: "not found",
	}
}

// fullMessages returns one of every message of abi.proto, keyed by its
// name, with every field set (TestEveryFieldSet checks that against the
// descriptor).
func fullMessages() map[string]message {
	return map[string]message{
		"Path":        fullPath(),
		"Value":       fullValue(),
		"Node":        fullNode(),
		"Entry":       func() *abi.Entry { e := fullEntry(); return &e }(),
		"Record":      func() *abi.Record { r := fullRecord(); return &r }(),
		"ResourceDef": func() *abi.ResourceDef { r := fullResourceDef(); return &r }(),
		"ObjectDef":   func() *abi.ObjectDef { d := fullObjectDef(); return &d }(),

		"ManifestRequest": &abi.ManifestRequest{},
		"Manifest": &abi.Manifest{
			ID: "objects.temperature", Kind: "object", ABIMinor: 3, Name: "Temperature", Version: "1.2.0",
			Description: "a thermometer", Capabilities: []string{abi.CapChanged, abi.CapKV, ""},
			ConfigSchema: `{"type":"object"}`,
		},
		"StartRequest":            &abi.StartRequest{Config: []byte(`{"unit":"Cel"}`)},
		"StartResponse":           &abi.StartResponse{},
		"StopRequest":             &abi.StopRequest{},
		"StopResponse":            &abi.StopResponse{},
		"ObjectListRequest":       &abi.ObjectListRequest{},
		"ObjectListResponse":      &abi.ObjectListResponse{Objects: []abi.ObjectDef{fullObjectDef(), {ID: 3311}}},
		"ObjectInstancesRequest":  &abi.ObjectInstancesRequest{ObjectID: 3303},
		"ObjectInstancesResponse": &abi.ObjectInstancesResponse{InstanceIDs: []uint32{0, 1, 200, 65534}},
		"ObjectReadRequest":       &abi.ObjectReadRequest{Path: fullPath()},
		"ObjectReadResponse":      &abi.ObjectReadResponse{Node: fullNode()},
		"ObjectWriteRequest":      &abi.ObjectWriteRequest{Path: fullPath(), Node: fullNode(), Replace: true},
		"ObjectWriteResponse":     &abi.ObjectWriteResponse{},
		"ObjectExecuteRequest":    &abi.ObjectExecuteRequest{Path: fullPath(), Args: []byte("0='a',1")},
		"ObjectExecuteResponse":   &abi.ObjectExecuteResponse{},
		"ObjectCreateRequest":     &abi.ObjectCreateRequest{ObjectID: 3303, Node: fullNode()},
		"ObjectCreateResponse":    &abi.ObjectCreateResponse{InstanceID: 65534},
		"ObjectDeleteRequest":     &abi.ObjectDeleteRequest{Path: fullPath()},
		"ObjectDeleteResponse":    &abi.ObjectDeleteResponse{},
		"ObjectDiscoverRequest":   &abi.ObjectDiscoverRequest{Path: fullPath()},
		"ObjectDiscoverResponse":  &abi.ObjectDiscoverResponse{Links: "</3303/0>,</3303/0/5700>;pmin=10"},
		"RegisteredObject":        &abi.RegisteredObject{ID: 3303, Version: "1.1", Instances: []uint32{0, 1}},
		"Event":                   fullEvent(),
		"EventRequest":            &abi.EventRequest{Event: fullEvent()},
		"EventResponse":           &abi.EventResponse{},
		"ChangedRequest":          &abi.ChangedRequest{Paths: []abi.Path{*fullPath(), {IDs: []uint32{3}}}},
		"ChangedResponse":         &abi.ChangedResponse{},
		"KVGetRequest":            &abi.KVGetRequest{Key: "state/last"},
		"KVGetResponse":           &abi.KVGetResponse{Found: true, Value: []byte{0, 1, 2}},
		"KVPutRequest":            &abi.KVPutRequest{Key: "state/last", Value: []byte{0xff}},
		"KVPutResponse":           &abi.KVPutResponse{},
		"KVDeleteRequest":         &abi.KVDeleteRequest{Key: "state/last"},
		"KVDeleteResponse":        &abi.KVDeleteResponse{},
		"KVListRequest":           &abi.KVListRequest{Prefix: "state/", After: "state/a", Limit: 100},
		"KVListResponse":          &abi.KVListResponse{Keys: []string{"state/b", "state/c"}, More: true},
		"LWM2MRequest": &abi.LWM2MRequest{
			Endpoint: "dev1", Operation: abi.OperationWriteComposite, Path: fullPath(),
			Paths: []abi.Path{*fullPath(), {IDs: []uint32{1}}}, Node: fullNode(),
			Entries: []abi.Entry{fullEntry()}, Args: []byte("1"), Attributes: "pmin=10&pmax=60",
			ContentFormat: u32(0), TimeoutMS: 5000,
		},
		"LWM2MResponse": &abi.LWM2MResponse{
			Code: 69, Node: fullNode(), Entries: []abi.Entry{fullEntry()},
			Links: "</3303/0>", Location: &abi.Path{IDs: []uint32{3303, 1}}, Token: []byte{1, 2, 3, 4, 5, 6, 7, 8},
		},
		"Registration":                        fullRegistration(),
		"Observation":                         fullObservation(),
		"StorePutRegistrationRequest":         &abi.StorePutRegistrationRequest{Registration: fullRegistration()},
		"StorePutRegistrationResponse":        &abi.StorePutRegistrationResponse{Replaced: fullRegistration()},
		"StoreDeleteRegistrationRequest":      &abi.StoreDeleteRegistrationRequest{ID: "r1"},
		"StoreDeleteRegistrationResponse":     &abi.StoreDeleteRegistrationResponse{Registration: fullRegistration(), Observations: []abi.Observation{*fullObservation()}},
		"StoreRegistrationRequest":            &abi.StoreRegistrationRequest{ID: "r1"},
		"StoreRegistrationResponse":           &abi.StoreRegistrationResponse{Registration: fullRegistration()},
		"StoreRegistrationByEndpointRequest":  &abi.StoreRegistrationByEndpointRequest{Endpoint: "ep"},
		"StoreRegistrationByEndpointResponse": &abi.StoreRegistrationByEndpointResponse{Registration: fullRegistration()},
		"StoreRegistrationsRequest":           &abi.StoreRegistrationsRequest{Cursor: "c", Limit: 100},
		"StoreRegistrationsResponse":          &abi.StoreRegistrationsResponse{Registrations: []abi.Registration{*fullRegistration()}, NextCursor: "n"},
		"StoreCountRegistrationsRequest":      &abi.StoreCountRegistrationsRequest{},
		"StoreCountRegistrationsResponse":     &abi.StoreCountRegistrationsResponse{Count: 100000},
		"StorePutObservationRequest":          &abi.StorePutObservationRequest{Observation: fullObservation()},
		"StorePutObservationResponse":         &abi.StorePutObservationResponse{},
		"StoreDeleteObservationRequest":       &abi.StoreDeleteObservationRequest{Token: []byte{1, 2}},
		"StoreDeleteObservationResponse":      &abi.StoreDeleteObservationResponse{Observation: fullObservation()},
		"StoreObservationRequest":             &abi.StoreObservationRequest{Token: []byte{1, 2}},
		"StoreObservationResponse":            &abi.StoreObservationResponse{Observation: fullObservation()},
		"StoreObservationsOfRequest":          &abi.StoreObservationsOfRequest{RegistrationID: "r1"},
		"StoreObservationsOfResponse":         &abi.StoreObservationsOfResponse{Observations: []abi.Observation{*fullObservation()}},
		"StoreKVGetRequest":                   &abi.StoreKVGetRequest{Namespace: "logic.x", Key: "k"},
		"StoreKVGetResponse":                  &abi.StoreKVGetResponse{Value: []byte("v")},
		"StoreKVPutRequest":                   &abi.StoreKVPutRequest{Namespace: "logic.x", Key: "k", Value: []byte("v")},
		"StoreKVPutResponse":                  &abi.StoreKVPutResponse{},
		"StoreKVDeleteRequest":                &abi.StoreKVDeleteRequest{Namespace: "logic.x", Key: "k"},
		"StoreKVDeleteResponse":               &abi.StoreKVDeleteResponse{},
		"StoreKVListRequest":                  &abi.StoreKVListRequest{Namespace: "logic.x", Prefix: "p", After: "a", Limit: 10},
		"StoreKVListResponse":                 &abi.StoreKVListResponse{Keys: []string{"a", "b"}, More: true},
		"StoreExpiredRequest":                 &abi.StoreExpiredRequest{BeforeUnixNano: 1_700_000_000_000_000_000, Limit: 1000},
		"StoreExpiredResponse":                &abi.StoreExpiredResponse{IDs: []string{"r1", "r2"}},
		"StoreDeleteExpiredRequest":           &abi.StoreDeleteExpiredRequest{ID: "r1", BeforeUnixNano: 1_700_000_000_000_000_000},
		"StoreDeleteExpiredResponse":          &abi.StoreDeleteExpiredResponse{Registration: fullRegistration(), Observations: []abi.Observation{*fullObservation()}},
		"CallRequest":                         &abi.CallRequest{Method: int32(abi.MethodStoreKVGet), Request: []byte{10, 1, 'k'}},
		"CallResponse":                        &abi.CallResponse{Response: []byte{10, 1, 'v'}, Status: abi.StatusNotFound, Error: "no such key"},
	}
}

func fullRegistration() *abi.Registration {
	return &abi.Registration{
		ID: "r1", Endpoint: "urn:imei:490154203237518", Lifetime: 86400, LWM2MVersion: "1.1",
		Binding: "UQ", Queue: true, Sms: "+15550100", Address: "198.51.100.7:56830", RootPath: "/",
		Objects:        []abi.RegisteredObject{{ID: 3303, Version: "1.1", Instances: []uint32{0, 1}}},
		ContentFormats: []uint32{110, 11542}, RegisteredAtUnixNano: 1741964966535897932,
		UpdatedAtUnixNano: 1741965056535897932, Secure: true, Identity: "psk-id",
	}
}

func fullObservation() *abi.Observation {
	return &abi.Observation{
		Token: []byte{1, 2, 3, 4}, RegistrationID: "r1", Endpoint: "ep", Paths: []abi.Path{{IDs: []uint32{3303, 0, 5700}}},
		Composite: true, Format: 112, CreatedAtUnixNano: 1741965000000000001,
	}
}

// fresh returns a new zero message of m's type.
func fresh(m message) message {
	return reflect.New(reflect.TypeOf(m).Elem()).Interface().(message)
}

func TestRoundTrip(t *testing.T) {
	for name, m := range fullMessages() {
		t.Run(name, func(t *testing.T) {
			b := m.MarshalAppend([]byte("prefix"))
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatal("MarshalAppend lost what b held")
			}
			b = b[len("prefix"):]
			if len(b) != m.Size() {
				t.Fatalf("Size %d, encoded %d bytes", m.Size(), len(b))
			}
			got := fresh(m)
			if err := got.Unmarshal(b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
			}
			// Unmarshal replaces: decoding again into the same message
			// gives the same, not twice the repeated fields.
			if err := got.Unmarshal(b); err != nil || !reflect.DeepEqual(got, m) {
				t.Fatalf("second Unmarshal into the same message: %v\n got %+v", err, got)
			}
			// m keeps no reference to b.
			for i := range b {
				b[i] = 0xff
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatal("the decoded message changed with its input")
			}
		})
	}
}

func TestZeroMessagesEncodeEmpty(t *testing.T) {
	for name, m := range fullMessages() {
		z := fresh(m)
		if b := z.MarshalAppend(nil); len(b) != 0 || z.Size() != 0 {
			t.Errorf("%s: zero message encodes to %x", name, b)
		}
		if err := z.Unmarshal(nil); err != nil {
			t.Errorf("%s: Unmarshal(nil): %v", name, err)
		}
	}
}

// unknownFields are a newer minor version's fields, one of every wire type
// proto3 uses (varint, fixed64, bytes, fixed32).
var unknownFields = []byte{
	0xa0, 0x1f, 0x96, 0x01, // 500: varint 150
	0xa9, 0x1f, 1, 2, 3, 4, 5, 6, 7, 8, // 501: fixed64
	0xb2, 0x1f, 3, 'n', 'e', 'w', // 502: bytes
	0xbd, 0x1f, 1, 2, 3, 4, // 503: fixed32
}

func TestUnknownFieldsSkipped(t *testing.T) {
	for name, m := range fullMessages() {
		t.Run(name, func(t *testing.T) {
			b := m.MarshalAppend(nil)
			for _, in := range [][]byte{
				append(append([]byte(nil), unknownFields...), b...),
				append(append([]byte(nil), b...), unknownFields...),
			} {
				got := fresh(m)
				if err := got.Unmarshal(in); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, m) {
					t.Fatalf("with unknown fields:\n got %+v\nwant %+v", got, m)
				}
			}
		})
	}
}

func TestUnknownFieldsInNestedMessage(t *testing.T) {
	// An ObjectReadRequest whose Path carries a field 9 of a newer version.
	in := []byte{0x0a, 0x09, 0x0a, 0x05, 0xe7, 0x19, 0x00, 0xc4, 0x2c, 0x48, 0x01}
	var m abi.ObjectReadRequest
	if err := m.Unmarshal(in); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Path.IDs, []uint32{3303, 0, 5700}) {
		t.Fatalf("path %v", m.Path.IDs)
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name string
		in   string // hex
		why  string
	}{
		{"truncated tag", "80", "truncated"},
		{"field number 0", "0001", "invalid field number"},
		{"truncated varint", "1080", "truncated"},
		{"varint over 64 bits", "10ffffffffffffffffff7f", "overflows"},
		{"truncated bytes", "0a05e719", "truncated"},
		{"length beyond input", "0aff0f00", "truncated"},
		{"wrong wire type for a message", "0801", "wrong wire type"},
		{"wrong wire type in the nested path", "0a050d01020304", "wrong wire type"},
		{"packed varint truncated", "0a030a0180", "truncated"},
		{"group", "1b1c", "groups are not supported"},
		{"wire type 6", "0e", "wrong wire type"},
		{"truncated fixed32", "7d0102", "truncated"},
		{"truncated fixed64 of an unknown field", "790102", "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, _ := hex.DecodeString(tc.in)
			var m abi.ObjectReadRequest
			err := m.Unmarshal(in)
			if err == nil {
				t.Fatalf("Unmarshal(%s) = nil, want %q", tc.in, tc.why)
			}
			if !errors.Is(err, abi.ErrMalformed) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("Unmarshal(%s) = %v, want ErrMalformed: %q", tc.in, err, tc.why)
			}
		})
	}
}

func TestFloatWrongWireType(t *testing.T) {
	var v abi.Value
	if err := v.Unmarshal([]byte{0x20, 0x01}); !errors.Is(err, abi.ErrMalformed) { // float as varint
		t.Fatalf("got %v", err)
	}
}

// nested returns a Node nested depth deep, encoded.
func nested(depth int) []byte {
	n := &abi.Node{Kind: abi.NodeKindResourceInstance}
	for range depth - 1 {
		n = &abi.Node{Kind: abi.NodeKindObject, Children: []abi.Node{*n}}
	}
	return n.MarshalAppend(nil)
}

func TestDepthBounded(t *testing.T) {
	var n abi.Node
	if err := n.Unmarshal(nested(33)); err != nil {
		t.Fatalf("33 levels: %v", err)
	}
	err := n.Unmarshal(nested(34))
	if !errors.Is(err, abi.ErrMalformed) || !strings.Contains(err.Error(), "nested too deeply") {
		t.Fatalf("34 levels: %v", err)
	}
	// A child that claims more bytes than there are.
	if err := n.Unmarshal([]byte{0x22, 0x80, 0x80, 0x01}); !errors.Is(err, abi.ErrMalformed) {
		t.Fatalf("lying length: %v", err)
	}
	// A hostile input of 100,000 levels fails without exhausting the stack.
	if err := n.Unmarshal(deepInput(100_000)); !errors.Is(err, abi.ErrMalformed) {
		t.Fatalf("100000 levels: %v", err)
	}
}

// deepInput encodes Node{children: [Node{children: [...]}]} levels deep
// without building the tree: each level is a tag and a length in front of
// the next.
func deepInput(levels int) []byte {
	size := make([]int, levels+1) // size[k]: the encoding of the k innermost levels
	for k := 1; k <= levels; k++ {
		size[k] = 1 + len(appendVarint(nil, uint64(size[k-1]))) + size[k-1]
	}
	b := make([]byte, 0, size[levels])
	for k := levels; k > 0; k-- {
		b = append(b, 0x22)
		b = appendVarint(b, uint64(size[k-1]))
	}
	return b
}

func appendVarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// The worked example of GUIDE.md: a read of /3303/0/5700 and its answer,
// 21.5 degrees.
func TestGuideExample(t *testing.T) {
	req := &abi.ObjectReadRequest{Path: &abi.Path{IDs: []uint32{3303, 0, 5700}}}
	if got, want := hex.EncodeToString(req.MarshalAppend(nil)), "0a070a05e71900c42c"; got != want {
		t.Errorf("ObjectReadRequest = %s, want %s", got, want)
	}
	resp := &abi.ObjectReadResponse{Node: &abi.Node{
		Kind: abi.NodeKindResource, ID: 5700,
		Value: &abi.Value{Type: abi.ValueTypeFloat, Float: 21.5},
	}}
	if got, want := hex.EncodeToString(resp.MarshalAppend(nil)), "0a12080310c42c1a0b0804210000000000803540"; got != want {
		t.Errorf("ObjectReadResponse = %s, want %s", got, want)
	}
	// An error travels as a status, not a message: nothing to encode.
	// A Manifest, for the guide's lifecycle section.
	man := &abi.Manifest{ID: "objects.temperature", Kind: "object", Capabilities: []string{"changed"}}
	if got, want := hex.EncodeToString(man.MarshalAppend(nil)), "0a136f626a656374732e74656d70657261747572651206"+"6f626a656374"+"3a076368616e676564"; got != want {
		t.Errorf("Manifest = %s, want %s", got, want)
	}
}

// An empty packed field decodes as no element, nil as after a round trip.
func TestEmptyPackedIsNil(t *testing.T) {
	var p abi.Path
	if err := p.Unmarshal([]byte{0x0a, 0x00}); err != nil || p.IDs != nil {
		t.Fatalf("got %#v, %v", p.IDs, err)
	}
}
