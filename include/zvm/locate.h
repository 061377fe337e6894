/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding programs the tools run: the zerovm binary (zvsh, zvapp and the
 * server start one per sandbox) and helpers on PATH (wasm2c, cc).
 */
#ifndef ZVM_LOCATE_H
#define ZVM_LOCATE_H

/* The absolute path of an executable `name` on $PATH (or, with no PATH,
 * /usr/local/bin:/usr/bin:/bin); NULL when there is none.  malloc'd. */
char *zvm_which(const char *name);

/* The zerovm binary: $ZEROVM, else the `zerovm` next to the running
 * program (the build tree, or an installed bin directory), else the one on
 * PATH; NULL when there is none.  malloc'd. */
char *zvm_locate_zerovm(void);

#endif
