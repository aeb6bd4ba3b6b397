// Package plugintest tests wasm2m plugins with plain `go test`, without
// building Wasm. New drives a plugin written with sdk/guest through the
// same Dispatcher that the plugin's Wasm exports use (method number and
// encoded request in, encoded response out, decoded back), against a fake
// Host: an in-memory key-value space, captured logs, recorded Changed
// paths, a scriptable responder for LwM2M requests to devices, and a
// controllable clock. Encoding mistakes and missing capabilities show up
// as they would under the real host.
//
// Conformance checks what every object plugin must do. It is written
// against Caller, which both the in-process Dispatcher and a Wasm instance
// (host/wasm) satisfy, so that the same kit checks a plugin in any
// language.
//
// Package plugintest imports the standard library, testing, core/model,
// sdk/abi and sdk/guest. It is for tests only: a plugin's main package
// never imports it.
package plugintest
