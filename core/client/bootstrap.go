package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// bootstrapRun is one client-initiated bootstrap (Core 1.1 section 6.1.4):
// the goroutine that sends Bootstrap-Request and waits for
// Bootstrap-Finish, and the signals the request handler gives it.
type bootstrapRun struct {
	finished chan struct{} // Bootstrap-Finish was accepted
	activity chan struct{} // the bootstrap server sent something
	stop     chan struct{}
	once     sync.Once
	ctx      context.Context
	cancel   context.CancelFunc
}

func (r *bootstrapRun) stopNow() {
	r.once.Do(func() {
		close(r.stop)
		r.cancel()
	})
}

func (r *bootstrapRun) stopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

func (r *bootstrapRun) wait(d time.Duration) bool {
	if d <= 0 {
		return !r.stopped()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.stop:
		return false
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// startBootstrap stops every registration (each de-registers) and starts
// a client-initiated bootstrap with the bootstrap account: when the client
// has no usable server account, when registration failed and the account
// asks for it (/1/x/16), or when a server executed the Bootstrap-Request
// Trigger (/1/x/9). It reports whether a bootstrap is running now; false
// when there is no usable bootstrap account or the engine is closing.
func (e *Engine) startBootstrap(reason string) bool {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return false
	}
	if e.bsRun != nil {
		e.mu.Unlock()
		return true
	}
	if e.bsAcct == nil || e.bsAcct.err != nil {
		e.mu.Unlock()
		return false
	}
	run := &bootstrapRun{finished: make(chan struct{}, 1), activity: make(chan struct{}, 1), stop: make(chan struct{})}
	run.ctx, run.cancel = context.WithCancel(e.ctx)
	e.bsRun = run
	old := slices.Collect(maps.Values(e.conns))
	e.conns = map[uint16]*serverConn{}
	e.statusChangedLocked()
	e.wg.Add(1)
	e.mu.Unlock()
	e.log.Info("bootstrap", "reason", reason)
	for _, c := range old {
		c.stopNow()
	}
	go e.bootstrapLoop(run, old)
	return true
}

// bootstrapLoop waits for the old registrations to end, then sends
// Bootstrap-Request until one is followed by Bootstrap-Finish, retrying as
// Config.BootstrapRetry says (Core 1.1 section 6.2.1.1 applies the
// communication sequence to bootstrapping). It honours the Client Hold Off
// Time of the bootstrap account (/0/x/11).
func (e *Engine) bootstrapLoop(run *bootstrapRun, old []*serverConn) {
	defer e.wg.Done()
	for _, c := range old {
		select {
		case <-c.done:
		case <-run.stop:
			return
		}
	}
	e.mu.Lock()
	acct := *e.bsAcct
	e.mu.Unlock()
	if !run.wait(acct.holdOff) {
		return
	}
	pol := e.cfg.BootstrapRetry
	var err error
	for seq := 1; ; seq++ {
		for attempt := 1; attempt <= pol.Count; attempt++ {
			if err = e.bootstrapOnce(run, &acct); err == nil {
				e.mu.Lock()
				e.bsRun, e.bsErr = nil, nil
				e.statusChangedLocked()
				e.mu.Unlock()
				e.log.Info("bootstrapped", "server", acct.uri)
				e.emit(Event{Type: EventBootstrapped, Server: acct.uri})
				e.refresh()
				return
			}
			if run.stopped() {
				return
			}
			e.mu.Lock()
			e.bsErr = err
			e.statusChangedLocked()
			e.mu.Unlock()
			e.log.Warn("bootstrap failed", "server", acct.uri, "attempt", attempt, "err", err)
			e.emit(Event{Type: EventBootstrapFailed, Server: acct.uri, Err: err})
			if attempt < pol.Count && !run.wait(pol.delay(attempt)) {
				return
			}
		}
		if seq >= pol.Sequences {
			break
		}
		if !run.wait(pol.SequenceDelay) {
			return
		}
	}
	// Bootstrap failed for good: go back to the accounts the client has,
	// if any; without one it stays unregistered, and Status says why.
	e.mu.Lock()
	e.bsRun = nil
	e.statusChangedLocked()
	e.mu.Unlock()
	e.log.Error("bootstrap gave up", "server", acct.uri, "err", err)
	dm, _, rerr := e.readAccounts(e.ctx)
	if rerr == nil && slices.ContainsFunc(dm, func(a account) bool { return a.err == nil }) {
		e.refresh()
	}
}

// bootstrapOnce sends Bootstrap-Request (Core 1.1 section 6.1.4;
// Transport section 6.1: POST /bs?ep={name}[&pct={format}]) and waits for
// Bootstrap-Finish, at most BootstrapTimeout after the last message of the
// bootstrap server.
func (e *Engine) bootstrapOnce(run *bootstrapRun, acct *account) error {
	e.emit(Event{Type: EventBootstrapping, Server: acct.uri})
	m := &transport.Message{Code: transport.POST}
	m.SetPath("/bs")
	m.AddQuery("ep=" + e.cfg.Endpoint)
	if e.cfg.Version != model.V1_0 {
		if f := e.preferredTreeFormat(); f != codec.None {
			m.AddQuery("pct=" + strconv.Itoa(int(f)))
		}
	}
	resp, err := e.do(run.ctx, acct.addr, m)
	if err != nil {
		return fmt.Errorf("bootstrap-request: %w", err)
	}
	if resp.Code != model.Changed {
		return responseError("bootstrap-request", resp)
	}
	t := time.NewTimer(e.cfg.BootstrapTimeout)
	defer t.Stop()
	for {
		select {
		case <-run.finished:
			return nil
		case <-run.activity:
			t.Reset(e.cfg.BootstrapTimeout)
		case <-t.C:
			return model.Errorf(model.GatewayTimeout, "bootstrap: no Bootstrap-Finish within %s", e.cfg.BootstrapTimeout)
		case <-run.stop:
			return ErrClosed
		}
	}
}

// preferredTreeFormat is the pct= of Bootstrap-Request: the first format
// the client speaks that carries whole objects.
func (e *Engine) preferredTreeFormat() codec.Format {
	for _, f := range e.cfg.Formats {
		if !f.SingleValue() {
			return f
		}
	}
	return codec.None
}

// serveBootstrap serves the Bootstrap interface (Core 1.1 section 6.1.7;
// Transport section 6.1) for the bootstrap server: Bootstrap-Write (PUT),
// -Read (GET), -Discover (GET with Accept link-format), -Delete (DELETE)
// and -Finish (POST /bs). Its calls carry the bootstrap marker, so that
// objects let it do what no device management server may.
func (e *Engine) serveBootstrap(ctx context.Context, req *transport.Request) (*transport.Message, Op, model.Path) {
	e.mu.Lock()
	if run := e.bsRun; run != nil {
		signal(run.activity)
	}
	e.mu.Unlock()
	ctx = WithBootstrap(ctx)
	msg := req.Msg
	if segs := msg.PathSegments(); len(segs) == 1 && segs[0] == "bs" {
		if msg.Code != transport.POST {
			return errorResponse(model.Errorf(model.MethodNotAllowed, "bootstrap-finish is POST /bs")), OpBootstrapFinish, model.Path{}
		}
		return e.bootstrapFinish(ctx), OpBootstrapFinish, model.Path{}
	}
	p, err := requestPath(msg)
	if err != nil {
		return errorResponse(err), OpUnknown, p
	}
	switch msg.Code {
	case transport.PUT:
		return result(e.bootstrapWrite(ctx, p, msg), model.Changed), OpBootstrapWrite, p
	case transport.GET:
		if a, ok := msg.Accept(); ok && a == uint16(codec.LinkFormat) {
			return e.bootstrapDiscover(ctx, p), OpBootstrapDiscover, p
		}
		return e.bootstrapRead(ctx, p, msg), OpBootstrapRead, p
	case transport.DELETE:
		return result(e.bootstrapDelete(ctx, p), model.Deleted), OpBootstrapDelete, p
	}
	return errorResponse(model.Errorf(model.MethodNotAllowed, "the bootstrap interface has no %s", msg.Code)), OpUnknown, p
}

// bootstrapWrite writes the payload at p whether the instances exist or
// not (Core 1.1 section 6.1.7.4): an existing instance is updated with the
// resources given, a missing one is created.
func (e *Engine) bootstrapWrite(ctx context.Context, p model.Path, msg *transport.Message) error {
	if p.IsRoot() {
		return model.Errorf(model.BadRequest, "bootstrap-write needs an object, instance or resource path")
	}
	o, def, err := e.object(p.ObjectID())
	if err != nil {
		return err
	}
	n, err := e.decodeWrite(msg, p)
	if err != nil {
		return err
	}
	if err := checkValues(def, p, &n, false); err != nil {
		return err
	}
	var instances []model.Node
	switch p.Level() {
	case model.LevelObject:
		instances = n.Children
	case model.LevelInstance:
		instances = []model.Node{n}
	default:
		exists, err := e.hasInstance(ctx, p.ObjectID(), p.InstanceID())
		if err != nil {
			return err
		}
		if exists {
			return guardErr("write", func() error { return o.Write(ctx, p, n, true) })
		}
		in := model.NewInstance(p.InstanceID(), wrapResource(p, n))
		instances = []model.Node{in}
	}
	for _, in := range instances {
		ip := model.InstancePath(p.ObjectID(), in.ID)
		exists, err := e.hasInstance(ctx, p.ObjectID(), in.ID)
		if err != nil {
			return err
		}
		if exists {
			err = guardErr("write", func() error { return o.Write(ctx, ip, in, false) })
		} else {
			_, err = guard("create", func() (uint16, error) { return o.Create(ctx, in) })
		}
		if err != nil {
			return fmt.Errorf("bootstrap-write %s: %w", ip, err)
		}
	}
	return nil
}

// wrapResource returns the resource node that holds n, which lives at p
// (a resource or a resource instance).
func wrapResource(p model.Path, n model.Node) model.Node {
	if p.IsResourceInstance() {
		return model.NewMultipleResource(p.ResourceID(), n)
	}
	return n
}

// bootstrapRead reads the Server or Access Control object (Core 1.1
// section 6.1.7.2 limits Bootstrap-Read to them).
func (e *Engine) bootstrapRead(ctx context.Context, p model.Path, msg *transport.Message) *transport.Message {
	if p.IsRoot() || p.Level() > model.LevelInstance || (p.ObjectID() != objServer && p.ObjectID() != objAccessControl) {
		return errorResponse(model.Errorf(model.BadRequest, "bootstrap-read takes the Server or Access Control object or one of their instances, not %s", p))
	}
	n, err := e.readNode(ctx, p)
	if err != nil {
		return errorResponse(err)
	}
	return e.contentResponse(msg, p, &n)
}

// bootstrapDiscover lists the objects and instances with the attributes
// Bootstrap-Discover reports (Core 1.1 section 6.1.7.3): the enabler
// version on the root, ssid and uri on Security instances, ssid on Server
// instances.
func (e *Engine) bootstrapDiscover(ctx context.Context, p model.Path) *transport.Message {
	if p.Level() > model.LevelObject {
		return errorResponse(model.Errorf(model.BadRequest, "bootstrap-discover takes / or an object, not %s", p))
	}
	var entries []link.Entry
	ids := e.ids
	if p.IsRoot() {
		root := link.Entry{Path: model.RootPath()}
		root.LWM2M = link.Set(e.cfg.Version)
		entries = append(entries, root)
	} else {
		if _, _, err := e.object(p.ObjectID()); err != nil {
			return errorResponse(err)
		}
		ids = []uint16{p.ObjectID()}
	}
	for _, id := range ids {
		insts, err := e.instances(ctx, id)
		if err != nil {
			return errorResponse(err)
		}
		v := e.defs[id].Version
		if len(insts) == 0 || (!v.IsZero() && v != model.V1_0) {
			oe := link.Entry{Path: model.ObjectPath(id)}
			if !v.IsZero() && v != model.V1_0 {
				oe.Ver = link.Set(v)
			}
			entries = append(entries, oe)
		}
		for _, i := range insts {
			ie := link.Entry{Path: model.InstancePath(id, i)}
			if id == objSecurity || id == objServer {
				n, err := e.readNode(ctx, ie.Path)
				if err == nil {
					ssidRes, uriRes := uint16(10), uint16(0)
					if id == objServer {
						ssidRes = 0
					}
					if v, ok := resourceOf(&n, ssidRes); ok {
						if s, ok := intOf(v); ok && s >= 1 && s <= model.MaxID {
							ie.SSID = link.Set(uint16(s))
						}
					}
					if id == objSecurity {
						if v, ok := resourceOf(&n, uriRes); ok && v.Str() != "" {
							ie.URI = link.Set(v.Str())
						}
					}
				}
			}
			entries = append(entries, ie)
		}
	}
	m := &transport.Message{Code: model.Content}
	m.SetContentFormat(uint16(codec.LinkFormat))
	m.Payload = link.AppendDiscover(nil, entries)
	return m
}

// bootstrapDelete deletes the instances at p (Core 1.1 section 6.1.7.5):
// "/" deletes every instance but the bootstrap account's Security instance
// and the Device object's; an object, its instances; an instance, itself.
// The bootstrap account and the Device object cannot be deleted (4.00).
func (e *Engine) bootstrapDelete(ctx context.Context, p model.Path) error {
	e.mu.Lock()
	bsSec := -1
	if e.bsAcct != nil {
		bsSec = int(e.bsAcct.secID)
	}
	e.mu.Unlock()
	keep := func(o, i uint16) bool { return o == objDevice || (o == objSecurity && int(i) == bsSec) }
	switch p.Level() {
	case model.LevelRoot:
		for _, id := range e.ids {
			if id == objDevice {
				continue
			}
			e.deleteAll(ctx, id, keep)
		}
		e.mu.Lock()
		clear(e.attrs) // the servers they belonged to are gone
		e.mu.Unlock()
		return nil
	case model.LevelObject:
		if p.ObjectID() == objDevice {
			return model.Errorf(model.BadRequest, "bootstrap-delete: the Device object cannot be deleted")
		}
		if _, _, err := e.object(p.ObjectID()); err != nil {
			return err
		}
		e.deleteAll(ctx, p.ObjectID(), keep)
		return nil
	case model.LevelInstance:
		if keep(p.ObjectID(), p.InstanceID()) {
			return model.Errorf(model.BadRequest, "bootstrap-delete: %s cannot be deleted", p)
		}
		o, _, err := e.object(p.ObjectID())
		if err != nil {
			return err
		}
		err = guardErr("delete", func() error { return o.Delete(ctx, p.InstanceID()) })
		if errors.Is(err, model.ErrNotFound) {
			return nil
		}
		return err
	}
	return model.Errorf(model.BadRequest, "bootstrap-delete takes /, an object or an instance, not %s", p)
}

func (e *Engine) deleteAll(ctx context.Context, id uint16, keep func(o, i uint16) bool) {
	o := e.objs[id]
	ids, err := e.instances(ctx, id)
	if err != nil {
		return
	}
	for _, i := range ids {
		if keep(id, i) {
			continue
		}
		if err := guardErr("delete", func() error { return o.Delete(ctx, i) }); err != nil && !errors.Is(err, model.ErrNotFound) {
			e.log.Warn("bootstrap-delete", "path", model.InstancePath(id, i).String(), "err", err)
		}
	}
}

// bootstrapFinish checks the configuration the bootstrap server left
// (Core 1.1 section 6.1.7.6): at least one device management account
// whose Security and Server instances agree and whose server the client
// can reach. A configuration without one gets 4.06 Not Acceptable, and
// the bootstrap server may go on. Accepted, the client registers with
// what it was given.
func (e *Engine) bootstrapFinish(ctx context.Context) *transport.Message {
	dm, _, err := e.readAccounts(ctx)
	if err != nil {
		return errorResponse(model.Errorf(model.InternalServerError, "bootstrap-finish: %v", err))
	}
	var why []string
	usable := false
	for _, a := range dm {
		if a.err == nil {
			usable = true
		} else {
			why = append(why, fmt.Sprintf("/0/%d: %v", a.secID, a.err))
		}
	}
	if !usable {
		msg := "bootstrap-finish: no usable server account"
		if len(why) > 0 {
			msg += ": " + why[0]
		}
		return errorResponse(&model.Error{Code: model.NotAcceptable, Msg: msg})
	}
	e.mu.Lock()
	run := e.bsRun
	e.mu.Unlock()
	if run != nil {
		signal(run.finished)
	} else {
		// Server-initiated bootstrap (Core 1.1 section 6.1.3): nothing
		// waits for Finish; take the new accounts now.
		e.emit(Event{Type: EventBootstrapped})
		e.requestRefresh()
	}
	return &transport.Message{Code: model.Changed}
}
