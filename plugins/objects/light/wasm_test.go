package main

import (
	"testing"

	"github.com/wasm2m/wasm2m/plugins/internal/wasmtest"
)

// TestWasm builds the plugin as its README says and runs the conformance
// kit on the Wasm module through `wasm2m plugin inspect`. Skipped with
// -short.
func TestWasm(t *testing.T) {
	wasmtest.BuildAndInspect(t, "../../..", "light", "objects.light")
}
