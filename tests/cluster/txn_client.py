# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""confluent-kafka (librdkafka) transactions for the cluster tests.

  produce '<spec>'  a transactional producer: for each entry of `transactions` ("commit" or
                    "abort"), reads one line from stdin (the test's go-ahead), begins a
                    transaction, writes `records` records to each of `partitions` (values
                    `t<i>-p<partition>-<k>`) and waits until they are delivered, then
                    commits or aborts it; prints
                    `T <i> <commit|abort>` once that is done
  transform '<spec>' consume-transform-produce: a consumer of group `group` (subscribed to
                    `input`, read_committed, no auto commit) and a transactional producer; for
                    each entry of `transactions` ("commit" or "abort"), consumes `records`
                    records, writes `out-<value>` for each to `output` (partition: the input
                    offset modulo `output_partitions`), sends the consumer's next offset to
                    the transaction (send_offsets_to_transaction) and commits or aborts it;
                    prints `T <i> <commit|abort> <first offset> <last offset>` per transaction
  read '<spec>'     reads `partitions` of `topic` from the beginning to their end with
                    `isolation` (read_committed or read_uncommitted), printing
                    `V <partition> <offset> <value>` per record and `E` at the end

Prints `F <detail>` and exits with code 3 on failure.
"""

import json
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition


def emit(line):
    data = (line + "\n").encode()
    while data:
        data = data[os.write(1, data):]


def fail(detail):
    emit("F " + str(detail).replace("\n", " "))
    sys.exit(3)


def produce(spec):
    p = Producer(
        {
            "bootstrap.servers": spec["bootstrap"],
            "transactional.id": spec["transactional_id"],
            "transaction.timeout.ms": 60000,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "topic.metadata.refresh.interval.ms": 2000,
            "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 500,
            "socket.connection.setup.timeout.ms": 3000,
        }
    )
    timeout = float(spec.get("timeout_s", 60))
    p.init_transactions(timeout)
    emit("I")
    for i, outcome in enumerate(spec["transactions"]):
        if sys.stdin.readline() == "":
            fail("stdin closed before transaction %d" % i)
        p.begin_transaction()
        for part in spec["partitions"]:
            for k in range(spec["records"]):
                p.produce(spec["topic"], ("t%d-p%d-%d" % (i, part, k)).encode(), partition=part)
        # every record reaches its partition first (an abort would drop the queued ones)
        if p.flush(timeout) != 0:
            fail("transaction %d: records not delivered before the deadline" % i)
        if outcome == "commit":
            p.commit_transaction(timeout)
        else:
            p.abort_transaction(timeout)
        emit("T %d %s" % (i, outcome))


def transform(spec):
    timeout = float(spec.get("timeout_s", 60))
    c = Consumer(
        {
            "bootstrap.servers": spec["bootstrap"],
            "group.id": spec["group"],
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "topic.metadata.refresh.interval.ms": 2000,
        }
    )
    c.subscribe([spec["input"]])
    p = Producer(
        {
            "bootstrap.servers": spec["bootstrap"],
            "transactional.id": spec["transactional_id"],
            "transaction.timeout.ms": 60000,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "topic.metadata.refresh.interval.ms": 2000,
        }
    )
    p.init_transactions(timeout)
    deadline = time.time() + timeout
    for i, outcome in enumerate(spec["transactions"]):
        msgs = []
        while len(msgs) < spec["records"]:
            if time.time() > deadline:
                fail("transaction %d: %d records consumed before the deadline" % (i, len(msgs)))
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                emit("R %s" % msg.error().name())
                continue
            msgs.append(msg)
        p.begin_transaction()
        for m in msgs:
            p.produce(
                spec["output"],
                b"out-" + m.value(),
                partition=m.offset() % spec["output_partitions"],
            )
        if p.flush(timeout) != 0:
            fail("transaction %d: records not delivered before the deadline" % i)
        last = msgs[-1]
        p.send_offsets_to_transaction(
            [TopicPartition(last.topic(), last.partition(), last.offset() + 1)],
            c.consumer_group_metadata(),
            timeout,
        )
        if outcome == "commit":
            p.commit_transaction(timeout)
        else:
            p.abort_transaction(timeout)
        emit("T %d %s %d %d" % (i, outcome, msgs[0].offset(), last.offset()))
    c.close()


def read(spec):
    c = Consumer(
        {
            "bootstrap.servers": spec["bootstrap"],
            "group.id": "txn-reader-%d" % os.getpid(),
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": spec["isolation"],
            "topic.metadata.refresh.interval.ms": 2000,
        }
    )
    parts = spec["partitions"]
    c.assign([TopicPartition(spec["topic"], p, 0) for p in parts])
    at_end = set()
    deadline = time.time() + float(spec.get("timeout_s", 60))
    while len(at_end) < len(parts):
        if time.time() > deadline:
            fail("read: partitions %s not at their end before the deadline" % sorted(at_end))
        msg = c.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(msg.partition())
                continue
            emit("R %s" % msg.error().name())
            continue
        at_end.discard(msg.partition())
        emit("V %d %d %s" % (msg.partition(), msg.offset(), msg.value().decode()))
    c.close()
    emit("E")


if __name__ == "__main__":
    try:
        {"produce": produce, "transform": transform, "read": read}[sys.argv[1]](json.loads(sys.argv[2]))
    except Exception as e:  # the test reads the F line
        fail("%s: %s" % (type(e).__name__, e))
