#!/bin/sh
# tests/tools/capture_rdkafka.sh: regenerate tests/data/batches/rdkafka_*.bin
# by producing the reference records with the installed librdkafka into
# capture_produce.py. Run from anywhere; needs cc, librdkafka-dev, python3.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O1 -o "$tmp/capture" "$here/capture_rdkafka.c" -lrdkafka
mkdir -p "$root/tests/data/batches"
for codec in none gzip snappy lz4 zstd; do
    out="$root/tests/data/batches/rdkafka_$codec.bin"
    python3 "$here/capture_produce.py" "$out" >"$tmp/port" &
    pid=$!
    while [ ! -s "$tmp/port" ]; do sleep 0.1; done
    "$tmp/capture" "$(cat "$tmp/port")" "$codec"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -f "$tmp/port"
    echo "$codec: $(wc -c <"$out") bytes"
done
