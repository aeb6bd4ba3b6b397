package client

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// serveCoAP answers every request that reaches the client's socket. A
// request is served when it comes from the address of a server account:
// the bootstrap server gets the Bootstrap interface, a device management
// server the Device Management and Information Reporting interfaces.
//
// Anything else gets 4.03 Forbidden: on coap:// the only identity a peer
// has is its address, and a peer that is not one of the client's servers
// is not allowed to manage it, now or after retrying (RFC 7252 section
// 5.9.2.4). 4.01 Unauthorized is kept for what Core 1.1 section 6.3 uses it
// for: a server of the client that lacks the access right (section 7.3).
// A disabled server's requests get 4.03 too (Server object, Disable: the
// client ignores the server for the period; the transport answers every
// request, so it answers with a refusal rather than silence), and a
// server whose queue-mode awake window has closed gets 5.03 Service
// Unavailable with Max-Age until the next Update: a sleeping device does
// not serve requests (Core 1.1 section 6.5), and a server that respects
// queue mode holds them until the device wakes.
func (e *Engine) serveCoAP(ctx context.Context, req *transport.Request) *transport.Message {
	e.mu.Lock()
	var c *serverConn
	for _, x := range e.conns {
		if x.acct.addr == req.Peer {
			c = x
			break
		}
	}
	bs := c == nil && e.bsAcct != nil && e.bsAcct.err == nil && e.bsAcct.addr == req.Peer
	var state State
	var asleep bool
	var retry time.Duration
	if c != nil {
		state, asleep = c.state, c.asleep
		lt := c.acct.effectiveLifetime()
		retry = c.updatedAt.Add(lt - e.updateMargin(lt)).Sub(e.cfg.Now())
	}
	e.mu.Unlock()

	ev := Event{Type: EventRequest, Peer: req.Peer}
	var resp *transport.Message
	switch {
	case bs:
		e.mu.Lock()
		ev.Server = e.bsAcct.uri
		e.mu.Unlock()
		resp, ev.Op, ev.Path = e.serveBootstrap(ctx, req)
	case c == nil:
		resp = errorResponse(model.Errorf(model.Forbidden, "%s is not a server of this client", req.Peer))
		ev.Op = OpUnknown
	default:
		a := c.account()
		ev.SSID, ev.Server = a.ssid, a.uri
		switch {
		case state == StateDisabled:
			resp = errorResponse(model.Errorf(model.Forbidden, "server account %d is disabled", a.ssid))
		case asleep:
			resp = errorResponse(model.Errorf(model.ServiceUnavailable, "queue mode: the client is asleep"))
			resp.SetUint(transport.OptMaxAge, uint32(max(retry/time.Second, 1)))
		default:
			c.touch()
			resp, ev.Op, ev.Path = e.serveDM(ctx, c, req)
		}
	}
	if resp != nil {
		ev.Code = resp.Code
		if !resp.Code.IsSuccess() {
			e.log.Debug("request refused", "peer", req.Peer.String(), "op", string(ev.Op), "path", ev.Path.String(), "code", resp.Code.String(), "err", string(resp.Payload))
		}
	}
	e.emit(ev)
	return resp
}

// errorResponse turns err into a response with its code and a diagnostic
// payload (RFC 7252 section 5.5.2). An error that carries no 4.xx or 5.xx
// code is a 5.00 whose detail stays in the log.
func errorResponse(err error) *transport.Message {
	code := model.CodeOf(err)
	if c := code.Class(); c != 4 && c != 5 {
		code = model.InternalServerError
	}
	m := &transport.Message{Code: code}
	var me *model.Error
	switch {
	case code == model.InternalServerError:
		m.Payload = []byte("internal error")
	case errors.As(err, &me) && me.Msg != "":
		m.Payload = []byte(me.Msg)
	default:
		m.Payload = []byte(err.Error())
	}
	return m
}

// result answers ok, or the error.
func result(err error, ok model.Code) *transport.Message {
	if err != nil {
		return errorResponse(err)
	}
	return &transport.Message{Code: ok}
}

