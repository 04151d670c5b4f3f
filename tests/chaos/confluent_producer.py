# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""The crash harness's confluent-kafka (librdkafka) producer.

Idempotent (enable.idempotence=true, acks=all), writes the partitions of its spec in turn and
prints one line per delivery report, in the protocol of tests/chaos/protocol.ts:

  R                                          running (SIGTERM now stops it cleanly)
  A <topic> <partition> <offset> <id> <ms>   acknowledged
  E <id> <error>                             not acknowledged (librdkafka gave up on it)
  F <detail>                                 fatal error: exits with code 3

Usage: /usr/bin/python3 tests/chaos/confluent_producer.py '<WorkerSpec as JSON>'
SIGTERM stops producing; the records already queued are flushed (up to 120 s) before it exits
(code 4 when some are still unacknowledged then).
"""

import json
import os
import signal
import sys
import time

from confluent_kafka import KafkaException, Producer

spec = json.loads(sys.argv[1])
name = spec["name"]
targets = [(t, int(p)) for t, p in spec["targets"]]
size = int(spec["recordBytes"])
rate = float(spec.get("recordsPerSecond") or 0)
stopping = False
fatal_detail = None
out = []
last_flush = 0.0


def on_term(_signum, _frame):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)


def write_all(text):
    # os.write, not sys.stdout: Python 3.11's buffered stdout drops the rest of a large write to a
    # full pipe when SIGTERM's handler runs in the middle of it (the harness saw whole ranges of
    # acknowledgements vanish at the final stop).
    data = text.encode()
    while data:
        data = data[os.write(1, data):]


def flush_out(force=True):
    global last_flush
    now = time.time()
    if out and (force or len(out) >= 256 or now - last_flush >= 0.05):
        write_all("".join(out))
        out.clear()
        last_flush = now


def fatal(detail):
    flush_out()
    write_all("F %s\n" % detail.replace("\n", " "))
    sys.exit(3)


def on_error(err):
    # Exceptions raised in callbacks come out of poll(): note the error, act on it in the loop.
    global fatal_detail
    if err.fatal() and fatal_detail is None:
        fatal_detail = "client: %s" % err
    sys.stderr.write("confluent producer %s: %s\n" % (name, err))


def on_delivery(err, msg):
    global fatal_detail
    rid = msg.value()[: msg.value().index(b"|")].decode()
    if err is not None:
        out.append("E %s %s\n" % (rid, str(err).replace("\n", " ")))
        if err.fatal() and fatal_detail is None:
            fatal_detail = "delivery of %s: %s" % (rid, err)
        return
    # librdkafka may report a delivery without an offset (None): a batch it took as delivered
    # from a DUPLICATE_SEQUENCE_NUMBER answer or after a possibly persisted error; -1 then
    offset = msg.offset()
    if offset is None or offset < 0:
        offset = -1
    out.append(
        "A %s %d %d %s %d\n" % (msg.topic(), msg.partition(), offset, rid, int(time.time() * 1000))
    )


def value(seq):
    head = ("%s:%d|" % (name, seq)).encode()
    return head + bytes([0x61 + seq % 26]) * max(0, size - len(head))


conf = {
    "bootstrap.servers": spec["bootstrap"],
    "client.id": name,
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 5,
    # Keep retrying across broker restarts: the harness bounds the run.
    "message.timeout.ms": 600000,
    "request.timeout.ms": 15000,
    "socket.connection.setup.timeout.ms": 5000,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 500,
    "retry.backoff.ms": 100,
    "queue.buffering.max.messages": 4000,
    "topic.metadata.refresh.interval.ms": 5000,
    "error_cb": on_error,
}
# SLUICE_RDKAFKA_DEBUG=eos,msg,protocol: librdkafka's debug log on stderr (the process's log file)
if os.environ.get("SLUICE_RDKAFKA_DEBUG"):
    conf["debug"] = os.environ["SLUICE_RDKAFKA_DEBUG"]
producer = Producer(conf)

write_all("R\n")
seq = 0
started = time.time()
try:
    while not stopping and fatal_detail is None:
        if rate > 0 and seq >= rate * (time.time() - started):
            # paced: wait for the next record's turn, serving delivery reports meanwhile
            producer.poll(min(0.05, max(0.0, seq / rate - (time.time() - started))))
            flush_out(False)
            continue
        topic, partition = targets[seq % len(targets)]
        try:
            producer.produce(topic, value(seq), partition=partition, on_delivery=on_delivery)
            seq += 1
            producer.poll(0)
        except BufferError:
            producer.poll(0.05)
        flush_out(False)
    deadline = time.time() + 120
    while len(producer) > 0 and time.time() < deadline and fatal_detail is None:
        producer.poll(0.1)
        flush_out()
except KafkaException as e:
    fatal_detail = fatal_detail or str(e)
if fatal_detail is not None:
    fatal(fatal_detail)
flush_out()
left = len(producer)
sys.stderr.write("confluent producer %s: stopped, %d records unflushed\n" % (name, left))
sys.exit(0 if left == 0 else 4)
