// Command embed-server shows how a product embeds the wasm2m LwM2M server
// as a Go library, with its own event handling and no plugin host: it
// listens for devices, reads each device's manufacturer when it
// registers, observes its temperature sensors, and prints what happens.
//
//	go run ./examples/embed-server -addr :5683
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
)

func main() {
	addr := flag.String("addr", ":5683", "UDP address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "embed-server:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. ready, if not nil, receives the address the
// server listens on.
func run(ctx context.Context, addr string, out io.Writer, ready chan<- string) error {
	// The zero Config is a working server: in-memory store, built-in
	// object definitions. A product would pass store.OpenFile here.
	srv, err := server.New(server.Config{Addr: addr})
	if err != nil {
		return err
	}
	defer srv.Close()
	events := srv.Subscribe(server.SubscribeOptions{Buffer: 256})
	if err := srv.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "listening on %s\n", srv.Addr())
	if ready != nil {
		ready <- srv.Addr().String()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-events.C:
			handle(ctx, srv, e, out)
		}
	}
}

// handle is the product's own logic, run for every event. Requests to
// devices go in their own goroutines: the event loop must keep up.
func handle(ctx context.Context, srv *server.Server, e server.Event, out io.Writer) {
	ep := e.Registration.Endpoint
	switch e.Type {
	case server.EventRegistered:
		fmt.Fprintf(out, "%s registered from %s (LwM2M %s)\n", ep, e.Registration.Address, e.Registration.Version)
		go func() {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			n, err := srv.Read(rctx, ep, model.MustPath("/3/0/0"))
			if err != nil {
				fmt.Fprintf(out, "%s: read manufacturer: %v\n", ep, err)
				return
			}
			fmt.Fprintf(out, "%s manufacturer: %s\n", ep, n.Value.Str())
			for _, o := range e.Registration.Objects {
				if o.ID != 3303 {
					continue
				}
				for _, i := range o.Instances {
					p := model.ResourcePath(3303, i, 5700)
					if _, err := srv.Observe(rctx, ep, p); err != nil {
						fmt.Fprintf(out, "%s: observe %s: %v\n", ep, p, err)
					}
				}
			}
		}()
	case server.EventNotification:
		for _, en := range e.Entries {
			fmt.Fprintf(out, "%s %s = %v\n", ep, en.Path, en.Node.Value.Float())
		}
	case server.EventDeregistered, server.EventExpired:
		fmt.Fprintf(out, "%s %s\n", ep, e.Type)
	}
}
