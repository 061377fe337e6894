;; An export name that would close the C comment wasm2c writes it into and
;; add a constructor to the compiled object: zerovm must refuse the module
;; before compiling it (the marker file must never appear).
(module
  (memory (export "memory") 1)
  (func (export "_start"))
  (func (export "*/\n__attribute__((constructor)) static void zvm_injected(void) { extern int system(const char *); system(\"touch /tmp/zvm-wasm-test-injected\"); }\n/*")))
