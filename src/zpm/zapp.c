/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zapp.yaml: the project file of a zapp.  libyaml loads the first document;
 * it becomes a JSON tree (jansson) with PyYAML's safe_load resolution of
 * plain scalars, so that system.map generation and UI templates work on
 * one representation.  Then the tree is checked against the schema of
 * the original zpm (execution.groups, meta, help, bundling, ui,
 * dependencies); each message names the key that is wrong:
 *   "zapp.yaml: 'execution.groups[0].devices[1].name' must be a string"
 * Keys the schema does not know are kept (system.map passes group keys on).
 * Also: the zapp.yaml and UI files that `zpm new` writes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lib/util.h"
#include "zpm/zpm.h"

#define ZAPP_MAX (4u << 20)
#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 100000   /* aliases can multiply nodes: bound the tree */

/* ---- YAML -> JSON ---------------------------------------------------------- */

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* A plain scalar as PyYAML's resolver would type it (YAML 1.1 core). */
static json_t *plain_scalar(const char *s)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        if (strcmp(s, nulls[i]) == 0)
            return json_null();
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (strcmp(s, yes[i]) == 0)
            return json_true();
        if (strcmp(s, no[i]) == 0)
            return json_false();
    }
    const char *d = (*s == '-' || *s == '+') ? s + 1 : s;
    if (all_digits(d) && (d[0] != '0' || d[1] == '\0') && strlen(d) < 19)
        return json_integer(strtoll(s, NULL, 10));
    /* Floats: digits with a '.' (and an optional exponent). */
    if (strchr(d, '.') && (d[0] == '.' || (d[0] >= '0' && d[0] <= '9'))) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (*end == '\0' && errno == 0 && strspn(d, "0123456789.eE+-") == strlen(d))
            return json_real(v);
    }
    return json_string(s);
}

typedef struct conv {
    yaml_document_t *doc;
    size_t nodes;
    const char *what;
    zvm_error_t *err;
} conv_t;

static json_t *convert(conv_t *c, yaml_node_t *node, int depth)
{
    if (!node) {
        zvm_error_set(c->err, EINVAL, "%s: a node of the document is missing", c->what);
        return NULL;
    }
    if (depth > YAML_MAX_DEPTH || ++c->nodes > YAML_MAX_NODES) {
        zvm_error_set(c->err, E2BIG, "%s:%zu: the document is too deeply nested or too large", c->what,
                      node->start_mark.line + 1);
        return NULL;
    }
    switch (node->type) {
    case YAML_SCALAR_NODE: {
        const char *s = (const char *)node->data.scalar.value;
        if (strlen(s) != node->data.scalar.length) {
            zvm_error_set(c->err, EINVAL, "%s:%zu: a NUL character in a scalar", c->what,
                          node->start_mark.line + 1);
            return NULL;
        }
        json_t *j = node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? plain_scalar(s) : json_string(s);
        if (!j)
            zvm_error_set(c->err, EINVAL, "%s:%zu: a scalar is not valid UTF-8", c->what,
                          node->start_mark.line + 1);
        return j;
    }
    case YAML_SEQUENCE_NODE: {
        json_t *a = json_array();
        for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top;
             it++) {
            json_t *v = convert(c, yaml_document_get_node(c->doc, *it), depth + 1);
            if (!v) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, v);
        }
        return a;
    }
    case YAML_MAPPING_NODE: {
        json_t *o = json_object();
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE) {
                zvm_error_set(c->err, EINVAL, "%s:%zu: a mapping key must be a scalar", c->what,
                              k ? k->start_mark.line + 1 : node->start_mark.line + 1);
                json_decref(o);
                return NULL;
            }
            json_t *v = convert(c, yaml_document_get_node(c->doc, p->value), depth + 1);
            if (!v) {
                json_decref(o);
                return NULL;
            }
            /* A later duplicate key wins, as in PyYAML. */
            if (json_object_set_new(o, (const char *)k->data.scalar.value, v) < 0) {
                zvm_error_set(c->err, EINVAL, "%s:%zu: a key is not valid UTF-8", c->what,
                              k->start_mark.line + 1);
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    default:
        zvm_error_set(c->err, EINVAL, "%s: an empty node", c->what);
        return NULL;
    }
}

