package plugintest

import (
	"context"
	"testing"

	"github.com/wasm2m/wasm2m/sdk/guest"
)

// Plugin is a plugin under test: a Client whose calls go through a
// guest.Dispatcher, exactly as the plugin's Wasm exports would run them,
// with Host as its host.
type Plugin struct {
	*Client
	Host       *Host
	Dispatcher *guest.Dispatcher
}

// Option changes what New does.
type Option func(*options)

type options struct {
	config  []byte
	host    *Host
	noStart bool
}

// Config gives the plugin config (JSON) at Start.
func Config(json string) Option { return func(o *options) { o.config = []byte(json) } }

// WithHost makes the plugin use h instead of a new Host; New still grants
// h the manifest's capabilities.
func WithHost(h *Host) Option { return func(o *options) { o.host = h } }

// NoStart leaves the plugin unstarted, for a test of Start itself.
func NoStart() Option { return func(o *options) { o.noStart = true } }

// New returns p under test (the plugin given to guest.Register when p is
// nil): it reads the manifest, grants the Host the capabilities the
// manifest asks for and nothing else, and starts the plugin (unless
// NoStart). The test fails at once if the plugin cannot serve, its
// manifest is invalid or Start fails; cleanup stops it.
//
// Host functions called with the context of a call (or one derived from
// it) reach the plugin's Host; guest.Now shows the Host's clock.
func New(t testing.TB, p *guest.Plugin, opts ...Option) *Plugin {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	h := o.host
	if h == nil {
		h = NewHost()
	}
	d := guest.NewDispatcher(p, h)
	if err := d.Err(); err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	pt := &Plugin{Client: NewClient(d), Host: h, Dispatcher: d}
	ctx := context.Background()
	m, _, err := pt.Manifest(ctx)
	if err != nil {
		t.Fatalf("plugintest: manifest: %v", err)
	}
	if err := checkManifest(&m); err != nil {
		t.Fatalf("plugintest: %v", err)
	}
	h.Grant(m.Capabilities...)
	if o.noStart {
		return pt
	}
	if err := pt.Start(ctx, o.config); err != nil {
		t.Fatalf("plugintest: start %s: %v", m.ID, err)
	}
	t.Cleanup(func() {
		if err := pt.Stop(context.Background()); err != nil {
			t.Errorf("plugintest: stop %s: %v", m.ID, err)
		}
	})
	return pt
}
