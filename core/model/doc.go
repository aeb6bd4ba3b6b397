// Package model is the LwM2M data model shared by every part of wasm2m:
// paths such as /3/0/6/1, typed values for each LwM2M data type, nodes
// (object, object instance, resource, resource instance), object and
// resource definitions with a registry keyed by object id and version, and
// errors that carry their CoAP response code.
//
// Package model depends on the standard library only and builds for
// GOOS=wasip1 GOARCH=wasm, because plugin guests use it. It must never
// import another wasm2m package, go-coap, wazero or go-plugin.
package model
