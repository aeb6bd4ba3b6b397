package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wasm2m/wasm2m/core/codec"
	"github.com/wasm2m/wasm2m/core/link"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// What a registration loop is asked to do, as bits of serverConn.want.
const (
	wantUpdate  uint8 = 1 << iota // an Update whatever changed (Registration Update Trigger, /1/x/8)
	wantObjects                   // objects or instances may have changed: Update if the list differs
	wantParams                    // lifetime, binding or queue mode changed: Update with them
	wantDisable                   // Disable (/1/x/4): de-register, wait, register again
)

// serverConn is the client's side of one device management server: the
// goroutine that registers, updates and de-registers (Core 1.1 section
// 6.2), and the state other goroutines read.
type serverConn struct {
	e    *Engine
	kick chan struct{} // wakes the loop; what to do is in want
	stop chan struct{} // closed to stop the loop, which then de-registers
	once sync.Once
	done chan struct{} // closed when the loop has returned

	work       context.Context // cancelled with stop: aborts a Register or Update in flight
	cancelWork context.CancelFunc

	// Guarded by e.mu.
	acct        account
	want        uint8
	state       State
	location    string   // "/rd/abc"
	locSegs     []string // its segments
	lastErr     error
	sent        account // the parameters the registration has
	sentPayload []byte  // the object list the registration has
	updatedAt   time.Time
	awakeUntil  time.Time
	asleep      bool
	settled     bool // registered once, or failed a sequence without Registration Failure Block
}

// startConnLocked starts the loop of a new account; the caller holds e.mu.
func (e *Engine) startConnLocked(a account) {
	c := &serverConn{e: e, acct: a, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), state: StateRegistering}
	c.work, c.cancelWork = context.WithCancel(e.ctx)
	e.conns[a.ssid] = c
	e.wg.Add(1)
	go c.run()
}

