;; SPDX-License-Identifier: Apache-2.0
;; call_indirect of element 1 of a table of 2 whose element 1 is unset:
;; trap "indirect call type mismatch or undefined element".  Writes "TRY
;; undefined_elem\n" to fd 1 first (fd_write).
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (type $v (func))
  (memory (export "memory") 1)
  (data (i32.const 16) "TRY undefined_elem\n")
  (table 2 funcref)
  (elem (i32.const 0) $f)
  (func $f)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 19))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call_indirect (type $v) (i32.const 1))
    (call $exit (i32.const 9))))
