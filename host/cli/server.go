package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/objects"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
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
	storeKind := fs.String("store", "file", "where registrations live: file (durable, in -data) or memory")
	ddf := fs.String("ddf", "", "a folder of OMA DDF XML object definitions (or one file) to load beside the built-in ones")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	gcPercent := fs.Int("gc-percent", defaultGCPercent, "the garbage collector's heap growth between collections, in percent of the live heap (as GOGC; negative turns the collector off); the GOGC environment variable wins over the default")
	cpuprofile := fs.String("cpuprofile", "", "") // hidden: for benchmarks (BENCHMARKS.md)
	hideFlags(fs, "cpuprofile")
	if err := parse(fs, args); err != nil {
		return err
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
	var st store.Store
	switch *storeKind {
	case "memory":
		st = store.NewMemory()
	case "file":
		if err := os.MkdirAll(*data, 0o750); err != nil {
			return err
		}
		path := filepath.Join(*data, "registrations.log")
		f, err := store.OpenFile(path, store.FileOptions{Logger: log})
		if err != nil {
			return fmt.Errorf("open the store: %w", err)
		}
		st = f
		log.Info("store opened", "path", path)
	default:
		return fmt.Errorf("%w: -store %q: want file or memory", errUsage, *storeKind)
	}
	srv, err := server.New(server.Config{Addr: *addr, Store: st, Definitions: defs, Logger: log})
	if err != nil {
		st.Close()
		return err
	}
	defer srv.Close()
	sub := srv.Subscribe(server.SubscribeOptions{Buffer: 1024, Types: []server.EventType{server.EventNotification, server.EventSend, server.EventExpired, server.EventSleeping, server.EventAwake}})
	if err := srv.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wasm2m server: LwM2M on udp %s, %d object definitions, %s store\n", srv.Addr(), defs.Len(), *storeKind)
	for {
		select {
		case <-ctx.Done():
			log.Info("stopping")
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
