package wasm

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// TestPrecheckAgainstWazero runs precheck over every .wasm file in
// wazero's module (its spec test suites, TinyGo, Rust, Zig and Go
// examples): none that wazero compiles may be refused by precheck.
func TestPrecheckAgainstWazero(t *testing.T) {
	if testing.Short() {
		t.Skip("reads wazero's 8,000 test modules")
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tetratelabs/wazero").Output()
	root := strings.TrimSpace(string(out))
	if err != nil || root == "" {
		t.Skipf("wazero's module folder not found: %v", err)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	var files, accepted int
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".wasm") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		files++
		pErr := precheck(b)
		cm, wErr := rt.CompileModule(ctx, b)
		if wErr != nil {
			return nil
		}
		cm.Close(ctx)
		accepted++
		if pErr != nil {
			t.Errorf("%s: wazero compiles it, precheck refuses it: %v", path, pErr)
		}
		return nil
	})
	if accepted == 0 {
		t.Skipf("no module among %d files under %s", files, root)
	}
	t.Logf("%d modules wazero compiles, of %d files", accepted, files)
}

// TestPrecheck refuses the modules that made wazero ask the Go runtime
// for gigabytes (a fatal error, not a panic), and accepts the test guests.
func TestPrecheck(t *testing.T) {
	const header = "\x00asm\x01\x00\x00\x00"
	for _, tc := range []struct{ name, bin, want string }{
		{"results", header + "\x01\x08\x01\x60\x00\xff\xff\xff\xff\x0f", "a count of 4294967295"},
		{"types", header + "\x01\x05\xff\xff\xff\xff\x0f", "a count of"},
		{"section size", header + "\x01\xff\xff\xff\xff\x0f\x00", "bytes left"},
		{"custom size", header + "\x00\xff\xff\xff\x0f\x01a", "bytes left"},
		{"data bytes", header + "\x0b\x08\x01\x01\xff\xff\xff\xff\x0f\x00", "a count of"},
		{"locals", header + "\x0a\x0a\x01\x08\x01\xff\xff\xff\xff\x0f\x7f\x0b", "locals"},
		{"table", header + "\x04\x07\x01\x70\x00\x80\x80\x80\x40", "a table of"},
		{"name", header + "\x00\x0c\x04name\x01\x05\xff\xff\xff\xff\x0f", "a count of"},
	} {
		err := precheck([]byte(tc.bin))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	wasms, _ := filepath.Glob("testdata/*.wasm")
	for _, w := range wasms {
		b, _ := os.ReadFile(w)
		if err := precheck(b); err != nil {
			t.Errorf("%s: %v", w, err)
		}
	}
}
