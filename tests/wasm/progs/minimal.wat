;; SPDX-License-Identifier: Apache-2.0
;; The smallest valid command: no imports, one page of memory, an empty
;; _start.  It runs and ends with rc 0.
(module
  (memory (export "memory") 1)
  (func (export "_start")))
