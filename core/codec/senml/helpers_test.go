package senml

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	"github.com/wasm2m/wasm2m/core/model"
)

var mp = model.MustPath

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compact removes the white space outside strings from SenML JSON, as
// the specification prints its examples with spaces and line breaks.
func compact(s string) string {
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in && c == '\\':
			b.WriteByte(c)
			i++
			c = s[i]
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\n' || c == '\t' || c == '\r'):
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// testDefs holds the objects the specification's examples use: Device
// (3), Server (1), Light Control (3311), Set Point (3308) and the
// Objlnk example objects 65 to 67 of Core 1.1 Table 7.4.4-4.
func testDefs(t testing.TB) *model.Registry {
	t.Helper()
	r, err := newTestDefs()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newTestDefs() (*model.Registry, error) {
	res := codectest.Res
	i, f, b := model.TypeInteger, model.TypeFloat, model.TypeBoolean
	defs := append([]*model.ObjectDef{
		{ID: 1, Name: "LwM2M Server", Multiple: true, Resources: []model.ResourceDef{
			res(0, "Short Server ID", i, false), res(1, "Lifetime", i, false),
		}},
		codectest.DeviceDef(),
		{ID: 3308, Name: "Set Point", Multiple: true, Resources: []model.ResourceDef{
			res(5900, "Set Point Value", f, false),
		}},
		{ID: 3311, Name: "Light Control", Multiple: true, Resources: []model.ResourceDef{
			res(5850, "On/Off", b, false), res(5851, "Dimmer", i, false),
		}},
	}, codectest.ObjlnkDefs()...)
	return model.NewRegistry(defs...)
}

func mustBadRequest(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, model.ErrBadRequest) {
		t.Fatalf("error %v is not 4.00", err)
	}
	if !strings.Contains(err.Error(), "senml: ") {
		t.Errorf("error %q lacks the package prefix", err)
	}
}

// sameRecords reports whether a and b hold the same paths, values and
// times, times within tol.
func sameRecords(a, b []model.Record, tol time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Path != b[i].Path || a[i].Value != b[i].Value || a[i].Time.IsZero() != b[i].Time.IsZero() {
			return false
		}
		d := a[i].Time.Sub(b[i].Time)
		if d < -tol || d > tol {
			return false
		}
	}
	return true
}

// nodes returns f as a codec of nodes for the shared checks and
// benchmarks.
func (f format) nodes() codectest.NodeCodec {
	return codectest.NodeCodec{Encode: f.encode, Decode: f.decode, Show: func(b []byte) string { return show(f, b) }}
}
