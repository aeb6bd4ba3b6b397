package objects

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"testing/iotest"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// findDDFDir returns the directory of the DDF test corpus: $WASM2M_DDF_DIR
// when set (the test fails when it is set and wrong), else
// ../shared/testdata/ddf next to the module root, else
// /work/shared/testdata/ddf. It skips the test when none exists.
func findDDFDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("WASM2M_DDF_DIR"); dir != "" {
		if !isDDFDir(dir) {
			t.Fatalf("WASM2M_DDF_DIR=%q is not a directory holding *.xml object definition files", dir)
		}
		return dir
	}
	var looked []string
	if root, ok := moduleRoot(); ok {
		dir := filepath.Join(filepath.Dir(root), "shared", "testdata", "ddf")
		if isDDFDir(dir) {
			return dir
		}
		looked = append(looked, dir)
	}
	const fallback = "/work/shared/testdata/ddf"
	if isDDFDir(fallback) {
		return fallback
	}
	looked = append(looked, fallback)
	t.Skipf("DDF corpus not found (looked in %s); set WASM2M_DDF_DIR to a directory of OMA object definition files to run this test",
		strings.Join(looked, " and "))
	return ""
}

// moduleRoot returns the directory holding go.mod, going up from the
// working directory (the package directory under go test).
func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func isDDFDir(dir string) bool {
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	return err == nil && len(files) > 0
}

// corpusSize is the number of files, and of object definitions, in the
// shared corpus (one object per published file).
const corpusSize = 358

func TestLoadDirCorpus(t *testing.T) {
	dir := findDDFDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defs, err := LoadDir(os.DirFS(dir), ".")
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	want := len(files)
	if os.Getenv("WASM2M_DDF_DIR") == "" {
		want = corpusSize
	}
	if len(defs) != want {
		t.Errorf("LoadDir: %d object definitions from %d files, want %d", len(defs), len(files), want)
	}
	resources := 0
	for i, d := range defs {
		if err := d.Validate(); err != nil {
			t.Errorf("object %d %s: %v", d.ID, d.Version, err)
		}
		if i > 0 {
			p := defs[i-1]
			if p.ID > d.ID || p.ID == d.ID && p.Version.Compare(d.Version) >= 0 {
				t.Errorf("definitions out of order: %d %s before %d %s", p.ID, p.Version, d.ID, d.Version)
			}
		}
		resources += len(d.Resources)
	}
	t.Logf("%d files, %d objects, %d resources", len(files), len(defs), resources)
}