// requestPath reads the LwM2M path of a request from its Uri-Path (the
// client registers with the root path "/"). A path that names no LwM2M
// node (a segment that is not an id, more than four segments) is 4.04: no
// resource lives at that URI (RFC 7252 section 5.9.2.5).
func requestPath(m *transport.Message) (model.Path, error) {
	segs := m.PathSegments()
	if len(segs) > 4 {
		return model.Path{}, model.Errorf(model.NotFound, "path %s has more than four ids", m.Path())
	}
	ids := make([]uint16, 0, 4)
	for _, s := range segs {
		id, err := model.ParseID(s)
		if err != nil {
			return model.Path{}, model.Errorf(model.NotFound, "path %s: %v", m.Path(), err)
		}
		ids = append(ids, id)
	}
	return model.NewPath(ids...)
}

// speaks reports whether the client decodes and answers in f.
func (e *Engine) speaks(f codec.Format) bool { return slices.Contains(e.cfg.Formats, f) }

// responseFormat picks the format of a response carrying n: the Accept
// option's if the client speaks it and it can carry n (else 4.06 Not
// Acceptable), or else the client's first format that can.
func (e *Engine) responseFormat(msg *transport.Message, n *model.Node) (codec.Format, error) {
	if a, ok := msg.Accept(); ok {
		f := codec.Format(a)
		if !e.speaks(f) {
			return codec.None, model.Errorf(model.NotAcceptable, "the client does not speak %s", f)
		}
		if !codec.CanEncode(f, n) {
			return codec.None, model.Errorf(model.NotAcceptable, "%s cannot carry a %s", f.Name(), n.Kind)
		}
		return f, nil
	}
	for _, f := range e.cfg.Formats {
		if codec.CanEncode(f, n) {
			return f, nil
		}
	}
	return codec.None, model.Errorf(model.NotAcceptable, "no format of the client carries a %s", n.Kind)
}

// contentResponse is a 2.05 carrying n in the negotiated format.
func (e *Engine) contentResponse(msg *transport.Message, p model.Path, n *model.Node) *transport.Message {
	f, err := e.responseFormat(msg, n)
	if err != nil {
		return errorResponse(err)
	}
	body, err := codec.Encode(nil, f, p, n)
	if err != nil {
		return errorResponse(err)
	}
	m := &transport.Message{Code: model.Content, Payload: body}
	m.SetContentFormat(uint16(f))
	return m
}

// decodeWrite decodes the payload of a Write, Create or Bootstrap-Write
// at p: a missing Content-Format is 4.00, one the client does not speak
// 4.15 Unsupported Content-Format, a payload that does not decode 4.00.
func (e *Engine) decodeWrite(msg *transport.Message, p model.Path) (model.Node, error) {
	cf, ok := msg.ContentFormat()
	if !ok {
		return model.Node{}, model.Errorf(model.BadRequest, "no Content-Format")
	}
	f := codec.Format(cf)
	if !e.speaks(f) {
		return model.Node{}, model.Errorf(model.UnsupportedContentFormat, "the client does not speak %s", f)
	}
	n, err := codec.Decode(f, msg.Payload, p, e.defs)
	if err != nil {
		return model.Node{}, asClientError(err)
	}
	if err := n.Validate(); err != nil {
		return model.Node{}, err
	}
	return n, nil
}

// asClientError keeps a 4.xx error and turns anything else into 4.00: a
// payload that fails to decode is the sender's fault.
func asClientError(err error) error {
	if model.CodeOf(err).Class() == 4 {
		return err
	}
	return model.Errorf(model.BadRequest, "%v", err)
}

