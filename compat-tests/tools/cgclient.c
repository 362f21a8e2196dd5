/*
 * compat-tests/tools/cgclient.c: a protocol-level client of the consumer
 * group protocol (KIP-848), on Sluice's generated codecs, for compat tests.
 *
 * No Debian client speaks ConsumerGroupHeartbeat, so this one does: it
 * keeps several members (by name) on one connection and acts on one
 * command per stdin line, printing its answers and then "END":
 *
 *   create <topic> <partitions>           CREATE <err>
 *   hb <name> <group> <topics|re:regex|-> [<assignor|->] [<instance|->]
 *                                          HB <name> <err> <epoch> <n> t:p...
 *   leave <name> <group>                   LEAVE <err> <epoch>
 *   commit <name> <group> <topic> <partition> <offset> [<epoch>]
 *                                          COMMIT <err>
 *   fetch <name|-> <group> <topic> <partition>
 *                                          FETCH <group err> <err> <offset>
 *   describe <group>                       GROUP <err> <state> <epoch>
 *                                          <assignment epoch> <members>
 *                                          MEMBER <id> <epoch> <n> t:p...
 *   list                                   LISTED <group> <type> <state>
 *   join <group>                           JOIN <err>  (classic JoinGroup v5,
 *                                          again with the id on
 *                                          MEMBER_ID_REQUIRED)
 *   delete <group>                         DELETE <err> (DeleteGroups)
 *   reconnect                              RECONNECT <0|-1> (members kept,
 *                                          e.g. across a broker restart)
 *
 * A member acts like a well-behaved consumer: it joins at epoch 0 with an
 * empty owned list, then heartbeats with its epoch and the partitions it
 * owns, and adopts at once whatever assignment the coordinator sends.
 * Errors are Kafka's numeric codes.
 *
 * Usage: sl_cgclient <host:port>
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/arena.h"
#include "proto/gen/api_table.h"
#include "proto/gen/consumer_group_describe.h"
#include "proto/gen/consumer_group_heartbeat.h"
#include "proto/gen/create_topics.h"
#include "proto/gen/delete_groups.h"
#include "proto/gen/headers.h"
#include "proto/gen/join_group.h"
#include "proto/gen/list_groups.h"
#include "proto/gen/metadata.h"
#include "proto/gen/offset_commit.h"
#include "proto/gen/offset_fetch.h"

#define CG_MAX_MEMBERS 32
#define CG_MAX_OWNED 256
#define CG_MAX_TOPICS 64

typedef struct cg_tp_s {
    sl_uuid_t topic;
    int32_t p;
} cg_tp_t;

typedef struct cg_member_s {
    char name[64];
    char id[64];
    int32_t epoch;
    int n;
    cg_tp_t owned[CG_MAX_OWNED];
} cg_member_t;

static int cg_fd = -1;
static int32_t cg_corr;
static cg_member_t cg_members[CG_MAX_MEMBERS];
static int cg_nmembers;
static struct {
    char name[256];
    sl_uuid_t id;
} cg_topics[CG_MAX_TOPICS];
static int cg_ntopics;

static sl_str_t
cg_s(const char *s)
{
    sl_str_t r = {s, s != NULL ? (int32_t)strlen(s) : -1};
    return r;
}

static int
cg_io(void *buf, size_t n, int wr)
{
    size_t done = 0;

    while (done < n) {
        ssize_t k = wr ? write(cg_fd, (char *)buf + done, n - done)
                       : read(cg_fd, (char *)buf + done, n - done);

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return -1;
        }
        done += (size_t)k;
    }
    return 0;
}

/* One request/response exchange. @returns 0, or -1 (printed). */
static int
cg_call(sl_arena_t *a, int16_t key, int16_t ver, const void *req, void *resp)
{
    const sl_api_codec_t *c = sl_api_codec(key);
    sl_msg_request_header_t h;
    sl_msg_response_header_t rh;
    int16_t hv = sl_msg_request_header_version(key, ver);
    size_t len;
    uint8_t *buf, sz[4];
    uint32_t rlen;
    sl_wr_t wr;
    sl_rd_t rd;

    sl_msg_request_header_init(&h);
    h.request_api_key = key;
    h.request_api_version = ver;
    h.correlation_id = ++cg_corr;
    h.client_id = cg_s("sl-cgclient");
    len = sl_msg_request_header_size(&h, hv) + c->req.size(req, ver);
    buf = malloc(len + 4);
    if (buf == NULL) {
        return -1;
    }
    sl_wr_init(&wr, buf, len + 4);
    sl_wr_i32(&wr, (int32_t)len);
    sl_msg_request_header_encode(&wr, hv, &h);
    c->req.encode(&wr, ver, req);
    if (sl_wr_error(&wr) != SL_OK || cg_io(buf, len + 4, 1) != 0 ||
        cg_io(sz, 4, 0) != 0) {
        free(buf);
        printf("IOERR\n");
        return -1;
    }
    free(buf);
    rlen = ((uint32_t)sz[0] << 24) | ((uint32_t)sz[1] << 16) |
           ((uint32_t)sz[2] << 8) | sz[3];
    if (rlen > (64u << 20) || (buf = sl_arena_alloc(a, rlen + 1)) == NULL ||
        cg_io(buf, rlen, 0) != 0) {
        printf("IOERR\n");
        return -1;
    }
    sl_rd_init(&rd, buf, rlen);
    c->resp.init(resp);
    if (sl_msg_response_header_decode(
            &rd, sl_msg_response_header_version(key, ver), a, &rh) != SL_OK ||
        c->resp.decode(&rd, ver, a, resp) != SL_OK ||
        rh.correlation_id != h.correlation_id) {
        printf("DECODEERR\n");
        return -1;
    }
    return 0;
}

