#!/usr/bin/env python3
# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""One confluent-kafka consumer of the KIP-848 protocol (group.protocol=consumer), for
tests/interop/kip848_test.ts. Reads one JSON config line on stdin, then prints one JSON line per
event on stdout: {"ev":"assign"|"revoke"|"lost","tps":[[topic,partition],...],"t":time},
{"ev":"rec","topic":topic,"p":partition,"o":offset,"v":value} for each record (committed synchronously before
the next poll), {"ev":"closed"} after a graceful close. A later stdin line "close" closes the
consumer (it leaves the group) and exits."""

import json
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaException

cfg = json.loads(sys.stdin.readline())
closing = threading.Event()


def read_stdin():
    for line in sys.stdin:
        if line.strip() == "close":
            closing.set()
            return
    closing.set()


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def tps(partitions):
    return [[p.topic, p.partition] for p in partitions]


def on_assign(consumer, partitions):
    out({"ev": "assign", "tps": tps(partitions), "t": time.time()})


def on_revoke(consumer, partitions):
    out({"ev": "revoke", "tps": tps(partitions), "t": time.time()})


def on_lost(consumer, partitions):
    out({"ev": "lost", "tps": tps(partitions), "t": time.time()})


conf = {
    "bootstrap.servers": cfg["bootstrap"],
    "group.id": cfg["group"],
    "group.protocol": "consumer",
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
    "client.id": cfg.get("clientId", "kip848"),
    # client-level errors (e.g. the group's heartbeat refused) as {"ev":"error"} lines too
    "error_cb": lambda err: out({"ev": "error", "error": str(err)}),
}
if cfg.get("assignor"):
    conf["group.remote.assignor"] = cfg["assignor"]
consumer = Consumer(conf)
# a topic starting with "^" is a regex: librdkafka sends it to the broker (SubscribedTopicRegex)
consumer.subscribe([cfg["topic"]], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
threading.Thread(target=read_stdin, daemon=True).start()
out({"ev": "started"})
try:
    while not closing.is_set():
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            out({"ev": "error", "error": str(msg.error())})
            continue
        out({
            "ev": "rec",
            "topic": msg.topic(),
            "p": msg.partition(),
            "o": msg.offset(),
            "v": msg.value().decode(),
        })
        while True:
            try:
                consumer.commit(message=msg, asynchronous=False)
                break
            except KafkaException as e:
                out({"ev": "commit-error", "error": str(e)})
                if closing.is_set():
                    break
                time.sleep(0.2)
    consumer.close()
    out({"ev": "closed"})
except Exception as e:  # noqa: BLE001
    out({"ev": "fatal", "error": repr(e)})
    sys.exit(1)
