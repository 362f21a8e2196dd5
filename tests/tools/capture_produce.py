#!/usr/bin/env python3
"""tests/tools/capture_produce.py: a minimal fake Kafka broker that captures
the raw `records` bytes of Produce requests, or (with --serve) answers Fetch
v4 of partition 0 with the batches of a file, so that librdkafka's consumer
decodes batches written by Sluice's builder.

It answers ApiVersions (v0-v3), Metadata (v0-v4, one broker = itself, every
requested topic with one partition led by it) and Produce (v3-v7 used, always
success), and appends each Produce partition's records field to OUTFILE in
arrival order. Standard library only. Prints the listening port on stdout.

Usage: capture_produce.py OUTFILE
       capture_produce.py --serve BATCHFILE NEXT_OFFSET
"""
import socket
import struct
import sys
import threading
import time

API_PRODUCE, API_FETCH, API_METADATA, API_VERSIONS = 0, 1, 3, 18
SUPPORTED = {API_PRODUCE: (3, 7), API_METADATA: (0, 4), API_VERSIONS: (0, 3)}
# Advertised but never served: librdkafka derives features from them
# (gzip/snappy need Produce and Fetch v2 in range, message format v2
# needs Fetch v4, lz4 FindCoordinator v0, zstd Fetch v10). A producer
# does not send them.
ADVERTISED = dict(SUPPORTED)
ADVERTISED.update({0: (0, 7), 1: (0, 11), 2: (1, 5), 8: (2, 7), 9: (1, 7), 10: (0, 2),
                   11: (0, 5), 12: (0, 3), 13: (0, 3), 14: (0, 3),
                   15: (0, 4), 16: (0, 3), 17: (0, 1), 19: (0, 4),
                   22: (0, 1), 36: (0, 1)})

out_lock = threading.Lock()


class Reader:
    def __init__(self, b):
        self.b, self.o = b, 0

    def take(self, n):
        v = self.b[self.o:self.o + n]
        if len(v) != n:
            raise ValueError("short read")
        self.o += n
        return v

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def uvarint(self):
        v, s = 0, 0
        while True:
            c = self.take(1)[0]
            v |= (c & 0x7F) << s
            if not c & 0x80:
                return v
            s += 7


def s16(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def api_versions(ver):
    keys = sorted(ADVERTISED.items())
    if ver >= 3:
        body = struct.pack(">h", 0) + bytes([len(keys) + 1])
        for k, (lo, hi) in keys:
            body += struct.pack(">hhh", k, lo, hi) + b"\0"
        return body + struct.pack(">i", 0) + b"\0"
    body = struct.pack(">hi", 0, len(keys))
    for k, (lo, hi) in keys:
        body += struct.pack(">hhh", k, lo, hi)
    if ver >= 1:
        body += struct.pack(">i", 0)
    return body


def metadata(ver, r, port):
    n = r.i32()
    topics = [r.string() for _ in range(max(n, 0))]
    body = struct.pack(">i", 0) if ver >= 3 else b""
    body += struct.pack(">i", 1) + struct.pack(">i", 1) + s16("127.0.0.1")
    body += struct.pack(">i", port)
    if ver >= 1:
        body += s16(None)
    if ver >= 2:
        body += s16("capture")
    if ver >= 1:
        body += struct.pack(">i", 1)
    body += struct.pack(">i", len(topics))
    for t in topics:
        body += struct.pack(">h", 0) + s16(t)
        if ver >= 1:
            body += b"\0"
        body += struct.pack(">i", 1)  # one partition
        body += struct.pack(">hii", 0, 0, 1)
        body += struct.pack(">ii", 1, 1) + struct.pack(">ii", 1, 1)
    return body


def produce(ver, r, outfile):
    r.string()  # transactional id
    r.i16()
    r.i32()
    resp = []
    for _ in range(r.i32()):
        name = r.string()
        parts = []
        for _ in range(r.i32()):
            idx = r.i32()
            n = r.i32()
            recs = r.take(n) if n > 0 else b""
            with out_lock:
                with open(outfile, "ab") as f:
                    f.write(recs)
            parts.append(idx)
        resp.append((name, parts))
    body = struct.pack(">i", len(resp))
    for name, parts in resp:
        body += s16(name) + struct.pack(">i", len(parts))
        for idx in parts:
            body += struct.pack(">ihq", idx, 0, 0)
            if ver >= 2:
                body += struct.pack(">q", -1)
            if ver >= 5:
                body += struct.pack(">q", 0)
    return body + struct.pack(">i", 0)


def fetch(ver, r, serve):
    data, next_offset = serve
    r.i32()  # replica id
    max_wait = r.i32()
    r.i32()  # min bytes
    r.i32()  # max bytes
    r.take(1)  # isolation level
    topics = []
    for _ in range(r.i32()):
        name = r.string()
        parts = []
        for _ in range(r.i32()):
            idx, off, _maxb = r.i32(), struct.unpack(">q", r.take(8))[0], r.i32()
            parts.append((idx, off))
        topics.append((name, parts))
    if all(off >= next_offset for _, ps in topics for _, off in ps):
        time.sleep(min(max_wait, 500) / 1000.0)
    body = struct.pack(">ii", 0, len(topics))
    for name, parts in topics:
        body += s16(name) + struct.pack(">i", len(parts))
        for idx, off in parts:
            recs = data if off < next_offset else b""
            body += struct.pack(">ihqq", idx, 0, next_offset, next_offset)
            body += struct.pack(">i", -1)  # no aborted transactions
            body += struct.pack(">i", len(recs)) + recs
    return body


def serve(conn, port, outfile, fetch_from=None):
    buf = b""
    with conn:
        while True:
            while len(buf) < 4 or len(buf) < 4 + struct.unpack(">i", buf[:4])[0]:
                d = conn.recv(65536)
                if not d:
                    return
                buf += d
            n = struct.unpack(">i", buf[:4])[0]
            frame, buf = buf[4:4 + n], buf[4 + n:]
            r = Reader(frame)
            key, ver, corr = r.i16(), r.i16(), r.i32()
            r.string()  # client id
            if key == API_VERSIONS and ver >= 3:
                for _ in range(r.uvarint()):  # header tags
                    r.uvarint()
                    r.take(r.uvarint())
            if key == API_VERSIONS:
                lo, hi = SUPPORTED[key]
                body = api_versions(ver) if ver <= hi else \
                    struct.pack(">hi", 35, 1) + struct.pack(">hhh", 18, lo, hi)
            elif key == API_METADATA:
                body = metadata(ver, r, port)
            elif key == API_PRODUCE and fetch_from is None:
                body = produce(ver, r, outfile)
            elif key == API_FETCH and fetch_from is not None and ver == 4:
                body = fetch(ver, r, fetch_from)
            else:
                return
            resp = struct.pack(">i", corr) + body
            conn.sendall(struct.pack(">i", len(resp)) + resp)


def main():
    fetch_from = None
    if sys.argv[1] == "--serve":
        # Fetch v4 only: pin the advertised range so librdkafka uses it.
        ADVERTISED[API_FETCH] = (4, 4)
        with open(sys.argv[2], "rb") as f:
            fetch_from = (f.read(), int(sys.argv[3]))
        outfile = None
    else:
        outfile = sys.argv[1]
        open(outfile, "wb").close()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    port = ls.getsockname()[1]
    print(port, flush=True)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c, port, outfile, fetch_from),
                         daemon=True).start()


if __name__ == "__main__":
    main()
