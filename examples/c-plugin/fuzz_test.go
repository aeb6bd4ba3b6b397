package cplugin

import (
	"context"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// FuzzCall sends arbitrary bytes to every method of the C plugin: the
// hand-written decoder must answer each with a response or a status, and
// never trap (a trap makes the host discard the instance, which Stats
// counts); and since C writing past a buffer inside the module's memory
// does not trap, the plugin must still answer its manifest unchanged
// afterwards. The seeds are valid requests of each method.
func FuzzCall(f *testing.F) {
	path := func(s string) *abi.Path { p := model.MustPath(s); return abi.PathOf(p) }
	node := func(n model.Node) *abi.Node { return abi.NodeOf(&n) }
	seeds := []struct {
		m   abi.Method
		msg interface{ MarshalAppend([]byte) []byte }
	}{
		{abi.MethodManifest, &abi.ManifestRequest{}},
		{abi.MethodObjectList, &abi.ObjectListRequest{}},
		{abi.MethodObjectInstances, &abi.ObjectInstancesRequest{ObjectID: 26241}},
		{abi.MethodObjectRead, &abi.ObjectReadRequest{Path: path("/26241")}},
		{abi.MethodObjectRead, &abi.ObjectReadRequest{Path: path("/26241/0/2")}},
		{abi.MethodObjectWrite, &abi.ObjectWriteRequest{Path: path("/26241/0"), Replace: true,
			Node: node(model.NewInstance(0, model.NewResource(0, model.Bool(true)), model.NewResource(5, model.String("x"))))}},
		{abi.MethodObjectWrite, &abi.ObjectWriteRequest{Path: path("/26241/0/1"), Node: node(model.NewResource(1, model.Int(40)))}},
		{abi.MethodObjectExecute, &abi.ObjectExecuteRequest{Path: path("/26241/0/4"), Args: []byte("0='a'")}},
		{abi.MethodObjectCreate, &abi.ObjectCreateRequest{ObjectID: 26241, Node: node(model.NewInstance(3, model.NewResource(1, model.Int(5))))}},
		{abi.MethodObjectDelete, &abi.ObjectDeleteRequest{Path: path("/26241/3")}},
	}
	for _, s := range seeds {
		f.Add(byte(s.m), s.msg.MarshalAppend(nil))
	}
	f.Add(byte(abi.MethodObjectRead), []byte{0x0a, 0x7f, 0x01})
	l := loadWith(f, nil)
	f.Fuzz(func(t *testing.T, m byte, req []byte) {
		before := l.plugin.Stats().Discarded
		l.plugin.Call(context.Background(), abi.Method(m%32), req)
		if after := l.plugin.Stats().Discarded; after != before {
			t.Fatalf("method %d with %x: the instance trapped or broke the ABI", m%32, req)
		}
		if mf, _, err := l.client.Manifest(context.Background()); err != nil || mf.ID != "objects.cvalve" || len(mf.Capabilities) != 2 {
			t.Fatalf("method %d with %x: the manifest is now %+v, %v", m%32, req, mf, err)
		}
	})
}
