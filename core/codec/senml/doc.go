// Package senml implements the SenML content formats of LwM2M: SenML JSON
// (application/senml+json, content format 110; Core 1.1 section 7.4.4) and
// SenML CBOR (application/senml+cbor, content format 112; Core 1.1 section
// 7.4.5), both defined by RFC 8428.
//
// It offers three levels:
//
//   - Nodes (Read, Write and Notify of one path): EncodeJSON, DecodeJSON,
//     EncodeCBOR, DecodeCBOR. Decoding parses records and assembles the node
//     with model.Build; encoding flattens the node with model.Flatten.
//   - Records (Read-Composite responses, Write-Composite requests, Send and
//     timestamped notifications): AppendJSONRecords, ParseJSONRecords,
//     AppendCBORRecords, ParseCBORRecords. Group them into nodes with
//     model.Group.
//   - Path lists (Read-Composite and Observe-Composite request bodies,
//     records that carry only a name): AppendJSONPaths, ParseJSONPaths,
//     AppendCBORPaths, ParseCBORPaths.
//
// # Names
//
// A record's name is its base name "bn" (carried over from the last record
// that set one, RFC 8428 section 4.5.1) followed by its name "n", and must
// be an LwM2M path (model.ParsePath). Value records must name a resource
// or a resource instance; path lists may name any level, the root "/"
// included. Encoders write what the examples of Core 1.1 section 7.4.4
// write: a node puts its path in "bn" of the first record, ending with "/",
// and each record's path below it in "n" (Table 7.4.4-2: "bn":"/3/0/" then
// "n":"0", "n":"6/0"); a lone single resource or resource instance read at
// its own path has "bn" alone (Table 7.4.4-5: [{"bn":"/3/0/0","vs":...}]);
// record lists and path lists write the full path in every "n" and no
// "bn" (Tables 7.4.4-6, 7.4.4-7 and 7.4.4-8).
//
// # Values
//
// Integer, Unsigned Integer, Float and Time (as seconds) travel in "v";
// Boolean in "vb"; String and Corelnk in "vs"; Opaque in "vd" (JSON:
// base64url without padding, RFC 8428 section 5, while decoding also
// accepts padding and the standard alphabet; CBOR: a byte string); Objlnk
// in "vlo" as "object:instance" (the LwM2M extension label, a text key in
// CBOR too). A record must carry exactly one of them. A base value "bv" is
// added to "v" (RFC 8428 section 4.1).
//
// A node's empty descendants (an object instance or a multiple resource
// with no value below it) produce no record and so do not come back; at
// the path itself an empty instance or object reads back as such, and an
// empty multiple resource does when the definitions say it is multiple
// (OMA LwM2M for Developers issue 494).
//
// Numbers are decoded without loss: a JSON integer literal (or a CBOR
// integer) is an Integer when it fits an int64, an Unsigned Integer when it
// fits only a uint64 and a Float beyond; a literal with a fraction or an
// exponent (or a CBOR float or decimal fraction, tag 4) is a Float. The
// formats do not tell Time from Integer, Corelnk from String, or a small
// Unsigned Integer from an Integer: decoders with definitions convert each
// value to its resource's type (model.Build). Encoders write a Float so
// that its type survives without definitions: JSON always with a fraction
// or an exponent ("1.0", never "1"), CBOR as a float of the shortest width
// that holds it exactly. JSON has no NaN or infinity, so EncodeJSON and
// AppendJSONRecords refuse them (4.06); SenML CBOR carries them, and a
// decoded NaN is always math.NaN() (NaN payloads are not kept).
//
// # Times
//
// A record's time is bt + t in seconds (RFC 8428 section 4.5.3), base time
// "bt" carried over like "bn". Fractions are kept to the nanosecond. A
// resolved time of 2^28 seconds or more is an absolute Unix time; a smaller
// one (zero and negative values included) is relative to the moment of
// decoding, time.Now(): "t":-5 means five seconds ago. A record with
// neither bt nor t has no time (model.Record.Time is the zero time). Times
// must lie within 2^53 seconds of the epoch. Encoders write a non-zero
// Record.Time as an absolute "t" (an integer when whole, else the exact
// decimal in JSON and a float in CBOR, precise to about a microsecond for
// present-day dates); a time before 2^28 seconds after the epoch
// (1978-07-04) cannot be written as an absolute SenML time and is refused
// (4.06). Node-level decoding ignores times.
//
// # Other fields
//
// Units ("u", "bu"), sums ("s", "bs") and the update time "ut" are checked
// for their type and ignored. A base version "bver" above 10 is refused.
// Unknown labels are ignored, unless they end with "_" (must understand,
// RFC 8428 section 4.4), which are refused; so are duplicate labels in one
// record. SenML CBOR names the fields of RFC 8428 Table 6 by their integer
// labels: a text label there other than "vlo" is unknown. A SenML CBOR
// number may also be a decimal fraction (tag 4, RFC 8949 section 3.4.4),
// which RFC 8428 section 6 allows; other tags are refused.
//
// # Records without a value
//
// Records with a name and no value are path lists and nothing else. Core
// 1.1 gives a value-less record no meaning in the value-carrying
// operations (its Write-Composite example, Table 7.4.4-8, has a value in
// every record); the "delete" record of RFC 8790 ("v": null) belongs to the
// SenML FETCH/iPATCH formats (content formats 320 and 322), which this
// package does not implement. ParseJSONRecords and ParseCBORRecords
// therefore refuse a record without a value.
//
// # Errors and limits
//
// Every error is a *model.Error. Undecodable input is 4.00 Bad Request
// (errors.Is(err, model.ErrBadRequest) holds). On encode, a value the
// format cannot carry (NaN in JSON, text that is not UTF-8, a resource
// without a value, a time SenML cannot write) is 4.06 Not Acceptable, and
// a node that does not fit its path or is malformed is 4.00, as
// model.Node.CheckAt and Validate report. Decoders never
// panic, never read past their input, and allocate at most a fixed multiple
// of its size. All functions are safe for concurrent use.
//
// Package senml depends on the standard library, core/model,
// core/internal/cbor and core/internal/jsonx (the JSON lexer and writers
// it shares with OMA JSON) only. It must not import go-coap, wazero,
// go-plugin or any other wasm2m package (transport, client, server, other
// codecs).
package senml
