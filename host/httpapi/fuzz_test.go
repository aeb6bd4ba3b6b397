package httpapi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

// FuzzDecodeNode: any bytes a caller sends as a node decode to a valid
// node or an error, and a node that decodes encodes and decodes again to
// the same node.
func FuzzDecodeNode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "read_*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var r struct{ Content json.RawMessage }
		if json.Unmarshal(b, &r) == nil && len(r.Content) > 0 {
			f.Add([]byte(r.Content))
		}
	}
	f.Add([]byte(`{"kind":"instance","resources":[{"id":7,"kind":"singleResource","type":"OBJLNK","value":{"objectId":3,"objectInstanceId":0}}]}`))
	f.Add([]byte(`{"id":6,"kind":"singleResource","type":"TIME","value":1700000000000}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := decodeNode(b)
		if err != nil {
			return
		}
		noID := n.Kind == model.KindInstance && n.ID == model.NoID // a Create's instance
		c := n.Clone()
		if noID {
			c.ID = 0
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("decoded an invalid node %v: %v", n, err)
		}
		j := encodeNode(&n)
		if noID {
			j.ID = nil
		}
		again, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		m, err := decodeNode(again)
		if err != nil {
			t.Fatalf("%s does not decode again: %v", again, err)
		}
		if !m.Equal(&n) {
			t.Fatalf("round trip: %v became %v (%s)", n, m, again)
		}
	})
}
