module github.com/wasm2m/wasm2m

go 1.26

require (
	github.com/hashicorp/go-plugin v1.8.0
	github.com/plgd-dev/go-coap/v3 v3.8.0
	github.com/tetratelabs/wazero v1.12.0
)
