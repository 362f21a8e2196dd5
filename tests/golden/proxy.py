#!/usr/bin/env python3
"""Recording Kafka proxy for the golden-vector capture (python3 stdlib only).

Owns: the loopback proxy between librdkafka and its mock cluster, the frame
recording, the dedupe, and the files written under tests/data/golden/ and
tests/data/batches/. Run through tests/golden/capture.sh, not directly.

How it works:
  - starts the capture client (tests/golden/capture_client.c, built by
    capture.sh) twice, "latest" then "oldest" (the mock capped at Kafka
    4.0's lowest versions); each time reads "MOCK host:port" from it, listens
    on 127.0.0.1:0 and answers the client with its own address;
  - relays every connection to the mock broker, splitting both directions
    into size-prefixed frames; requests are paired with responses by
    correlation id per connection;
  - the mock advertises its own port in Metadata and FindCoordinator
    responses; every response has the bytes <host><be32 mock port> replaced
    by <host><be32 proxy port> (same length, so framing is unchanged), and the
    frame is recorded as forwarded (what the client saw);
  - at the end, keeps the first two request/response pairs per (api,
    version), plus the first Produce pair per topic and two FindCoordinator
    pairs per key type, numbers them in request
    order, and writes NNNN-req-<api>-v<ver>[-<tag>].bin and
    NNNN-resp-<api>-v<ver>[-<tag>].bin (tag: Produce codec or txn,
    FindCoordinator key type group or txn) (raw header + body, no size
    prefix), a README.md listing them, and for each codec the concatenated
    v2 record batches of every Produce request to golden-<codec> in the
    "latest" run as
    tests/data/batches/rdkafka_<codec>.bin.
"""

import argparse
import os
import socket
import struct
import subprocess
import sys
import threading

API_NAMES = {
    0: "produce", 1: "fetch", 2: "list_offsets", 3: "metadata",
    8: "offset_commit", 9: "offset_fetch", 10: "find_coordinator",
    11: "join_group", 12: "heartbeat", 13: "leave_group", 14: "sync_group",
    15: "describe_groups", 16: "list_groups", 17: "sasl_handshake",
    18: "api_versions", 19: "create_topics", 20: "delete_topics",
    21: "delete_records", 22: "init_producer_id",
    23: "offset_for_leader_epoch", 24: "add_partitions_to_txn",
    25: "add_offsets_to_txn", 26: "end_txn", 28: "txn_offset_commit",
    32: "describe_configs", 33: "alter_configs", 36: "sasl_authenticate",
    37: "create_partitions", 42: "delete_groups", 44:
    "incremental_alter_configs", 47: "offset_delete", 60: "describe_cluster",
}

# First flexible version of each request/response (header v2 / v1 from it).
FLEX_FROM = {
    0: 9, 1: 12, 2: 6, 3: 9, 8: 8, 9: 6, 10: 3, 11: 6, 12: 4, 13: 4, 14: 4,
    15: 5, 16: 3, 18: 3, 19: 5, 20: 4, 21: 2, 22: 2, 23: 4, 24: 3, 25: 3,
    26: 3, 28: 3, 32: 4, 33: 2, 36: 2, 37: 2, 42: 2, 44: 1, 47: 99, 60: 0,
}

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
KEEP_PER_API_VERSION = 2
MAX_FRAME = 64 << 20


class Reader:
    """Bounds-checked cursor over bytes; raises ValueError past the end."""

    def __init__(self, buf, pos=0):
        self.buf, self.pos = buf, pos

    def take(self, n):
        if n < 0 or self.pos + n > len(self.buf):
            raise ValueError("short frame")
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self):
        shift, val = 0, 0
        while True:
            b = self.take(1)[0]
            val |= (b & 0x7F) << shift
            if not b & 0x80:
                return val
            shift += 7
            if shift > 28:
                raise ValueError("varint too long")

    def string(self, flex):
        n = self.uvarint() - 1 if flex else self.i16()
        return None if n < 0 else self.take(n).decode()

    def nbytes(self, flex):
        n = self.uvarint() - 1 if flex else self.i32()
        return None if n < 0 else self.take(n)

    def array_len(self, flex):
        return self.uvarint() - 1 if flex else self.i32()

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())


