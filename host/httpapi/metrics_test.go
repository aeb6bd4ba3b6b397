package httpapi

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetricsRegisterer: what another part of the host registers (the
// plugin host's call latency, later) appears on /metrics.
func TestMetricsRegisterer(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wasm2m_plugin_calls_total", Help: "test"}, []string{"plugin"})
	if err := e.api.MetricsRegisterer().Register(c); err != nil {
		t.Fatal(err)
	}
	c.WithLabelValues("objects.test").Add(3)
	if m := metricsText(t, e); !strings.Contains(m, `wasm2m_plugin_calls_total{plugin="objects.test"} 3`) {
		t.Errorf("the registered collector is not served:\n%s", m)
	}
	// A registry of the caller's own is the one served.
	reg := prometheus.NewRegistry()
	e2 := newEnv(t, envOptions{api: func(c *Config) { c.Registry = reg }})
	if e2.api.MetricsRegisterer() != reg {
		t.Error("Config.Registry is not used")
	}
	if m := metricsText(t, e2); strings.Contains(m, "go_goroutines") || !strings.Contains(m, "wasm2m_registrations 0") {
		t.Errorf("with the caller's registry:\n%s", m)
	}
}
