package httpapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

//go:embed openapi.json
var openAPIDoc []byte

func (a *API) openAPI(w http.ResponseWriter, r *http.Request, _ params) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPIDoc)
}

func (a *API) health(w http.ResponseWriter, r *http.Request, _ params) {
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed || !a.srv.Addr().IsValid() {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the LwM2M server is not serving")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// registration returns the registration of ep, or writes a 404.
func (a *API) registration(w http.ResponseWriter, r *http.Request, ep string) *store.Registration {
	reg, err := a.srv.Registration(r.Context(), ep)
	if err != nil {
		if errors.Is(err, model.ErrNotFound) {
			writeError(w, http.StatusNotFound, "unknown_endpoint", fmt.Sprintf("no registered client with endpoint %q", ep))
		} else {
			writeError(w, http.StatusInternalServerError, "store", err.Error())
		}
		return nil
	}
	return reg
}

func (a *API) listClients(w http.ResponseWriter, r *http.Request, _ params) {
	var regs []*store.Registration
	if err := a.srv.Registrations(r.Context(), func(reg *store.Registration) bool {
		regs = append(regs, reg)
		return true
	}); err != nil {
		writeError(w, http.StatusInternalServerError, "store", err.Error())
		return
	}
	slices.SortFunc(regs, func(x, y *store.Registration) int { return strings.Compare(x.Endpoint, y.Endpoint) })
	out := make([]jsonRegistration, len(regs))
	for i, reg := range regs {
		out[i] = encodeRegistration(reg, a.sleeping(reg))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getClient(w http.ResponseWriter, r *http.Request, p params) {
	if reg := a.registration(w, r, p.endpoint); reg != nil {
		writeJSON(w, http.StatusOK, encodeRegistration(reg, a.sleeping(reg)))
	}
}

// timeout reads the timeout parameter, in seconds as Leshan has it.
func (a *API) timeout(r *http.Request) (time.Duration, error) {
	s := r.URL.Query().Get("timeout")
	if s == "" {
		return a.cfg.RequestTimeout, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("timeout %q: want a positive number of seconds", s)
	}
	d := time.Duration(n) * time.Second
	return min(d, a.cfg.MaxTimeout), nil
}

// formatOption reads a content format parameter ("TLV", "SENML_JSON",
// "senml-cbor", "11542").
func formatOption(r *http.Request, name string) ([]server.Option, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	f, err := codec.ParseFormat(strings.ReplaceAll(s, "_", "-"))
	if err != nil || !f.Known() {
		return nil, fmt.Errorf("%s %q: unknown content format", name, s)
	}
	return []server.Option{server.WithFormat(f)}, nil
}

// badRequest writes a 400.
func badRequest(w http.ResponseWriter, kind, msg string) {
	writeError(w, http.StatusBadRequest, kind, msg)
}

func (a *API) read(w http.ResponseWriter, r *http.Request, p params) {
	opts, err := formatOption(r, "format")
	if err != nil {
		badRequest(w, "bad_format", err.Error())
		return
	}
	reg := a.registration(w, r, p.endpoint)
	if reg == nil {
		return
	}
	a.do(w, r, reg, op{name: "read", path: p.path.String(), run: func(ctx context.Context) (*jsonResponse, error) {
		n, err := a.srv.Read(ctx, p.endpoint, p.path, opts...)
		if err != nil {
			return nil, err
		}
		resp := success(model.Content)
		resp.Content = encodeNode(&n)
		return resp, nil
	}})
}

func (a *API) discover(w http.ResponseWriter, r *http.Request, p params) {
	if p.path.Level() > model.LevelResource {
		badRequest(w, "bad_path", "discover needs an object, instance or resource path, not "+p.path.String())
		return
	}
	reg := a.registration(w, r, p.endpoint)
	if reg == nil {
		return
	}
	a.do(w, r, reg, op{name: "discover", path: p.path.String(), run: func(ctx context.Context) (*jsonResponse, error) {
		entries, err := a.srv.Discover(ctx, p.endpoint, p.path)
		if err != nil {
			return nil, err
		}
		resp := success(model.Content)
		resp.ObjectLinks = discoverLinks(entries)
		return resp, nil
	}})
}

// definitions returns the definitions in effect for reg: the versions its
// registration named.
func (a *API) definitions(reg *store.Registration) model.Definitions {
	versions := make(map[uint16]model.Version)
	for _, o := range reg.Objects {
		if !o.Version.IsZero() {
			versions[o.ID] = o.Version
		}
	}
	return a.srv.Definitions().View(versions)
}

// readBody reads a node for path p from the request body: JSON in
// Leshan's shape, or text/plain for a resource value (parsed as the
// resource's type).
func (a *API) readBody(r *http.Request, reg *store.Registration, p model.Path) (model.Node, error) {
	body, ct, err := readRaw(r)
	if err != nil {
		return model.Node{}, err
	}
	defs := a.definitions(reg)
	switch ct {
	case "application/json", "":
		n, err := decodeNode(body)
		if err != nil {
			return model.Node{}, err
		}
		return fitNode(n, p, defs)
	case "text/plain":
		if p.Level() < model.LevelResource {
			return model.Node{}, nodeError("text/plain carries one resource value; %s is not a resource", p)
		}
		t := model.TypeString
		if d := model.ResourceDefAt(defs, p); d != nil && d.Type != model.TypeNone {
			t = d.Type
		}
		v, err := model.ParseText(string(body), t)
		if err != nil {
			return model.Node{}, nodeError("%v", err)
		}
		if p.Level() == model.LevelResourceInstance {
			return model.NewResourceInstance(p.Last(), v), nil
		}
		return model.NewResource(p.Last(), v), nil
	}
	return model.Node{}, fmt.Errorf("%w: content type %q: want application/json or text/plain", errUnsupportedMedia, ct)
}

// readRaw reads the body and its media type.
func readRaw(r *http.Request) ([]byte, string, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, "", nodeError("read the body: %v", err)
	}
	if len(body) > maxBody {
		return nil, "", nodeError("body larger than %d bytes", maxBody)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return body, ct, nil
}

// fitNode checks that n is the node at p (its kind, its id), gives an
// instance without an id the id of p, and converts values to the types
// the definitions give.
func fitNode(n model.Node, p model.Path, defs model.Definitions) (model.Node, error) {
	want := map[model.Level][]model.Kind{
		model.LevelObject:           {model.KindObject},
		model.LevelInstance:         {model.KindInstance},
		model.LevelResource:         {model.KindResource, model.KindMultipleResource},
		model.LevelResourceInstance: {model.KindResourceInstance, model.KindResource},
	}[p.Level()]
	if !slices.Contains(want, n.Kind) {
		return model.Node{}, nodeError("a %s does not go at %s", n.Kind, p)
	}
	if p.Level() == model.LevelResourceInstance {
		n.Kind = model.KindResourceInstance
	}
	if n.Kind == model.KindInstance && n.ID == model.NoID {
		n.ID = p.Last()
	}
	if n.ID != p.Last() {
		return model.Node{}, nodeError("node id %d at %s", n.ID, p)
	}
	if err := convertTypes(&n, p, defs); err != nil {
		return model.Node{}, err
	}
	return n, nil
}

// convertTypes converts the values under n (at p) to the types of their
// resources' definitions, where known.
func convertTypes(n *model.Node, p model.Path, defs model.Definitions) error {
	if n.HasValue() {
		d := model.ResourceDefAt(defs, p)
		if d == nil || d.Type == model.TypeNone || n.Value.Type() == d.Type {
			return nil
		}
		v, err := n.Value.Convert(d.Type)
		if err != nil {
			return nodeError("%s: %v", p, err)
		}
		n.Value = v
		return nil
	}
	for i := range n.Children {
		cp, err := p.Child(n.Children[i].ID)
		if err != nil {
			return nodeError("%v", err)
		}
		if err := convertTypes(&n.Children[i], cp, defs); err != nil {
			return err
		}
	}
	return nil
}

func bodyError(w http.ResponseWriter, err error) {
	if errors.Is(err, errUnsupportedMedia) {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", err.Error())
		return
	}
	badRequest(w, "bad_node", err.Error())
}

func (a *API) write(w http.ResponseWriter, r *http.Request, p params) {
	opts, err := formatOption(r, "format")
	if err != nil {
		badRequest(w, "bad_format", err.Error())
		return
	}
	replace := true
	if s := r.URL.Query().Get("replace"); s != "" {
		if replace, err = strconv.ParseBool(s); err != nil {
			badRequest(w, "bad_parameter", fmt.Sprintf("replace %q: want true or false", s))
			return
		}
	}
	if p.path.Level() < model.LevelInstance {
		badRequest(w, "bad_path", "write needs an instance, resource or resource instance path, not "+p.path.String())
		return
	}
	if !replace && p.path.Level() != model.LevelInstance {
		badRequest(w, "bad_path", "a partial update (replace=false) writes an object instance, not "+p.path.String())
		return
	}
	reg := a.registration(w, r, p.endpoint)
	if reg == nil {
		return
	}
	n, err := a.readBody(r, reg, p.path)
	if err != nil {
		bodyError(w, err)
		return
	}
	a.do(w, r, reg, op{name: "write", path: p.path.String(), run: func(ctx context.Context) (*jsonResponse, error) {
		if err := a.srv.Write(ctx, p.endpoint, p.path, n, replace, opts...); err != nil {
			return nil, err
		}
		return success(model.Changed), nil
	}})
}

// attributeQuery returns the query of r without the API's own
// parameters, as "name=value" items.
func attributeQuery(r *http.Request) ([]string, error) {
	var out []string
	for _, q := range strings.Split(r.URL.RawQuery, "&") {
		if q == "" {
			continue
		}
		s, err := url.QueryUnescape(q)
		if err != nil {
			return nil, fmt.Errorf("query %q: %v", q, err)
		}
		if k, _, _ := strings.Cut(s, "="); k == "timeout" {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

func (a *API) writeAttributes(w http.ResponseWriter, r *http.Request, p params) {
	q, err := attributeQuery(r)
	if err != nil {
		badRequest(w, "bad_attributes", err.Error())
		return
	}
	attrs, err := link.ParseQuery(q)
	if err == nil && attrs.IsZero() {
		err = errors.New("no attribute given (pmin, pmax, gt, lt, st, epmin, epmax, ...)")
	}
	if err == nil {
		err = attrs.CheckLevel(p.path.Level())
	}
	if err != nil {
		badRequest(w, "bad_attributes", errText(err))
		return
	}
	reg := a.registration(w, r, p.endpoint)
	if reg == nil {
		return
	}
	a.do(w, r, reg, op{name: "write_attributes", path: p.path.String(), run: func(ctx context.Context) (*jsonResponse, error) {
		if err := a.srv.WriteAttributes(ctx, p.endpoint, p.path, attrs); err != nil {
			return nil, err
		}
		return success(model.Changed), nil
	}})
}

// executeOrCreate is POST on a path: Execute on a resource, Create on an
// object (or on an instance path, creating that instance).
func (a *API) executeOrCreate(w http.ResponseWriter, r *http.Request, p params) {
	switch p.path.Level() {
	case model.LevelResource:
		a.execute(w, r, p)
	case model.LevelObject, model.LevelInstance:
		a.create(w, r, p)
	default:
		badRequest(w, "bad_path", "POST executes a resource or creates an instance of an object; not "+p.path.String())
	}
}

func (a *API) execute(w http.ResponseWriter, r *http.Request, p params) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		badRequest(w, "bad_body", "unreadable or too large arguments")
		return
	}
	reg := a.registration(w, r, p.endpoint)
	if reg == nil {
		return
	}
	args := string(body)
	a.do(w, r, reg, op{name: "execute", path: p.path.String(), run: func(ctx context.Context) (*jsonResponse, error) {
		if err := a.srv.Execute(ctx, p.endpoint, p.path, args); err != nil {
			return nil, err
		}
		return success(model.Changed), nil
	}})
}

func (a *API) create(w http.ResponseWriter, r *http.Request, p params) {
	opts, err := formatOption(r, "format")
	if err != nil {
		badRequest(w, "bad_format", err.Error())
		return
	}
	reg := a.registration(w, r, p.endpoint)
	if reg == nil {
		return
	}
	n, err := a.createNode(r, reg, p.path)
	if err != nil {
		bodyError(w, err)
		return
	}
	obj := p.path.ObjectID()
	a.do(w, r, reg, op{name: "create", path: p.path.String(), run: func(ctx context.Context) (*jsonResponse, error) {
		created, err := a.srv.Create(ctx, p.endpoint, obj, n, opts...)
		if err != nil {
			return nil, err
		}
		resp := success(model.Created)
		resp.Location = created.String()
		return resp, nil
	}})
}

// createNode reads the instance to create at p (an object path, or the
// path of the instance to create).
func (a *API) createNode(r *http.Request, reg *store.Registration, p model.Path) (model.Node, error) {
	body, ct, err := readRaw(r)
	if err != nil {
		return model.Node{}, err
	}
	if ct != "application/json" && ct != "" {
		return model.Node{}, fmt.Errorf("%w: content type %q: a Create takes an instance as application/json", errUnsupportedMedia, ct)
	}
	n, err := decodeNode(body)
	if err != nil {
		return model.Node{}, err
	}
	if n.Kind != model.KindInstance {
		return model.Node{}, nodeError("a Create takes an object instance, not a %s", n.Kind)
	}
	if p.Level() == model.LevelInstance {
		if n.ID == model.NoID {
			n.ID = p.Last()
		} else if n.ID != p.Last() {
			return model.Node{}, nodeError("instance id %d at %s", n.ID, p)
		}
	}
	id := n.ID
	if id == model.NoID {
		id = 0
	}
	if err := convertTypes(&n, model.InstancePath(p.ObjectID(), id), a.definitions(reg)); err != nil {
		return model.Node{}, err
	}
	return n, nil
}

func (a *API) delete(w http.ResponseWriter, r *http.Request, p params) {
	if l := p.path.Level(); l != model.LevelInstance && l != model.LevelResourceInstance {
		badRequest(w, "bad_path", "delete needs an object instance or resource instance path, not "+p.path.String())
		return
	}
	reg := a.registration(w, r, p.endpoint)
	if reg == nil {
		return
	}
	a.do(w, r, reg, op{name: "delete", path: p.path.String(), run: func(ctx context.Context) (*jsonResponse, error) {
		if err := a.srv.Delete(ctx, p.endpoint, p.path); err != nil {
			return nil, err
		}
		return success(model.Deleted), nil
	}})
}

func (a *API) observe(w http.ResponseWriter, r *http.Request, p params) {
	opts, err := formatOption(r, "format")
	if err != nil {
		badRequest(w, "bad_format", err.Error())
		return
	}
	reg := a.registration(w, r, p.endpoint)
	if reg == nil {
		return
	}
	a.do(w, r, reg, op{name: "observe", path: p.path.String(), run: func(ctx context.Context) (*jsonResponse, error) {
		o, err := a.srv.Observe(ctx, p.endpoint, p.path, opts...)
		if err != nil {
			return nil, err
		}
		resp := success(model.Content)
		if len(o.First) > 0 {
			resp.Content = encodeNode(&o.First[0].Node)
		}
		return resp, nil
	}})
}

// cancelObservations ends the observations of ep that match: passively at once
// (HTTP 200, no body), or actively through the device (a device
// response), as Leshan does.
func (a *API) cancelObservations(w http.ResponseWriter, r *http.Request, ep string, name, path string, matches func(*store.Observation) bool) {
	reg := a.registration(w, r, ep)
	if reg == nil {
		return
	}
	obs, err := a.srv.Observations(r.Context(), ep)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "store", err.Error())
		return
	}
	var toks []string
	for _, o := range obs {
		if matches(o) {
			toks = append(toks, o.Token)
		}
	}
	if _, active := r.URL.Query()["active"]; !active {
		for _, t := range toks {
			a.srv.CancelObservation(r.Context(), t, false)
			a.forgetComposite(reg.ID, t)
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	if len(toks) == 0 {
		writeError(w, http.StatusNotFound, "no_observation", fmt.Sprintf("no observation of %s on %q", path, ep))
		return
	}
	a.do(w, r, reg, op{name: name, path: path, run: func(ctx context.Context) (*jsonResponse, error) {
		var first error
		for _, t := range toks {
			if err := a.srv.CancelObservation(ctx, t, true); err != nil && first == nil {
				first = err
			}
			a.forgetComposite(reg.ID, t)
		}
		if first != nil {
			return nil, first
		}
		return success(model.Content), nil
	}})
}

func (a *API) forgetComposite(regID, tok string) {
	a.mu.Lock()
	if set := a.composite[regID]; set != nil {
		delete(set, tok)
		if len(set) == 0 {
			delete(a.composite, regID)
		}
	}
	a.mu.Unlock()
}

func (a *API) cancelObserve(w http.ResponseWriter, r *http.Request, p params) {
	a.cancelObservations(w, r, p.endpoint, "cancel_observe", p.path.String(), func(o *store.Observation) bool {
		return !o.Composite && len(o.Paths) == 1 && o.Paths[0] == p.path
	})
}

// compositePaths reads the paths parameter: LwM2M paths separated by
// commas.
func compositePaths(r *http.Request) ([]model.Path, error) {
	s := r.URL.Query().Get("paths")
	if s == "" {
		return nil, errors.New("paths: want LwM2M paths separated by commas, such as /3/0/0,/3/0/9")
	}
	var out []model.Path
	for _, x := range strings.Split(s, ",") {
		p, err := model.ParsePath(strings.TrimSpace(x))
		if err != nil {
			return nil, fmt.Errorf("paths: %s", errText(err))
		}
		out = append(out, p)
	}
	return out, nil
}

// compositeRequest reads what every composite route takes: the paths
// (withPaths), the format and the registration of the endpoint. It answers
// the error itself and returns a nil registration on any.
func (a *API) compositeRequest(w http.ResponseWriter, r *http.Request, p params, withPaths bool) ([]model.Path, []server.Option, *store.Registration) {
	var paths []model.Path
	if withPaths {
		var err error
		if paths, err = compositePaths(r); err != nil {
			badRequest(w, "bad_path", err.Error())
			return nil, nil, nil
		}
	}
	opts, err := formatOption(r, "nodeformat")
	if err != nil {
		badRequest(w, "bad_format", err.Error())
		return nil, nil, nil
	}
	return paths, opts, a.registration(w, r, p.endpoint)
}

func (a *API) readComposite(w http.ResponseWriter, r *http.Request, p params) {
	paths, opts, reg := a.compositeRequest(w, r, p, true)
	if reg == nil {
		return
	}
	a.do(w, r, reg, op{name: "read_composite", run: func(ctx context.Context) (*jsonResponse, error) {
		entries, err := a.srv.ReadComposite(ctx, p.endpoint, paths, opts...)
		if err != nil {
			return nil, err
		}
		resp := success(model.Content)
		resp.Content = encodeEntries(entries)
		return resp, nil
	}})
}

func (a *API) writeComposite(w http.ResponseWriter, r *http.Request, p params) {
	_, opts, reg := a.compositeRequest(w, r, p, false)
	if reg == nil {
		return
	}
	body, ct, err := readRaw(r)
	if err == nil && ct != "application/json" && ct != "" {
		err = fmt.Errorf("%w: content type %q: a Write-Composite takes application/json", errUnsupportedMedia, ct)
	}
	if err != nil {
		bodyError(w, err)
		return
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || len(raw) == 0 {
		badRequest(w, "bad_node", "want a JSON object of nodes keyed by path, such as {\"/3/0/14\": {...}}")
		return
	}
	defs := a.definitions(reg)
	var entries []model.Entry
	for k, v := range raw {
		path, err := model.ParsePath(k)
		if err != nil {
			badRequest(w, "bad_path", errText(err))
			return
		}
		n, err := decodeNode(v)
		if err == nil {
			n, err = fitNode(n, path, defs)
		}
		if err != nil {
			badRequest(w, "bad_node", err.Error())
			return
		}
		entries = append(entries, model.Entry{Path: path, Node: n})
	}
	slices.SortFunc(entries, func(x, y model.Entry) int { return x.Path.Compare(y.Path) })
	a.do(w, r, reg, op{name: "write_composite", run: func(ctx context.Context) (*jsonResponse, error) {
		if err := a.srv.WriteComposite(ctx, p.endpoint, entries, opts...); err != nil {
			return nil, err
		}
		return success(model.Changed), nil
	}})
}

func (a *API) observeComposite(w http.ResponseWriter, r *http.Request, p params) {
	paths, opts, reg := a.compositeRequest(w, r, p, true)
	if reg == nil {
		return
	}
	a.do(w, r, reg, op{name: "observe_composite", run: func(ctx context.Context) (*jsonResponse, error) {
		o, err := a.srv.ObserveComposite(ctx, p.endpoint, paths, opts...)
		if err != nil {
			return nil, err
		}
		a.mu.Lock()
		if a.composite[reg.ID] == nil {
			a.composite[reg.ID] = make(map[string]bool)
		}
		a.composite[reg.ID][o.Token] = true
		a.mu.Unlock()
		resp := success(model.Content)
		resp.Content = encodeEntries(o.First)
		return resp, nil
	}})
}

func (a *API) cancelObserveComposite(w http.ResponseWriter, r *http.Request, p params) {
	paths, err := compositePaths(r)
	if err != nil {
		badRequest(w, "bad_path", err.Error())
		return
	}
	a.cancelObservations(w, r, p.endpoint, "cancel_observe_composite", "", func(o *store.Observation) bool {
		return o.Composite && slices.Equal(o.Paths, paths)
	})
}

func (a *API) objectSpecs(w http.ResponseWriter, r *http.Request, p params) {
	reg := a.registration(w, r, p.endpoint)
	if reg == nil {
		return
	}
	defs := a.definitions(reg)
	var ids []uint16
	for _, d := range a.srv.Definitions().All() {
		if len(ids) == 0 || ids[len(ids)-1] != d.ID {
			ids = append(ids, d.ID)
		}
	}
	out := make([]jsonObjectSpec, 0, len(ids))
	for _, id := range ids {
		if d := defs.Object(id); d != nil {
			out = append(out, encodeObjectDef(d))
		}
	}
	writeJSON(w, http.StatusOK, out)
}