def parse_request_header(frame):
    """(api_key, version, correlation_id, client_id, body offset)."""
    r = Reader(frame)
    key, ver, corr = r.i16(), r.i16(), r.i32()
    client_id = r.string(False)
    if ver >= FLEX_FROM.get(key, 99):
        r.skip_tags()
    return key, ver, corr, client_id, r.pos


def produce_topics_records(frame):
    """[(topic, records bytes)] of a Produce request frame."""
    key, ver, _, _, pos = parse_request_header(frame)
    flex = ver >= FLEX_FROM[0]
    r = Reader(frame, pos)
    if ver >= 3:
        r.string(flex)  # transactional_id
    r.i16()  # acks
    r.i32()  # timeout_ms
    out = []
    for _ in range(r.array_len(flex)):
        topic = r.string(flex)
        for _ in range(r.array_len(flex)):
            r.i32()  # partition index
            recs = r.nbytes(flex)
            if flex:
                r.skip_tags()
            out.append((topic, recs or b""))
        if flex:
            r.skip_tags()
    return out


def find_coordinator_key_type(frame):
    """"group" or "txn": the key type of a FindCoordinator request."""
    key, ver, _, _, pos = parse_request_header(frame)
    flex = ver >= FLEX_FROM[10]
    r = Reader(frame, pos)
    if ver >= 4:
        return "batch"
    r.string(flex)  # key
    if ver == 0:
        return "group"
    return {0: "group", 1: "txn"}.get(r.take(1)[0], "other")


def batch_codecs(records):
    """Compression codec ids of each v2 batch in <records>."""
    codecs, pos = [], 0
    while pos + 23 <= len(records):
        length = struct.unpack(">i", records[pos + 8:pos + 12])[0]
        magic = records[pos + 16]
        if magic != 2:
            raise ValueError("not a v2 batch")
        attrs = struct.unpack(">h", records[pos + 21:pos + 23])[0]
        codecs.append(attrs & 7)
        pos += 12 + length
    if pos != len(records):
        raise ValueError("trailing bytes after batches")
    return codecs


class Recorder:
    """Frames seen by all connections; request order is the global seq."""

    def __init__(self):
        self.lock = threading.Lock()
        self.seq = 0
        self.requests = {}  # seq -> (key, ver, frame)
        self.run_of = {}  # seq -> index of the client run that sent it
        self.responses = {}  # seq -> frame
        self.rewrites = 0  # responses whose advertised port was rewritten

    def add_request(self, frame, run):
        with self.lock:
            self.seq += 1
            key, ver = struct.unpack(">hh", frame[:4])
            self.requests[self.seq] = (key, ver, frame)
            self.run_of[self.seq] = run
            return self.seq

    def add_response(self, seq, frame):
        with self.lock:
            self.responses[seq] = frame


def recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def recv_frame(sock):
    head = recv_exact(sock, 4)
    if head is None:
        return None
    size = struct.unpack(">i", head)[0]
    if size < 0 or size > MAX_FRAME:
        raise ValueError("bad frame size %d" % size)
    return recv_exact(sock, size)


