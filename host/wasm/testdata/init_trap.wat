;; init_trap: traps in _initialize, so no instance of it ever starts.
(module
  (memory (export "memory") 1)
  (func (export "_initialize") unreachable)
  (func (export "wasm2m_abi_v1") (result i32) (i32.const 0))
  (func (export "wasm2m_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm2m_call") (param i32 i32) (result i64) (i64.const 0))
)
