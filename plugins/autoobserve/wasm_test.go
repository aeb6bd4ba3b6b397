package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/wasm2m/wasm2m/sdk/abi"
)

// TestBuildWasm builds the plugin as its README says, for wasip1 as a
// reactor, and checks that the module names the exports of ABI v1.
// go test ./sdk/guest checks the exports' signatures on a module built the
// same way.
func TestBuildWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Wasm module (-short)")
	}
	out := filepath.Join(t.TempDir(), "autoobserve.wasm")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("autoobserve.wasm: %d bytes", len(bin))
	if !bytes.HasPrefix(bin, []byte("\x00asm\x01\x00\x00\x00")) {
		t.Fatal("not a WebAssembly 1.0 module")
	}
	for _, name := range []string{abi.ExportVersion, abi.ExportBuffer, abi.ExportCall, abi.ExportLastError, abi.ImportModule, "_initialize"} {
		if !bytes.Contains(bin, []byte(name)) {
			t.Errorf("the module does not name %s", name)
		}
	}
}
