/* Unit tests for security/acl.c: Kafka's authorisation rules (literal,
 * wildcard and prefixed patterns, principal and host wildcards, implied
 * operations, deny over allow, super users, allow.everyone.if.no.acl.found,
 * by-resource-type checks), create/describe/delete filters and their
 * validation, persistence across reopen, and damaged store files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "security/acl.h"

#define ALICE "User:alice"
#define IP "10.0.0.1"

static sl_acl_t
mk(int8_t rt, const char *name, int8_t pt, const char *principal,
   const char *host, int8_t op, int8_t perm)
{
    sl_acl_t a = {rt, pt, op, perm, name, principal, host};

    return a;
}

static sl_acl_store_t *
open_mem(const char *supers, bool everyone)
{
    sl_acl_store_t *s = NULL;

    assert_int_equal(sl_acl_store_open(NULL, supers, everyone, &s), SL_OK);
    return s;
}

static void
add1(sl_acl_store_t *s, sl_acl_t a)
{
    const char *why;

    assert_int_equal(sl_acl_validate(&a, &why), SL_OK);
    assert_int_equal(sl_acl_store_add(s, &a, 1), SL_OK);
}

static bool
can(sl_acl_store_t *s, const char *who, const char *host, sl_acl_op_e op,
    sl_acl_res_e rt, const char *name)
{
    return sl_acl_authorize(s, who, host, op, rt, name);
}

static void
test_class_names(void **state)
{
    bool on;

    (void)state;
    assert_int_equal(sl_acl_parse_class("", &on), SL_OK);
    assert_false(on);
    assert_int_equal(sl_acl_parse_class(NULL, &on), SL_OK);
    assert_false(on);
    assert_int_equal(
        sl_acl_parse_class(
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer", &on),
        SL_OK);
    assert_true(on);
    assert_int_equal(
        sl_acl_parse_class("kafka.security.authorizer.AclAuthorizer", &on),
        SL_OK);
    assert_true(on);
    assert_int_equal(sl_acl_parse_class("sluice", &on), SL_OK);
    assert_true(on);
    assert_int_equal(sl_acl_parse_class("com.example.Mine", &on),
                     SL_ERR__INVAL);
}

static void
test_literal_and_implied(void **state)
{
    sl_acl_store_t *s = open_mem(NULL, false);

    (void)state;
    /* No ACL on a resource: denied by default. */
    assert_false(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_TOPIC, "t1"));
    add1(s, mk(SL_ACL_RES_TOPIC, "t1", SL_ACL_PAT_LITERAL, ALICE, "*",
               SL_ACL_OP_WRITE, SL_ACL_PERM_ALLOW));
    assert_true(can(s, ALICE, IP, SL_ACL_OP_WRITE, SL_ACL_RES_TOPIC, "t1"));
    /* WRITE implies DESCRIBE, not READ. */
    assert_true(can(s, ALICE, IP, SL_ACL_OP_DESCRIBE, SL_ACL_RES_TOPIC, "t1"));
    assert_false(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_TOPIC, "t1"));
    /* Other topic, other user, other resource type. */
    assert_false(can(s, ALICE, IP, SL_ACL_OP_WRITE, SL_ACL_RES_TOPIC, "t2"));
    assert_false(
        can(s, "User:bob", IP, SL_ACL_OP_WRITE, SL_ACL_RES_TOPIC, "t1"));
    assert_false(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_GROUP, "t1"));
    /* ALTER_CONFIGS implies DESCRIBE_CONFIGS; ALL implies everything. */
    add1(s, mk(SL_ACL_RES_TOPIC, "c", SL_ACL_PAT_LITERAL, ALICE, "*",
               SL_ACL_OP_ALTER_CONFIGS, SL_ACL_PERM_ALLOW));
    assert_true(
        can(s, ALICE, IP, SL_ACL_OP_DESCRIBE_CONFIGS, SL_ACL_RES_TOPIC, "c"));
    assert_false(can(s, ALICE, IP, SL_ACL_OP_DESCRIBE, SL_ACL_RES_TOPIC, "c"));
    add1(s, mk(SL_ACL_RES_GROUP, "g", SL_ACL_PAT_LITERAL, ALICE, "*",
               SL_ACL_OP_ALL, SL_ACL_PERM_ALLOW));
    assert_true(can(s, ALICE, IP, SL_ACL_OP_DELETE, SL_ACL_RES_GROUP, "g"));
    assert_true(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_GROUP, "g"));
    /* DESCRIBE does not imply READ. */
    add1(s, mk(SL_ACL_RES_GROUP, "d", SL_ACL_PAT_LITERAL, ALICE, "*",
               SL_ACL_OP_DESCRIBE, SL_ACL_PERM_ALLOW));
    assert_false(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_GROUP, "d"));
    sl_acl_store_close(s);
}

