;; SPDX-License-Identifier: Apache-2.0
;; Imports wasi_snapshot_preview1.fd_write with the wrong signature
;; (one i32 instead of four): refused before it runs.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $w (i32.const 1))) (call $exit (i32.const 9))))
