package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/wasm2m/wasm2m/core/store"
)

// op is one request to a device: it returns the device's successful
// answer, or an error (see classify).
type op struct {
	name string // operation, for the metrics
	path string // the LwM2M path, for the delayed answer ("" for composite)
	run  func(ctx context.Context) (*jsonResponse, error)
}

// delayedQueue holds the requests waiting for one sleeping device, in
// the order they came; one goroutine runs them one after another.
type delayedQueue struct {
	items   []delayedReq
	running bool
}

type delayedReq struct {
	id string
	ep string
	op op
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // a version 4 UUID, as Leshan's request ids
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// do runs o against the device of reg: at once when it listens, or, for
// a sleeping queue-mode device (or one that has requests waiting, which
// keeps them in order), later, answering now with delayed: true.
func (a *API) do(w http.ResponseWriter, r *http.Request, reg *store.Registration, o op) {
	timeout, err := a.timeout(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_timeout", err.Error())
		return
	}
	if reg.Queue {
		a.mu.Lock()
		q := a.delayed[reg.Endpoint]
		wait := !a.awake[reg.ID] || (q != nil && len(q.items) > 0)
		if wait {
			if q == nil {
				q = &delayedQueue{}
				a.delayed[reg.Endpoint] = q
			}
			if len(q.items) >= a.cfg.MaxDelayed {
				a.mu.Unlock()
				a.m.requests.WithLabelValues(o.name, "QUEUE_FULL").Inc()
				writeError(w, http.StatusServiceUnavailable, "queue_full", "device "+reg.Endpoint+" sleeps and already has the most requests waiting for it")
				return
			}
			if a.closed {
				a.mu.Unlock()
				writeError(w, http.StatusServiceUnavailable, "closing", "the server is shutting down")
				return
			}
			d := delayedReq{id: newRequestID(), ep: reg.Endpoint, op: o}
			q.items = append(q.items, d)
			a.m.delayed.Inc()
			if !q.running {
				q.running = true
				a.wg.Add(1)
				go a.runDelayed(reg.Endpoint, q)
			}
			a.mu.Unlock()
			writeJSON(w, http.StatusOK, jsonDelayed{Endpoint: d.ep, Path: o.path, RequestID: d.id, Delayed: true})
			return
		}
		a.mu.Unlock()
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	resp, jerr := a.run(ctx, o)
	if jerr != nil {
		writeJSON(w, jerr.Status, jerr)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// run runs o and counts it.
func (a *API) run(ctx context.Context, o op) (*jsonResponse, *jsonError) {
	start := time.Now()
	resp, err := o.run(ctx)
	a.m.duration.WithLabelValues(o.name).Observe(time.Since(start).Seconds())
	var jerr *jsonError
	if err != nil {
		resp, jerr = classify(err)
	}
	label := ""
	switch {
	case jerr != nil && jerr.Status == http.StatusGatewayTimeout:
		label = "GATEWAY_TIMEOUT"
	case jerr != nil:
		label = "ERROR"
	default:
		label = resp.Status
	}
	a.m.requests.WithLabelValues(o.name, label).Inc()
	return resp, jerr
}

// runDelayed runs the requests waiting for ep, in order, until none is
// left, and publishes each answer as a REQUEST_RESPONSE event.
func (a *API) runDelayed(ep string, q *delayedQueue) {
	defer a.wg.Done()
	for {
		a.mu.Lock()
		if len(q.items) == 0 {
			q.running = false
			delete(a.delayed, ep)
			a.mu.Unlock()
			return
		}
		d := q.items[0]
		a.mu.Unlock()

		ctx, cancel := context.WithTimeout(a.ctx, a.cfg.DelayedTimeout)
		resp, jerr := a.run(ctx, d.op)
		cancel()

		a.mu.Lock()
		q.items = q.items[1:]
		a.m.delayed.Dec()
		a.mu.Unlock()
		if a.ctx.Err() != nil {
			continue // closing: nobody listens any more
		}
		b, err := marshal(jsonDelayed{Endpoint: ep, Path: d.op.path, RequestID: d.id, Response: resp, Delayed: true, Error: jerr})
		if err != nil {
			a.log.Error("encode a delayed response", "endpoint", ep, "err", err)
			continue
		}
		a.publish(sseEvent{name: evRequestResponse, endpoint: ep, data: bytes.TrimSuffix(b, []byte("\n"))})
	}
}
