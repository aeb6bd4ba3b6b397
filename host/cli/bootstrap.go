package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/wasm2m/wasm2m/core/bootstrap"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/security"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/core/transport"
	"github.com/wasm2m/wasm2m/host/config"
	"github.com/wasm2m/wasm2m/host/httpapi"
)

// defaultBootstrapSecureAddr is where `wasm2m bootstrap` serves
// bootstrap over DTLS (coaps): beside the plain :5783, as the server's
// :5684 is beside its :5683.
const defaultBootstrapSecureAddr = ":5784"

// defaultBootstrapData is the data folder of `wasm2m bootstrap`: not the
// server's, so that both commands can run side by side on the file store.
const defaultBootstrapData = "wasm2m-bootstrap-data"

// runBootstrap runs the LwM2M bootstrap server (core/bootstrap): the
// configurations of the config file's bootstrap section are put into the
// store (the store section's, as for `wasm2m server`), and each device
// that sends Bootstrap-Request is provisioned from its own.
func runBootstrap(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bootstrap", stderr)
	addr := fs.String("addr", bootstrap.DefaultAddr, "UDP address for LwM2M bootstrap over CoAP; wins over the config file's bootstrap.addr")
	data := fs.String("data", defaultBootstrapData, "folder of the embedded store (created if missing)")
	storeKind := fs.String("store", "file", "where the bootstrap configurations live: file (durable, in -data), memory, redis (settings in the -config file's store section) or plugin; wins over the config file's store.backend")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	configPath := fs.String("config", "", "a JSON configuration file whose bootstrap section lists the configuration of each device (see README: \"Bootstrap\")")
	httpAddr := fs.String("http", "off", "TCP address of the bootstrap HTTP API (/api/bootstrap: the configurations, Leshan's bootstrap JSON), or \"off\"")
	var httpTokens []string
	fs.Func("http-token", "a bearer token the HTTP API accepts, or file:PATH to read it from a file (repeat for several); without any (here or in the config file's http section), a token is generated into DATA/http-token", func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New("empty token")
		}
		httpTokens = append(httpTokens, s)
		return nil
	})
	httpNoAuth := fs.Bool("http-no-auth", false, "serve the HTTP API without authentication (for local use only)")
	sf := addSecurityFlags(fs)
	*sf.addr = defaultBootstrapSecureAddr
	fs.Lookup("secure-addr").DefValue = defaultBootstrapSecureAddr
	fs.Lookup("secure-addr").Usage = "UDP address for LwM2M bootstrap over DTLS (coaps), or \"off\"; devices authenticate with the credentials of the security store (-config's security section, whose addr is wasm2m server's and is not used here)"
	requestTimeout := fs.Duration("request-timeout", 0, "bound on each request to a device (0: the transport's retransmissions decide, about 93 s)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	fileSec := cfg.Security
	fileSec.Addr = "" // the server's DTLS address: -secure-addr says the bootstrap server's
	secCfg, err := sf.merge(fileSec)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	hc := cfg.HTTP
	if len(httpTokens) > 0 {
		hc.Tokens = httpTokens
	}
	if explicit(fs, "http-no-auth") {
		hc.AuthDisabled = *httpNoAuth
	}
	if hc.AuthDisabled && len(hc.Tokens) > 0 {
		return fmt.Errorf("%w: -http-no-auth with tokens: choose one", errUsage)
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	sc := cfg.Store
	if explicit(fs, "store") || sc.Backend == "" {
		sc.Backend = *storeKind
	}
	st, storeInfo, err := storeSetup{cfg: sc, data: *data, log: log}.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	kv, ok := st.(store.KV)
	if !ok {
		return fmt.Errorf("store %s keeps no key-value space for bootstrap configurations", sc.Backend)
	}
	sec, err := openSecurity(ctx, secCfg, st)
	if err != nil {
		return err
	}
	configs := store.NewBootstraps(kv)
	for _, e := range cfg.Bootstrap.Configs {
		c, err := bootstrapConfig(e)
		if err != nil {
			return fmt.Errorf("bootstrap configuration of %q: %w", e.Endpoint, err)
		}
		if err := configs.PutBootstrapConfig(ctx, c); err != nil {
			return fmt.Errorf("bootstrap configuration of %q: %w", e.Endpoint, err)
		}
	}
	n := 0
	if err := configs.BootstrapConfigs(ctx, func(*store.BootstrapConfig) bool { n++; return true }); err != nil {
		return err
	}
	listen := *addr
	if !explicit(fs, "addr") && cfg.Bootstrap.Addr != "" {
		listen = cfg.Bootstrap.Addr
	}
	if secCfg.NoSecOff {
		listen = "off"
	}
	bc := bootstrap.Config{Addr: listen, Configs: configs, Logger: log, RequestTimeout: *requestTimeout}
	if sec.addr != "" {
		dc := sec.dtls
		dc.PSK = security.PSK(sec.store)
		bc.SecureAddr = sec.addr
		bc.ListenSecure = func(addr string, tc transport.Config) (*transport.Endpoint, error) {
			return transport.ListenDTLS(addr, tc, dc)
		}
	}
	if sec.store != nil {
		bc.Authorize = func(ctx context.Context, req *transport.Request, ep string) error {
			id := security.Of(req.Identity)
			err := security.Authorize(ctx, sec.store, id, ep)
			if err != nil && errors.Is(err, model.ErrForbidden) {
				log.Warn("device refused", "endpoint", ep, "addr", req.Peer.String(), "identity", id.String(), "err", err)
			}
			return err
		}
	}
	bs, err := bootstrap.New(bc)
	if err != nil {
		return err
	}
	defer bs.Close()
	if err := bs.Start(ctx); err != nil {
		return err
	}
	httpInfo := "HTTP API off"
	if *httpAddr != "off" {
		h, err := newBootstrapHTTP(bs, configs, hc, *data, log)
		if err != nil {
			return err
		}
		stopHTTP, bound, err := serveHTTP(*httpAddr, h, log)
		if err != nil {
			return err
		}
		defer stopHTTP()
		httpInfo = "HTTP API on http://" + bound
	}
	lwm2mInfo := "udp " + bs.Addr().String()
	switch {
	case secCfg.NoSecOff:
		lwm2mInfo = "dtls " + bs.SecureAddr().String()
	case bs.SecureAddr().IsValid():
		lwm2mInfo += " and dtls " + bs.SecureAddr().String()
	}
	fmt.Fprintf(stdout, "wasm2m bootstrap: LwM2M bootstrap on %s, %d configurations, %s, %s\n", lwm2mInfo, n, storeInfo, httpInfo)
	<-ctx.Done()
	log.Info("stopping")
	if err := bs.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// newBootstrapHTTP builds the HTTP API of `wasm2m bootstrap`:
// host/httpapi's BootstrapAPI over configs (/api/bootstrap), ready while
// bs listens, with the tokens httpTokens gives.
func newBootstrapHTTP(bs *bootstrap.Server, configs store.Bootstraps, hc config.HTTP, data string, log *slog.Logger) (http.Handler, error) {
	tokens, err := httpTokens(hc, data, "the bootstrap configurations", log)
	if err != nil {
		return nil, err
	}
	return httpapi.NewBootstrap(httpapi.BootstrapConfig{
		Store:        configs,
		Tokens:       tokens,
		AuthDisabled: hc.AuthDisabled,
		Ready: func() error {
			if !bs.Addr().IsValid() && !bs.SecureAddr().IsValid() {
				return errors.New("the bootstrap server is not listening")
			}
			return nil
		},
		Logger: log.With("component", "httpapi"),
	})
}

// bootstrapConfig turns an entry of the config file's bootstrap section
// into the configuration the store keeps, reading its key files.
func bootstrapConfig(e config.BootstrapEndpoint) (*store.BootstrapConfig, error) {
	c := &store.BootstrapConfig{Endpoint: e.Endpoint, Delete: e.Delete}
	for _, a := range e.Servers {
		s := store.ServerAccount{
			ShortID:             a.ShortServerID,
			URI:                 a.URI,
			Mode:                store.ModeNoSec,
			Lifetime:            uint32(time.Duration(a.Lifetime) / time.Second),
			DefaultPmin:         uint32(time.Duration(a.DefaultPmin) / time.Second),
			DefaultPmax:         uint32(time.Duration(a.DefaultPmax) / time.Second),
			NotificationStoring: a.NotificationStoring,
			Binding:             a.Binding,
		}
		id, secret, serverCert, err := accountKeys(a)
		if err != nil {
			return nil, err
		}
		switch a.Mode {
		case config.ModePSK:
			s.Mode, s.PSKIdentity, s.PSK = store.ModePSK, string(id), secret
		case config.ModeCertificate:
			s.Mode, s.Certificate, s.PrivateKey, s.ServerCertificate = store.ModeCertificate, id, secret, serverCert
		}
		c.Servers = append(c.Servers, s)
	}
	for _, a := range e.ACLs {
		rights, err := a.RightsBySSID()
		if err != nil {
			return nil, err
		}
		c.ACLs = append(c.ACLs, store.ACL{ObjectID: a.ObjectID, ObjectInstance: a.ObjectInstance, Rights: rights, Owner: a.Owner})
	}
	return c, nil
}
