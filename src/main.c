/*
 * main.c: command line, configuration, signals, start and stop.
 *
 * sluice [--config FILE] [--override KEY=VALUE]... [--help] [--version]
 * sluice --probe HOST:PORT   (health check: one ApiVersions exchange)
 */
#include <ctype.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/probe.h"
#include "core/config.h"
#include "core/log.h"
#include "net/server.h"
#include "net/workpool.h"

extern char **environ;

static void
sl_main_usage(FILE *f)
{
    const sl_config_key_t *k;

    fprintf(
        f, "usage: sluice [--config FILE] [--override KEY=VALUE]...\n"
           "       sluice --probe HOST:PORT\n"
           "       sluice --help | --version\n\n"
           "A Kafka-wire-compatible broker. Configuration uses Kafka's names;\n"
           "KAFKA_* environment variables override the file (KAFKA_LOG_DIRS\n"
           "for log.dirs), and --override wins over both.\n\n"
           "--probe asks the broker at HOST:PORT for its API versions and\n"
           "exits 0 when it answers within 5 s (a health check).\n\nKeys:\n");
    for (k = sl_config_keys(); k->name != NULL; k++) {
        fprintf(f, "  %-28s %s (default: %s)\n", k->name, k->doc,
                k->dflt ? k->dflt : "unset");
    }
}

/* `sluice --probe HOST:PORT`: exit 0 when a broker answers ApiVersions. */
static int
sl_main_probe(const char *addr)
{
    sl_probe_result_t res;
    char why[512];

    if (sl_probe_run(addr, 5000, &res, why, sizeof(why)) != SL_OK) {
        fprintf(stderr, "sluice: probe failed: %s\n", why);
        return 1;
    }
    printf("sluice: %s answered ApiVersions (%d APIs)\n", addr,
           (int)res.api_keys);
    return 0;
}

static int
sl_main_config(int argc, char **argv, sl_config_t *cfg)
{
    const char *file = NULL;
    char why[256], *eq, *kv;
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            sl_main_usage(stdout);
            return 1;
        }
        if (strcmp(argv[i], "--help-apis") == 0) {
            /* What ApiVersions advertises: key, min, max, refused below. */
            size_t n, j;
            const sl_api_handler_t *h = sl_api_handlers(&n);
            for (j = 0; j < n; j++) {
                printf("%d\t%d\t%d\t%d\n", h[j].key, h[j].advertised_min,
                       h[j].max_version, h[j].min_version);
            }
            return 1;
        }
        if (strcmp(argv[i], "--help-keys") == 0) {
            /* Machine-readable key list: name, type, default, doc. */
            const sl_config_key_t *k;
            static const char *const types[] = {"string",  "int",  "long",
                                                "boolean", "list", "double"};
            for (k = sl_config_keys(); k->name != NULL; k++) {
                printf("%s\t%s\t%s\t%s\n", k->name,
                       (size_t)k->type < sizeof(types) / sizeof(types[0])
                           ? types[k->type]
                           : "?",
                       k->dflt ? k->dflt : "", k->doc);
            }
            return 1;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("sluice %s\n", SL_VERSION);
            return 1;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else if (strcmp(argv[i], "--override") == 0 && i + 1 < argc) {
            i++;
        } else {
            fprintf(stderr, "sluice: unknown argument \"%s\"\n", argv[i]);
            sl_main_usage(stderr);
            return -1;
        }
    }
    if (file != NULL && sl_config_load_file(cfg, file) != SL_OK) {
        return -1;
    }
    if (sl_config_load_env(cfg, environ) != SL_OK) {
        return -1;
    }
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--override") != 0) {
            if (strcmp(argv[i], "--config") == 0) {
                i++;
            }
            continue;
        }
        kv = argv[++i];
        eq = strchr(kv, '=');
        if (eq == NULL) {
            fprintf(stderr,
                    "sluice: --override expects KEY=VALUE, got \"%s\"\n", kv);
            return -1;
        }
        *eq = '\0';
        if (sl_config_set(cfg, kv, eq + 1, why, sizeof(why)) != SL_OK) {
            sl_log_error("config", "%s (from --override)", why);
            return -1;
        }
        *eq = '=';
    }
    return sl_config_check(cfg) == SL_OK ? 0 : -1;
}

