;; exit: calls WASI proc_exit(3) in the middle of a call, as a Go guest's
;; os.Exit does.
;; Any request whose first byte is 1 misbehaves; any other is echoed, so a
;; test sees the instance replaced and the next call answered.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "wasm2m_abi_v1") (result i32) (i32.const 0))
  (func (export "wasm2m_buffer") (param $size i32) (result i32) (i32.const 1024))
  (func (export "wasm2m_call") (param $method i32) (param $len i32) (result i64)
    (if (i32.and (i32.gt_u (local.get $len) (i32.const 0))
                 (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 1)))
      (then
        (call $proc_exit (i32.const 3))))
    (i64.or (i64.const 0x40000000000) (i64.extend_i32_u (local.get $len))))
)
