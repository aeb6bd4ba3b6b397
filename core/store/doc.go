// Package store keeps what an LwM2M server must remember about its devices:
// registrations (Core 1.1 section 6.2.1) and the observations the server
// started (Core 1.1 section 6.4.1).
//
// Store is the interface every storage backend implements; storetest is
// the conformance suite each backend is run against. Two implementations
// live here:
//
//   - Memory keeps everything in maps and loses it on exit. It suits tests,
//     embedding, and servers whose devices re-register after a restart.
//   - File is Memory plus an append-only log on disk: every mutation is one
//     checksummed record, written by one goroutine that batches concurrent
//     mutations into one write and one fsync (group commit), and a mutating
//     call returns only once its record is durable. OpenFile replays the log,
//     and the log is compacted into a snapshot of the live data when it has
//     grown to twice that. File is the default store of `wasm2m server`.
//
// The file format is described in format.go.
//
// The other kinds are kept once, over the key-value space (KV) that every
// backend has for plugins' state, in namespaces no plugin can be given
// (plugin ids are dotted words, abi.CheckID): Security, the devices' DTLS
// credentials ("#security", NewSecurity), and Bootstraps, a bootstrap
// server's per-endpoint configurations ("#bootstrap", NewBootstraps).
// Their records are versioned JSON (security_kv.go), so a backend,
// including a storage plugin, gets them by implementing KV.
//
// Package store depends on the standard library, core/model and core/link
// only. It must never import a database driver or any third-party module
// (core/imports_test.go enforces this), nor host, plugins or sdk: other
// backends are plugins that implement Store.
package store
