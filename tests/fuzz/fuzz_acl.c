/*
 * fuzz_acl: the ACL store's file parser on hostile bytes. The input is
 * written as <dir>/__sluice_metadata/acls and the store opened; when it
 * loads, every loaded ACL must be valid, a check and a filtered delete run
 * over it, and the store reopens to the same count. Nothing may crash,
 * read out of bounds or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "security/acl.h"

static char sl_fuzz_dir[64];
static char sl_fuzz_path[128];

static void
sl_fuzz_init(void)
{
    char sub[128];

    snprintf(sl_fuzz_dir, sizeof(sl_fuzz_dir), "/tmp/sl-fuzz-acl-XXXXXX");
    if (mkdtemp(sl_fuzz_dir) == NULL) {
        abort();
    }
    snprintf(sub, sizeof(sub), "%s/__sluice_metadata", sl_fuzz_dir);
    if (mkdir(sub, 0755) != 0) {
        abort();
    }
    snprintf(sl_fuzz_path, sizeof(sl_fuzz_path), "%s/acls", sub);
}

static void
sl_fuzz_check_cb(void *arg, const sl_acl_t *acl)
{
    const char *why;

    (*(size_t *)arg)++;
    if (sl_acl_validate(acl, &why) != SL_OK) {
        abort(); /* the loader let an invalid ACL in */
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_acl_t all = {
        SL_ACL_RES_ANY, SL_ACL_PAT_ANY, SL_ACL_OP_ANY, SL_ACL_PERM_ANY,
        NULL,           NULL,           NULL};
    sl_acl_t topics = {SL_ACL_RES_TOPIC,
                       SL_ACL_PAT_MATCH,
                       SL_ACL_OP_ANY,
                       SL_ACL_PERM_ANY,
                       "t1",
                       NULL,
                       NULL};
    sl_acl_store_t *s = NULL;
    size_t n = 0, before;
    FILE *f;

    if (sl_fuzz_dir[0] == '\0') {
        sl_fuzz_init();
    }
    f = fopen(sl_fuzz_path, "wb");
    if (f == NULL) {
        abort();
    }
    fwrite(data, 1, size, f);
    fclose(f);
    if (sl_acl_store_open(sl_fuzz_dir, "User:admin", false, &s) != SL_OK) {
        return 0;
    }
    sl_acl_store_each(s, &all, sl_fuzz_check_cb, &n);
    (void)sl_acl_authorize(s, "User:alice", "127.0.0.1", SL_ACL_OP_READ,
                           SL_ACL_RES_TOPIC, "t1");
    (void)sl_acl_authorize_any(s, "User:alice", "127.0.0.1", SL_ACL_OP_WRITE,
                               SL_ACL_RES_TOPIC);
    (void)sl_acl_authorized_ops(s, "User:alice", "127.0.0.1", SL_ACL_RES_GROUP,
                                "g");
    if (sl_acl_store_remove(s, &topics, 1, NULL, NULL) != SL_OK) {
        abort();
    }
    before = sl_acl_store_count(s);
    sl_acl_store_close(s);
    if (sl_acl_store_open(sl_fuzz_dir, NULL, false, &s) != SL_OK ||
        sl_acl_store_count(s) != before) {
        abort(); /* what the store wrote must read back */
    }
    sl_acl_store_close(s);
    return 0;
}
