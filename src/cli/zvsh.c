/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `zvsh [--zvm-*] command [args...]`: run one program in the sandbox
 * without writing a manifest.
 *
 * This file owns the command line, the work directory (a private temporary
 * one, removed at the end, or --zvm-save-dir, kept), writing the manifest
 * and nvram there, running the `zerovm` binary on them and turning its
 * report into zvsh's exit status.  What goes into the manifest and nvram is
 * src/zvsh/plan.c's; zvsh.cfg is src/zvsh/config.c's.
 *
 * The program's stdin, stdout and stderr are zvsh's own (zerovm passes its
 * standard streams through); the report goes to a file of the work dir
 * (`zerovm --report-file`) and is read back, never mixed with the output.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zvm/locate.h"
#include "zvsh/zvsh.h"

extern char **environ;

static void usage(FILE *out)
{
    fputs("usage: zvsh [options] command [args...]\n"
          "\n"
          "Run one program in the zerovm sandbox, with a generated manifest and nvram.\n"
          "\n"
          "options (all before the command):\n"
          "  --zvm-image PATH[,MOUNTPOINT[,ACCESS]]\n"
          "                       show a tar file or a directory at MOUNTPOINT (default /),\n"
          "                       ACCESS ro (default) or rw (writes vanish at exit; wo = rw);\n"
          "                       repeatable.  The command is first looked up in the images\n"
          "  --zvm-debug          add a /dev/debug channel written to ./zvsh.log\n"
          "  --zvm-trace          print the generated manifest and nvram (and the report) on stderr\n"
          "  --zvm-verbosity N    nvram [debug] verbosity=N (0..4)\n"
          "  --zvm-getrc          exit with the sandbox's own code instead of the program's\n"
          "  --zvm-save-dir DIR   write manifest.N, nvram.N, report.N to DIR and keep them\n"
          "  --zvm-config FILE    read FILE instead of looking for zvsh.cfg; its [fstab] may\n"
          "                       name any host path\n"
          "  -h, --help           show this help\n"
          "  --version            show the version\n"
          "  --                   end of options (for a command starting with '-')\n"
          "\n"
          "arguments:\n"
          "  @NAME=VALUE          (NAME in [_A-Z0-9]+) an environment variable, removed from argv\n"
          "  @FILE                the host FILE (created empty if missing) as a channel; the\n"
          "                       program sees /dev/K.BASENAME instead (K counts the @files)\n"
          "\n"
          "the command is, in this order: a member of a --zvm-image (or zvsh.cfg [fstab]) image\n"
          "with that name; a system image (python3, python, python2.7); a host file.\n"
          "\n"
          "configuration: --zvm-config FILE, else the first of ./zvsh.cfg, ~/.zvsh.cfg,\n"
          "/etc/zvsh.cfg (the [fstab] images of ./zvsh.cfg must be inside the current directory):\n"
          "  [manifest] Timeout = 50, Memory = 4294967296, Node = 1, Version = 20130611\n"
          "  [limits]   reads, rbytes, writes, wbytes (default 4294967296 each)\n"
          "  [env]      NAME = value\n"
          "  [fstab]    /path/image.tar = /mountpoint ro|rw\n"
          "\n"
          "environment: ZEROVM names the zerovm binary (default: next to zvsh, then PATH).\n"
          "\n"
          "exit status: program_rc | (sandbox_rc << 4), where sandbox_rc is zerovm's: 0 ran to\n"
          "its end, 1 stopped (timeout, memory, signal, trap), 2 bad manifest, configuration or\n"
          "image, 3 program not found or refused, 4 sandbox error.  With --zvm-getrc,\n"
          "sandbox_rc alone.  A program_rc above 255 (a wasm program's exit code is 32\n"
          "bits) counts as 255: never as success.  A usage error exits 2.\n",
          out);
}

/* ---- options ------------------------------------------------------------ */

static void options_release(zvsh_options_t *o)
{
    for (size_t i = 0; i < o->nimages; i++)
        zvsh_image_release(&o->images[i]);
    free(o->images);
    memset(o, 0, sizeof *o);
}

