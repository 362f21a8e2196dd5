#!/bin/sh
# Freshness check: regenerate into temporary folders and compare.
#   1. protocol/gen/gen.py output must equal src/proto/gen/ (always).
#   2. protocol/import/import.py output must equal protocol/messages/ (when
#      the reference definitions are present, ../shared/kafka-protocol-reference
#      or $SL_PROTOCOL_REF).
# Exit status 1 on any difference.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

python3 "$root/protocol/gen/gen.py" --out "$tmp/gen" 2>/dev/null
if ! diff -r "$tmp/gen" "$root/src/proto/gen"; then
    echo "check: src/proto/gen is stale; run python3 protocol/gen/gen.py" >&2
    status=1
fi

ref=${SL_PROTOCOL_REF:-$root/../shared/kafka-protocol-reference}
if [ -d "$ref/message" ]; then
    python3 "$root/protocol/import/import.py" --ref "$ref" \
        --out "$tmp/messages" 2>/dev/null
    if ! diff -r "$tmp/messages" "$root/protocol/messages"; then
        echo "check: protocol/messages differs from $ref" >&2
        status=1
    fi
else
    echo "check: no reference definitions at $ref; skipped import check" >&2
fi

[ $status -eq 0 ] && echo "check: generated files are up to date" >&2
exit $status
