package omajson

import (
	"testing"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/model"
)

// typesDef has one single and one multiple resource of every type: id t
// is single, id 10+t multiple, for t in String..Corelnk (1..9); 30 is
// executable.
var typesDef = codectest.TypesDef(1000, codectest.ByNumber, 30)

// testDefs returns the Device object (LwM2M 1.0 Appendix E.4), typesDef
// and objects 65, 66 and 67 of the Object Link example of LwM2M 1.0
// section 6.4.4.
func testDefs(t testing.TB) *model.Registry {
	return codectest.Registry(t, append([]*model.ObjectDef{codectest.DeviceDef(), typesDef}, codectest.ObjlnkDefs()...)...)
}

// nodes is this package's codec for the shared checks and benchmarks.
var nodes = codectest.NodeCodec{Encode: Encode, Decode: Decode}