// request asks the loop to do w; the caller holds e.mu.
func (c *serverConn) request(w uint8) {
	c.want |= w
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// stopNow stops the loop; a registered loop de-registers first.
func (c *serverConn) stopNow() {
	c.once.Do(func() {
		close(c.stop)
		c.cancelWork()
	})
}

func (c *serverConn) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

func (c *serverConn) account() account {
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	return c.acct
}

func (c *serverConn) setState(s State, err error) {
	e := c.e
	e.mu.Lock()
	c.state = s
	if err != nil || s == StateRegistered {
		c.lastErr = err
	}
	e.statusChangedLocked()
	e.mu.Unlock()
}

// wait sleeps for d unless the loop is stopped first; it reports whether
// d passed.
func (c *serverConn) wait(d time.Duration) bool {
	if d <= 0 {
		return !c.stopped()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.stop:
		return false
	}
}

// event fills in the server of ev and emits it.
func (c *serverConn) event(ev Event) {
	a := c.account()
	ev.SSID, ev.Server = a.ssid, a.uri
	c.e.emit(ev)
}

// What registered returns: why the registration ended.
type regEnd uint8

const (
	endStop       regEnd = iota // stopped: de-register and return
	endReregister               // an Update failed: register again
	endDisable                  // disabled: de-register, wait, register again
)

// run is the registration loop of one server (Core 1.1 section 6.2).
func (c *serverConn) run() {
	e := c.e
	defer e.wg.Done()
	defer close(c.done)
	defer e.dropObservations(c.account().ssid)
	if !c.waitTurn() {
		return
	}
	if d := c.account().initialDelay; d > 0 && !c.wait(d) {
		return
	}
	for {
		if !c.registerSequence() {
			// Stopped: a Register whose answer came meanwhile
			// (register's grace) left a registration to end.
			c.deregister()
			return
		}
		switch c.registered() {
		case endStop:
			c.deregister()
			return
		case endReregister:
			continue
		case endDisable:
			a := c.account()
			c.deregister()
			c.setState(StateDisabled, nil)
			c.event(Event{Type: EventDisabled})
			e.log.Info("server account disabled", "ssid", a.ssid, "for", a.disableTimeout.String())
			if !c.wait(a.disableTimeout) {
				return
			}
			c.setState(StateRegistering, nil)
		}
	}
}

// waitTurn waits until the servers before this one in the Registration
// Priority Order (/1/x/13) have settled (Core 1.1 section 6.2.1.1): each
// registered, or failed a communication sequence without Registration
// Failure Block (/1/x/15), which otherwise blocks the servers after it. A
// server without a priority order waits for none and none waits for it.
// It reports false when the loop was stopped meanwhile.
func (c *serverConn) waitTurn() bool {
	e := c.e
	for {
		e.mu.Lock()
		ready := true
		if p := c.acct.priority; p >= 0 {
			for _, o := range e.conns {
				if o != c && o.acct.priority >= 0 && o.acct.priority < p && !o.settled {
					ready = false
				}
			}
		}
		ch := e.statusCh
		e.mu.Unlock()
		if ready {
			return true
		}
		select {
		case <-ch:
		case <-c.stop:
			return false
		}
	}
}

// settle marks this server's turn in the registration order as done.
func (c *serverConn) settle() {
	e := c.e
	e.mu.Lock()
	if !c.settled {
		c.settled = true
		e.statusChangedLocked()
	}
	e.mu.Unlock()
}

// registerSequence registers, retrying as the account's communication
// sequence says (Core 1.1 section 6.2.1.1; Server object resources 17 to
// 20): Count attempts, the n-th failure followed by a wait of
// Timer*2^(n-1), then SequenceDelay before the next sequence. When
// Sequences sequences failed, or the server rejected the registration,
// and the account asks to bootstrap on failure (/1/x/16) with a bootstrap
// account at hand, the client bootstraps; otherwise it goes on with
// another sequence after the delay. It reports whether the client is
// registered; false means the loop must end.
func (c *serverConn) registerSequence() bool {
	e := c.e
	c.setState(StateRegistering, nil)
	for seq := 1; ; seq++ {
		pol := c.account().retry
		for attempt := 1; attempt <= pol.Count; attempt++ {
			err := c.register()
			if err == nil {
				return true
			}
			if c.stopped() {
				return false
			}
			a := c.account()
			c.setState(StateRegistering, err)
			c.event(Event{Type: EventRegistrationFailed, Err: err})
			e.log.Warn("register failed", "ssid", a.ssid, "server", a.uri, "attempt", attempt, "err", err)
			rejected := errors.As(err, new(*model.Error)) && model.CodeOf(err).Class() == 4
			if rejected && a.bootstrapOnFail && e.startBootstrap(fmt.Sprintf("server %d rejected the registration: %v", a.ssid, err)) {
				return false
			}
			if attempt < pol.Count && !c.wait(pol.delay(attempt)) {
				return false
			}
		}
		a := c.account()
		if !a.failureBlock {
			c.settle()
		}
		if seq >= pol.Sequences {
			if a.bootstrapOnFail && e.startBootstrap(fmt.Sprintf("registration with server %d failed", a.ssid)) {
				return false
			}
			seq = 0 // no bootstrap: keep trying, one sequence after another
		}
		c.setState(StateFailed, nil)
		if !c.wait(pol.SequenceDelay) {
			return false
		}
		c.setState(StateRegistering, nil)
	}
}

// registrationPayload builds the object list of Register and Update (Core
// 1.1 section 6.2.1): the root link with the content formats the client
// speaks (ct), then every object but Security and OSCORE, with its version
// when it is not 1.0 and its instances.
func (e *Engine) registrationPayload(ctx context.Context) []byte {
	r := link.Registration{Root: "/"}
	for _, f := range e.cfg.Formats {
		r.ContentFormats = append(r.ContentFormats, uint16(f))
	}
	for _, id := range e.ids {
		if hidden(id) {
			continue
		}
		o := link.Object{ID: id}
		if v := e.defs[id].Version; e.cfg.Version != model.V1_0 && !v.IsZero() && v != model.V1_0 {
			o.Version = v
		}
		ids, err := e.instances(ctx, id)
		if err != nil {
			e.log.Warn("list instances", "object", id, "err", err)
		}
		o.Instances = ids
		r.Objects = append(r.Objects, o)
	}
	return link.AppendRegistration(nil, r)
}

// bindingParam is the b= parameter: the client speaks UDP only; LwM2M 1.0
// writes queue mode into the binding (UQ), later versions send Q apart.
func (e *Engine) bindingParam(a *account) string {
	if a.queue && e.cfg.Version == model.V1_0 {
		return "UQ"
	}
	return "U"
}

// register sends Register (Core 1.1 section 6.2.1; Transport section 6.2:
// POST /rd?ep=...&lt=...&lwm2m=...&b=...[&Q] with the object list).
func (c *serverConn) register() error {
	e := c.e
	a := c.account()
	e.dropObservations(a.ssid) // a new registration holds no observation
	payload := e.registrationPayload(c.work)
	m := &transport.Message{Code: transport.POST}
	m.SetPath("/rd")
	m.AddQuery("ep=" + e.cfg.Endpoint)
	if a.lifetime > 0 {
		m.AddQuery("lt=" + strconv.FormatUint(uint64(a.lifetime), 10))
	}
	m.AddQuery("lwm2m=" + e.cfg.Version.String())
	m.AddQuery("b=" + e.bindingParam(&a))
	if a.queue && e.cfg.Version != model.V1_0 {
		m.AddQuery("Q")
	}
	m.SetContentFormat(uint16(codec.LinkFormat))
	m.Payload = payload
	c.touch()
	// A stop (Close, a bootstrap a server triggered with /1/x/9) while
	// the Register is on its way gives its answer registerGrace more: a
	// registration the server made and the client never learnt the
	// location of could not be de-registered.
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.work))
	defer cancel()
	grace := context.AfterFunc(c.work, func() { time.AfterFunc(registerGrace, cancel) })
	defer grace()
	resp, err := e.do(ctx, a.addr, m)
	if err != nil {
		if c.work.Err() != nil {
			return c.work.Err()
		}
		return err
	}
	if resp.Code != model.Created {
		return responseError("register", resp)
	}
	loc := resp.LocationPath()
	if len(loc) == 0 {
		return model.Errorf(model.BadGateway, "register: the server gave no location")
	}
	now := e.cfg.Now()
	e.mu.Lock()
	c.locSegs = loc
	c.location = "/" + strings.Join(loc, "/")
	c.sent = a
	c.sentPayload = payload
	c.updatedAt = now
	c.want = 0
	c.state = StateRegistered
	c.lastErr = nil
	c.settled = true
	e.statusChangedLocked()
	location := c.location
	e.mu.Unlock()
	c.touch()
	e.log.Info("registered", "ssid", a.ssid, "server", a.uri, "location", location, "lifetime", a.lifetime)
	c.event(Event{Type: EventRegistered, Location: location})
	return nil
}

