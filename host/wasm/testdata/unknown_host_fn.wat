;; unknown_host_fn: imports a host function that ABI v1 does not have.
(module
  (import "wasm2m_v1" "launch" (func (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "wasm2m_abi_v1") (result i32) (i32.const 0))
  (func (export "wasm2m_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm2m_call") (param i32 i32) (result i64) (i64.const 0))
)
