// Package customobject is the walk-through of a custom LwM2M object written
// as a wasm2m plugin: object 26241 (Valve, defined in 26241.xml) in Go in
// ./valve, built with `wasm2m plugin build`, served by `wasm2m client
// -plugin`, read and observed through `wasm2m server`'s HTTP API.
// README.md has the commands; the test runs exactly them, as processes,
// over real UDP and HTTP on 127.0.0.1.
//
// The package holds no Go code but its test; nothing imports it.
package customobject
