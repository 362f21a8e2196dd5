/*
 * core/config.c: the key table, properties parsing, env and overrides.
 */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"

#define I32MAX 2147483647LL
#define I64MAX 9223372036854775807LL
#define I64MIN (-I64MAX - 1)

/* Every key Sluice reads. Keep config/server.properties and
 * docs/configuration.md in step with this table. */
static const sl_config_key_t sl_config_table[] = {
    {"node.id", SL_CONFIG_INT, "1", 0, I32MAX, NULL,
     "Id of this broker (broker.id is an alias)."},
    {"broker.id", SL_CONFIG_INT, NULL, -1, I32MAX, NULL,
     "Alias of node.id, for ZooKeeper-era configs."},
    {"listeners", SL_CONFIG_LIST, "PLAINTEXT://:9092", 0, 0, NULL,
     "Listeners as NAME://host:port, comma-separated."},
    {"listener.security.protocol.map", SL_CONFIG_LIST,
     "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_"
     "SSL",
     0, 0, NULL,
     "Security protocol of each listener name (NAME:PROTOCOL, "
     "comma-separated)."},
    {"advertised.listeners", SL_CONFIG_LIST, NULL, 0, 0, NULL,
     "Addresses given to clients; defaults to listeners."},
    {"log.dirs", SL_CONFIG_LIST, NULL, 0, 0, NULL,
     "Data directory (the first entry is used)."},
    {"log.dir", SL_CONFIG_STRING, "/tmp/kafka-logs", 0, 0, NULL,
     "Data directory when log.dirs is not set."},
    {"socket.request.max.bytes", SL_CONFIG_INT, "104857600", 1, I32MAX, NULL,
     "Largest request frame accepted; larger ones close the connection."},
    {"max.connections", SL_CONFIG_INT, "2147483647", 0, I32MAX, NULL,
     "Connections accepted at once across listeners."},
    {"connections.max.idle.ms", SL_CONFIG_LONG, "600000", -1, I64MAX, NULL,
     "Idle connections are closed after this long (-1: never)."},
    {"num.network.threads", SL_CONFIG_INT, "3", 1, 64, NULL,
     "Network threads, each with its own reactor and connections."},
    {"num.io.threads", SL_CONFIG_INT, "8", 1, 256, NULL,
     "Worker threads that run request handlers."},
    {"queued.max.request.bytes", SL_CONFIG_LONG, "-1", -1, I64MAX, NULL,
     "Bytes of requests held before reading pauses (-1: no limit)."},
    {"max.incremental.fetch.session.cache.slots", SL_CONFIG_INT, "1000", 0,
     I32MAX, NULL, "Incremental fetch sessions kept (KIP-227)."},
    {"min.incremental.fetch.session.eviction.ms", SL_CONFIG_INT, "120000", 0,
     I32MAX, NULL, "Idle time before a fetch session may be evicted."},
    /* TLS (SSL and SASL_SSL listeners). Each may be given per listener as
     * listener.name.<name in lower case>.<key>. */
    {"ssl.keystore.type", SL_CONFIG_STRING, NULL, 0, 0, "PEM|PKCS12",
     "Format of the keystore (default: PKCS12 for .p12/.pfx files, else "
     "PEM)."},
    {"ssl.keystore.location", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "File with the server certificate chain and private key."},
    {"ssl.keystore.password", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "Password of a PKCS12 keystore."},
    {"ssl.key.password", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "Password of an encrypted PEM private key."},
    {"ssl.keystore.certificate.chain", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "Server certificate chain as inline PEM (with ssl.keystore.key)."},
    {"ssl.keystore.key", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "Server private key as inline PEM."},
    {"ssl.truststore.type", SL_CONFIG_STRING, NULL, 0, 0, "PEM|PKCS12",
     "Format of the truststore (default: PKCS12 for .p12/.pfx, else PEM)."},
    {"ssl.truststore.location", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "CA certificates that client certificates are verified against."},
    {"ssl.truststore.password", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "Password of a PKCS12 truststore."},
    {"ssl.truststore.certificates", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "Trusted CA certificates as inline PEM."},
    {"ssl.enabled.protocols", SL_CONFIG_LIST, "TLSv1.2,TLSv1.3", 0, 0, NULL,
     "TLS versions accepted (only TLSv1.2 and TLSv1.3 are ever enabled)."},
    {"ssl.cipher.suites", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "TLS 1.2 cipher list in OpenSSL syntax (default: OpenSSL's)."},
    {"ssl.client.auth", SL_CONFIG_STRING, "none", 0, 0,
     "none|requested|required",
     "Whether clients must present a certificate (mutual TLS)."},
    /* SASL (SASL_PLAINTEXT and SASL_SSL listeners); per listener as
     * listener.name.<name in lower case>.<key>. */
    {"sasl.enabled.mechanisms", SL_CONFIG_LIST, "PLAIN", 0, 0, NULL,
     "SASL mechanisms offered (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, "
     "OAUTHBEARER, GSSAPI)."},
    {"sasl.jaas.config", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "PlainLoginModule line with user_<name>=\"<password>\" options; "
     "listener.name.<l>.plain.sasl.jaas.config takes precedence."},
    {"sasl.oauthbearer.jwks.endpoint.url", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "OAUTHBEARER: JWKS file (file:///path) whose keys sign accepted JWTs; "
     "unset: unsecured tokens (alg none) only."},
    {"sasl.oauthbearer.expected.audience", SL_CONFIG_LIST, NULL, 0, 0, NULL,
     "OAUTHBEARER signed tokens: audiences, one of which the aud claim must "
     "hold."},
    {"sasl.oauthbearer.expected.issuer", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "OAUTHBEARER signed tokens: the iss claim they must carry."},
    {"sasl.oauthbearer.sub.claim.name", SL_CONFIG_STRING, "sub", 0, 0, NULL,
     "OAUTHBEARER signed tokens: the claim naming the principal."},
    {"sasl.oauthbearer.clock.skew.seconds", SL_CONFIG_INT, "30", 0, 86400, NULL,
     "OAUTHBEARER signed tokens: clock skew allowed for exp and nbf."},
    {"sasl.kerberos.service.name", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "GSSAPI: the Kerberos service name of the broker (kafka in "
     "service/host@REALM); unset: the primary of the gssapi JAAS "
     "principal."},
    {"sasl.server.max.receive.size", SL_CONFIG_INT, "524288", 1, I32MAX, NULL,
     "Largest frame accepted before a SASL connection has authenticated."},
    {"connection.failed.authentication.delay.ms", SL_CONFIG_INT, "100", 0,
     I32MAX, NULL,
     "Delay before the answer to a failed SASL authentication (then the "
     "connection closes)."},
    {"connections.max.reauth.ms", SL_CONFIG_LONG, "0", 0, I64MAX, NULL,
     "SASL session lifetime (KIP-368): clients must re-authenticate within "
     "it or their connection closes (0: sessions do not expire)."},
    {"max.connections.per.ip", SL_CONFIG_INT, "2147483647", 0, I32MAX, NULL,
     "Connections accepted at once from one IP address."},
    {"ssl.principal.mapping.rules", SL_CONFIG_STRING, "DEFAULT", 0, 0, NULL,
     "Rules mapping a client certificate's DN to a principal name "
     "(RULE:pattern/replacement/[LU],...,DEFAULT)."},
    {"authorizer.class.name", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "ACL authoriser: empty for none (everyone may do everything), "
     "org.apache.kafka.metadata.authorizer.StandardAuthorizer, "
     "kafka.security.authorizer.AclAuthorizer or sluice to check ACLs."},
    {"super.users", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "Principals that bypass ACLs, ';'-separated (User:admin;User:ops)."},
    {"allow.everyone.if.no.acl.found", SL_CONFIG_BOOL, "false", 0, 0, NULL,
     "Allow any principal on a resource that no ACL matches."},
    {"sluice.handshake.timeout.ms", SL_CONFIG_LONG, "10000", 0, I64MAX, NULL,
     "Connections that have not finished the TLS handshake or SASL "
     "authentication after this long are closed (0: never)."},
    {"sluice.log.level", SL_CONFIG_STRING, "info", 0, 0,
     "debug|info|warn|error|off", "Level of Sluice's own log lines."},
    {"sluice.acks.all.fsync", SL_CONFIG_BOOL, "true", 0, 0, NULL,
     "Whether acks=all waits until the data is fsynced (false: Kafka's rule, "
     "only the log.flush.* keys sync; dev containers)."},
    {"metrics.listener", SL_CONFIG_STRING, NULL, 0, 0, NULL,
     "Prometheus endpoint, http://host:port (GET /metrics); off when "
     "unset."},
    /* Topic creation and the broker-wide defaults of topic configs. The
     * names and defaults are Kafka 4.0's; cluster/topic_config.c maps each
     * topic config to the keys here that supply its default. */
    {"num.partitions", SL_CONFIG_INT, "1", 1, I32MAX, NULL,
     "Partitions of a topic created without a partition count."},
    {"default.replication.factor", SL_CONFIG_INT, "1", 1, 32767, NULL,
     "Replication factor of a topic created without one."},
    {"auto.create.topics.enable", SL_CONFIG_BOOL, "true", 0, 0, NULL,
     "Create a topic when a client asks for metadata of an unknown one."},
    {"delete.topic.enable", SL_CONFIG_BOOL, "true", 0, 0, NULL,
     "Whether DeleteTopics may delete topics."},
    {"log.segment.bytes", SL_CONFIG_INT, "1073741824", 1048576, I32MAX, NULL,
     "Size at which a log segment is closed and a new one started."},
    {"log.roll.ms", SL_CONFIG_LONG, NULL, 1, I64MAX, NULL,
     "Age at which a segment is rolled; overrides log.roll.hours."},
    {"log.roll.hours", SL_CONFIG_INT, "168", 1, I32MAX, NULL,
     "Age in hours at which a segment is rolled."},
    {"log.roll.jitter.ms", SL_CONFIG_LONG, NULL, 0, I64MAX, NULL,
     "Largest random amount taken off the roll age; overrides the hours."},
    {"log.roll.jitter.hours", SL_CONFIG_INT, "0", 0, I32MAX, NULL,
     "Largest random amount, in hours, taken off the roll age."},
    {"log.retention.ms", SL_CONFIG_LONG, NULL, -1, I64MAX, NULL,
     "Age after which segments are deleted (-1: keep forever); overrides "
     "the minutes and hours keys."},
    {"log.retention.minutes", SL_CONFIG_INT, NULL, -1, I32MAX, NULL,
     "Retention age in minutes; overrides log.retention.hours."},
    {"log.retention.hours", SL_CONFIG_INT, "168", -1, I32MAX, NULL,
     "Retention age in hours, used when neither ms nor minutes is set."},
    {"log.retention.bytes", SL_CONFIG_LONG, "-1", I64MIN, I64MAX, NULL,
     "Size a partition may keep before old segments go (-1: no limit)."},
    {"log.retention.check.interval.ms", SL_CONFIG_LONG, "300000", 1, I64MAX,
     NULL, "How often segments are checked against retention."},
    {"producer.id.expiration.ms", SL_CONFIG_LONG, "86400000", 1, I64MAX, NULL,
     "Idle time after which a partition forgets an idempotent producer "
     "(checked with retention)."},
    {"log.cleanup.policy", SL_CONFIG_LIST, "delete", 0, 0, "compact|delete",
     "What happens to old segments: delete, compact, or both."},
    {"log.index.size.max.bytes", SL_CONFIG_INT, "10485760", 4, I32MAX, NULL,
     "Largest size of a segment's offset index."},
    {"log.index.interval.bytes", SL_CONFIG_INT, "4096", 0, I32MAX, NULL,
     "Log bytes between two offset index entries."},
    {"log.flush.interval.messages", SL_CONFIG_LONG, "9223372036854775807", 1,
     I64MAX, NULL, "Messages appended to a partition between forced flushes."},
    {"log.flush.interval.ms", SL_CONFIG_LONG, NULL, 0, I64MAX, NULL,
     "Longest time appended data waits before a forced flush."},
    {"log.flush.scheduler.interval.ms", SL_CONFIG_LONG, "9223372036854775807",
     0, I64MAX, NULL, "How often partitions are checked for a due flush."},
    {"log.flush.offset.checkpoint.interval.ms", SL_CONFIG_INT, "60000", 0,
     I32MAX, NULL, "How often the recovery point checkpoint is written."},
    {"log.segment.delete.delay.ms", SL_CONFIG_LONG, "60000", 0, I64MAX, NULL,
     "Delay between removing a segment from the log and deleting its files."},
    {"log.preallocate", SL_CONFIG_BOOL, "false", 0, 0, NULL,
     "Preallocate segment files at their full size."},
    {"log.message.timestamp.type", SL_CONFIG_STRING, "CreateTime", 0, 0,
     "CreateTime|LogAppendTime",
     "Whether records keep the producer's timestamp or get the broker's."},
    {"log.message.timestamp.before.max.ms", SL_CONFIG_LONG,
     "9223372036854775807", 0, I64MAX, NULL,
     "How far in the past a CreateTime timestamp may be."},
    {"log.message.timestamp.after.max.ms", SL_CONFIG_LONG, "3600000", 0, I64MAX,
     NULL, "How far in the future a CreateTime timestamp may be."},
    {"log.local.retention.ms", SL_CONFIG_LONG, "-2", -2, I64MAX, NULL,
     "Local retention age with tiered storage (-2: use retention.ms)."},
    {"log.local.retention.bytes", SL_CONFIG_LONG, "-2", -2, I64MAX, NULL,
     "Local retention size with tiered storage (-2: use retention.bytes)."},
    {"message.max.bytes", SL_CONFIG_INT, "1048588", 0, I32MAX, NULL,
     "Largest record batch a partition accepts."},
    {"compression.type", SL_CONFIG_STRING, "producer", 0, 0,
     "uncompressed|zstd|lz4|snappy|gzip|producer",
     "Codec batches are stored with; producer keeps the producer's."},
    {"compression.gzip.level", SL_CONFIG_INT, "-1", -1, 9, NULL,
     "gzip level when the broker compresses (-1 or 1..9)."},
    {"compression.lz4.level", SL_CONFIG_INT, "9", 1, 17, NULL,
     "lz4 level when the broker compresses."},
    {"compression.zstd.level", SL_CONFIG_INT, "3", -131072, 22, NULL,
     "zstd level when the broker compresses."},
    {"min.insync.replicas", SL_CONFIG_INT, "1", 1, I32MAX, NULL,
     "In-sync replicas an acks=all write needs."},
    {"unclean.leader.election.enable", SL_CONFIG_BOOL, "false", 0, 0, NULL,
     "Whether a replica outside the ISR may become leader."},
    {"log.cleaner.enable", SL_CONFIG_BOOL, "true", 0, 0, NULL,
     "Run the log cleaner (needed by compacted topics)."},
    {"log.cleaner.threads", SL_CONFIG_INT, "1", 0, I32MAX, NULL,
     "Accepted; one background thread compacts logs, one at a time."},
    {"log.cleaner.backoff.ms", SL_CONFIG_LONG, "15000", 0, I64MAX, NULL,
     "How often the cleaner looks for compacted logs due for cleaning."},
    {"log.cleaner.dedupe.buffer.size", SL_CONFIG_LONG, "134217728", 0, I64MAX,
     NULL, "Most memory of the cleaner's key map (24 bytes a key)."},
    {"log.cleaner.delete.retention.ms", SL_CONFIG_LONG, "86400000", 0, I64MAX,
     NULL, "How long tombstones stay in compacted topics."},
    {"log.cleaner.min.compaction.lag.ms", SL_CONFIG_LONG, "0", 0, I64MAX, NULL,
     "Youngest a record may be to be compacted."},
    {"log.cleaner.max.compaction.lag.ms", SL_CONFIG_LONG, "9223372036854775807",
     1, I64MAX, NULL,
     "Oldest a record may get before it is eligible for compaction."},
    {"log.cleaner.min.cleanable.ratio", SL_CONFIG_DOUBLE, "0.5", 0, 1, NULL,
     "Dirty share of a log above which it is compacted."},
    {"group.min.session.timeout.ms", SL_CONFIG_INT, "6000", 0, I32MAX, NULL,
     "Shortest session timeout a group member may ask for."},
    {"group.max.session.timeout.ms", SL_CONFIG_INT, "1800000", 0, I32MAX, NULL,
     "Longest session timeout a group member may ask for."},
    {"group.initial.rebalance.delay.ms", SL_CONFIG_INT, "3000", 0, I32MAX, NULL,
     "How long the first rebalance of an empty group waits for more members."},
    {"group.max.size", SL_CONFIG_INT, "2147483647", 1, I32MAX, NULL,
     "Most members a classic group may have."},
    {"group.coordinator.rebalance.protocols", SL_CONFIG_LIST,
     "classic,consumer", 0, 0, "classic|consumer",
     "Group protocols served: consumer enables ConsumerGroupHeartbeat."},
    {"group.consumer.session.timeout.ms", SL_CONFIG_INT, "45000", 1, I32MAX,
     NULL, "Session timeout of consumer protocol (KIP-848) members."},
    {"group.consumer.heartbeat.interval.ms", SL_CONFIG_INT, "5000", 1, I32MAX,
     NULL, "Heartbeat interval given to consumer protocol members."},
    {"group.consumer.max.size", SL_CONFIG_INT, "2147483647", 1, I32MAX, NULL,
     "Most members a consumer protocol group may have."},
    {"group.consumer.assignors", SL_CONFIG_LIST, "uniform,range", 0, 0,
     "uniform|range", "Server-side assignors; the first is the default."},
    {"offsets.retention.minutes", SL_CONFIG_INT, "10080", 1, I32MAX, NULL,
     "How long committed offsets of an empty group are kept."},
    {"offsets.retention.check.interval.ms", SL_CONFIG_LONG, "600000", 1, I64MAX,
     NULL, "How often expired committed offsets are removed."},
    {"offset.metadata.max.bytes", SL_CONFIG_INT, "4096", 0, I32MAX, NULL,
     "Largest metadata string an offset commit may carry."},
    {"offsets.topic.num.partitions", SL_CONFIG_INT, "50", 1, I32MAX, NULL,
     "Partitions of __consumer_offsets (fixed once created)."},
    {"offsets.topic.replication.factor", SL_CONFIG_INT, "3", 1, 32767, NULL,
     "Replication factor of __consumer_offsets (capped by the brokers)."},
    {"transaction.state.log.num.partitions", SL_CONFIG_INT, "50", 1, I32MAX,
     NULL, "Partitions of __transaction_state (fixed once created)."},
    {"transaction.state.log.replication.factor", SL_CONFIG_INT, "3", 1, 32767,
     NULL,
     "Replication factor of __transaction_state (capped by the brokers)."},
    {"transaction.max.timeout.ms", SL_CONFIG_INT, "900000", 1, I32MAX, NULL,
     "Longest transaction.timeout.ms a transactional producer may ask for."},
    {"transactional.id.expiration.ms", SL_CONFIG_LONG, "604800000", 1, I64MAX,
     NULL, "How long an idle transactional id is kept before it is forgotten."},
    {"transaction.abort.timed.out.transaction.cleanup.interval.ms",
     SL_CONFIG_LONG, "10000", 1, I64MAX, NULL,
     "Longest pause of the transaction coordinator's timer (timed-out "
     "transactions are aborted at their deadline)."},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

typedef struct sl_config_kv_s {
    char *key;
    char *value;
} sl_config_kv_t;

struct sl_config_s {
    sl_config_kv_t *kv;
    size_t n, cap;
};

const sl_config_key_t *
sl_config_keys(void)
{
    return sl_config_table;
}

static const sl_config_key_t *
sl_config_find_key(const char *name)
{
    const sl_config_key_t *k;

    for (k = sl_config_table; k->name != NULL; k++) {
        if (strcmp(k->name, name) == 0) {
            return k;
        }
    }
    return NULL;
}

const sl_config_key_t *
sl_config_key_find(const char *name)
{
    return sl_config_find_key(name);
}

sl_config_t *
sl_config_create(void)
{
    return calloc(1, sizeof(sl_config_t));
}

void
sl_config_destroy(sl_config_t *cfg)
{
    size_t i;

    if (cfg == NULL) {
        return;
    }
    for (i = 0; i < cfg->n; i++) {
        free(cfg->kv[i].key);
        free(cfg->kv[i].value);
    }
    free(cfg->kv);
    free(cfg);
}

static sl_config_kv_t *
sl_config_find(const sl_config_t *cfg, const char *key)
{
    size_t i;

    for (i = 0; i < cfg->n; i++) {
        if (strcmp(cfg->kv[i].key, key) == 0) {
            return &cfg->kv[i];
        }
    }
    return NULL;
}

static bool
sl_config_parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    if (*s == '\0') {
        return false;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    while (isspace((unsigned char)*end)) {
        end++;
    }
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

static bool
sl_config_choice_ok(const char *choices, const char *v)
{
    size_t vl = strlen(v);
    const char *p = choices, *bar;

    while (p != NULL && *p != '\0') {
        bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vl && strncasecmp(p, v, len) == 0) {
            return true;
        }
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

/* Each comma-separated item (spaces around it ignored) is a choice; the
 * list has at least one item and no empty ones. */
static bool
sl_config_list_ok(const char *choices, const char *v)
{
    char item[128];
    const char *p = v, *comma, *b, *e;
    size_t len;

    for (;;) {
        comma = strchr(p, ',');
        e = comma ? comma : p + strlen(p);
        b = p;
        while (b < e && isspace((unsigned char)*b)) {
            b++;
        }
        while (e > b && isspace((unsigned char)e[-1])) {
            e--;
        }
        len = (size_t)(e - b);
        if (len == 0 || len >= sizeof(item)) {
            return false;
        }
        memcpy(item, b, len);
        item[len] = '\0';
        if (!sl_config_choice_ok(choices, item)) {
            return false;
        }
        if (comma == NULL) {
            return true;
        }
        p = comma + 1;
    }
}

static bool
sl_config_parse_double(const char *s, double *out)
{
    char *end;
    double d;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    if (*s == '\0') {
        return false;
    }
    errno = 0;
    d = strtod(s, &end);
    while (isspace((unsigned char)*end)) {
        end++;
    }
    if (errno != 0 || *end != '\0' || !isfinite(d)) {
        return false;
    }
    *out = d;
    return true;
}

static bool
sl_config_validate(const sl_config_key_t *k, const char *v, char *why,
                   size_t whylen)
{
    int64_t n;
    double d;

    switch (k->type) {
    case SL_CONFIG_INT:
    case SL_CONFIG_LONG:
        if (!sl_config_parse_int(v, &n) || n < k->min || n > k->max) {
            snprintf(why, whylen,
                     "invalid value \"%s\" for %s: expected an integer in "
                     "[%lld, %lld]",
                     v, k->name, (long long)k->min, (long long)k->max);
            return false;
        }
        return true;
    case SL_CONFIG_BOOL:
        if (strcasecmp(v, "true") != 0 && strcasecmp(v, "false") != 0) {
            snprintf(why, whylen,
                     "invalid value \"%s\" for %s: expected true or false", v,
                     k->name);
            return false;
        }
        return true;
    case SL_CONFIG_STRING:
        if (k->choices != NULL && !sl_config_choice_ok(k->choices, v)) {
            snprintf(why, whylen,
                     "invalid value \"%s\" for %s: expected one of %s", v,
                     k->name, k->choices);
            return false;
        }
        return true;
    case SL_CONFIG_LIST:
        if (k->choices != NULL && !sl_config_list_ok(k->choices, v)) {
            snprintf(why, whylen,
                     "invalid value \"%s\" for %s: expected a comma-separated "
                     "list of %s",
                     v, k->name, k->choices);
            return false;
        }
        return true;
    case SL_CONFIG_DOUBLE:
        if (!sl_config_parse_double(v, &d) || d < (double)k->min ||
            d > (double)k->max) {
            snprintf(why, whylen,
                     "invalid value \"%s\" for %s: expected a number in "
                     "[%lld, %lld]",
                     v, k->name, (long long)k->min, (long long)k->max);
            return false;
        }
        return true;
    }
    return true;
}

sl_err_t
sl_config_set(sl_config_t *cfg, const char *key, const char *value, char *why,
              size_t whylen)
{
    const sl_config_key_t *k = sl_config_find_key(key);
    sl_config_kv_t *kv;
    char *v;

    if (k != NULL && !sl_config_validate(k, value, why, whylen)) {
        return SL_ERR__INVAL;
    }
    v = strdup(value);
    if (v == NULL) {
        return SL_ERR__NOMEM;
    }
    kv = sl_config_find(cfg, key);
    if (kv != NULL) {
        free(kv->value);
        kv->value = v;
        return SL_OK;
    }
    if (cfg->n == cfg->cap) {
        size_t cap = cfg->cap ? cfg->cap * 2 : 32;
        sl_config_kv_t *p = realloc(cfg->kv, cap * sizeof(*p));
        if (p == NULL) {
            free(v);
            return SL_ERR__NOMEM;
        }
        cfg->kv = p;
        cfg->cap = cap;
    }
    cfg->kv[cfg->n].key = strdup(key);
    if (cfg->kv[cfg->n].key == NULL) {
        free(v);
        return SL_ERR__NOMEM;
    }
    cfg->kv[cfg->n].value = v;
    cfg->n++;
    return SL_OK;
}

static char *
sl_config_trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s)) {
        s++;
    }
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) {
        *--e = '\0';
    }
    return s;
}

