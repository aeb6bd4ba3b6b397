;; buffer: a guest whose wasm2m_buffer cannot always provide the buffer.
;; For up to 256 bytes it returns 1024; up to 512, 0 (it could not); up to
;; 1024, 65000 (inside its one page, but not the 1024 bytes from there);
;; beyond, 0xffffff00 (outside its memory). wasm2m_call echoes the request.
;; Bytes 0..15 hold "do not overwrite", which a request written at
;; address 0 would overwrite.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "do not overwrite")
  (func (export "wasm2m_abi_v1") (result i32) (i32.const 0))
  (func (export "wasm2m_buffer") (param $size i32) (result i32)
    (if (i32.le_u (local.get $size) (i32.const 256)) (then (return (i32.const 1024))))
    (if (i32.le_u (local.get $size) (i32.const 512)) (then (return (i32.const 0))))
    (if (i32.le_u (local.get $size) (i32.const 1024)) (then (return (i32.const 65000))))
    (i32.const 0xffffff00))
  (func (export "wasm2m_call") (param $method i32) (param $len i32) (result i64)
    (i64.or (i64.const 0x40000000000) (i64.extend_i32_u (local.get $len))))
)
