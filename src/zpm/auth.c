/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where zpm's credentials come from, as in the original zpm (and
 * python-swiftclient): auth v1.0 takes -A/--auth, -U/--user, -K/--key or
 * ST_AUTH, ST_USER, ST_KEY; v2.0 takes --os-auth-url, --os-tenant-name,
 * --os-username, --os-password or the OS_* variables.  A flag overrides
 * its variable.  Without -V the version is guessed: from the flags alone
 * first, then from flags and environment together; a complete v1.0 set
 * gives 1.0, a complete v2.0 set 2.0, both 1.0.  Nothing complete: the
 * seed's long message (zpmlib.zpm.NO_AUTH_MSG), word for word.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "zpm/zpm.h"

const char zpm_no_auth_msg[] =
    "Auth version 1.0 requires ST_AUTH, ST_USER, and ST_KEY environment variables\n"
    "to be set or overridden with -A, -U, or -K.\n"
    "\n"
    "Auth version 2.0 requires OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, and\n"
    "OS_TENANT_NAME OS_TENANT_ID to be set or overridden with --os-auth-url,\n"
    "--os-username, --os-password, --os-tenant-name or os-tenant-id. Note:\n"
    "adding \"-V 2\" is necessary for this.";

static bool set(const char *s)
{
    return s && *s;
}

static const char *pick(const char *flag, const char *var)
{
    if (set(flag))
        return flag;
    const char *v = getenv(var);
    return set(v) ? v : NULL;
}

/* flags and the environment merged, a flag winning over its variable */
static zpm_auth_opts_t merged(const zpm_auth_opts_t *f)
{
    return (zpm_auth_opts_t){
        .version = f->version,
        .auth = pick(f->auth, "ST_AUTH"),
        .user = pick(f->user, "ST_USER"),
        .key = pick(f->key, "ST_KEY"),
        .os_auth_url = pick(f->os_auth_url, "OS_AUTH_URL"),
        .os_tenant_name = pick(f->os_tenant_name, "OS_TENANT_NAME"),
        .os_username = pick(f->os_username, "OS_USERNAME"),
        .os_password = pick(f->os_password, "OS_PASSWORD"),
    };
}

static bool v1_complete(const zpm_auth_opts_t *o)
{
    return set(o->auth) && set(o->user) && set(o->key);
}

static bool v2_complete(const zpm_auth_opts_t *o)
{
    return set(o->os_auth_url) && set(o->os_tenant_name) && set(o->os_username) && set(o->os_password);
}

static const char *guess(const zpm_auth_opts_t *o)
{
    if (v1_complete(o))
        return "1.0";           /* also when v2.0 is complete: python-swiftclient's rule */
    if (v2_complete(o))
        return "2.0";
    return NULL;
}

const char *zpm_auth_guess_version(const zpm_auth_opts_t *flags)
{
    const char *v = guess(flags);
    if (v)
        return v;
    zpm_auth_opts_t all = merged(flags);
    return guess(&all);
}

int zpm_auth_connect(const zpm_auth_opts_t *flags, zpm_swift_t *c, zvm_error_t *err)
{
    const char *version;
    zpm_auth_opts_t o = merged(flags);
    if (set(flags->version)) {
        if (strcmp(flags->version, "1") == 0 || strcmp(flags->version, "1.0") == 0)
            version = "1.0";
        else if (strcmp(flags->version, "2") == 0 || strcmp(flags->version, "2.0") == 0)
            version = "2.0";
        else
            return zvm_error_set(err, EINVAL, "unknown auth version '%s' (1.0 or 2.0)", flags->version);
        zpm_debug("auth version %s (given)", version);
    } else {
        version = zpm_auth_guess_version(flags);
        if (!version)
            return zvm_error_set(err, EINVAL, "%s", zpm_no_auth_msg);
        zpm_debug("auth version %s (guessed)", version);
    }
    if (strcmp(version, "1.0") == 0) {
        if (!v1_complete(&o))
            return zvm_error_set(err, EINVAL, "%s", zpm_no_auth_msg);
        return zpm_swift_auth_v1(c, o.auth, o.user, o.key, err);
    }
    if (!v2_complete(&o))
        return zvm_error_set(err, EINVAL, "%s", zpm_no_auth_msg);
    return zpm_swift_auth_v2(c, o.os_auth_url, o.os_tenant_name, o.os_username, o.os_password, err);
}