// checkValues checks node n, written at p in object def, against the
// definition: every resource defined (else 4.04), writable when a device
// management server writes (else 4.05 Method Not Allowed), and every value
// of the resource's type and range (else 4.00).
func checkValues(def *model.ObjectDef, p model.Path, n *model.Node, dm bool) error {
	var check func(n *model.Node, res *model.ResourceDef) error
	check = func(n *model.Node, res *model.ResourceDef) error {
		switch n.Kind {
		case model.KindObject, model.KindInstance:
			for i := range n.Children {
				if err := check(&n.Children[i], nil); err != nil {
					return err
				}
			}
			return nil
		case model.KindResource, model.KindMultipleResource:
			res = def.Resource(n.ID)
		}
		if res == nil {
			return model.Errorf(model.NotFound, "object %d has no resource %d", def.ID, n.ID)
		}
		if dm && !res.Operations.Writable() {
			return model.Errorf(model.MethodNotAllowed, "resource %d (%s) is not writable", res.ID, res.Name)
		}
		if res.Operations.Executable() {
			return model.Errorf(model.MethodNotAllowed, "resource %d (%s) is executable and holds no value", res.ID, res.Name)
		}
		if n.HasValue() {
			if err := res.Check(n.Value); err != nil {
				return err
			}
			return nil
		}
		for i := range n.Children {
			if err := check(&n.Children[i], res); err != nil {
				return err
			}
		}
		return nil
	}
	var res *model.ResourceDef
	if p.Level() >= model.LevelResource {
		res = def.Resource(p.ResourceID())
	}
	return check(n, res)
}

// serveDM serves a device management server's request (Core 1.1 sections
// 6.3 and 6.4; the CoAP mapping of Transport 1.1 section 6.3 and 6.4):
//
//	GET                 Read, or Discover with Accept: link-format, or
//	                    Observe / Cancel with Observe 0 / 1
//	PUT                 Write (replace), or Write-Attributes with only a query
//	POST /o             Create
//	POST /o/i           Write (partial update)
//	POST /o/i/r         Execute
//	DELETE /o/i         Delete (and /o/i/r/ri, a resource instance)
//	FETCH /             Read-Composite, or Observe-Composite with Observe
//	iPATCH /            Write-Composite
func (e *Engine) serveDM(ctx context.Context, c *serverConn, req *transport.Request) (*transport.Message, Op, model.Path) {
	msg := req.Msg
	ssid := c.account().ssid
	p, err := requestPath(msg)
	if err != nil {
		return errorResponse(err), OpUnknown, p
	}
	switch msg.Code {
	case transport.FETCH, transport.IPATCH:
		op := OpReadComposite
		if msg.Code == transport.IPATCH {
			op = OpWriteComposite
		} else if _, ok := msg.Observe(); ok {
			op = OpObserveComposite
		}
		if e.cfg.Version == model.V1_0 {
			return errorResponse(model.Errorf(model.MethodNotAllowed, "composite operations came with LwM2M 1.1")), op, p
		}
		if !p.IsRoot() {
			return errorResponse(model.Errorf(model.MethodNotAllowed, "composite operations address the root path")), op, p
		}
		switch op {
		case OpWriteComposite:
			return result(e.writeComposite(ctx, ssid, msg), model.Changed), op, p
		case OpObserveComposite:
			return e.observeComposite(ctx, c, req), op, p
		}
		return e.readComposite(ctx, ssid, msg), op, p
	case transport.GET:
		if obs, ok := msg.Observe(); ok && obs <= 1 {
			if obs == 0 {
				return e.observe(ctx, c, req, p), OpObserve, p
			}
			e.cancelObservation(ssid, msg.Token)
			return e.dmRead(ctx, ssid, p, msg), OpCancelObservation, p
		}
		if a, ok := msg.Accept(); ok && a == uint16(codec.LinkFormat) {
			return e.discover(ctx, ssid, p), OpDiscover, p
		}
		return e.dmRead(ctx, ssid, p, msg), OpRead, p
	case transport.PUT:
		if len(msg.Payload) == 0 && len(msg.Queries()) > 0 {
			if _, ok := msg.ContentFormat(); !ok {
				return result(e.writeAttributes(ctx, ssid, p, msg), model.Changed), OpWriteAttributes, p
			}
		}
		return result(e.dmWrite(ctx, ssid, p, msg, true), model.Changed), OpWrite, p
	case transport.POST:
		switch p.Level() {
		case model.LevelObject:
			return e.dmCreate(ctx, ssid, p, msg), OpCreate, p
		case model.LevelInstance:
			return result(e.dmWrite(ctx, ssid, p, msg, false), model.Changed), OpWrite, p
		case model.LevelResource:
			return result(e.dmExecute(ctx, ssid, p, msg), model.Changed), OpExecute, p
		}
		return errorResponse(model.Errorf(model.MethodNotAllowed, "POST of %s is no LwM2M operation", p)), OpUnknown, p
	case transport.DELETE:
		return result(e.dmDelete(ctx, ssid, p), model.Deleted), OpDelete, p
	}
	return errorResponse(model.Errorf(model.MethodNotAllowed, "%s is no LwM2M operation", msg.Code)), OpUnknown, p
}

