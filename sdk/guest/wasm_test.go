package guest_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/wasm2m/wasm2m/sdk/abi"
)

// TestBuildWasm builds the tiny plugin of testdata/tiny for wasip1 as a
// plugin author does and checks the module's exports and imports against
// ABI v1, reading the module's sections itself.
func TestBuildWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Wasm module")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command")
		}
	}
	out := filepath.Join(t.TempDir(), "tiny.wasm")
	cmd := exec.Command(gobin, "build", "-buildmode=c-shared", "-o", out, "./testdata/tiny")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tiny.wasm: %d bytes", len(bin))
	m, err := parseModule(bin)
	if err != nil {
		t.Fatal(err)
	}
	i32, i64 := byte(0x7f), byte(0x7e)
	wantExports := map[string]funcType{
		abi.ExportVersion:   {nil, []byte{i32}},
		abi.ExportBuffer:    {[]byte{i32}, []byte{i32}},
		abi.ExportCall:      {[]byte{i32, i32}, []byte{i64}},
		abi.ExportLastError: {nil, []byte{i64}},
		"_initialize":       {nil, nil},
	}
	for name, want := range wantExports {
		got, ok := m.exports[name]
		if !ok {
			t.Errorf("no export %s (exports: %v)", name, m.exportNames())
			continue
		}
		if !got.equal(want) {
			t.Errorf("export %s: %v, want %v", name, got, want)
		}
	}
	if !m.memory {
		t.Error("no memory exported")
	}
	wantImports := map[string]funcType{
		abi.ImportLog:    {[]byte{i32, i32, i32}, nil},
		abi.ImportCall:   {[]byte{i32, i32, i32}, []byte{i32}},
		abi.ImportResult: {[]byte{i32, i32}, []byte{i32}},
	}
	seen := map[string]bool{}
	for _, im := range m.imports {
		switch im.module {
		case abi.ImportModule:
			seen[im.name] = true
			want, ok := wantImports[im.name]
			if !ok {
				t.Errorf("import %s.%s is not part of ABI v1", im.module, im.name)
			} else if !im.typ.equal(want) {
				t.Errorf("import %s.%s: %v, want %v", im.module, im.name, im.typ, want)
			}
		case "wasi_snapshot_preview1":
		default:
			t.Errorf("import from module %s.%s", im.module, im.name)
		}
	}
	for name := range wantImports {
		if !seen[name] {
			t.Errorf("no import %s.%s", abi.ImportModule, name)
		}
	}
}

// A few lines of the WebAssembly binary format (webassembly.github.io/
// spec/core/binary): the type, import, function and export sections.

type funcType struct{ params, results []byte }

func (f funcType) equal(g funcType) bool {
	return bytes.Equal(f.params, g.params) && bytes.Equal(f.results, g.results)
}

func (f funcType) String() string { return fmt.Sprintf("func%x -> %x", f.params, f.results) }

type wasmImport struct {
	module, name string
	typ          funcType
}

type module struct {
	imports []wasmImport
	exports map[string]funcType
	memory  bool
}

func (m *module) exportNames() []string {
	var ns []string
	for n := range m.exports {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.err = errors.New("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint32(c&0x7f) << shift
		if c < 0x80 {
			break
		}
	}
	return v
}

func (r *reader) bytes(n uint32) []byte {
	if uint32(len(r.b)) < n {
		r.err = errors.New("truncated")
		r.b = nil
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) name() string { return string(r.bytes(r.u32())) }

func parseModule(bin []byte) (*module, error) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" {
		return nil, errors.New("not a wasm module")
	}
	r := &reader{b: bin[8:]}
	var types []funcType
	var funcs []uint32 // type index of each function, imports first
	m := &module{exports: map[string]funcType{}}
	type export struct {
		name string
		kind byte
		idx  uint32
	}
	var exports []export
	for len(r.b) > 0 && r.err == nil {
		id := r.byte()
		s := &reader{b: r.bytes(r.u32())}
		switch id {
		case 1: // types
			for n := s.u32(); n > 0 && s.err == nil; n-- {
				if s.byte() != 0x60 {
					return nil, errors.New("type is not a function type")
				}
				var f funcType
				f.params = slices.Clone(s.bytes(s.u32()))
				f.results = slices.Clone(s.bytes(s.u32()))
				types = append(types, f)
			}
		case 2: // imports
			for n := s.u32(); n > 0 && s.err == nil; n-- {
				mod, name := s.name(), s.name()
				switch s.byte() {
				case 0:
					ti := s.u32()
					funcs = append(funcs, ti)
					if int(ti) < len(types) {
						m.imports = append(m.imports, wasmImport{mod, name, types[ti]})
					}
				case 1: // table
					s.byte()
					if s.byte()&1 != 0 {
						s.u32()
					}
					s.u32()
				case 2: // memory
					if s.byte()&1 != 0 {
						s.u32()
					}
					s.u32()
				case 3: // global
					s.byte()
					s.byte()
				}
			}
		case 3: // functions
			for n := s.u32(); n > 0 && s.err == nil; n-- {
				funcs = append(funcs, s.u32())
			}
		case 7: // exports
			for n := s.u32(); n > 0 && s.err == nil; n-- {
				exports = append(exports, export{s.name(), s.byte(), s.u32()})
			}
		}
		if s.err != nil {
			return nil, fmt.Errorf("section %d: %w", id, s.err)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	for _, e := range exports {
		switch e.kind {
		case 0:
			if int(e.idx) >= len(funcs) || int(funcs[e.idx]) >= len(types) {
				return nil, fmt.Errorf("export %s: function %d out of range", e.name, e.idx)
			}
			m.exports[e.name] = types[funcs[e.idx]]
		case 2:
			m.memory = true
		}
	}
	return m, nil
}
