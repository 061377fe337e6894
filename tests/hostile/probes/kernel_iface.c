/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: reach kernel interfaces with a long history of exploitable bugs,
 * or that change the host: argv[1] names the system call -
 *   bpf perf_event_open userfaultfd io_uring_setup keyctl add_key
 *   request_key kexec_load kexec_file_load pidfd_getfd kcmp personality
 *   modify_ldt fanotify_init syslog reboot swapon iopl ioperm acct
 *   settimeofday open_by_handle_at name_to_handle_at sethostname
 * Expected: the call kills the program ("killed by signal 31").
 */
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/time.h>

#include "probe.h"

struct call {
    const char *name;
    long nr;
    long a[6];
};

int main(int argc, char **argv)
{
    const char *mode = arg(argc, argv, 1, "bpf");
    static char mem[4096];
    static struct timeval tv;
    long p = (long)mem;
    const struct call calls[] = {
        {"bpf", SYS_bpf, {5 /* BPF_PROG_LOAD */, p, 128}},
        {"perf_event_open", SYS_perf_event_open, {p, 0, -1, -1, 0}},
        {"userfaultfd", SYS_userfaultfd, {0}},
        {"io_uring_setup", SYS_io_uring_setup, {8, p}},
        {"keyctl", SYS_keyctl, {0 /* KEYCTL_GET_KEYRING_ID */, -3, 0}},
        {"add_key", SYS_add_key, {(long)"user", (long)"k", p, 4, -3}},
        {"request_key", SYS_request_key, {(long)"user", (long)"k", 0, -3}},
        {"kexec_load", SYS_kexec_load, {0, 0, 0, 0}},
        {"kexec_file_load", SYS_kexec_file_load, {-1, -1, 0, 0, 0}},
        {"pidfd_getfd", SYS_pidfd_getfd, {0, 0, 0}},
        {"kcmp", SYS_kcmp, {1, 1, 0, 0, 0}},
        {"personality", SYS_personality, {0x0008 /* READ_IMPLIES_EXEC... */}},
        {"modify_ldt", SYS_modify_ldt, {0, p, 16}},
        {"fanotify_init", SYS_fanotify_init, {0, 0}},
        {"syslog", SYS_syslog, {3 /* READ_ALL */, p, 100}},
        {"reboot", SYS_reboot, {0xfee1dead, 672274793, 0x4321fedc /* POWER_OFF */, 0}},
        {"swapon", SYS_swapon, {(long)"/dev/zero", 0}},
        {"iopl", SYS_iopl, {3}},
        {"ioperm", SYS_ioperm, {0x80, 1, 1}},
        {"acct", SYS_acct, {(long)"/tmp/acct"}},
        {"settimeofday", SYS_settimeofday, {(long)&tv, 0}},
        {"open_by_handle_at", SYS_open_by_handle_at, {AT_FDCWD, p, O_RDONLY}},
        {"name_to_handle_at", SYS_name_to_handle_at, {AT_FDCWD, (long)"/", p, p + 2048, 0}},
        {"sethostname", SYS_sethostname, {(long)"pwned", 5}},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        const struct call *c = &calls[i];
        if (strcmp(c->name, mode) != 0)
            continue;
        say("TRY %s\n", mode);
        long rc = syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
        say("ESCAPED %s survived: returned %ld (%s)\n", mode, rc, rc < 0 ? ename(errno) : "ok");
        return 0;
    }
    say("FAIL unknown mode %s\n", mode);
    return 2;
}
