;; echo: a healthy guest of ABI v1, small enough to read. It answers any
;; method with its request (the benchmark's guest), except these test
;; methods:
;;   100 host call:  request [host method u8][payload]; response [n i32 LE]
;;                   then what result() copied (the response or the error)
;;   101 fail:       request [status i32 LE]; returns -status, last error
;;                   "failed on purpose"
;;   102 log:        request [level i32 LE][message]; empty response
;;   103 stdout:     writes the request to fd 1 (WASI fd_write)
;;   104 clock:      8 bytes: WASI clock_time_get(realtime)
;;   105 random:     8 bytes: WASI random_get
;;   106 inits:      4 bytes: how many times _initialize ran
;;   107 bad pointer: request [which u8]: passes a pointer outside its
;;                   memory to 0 result (after a host call of method 1,
;;                   so that there is a result), 1 log, 2 call (method 2);
;;                   4 bytes: what the host function returned (0 for log)
;;   2, 3 Start and Stop: log "start: " or "stop: " and the request, at
;;                   info; empty response
;; Memory: 16 the error text, 256..1023 scratch, 1024.. the call buffer.
(module
  (import "wasm2m_v1" "log" (func $log (param i32 i32 i32)))
  (import "wasm2m_v1" "call" (func $call (param i32 i32 i32) (result i32)))
  (import "wasm2m_v1" "result" (func $result (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $inits (mut i32) (i32.const 0))
  (global $errlen (mut i32) (i32.const 0))
  (data (i32.const 16) "failed on purpose")
  (data (i32.const 40) "start: ")
  (data (i32.const 48) "stop: ")

  (func (export "_initialize")
    (global.set $inits (i32.add (global.get $inits) (i32.const 1))))

  (func (export "wasm2m_abi_v1") (result i32) (i32.const 0))

  ;; The buffer is at 1024; grow the memory until it holds size bytes.
  (func (export "wasm2m_buffer") (param $size i32) (result i32)
    (local $need i64)
    (local.set $need (i64.add (i64.const 1024) (i64.extend_i32_u (local.get $size))))
    (block $done
      (loop $grow
        (br_if $done (i64.le_u (local.get $need)
          (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16))))
        (if (i32.lt_s (memory.grow (i32.const 1)) (i32.const 0))
          (then unreachable))
        (br $grow)))
    (i32.const 1024))

  ;; resp returns the i64 result for len bytes at ptr.
  (func $resp (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))

  (func (export "wasm2m_call") (param $method i32) (param $len i32) (result i64)
    (local $n i32)
    (global.set $errlen (i32.const 0))
    (if (i32.eq (local.get $method) (i32.const 100))
      (then
        (local.set $n (call $call (i32.load8_u (i32.const 1024)) (i32.const 1025)
                                  (i32.sub (local.get $len) (i32.const 1))))
        (i32.store (i32.const 256) (local.get $n))
        (return (call $resp (i32.const 256)
          (i32.add (i32.const 4) (call $result (i32.const 260) (i32.const 764)))))))
    (if (i32.eq (local.get $method) (i32.const 101))
      (then
        (global.set $errlen (i32.const 17))
        (return (i64.sub (i64.const 0) (i64.extend_i32_u (i32.load (i32.const 1024)))))))
    (if (i32.eq (local.get $method) (i32.const 102))
      (then
        (call $log (i32.load (i32.const 1024)) (i32.const 1028)
                   (i32.sub (local.get $len) (i32.const 4)))
        (return (i64.const 0))))
    (if (i32.eq (local.get $method) (i32.const 103))
      (then
        (i32.store (i32.const 256) (i32.const 1024))
        (i32.store (i32.const 260) (local.get $len))
        (drop (call $fd_write (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264)))
        (return (i64.const 0))))
    (if (i32.eq (local.get $method) (i32.const 104))
      (then
        (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 256)))
        (return (call $resp (i32.const 256) (i32.const 8)))))
    (if (i32.eq (local.get $method) (i32.const 105))
      (then
        (drop (call $random (i32.const 256) (i32.const 8)))
        (return (call $resp (i32.const 256) (i32.const 8)))))
    (if (i32.eq (local.get $method) (i32.const 106))
      (then
        (i32.store (i32.const 256) (global.get $inits))
        (return (call $resp (i32.const 256) (i32.const 4)))))
    (if (i32.eq (local.get $method) (i32.const 107))
      (then
        (i32.store (i32.const 256) (i32.const 0))
        (if (i32.eqz (i32.load8_u (i32.const 1024)))
          (then
            (drop (call $call (i32.const 1) (i32.const 0) (i32.const 0)))
            (i32.store (i32.const 256)
              (call $result (i32.const 0xfffffff0) (i32.const 100)))))
        (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 1))
          (then (call $log (i32.const 0) (i32.const 0xfffffff0) (i32.const 100))))
        (if (i32.eq (i32.load8_u (i32.const 1024)) (i32.const 2))
          (then (i32.store (i32.const 256)
            (call $call (i32.const 2) (i32.const 0xfffffff0) (i32.const 100)))))
        (return (call $resp (i32.const 256) (i32.const 4)))))
    (if (i32.or (i32.eq (local.get $method) (i32.const 2)) (i32.eq (local.get $method) (i32.const 3)))
      (then
        ;; "start: " or "stop: " then the request, copied to 512
        (memory.copy (i32.const 512)
          (select (i32.const 40) (i32.const 48) (i32.eq (local.get $method) (i32.const 2)))
          (i32.const 7))
        (memory.copy
          (select (i32.const 519) (i32.const 518) (i32.eq (local.get $method) (i32.const 2)))
          (i32.const 1024) (local.get $len))
        (call $log (i32.const 0) (i32.const 512)
          (i32.add (local.get $len) (select (i32.const 7) (i32.const 6) (i32.eq (local.get $method) (i32.const 2)))))
        (return (i64.const 0))))
    (call $resp (i32.const 1024) (local.get $len)))

  (func (export "wasm2m_last_error") (result i64)
    (call $resp (i32.const 16) (global.get $errlen)))
)