func TestLoadFileCorpus(t *testing.T) {
	dir := findDDFDir(t)
	load := func(t *testing.T, file string) *model.ObjectDef {
		t.Helper()
		defs, err := LoadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if len(defs) != 1 {
			t.Fatalf("%s: %d definitions, want 1", file, len(defs))
		}
		return defs[0]
	}
	res := func(t *testing.T, d *model.ObjectDef, id uint16) *model.ResourceDef {
		t.Helper()
		r := d.Resource(id)
		if r == nil {
			t.Fatalf("object %d %s has no resource %d", d.ID, d.Version, id)
		}
		return r
	}
	t.Run("3303 temperature", func(t *testing.T) {
		d := load(t, "3303.xml")
		if d.ID != 3303 || d.Name != "Temperature" || d.Version != model.V1_1 || d.LWM2MVersion != model.V1_0 ||
			!d.Multiple || d.Mandatory || d.URN != "urn:oma:lwm2m:ext:3303:1.1" {
			t.Errorf("object header = %d %q %s %s multiple=%v mandatory=%v %q", d.ID, d.Name, d.Version, d.LWM2MVersion, d.Multiple, d.Mandatory, d.URN)
		}
		r := res(t, d, 5700)
		want := model.ResourceDef{ID: 5700, Name: "Sensor Value", Operations: model.OpRead, Mandatory: true, Type: model.TypeFloat,
			Description: "Last or Current Measured Value from the Sensor."}
		if !reflect.DeepEqual(*r, want) {
			t.Errorf("5700 = %+v, want %+v", *r, want)
		}
		// The file lists 5700 first; resources come out sorted.
		if d.Resources[0].ID != 5518 {
			t.Errorf("first resource %d, want 5518", d.Resources[0].ID)
		}
		r = res(t, d, 5605)
		if r.Operations != model.OpExecute || r.Type != model.TypeNone {
			t.Errorf("5605 = %s %s, want E none", r.Operations, r.Type)
		}
		r = res(t, d, 6050)
		if !r.HasRange || r.Range != (model.Range{Min: 0, Max: 1}) || r.Units != "s" {
			t.Errorf("6050 range %v %+v units %q, want 0..1 s", r.HasRange, r.Range, r.Units)
		}
	})
	t.Run("3 device 1.2", func(t *testing.T) {
		d := load(t, "3.xml")
		if d.Version != model.V1_2 || d.Multiple || !d.Mandatory {
			t.Errorf("object 3: version %s multiple=%v mandatory=%v", d.Version, d.Multiple, d.Mandatory)
		}
		r := res(t, d, 11)
		if r.Name != "Error Code" || !r.Multiple || !r.Mandatory || r.Type != model.TypeInteger || r.Operations != model.OpRead {
			t.Errorf("3/0/11 = %+v, want a mandatory multiple Integer R", *r)
		}
		if !r.HasRange || r.Range.Max != 32 {
			t.Errorf("3/0/11 range %q parsed as %v %+v", r.RangeText, r.HasRange, r.Range)
		}
	})
	t.Run("3 device 1.0 default version", func(t *testing.T) {
		d := load(t, "3-1_0.xml")
		if d.Version != model.V1_0 || d.LWM2MVersion != model.V1_0 {
			t.Errorf("3-1_0.xml: version %s lwm2m %s, want the 1.0 defaults", d.Version, d.LWM2MVersion)
		}
	})
	t.Run("0 security 1.0 names and ranges", func(t *testing.T) {
		d := load(t, "0-1_0.xml")
		// The file spells it "LWM2M  Server URI", two spaces.
		if r := res(t, d, 0); r.Name != "LWM2M Server URI" || r.Operations != 0 || r.Type != model.TypeString || r.HasRange {
			t.Errorf("0/0/0 = %+v", *r)
		}
		if r := res(t, d, 10); !r.HasRange || r.Range != (model.Range{Min: 1, Max: 65534}) {
			t.Errorf("0/0/10 range %q parsed as %v %+v", r.RangeText, r.HasRange, r.Range)
		}
		if r := res(t, d, 8); r.HasRange || r.RangeText != "16-32-48 bytes" {
			t.Errorf("0/0/8 range %q parsed as %v", r.RangeText, r.HasRange)
		}
	})
	t.Run("21 trailing spaces in names", func(t *testing.T) {
		d := load(t, "21.xml")
		if r := res(t, d, 4); r.Name != "OSCORE HMAC Algorithm" {
			t.Errorf("21/0/4 name %q", r.Name)
		}
	})
	t.Run("10308 white space only fields", func(t *testing.T) {
		d := load(t, "10308.xml")
		for _, r := range d.Resources {
			if strings.TrimSpace(r.Units) != r.Units || strings.TrimSpace(r.RangeText) != r.RangeText {
				t.Errorf("10308/%d: units %q range %q not trimmed", r.ID, r.Units, r.RangeText)
			}
		}
	})
}

