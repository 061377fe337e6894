/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder: channel, being written */
typedef int zvm_placeholder_channel;
