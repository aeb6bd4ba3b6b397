package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the API's Prometheus metrics. Every name starts with
// wasm2m_. Rates (notifications per second) are rate() of the counters.
type metrics struct {
	reg *prometheus.Registry

	http          *prometheus.CounterVec   // route, method, status
	requests      *prometheus.CounterVec   // operation, code
	duration      *prometheus.HistogramVec // operation
	events        *prometheus.CounterVec   // type: what the server emitted, as the API saw it
	notifications prometheus.Counter
	dropped       *prometheus.CounterVec // stage
	delayed       prometheus.Gauge
	subscribers   prometheus.Gauge
}

func newMetrics(a *API, reg *prometheus.Registry) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
		if err := reg.Register(collectors.NewGoCollector()); err != nil {
			return nil, err
		}
		if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
			return nil, err
		}
	}
	m := &metrics{
		reg:  reg,
		http: newHTTPCounter(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wasm2m_lwm2m_requests_total",
			Help: "LwM2M requests sent to devices through the API, by operation and result (Leshan's response code names; GATEWAY_TIMEOUT for no answer)."}, []string{"operation", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "wasm2m_lwm2m_request_duration_seconds",
			Help: "Time from the API's request to the device's answer, by operation.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, []string{"operation"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wasm2m_events_total",
			Help: "Server events seen by the API, by type (registered, updated, deregistered, expired, sleeping, awake, notification, send)."}, []string{"type"}),
		notifications: prometheus.NewCounter(prometheus.CounterOpts{Name: "wasm2m_notifications_total",
			Help: "Notifications received from devices; rate() of it is the notification rate."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wasm2m_event_stream_dropped_total",
			Help: "Events an event stream subscriber did not receive because its buffer was full."}, []string{"stage"}),
		delayed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wasm2m_delayed_requests",
			Help: "Requests waiting for a sleeping queue-mode device."}),
		subscribers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "wasm2m_event_stream_subscribers",
			Help: "Open event streams."}),
	}
	st := a.srv.Store()
	cs := []prometheus.Collector{m.http, m.requests, m.duration, m.events, m.notifications, m.dropped, m.delayed, m.subscribers,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wasm2m_registrations", Help: "Devices registered now."}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := st.CountRegistrations(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "wasm2m_server_events_dropped_total",
			Help: "Server events the API lost because it could not keep up (its subscription to the server is bounded)."}, func() float64 {
			return float64(a.events.Dropped())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wasm2m_event_queue_depth",
			Help: "Events waiting: in the API's subscription to the server, and in all event stream subscribers' buffers."}, func() float64 {
			return float64(len(a.events.C) + a.hub.depth())
		}),
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (a *API) metricsHandler(w http.ResponseWriter, r *http.Request, _ params) {
	promhttp.HandlerFor(a.m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}