int zpm_yaml_to_json(const char *text, size_t len, const char *what, json_t **out, zvm_error_t *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return zvm_error_set(err, ENOMEM, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        zvm_error_set(err, EINVAL, "%s:%zu: %s%s%s", what, parser.problem_mark.line + 1,
                      parser.problem ? parser.problem : "cannot parse",
                      parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return -1;
    }
    int r = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        r = zvm_error_set(err, EINVAL, "%s: the file is empty", what);
    } else {
        conv_t c = {.doc = &doc, .what = what, .err = err};
        *out = convert(&c, root, 0);
        if (!*out)
            r = -1;
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return r;
}

/* ---- validation ---------------------------------------------------------------- */

typedef struct check {
    const char *what;
    zvm_error_t *err;
} check_t;

/* A key name for messages ("execution.groups[0].devices[1].name"). */
__attribute__((format(printf, 3, 4))) static void keyf(char *k, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k, n, fmt, ap);
    va_end(ap);
}

static int bad(check_t *c, const char *key, const char *problem)
{
    return zvm_error_set(c->err, EINVAL, "%s: '%s' %s", c->what, key, problem);
}

static const char *type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "a mapping";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "empty";
    }
}

static int want(check_t *c, const char *key, const json_t *v, json_type t, const char *desc)
{
    if (json_typeof(v) == t)
        return 0;
    char msg[160];
    snprintf(msg, sizeof msg, "must be %s, not %s", desc, type_name(v));
    return bad(c, key, msg);
}

/* An optional list of strings (a missing or null key is an empty list). */
static int string_list(check_t *c, const json_t *parent, const char *name, const char *key, const char ***out,
                       size_t *n)
{
    json_t *l = json_object_get(parent, name);
    if (!l || json_is_null(l))
        return 0;
    if (want(c, key, l, JSON_ARRAY, "a list") < 0)
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(l, i, v) {
        char k[256];
        keyf(k, sizeof k, "%s[%zu]", key, i);
        if (want(c, k, v, JSON_STRING, "a string") < 0)
            return -1;
    }
    if (out) {
        *out = zpm_xmalloc((json_array_size(l) + 1) * sizeof **out);
        json_array_foreach(l, i, v)
            (*out)[i] = json_string_value(v);
        *n = json_array_size(l);
    }
    return 0;
}

static int check_device(check_t *c, const char *key, const json_t *d)
{
    char k[256];
    if (want(c, key, d, JSON_OBJECT, "a mapping") < 0)
        return -1;
    keyf(k, sizeof k, "%s.name", key);
    json_t *name = json_object_get(d, "name");
    if (!name)
        return bad(c, k, "is missing");
    if (want(c, k, name, JSON_STRING, "a string") < 0)
        return -1;
    if (!*json_string_value(name))
        return bad(c, k, "must not be empty");
    static const char *const strings[] = {"path", "content_type", "mode"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(d, strings[i]);
        keyf(k, sizeof k, "%s.%s", key, strings[i]);
        if (v && !json_is_null(v) && want(c, k, v, JSON_STRING, "a string") < 0)
            return -1;
    }
    json_t *v = json_object_get(d, "min_size");
    keyf(k, sizeof k, "%s.min_size", key);
    if (v && !json_is_null(v) && want(c, k, v, JSON_INTEGER, "an integer") < 0)
        return -1;
    v = json_object_get(d, "meta");
    keyf(k, sizeof k, "%s.meta", key);
    if (v && !json_is_null(v) && want(c, k, v, JSON_OBJECT, "a mapping") < 0)
        return -1;
    return 0;
}

