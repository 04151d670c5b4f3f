# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""A confluent-kafka (librdkafka) producer for the power-loss harness.

Usage: confluent_producer.py BOOTSTRAP TOPIC PREFIX VALUE_BYTES MAX_IN_FLIGHT MAX_PER_SECOND

Produces values "PREFIX:N:<padding>" (N = 0, 1, 2, ...) with enable.idempotence and acks=all,
round-robin over the topic's partitions, for as long as it runs. It keeps going while the
broker is killed and restarted (same address): librdkafka retries, and idempotence keeps a
retried batch from being written twice. Every delivery report is one JSON line on stdout:
  {"p": partition, "o": offset, "v": "PREFIX:N"}           acknowledged
  {"v": "PREFIX:N", "err": "...", "fatal": bool}            failed
and a client-level error {"error": "...", "fatal": bool}. SIGTERM: stop producing, wait up to
10 s for outstanding deliveries, print {"done": true} and exit 0. A fatal error exits 3.
"""

import json
import os
import signal
import sys
import time

from confluent_kafka import KafkaError, Producer

bootstrap, topic, prefix, value_bytes, max_in_flight, max_per_second = sys.argv[1:7]
value_bytes = int(value_bytes)
max_in_flight = int(max_in_flight)
max_per_second = float(max_per_second)

stop = False
fatal = None


def on_term(_sig, _frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")


def on_error(err):
    global fatal
    emit({"error": str(err), "fatal": err.fatal()})
    if err.fatal():
        fatal = err


outstanding = 0


def on_delivery(err, msg):
    global outstanding
    outstanding -= 1
    v = msg.value()[: msg.value().index(b":", len(prefix) + 1)].decode()
    if err is None:
        emit({"p": msg.partition(), "o": msg.offset(), "v": v})
    else:
        emit({"v": v, "err": str(err), "fatal": err.fatal()})


p = Producer(
    {
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": 600000,
        "request.timeout.ms": 30000,
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
        "retry.backoff.ms": 100,
        "topic.metadata.refresh.interval.ms": 5000,
        "error_cb": on_error,
    }
)
meta = p.list_topics(topic, timeout=30)
partitions = len(meta.topics[topic].partitions)
if partitions == 0:
    emit({"error": f"topic {topic} has no partitions", "fatal": True})
    sys.exit(3)

pad = b"c" * value_bytes
n = 0
started = time.monotonic()
parent = os.getppid()
while not stop and fatal is None:
    if os.getppid() != parent:  # the harness died: do not outlive it
        break
    if outstanding >= max_in_flight or n > (time.monotonic() - started) * max_per_second:
        p.poll(0.05)
        sys.stdout.flush()
        continue
    value = f"{prefix}:{n}:".encode() + pad
    try:
        p.produce(topic, value=value, partition=n % partitions, on_delivery=on_delivery)
    except BufferError:
        p.poll(0.05)
        continue
    outstanding += 1
    n += 1
    p.poll(0)
    if n % 64 == 0:
        sys.stdout.flush()

if fatal is None:
    p.flush(10)
emit({"done": True, "produced": n, "outstanding": outstanding})
sys.stdout.flush()
sys.exit(3 if fatal is not None else 0)