sl_err_t
sl_config_load_file(sl_config_t *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[8192], why[256], *p, *sep, *key, *val;
    int lineno = 0;
    sl_err_t err = SL_OK;

    if (f == NULL) {
        sl_log_error("config", "cannot open config file path=%s errno=%d", path,
                     errno);
        return SL_ERR__IO;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        p = sl_config_trim(line);
        if (*p == '\0' || *p == '#' || *p == '!') {
            continue;
        }
        sep = strpbrk(p, "=:");
        if (sep == NULL) {
            sl_log_warn("config", "ignoring line without '=' path=%s line=%d",
                        path, lineno);
            continue;
        }
        *sep = '\0';
        key = sl_config_trim(p);
        val = sl_config_trim(sep + 1);
        if (sl_config_set(cfg, key, val, why, sizeof(why)) != SL_OK) {
            sl_log_error("config", "%s (path=%s line=%d)", why, path, lineno);
            err = SL_ERR__INVAL;
            break;
        }
    }
    fclose(f);
    return err;
}

sl_err_t
sl_config_load_env(sl_config_t *cfg, char **envp)
{
    char key[512], why[256];
    const char *e, *eq, *p;
    size_t n;

    for (; envp != NULL && *envp != NULL; envp++) {
        e = *envp;
        if (strncmp(e, "KAFKA_", 6) != 0) {
            continue;
        }
        eq = strchr(e, '=');
        if (eq == NULL) {
            continue;
        }
        /* Variables of the image's scripts, not configuration. */
        if (strncmp(e, "KAFKA_HEAP_OPTS=", 16) == 0 ||
            strncmp(e, "KAFKA_OPTS=", 11) == 0 ||
            strncmp(e, "KAFKA_JVM_", 10) == 0 ||
            strncmp(e, "KAFKA_LOG4J_", 12) == 0 ||
            strncmp(e, "KAFKA_JMX_", 10) == 0 ||
            strncmp(e, "KAFKA_GC_", 9) == 0 ||
            strncmp(e, "KAFKA_DEBUG", 11) == 0) {
            continue;
        }
        n = 0;
        for (p = e + 6; p < eq && n + 1 < sizeof(key); p++) {
            if (p + 2 < eq && p[0] == '_' && p[1] == '_' && p[2] == '_') {
                key[n++] = '-';
                p += 2;
            } else if (p + 1 < eq && p[0] == '_' && p[1] == '_') {
                key[n++] = '_';
                p += 1;
            } else if (*p == '_') {
                key[n++] = '.';
            } else {
                key[n++] = (char)tolower((unsigned char)*p);
            }
        }
        key[n] = '\0';
        if (sl_config_set(cfg, key, eq + 1, why, sizeof(why)) != SL_OK) {
            sl_log_error("config", "%s (from environment)", why);
            return SL_ERR__INVAL;
        }
    }
    return SL_OK;
}

