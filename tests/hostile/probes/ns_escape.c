/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attack: change the jail's namespaces or mounts - argv[1] selects one of
 *   mount_tmpfs umount_proc unshare_user unshare_mnt unshare_net setns_mnt
 *   clone_newuser clone_newns clone_newpid chroot pivot_root open_tree
 *   fsopen move_mount mount_setattr
 * Expected: the call kills the program ("killed by signal 31"); clone3
 * (mode clone3), whose flags seccomp cannot see, fails with ENOSYS instead
 * and the program carries on.
 */
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include "probe.h"

int main(int argc, char **argv)
{
    const char *mode = arg(argc, argv, 1, "unshare_user");
    long rc = -2;
    int nsfd = open("/proc/self/ns/mnt", O_RDONLY);
    say("TRY %s\n", mode);
    if (strcmp(mode, "mount_tmpfs") == 0)
        rc = mount("none", "/tmp", "tmpfs", 0, NULL);
    else if (strcmp(mode, "umount_proc") == 0)
        rc = umount2("/proc", MNT_DETACH);
    else if (strcmp(mode, "unshare_user") == 0)
        rc = unshare(CLONE_NEWUSER);
    else if (strcmp(mode, "unshare_mnt") == 0)
        rc = unshare(CLONE_NEWNS);
    else if (strcmp(mode, "unshare_net") == 0)
        rc = unshare(CLONE_NEWNET);
    else if (strcmp(mode, "setns_mnt") == 0)
        rc = setns(nsfd, 0);
    else if (strcmp(mode, "clone_newuser") == 0)
        rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
    else if (strcmp(mode, "clone_newns") == 0)
        rc = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, NULL, NULL, NULL, NULL);
    else if (strcmp(mode, "clone_newpid") == 0)
        rc = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
    else if (strcmp(mode, "chroot") == 0)
        rc = chroot("/tmp");
    else if (strcmp(mode, "pivot_root") == 0)
        rc = syscall(SYS_pivot_root, ".", ".");
    else if (strcmp(mode, "open_tree") == 0)
        rc = syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */);
    else if (strcmp(mode, "fsopen") == 0)
        rc = syscall(SYS_fsopen, "tmpfs", 0);
    else if (strcmp(mode, "move_mount") == 0)
        rc = syscall(SYS_move_mount, AT_FDCWD, "/proc", AT_FDCWD, "/tmp", 0);
    else if (strcmp(mode, "mount_setattr") == 0)
        rc = syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, NULL, 0);
    else if (strcmp(mode, "clone3") == 0) {
        struct clone_args ca = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
        rc = syscall(SYS_clone3, &ca, sizeof ca);
        if (rc == 0)
            _exit(0);
        if (rc < 0 && errno == ENOSYS) {
            say("BLOCKED clone3 CLONE_NEWUSER: ENOSYS\n");
            done();
            return 0;
        }
    } else
        say("FAIL unknown mode\n");
    if (rc == 0 && strncmp(mode, "clone", 5) == 0)
        _exit(0); /* the child of a successful clone */
    say("ESCAPED %s survived: returned %ld (%s)\n", mode, rc, rc < 0 ? ename(errno) : "ok");
    return 0;
}
