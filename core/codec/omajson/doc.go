// Package omajson implements the OMA LwM2M JSON content format
// (application/vnd.oma.lwm2m+json, content format 11543; 1543 in the
// LwM2M 1.0 drafts, same body), defined by LwM2M 1.0 section 6.4.4
// (Table 20) and kept in Core 1.1 and 1.2 for LwM2M 1.0 peers.
//
// A payload is one JSON object: an optional base name "bn", an optional
// base time "bt" and the entry array "e". Each entry names a resource or
// resource instance relative to the base name ("n") and carries exactly
// one value: "v" (a number: Integer, Unsigned Integer, Float, Time as
// seconds), "bv" (Boolean), "ov" (Objlnk as "object:instance") or "sv"
// (String, Corelnk, and Opaque as padded standard base64), with an
// optional time "t" for historical notifications.
//
// The format does not say which of String, Corelnk and Opaque an "sv"
// holds, nor which numeric type a "v" holds. Decoders therefore use the
// object definitions they are given: ParseRecords base64-decodes "sv" only
// for a resource defined as Opaque, and Decode converts every value to its
// resource's type with model.Build. Without a definition a "v" is an
// Integer when it is an integer literal that fits an int64, an Unsigned
// Integer when it fits only a uint64, and a Float otherwise; Encode always
// writes a Float with a fraction or an exponent ("1.0", never "1") so that
// its type survives.
//
// Times. The time of an entry is bt + t, in seconds (either may be
// absent, each defaults to 0; a fraction is kept to the nanosecond). A
// positive result is an absolute Unix time. A result of zero or less is
// relative to the moment of decoding ("t":-5 without bt means five
// seconds ago), the rule of the SenML draft that LwM2M 1.0 section 6.4.4
// builds on; a result that would fall before 1970, or after year 9999, is
// refused. An entry with neither bt nor t has no time (model.Record.Time
// is zero). Decode ignores times and refuses a path given twice, as a
// notification with historical values gives it: ParseRecords and
// ParseRecordsAt return those as separate records.
// AppendRecords writes bt as the newest time's whole seconds and each
// entry's t relative to it (normally zero or negative, as in the
// specification's example) when every record has a time, absolute t
// values when only some do, and neither when none does.
//
// Names. The path of an entry is its name below the base name: "bn"
// "/3/0/" (or "/3/0") with "n" "6/1" is /3/0/6/1, and an entry without a
// name is at the base name itself. Without "bn" a name is relative to the
// request path given to Decode or ParseRecordsAt, or absolute when it
// starts with a slash; ParseRecords, which has no request path, refuses
// relative names without a base name. Encoders always write "bn" and
// relative names.
//
// Package omajson depends on the standard library, core/model and
// core/internal/jsonx (the JSON lexer and writers it shares with SenML
// JSON) only. It must not import go-coap, wazero, go-plugin, or any other
// wasm2m package (transport, client, server, other codecs).
package omajson

// Content format numbers and media type (LwM2M 1.0 section 6.4.4).
const (
	// ContentFormat is the CoAP content format number registered for
	// OMA LwM2M JSON.
	ContentFormat = 11543
	// LegacyContentFormat is the number the LwM2M 1.0 drafts used before
	// registration. Payloads are the same.
	LegacyContentFormat = 1543
	// MediaType is the media type of OMA LwM2M JSON.
	MediaType = "application/vnd.oma.lwm2m+json"
)
