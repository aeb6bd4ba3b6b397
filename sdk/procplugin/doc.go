// Package procplugin is what the author of a process plugin calls: a plugin
// that runs as its own program, started and supervised by the wasm2m host
// through hashicorp/go-plugin over gRPC, speaking ABI v1 (sdk/abi), the
// same methods and messages as a Wasm plugin. A process plugin is for code
// that needs native libraries, sockets or a lifecycle of its own, such as
// a storage backend on Redis (plugins/storage/redis).
//
// A plugin's main calls Serve once with its Handler:
//
//	func main() {
//		s, err := open()
//		...
//		process.Serve(process.StorageHandler(manifest, s))
//	}
//
// An object or logic plugin written with sdk/guest runs as a process
// too, unchanged but for its host: with Host as the Dispatcher's host,
//
//	Serve(Serial(guest.NewDispatcher(plugin, Host())))
//
// its host functions (log, kv, changed, LwM2M requests) are carried back
// to the host over go-plugin's GRPCBroker (HostServiceName, HostBrokerID)
// and answered as a Wasm plugin's are, gated by the same capabilities
// (4.03 without). A host call once the host is gone fails with a 5.03.
//
// The program refuses to run unless a wasm2m host started it (go-plugin's
// handshake: a magic cookie and the ABI major version as the protocol
// version), exits when the host closes it, and exits on its own when its
// parent process is gone, so that a plugin never outlives a host killed
// with SIGKILL.
//
// This package is also the contract both sides share (go-plugin's
// "shared" package): Handshake, the gRPC service and its codec, and
// Client, the host's end of the connection. The host (host/process)
// imports it; a plugin never imports the host.
//
// Package procplugin imports sdk/abi, sdk/guest (for its Host interface),
// core/model, go-plugin and gRPC only: never core's other packages, host
// or plugins. It is not for Wasm guests.
package procplugin
