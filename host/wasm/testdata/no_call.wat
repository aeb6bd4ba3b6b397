;; no_call: misses the required export wasm2m_call.
(module
  (memory (export "memory") 1)
  (func (export "wasm2m_abi_v1") (result i32) (i32.const 0))
  (func (export "wasm2m_buffer") (param i32) (result i32) (i32.const 1024))
)