static int add_image(zvsh_options_t *o, const char *spec)
{
    char *copy = strdup(spec);
    zvsh_image_t *im = realloc(o->images, (o->nimages + 1) * sizeof *im);
    if (!copy || !im) {
        free(copy);
        if (im)
            o->images = im;
        fputs("zvsh: out of memory\n", stderr);
        return -1;
    }
    o->images = im;
    char *mp = strchr(copy, ',');
    char *acc = NULL;
    if (mp) {
        *mp++ = '\0';
        if ((acc = strchr(mp, ',')))
            *acc++ = '\0';
    }
    zvm_error_t err = {0};
    if (acc && strchr(acc, ',')) {
        fprintf(stderr, "zvsh: --zvm-image '%s': expected PATH[,MOUNTPOINT[,ACCESS]]\n", spec);
        free(copy);
        return -1;
    }
    int rc = zvsh_image_set(&im[o->nimages], copy, mp, acc, &err);
    free(copy);
    if (rc < 0) {
        fprintf(stderr, "zvsh: --zvm-image: %s\n", err.msg);
        return -1;
    }
    o->nimages++;
    return 0;
}

/* 0: run; 1: done, exit 0 (help); -1: usage error (already said), exit 2. */
static int parse_options(int argc, char **argv, zvsh_options_t *o)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(a, "--version") == 0) {
            puts("zvsh " ZVM_VERSION);
            return 1;
        }
        if (a[0] != '-')
            break;
        if (strncmp(a, "--zvm-", 6) != 0) {
            fprintf(stderr, "zvsh: unknown option '%s' (see zvsh --help)\n", a);
            return -1;
        }
        /* --zvm-NAME, --zvm-NAME=VALUE or --zvm-NAME VALUE */
        char name[64];
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), a);
        bool takes = strcmp(name, "--zvm-image") == 0 || strcmp(name, "--zvm-verbosity") == 0 ||
                     strcmp(name, "--zvm-save-dir") == 0 || strcmp(name, "--zvm-config") == 0;
        bool flag = strcmp(name, "--zvm-debug") == 0 || strcmp(name, "--zvm-trace") == 0 ||
                    strcmp(name, "--zvm-getrc") == 0;
        if (!takes && !flag) {
            fprintf(stderr, "zvsh: unknown option '%s' (see zvsh --help)\n", name);
            return -1;
        }
        if (flag && eq) {
            fprintf(stderr, "zvsh: option '%s' takes no value\n", name);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (takes && !value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "zvsh: option '%s' needs a value\n", name);
                return -1;
            }
            value = argv[++i];
        }
        if (strcmp(name, "--zvm-debug") == 0)
            o->debug = true;
        else if (strcmp(name, "--zvm-trace") == 0)
            o->trace = true;
        else if (strcmp(name, "--zvm-getrc") == 0)
            o->getrc = true;
        else if (strcmp(name, "--zvm-save-dir") == 0)
            o->save_dir = value;
        else if (strcmp(name, "--zvm-config") == 0)
            o->config = value;
        else if (strcmp(name, "--zvm-verbosity") == 0) {
            char *end;
            errno = 0;
            long v = strtol(value, &end, 10);
            if (!*value || *end || errno || v < 0 || v > 4) {
                fprintf(stderr, "zvsh: bad --zvm-verbosity '%s' (0..4)\n", value);
                return -1;
            }
            o->verbosity = (int)v;
        } else if (add_image(o, value) < 0) {
            return -1;
        }
    }
    if (i >= argc) {
        fputs("zvsh: no command given (see zvsh --help)\n", stderr);
        return -1;
    }
    o->cmd = argv + i;
    o->ncmd = argc - i;
    return 0;
}

/* ---- the work directory ------------------------------------------------- */

/* The work dir and the files zvsh puts there; removed unless kept. */
struct work {
    char *dir;
    bool keep;
    char *manifest, *nvram, *report;
};

