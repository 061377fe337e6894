/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder: report, being written */
typedef int zvm_placeholder_report;
