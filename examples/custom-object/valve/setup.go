// Command valve is the custom object of examples/custom-object: object
// 26241, Valve, written as a wasm2m Wasm object plugin in Go. Its
// definition is ../26241.xml; examples/c-plugin implements the same object
// in C. Build it with
//
//	wasm2m plugin build ./examples/custom-object/valve
//
// and serve it from a device with `wasm2m client -plugin FILE`
// (../README.md has the whole walk-through).
package main

import (
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

// ID is the plugin's id.
const ID = "objects.valve"

func main() {}

func init() { guest.Register(newPlugin()) }

func newPlugin() guest.Plugin {
	return guest.Plugin{
		Manifest: guest.Manifest{
			ID:          ID,
			Name:        "Valve",
			Version:     "1.0.0",
			Description: "Object 26241 Valve: open, throttle and count a water valve.",
			// kv: each valve, shared by the instances of the host's pool
			// and kept across restarts; changed: opening or moving a valve
			// changes its flow rate and cycle count, which are not written.
			Capabilities: []string{abi.CapKV, abi.CapChanged},
		},
		Objects: []guest.Object{valves{}},
	}
}
