// Package servertest provides a scripted LwM2M device for testing servers:
// a real CoAP endpoint on a loopback socket holding an object tree, which
// registers, answers every device management operation from its tree,
// keeps observations and sends notifications when its values change.
//
// It is a test peer, not the client engine: it knows no Security or Server
// object logic, no bootstrap, no access control and no notification
// attributes beyond storing what Write-Attributes sends.
//
// servertest imports core packages only.
package servertest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
	"github.com/wasm2m/wasm2m/core/transport"
)

// Config describes a Device.
type Config struct {
	Endpoint string         // ep=
	Server   netip.AddrPort // where the LwM2M server listens
	Lifetime uint32         // lt= (0 leaves it out)
	Version  model.Version  // lwm2m= (zero: 1.1)
	Binding  string         // b= ("" leaves it out)
	Queue    bool           // Q
	// Formats are advertised in the root link's ct attribute, and are the
	// formats the device answers in (the first when a request has no
	// Accept). Default: SenML CBOR, SenML JSON, TLV, text, CBOR, opaque.
	Formats  []codec.Format
	RootPath string // "" or "/" for the default root
	// Objects is the initial tree: object nodes.
	Objects []model.Node
	// Transport tunes the device's endpoint (short timers in tests).
	Transport transport.Config
}

// Device is a scripted LwM2M device. Its methods are safe for concurrent
// use.
type Device struct {
	cfg  Config
	ep   *transport.Endpoint
	defs *model.Registry

	mu       sync.Mutex
	objs     map[uint16]*model.Node // object id -> object node
	attrs    map[model.Path]link.Attributes
	obs      map[string]*observation // token -> observation
	location []string                // Location-Path of the registration
	executed []string                // "path args" of each Execute, for assertions
	requests atomic.Int64
}

type observation struct {
	token string
	peer  netip.AddrPort
	paths []model.Path
	comp  bool
	f     codec.Format
	seq   uint32
}

// New starts a device on a loopback socket. It does not register; call
// Register.
func New(cfg Config) (*Device, error) {
	if cfg.Version.IsZero() {
		cfg.Version = model.V1_1
	}
	if cfg.Formats == nil {
		cfg.Formats = []codec.Format{codec.SenMLCBOR, codec.SenMLJSON, codec.TLV, codec.Text, codec.CBOR, codec.Opaque}
	}
	defs, err := objects.NewRegistry()
	if err != nil {
		return nil, err
	}
	d := &Device{cfg: cfg, defs: defs, objs: map[uint16]*model.Node{}, attrs: map[model.Path]link.Attributes{}, obs: map[string]*observation{}}
	for i := range cfg.Objects {
		o := cfg.Objects[i].Clone()
		if err := o.Validate(); err != nil {
			return nil, err
		}
		d.objs[o.ID] = &o
	}
	tc := cfg.Transport
	tc.Handler = transport.HandlerFunc(d.serve)
	ep, err := transport.Listen("127.0.0.1:0", tc)
	if err != nil {
		return nil, err
	}
	d.ep = ep
	return d, nil
}

// Close closes the device's socket without de-registering.
func (d *Device) Close() error { return d.ep.Close() }

// Addr returns the device's address.
func (d *Device) Addr() netip.AddrPort { return d.ep.LocalAddr() }

// Endpoint returns the device's endpoint name.
func (d *Device) Endpoint() string { return d.cfg.Endpoint }

// Location returns the registration's location ("/rd/<id>").
func (d *Device) Location() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return "/" + strings.Join(d.location, "/")
}

// Executed returns what was executed, as "path args" strings.
func (d *Device) Executed() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.executed)
}

// Requests counts the requests the device served.
func (d *Device) Requests() int64 { return d.requests.Load() }

// Observations counts the observations the device holds.
func (d *Device) Observations() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.obs)
}

// Attributes returns the attributes written at p.
func (d *Device) Attributes(p model.Path) link.Attributes {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.attrs[p]
}

