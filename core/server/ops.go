package server

import (
	"context"
	"crypto/rand"
	"errors"
	"net/netip"
	"strings"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
)

// Option adjusts one request to a device.
type Option func(*callOptions)

type callOptions struct {
	format codec.Format // codec.None: the server picks
}

// WithFormat makes a request use content format f for its payload and ask
// for f in the response (Accept), instead of the best format the device
// advertised.
func WithFormat(f codec.Format) Option { return func(o *callOptions) { o.format = f } }

func options(opts []Option) callOptions {
	o := callOptions{format: codec.None}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// preference is the order in which the server picks a format among those
// a device advertised: the compact self-describing ones first.
var preference = []codec.Format{codec.SenMLCBOR, codec.LwM2MCBOR, codec.SenMLJSON, codec.TLV, codec.JSON, codec.LegacyTLV, codec.LegacyJSON}

// formatFor picks the content format for a request to r: the caller's
// choice, else the best format the device advertised (the ct attribute of
// its registration), else TLV, which every 1.0 device speaks, and SenML
// CBOR for composite operations (Core 1.1 section 7.4).
func formatFor(r *store.Registration, composite bool, o callOptions) codec.Format {
	if o.format != codec.None {
		return o.format
	}
	return bestFormat(r, composite)
}

// checkFormat refuses a format the device's LwM2M version does not have:
// the lwm2m= parameter of its registration decides what it may be sent
// (SenML and CBOR arrived in 1.1, LwM2M CBOR in 1.2).
func checkFormat(r *store.Registration, f codec.Format) error {
	if !f.Known() {
		return model.Errorf(model.NotAcceptable, "unknown content format %d", uint16(f))
	}
	if f.MinVersion().Compare(r.Version) > 0 {
		return model.Errorf(model.NotAcceptable, "device %s registered with LwM2M %s, which has no %s (LwM2M %s)", r.Endpoint, r.Version, f.Name(), f.MinVersion())
	}
	return nil
}

// checkComposite refuses composite operations to a 1.0 device.
func checkComposite(r *store.Registration) error {
	if r.Version.Compare(model.V1_1) < 0 {
		return model.Errorf(model.NotAcceptable, "device %s registered with LwM2M %s, which has no composite operations (LwM2M 1.1)", r.Endpoint, r.Version)
	}
	return nil
}

func bestFormat(r *store.Registration, composite bool) codec.Format {
	for _, f := range preference {
		if composite && !f.Composite() {
			continue
		}
		if f.MinVersion().Compare(r.Version) > 0 {
			continue
		}
		for _, cf := range r.ContentFormats {
			if uint16(f) == cf {
				return f
			}
		}
	}
	if composite {
		return codec.SenMLCBOR
	}
	return codec.TLV
}

// uriPath returns the Uri-Path of p on device r, under its root path.
func uriPath(r *store.Registration, p model.Path) string {
	root := strings.TrimSuffix(r.RootPath, "/")
	if p.IsRoot() {
		return root + "/"
	}
	return root + p.String()
}

// call sends msg to the device registered as ep and returns its response
// and registration. A queue-mode device's request waits until it wakes.
// A response code that is not 2.xx is returned as an error carrying that
// code.
func (s *Server) call(ctx context.Context, ep string, msg *transport.Message) (*transport.Message, *store.Registration, error) {
	r, err := s.store.RegistrationByEndpoint(ctx, ep)
	if err != nil {
		return nil, nil, model.Errorf(model.NotFound, "device %q is not registered", ep)
	}
	resp, err := s.callRegistration(ctx, r, msg)
	return resp, r, err
}

func (s *Server) callRegistration(ctx context.Context, r *store.Registration, msg *transport.Message) (*transport.Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.RequestTimeout)
		defer cancel()
	}
	var resp *transport.Message
	var err error
	s.mu.Lock()
	q := s.queues[r.ID]
	s.mu.Unlock()
	if q != nil {
		resp, err = q.do(ctx, r, msg)
	} else {
		resp, err = s.transmit(ctx, r.Address, r.Secure, msg)
	}
	if err != nil {
		return nil, err
	}
	if !resp.Code.IsSuccess() {
		diag := strings.TrimSpace(string(resp.Payload))
		if len(diag) > 200 {
			diag = diag[:200]
		}
		msg := "device " + r.Endpoint + " answered " + resp.Code.String()
		if t := resp.Code.Text(); t != "" {
			msg += " " + t
		}
		if diag != "" {
			msg += ": " + diag
		}
		return resp, &model.Error{Code: resp.Code, Msg: msg}
	}
	return resp, nil
}