static void
test_wildcards_prefix_host(void **state)
{
    sl_acl_store_t *s = open_mem(NULL, false);

    (void)state;
    add1(s, mk(SL_ACL_RES_TOPIC, "t-", SL_ACL_PAT_PREFIXED, ALICE, "*",
               SL_ACL_OP_READ, SL_ACL_PERM_ALLOW));
    assert_true(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_TOPIC, "t-x"));
    assert_true(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_TOPIC, "t-"));
    assert_false(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_TOPIC, "t"));
    assert_false(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_TOPIC, "u-x"));
    /* Literal "*" is every topic; "User:*" every user. */
    add1(s, mk(SL_ACL_RES_TOPIC, "*", SL_ACL_PAT_LITERAL, "User:*", "*",
               SL_ACL_OP_DESCRIBE, SL_ACL_PERM_ALLOW));
    assert_true(
        can(s, "User:bob", IP, SL_ACL_OP_DESCRIBE, SL_ACL_RES_TOPIC, "zz"));
    assert_false(
        can(s, "User:bob", IP, SL_ACL_OP_READ, SL_ACL_RES_TOPIC, "zz"));
    /* A prefixed "*" is not a wildcard. */
    add1(s, mk(SL_ACL_RES_GROUP, "*", SL_ACL_PAT_PREFIXED, ALICE, "*",
               SL_ACL_OP_READ, SL_ACL_PERM_ALLOW));
    assert_false(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_GROUP, "g"));
    assert_true(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_GROUP, "*x"));
    /* Host: exact match only. */
    add1(s, mk(SL_ACL_RES_GROUP, "h", SL_ACL_PAT_LITERAL, ALICE, "10.0.0.2",
               SL_ACL_OP_READ, SL_ACL_PERM_ALLOW));
    assert_false(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_GROUP, "h"));
    assert_true(
        can(s, ALICE, "10.0.0.2", SL_ACL_OP_READ, SL_ACL_RES_GROUP, "h"));
    sl_acl_store_close(s);
}