// registerGrace is how long a Register in flight when its server
// connection stops may still get its answer.
const registerGrace = 2 * time.Second

// responseError turns a response that is not the one expected into an
// error carrying its code.
func responseError(op string, resp *transport.Message) error {
	msg := op + ": the server answered " + resp.Code.String()
	if t := resp.Code.Text(); t != "" {
		msg += " " + t
	}
	if d := strings.TrimSpace(string(resp.Payload)); d != "" && len(d) < 200 {
		msg += ": " + d
	}
	return &model.Error{Code: resp.Code, Msg: msg}
}

// do sends a request on the engine's endpoint.
func (e *Engine) do(ctx context.Context, peer netip.AddrPort, m *transport.Message) (*transport.Message, error) {
	e.mu.Lock()
	ep := e.ep
	e.mu.Unlock()
	if ep == nil {
		return nil, ErrClosed
	}
	return ep.Do(ctx, peer, m)
}

// maxTransmitWait is MAX_TRANSMIT_WAIT of RFC 7252 section 4.8.2 for the
// endpoint's transmission parameters (93 s by default).
func (e *Engine) maxTransmitWait() time.Duration {
	t := e.cfg.Transport
	ack, factor, n := t.ACKTimeout, t.ACKRandomFactor, t.MaxRetransmit
	if ack <= 0 {
		ack = 2 * time.Second
	}
	if factor < 1 {
		factor = 1.5
	}
	if n <= 0 {
		n = 4
	}
	return time.Duration(float64(ack) * float64(int(1)<<(n+1)-1) * factor)
}

// updateMargin is how long before the lifetime runs out an Update goes:
// a tenth of the lifetime, at least MAX_TRANSMIT_WAIT so that an Update
// that needs every retransmission still arrives in time, at most half of
// the lifetime.
func (e *Engine) updateMargin(lt time.Duration) time.Duration {
	return min(max(lt/10, e.maxTransmitWait()), lt/2)
}

// registered runs while the client is registered: it sends an Update
// before the lifetime runs out and whenever asked to (Core 1.1 section
// 6.2.2), and closes the awake window of queue mode.
func (c *serverConn) registered() regEnd {
	e := c.e
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.mu.Lock()
		a := c.acct
		lt := a.effectiveLifetime()
		if c.sent.lifetime != 0 {
			lt = time.Duration(c.sent.lifetime) * time.Second
		}
		updateAt := c.updatedAt.Add(lt - e.updateMargin(lt))
		next := updateAt
		if a.queue && !c.asleep && c.awakeUntil.Before(next) {
			next = c.awakeUntil
		}
		e.mu.Unlock()
		timer.Reset(max(next.Sub(e.cfg.Now()), 0))
		select {
		case <-c.stop:
			return endStop
		case <-c.kick:
			e.mu.Lock()
			w := c.want
			c.want = 0
			e.mu.Unlock()
			if w&wantDisable != 0 {
				return endDisable
			}
			if w&(wantUpdate|wantObjects|wantParams) != 0 {
				if err := c.update(w); err != nil {
					if c.stopped() {
						return endStop
					}
					return endReregister
				}
			}
		case <-timer.C:
			now := e.cfg.Now()
			if !now.Before(updateAt) {
				if err := c.update(wantUpdate); err != nil {
					if c.stopped() {
						return endStop
					}
					return endReregister
				}
				continue
			}
			c.maybeSleep(now)
		}
	}
}

