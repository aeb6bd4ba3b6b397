package abi

// abi.pb.go is generated from abi.proto by internal/protoc-gen-wasm2m;
// testdata/abi.desc is its descriptor set, for the test against the
// reference protobuf implementation. CI regenerates both and fails if
// they differ from the committed ones.
//go:generate sh internal/protoc-gen-wasm2m/gen.sh