static int check_group(check_t *c, const char *key, const json_t *g)
{
    char k[256];
    if (want(c, key, g, JSON_OBJECT, "a mapping") < 0)
        return -1;
    static const char *const required[] = {"name", "path"};
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_object_get(g, required[i]);
        keyf(k, sizeof k, "%s.%s", key, required[i]);
        if (!v)
            return bad(c, k, "is missing");
        if (want(c, k, v, JSON_STRING, "a string") < 0)
            return -1;
        if (!*json_string_value(v))
            return bad(c, k, "must not be empty");
    }
    const char *path = json_string_value(json_object_get(g, "path"));
    if (strncmp(path, "file://", 7) != 0 && strncmp(path, "swift://", 8) != 0) {
        keyf(k, sizeof k, "%s.path", key);
        return bad(c, k, "must be file://IMAGE:PROGRAM or swift://ACCOUNT/CONTAINER/OBJECT");
    }
    json_t *v = json_object_get(g, "args");
    keyf(k, sizeof k, "%s.args", key);
    if (v && !json_is_null(v) && want(c, k, v, JSON_STRING, "a string") < 0)
        return -1;
    v = json_object_get(g, "devices");
    if (v && !json_is_null(v)) {
        keyf(k, sizeof k, "%s.devices", key);
        if (want(c, k, v, JSON_ARRAY, "a list") < 0)
            return -1;
        size_t i;
        json_t *d;
        json_array_foreach(v, i, d) {
            keyf(k, sizeof k, "%s.devices[%zu]", key, i);
            if (check_device(c, k, d) < 0)
                return -1;
        }
    }
    keyf(k, sizeof k, "%s.connect", key);
    if (string_list(c, g, "connect", k, NULL, NULL) < 0)
        return -1;
    v = json_object_get(g, "count");
    keyf(k, sizeof k, "%s.count", key);
    if (v && !json_is_null(v)) {
        if (want(c, k, v, JSON_INTEGER, "an integer") < 0)
            return -1;
        if (json_integer_value(v) < 1)
            return bad(c, k, "must be at least 1");
    }
    v = json_object_get(g, "env");
    if (v && !json_is_null(v)) {
        keyf(k, sizeof k, "%s.env", key);
        if (want(c, k, v, JSON_OBJECT, "a mapping") < 0)
            return -1;
        const char *name;
        json_t *e;
        json_object_foreach(v, name, e) {
            keyf(k, sizeof k, "%s.env.%s", key, name);
            if (json_is_object(e) || json_is_array(e))
                return bad(c, k, "must be a string");
        }
    }
    return 0;
}

static int validate(zpm_zapp_t *z, check_t *c)
{
    json_t *doc = z->doc;
    if (!json_is_object(doc))
        return zvm_error_set(c->err, EINVAL, "%s: the top level must be a mapping, not %s", c->what,
                             type_name(doc));
    json_t *ex = json_object_get(doc, "execution");
    if (!ex)
        return bad(c, "execution", "is missing");
    if (want(c, "execution", ex, JSON_OBJECT, "a mapping") < 0)
        return -1;
    json_t *groups = json_object_get(ex, "groups");
    if (!groups)
        return bad(c, "execution.groups", "is missing");
    if (want(c, "execution.groups", groups, JSON_ARRAY, "a list") < 0)
        return -1;
    if (json_array_size(groups) == 0)
        return bad(c, "execution.groups", "must list at least one group");
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g) {
        char k[64];
        keyf(k, sizeof k, "execution.groups[%zu]", i);
        if (check_group(c, k, g) < 0)
            return -1;
    }
    json_t *meta = json_object_get(doc, "meta");
    if (!meta)
        return bad(c, "meta", "is missing");
    if (want(c, "meta", meta, JSON_OBJECT, "a mapping") < 0)
        return -1;
    json_t *name = json_object_get(meta, "name");
    if (!name)
        return bad(c, "meta.name", "is missing");
    if (want(c, "meta.name", name, JSON_STRING, "a string") < 0)
        return -1;
    z->name = json_string_value(name);
    if (!*z->name)
        return bad(c, "meta.name", "must not be empty");
    if (strchr(z->name, '/') || strcmp(z->name, ".") == 0 || strcmp(z->name, "..") == 0)
        return bad(c, "meta.name", "must be a file name (no '/', not '.' or '..')");
    json_t *help = json_object_get(doc, "help");
    if (help && !json_is_null(help)) {
        if (want(c, "help", help, JSON_OBJECT, "a mapping") < 0)
            return -1;
        json_t *v = json_object_get(help, "description");
        if (v && !json_is_null(v) && want(c, "help.description", v, JSON_STRING, "a string") < 0)
            return -1;
        v = json_object_get(help, "args");
        if (v && !json_is_null(v)) {
            if (want(c, "help.args", v, JSON_ARRAY, "a list") < 0)
                return -1;
            json_t *a;
            json_array_foreach(v, i, a) {
                char k[64];
                keyf(k, sizeof k, "help.args[%zu]", i);
                if (!json_is_array(a) || json_array_size(a) != 2 ||
                    !json_is_string(json_array_get(a, 0)) || !json_is_string(json_array_get(a, 1)))
                    return bad(c, k, "must be a pair [name, label] of strings");
            }
        }
    }
    if (string_list(c, doc, "bundling", "bundling", &z->bundling, &z->nbundling) < 0)
        return -1;
    if (string_list(c, doc, "ui", "ui", &z->ui, &z->nui) < 0)
        return -1;
    json_t *deps = json_object_get(doc, "dependencies");
    if (deps && !json_is_null(deps)) {
        if (want(c, "dependencies", deps, JSON_ARRAY, "a list") < 0)
            return -1;
        z->ndependencies = json_array_size(deps);
    }
    return 0;
}

