;; bad_import: imports a function from a module the host does not offer.
(module
  (import "env" "now" (func (result i64)))
  (memory (export "memory") 1)
  (func (export "wasm2m_abi_v1") (result i32) (i32.const 0))
  (func (export "wasm2m_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm2m_call") (param i32 i32) (result i64) (i64.const 0))
)