static int work_open(struct work *w, const zvsh_options_t *o, uint32_t node)
{
    memset(w, 0, sizeof *w);
    if (o->save_dir) {
        w->keep = true;
        struct stat st;
        if (mkdir(o->save_dir, 0700) < 0 && errno != EEXIST) {
            fprintf(stderr, "zvsh: cannot create --zvm-save-dir '%s': %s\n", o->save_dir,
                    strerror(errno));
            return -1;
        }
        if (stat(o->save_dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "zvsh: --zvm-save-dir '%s' is not a directory\n", o->save_dir);
            return -1;
        }
        w->dir = realpath(o->save_dir, NULL);
    } else {
        const char *tmp = getenv("TMPDIR");
        if (!tmp || tmp[0] != '/')
            tmp = "/tmp";
        if (asprintf(&w->dir, "%s/zvsh.XXXXXX", tmp) < 0)
            w->dir = NULL;
        else if (!mkdtemp(w->dir)) {
            fprintf(stderr, "zvsh: cannot create a work directory in '%s': %s\n", tmp,
                    strerror(errno));
            free(w->dir);
            w->dir = NULL;
            return -1;
        }
    }
    if (!w->dir || asprintf(&w->manifest, "%s/manifest.%u", w->dir, node) < 0 ||
        asprintf(&w->nvram, "%s/nvram.%u", w->dir, node) < 0 ||
        asprintf(&w->report, "%s/report.%u", w->dir, node) < 0) {
        fputs("zvsh: out of memory\n", stderr);
        return -1;
    }
    return 0;
}

static void work_close(struct work *w)
{
    if (w->dir && !w->keep) {
        const char *files[] = {w->manifest, w->nvram, w->report};
        for (size_t i = 0; i < 3; i++)
            if (files[i])
                unlink(files[i]);
        rmdir(w->dir);
    }
    free(w->manifest);
    free(w->nvram);
    free(w->report);
    free(w->dir);
    memset(w, 0, sizeof *w);
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        done += (size_t)n;
    }
    return close(fd);
}

/* The report file, whole (small); NULL when absent or empty. */
static char *read_report(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = getdelim(&text, &cap, '\0', f);
    fclose(f);
    if (n <= 0) {
        free(text);
        return NULL;
    }
    return text;
}

/* ---- running zerovm ----------------------------------------------------- */


static volatile sig_atomic_t child_pid;

static void forward_signal(int sig)
{
    if (child_pid > 0)
        kill((pid_t)child_pid, sig);
}

/* Run zerovm on the work dir's manifest; returns its wait status or -1. */
static int run_zerovm(const char *zerovm, const struct work *w)
{
    char *args[] = {(char *)zerovm, "--quiet", "--report-file", w->report, w->manifest, NULL};
    posix_spawnattr_t attr;
    sigset_t def;
    posix_spawnattr_init(&attr);
    sigemptyset(&def);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGQUIT);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGHUP);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);

    /* While zerovm runs, a terminal's ^C or ^\ reaches it directly (same
     * process group): zvsh waits for its report.  A TERM or HUP sent to zvsh
     * alone is passed on. */
    struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward_signal};
    struct sigaction old_int, old_quit, old_term, old_hup;
    sigemptyset(&fwd.sa_mask);
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    sigaction(SIGTERM, &fwd, &old_term);
    sigaction(SIGHUP, &fwd, &old_hup);

    pid_t pid;
    int rc = posix_spawn(&pid, zerovm, NULL, &attr, args, environ);
    posix_spawnattr_destroy(&attr);
    int status = -1;
    if (rc != 0) {
        fprintf(stderr, "zvsh: cannot run '%s': %s\n", zerovm, strerror(rc));
    } else {
        child_pid = pid;
        while (waitpid(pid, &status, 0) < 0) {
            if (errno != EINTR) {
                fprintf(stderr, "zvsh: waiting for zerovm: %s\n", strerror(errno));
                status = -1;
                break;
            }
        }
        child_pid = 0;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    return status;
}

/* ---- main --------------------------------------------------------------- */

/* A code the 8 bits cannot hold (a wasm program's proc_exit(256)) becomes
 * 255: it must not turn into 0, success. */
static int status_of(const zvsh_options_t *o, uint32_t user_rc, int sandbox_rc)
{
    int rc = user_rc > 255 ? 255 : (int)user_rc;
    return o->getrc ? sandbox_rc : ((rc | (sandbox_rc << 4)) & 0xff);
}

/* The report's line n (1-based) copied into buf, or "" */
static const char *report_line(const char *report, int n, char *buf, size_t size)
{
    const char *s = report;
    for (int i = 1; s && i < n; i++)
        if ((s = strchr(s, '\n')))
            s++;
    buf[0] = '\0';
    if (s && *s)
        snprintf(buf, size, "%.*s", (int)strcspn(s, "\n"), s);
    return buf;
}