static void
test_deny_super_everyone(void **state)
{
    sl_acl_store_t *s = open_mem(" User:admin ;User:ops", true);

    (void)state;
    /* No ACLs on a resource + allow.everyone.if.no.acl.found. */
    assert_true(can(s, ALICE, IP, SL_ACL_OP_WRITE, SL_ACL_RES_TOPIC, "free"));
    add1(s, mk(SL_ACL_RES_TOPIC, "t", SL_ACL_PAT_PREFIXED, "User:*", "*",
               SL_ACL_OP_ALL, SL_ACL_PERM_ALLOW));
    add1(s, mk(SL_ACL_RES_TOPIC, "t1", SL_ACL_PAT_LITERAL, ALICE, IP,
               SL_ACL_OP_WRITE, SL_ACL_PERM_DENY));
    assert_false(can(s, ALICE, IP, SL_ACL_OP_WRITE, SL_ACL_RES_TOPIC, "t1"));
    assert_true(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_TOPIC, "t1"));
    assert_true(
        can(s, ALICE, "10.9.9.9", SL_ACL_OP_WRITE, SL_ACL_RES_TOPIC, "t1"));
    /* Once a resource has an ACL, everyone-if-none no longer applies. */
    add1(s, mk(SL_ACL_RES_GROUP, "g", SL_ACL_PAT_LITERAL, "User:bob", "*",
               SL_ACL_OP_READ, SL_ACL_PERM_ALLOW));
    assert_false(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_GROUP, "g"));
    assert_true(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_GROUP, "g2"));
    /* Super users bypass denies. */
    add1(s, mk(SL_ACL_RES_TOPIC, "*", SL_ACL_PAT_LITERAL, "User:*", "*",
               SL_ACL_OP_ALL, SL_ACL_PERM_DENY));
    assert_true(sl_acl_is_super(s, "User:admin"));
    assert_true(sl_acl_is_super(s, "User:ops"));
    assert_false(sl_acl_is_super(s, ALICE));
    assert_true(
        can(s, "User:admin", IP, SL_ACL_OP_DELETE, SL_ACL_RES_TOPIC, "t1"));
    assert_false(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_TOPIC, "t1"));
    sl_acl_store_close(s);
}

static void
test_by_type_and_ops(void **state)
{
    sl_acl_store_t *s = open_mem("User:admin", false);
    int32_t bits;

    (void)state;
    assert_false(
        sl_acl_authorize_any(s, ALICE, IP, SL_ACL_OP_WRITE, SL_ACL_RES_TOPIC));
    add1(s, mk(SL_ACL_RES_TOPIC, "t-", SL_ACL_PAT_PREFIXED, ALICE, "*",
               SL_ACL_OP_WRITE, SL_ACL_PERM_ALLOW));
    assert_true(
        sl_acl_authorize_any(s, ALICE, IP, SL_ACL_OP_WRITE, SL_ACL_RES_TOPIC));
    assert_false(
        sl_acl_authorize_any(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_TOPIC));
    /* A deny on a shorter prefix covers the allow. */
    add1(s, mk(SL_ACL_RES_TOPIC, "t", SL_ACL_PAT_PREFIXED, ALICE, "*",
               SL_ACL_OP_WRITE, SL_ACL_PERM_DENY));
    assert_false(
        sl_acl_authorize_any(s, ALICE, IP, SL_ACL_OP_WRITE, SL_ACL_RES_TOPIC));
    assert_true(sl_acl_authorize_any(s, "User:admin", IP, SL_ACL_OP_WRITE,
                                     SL_ACL_RES_TOPIC));

    add1(s, mk(SL_ACL_RES_GROUP, "g", SL_ACL_PAT_LITERAL, ALICE, "*",
               SL_ACL_OP_READ, SL_ACL_PERM_ALLOW));
    bits = sl_acl_authorized_ops(s, ALICE, IP, SL_ACL_RES_GROUP, "g");
    assert_int_equal(bits, (1 << SL_ACL_OP_READ) | (1 << SL_ACL_OP_DESCRIBE));
    bits = sl_acl_authorized_ops(s, "User:admin", IP, SL_ACL_RES_GROUP, "g");
    assert_int_equal(bits, (1 << SL_ACL_OP_READ) | (1 << SL_ACL_OP_DESCRIBE) |
                               (1 << SL_ACL_OP_DELETE));
    sl_acl_store_close(s);
}

