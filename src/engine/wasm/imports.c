/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The table of importable functions (imports.def as data), for the check
 * of a module's imports before it is compiled.
 */
#include "wasm.h"

const zvm_wasm_import_t zvm_wasm_imports[] = {
#define ZVM_IMPORT(module, name, prototype) {#module, #name, prototype},
#include "imports.def"
#undef ZVM_IMPORT
};

const unsigned zvm_wasm_nimports = sizeof zvm_wasm_imports / sizeof zvm_wasm_imports[0];
