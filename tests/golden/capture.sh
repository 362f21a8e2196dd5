#!/bin/sh
# capture.sh: re-capture the golden Kafka frames and record batches.
#
# Builds tests/golden/capture_client.c against librdkafka (pkg-config
# rdkafka; the vectors were taken with librdkafka 2.0.2), then runs
# tests/golden/proxy.py, which starts the client, puts a recording proxy on
# 127.0.0.1 in front of librdkafka's mock cluster (one broker) and writes:
#   tests/data/golden/NNNN-<req|resp>-<api>-v<ver>[-<codec>].bin
#       one Kafka frame per file (header + body, no size prefix), the first
#       two request/response pairs per (api, version) and the first Produce
#       per codec topic, numbered in request order;
#   tests/data/golden/README.md
#       the list of what was captured (api, versions, count) and every file;
#   tests/data/batches/rdkafka_<codec>.bin   (none gzip snappy lz4 zstd)
#       the concatenated v2 record batches of the Produce requests to
#       topic golden-<codec>: 100 records each, key "key-<i>", value
#       "value-<i>" x10, header idx=<i>.
#
# What the client does (client.id sluice-golden, loopback only, < 1 min):
#   idempotent producer (ApiVersions, Metadata, InitProducerId, Produce per
#   codec), a transactional producer (FindCoordinator, InitProducerId,
#   AddPartitionsToTxn, Produce to golden-txn, AddOffsetsToTxn,
#   TxnOffsetCommit, EndTxn), then a group consumer on all five topics (FindCoordinator,
#   JoinGroup, SyncGroup, OffsetFetch, ListOffsets, Fetch, OffsetCommit,
#   Heartbeat, LeaveGroup) and a watermark query (ListOffsets).
#
# Usage: tests/golden/capture.sh        (from anywhere; needs cc, python3)
# Timestamps, producer ids and ports differ between runs; the test
# tests/unit/proto/test_golden.c does not depend on them.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cc -std=c17 -D_GNU_SOURCE -O1 -Wall -Wextra -Wno-unused-parameter -Werror -o "$tmp/capture_client" \
    "$here/capture_client.c" $(pkg-config --cflags --libs rdkafka)

python3 "$here/proxy.py" --client "$tmp/capture_client" \
    --golden-dir "$root/tests/data/golden" \
    --batches-dir "$root/tests/data/batches" \
    --librdkafka-version "$(pkg-config --modversion rdkafka)"

du -sh "$root/tests/data/golden" "$root/tests/data/batches"
