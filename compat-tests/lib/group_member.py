#!/usr/bin/python3
"""One consumer-group member for the group scenario tests: a
confluent-kafka-python (librdkafka) consumer that reports everything it sees
on stdout, one line per event, flushed at once, so that a test can kill it
with SIGKILL and still know what it consumed.

    group_member.py BOOTSTRAP GROUP TOPIC [key=value ...]

key=value pairs are librdkafka consumer properties. Output lines:

    ASSIGN <p,p,...>   on_assign (the incremental set under the cooperative
                       protocol, the whole assignment under eager ones)
    REVOKE <p,p,...>   on_revoke
    LOST <p,p,...>     on_lost
    MSG <p> <o>        a message consumed (printed before its offset is
                       stored for the next auto commit, so a committed
                       offset never passes what was printed)
    ERR <name> <text>  a consumer error
    CLOSED             after SIGTERM, once the consumer closed cleanly

Partition lists are sorted; an empty list is "-".
"""
import signal
import sys

from confluent_kafka import Consumer, KafkaError

stop = False


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def plist(parts):
    return ",".join(str(p) for p in sorted(tp.partition for tp in parts)) or "-"


def main():
    global stop
    bootstrap, group, topic = sys.argv[1:4]
    conf = {"bootstrap.servers": bootstrap, "group.id": group,
            "auto.offset.reset": "earliest", "enable.auto.offset.store": False,
            "auto.commit.interval.ms": 300}
    for kv in sys.argv[4:]:
        k, v = kv.split("=", 1)
        conf[k] = v
    cooperative = conf.get("partition.assignment.strategy") == "cooperative-sticky"
    c = Consumer(conf)

    def on_assign(consumer, parts):
        out("ASSIGN " + plist(parts))
        if cooperative:
            consumer.incremental_assign(parts)
        else:
            consumer.assign(parts)

    def on_revoke(consumer, parts):
        out("REVOKE " + plist(parts))
        if cooperative:
            consumer.incremental_unassign(parts)
        else:
            consumer.unassign()

    def on_lost(consumer, parts):
        out("LOST " + plist(parts))
        if cooperative:
            consumer.incremental_unassign(parts)
        else:
            consumer.unassign()

    def on_term(signum, frame):
        global stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    # poll(), not consume(n): librdkafka before 2.1.0 (Debian bookworm has
    # 2.0.2) can skip messages in its batch consume API when a partition is
    # paused and resumed, which the cooperative protocol does to partitions
    # it keeps (a client bug, fixed upstream in 2.1.0).
    while not stop:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error():
            if m.error().code() != KafkaError._PARTITION_EOF:
                out("ERR %s %s" % (m.error().name(), " ".join(m.error().str().split())))
            continue
        out("MSG %d %d" % (m.partition(), m.offset()))
        c.store_offsets(m)
    c.close()
    out("CLOSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