// target checks that what p names exists for a device management server:
// an object the client has (not Security or OSCORE, which only the
// bootstrap server sees), an instance that exists, a resource its object
// defines. It returns the object and, at resource level and below, the
// resource's definition.
func (e *Engine) target(ctx context.Context, p model.Path) (Object, *model.ObjectDef, *model.ResourceDef, error) {
	if p.IsRoot() {
		return nil, nil, nil, model.Errorf(model.MethodNotAllowed, "the root path is no node")
	}
	if hidden(p.ObjectID()) {
		return nil, nil, nil, model.Errorf(model.NotFound, "no object %d", p.ObjectID())
	}
	o, def, err := e.object(p.ObjectID())
	if err != nil {
		return nil, nil, nil, err
	}
	if p.Level() >= model.LevelInstance {
		ok, err := e.hasInstance(ctx, p.ObjectID(), p.InstanceID())
		if err != nil {
			return nil, nil, nil, err
		}
		if !ok {
			return nil, nil, nil, model.Errorf(model.NotFound, "no instance %s", p.Truncate(2))
		}
	}
	var res *model.ResourceDef
	if p.Level() >= model.LevelResource {
		if res = def.Resource(p.ResourceID()); res == nil {
			return nil, nil, nil, model.Errorf(model.NotFound, "object %d has no resource %d", def.ID, p.ResourceID())
		}
	}
	return o, def, res, nil
}

// dmReadNode reads the node at p for server ssid (Core 1.1 section
// 6.3.1): 4.04 for what does not exist, 4.05 for a resource that is not
// readable, 4.01 without the read right. An object read gives the
// instances the server may read; an instance read its readable resources.
func (e *Engine) dmReadNode(ctx context.Context, ssid uint16, p model.Path) (model.Node, error) {
	_, def, res, err := e.target(ctx, p)
	if err != nil {
		return model.Node{}, err
	}
	if res != nil && !res.Operations.Readable() {
		return model.Node{}, model.Errorf(model.MethodNotAllowed, "resource %d (%s) is not readable", res.ID, res.Name)
	}
	if p.IsObject() {
		ids, err := e.instances(ctx, p.ObjectID())
		if err != nil {
			return model.Node{}, err
		}
		n := model.Node{Kind: model.KindObject, ID: p.ObjectID()}
		denied := false
		for _, id := range ids {
			if err := e.allow(ctx, ssid, p.ObjectID(), id, RightRead); err != nil {
				denied = true
				continue
			}
			in, err := e.readNode(ctx, model.InstancePath(p.ObjectID(), id))
			if errors.Is(err, model.ErrNotFound) {
				continue
			}
			if err != nil {
				return model.Node{}, err
			}
			n.Children = append(n.Children, readable(def, in))
		}
		if denied && len(n.Children) == 0 {
			return model.Node{}, model.Errorf(model.Unauthorized, "server %d may read no instance of object %d", ssid, p.ObjectID())
		}
		return n, nil
	}
	if err := e.allow(ctx, ssid, p.ObjectID(), p.InstanceID(), RightRead); err != nil {
		return model.Node{}, err
	}
	n, err := e.readNode(ctx, p)
	if err != nil {
		return model.Node{}, err
	}
	if p.IsInstance() {
		n = readable(def, n)
	}
	return n, nil
}