/* The security protocol of listener <name> in a
 * listener.security.protocol.map value ("NAME:PROTO,..."), in a static
 * buffer; NULL when the name is not mapped. */
static const char *
sl_main_listener_protocol(const char *map, const char *name)
{
    static char proto[32];
    size_t nl = strlen(name), pl;
    const char *p = map, *colon, *end;

    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == ',') {
            p++;
        }
        end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }
        colon = memchr(p, ':', (size_t)(end - p));
        if (colon != NULL && (size_t)(colon - p) == nl &&
            strncmp(p, name, nl) == 0) {
            pl = (size_t)(end - colon - 1);
            if (pl >= sizeof(proto)) {
                return NULL;
            }
            memcpy(proto, colon + 1, pl);
            proto[pl] = '\0';
            return proto;
        }
        p = end;
    }
    return NULL;
}

/* TLS contexts of the listeners, indexed like sc->listeners. */
static sl_tls_ctx_t *sl_main_tls[SL_SERVER_MAX_LISTENERS];

/* Setting <key> of listener <name>: listener.name.<lower name>.<key> when
 * set, else the broker-wide <key>. NULL when neither is set. */
static const char *
sl_main_listener_opt(const sl_config_t *cfg, const char *name, const char *key)
{
    char full[256];
    size_t n;

    n = (size_t)snprintf(full, sizeof(full), "listener.name.%s.", name);
    if (n < sizeof(full)) {
        for (size_t i = 14; i < n; i++) {
            full[i] = (char)tolower((unsigned char)full[i]);
        }
        snprintf(full + n, sizeof(full) - n, "%s", key);
        if (sl_config_is_set(cfg, full)) {
            return sl_config_str(cfg, full);
        }
    }
    return sl_config_str(cfg, key);
}

/* PKCS12 when <type> says so or, unset, when the file is a .p12/.pfx. */
static const char *
sl_main_store_type(const char *type, const char *loc)
{
    size_t n;

    if (type != NULL && type[0] != '\0') {
        return type;
    }
    n = loc != NULL ? strlen(loc) : 0;
    if (n > 4 && (strcasecmp(loc + n - 4, ".p12") == 0 ||
                  strcasecmp(loc + n - 4, ".pfx") == 0)) {
        return "PKCS12";
    }
    return "PEM";
}

/* Build the TLS context of listener <i> from its ssl.* settings. */
static int
sl_main_listener_tls(const sl_config_t *cfg, sl_server_config_t *sc, int i)
{
    const char *name = sc->listeners[i].name;
    sl_tls_opts_t o;
    char why[512];
    int ca;

    memset(&o, 0, sizeof(o));
    o.keystore_location =
        sl_main_listener_opt(cfg, name, "ssl.keystore.location");
    o.keystore_type =
        sl_main_store_type(sl_main_listener_opt(cfg, name, "ssl.keystore.type"),
                           o.keystore_location);
    o.keystore_password =
        sl_main_listener_opt(cfg, name, "ssl.keystore.password");
    o.key_password = sl_main_listener_opt(cfg, name, "ssl.key.password");
    o.keystore_cert_chain =
        sl_main_listener_opt(cfg, name, "ssl.keystore.certificate.chain");
    o.keystore_key = sl_main_listener_opt(cfg, name, "ssl.keystore.key");
    o.truststore_location =
        sl_main_listener_opt(cfg, name, "ssl.truststore.location");
    o.truststore_type = sl_main_store_type(
        sl_main_listener_opt(cfg, name, "ssl.truststore.type"),
        o.truststore_location);
    o.truststore_password =
        sl_main_listener_opt(cfg, name, "ssl.truststore.password");
    o.truststore_certificates =
        sl_main_listener_opt(cfg, name, "ssl.truststore.certificates");
    o.enabled_protocols =
        sl_main_listener_opt(cfg, name, "ssl.enabled.protocols");
    o.cipher_suites = sl_main_listener_opt(cfg, name, "ssl.cipher.suites");
    o.principal_mapping_rules =
        sl_main_listener_opt(cfg, name, "ssl.principal.mapping.rules");
    ca = sl_tls_parse_client_auth(
        sl_main_listener_opt(cfg, name, "ssl.client.auth"));
    if (ca < 0) {
        sl_log_error("config",
                     "invalid value for ssl.client.auth of listener %s "
                     "(expected none, requested or required)",
                     name);
        return -1;
    }
    o.client_auth = (sl_tls_client_auth_e)ca;
    sl_main_tls[i] = sl_tls_ctx_create(&o, why, sizeof(why));
    if (sl_main_tls[i] == NULL) {
        sl_log_error("config", "cannot set up TLS for listener %s: %s", name,
                     why);
        return -1;
    }
    sc->listeners[i].tls = sl_main_tls[i];
    return 0;
}