static void
test_validation_and_filters(void **state)
{
    const char *why;
    sl_acl_t ok = mk(SL_ACL_RES_TOPIC, "t1", SL_ACL_PAT_LITERAL, ALICE, "*",
                     SL_ACL_OP_READ, SL_ACL_PERM_ALLOW);
    sl_acl_t bad, f;

    (void)state;
    assert_int_equal(sl_acl_validate(&ok, &why), SL_OK);
    bad = ok, bad.pattern_type = SL_ACL_PAT_MATCH;
    assert_int_equal(sl_acl_validate(&bad, &why), SL_ERR_INVALID_REQUEST);
    bad = ok, bad.resource_type = SL_ACL_RES_ANY;
    assert_int_equal(sl_acl_validate(&bad, &why), SL_ERR_INVALID_REQUEST);
    bad = ok, bad.operation = SL_ACL_OP_ANY;
    assert_int_equal(sl_acl_validate(&bad, &why), SL_ERR_INVALID_REQUEST);
    bad = ok, bad.permission = SL_ACL_PERM_ANY;
    assert_int_equal(sl_acl_validate(&bad, &why), SL_ERR_INVALID_REQUEST);
    bad = ok, bad.principal = "alice";
    assert_int_equal(sl_acl_validate(&bad, &why), SL_ERR_INVALID_REQUEST);
    bad = ok, bad.name = "";
    assert_int_equal(sl_acl_validate(&bad, &why), SL_ERR_INVALID_REQUEST);
    bad = ok, bad.resource_type = SL_ACL_RES_CLUSTER;
    assert_int_equal(sl_acl_validate(&bad, &why), SL_ERR_INVALID_REQUEST);
    bad.name = SL_ACL_CLUSTER_NAME;
    assert_int_equal(sl_acl_validate(&bad, &why), SL_OK);

    f = mk(SL_ACL_RES_ANY, NULL, SL_ACL_PAT_ANY, NULL, NULL, SL_ACL_OP_ANY,
           SL_ACL_PERM_ANY);
    assert_int_equal(sl_acl_filter_validate(&f, &why), SL_OK);
    assert_true(sl_acl_filter_matches(&f, &ok));
    f.operation = SL_ACL_OP_UNKNOWN;
    assert_int_equal(sl_acl_filter_validate(&f, &why), SL_ERR_INVALID_REQUEST);
    /* MATCH: literal equal, literal "*", prefixes of the name. */
    f = mk(SL_ACL_RES_TOPIC, "t1", SL_ACL_PAT_MATCH, NULL, NULL, SL_ACL_OP_ANY,
           SL_ACL_PERM_ANY);
    assert_true(sl_acl_filter_matches(&f, &ok));
    bad = ok, bad.name = "*";
    assert_true(sl_acl_filter_matches(&f, &bad));
    bad = ok, bad.name = "t", bad.pattern_type = SL_ACL_PAT_PREFIXED;
    assert_true(sl_acl_filter_matches(&f, &bad));
    /* ANY pattern type with a name: exact names only. */
    f.pattern_type = SL_ACL_PAT_ANY;
    assert_false(sl_acl_filter_matches(&f, &bad));
    f.pattern_type = SL_ACL_PAT_LITERAL;
    f.principal = "User:bob";
    assert_false(sl_acl_filter_matches(&f, &ok));
}

static void
count_cb(void *arg, const sl_acl_t *acl)
{
    (void)acl;
    (*(int *)arg)++;
}

static void
removed_cb(void *arg, size_t filter, const sl_acl_t *acl)
{
    (void)acl;
    (void)filter;
    (*(int *)arg)++;
}

