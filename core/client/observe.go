package client

import (
	"context"
	"encoding/hex"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasm2m/wasm2m/core/client/internal/notify"
	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// maxObservations bounds the observations all servers hold on the client
// together; beyond it an Observe gets 5.03.
const maxObservations = 256

// obsKey identifies an observation: the server and the token of its
// Observe request (RFC 7641 section 3.1).
type obsKey struct {
	ssid  uint16
	token string
}

// observation is one observation a server holds on the client (Core 1.1
// section 6.4): the goroutine that decides when to notify and sends the
// notifications.
type observation struct {
	e         *Engine
	key       obsKey
	peer      netip.AddrPort
	paths     []model.Path
	composite bool
	format    codec.Format
	query     link.Attributes // attributes of a 1.2 Observe request's query

	changed chan struct{} // a value under paths may have changed
	policy  chan struct{} // the attributes in force may have changed
	stop    chan struct{}
	once    sync.Once
	seq     atomic.Uint32
	lastCON time.Time
}

func (o *observation) signal()        { signal(o.changed) }
func (o *observation) policyChanged() { signal(o.policy) }
func (o *observation) end()           { o.once.Do(func() { close(o.stop) }) }

// covers reports whether a change at any of paths may change what o
// observes.
func (o *observation) covers(paths []model.Path) bool {
	for _, p := range paths {
		for _, q := range o.paths {
			if p.Overlaps(q) {
				return true
			}
		}
	}
	return false
}

// observe serves Observe (Core 1.1 section 6.4.1; GET with Observe 0):
// the response carries the value and the Observe option, and the client
// notifies as the attributes in force say until the server cancels.
func (e *Engine) observe(ctx context.Context, c *serverConn, req *transport.Request, p model.Path) *transport.Message {
	if p.IsRoot() {
		return errorResponse(model.Errorf(model.MethodNotAllowed, "observe of the root path: use observe-composite"))
	}
	ssid := c.account().ssid
	query, err := e.observeQuery(req.Msg, p)
	if err != nil {
		return errorResponse(err)
	}
	n, err := e.dmReadNode(ctx, ssid, p)
	if err != nil {
		return errorResponse(err)
	}
	f, err := e.responseFormat(req.Msg, &n)
	if err != nil {
		return errorResponse(err)
	}
	body, err := codec.Encode(nil, f, p, &n)
	if err != nil {
		return errorResponse(err)
	}
	o, err := e.addObservation(c, req, []model.Path{p}, false, f, query, n)
	if err != nil {
		return errorResponse(err)
	}
	m := &transport.Message{Code: model.Content, Payload: body}
	m.SetObserve(o.seq.Add(1))
	m.SetContentFormat(uint16(f))
	return m
}

// observeQuery reads the notification attributes of a 1.2 Observe (Core
// 1.2 section 6.4.1 lets them ride in the query); earlier versions ignore
// the query.
func (e *Engine) observeQuery(msg *transport.Message, p model.Path) (link.Attributes, error) {
	q := msg.Queries()
	if len(q) == 0 || e.cfg.Version.Compare(model.V1_2) < 0 {
		return link.Attributes{}, nil
	}
	a, err := link.ParseQuery(q)
	if err != nil {
		return link.Attributes{}, err
	}
	if err := a.CheckLevel(p.Level()); err != nil {
		return link.Attributes{}, err
	}
	return a, nil
}

// observeComposite serves Observe-Composite (Core 1.1 section 6.4.2;
// FETCH / with Observe 0 and a path list), and its cancel (Observe 1).
func (e *Engine) observeComposite(ctx context.Context, c *serverConn, req *transport.Request) *transport.Message {
	ssid := c.account().ssid
	paths, pf, err := e.compositePaths(req.Msg)
	if err != nil {
		return errorResponse(err)
	}
	f, err := e.compositeFormat(req.Msg, pf)
	if err != nil {
		return errorResponse(err)
	}
	obs, _ := req.Msg.Observe()
	if obs == 1 {
		e.cancelObservation(ssid, req.Msg.Token)
	}
	entries, err := e.compositeRead(ctx, ssid, paths)
	if err != nil {
		return errorResponse(err)
	}
	body, err := codec.EncodeEntries(nil, f, entries)
	if err != nil {
		return errorResponse(err)
	}
	m := &transport.Message{Code: model.Content, Payload: body}
	m.SetContentFormat(uint16(f))
	if obs == 0 {
		o, err := e.addObservation(c, req, paths, true, f, link.Attributes{}, entriesNode(entries))
		if err != nil {
			return errorResponse(err)
		}
		m.SetObserve(o.seq.Add(1))
	}
	return m
}

// entriesNode wraps the nodes of a composite value in one node, so that
// the notification logic compares composite values as it compares nodes.
func entriesNode(entries []model.Entry) model.Node {
	n := model.Node{Kind: model.KindObject}
	for i, en := range entries {
		c := en.Node
		c.ID = uint16(i)
		n.Children = append(n.Children, model.Node{Kind: model.KindInstance, ID: uint16(i), Children: []model.Node{c}})
	}
	return n
}

// addObservation registers an observation and starts its goroutine. A
// new Observe with the token of an existing one replaces it (RFC 7641
// section 4.1).
func (e *Engine) addObservation(c *serverConn, req *transport.Request, paths []model.Path, composite bool, f codec.Format, query link.Attributes, first model.Node) (*observation, error) {
	a := c.account()
	o := &observation{
		e: e, key: obsKey{ssid: a.ssid, token: string(req.Msg.Token)}, peer: req.Peer,
		paths: paths, composite: composite, format: f, query: query,
		changed: make(chan struct{}, 1), policy: make(chan struct{}, 1), stop: make(chan struct{}),
		lastCON: e.cfg.Now(),
	}
	e.mu.Lock()
	if e.closed || e.conns[a.ssid] != c {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	old := e.observers[o.key]
	if old == nil && len(e.observers) >= maxObservations {
		e.mu.Unlock()
		return nil, model.Errorf(model.ServiceUnavailable, "the client holds %d observations already", maxObservations)
	}
	e.observers[o.key] = o
	e.wg.Add(1)
	e.mu.Unlock()
	if old != nil {
		old.end()
	}
	go o.run(first)
	return o, nil
}

// cancelObservation ends the observation of server ssid with token tok
// (an active cancel, RFC 7641 section 3.6: GET with Observe 1).
func (e *Engine) cancelObservation(ssid uint16, tok []byte) {
	k := obsKey{ssid: ssid, token: string(tok)}
	e.mu.Lock()
	o := e.observers[k]
	delete(e.observers, k)
	e.mu.Unlock()
	if o != nil {
		o.end()
	}
}

// resetObservation ends the observation whose NON notification to peer
// the server answered with a Reset: the server no longer wants it (a
// passive cancel, RFC 7641 section 3.6: the observer rejects the next
// notification). It is the transport's Config.OnReset and runs on the
// endpoint's reading goroutine, so it only ends the observation; its
// goroutine returns on its own.
func (e *Engine) resetObservation(peer netip.AddrPort, tok []byte) {
	e.mu.Lock()
	var o *observation
	for k, x := range e.observers {
		if k.token != string(tok) {
			continue
		}
		to := x.peer
		if c := e.conns[k.ssid]; c != nil {
			to = c.acct.addr // where notify sent it
		}
		if to == peer {
			o = x
			delete(e.observers, k)
			break
		}
	}
	e.mu.Unlock()
	if o != nil {
		e.log.Debug("observation ended by the server's reset", "ssid", o.key.ssid, "path", o.paths[0].String(), "token", hex.EncodeToString(tok))
		o.end()
	}
}

// dropObservations ends every observation of server ssid (its
// registration ended or was replaced).
func (e *Engine) dropObservations(ssid uint16) {
	e.mu.Lock()
	var drop []*observation
	for k, o := range e.observers {
		if k.ssid == ssid {
			drop = append(drop, o)
			delete(e.observers, k)
		}
	}
	e.mu.Unlock()
	for _, o := range drop {
		o.end()
	}
}

// remove forgets o if it is still registered.
func (o *observation) remove() {
	e := o.e
	e.mu.Lock()
	if e.observers[o.key] == o {
		delete(e.observers, o.key)
	}
	e.mu.Unlock()
	o.end()
}

// currentPolicy computes the policy in force (notify.PolicyFor) from the
// server's Default Minimum and Maximum Period (/1/x/2, /1/x/3) and the
// attributes at each level of the observed path, or those of a 1.2
// Observe's query, which replace them (Core 1.2 section 6.4.1). A
// composite observation takes the smallest pmin, pmax and epmax of its
// paths; gt, lt, st and edge do not apply to it. Confirmable is also set
// when the engine is configured to send confirmable notifications.
func (o *observation) currentPolicy() notify.Policy {
	e := o.e
	e.mu.Lock()
	var defMin, defMax uint32
	if c := e.conns[o.key.ssid]; c != nil {
		defMin = c.acct.pmin
		if c.acct.hasPmax {
			defMax = c.acct.pmax
		}
	}
	levelsOf := func(p model.Path) []link.Attributes {
		if !o.query.IsZero() {
			return []link.Attributes{o.query}
		}
		m := e.attrs[o.key.ssid]
		levels := make([]link.Attributes, 0, 4)
		for l := 1; l <= p.Len(); l++ {
			levels = append(levels, m[p.Truncate(l)])
		}
		return levels
	}
	var pol notify.Policy
	for i, p := range o.paths {
		q := notify.PolicyFor(defMin, defMax, levelsOf(p)...)
		if !o.composite {
			pol = q
			break
		}
		if i == 0 || q.PMin < pol.PMin {
			pol.PMin = q.PMin
		}
		if q.PMax > 0 && (pol.PMax == 0 || q.PMax < pol.PMax) {
			pol.PMax = q.PMax
		}
		if q.EPMax > 0 && (pol.EPMax == 0 || q.EPMax < pol.EPMax) {
			pol.EPMax = q.EPMax
		}
		pol.Confirmable = pol.Confirmable || q.Confirmable
	}
	e.mu.Unlock()
	pol.Confirmable = pol.Confirmable || e.cfg.ConfirmableNotifications
	return pol
}

// read reads the observed value for the server now.
func (o *observation) read(ctx context.Context) (model.Node, []model.Entry, error) {
	e := o.e
	if !o.composite {
		n, err := e.dmReadNode(ctx, o.key.ssid, o.paths[0])
		return n, nil, err
	}
	entries, err := e.compositeRead(ctx, o.key.ssid, o.paths)
	if err != nil {
		return model.Node{}, nil, err
	}
	return entriesNode(entries), entries, nil
}

// run is the observation's goroutine: it evaluates changes, ticks the
// periods and sends notifications as notify.State decides, until the
// observation ends.
func (o *observation) run(first model.Node) {
	e := o.e
	defer e.wg.Done()
	ctx := e.ctx
	now := e.cfg.Now()
	st := notify.NewState(o.currentPolicy(), first, now)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	arm := func(next time.Time) {
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if !next.IsZero() {
			timer.Reset(max(next.Sub(e.cfg.Now()), 0))
		}
	}
	arm(st.Next(now))
	// evaluate reads the value and gives it to Changed; send reads it
	// unless given, and sends it. Both report whether the observation
	// goes on and when to tick next.
	send := func(n model.Node, entries []model.Entry, read bool) (bool, time.Time) {
		if !read {
			var err error
			if n, entries, err = o.read(ctx); err != nil {
				o.sendError(ctx, err)
				return false, time.Time{}
			}
		}
		if !o.send(ctx, n, entries, st.Policy().Confirmable) {
			return false, time.Time{}
		}
		return true, st.Sent(n, e.cfg.Now())
	}
	evaluate := func() (bool, time.Time) {
		n, entries, err := o.read(ctx)
		if err != nil {
			o.sendError(ctx, err)
			return false, time.Time{}
		}
		yes, next := st.Changed(n, e.cfg.Now())
		if yes {
			return send(n, entries, true)
		}
		return true, next
	}
	for {
		var next time.Time
		ok := true
		select {
		case <-o.stop:
			return
		case <-ctx.Done():
			return
		case <-o.policy:
			next = st.SetPolicy(o.currentPolicy(), e.cfg.Now())
		case <-o.changed:
			ok, next = evaluate()
		case <-timer.C:
			yes, eval, n := st.Tick(e.cfg.Now())
			switch {
			case yes:
				ok, next = send(model.Node{}, nil, false)
			case eval:
				ok, next = evaluate()
			default:
				next = n
			}
		}
		if !ok {
			return
		}
		arm(next)
	}
}

// send sends one notification (RFC 7641 section 4.2; Core 1.1 section
// 6.4.2) and reports whether the observation goes on. A confirmable
// notification the server resets or does not acknowledge ends the
// observation (RFC 7641 sections 3.6 and 4.5); a reset of a
// non-confirmable one ends it when it arrives (resetObservation). A payload larger than a
// block goes as its first block with Block2; the server fetches the rest
// (RFC 7959 section 2.6 and 3.4).
func (o *observation) send(ctx context.Context, n model.Node, entries []model.Entry, con bool) bool {
	e := o.e
	var body []byte
	var err error
	if o.composite {
		body, err = codec.EncodeEntries(nil, o.format, entries)
	} else {
		body, err = codec.Encode(nil, o.format, o.paths[0], &n)
	}
	if err != nil {
		o.sendError(ctx, err)
		return false
	}
	now := e.cfg.Now()
	if now.Sub(o.lastCON) >= 24*time.Hour {
		con = true
	}
	m := &transport.Message{Type: transport.NonConfirmable, Code: model.Content, Token: []byte(o.key.token)}
	if con {
		m.Type = transport.Confirmable
		o.lastCON = now
	}
	m.SetObserve(o.seq.Add(1))
	m.SetContentFormat(uint16(o.format))
	if bs := e.blockSize(); len(body) > int(bs) {
		m.SetBlock2(transport.Block{Num: 0, More: true, Size: bs})
		body = body[:bs]
	}
	m.Payload = body
	err = o.notify(ctx, m)
	e.emit(Event{Type: EventNotified, SSID: o.key.ssid, Path: o.paths[0], Code: model.Content, Err: err})
	if err != nil {
		if errors.Is(err, transport.ErrReset) || errors.Is(err, transport.ErrTimeout) || errors.Is(err, transport.ErrClosed) {
			e.log.Debug("observation ended by the server", "ssid", o.key.ssid, "path", o.paths[0].String(), "err", err)
			o.remove()
			return false
		}
		e.log.Warn("notification not sent", "ssid", o.key.ssid, "path", o.paths[0].String(), "err", err)
	}
	return true
}

// sendError ends the observation with an error notification (RFC 7641
// section 3.2: a response that is not 2.xx ends it), such as 4.04 when
// the observed instance was deleted.
func (o *observation) sendError(ctx context.Context, err error) {
	code := model.CodeOf(err)
	if code.Class() != 4 && code.Class() != 5 {
		code = model.InternalServerError
	}
	m := &transport.Message{Type: transport.NonConfirmable, Code: code, Token: []byte(o.key.token)}
	_ = o.notify(ctx, m)
	o.e.emit(Event{Type: EventNotified, SSID: o.key.ssid, Path: o.paths[0], Code: code, Err: err})
	o.remove()
}

// notify sends m to the server, waking it from queue mode's sleep.
func (o *observation) notify(ctx context.Context, m *transport.Message) error {
	e := o.e
	e.mu.Lock()
	ep, c := e.ep, e.conns[o.key.ssid]
	peer := o.peer
	if c != nil {
		peer = c.acct.addr
	}
	e.mu.Unlock()
	if ep == nil {
		return ErrClosed
	}
	if c != nil {
		c.touch() // awake before the server hears from the client, and so may send what it held
	}
	err := ep.Notify(ctx, peer, m)
	if c != nil && err == nil {
		c.touch()
	}
	return err
}

// blockSize is the endpoint's block size.
func (e *Engine) blockSize() uint16 {
	if bs := e.cfg.Transport.BlockSize; bs != 0 {
		return bs
	}
	return 1024
}