// Payload returns the link-format object list the device registers with.
func (d *Device) Payload() []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := link.Registration{Root: d.cfg.RootPath}
	for _, f := range d.cfg.Formats {
		r.ContentFormats = append(r.ContentFormats, uint16(f))
	}
	ids := make([]uint16, 0, len(d.objs))
	for id := range d.objs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		o := link.Object{ID: id}
		if def := d.defs.Object(id); def != nil && id >= 1 {
			o.Version = def.Version
		}
		for _, in := range d.objs[id].Children {
			o.Instances = append(o.Instances, in.ID)
		}
		r.Objects = append(r.Objects, o)
	}
	return link.AppendRegistration(nil, r)
}

// Register sends Register and keeps the location the server gives.
func (d *Device) Register(ctx context.Context, extraQuery ...string) error {
	m := &transport.Message{Code: transport.POST}
	m.SetPath("/rd")
	m.AddQuery("ep=" + d.cfg.Endpoint)
	if d.cfg.Lifetime != 0 {
		m.AddQuery("lt=" + strconv.FormatUint(uint64(d.cfg.Lifetime), 10))
	}
	m.AddQuery("lwm2m=" + d.cfg.Version.String())
	if d.cfg.Binding != "" {
		m.AddQuery("b=" + d.cfg.Binding)
	}
	if d.cfg.Queue {
		m.AddQuery("Q")
	}
	for _, q := range extraQuery {
		m.AddQuery(q)
	}
	m.SetContentFormat(uint16(codec.LinkFormat))
	m.Payload = d.Payload()
	resp, err := d.ep.Do(ctx, d.cfg.Server, m)
	if err != nil {
		return err
	}
	if resp.Code != model.Created {
		return &model.Error{Code: resp.Code, Msg: "register: " + string(resp.Payload)}
	}
	d.mu.Lock()
	d.location = resp.LocationPath()
	d.mu.Unlock()
	return nil
}

// Update sends an Update with the given query parameters ("lt=60") and,
// when withObjects, the object list.
func (d *Device) Update(ctx context.Context, withObjects bool, query ...string) error {
	return d.UpdateFrom(ctx, d.ep, withObjects, query...)
}

// UpdateFrom sends the Update through another endpoint: the device's
// address changes, as behind a NAT that rebinds. The server should move
// the registration there; later requests reach ep.
func (d *Device) UpdateFrom(ctx context.Context, ep *transport.Endpoint, withObjects bool, query ...string) error {
	m := &transport.Message{Code: transport.POST}
	m.SetPath(d.Location())
	for _, q := range query {
		m.AddQuery(q)
	}
	if withObjects {
		m.SetContentFormat(uint16(codec.LinkFormat))
		m.Payload = d.Payload()
	}
	resp, err := ep.Do(ctx, d.cfg.Server, m)
	if err != nil {
		return err
	}
	if resp.Code != model.Changed {
		return &model.Error{Code: resp.Code, Msg: "update: " + string(resp.Payload)}
	}
	return nil
}

// Deregister sends De-register.
func (d *Device) Deregister(ctx context.Context) error {
	m := &transport.Message{Code: transport.DELETE}
	m.SetPath(d.Location())
	resp, err := d.ep.Do(ctx, d.cfg.Server, m)
	if err != nil {
		return err
	}
	if resp.Code != model.Deleted {
		return &model.Error{Code: resp.Code, Msg: "deregister: " + string(resp.Payload)}
	}
	return nil
}

// Send posts the current values of paths to the server (Send, Core 1.1
// section 6.4.4) in format f.
func (d *Device) Send(ctx context.Context, f codec.Format, paths ...model.Path) error {
	d.mu.Lock()
	var entries []model.Entry
	for _, p := range paths {
		n, err := d.getLocked(p)
		if err != nil {
			d.mu.Unlock()
			return err
		}
		entries = append(entries, model.Entry{Path: p, Node: n})
	}
	d.mu.Unlock()
	body, err := codec.EncodeEntries(nil, f, entries)
	if err != nil {
		return err
	}
	m := &transport.Message{Code: transport.POST}
	m.SetPath("/dp")
	m.SetContentFormat(uint16(f))
	m.Payload = body
	resp, err := d.ep.Do(ctx, d.cfg.Server, m)
	if err != nil {
		return err
	}
	if resp.Code != model.Changed {
		return &model.Error{Code: resp.Code, Msg: "send: " + string(resp.Payload)}
	}
	return nil
}

// Get returns the node at p.
func (d *Device) Get(p model.Path) (model.Node, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.getLocked(p)
}

