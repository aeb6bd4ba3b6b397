package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersionIsTheDefault(t *testing.T) {
	for _, args := range [][]string{nil, {"version"}} {
		code, out, _ := run(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
		for _, want := range []string{"wasm2m dev", "11542  tlv", "application/senml+cbor", "3303  1.1", "Temperature", "Device"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output lacks %q:\n%s", args, want, out)
			}
		}
	}
}

const ddf = `<?xml version="1.0" encoding="UTF-8"?>
<LWM2M><Object ObjectType="MODefinition"><Name>Valve</Name><Description1>a test valve</Description1>
<ObjectID>42769</ObjectID><ObjectURN>urn:oma:lwm2m:x:42769</ObjectURN><LWM2MVersion>1.1</LWM2MVersion>
<ObjectVersion>1.0</ObjectVersion><MultipleInstances>Multiple</MultipleInstances><Mandatory>Optional</Mandatory>
<Resources><Item ID="1"><Name>Open</Name><Operations>RW</Operations><MultipleInstances>Single</MultipleInstances>
<Mandatory>Mandatory</Mandatory><Type>Boolean</Type><RangeEnumeration></RangeEnumeration><Units></Units>
<Description>open or closed</Description></Item></Resources></Object></LWM2M>`

func TestObjectsLoadsDDF(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "42769.xml"), []byte(ddf), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "objects", "-v", "-ddf", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"1 loaded from", "42769", "Valve", "RW Boolean", "Open mandatory"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// One file works too.
	if code, out, _ := run(t, "objects", "-ddf", filepath.Join(dir, "42769.xml")); code != 0 || !strings.Contains(out, "Valve") {
		t.Errorf("single file: exit %d\n%s", code, out)
	}
}

func TestObjectsReportsBadDDF(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.xml"), []byte("<LWM2M><Object>\n<Name>x</Nam>"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "objects", "-ddf", dir)
	if code != 1 || !strings.Contains(errs, "bad.xml:2") {
		t.Errorf("exit %d, stderr %q: want 1 and the file and line", code, errs)
	}
	code, _, errs = run(t, "objects", "-ddf", filepath.Join(dir, "missing"))
	if code != 1 || !strings.Contains(errs, "missing") {
		t.Errorf("missing folder: exit %d, %q", code, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"bogus"}, {"objects", "-nope"}, {"version", "extra"}} {
		if code, _, errs := run(t, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, errs)
		}
	}
	if code, out, _ := run(t, "help"); code != 0 || !strings.Contains(out, "objects") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
	if code, _, _ := run(t, "objects", "-h"); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}