int zpm_zapp_parse(zpm_zapp_t *z, const char *text, size_t len, const char *what, zvm_error_t *err)
{
    *z = (zpm_zapp_t){0};
    if (zpm_yaml_to_json(text, len, what, &z->doc, err) < 0)
        return -1;
    check_t c = {.what = what, .err = err};
    if (validate(z, &c) < 0) {
        zpm_zapp_release(z);
        return -1;
    }
    return 0;
}

int zpm_zapp_load(zpm_zapp_t *z, const char *path, zvm_error_t *err)
{
    cleanup_free char *text = NULL;
    size_t len;
    *z = (zpm_zapp_t){0};
    if (zpm_read_file(path, ZAPP_MAX, &text, &len, err) < 0)
        return -1;
    return zpm_zapp_parse(z, text, len, path, err);
}

void zpm_zapp_release(zpm_zapp_t *z)
{
    json_decref(z->doc);
    free(z->bundling);
    free(z->ui);
    *z = (zpm_zapp_t){0};
}

/* ---- what `zpm new` writes --------------------------------------------------------- */

char *zpm_zapp_template(const char *name, bool with_ui)
{
    zpm_buf_t q = {0};
    for (const char *p = name; *p; p++) {
        if (*p == '"' || *p == '\\')
            zpm_buf_add(&q, "\\", 1);
        zpm_buf_add(&q, p, 1);
    }
    cleanup_free char *quoted = zpm_buf_steal(&q);
    return zpm_xasprintf(
        "# This section describes the runtime behavior of your zapp: which\n"
        "# groups of nodes to create and which nexe to invoke for each.\n"
        "execution:\n"
        "\n"
        "  # Your application can consist of multiple groups. This is typically\n"
        "  # used for map-reduce style jobs. This is a list of groups, so\n"
        "  # remember to add \"-\" infront of each group name.\n"
        "  groups:\n"
        "\n"
        "      # Name of this group. This is used if you need to connect groups\n"
        "      # with each other.\n"
        "    - name: \"\"\n"
        "\n"
        "      # The program to run on the nodes in this group:\n"
        "      # file://IMAGE:NAME (a system image) or swift://ACCOUNT/CONTAINER/OBJECT.\n"
        "      path: file://python2.7:python\n"
        "\n"
        "      # Command line arguments for the program.\n"
        "      args: \"\"\n"
        "\n"
        "      # Input and output devices for this group.\n"
        "      devices:\n"
        "      - name: python2.7\n"
        "      - name: stdout\n"
        "\n"
        "# Meta-information about your zapp.\n"
        "meta:\n"
        "  Version: \"\"\n"
        "  name: \"%s\"\n"
        "  Author-email: \"\"\n"
        "  Summary: \"\"\n"
        "\n"
        "help:\n"
        "  # Short description of your zapp. This is used for auto-generated\n"
        "  # help.\n"
        "  description: \"\"\n"
        "\n"
        "  # Help for the command line arguments. Each entry is a two-tuple\n"
        "  # with an option name and an option help text.\n"
        "  args:\n"
        "  - [\"\", \"\"]\n"
        "\n"
        "# Files to include in your zapp. Your can use glob patterns here, they\n"
        "# will be resolved relative to the location of this file.\n"
        "bundling: []\n"
        "%s",
        quoted,
        with_ui ? "\n"
                  "# Files of the web interface, uploaded next to the zapp by `zpm deploy`;\n"
                  "# a .tmpl file is rendered first (its name loses the .tmpl).\n"
                  "ui: [\"index.html.tmpl\", \"style.css\", \"zerocloud.js\"]\n"
                : "");
}

/* The web interface: one input per help.args entry, the zapp's input and
 * output paths, and a token field (credentials are never written into the
 * uploaded files: the user pastes a token, kept in sessionStorage). */
