/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The UI files that deploy uploads next to a zapp: the tar members that
 * the zapp's `ui` patterns match, a `.tmpl` file rendered first (and
 * uploaded without its .tmpl).  The original rendered them with Jinja2 and
 * the full auth settings, so user names and keys ended up in a public
 * index.html; here the context holds only what is not secret:
 *
 *   zapp.*                 zapp.yaml (meta, help, ...)
 *   auth_opts.version      "1.0" or "2.0"
 *   auth_opts.storage_url  the account's storage URL
 *   auth_opts.auth_url     where to authenticate
 *   container, zapp_url    the target container and the swift:// URL of the zapp
 *
 * Any other auth_opts.* (user, key, password, tenant, token) renders empty
 * with a warning, as does an unknown name.  Syntax: {{ name }} or
 * {{ name | tojson }}; a string renders raw unless tojson is asked, any
 * other value renders as compact JSON.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "zpm/zpm.h"

static bool match_one(const char *pattern, const char *name)
{
    while (pattern[0] == '.' && pattern[1] == '/')
        pattern += 2;
    cleanup_free char *p = zpm_xstrdup(pattern);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    if (fnmatch(p, name, FNM_PATHNAME | FNM_PERIOD) == 0)
        return true;
    /* a member below a matched directory */
    cleanup_free char *prefix = zpm_xstrdup(name);
    for (char *s = strchr(prefix, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        bool hit = fnmatch(p, prefix, FNM_PATHNAME | FNM_PERIOD) == 0;
        *s = '/';
        if (hit)
            return true;
    }
    return false;
}

bool zpm_ui_matches(const zpm_zapp_t *z, const char *name)
{
    for (size_t i = 0; i < z->nui; i++)
        if (match_one(z->ui[i], name))
            return true;
    return false;
}

static const json_t *lookup(const json_t *ctx, const char *name)
{
    cleanup_free char *copy = zpm_xstrdup(name);
    const json_t *cur = ctx;
    for (char *save = NULL, *part = strtok_r(copy, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
        if (!json_is_object(cur))
            return NULL;
        cur = json_object_get(cur, part);
        if (!cur)
            return NULL;
    }
    return cur;
}

static char *trim_copy(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    char *r = zpm_xmalloc(n + 1);
    memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

char *zpm_ui_render(const char *name, const char *text, size_t len, const json_t *ctx)
{
    zpm_buf_t out = {0};
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *open = memmem(p, (size_t)(end - p), "{{", 2);
        if (!open) {
            zpm_buf_add(&out, p, (size_t)(end - p));
            break;
        }
        zpm_buf_add(&out, p, (size_t)(open - p));
        const char *close = memmem(open + 2, (size_t)(end - open - 2), "}}", 2);
        if (!close) {
            zpm_warn("'%s': '{{' without '}}', left as it is", name);
            zpm_buf_add(&out, open, (size_t)(end - open));
            break;
        }
        const char *bar = memchr(open + 2, '|', (size_t)(close - open - 2));
        cleanup_free char *var = trim_copy(open + 2, (size_t)((bar ? bar : close) - open - 2));
        cleanup_free char *filter = bar ? trim_copy(bar + 1, (size_t)(close - bar - 1)) : NULL;
        bool tojson = filter && strcmp(filter, "tojson") == 0;
        if (filter && !tojson)
            zpm_warn("'%s': unknown filter '%s' ignored", name, filter);
        const json_t *v = lookup(ctx, var);
        if (!v) {
            if (strncmp(var, "auth_opts", 9) == 0)
                zpm_warn("'%s': '%s' is not written into UI files (credentials stay private)", name, var);
            else
                zpm_warn("'%s': unknown name '%s' rendered empty", name, var);
            if (tojson)
                zpm_buf_adds(&out, "null");
        } else if (json_is_string(v) && !tojson) {
            zpm_buf_adds(&out, json_string_value(v));
        } else {
            char *j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            /* "</" inside a <script> would end it: JSON allows "<\/". */
            for (const char *q = j ? j : "null"; *q; q++) {
                if (q[0] == '<' && q[1] == '/')
                    zpm_buf_adds(&out, "<\\");
                else
                    zpm_buf_add(&out, q, 1);
            }
            free(j);
        }
        p = close + 2;
    }
    return zpm_buf_steal(&out);
}

const char *zpm_ui_content_type(const char *name)
{
    static const char *const types[][2] = {
        {".html", "text/html"}, {".htm", "text/html"},       {".css", "text/css"},
        {".js", "application/javascript"}, {".json", "application/json"}, {".txt", "text/plain"},
        {".png", "image/png"},  {".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},  {".svg", "image/svg+xml"},   {".ico", "image/x-icon"},
        {".xml", "application/xml"}, {".map", "application/json"},
    };
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof types / sizeof *types; i++)
            if (strcmp(dot, types[i][0]) == 0)
                return types[i][1];
    return "application/octet-stream";
}
