;; bad_signature: exports wasm2m_call with the wrong signature (an i32
;; result instead of i64).
(module
  (memory (export "memory") 1)
  (func (export "wasm2m_abi_v1") (result i32) (i32.const 0))
  (func (export "wasm2m_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm2m_call") (param i32 i32) (result i32) (i32.const 0))
)