func TestParseDDFValid(t *testing.T) {
	defs, err := LoadFile(filepath.Join("testdata", "valid.xml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []*model.ObjectDef{
		{
			ID: 32770, Name: "Test Widget", Description: "A widget & its knobs.", URN: "urn:oma:lwm2m:x:32770",
			Version: model.V1_0, LWM2MVersion: model.V1_0, Multiple: true, Mandatory: false,
			Resources: []model.ResourceDef{
				{ID: 2, Name: "Press", Operations: model.OpExecute, Type: model.TypeNone,
					Description: "Executable given a type: the type is dropped."},
				{ID: 5, Name: "Label", Operations: model.OpRead, Multiple: true, Type: model.TypeString, RangeText: "0..64",
					Description: "A length range: kept as text only."},
				{ID: 7, Name: "Knob", Operations: model.OpRead | model.OpWrite, Mandatory: true, Type: model.TypeInteger,
					RangeText: "0..100", Range: model.Range{Min: 0, Max: 100}, HasRange: true, Description: "Knob position."},
				{ID: 9, Name: "Secret", Type: model.TypeOpaque},
				{ID: 11, Name: "Reading", Operations: model.OpRead, Type: model.TypeFloat, RangeText: "-40..125",
					Range: model.Range{Min: -40, Max: 125}, HasRange: true, Units: "Cel", Description: "Temperature."},
				{ID: 12, Name: "Level", Operations: model.OpRead, Type: model.TypeUnsigned, RangeText: "0-255",
					Range: model.Range{Min: 0, Max: 255}, HasRange: true, Units: "/100", Description: "Level."},
			},
		},
		{
			ID: 32771, Name: "Empty", URN: "urn:oma:lwm2m:x:32771:2.0", Version: model.Version{Major: 2},
			LWM2MVersion: model.V1_1, Mandatory: true, Resources: []model.ResourceDef{},
		},
	}
	if !reflect.DeepEqual(defs, want) {
		for i := range max(len(defs), len(want)) {
			var got, exp *model.ObjectDef
			if i < len(defs) {
				got = defs[i]
			}
			if i < len(want) {
				exp = want[i]
			}
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("definition %d:\n got %+v\nwant %+v", i, got, exp)
			}
		}
	}
}

