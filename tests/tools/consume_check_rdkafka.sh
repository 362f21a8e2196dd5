#!/bin/sh
# tests/tools/consume_check_rdkafka.sh: check that librdkafka's consumer reads
# batches built by Sluice (every codec, two batches plus a commit marker),
# served by capture_produce.py --serve. Needs cc, librdkafka-dev, python3 and
# the codec dev packages. Exit status 0 when every codec passes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -std=c17 -D_GNU_SOURCE -O1 -I"$root/src" -o "$tmp/check" \
    "$here/consume_check_rdkafka.c" "$root/src/proto/batch.c" \
    "$root/src/proto/compress.c" "$root/src/core/crc32c.c" \
    -lrdkafka -lz -lsnappy -llz4 -lzstd -lpthread
status=0
for codec in none gzip snappy lz4 zstd; do
    "$tmp/check" gen "$codec" "$tmp/batches"
    python3 "$here/capture_produce.py" --serve "$tmp/batches" 101 \
        >"$tmp/port" &
    pid=$!
    while [ ! -s "$tmp/port" ]; do sleep 0.1; done
    printf '%s: ' "$codec"
    "$tmp/check" consume "$(cat "$tmp/port")" || status=1
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -f "$tmp/port"
done
exit $status
