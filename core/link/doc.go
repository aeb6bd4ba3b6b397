// Package link reads and writes the CoRE link format (RFC 6690, CoAP
// content format 40) as LwM2M uses it, and the LwM2M attributes carried in
// it.
//
// Three layers, each usable alone:
//
//   - Parse and Append are a general RFC 6690 reader and writer of []Link.
//   - Attributes is the typed set of LwM2M attributes (Core 1.1 and 1.2
//     section 5.1.2): the <PROPERTIES> class (dim, ssid, uri, ver, lwm2m),
//     the CoRE attributes rt and ct, and the <NOTIFICATION> class (pmin,
//     pmax, gt, lt, st, epmin, epmax, edge, con, hqmax). ParseQuery reads
//     the Uri-Query of a Write-Attributes (or 1.2 Observe) request, Merge
//     applies one to stored attributes and Effective resolves what is in
//     force for an observation.
//   - ParseRegistration and AppendRegistration handle the payload of
//     Register and Update (Core section 6.2.1, 6.2.2); ParseDiscover and
//     AppendDiscover the response to Discover (Core section 6.3.2) and
//     Bootstrap-Discover (Core section 6.1.7.3).
//
// Every error for bad input is a 4.00 *model.Error (errors.Is(err,
// model.ErrBadRequest) holds) wrapping one of this package's sentinels. The
// parsers never panic, whatever the input, and allocate at most a bounded
// multiple of the input's size.
//
// Package link depends on the standard library and core/model only, and
// builds for GOOS=wasip1 GOARCH=wasm like core/model does. It must never
// import go-coap, wazero, go-plugin or any wasm2m package but core/model.
package link