// readable drops from instance node n the resources its definition does
// not let a server read, whatever the object returned.
func readable(def *model.ObjectDef, n model.Node) model.Node {
	keep := n.Children[:0:0]
	for _, r := range n.Children {
		if rd := def.Resource(r.ID); rd != nil && rd.Operations.Readable() {
			keep = append(keep, r)
		}
	}
	n.Children = keep
	return n
}

// dmRead serves Read.
func (e *Engine) dmRead(ctx context.Context, ssid uint16, p model.Path, msg *transport.Message) *transport.Message {
	n, err := e.dmReadNode(ctx, ssid, p)
	if err != nil {
		return errorResponse(err)
	}
	return e.contentResponse(msg, p, &n)
}

// dmWrite serves Write (Core 1.1 section 6.3.3): replace (PUT) of an
// instance, resource or resource instance, or partial update (POST) of an
// instance. Writing an object is for the bootstrap server only (4.05).
func (e *Engine) dmWrite(ctx context.Context, ssid uint16, p model.Path, msg *transport.Message, replace bool) error {
	if p.Level() < model.LevelInstance {
		return model.Errorf(model.MethodNotAllowed, "write needs an instance, resource or resource instance path, not %s", p)
	}
	o, def, res, err := e.target(ctx, p)
	if err != nil {
		return err
	}
	if res != nil && !res.Operations.Writable() {
		return model.Errorf(model.MethodNotAllowed, "resource %d (%s) is not writable", res.ID, res.Name)
	}
	if err := e.allow(ctx, ssid, p.ObjectID(), p.InstanceID(), RightWrite); err != nil {
		return err
	}
	n, err := e.decodeWrite(msg, p)
	if err != nil {
		return err
	}
	if err := checkValues(def, p, &n, true); err != nil {
		return err
	}
	if err := guardErr("write", func() error { return o.Write(ctx, p, n, replace) }); err != nil {
		return err
	}
	e.afterWrite(p)
	return nil
}

// afterWrite reacts to a server's change of the values at p: observations
// of it are evaluated, and a change to the Security or Server object
// changes the accounts.
func (e *Engine) afterWrite(paths ...model.Path) {
	e.Changed(paths...)
	for _, p := range paths {
		if !p.IsRoot() && (p.ObjectID() == objSecurity || p.ObjectID() == objServer) {
			e.requestRefresh()
			return
		}
	}
}

// dmExecute serves Execute (Core 1.1 section 6.3.5). The engine itself
// acts on the executable resources of the Server object, whatever object
// implements it: Disable (/1/x/4), Registration Update Trigger (/1/x/8)
// and Bootstrap-Request Trigger (/1/x/9) act on the account of that
// Server instance. The object's Execute is called first; an object that
// does not implement them (4.04 or 4.05) does not stop the engine, any
// other error does.
func (e *Engine) dmExecute(ctx context.Context, ssid uint16, p model.Path, msg *transport.Message) error {
	o, _, res, err := e.target(ctx, p)
	if err != nil {
		return err
	}
	if !res.Operations.Executable() {
		return model.Errorf(model.MethodNotAllowed, "resource %d (%s) is not executable", res.ID, res.Name)
	}
	if err := e.allow(ctx, ssid, p.ObjectID(), p.InstanceID(), RightExecute); err != nil {
		return err
	}
	if cf, ok := msg.ContentFormat(); ok && cf != uint16(codec.Text) {
		return model.Errorf(model.UnsupportedContentFormat, "execute arguments are text/plain, not %s", codec.Format(cf))
	}
	if err := checkExecuteArgs(msg.Payload); err != nil {
		return err
	}
	if p.ObjectID() == objServer {
		switch p.ResourceID() {
		case 4, 8, 9:
			return e.serverExecute(ctx, o, p, msg.Payload)
		}
	}
	return guardErr("execute", func() error { return o.Execute(ctx, p, msg.Payload) })
}