static void
sl_main_tls_free(void)
{
    for (int i = 0; i < SL_SERVER_MAX_LISTENERS; i++) {
        sl_tls_ctx_destroy(sl_main_tls[i]);
        sl_main_tls[i] = NULL;
    }
}

/* SIGHUP: reload every listener's certificates; connections stay up. */
static void
sl_main_reload_tls(const sl_server_config_t *sc)
{
    char why[512];

    for (int i = 0; i < sc->nlisteners; i++) {
        if (sl_main_tls[i] == NULL) {
            continue;
        }
        if (sl_tls_ctx_reload(sl_main_tls[i], why, sizeof(why)) == SL_OK) {
            sl_log_info("main", "TLS certificates reloaded listener=%s",
                        sc->listeners[i].name);
        } else {
            sl_log_error("main",
                         "TLS reload failed, keeping the old certificates "
                         "listener=%s reason=\"%s\"",
                         sc->listeners[i].name, why);
        }
    }
}

static int
sl_main_server_config(const sl_config_t *cfg, sl_server_config_t *sc)
{
    const char *why = NULL;
    int n;

    memset(sc, 0, sizeof(*sc));
    n = sl_server_parse_listeners(sl_config_str(cfg, "listeners"),
                                  sc->listeners, SL_SERVER_MAX_LISTENERS, &why);
    if (n < 0) {
        sl_log_error("config",
                     "invalid value for listeners: %s (expected "
                     "NAME://host:port[,NAME://host:port...])",
                     why);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const char *proto = sl_main_listener_protocol(
            sl_config_str(cfg, "listener.security.protocol.map"),
            sc->listeners[i].name);

        for (int j = 0; j < i; j++) {
            if (strcmp(sc->listeners[i].name, sc->listeners[j].name) == 0) {
                sl_log_error("config",
                             "invalid value for listeners: listener "
                             "name %s appears twice",
                             sc->listeners[i].name);
                return -1;
            }
        }
        if (proto == NULL) {
            sl_log_error("config",
                         "invalid value for listeners: listener %s "
                         "has no entry in listener.security.protocol.map",
                         sc->listeners[i].name);
            return -1;
        }
        if (strcmp(proto, "PLAINTEXT") != 0 && strcmp(proto, "SSL") != 0 &&
            strcmp(proto, "SASL_PLAINTEXT") != 0 &&
            strcmp(proto, "SASL_SSL") != 0) {
            sl_log_error("config",
                         "invalid value for listeners: listener %s "
                         "uses security protocol %s, not supported "
                         "(allowed: PLAINTEXT, SSL, SASL_PLAINTEXT, "
                         "SASL_SSL)",
                         sc->listeners[i].name, proto);
            return -1;
        }
        snprintf(sc->listeners[i].protocol, sizeof(sc->listeners[i].protocol),
                 "%s", proto);
        if ((strcmp(proto, "SSL") == 0 || strcmp(proto, "SASL_SSL") == 0) &&
            sl_main_listener_tls(cfg, sc, i) != 0) {
            return -1;
        }
    }
    sc->nlisteners = n;
    sc->socket_request_max_bytes =
        sl_config_int(cfg, "socket.request.max.bytes");
    sc->max_connections = sl_config_int(cfg, "max.connections");
    sc->connections_max_idle_ms =
        sl_config_long(cfg, "connections.max.idle.ms");
    sc->network_threads = sl_config_int(cfg, "num.network.threads");
    sc->queued_max_request_bytes =
        sl_config_long(cfg, "queued.max.request.bytes");
    sc->preauth_max_bytes = sl_config_int(cfg, "sasl.server.max.receive.size");
    sc->max_connections_per_ip = sl_config_int(cfg, "max.connections.per.ip");
    sc->handshake_timeout_ms =
        sl_config_long(cfg, "sluice.handshake.timeout.ms");
    return 0;
}

