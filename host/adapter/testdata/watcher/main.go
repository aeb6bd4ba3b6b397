// Command watcher is a test logic plugin: when a device registers it reads
// the device's manufacturer (/3/0/0) and keeps it in its key-value space
// under manufacturer/<endpoint>; each notification's first value goes to
// last/<endpoint>. It asks for the random capability too, which the tests
// do not grant.
package main

import (
	"context"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/sdk/abi"
	"github.com/wasm2m/wasm2m/sdk/guest"
)

type watcher struct{}

func (watcher) OnEvent(ctx context.Context, e guest.Event) error {
	switch e.Type {
	case guest.EventRegistered:
		n, err := guest.Device{Endpoint: e.Endpoint}.Read(ctx, model.ResourcePath(3, 0, 0))
		if err != nil {
			return err
		}
		return guest.KV.Put(ctx, "manufacturer/"+e.Endpoint, []byte(n.Value.Str()))
	case guest.EventNotification:
		if len(e.Entries) == 0 {
			return nil
		}
		return guest.KV.Put(ctx, "last/"+e.Endpoint, []byte(e.Entries[0].Node.String()))
	}
	return nil
}

func init() {
	guest.Register(guest.Plugin{
		Manifest: guest.Manifest{ID: "logic.watcher", Name: "Watcher", Version: "1.0.0",
			Capabilities: []string{abi.CapKV, abi.CapRequest, abi.CapRandom}},
		Logic: watcher{},
	})
}

func main() {}
