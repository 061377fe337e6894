/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder: manifest, being written */
typedef int zvm_placeholder_manifest;