sl_err_t
sl_config_check(sl_config_t *cfg)
{
    size_t i;

    for (i = 0; i < cfg->n; i++) {
        /* Per-listener settings are looked up by their full name. */
        if (sl_config_find_key(cfg->kv[i].key) == NULL &&
            strncmp(cfg->kv[i].key, "listener.name.", 14) != 0) {
            sl_log_warn("config", "unknown configuration key ignored key=%s",
                        cfg->kv[i].key);
        }
    }
    return SL_OK;
}

static const char *
sl_config_raw(const sl_config_t *cfg, const char *key)
{
    const sl_config_kv_t *kv = sl_config_find(cfg, key);
    const sl_config_key_t *k;

    if (kv != NULL) {
        return kv->value;
    }
    k = sl_config_find_key(key);
    if (k == NULL) {
        sl_log_error("config", "lookup of unknown key=%s", key);
        abort();
    }
    return k->dflt;
}

const char *
sl_config_str(const sl_config_t *cfg, const char *key)
{
    return sl_config_raw(cfg, key);
}

int64_t
sl_config_long(const sl_config_t *cfg, const char *key)
{
    const char *v = sl_config_raw(cfg, key);
    int64_t n = 0;

    if (v == NULL || !sl_config_parse_int(v, &n)) {
        return 0;
    }
    return n;
}

int32_t
sl_config_int(const sl_config_t *cfg, const char *key)
{
    return (int32_t)sl_config_long(cfg, key);
}

bool
sl_config_bool(const sl_config_t *cfg, const char *key)
{
    const char *v = sl_config_raw(cfg, key);

    return v != NULL && strcasecmp(v, "true") == 0;
}

bool
sl_config_is_set(const sl_config_t *cfg, const char *key)
{
    return sl_config_find(cfg, key) != NULL;
}

double
sl_config_double(const sl_config_t *cfg, const char *key)
{
    const char *v = sl_config_raw(cfg, key);
    double d = 0;

    if (v == NULL || !sl_config_parse_double(v, &d)) {
        return 0;
    }
    return d;
}
