// Package abi is the contract between wasm2m and its plugins, version 1:
// the names a Wasm guest exports and imports, the methods of a call, the
// status codes, and (in abi.proto, with the Go code generated from it) the
// messages both carriers exchange. The Wasm host (host/wasm), the process
// host and every guest, in any language, speak exactly this.
//
// GUIDE.md is the plugin author's guide to this contract for any language.
//
// Package abi imports the standard library and core/model only, and builds
// for GOOS=wasip1 GOARCH=wasm: Go guests link it, so it stays lean (no
// protobuf runtime, no reflection).
//
// Versioning: the major version is in the names (the export ExportVersion,
// the import module ImportModule) so that a host checks it before running
// any guest code; a major version never changes once released. A minor
// version only adds (methods, message fields, host functions); a guest
// reports the minor version it was built against from ExportVersion, and
// optional callbacks are detected by their export.
package abi

// Major and Minor are the version of the ABI this package describes.
const (
	Major = 1
	Minor = 1
)

// Names of the functions a Wasm guest exports. Every one is required
// unless marked optional.
const (
	// ExportVersion is `wasm2m_abi_v1() -> i32`: the minor version the
	// guest was built against. Its name carries the major version: a
	// host looks for it before instantiating the module and refuses a
	// module without it.
	ExportVersion = "wasm2m_abi_v1"

	// ExportBuffer is `wasm2m_buffer(size i32) -> i32`: the address of
	// the instance's call buffer, grown if needed to hold at least size
	// bytes. The host writes each request there. The buffer belongs to
	// the guest; its address stays valid until the next wasm2m_buffer
	// call, so a host keeps (address, size) and asks again only for a
	// larger request. 0 means the guest could not provide the buffer (out
	// of memory): the host then writes nothing and fails the call, as it
	// does for a buffer of size bytes that is not inside the memory.
	ExportBuffer = "wasm2m_buffer"

	// ExportCall is `wasm2m_call(method i32, len i32) -> i64`: handle the
	// request of len bytes at the start of the call buffer, encoded as
	// the request message of method (see Method). The result r is
	// either >= 0: the response message is at address r>>32, of length
	// r&0xffffffff, in guest memory, valid until the next export call
	// (so the address is below 2^31); or < 0: the call failed with the
	// status -r (a 4.xx or 5.xx code, see StatusOf), and ExportLastError
	// tells why. PackResult, PackStatus and UnpackResult do the packing.
	ExportCall = "wasm2m_call"

	// ExportLastError is `wasm2m_last_error() -> i64`: the message of
	// the last failed call (UTF-8, address r>>32, length r&0xffffffff;
	// 0 for none). Optional: without it, errors carry their status only.
	ExportLastError = "wasm2m_last_error"
)

// ImportModule is the module name of the host functions a guest may
// import. Its name carries the major version.
const ImportModule = "wasm2m_v1"

// Names of the host functions in ImportModule. A call of a host function
// the plugin's manifest was not granted the capability for fails with
// StatusForbidden; it never traps.
const (
	// ImportLog is `log(level i32, ptr i32, len i32)`: log the UTF-8
	// message at ptr through the host's slog logger, tagged with the
	// plugin's id; level is a slog.Level (-4 debug, 0 info, 4 warn, 8
	// error). Always granted.
	ImportLog = "log"

	// ImportCall is `call(method i32, ptr i32, len i32) -> i32`: ask the
	// host for something (see HostMethod) with the request message of
	// len bytes at ptr. The result n is >= 0: the length of the response
	// message, which the guest then copies into its memory with
	// ImportResult; or < 0: the call failed with the status -n, and
	// ImportResult copies the error message instead.
	ImportCall = "call"

	// ImportResult is `result(ptr i32, cap i32) -> i32`: copy the
	// response (or error message) of the last ImportCall into the guest
	// memory at ptr, at most cap bytes, and return how many were copied;
	// -128 (4.00) and nothing copied if those bytes are not inside the
	// guest's memory. The host keeps one pending result per instance
	// (copying does not consume it); the next ImportCall replaces it.
	ImportResult = "result"
)

