//go:build pin

package host

// The dependencies the design fixes, pinned in go.mod before the packages
// that use them land (issue 2: go-coap v3.8.0 for the transport, wazero
// v1.12.0 for the Wasm host, go-plugin v1.8.0 for the process host). The
// "pin" tag keeps this file out of every build; go mod tidy still sees
// these imports and keeps the versions. Delete each line once a real
// package imports the module.
import (
	_ "github.com/hashicorp/go-plugin"
	_ "github.com/tetratelabs/wazero"
)
