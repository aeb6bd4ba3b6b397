// Package process is the process carrier of wasm2m's plugins: it starts a
// plugin program with hashicorp/go-plugin over gRPC, speaking ABI v1
// (sdk/abi), the methods and messages of the Wasm carrier, in one gRPC
// method whose envelope sdk/procplugin defines. A Plugin is a Caller, as
// host/adapter wants one: Call(ctx, method, request) → response or an
// error with the call's CoAP code.
//
// What it checks and keeps: go-plugin's handshake with the ABI major
// version as the protocol version, the manifest's abi_minor, the SHA-256
// of the program before every start (SecureConfig), automatic mTLS
// between host and plugin, the plugin's standard error re-logged through
// slog with the plugin's id, a health check every second, and a process
// that fails restarted with back-off while the host keeps serving.
//
// Host calls go the other way: a plugin process calls the host's
// host-call service on go-plugin's GRPCBroker (sdk/procplugin.HostConn),
// and Config.Host answers them as wasm.Host does for Wasm plugins (the
// same interface, which host/adapter's Host implements), gated by the
// capabilities of the manifest that Config.Grant grants: 4.03 without.
// The plugin's log lines are re-logged through slog with its id.
//
// Store makes a storage plugin a core/store.Store (and store.KV), so that
// core/server runs on it unchanged; StorageOf goes the other way, serving
// a built-in store as a process plugin.
//
// Package process imports core, sdk and go-plugin; never plugins or the
// CLI.
package process
