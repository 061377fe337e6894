/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zvsh internals: the configuration file (config.c), the plan of one run
 * built from the options and the configuration (plan.c), and the types they
 * share with the command (src/cli/zvsh.c).
 *
 * Errors follow libzvm's style (a negative return and a zvm_error_t), with
 * the class of the failure as the negated zerovm exit status it stands for:
 * -ZVSH_BAD (bad configuration, image or argument: what zerovm would call a
 * bad manifest), -ZVSH_NOT_FOUND (no such program), -ZVSH_SANDBOX (the host
 * failed us).  The command turns the class into its exit status.
 */
#ifndef ZVSH_ZVSH_H
#define ZVSH_ZVSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zvm/error.h"
#include "zvm/nvram.h"

enum zvsh_class {
    ZVSH_BAD = 2,
    ZVSH_NOT_FOUND = 3,
    ZVSH_SANDBOX = 4,
};

/* [limits] and the channel limits: index as zvm_limit_t. */
#define ZVSH_LIMIT_DEFAULT 4294967296ull

/* An image: a tar or a directory shown at a mountpoint. */
typedef struct zvsh_image {
    char *path;           /* as given (relative paths already resolved for [fstab]) */
    char *mountpoint;     /* absolute */
    bool rw;
    unsigned line;        /* line in the config file, 0 for --zvm-image */
} zvsh_image_t;

typedef struct zvsh_env {
    char *name;
    char *value;
} zvsh_env_t;

/* ---- configuration (config.c) ------------------------------------------- */

typedef struct zvsh_config {
    char *path;           /* the file read, NULL when none was found */
    bool confined;        /* found in the current directory: [fstab] stays inside it */
    uint32_t node;        /* [manifest] Node, default 1 */
    uint32_t timeout;     /* [manifest] Timeout, default 50 */
    uint64_t memory;      /* [manifest] Memory, default 4294967296 */
    uint64_t limits[4];   /* [limits] reads rbytes writes wbytes */
    zvsh_env_t *env;      /* [env] */
    size_t nenv;
    zvsh_image_t *images; /* [fstab] */
    size_t nimages;
} zvsh_config_t;

/* The defaults of the spec, no file. */
void zvsh_config_init(zvsh_config_t *c);
/* Parse `text` (the file `path`, used in messages and to resolve relative
 * image paths).  Strict: an unknown section or key, a line that is not
 * `key = value`, a repeated key or a bad number is an error "PATH:LINE: ...". */
int zvsh_config_parse(zvsh_config_t *c, const char *text, const char *path, zvm_error_t *err);
/* Read explicit_path (--zvm-config) if given, else the first of ./zvsh.cfg,
 * ~/.zvsh.cfg, /etc/zvsh.cfg that exists (none is fine: the defaults stay).
 * ./zvsh.cfg is `confined`: an [fstab] image must resolve beneath the
 * current directory (no absolute path, no "..", no symlink leading out),
 * else an error naming the image. */
int zvsh_config_find(zvsh_config_t *c, const char *explicit_path, zvm_error_t *err);
void zvsh_config_release(zvsh_config_t *c);

/* Parse "MOUNTPOINT" / access words into an image (shared by --zvm-image and
 * [fstab]); takes nothing. */
int zvsh_image_set(zvsh_image_t *im, const char *path, const char *mountpoint,
                   const char *access, zvm_error_t *err);
void zvsh_image_release(zvsh_image_t *im);

/* ---- the plan of one run (plan.c) --------------------------------------- */

typedef struct zvsh_options {
    zvsh_image_t *images; /* --zvm-image, in order */
    size_t nimages;
    bool debug;           /* --zvm-debug: /dev/debug -> ./zvsh.log */
    bool trace;           /* --zvm-trace: show manifest and nvram on stderr */
    bool getrc;           /* --zvm-getrc */
    int verbosity;        /* --zvm-verbosity */
    const char *save_dir; /* --zvm-save-dir */
    const char *config;   /* --zvm-config: this file, trusted with host paths */
    char **cmd;           /* command and its arguments (in argv) */
    int ncmd;
} zvsh_options_t;

typedef struct zvsh_plan {
    char *program;        /* absolute host path */
    char *manifest;       /* manifest text */
    char *nvram;          /* nvram text */
    zvm_nvram_t nv;       /* what nvram says, before formatting */
} zvsh_plan_t;

/* Build the manifest and nvram for options o under config c; the nvram
 * channel's uri is nvram_path.  Creates missing @files (empty).  Returns 0
 * or -class with err filled. */
int zvsh_plan_build(zvsh_plan_t *p, const zvsh_options_t *o, const zvsh_config_t *c,
                    const char *nvram_path, zvm_error_t *err);
void zvsh_plan_release(zvsh_plan_t *p);

#endif
