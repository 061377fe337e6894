;; A quote in an import module name: refused as the module's fault, not a
;; sandbox error.
(module
  (import "a'b" "x" (func))
  (memory (export "memory") 1)
  (func (export "_start") (call 0)))
