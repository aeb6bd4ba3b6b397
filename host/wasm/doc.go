// Package wasm runs WebAssembly plugins with wazero and speaks ABI v1
// (sdk/abi) to them at the level of raw bytes: a call is a method and
// request bytes in, response bytes or a *model.Error out. It does not
// decode messages; the adapters above it do.
//
// A Runtime holds what plugins share (the compilation cache, the logger,
// the Host that answers guests' host calls). Each Plugin has its own
// wazero runtime (so that its memory limit is its own), one compiled
// module at a time, and a bounded pool of instances created on demand.
// A guest that traps, overruns its deadline, runs out of memory or breaks
// the ABI fails that call only: its instance is thrown away and replaced
// by the next call, and no other plugin notices.
//
// Lifecycle: NewRuntime → Runtime.Load (compile, check the exports and
// imports, start one instance) → Plugin.Call from any goroutine →
// Plugin.Reload or Plugin.Watch to replace the module while calls go on →
// Plugin.Close or Runtime.Close, which wait for calls in flight.
//
// Package wasm imports core/model, sdk/abi and wazero; never core's
// other packages, the process host or any plugin.
package wasm