static void
test_persist_and_remove(void **state)
{
    char dir[] = "/tmp/sl_acl_XXXXXX", path[256];
    sl_acl_store_t *s = NULL;
    sl_acl_t all = mk(SL_ACL_RES_ANY, NULL, SL_ACL_PAT_ANY, NULL, NULL,
                      SL_ACL_OP_ANY, SL_ACL_PERM_ANY);
    sl_acl_t acls[3] = {
        mk(SL_ACL_RES_TOPIC, "t1", SL_ACL_PAT_LITERAL, ALICE, "*",
           SL_ACL_OP_WRITE, SL_ACL_PERM_ALLOW),
        mk(SL_ACL_RES_GROUP, "g \n1", SL_ACL_PAT_PREFIXED, "User:*", IP,
           SL_ACL_OP_READ, SL_ACL_PERM_DENY),
        mk(SL_ACL_RES_TOPIC, "t1", SL_ACL_PAT_LITERAL, ALICE, "*",
           SL_ACL_OP_WRITE, SL_ACL_PERM_ALLOW), /* duplicate */
    };
    sl_acl_t f;
    int n = 0;
    FILE *fp;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(sl_acl_store_open(dir, NULL, false, &s), SL_OK);
    assert_int_equal(sl_acl_store_add(s, acls, 3), SL_OK);
    assert_int_equal(sl_acl_store_count(s), 2);
    sl_acl_store_close(s);

    assert_int_equal(sl_acl_store_open(dir, NULL, false, &s), SL_OK);
    assert_int_equal(sl_acl_store_count(s), 2);
    sl_acl_store_each(s, &all, count_cb, &n);
    assert_int_equal(n, 2);
    assert_true(can(s, ALICE, IP, SL_ACL_OP_WRITE, SL_ACL_RES_TOPIC, "t1"));
    assert_false(can(s, ALICE, IP, SL_ACL_OP_READ, SL_ACL_RES_GROUP, "g \n1x"));
    f = mk(SL_ACL_RES_GROUP, NULL, SL_ACL_PAT_ANY, NULL, NULL, SL_ACL_OP_ANY,
           SL_ACL_PERM_ANY);
    n = 0;
    assert_int_equal(sl_acl_store_remove(s, &f, 1, removed_cb, &n), SL_OK);
    assert_int_equal(n, 1);
    sl_acl_store_close(s);

    assert_int_equal(sl_acl_store_open(dir, NULL, false, &s), SL_OK);
    assert_int_equal(sl_acl_store_count(s), 1);
    sl_acl_store_close(s);

    /* Damaged files: torn, bad hex, bad count, bad ACL. */
    snprintf(path, sizeof(path), "%s/__sluice_metadata/acls", dir);
    static const char *const damaged[] = {
        "sluice-acls 1\nacl 2 3 4 3 x7431 x",
        "sluice-acls 1\nacl 2 3 4 3 x7g x557365723a61 x2a\nend 1\n",
        "sluice-acls 1\nend 3\n",
        "sluice-acls 1\nacl 2 9 4 3 x7431 x557365723a61 x2a\nend 1\n",
        "sluice-acls 2\nend 0\n",
        "sluice-acls 1\nacl 2 3 4 3 x7400 x557365723a61 x2a\nend 1\n",
    };
    for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(damaged[i], fp);
        fclose(fp);
        s = NULL;
        assert_int_equal(sl_acl_store_open(dir, NULL, false, &s),
                         SL_ERR__CORRUPT);
        assert_null(s);
    }
    fp = fopen(path, "w");
    fputs("sluice-acls 1\nacl 2 3 4 3 x7431 x557365723a61 x2a\nend 1\n", fp);
    fclose(fp);
    assert_int_equal(sl_acl_store_open(dir, NULL, false, &s), SL_OK);
    assert_true(can(s, "User:a", IP, SL_ACL_OP_WRITE, SL_ACL_RES_TOPIC, "t1"));
    sl_acl_store_close(s);
    unlink(path);
    snprintf(path, sizeof(path), "%s/__sluice_metadata", dir);
    rmdir(path);
    rmdir(dir);
}

/* The rules of acl.h written out plainly, to cross-check the indexed
 * store on random tables. */