int main(int argc, char **argv)
{
    zvsh_options_t o = {0};
    int prc = parse_options(argc, argv, &o);
    if (prc != 0) {
        options_release(&o);
        return prc > 0 ? 0 : 2;
    }

    zvsh_config_t c;
    zvsh_plan_t plan = {0};
    struct work w = {0};
    zvm_error_t err = {0};
    char *zerovm = NULL, *report = NULL;
    int status;
    zvsh_config_init(&c);

    /* configuration, then the plan: nothing runs before both are good */
    if (zvsh_config_find(&c, o.config, &err) < 0) {
        fprintf(stderr, "zvsh: %s\n", err.msg);
        status = status_of(&o, 0, ZVSH_BAD);
        goto out;
    }
    if (work_open(&w, &o, c.node) < 0) {
        status = status_of(&o, 0, ZVSH_SANDBOX);
        goto out;
    }
    int rc = zvsh_plan_build(&plan, &o, &c, w.nvram, &err);
    if (rc < 0) {
        fprintf(stderr, "zvsh: %s\n", err.msg);
        status = status_of(&o, 0, -rc);
        goto out;
    }
    if (!(zerovm = zvm_locate_zerovm())) {
        fputs("zvsh: cannot find the zerovm binary (set ZEROVM, or install it next to zvsh or "
              "on PATH)\n",
              stderr);
        status = status_of(&o, 0, ZVSH_SANDBOX);
        goto out;
    }
    unlink(w.report); /* a report of an earlier run in --zvm-save-dir must not be read */
    if (write_file(w.manifest, plan.manifest) < 0 || write_file(w.nvram, plan.nvram) < 0) {
        fprintf(stderr, "zvsh: cannot write to '%s': %s\n", w.dir, strerror(errno));
        status = status_of(&o, 0, ZVSH_SANDBOX);
        goto out;
    }
    if (o.trace) {
        fprintf(stderr, "zvsh: %s:\n%szvsh: %s:\n%s", w.manifest, plan.manifest, w.nvram,
                plan.nvram);
        fflush(stderr);
    }
    fflush(stdout);

    int ws = run_zerovm(zerovm, &w);
    if (ws == -1) {
        status = status_of(&o, 0, ZVSH_SANDBOX);
        goto out;
    }
    int sandbox_rc;
    if (WIFSIGNALED(ws)) {
        int sig = WTERMSIG(ws);
        fprintf(stderr, "zvsh: zerovm was killed by signal %d (%s)\n", sig, strsignal(sig));
        bool asked = sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGKILL ||
                     sig == SIGQUIT;
        status = status_of(&o, 0, asked ? 1 : ZVSH_SANDBOX);
        goto out;
    }
    sandbox_rc = WEXITSTATUS(ws);
    report = read_report(w.report);
    if (!report) {
        fprintf(stderr, "zvsh: zerovm ('%s') exited with status %d and gave no report\n", zerovm,
                sandbox_rc);
        status = status_of(&o, 0, sandbox_rc ? sandbox_rc : ZVSH_SANDBOX);
        goto out;
    }
    if (o.trace)
        fprintf(stderr, "zvsh: report:\n%s", report);
    char line[ZVM_ERROR_MSG_MAX + 64];
    const char *rc_line = report_line(report, 3, line, sizeof line);
    char *rc_end;
    errno = 0;
    unsigned long long rc_value = strtoull(rc_line, &rc_end, 10);
    /* An unreadable line 3 is no success either. */
    uint32_t user_rc = errno || rc_end == rc_line || *rc_end || rc_value > UINT32_MAX
                           ? 255
                           : (uint32_t)rc_value;
    report_line(report, 6, line, sizeof line);
    if (strcmp(line, "ok") != 0)
        fprintf(stderr, "zvsh: %s\n", line[0] ? line : "incomplete report");
    status = status_of(&o, user_rc, sandbox_rc);
out:
    free(report);
    free(zerovm);
    zvsh_plan_release(&plan);
    work_close(&w);
    zvsh_config_release(&c);
    options_release(&o);
    return status;
}
