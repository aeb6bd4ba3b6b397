package httpapi

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/wasm2m/wasm2m/core/model"
)

// route is one operation of the API. Its pattern is written as the
// OpenAPI document writes its path: {endpoint} is one segment, {path} is
// an LwM2M path of one to four numeric segments (its slashes are path
// separators, not escaped).
//
// T is the API that serves it: *API (the server's API) or *BootstrapAPI.
type route[T any] struct {
	method  string
	pattern string
	name    string // the operation, as the metrics label it
	handle  func(a T, w http.ResponseWriter, r *http.Request, p params)
	public  bool // served without a token
}

// params are the values a pattern captured.
type params struct {
	endpoint string
	path     model.Path
}

// routes is every operation of the API; the OpenAPI document lists the
// same ones (TestOpenAPIMatchesRoutes).
var routes = []route[*API]{
	{http.MethodGet, "/healthz", "healthz", (*API).health, true},
	{http.MethodGet, "/metrics", "metrics", (*API).metricsHandler, false},
	{http.MethodGet, "/api/openapi.json", "openapi", (*API).openAPI, true},
	{http.MethodGet, "/api/clients", "clients", (*API).listClients, false},
	{http.MethodGet, "/api/clients/{endpoint}", "client", (*API).getClient, false},
	{http.MethodGet, "/api/clients/{endpoint}/composite", "read_composite", (*API).readComposite, false},
	{http.MethodPut, "/api/clients/{endpoint}/composite", "write_composite", (*API).writeComposite, false},
	{http.MethodPost, "/api/clients/{endpoint}/composite/observe", "observe_composite", (*API).observeComposite, false},
	{http.MethodDelete, "/api/clients/{endpoint}/composite/observe", "cancel_observe_composite", (*API).cancelObserveComposite, false},
	{http.MethodGet, "/api/clients/{endpoint}/{path}", "read", (*API).read, false},
	{http.MethodPut, "/api/clients/{endpoint}/{path}", "write", (*API).write, false},
	{http.MethodPost, "/api/clients/{endpoint}/{path}", "execute_create", (*API).executeOrCreate, false},
	{http.MethodDelete, "/api/clients/{endpoint}/{path}", "delete", (*API).delete, false},
	{http.MethodGet, "/api/clients/{endpoint}/{path}/discover", "discover", (*API).discover, false},
	{http.MethodPut, "/api/clients/{endpoint}/{path}/attributes", "write_attributes", (*API).writeAttributes, false},
	{http.MethodPost, "/api/clients/{endpoint}/{path}/observe", "observe", (*API).observe, false},
	{http.MethodDelete, "/api/clients/{endpoint}/{path}/observe", "cancel_observe", (*API).cancelObserve, false},
	{http.MethodGet, "/api/event", "event", (*API).eventStream, false},
	{http.MethodGet, "/api/objectspecs/{endpoint}", "objectspecs", (*API).objectSpecs, false},
	{http.MethodGet, "/api/security/clients", "security_clients", (*API).listCredentials, false},
	{http.MethodPut, "/api/security/clients", "put_security_client", (*API).putCredential, false},
	{http.MethodGet, "/api/security/clients/{endpoint}", "security_client", (*API).getCredential, false},
	{http.MethodDelete, "/api/security/clients/{endpoint}", "delete_security_client", (*API).deleteCredential, false},
}

// match finds the route of a request path in table. It returns ok false when no
// pattern has that shape, and a non-nil *route with wrongMethod when a
// pattern matches but not with this method. badPath is set when the path
// has the shape of a device path but is not a valid LwM2M path.
func match[T any](table []route[T], method, urlPath string) (rt *route[T], p params, allowed []string, badPath error) {
	segs := strings.Split(strings.Trim(urlPath, "/"), "/")
	if urlPath == "/" {
		segs = nil
	}
	for i := range table {
		r := &table[i]
		q, ok, err := matchPattern(r.pattern, segs)
		if err != nil {
			badPath = err
			continue
		}
		if !ok {
			continue
		}
		if r.method != method {
			allowed = append(allowed, r.method)
			continue
		}
		return r, q, nil, nil
	}
	return nil, params{}, allowed, badPath
}

func matchPattern(pattern string, segs []string) (params, bool, error) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	var p params
	i := 0
	for j, x := range ps {
		switch x {
		case "{endpoint}":
			if i >= len(segs) || segs[i] == "" {
				return p, false, nil
			}
			ep, err := url.PathUnescape(segs[i])
			if err != nil {
				return p, false, nil
			}
			p.endpoint = ep
			i++
		case "{path}":
			// As many numeric segments as follow, one to four, leaving
			// the rest of the pattern its literal suffix.
			rest := len(ps) - j - 1
			n := len(segs) - i - rest
			if n < 1 || !numeric(segs[i]) {
				return p, false, nil
			}
			for _, s := range segs[i : i+n] {
				if !numeric(s) {
					return p, false, nil
				}
			}
			if n > 4 {
				return p, false, model.Errorf(model.BadRequest, "an LwM2M path has at most four ids, not %d", n)
			}
			path, err := model.ParsePath("/" + strings.Join(segs[i:i+n], "/"))
			if err != nil {
				return p, false, err
			}
			p.path = path
			i += n
		default:
			if i >= len(segs) || segs[i] != x {
				return p, false, nil
			}
			i++
		}
	}
	return p, i == len(segs), nil
}

func numeric(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
