package bootstrap_test

import (
	"context"
	"fmt"
	"time"

	"github.com/wasm2m/wasm2m/core/bootstrap"
	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/server"
	"github.com/wasm2m/wasm2m/core/store"
)

// A bootstrap server on loopback gives a device, which knows only the
// bootstrap server, an account on an LwM2M server, and the device
// registers there.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := server.New(server.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	configs := store.NewBootstraps(store.NewMemory())
	err = configs.PutBootstrapConfig(ctx, &store.BootstrapConfig{
		Endpoint: "example-device",
		Servers:  []store.ServerAccount{{ShortID: 1, URI: "coap://" + srv.Addr().String(), Mode: store.ModeNoSec, Lifetime: 300}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	bs, err := bootstrap.New(bootstrap.Config{Addr: "127.0.0.1:0", Configs: configs})
	if err != nil {
		fmt.Println(err)
		return
	}
	sub := bs.Subscribe(8)
	if err := bs.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer bs.Close()

	sec := stdobj.NewSecurity(stdobj.SecurityAccount{ServerURI: "coap://" + bs.Addr().String(), Mode: stdobj.SecurityNoSec, Bootstrap: true})
	e, err := client.New(client.Config{
		Endpoint: "example-device",
		Objects:  []client.Object{sec, stdobj.NewServer(), stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "wasm2m"})},
		Addr:     "127.0.0.1:0",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	if err := e.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	for ev := range sub.C {
		if ev.Type == bootstrap.EventSucceeded || ev.Type == bootstrap.EventFailed {
			fmt.Println(ev.Result.Endpoint, ev.Result.State)
			break
		}
	}
	if err := e.WaitRegistered(ctx); err != nil {
		fmt.Println(err)
		return
	}
	r, err := srv.Registration(ctx, "example-device")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("registered, lifetime", r.Lifetime)
	// Output:
	// example-device succeeded
	// registered, lifetime 300
}
