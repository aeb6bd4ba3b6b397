package wasm

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

const (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

type signature struct {
	params, results []api.ValueType
}

func (s signature) String() string {
	return sigString(s.params, s.results)
}

func sigString(params, results []api.ValueType) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, t := range params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(api.ValueTypeName(t))
	}
	b.WriteString(") -> (")
	for i, t := range results {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(api.ValueTypeName(t))
	}
	b.WriteByte(')')
	return b.String()
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// exports of ABI v1: the required ones, then the optional ones.
var (
	requiredExports = []struct {
		name string
		sig  signature
	}{
		{abi.ExportVersion, signature{nil, []api.ValueType{i32}}},
		{abi.ExportBuffer, signature{[]api.ValueType{i32}, []api.ValueType{i32}}},
		{abi.ExportCall, signature{[]api.ValueType{i32, i32}, []api.ValueType{i64}}},
	}
	optionalExports = []struct {
		name string
		sig  signature
	}{
		{abi.ExportLastError, signature{nil, []api.ValueType{i64}}},
		{"_initialize", signature{nil, nil}},
	}
)

const (
	versionPrefix = "wasm2m_abi_v"
	importPrefix  = "wasm2m_v"
	memoryExport  = "memory"
)

// checkModule refuses a compiled module that does not speak ABI v1: the
// major version (by the export's name), the exports and their exact
// signatures, an exported memory, and imports only of the functions the
// host offers (hostFns: module name → function name → definition) with
// their exact signatures. It runs no guest code.
func checkModule(cm wazero.CompiledModule, hostFns map[string]map[string]api.FunctionDefinition) error {
	exports := cm.ExportedFunctions()
	if _, ok := exports[abi.ExportVersion]; !ok {
		var other []string
		for name := range exports {
			if v, ok := strings.CutPrefix(name, versionPrefix); ok {
				other = append(other, "v"+v)
			}
		}
		if len(other) > 0 {
			sort.Strings(other)
			return fmt.Errorf("speaks ABI %s (it exports %s%s, not %s); this host speaks ABI v%d",
				strings.Join(other, ", "), versionPrefix, other[0][1:], abi.ExportVersion, abi.Major)
		}
		return fmt.Errorf("missing export %s: not a wasm2m plugin of ABI v%d", abi.ExportVersion, abi.Major)
	}
	for _, e := range requiredExports {
		def, ok := exports[e.name]
		if !ok {
			return fmt.Errorf("missing export %s %s", e.name, e.sig)
		}
		if !sameTypes(def.ParamTypes(), e.sig.params) || !sameTypes(def.ResultTypes(), e.sig.results) {
			return fmt.Errorf("export %s has signature %s, want %s", e.name, sigString(def.ParamTypes(), def.ResultTypes()), e.sig)
		}
	}
	for _, e := range optionalExports {
		def, ok := exports[e.name]
		if ok && (!sameTypes(def.ParamTypes(), e.sig.params) || !sameTypes(def.ResultTypes(), e.sig.results)) {
			return fmt.Errorf("export %s has signature %s, want %s", e.name, sigString(def.ParamTypes(), def.ResultTypes()), e.sig)
		}
	}
	if _, ok := cm.ExportedMemories()[memoryExport]; !ok {
		return fmt.Errorf("exports no memory named %q", memoryExport)
	}
	for _, m := range cm.ImportedMemories() {
		mod, name, _ := m.Import()
		return fmt.Errorf("imports memory %s.%s; a plugin defines and exports its own", mod, name)
	}
	for _, def := range cm.ImportedFunctions() {
		mod, name, _ := def.Import()
		fns, ok := hostFns[mod]
		if !ok {
			if v, ok := strings.CutPrefix(mod, importPrefix); ok {
				return fmt.Errorf("imports %s.%s: host functions of ABI v%s; this host speaks ABI v%d", mod, name, v, abi.Major)
			}
			return fmt.Errorf("imports %s.%s: module %q is not offered (only %s and wasi_snapshot_preview1)", mod, name, mod, abi.ImportModule)
		}
		want, ok := fns[name]
		if !ok {
			return fmt.Errorf("imports %s.%s: no such function in %s", mod, name, mod)
		}
		if !sameTypes(def.ParamTypes(), want.ParamTypes()) || !sameTypes(def.ResultTypes(), want.ResultTypes()) {
			return fmt.Errorf("imports %s.%s with signature %s, want %s", mod, name,
				sigString(def.ParamTypes(), def.ResultTypes()), sigString(want.ParamTypes(), want.ResultTypes()))
		}
	}
	return nil
}