static bool
ref_decide(const sl_acl_t *v, int n, const char *who, const char *host, int op,
           int rt, const char *name)
{
    bool any = false, allowed = false;

    for (int i = 0; i < n; i++) {
        const sl_acl_t *a = &v[i];
        bool covers =
            a->pattern_type == SL_ACL_PAT_LITERAL
                ? strcmp(a->name, "*") == 0 || strcmp(a->name, name) == 0
                : strncmp(a->name, name, strlen(a->name)) == 0;
        bool who_ok = strcmp(a->principal, who) == 0 ||
                      strcmp(a->principal, "User:*") == 0;
        bool host_ok = strcmp(a->host, "*") == 0 || strcmp(a->host, host) == 0;
        bool implies =
            a->operation == SL_ACL_OP_ALL || a->operation == op ||
            (op == SL_ACL_OP_DESCRIBE && (a->operation == SL_ACL_OP_READ ||
                                          a->operation == SL_ACL_OP_WRITE ||
                                          a->operation == SL_ACL_OP_DELETE ||
                                          a->operation == SL_ACL_OP_ALTER));

        if (a->resource_type != rt || !covers) {
            continue;
        }
        any = true;
        if (!who_ok || !host_ok) {
            continue;
        }
        if (a->permission == SL_ACL_PERM_DENY &&
            (a->operation == SL_ACL_OP_ALL || a->operation == op)) {
            return false;
        }
        if (a->permission == SL_ACL_PERM_ALLOW && implies) {
            allowed = true;
        }
    }
    return any ? allowed : false;
}

static int
rnd(uint64_t *seed, int n)
{
    *seed = *seed * 6364136223846793005ull + 1;
    return (int)((*seed >> 33) % (uint64_t)n);
}

static void
test_random_against_reference(void **state)
{
    static const char *const names[] = {"*", "a", "ab", "abc", "b", "ba"};
    static const char *const whos[] = {"User:*", "User:x", "User:y"};
    static const char *const hosts[] = {"*", "1.1.1.1"};
    static const int8_t ops[] = {SL_ACL_OP_ALL, SL_ACL_OP_READ, SL_ACL_OP_WRITE,
                                 SL_ACL_OP_DESCRIBE};
    uint64_t seed = 42;
    sl_acl_t v[64];

    (void)state;
#define RND(n) rnd(&seed, (n))
    for (int round = 0; round < 200; round++) {
        sl_acl_store_t *s = open_mem(NULL, false);
        int n = 1 + RND(40);

        for (int i = 0; i < n; i++) {
            v[i] = mk((int8_t)(SL_ACL_RES_TOPIC + RND(2)), names[RND(6)],
                      RND(3) == 0 ? SL_ACL_PAT_PREFIXED : SL_ACL_PAT_LITERAL,
                      whos[RND(3)], hosts[RND(2)], ops[RND(4)],
                      RND(4) == 0 ? SL_ACL_PERM_DENY : SL_ACL_PERM_ALLOW);
            if (v[i].pattern_type == SL_ACL_PAT_PREFIXED &&
                strcmp(v[i].name, "*") == 0) {
                v[i].name = "a";
            }
        }
        assert_int_equal(sl_acl_store_add(s, v, (size_t)n), SL_OK);
        for (int q = 0; q < 100; q++) {
            const char *who = whos[1 + RND(2)],
                       *host = RND(2) ? "1.1.1.1" : "2.2.2.2";
            int op = ops[1 + RND(3)], rt = SL_ACL_RES_TOPIC + RND(2);
            const char *name = names[1 + RND(5)];

            assert_int_equal(sl_acl_authorize(s, who, host, (sl_acl_op_e)op,
                                              (sl_acl_res_e)rt, name),
                             ref_decide(v, n, who, host, op, rt, name));
        }
        sl_acl_store_close(s);
    }
#undef RND
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_class_names),
        cmocka_unit_test(test_literal_and_implied),
        cmocka_unit_test(test_wildcards_prefix_host),
        cmocka_unit_test(test_deny_super_everyone),
        cmocka_unit_test(test_by_type_and_ops),
        cmocka_unit_test(test_validation_and_filters),
        cmocka_unit_test(test_persist_and_remove),
        cmocka_unit_test(test_random_against_reference),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