// transmit sends one request over the transport, the DTLS endpoint when
// secure, and maps its failures to LwM2M errors: no answer is 5.04, a
// reset 5.03.
func (s *Server) transmit(ctx context.Context, peer netip.AddrPort, secure bool, msg *transport.Message) (*transport.Message, error) {
	s.mu.Lock()
	ep := s.ep
	if secure {
		ep = s.sep
	}
	s.mu.Unlock()
	if ep == nil {
		return nil, ErrClosed
	}
	resp, err := ep.Do(ctx, peer, msg)
	switch {
	case err == nil:
		return resp, nil
	case errors.Is(err, transport.ErrTimeout):
		return nil, &model.Error{Code: model.GatewayTimeout, Msg: "device at " + peer.String() + " did not answer " + msg.Path(), Err: err}
	case errors.Is(err, transport.ErrReset):
		return nil, &model.Error{Code: model.ServiceUnavailable, Msg: "device at " + peer.String() + " reset " + msg.Path(), Err: err}
	case errors.Is(err, transport.ErrClosed):
		return nil, ErrClosed
	case ctx.Err() != nil:
		return nil, &model.Error{Code: model.GatewayTimeout, Msg: "no answer from " + peer.String() + " to " + msg.Path() + " in time", Err: err}
	}
	return nil, err
}

func newRequest(code model.Code, r *store.Registration, p model.Path) *transport.Message {
	m := &transport.Message{Code: code}
	m.SetPath(uriPath(r, p))
	return m
}

// decodeResponse decodes the node at p from a 2.05 response.
func (s *Server) decodeResponse(r *store.Registration, p model.Path, resp *transport.Message, asked codec.Format) (model.Node, error) {
	f := asked
	if cf, ok := resp.ContentFormat(); ok {
		f = codec.Format(cf)
	}
	n, err := codec.Decode(f, resp.Payload, p, s.defsFor(r))
	if err != nil {
		return model.Node{}, model.Errorf(model.BadGateway, "device %s sent an undecodable %s payload for %s: %w", r.Endpoint, f.Name(), p, err)
	}
	return n, nil
}

// Read reads the node at p from device ep (Core 1.1 section 6.3.1).
func (s *Server) Read(ctx context.Context, ep string, p model.Path, opts ...Option) (model.Node, error) {
	if p.IsRoot() {
		return model.Node{}, model.Errorf(model.BadRequest, "read of the root path: use ReadComposite")
	}
	r, err := s.store.RegistrationByEndpoint(ctx, ep)
	if err != nil {
		return model.Node{}, model.Errorf(model.NotFound, "device %q is not registered", ep)
	}
	f := formatFor(r, false, options(opts))
	if err := checkFormat(r, f); err != nil {
		return model.Node{}, err
	}
	msg := newRequest(transport.GET, r, p)
	msg.SetAccept(uint16(f))
	resp, err := s.callRegistration(ctx, r, msg)
	if err != nil {
		return model.Node{}, err
	}
	return s.decodeResponse(r, p, resp, f)
}

// Write writes node n to p on device ep (Core 1.1 section 6.3.3): replace
// (PUT) overwrites the instance or resource, a partial update (POST, on an
// object instance only) changes just the resources given.
func (s *Server) Write(ctx context.Context, ep string, p model.Path, n model.Node, replace bool, opts ...Option) error {
	if !replace && p.Level() != model.LevelInstance {
		return model.Errorf(model.BadRequest, "a partial update writes an object instance, not %s", p)
	}
	if p.Level() < model.LevelInstance {
		return model.Errorf(model.BadRequest, "write needs an object instance, resource or resource instance path, not %s", p)
	}
	r, err := s.store.RegistrationByEndpoint(ctx, ep)
	if err != nil {
		return model.Errorf(model.NotFound, "device %q is not registered", ep)
	}
	o := options(opts)
	f := formatFor(r, false, o)
	if err := checkFormat(r, f); err != nil {
		return err
	}
	if !codec.CanEncode(f, &n) {
		if o.format != codec.None {
			return model.Errorf(model.NotAcceptable, "%s cannot carry a %s", f.Name(), n.Kind)
		}
		// The format picked for the device cannot carry this node (an
		// Opaque-only device, say): fall back to TLV, which every 1.0
		// device speaks.
		f = codec.TLV
	}
	payload, err := codec.Encode(nil, f, p, &n)
	if err != nil {
		return err
	}
	code := transport.PUT
	if !replace {
		code = transport.POST
	}
	msg := newRequest(code, r, p)
	msg.SetContentFormat(uint16(f))
	msg.Payload = payload
	_, err = s.callRegistration(ctx, r, msg)
	return err
}

