#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bench/report.py: turn one bench/run.sh run into a table and a JSON file.

usage: report.py WORKDIR OUT_JSON

WORKDIR holds what run.sh left there:
  hf.*.json        hyperfine --export-json files, one per round (merged here)
  phases.json      bench/phases output (optional)
  meta.json        machine, tools, commands, notes (written by run.sh)
  count.*.txt      counts from strace: notify_hello, notify_py (supervisor
                   notifications per run), syscalls_py (optional)
  trace.K.N.txt    `perf trace` of zerovm runs (K = hello or py), for the timeline
  perf-dso.txt     perf report by shared object (optional)

Every ratio is computed from samples of the same run.  Standard library only.
"""
import glob
import json
import os
import re
import statistics
import sys

GOAL_HELLO_ADD_MS = 1.0     # zerovm adds at most 1 ms over bare exec (static hello)
GOAL_VS_BWRAP = 3.0         # zerovm at least 3x faster than bwrap (static hello)
GOAL_PY_RATIO = 1.1         # python3 -c pass under zerovm at most 1.1x bare

# name -> (label, baseline name)
SCENARIOS = [
    ("hello_bare", "hello: bare exec", None),
    ("hello_unshare", "hello: unshare -Umpfniu -r", "hello_bare"),
    ("hello_bwrap", "hello: bwrap --unshare-all --ro-bind / / --dev --proc", "hello_bare"),
    ("hello_bwrap_min", "hello: bwrap --unshare-all (hello bound alone)", "hello_bare"),
    ("hello_zerovm", "hello: zerovm (3 std channels)", "hello_bare"),
    ("hello_zerovm_1ch", "hello: zerovm (stdout channel only)", "hello_bare"),
    ("py_bare", "python3 -c pass: bare", None),
    ("py_zerovm", "python3 -c pass: zerovm", "py_bare"),
    ("zerovm_version", "zerovm -V (process start only)", "hello_bare"),
    ("stub_libc", "empty main, libc only", "hello_bare"),
    ("stub_seccomp", "empty main + libseccomp", "hello_bare"),
    ("stub_archive", "empty main + libarchive (and its deps)", "hello_bare"),
    ("stub_crypto", "empty main + libcrypto", "hello_bare"),
    ("stub_zvmlibs", "empty main + zerovm's DT_NEEDED libs", "hello_bare"),
]
UNPRIV = [
    ("u_hello_bare", "hello: bare exec", None),
    ("u_hello_unshare", "hello: unshare -Umpfniu -r", "u_hello_bare"),
    ("u_hello_bwrap", "hello: bwrap --unshare-all --ro-bind / / ...", "u_hello_bare"),
    ("u_hello_zerovm", "hello: zerovm", "u_hello_bare"),
    ("u_py_bare", "python3 -c pass: bare", None),
    ("u_py_zerovm", "python3 -c pass: zerovm", "u_py_bare"),
]


def load_hyperfine(workdir):
    """Merge the samples of every round: name -> list of seconds."""
    samples = {}
    for path in sorted(glob.glob(os.path.join(workdir, "hf.*.json"))):
        with open(path) as f:
            data = json.load(f)
        for r in data.get("results", []):
            samples.setdefault(r["command"], []).extend(r.get("times") or [])
    stats = {}
    for name, times in samples.items():
        if not times:
            continue
        ms = [t * 1e3 for t in times]
        stats[name] = {
            "n": len(ms),
            "mean_ms": statistics.fmean(ms),
            "sd_ms": statistics.stdev(ms) if len(ms) > 1 else 0.0,
            "median_ms": statistics.median(ms),
            "min_ms": min(ms),
        }
    return stats


TRACE_LINE = re.compile(
    r"^\s*(?P<ts>[\d.]+|\?)\s+\(\s*(?:(?P<dur>[\d.]+)\s*ms)?\s*\):\s+"
    r"(?P<comm>[^/\s]+)/(?P<pid>\d+)\s+(?P<rest>.*)$")

CONTINUED = re.compile(r"^\.\.\.\s*\[continued\]:\s*(?P<name>\w+)\((?P<tail>.*)$")

TIMELINE_PHASES = [
    ("start", "exec of zerovm done -> clone3 (ld.so, manifest, channels)"),
    ("clone3", "clone3: create the 7 namespaces"),
    ("jail_to_pivot", "id maps, sync, capture, root fs up to pivot_root"),
    ("umount_old_root", "umount2(old root, MNT_DETACH) after pivot_root"),
    ("jail_after_pivot", "then: host name, fds, rlimits, caps"),
    ("jail", "id maps, sync, root fs, ids, caps (until the filters)"),
    ("seccomp", "load the seccomp filters"),
    ("exec", "hand the listener over, execve the program"),
    ("program", "the program runs (supervised)"),
    ("teardown", "program exit -> zerovm exit (reap, namespaces, report)"),
]


def parse_trace(path):
    """Milestones (ms since zerovm's execve returned) of one `perf trace`."""
    events = []
    with open(path, errors="replace") as f:
        for line in f:
            mt = TRACE_LINE.match(line)
            if not mt or mt["ts"] == "?":
                continue
            rest = mt["rest"]
            cont = CONTINUED.match(rest)
            if cont:  # the end of an interrupted call: its start time and full duration
                rest = cont["name"] + "(" + cont["tail"]
            elif mt["dur"] is None and rest.rstrip().endswith("..."):
                continue  # interrupted; the "[continued]" line follows
            events.append((float(mt["ts"]), float(mt["dur"] or 0), int(mt["pid"]), rest))
    if not events:
        return None
    parent = events[0][2]
    ms = {}
    for ts, dur, pid, rest in events:
        if pid == parent:
            if rest.startswith("clone3(") and "clone_start" not in ms:
                ms["clone_start"], ms["clone_end"] = ts, ts + dur
            elif rest.startswith("exit_group("):
                ms["end"] = ts
        else:
            if rest.startswith("pivot_root("):
                ms["pivot"] = ts + dur
            elif rest.startswith("umount2(") and "pivot" in ms and "umount_end" not in ms:
                ms["umount_end"] = ts + dur
            elif rest.startswith("seccomp(op: FILTER"):
                ms.setdefault("seccomp_start", ts)
                ms["seccomp_end"] = ts + dur
            elif rest.startswith(("execve(", "execveat(")) and rest.rstrip().endswith("= 0"):
                ms["exec_end"] = ts + dur
            elif rest.startswith("exit_group("):
                ms["child_exit"] = ts
    need = ("clone_start", "clone_end", "seccomp_start", "seccomp_end", "exec_end",
            "child_exit", "end")
    if any(k not in ms for k in need):
        return None
    ph = {
        "start": ms["clone_start"],
        "clone3": ms["clone_end"] - ms["clone_start"],
        "seccomp": ms["seccomp_end"] - ms["seccomp_start"],
        "exec": ms["exec_end"] - ms["seccomp_end"],
        "program": ms["child_exit"] - ms["exec_end"],
        "teardown": ms["end"] - ms["child_exit"],
        "total": ms["end"],
    }
    if "pivot" in ms and ms["clone_end"] <= ms["pivot"] <= ms["seccomp_start"]:
        ph["jail_to_pivot"] = ms["pivot"] - ms["clone_end"]
        after = ms["pivot"]
        if "umount_end" in ms and ms["pivot"] <= ms["umount_end"] <= ms["seccomp_start"]:
            ph["umount_old_root"] = ms["umount_end"] - ms["pivot"]
            after = ms["umount_end"]
        ph["jail_after_pivot"] = ms["seccomp_start"] - after
    else:
        ph["jail"] = ms["seccomp_start"] - ms["clone_end"]
    return ph


def bare_exit(path):
    """ms from execve's return to exit_group in a trace of a bare program."""
    with open(path, errors="replace") as f:
        for line in f:
            mt = TRACE_LINE.match(line)
            if mt and mt["ts"] != "?" and mt["rest"].startswith("exit_group("):
                return float(mt["ts"])
    return None


def timeline(workdir, kind):
    runs = [t for t in (parse_trace(p) for p in
                        sorted(glob.glob(os.path.join(workdir, f"trace.{kind}.*.txt")))) if t]
    if not runs:
        return None
    out = {"runs": len(runs), "means": {}}
    for key in [k for k, _ in TIMELINE_PHASES] + ["total"]:
        vals = [r[key] for r in runs if key in r]
        if vals:
            out[key] = round(statistics.median(vals), 3)
            out["means"][key] = round(statistics.fmean(vals), 3)
    return out


def fmt_row(label, st, base):
    mean, sd = st["mean_ms"], st["sd_ms"]
    cols = f"{label:<52} {mean:8.2f} ± {sd:5.2f}  {st['median_ms']:8.2f}  {st['n']:5d}"
    if base:
        ratio = mean / base["mean_ms"]
        cols += f"  {ratio:6.2f}x  {mean - base['mean_ms']:+7.2f}"
    return cols


def print_table(title, rows, stats):
    print(f"\n{title}")
    print(f"{'scenario':<52} {'mean ± sd (ms)':>16}  {'median':>8}  {'runs':>5}  {'vs bare':>7}  {'+ms':>7}")
    print("-" * 104)
    for name, label, base in rows:
        if name not in stats:
            continue
        print(fmt_row(label, stats[name], stats.get(base) if base else None))


def main():
    workdir, out = sys.argv[1], sys.argv[2]
    with open(os.path.join(workdir, "meta.json")) as f:
        meta = json.load(f)
    hf = load_hyperfine(workdir)
    phases = []
    ppath = os.path.join(workdir, "phases.json")
    if os.path.exists(ppath):
        try:
            with open(ppath) as f:
                phases = json.load(f)
        except (json.JSONDecodeError, OSError) as e:
            print(f"report: cannot read phases output: {e}")
    ph = {p["name"]: p for p in phases if "mean_us" in p}

    def m(name):
        return hf[name]["mean_ms"] if name in hf else None

    def med(name):
        return hf[name]["median_ms"] if name in hf else None

    def p(name):
        return ph[name]["mean_us"] / 1e3 if name in ph else None

    print_table("Start-up, one run (hyperfine, merged rounds)", SCENARIOS, hf)
    if any(n in hf for n, _, _ in UNPRIV):
        print_table("Unprivileged (setpriv --reuid=65534 --regid=65534 --clear-groups, in both columns)",
                    UNPRIV, hf)

    # ---- goals -----------------------------------------------------------
    goals = []

    def goal(name, text, value, target, ok):
        # the same figure from medians, less sensitive to a noisy neighbour
        a, b = {"hello_add_ms": ("hello_zerovm", "hello_bare"),
                "vs_bwrap": ("hello_bwrap", "hello_zerovm"),
                "py_ratio": ("py_zerovm", "py_bare"),
                "unpriv_hello_add_ms": ("u_hello_zerovm", "u_hello_bare"),
                "unpriv_vs_bwrap": ("u_hello_bwrap", "u_hello_zerovm"),
                "unpriv_py_ratio": ("u_py_zerovm", "u_py_bare")}[name]
        vm = med(a) - med(b) if name.endswith("_ms") else med(a) / med(b)
        goals.append({"goal": name, "text": text, "value": value, "target": target,
                      "met": ok, "value_from_medians": round(vm, 3)})

    if m("hello_zerovm") is not None and m("hello_bare") is not None:
        add = m("hello_zerovm") - m("hello_bare")
        goal("hello_add_ms", "zerovm adds at most 1 ms over bare exec (static hello)",
             round(add, 3), GOAL_HELLO_ADD_MS, add <= GOAL_HELLO_ADD_MS)
    if m("hello_zerovm") is not None and m("hello_bwrap") is not None:
        x = m("hello_bwrap") / m("hello_zerovm")
        goal("vs_bwrap", "zerovm at least 3x faster than bwrap (static hello)",
             round(x, 3), GOAL_VS_BWRAP, x >= GOAL_VS_BWRAP)
    if m("py_zerovm") is not None and m("py_bare") is not None:
        x = m("py_zerovm") / m("py_bare")
        goal("py_ratio", "python3 -c pass under zerovm at most 1.1x bare",
             round(x, 3), GOAL_PY_RATIO, x <= GOAL_PY_RATIO)
    if m("u_hello_zerovm") is not None and m("u_hello_bare") is not None:
        add = m("u_hello_zerovm") - m("u_hello_bare")
        goal("unpriv_hello_add_ms", "unprivileged: zerovm adds at most 1 ms (static hello)",
             round(add, 3), GOAL_HELLO_ADD_MS, add <= GOAL_HELLO_ADD_MS)
    if m("u_hello_zerovm") is not None and m("u_hello_bwrap") is not None:
        x = m("u_hello_bwrap") / m("u_hello_zerovm")
        goal("unpriv_vs_bwrap", "unprivileged: zerovm at least 3x faster than bwrap",
             round(x, 3), GOAL_VS_BWRAP, x >= GOAL_VS_BWRAP)
    if m("u_py_zerovm") is not None and m("u_py_bare") is not None:
        x = m("u_py_zerovm") / m("u_py_bare")
        goal("unpriv_py_ratio", "unprivileged: python3 under zerovm at most 1.1x bare",
             round(x, 3), GOAL_PY_RATIO, x <= GOAL_PY_RATIO)

    print("\nGoals")
    for g in goals:
        unit = " ms" if g["goal"].endswith("_ms") else "x"
        print(f"  [{'met' if g['met'] else 'NOT met':>7}]  {g['text']}: {g['value']:.2f}{unit}"
              f" (target {g['target']}{unit}; from medians {g['value_from_medians']:.2f}{unit})")

    # ---- where zerovm's time goes ----------------------------------------
    # Medians here: a difference of two means is easily moved by a few
    # outliers from other work on the machine.
    def pmed(name):
        return ph[name]["median_us"] / 1e3 if name in ph else None

    breakdown = []
    total = None
    if med("hello_zerovm") is not None and med("hello_bare") is not None:
        total = med("hello_zerovm") - med("hello_bare")

    def item(key, text, value, how):
        if value is not None:
            breakdown.append({"item": key, "text": text, "ms": round(value, 3), "how": how})

    def diff(a, b):
        return None if a is None or b is None else a - b

    item("process_start", "start the zerovm binary (exec + ld.so, its DT_NEEDED libraries)",
         diff(med("zerovm_version"), med("hello_bare")), "hyperfine: zerovm -V minus bare hello")
    item("seccomp_build", "zerovm's filter set-up beyond loading ready BPF (e.g. a libseccomp build)",
         diff(pmed("seccomp_zvm_build_load"), pmed("seccomp_cached_load")),
         "phases: seccomp_zvm_build_load minus seccomp_cached_load")
    item("fork_big", "fork() of a process carrying those libraries (vs posix_spawn)",
         diff(pmed("spawn_bare"), pmed("spawn_vfork")), "phases: spawn_bare minus spawn_vfork")
    item("netns", "network namespace (creation + its share of teardown)",
         diff(pmed("jail_exec"), pmed("jail_nonet_exec")), "phases: jail_exec minus jail_nonet_exec")
    item("other_ns", "user/mnt/pid/ipc/uts/cgroup namespaces, id maps, sync socket",
         diff(pmed("jail_nonet_exec"), pmed("spawn_bare")), "phases: jail_nonet_exec minus spawn_bare")
    item("rootfs", "root fs (tmpfs, /dev binds, /proc, pivot_root), ids, caps",
         diff(pmed("jail_rootfs_exec"), pmed("jail_exec")), "phases: jail_rootfs_exec minus jail_exec")
    item("seccomp_load_supervise", "load the built BPF (kernel) + notification supervisor",
         diff(pmed("jail_rootfs_bpf_exec"), pmed("jail_rootfs_exec")),
         "phases: jail_rootfs_bpf_exec minus jail_rootfs_exec")
    if total is not None and breakdown:
        rest = total - sum(b["ms"] for b in breakdown)
        item("remainder", "everything else (manifest, channels, supervisor set-up, report, "
             "measurement mismatch)", rest,
             "total overhead minus the items above")
    breakdown.sort(key=lambda b: -b["ms"])
    if breakdown:
        print(f"\nWhere zerovm's overhead on the static hello goes"
              + (f" (total {total:.2f} ms over bare, medians)" if total is not None else ""))
        print("  (differences of medians from two tools; a negative or tiny item is noise)")
        for i, b in enumerate(breakdown, 1):
            share = f"{100 * b['ms'] / total:5.1f}%" if total else ""
            print(f"  {i}. {b['ms']:6.2f} ms {share}  {b['text']}")
        stubs = [(k, med(k)) for k in ("stub_libc", "stub_seccomp", "stub_archive", "stub_crypto",
                                     "stub_zvmlibs") if med(k) is not None]
        if stubs:
            print("     process start of an empty main() linked with: " +
                  ", ".join(f"{k[5:]} {v:.2f} ms" for k, v in stubs))

    # ---- a projection: the same isolation without the per-run costs -------
    projection = {}
    floor = pmed("jail_nonet_rootfs_bpf_exec")
    if floor is not None and pmed("spawn_bare") is not None and pmed("spawn_vfork") is not None \
            and med("hello_bare") is not None:
        lean = floor - (pmed("spawn_bare") - pmed("spawn_vfork"))
        projection = {
            "jail_rootfs_bpf_ms": round(pmed("jail_rootfs_bpf_exec"), 3)
            if pmed("jail_rootfs_bpf_exec") is not None else None,
            "no_netns_ms": round(floor, 3),
            "no_netns_lean_launcher_ms": round(lean, 3),
            "no_netns_lean_launcher_add_ms": round(lean - pmed("spawn_vfork"), 3),
        }
        print("\nProjection (phases; not zerovm itself): the same jail with pre-built filters, "
              "started from a process that is already running")
        if projection["jail_rootfs_bpf_ms"] is not None:
            print(f"  with the network namespace:                     "
                  f"{projection['jail_rootfs_bpf_ms']:.2f} ms")
        print(f"  without it:                                     {floor:.2f} ms")
        print(f"  without it, from a launcher without zerovm's libraries "
              f"(fork penalty removed): {lean:.2f} ms, i.e. "
              f"+{lean - pmed('spawn_vfork'):.2f} ms over vfork+exec of the hello")

    total_mean = (m("hello_zerovm") - m("hello_bare")
                  if m("hello_zerovm") is not None and m("hello_bare") is not None else None)

    # ---- python: fixed cost vs per-call cost ------------------------------
    notes = {}
    for path in glob.glob(os.path.join(workdir, "count.*.txt")):
        key = os.path.basename(path)[len("count."):-len(".txt")]
        with open(path) as f:
            try:
                notes[key] = int(f.read().strip() or 0)
            except ValueError:
                pass
    py = {}
    if m("py_zerovm") is not None and m("py_bare") is not None and total_mean is not None:
        py_add = m("py_zerovm") - m("py_bare")
        py = {"overhead_ms": round(py_add, 3), "fixed_ms_from_hello": round(total_mean, 3),
              "extra_ms": round(py_add - total_mean, 3)}
        print(f"\npython3 -c pass (means): +{py_add:.2f} ms under zerovm, of which "
              f"{total_mean:.2f} ms is the fixed cost seen with hello and "
              f"{py_add - total_mean:+.2f} ms is python-specific")
        if "notify_py" in notes and p("notify_rtt") is not None:
            rtt_ms = p("notify_rtt")
            py["notifications"] = notes["notify_py"]
            py["notify_rtt_us"] = round(rtt_ms * 1e3, 2)
            py["notifications_ms"] = round(notes["notify_py"] * rtt_ms, 3)
            print(f"  {notes['notify_py']} supervisor notifications x {rtt_ms * 1e3:.1f} us "
                  f"(round trip, phases notify_rtt) = {notes['notify_py'] * rtt_ms:.2f} ms")
            if p("notify_rtt_sync") is not None:
                sync_ms = p("notify_rtt_sync")
                py["notify_rtt_sync_us"] = round(sync_ms * 1e3, 2)
                print(f"  (with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: {sync_ms * 1e3:.1f} us each, "
                      f"{notes['notify_py'] * sync_ms:.2f} ms)")
        if ("syscalls_py" in notes and p("syscall_filtered") is not None
                and p("syscall_plain") is not None):
            per = p("syscall_filtered") - p("syscall_plain")
            py["syscalls"] = notes["syscalls_py"]
            py["filter_per_syscall_us"] = round(per * 1e3, 3)
            py["filters_ms"] = round(notes["syscalls_py"] * per, 3)
            print(f"  {notes['syscalls_py']} system calls x {per * 1e3:.2f} us for the two BPF "
                  f"filters (phases syscall_filtered - syscall_plain) = "
                  f"{notes['syscalls_py'] * per:.2f} ms")
        budget = m("py_bare") * (GOAL_PY_RATIO - 1)
        py["budget_ms_for_goal"] = round(budget, 3)
        print(f"  the 1.1x goal leaves a budget of {budget:.2f} ms of overhead for python")

    # ---- zerovm's own timeline (perf trace) -------------------------------
    timelines = {}
    for kind, label in (("hello", "static hello"), ("py", "python3 -c pass")):
        tl = timeline(workdir, kind)
        if not tl:
            continue
        timelines[kind] = tl
    if timelines:
        kinds = [k for k in timelines if isinstance(timelines[k], dict)]
        print("\nzerovm's timeline from `perf trace` (median / mean over "
              + ", ".join(f"{timelines[k]['runs']} {k}" for k in kinds)
              + " runs; tracing inflates every system call a little)")
        print(f"  {'phase':<56}" + "".join(f"{k + ' med/mean (ms)':>22}" for k in kinds))
        for key, text in TIMELINE_PHASES + [("total", "total, as traced")]:
            if any(key in timelines[k] for k in kinds):
                print(f"  {text:<56}" + "".join(
                    f"{timelines[k][key]:>13.2f} / {timelines[k]['means'][key]:5.2f}"
                    if key in timelines[k] else f"{'':>22}" for k in kinds))
        bare = [v for v in (bare_exit(p) for p in
                            glob.glob(os.path.join(workdir, "trace.pybare.*.txt"))) if v]
        if bare and "py" in timelines and "program" in timelines["py"]:
            b = statistics.median(bare)
            timelines["py_bare_traced_ms"] = round(b, 3)
            print(f"  python3 -c pass bare, traced the same way: {b:.2f} ms, so python itself runs "
                  f"{timelines['py']['program'] - b:+.2f} ms longer under zerovm")
        if "hello" in timelines and med("hello_zerovm") is not None:
            print(f"  (untraced, hyperfine median: {med('hello_zerovm'):.2f} ms for the hello, "
                  "which also includes the kernel's exec of zerovm itself)")

    if phases:
        print("\nbench/phases (in-process ladder, microseconds)")
        for ph_ in phases:
            if "mean_us" in ph_:
                print(f"  {ph_['name']:<28} {ph_['mean_us']:9.1f} ± {ph_['sd_us']:7.1f}  "
                      f"median {ph_['median_us']:9.1f}  {ph_['desc']}")
            else:
                print(f"  {ph_['name']:<28} skipped: {ph_['skipped']}")

    result = {
        "meta": meta,
        "scenarios": hf,
        "phases": phases,
        "goals": goals,
        "breakdown_ms": breakdown,
        "python": py,
        "projection": projection,
        "timeline_ms": timelines,
        "notifications": notes,
    }
    for key, fname in (("perf_dso", "perf-dso.txt"), ("perf_zerovm_children", "perf-zerovm.txt")):
        ppath = os.path.join(workdir, fname)
        if os.path.exists(ppath):
            with open(ppath) as f:
                result[key] = [l.rstrip() for l in f.read().splitlines()]
            print(f"\n{fname} (perf, 100 runs of zerovm on the hello)")
            for l in result[key][:25]:
                print("  " + l.strip())
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=2, sort_keys=False)
        f.write("\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