func (d *Device) getLocked(p model.Path) (model.Node, error) {
	if p.IsRoot() {
		return model.Node{}, model.Errorf(model.MethodNotAllowed, "the root is not a node")
	}
	o := d.objs[p.ObjectID()]
	if o == nil {
		return model.Node{}, model.Errorf(model.NotFound, "no object %d", p.ObjectID())
	}
	n := o.Find(pathBelow(p, 1))
	if n == nil {
		return model.Node{}, model.Errorf(model.NotFound, "nothing at %s", p)
	}
	return n.Clone(), nil
}

// pathBelow returns the ids of p after the first skip ones.
func pathBelow(p model.Path, skip int) model.Path {
	ids := p.IDs()[skip:]
	q, _ := model.NewPath(ids...)
	return q
}

// Set changes the value at resource (or resource instance) p, creating it
// if needed, and notifies every observation whose path covers p.
func (d *Device) Set(ctx context.Context, p model.Path, v model.Value) error {
	d.mu.Lock()
	err := d.setLocked(p, v)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	return d.NotifyChanged(ctx, p)
}

func (d *Device) setLocked(p model.Path, v model.Value) error {
	if p.Level() < model.LevelResource {
		return fmt.Errorf("set %s: not a resource path", p)
	}
	o := d.objs[p.ObjectID()]
	if o == nil {
		o = &model.Node{Kind: model.KindObject, ID: p.ObjectID()}
		d.objs[p.ObjectID()] = o
	}
	in := o.Child(p.InstanceID())
	if in == nil {
		o.Children = append(o.Children, model.NewInstance(p.InstanceID()))
		o.Sort()
		in = o.Child(p.InstanceID())
	}
	if p.Level() == model.LevelResource {
		if r := in.Child(p.ResourceID()); r != nil {
			r.Value = v
			return nil
		}
		in.Children = append(in.Children, model.NewResource(p.ResourceID(), v))
		in.Sort()
		return nil
	}
	r := in.Child(p.ResourceID())
	if r == nil {
		in.Children = append(in.Children, model.NewMultipleResource(p.ResourceID()))
		in.Sort()
		r = in.Child(p.ResourceID())
	}
	if ri := r.Child(p.ResourceInstanceID()); ri != nil {
		ri.Value = v
		return nil
	}
	r.Children = append(r.Children, model.NewResourceInstance(p.ResourceInstanceID(), v))
	r.Sort()
	return nil
}

// NotifyChanged sends a notification to every observation covering p.
func (d *Device) NotifyChanged(ctx context.Context, p model.Path) error {
	d.mu.Lock()
	var todo []*observation
	for _, o := range d.obs {
		for _, op := range o.paths {
			if p.Overlaps(op) {
				todo = append(todo, o)
				break
			}
		}
	}
	d.mu.Unlock()
	var errs []error
	for _, o := range todo {
		errs = append(errs, d.notify(ctx, o, transport.NonConfirmable))
	}
	return errors.Join(errs...)
}

// NotifyConfirmable sends one confirmable notification for the observation
// of path p and returns what the server did with it (nil on ACK,
// transport.ErrReset when the server cancelled the observation).
func (d *Device) NotifyConfirmable(ctx context.Context, p model.Path) error {
	d.mu.Lock()
	var o *observation
	for _, x := range d.obs {
		if len(x.paths) == 1 && x.paths[0] == p {
			o = x
		}
	}
	d.mu.Unlock()
	if o == nil {
		return fmt.Errorf("no observation of %s", p)
	}
	return d.notify(ctx, o, transport.Confirmable)
}

func (d *Device) notify(ctx context.Context, o *observation, t transport.Type) error {
	d.mu.Lock()
	o.seq++
	seq := o.seq
	body, err := d.encodeLocked(o.paths, o.comp, o.f)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	m := &transport.Message{Type: t, Code: model.Content, Token: []byte(o.token), Payload: body}
	m.SetObserve(seq)
	m.SetContentFormat(uint16(o.f))
	err = d.ep.Notify(ctx, o.peer, m)
	if errors.Is(err, transport.ErrReset) {
		d.mu.Lock()
		delete(d.obs, o.token)
		d.mu.Unlock()
	}
	return err
}

