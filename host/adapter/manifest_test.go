package adapter

import (
	"context"
	"strings"
	"testing"

	"github.com/wasm2m/wasm2m/sdk/abi"
)

// manifestCaller answers MethodManifest with m.
type manifestCaller struct{ m abi.Manifest }

func (c manifestCaller) Call(ctx context.Context, method abi.Method, req []byte) ([]byte, error) {
	return c.m.MarshalAppend(nil), nil
}

// A manifest whose id is not of the ABI's form is refused: in particular
// the host's own key-value namespaces, where the DTLS credentials and the
// bootstrap configurations live, can never be a plugin's.
func TestReadManifestID(t *testing.T) {
	for _, id := range []string{"", "#security", "#bootstrap", "objects", "Objects.x", "objects..x", "objects.x y"} {
		_, err := ReadManifest(context.Background(), manifestCaller{abi.Manifest{ID: id, Kind: string(abi.KindLogic)}})
		if err == nil {
			t.Errorf("id %q accepted", id)
		}
	}
	m, err := ReadManifest(context.Background(), manifestCaller{abi.Manifest{ID: "logic.audit-log_2", Kind: string(abi.KindLogic)}})
	if err != nil || !strings.HasPrefix(m.ID, "logic.") {
		t.Fatalf("a good id: %v %v", m, err)
	}
}