static void
cg_refresh_topics(sl_arena_t *a)
{
    sl_msg_metadata_req_t q;
    sl_msg_metadata_resp_t r;
    int32_t i;

    sl_msg_metadata_req_init(&q);
    q.topics = NULL;
    q.topics_count = -1; /* all */
    q.allow_auto_topic_creation = false;
    if (cg_call(a, 3, 12, &q, &r) != 0) {
        return;
    }
    cg_ntopics = 0;
    for (i = 0; i < r.topics_count && cg_ntopics < CG_MAX_TOPICS; i++) {
        snprintf(cg_topics[cg_ntopics].name, sizeof(cg_topics[0].name), "%.*s",
                 (int)r.topics[i].name.len, r.topics[i].name.ptr);
        cg_topics[cg_ntopics].id = r.topics[i].topic_id;
        cg_ntopics++;
    }
}

static const char *
cg_topic_name(sl_arena_t *a, const sl_uuid_t *id)
{
    int pass, i;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < cg_ntopics; i++) {
            if (memcmp(cg_topics[i].id.b, id->b, 16) == 0) {
                return cg_topics[i].name;
            }
        }
        if (pass == 0) {
            cg_refresh_topics(a);
        }
    }
    return "?";
}

static cg_member_t *
cg_member(const char *name)
{
    int i;

    for (i = 0; i < cg_nmembers; i++) {
        if (strcmp(cg_members[i].name, name) == 0) {
            return &cg_members[i];
        }
    }
    if (cg_nmembers == CG_MAX_MEMBERS) {
        return NULL;
    }
    memset(&cg_members[cg_nmembers], 0, sizeof(cg_members[0]));
    snprintf(cg_members[cg_nmembers].name, sizeof(cg_members[0].name), "%s",
             name);
    /* v1: the client names itself (KIP-1082). */
    snprintf(cg_members[cg_nmembers].id, sizeof(cg_members[0].id), "%s-%d-%d",
             name, (int)getpid(), cg_nmembers);
    return &cg_members[cg_nmembers++];
}

static void
cg_print_owned(sl_arena_t *a, const cg_member_t *m)
{
    int i;

    printf(" %d", m->n);
    for (i = 0; i < m->n; i++) {
        printf(" %s:%d", cg_topic_name(a, &m->owned[i].topic),
               (int)m->owned[i].p);
    }
    printf("\n");
}

static void
cmd_create(sl_arena_t *a, char **argv, int argc)
{
    sl_msg_create_topics_req_t q;
    sl_msg_create_topics_req_creatable_topic_t t;
    sl_msg_create_topics_resp_t r;

    if (argc < 3) {
        printf("USAGE\n");
        return;
    }
    sl_msg_create_topics_req_init(&q);
    sl_msg_create_topics_req_creatable_topic_init(&t);
    t.name = cg_s(argv[1]);
    t.num_partitions = atoi(argv[2]);
    t.replication_factor = 1;
    q.topics = &t;
    q.topics_count = 1;
    if (cg_call(a, 19, 7, &q, &r) == 0) {
        printf("CREATE %d\n", r.topics_count > 0 ? r.topics[0].error_code : -1);
    }
    cg_refresh_topics(a);
}

