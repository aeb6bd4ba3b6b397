package process_test

import (
	"github.com/wasm2m/wasm2m/host/adapter"
	"github.com/wasm2m/wasm2m/host/process"
)

// A plugin process is what host/adapter's carrier-neutral adapters take.
var (
	_ adapter.Caller = (*process.Plugin)(nil)
	_ process.Caller = adapter.Caller(nil)
)
