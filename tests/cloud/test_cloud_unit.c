/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of zerocloud's parts that need no server: the constant-time
 * secret comparison (auth.c) and logins through it.  What they take is
 * timing-free by design; only results are checked here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/cloud.h"
#include "tap.h"

static void secret_equal(void)
{
    tap_ok(zc_secret_equal("testing", "testing"), "secret: equal keys match");
    tap_ok(zc_secret_equal("", ""), "secret: two empty secrets match");
    tap_ok(!zc_secret_equal("testing", "testin"), "secret: a prefix does not match");
    tap_ok(!zc_secret_equal("testin", "testing"), "secret: a longer key does not match");
    tap_ok(!zc_secret_equal("testing", "testinG"), "secret: the last byte differs");
    tap_ok(!zc_secret_equal("testing", ""), "secret: empty against a key");
    tap_ok(!zc_secret_equal("", "x"), "secret: a key against empty");
    char a[5000], b[5000];
    memset(a, 'k', sizeof a - 1);
    a[sizeof a - 1] = '\0';
    memcpy(b, a, sizeof a);
    tap_ok(zc_secret_equal(a, b), "secret: long equal keys match");
    b[2500] = 'j';
    tap_ok(!zc_secret_equal(a, b), "secret: long keys differing midway");
    /* a secret is compared as a C string: what follows a NUL is not it */
    tap_ok(zc_secret_equal("ab\0c", "ab"), "secret: compared up to its NUL");
}

static void logins(void)
{
    zc_config_t cfg;
    zc_config_init(&cfg);
    const char *why = NULL;
    tap_ok(zc_user_add(&cfg, "test:tester", "testing .admin", &why) == 0, "add a user");
    zc_auth_t *a = zc_auth_new(&cfg);
    char token[65];
    unsigned ttl;
    zc_ident_t id;
    tap_ok(zc_auth_login(a, "test:tester", "testing", token, &ttl, &id) == 0 && id.admin,
           "login: the right key");
    const char *bad[] = {"testin", "testingX", "", "Testing", "testing\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        tap_ok(zc_auth_login(a, "test:tester", bad[i], token, &ttl, &id) == -EACCES,
               "login: wrong key %zu refused", i);
    tap_ok(zc_auth_login(a, "test:nobody", "testing", token, &ttl, &id) == -EACCES,
           "login: an unknown user with a known key refused");
    tap_ok(zc_auth_login(a, "test:tester", "testing", token, &ttl, &id) == 0 &&
               zc_auth_check(a, token, &id) == 0 && !strcmp(id.user, "tester"),
           "token: the token given resolves");
    char near[65];
    snprintf(near, sizeof near, "%s", token);
    near[strlen(near) - 1] ^= 1;
    tap_ok(zc_auth_check(a, near, &id) == -EACCES, "token: one byte off is refused");
    near[strlen(near) - 1] = '\0';
    tap_ok(zc_auth_check(a, near, &id) == -EACCES, "token: a prefix is refused");
    zc_auth_free(a);
    zc_config_release(&cfg);
}

int main(void)
{
    secret_equal();
    logins();
    return tap_done();
}
