/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder: nvram, being written */
typedef int zvm_placeholder_nvram;
