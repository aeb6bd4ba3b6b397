package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/host/config"
	"github.com/wasm2m/wasm2m/host/httpapi"
)

// newLogger returns a text logger on w at the named level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%w: log level %q: want debug, info, warn or error", errUsage, level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// loadDefinitions returns the built-in definitions plus those of a DDF
// folder or file, and how many it loaded.
func loadDefinitions(ddf string) (*model.Registry, int, error) {
	var extra []*model.ObjectDef
	if ddf != "" {
		st, err := os.Stat(ddf)
		if err != nil {
			return nil, 0, err
		}
		if st.IsDir() {
			extra, err = objects.LoadDir(os.DirFS(ddf), ".")
		} else {
			extra, err = objects.LoadFile(ddf)
		}
		if err != nil {
			return nil, 0, err
		}
	}
	reg, err := objects.NewRegistry(extra...)
	return reg, len(extra), err
}

// defaultGCPercent is the server's GOGC: the live heap of a server is its
// fleet, and every collection marks all of it, so collecting at 200%
// rather than Go's 100% costs at most 3 times the live heap between
// collections instead of 2, for about 40% less collector CPU
// (BENCHMARKS.md, "Garbage collection").
const defaultGCPercent = 200

// explicit reports whether the flag name was given on the command line.
func explicit(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("server", stderr)
	addr := fs.String("addr", ":5683", "UDP address for LwM2M over CoAP")
	data := fs.String("data", "wasm2m-data", "folder of the embedded store (created if missing)")
	storeKind := fs.String("store", "file", "where registrations live: file (durable, in -data), memory, redis (settings in the -config file's store section) or plugin; wins over the config file's store.backend")
	ddf := fs.String("ddf", "", "a folder of OMA DDF XML object definitions (or one file) to load beside the built-in ones")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	gcPercent := fs.Int("gc-percent", defaultGCPercent, "the garbage collector's heap growth between collections, in percent of the live heap (as GOGC; negative turns the collector off); the GOGC environment variable wins over the default")
	configPath := fs.String("config", "", "a JSON configuration file (see README: \"The HTTP API\" and \"Plugins\"); flags win over it, and -plugin adds to its plugins")
	httpAddr := fs.String("http", defaultHTTPAddr, "TCP address of the HTTP API (Leshan-compatible, /api/...), or \"off\"")
	var httpTokens []string
	fs.Func("http-token", "a bearer token the HTTP API accepts, or file:PATH to read it from a file (repeat for several); without any, a token is generated into DATA/http-token", func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New("empty token")
		}
		httpTokens = append(httpTokens, s)
		return nil
	})
	httpNoAuth := fs.Bool("http-no-auth", false, "serve the HTTP API without authentication (for local use only)")
	cpuprofile := fs.String("cpuprofile", "", "") // hidden: for benchmarks (BENCHMARKS.md)
	hideFlags(fs, "cpuprofile")
	pf := addPluginFlags(fs)
	sf := addSecurityFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	secCfg, err := sf.merge(cfg.Security)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	pf.file = cfg.Plugins
	hc := cfg.HTTP
	if explicit(fs, "http") || hc.Addr == "" {
		hc.Addr = *httpAddr
	}
	if len(httpTokens) > 0 {
		hc.Tokens = httpTokens
	}
	if explicit(fs, "http-no-auth") {
		hc.AuthDisabled = *httpNoAuth
	}
	if hc.AuthDisabled && len(hc.Tokens) > 0 {
		return fmt.Errorf("%w: -http-no-auth with tokens: choose one", errUsage)
	}
	if explicit(fs, "gc-percent") || os.Getenv("GOGC") == "" {
		debug.SetGCPercent(*gcPercent)
	}
	if *cpuprofile != "" {
		stop, err := startCPUProfile(*cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	defs, _, err := loadDefinitions(*ddf)
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
	sec, err := openSecurity(ctx, secCfg, st)
	if err != nil {
		st.Close()
		return err
	}
	ps, err := pf.loadServer(ctx, st, defs, log)
	if err != nil {
		st.Close()
		return err
	}
	srv, err := server.New(server.Config{Addr: *addr, Store: st, Definitions: defs, Logger: log,
		Security: sec.store, SecureAddr: sec.addr, DTLS: sec.dtls, NoSecOff: secCfg.NoSecOff})
	if err != nil {
		ps.close()
		st.Close()
		return err
	}
	defer srv.Close()
	defer ps.close()
	ps.startLogic(srv)
	var api *httpapi.API
	if hc.Addr != "off" {
		if api, err = newHTTPAPI(srv, hc, *data, log); err != nil {
			return err
		}
		defer api.Close()
	}
	sub := srv.Subscribe(server.SubscribeOptions{Buffer: 1024, Types: []server.EventType{server.EventNotification, server.EventSend, server.EventExpired, server.EventSleeping, server.EventAwake}})
	if err := srv.Start(ctx); err != nil {
		return err
	}
	httpInfo := "HTTP API off"
	if api != nil {
		stopHTTP, addr, err := serveHTTP(hc.Addr, api, log)
		if err != nil {
			return err
		}
		defer stopHTTP()
		httpInfo = "HTTP API on http://" + addr
	}
	lwm2mInfo := "udp " + srv.Addr().String()
	switch {
	case secCfg.NoSecOff:
		lwm2mInfo = "dtls " + srv.SecureAddr().String()
	case srv.SecureAddr().IsValid():
		lwm2mInfo += " and dtls " + srv.SecureAddr().String()
	}
	fmt.Fprintf(stdout, "wasm2m server: LwM2M on %s, %d object definitions, %s, %s\n", lwm2mInfo, defs.Len(), storeInfo, httpInfo)
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping")
			if api != nil {
				api.Close()
			}
			if err := srv.Close(); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			if d := sub.Dropped(); d > 0 {
				log.Warn("events not logged: the log could not keep up", "dropped", d)
			}
			return nil
		case e, ok := <-sub.C:
			if !ok {
				return nil
			}
			logEvent(log, e)
		}
	}
}

