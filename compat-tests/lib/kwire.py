"""A tiny Kafka wire encoder/decoder for raw-protocol compat tests.

W builds a request body field by field, R reads a response body; both know
the classic and the flexible (compact, tagged) encodings. call() sends one
request on a sluice.Conn and returns a reader positioned after the response
header. Only what the tests need; written for these tests.
"""
import struct

from sluice import read_uvarint, uvarint


class W:
    def __init__(self, flex):
        self.flex = flex
        self.b = bytearray()

    def i8(self, v):
        self.b += struct.pack(">b", v)
        return self

    def i16(self, v):
        self.b += struct.pack(">h", v)
        return self

    def i32(self, v):
        self.b += struct.pack(">i", v)
        return self

    def i64(self, v):
        self.b += struct.pack(">q", v)
        return self

    def bool(self, v):
        return self.i8(1 if v else 0)

    def uuid(self, v):
        assert len(v) == 16
        self.b += v
        return self

    def raw(self, data):
        self.b += data
        return self

    def string(self, s):
        """A (nullable) string; bytes are sent as they are (NUL bytes too)."""
        if s is None:
            if self.flex:
                self.b += uvarint(0)
            else:
                self.i16(-1)
            return self
        data = s.encode() if isinstance(s, str) else s
        if self.flex:
            self.b += uvarint(len(data) + 1)
        else:
            self.i16(len(data))
        self.b += data
        return self

    def array_len(self, n):
        """n = None for a null array; negative values are sent as they are
        (hostile-input tests)."""
        if self.flex:
            self.b += uvarint(0 if n is None else n + 1)
        else:
            self.i32(-1 if n is None else n)
        return self

    def array(self, items, fn):
        if items is None:
            return self.array_len(None)
        self.array_len(len(items))
        for it in items:
            fn(self, it)
        return self

    def tags(self):
        if self.flex:
            self.b += uvarint(0)
        return self


class R:
    def __init__(self, buf, flex, pos=0):
        self.buf = buf
        self.flex = flex
        self.pos = pos

    def _unpack(self, fmt, n):
        (v,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return v

    def i8(self):
        return self._unpack(">b", 1)

    def i16(self):
        return self._unpack(">h", 2)

    def i32(self):
        return self._unpack(">i", 4)

    def i64(self):
        return self._unpack(">q", 8)

    def bool(self):
        return self.i8() != 0

    def uuid(self):
        v = bytes(self.buf[self.pos:self.pos + 16])
        self.pos += 16
        return v

    def uvarint(self):
        v, self.pos = read_uvarint(self.buf, self.pos)
        return v

    def string(self):
        if self.flex:
            n = self.uvarint() - 1
        else:
            n = self.i16()
        if n < 0:
            return None
        v = bytes(self.buf[self.pos:self.pos + n]).decode()
        self.pos += n
        return v

    def array(self, fn):
        if self.flex:
            n = self.uvarint() - 1
        else:
            n = self.i32()
        if n < 0:
            return None
        return [fn(self) for _ in range(n)]

    def tags(self):
        """Skip a tagged-field section; returns {tag: bytes}."""
        out = {}
        if not self.flex:
            return out
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            size = self.uvarint()
            out[tag] = bytes(self.buf[self.pos:self.pos + size])
            self.pos += size
        return out

    def done(self):
        return self.pos == len(self.buf)


_corr = [1000]


def call(conn, key, version, body, flex):
    """Send body (a W or bytes) as request <key>/<version>; return an R over
    the response body (after the response header)."""
    _corr[0] += 1
    corr = _corr[0]
    h = struct.pack(">hhi", key, version, corr)
    cid = b"kwire"
    h += struct.pack(">h", len(cid)) + cid
    if flex:
        h += b"\x00"
    data = body.b if isinstance(body, W) else body
    conn.send_frame(h + bytes(data))
    resp = conn.recv_frame()
    (got,) = struct.unpack_from(">i", resp, 0)
    if got != corr:
        raise AssertionError("correlation id %d, expected %d" % (got, corr))
    r = R(resp, flex, 4)
    r.tags()
    return r
