# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""A confluent-kafka (librdkafka) group consumer for the cluster tests: consumes a topic in a
consumer group, commits its positions synchronously every `commit_every` records (retrying a
commit that fails while the group's coordinator moves), and prints one line per event:

  M <partition> <offset>           a record was consumed
  C <partition> <offset> <ms>      a commit of next offset <offset> was acknowledged at <ms>
  R <error>                        a commit failed and is tried again
  D                                done: `max_records` consumed and committed
  F <detail>                       failed (exit code 3)

Usage: /usr/bin/python3 tests/cluster/group_consumer.py '{"bootstrap": "...", "group": "g",
  "topic": "t", "max_records": 1000, "commit_every": 50, "pause_after_commit_s": 0.1,
  "timeout_s": 60}'
"""

import json
import os
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException

spec = json.loads(sys.argv[1])
deadline = time.time() + float(spec.get("timeout_s", 60))


def emit(line):
    data = (line + "\n").encode()
    while data:
        data = data[os.write(1, data):]


def fail(detail):
    emit("F " + str(detail).replace("\n", " "))
    sys.exit(3)


consumer = Consumer(
    {
        "bootstrap.servers": spec["bootstrap"],
        "group.id": spec["group"],
        "client.id": "cluster-group-consumer",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 1000,
        "topic.metadata.refresh.interval.ms": 2000,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "socket.connection.setup.timeout.ms": 3000,
    }
)


def commit():
    while True:
        if time.time() > deadline:
            fail("commit: no success before the deadline")
        try:
            done = consumer.commit(asynchronous=False)
        except KafkaException as e:
            err = e.args[0]
            if err.code() == KafkaError._NO_OFFSET:
                return
            emit("R %s" % err.name())
            time.sleep(0.2)
            continue
        for tp in done or []:
            if tp.error is not None:
                emit("R %s" % tp.error.name())
                time.sleep(0.2)
                break
        else:
            now = int(time.time() * 1000)
            for tp in done or []:
                emit("C %d %d %d" % (tp.partition, tp.offset, now))
            return


consumer.subscribe([spec["topic"]])
count = 0
since_commit = 0
try:
    while count < spec["max_records"]:
        if time.time() > deadline:
            fail("consumed %d of %d records before the deadline" % (count, spec["max_records"]))
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() == KafkaError._PARTITION_EOF:
                continue
            emit("R %s" % msg.error().name())
            continue
        emit("M %d %d" % (msg.partition(), msg.offset()))
        count += 1
        since_commit += 1
        if since_commit >= spec["commit_every"]:
            commit()
            since_commit = 0
            time.sleep(float(spec.get("pause_after_commit_s", 0)))
    commit()
    emit("D")
finally:
    consumer.close()