int
main(int argc, char **argv)
{
    struct timespec t0, t1;
    sl_config_t *cfg;
    sl_server_config_t sc;
    sl_server_t *srv = NULL;
    sl_workpool_t *wp = NULL;
    sl_api_t *api = NULL;
    sigset_t sigs;
    int rc = 1, lvl, sig = 0;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (argc >= 2 && strcmp(argv[1], "--probe") == 0) {
        if (argc != 3) {
            fprintf(stderr, "usage: sluice --probe HOST:PORT\n");
            return 2;
        }
        return sl_main_probe(argv[2]);
    }
    cfg = sl_config_create();
    if (cfg == NULL) {
        return 1;
    }
    switch (sl_main_config(argc, argv, cfg)) {
    case 1:
        sl_config_destroy(cfg);
        return 0;
    case 0:
        break;
    default:
        sl_config_destroy(cfg);
        return 2;
    }
    lvl = sl_log_parse_level(sl_config_str(cfg, "sluice.log.level"));
    sl_log_set_level(lvl < 0 ? SL_LOG_INFO : (sl_log_level_e)lvl);
    if (sl_main_server_config(cfg, &sc) != 0) {
        sl_main_tls_free();
        sl_config_destroy(cfg);
        return 2;
    }

    /* Signals are taken synchronously by this thread (sigwait); every
     * thread started below inherits the blocked mask. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    api = sl_api_create(cfg);
    if (api == NULL) {
        goto done;
    }
    wp = sl_workpool_create(sl_config_int(cfg, "num.io.threads"), "sl-io");
    if (wp == NULL) {
        sl_log_error("main", "cannot start worker threads");
        goto done;
    }
    srv = sl_server_create(&sc, wp, sl_api_handle, api);
    if (srv == NULL) {
        goto done;
    }
    sl_api_set_server(api, srv);
    if (sl_server_start(srv) != SL_OK || sl_api_metrics_start(api) != SL_OK) {
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    sl_log_info("main", "sluice started version=%s node.id=%d startup_ms=%.2f",
                SL_VERSION, (int)sl_config_int(cfg, "node.id"),
                (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    for (;;) {
        if (sigwait(&sigs, &sig) != 0) {
            continue;
        }
        if (sig != SIGHUP) {
            break;
        }
        sl_main_reload_tls(&sc);
    }
    sl_log_info("main", "shutting down signal=%s",
                sig == SIGTERM ? "SIGTERM" : "SIGINT");
    sl_api_drain(api);
    sl_server_stop(srv, 10000);
    rc = 0;

done:
    if (srv != NULL) {
        sl_server_stop(srv, 0); /* no-op when already stopped */
    }
    sl_workpool_destroy(wp); /* handlers done before storage closes */
    sl_api_destroy(api);
    sl_server_destroy(srv);
    if (rc == 0) {
        sl_log_info("main", "sluice stopped");
    }
    sl_main_tls_free();
    sl_config_destroy(cfg);
    return rc;
}
