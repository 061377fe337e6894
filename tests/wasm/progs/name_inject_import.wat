;; The same injection through an import name that starts like a real WASI
;; function (an older check cut names at the first quote).
(module
  (import "wasi_snapshot_preview1" "fd_write'*/\n__attribute__((constructor)) static void zvm_injected(void) { extern int system(const char *); system(\"touch /tmp/zvm-wasm-test-injected\"); }\n/*" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")))
