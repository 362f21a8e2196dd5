#!/usr/bin/env python3
"""Refresh protocol/messages/*.def from Kafka's JSON message definitions.

Usage: python3 protocol/import/import.py [--ref DIR] [--out DIR]

DIR defaults to ../shared/kafka-protocol-reference (relative to the repository
root) and must hold message/*.json and coordinator/*.json. Only facts are
carried over: names, types, versions, nullability, flexibility, tags and
defaults. Descriptions and comments are dropped. The output is deterministic.

Output format (one file per JSON definition, see protocol/messages/README):

    message <Name> kind=<request|response|header|data> [api=<key>]
        valid=<range> flexible=<range>
      <Field>: <type> versions=<range> [nullable=<range>] [tagged=<range>
          tag=<n>] [flexible=<range>] [default=<token>]
        <nested fields of an inline struct, indented two more spaces>
    struct <Name> versions=<range>
      <fields...>

A range is N, N-M, N+ or none.
"""
import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def strip_comments(text):
    """Remove // comments that are outside JSON strings."""
    out = []
    for line in text.splitlines():
        in_str = False
        esc = False
        cut = len(line)
        for i, ch in enumerate(line):
            if esc:
                esc = False
                continue
            if ch == '\\':
                esc = True
            elif ch == '"':
                in_str = not in_str
            elif not in_str and line.startswith('//', i):
                cut = i
                break
        out.append(line[:cut])
    return '\n'.join(out)


def norm_range(r):
    r = str(r).strip()
    if r == '' or r == 'none':
        return 'none'
    m = re.fullmatch(r'(\d+)(\+|-(\d+))?', r)
    if not m:
        raise ValueError('bad version range %r' % r)
    return r


def default_token(val):
    if val is None:
        return 'null'
    if isinstance(val, bool):
        return 'true' if val else 'false'
    if isinstance(val, (int, float)):
        return str(val)
    s = str(val)
    if s == '' or re.search(r'[\s"=]', s):
        return json.dumps(s)
    return s


def emit_fields(fields, depth, out):
    pad = '  ' * depth
    for f in fields:
        attrs = []
        tagged = f.get('taggedVersions')
        versions = f.get('versions', tagged if tagged is not None else 'none')
        attrs.append('versions=' + norm_range(versions))
        if 'nullableVersions' in f:
            attrs.append('nullable=' + norm_range(f['nullableVersions']))
        if tagged is not None:
            attrs.append('tagged=' + norm_range(tagged))
            attrs.append('tag=%d' % int(f['tag']))
        if 'flexibleVersions' in f:
            attrs.append('flexible=' + norm_range(f['flexibleVersions']))
        if 'default' in f:
            attrs.append('default=' + default_token(f['default']))
        out.append('%s%s: %s %s' % (pad, f['name'], f['type'], ' '.join(attrs)))
        if 'fields' in f:
            emit_fields(f['fields'], depth + 1, out)


# Versions Apache Kafka 4.0 added after the reference snapshot (see the
# snapshot caveat of the reference's NOTES.md) whose bodies equal the version
# before them, so only the valid range changes: Produce v12 and
# TxnOffsetCommit v5 (KIP-890 part 2: the partition is added to the
# transaction by the broker).
AFTER_SNAPSHOT = {
    'ProduceRequest': '0-12',
    'ProduceResponse': '0-12',
    'TxnOffsetCommitRequest': '0-5',
    'TxnOffsetCommitResponse': '0-5',
}


def convert(doc):
    out = []
    if doc['name'] in AFTER_SNAPSHOT:
        doc = dict(doc, validVersions=AFTER_SNAPSHOT[doc['name']])
    head = ['message', doc['name'], 'kind=' + doc['type']]
    if 'apiKey' in doc:
        head.append('api=%d' % int(doc['apiKey']))
    head.append('valid=' + norm_range(doc['validVersions']))
    head.append('flexible=' + norm_range(doc.get('flexibleVersions', 'none')))
    out.append(' '.join(head))
    emit_fields(doc.get('fields', []), 1, out)
    for cs in doc.get('commonStructs', []):
        out.append('struct %s versions=%s' % (cs['name'],
                                              norm_range(cs.get('versions', '0+'))))
        emit_fields(cs['fields'], 1, out)
    return '\n'.join(out) + '\n'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ref', default=os.path.join(ROOT, '..', 'shared',
                                                  'kafka-protocol-reference'))
    ap.add_argument('--out', default=os.path.join(ROOT, 'protocol', 'messages'))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    n = 0
    for sub in ('message', 'coordinator'):
        d = os.path.join(args.ref, sub)
        for name in sorted(os.listdir(d)):
            if not name.endswith('.json'):
                continue
            with open(os.path.join(d, name), encoding='utf-8') as fh:
                doc = json.loads(strip_comments(fh.read()))
            text = convert(doc)
            with open(os.path.join(args.out, doc['name'] + '.def'), 'w',
                      encoding='utf-8') as fh:
                fh.write(text)
            n += 1
    print('import: wrote %d definitions to %s' % (n, args.out), file=sys.stderr)


if __name__ == '__main__':
    main()
