;; SPDX-License-Identifier: Apache-2.0
;; Imports a wasi_snapshot_preview1 function that does not exist: refused.
(module
  (import "wasi_snapshot_preview1" "no_such_call" (func $n (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (drop (call $n (i32.const 1)))))
