#!/bin/sh
# capture.sh: re-capture the golden Kafka frames and record batches.
#
# Builds tests/golden/capture_client.c against librdkafka (pkg-config
# rdkafka; the vectors were taken with librdkafka 2.0.2), then runs
# tests/golden/proxy.py, which starts the client, puts a recording proxy on
# 127.0.0.1 in front of librdkafka's mock cluster (one broker) and writes:
#   tests/data/golden/NNNN-<req|resp>-<api>-v<ver>[-<tag>].bin
#       one Kafka frame per file (header + body, no size prefix), the first
#       two request/response pairs per (api, version), the first Produce per
#       (version, topic) and two FindCoordinator per key type, numbered in
#       request order (tag: the Produce topic's codec or txn, the
#       FindCoordinator key type group or txn);
#   tests/data/golden/README.md
#       the list of what was captured (api, versions, count) and every file;
#   tests/data/batches/rdkafka_<codec>.bin   (none gzip snappy lz4 zstd)
#       the concatenated v2 record batches of the "latest" run's Produce
#       requests to topic golden-<codec>: 100 records each, key "key-<i>", value
#       "value-<i>" x10, header idx=<i>.
#
# What the client does (client.id sluice-golden, loopback only, ~15 s), run
# twice against a fresh mock: "latest" (newest versions librdkafka and the
# mock share: Produce v7, Fetch v11, Metadata v2, JoinGroup v5, ...) and
# "oldest" (the mock capped at Apache Kafka 4.0's lowest accepted version of
# each API: Produce v3, Fetch v4, Metadata v0, JoinGroup v2, ...):
#   idempotent producer (ApiVersions, Metadata, InitProducerId, Produce per
#   codec; "oldest" skips zstd), a transactional producer ("latest" only:
#   FindCoordinator, InitProducerId, AddPartitionsToTxn, Produce to
#   golden-txn, AddOffsetsToTxn, TxnOffsetCommit, EndTxn), then a group
#   consumer on the codec topics (FindCoordinator, JoinGroup, SyncGroup,
#   OffsetFetch, ListOffsets, Fetch, OffsetCommit, Heartbeat, LeaveGroup)
#   and a watermark query (ListOffsets).
#
# Captured with librdkafka 2.0.2 (api key: versions, request/response pairs):
#   0 Produce v3 x4, v7 x6    1 Fetch v4 x2, v11 x2
#   2 ListOffsets v1 x2, v2 x2    3 Metadata v0 x2, v2 x2
#   8 OffsetCommit v2, v7    9 OffsetFetch v1 x2, v5 x2
#   10 FindCoordinator v0 x2, v2 x4    11 JoinGroup v2, v5
#   12 Heartbeat v0 x2, v3 x2    13 LeaveGroup v0, v1    14 SyncGroup v0, v3
#   18 ApiVersions v0 x2, v3 x2    22 InitProducerId v0, v4 x2
#   24 AddPartitionsToTxn v0    25 AddOffsetsToTxn v0    26 EndTxn v1
#   28 TxnOffsetCommit v2
# (exact list per capture: tests/data/golden/README.md). The ApiVersions v3
# answers are the mock's own non-Kafka encoding; see that README.
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
