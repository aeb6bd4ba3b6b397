;; abi_v2: speaks a future major version of the ABI (exports
;; wasm2m_abi_v2, not wasm2m_abi_v1); the host refuses it before running it.
(module
  (memory (export "memory") 1)
  (func (export "wasm2m_abi_v2") (result i32) (i32.const 0))
  (func (export "wasm2m_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm2m_call") (param i32 i32) (result i64) (i64.const 0))
)