static void
cmd_hb(sl_arena_t *a, char **argv, int argc, bool leave)
{
    sl_msg_consumer_group_heartbeat_req_t q;
    sl_msg_consumer_group_heartbeat_resp_t r;
    sl_msg_consumer_group_heartbeat_req_topic_partitions_t tps[CG_MAX_TOPICS];
    int32_t parts[CG_MAX_OWNED];
    sl_str_t names[CG_MAX_TOPICS];
    char buf[1024], *save = NULL, *tok;
    cg_member_t *m;
    int i, n = 0, k = 0;

    if (argc < 3 || (m = cg_member(argv[1])) == NULL) {
        printf("USAGE\n");
        return;
    }
    sl_msg_consumer_group_heartbeat_req_init(&q);
    q.group_id = cg_s(argv[2]);
    q.member_id = cg_s(m->id);
    q.member_epoch = leave ? -1 : m->epoch;
    q.instance_id =
        argc > 5 && strcmp(argv[5], "-") != 0 ? cg_s(argv[5]) : cg_s(NULL);
    q.rack_id = cg_s(NULL);
    q.subscribed_topic_regex = cg_s(NULL);
    q.server_assignor =
        argc > 4 && strcmp(argv[4], "-") != 0 ? cg_s(argv[4]) : cg_s(NULL);
    q.rebalance_timeout_ms = m->epoch == 0 && !leave ? 60000 : -1;
    q.subscribed_topic_names = NULL;
    q.subscribed_topic_names_count = -1;
    if (!leave && argc > 3 && strncmp(argv[3], "re:", 3) == 0) {
        q.subscribed_topic_regex = cg_s(argv[3] + 3);
    } else if (!leave && argc > 3 && strcmp(argv[3], "-") != 0) {
        snprintf(buf, sizeof(buf), "%s", argv[3]);
        for (tok = strtok_r(buf, ",", &save); tok != NULL && n < CG_MAX_TOPICS;
             tok = strtok_r(NULL, ",", &save)) {
            names[n++] = cg_s(tok);
        }
        q.subscribed_topic_names = names;
        q.subscribed_topic_names_count = n;
    }
    /* Owned partitions, grouped by topic. */
    n = 0;
    for (i = 0; i < m->n && !leave; i++) {
        int t;

        for (t = 0; t < n; t++) {
            if (memcmp(tps[t].topic_id.b, m->owned[i].topic.b, 16) == 0) {
                break;
            }
        }
        if (t == n) {
            sl_msg_consumer_group_heartbeat_req_topic_partitions_init(&tps[n]);
            tps[n].topic_id = m->owned[i].topic;
            tps[n].partitions = &parts[k];
            n++;
        }
        /* Partitions of one topic are contiguous in owned[] (sorted). */
        parts[k++] = m->owned[i].p;
        tps[t].partitions_count++;
    }
    q.topic_partitions = tps;
    q.topic_partitions_count = leave ? -1 : n;
    if (cg_call(a, 68, 1, &q, &r) != 0) {
        return;
    }
    if (leave) {
        printf("LEAVE %d %d\n", r.error_code, (int)r.member_epoch);
        if (r.error_code == 0) {
            m->epoch = 0;
            m->n = 0;
        }
        return;
    }
    if (r.error_code == 0) {
        m->epoch = r.member_epoch;
        if (r.assignment_present) {
            m->n = 0;
            for (i = 0; i < r.assignment.topic_partitions_count; i++) {
                const sl_msg_consumer_group_heartbeat_resp_topic_partitions_t
                    *t = &r.assignment.topic_partitions[i];

                for (k = 0; k < t->partitions_count && m->n < CG_MAX_OWNED;
                     k++) {
                    m->owned[m->n].topic = t->topic_id;
                    m->owned[m->n].p = t->partitions[k];
                    m->n++;
                }
            }
        }
    } else if (r.error_code == 110 || r.error_code == 25) {
        /* FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID: rejoin from scratch. */
        m->epoch = 0;
        m->n = 0;
    }
    printf("HB %s %d %d", m->name, r.error_code, (int)m->epoch);
    cg_print_owned(a, m);
}

static void
cmd_commit(sl_arena_t *a, char **argv, int argc)
{
    sl_msg_offset_commit_req_t q;
    sl_msg_offset_commit_req_offset_commit_request_topic_t t;
    sl_msg_offset_commit_req_offset_commit_request_partition_t p;
    sl_msg_offset_commit_resp_t r;
    cg_member_t *m;

    if (argc < 6 || (m = cg_member(argv[1])) == NULL) {
        printf("USAGE\n");
        return;
    }
    sl_msg_offset_commit_req_init(&q);
    sl_msg_offset_commit_req_offset_commit_request_topic_init(&t);
    sl_msg_offset_commit_req_offset_commit_request_partition_init(&p);
    q.group_id = cg_s(argv[2]);
    q.member_id = cg_s(m->id);
    q.generation_id_or_member_epoch = argc > 6 ? atoi(argv[6]) : m->epoch;
    q.group_instance_id = cg_s(NULL);
    t.name = cg_s(argv[3]);
    p.partition_index = atoi(argv[4]);
    p.committed_offset = atoll(argv[5]);
    p.committed_metadata = cg_s("");
    t.partitions = &p;
    t.partitions_count = 1;
    q.topics = &t;
    q.topics_count = 1;
    if (cg_call(a, 8, 9, &q, &r) == 0) {
        printf("COMMIT %d\n",
               r.topics_count > 0 && r.topics[0].partitions_count > 0
                   ? r.topics[0].partitions[0].error_code
                   : -1);
    }
}

