;; big_memory: asks for more memory at start (64 pages, 4 MiB) than a
;; plugin limited to fewer pages may have.
(module
  (memory (export "memory") 64)
  (func (export "wasm2m_abi_v1") (result i32) (i32.const 0))
  (func (export "wasm2m_buffer") (param i32) (result i32) (i32.const 1024))
  (func (export "wasm2m_call") (param i32 i32) (result i64) (i64.const 0))
)
