/* SPDX-License-Identifier: Apache-2.0 */
/*
 * WASI args_get/environ_get: prints "argc N", "argv[i]=<arg>" and every
 * environment entry as "env <K=V>" (exactly what nvram [args] and [env]
 * give: the host's environment must not leak in), then "DONE"; rc 17.
 */
#include "wt.h"

extern char **environ;

int main(int argc, char **argv)
{
    say("argc %d\n", argc);
    for (int i = 0; i < argc; i++)
        say("argv[%d]=%s\n", i, argv[i]);
    for (char **e = environ; e && *e; e++)
        say("env %s\n", *e);
    const char *g = getenv("ZVM_GREETING");
    say("getenv ZVM_GREETING=%s\n", g ? g : "(null)");
    done();
    return 17;
}