// encodeLocked encodes the current value of paths.
func (d *Device) encodeLocked(paths []model.Path, comp bool, f codec.Format) ([]byte, error) {
	if comp {
		var entries []model.Entry
		for _, p := range paths {
			if n, err := d.getLocked(p); err == nil {
				entries = append(entries, model.Entry{Path: p, Node: n})
			}
		}
		return codec.EncodeEntries(nil, f, entries)
	}
	n, err := d.getLocked(paths[0])
	if err != nil {
		return nil, err
	}
	return codec.Encode(nil, f, paths[0], &n)
}

// serve answers the server's requests (Core 1.1 section 6.3 and 6.4;
// Transport section 6.3 for the CoAP mapping).
func (d *Device) serve(ctx context.Context, req *transport.Request) *transport.Message {
	d.requests.Add(1)
	msg := req.Msg
	p, err := d.pathOf(msg)
	if err != nil {
		return errResp(err)
	}
	switch msg.Code {
	case transport.GET:
		if obs, ok := msg.Observe(); ok {
			return d.observe(req, []model.Path{p}, false, obs)
		}
		if a, ok := msg.Accept(); ok && a == uint16(codec.LinkFormat) {
			return d.discover(p)
		}
		return d.read(msg, p)
	case transport.PUT:
		if len(msg.Payload) == 0 && len(msg.Queries()) > 0 {
			return d.writeAttributes(msg, p)
		}
		return d.write(msg, p, true)
	case transport.POST:
		switch p.Level() {
		case model.LevelObject:
			return d.create(msg, p)
		case model.LevelInstance:
			return d.write(msg, p, false)
		case model.LevelResource:
			return d.execute(msg, p)
		}
		return resp(model.MethodNotAllowed)
	case transport.DELETE:
		return d.delete(p)
	case transport.FETCH:
		paths, f, err := d.compositePaths(msg)
		if err != nil {
			return errResp(err)
		}
		if obs, ok := msg.Observe(); ok {
			return d.observe(req, paths, true, obs)
		}
		return d.readComposite(msg, paths, f)
	case transport.IPATCH:
		return d.writeComposite(msg)
	}
	return resp(model.MethodNotAllowed)
}

func resp(code model.Code) *transport.Message { return &transport.Message{Code: code} }

func errResp(err error) *transport.Message {
	m := resp(model.CodeOf(err))
	m.Payload = []byte(err.Error())
	return m
}

func (d *Device) pathOf(msg *transport.Message) (model.Path, error) {
	segs := msg.PathSegments()
	root := strings.Trim(d.cfg.RootPath, "/")
	if root != "" {
		if len(segs) == 0 || segs[0] != root {
			return model.Path{}, model.Errorf(model.NotFound, "outside the root path")
		}
		segs = segs[1:]
	}
	return model.ParsePath("/" + strings.Join(segs, "/"))
}

// format picks the response format: the Accept option if the device
// speaks it (else 4.06), or its first format that can carry n.
func (d *Device) format(msg *transport.Message, n *model.Node) (codec.Format, error) {
	if a, ok := msg.Accept(); ok {
		f := codec.Format(a)
		if !slices.Contains(d.cfg.Formats, f) || !codec.CanEncode(f, n) {
			return 0, model.Errorf(model.NotAcceptable, "cannot answer in %s", f)
		}
		return f, nil
	}
	for _, f := range d.cfg.Formats {
		if codec.CanEncode(f, n) {
			return f, nil
		}
	}
	return 0, model.Errorf(model.NotAcceptable, "no format carries %s", n.Kind)
}

func (d *Device) read(msg *transport.Message, p model.Path) *transport.Message {
	d.mu.Lock()
	n, err := d.getLocked(p)
	d.mu.Unlock()
	if err != nil {
		return errResp(err)
	}
	f, err := d.format(msg, &n)
	if err != nil {
		return errResp(err)
	}
	body, err := codec.Encode(nil, f, p, &n)
	if err != nil {
		return errResp(err)
	}
	m := resp(model.Content)
	m.SetContentFormat(uint16(f))
	m.Payload = body
	return m
}

