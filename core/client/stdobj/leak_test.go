package stdobj

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
)

// TestCloseStopsGoroutines runs the objects that start goroutines in a
// synctest bubble, which fails when a goroutine outlives the test: Close
// must stop and wait for every one of them.
func TestCloseStopsGoroutines(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"temperature simulation", func(t *testing.T) {
			tp := NewTemperature(TemperatureSensor{Value: 20})
			if err := tp.Simulate(context.Background(), 0, time.Second, nil); err != nil {
				t.Fatal(err)
			}
			if err := tp.Simulate(context.Background(), 0, time.Minute, nil); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Second)
			if err := tp.Close(); err != nil {
				t.Fatal(err)
			}
		}},
		{"firmware download", func(t *testing.T) {
			f := NewFirmware(FirmwareConfig{Downloader: func(ctx context.Context, uri string) ([]byte, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}})
			if err := f.Write(ctx, p("/5/0/1"), model.NewResource(1, model.String("coap://a/b")), true); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}},
		{"firmware update", func(t *testing.T) {
			f := NewFirmware(FirmwareConfig{Apply: func(ctx context.Context, image []byte) error {
				<-ctx.Done()
				return ctx.Err()
			}})
			if err := f.Write(ctx, p("/5/0/0"), model.NewResource(0, model.OpaqueString("img")), true); err != nil {
				t.Fatal(err)
			}
			if err := f.Execute(ctx, p("/5/0/2"), nil); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}},
		{"firmware download cancelled by a reset", func(t *testing.T) {
			f := NewFirmware(FirmwareConfig{Downloader: func(ctx context.Context, uri string) ([]byte, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			}})
			if err := f.Write(ctx, p("/5/0/1"), model.NewResource(1, model.String("coap://a/b")), true); err != nil {
				t.Fatal(err)
			}
			if err := f.Write(ctx, p("/5/0/1"), model.NewResource(1, model.String("")), true); err != nil {
				t.Fatal(err)
			}
			synctest.Wait() // the download goroutine has ended without Close
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, tc.run)
		})
	}
}
