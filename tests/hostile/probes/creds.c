/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: become root or regain capabilities - setuid(0), setresuid,
 * setgid(0), setgroups, capset (everything), chown a file to root,
 * ambient capabilities, securebits, raising rlimits.
 * Expected: all fail; /proc/self/status shows CapEff/CapPrm/CapBnd/CapAmb
 * all zero, NoNewPrivs 1, Seccomp 2, and uid/gid 1000.
 */
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "probe.h"

static void status_field(const char *status, const char *key, const char *want)
{
    const char *p = strstr(status, key);
    char val[64] = "?";
    if (p && sscanf(p + strlen(key), " %63s", val) == 1 && strcmp(val, want) == 0)
        say("OK %s %s\n", key, val);
    else
        say("ESCAPED %s is %s (want %s)\n", key, val, want);
}

int main(void)
{
    EXPECT_FAIL("setuid(0)", setuid(0));
    EXPECT_FAIL("setresuid(0,0,0)", setresuid(0, 0, 0));
    EXPECT_FAIL("setgid(0)", setgid(0));
    gid_t g = 0;
    EXPECT_FAIL("setgroups([0])", setgroups(1, &g));
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2] = {{~0u, ~0u, ~0u}, {~0u, ~0u, ~0u}};
    EXPECT_FAIL("capset all", syscall(SYS_capset, &hdr, data));
    int fd = open("/tmp/mine", O_CREAT | O_WRONLY, 0644);
    EXPECT_FAIL("chown file to root", chown("/tmp/mine", 0, 0));
    EXPECT_FAIL("fchown file to root", fchown(fd, 0, 0));
    EXPECT_FAIL("chmod setuid on own file then setuid(0)", (chmod("/tmp/mine", 04755), setuid(0)));
    EXPECT_FAIL("PR_CAP_AMBIENT_RAISE CAP_SYS_ADMIN",
                prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0));
    EXPECT_FAIL("PR_SET_SECUREBITS 0", prctl(PR_SET_SECUREBITS, 0, 0, 0, 0));
    EXPECT_FAIL("PR_SET_NO_NEW_PRIVS 0", prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0));
    struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
    EXPECT_FAIL("raise RLIMIT_NPROC", setrlimit(RLIMIT_NPROC, &rl));
    EXPECT_FAIL("raise RLIMIT_AS", setrlimit(RLIMIT_AS, &rl));
    if (getuid() == 1000 && geteuid() == 1000 && getgid() == 1000 && getegid() == 1000)
        say("OK uid/gid 1000\n");
    else
        say("ESCAPED ids %d/%d/%d/%d\n", (int)getuid(), (int)geteuid(), (int)getgid(), (int)getegid());
    char status[8192] = {0};
    int sfd = open("/proc/self/status", O_RDONLY);
    if (sfd < 0 || read(sfd, status, sizeof status - 1) <= 0) {
        say("FAIL read /proc/self/status: %s\n", ename(errno));
        return 2;
    }
    status_field(status, "CapInh:", "0000000000000000");
    status_field(status, "CapPrm:", "0000000000000000");
    status_field(status, "CapEff:", "0000000000000000");
    status_field(status, "CapBnd:", "0000000000000000");
    status_field(status, "CapAmb:", "0000000000000000");
    status_field(status, "NoNewPrivs:", "1");
    status_field(status, "Seccomp:", "2");
    done();
    return 0;
}
