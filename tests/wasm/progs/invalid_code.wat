;; SPDX-License-Identifier: Apache-2.0
;; A type error in a function body (f64 where i32 is due); assembled with
;; wat2wasm --no-check, so only zerovm's validation can catch it.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $bad (result i32) (f64.const 1.5))
  (func (export "_start") (call $exit (call $bad))))
