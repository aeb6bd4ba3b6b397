package objects

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wasm2m/wasm2m/core/model"
)

// FuzzParseDDF checks that ParseDDF never panics, that it fails only with
// a *ParseError naming the input, and that what it returns is usable: it
// validates, registers, and keeps the promises the loader documents. The
// seeds are the hand-written fixtures in testdata and the committed corpus
// in testdata/fuzz/FuzzParseDDF.
func FuzzParseDDF(f *testing.F) {
	for _, glob := range []string{"testdata/*.xml", "testdata/bad/*.xml"} {
		files, err := filepath.Glob(glob)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defs, err := ParseDDF(bytes.NewReader(data), "fuzz.xml")
		if err != nil {
			if defs != nil {
				t.Fatalf("definitions returned with error %v", err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Name != "fuzz.xml" {
				t.Fatalf("error %v (%T) is not a *ParseError naming the input", err, err)
			}
			return
		}
		if len(defs) == 0 {
			t.Fatal("no definition and no error")
		}
		for _, d := range defs {
			if err := d.Validate(); err != nil {
				t.Fatalf("object %d: %v", d.ID, err)
			}
			if d.Name == "" {
				t.Fatalf("object %d has no name", d.ID)
			}
			for _, r := range d.Resources {
				if r.Name == "" {
					t.Fatalf("object %d resource %d has no name", d.ID, r.ID)
				}
				if !r.Operations.Executable() && r.Type == model.TypeNone {
					t.Fatalf("object %d resource %d: not executable and untyped", d.ID, r.ID)
				}
				if r.HasRange {
					switch r.Type {
					case model.TypeInteger, model.TypeUnsigned, model.TypeFloat:
					default:
						t.Fatalf("object %d resource %d: range on a %s resource", d.ID, r.ID, r.Type)
					}
					if !(r.Range.Min <= r.Range.Max) {
						t.Fatalf("object %d resource %d: range %+v from %q", d.ID, r.ID, r.Range, r.RangeText)
					}
				}
			}
		}
		if _, err := model.NewRegistry(defs...); err != nil {
			t.Fatalf("registering the result: %v", err)
		}
	})
}
