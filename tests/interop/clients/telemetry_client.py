#!/usr/bin/python3
# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""A confluent-kafka producer for the KIP-714 client metrics interop test.

Usage: telemetry_client.py produce  (JSON request on stdin)

produce: {"bootstrap", "topic", "client_id", "seconds"} - produces one record every 100 ms for
`seconds` with librdkafka's telemetry debug log on, then flushes and closes (librdkafka then
sends its terminating push). Reports the records delivered, the librdkafka version and the
telemetry log lines (GetTelemetrySubscriptions answers, pushes).
The answer is one JSON object on stdout; a failure prints {"error": ...} and exits 1.
"""

import json
import logging
import sys
import time
import traceback

import confluent_kafka
from confluent_kafka import Producer


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def produce(req):
    lines = Lines()
    logger = logging.getLogger("rdkafka")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(lines)
    delivered = []
    p = Producer({
        "bootstrap.servers": req["bootstrap"],
        "client.id": req["client_id"],
        "debug": "telemetry",
        "linger.ms": 5,
    }, logger=logger)
    end = time.monotonic() + req["seconds"]
    i = 0
    while time.monotonic() < end:
        p.produce(req["topic"], value=b"v%d" % i,
                  on_delivery=lambda err, msg: delivered.append(err is None))
        i += 1
        p.poll(0.1)
    p.flush(10)
    del p  # rd_kafka_destroy: the terminating push
    return {
        "delivered": sum(1 for d in delivered if d),
        "version": confluent_kafka.libversion()[0],
        "log": [l for l in lines.lines if "elemetry" in l or "TELEMETRY" in l],
    }


def main():
    try:
        req = json.loads(sys.stdin.read())
        out = {"produce": produce}[sys.argv[1]](req)
        print(json.dumps(out))
    except Exception as e:  # noqa: BLE001 - reported to the test
        traceback.print_exc()
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        sys.exit(1)


if __name__ == "__main__":
    main()
