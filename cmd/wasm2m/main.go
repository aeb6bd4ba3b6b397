// Command wasm2m runs the wasm2m LwM2M framework. See host/cli for the
// subcommands; this file only hands over to it, with the process plugins
// compiled in (storage.redis, the server's backend "redis").
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/wasm2m/wasm2m/host/cli"
	"github.com/wasm2m/wasm2m/plugins/storage/redis"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

func main() {
	cli.ProcessPlugins[redis.ID] = func() procplugin.Handler { return redis.NewPlugin() }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
