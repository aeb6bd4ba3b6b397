#!/bin/sh
# Regenerates sdk/abi/abi.pb.go and sdk/abi/testdata/abi.desc from
# abi.proto with protoc (Debian: apt-get install protobuf-compiler) and
# this plugin. Run from sdk/abi, as go generate does.
set -eu
d="$(mktemp -d)"
trap 'rm -rf "$d"' EXIT
go build -o "$d/protoc-gen-wasm2m" ./internal/protoc-gen-wasm2m
protoc --plugin="protoc-gen-wasm2m=$d/protoc-gen-wasm2m" --wasm2m_out=paths=source_relative:. abi.proto
mkdir -p testdata
protoc --descriptor_set_out=testdata/abi.desc abi.proto
