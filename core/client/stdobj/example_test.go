package stdobj_test

import (
	"context"
	"fmt"

	"github.com/wasm2m/wasm2m/core/client/stdobj"
	"github.com/wasm2m/wasm2m/core/model"
)

// A product's own object: a light (IPSO Light Control, 3311) whose On/Off
// resource switches a lamp, and whose power reading is computed when a
// server reads it.
func ExampleNew() {
	lamp := false
	light := stdobj.New(stdobj.Definition(3311, model.V1_0),
		model.NewInstance(0,
			model.NewResource(5850, model.Bool(false)), // On/Off
			model.NewResource(5851, model.Int(100)),    // Dimmer
		)).
		OnWrite(5850, func(ctx context.Context, inst uint16, v model.Node) error {
			lamp = v.Value.Bool() // switch the hardware here
			return nil
		}).
		OnRead(5805, func(ctx context.Context, inst uint16) (model.Value, error) {
			if lamp {
				return model.Float(4.5), nil // Cumulative active power, Wh
			}
			return model.Float(0), nil
		})

	ctx := context.Background()
	if err := light.Write(ctx, model.MustPath("/3311/0/5850"), model.NewResource(5850, model.Bool(true)), true); err != nil {
		fmt.Println(err)
	}
	n, _ := light.Read(ctx, model.MustPath("/3311/0"))
	fmt.Println(lamp, n)

	// The definition is enforced: a dimmer above 100 is refused.
	err := light.Write(ctx, model.MustPath("/3311/0/5851"), model.NewResource(5851, model.Int(150)), true)
	fmt.Println(model.CodeOf(err))
	// Output:
	// true instance 0 {resource 5805 = 4.5, resource 5850 = 1, resource 5851 = 100}
	// 4.00
}

// The firmware update object with a pull download; the engine executes
// Update when a server asks, and the state machine reports each step.
func ExampleNewFirmware() {
	fetch, flash := make(chan bool), make(chan bool)
	fw := stdobj.NewFirmware(stdobj.FirmwareConfig{
		Downloader: func(ctx context.Context, uri string) ([]byte, error) {
			<-fetch // fetch it here
			return []byte("image from " + uri), nil
		},
		Apply: func(ctx context.Context, image []byte) error {
			<-flash // flash it here
			fmt.Printf("installed %s\n", image)
			return nil
		},
	})
	defer fw.Close()

	states := make(chan string, 16)
	fw.Observe(func(paths ...model.Path) {
		for _, p := range paths {
			if p == model.MustPath("/5/0/3") {
				v, _ := fw.Get(p)
				states <- stdobj.FirmwareState(v.Int()).String()
			}
		}
	})
	ctx := context.Background()
	_ = fw.Write(ctx, model.MustPath("/5/0/1"), model.NewResource(1, model.String("coap://fw.example/v2")), true)
	fmt.Println(<-states)
	fetch <- true
	fmt.Println(<-states)
	_ = fw.Execute(ctx, model.MustPath("/5/0/2"), nil)
	fmt.Println(<-states)
	flash <- true
	fmt.Println(<-states)
	_, result := fw.State()
	fmt.Println("update result", result)
	// Output:
	// Downloading
	// Downloaded
	// Updating
	// installed image from coap://fw.example/v2
	// Idle
	// update result 1
}