func (d *Device) discover(p model.Path) *transport.Message {
	d.mu.Lock()
	n, err := d.getLocked(p)
	if err != nil {
		d.mu.Unlock()
		return errResp(err)
	}
	var entries []link.Entry
	var walk func(q model.Path, n *model.Node)
	walk = func(q model.Path, n *model.Node) {
		e := link.Entry{Path: q, Attributes: d.attrs[q]}
		if n.Kind == model.KindMultipleResource {
			e.Dim = link.Set(uint8(len(n.Children)))
		}
		entries = append(entries, e)
		if n.Kind == model.KindObject || n.Kind == model.KindInstance {
			for i := range n.Children {
				walk(q.MustChild(n.Children[i].ID), &n.Children[i])
			}
		}
	}
	walk(p, &n)
	d.mu.Unlock()
	m := resp(model.Content)
	m.SetContentFormat(uint16(codec.LinkFormat))
	m.Payload = link.AppendDiscover(nil, entries)
	return m
}

func (d *Device) decode(msg *transport.Message, p model.Path) (model.Node, error) {
	cf, ok := msg.ContentFormat()
	if !ok {
		return model.Node{}, model.Errorf(model.BadRequest, "no Content-Format")
	}
	if !slices.Contains(d.cfg.Formats, codec.Format(cf)) {
		return model.Node{}, model.Errorf(model.UnsupportedContentFormat, "%s", codec.Format(cf))
	}
	return codec.Decode(codec.Format(cf), msg.Payload, p, d.defs)
}

func (d *Device) write(msg *transport.Message, p model.Path, replace bool) *transport.Message {
	n, err := d.decode(msg, p)
	if err != nil {
		return errResp(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.getLocked(p.Truncate(min(p.Len(), 2))); err != nil {
		return errResp(err)
	}
	var recs []model.Record
	recs, _ = model.Flatten(recs, p, &n)
	if replace && p.Level() == model.LevelInstance {
		// Replace: the instance becomes exactly what was written.
		o := d.objs[p.ObjectID()]
		in := o.Child(p.InstanceID())
		*in = model.NewInstance(p.InstanceID())
	}
	for _, r := range recs {
		if err := d.setLocked(r.Path, r.Value); err != nil {
			return errResp(err)
		}
	}
	return resp(model.Changed)
}

func (d *Device) execute(msg *transport.Message, p model.Path) *transport.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	def := model.ResourceDefAt(d.defs, p)
	if def != nil && !def.Operations.Executable() {
		return resp(model.MethodNotAllowed)
	}
	d.executed = append(d.executed, p.String()+" "+string(msg.Payload))
	return resp(model.Changed)
}

func (d *Device) create(msg *transport.Message, p model.Path) *transport.Message {
	cf, _ := msg.ContentFormat()
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.objs[p.ObjectID()]
	if o == nil {
		return resp(model.NotFound)
	}
	// With an id the payload is the object holding the new instance;
	// without one (TLV of resources) the device picks the first free id.
	n, err := codec.Decode(codec.Format(cf), msg.Payload, p, d.defs)
	if err == nil && len(n.Children) == 1 {
		in := n.Children[0]
		if o.Child(in.ID) != nil {
			return errResp(model.Errorf(model.BadRequest, "instance %d exists", in.ID))
		}
		o.Children = append(o.Children, in)
		o.Sort()
		return resp(model.Created)
	}
	id := uint16(0)
	for o.Child(id) != nil {
		id++
	}
	in, err := codec.Decode(codec.Format(cf), msg.Payload, model.InstancePath(p.ObjectID(), id), d.defs)
	if err != nil {
		return errResp(err)
	}
	o.Children = append(o.Children, in)
	o.Sort()
	m := resp(model.Created)
	m.SetLocationPath(strconv.Itoa(int(p.ObjectID())), strconv.Itoa(int(id)))
	return m
}

func (d *Device) delete(p model.Path) *transport.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p.Level() != model.LevelInstance {
		return resp(model.MethodNotAllowed)
	}
	o := d.objs[p.ObjectID()]
	if o == nil || o.Child(p.InstanceID()) == nil {
		return resp(model.NotFound)
	}
	o.Children = slices.DeleteFunc(o.Children, func(n model.Node) bool { return n.ID == p.InstanceID() })
	return resp(model.Deleted)
}

