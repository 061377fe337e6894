/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of zerocloud's parts that need no server: the constant-time
 * secret comparison (auth.c) and logins through it, the counting of
 * failed logins per address and per user, the scrubbing of host paths
 * from compute messages.  What they take is
 * timing-free by design; only results are checked here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cloud/cloud.h"
#include "cloud/compute.h"
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

static struct sockaddr_storage v4(const char *ip)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &in->sin_addr);
    return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
    in->sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip, &in->sin6_addr);
    return ss;
}

#define SA(x) ((const struct sockaddr *)&(x))

static void throttle(void)
{
    zc_config_t cfg;
    zc_config_init(&cfg);
    const char *why = NULL;
    zc_user_add(&cfg, "test:tester", "testing .admin", &why);
    zc_user_add(&cfg, "test:tester3", "testing3", &why);
    cfg.login_failures = 3;
    cfg.login_failures_user = 5;
    cfg.login_window = 3600;
    zc_auth_t *a = zc_auth_new(&cfg);
    struct sockaddr_storage A = v4("10.0.0.1"), B = v4("10.0.0.2"), C = v4("10.0.0.3"),
                            D = v4("10.0.0.4");
    for (int i = 0; i < 2; i++)
        zc_auth_failed(a, SA(A), "test:tester");
    tap_ok(zc_auth_throttled(a, SA(A), "test:tester") == 0, "throttle: 2 failures of 3 pass");
    zc_auth_failed(a, SA(A), "nobody:x");
    unsigned w = zc_auth_throttled(a, SA(A), "test:tester3");
    tap_ok(w > 0 && w <= 3600, "throttle: the 3rd failure blocks the address (wait %u)", w);
    tap_ok(zc_auth_throttled(a, SA(B), "test:tester") == 0, "throttle: another address passes");
    /* per user: 2 failures counted for test:tester (the unknown user's
     * is the address's only); 3 more from other addresses */
    zc_auth_failed(a, SA(B), "test:tester");
    zc_auth_failed(a, SA(C), "test:tester");
    tap_ok(zc_auth_throttled(a, SA(D), "test:tester") == 0, "throttle: 4 user failures pass");
    zc_auth_failed(a, SA(C), "test:tester");
    tap_ok(zc_auth_throttled(a, SA(D), "test:tester") > 0,
           "throttle: the user's 5th failure blocks it from every address");
    tap_ok(zc_auth_throttled(a, SA(D), "test:tester3") == 0, "throttle: another user passes");
    /* IPv6: one /64 is one client */
    struct sockaddr_storage X1 = v6("2001:db8:1:2::1"), X2 = v6("2001:db8:1:2:ffff::9"),
                            Y = v6("2001:db8:1:3::1");
    for (int i = 0; i < 3; i++)
        zc_auth_failed(a, SA(X1), "nobody:x");
    tap_ok(zc_auth_throttled(a, SA(X2), "nobody:x") > 0, "throttle: an IPv6 /64 counts as one");
    tap_ok(zc_auth_throttled(a, SA(Y), "nobody:x") == 0, "throttle: the next /64 passes");
    /* many addresses: the table stays bounded, the newest are remembered */
    for (unsigned i = 0; i < 3000; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.1.%u.%u", i / 250, i % 250);
        struct sockaddr_storage Z = v4(ip);
        for (int k = 0; k < 3; k++)
            zc_auth_failed(a, SA(Z), "nobody:x");
    }
    struct sockaddr_storage last = v4("10.1.11.249");
    tap_ok(zc_auth_throttled(a, SA(last), "nobody:x") > 0,
           "throttle: after 3000 addresses the newest is still blocked");
    tap_ok(zc_auth_throttled(a, NULL, "test:tester3") == 0, "throttle: no address, known user");
    zc_auth_free(a);

    /* 0 turns the limits off; a window ends */
    cfg.login_failures = 0;
    cfg.login_failures_user = 0;
    a = zc_auth_new(&cfg);
    for (int i = 0; i < 50; i++)
        zc_auth_failed(a, SA(A), "test:tester");
    tap_ok(zc_auth_throttled(a, SA(A), "test:tester") == 0, "throttle: 0 means no limit");
    zc_auth_free(a);
    cfg.login_failures = 1;
    cfg.login_window = 1;
    a = zc_auth_new(&cfg);
    zc_auth_failed(a, SA(A), "nobody:x");
    tap_ok(zc_auth_throttled(a, SA(A), "nobody:x") > 0, "throttle: blocked in the window");
    sleep(2); /* past the 1 s window whatever the clock's phase */
    tap_ok(zc_auth_throttled(a, SA(A), "nobody:x") == 0, "throttle: free after the window");
    zc_auth_free(a);
    zc_config_release(&cfg);
}

static void scrub_is(const zc_exec_t *x, const char *in, const char *want)
{
    char *got = zc_exec_scrub(x, in);
    tap_ok(got && !strcmp(got, want), "scrub: '%s' -> '%s' (want '%s')", in, got ? got : "(null)",
           want);
    free(got);
}

static void scrub(void)
{
    zc_cx_t cx = {.jobs_dir = "/srv/zc/data/jobs", .data_dir = "/srv/zc/data"};
    zc_exec_t x = {.cx = &cx};
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%d/fd/26", (int)getpid());
    zc_exec_name_path(&x, proc, "swift://%s/%s/%s", "AUTH_t", "c", "o");
    zc_exec_name_path(&x, "/srv/zc/data/jobs/req-1/program.2", "swift://AUTH_t/c/prog");
    char in[256], want[256];
    snprintf(in, sizeof in, "image '%s': not a readable archive", proc);
    scrub_is(&x, in, "image 'swift://AUTH_t/c/o': not a readable archive");
    snprintf(in, sizeof in, "image '%s7': bad", proc); /* another descriptor */
    scrub_is(&x, in, "image '(server path)': bad");
    scrub_is(&x, "bad program (/srv/zc/data/jobs/req-1/program.2: ELF program for another machine)",
             "bad program (swift://AUTH_t/c/prog: ELF program for another machine)");
    scrub_is(&x, "cannot open /srv/zc/data/accounts/x/y.db: gone",
             "cannot open (server path): gone");
    scrub_is(&x, "unpacked at /tmp/zvm-cache/abc/def, then /var/tmp/x",
             "unpacked at (server path), then (server path)");
    scrub_is(&x, "Error 404 Not Found while fetching /AUTH_t/c/o",
             "Error 404 Not Found while fetching /AUTH_t/c/o");
    scrub_is(&x, "not a path: /srv/zc/database", "not a path: /srv/zc/database");
    snprintf(want, sizeof want, "%s", "killed by signal 11");
    scrub_is(&x, "killed by signal 11", want);
    /* an odd TMPDIR of "/" does not swallow object names */
    setenv("TMPDIR", "/", 1);
    scrub_is(&x, "Error 404 Not Found while fetching /AUTH_t/c/o",
             "Error 404 Not Found while fetching /AUTH_t/c/o");
    for (size_t i = 0; i < x.nnames; i++) {
        free(x.names[i].host);
        free(x.names[i].name);
    }
    free(x.names);
}

int main(void)
{
    secret_equal();
    logins();
    throttle();
    scrub();
    return tap_done();
}
