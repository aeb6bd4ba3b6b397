// Package wasmtest is the test every first-party Wasm plugin runs on its
// own module: build it as its README says and check it with `wasm2m plugin
// inspect`. It imports the standard library only.
package wasmtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// BuildAndInspect builds wasm2m (from root, the repository relative to the
// test's folder) and the plugin in the test's folder with `wasm2m plugin
// build` (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared), then runs `wasm2m
// plugin inspect` on the module: the host loads it, reads its manifest,
// exports and imports, starts it with every capability it asks for and
// runs the conformance kit on it. The output must name id and say that the
// checks passed. Skipped with -short.
func BuildAndInspect(t *testing.T, root, name, id string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds wasm2m and the Wasm module (-short)")
	}
	dir := t.TempDir()
	wasm2m := filepath.Join(dir, "wasm2m")
	run(t, filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", wasm2m, filepath.Join(root, "cmd", "wasm2m"))
	module := filepath.Join(dir, name+".wasm")
	run(t, wasm2m, "plugin", "build", "-cache", filepath.Join(dir, "cache"), "-o", module, ".")
	fi, err := os.Stat(module)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s.wasm: %d bytes", name, fi.Size())
	out := run(t, wasm2m, "plugin", "inspect", module)
	for _, want := range []string{id, "wasm2m_abi_v1", "wasm2m_v1.call", "checks passed"} {
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
