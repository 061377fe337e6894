;; SPDX-License-Identifier: Apache-2.0
;; A module whose initial linear memory (4096 pages = 256 MiB) is more than
;; the manifest's Memory (64 MiB in the test): refused before it runs.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 4096)
  (func (export "_start") (call $exit (i32.const 9))))
