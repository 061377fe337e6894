/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder: image, being written */
typedef int zvm_placeholder_image;
