package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
	"github.com/wasm2m/wasm2m/host/config"
)

// clientFlags are the settings of `wasm2m client`.
type clientFlags struct {
	servers   string
	bootstrap string
	endpoint  string
	devices   int
	lifetime  time.Duration
	version   string
	queue     bool
	interval  time.Duration
	level     string
	extra     []client.Object // the objects of -plugin

	// DTLS credentials for coaps:// servers of -server and -bootstrap.
	pskIdentity, pskKey   string
	cert, key, serverCert string
}

func runClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("client", stderr)
	var f clientFlags
	fs.StringVar(&f.servers, "server", "coap://127.0.0.1:5683", "LwM2M servers to register with, comma-separated (each gets an account: Short Server IDs 101, 102, ...)")
	fs.StringVar(&f.bootstrap, "bootstrap", "", "a bootstrap server URI: the device starts with only this account and gets its servers from it (-server is then ignored)")
	fs.StringVar(&f.endpoint, "endpoint", "wasm2m-dev-1", "endpoint client name (with -devices N > 1, the prefix of NAME-1 ... NAME-N)")
	fs.IntVar(&f.devices, "devices", 1, "devices to run in this process, each with its own socket and endpoint name")
	fs.DurationVar(&f.lifetime, "lifetime", 300*time.Second, "registration lifetime")
	fs.StringVar(&f.version, "lwm2m", "1.1", "LwM2M version the devices speak: 1.0, 1.1 or 1.2")
	fs.BoolVar(&f.queue, "queue", false, "queue mode: the devices sleep between their messages")
	fs.DurationVar(&f.interval, "temperature-interval", 10*time.Second, "how often the simulated temperature sensor (/3303/0/5700) takes a reading")
	fs.StringVar(&f.level, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.pskIdentity, "psk-identity", "", "PSK identity for coaps:// servers (default: the endpoint name)")
	fs.StringVar(&f.pskKey, "psk-key", "", "pre-shared key, in hex, for coaps:// servers")
	fs.StringVar(&f.cert, "cert", "", "PEM file of the device certificate for coaps:// servers (with -key)")
	fs.StringVar(&f.key, "key", "", "PEM file of the device's private key (with -cert)")
	fs.StringVar(&f.serverCert, "server-cert", "", "PEM file of the server certificate the device expects (with -cert)")
	configPath := fs.String("config", "", "a JSON configuration file, of which the client reads the plugins section (see README: \"Plugins\") and the client section (factory-provisioned server accounts, which replace -server and -bootstrap); -plugin adds to its plugins")
	pf := addPluginFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	pf.file = cfg.Plugins
	log, err := newLogger(stderr, f.level)
	if err != nil {
		return err
	}
	ps, err := pf.loadClient(ctx, log)
	if err != nil {
		return err
	}
	defer ps.close()
	if f.extra, err = ps.clientObjects(); err != nil {
		return err
	}
	if err := checkReplaceable(f.extra); err != nil {
		return err
	}
	version, err := model.ParseVersion(f.version)
	if err != nil {
		return fmt.Errorf("%w: -lwm2m: %v", errUsage, err)
	}
	if f.devices < 1 {
		return fmt.Errorf("%w: -devices must be at least 1", errUsage)
	}
	accts, err := clientAccounts(cfg.Client.Accounts, f)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if cfg.Client.Endpoint != "" && !explicit(fs, "endpoint") {
		f.endpoint = cfg.Client.Endpoint
	}

	var devs []*device
	defer func() {
		// Close de-registers every device, in parallel: each waits for
		// its servers' answers.
		var wg sync.WaitGroup
		for _, d := range devs {
			wg.Add(1)
			go func() { defer wg.Done(); d.close() }()
		}
		wg.Wait()
	}()
	for i := range f.devices {
		ep := f.endpoint
		if f.devices > 1 {
			ep = fmt.Sprintf("%s-%d", f.endpoint, i+1)
		}
		d, err := newDevice(ctx, ep, accts, f, version, log, i == 0)
		if err != nil {
			return err
		}
		devs = append(devs, d)
	}
	var uris []string
	for _, a := range accts {
		if a.Bootstrap {
			uris = append(uris, "bootstrap "+a.URI)
		} else {
			uris = append(uris, a.URI)
		}
	}
	target := strings.Join(uris, ", ")
	fmt.Fprintf(stdout, "wasm2m client: %d device(s) (first: %s on udp %s) for %s\n", len(devs), f.endpoint+firstSuffix(f.devices), devs[0].engine.LocalAddr(), target)
	<-ctx.Done()
	log.Info("stopping: de-registering")
	return nil
}

