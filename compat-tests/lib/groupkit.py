"""Pieces of the consumer-group scenario tests: a Member is one
group_member.py process (a librdkafka consumer in its own process, so a
test can SIGKILL it; or group_member_kp.py, the same on kafka-python, or
kafkajs/group_member.js on kafkajs) whose event lines are read by a thread
and stamped with the time they arrived; a Feeder produces continuously to every partition of
a topic and remembers each acknowledged (partition, offset).

Needs the system python3 with confluent_kafka (Debian
python3-confluent-kafka).
"""
import os
import signal
import subprocess
import threading
import time

from confluent_kafka import Producer

LIB = os.path.dirname(os.path.abspath(__file__))


def parts_of(field):
    return set() if field == "-" else {int(x) for x in field.split(",")}


class Member:
    COMMANDS = {"librdkafka": ["/usr/bin/python3", os.path.join(LIB, "group_member.py")],
                "kafka-python": ["/usr/bin/python3", os.path.join(LIB, "group_member_kp.py")],
                "kafkajs": ["node", os.path.join(os.path.dirname(LIB), "kafkajs", "group_member.js")]}

    def __init__(self, bootstrap, group, topic, name, props=(), client="librdkafka"):
        self.name = name
        self.cooperative = "partition.assignment.strategy=cooperative-sticky" in props
        self.lock = threading.Lock()
        self.assigned = set()
        self.events = []  # (arrival time, kind, set of partitions), ASSIGN/REVOKE/LOST
        self.consumed = []  # (arrival time, partition, offset)
        self.errors = []
        self.closed = False
        self.proc = subprocess.Popen(self.COMMANDS[client] + [bootstrap, group, topic] + list(props),
                                     stdout=subprocess.PIPE, stderr=self._stderr(name), text=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    @staticmethod
    def _stderr(name):
        """librdkafka's log lines go to $GROUPKIT_LOGS/<name>.log when that
        variable names a directory (for debugging), else nowhere."""
        d = os.environ.get("GROUPKIT_LOGS")
        if not d:
            return subprocess.DEVNULL
        return open(os.path.join(d, name + ".log"), "w")

    def _read(self):
        for line in self.proc.stdout:
            f = line.split()
            now = time.time()
            if not f:
                continue
            with self.lock:
                if f[0] == "MSG":
                    self.consumed.append((now, int(f[1]), int(f[2])))
                elif f[0] in ("ASSIGN", "REVOKE", "LOST"):
                    ps = parts_of(f[1])
                    self.events.append((now, f[0], ps))
                    if f[0] != "ASSIGN":
                        self.assigned -= ps
                    elif self.cooperative:
                        self.assigned |= ps
                    else:
                        self.assigned = set(ps)
                elif f[0] == "ERR":
                    self.errors.append(" ".join(f[1:]))
                elif f[0] == "CLOSED":
                    self.closed = True

    def assignment(self):
        with self.lock:
            return set(self.assigned)

    def offsets(self):
        with self.lock:
            return {(p, o) for _, p, o in self.consumed}

    def first_consumed_after(self, t, parts):
        """Arrival time of the first message of one of <parts> read after
        time t, per partition: {partition: time}."""
        out = {}
        with self.lock:
            for when, p, _ in self.consumed:
                if when > t and p in parts and p not in out:
                    out[p] = when
        return out

    def events_after(self, t):
        with self.lock:
            return [(kind, sorted(ps)) for when, kind, ps in self.events if when > t]

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.reader.join(5)

    def stop(self, timeout=30):
        """SIGTERM: the member closes its consumer (final commit, LeaveGroup)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        return self.proc.returncode


class Feeder:
    """Produces to partitions 0..nparts-1 of <topic> in turn, about <rate>
    messages a second, from a thread, until stop()."""

    def __init__(self, bootstrap, topic, nparts, rate=200):
        self.topic, self.nparts, self.rate = topic, nparts, rate
        self.p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 2})
        self.acked = set()
        self.errors = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _dr(self, err, m):
        if err is not None:
            self.errors.append(err)
        else:
            self.acked.add((m.partition(), m.offset()))

    def _run(self):
        i = 0
        start = time.time()
        while not self._stop.is_set():
            self.p.produce(self.topic, value=b"f%d" % i, partition=i % self.nparts, on_delivery=self._dr)
            i += 1
            self.p.poll(0)
            ahead = i / self.rate - (time.time() - start)
            if ahead > 0:
                time.sleep(ahead)
        self.p.flush(30)

    def stop(self):
        self._stop.set()
        self.thread.join(60)
        return self.acked


def wait_until(fn, timeout, step=0.1):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(step)


def balanced(members, nparts, each):
    """True when the members' assignments are disjoint, cover every
    partition and hold <each> partitions apiece."""
    sets = [m.assignment() for m in members]
    flat = sorted(p for s in sets for p in s)
    return flat == list(range(nparts)) and all(len(s) == each for s in sets)
