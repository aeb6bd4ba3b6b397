package link

import (
	"bytes"
	"errors"
	"slices"
	"strings"

	"github.com/wasm2m/wasm2m/core/model"
)

// Entry is one link of a Discover response (Core 1.1 and 1.2 section
// 6.3.2) or a Bootstrap-Discover response (section 6.1.7.3): a path and
// the attributes the client reports for it. Entry.Dim, promoted from
// Attributes, is the number of instances of a multiple resource.
type Entry struct {
	Path model.Path
	Attributes
	// Other holds the link's parameters that are not LwM2M attributes, in
	// their order, so that they survive a round trip.
	Other []Param
}

// ParseDiscover parses the link-format payload of a Discover or
// Bootstrap-Discover response, such as
//
//	</3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/7>;dim=2;gt=50;lt=42.2,</3/0/7/1>;lt=45
//	</>;lwm2m=1.1,</0/0>;ssid=101;uri="coaps://server_1.example.com",</0/1>,</1/0>;ssid=101
//
// and returns one Entry per link, in the order given. Each target must be
// an LwM2M path as model.ParsePath reads it ("/" for the enabler version
// link of Bootstrap-Discover; a single trailing slash, as in the
// specification's `</0/1/>`, is allowed); a path listed twice is an error.
// Attributes are read with ParseParams, so a bad value of a known
// attribute is an error and unknown parameters go to Other.
//
// As Core 1.2 section 6.1.7.3 allows a server to, ParseDiscover accepts
// the form of Bootstrap-Discover responses printed by earlier versions of
// the specification, whose first element is a bare parameter
// (`lwm2m=1.0,</0/0>;ssid=101`): it is read as `</>;lwm2m=1.0`.
//
// Errors are 4.00 *model.Error wrapping ErrSyntax, ErrTarget or
// ErrAttribute.
func ParseDiscover(b []byte) ([]Entry, error) {
	if rest := bytes.TrimLeft(b, " \t\r\n"); bytes.HasPrefix(rest, []byte("lwm2m=")) {
		b = append([]byte("</>;"), rest...)
	}
	links, err := Parse(b)
	if err != nil {
		return nil, err
	}
	if len(links) == 0 {
		return nil, nil
	}
	// Paths are checked before anything else is allocated, and duplicates
	// found by sorting a copy, so that memory stays proportional to input.
	paths := make([]model.Path, len(links))
	for i := range links {
		p, err := model.ParsePath(links[i].Target)
		if err != nil {
			return nil, model.Errorf(model.BadRequest, "link: %w: <%s>: %v", ErrTarget, clip(links[i].Target), errMsg(err))
		}
		paths[i] = p
	}
	sorted := slices.Clone(paths)
	slices.SortFunc(sorted, model.Path.Compare)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return nil, model.Errorf(model.BadRequest, "link: %w: %s listed twice", ErrTarget, sorted[i])
		}
	}
	entries := make([]Entry, len(links))
	for i := range links {
		e := &entries[i]
		e.Path = paths[i]
		other, err := parseParamsInto(&e.Attributes, links[i].Params)
		if err != nil {
			return nil, atTarget(links[i].Target, err)
		}
		e.Other = other
	}
	return entries, nil
}

// AppendDiscover appends the link-format payload of a Discover or
// Bootstrap-Discover response listing entries, in their order, to dst and
// returns the extended buffer. Each link is the entry's path, its set
// attributes in the order of Attributes.AppendLinkParams (rt and uri
// quoted, ct quoted when it lists more than one format), then Other:
//
//	</3/0/7>;dim=2;pmin=10;pmax=60;gt=50;lt=42.2,</3/0/7/0>,</3/0/7/1>;lt=45
//
// Unset attributes are left out; Other must not repeat an attribute.
func AppendDiscover(dst []byte, entries []Entry) []byte {
	for i := range entries {
		e := &entries[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '<')
		dst, _ = e.Path.AppendText(dst)
		dst = append(dst, '>')
		dst = appendAttrParams(dst, &e.Attributes)
		for _, p := range e.Other {
			dst = append(dst, ';')
			dst = appendParam(dst, p)
		}
	}
	return dst
}

// appendAttrParams writes a's set attributes as link parameters, each
// preceded by ";", as AppendLinkParams would give them.
func appendAttrParams(dst []byte, a *Attributes) []byte {
	for i := range numAttrs {
		d := &defs[i]
		if a.state(i) != StateSet {
			continue
		}
		switch i {
		case iCT:
			n := len(a.CT.Value)
			if n == 0 {
				continue
			}
			dst = append(dst, ";ct="...)
			if n > 1 {
				dst = append(dst, '"')
			}
			dst = appendCT(dst, a.CT.Value)
			if n > 1 {
				dst = append(dst, '"')
			}
		case iRT:
			dst = append(dst, ";rt="...)
			dst = appendQuoted(dst, a.RT.Value)
		case iURI:
			dst = append(dst, ";uri="...)
			dst = appendQuoted(dst, a.URI.Value)
		default:
			dst = append(dst, ';')
			dst = append(dst, d.name...)
			dst = append(dst, '=')
			dst = d.appendValue(dst, a)
		}
	}
	return dst
}

// atTarget puts the link target in front of the message of err, a
// *model.Error from ParseParams, keeping its code and cause.
func atTarget(target string, err error) error {
	var e *model.Error
	if !errors.As(err, &e) {
		return err
	}
	return &model.Error{Code: e.Code, Msg: "link: <" + clip(target) + ">: " + strings.TrimPrefix(e.Msg, "link: "), Err: e.Err}
}

// errMsg returns the message of err without the code an *model.Error
// puts in front, for quoting one error inside another.
func errMsg(err error) string {
	var e *model.Error
	if errors.As(err, &e) && e.Msg != "" {
		return e.Msg
	}
	return err.Error()
}
