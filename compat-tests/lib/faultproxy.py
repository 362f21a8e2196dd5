"""A small TCP proxy for compat tests that cuts and delays connections.

FaultProxy(upstream_port) listens on a free 127.0.0.1 port and relays every
accepted connection to 127.0.0.1:upstream_port. While faults are on:

- a cutter thread picks, every `cut_every` seconds (randomised), one live
  connection and arms a cut: the next chunk in a random direction is
  forwarded only in part (client to broker: the broker sees a torn
  request) or not at all (broker to client: the request was served but the
  client never sees the answer, so it retries), then both sides close;
- each chunk is delayed by up to `max_delay` seconds with probability
  `delay_prob`.

Counters: cuts, delays, connections. Only for loopback tests.
"""
import random
import socket
import threading
import time


class _Pair:
    def __init__(self, client, upstream):
        self.client = client
        self.upstream = upstream
        self.cut_armed = None  # None, "up" or "down"
        self.closed = False
        self.lock = threading.Lock()

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in (self.client, self.upstream):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass


class FaultProxy:
    def __init__(self, upstream_port, cut_every=0.4, delay_prob=0.02, max_delay=0.05, seed=None):
        self.upstream_port = upstream_port
        self.cut_every = cut_every
        self.delay_prob = delay_prob
        self.max_delay = max_delay
        self.rng = random.Random(seed)
        self.faults = False
        self.cuts = 0
        self.delays = 0
        self.connections = 0
        self._pairs = []
        self._lock = threading.Lock()
        self._stop = False
        self._lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind(("127.0.0.1", 0))
        self._lsock.listen(64)
        self.port = self._lsock.getsockname()[1]
        self._threads = [threading.Thread(target=self._accept, daemon=True),
                         threading.Thread(target=self._cutter, daemon=True)]
        for t in self._threads:
            t.start()

    def _accept(self):
        while not self._stop:
            try:
                c, _ = self._lsock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
                u.settimeout(None)
            except OSError:
                c.close()
                continue
            for s in (c, u):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            p = _Pair(c, u)
            with self._lock:
                self._pairs.append(p)
                self.connections += 1
            threading.Thread(target=self._pump, args=(p, c, u, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(p, u, c, "down"), daemon=True).start()

    def _pump(self, p, src, dst, direction):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self.faults and self.rng.random() < self.delay_prob:
                    self.delays += 1
                    time.sleep(self.rng.random() * self.max_delay)
                if self.faults and p.cut_armed == direction:
                    if direction == "up" and len(data) > 1:
                        dst.sendall(data[:self.rng.randrange(1, len(data))])
                    self.cuts += 1
                    break
                dst.sendall(data)
        except OSError:
            pass
        p.close()
        with self._lock:
            if p in self._pairs:
                self._pairs.remove(p)

    def _cutter(self):
        while not self._stop:
            time.sleep(self.cut_every * (0.5 + self.rng.random()))
            if not self.faults:
                continue
            with self._lock:
                live = [p for p in self._pairs if not p.closed and p.cut_armed is None]
                if live:
                    self.rng.choice(live).cut_armed = self.rng.choice(["up", "down"])

    def close(self):
        self._stop = True
        self.faults = False
        try:
            self._lsock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._lsock.close()
        except OSError:
            pass
        with self._lock:
            pairs = list(self._pairs)
        for p in pairs:
            p.close()
