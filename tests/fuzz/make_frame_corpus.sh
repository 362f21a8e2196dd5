#!/bin/sh
# Rebuild tests/fuzz/corpus/frame/ from random_fill() encodings.
# Usage: tests/fuzz/make_frame_corpus.sh   (from anywhere; needs cc)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -std=c17 -O1 -D_GNU_SOURCE -I"$root/src" -o "$tmp/make_frame_corpus" \
    "$root/tests/fuzz/make_frame_corpus.c" "$root/src/proto/wire.c" \
    "$root"/src/proto/gen/*.c "$root"/src/core/*.c -lm -lpthread
rm -rf "$root/tests/fuzz/corpus/frame"
mkdir -p "$root/tests/fuzz/corpus/frame"
"$tmp/make_frame_corpus" "$root/tests/fuzz/corpus/frame"