func (d *Device) writeAttributes(msg *transport.Message, p model.Path) *transport.Message {
	a, err := link.ParseQuery(msg.Queries())
	if err != nil {
		return errResp(err)
	}
	d.mu.Lock()
	d.attrs[p] = d.attrs[p].Merge(a)
	d.mu.Unlock()
	return resp(model.Changed)
}

func (d *Device) compositePaths(msg *transport.Message) ([]model.Path, codec.Format, error) {
	cf, _ := msg.ContentFormat()
	paths, err := codec.DecodePaths(codec.Format(cf), msg.Payload)
	if err != nil {
		return nil, 0, err
	}
	f := codec.Format(cf)
	if a, ok := msg.Accept(); ok {
		f = codec.Format(a)
	}
	return paths, f, nil
}

func (d *Device) readComposite(msg *transport.Message, paths []model.Path, f codec.Format) *transport.Message {
	d.mu.Lock()
	body, err := d.encodeLocked(paths, true, f)
	d.mu.Unlock()
	if err != nil {
		return errResp(err)
	}
	m := resp(model.Content)
	m.SetContentFormat(uint16(f))
	m.Payload = body
	return m
}

func (d *Device) writeComposite(msg *transport.Message) *transport.Message {
	cf, _ := msg.ContentFormat()
	recs, err := codec.DecodeRecords(codec.Format(cf), msg.Payload)
	if err != nil {
		return errResp(err)
	}
	entries, err := model.Group(recs, nil, d.defs)
	if err != nil {
		return errResp(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range entries {
		var rs []model.Record
		rs, _ = model.Flatten(rs, e.Path, &e.Node)
		for _, r := range rs {
			if err := d.setLocked(r.Path, r.Value); err != nil {
				return errResp(err)
			}
		}
	}
	return resp(model.Changed)
}

func (d *Device) observe(req *transport.Request, paths []model.Path, comp bool, obs uint32) *transport.Message {
	tok := string(req.Msg.Token)
	if obs == 1 {
		d.mu.Lock()
		delete(d.obs, tok)
		d.mu.Unlock()
		if comp {
			_, f, _ := d.compositePaths(req.Msg)
			return d.readComposite(req.Msg, paths, f)
		}
		return d.read(req.Msg, paths[0])
	}
	var f codec.Format
	var err error
	if comp {
		_, f, err = d.compositePaths(req.Msg)
	} else {
		var n model.Node
		if n, err = d.Get(paths[0]); err == nil {
			f, err = d.format(req.Msg, &n)
		}
	}
	if err != nil {
		return errResp(err)
	}
	d.mu.Lock()
	body, err := d.encodeLocked(paths, comp, f)
	if err != nil {
		d.mu.Unlock()
		return errResp(err)
	}
	o := &observation{token: tok, peer: req.Peer, paths: paths, comp: comp, f: f}
	d.obs[tok] = o
	d.mu.Unlock()
	m := resp(model.Content)
	m.SetObserve(0)
	m.SetContentFormat(uint16(f))
	m.Payload = body
	return m
}

// NotifyBlockwise sends, for the observation of path p, a notification
// that carries only the first block of its payload (Block2 with M set,
// RFC 7959 section 3.4), as a device does when a notification does not fit
// one datagram; the server must fetch the rest. The payload must be larger
// than size.
func (d *Device) NotifyBlockwise(ctx context.Context, p model.Path, size uint16) error {
	d.mu.Lock()
	var o *observation
	for _, x := range d.obs {
		if len(x.paths) == 1 && x.paths[0] == p {
			o = x
		}
	}
	if o == nil {
		d.mu.Unlock()
		return fmt.Errorf("no observation of %s", p)
	}
	o.seq++
	seq := o.seq
	body, err := d.encodeLocked(o.paths, o.comp, o.f)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	if len(body) <= int(size) {
		return fmt.Errorf("a %d-byte notification fits one block of %d", len(body), size)
	}
	m := &transport.Message{Type: transport.NonConfirmable, Code: model.Content, Token: []byte(o.token), Payload: body[:size]}
	m.SetObserve(seq)
	m.SetContentFormat(uint16(o.f))
	m.SetBlock2(transport.Block{Num: 0, More: true, Size: size})
	return d.ep.Notify(ctx, o.peer, m)
}
