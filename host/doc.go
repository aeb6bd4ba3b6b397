// Package host is the root of the wasm2m plugin host: the application
// around the core library. Its packages load plugins (Wasm through
// wazero, processes through go-plugin), adapt them to core's interfaces,
// read configuration, and implement the wasm2m command (host/cli).
//
// host may import core, sdk and its own packages; never plugins, cmd or
// examples.
package host
