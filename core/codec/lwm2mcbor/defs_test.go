package lwm2mcbor

import (
	"testing"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/model"
)

// typesDef has one single and one multiple resource of every type: id t
// is single, id 10+t multiple, for t in String..Corelnk (1..9); 30 is
// executable.
var typesDef = codectest.TypesDef(1000, codectest.ByNumber, 30)

// testDefs returns the Device object (LwM2M 1.0 Appendix E.4) and
// typesDef.
func testDefs(t testing.TB) *model.Registry {
	return codectest.Registry(t, codectest.DeviceDef(), typesDef)
}

// nodes is this package's codec for the shared checks and benchmarks.
var nodes = codectest.NodeCodec{Encode: Encode, Decode: Decode, Show: diag}