// logEvent logs what the server does not log itself: notifications and
// data sent by devices.
func logEvent(log *slog.Logger, e server.Event) {
	ep := ""
	if e.Registration != nil {
		ep = e.Registration.Endpoint
	}
	switch e.Type {
	case server.EventNotification, server.EventSend:
		var vals []string
		for _, en := range e.Entries {
			vals = append(vals, en.Path.String()+"="+en.Node.String())
		}
		attrs := []any{"endpoint", ep, "values", strings.Join(vals, " ")}
		if e.Err != nil {
			attrs = append(attrs, "err", e.Err)
		}
		log.Info(e.Type.String(), attrs...)
	default:
		log.Info(e.Type.String(), "endpoint", ep)
	}
}

// defaultHTTPAddr is where `wasm2m server` serves its HTTP API.
const defaultHTTPAddr = ":8080"

// tokenFile is the name, in the data folder, of the token generated when
// none is configured.
const tokenFile = "http-token"

// newHTTPAPI builds the HTTP API of srv: its tokens from hc, or the one
// kept in the data folder (generated the first time), unless
// authentication is explicitly disabled.
func newHTTPAPI(srv *server.Server, hc config.HTTP, data string, log *slog.Logger) (*httpapi.API, error) {
	tokens, err := httpTokens(hc, data, "the fleet", log)
	if err != nil {
		return nil, err
	}
	return httpapi.New(httpapi.Config{
		Server:         srv,
		Security:       srv.Security(),
		Tokens:         tokens,
		AuthDisabled:   hc.AuthDisabled,
		RequestTimeout: time.Duration(hc.RequestTimeout),
		EventBuffer:    hc.EventBuffer,
		MaxDelayed:     hc.MaxDelayed,
		Logger:         log.With("component", "httpapi"),
	})
}

// httpTokens returns the bearer tokens of an HTTP API: hc's, or, when it
// has none and authentication is not disabled, the one kept in the data
// folder (generated the first time). With authentication disabled it
// warns that anyone who reaches the port manages what.
func httpTokens(hc config.HTTP, data, what string, log *slog.Logger) ([]string, error) {
	tokens, err := hc.ResolveTokens()
	if err != nil {
		return nil, err
	}
	if hc.AuthDisabled {
		log.Warn("HTTP API authentication is disabled: anyone who reaches the port manages " + what)
	} else if len(tokens) == 0 {
		tok, path, err := generatedToken(data)
		if err != nil {
			return nil, fmt.Errorf("HTTP API token: %w (give one with -http-token, or -http-no-auth)", err)
		}
		log.Info("HTTP API token (no token configured)", "path", path)
		tokens = []string{tok}
	}
	return tokens, nil
}

// generatedToken returns the token kept in data/http-token, creating the
// file with a random token (readable by its owner only) the first time.
func generatedToken(data string) (string, string, error) {
	path := filepath.Join(data, tokenFile)
	if b, err := os.ReadFile(path); err == nil {
		if tok := strings.TrimSpace(string(b)); tok != "" {
			return tok, path, nil
		}
	}
	if err := os.MkdirAll(data, 0o750); err != nil {
		return "", "", err
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	tok := hex.EncodeToString(b[:])
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", "", err
	}
	return tok, path, nil
}

// serveHTTP serves h on addr until the returned function is called; it
// returns the address it listens on.
func serveHTTP(addr string, h http.Handler, log *slog.Logger) (stop func(), bound string, err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("HTTP API: listen on %s: %w", addr, err)
	}
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No WriteTimeout: the event stream is long-lived; it sets its
		// own write deadlines.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP API stopped", "err", err)
		}
	}()
	log.Info("HTTP API listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(ctx); err != nil {
			hs.Close()
		}
		<-done
	}, ln.Addr().String(), nil
}
