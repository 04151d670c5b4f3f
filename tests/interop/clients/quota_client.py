#!/usr/bin/python3
# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""confluent-kafka (librdkafka) clients for the client-quota interop test.

Usage: quota_client.py produce|consume  (JSON request on stdin)

produce: {"bootstrap", "topic", "client_id", "seconds", "size"} - produces as fast as librdkafka
lets it for `seconds`, then reports the bytes the broker acknowledged and when.
consume: {"bootstrap", "topic", "client_id", "seconds"} - reads from the beginning for `seconds`.
Both report every throttle event librdkafka saw (throttle_cb: the broker's throttle_time_ms).
The answer is one JSON object on stdout; a failure prints {"error": ...} and exits 1.
"""

import json
import os
import sys
import time
import traceback

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition


def produce(req):
    throttles = []
    acked = []
    start = time.monotonic()

    def on_throttle(event):
        throttles.append(int(event.throttle_time * 1000))

    def on_delivery(err, msg):
        if err is None:
            acked.append((time.monotonic() - start, len(msg.value())))

    p = Producer({
        "bootstrap.servers": req["bootstrap"],
        "client.id": req["client_id"],
        "linger.ms": 5,
        "batch.size": 16384,
        "acks": 1,
        "throttle_cb": on_throttle,
    })
    value = b"x" * req["size"]
    while time.monotonic() - start < req["seconds"]:
        try:
            p.produce(req["topic"], value, on_delivery=on_delivery)
        except BufferError:
            p.poll(0.01)
        p.poll(0)
    elapsed = time.monotonic() - start
    p.poll(0)
    return {"elapsed": elapsed, "acked_bytes": sum(n for _, n in acked),
            "acked_messages": len(acked), "throttles": throttles}


def consume(req):
    throttles = []

    def on_throttle(event):
        throttles.append(int(event.throttle_time * 1000))

    c = Consumer({
        "bootstrap.servers": req["bootstrap"],
        "client.id": req["client_id"],
        "group.id": req["client_id"],
        "enable.auto.commit": False,
        "throttle_cb": on_throttle,
    })
    c.assign([TopicPartition(req["topic"], 0, OFFSET_BEGINNING)])
    start = time.monotonic()
    got = 0
    while time.monotonic() - start < req["seconds"]:
        m = c.poll(0.1)
        if m is not None and m.error() is None:
            got += len(m.value())
    elapsed = time.monotonic() - start
    c.close()
    return {"elapsed": elapsed, "bytes": got, "throttles": throttles}


def main():
    try:
        req = json.loads(sys.stdin.read())
        out = {"produce": produce, "consume": consume}[sys.argv[1]](req)
    except Exception as e:  # noqa: BLE001 - report anything as JSON
        traceback.print_exc()
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        sys.stdout.flush()
        os._exit(1)
    print(json.dumps(out))
    sys.stdout.flush()
    # undelivered messages of a throttled producer are dropped, not waited for
    os._exit(0)


if __name__ == "__main__":
    main()
