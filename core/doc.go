// Package core is the root of the wasm2m LwM2M library: the data model
// (core/model), the content formats (core/codec and its sub-packages), the
// CoRE link format (core/link), the object definitions (core/objects), and
// the roles built on them. It holds no code of its own, only this overview
// and the test that keeps the repository's imports pointing one way.
//
// Everything under core/ may import the standard library, go-coap and
// pion/dtls (the transport only), and other core packages. It must never
// import host/, plugins/, sdk/, examples/, cmd/, wazero or go-plugin:
// core is a library that products embed without a plugin host.
package core