func firstSuffix(n int) string {
	if n > 1 {
		return "-1"
	}
	return ""
}

// device is one simulated device: its engine and the objects that need
// closing.
type device struct {
	engine *client.Engine
	temp   *stdobj.Temperature
	fw     *stdobj.Firmware
	cancel context.CancelFunc
}

// accessControlID is the highest id of the objects a plugin may not
// replace: Security (0), Server (1) and Access Control (2) hold the
// device's accounts and rights, which the client itself manages.
const accessControlID = 2

// pluginOf names the plugin of object o, for messages.
func pluginOf(o client.Object) string {
	if p, ok := o.(interface{ Plugin() string }); ok {
		return "plugin " + p.Plugin()
	}
	return "a plugin"
}

// checkReplaceable refuses a plugin's object that would replace
// Security, Server or Access Control.
func checkReplaceable(extra []client.Object) error {
	for _, o := range extra {
		if id := o.Definition().ID; id <= accessControlID {
			return fmt.Errorf("%s: object %d (%s) is the device's own and cannot be replaced by a plugin", pluginOf(o), id, o.Definition().Name)
		}
	}
	return nil
}

// withPlugins returns the built-in objects with the plugins' objects:
// a plugin's object replaces the built-in one of the same id, in its
// place; the others come after. It returns the built-in objects replaced.
func withPlugins(builtin, extra []client.Object) (objs, replaced []client.Object, by map[uint16]client.Object) {
	by = map[uint16]client.Object{}
	for _, o := range extra {
		by[o.Definition().ID] = o
	}
	used := map[uint16]bool{}
	for _, o := range builtin {
		id := o.Definition().ID
		if x, ok := by[id]; ok && id > accessControlID {
			objs = append(objs, x)
			replaced = append(replaced, o)
			used[id] = true
			continue
		}
		objs = append(objs, o)
	}
	for _, o := range extra {
		// Two plugins' objects of one id stay two: client.New refuses them.
		if id := o.Definition().ID; !used[id] || by[id] != o {
			objs = append(objs, o)
		}
	}
	for id := range by {
		if !used[id] {
			delete(by, id)
		}
	}
	return objs, replaced, by
}

func (d *device) close() {
	d.cancel()
	d.engine.Close()
	d.temp.Close()
	d.fw.Close()
}

