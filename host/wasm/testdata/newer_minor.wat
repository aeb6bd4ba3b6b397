;; newer_minor: built against minor version 7 of ABI v1, newer than the
;; host's; it imports nothing the host lacks, so it loads and answers.
(module
  (memory (export "memory") 1)
  (func (export "wasm2m_abi_v1") (result i32) (i32.const 7))
  (func (export "wasm2m_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm2m_call") (param i32 i32) (result i64)
    (i64.or (i64.const 0x40000000000) (i64.extend_i32_u (local.get 1))))
)
