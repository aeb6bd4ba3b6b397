package cplugin

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
	"github.com/wasm2m/wasm2m/host/adapter"
	"github.com/wasm2m/wasm2m/host/wasm"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// TestThroughEngine serves the C plugin from a core/client engine, as
// `wasm2m client -plugin` does (host/adapter: the key-value space of a
// store, Changed routed to the engine), and reaches it from a core/server
// over UDP on 127.0.0.1: the server learns the object from the plugin,
// reads the valve, observes its flow rate, writes Open, and gets the
// notification the plugin's Changed fired.
func TestThroughEngine(t *testing.T) {
	bin := valveModule(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "valve.wasm")
	if err := os.WriteFile(path, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	h := adapter.NewHost(adapter.HostConfig{KV: store.NewMemory(), Logger: log, RequestTimeout: 10 * time.Second})
	rt, err := wasm.NewRuntime(wasm.Config{Host: h, Logger: log, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	p, err := adapter.Load(ctx, rt, adapter.PluginConfig{Path: path, Grant: []string{abi.CapChanged, abi.CapKV}}, log)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := adapter.NewObjects(ctx, p.ID(), p)
	if err != nil {
		t.Fatal(err)
	}
	h.RouteChanged(p.ID(), objs)

	srv, err := server.New(server.Config{Addr: "127.0.0.1:0", Store: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	defs, err := adapter.Definitions(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Definitions().Add(defs...); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	cobjs := []client.Object{
		stdobj.NewSecurity(stdobj.SecurityAccount{ServerURI: "coap://" + srv.Addr().String(), Mode: stdobj.SecurityNoSec, SSID: 1}),
		stdobj.NewServer(stdobj.ServerAccount{SSID: 1, Lifetime: 5 * time.Minute}),
		stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "Acme", ModelNumber: "V-1", SerialNumber: "c-valve"}),
	}
	for _, o := range objs {
		cobjs = append(cobjs, o)
	}
	dev, err := client.New(client.Config{Endpoint: "c-valve", Objects: cobjs, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := dev.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if err := dev.WaitRegistered(ctx); err != nil {
		t.Fatal(err)
	}

	n, err := srv.Read(ctx, "c-valve", model.MustPath("/26241/0"))
	if err != nil {
		t.Fatal(err)
	}
	if name := n.Child(5); name == nil || name.Value.Str() != "valve 0" {
		t.Fatalf("read /26241/0: %v", n)
	}
	obs, err := srv.Observe(ctx, "c-valve", model.MustPath("/26241/0/2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Write(ctx, "c-valve", model.MustPath("/26241/0/0"), model.NewResource(0, model.Bool(true)), true); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case nt, ok := <-obs.C:
			if !ok {
				t.Fatal("observation ended")
			}
			if len(nt.Entries) == 1 && nt.Entries[0].Node.Value.Float() == 12 {
				return
			}
		case <-ctx.Done():
			t.Fatal("no notification of the flow rate after opening the valve")
		}
	}
}