// newDevice builds a device with the built-in objects and starts it; with
// logReplaced it first logs the built-in objects that plugins replace.
func newDevice(ctx context.Context, ep string, accts []config.Account, f clientFlags, version model.Version, log *slog.Logger, logReplaced bool) (*device, error) {
	sec, srv, err := deviceAccounts(accts, ep, f)
	if err != nil {
		return nil, err
	}
	battery := int64(100)
	dev := stdobj.NewDevice(stdobj.DeviceConfig{
		Manufacturer: "wasm2m", ModelNumber: "wasm2m client", SerialNumber: ep, FirmwareVersion: Version,
		DeviceType: "simulated device", BatteryLevel: &battery, SupportedBindings: "UQ",
	})
	dev.OnReboot(func(ctx context.Context) error {
		log.Info("reboot requested (simulated: nothing happens)", "endpoint", ep)
		return nil
	})
	dev.OnFactoryReset(func(ctx context.Context) error {
		log.Info("factory reset requested (simulated: nothing happens)", "endpoint", ep)
		return nil
	})
	fw := stdobj.NewFirmware(stdobj.FirmwareConfig{
		Downloader: coapDownload,
		Protocols:  []stdobj.FirmwareProtocol{stdobj.ProtocolCoAP},
		Apply: func(ctx context.Context, image []byte) error {
			log.Info("firmware update applied (simulated)", "endpoint", ep, "bytes", len(image))
			return nil
		},
		MaxSize: 16 << 20,
	})
	temp := stdobj.NewTemperature(stdobj.TemperatureSensor{Value: 20, Units: "Cel"})
	objs := []client.Object{
		stdobj.NewSecurity(sec...),
		stdobj.NewServer(srv...),
		dev,
		stdobj.NewConnectivity(stdobj.ConnectivityConfig{NetworkBearer: 41, AvailableBearers: []int64{41}, SignalStrength: -70, IPAddresses: []string{"127.0.0.1"}}),
		fw,
		stdobj.NewLocation(stdobj.Position{Latitude: 52.52, Longitude: 13.405}),
		temp,
	}
	if len(srv) > 1 {
		objs = append(objs, stdobj.NewAccessControl())
	}
	objs, replaced, by := withPlugins(objs, f.extra)
	if logReplaced {
		// Before the device starts: what it registers with follows.
		for _, r := range replaced {
			log.Info("a plugin's object replaces the built-in one", "object", r.Definition().ID, "name", r.Definition().Name, "plugin", pluginOf(by[r.Definition().ID]))
		}
	}
	e, err := client.New(client.Config{
		Endpoint: ep,
		Objects:  objs,
		Version:  version,
		Logger:   log,
		OnEvent:  func(ev client.Event) { logClientEvent(log, ep, ev) },
	})
	if err != nil {
		temp.Close()
		fw.Close()
		return nil, err
	}
	if err := e.Start(ctx); err != nil {
		e.Close()
		temp.Close()
		fw.Close()
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	start := time.Now()
	if _, gone := by[temp.Definition().ID]; !gone {
		if err := temp.Simulate(sctx, 0, f.interval, func(now time.Time) float64 {
			// A slow swing of 5 degrees around 20, with a period of ten minutes.
			x := now.Sub(start).Seconds() / 600 * 2 * math.Pi
			return math.Round((20+5*math.Sin(x))*100) / 100
		}); err != nil {
			cancel()
			e.Close()
			return nil, err
		}
	}
	return &device{engine: e, temp: temp, fw: fw, cancel: cancel}, nil
}

// logClientEvent logs what the servers ask and what the device answers;
// the engine logs its registrations itself.
func logClientEvent(log *slog.Logger, ep string, ev client.Event) {
	if ev.Type != client.EventRequest {
		return
	}
	attrs := []any{"endpoint", ep, "server", ev.Server, "op", string(ev.Op), "path", ev.Path.String(), "code", ev.Code.String()}
	if ev.Err != nil {
		attrs = append(attrs, "err", ev.Err)
	}
	log.Info("served", attrs...)
}

// coapDownload fetches a firmware package over CoAP (Package URI pull,
// with Block2 for large packages).
func coapDownload(ctx context.Context, uri string) ([]byte, error) {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "coap" {
		return nil, fmt.Errorf("firmware download: %q is not a coap:// URI", uri)
	}
	port := u.Port()
	if port == "" {
		port = "5683"
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", u.Hostname())
	if err != nil || len(ips) == 0 {
		return nil, fmt.Errorf("firmware download: resolve %s: %v", u.Hostname(), err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("firmware download: port %q", port)
	}
	ep, err := transport.Listen(":0", transport.Config{})
	if err != nil {
		return nil, err
	}
	defer ep.Close()
	req := &transport.Message{Code: transport.GET}
	req.SetPath(u.Path)
	resp, err := ep.Do(ctx, netip.AddrPortFrom(ips[0].Unmap(), uint16(p)), req)
	if err != nil {
		return nil, fmt.Errorf("firmware download: %w", err)
	}
	if resp.Code != model.Content {
		return nil, errors.New("firmware download: the server answered " + resp.Code.String())
	}
	return resp.Payload, nil
}
