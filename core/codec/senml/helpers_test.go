package senml

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

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

func res(id uint16, name string, typ model.Type, multiple bool) model.ResourceDef {
	ops := model.OpRead | model.OpWrite
	if typ == model.TypeNone {
		ops = model.OpExecute
	}
	return model.ResourceDef{ID: id, Name: name, Type: typ, Multiple: multiple, Operations: ops}
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
	s, i, f, b, tm := model.TypeString, model.TypeInteger, model.TypeFloat, model.TypeBoolean, model.TypeTime
	defs := []*model.ObjectDef{
		{ID: 1, Name: "LwM2M Server", Multiple: true, Resources: []model.ResourceDef{
			res(0, "Short Server ID", i, false), res(1, "Lifetime", i, false),
		}},
		{ID: 3, Name: "Device", Resources: []model.ResourceDef{
			res(0, "Manufacturer", s, false), res(1, "Model Number", s, false),
			res(2, "Serial Number", s, false), res(3, "Firmware Version", s, false),
			res(4, "Reboot", model.TypeNone, false), res(5, "Factory Reset", model.TypeNone, false),
			res(6, "Available Power Sources", i, true), res(7, "Power Source Voltage", i, true),
			res(8, "Power Source Current", i, true), res(9, "Battery Level", i, false),
			res(10, "Memory Free", i, false), res(11, "Error Code", i, true),
			res(12, "Reset Error Code", model.TypeNone, false), res(13, "Current Time", tm, false),
			res(14, "UTC Offset", s, false), res(15, "Timezone", s, false),
			res(16, "Supported Binding and Modes", s, false),
		}},
		{ID: 65, Name: "Example 65", Multiple: true, Resources: []model.ResourceDef{
			res(0, "Links", model.TypeObjlnk, true), res(1, "Number", s, false), res(2, "Count", i, false),
		}},
		{ID: 66, Name: "Example 66", Multiple: true, Resources: []model.ResourceDef{
			res(0, "Name", s, false), res(1, "Address", s, false), res(2, "Link", model.TypeObjlnk, false),
		}},
		{ID: 67, Name: "Example 67", Multiple: true, Resources: []model.ResourceDef{
			res(0, "IP", s, false), res(1, "Mask", s, false),
		}},
		{ID: 3308, Name: "Set Point", Multiple: true, Resources: []model.ResourceDef{
			res(5900, "Set Point Value", f, false),
		}},
		{ID: 3311, Name: "Light Control", Multiple: true, Resources: []model.ResourceDef{
			res(5850, "On/Off", b, false), res(5851, "Dimmer", i, false),
		}},
	}
	return model.NewRegistry(defs...)
}

// deviceInstance is /3/0 as Core 1.1 Table 7.4.4-2 reads it.
func deviceInstance() model.Node {
	return model.NewInstance(0,
		model.NewResource(0, model.String("Open Mobile Alliance")),
		model.NewResource(1, model.String("Lightweight M2M Client")),
		model.NewResource(2, model.String("345000123")),
		model.NewResource(3, model.String("1.0")),
		model.NewMultipleResourceOf(6, model.Int(1), model.Int(5)),
		model.NewMultipleResourceOf(7, model.Int(3800), model.Int(5000)),
		model.NewMultipleResourceOf(8, model.Int(125), model.Int(900)),
		model.NewResource(9, model.Int(100)),
		model.NewResource(10, model.Int(15)),
		model.NewMultipleResourceOf(11, model.Int(0)),
		model.NewResource(13, model.UnixTime(1367491215)),
		model.NewResource(14, model.String("+02:00")),
		model.NewResource(16, model.String("U")),
	)
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
