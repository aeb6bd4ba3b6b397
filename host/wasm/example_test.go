package wasm_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/wasm2m/wasm2m/core/model"
	"github.com/wasm2m/wasm2m/host/wasm"
	"github.com/wasm2m/wasm2m/sdk/abi"
)

// A runtime with a file compilation cache, one plugin with a per-call
// deadline, a call, and a guest that answers with an error status.
func Example() {
	cache, _ := os.MkdirTemp("", "wasm2m-cache")
	defer os.RemoveAll(cache)
	ctx := context.Background()

	rt, err := wasm.NewRuntime(wasm.Config{CacheDir: cache})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)

	p, err := rt.LoadFile(ctx, wasm.PluginConfig{
		ID:               "objects.echo",
		Capabilities:     []string{abi.CapKV},
		MaxInstances:     2,
		MemoryLimitPages: 16,
		Timeout:          time.Second,
	}, "testdata/echo.wasm")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := p.Call(ctx, abi.MethodObjectRead, []byte("request bytes"))
	fmt.Printf("%s %v\n", resp, err)

	// echo.wat's method 101 fails with the status it is sent.
	_, err = p.Call(ctx, 101, []byte{132, 0, 0, 0})
	fmt.Println(errors.Is(err, model.ErrNotFound), err)
	// Output:
	// request bytes <nil>
	// true 4.04 Not Found: failed on purpose
}
