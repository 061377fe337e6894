# SPDX-License-Identifier: Apache-2.0
"""What the suites say when the sandbox cannot run, so that they fail loudly.

A security suite that cannot start a sandbox must not pass by skipping: on
a machine without user namespaces every check of the hostile suite would
vanish.  bail() prints TAP's "Bail out!" (meson counts it as an error) and
exits 1; the reason names the kernel feature that is missing, read from
the sysctls that switch it off.

strict() says whether skips are failures: scripts/test.sh installs every
tool the suites need and then sets ZVM_TESTS_STRICT=1, so a case that
would skip for a missing tool fails there instead.
"""
import os
import sys


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def missing_kernel_features():
    """The features zerovm's jail needs that this kernel has switched off."""
    missing = []
    if _read("/proc/sys/user/max_user_namespaces") == "0":
        missing.append("user namespaces (user.max_user_namespaces is 0)")
    if _read("/proc/sys/kernel/unprivileged_userns_clone") == "0" and os.geteuid() != 0:
        missing.append("unprivileged user namespaces (kernel.unprivileged_userns_clone is 0)")
    if _read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1" and os.geteuid() != 0:
        missing.append("unprivileged user namespaces (AppArmor restricts them)")
    actions = _read("/proc/sys/kernel/seccomp/actions_avail")
    if actions is None:
        missing.append("seccomp filters (no /proc/sys/kernel/seccomp)")
    elif "user_notif" not in actions.split():
        missing.append("seccomp user notification (not in kernel.seccomp.actions_avail)")
    return missing


def bail(reason):
    """End the suite as failed: TAP's Bail out!, exit status 1."""
    print("Bail out! " + " ".join(reason.split()), flush=True)
    sys.exit(1)


def cannot_run(why):
    """Bail out because the sandbox did not start; name what the kernel lacks."""
    missing = missing_kernel_features()
    if missing:
        why += "; missing kernel feature: " + ", ".join(missing)
    bail(why)


def strict():
    return os.environ.get("ZVM_TESTS_STRICT", "") not in ("", "0")
