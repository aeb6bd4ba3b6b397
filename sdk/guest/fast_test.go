package guest

import (
	"bytes"
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
