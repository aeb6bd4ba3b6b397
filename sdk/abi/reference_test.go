package abi_test

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/wasm2m/wasm2m/sdk/abi"
)

// The generated code checked against the reference implementation,
// google.golang.org/protobuf, reading abi.proto's descriptor set
// (testdata/abi.desc, regenerated with abi.pb.go). Only this test links
// it; sdk/abi itself does not.

func referenceFiles(t *testing.T) *protoregistry.Files {
	t.Helper()
	b, err := os.ReadFile("testdata/abi.desc")
	if err != nil {
		t.Fatal(err)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	files, err := protodesc.NewFiles(&set)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func referenceMessage(t *testing.T, files *protoregistry.Files, name string) protoreflect.MessageDescriptor {
	t.Helper()
	d, err := files.FindDescriptorByName(protoreflect.FullName("wasm2m.abi.v1." + name))
	if err != nil {
		t.Fatal(err)
	}
	return d.(protoreflect.MessageDescriptor)
}

func TestEveryMessageHasAFixture(t *testing.T) {
	files := referenceFiles(t)
	full := fullMessages()
	n := 0
	files.RangeFiles(func(f protoreflect.FileDescriptor) bool {
		for i := 0; i < f.Messages().Len(); i++ {
			name := string(f.Messages().Get(i).Name())
			n++
			if _, ok := full[name]; !ok {
				t.Errorf("message %s has no fixture in fullMessages", name)
			}
		}
		return true
	})
	if n != len(full) {
		t.Errorf("abi.proto has %d messages, fullMessages %d", n, len(full))
	}
}

// TestEveryFieldSet checks that the fixtures set every field of every
// message, so that the round trips test every field.
func TestEveryFieldSet(t *testing.T) {
	files := referenceFiles(t)
	for name, m := range fullMessages() {
		md := referenceMessage(t, files, name)
		dyn := dynamicpb.NewMessage(md)
		if err := proto.Unmarshal(m.MarshalAppend(nil), dyn); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := 0; i < md.Fields().Len(); i++ {
			if fd := md.Fields().Get(i); !dyn.Has(fd) {
				t.Errorf("%s: fixture leaves %s unset", name, fd.Name())
			}
		}
	}
}

// TestAgainstReference checks that the reference implementation parses
// our encoding of every message and encodes the same values to the same
// bytes, and that we decode its encoding to the same message.
func TestAgainstReference(t *testing.T) {
	files := referenceFiles(t)
	for name, m := range fullMessages() {
		t.Run(name, func(t *testing.T) {
			ours := m.MarshalAppend(nil)
			dyn := dynamicpb.NewMessage(referenceMessage(t, files, name))
			if err := proto.Unmarshal(ours, dyn); err != nil {
				t.Fatalf("reference cannot parse our bytes: %v", err)
			}
			if u := dyn.GetUnknown(); len(u) > 0 {
				t.Fatalf("reference sees unknown fields in our bytes: %x", u)
			}
			theirs, err := proto.MarshalOptions{Deterministic: true}.Marshal(dyn)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ours, theirs) {
				t.Fatalf("encodings differ:\n ours   %x\n theirs %x", ours, theirs)
			}
			got := fresh(m)
			if err := got.Unmarshal(theirs); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("decoding the reference's bytes:\n got %+v\nwant %+v", got, m)
			}
		})
	}
}

// TestUnpackedAccepted checks that repeated numbers sent one field each
// (unpacked, as proto2 and some hand-written encoders do) decode as the
// reference decodes them.
func TestUnpackedAccepted(t *testing.T) {
	files := referenceFiles(t)
	var in []byte
	for _, id := range []uint64{3303, 0, 5700} {
		in = protowire.AppendTag(in, 1, protowire.VarintType)
		in = protowire.AppendVarint(in, id)
	}
	dyn := dynamicpb.NewMessage(referenceMessage(t, files, "Path"))
	if err := proto.Unmarshal(in, dyn); err != nil {
		t.Fatal(err)
	}
	var ref []uint32
	l := dyn.Get(dyn.Descriptor().Fields().ByName("ids")).List()
	for i := 0; i < l.Len(); i++ {
		ref = append(ref, uint32(l.Get(i).Uint()))
	}
	var got abi.Path
	if err := got.Unmarshal(in); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.IDs, ref) || !reflect.DeepEqual(ref, []uint32{3303, 0, 5700}) {
		t.Fatalf("unpacked ids: ours %v, reference %v", got.IDs, ref)
	}
	reenc, err := proto.MarshalOptions{Deterministic: true}.Marshal(dyn)
	if err != nil {
		t.Fatal(err)
	}
	if ours := got.MarshalAppend(nil); !bytes.Equal(ours, reenc) {
		t.Fatalf("re-encoded packed: ours %x, reference %x", ours, reenc)
	}
}
