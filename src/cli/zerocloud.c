/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zerocloud: the object store server (Swift v1 storage API with auth v1.0)
 * and its compute half (ZeroCloud's X-Zerovm-Execute, open/1.0, api/1.0).
 * This file only reads the command line and the configuration, opens the
 * store, sets up compute, starts the server (src/cloud) and waits for
 * SIGINT or SIGTERM; everything else is src/cloud's.
 */
#include "cloud/cloud.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void usage(FILE *f)
{
    fputs("usage: zerocloud [--listen ADDR:PORT] [--data DIR] [--config FILE]\n"
          "\n"
          "A Swift-compatible object store (auth v1.0, accounts, containers, objects,\n"
          "ACLs) with an embedded store: object files plus one SQLite database per\n"
          "container, and ZeroCloud's compute: POST a job, an image or a #! script with\n"
          "X-Zerovm-Execute: 1.0; open/1.0 and api/1.0 apps.  Jobs run as `zerovm`\n"
          "processes ([compute] zerovm, else $ZEROVM, else next to zerocloud, else PATH).\n"
          "\n"
          "  --listen ADDR:PORT  address to serve (default 127.0.0.1:8080)\n"
          "  --data DIR          data directory, created if missing (default ./data)\n"
          "  --config FILE       configuration (INI: [server] [limits] [auth] [users]\n"
          "                      [compute])\n"
          "  --help              this text\n"
          "  --version           the version\n"
          "\n"
          "Without a [users] section the one user is test:tester, key testing, as in\n"
          "Swift's all-in-one, and the listen address must be a loopback one:\n"
          "  swift -A http://127.0.0.1:8080/auth/v1.0 -U test:tester -K testing stat\n"
          "\n"
          "One line per request goes to stderr: client method path status bytes time.\n"
          "GET / shows a status page.\n",
          f);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"data", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *listen = NULL, *data = NULL, *config = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'l': listen = optarg; break;
        case 'd': data = optarg; break;
        case 'c': config = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("zerocloud %s\n", ZVM_VERSION); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "zerocloud: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    zc_config_t cfg;
    zc_config_init(&cfg);
    char err[600];
    if (config && zc_config_load(&cfg, config, err, sizeof err) < 0) {
        fprintf(stderr, "zerocloud: %s\n", err);
        zc_config_release(&cfg);
        return 2;
    }
    if (listen || !cfg.listen) {
        free(cfg.listen);
        cfg.listen = strdup(listen ? listen : "127.0.0.1:8080");
    }
    if (data || !cfg.data_dir) {
        free(cfg.data_dir);
        cfg.data_dir = strdup(data ? data : "./data");
    }
    if (!cfg.listen || !cfg.data_dir) {
        fprintf(stderr, "zerocloud: out of memory\n");
        zc_config_release(&cfg);
        return 1;
    }
    /* The built-in user's key is public: it may serve this machine only. */
    if (cfg.nusers == 0) {
        struct sockaddr_storage addr;
        if (zc_listen_resolve(cfg.listen, &addr, err, sizeof err) < 0) {
            fprintf(stderr, "zerocloud: %s\n", err);
            zc_config_release(&cfg);
            return 2;
        }
        if (!zc_addr_is_loopback(&addr)) {
            fprintf(stderr,
                    "zerocloud: the built-in user test:tester (key testing) serves only a"
                    " loopback address, not '%s'; add users to a configuration file,\n"
                    "  [users]\n"
                    "  account:user = key .admin\n"
                    "and start with --config FILE\n",
                    cfg.listen);
            zc_config_release(&cfg);
            return 2;
        }
        const char *why = NULL;
        if (zc_user_add(&cfg, "test:tester", "testing .admin", &why) < 0) {
            fprintf(stderr, "zerocloud: %s\n", why);
            zc_config_release(&cfg);
            return 1;
        }
    }

    /* Signals are taken by sigwait below; the server's threads inherit the
     * mask.  A closed client socket must not kill the server. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Connections, object files and the descriptors jobs read through
     * all count against one limit: take what the hard limit allows. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }

    int rc = 1;
    zc_server_t srv = {.cfg = &cfg};
    if (zc_store_local_open(cfg.data_dir, cfg.fsync, cfg.open_containers, &srv.store, err,
                            sizeof err) < 0) {
        fprintf(stderr, "zerocloud: %s\n", err);
        goto out;
    }
    srv.auth = zc_auth_new(&cfg);
    if (!srv.auth) {
        fprintf(stderr, "zerocloud: out of memory\n");
        goto out;
    }
    srv.compute = cfg.exec_enabled ? zc_compute_new(&srv, err, sizeof err) : zc_compute_unavailable();
    if (!srv.compute) {
        fprintf(stderr, "zerocloud: %s\n", err);
        goto out;
    }
    if (zc_server_start(&srv, err, sizeof err) < 0) {
        fprintf(stderr, "zerocloud: %s\n", err);
        goto out;
    }
    fprintf(stderr, "zerocloud: listening on http://%s (data %s, %zu user%s, %s)\n",
            srv.host_port, cfg.data_dir, cfg.nusers, cfg.nusers == 1 ? "" : "s",
            cfg.threads ? "thread pool" : "thread per connection");
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "zerocloud: signal %d, stopping\n", sig);
    zc_server_stop(&srv);
    rc = 0;
out:
    if (srv.compute && srv.compute->free)
        srv.compute->free(srv.compute);
    zc_auth_free(srv.auth);
    if (srv.store)
        srv.store->ops->close(srv.store);
    zc_config_release(&cfg);
    return rc;
}
