// Package cplugin is the proof that wasm2m's plugin ABI is not Go-only:
// src/valve.c implements object 26241 (Valve) in C against sdk/abi/GUIDE.md,
// with the protobuf messages encoded and decoded by hand (src/pb.c), and
// build.sh compiles it with clang for wasm32-wasi. The tests compile it,
// load it with host/wasm and run sdk/plugintest's conformance kit on it,
// as on a Go plugin. README.md has the commands.
//
// The package holds no Go code but its tests; nothing imports it.
package cplugin
