package abi_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/wasm2m/wasm2m/sdk/abi"
)

// fuzzMessages are the messages a peer sends, every request and response
// of the methods and host methods, in a fixed order: the first byte of a
// fuzz input picks one. Append only, so that the committed corpus keeps
// its meaning.
var fuzzMessages = []func() message{
	func() message { return new(abi.ManifestRequest) },
	func() message { return new(abi.Manifest) },
	func() message { return new(abi.StartRequest) },
	func() message { return new(abi.StartResponse) },
	func() message { return new(abi.StopRequest) },
	func() message { return new(abi.StopResponse) },
	func() message { return new(abi.ObjectListRequest) },
	func() message { return new(abi.ObjectListResponse) },
	func() message { return new(abi.ObjectInstancesRequest) },
	func() message { return new(abi.ObjectInstancesResponse) },
	func() message { return new(abi.ObjectReadRequest) },
	func() message { return new(abi.ObjectReadResponse) },
	func() message { return new(abi.ObjectWriteRequest) },
	func() message { return new(abi.ObjectWriteResponse) },
	func() message { return new(abi.ObjectExecuteRequest) },
	func() message { return new(abi.ObjectExecuteResponse) },
	func() message { return new(abi.ObjectCreateRequest) },
	func() message { return new(abi.ObjectCreateResponse) },
	func() message { return new(abi.ObjectDeleteRequest) },
	func() message { return new(abi.ObjectDeleteResponse) },
	func() message { return new(abi.ObjectDiscoverRequest) },
	func() message { return new(abi.ObjectDiscoverResponse) },
	func() message { return new(abi.EventRequest) },
	func() message { return new(abi.EventResponse) },
	func() message { return new(abi.ChangedRequest) },
	func() message { return new(abi.ChangedResponse) },
	func() message { return new(abi.KVGetRequest) },
	func() message { return new(abi.KVGetResponse) },
	func() message { return new(abi.KVPutRequest) },
	func() message { return new(abi.KVPutResponse) },
	func() message { return new(abi.KVDeleteRequest) },
	func() message { return new(abi.KVDeleteResponse) },
	func() message { return new(abi.KVListRequest) },
	func() message { return new(abi.KVListResponse) },
	func() message { return new(abi.LWM2MRequest) },
	func() message { return new(abi.LWM2MResponse) },
}

// FuzzUnmarshal decodes arbitrary bytes as the message its first byte
// picks. Unmarshal must never panic; what it accepts must re-encode to
// bytes that decode to a message encoding to the same bytes, whose Size is their length; and
// the conversions to core/model must not panic on it either.
func FuzzUnmarshal(f *testing.F) {
	full := fullMessages()
	for i, mk := range fuzzMessages {
		name := reflect.TypeOf(mk()).Elem().Name()
		f.Add(append([]byte{byte(i)}, full[name].MarshalAppend(nil)...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		m := fuzzMessages[int(in[0])%len(fuzzMessages)]()
		if err := m.Unmarshal(in[1:]); err != nil {
			return
		}
		b := m.MarshalAppend(nil)
		if len(b) != m.Size() {
			t.Fatalf("Size %d, encoded %d", m.Size(), len(b))
		}
		m2 := reflect.New(reflect.TypeOf(m).Elem()).Interface().(message)
		if err := m2.Unmarshal(b); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		// Compared by their bytes, not with DeepEqual: a NaN float is
		// not equal to itself.
		if b2 := m2.MarshalAppend(nil); !bytes.Equal(b, b2) {
			t.Fatalf("re-encoding is not stable:\n%x\n%x", b, b2)
		}
		convert(m)
	})
}

// convert runs the model conversions of m's data model fields, for their
// panics only: a peer's values may well be invalid.
func convert(m message) {
	switch m := m.(type) {
	case *abi.ObjectListResponse:
		for i := range m.Objects {
			m.Objects[i].Model()
		}
	case *abi.ObjectReadRequest:
		m.Path.Model()
	case *abi.ObjectReadResponse:
		m.Node.Model()
	case *abi.ObjectWriteRequest:
		m.Path.Model()
		m.Node.Model()
	case *abi.ObjectCreateRequest:
		m.Node.Model()
	case *abi.EventRequest:
		if m.Event != nil {
			abi.PathsModel(m.Event.Paths)
			abi.EntriesModel(m.Event.Entries)
			for _, r := range m.Event.Records {
				r.Path.Model()
				r.Value.Model()
			}
		}
	case *abi.ChangedRequest:
		abi.PathsModel(m.Paths)
	case *abi.LWM2MRequest:
		m.Path.Model()
		m.Node.Model()
		abi.PathsModel(m.Paths)
		abi.EntriesModel(m.Entries)
	case *abi.LWM2MResponse:
		m.Node.Model()
		m.Location.Model()
		abi.EntriesModel(m.Entries)
	}
}
