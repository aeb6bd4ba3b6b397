package client_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wasm2m/wasm2m/core/client"
	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// A client stopped while its Register is on its way (Close here; a
// bootstrap a server triggers through /1/x/9 stops it the same way) still
// takes the Register's answer, and so de-registers the registration the
// server made rather than leave it behind until its lifetime runs out.
func TestStopDuringRegisterDeregisters(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	got := make(chan struct{}, 1)
	srv, err := transport.Listen("127.0.0.1:0", transport.Config{PeerRate: -1, Handler: transport.HandlerFunc(func(ctx context.Context, req *transport.Request) *transport.Message {
		mu.Lock()
		method := map[model.Code]string{transport.POST: "POST", transport.DELETE: "DELETE"}[req.Msg.Code]
		seen = append(seen, method+" "+req.Msg.Path())
		mu.Unlock()
		switch {
		case req.Msg.Code == transport.POST && req.Msg.Path() == "/rd":
			got <- struct{}{}
			time.Sleep(300 * time.Millisecond) // the answer is late
			m := &transport.Message{Code: model.Created}
			m.SetLocationPath("rd", "late-1")
			return m
		case req.Msg.Code == transport.DELETE:
			return &transport.Message{Code: model.Deleted}
		}
		return &transport.Message{Code: model.NotFound}
	})})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	e, err := client.New(client.Config{
		Endpoint: "late-dev",
		Addr:     "127.0.0.1:0",
		Objects: []client.Object{
			stdobj.NewSecurity(stdobj.SecurityAccount{SSID: 1, ServerURI: "coap://" + srv.LocalAddr().String(), Mode: stdobj.SecurityNoSec}),
			stdobj.NewServer(stdobj.ServerAccount{SSID: 1, Lifetime: 300 * time.Second, Binding: "U"}),
			stdobj.NewDevice(stdobj.DeviceConfig{Manufacturer: "wasm2m test"}),
		},
		Transport: transport.Config{ACKTimeout: 2 * time.Second, PeerRate: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no Register")
	}
	e.Close() // while the server sits on the Register
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[1] != "DELETE /rd/late-1" {
		t.Fatalf("the server saw %q, want a Register then DELETE /rd/late-1", seen)
	}
}
