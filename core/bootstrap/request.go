package bootstrap

import (
	"strconv"
	"strings"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
)

// maxEndpoint bounds the endpoint client name of a request.
const maxEndpoint = 1024

// request is what a Bootstrap-Request (POST /bs) or a
// Bootstrap-Pack-Request (GET /bspack) says in its Uri-Query options
// (Transport 1.1 section 6.1; 1.2 section 6.1).
type request struct {
	ep     string
	pct    codec.Format // codec.None when absent
	hasPCT bool
	// version is the lwm2m= a client may add (not a parameter of the
	// specification's Bootstrap-Request, but some clients send it);
	// zero when absent.
	version model.Version
}

// discoverable reports whether the device can answer Bootstrap-Discover
// and Bootstrap-Read (1.1 and later): it sent pct= (new in 1.1) or said
// it is 1.1 or later.
func (r request) discoverable() bool {
	return r.hasPCT || r.version.Compare(model.V1_1) >= 0
}

// parseQuery reads the ep= and pct= parameters of a bootstrap request,
// and lwm2m= if a client sends it. A missing, empty or repeated ep, and a
// repeated or malformed pct or lwm2m, are 4.00; a pct that names no format able to carry object instances is
// 4.15 (Core 1.1 section 6.1.3: the Preferred Content Format). Other
// parameters are ignored, as later versions may add some.
func parseQuery(queries []string) (request, error) {
	var r request
	hasEP := false
	for _, q := range queries {
		k, v, _ := strings.Cut(q, "=")
		switch k {
		case "ep":
			if hasEP {
				return r, model.Errorf(model.BadRequest, "bootstrap-request: ep given twice")
			}
			hasEP = true
			if v == "" || len(v) > maxEndpoint {
				return r, model.Errorf(model.BadRequest, "bootstrap-request: ep must have 1 to %d bytes", maxEndpoint)
			}
			r.ep = v
		case "pct":
			if r.hasPCT {
				return r, model.Errorf(model.BadRequest, "bootstrap-request: pct given twice")
			}
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil {
				return r, model.Errorf(model.BadRequest, "bootstrap-request: pct %q is not a content format number", v)
			}
			f := codec.Format(n)
			if !treeFormat(f) {
				return r, model.Errorf(model.UnsupportedContentFormat, "bootstrap-request: pct %d cannot carry object instances", n)
			}
			r.pct, r.hasPCT = f, true
		case "lwm2m":
			if !r.version.IsZero() {
				return r, model.Errorf(model.BadRequest, "bootstrap-request: lwm2m given twice")
			}
			v, err := model.ParseVersion(v)
			if err != nil || v.IsZero() {
				return r, model.Errorf(model.BadRequest, "bootstrap-request: lwm2m %q is not a version", q)
			}
			r.version = v
		}
	}
	if !hasEP {
		return r, model.Errorf(model.BadRequest, "bootstrap-request: no ep (endpoint client name)")
	}
	return r, nil
}

// treeFormat reports whether f can carry whole object instances, as
// Bootstrap-Write needs.
func treeFormat(f codec.Format) bool {
	return f.Known() && f != codec.LinkFormat && !f.SingleValue()
}
