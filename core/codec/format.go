package codec

import (
	"strconv"
	"strings"

	"github.com/wasm2m/wasm2m/core/model"
)

// Format is a CoAP Content-Format number (RFC 7252 section 12.3; the
// LwM2M formats are listed in Core 1.1 section 7.4 and 1.2 section 7.4).
type Format uint16

// The content formats LwM2M uses.
const (
	Text       Format = 0     // text/plain;charset=utf-8: one value
	LinkFormat Format = 40    // application/link-format: Discover, Register
	Opaque     Format = 42    // application/octet-stream: one opaque value
	CBOR       Format = 60    // application/cbor: one value (1.1)
	SenMLJSON  Format = 110   // application/senml+json (1.1)
	SenMLCBOR  Format = 112   // application/senml+cbor (1.1)
	LegacyTLV  Format = 1542  // TLV before IANA registration (1.0 devices)
	LegacyJSON Format = 1543  // OMA JSON before IANA registration (1.0 devices)
	TLV        Format = 11542 // application/vnd.oma.lwm2m+tlv
	JSON       Format = 11543 // application/vnd.oma.lwm2m+json (1.0)
	LwM2MCBOR  Format = 11544 // application/vnd.oma.lwm2m+cbor (1.2)
)

// None is the absence of a content format (no Content-Format option).
const None Format = 0xffff

type formatInfo struct {
	mediaType string
	names     []string // short names accepted by ParseFormat, first is canonical
}

var formats = map[Format]formatInfo{
	Text:       {"text/plain;charset=utf-8", []string{"text", "plain", "text/plain"}},
	LinkFormat: {"application/link-format", []string{"link", "link-format", "corelnk"}},
	Opaque:     {"application/octet-stream", []string{"opaque", "octet-stream"}},
	CBOR:       {"application/cbor", []string{"cbor"}},
	SenMLJSON:  {"application/senml+json", []string{"senml-json", "senml+json", "senmljson"}},
	SenMLCBOR:  {"application/senml+cbor", []string{"senml-cbor", "senml+cbor", "senmlcbor"}},
	LegacyTLV:  {"application/vnd.oma.lwm2m+tlv (1542)", []string{"old-tlv", "legacy-tlv"}},
	LegacyJSON: {"application/vnd.oma.lwm2m+json (1543)", []string{"old-json", "legacy-json"}},
	TLV:        {"application/vnd.oma.lwm2m+tlv", []string{"tlv"}},
	JSON:       {"application/vnd.oma.lwm2m+json", []string{"json", "oma-json", "lwm2m-json"}},
	LwM2MCBOR:  {"application/vnd.oma.lwm2m+cbor", []string{"lwm2m-cbor", "lwm2mcbor"}},
}

// Formats returns every format this package knows, in ascending number.
func Formats() []Format {
	return []Format{Text, LinkFormat, Opaque, CBOR, SenMLJSON, SenMLCBOR, LegacyTLV, LegacyJSON, TLV, JSON, LwM2MCBOR}
}

// DataFormats returns the formats that carry resource values, in the
// order of preference a peer uses when it may choose: the most capable
// first.
func DataFormats() []Format {
	return []Format{SenMLCBOR, LwM2MCBOR, SenMLJSON, TLV, JSON, CBOR, Text, Opaque, LegacyTLV, LegacyJSON}
}

// Known reports whether f is a format this package knows.
func (f Format) Known() bool { _, ok := formats[f]; return ok }

// MediaType returns the media type of f, such as "application/senml+cbor",
// or the number for an unknown format.
func (f Format) MediaType() string {
	if i, ok := formats[f]; ok {
		return i.mediaType
	}
	return strconv.Itoa(int(f))
}

// Name returns the short name of f ("tlv", "senml-cbor"), as the command
// line and the HTTP API accept it, or the number for an unknown format.
func (f Format) Name() string {
	if i, ok := formats[f]; ok {
		return i.names[0]
	}
	if f == None {
		return "none"
	}
	return strconv.Itoa(int(f))
}

// String returns the short name and the number, such as "tlv(11542)".
func (f Format) String() string {
	return f.Name() + "(" + strconv.Itoa(int(f)) + ")"
}

// ParseFormat accepts a content format number ("11542"), a short name
// ("tlv", "senml-cbor"), or a media type ("application/senml+json"),
// ignoring case.
func ParseFormat(s string) (Format, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if n, err := strconv.ParseUint(s, 10, 16); err == nil {
		return Format(n), nil
	}
	for f, i := range formats {
		if s == i.mediaType || (f == Text && s == "text/plain") {
			return f, nil
		}
		for _, n := range i.names {
			if s == n {
				return f, nil
			}
		}
	}
	return None, model.Errorf(model.BadRequest, "unknown content format %q", s)
}

// SingleValue reports whether f carries exactly one value: text, opaque
// and CBOR (Core 1.1 section 7.4.1, 7.4.2, 7.4.5).
func (f Format) SingleValue() bool { return f == Text || f == Opaque || f == CBOR }

// Composite reports whether f can carry the records of a composite
// operation or a Send, and lists of paths (Core 1.1 section 6.4.5: SenML
// JSON and SenML CBOR; 1.2 adds LwM2M CBOR for records).
func (f Format) Composite() bool { return f == SenMLJSON || f == SenMLCBOR || f == LwM2MCBOR }

// MinVersion returns the LwM2M enabler version that introduced f: 1.0 for
// text, opaque, link format, TLV and OMA JSON; 1.1 for CBOR and SenML;
// 1.2 for LwM2M CBOR.
func (f Format) MinVersion() model.Version {
	switch f {
	case CBOR, SenMLJSON, SenMLCBOR:
		return model.V1_1
	case LwM2MCBOR:
		return model.V1_2
	}
	return model.V1_0
}
