/* Unit tests for cluster/metastore: topic changes and every error path,
 * persistence across reopen, atomic writes under injected faults, damaged
 * files, meta.properties and the cluster id, reads and concurrency. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/metastore.h"
#include "cluster/metastore_int.h"
#include "core/crc32c.h"
#include "core/log.h"

typedef struct fx_s {
    char dir[64];
    char topics[128]; /* path of the topics file */
    sl_config_t *cfg;
    sl_metastore_t *ms;
    sl_arena_t *a;
} fx_t;

static char why[512];

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    return remove(p);
}

static int
setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    char w[256];

    snprintf(fx->dir, sizeof(fx->dir), "/tmp/sl-metastore-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        return -1;
    }
    snprintf(fx->topics, sizeof(fx->topics), "%s/__sluice_metadata/topics",
             fx->dir);
    fx->cfg = sl_config_create();
    sl_config_set(fx->cfg, "num.partitions", "3", w, sizeof(w));
    fx->a = sl_arena_create(4096, 64 << 20);
    if (sl_metastore_open(fx->dir, 1, fx->cfg, &fx->ms) != SL_OK) {
        return -1;
    }
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    fx_t *fx = *state;

    sl_metastore_close(fx->ms);
    sl_config_destroy(fx->cfg);
    sl_arena_destroy(fx->a);
    chmod(fx->dir, 0755);
    nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static void
reopen(fx_t *fx)
{
    sl_metastore_close(fx->ms);
    fx->ms = NULL;
    assert_int_equal(sl_metastore_open(fx->dir, 1, fx->cfg, &fx->ms), SL_OK);
}

static sl_err_t
create(fx_t *fx, const char *name, int32_t parts, int16_t rf,
       const sl_topic_config_kv_t *cfg, size_t ncfg, sl_uuid_t *id)
{
    sl_topic_spec_t spec = {name, parts, rf, cfg, ncfg};

    why[0] = '\0';
    return sl_metastore_create_topic(fx->ms, &spec, false, id, NULL, why,
                                     sizeof(why));
}

static char *
slurp(const char *path, size_t *len)
{
    char *buf = NULL;

    if (sl_metastore_read_file(path, 1 << 30, &buf, len) != SL_OK) {
        return NULL;
    }
    return buf;
}

static void
spit(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* ---- identity --------------------------------------------------------- */

static bool
is_b64url(const char *s)
{
    for (; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '_')) {
            return false;
        }
    }
    return true;
}

static void
test_cluster_id(void **state)
{
    fx_t *fx = *state;
    char id[65], path[256];
    sl_metastore_t *other;
    char odir[] = "/tmp/sl-metastore-XXXXXX";

    const char *cid = sl_metastore_cluster_id(fx->ms);
    assert_int_equal(strlen(cid), 22);
    assert_true(is_b64url(cid));
    assert_true(cid[0] != '-');
    snprintf(id, sizeof(id), "%s", cid);
    assert_int_equal(sl_metastore_node_id(fx->ms), 1);
    assert_int_equal(sl_metastore_controller_id(fx->ms), 1);

    /* Stable across restarts. */
    reopen(fx);
    assert_string_equal(sl_metastore_cluster_id(fx->ms), id);

    /* A new directory gets a new id. */
    assert_non_null(mkdtemp(odir));
    assert_int_equal(sl_metastore_open(odir, 1, fx->cfg, &other), SL_OK);
    assert_string_not_equal(sl_metastore_cluster_id(other), id);
    sl_metastore_close(other);
    nftw(odir, rm_one, 16, FTW_DEPTH | FTW_PHYS);

    /* Another node.id on the same directory is refused. */
    assert_int_equal(sl_metastore_open(fx->dir, 2, fx->cfg, &other),
                     SL_ERR__INVAL);

    /* A meta.properties without cluster.id is damaged. */
    snprintf(path, sizeof(path), "%s/meta.properties", fx->dir);
    spit(path, "version=1\nnode.id=1\n", strlen("version=1\nnode.id=1\n"));
    assert_int_equal(sl_metastore_open(fx->dir, 1, fx->cfg, &other),
                     SL_ERR__CORRUPT);
    spit(path, "version=1\nnode.id=1\ncluster.id=a b\n",
         strlen("version=1\nnode.id=1\ncluster.id=a b\n"));
    assert_int_equal(sl_metastore_open(fx->dir, 1, fx->cfg, &other),
                     SL_ERR__CORRUPT);
    spit(path, "version=0\nnode.id=1\ncluster.id=abc\n",
         strlen("version=0\nnode.id=1\ncluster.id=abc\n"));
    assert_int_equal(sl_metastore_open(fx->dir, 1, fx->cfg, &other),
                     SL_ERR__CORRUPT);
    /* Kafka's own file, with comments and directory.id, is accepted. */
    {
        const char *k = "#\n#Mon Nov 23 2026\nnode.id=1\ndirectory.id=abc\n"
                        "version=1\ncluster.id=MkU3OEVBNTcwNTJENDM2Qk\n";
        spit(path, k, strlen(k));
    }
    assert_int_equal(sl_metastore_open(fx->dir, 1, fx->cfg, &other), SL_OK);
    assert_string_equal(sl_metastore_cluster_id(other),
                        "MkU3OEVBNTcwNTJENDM2Qk");
    sl_metastore_close(other);
}

