// Package codec encodes and decodes LwM2M nodes in every content format
// LwM2M defines (Core 1.1 section 7.4, Core 1.2 section 7.4): text/plain,
// opaque, CBOR, TLV (and its legacy number), OMA LwM2M JSON (and legacy),
// SenML JSON, SenML CBOR and LwM2M CBOR. It dispatches by content format
// number to the format's package and implements the three single-value
// formats itself. The CoRE link format lives in core/link.
//
// Encoding never needs object definitions: model.Value carries its type.
// Decoding takes them (model.Definitions, possibly nil) because TLV, text,
// opaque and CBOR do not say a value's type and the JSON formats do not
// tell an integer from a float or an opaque from a string.
//
// Errors carry CoAP codes: a payload that does not decode is 4.00; a
// format that cannot carry the node (text for an object, say) is 4.06 on
// encode; a format this package does not decode is 4.15.
//
// codec depends on the standard library and other core packages only.
package codec

import (
	"github.com/wasm2m/wasm2m/core/codec/lwm2mcbor"
	"github.com/wasm2m/wasm2m/core/codec/omajson"
	"github.com/wasm2m/wasm2m/core/codec/senml"
	"github.com/wasm2m/wasm2m/core/codec/tlv"
	"github.com/wasm2m/wasm2m/core/model"
)

// Encode appends to dst the encoding in format f of node n, which lives
// at path p. The node is validated first (model.Node.Validate).
func Encode(dst []byte, f Format, p model.Path, n *model.Node) ([]byte, error) {
	if err := n.Validate(); err != nil {
		return dst, err
	}
	if err := n.CheckAt(p); err != nil {
		return dst, err
	}
	switch f {
	case Text:
		return encodeText(dst, p, n)
	case Opaque:
		return encodeOpaque(dst, p, n)
	case CBOR:
		return encodeCBOR(dst, p, n)
	case TLV, LegacyTLV:
		return tlv.Encode(dst, p, n)
	case JSON, LegacyJSON:
		return omajson.Encode(dst, p, n)
	case SenMLJSON:
		return senml.EncodeJSON(dst, p, n)
	case SenMLCBOR:
		return senml.EncodeCBOR(dst, p, n)
	case LwM2MCBOR:
		return lwm2mcbor.Encode(dst, p, n)
	}
	return dst, model.Errorf(model.NotAcceptable, "cannot encode nodes as %s", f)
}

// Decode decodes the node at path p from data in format f. defs give the
// resources' types and cardinality; with nil defs a format that does not
// describe itself decodes values as documented by its package (TLV as
// Opaque, text as String).
func Decode(f Format, data []byte, p model.Path, defs model.Definitions) (model.Node, error) {
	if p.IsRoot() {
		return model.Node{}, model.Errorf(model.BadRequest, "decode %s: no node lives at the root path", f.Name())
	}
	switch f {
	case Text:
		return decodeText(data, p, defs)
	case Opaque:
		return decodeOpaque(data, p, defs)
	case CBOR:
		return decodeCBOR(data, p, defs)
	case TLV, LegacyTLV:
		return tlv.Decode(data, p, defs)
	case JSON, LegacyJSON:
		return omajson.Decode(data, p, defs)
	case SenMLJSON:
		return senml.DecodeJSON(data, p, defs)
	case SenMLCBOR:
		return senml.DecodeCBOR(data, p, defs)
	case LwM2MCBOR:
		return lwm2mcbor.Decode(data, p, defs)
	}
	return model.Node{}, model.Errorf(model.UnsupportedContentFormat, "cannot decode nodes from %s", f)
}

// EncodeRecords appends records (a Read-Composite response, a
// Write-Composite request, a Send, a timestamped notification) in a
// composite format: SenML JSON, SenML CBOR or LwM2M CBOR.
func EncodeRecords(dst []byte, f Format, recs []model.Record) ([]byte, error) {
	switch f {
	case SenMLJSON:
		return senml.AppendJSONRecords(dst, recs)
	case SenMLCBOR:
		return senml.AppendCBORRecords(dst, recs)
	case LwM2MCBOR:
		return lwm2mcbor.AppendRecords(dst, recs)
	}
	return dst, model.Errorf(model.NotAcceptable, "%s does not carry composite records", f)
}

// DecodeRecords decodes the records of a composite payload. Values keep
// the types the format gives them; model.Group or model.Build converts
// them with the definitions.
func DecodeRecords(f Format, data []byte) ([]model.Record, error) {
	switch f {
	case SenMLJSON:
		return senml.ParseJSONRecords(data)
	case SenMLCBOR:
		return senml.ParseCBORRecords(data)
	case LwM2MCBOR:
		return lwm2mcbor.ParseRecords(data)
	}
	return nil, model.Errorf(model.UnsupportedContentFormat, "%s does not carry composite records", f)
}

// EncodePaths appends a list of paths, the body of a Read-Composite or
// Observe-Composite request (Core 1.1 section 6.4.5), in SenML JSON or
// SenML CBOR.
func EncodePaths(dst []byte, f Format, paths []model.Path) ([]byte, error) {
	switch f {
	case SenMLJSON:
		return senml.AppendJSONPaths(dst, paths)
	case SenMLCBOR:
		return senml.AppendCBORPaths(dst, paths)
	}
	return dst, model.Errorf(model.NotAcceptable, "%s does not carry path lists", f)
}

// DecodePaths decodes a list of paths from a Read-Composite or
// Observe-Composite request body.
func DecodePaths(f Format, data []byte) ([]model.Path, error) {
	switch f {
	case SenMLJSON:
		return senml.ParseJSONPaths(data)
	case SenMLCBOR:
		return senml.ParseCBORPaths(data)
	}
	return nil, model.Errorf(model.UnsupportedContentFormat, "%s does not carry path lists", f)
}

// DecodeEntries decodes a composite payload into one entry per requested
// path (model.Group): a Read-Composite response read against the paths
// that were asked for, or, with paths nil, a Write-Composite or Send whose
// records name their own paths.
func DecodeEntries(f Format, data []byte, paths []model.Path, defs model.Definitions) ([]model.Entry, error) {
	recs, err := DecodeRecords(f, data)
	if err != nil {
		return nil, err
	}
	return model.Group(recs, paths, defs)
}

// EncodeEntries flattens entries into records and encodes them.
func EncodeEntries(dst []byte, f Format, entries []model.Entry) ([]byte, error) {
	var recs []model.Record
	for i := range entries {
		e := &entries[i]
		if err := e.Node.Validate(); err != nil {
			return dst, err
		}
		var err error
		if recs, err = model.Flatten(recs, e.Path, &e.Node); err != nil {
			return dst, err
		}
	}
	return EncodeRecords(dst, f, recs)
}

// CanEncode reports whether format f can carry node n: single-value
// formats carry one single resource or resource instance (opaque only an
// Opaque one); the others carry any node. It is how a peer picks a format
// it may answer in.
func CanEncode(f Format, n *model.Node) bool {
	switch f {
	case Text, CBOR:
		return n.HasValue() && !n.Value.IsNone()
	case Opaque:
		return n.HasValue() && n.Value.Type() == model.TypeOpaque
	case TLV, LegacyTLV, JSON, LegacyJSON, SenMLJSON, SenMLCBOR, LwM2MCBOR:
		return true
	}
	return false
}
