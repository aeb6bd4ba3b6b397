package codectest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportedByTestsOnly checks the rule of the package comment: no
// package's non-test files import codectest, and codectest imports no
// codec.
func TestImportedByTestsOnly(t *testing.T) {
	const self = "github.com/wasm2m/wasm2m/core/codec/internal/codectest"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/wasm2m/wasm2m/core/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	seen := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		for _, imp := range imports {
			if imp == self {
				t.Errorf("%s imports codectest outside its tests", pkg)
			}
			if pkg == self && strings.HasPrefix(imp, "github.com/wasm2m/wasm2m/") && imp != "github.com/wasm2m/wasm2m/core/model" {
				t.Errorf("codectest imports %s", imp)
			}
		}
		seen = seen || pkg == self
	}
	if !seen {
		t.Errorf("go list did not report %s", self)
	}
}
