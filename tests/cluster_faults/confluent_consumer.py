# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""The fault harness's confluent-kafka (librdkafka) consumer.

A member of the harness's consumer group (manual commits), printing every record it reads and
every commit the coordinator acknowledged, in the protocol of tests/cluster_faults/protocol.ts:

  R                                               running (SIGTERM now stops it cleanly)
  C <topic> <partition> <offset> <id> <intact> <ms>  read
  K <topic> <partition> <offset> <ms>             commit acknowledged (offset: next to read)
  E <detail>                                      an error it carries on after
  F <detail>                                      fatal error: exits with code 3

Usage: /usr/bin/python3 tests/cluster_faults/confluent_consumer.py '<ConsumerSpec as JSON>'
"""

import json
import os
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

spec = json.loads(sys.argv[1])
name = spec["name"]
size = int(spec["recordBytes"])
commit_interval = float(spec["commitIntervalMs"]) / 1000.0
stopping = False


def on_term(_signum, _frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)
out = []


def write_all(text):
    # os.write, not sys.stdout (see tests/chaos/confluent_producer.py: a signal handler running
    # during a large buffered write loses part of it)
    data = text.encode()
    while data:
        data = data[os.write(1, data):]


def flush_out():
    if out:
        write_all("".join(out))
        out.clear()


def one_line(e):
    return str(e).replace("\n", " ")


def read_value(value):
    """The record id in a value and whether the value is as written (tests/chaos/protocol.ts)."""
    if value is None:
        return "-", False
    sep = value.find(b"|", 0, 128)
    if sep <= 0:
        return "-", False
    rid = value[:sep].decode(errors="replace")
    colon = rid.rfind(":")
    if colon <= 0 or not rid[colon + 1:].isdigit() or " " in rid:
        return "-", False
    seq = int(rid[colon + 1:])
    pad = 0x61 + seq % 26
    intact = len(value) == max(size, sep + 1) and all(b == pad for b in value[sep + 1:])
    return rid, intact


def on_error(err):
    sys.stderr.write("confluent consumer %s: %s\n" % (name, err))


conf = {
    "bootstrap.servers": spec["bootstrap"],
    "client.id": name,
    "group.id": spec["group"],
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "session.timeout.ms": 10000,
    "heartbeat.interval.ms": 1000,
    "max.poll.interval.ms": 60000,
    "socket.connection.setup.timeout.ms": 5000,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 500,
    "topic.metadata.refresh.interval.ms": 5000,
    "error_cb": on_error,
}
# SLUICE_RDKAFKA_DEBUG=eos,msg,protocol: librdkafka's debug log on stderr (the process's log file)
if os.environ.get("SLUICE_RDKAFKA_DEBUG"):
    conf["debug"] = os.environ["SLUICE_RDKAFKA_DEBUG"]
consumer = Consumer(conf)
consumer.subscribe(spec["topics"])
write_all("R\n")
last_commit = time.time()
try:
    while not stopping:
        try:
            msgs = consumer.consume(num_messages=500, timeout=0.3)
        except KafkaException as e:
            out.append("E consume: %s\n" % one_line(e))
            msgs = []
        now = int(time.time() * 1000)
        for m in msgs:
            if m.error() is not None:
                if m.error().code() != KafkaError._PARTITION_EOF:
                    out.append("E message: %s\n" % one_line(m.error()))
                continue
            rid, intact = read_value(m.value())
            out.append(
                "C %s %d %d %s %d %d\n"
                % (m.topic(), m.partition(), m.offset(), rid, 1 if intact else 0, now)
            )
        flush_out()
        if time.time() - last_commit >= commit_interval:
            last_commit = time.time()
            try:
                positions = [
                    p for p in consumer.position(consumer.assignment()) if p.offset >= 0
                ]
                if positions:
                    done = consumer.commit(offsets=positions, asynchronous=False)
                    now = int(time.time() * 1000)
                    for p in done or []:
                        if p.error is None and p.offset >= 0:
                            out.append("K %s %d %d %d\n" % (p.topic, p.partition, p.offset, now))
                        elif p.error is not None:
                            out.append("E commit %s-%d: %s\n" % (p.topic, p.partition, one_line(p.error)))
            except KafkaException as e:
                out.append("E commit: %s\n" % one_line(e))
            flush_out()
    consumer.close()
except Exception as e:  # noqa: BLE001 - any other failure ends the consumer with F
    flush_out()
    write_all("F %s\n" % one_line(e))
    sys.exit(3)
flush_out()
sys.exit(0)
