// Command embed-device shows how a product embeds the wasm2m LwM2M client
// engine as a Go library, with one object of its own written in plain Go
// and no plugin host: a valve controller (a private object, id 42769)
// whose position a server can read, observe and set.
//
//	go run ./examples/embed-device -server coap://127.0.0.1:5683
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

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
)

// ValveID is the valve's object id, in the range the OMA registry leaves
// for testing (42769-42800).
const ValveID = 42769

// valveDef is the valve object's definition: what a server learns from
// Discover and what the engine checks writes against.
var valveDef = &model.ObjectDef{
	ID: ValveID, Name: "Valve", Version: model.V1_0, LWM2MVersion: model.V1_1, Multiple: true,
	Resources: []model.ResourceDef{
		{ID: 0, Name: "Open", Operations: model.OpRead | model.OpWrite, Mandatory: true, Type: model.TypeBoolean},
		{ID: 1, Name: "Flow", Operations: model.OpRead, Mandatory: true, Type: model.TypeFloat, Units: "l/min"},
		{ID: 2, Name: "Flush", Operations: model.OpExecute},
	},
}

func main() {
	srv := flag.String("server", "coap://127.0.0.1:5683", "the LwM2M server")
	ep := flag.String("endpoint", "valve-1", "endpoint client name")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *srv, *ep, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "embed-device:", err)
		os.Exit(1)
	}
}

// newValve builds the valve: an in-memory object with a hook that acts on
// writes of Open, one that computes Flow at read time, and one for Flush.
func newValve(out io.Writer) *stdobj.Object {
	valve := stdobj.New(valveDef, model.NewInstance(0,
		model.NewResource(0, model.Bool(false)),
		model.NewResource(1, model.Float(0)),
	))
	valve.OnWrite(0, func(ctx context.Context, inst uint16, v model.Node) error {
		fmt.Fprintf(out, "valve %d: open=%v\n", inst, v.Value.Bool())
		return nil // accept; the object stores it
	})
	valve.OnRead(1, func(ctx context.Context, inst uint16) (model.Value, error) {
		if open, _ := valve.Get(model.ResourcePath(ValveID, inst, 0)); open.Bool() {
			return model.Float(12.5), nil
		}
		return model.Float(0), nil
	})
	valve.OnExecute(2, func(ctx context.Context, inst uint16, args []byte) error {
		fmt.Fprintf(out, "valve %d: flush %s\n", inst, args)
		return nil
	})
	return valve
}

// run registers with the server at serverURI and serves it until ctx ends;
// then it de-registers.
func run(ctx context.Context, serverURI, endpoint string, out io.Writer) error {
	objects := []client.Object{
		stdobj.NewSecurity(stdobj.SecurityAccount{ServerURI: serverURI, Mode: stdobj.SecurityNoSec, SSID: 1}),
		stdobj.NewServer(stdobj.ServerAccount{SSID: 1, Lifetime: 5 * time.Minute}),
		stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "Acme Valves", ModelNumber: "V-100", SerialNumber: endpoint}),
		newValve(out),
	}
	e, err := client.New(client.Config{Endpoint: endpoint, Objects: objects})
	if err != nil {
		return err
	}
	if err := e.Start(ctx); err != nil {
		e.Close()
		return err
	}
	defer e.Close()
	if err := e.WaitRegistered(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s registered with %s\n", endpoint, serverURI)
	<-ctx.Done()
	return nil
}
