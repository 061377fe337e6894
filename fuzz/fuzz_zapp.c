/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: zapp.yaml (src/zpm/zapp.c: YAML to JSON, then the
 * zapp's validation), the file inside an app bundle a user downloads, and
 * what zpm makes of an accepted one: the system.map (src/zpm/sysmap.c,
 * with the shell split of `args`).  The first byte picks zapp.yaml or the
 * shell split alone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zpm/zpm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        zpm_log_level = ZPM_LOG_ERROR;
        quiet = 1;
    }
    if (size == 0)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    zvm_error_t err;
    if (data[0] & 1) {
        char *s = strndup(text, len);
        if (!s)
            abort();
        char *out = NULL;
        if (zpm_sysmap_args(s, &out, &err) == 0 && !out)
            abort();
        free(out);
        free(s);
        return 0;
    }
    zpm_zapp_t z;
    if (zpm_zapp_parse(&z, text, len, "zapp.yaml", &err) < 0)
        return 0;
    if (!z.name || !z.name[0])
        abort();
    json_t *job = zpm_sysmap_from_zapp(&z, &err);
    if (job) {
        char *js = zpm_json_text(job);
        free(js);
        json_decref(job);
    }
    zpm_zapp_release(&z);
    return 0;
}
