// Package objects provides LwM2M object definitions: a loader for OMA
// object definition files (DDF XML, the format of the OMNA LwM2M registry,
// whose schema is LWM2M.xsd) and built-in definitions of the core objects
// 0 to 7, in the versions Core lists, with the IPSO objects 3303
// (Temperature) and 3311 (Light Control).
//
// The loader turns untrusted files into model.ObjectDef values: it bounds
// the input size and element depth, never resolves entities and refuses
// any document type declaration that declares one, and reports every
// problem as a *ParseError that names the file, line and column.
//
// Package objects depends on core/model and the standard library only, and
// builds for GOOS=wasip1 GOARCH=wasm like model does. It must never import
// a transport, codec, host or plugin package, go-coap, wazero or
// go-plugin.
package objects