// Execute executes resource p on device ep with optional arguments (Core
// 1.1 section 6.3.5; the arguments' syntax is section 5.4.3, e.g.
// `0='4',1`).
func (s *Server) Execute(ctx context.Context, ep string, p model.Path, args string) error {
	if p.Level() != model.LevelResource {
		return model.Errorf(model.BadRequest, "execute needs a resource path, not %s", p)
	}
	r, err := s.store.RegistrationByEndpoint(ctx, ep)
	if err != nil {
		return model.Errorf(model.NotFound, "device %q is not registered", ep)
	}
	msg := newRequest(transport.POST, r, p)
	if args != "" {
		msg.SetContentFormat(uint16(codec.Text))
		msg.Payload = []byte(args)
	}
	_, err = s.callRegistration(ctx, r, msg)
	return err
}

// Create creates an instance of object obj on device ep (Core 1.1 section
// 6.3.6) and returns its path. inst.ID is the instance id to create, or
// model.NoID to let the device choose (then the payload carries only the
// resources, in TLV, and the device answers with the new instance's path).
func (s *Server) Create(ctx context.Context, ep string, obj uint16, inst model.Node, opts ...Option) (model.Path, error) {
	if inst.Kind != model.KindInstance {
		return model.Path{}, model.Errorf(model.BadRequest, "create takes an object instance, not a %s", inst.Kind)
	}
	r, err := s.store.RegistrationByEndpoint(ctx, ep)
	if err != nil {
		return model.Path{}, model.Errorf(model.NotFound, "device %q is not registered", ep)
	}
	o := options(opts)
	requested := inst.ID
	var payload []byte
	var f codec.Format
	if requested == model.NoID {
		// Without an id the payload is the instance's resources; only
		// TLV (a sequence of resource TLVs) can say that without naming
		// an instance.
		f = codec.TLV
		if o.format != codec.None && o.format != codec.TLV && o.format != codec.LegacyTLV {
			return model.Path{}, model.Errorf(model.NotAcceptable, "create without an instance id is TLV only")
		}
		inst.ID = 0
		payload, err = codec.Encode(nil, f, model.InstancePath(obj, 0), &inst)
	} else {
		f = formatFor(r, false, o)
		if err := checkFormat(r, f); err != nil {
			return model.Path{}, err
		}
		wrapped := model.NewObject(obj, inst)
		payload, err = codec.Encode(nil, f, model.ObjectPath(obj), &wrapped)
	}
	if err != nil {
		return model.Path{}, err
	}
	msg := newRequest(transport.POST, r, model.ObjectPath(obj))
	msg.SetContentFormat(uint16(f))
	msg.Payload = payload
	resp, err := s.callRegistration(ctx, r, msg)
	if err != nil {
		return model.Path{}, err
	}
	if loc := resp.LocationPath(); len(loc) >= 2 {
		if id, err := model.ParseID(loc[len(loc)-1]); err == nil {
			return model.InstancePath(obj, id), nil
		}
	}
	if requested != model.NoID {
		return model.InstancePath(obj, requested), nil
	}
	return model.ObjectPath(obj), model.Errorf(model.BadGateway, "device %s created an instance of %d without saying which (no Location-Path)", ep, obj)
}

// Delete deletes the object instance (or, in 1.1, resource instance) at p
// on device ep (Core 1.1 section 6.3.7).
func (s *Server) Delete(ctx context.Context, ep string, p model.Path) error {
	if p.Level() != model.LevelInstance && p.Level() != model.LevelResourceInstance {
		return model.Errorf(model.BadRequest, "delete needs an object instance or resource instance path, not %s", p)
	}
	_, _, err := s.call(ctx, ep, newRequestFor(ctx, s, ep, transport.DELETE, p))
	return err
}

// newRequestFor builds a request for ep without the registration at hand;
// call resolves the root path again.
func newRequestFor(ctx context.Context, s *Server, ep string, code model.Code, p model.Path) *transport.Message {
	root := "/"
	if r, err := s.store.RegistrationByEndpoint(ctx, ep); err == nil {
		root = r.RootPath
	}
	m := &transport.Message{Code: code}
	m.SetPath(uriPath(&store.Registration{RootPath: root}, p))
	return m
}

// Discover lists the objects, instances and resources under p on device
// ep with their attributes (Core 1.1 section 6.3.2).
func (s *Server) Discover(ctx context.Context, ep string, p model.Path) ([]link.Entry, error) {
	if p.IsRoot() || p.Level() > model.LevelResource {
		return nil, model.Errorf(model.BadRequest, "discover needs an object, instance or resource path, not %s", p)
	}
	msg := newRequestFor(ctx, s, ep, transport.GET, p)
	msg.SetAccept(uint16(codec.LinkFormat))
	resp, r, err := s.call(ctx, ep, msg)
	if err != nil {
		return nil, err
	}
	entries, err := link.ParseDiscover(stripRoot(resp.Payload, r.RootPath))
	if err != nil {
		return nil, model.Errorf(model.BadGateway, "device %s sent an undecodable discover response: %w", ep, err)
	}
	return entries, nil
}