static void
cmd_fetch(sl_arena_t *a, char **argv, int argc)
{
    sl_msg_offset_fetch_req_t q;
    sl_msg_offset_fetch_req_offset_fetch_request_group_t g;
    sl_msg_offset_fetch_req_offset_fetch_request_topics_t t;
    sl_msg_offset_fetch_resp_t r;
    int32_t part;
    cg_member_t *m = NULL;

    if (argc < 5 ||
        (strcmp(argv[1], "-") != 0 && (m = cg_member(argv[1])) == NULL)) {
        printf("USAGE\n");
        return;
    }
    sl_msg_offset_fetch_req_init(&q);
    sl_msg_offset_fetch_req_offset_fetch_request_group_init(&g);
    sl_msg_offset_fetch_req_offset_fetch_request_topics_init(&t);
    g.group_id = cg_s(argv[2]);
    g.member_id = m != NULL ? cg_s(m->id) : cg_s(NULL);
    g.member_epoch = m != NULL ? m->epoch : -1;
    part = atoi(argv[4]);
    t.name = cg_s(argv[3]);
    t.partition_indexes = &part;
    t.partition_indexes_count = 1;
    g.topics = &t;
    g.topics_count = 1;
    q.groups = &g;
    q.groups_count = 1;
    if (cg_call(a, 9, 9, &q, &r) != 0) {
        return;
    }
    if (r.groups_count < 1) {
        printf("FETCH -1 -1 -1\n");
    } else if (r.groups[0].topics_count < 1 ||
               r.groups[0].topics[0].partitions_count < 1) {
        printf("FETCH %d -1 -1\n", r.groups[0].error_code);
    } else {
        printf("FETCH %d %d %lld\n", r.groups[0].error_code,
               r.groups[0].topics[0].partitions[0].error_code,
               (long long)r.groups[0].topics[0].partitions[0].committed_offset);
    }
}

static void
cmd_describe(sl_arena_t *a, char **argv, int argc)
{
    sl_msg_consumer_group_describe_req_t q;
    sl_msg_consumer_group_describe_resp_t r;
    sl_str_t id;
    int32_t i, j, k;

    if (argc < 2) {
        printf("USAGE\n");
        return;
    }
    sl_msg_consumer_group_describe_req_init(&q);
    id = cg_s(argv[1]);
    q.group_ids = &id;
    q.group_ids_count = 1;
    if (cg_call(a, 69, 0, &q, &r) != 0 || r.groups_count < 1) {
        return;
    }
    printf("GROUP %d %.*s %d %d %d\n", r.groups[0].error_code,
           (int)r.groups[0].group_state.len, r.groups[0].group_state.ptr,
           (int)r.groups[0].group_epoch, (int)r.groups[0].assignment_epoch,
           (int)r.groups[0].members_count);
    for (i = 0; i < r.groups[0].members_count; i++) {
        const sl_msg_consumer_group_describe_resp_member_t *m =
            &r.groups[0].members[i];
        int n = 0;

        for (j = 0; j < m->assignment.topic_partitions_count; j++) {
            n += m->assignment.topic_partitions[j].partitions_count;
        }
        printf("MEMBER %.*s %d %d", (int)m->member_id.len, m->member_id.ptr,
               (int)m->member_epoch, n);
        for (j = 0; j < m->assignment.topic_partitions_count; j++) {
            const sl_msg_consumer_group_describe_resp_topic_partitions_t *t =
                &m->assignment.topic_partitions[j];

            for (k = 0; k < t->partitions_count; k++) {
                printf(" %.*s:%d", (int)t->topic_name.len, t->topic_name.ptr,
                       (int)t->partitions[k]);
            }
        }
        printf("\n");
    }
}