static void
test_identity_lost(void **state)
{
    fx_t *fx = *state;
    char path[256];

    /* Topics without meta.properties: refused, not re-identified. */
    assert_int_equal(create(fx, "t", 1, 1, NULL, 0, NULL), SL_OK);
    snprintf(path, sizeof(path), "%s/meta.properties", fx->dir);
    assert_int_equal(unlink(path), 0);
    sl_metastore_close(fx->ms);
    fx->ms = NULL;
    assert_int_equal(sl_metastore_open(fx->dir, 1, fx->cfg, &fx->ms),
                     SL_ERR__CORRUPT);
    assert_null(fx->ms);
    assert_int_equal(access(path, F_OK), -1);
}

static void
test_data_dir(void **state)
{
    sl_config_t *cfg = sl_config_create();
    char buf[64], w[256];

    (void)state;
    assert_int_equal(sl_metastore_data_dir(cfg, buf, sizeof(buf)), SL_OK);
    assert_string_equal(buf, "/tmp/kafka-logs");
    sl_config_set(cfg, "log.dirs", " ./data , /other", w, sizeof(w));
    assert_int_equal(sl_metastore_data_dir(cfg, buf, sizeof(buf)), SL_OK);
    assert_string_equal(buf, "./data");
    assert_int_equal(sl_metastore_data_dir(cfg, buf, 4), SL_ERR__INVAL);
    sl_config_set(cfg, "log.dirs", ",x", w, sizeof(w));
    assert_int_equal(sl_metastore_data_dir(cfg, buf, sizeof(buf)),
                     SL_ERR__INVAL);
    sl_config_destroy(cfg);
}

static void
test_uuid(void **state)
{
    sl_uuid_t id, z = {{0}};
    char t[23];
    int i;

    (void)state;
    for (i = 0; i < 2000; i++) {
        assert_int_equal(sl_uuid_random(&id), SL_OK);
        assert_memory_not_equal(&id, &z, sizeof(z));
        assert_int_equal(id.b[6] >> 4, 4);
        assert_int_equal(id.b[8] >> 6, 2);
        sl_uuid_to_base64(&id, t);
        assert_int_equal(strlen(t), 22);
        assert_true(t[0] != '-');
    }
    /* Known vector: bytes 0x00..0x0f. */
    for (i = 0; i < 16; i++) {
        id.b[i] = (uint8_t)i;
    }
    sl_uuid_to_base64(&id, t);
    assert_string_equal(t, "AAECAwQFBgcICQoLDA0ODw");
}

/* ---- creation ----------------------------------------------------------- */

