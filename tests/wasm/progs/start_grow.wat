;; SPDX-License-Identifier: Apache-2.0
;; The start function runs inside instantiation: it grows the linear memory
;; by 128 MiB and touches all of it.  Under Memory = 64 MiB the grow must
;; fail (-1) there already; _start exits 0 when it did, 7 when the memory
;; grew past the cap.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $grow
    (local $old i32)
    (local.set $old (memory.grow (i32.const 2048)))
    (if (i32.ne (local.get $old) (i32.const -1))
      (then
        (memory.fill (i32.const 65536) (i32.const 1) (i32.const 134217728)))))
  (start $grow)
  (func (export "_start")
    (if (i32.gt_u (memory.size) (i32.const 1024))
      (then (call $exit (i32.const 7))))
    (call $exit (i32.const 0))))