class Conn:
    """One client connection relayed to the mock broker."""

    def __init__(self, rec, run, client, upstream, find, repl):
        self.rec, self.run = rec, run
        self.client, self.upstream = client, upstream
        self.find, self.repl = find, repl
        self.pending = {}  # correlation id -> seq
        self.lock = threading.Lock()

    def close(self):
        for s in (self.client, self.upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def pump_requests(self):
        try:
            while True:
                frame = recv_frame(self.client)
                if frame is None:
                    break
                corr = struct.unpack(">i", frame[4:8])[0]
                seq = self.rec.add_request(frame, self.run)
                with self.lock:
                    self.pending[corr] = seq
                self.upstream.sendall(struct.pack(">i", len(frame)) + frame)
        except (OSError, ValueError):
            pass
        self.close()

    def pump_responses(self):
        try:
            while True:
                frame = recv_frame(self.upstream)
                if frame is None:
                    break
                if self.find in frame:
                    frame = frame.replace(self.find, self.repl)
                    with self.rec.lock:
                        self.rec.rewrites += 1
                corr = struct.unpack(">i", frame[:4])[0]
                with self.lock:
                    seq = self.pending.pop(corr, None)
                if seq is not None:
                    self.rec.add_response(seq, frame)
                self.client.sendall(struct.pack(">i", len(frame)) + frame)
        except (OSError, ValueError):
            pass
        self.close()


def serve(listener, rec, run, mock_host, mock_port, proxy_port, stop):
    find = mock_host.encode() + struct.pack(">i", mock_port)
    repl = mock_host.encode() + struct.pack(">i", proxy_port)
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            client, _ = listener.accept()
        except socket.timeout:
            continue
        client.settimeout(None)
        upstream = socket.create_connection((mock_host, mock_port))
        c = Conn(rec, run, client, upstream, find, repl)
        for fn in (c.pump_requests, c.pump_responses):
            threading.Thread(target=fn, daemon=True).start()


def select_frames(rec):
    """Request seqs to keep: 2 per (api, version), first Produce per topic."""
    kept, count, topics = [], {}, set()
    for seq in sorted(rec.requests):
        key, ver, frame = rec.requests[seq]
        if seq not in rec.responses and key != 0:
            continue
        tag = ""
        if key == 0:
            tps = produce_topics_records(frame)
            topic = tps[0][0] if len(tps) == 1 else None
            if topic is None or (ver, topic) in topics:
                continue
            topics.add((ver, topic))
            tag = "-" + topic.split("-", 1)[1]
        else:
            if key == 10:
                tag = "-" + find_coordinator_key_type(frame)
            n = count.get((key, ver, tag), 0)
            if n >= KEEP_PER_API_VERSION:
                continue
            count[(key, ver, tag)] = n + 1
        kept.append((seq, key, ver, tag))
    return kept


def write_outputs(rec, golden_dir, batches_dir):
    os.makedirs(golden_dir, exist_ok=True)
    os.makedirs(batches_dir, exist_ok=True)
    for name in os.listdir(golden_dir):
        if name.endswith(".bin"):
            os.unlink(os.path.join(golden_dir, name))

    lines, summary = [], {}
    for i, (seq, key, ver, tag) in enumerate(select_frames(rec), 1):
        api = API_NAMES.get(key, "api%d" % key)
        for direction, frame in (("req", rec.requests[seq][2]),
                                 ("resp", rec.responses.get(seq))):
            if frame is None:
                continue
            name = "%04d-%s-%s-v%d%s.bin" % (i, direction, api, ver, tag)
            with open(os.path.join(golden_dir, name), "wb") as f:
                f.write(frame)
            lines.append("| %s | %d | %d | %s | %d |" % (
                name, key, ver, direction, len(frame)))
        summary.setdefault((key, api), {}).setdefault(ver, 0)
        summary[(key, api)][ver] += 1

    batches = {c: b"" for c in CODECS}
    for seq in sorted(rec.requests):
        key, ver, frame = rec.requests[seq]
        if key != 0 or rec.run_of[seq] != 0:
            continue
        for topic, records in produce_topics_records(frame):
            codec = topic.split("-", 1)[1]
            if codec not in CODECS:
                continue
            want = CODECS.index(codec)
            if any(c != want for c in batch_codecs(records)):
                raise SystemExit("proxy: %s batch with wrong codec" % topic)
            batches[codec] += records
    for codec, data in batches.items():
        if not data:
            raise SystemExit("proxy: no Produce captured for " + codec)
        with open(os.path.join(batches_dir, "rdkafka_%s.bin" % codec),
                  "wb") as f:
            f.write(data)

    with open(os.path.join(golden_dir, "README.md"), "w") as f:
        f.write(README_HEAD)
        f.write("\n## Captured (api key, api, versions: pairs kept)\n\n")
        for (key, api), vers in sorted(summary.items()):
            f.write("- %d %s: %s\n" % (key, api, ", ".join(
                "v%d: %d" % (v, n) for v, n in sorted(vers.items()))))
        f.write("\n## Files\n\n| file | api key | version | direction | "
                "bytes |\n|---|---|---|---|---|\n")
        f.write("\n".join(lines) + "\n")


README_HEAD = """# Golden vectors from librdkafka

GENERATED by tests/golden/capture.sh (do not edit by hand; re-run it).

Kafka frames sent by librdkafka %s (client.id `sluice-golden`) to its own
mock cluster through a recording proxy, and the mock's answers. One file per
frame: `NNNN-<req|resp>-<api>-v<version>[-<tag>].bin` (tag: the Produce
topic's codec or `txn`, the FindCoordinator key type `group` or `txn`), NNNN the order of
the request (a response shares its request's number), the bytes are the
request or response header plus body, without the 4-byte size prefix.
Responses in Metadata/FindCoordinator carry the proxy's port (rewritten from
the mock's). Timestamps, producer ids and ports vary between captures.

Two client runs: "latest" (newest versions librdkafka and its mock share)
and "oldest" (the mock capped at Apache Kafka 4.0's lowest version of each
API, without zstd and transactions; in that run librdkafka 2.0.2 sent its
Produce batches uncompressed, whatever the topic's codec). librdkafka asks for ApiVersions v3
first; the mock supports only v0-2 and answers with a hand-made body that is
not Kafka wire format (error 35, a raw one-byte array count, no tagged
fields), after which the client retries with v0. test_golden.c checks those
answers by bytes and does not decode them.

tests/data/batches/rdkafka_<codec>.bin hold the `records` of every Produce
request to `golden-<codec>` in the "latest" run: 100 records, key `key-<i>`, value `value-<i>`
ten times, header `idx`=`<i>`, i = 0..99, as v2 record batches in order.
"""


def run_client(client, mode, rec, run):
    """Run the capture client once in <mode> behind a fresh proxy."""
    proc = subprocess.Popen([client, mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    if len(line) != 2 or line[0] != "MOCK":
        proc.kill()
        raise SystemExit("proxy: unexpected client output %r" % line)
    mock_host, mock_port = line[1].split(",")[0].rsplit(":", 1)
    mock_port = int(mock_port)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    proxy_port = listener.getsockname()[1]
    stop = threading.Event()
    rewrites = rec.rewrites
    t = threading.Thread(target=serve, args=(listener, rec, run, mock_host,
                                             mock_port, proxy_port, stop),
                         daemon=True)
    t.start()
    proc.stdin.write("127.0.0.1:%d\n" % proxy_port)
    proc.stdin.flush()
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise SystemExit("proxy: capture client (%s) timed out" % mode)
    stop.set()
    t.join()
    listener.close()
    if proc.returncode != 0 or "DONE" not in out:
        raise SystemExit("proxy: capture client (%s) failed (%d)" %
                         (mode, proc.returncode))
    if rec.rewrites == rewrites:
        raise SystemExit("proxy: mock port never seen in a response; "
                         "the client may have bypassed the proxy")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--client", required=True)
    ap.add_argument("--golden-dir", required=True)
    ap.add_argument("--batches-dir", required=True)
    ap.add_argument("--librdkafka-version", default="?")
    args = ap.parse_args()

    global README_HEAD
    README_HEAD = README_HEAD % args.librdkafka_version

    rec = Recorder()
    for run, mode in enumerate(("latest", "oldest")):
        run_client(args.client, mode, rec, run)
    with rec.lock:
        write_outputs(rec, args.golden_dir, args.batches_dir)
    print("proxy: %d requests, %d responses, %d port rewrites" % (
        len(rec.requests), len(rec.responses), rec.rewrites))


if __name__ == "__main__":
    main()