const char *const zpm_ui_template_files[] = {
    "index.html.tmpl",
    "<!DOCTYPE html>\n"
    "<html>\n"
    "<head>\n"
    "  <meta charset=\"utf-8\">\n"
    "  <title>{{ zapp.meta.name }}</title>\n"
    "  <link rel=\"stylesheet\" href=\"style.css\">\n"
    "  <script src=\"zerocloud.js\"></script>\n"
    "</head>\n"
    "<body>\n"
    "  <h1>{{ zapp.meta.name }}</h1>\n"
    "  <p>{{ zapp.help.description }}</p>\n"
    "  <form id=\"zapp-form\">\n"
    "    <div id=\"zapp-args\"></div>\n"
    "    <label>Input <input name=\"input\" placeholder=\"swift://~/container/object\"></label>\n"
    "    <label>Output <input name=\"output\" placeholder=\"swift://~/container/object\"></label>\n"
    "    <label>Auth token <input name=\"token\" type=\"password\" autocomplete=\"off\"></label>\n"
    "    <button type=\"submit\">Run</button>\n"
    "  </form>\n"
    "  <pre id=\"zapp-output\"></pre>\n"
    "  <script>\n"
    "    zerocloud.setup({\n"
    "      storageUrl: {{ auth_opts.storage_url | tojson }},\n"
    "      helpArgs: {{ zapp.help.args | tojson }}\n"
    "    });\n"
    "  </script>\n"
    "</body>\n"
    "</html>\n",
    "style.css",
    "body { font-family: sans-serif; margin: 2em auto; max-width: 50em; }\n"
    "label { display: block; margin: 0.5em 0; }\n"
    "input { width: 100%; box-sizing: border-box; }\n"
    "pre { background: #f4f4f4; padding: 1em; white-space: pre-wrap; }\n",
    "zerocloud.js",
    "/* Runs the zapp deployed next to this page: loads boot/system.map,\n"
    " * appends the nvram-escaped arguments, sets the input/output device\n"
    " * paths and POSTs the job to ZeroCloud with the user's token. */\n"
    "var zerocloud = (function () {\n"
    "  function escapeArg(s) {\n"
    "    return s.replace(/[\\\\\",\\s]/g, function (c) {\n"
    "      var h = c.charCodeAt(0).toString(16);\n"
    "      return '\\\\x' + (h.length < 2 ? '0' + h : h);\n"
    "    });\n"
    "  }\n"
    "  function setup(opts) {\n"
    "    var form = document.getElementById('zapp-form');\n"
    "    var box = document.getElementById('zapp-args');\n"
    "    (opts.helpArgs || []).forEach(function (a) {\n"
    "      if (!a[0]) return;\n"
    "      var l = document.createElement('label');\n"
    "      l.textContent = a[1] || a[0];\n"
    "      var i = document.createElement('input');\n"
    "      i.name = 'arg-' + a[0];\n"
    "      l.appendChild(i);\n"
    "      box.appendChild(l);\n"
    "    });\n"
    "    form.token.value = sessionStorage.getItem('zerocloud-token') || '';\n"
    "    form.addEventListener('submit', function (ev) {\n"
    "      ev.preventDefault();\n"
    "      sessionStorage.setItem('zerocloud-token', form.token.value);\n"
    "      run(opts, form);\n"
    "    });\n"
    "  }\n"
    "  function run(opts, form) {\n"
    "    var out = document.getElementById('zapp-output');\n"
    "    fetch('boot/system.map').then(function (r) { return r.json(); }).then(function (job) {\n"
    "      var extra = (opts.helpArgs || []).filter(function (a) { return a[0]; }).map(function (a) {\n"
    "        return escapeArg(form['arg-' + a[0]].value);\n"
    "      });\n"
    "      job.forEach(function (g) {\n"
    "        if (extra.length) g.exec.args = (g.exec.args ? g.exec.args + ' ' : '') + extra.join(' ');\n"
    "        (g.devices || []).forEach(function (d) {\n"
    "          if (d.name === 'input' && form.input.value) d.path = form.input.value;\n"
    "          if (d.name === 'output' && form.output.value) d.path = form.output.value;\n"
    "        });\n"
    "      });\n"
    "      return fetch(opts.storageUrl, {\n"
    "        method: 'POST',\n"
    "        headers: {'X-Auth-Token': form.token.value, 'X-Zerovm-Execute': '1.0',\n"
    "                  'Content-Type': 'application/json'},\n"
    "        body: JSON.stringify(job)\n"
    "      });\n"
    "    }).then(function (r) { return r.text(); }).then(function (t) {\n"
    "      out.textContent = t;\n"
    "    }).catch(function (e) { out.textContent = 'Error: ' + e; });\n"
    "  }\n"
    "  return {setup: setup};\n"
    "})();\n",
    NULL,
};
