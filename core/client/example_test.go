package client_test

import (
	"context"
	"fmt"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/server"
)

// A device with the built-in objects registers with a server on
// loopback; the server reads the manufacturer.
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

	e, err := client.New(client.Config{
		Endpoint: "example-device",
		Objects: []client.Object{
			stdobj.NewSecurity(stdobj.SecurityAccount{ServerURI: "coap://" + srv.Addr().String(), Mode: stdobj.SecurityNoSec, SSID: 1}),
			stdobj.NewServer(stdobj.ServerAccount{SSID: 1, Lifetime: 300 * time.Second}),
			stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "wasm2m"}),
		},
		Addr: "127.0.0.1:0",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close() // de-registers
	if err := e.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	if err := e.WaitRegistered(ctx); err != nil {
		fmt.Println(err)
		return
	}
	n, err := srv.Read(ctx, "example-device", model.MustPath("/3/0/0"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n.Value.Str())
	// Output: wasm2m
}