// MaxHostError bounds the error message of a failed ImportCall, in bytes:
// the host cuts a longer one (at a UTF-8 character boundary), so a guest
// that copies it with ImportResult into MaxHostError bytes always gets
// all of it, and the count ImportResult returns is its length.
const MaxHostError = 1024

// Method is what a call from the host asks of a guest (ExportCall).
// Requests and responses are the messages of abi.proto named after the
// method (ObjectReadRequest and ObjectReadResponse for MethodObjectRead).
type Method int32

// Methods of ABI v1.
const (
	MethodManifest Method = 1 // ManifestRequest → Manifest: what the plugin is and asks for
	MethodStart    Method = 2 // StartRequest (config) → StartResponse, once per instance before any other call but Manifest
	MethodStop     Method = 3 // StopRequest → StopResponse, before an instance is discarded on purpose

	// Object plugins.
	MethodObjectList      Method = 10 // the objects (definitions) the plugin implements
	MethodObjectInstances Method = 11 // the instance ids of one object
	MethodObjectRead      Method = 12
	MethodObjectWrite     Method = 13
	MethodObjectExecute   Method = 14
	MethodObjectCreate    Method = 15
	MethodObjectDelete    Method = 16
	MethodObjectDiscover  Method = 17 // optional: the attributes of a path

	// Logic plugins.
	MethodEvent Method = 30 // a server event: registered, updated, deregistered, expired, notification, send, awake, sleeping

	// Storage plugins (process carrier only): core/store's Store and KV.
	// 60 to 79 are kept for security credentials and bootstrap
	// configurations.
	MethodStorePutRegistration        Method = 40
	MethodStoreDeleteRegistration     Method = 41
	MethodStoreRegistration           Method = 42
	MethodStoreRegistrationByEndpoint Method = 43
	MethodStoreRegistrations          Method = 44 // a page at a time, by cursor
	MethodStoreCountRegistrations     Method = 45
	MethodStorePutObservation         Method = 46
	MethodStoreDeleteObservation      Method = 47
	MethodStoreObservation            Method = 48
	MethodStoreObservationsOf         Method = 49
	MethodStoreKVGet                  Method = 50
	MethodStoreKVPut                  Method = 51
	MethodStoreKVDelete               Method = 52
	MethodStoreKVList                 Method = 53
	// ABI 1.1, optional (5.01 if not): expiry shared by the servers of
	// one store.
	MethodStoreExpired       Method = 54 // the ids of lapsed registrations, earliest first
	MethodStoreDeleteExpired Method = 55 // delete a registration only if it still lapsed
)

// HostMethod is what a guest asks of the host (ImportCall).
type HostMethod int32

// Host methods of ABI v1, each gated by a capability of the manifest.
const (
	HostChanged  HostMethod = 1 // capability "changed": values at paths changed (fires observations on a client)
	HostKVGet    HostMethod = 2 // capability "kv": the plugin's own key-value space
	HostKVPut    HostMethod = 3
	HostKVDelete HostMethod = 4
	HostKVList   HostMethod = 5
	HostRequest  HostMethod = 6 // capability "lwm2m.request": an LwM2M request to a device (server only)
)

// Capabilities a manifest may ask for. Clock and randomness are WASI's
// clock_time_get and random_get: without the capability, the guest sees a
// fixed clock and a deterministic random source.
const (
	CapChanged = "changed"
	CapKV      = "kv"
	CapRequest = "lwm2m.request"
	CapClock   = "clock"
	CapRandom  = "random"
)

// Kind is what a plugin is for.
type Kind string

// Kinds of plugins.
const (
	KindObject  Kind = "object"
	KindLogic   Kind = "logic"
	KindStorage Kind = "storage" // process plugins only
)