static void
cmd_list(sl_arena_t *a)
{
    sl_msg_list_groups_req_t q;
    sl_msg_list_groups_resp_t r;
    int32_t i;

    sl_msg_list_groups_req_init(&q);
    if (cg_call(a, 16, 5, &q, &r) != 0) {
        return;
    }
    for (i = 0; i < r.groups_count; i++) {
        printf("LISTED %.*s %.*s %.*s\n", (int)r.groups[i].group_id.len,
               r.groups[i].group_id.ptr, (int)r.groups[i].group_type.len,
               r.groups[i].group_type.ptr, (int)r.groups[i].group_state.len,
               r.groups[i].group_state.ptr);
    }
}

static void
cmd_join(sl_arena_t *a, char **argv, int argc)
{
    sl_msg_join_group_req_t q;
    sl_msg_join_group_req_join_group_request_protocol_t p;
    sl_msg_join_group_resp_t r;
    static const uint8_t meta[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

    if (argc < 2) {
        printf("USAGE\n");
        return;
    }
    sl_msg_join_group_req_init(&q);
    sl_msg_join_group_req_join_group_request_protocol_init(&p);
    q.group_id = cg_s(argv[1]);
    q.session_timeout_ms = 10000;
    q.rebalance_timeout_ms = 10000;
    q.member_id = cg_s("");
    q.group_instance_id = cg_s(NULL);
    q.protocol_type = cg_s("consumer");
    p.name = cg_s("range");
    p.metadata = (sl_bytes_t){meta, (int32_t)sizeof(meta)};
    q.protocols = &p;
    q.protocols_count = 1;
    if (cg_call(a, 11, 5, &q, &r) != 0) {
        return;
    }
    if (r.error_code == 79) { /* MEMBER_ID_REQUIRED (KIP-394) */
        q.member_id = r.member_id;
        if (cg_call(a, 11, 5, &q, &r) != 0) {
            return;
        }
    }
    printf("JOIN %d\n", r.error_code);
}

static void
cmd_delete(sl_arena_t *a, char **argv, int argc)
{
    sl_msg_delete_groups_req_t q;
    sl_msg_delete_groups_resp_t r;
    sl_str_t id;

    if (argc < 2) {
        printf("USAGE\n");
        return;
    }
    sl_msg_delete_groups_req_init(&q);
    id = cg_s(argv[1]);
    q.groups_names = &id;
    q.groups_names_count = 1;
    if (cg_call(a, 42, 2, &q, &r) == 0) {
        printf("DELETE %d\n",
               r.results_count > 0 ? r.results[0].error_code : -1);
    }
}

static int
cg_connect(const char *hostport)
{
    struct addrinfo hints, *res;
    char host[256];
    const char *colon = strrchr(hostport, ':');
    int fd;

    if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host)) {
        return -1;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0) {
        return -1;
    }
    fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int
main(int argc, char **argv)
{
    char line[2048];

    if (argc != 2) {
        fprintf(stderr, "usage: %s host:port\n", argv[0]);
        return 2;
    }
    if ((cg_fd = cg_connect(argv[1])) < 0) {
        fprintf(stderr, "cannot connect to %s\n", argv[1]);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        char *args[16], *save = NULL, *tok;
        int n = 0;
        sl_arena_t *a = sl_arena_create(65536, 64u << 20);

        for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL && n < 16;
             tok = strtok_r(NULL, " \t\r\n", &save)) {
            args[n++] = tok;
        }
        if (a == NULL) {
            return 1;
        }
        if (n == 0) {
            /* nothing */
        } else if (strcmp(args[0], "create") == 0) {
            cmd_create(a, args, n);
        } else if (strcmp(args[0], "hb") == 0) {
            cmd_hb(a, args, n, false);
        } else if (strcmp(args[0], "leave") == 0) {
            cmd_hb(a, args, n, true);
        } else if (strcmp(args[0], "commit") == 0) {
            cmd_commit(a, args, n);
        } else if (strcmp(args[0], "fetch") == 0) {
            cmd_fetch(a, args, n);
        } else if (strcmp(args[0], "describe") == 0) {
            cmd_describe(a, args, n);
        } else if (strcmp(args[0], "list") == 0) {
            cmd_list(a);
        } else if (strcmp(args[0], "join") == 0) {
            cmd_join(a, args, n);
        } else if (strcmp(args[0], "delete") == 0) {
            cmd_delete(a, args, n);
        } else if (strcmp(args[0], "reconnect") == 0) {
            close(cg_fd);
            cg_fd = cg_connect(argv[1]);
            printf("RECONNECT %d\n", cg_fd >= 0 ? 0 : -1);
        } else {
            printf("USAGE\n");
        }
        printf("END\n");
        sl_arena_destroy(a);
    }
    close(cg_fd);
    return 0;
}
