package transport_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// Two endpoints on loopback: a device serving /3/0/0 and observing, a
// server reading it and receiving a notification.
func Example() {
	device, err := transport.Listen("127.0.0.1:0", transport.Config{
		Handler: transport.HandlerFunc(func(_ context.Context, r *transport.Request) *transport.Message {
			if r.Msg.Path() != "/3/0/0" {
				return &transport.Message{Code: model.NotFound}
			}
			resp := &transport.Message{Code: model.Content, Payload: []byte("wasm2m")}
			resp.SetContentFormat(0)
			if v, ok := r.Msg.Observe(); ok && v == 0 {
				resp.SetObserve(1)
			}
			return resp
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer device.Close()

	notified := make(chan string, 1)
	server, err := transport.Listen("127.0.0.1:0", transport.Config{
		Notify: func(_ netip.AddrPort, m *transport.Message) bool {
			notified <- string(m.Payload)
			return true // keep observing; false would answer RST
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := &transport.Message{Code: transport.GET, Token: []byte("obs1")}
	req.SetPath("/3/0/0")
	req.SetObserve(0)
	resp, err := server.Do(ctx, device.LocalAddr(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Code, string(resp.Payload))

	n := &transport.Message{Type: transport.Confirmable, Code: model.Content, Token: []byte("obs1"), Payload: []byte("wasm2m v2")}
	n.SetObserve(2)
	if err := device.Notify(ctx, server.LocalAddr(), n); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("notified:", <-notified)
	// Output:
	// 2.05 wasm2m
	// notified: wasm2m v2
}