static void
test_names(void **state)
{
    fx_t *fx = *state;
    char longname[260];

    memset(longname, 'x', 250);
    longname[250] = '\0';
    assert_int_equal(create(fx, "", 1, 1, NULL, 0, NULL),
                     SL_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(create(fx, ".", 1, 1, NULL, 0, NULL),
                     SL_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(create(fx, "..", 1, 1, NULL, 0, NULL),
                     SL_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(create(fx, "a/b", 1, 1, NULL, 0, NULL),
                     SL_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(create(fx, "a b", 1, 1, NULL, 0, NULL),
                     SL_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(create(fx, "caf\xc3\xa9", 1, 1, NULL, 0, NULL),
                     SL_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(create(fx, longname, 1, 1, NULL, 0, NULL),
                     SL_ERR_INVALID_TOPIC_EXCEPTION);
    longname[249] = '\0';
    assert_int_equal(create(fx, longname, 1, 1, NULL, 0, NULL), SL_OK);
    assert_int_equal(create(fx, "...", 1, 1, NULL, 0, NULL), SL_OK);
    assert_int_equal(create(fx, "A-z_0.9", 1, 1, NULL, 0, NULL), SL_OK);
    assert_int_equal(create(fx, "__cluster_metadata", 1, 1, NULL, 0, NULL),
                     SL_ERR_INVALID_REQUEST);
    /* A wire string with a NUL inside. */
    assert_int_equal(sl_metastore_name_check_n("ab\0c", 4, why, sizeof(why)),
                     SL_ERR_INVALID_TOPIC_EXCEPTION);
    assert_int_equal(sl_metastore_name_check(NULL, why, sizeof(why)),
                     SL_ERR_INVALID_TOPIC_EXCEPTION);
    assert_true(sl_metastore_is_internal("__consumer_offsets"));
    assert_true(sl_metastore_is_internal("__transaction_state"));
    assert_false(sl_metastore_is_internal("__other"));
    assert_int_equal(sl_metastore_topic_count(fx->ms), 3);
}

static void
test_create_and_lookup(void **state)
{
    fx_t *fx = *state;
    sl_topic_config_kv_t cfg[] = {{"retention.ms", "1000"},
                                  {"cleanup.policy", "compact"}};
    sl_uuid_t id, z = {{0}};
    sl_topic_info_t t;
    int32_t parts = 0;
    sl_topic_spec_t spec = {"dflt", -1, -1, NULL, 0};

    assert_int_equal(sl_metastore_version(fx->ms), 0);
    assert_int_equal(create(fx, "orders", 4, 1, cfg, 2, &id), SL_OK);
    assert_memory_not_equal(&id, &z, sizeof(z));
    assert_int_equal(sl_metastore_version(fx->ms), 1);

    assert_int_equal(sl_metastore_get(fx->ms, "orders", fx->a, &t), SL_OK);
    assert_string_equal(t.name, "orders");
    assert_memory_equal(&t.id, &id, sizeof(id));
    assert_int_equal(t.partitions, 4);
    assert_int_equal(t.leader, 1);
    assert_false(t.internal);
    assert_int_equal(t.leader_epochs[0], 0);
    assert_int_equal(t.leader_epochs[3], 0);
    assert_int_equal(t.configs.n, 2);
    assert_string_equal(sl_topic_config_map_get(&t.configs, "retention.ms"),
                        "1000");

    memset(&t, 0, sizeof(t));
    assert_int_equal(sl_metastore_get_by_id(fx->ms, &id, fx->a, &t), SL_OK);
    assert_string_equal(t.name, "orders");
    assert_int_equal(sl_metastore_get(fx->ms, "nope", fx->a, &t),
                     SL_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(sl_metastore_get_by_id(fx->ms, &z, fx->a, &t),
                     SL_ERR_UNKNOWN_TOPIC_ID);

    /* -1 and -1: num.partitions (3 here) and replication factor 1. */
    assert_int_equal(sl_metastore_create_topic(fx->ms, &spec, false, NULL,
                                               &parts, why, sizeof(why)),
                     SL_OK);
    assert_int_equal(parts, 3);
    assert_int_equal(create(fx, "__consumer_offsets", 2, 1, NULL, 0, NULL),
                     SL_OK);
    assert_int_equal(sl_metastore_get(fx->ms, "__consumer_offsets", fx->a, &t),
                     SL_OK);
    assert_true(t.internal);
}

static void
test_create_errors(void **state)
{
    fx_t *fx = *state;
    sl_topic_config_kv_t bad[] = {{"retention.ms", "soon"}};
    sl_topic_config_kv_t unknown[] = {{"retention.weeks", "1"}};
    sl_topic_spec_t spec = {"vo", 2, 1, NULL, 0};
    sl_uuid_t id;
    int32_t parts = 0;

    assert_int_equal(create(fx, "a.b", 1, 1, NULL, 0, NULL), SL_OK);
    assert_int_equal(create(fx, "a.b", 1, 1, NULL, 0, NULL),
                     SL_ERR_TOPIC_ALREADY_EXISTS);
    assert_int_equal(create(fx, "a_b", 1, 1, NULL, 0, NULL),
                     SL_ERR_INVALID_TOPIC_EXCEPTION);
    assert_non_null(strstr(why, "a.b"));
    assert_int_equal(create(fx, "a-b", 1, 1, NULL, 0, NULL), SL_OK);
    assert_int_equal(create(fx, "r0", 1, 0, NULL, 0, NULL),
                     SL_ERR_INVALID_REPLICATION_FACTOR);
    assert_int_equal(create(fx, "r0", 1, -2, NULL, 0, NULL),
                     SL_ERR_INVALID_REPLICATION_FACTOR);
    assert_int_equal(create(fx, "r0", 1, 3, NULL, 0, NULL),
                     SL_ERR_INVALID_REPLICATION_FACTOR);
    assert_int_equal(create(fx, "p0", 0, 1, NULL, 0, NULL),
                     SL_ERR_INVALID_PARTITIONS);
    assert_int_equal(create(fx, "p0", -2, 1, NULL, 0, NULL),
                     SL_ERR_INVALID_PARTITIONS);
    assert_int_equal(
        create(fx, "p0", SL_METASTORE_MAX_NEW_PARTITIONS + 1, 1, NULL, 0, NULL),
        SL_ERR_POLICY_VIOLATION);
    assert_int_equal(create(fx, "p0", 0x7fffffff, 1, NULL, 0, NULL),
                     SL_ERR_POLICY_VIOLATION);
    assert_int_equal(create(fx, "c0", 1, 1, bad, 1, NULL),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(create(fx, "c0", 1, 1, unknown, 1, NULL),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(sl_metastore_topic_count(fx->ms), 2);

    /* validate_only checks everything and changes nothing. */
    assert_int_equal(sl_metastore_create_topic(fx->ms, &spec, true, &id, &parts,
                                               why, sizeof(why)),
                     SL_OK);
    assert_int_equal(parts, 2);
    assert_int_equal(sl_metastore_topic_count(fx->ms), 2);
    spec.name = "a.b";
    assert_int_equal(sl_metastore_create_topic(fx->ms, &spec, true, &id, &parts,
                                               why, sizeof(why)),
                     SL_ERR_TOPIC_ALREADY_EXISTS);
    assert_int_equal(sl_metastore_version(fx->ms), 2);
}

static void
test_auto_create(void **state)
{
    fx_t *fx = *state;
    char w[256];
    bool created;
    sl_topic_info_t t;

    assert_int_equal(sl_metastore_auto_create(fx->ms, "auto", &created), SL_OK);
    assert_true(created);
    assert_int_equal(sl_metastore_get(fx->ms, "auto", fx->a, &t), SL_OK);
    assert_int_equal(t.partitions, 3);
    assert_int_equal(sl_metastore_auto_create(fx->ms, "auto", &created), SL_OK);
    assert_false(created);
    assert_int_equal(sl_metastore_auto_create(fx->ms, "bad name", &created),
                     SL_ERR_INVALID_TOPIC_EXCEPTION);

    sl_config_set(fx->cfg, "auto.create.topics.enable", "false", w, sizeof(w));
    assert_int_equal(sl_metastore_auto_create(fx->ms, "auto2", &created),
                     SL_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_false(created);
    /* Internal topics are created for the coordinators regardless. */
    sl_config_set(fx->cfg, "offsets.topic.num.partitions", "5", w, sizeof(w));
    assert_int_equal(
        sl_metastore_auto_create(fx->ms, "__consumer_offsets", &created),
        SL_OK);
    assert_true(created);
    assert_int_equal(sl_metastore_get(fx->ms, "__consumer_offsets", fx->a, &t),
                     SL_OK);
    assert_int_equal(t.partitions, 5);
    assert_true(t.internal);
    assert_string_equal(sl_topic_config_map_get(&t.configs, "cleanup.policy"),
                        "compact");
}

/* ---- deletion and partitions ------------------------------------------ */

static void
test_delete(void **state)
{
    fx_t *fx = *state;
    sl_uuid_t id, id2, got, z = {{0}};
    char name[SL_TOPIC_NAME_MAX + 1];
    sl_topic_info_t t;

    assert_int_equal(create(fx, "one", 1, 1, NULL, 0, &id), SL_OK);
    assert_int_equal(create(fx, "two", 1, 1, NULL, 0, &id2), SL_OK);
    assert_int_equal(sl_metastore_delete_topic(fx->ms, "one", &got), SL_OK);
    assert_memory_equal(&got, &id, sizeof(id));
    assert_int_equal(sl_metastore_delete_topic(fx->ms, "one", NULL),
                     SL_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(sl_metastore_get_by_id(fx->ms, &id, fx->a, &t),
                     SL_ERR_UNKNOWN_TOPIC_ID);
    assert_int_equal(sl_metastore_delete_topic_id(fx->ms, &id, name),
                     SL_ERR_UNKNOWN_TOPIC_ID);
    assert_int_equal(sl_metastore_delete_topic_id(fx->ms, &z, name),
                     SL_ERR_INVALID_REQUEST);
    assert_int_equal(sl_metastore_delete_topic_id(fx->ms, &id2, name), SL_OK);
    assert_string_equal(name, "two");
    assert_int_equal(sl_metastore_topic_count(fx->ms), 0);

    /* A name created again gets a new id. */
    assert_int_equal(create(fx, "one", 1, 1, NULL, 0, &got), SL_OK);
    assert_memory_not_equal(&got, &id, sizeof(id));
    reopen(fx);
    assert_int_equal(sl_metastore_topic_count(fx->ms), 1);
    assert_int_equal(sl_metastore_get(fx->ms, "two", fx->a, &t),
                     SL_ERR_UNKNOWN_TOPIC_OR_PARTITION);
}

static void
test_partitions_and_epochs(void **state)
{
    fx_t *fx = *state;
    sl_topic_info_t t;
    int32_t epoch;

    assert_int_equal(create(fx, "grow", 2, 1, NULL, 0, NULL), SL_OK);
    assert_int_equal(sl_metastore_bump_leader_epoch(fx->ms, "grow", 1, &epoch),
                     SL_OK);
    assert_int_equal(epoch, 1);
    assert_int_equal(sl_metastore_bump_leader_epoch(fx->ms, "grow", 2, NULL),
                     SL_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(sl_metastore_bump_leader_epoch(fx->ms, "grow", -1, NULL),
                     SL_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(sl_metastore_bump_leader_epoch(fx->ms, "nope", 0, NULL),
                     SL_ERR_UNKNOWN_TOPIC_OR_PARTITION);

    assert_int_equal(
        sl_metastore_create_partitions(fx->ms, "grow", 5, true, why, 512),
        SL_OK);
    assert_int_equal(sl_metastore_get(fx->ms, "grow", fx->a, &t), SL_OK);
    assert_int_equal(t.partitions, 2);
    assert_int_equal(
        sl_metastore_create_partitions(fx->ms, "grow", 5, false, why, 512),
        SL_OK);
    assert_int_equal(sl_metastore_get(fx->ms, "grow", fx->a, &t), SL_OK);
    assert_int_equal(t.partitions, 5);
    assert_int_equal(t.leader_epochs[1], 1); /* kept */
    assert_int_equal(t.leader_epochs[4], 0); /* new */
    assert_int_equal(
        sl_metastore_create_partitions(fx->ms, "grow", 5, false, why, 512),
        SL_ERR_INVALID_PARTITIONS);
    assert_int_equal(
        sl_metastore_create_partitions(fx->ms, "grow", 3, false, why, 512),
        SL_ERR_INVALID_PARTITIONS);
    assert_int_equal(
        sl_metastore_create_partitions(fx->ms, "grow", -1, false, why, 512),
        SL_ERR_INVALID_PARTITIONS);
    assert_int_equal(
        sl_metastore_create_partitions(fx->ms, "nope", 9, false, why, 512),
        SL_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(
        sl_metastore_create_partitions(fx->ms, "grow",
                                       5 + SL_METASTORE_MAX_NEW_PARTITIONS + 1,
                                       false, why, 512),
        SL_ERR_POLICY_VIOLATION);
    assert_int_equal(sl_metastore_create_partitions(fx->ms, "grow", 0x7fffffff,
                                                    false, why, 512),
                     SL_ERR_INVALID_PARTITIONS);
    reopen(fx);
    assert_int_equal(sl_metastore_get(fx->ms, "grow", fx->a, &t), SL_OK);
    assert_int_equal(t.partitions, 5);
    assert_int_equal(t.leader_epochs[1], 1);
}

/* ---- configs ------------------------------------------------------------ */

static void
test_configs(void **state)
{
    fx_t *fx = *state;
    const sl_config_op_t ops[] = {
        {"retention.ms", SL_CFGOP_SET, "5000"},
        {"cleanup.policy", SL_CFGOP_APPEND, "compact"}};
    const sl_config_op_t bad[] = {{"retention.ms", SL_CFGOP_APPEND, "1"}};
    sl_topic_config_kv_t rep[] = {{"segment.ms", "60000"}};
    sl_topic_config_map_t m = {0};
    sl_topic_info_t t;

    assert_int_equal(create(fx, "cfg", 1, 1, NULL, 0, NULL), SL_OK);
    assert_int_equal(sl_metastore_alter_configs(fx->ms, "cfg", ops, 2, true,
                                                why, sizeof(why)),
                     SL_OK);
    assert_int_equal(sl_metastore_get(fx->ms, "cfg", fx->a, &t), SL_OK);
    assert_int_equal(t.configs.n, 0);
    assert_int_equal(sl_metastore_alter_configs(fx->ms, "cfg", ops, 2, false,
                                                why, sizeof(why)),
                     SL_OK);
    assert_int_equal(sl_metastore_alter_configs(fx->ms, "cfg", bad, 1, false,
                                                why, sizeof(why)),
                     SL_ERR_INVALID_CONFIG);
    assert_int_equal(sl_metastore_alter_configs(fx->ms, "nope", ops, 2, false,
                                                why, sizeof(why)),
                     SL_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    reopen(fx);
    assert_int_equal(sl_metastore_topic_configs(fx->ms, "cfg", &m), SL_OK);
    assert_int_equal(m.n, 2);
    assert_string_equal(sl_topic_config_map_get(&m, "cleanup.policy"),
                        "delete,compact");
    assert_int_equal(sl_topic_config_long(fx->cfg, &m, "retention.ms"), 5000);
    sl_topic_config_map_clear(&m);

    /* AlterConfigs replaces the whole set. */
    assert_int_equal(sl_metastore_replace_configs(fx->ms, "cfg", rep, 1, false,
                                                  why, sizeof(why)),
                     SL_OK);
    assert_int_equal(sl_metastore_topic_configs(fx->ms, "cfg", &m), SL_OK);
    assert_int_equal(m.n, 1);
    assert_string_equal(sl_topic_config_map_get(&m, "segment.ms"), "60000");
    sl_topic_config_map_clear(&m);
    assert_int_equal(sl_metastore_replace_configs(fx->ms, "nope", rep, 1, false,
                                                  why, sizeof(why)),
                     SL_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(sl_metastore_topic_configs(fx->ms, "nope", &m),
                     SL_ERR_UNKNOWN_TOPIC_OR_PARTITION);
}

/* ---- persistence --------------------------------------------------------- */

static void
test_persistence(void **state)
{
    fx_t *fx = *state;
    sl_topic_config_kv_t cfg[] = {
        {"leader.replication.throttled.replicas", ""},
        {"compression.type", "zstd"},
        {"follower.replication.throttled.replicas", "0:1, 1:1"},
        /* Whitespace the validator accepts must survive the file. */
        {"cleanup.policy", " compact ,\tdelete "}};
    sl_topic_info_t *before, *after;
    size_t nb, na, i, j;
    char name[16];

    for (i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "t%02zu", 19 - i);
        assert_int_equal(
            create(fx, name, (int32_t)i + 1, 1, cfg, i % 4 == 0 ? 4 : 0, NULL),
            SL_OK);
    }
    assert_int_equal(sl_metastore_bump_leader_epoch(fx->ms, "t07", 3, NULL),
                     SL_OK);
    assert_int_equal(sl_metastore_snapshot(fx->ms, fx->a, &before, &nb, NULL),
                     SL_OK);
    reopen(fx);
    assert_int_equal(sl_metastore_version(fx->ms), 0);
    assert_int_equal(sl_metastore_snapshot(fx->ms, fx->a, &after, &na, NULL),
                     SL_OK);
    assert_int_equal(na, 20);
    assert_int_equal(nb, na);
    for (i = 0; i < na; i++) {
        assert_string_equal(before[i].name, after[i].name);
        assert_memory_equal(&before[i].id, &after[i].id, sizeof(sl_uuid_t));
        assert_int_equal(before[i].partitions, after[i].partitions);
        assert_memory_equal(before[i].leader_epochs, after[i].leader_epochs,
                            (size_t)after[i].partitions * 4);
        assert_int_equal(before[i].configs.n, after[i].configs.n);
        for (j = 0; j < after[i].configs.n; j++) {
            assert_string_equal(
                sl_topic_config_map_get(&after[i].configs,
                                        before[i].configs.kv[j].key),
                before[i].configs.kv[j].value);
        }
        if (i > 0) {
            assert_true(strcmp(after[i - 1].name, after[i].name) < 0);
        }
    }
    assert_string_equal(after[0].name, "t00");
}

/* ---- atomic writes under faults --------------------------------------------
 */

typedef struct fault_s {
    sl_metastore_io_e step;
    int calls;
} fault_t;

static int
fail_at(sl_metastore_io_e step, void *arg)
{
    fault_t *f = arg;

    f->calls++;
    return step == f->step ? EIO : 0;
}

static void
test_atomic_write_faults(void **state)
{
    fx_t *fx = *state;
    char *old, *now, tmp[160];
    size_t oldlen, nowlen;
    sl_topic_info_t t;
    fault_t f;
    int step;

    assert_int_equal(create(fx, "keep", 2, 1, NULL, 0, NULL), SL_OK);
    old = slurp(fx->topics, &oldlen);
    assert_non_null(old);
    snprintf(tmp, sizeof(tmp), "%s.tmp", fx->topics);

    for (step = SL_METASTORE_IO_OPEN; step <= SL_METASTORE_IO_RENAME; step++) {
        f.step = (sl_metastore_io_e)step;
        f.calls = 0;
        sl_metastore_set_fault(fx->ms, fail_at, &f);
        assert_int_equal(create(fx, "lost", 1, 1, NULL, 0, NULL), SL_ERR__IO);
        assert_true(f.calls > 0);
        assert_int_equal(sl_metastore_delete_topic(fx->ms, "keep", NULL),
                         SL_ERR__IO);
        assert_int_equal(
            sl_metastore_create_partitions(fx->ms, "keep", 9, false, why, 512),
            SL_ERR__IO);
        /* Memory unchanged. */
        assert_int_equal(sl_metastore_get(fx->ms, "lost", fx->a, &t),
                         SL_ERR_UNKNOWN_TOPIC_OR_PARTITION);
        assert_int_equal(sl_metastore_get(fx->ms, "keep", fx->a, &t), SL_OK);
        assert_int_equal(t.partitions, 2);
        assert_int_equal(sl_metastore_version(fx->ms), 1);
        /* Disk unchanged, no temporary left behind. */
        now = slurp(fx->topics, &nowlen);
        assert_non_null(now);
        assert_int_equal(nowlen, oldlen);
        assert_memory_equal(now, old, oldlen);
        free(now);
        assert_int_equal(access(tmp, F_OK), -1);
    }

    /* A failed directory fsync comes after the rename: the change stands. */
    f.step = SL_METASTORE_IO_DIRSYNC;
    sl_metastore_set_fault(fx->ms, fail_at, &f);
    assert_int_equal(create(fx, "made", 1, 1, NULL, 0, NULL), SL_OK);
    sl_metastore_set_fault(fx->ms, NULL, NULL);

    /* A half-written temporary from a crash is ignored and removed. */
    spit(tmp, "sluice-topics 1\ntopic half", 26);
    reopen(fx);
    assert_int_equal(sl_metastore_topic_count(fx->ms), 2);
    assert_int_equal(access(tmp, F_OK), -1);
    free(old);
}

static void
test_readonly_dir(void **state)
{
    fx_t *fx = *state;
    char mdir[128];

    if (geteuid() == 0) {
        skip(); /* root ignores directory permissions */
    }
    snprintf(mdir, sizeof(mdir), "%s/__sluice_metadata", fx->dir);
    assert_int_equal(create(fx, "before", 1, 1, NULL, 0, NULL), SL_OK);
    assert_int_equal(chmod(mdir, 0555), 0);
    assert_int_equal(create(fx, "after", 1, 1, NULL, 0, NULL), SL_ERR__IO);
    assert_int_equal(chmod(mdir, 0755), 0);
    reopen(fx);
    assert_int_equal(sl_metastore_topic_count(fx->ms), 1);
}

/* ---- damaged files
 * ------------------------------------------------------------ */

static sl_err_t
open_result(fx_t *fx)
{
    sl_metastore_t *ms = NULL;
    sl_err_t err = sl_metastore_open(fx->dir, 1, fx->cfg, &ms);

    sl_metastore_close(ms);
    return err;
}

/* Write <body> with a correct end line, so only the content is wrong. */
static void
spit_sealed(const char *path, const char *body, int ntopics)
{
    char buf[4096];
    int n = snprintf(buf, sizeof(buf), "%s", body);

    n += snprintf(buf + n, sizeof(buf) - (size_t)n, "end %d %08x\n", ntopics,
                  (unsigned)sl_crc32c(0, body, strlen(body)));
    spit(path, buf, (size_t)n);
}

static void
test_corrupt_file(void **state)
{
    fx_t *fx = *state;
    sl_topic_config_kv_t cfg[] = {{"retention.ms", "1000"}};
    char *good, *bad;
    size_t len, i;
    static const char *const sealed_bad[] = {
        /* duplicate names */
        "sluice-topics 1\n"
        "topic a 0123456789abcdef0123456789abcdef 1 0\nepochs 0\n"
        "topic a 1123456789abcdef0123456789abcdef 1 0\nepochs 0\n",
        /* duplicate ids */
        "sluice-topics 1\n"
        "topic a 0123456789abcdef0123456789abcdef 1 0\nepochs 0\n"
        "topic b 0123456789abcdef0123456789abcdef 1 0\nepochs 0\n",
        /* zero id */
        "sluice-topics 1\n"
        "topic a 00000000000000000000000000000000 1 0\nepochs 0\n",
        /* epochs count */
        "sluice-topics 1\n"
        "topic a 0123456789abcdef0123456789abcdef 2 0\nepochs 0\n",
        "sluice-topics 1\n"
        "topic a 0123456789abcdef0123456789abcdef 1 0\nepochs 0 0\n",
        /* bad name */
        "sluice-topics 1\n"
        "topic a/b 0123456789abcdef0123456789abcdef 1 0\nepochs 0\n",
        /* invalid config value, unknown key, missing config line */
        "sluice-topics 1\n"
        "topic a 0123456789abcdef0123456789abcdef 1 1\nepochs 0\n"
        "config retention.ms =soon\n",
        "sluice-topics 1\n"
        "topic a 0123456789abcdef0123456789abcdef 1 1\nepochs 0\n"
        "config retention.weeks =1\n",
        "sluice-topics 1\n"
        "topic a 0123456789abcdef0123456789abcdef 1 1\nepochs 0\n",
        /* bad escape */
        "sluice-topics 1\n"
        "topic a 0123456789abcdef0123456789abcdef 1 1\nepochs 0\n"
        "config compression.type =zs%Xd\n",
        /* extra space, zero partitions, huge partitions, negative epoch */
        "sluice-topics 1\n"
        "topic a  0123456789abcdef0123456789abcdef 1 0\nepochs 0\n",
        "sluice-topics 1\n"
        "topic a 0123456789abcdef0123456789abcdef 0 0\nepochs\n",
        "sluice-topics 1\n"
        "topic a 0123456789abcdef0123456789abcdef 99999999999 0\nepochs 0\n",
        "sluice-topics 1\n"
        "topic a 0123456789abcdef0123456789abcdef 1 0\nepochs -1\n",
        /* unknown version */
        "sluice-topics 2\n",
    };

    assert_int_equal(create(fx, "t1", 3, 1, cfg, 1, NULL), SL_OK);
    assert_int_equal(create(fx, "t2", 1, 1, NULL, 0, NULL), SL_OK);
    sl_metastore_close(fx->ms);
    fx->ms = NULL;
    good = slurp(fx->topics, &len);
    assert_non_null(good);
    bad = malloc(len);

    /* Every single flipped byte is detected. */
    for (i = 0; i < len; i++) {
        memcpy(bad, good, len);
        bad[i] ^= 0x04;
        spit(fx->topics, bad, len);
        assert_int_equal(open_result(fx), SL_ERR__CORRUPT);
    }
    /* So is every truncation. */
    for (i = 0; i < len; i++) {
        spit(fx->topics, good, i);
        assert_int_equal(open_result(fx), SL_ERR__CORRUPT);
    }
    /* Trailing bytes after the end line. */
    memcpy(bad, good, len);
    spit(fx->topics, good, len);
    {
        FILE *f = fopen(fx->topics, "ab");
        fputs("x\n", f);
        fclose(f);
    }
    assert_int_equal(open_result(fx), SL_ERR__CORRUPT);
    /* A NUL byte. */
    memcpy(bad, good, len);
    bad[len / 2] = '\0';
    spit(fx->topics, bad, len);
    assert_int_equal(open_result(fx), SL_ERR__CORRUPT);
    /* Right checksum, wrong content. */
    for (i = 0; i < sizeof(sealed_bad) / sizeof(sealed_bad[0]); i++) {
        spit_sealed(fx->topics, sealed_bad[i], 1 + (i < 2));
        if (open_result(fx) != SL_ERR__CORRUPT) {
            fail_msg("sealed case %zu was accepted", i);
        }
    }
    /* Count mismatch. */
    spit_sealed(fx->topics,
                "sluice-topics 1\n"
                "topic a 0123456789abcdef0123456789abcdef 1 0\nepochs 0\n",
                2);
    assert_int_equal(open_result(fx), SL_ERR__CORRUPT);
    /* And the good file still loads. */
    spit(fx->topics, good, len);
    assert_int_equal(sl_metastore_open(fx->dir, 1, fx->cfg, &fx->ms), SL_OK);
    assert_int_equal(sl_metastore_topic_count(fx->ms), 2);
    free(good);
    free(bad);
}

static void
test_decode_random_mutations(void **state)
{
    fx_t *fx = *state;
    sl_topic_config_kv_t cfg[] = {{"cleanup.policy", "compact,delete"}};
    sl_mtopic_t **v;
    char *good, *bad, w[128];
    size_t len, n, i, k;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int iter;

    assert_int_equal(create(fx, "m1", 7, 1, cfg, 1, NULL), SL_OK);
    assert_int_equal(create(fx, "m2", 2, 1, NULL, 0, NULL), SL_OK);
    good = slurp(fx->topics, &len);
    assert_non_null(good);
    bad = malloc(len + 64);
    for (iter = 0; iter < 3000; iter++) {
        size_t blen = len;
        memcpy(bad, good, len);
        for (k = 0; k < 1 + (size_t)(iter % 4); k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            i = (size_t)(seed >> 33) % blen;
            bad[i] = (char)(seed >> 17);
        }
        if (iter % 7 == 0) {
            blen = (size_t)(seed >> 40) % (len + 1);
        }
        /* Must never crash or leak; any result other than OK is CORRUPT. */
        if (sl_metastore_decode(bad, blen, &v, &n, w, sizeof(w)) == SL_OK) {
            for (i = 0; i < n; i++) {
                sl_metastore_topic_free(v[i]);
            }
            free(v);
        }
    }
    free(good);
    free(bad);
}

/* ---- reads and concurrency --------------------------------------------------
 */

static bool
count_cb(const sl_topic_info_t *t, void *arg)
{
    size_t *n = arg;

    assert_true(t->partitions >= 1);
    (*n)++;
    return *n < 3; /* stop after three */
}

typedef struct reader_s {
    sl_metastore_t *ms;
    atomic_int *stop;
    long reads;
} reader_t;

static void *
reader_main(void *arg)
{
    reader_t *r = arg;
    sl_arena_t *a = sl_arena_create(4096, 16 << 20);
    sl_topic_info_t *v, t;
    size_t n, i;

    while (!atomic_load(r->stop)) {
        if (sl_metastore_snapshot(r->ms, a, &v, &n, NULL) == SL_OK) {
            for (i = 0; i < n; i++) {
                if (v[i].partitions < 1 || v[i].leader_epochs[0] != 0) {
                    abort();
                }
            }
        }
        (void)sl_metastore_get(r->ms, "c5", a, &t);
        sl_arena_reset(a);
        r->reads++;
    }
    sl_arena_destroy(a);
    return NULL;
}

static void
test_reads_concurrent(void **state)
{
    fx_t *fx = *state;
    atomic_int stop = 0;
    reader_t r[2] = {{fx->ms, &stop, 0}, {fx->ms, &stop, 0}};
    pthread_t th[2];
    char name[16];
    size_t n = 0;
    int i;

    for (i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &r[i]), 0);
    }
    for (i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        assert_int_equal(create(fx, name, 1 + i % 3, 1, NULL, 0, NULL), SL_OK);
        if (i % 4 == 3) {
            snprintf(name, sizeof(name), "c%d", i - 1);
            assert_int_equal(sl_metastore_delete_topic(fx->ms, name, NULL),
                             SL_OK);
        }
    }
    atomic_store(&stop, 1);
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
    }
    assert_int_equal(sl_metastore_topic_count(fx->ms), 30);
    assert_int_equal(sl_metastore_version(fx->ms), 50);
    sl_metastore_foreach(fx->ms, count_cb, &n);
    assert_int_equal(n, 3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cluster_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_identity_lost, setup, teardown),
        cmocka_unit_test(test_data_dir),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_and_lookup, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partitions_and_epochs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_configs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomic_write_faults, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_readonly_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_random_mutations, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reads_concurrent, setup, teardown),
    };
    sl_log_set_level(SL_LOG_OFF);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
