package adapter

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// LogicConfig configures a Logic.
type LogicConfig struct {
	// Plugin is the plugin's id, for logs.
	Plugin string
	// Logger receives the failed deliveries. Nil: discard.
	Logger *slog.Logger
	// Buffer is how many events wait for the plugin before the server
	// drops further ones (and counts them). Default 1024.
	Buffer int
	// Timeout bounds the delivery of one event, the plugin's requests to
	// devices included. Default 1 min.
	Timeout time.Duration
	// Types limits the events delivered (all when empty).
	Types []server.EventType
}

// Logic delivers a server's events to a logic plugin (abi.MethodEvent), in
// order, one at a time, from a goroutine of its own: the server never waits
// for the plugin (a plugin that falls behind loses events, counted in
// Stats), and the plugin may send requests to devices from its hook, which
// go out through the server while the hook waits. A failing delivery is
// logged and counted, never fatal.
type Logic struct {
	c      Caller
	cfg    LogicConfig
	log    *slog.Logger
	sub    *server.Subscription
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	delivered, failed atomic.Uint64
}

// LogicStats are a Logic's counters.
type LogicStats struct {
	Delivered uint64 // events the plugin took
	Failed    uint64 // events whose call failed
	Dropped   uint64 // events lost because the plugin fell behind
}

// StartLogic subscribes the plugin c to srv's events and starts delivering
// them. Close stops it.
func StartLogic(srv *server.Server, c Caller, cfg LogicConfig) *Logic {
	if cfg.Buffer <= 0 {
		cfg.Buffer = 1024
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Logic{c: c, cfg: cfg, log: log.With("plugin", cfg.Plugin), cancel: cancel}
	l.sub = srv.Subscribe(server.SubscribeOptions{Buffer: cfg.Buffer, Types: cfg.Types})
	l.wg.Add(1)
	go l.run(ctx)
	return l
}

func (l *Logic) run(ctx context.Context) {
	defer l.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-l.sub.C:
			if !ok {
				return
			}
			l.deliver(ctx, e)
		}
	}
}

func (l *Logic) deliver(ctx context.Context, e server.Event) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	err := call(ctx, l.c, abi.MethodEvent, &abi.EventRequest{Event: EventOf(&e)}, nil)
	if err != nil {
		l.failed.Add(1)
		ep := ""
		if e.Registration != nil {
			ep = e.Registration.Endpoint
		}
		l.log.Warn("event hook failed", "event", e.Type.String(), "endpoint", ep, "err", err)
		return
	}
	l.delivered.Add(1)
}

// Stats returns the counters.
func (l *Logic) Stats() LogicStats {
	return LogicStats{Delivered: l.delivered.Load(), Failed: l.failed.Load(), Dropped: l.sub.Dropped()}
}

// Close stops the deliveries: the event in progress, if any, sees its
// context canceled; those still waiting are dropped. It waits for the
// goroutine and is safe to call more than once.
func (l *Logic) Close() {
	l.once.Do(func() {
		l.cancel()
		l.sub.Close()
		l.wg.Wait()
	})
}

// EventOf returns e as the message a logic plugin receives.
func EventOf(e *server.Event) *abi.Event {
	m := &abi.Event{Type: abi.EventType(e.Type)}
	if !e.Time.IsZero() {
		m.TimeUnixNano = e.Time.UnixNano()
	}
	if r := e.Registration; r != nil {
		m.Endpoint = r.Endpoint
		m.RegistrationID = r.ID
		m.Lifetime = r.Lifetime
		m.Binding = r.Binding
		if !r.Version.IsZero() {
			m.LWM2MVersion = r.Version.String()
		}
		m.Queue = r.Queue
		if r.Address.IsValid() {
			m.Address = r.Address.String()
		}
		if len(r.Objects) > 0 {
			m.Objects = make([]abi.RegisteredObject, len(r.Objects))
			for i, o := range r.Objects {
				ro := abi.RegisteredObject{ID: uint32(o.ID)}
				if !o.Version.IsZero() {
					ro.Version = o.Version.String()
				}
				if len(o.Instances) > 0 {
					ro.Instances = make([]uint32, len(o.Instances))
					for j, id := range o.Instances {
						ro.Instances[j] = uint32(id)
					}
				}
				m.Objects[i] = ro
			}
		}
	}
	if e.Token != "" {
		m.Token = []byte(e.Token)
	}
	if len(e.Paths) > 0 {
		m.Paths = abi.PathsOf(e.Paths)
	}
	if len(e.Entries) > 0 {
		m.Entries = abi.EntriesOf(e.Entries)
	}
	if len(e.Records) > 0 {
		m.Records = make([]abi.Record, len(e.Records))
		for i, r := range e.Records {
			m.Records[i] = abi.Record{Path: abi.PathOf(r.Path), Value: abi.ValueOf(r.Value)}
			if !r.Time.IsZero() {
				m.Records[i].TimeUnixNano = r.Time.UnixNano()
			}
		}
	}
	if e.Err != nil {
		m.ErrorCode = uint32(model.CodeOf(e.Err))
		m.Error = e.Err.Error()
	}
	return m
}