// serverExecute handles Disable, Registration Update Trigger and
// Bootstrap-Request Trigger.
func (e *Engine) serverExecute(ctx context.Context, o Object, p model.Path, args []byte) error {
	if p.ResourceID() == 9 {
		e.mu.Lock()
		ok := e.bsAcct != nil && e.bsAcct.err == nil
		e.mu.Unlock()
		if !ok {
			return model.Errorf(model.MethodNotAllowed, "the client has no bootstrap account")
		}
	}
	err := guardErr("execute", func() error { return o.Execute(ctx, p, args) })
	if err != nil && !errors.Is(err, model.ErrNotFound) && !errors.Is(err, model.ErrMethodNotAllowed) {
		return err
	}
	e.mu.Lock()
	var target *serverConn
	for _, c := range e.conns {
		if c.acct.srvID == p.InstanceID() {
			target = c
		}
	}
	switch p.ResourceID() {
	case 4:
		if target != nil {
			target.request(wantDisable)
		}
	case 8:
		if target != nil {
			target.request(wantUpdate)
		}
	}
	e.mu.Unlock()
	if p.ResourceID() == 9 {
		e.startBootstrap("bootstrap-request trigger " + p.String())
	}
	return nil
}

// checkExecuteArgs checks the argument list of Execute (Core 1.1 section
// 5.4.3):
//
//	arglist = arg *( "," arg )
//	arg     = DIGIT [ "=" "'" *CHAR "'" ]
//	CHAR    = "!" / %x23-26 / %x28-5B / %x5D-7E
func checkExecuteArgs(b []byte) error {
	bad := func(why string) error {
		return model.Errorf(model.BadRequest, "execute arguments %q: %s", clip(b), why)
	}
	if len(b) == 0 {
		return nil
	}
	seen := map[byte]bool{}
	i := 0
	for {
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return bad("an argument starts with one digit")
		}
		if seen[b[i]] {
			return bad("argument " + string(b[i]) + " given twice")
		}
		seen[b[i]] = true
		i++
		if i < len(b) && b[i] == '=' {
			i++
			if i >= len(b) || b[i] != '\'' {
				return bad("a value is quoted with '")
			}
			i++
			for i < len(b) && b[i] != '\'' {
				c := b[i]
				if c == '!' || (c >= 0x23 && c <= 0x26) || (c >= 0x28 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) {
					i++
					continue
				}
				return bad("character " + strconv.QuoteRune(rune(c)) + " in a value")
			}
			if i >= len(b) {
				return bad("unterminated value")
			}
			i++
		}
		if i == len(b) {
			return nil
		}
		if b[i] != ',' {
			return bad("arguments are separated by ,")
		}
		i++
	}
}

func clip(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}

// dmCreate serves Create (Core 1.1 section 6.3.6): POST /o with one
// instance, its id given in the payload, or, in TLV, resources alone for
// the client to choose the id. The answer is 2.01 with the new
// instance's Location-Path.
func (e *Engine) dmCreate(ctx context.Context, ssid uint16, p model.Path, msg *transport.Message) *transport.Message {
	if hidden(p.ObjectID()) {
		return errorResponse(model.Errorf(model.NotFound, "no object %d", p.ObjectID()))
	}
	o, def, err := e.object(p.ObjectID())
	if err != nil {
		return errorResponse(err)
	}
	if err := e.allow(ctx, ssid, p.ObjectID(), model.NoID, RightCreate); err != nil {
		return errorResponse(err)
	}
	in, err := e.decodeCreate(msg, p)
	if err != nil {
		return errorResponse(err)
	}
	if err := checkValues(def, model.InstancePath(p.ObjectID(), 0), &in, false); err != nil {
		return errorResponse(err)
	}
	if in.ID != model.NoID {
		if ok, err := e.hasInstance(ctx, p.ObjectID(), in.ID); err != nil {
			return errorResponse(err)
		} else if ok {
			return errorResponse(model.Errorf(model.BadRequest, "instance %s exists", model.InstancePath(p.ObjectID(), in.ID)))
		}
	}
	id, err := guard("create", func() (uint16, error) { return o.Create(ctx, in) })
	if err != nil {
		return errorResponse(err)
	}
	if id > model.MaxID || (in.ID != model.NoID && id != in.ID) {
		return errorResponse(model.Errorf(model.InternalServerError, "object %d created instance %d for %d", p.ObjectID(), id, in.ID))
	}
	e.grantOwner(ctx, ssid, p.ObjectID(), id)
	e.afterWrite(model.InstancePath(p.ObjectID(), id))
	m := &transport.Message{Code: model.Created}
	m.SetLocationPath(strconv.Itoa(int(p.ObjectID())), strconv.Itoa(int(id)))
	return m
}

