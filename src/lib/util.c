/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder: util, being written */
typedef int zvm_placeholder_util;
