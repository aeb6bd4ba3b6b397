package httpapi

import "errors"

// ErrNoToken is returned by New when authentication is on and no token
// is configured.
var ErrNoToken = errors.New("httpapi: no bearer token configured and authentication not explicitly disabled")

// errBadNode is wrapped by the errors of a node the caller sent (400).
var errBadNode = errors.New("bad node")

// errUnsupportedMedia is wrapped by the errors of a body in a media type
// the route does not take (415).
var errUnsupportedMedia = errors.New("unsupported media type")