// decodeCreate decodes the instance a Create carries. A TLV payload of
// resource TLVs (no Object Instance TLV around them, Core 1.1 section
// 7.4.3) leaves the id to the client: the node's ID is model.NoID.
func (e *Engine) decodeCreate(msg *transport.Message, p model.Path) (model.Node, error) {
	if cf, ok := msg.ContentFormat(); ok && (cf == uint16(codec.TLV) || cf == uint16(codec.LegacyTLV)) && e.speaks(codec.Format(cf)) {
		if len(msg.Payload) == 0 || msg.Payload[0]&0xc0 != 0 {
			n, err := e.decodeWrite(msg, model.InstancePath(p.ObjectID(), 0))
			if err != nil {
				return model.Node{}, err
			}
			n.ID = model.NoID
			return n, nil
		}
	}
	n, err := e.decodeWrite(msg, p)
	if err != nil {
		return model.Node{}, err
	}
	if len(n.Children) != 1 {
		return model.Node{}, model.Errorf(model.BadRequest, "create takes one instance, the payload has %d", len(n.Children))
	}
	return n.Children[0], nil
}

// dmDelete serves Delete (Core 1.1 section 6.3.7) of an instance, and of
// a resource instance (Core 1.2): the multiple resource is written back
// without it.
func (e *Engine) dmDelete(ctx context.Context, ssid uint16, p model.Path) error {
	if p.Level() != model.LevelInstance && p.Level() != model.LevelResourceInstance {
		return model.Errorf(model.MethodNotAllowed, "delete takes an instance or a resource instance, not %s", p)
	}
	o, _, res, err := e.target(ctx, p)
	if err != nil {
		return err
	}
	if p.IsResourceInstance() {
		if !res.Operations.Writable() || !res.Multiple {
			return model.Errorf(model.MethodNotAllowed, "resource %d (%s) is not a writable multiple resource", res.ID, res.Name)
		}
		if err := e.allow(ctx, ssid, p.ObjectID(), p.InstanceID(), RightWrite); err != nil {
			return err
		}
		rp := p.Parent()
		n, err := e.readNode(ctx, rp)
		if err != nil {
			return err
		}
		if n.Child(p.ResourceInstanceID()) == nil {
			return model.Errorf(model.NotFound, "no resource instance %s", p)
		}
		n.Children = slices.DeleteFunc(slices.Clone(n.Children), func(c model.Node) bool { return c.ID == p.ResourceInstanceID() })
		if err := guardErr("write", func() error { return o.Write(ctx, rp, n, true) }); err != nil {
			return err
		}
		e.afterWrite(rp)
		return nil
	}
	if err := e.allow(ctx, ssid, p.ObjectID(), p.InstanceID(), RightDelete); err != nil {
		return err
	}
	if err := guardErr("delete", func() error { return o.Delete(ctx, p.InstanceID()) }); err != nil {
		return err
	}
	e.dropACLs(ctx, p.ObjectID(), p.InstanceID())
	e.dropAttributes(p)
	e.afterWrite(p)
	return nil
}
