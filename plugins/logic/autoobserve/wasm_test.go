package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestWasm builds the plugin as its README says, with `wasm2m plugin
// build` (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared), and runs `wasm2m
// plugin inspect` on the module: the host loads it, reads its manifest,
// exports and imports, starts it with every capability it asks for and
// runs the conformance kit on it, in Wasm this time. Skipped with -short.
func TestWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm2m and the Wasm module (-short)")
	}
	dir := t.TempDir()
	wasm2m := filepath.Join(dir, "wasm2m")
	run(t, filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", wasm2m, "../../../cmd/wasm2m")
	module := filepath.Join(dir, "autoobserve.wasm")
	run(t, wasm2m, "plugin", "build", "-cache", filepath.Join(dir, "cache"), "-o", module, ".")
	fi, err := os.Stat(module)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("autoobserve.wasm: %d bytes", fi.Size())
	out := run(t, wasm2m, "plugin", "inspect", module)
	for _, want := range []string{"logic.autoobserve", "wasm2m_abi_v1", "wasm2m_v1.call", "checks passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect does not say %q:\n%s", want, out)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return out.String()
}
