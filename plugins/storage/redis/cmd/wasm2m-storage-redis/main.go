// Command wasm2m-storage-redis is the storage.redis process plugin: a
// wasm2m host starts it (go-plugin), never a user.
package main

import (
	"github.com/wasm2m/wasm2m/plugins/storage/redis"
	"github.com/wasm2m/wasm2m/sdk/procplugin"
)

func main() { procplugin.Serve(redis.NewPlugin()) }