// stripRoot removes an alternate root path from the targets of a link
// payload ("</lwm2m/3/0>" -> "</3/0>").
func stripRoot(b []byte, root string) []byte {
	root = strings.TrimSuffix(root, "/")
	if root == "" {
		return b
	}
	return []byte(strings.ReplaceAll(string(b), "<"+root+"/", "</"))
}

// WriteAttributes writes the notification attributes of p on device ep
// (Core 1.1 section 6.3.4): each attribute set, unset (removed) or absent
// (left alone).
func (s *Server) WriteAttributes(ctx context.Context, ep string, p model.Path, attrs link.Attributes) error {
	if p.IsRoot() {
		return model.Errorf(model.BadRequest, "write-attributes needs a path below the root")
	}
	if err := attrs.Validate(); err != nil {
		return err
	}
	if err := attrs.CheckLevel(p.Level()); err != nil {
		return err
	}
	q := attrs.AppendQuery(nil)
	if len(q) == 0 {
		return model.Errorf(model.BadRequest, "write-attributes needs at least one attribute")
	}
	msg := newRequestFor(ctx, s, ep, transport.PUT, p)
	for _, x := range q {
		msg.AddQuery(x)
	}
	_, _, err := s.call(ctx, ep, msg)
	return err
}

// ReadComposite reads several paths at once (Core 1.1 section 6.3.8): a
// FETCH of the root with the list of paths; the answer has one entry per
// path the device could read.
func (s *Server) ReadComposite(ctx context.Context, ep string, paths []model.Path, opts ...Option) ([]model.Entry, error) {
	if len(paths) == 0 {
		return nil, model.Errorf(model.BadRequest, "read-composite needs at least one path")
	}
	r, err := s.store.RegistrationByEndpoint(ctx, ep)
	if err != nil {
		return nil, model.Errorf(model.NotFound, "device %q is not registered", ep)
	}
	if err := checkComposite(r); err != nil {
		return nil, err
	}
	f := formatFor(r, true, options(opts))
	if err := checkFormat(r, f); err != nil {
		return nil, err
	}
	body, err := codec.EncodePaths(nil, f, paths)
	if err != nil {
		if f != codec.LwM2MCBOR {
			return nil, err
		}
		// LwM2M CBOR carries records, not path lists: ask in SenML CBOR.
		if body, err = codec.EncodePaths(nil, codec.SenMLCBOR, paths); err != nil {
			return nil, err
		}
	}
	msg := newRequest(transport.FETCH, r, model.RootPath())
	msg.SetContentFormat(pathsFormat(f))
	msg.SetAccept(uint16(f))
	msg.Payload = body
	resp, err := s.callRegistration(ctx, r, msg)
	if err != nil {
		return nil, err
	}
	return s.decodeEntries(r, paths, resp, f)
}

func pathsFormat(f codec.Format) uint16 {
	if f == codec.LwM2MCBOR {
		return uint16(codec.SenMLCBOR)
	}
	return uint16(f)
}

func (s *Server) decodeEntries(r *store.Registration, paths []model.Path, resp *transport.Message, asked codec.Format) ([]model.Entry, error) {
	f := asked
	if cf, ok := resp.ContentFormat(); ok {
		f = codec.Format(cf)
	}
	entries, err := codec.DecodeEntries(f, resp.Payload, paths, s.defsFor(r))
	if err != nil {
		return nil, model.Errorf(model.BadGateway, "device %s sent an undecodable %s composite payload: %w", r.Endpoint, f.Name(), err)
	}
	return entries, nil
}

// WriteComposite writes several nodes at once (Core 1.1 section 6.3.9):
// an iPATCH of the root with their records.
func (s *Server) WriteComposite(ctx context.Context, ep string, entries []model.Entry, opts ...Option) error {
	if len(entries) == 0 {
		return model.Errorf(model.BadRequest, "write-composite needs at least one node")
	}
	r, err := s.store.RegistrationByEndpoint(ctx, ep)
	if err != nil {
		return model.Errorf(model.NotFound, "device %q is not registered", ep)
	}
	if err := checkComposite(r); err != nil {
		return err
	}
	f := formatFor(r, true, options(opts))
	if err := checkFormat(r, f); err != nil {
		return err
	}
	body, err := codec.EncodeEntries(nil, f, entries)
	if err != nil {
		return err
	}
	msg := newRequest(transport.IPATCH, r, model.RootPath())
	msg.SetContentFormat(uint16(f))
	msg.Payload = body
	_, err = s.callRegistration(ctx, r, msg)
	return err
}

func newToken() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("server: crypto/rand: " + err.Error())
	}
	return string(b[:])
}
