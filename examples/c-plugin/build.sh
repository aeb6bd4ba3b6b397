#!/bin/sh
# Builds the C valve plugin: ./build.sh [out.wasm] (default valve.wasm).
# Needs clang with the wasm32-wasi target, lld and wasi-libc (Debian:
# apt-get install clang lld wasi-libc libclang-rt-dev-wasm32). CC picks
# another clang.
set -eu
out="${1:-valve.wasm}"
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
cd "$(dirname "$0")/src"
${CC:-clang} --target=wasm32-wasi -mexec-model=reactor \
  -std=c11 -O2 -Wall -Wextra -Werror \
  -Wl,--strip-all \
  -o "$out" valve.c pb.c
