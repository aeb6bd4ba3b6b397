// Package guest is what a Go plugin author imports to write a wasm2m
// plugin: an object plugin implements Object on core/model types, a logic
// plugin implements Logic, and init registers them with one call of
// Register. Built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm
//
// the package provides the exports of ABI v1 (sdk/abi), owns the call
// buffer, decodes requests, encodes responses and wraps the host's imports
// (Log, Changed, KV, Device requests). On every other platform the package
// builds too, so that a plugin's own code and tests compile natively; its
// calls then go through a Dispatcher with a Host that a test harness
// (sdk/plugintest) provides.
//
// A Wasm module built with -buildmode=c-shared is a reactor: the runtime
// runs the package init functions and never calls main. Register in init;
// main stays empty.
//
// Package guest imports the standard library, core/model and sdk/abi only.
// It never imports wazero, gRPC, go-plugin or any other wasm2m package, and
// it avoids reflection-heavy dependencies: every byte of it ends up in
// every plugin.
package guest