// update sends an Update (Core 1.1 section 6.2.2; POST /rd/{location})
// with the parameters that changed and, when it changed, the object list.
// An Update asked only because objects may have changed is not sent when
// the list is the same. It fails when the server does not accept it: the
// caller registers again.
func (c *serverConn) update(w uint8) error {
	e := c.e
	e.mu.Lock()
	a, sent, sentPayload, loc := c.acct, c.sent, c.sentPayload, c.locSegs
	e.mu.Unlock()
	m := &transport.Message{Code: transport.POST}
	m.SetPath("/" + strings.Join(loc, "/"))
	changed := w&wantUpdate != 0
	if a.lifetime != sent.lifetime && a.lifetime > 0 {
		m.AddQuery("lt=" + strconv.FormatUint(uint64(a.lifetime), 10))
		changed = true
	}
	if a.binding != sent.binding || a.queue != sent.queue {
		m.AddQuery("b=" + e.bindingParam(&a))
		if a.queue && e.cfg.Version != model.V1_0 {
			m.AddQuery("Q")
		}
		changed = true
	}
	var payload []byte
	if w&(wantObjects|wantUpdate) != 0 {
		payload = e.registrationPayload(c.work)
		if !bytes.Equal(payload, sentPayload) {
			m.SetContentFormat(uint16(codec.LinkFormat))
			m.Payload = payload
			changed = true
		} else {
			payload = sentPayload
		}
	}
	if !changed {
		return nil
	}
	c.touch()
	resp, err := e.do(c.work, a.addr, m)
	if err == nil && resp.Code != model.Changed {
		err = responseError("update", resp)
	}
	if err != nil {
		c.setState(StateRegistering, err)
		c.event(Event{Type: EventRegistrationFailed, Err: err})
		e.log.Warn("update failed; registering again", "ssid", a.ssid, "err", err)
		return err
	}
	e.mu.Lock()
	c.sent = a
	if payload != nil {
		c.sentPayload = payload
	}
	c.updatedAt = e.cfg.Now()
	e.statusChangedLocked()
	e.mu.Unlock()
	c.touch()
	e.log.Debug("updated", "ssid", a.ssid, "server", a.uri)
	c.event(Event{Type: EventUpdated})
	return nil
}

// deregister sends De-register (Core 1.1 section 6.2.3; DELETE
// /rd/{location}), bounded by Config.CloseTimeout.
func (c *serverConn) deregister() {
	e := c.e
	e.mu.Lock()
	a, loc, registered := c.acct, c.locSegs, c.state == StateRegistered
	c.state = StateDeregistered
	c.location, c.locSegs = "", nil
	e.statusChangedLocked()
	e.mu.Unlock()
	e.dropObservations(a.ssid)
	if !registered {
		return
	}
	ctx, cancel := context.WithTimeout(e.ctx, e.cfg.CloseTimeout)
	defer cancel()
	m := &transport.Message{Code: transport.DELETE}
	m.SetPath("/" + strings.Join(loc, "/"))
	resp, err := e.do(ctx, a.addr, m)
	if err == nil && resp.Code != model.Deleted {
		err = responseError("de-register", resp)
	}
	if err != nil {
		e.log.Warn("de-register failed", "ssid", a.ssid, "err", err)
	} else {
		e.log.Info("deregistered", "ssid", a.ssid, "server", a.uri)
	}
	c.event(Event{Type: EventDeregistered, Err: err})
}

// touch records that the client talked with the server: in queue mode it
// is awake for AwakeTime from now (Core 1.1 section 6.5; Transport 1.1
// section 5.1.1).
func (c *serverConn) touch() {
	e := c.e
	e.mu.Lock()
	if !c.acct.queue {
		e.mu.Unlock()
		return
	}
	woke := c.asleep
	c.asleep = false
	c.awakeUntil = e.cfg.Now().Add(e.cfg.AwakeTime)
	if woke {
		e.statusChangedLocked()
		select {
		case c.kick <- struct{}{}: // the loop schedules the next sleep
		default:
		}
	}
	e.mu.Unlock()
	if woke {
		c.event(Event{Type: EventAwake})
	}
}

// maybeSleep closes the awake window if it has passed.
func (c *serverConn) maybeSleep(now time.Time) {
	e := c.e
	e.mu.Lock()
	sleep := c.acct.queue && !c.asleep && !now.Before(c.awakeUntil)
	if sleep {
		c.asleep = true
		e.statusChangedLocked()
	}
	e.mu.Unlock()
	if sleep {
		e.log.Debug("queue mode: sleeping", "ssid", c.account().ssid)
		c.event(Event{Type: EventSleeping})
	}
}