// TestParseDDFBadFiles checks the hand-written malformed documents in
// testdata/bad: each fails with an error naming the file, line and column.
// For malformed XML the column is where the decoder stopped, just past the
// fault.
func TestParseDDFBadFiles(t *testing.T) {
	tests := []struct {
		file      string
		line, col int
		msg       string
		is        error
	}{
		{"mismatched.xml", 4, 23, "malformed XML: element <Name> closed by </Nme>", nil},
		{"truncated.xml", 6, 1, "malformed XML: unexpected EOF", nil},
		{"xxe.xml", 2, 1, "DOCTYPE: entity declarations are not accepted", ErrEntity},
		{"billion_laughs.xml", 2, 1, "DOCTYPE: entity declarations are not accepted", ErrEntity},
		{"undeclared_entity.xml", 4, 23, "malformed XML: invalid character entity &chips;", nil},
		{"latin1.xml", 1, 44, `opening charset "ISO-8859-1": only UTF-8 is accepted`, nil},
		{"invalid_utf8.xml", 4, 15, "malformed XML: invalid UTF-8", nil},
		{"wrong_root.xml", 3, 1, "root element is <Objects>, want <LWM2M>", nil},
		{"two_roots.xml", 10, 1, "second root element <LWM2M>", nil},
		{"markup_in_field.xml", 4, 16, "<b> inside <Name>, which holds text only", nil},
		{"unknown_type.xml", 14, 9, `object 32770 resource 1: <Type>: unknown data type "Flot"`, nil},
		{"duplicate_resource.xml", 16, 7, "object 32770: resource 1 is already defined on line 9", nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "bad", tc.file)
			defs, err := LoadFile(path)
			if err == nil {
				t.Fatalf("LoadFile = %d definitions, want an error", len(defs))
			}
			if defs != nil {
				t.Errorf("LoadFile returned definitions with its error")
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.Name != path || pe.Line != tc.line || pe.Column != tc.col {
				t.Errorf("error at %s:%d:%d, want %s:%d:%d (%v)", pe.Name, pe.Line, pe.Column, path, tc.line, tc.col, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

// TestParseDDFEntitiesNeverResolved makes sure an XXE payload cannot read
// a file: the entity points at a file holding a marker, and neither the
// error nor anything else carries the marker. It also bounds the time a
// "billion laughs" document takes to refuse.
func TestParseDDFEntitiesNeverResolved(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.txt")
	const marker = "marker-7f3a9c"
	if err := os.WriteFile(secret, []byte(marker), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, doc string }{
		{"external entity", `<!DOCTYPE LWM2M [<!ENTITY x SYSTEM "file://` + secret + `">]><LWM2M><Object><Name>&x;</Name></Object></LWM2M>`},
		{"parameter entity", `<!DOCTYPE LWM2M [<!ENTITY % p SYSTEM "file://` + secret + `"> %p;]><LWM2M/>`},
		{"lowercase keyword", `<!DOCTYPE LWM2M [<!entity x "y">]><LWM2M/>`},
		{"external DTD with entity", `<!DOCTYPE LWM2M SYSTEM "file://` + secret + `" [<!ENTITY x "y">]><LWM2M/>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defs, err := ParseDDF(strings.NewReader(tc.doc), "xxe.xml")
			if !errors.Is(err, ErrEntity) {
				t.Fatalf("ParseDDF = %v, %v; want ErrEntity", defs, err)
			}
			if strings.Contains(err.Error(), marker) {
				t.Errorf("error %q carries the file's content", err)
			}
		})
	}
	t.Run("billion laughs is quick", func(t *testing.T) {
		start := time.Now()
		_, err := LoadFile(filepath.Join("testdata", "bad", "billion_laughs.xml"))
		if !errors.Is(err, ErrEntity) {
			t.Fatalf("err = %v, want ErrEntity", err)
		}
		// Not a performance assertion: a refusal that expanded anything
		// would take minutes and gigabytes, not seconds.
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("refusal took %v", d)
		}
	})
}

// item returns an <Item> for the documents of TestParseDDFErrors.
func item(id, body string) string {
	return `<Item ID="` + id + `">` + body + `</Item>`
}

const okItem = `<Name>V</Name><Operations>R</Operations><MultipleInstances>Single</MultipleInstances>` +
	`<Mandatory>Mandatory</Mandatory><Type>Integer</Type>`

// object returns a one-object document: the header elements, then items.
func object(header string, items ...string) string {
	return "<LWM2M>\n<Object ObjectType=\"MODefinition\">" + header +
		"<Resources>" + strings.Join(items, "") + "</Resources></Object>\n</LWM2M>"
}

const okHeader = `<Name>O</Name><ObjectID>32770</ObjectID><MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>`

func TestParseDDFErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		msg  string
	}{
		{"empty input", "", "input:1:1: no <LWM2M> root element"},
		{"only a declaration", `<?xml version="1.0"?>`, "no <LWM2M> root element"},
		{"no object", "<LWM2M>\n</LWM2M>", "input:1:1: no <Object> in <LWM2M>"},
		{"text at top level", "hello<LWM2M/>", "text outside the root element"},
		{"text in root", "<LWM2M>hello</LWM2M>", "unexpected text in <LWM2M>"},
		{"text in object", object(okHeader + "stray"), "unexpected text in <Object>"},
		{"object type", `<LWM2M><Object ObjectType="Other">` + okHeader + `</Object></LWM2M>`, `object type "Other", want MODefinition`},
		{"missing object id", object(`<Name>O</Name>`), "input:2:1: object: missing <ObjectID>"},
		{"object id too big", object(`<ObjectID>65535</ObjectID>`), `<ObjectID>: id "65535" is not a decimal number from 0 to 65534`},
		{"object id negative", object(`<ObjectID>-1</ObjectID>`), `<ObjectID>: id "-1" is not`},
		{"missing name", object(`<ObjectID>9</ObjectID><MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>`), "object 9: missing <Name>"},
		{"empty name", object(`<Name> </Name><ObjectID>9</ObjectID><MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>`), "object 9: <Name> is empty"},
		{"missing multiple", object(`<Name>O</Name><ObjectID>9</ObjectID><Mandatory>Optional</Mandatory>`), "object 9: missing <MultipleInstances>"},
		{"bad multiple", object(`<Name>O</Name><ObjectID>9</ObjectID><MultipleInstances>Many</MultipleInstances><Mandatory>Optional</Mandatory>`),
			`object 9: <MultipleInstances> is "Many", want Multiple or Single`},
		{"bad mandatory", object(`<Name>O</Name><ObjectID>9</ObjectID><MultipleInstances>Single</MultipleInstances><Mandatory>Yes</Mandatory>`),
			`object 9: <Mandatory> is "Yes", want Mandatory or Optional`},
		{"bad version", object(okHeader + `<ObjectVersion>1.x</ObjectVersion>`), `object 32770: <ObjectVersion>: version "1.x": want major.minor`},
		{"bad lwm2m version", object(okHeader + `<LWM2MVersion>one</LWM2MVersion>`), `object 32770: <LWM2MVersion>: version "one"`},
		{"field twice", object(okHeader + `<Name>P</Name>`), "<Name> given twice (first on line 2)"},
		{"resources twice", object(okHeader + `<Resources/>`), "<Resources> given twice"},
		{"object twice", "<LWM2M>\n<Object>" + okHeader + "</Object>\n<Object>" + okHeader + "</Object></LWM2M>",
			"input:3:1: object 32770 version 1.0 is already defined on line 2"},
		{"item without id", object(okHeader, "<Item>"+okItem+"</Item>"), "object 32770: <Item> has no ID attribute"},
		{"item id not a number", object(okHeader, item("x1", okItem)), `object 32770: <Item ID="x1">: id "x1" is not`},
		{"item id too big", object(okHeader, item("70000", okItem)), `<Item ID="70000">`},
		{"item missing operations", object(okHeader, item("1", `<Name>V</Name><MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Type>Integer</Type>`)),
			"object 32770 resource 1: missing <Operations>"},
		{"item misspelt element", object(okHeader, item("1", `<Name>V</Name><Operation>R</Operation><MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory><Type>Integer</Type>`)),
			"object 32770 resource 1: missing <Operations>"},
		{"item missing type", object(okHeader, item("1", `<Name>V</Name><Operations>R</Operations><MultipleInstances>Single</MultipleInstances><Mandatory>Optional</Mandatory>`)),
			"object 32770 resource 1: missing <Type>"},
		{"bad operations", object(okHeader, item("1", strings.Replace(okItem, ">R<", ">RX<", 1))),
			`object 32770 resource 1: <Operations>: operations "RX": want R, W, RW, E or nothing`},
		{"execute with read", object(okHeader, item("1", strings.Replace(okItem, ">R<", ">RE<", 1))),
			"E does not combine with R or W"},
		{"readable without type", object(okHeader, item("1", strings.Replace(okItem, "Integer", "", 1))),
			"object 32770 resource 1: <Type> is empty, which only an executable resource may be"},
		{"no operations without type", object(okHeader, item("1", strings.Replace(strings.Replace(okItem, ">R<", "><", 1), "Integer", "", 1))),
			"<Type> is empty"},
		{"item bad multiple", object(okHeader, item("1", strings.Replace(okItem, ">Single<", ">single-ish<", 1))),
			`object 32770 resource 1: <MultipleInstances> is "single-ish"`},
		{"item field twice", object(okHeader, item("1", okItem+"<Units>s</Units><Units>m</Units>")), "<Units> given twice"},
		{"item empty name", object(okHeader, item("1", strings.Replace(okItem, ">V<", "><", 1))), "object 32770 resource 1: <Name> is empty"},
		{"doctype after root", "<LWM2M><!DOCTYPE LWM2M></LWM2M>", "misplaced DOCTYPE"},
		{"two doctypes", "<!DOCTYPE LWM2M><!DOCTYPE LWM2M><LWM2M/>", "misplaced DOCTYPE"},
		{"other declaration", "<!ELEMENT LWM2M ANY><LWM2M/>", "unexpected declaration <!ELEMENT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defs, err := ParseDDF(strings.NewReader(tc.doc), "")
			if err == nil {
				t.Fatalf("ParseDDF = %d definitions, want error %q", len(defs), tc.msg)
			}
			if defs != nil {
				t.Errorf("ParseDDF returned definitions with its error")
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Errorf("error %v has no position", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

// TestParseDDFAccepts covers documents that are irregular but fine.
func TestParseDDFAccepts(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		check func(t *testing.T, d *model.ObjectDef)
	}{
		{"byte order mark", "\uFEFF" + `<?xml version="1.0" encoding="UTF-8"?>` + object(okHeader), nil},
		{"doctype without entities", "<!DOCTYPE LWM2M>\n" + object(okHeader), nil},
		{"no resources element", "<LWM2M><Object>" + okHeader + "</Object></LWM2M>", func(t *testing.T, d *model.ObjectDef) {
			if len(d.Resources) != 0 {
				t.Errorf("%d resources", len(d.Resources))
			}
		}},
		{"missing object type attribute", "<LWM2M><Object>" + okHeader + "</Object></LWM2M>", nil},
		{"unknown elements anywhere", "<LWM2M><Meta x='1'><a/></Meta><Object>" + okHeader + "<Extra/>" +
			"<Resources><Note>n</Note>" + item("1", okItem+"<Hint>h</Hint>") + "</Resources></Object></LWM2M>",
			func(t *testing.T, d *model.ObjectDef) {
				if len(d.Resources) != 1 {
					t.Errorf("%d resources", len(d.Resources))
				}
			}},
		{"comments and processing instructions", "<?pi x?><!-- c --><LWM2M><!-- c --><Object>" + okHeader +
			"<Resources>" + item("1", "<Name>V<!-- c -->al</Name>"+okItem[len("<Name>V</Name>"):]) + "</Resources></Object></LWM2M>",
			func(t *testing.T, d *model.ObjectDef) {
				if d.Resources[0].Name != "Val" {
					t.Errorf("name %q", d.Resources[0].Name)
				}
			}},
		{"namespaced elements", `<d:LWM2M xmlns:d="urn:x"><d:Object>` + strings.NewReplacer("</", "</d:", "<", "<d:").Replace(okHeader) + `</d:Object></d:LWM2M>`,
			func(t *testing.T, d *model.ObjectDef) {
				if d.ID != 32770 {
					t.Errorf("id %d", d.ID)
				}
			}},
		{"version without minor", object(okHeader + "<ObjectVersion>2</ObjectVersion>"), func(t *testing.T, d *model.ObjectDef) {
			if d.Version != (model.Version{Major: 2}) {
				t.Errorf("version %s", d.Version)
			}
		}},
		{"type alias", object(okHeader, item("1", strings.Replace(okItem, "Integer", " objlnk ", 1))), func(t *testing.T, d *model.ObjectDef) {
			if d.Resources[0].Type != model.TypeObjlnk {
				t.Errorf("type %s", d.Resources[0].Type)
			}
		}},
		{"enumeration keeps line breaks", object(okHeader, item("1", okItem+"<RangeEnumeration>\n  0: off\n  1: on\n</RangeEnumeration>")),
			func(t *testing.T, d *model.ObjectDef) {
				if r := d.Resources[0]; r.RangeText != "0: off\n  1: on" || r.HasRange {
					t.Errorf("range %q %v", r.RangeText, r.HasRange)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defs, err := ParseDDF(strings.NewReader(tc.doc), "ok.xml")
			if err != nil {
				t.Fatal(err)
			}
			if len(defs) != 1 {
				t.Fatalf("%d definitions, want 1", len(defs))
			}
			if tc.check != nil {
				tc.check(t, defs[0])
			}
		})
	}
}

func TestParseDDFLimits(t *testing.T) {
	doc := object(okHeader)
	pad := func(n int) string {
		// A comment that brings the document to exactly n bytes.
		return "<!--" + strings.Repeat("x", n-len(doc)-len("<!---->")) + "-->"
	}
	t.Run("size at limit", func(t *testing.T) {
		in := pad(MaxDDFSize) + doc
		if len(in) != MaxDDFSize {
			t.Fatalf("document is %d bytes", len(in))
		}
		if _, err := ParseDDF(strings.NewReader(in), "big.xml"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("size over limit", func(t *testing.T) {
		in := pad(MaxDDFSize+1) + doc
		_, err := ParseDDF(strings.NewReader(in), "big.xml")
		if !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), "big.xml:") {
			t.Fatalf("err = %v, want ErrTooLarge naming big.xml", err)
		}
	})
	t.Run("endless input", func(t *testing.T) {
		// An unbounded stream of element text stops at the limit.
		r := io.MultiReader(strings.NewReader("<LWM2M><Object><Name>"), endless{})
		_, err := ParseDDF(r, "zero.xml")
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("depth at limit", func(t *testing.T) {
		// LWM2M and Object are two levels; unknown elements fill the rest.
		n := maxDepth - 2
		in := "<LWM2M><Object>" + okHeader + strings.Repeat("<x>", n) + strings.Repeat("</x>", n) + "</Object></LWM2M>"
		if _, err := ParseDDF(strings.NewReader(in), "deep.xml"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("depth over limit", func(t *testing.T) {
		n := maxDepth - 1
		in := "<LWM2M><Object>" + okHeader + strings.Repeat("<x>", n) + strings.Repeat("</x>", n) + "</Object></LWM2M>"
		_, err := ParseDDF(strings.NewReader(in), "deep.xml")
		if !errors.Is(err, ErrTooDeep) {
			t.Fatalf("err = %v, want ErrTooDeep", err)
		}
	})
	t.Run("depth of a deep malformed document", func(t *testing.T) {
		in := strings.Repeat("<x>", 1_000_000)
		_, err := ParseDDF(strings.NewReader(in), "deep.xml")
		if err == nil {
			t.Fatal("no error")
		}
	})
}

// endless reads as an unbounded run of 'a'.
type endless struct{}

func (endless) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 'a'
	}
	return len(b), nil
}

func TestLoadDir(t *testing.T) {
	good := func(id string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte(object(strings.Replace(okHeader, "32770", id, 1)))}
	}
	fsys := fstest.MapFS{
		"defs/b.xml":        good("20"),
		"defs/a.xml":        good("30"),
		"defs/c.xml":        good("10"),
		"defs/dup.xml":      good("20"),
		"defs/bad.xml":      {Data: []byte("<LWM2M>")},
		"defs/notes.txt":    {Data: []byte("not a definition")},
		"defs/upper.XML":    {Data: []byte("ignored: only *.xml")},
		"defs/sub/deep.xml": good("40"),
	}
	defs, err := LoadDir(fsys, "defs")
	var ids []uint16
	for _, d := range defs {
		ids = append(ids, d.ID)
	}
	if want := []uint16{10, 20, 30}; !reflect.DeepEqual(ids, want) {
		t.Errorf("LoadDir ids %v, want %v", ids, want)
	}
	if err == nil {
		t.Fatal("LoadDir: no error for defs/bad.xml and defs/dup.xml")
	}
	msg := err.Error()
	for _, want := range []string{
		"defs/bad.xml:1:8: malformed XML",
		"defs/dup.xml: object 20 version 1.0 is already defined in defs/b.xml",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Name != "defs/bad.xml" {
		t.Errorf("joined error holds no *ParseError for defs/bad.xml: %v", err)
	}

	if _, err := LoadDir(fsys, "missing"); err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadDir(missing) = %v, want fs.ErrNotExist", err)
	}
	defs, err = LoadDir(fstest.MapFS{"x.txt": {}}, ".")
	if err != nil || len(defs) != 0 {
		t.Errorf("LoadDir of no definitions = %v, %v", defs, err)
	}
}

func TestParseDDFReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("<LWM2M>\n<Object>"), iotest.ErrReader(boom))
	_, err := ParseDDF(r, "net.xml")
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "net.xml:2:") {
		t.Errorf("err = %v, want boom wrapped, at net.xml:2", err)
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile(filepath.Join("testdata", "no-such-file.xml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no-such-file.xml") {
		t.Errorf("LoadFile = %v, want a not-exist error naming the file", err)
	}
}

func TestParseErrorFormat(t *testing.T) {
	tests := []struct {
		name string
		err  ParseError
		want string
	}{
		{"full", ParseError{Name: "3303.xml", Line: 12, Column: 5, Err: errors.New("bad")}, "3303.xml:12:5: bad"},
		{"no column", ParseError{Name: "a.xml", Line: 3, Err: errors.New("bad")}, "a.xml:3: bad"},
		{"no position", ParseError{Name: "a.xml", Err: errors.New("bad")}, "a.xml: bad"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

// BenchmarkParseDDF parses a generated document of 1000 resources and the
// largest file of the corpus (skipped when the corpus is not found).
func BenchmarkParseDDF(b *testing.B) {
	bench := func(b *testing.B, name string, data []byte) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseDDF(bytes.NewReader(data), name); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("generated-1000", func(b *testing.B) {
		items := make([]string, 1000)
		for i := range items {
			items[i] = item(strconv.Itoa(i), okItem+
				"<RangeEnumeration>0..100</RangeEnumeration><Units>s</Units><Description>A generated resource.</Description>")
		}
		bench(b, "generated.xml", []byte(object(okHeader, items...)))
	})
	b.Run("corpus-largest", func(b *testing.B) {
		dir := findDDFDir(b)
		files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
		if err != nil {
			b.Fatal(err)
		}
		var largest []byte
		name := ""
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			if len(data) > len(largest) {
				largest, name = data, filepath.Base(f)
			}
		}
		b.Logf("%s, %d bytes", name, len(largest))
		bench(b, name, largest)
	})
}
