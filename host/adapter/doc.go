// Package adapter makes plugins what core expects: an object plugin a
// core/client Object (Object) and a source of object definitions for a
// server (Definitions), a logic plugin a subscriber to core/server events
// (Logic), and the host side of the ABI, the answers to guests' host calls
// (Host: changed values, the key-value space of core/store, LwM2M requests
// through core/server). Load reads a plugin's manifest and grants it the
// capabilities the operator granted, no more.
//
// Every adapter speaks ABI v1 (sdk/abi) through a Caller, a plugin reached
// by method number and encoded messages, so that it does not care which
// carrier runs the plugin: a *wasm.Plugin (host/wasm) is one, the process
// carrier's client will be another, and sdk/plugintest's Dispatcher a
// third. Errors keep their CoAP codes both ways: a 4.04 of a plugin is
// errors.Is(err, model.ErrNotFound) on the host, and a 4.04 of a device or
// of the store reaches the guest as the status 4.04.
//
// Package adapter imports core, sdk/abi and host/wasm; never plugins or
// the CLI.
package adapter
