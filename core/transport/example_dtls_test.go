package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/core/transport"
)

// A server on coaps:// with pre-shared keys, and a device that talks DTLS
// to it through ListenSecure; the server's handler sees who the device
// proved to be.
func ExampleListenDTLS() {
	keys := map[string][]byte{"urn:dev:1": []byte("secret")}
	server, err := transport.ListenDTLS("127.0.0.1:0", transport.Config{
		Handler: transport.HandlerFunc(func(_ context.Context, r *transport.Request) *transport.Message {
			return &transport.Message{Code: model.Content, Payload: []byte("hello " + r.Identity.PSKIdentity)}
		}),
	}, transport.DTLSConfig{
		PSK: func(identity string) ([]byte, error) {
			if k, ok := keys[identity]; ok {
				return k, nil
			}
			return nil, errors.New("unknown identity") // refuses the handshake
		},
		ConnectionID: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.Close()

	device, err := transport.ListenSecure("127.0.0.1:0", transport.Config{}, func(peer netip.AddrPort) *transport.DTLSClientConfig {
		if peer != server.LocalAddr() {
			return nil // plain CoAP to anyone else
		}
		return &transport.DTLSClientConfig{PSKIdentity: "urn:dev:1", PSK: []byte("secret"), ConnectionID: true}
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer device.Close()

	req := &transport.Message{Code: transport.GET}
	req.SetPath("/hello")
	resp, err := device.Do(context.Background(), server.LocalAddr(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Code, string(resp.Payload))
	// Output: 2.05 hello urn:dev:1
}
