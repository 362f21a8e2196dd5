"""Start and stop a real sluice process for compat tests.

Each broker runs on a free loopback port (127.0.0.1 only) with a temporary
data directory, and is stopped (SIGTERM, then SIGKILL) when the test ends.
The binary comes from $SLUICE_BIN (default: build/sluice in the repo).
"""
import os
import signal
import socket
import struct
import subprocess
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, overrides=None, data_dir=None):
        self.bin = os.environ.get("SLUICE_BIN", os.path.join(REPO, "build", "sluice"))
        self.port = free_port()
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="sluice-test-")
            data_dir = self._tmp.name
        self.data_dir = data_dir
        self.overrides = dict(overrides or {})
        self.extra_args = []
        self.pass_env = False  # pass KAFKA_* variables through to the broker
        self.proc = None
        self.log_path = os.path.join(tempfile.gettempdir(), "sluice-test-%d.log" % self.port)

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def start(self, timeout=10.0):
        args = [self.bin,
                "--override", "listeners=PLAINTEXT://127.0.0.1:%d" % self.port,
                "--override", "log.dirs=%s" % self.data_dir]
        for k, v in self.overrides.items():
            args += ["--override", "%s=%s" % (k, v)]
        args += self.extra_args
        env = {k: v for k, v in os.environ.items() if self.pass_env or not k.startswith("KAFKA_")}
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sluice exited with %d:\n%s" % (self.proc.returncode, self.log()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("sluice did not start listening:\n" + self.log())

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self._log.close()
        return rc

    def close(self):
        """Stop (SIGTERM) and clean up. Returns the exit status; a status
        other than 0 (a sanitizer report, a crash at shutdown) leaves the
        log file in place and is printed."""
        rc = self.stop()
        if rc not in (0, None):
            print("sluice exited with status %r; log %s:\n%s" % (rc, self.log_path, self.log()[-4000:]))
        else:
            try:
                os.unlink(self.log_path)
            except OSError:
                pass
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        rc = self.close()
        if exc_type is None and rc not in (0, None):
            raise RuntimeError("sluice did not exit cleanly (status %r)" % rc)
        return False


class Conn:
    """A raw Kafka protocol connection: send frames, read frames."""

    def __init__(self, port, timeout=5.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def send_raw(self, data):
        self.s.sendall(data)

    def send_frame(self, payload):
        self.s.sendall(struct.pack(">i", len(payload)) + payload)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
            buf += chunk
        return buf

    def recv_frame(self):
        (n,) = struct.unpack(">i", self.recv_exact(4))
        return self.recv_exact(n)

    def is_closed(self, timeout=2.0):
        """True if the peer closes the connection within <timeout>."""
        self.s.settimeout(timeout)
        try:
            return self.s.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


def request_header(api_key, api_version, correlation_id, client_id="sluice-test", flexible=False):
    h = struct.pack(">hhi", api_key, api_version, correlation_id)
    if client_id is None:
        h += struct.pack(">h", -1)
    else:
        cid = client_id.encode()
        h += struct.pack(">h", len(cid)) + cid
    if flexible:
        h += b"\x00"  # empty tagged-field section
    return h


def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def read_uvarint(buf, pos):
    shift = 0
    v = 0
    while True:
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, pos
        shift += 7


def rdkafka_client():
    """Build (once, cached by source mtime) and return the path of
    compat-tests/tools/rdkafka_client, a librdkafka test client."""
    src = os.path.join(REPO, "compat-tests", "tools", "rdkafka_client.c")
    out_dir = os.path.join(REPO, "build", "compat-tools")
    out = os.path.join(out_dir, "rdkafka_client")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
        return out
    os.makedirs(out_dir, exist_ok=True)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "rdkafka"],
                           capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["cc", "-O2", "-std=c17", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                    "-o", out + ".tmp", src] + flags, check=True)
    os.rename(out + ".tmp", out)
    return out


def parse_client_output(text):
    """ACK/ERR/MSG lines of rdkafka_client into lists."""
    acks, errs, msgs = [], [], []
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "ACK":
            acks.append((int(f[1]), int(f[2]), int(f[3])))
        elif f[0] == "ERR":
            errs.append((int(f[1]), f[2]))
        elif f[0] == "MSG":
            msgs.append((int(f[1]), int(f[2]), int(f[3]), int(f[4]), f[5] == "1"))
    return acks, errs, msgs
