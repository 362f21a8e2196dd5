#!/usr/bin/python3
"""One consumer-group member on kafka-python (Debian python3-kafka 2.0.2,
its own implementation of the classic group protocol), with the same
command line and output lines as group_member.py (see there):

    group_member_kp.py BOOTSTRAP GROUP TOPIC [key=value ...]

key=value pairs are KafkaConsumer arguments (session_timeout_ms=6000);
numbers are passed as integers, and partition_assignment_strategy takes
"range" or "roundrobin". Offsets are auto-committed; kafka-python commits
the position of records poll() returned, from a later poll(), so a
committed offset never passes what was printed.
"""
import signal
import sys

from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

stop = False


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def plist(parts):
    return ",".join(str(p) for p in sorted(tp.partition for tp in parts)) or "-"


class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        out("REVOKE " + plist(revoked))

    def on_partitions_assigned(self, assigned):
        out("ASSIGN " + plist(assigned))


def main():
    global stop
    bootstrap, group, topic = sys.argv[1:4]
    kw = {"bootstrap_servers": bootstrap, "group_id": group, "auto_offset_reset": "earliest",
          "enable_auto_commit": True, "auto_commit_interval_ms": 300}
    assignors = {"range": RangePartitionAssignor, "roundrobin": RoundRobinPartitionAssignor}
    for kv in sys.argv[4:]:
        k, v = kv.split("=", 1)
        if k == "partition_assignment_strategy":
            kw[k] = [assignors[v]]
        else:
            kw[k] = int(v) if v.isdigit() else v
    c = KafkaConsumer(**kw)

    def on_term(signum, frame):
        global stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    c.subscribe([topic], listener=Listener())
    while not stop:
        for tp, recs in c.poll(timeout_ms=200).items():
            for r in recs:
                out("MSG %d %d" % (r.partition, r.offset))
    c.close()
    out("CLOSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
