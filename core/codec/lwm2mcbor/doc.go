// Package lwm2mcbor implements the LwM2M CBOR content format
// (application/vnd.oma.lwm2m+cbor, content format 11544) of LwM2M Core
// 1.2 section 7.4 (Data Formats for Transferring Resource Information,
// LwM2M CBOR subsection).
//
// A payload is one CBOR map whose keys are path components, nested map
// by map from the object level down: the keys of the outermost map are
// object ids, whatever the request path, so that one payload can carry
// the nodes of several paths (a Read-Composite response, an
// Observe-Composite notification, a Send, a Write-Composite request). A
// key is a single id (an unsigned integer) or an array of ids that stands
// for several levels at once: {3: {0: {0: "Open Mobile Alliance"}}} and
// {[3, 0, 0]: "Open Mobile Alliance"} say the same. A map may be of
// definite or indefinite length, and the same object, instance or
// resource may be reached through more than one key as long as no value's
// path is given twice or has anything below it.
//
// Values follow the CBOR content format: Integer as a CBOR integer,
// Unsigned Integer as an unsigned integer, Float as a CBOR float (the
// shortest of half, single and double precision that holds it exactly),
// Boolean as true or false, String and Corelnk as text strings, Opaque as
// a byte string, Time as tag 1 (epoch seconds) over an integer, and
// Objlnk as the text "object:instance". A null value (a Write-Composite's
// request to remove a resource instance) is a record without a value. An
// empty map is an object, object instance or multiple resource without
// children. LwM2M CBOR carries no timestamps: historical values need SenML.
// Decoders also read a Time as a plain integer (converted with
// definitions) or as tag 1 over a whole float; they refuse every other
// tag (decimal fractions, tag 4, among them), undefined, simple values and
// integers below -2^63, and read any NaN as math.NaN().
//
// The format does not say whether a text string is a String, a Corelnk or
// an Objlnk, nor whether a small unsigned integer is an Integer or an
// Unsigned Integer: ParseRecords reads an unsigned integer that fits an
// int64 as an Integer, and Decode converts every value to its resource's
// type with model.Build when it is given definitions.
//
// Encode and AppendRecords write the canonical form: definite-length
// maps, keys in ascending id order, and every chain of single children
// collapsed into one array key ({[3, 0]: {0: "...", [11, 0]: 0}}), the
// most compact spelling. Decoders accept every spelling.
//
// Package lwm2mcbor depends on the standard library, core/model and
// core/internal/cbor only. It must not import go-coap, wazero, go-plugin,
// or any other wasm2m package (transport, client, server, other codecs).
package lwm2mcbor

// Content format number and media type (LwM2M Core 1.2 section 7.4).
const (
	// ContentFormat is the CoAP content format number of LwM2M CBOR.
	ContentFormat = 11544
	// MediaType is the media type of LwM2M CBOR.
	MediaType = "application/vnd.oma.lwm2m+cbor"
)
