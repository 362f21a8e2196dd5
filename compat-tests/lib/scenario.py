"""Shared pieces of the client scenario tests (test_confluent,
test_kafka_python, test_group_scenarios): pass/fail lines, expected
failures for scenarios that wait on a later broker feature, and the list of
APIs a broker advertises.

An expected failure is a scenario written before the broker API it needs.
It must fail for the stated reason (the caller's predicate looks at the
error); if it fails for any other reason it is a real FAIL, and if it
passes the run prints an XPASS line asking to flip the marker, without
failing the test.
"""
import struct
import time

from sluice import Conn, request_header

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def expect_failure(name, reason, run, is_expected):
    """Run a scenario that is expected to fail because of <reason>.
    run() returns normally when the scenario passes and raises otherwise;
    is_expected(exc) says whether the raised error is the stated reason."""
    try:
        run()
    except Exception as e:  # noqa: BLE001 (any failure is classified below)
        if is_expected(e):
            print("xfail %s: expected failure (%s): %s" % (name, reason, e), flush=True)
        else:
            check(False, "%s: expected to fail because %s, but failed otherwise: %r" % (name, reason, e))
        return
    print("XPASS %s: passes now; flip the marker (it was expected to fail because %s)"
          % (name, reason), flush=True)


def advertised_apis(port):
    """{api key: (min, max)} from an ApiVersions v0 exchange with the broker."""
    c = Conn(port)
    try:
        c.send_frame(request_header(18, 0, 7))
        body = c.recv_frame()[4:]
    finally:
        c.close()
    (err, n) = struct.unpack_from(">hi", body, 0)
    out = {}
    for i in range(max(n, 0)):
        key, lo, hi = struct.unpack_from(">hhh", body, 6 + 6 * i)
        out[key] = (lo, hi)
    return out


def wait_for(fn, timeout, step=0.1):
    """Poll fn() until it returns something true or <timeout> seconds pass;
    returns the last value."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(step)
