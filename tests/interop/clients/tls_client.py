#!/usr/bin/python3
# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""Produce then consume over TLS with confluent-kafka (librdkafka) or kafka-python, for
tests/interop/tls_test.ts.

Usage: tls_client.py roundtrip  (request as JSON on stdin)
Request: {"lib": "confluent" | "kafka-python", "bootstrap": "127.0.0.1:PORT", "topic": "t",
          "count": 10, "ca": PATH, "cert": PATH | null, "key": PATH | null,
          "timeout_s": 15}
Answer: {"produced": N, "values": ["v0", ...]} on stdout, or {"error": "..."} and exit 1.
"""

import json
import sys
import time


def confluent(req):
    from confluent_kafka import Consumer, KafkaException, Producer

    conf = {
        "bootstrap.servers": req["bootstrap"],
        "security.protocol": "ssl",
        "ssl.ca.location": req["ca"],
        "socket.timeout.ms": 10000,
    }
    if req.get("cert"):
        conf["ssl.certificate.location"] = req["cert"]
        conf["ssl.key.location"] = req["key"]
    errors = []
    p = Producer({**conf, "message.timeout.ms": req["timeout_s"] * 1000,
                  "error_cb": lambda e: errors.append(str(e))})
    delivered = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered.append(msg.offset())

    for i in range(req["count"]):
        p.produce(req["topic"], value=f"v{i}".encode(), on_delivery=on_delivery)
    p.flush(req["timeout_s"])
    if len(delivered) != req["count"]:
        raise RuntimeError(f"produced {len(delivered)} of {req['count']}: {errors[-3:]}")
    c = Consumer({**conf, "group.id": f"tls-{time.time()}", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([req["topic"]])
    values = []
    deadline = time.time() + req["timeout_s"]
    while len(values) < req["count"] and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        values.append(m.value().decode())
    c.close()
    return {"produced": len(delivered), "values": values}


def kafka_python(req):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    conf = {
        "bootstrap_servers": req["bootstrap"],
        "security_protocol": "SSL",
        "ssl_cafile": req["ca"],
        "ssl_check_hostname": True,
        "request_timeout_ms": req["timeout_s"] * 1000,
    }
    if req.get("cert"):
        conf["ssl_certfile"] = req["cert"]
        conf["ssl_keyfile"] = req["key"]
    p = KafkaProducer(**conf, max_block_ms=req["timeout_s"] * 1000)
    futures = [p.send(req["topic"], value=f"v{i}".encode()) for i in range(req["count"])]
    produced = sum(1 for f in futures if f.get(timeout=req["timeout_s"]) is not None)
    p.close()
    c = KafkaConsumer(**conf, auto_offset_reset="earliest", enable_auto_commit=False,
                      consumer_timeout_ms=req["timeout_s"] * 1000)
    tp = TopicPartition(req["topic"], 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    values = []
    for m in c:
        values.append(m.value.decode())
        if len(values) >= req["count"]:
            break
    c.close()
    return {"produced": produced, "values": values}


def main():
    try:
        req = json.loads(sys.stdin.read())
        out = confluent(req) if req["lib"] == "confluent" else kafka_python(req)
        print(json.dumps(out))
    except Exception as e:  # noqa: BLE001 - the caller wants every failure as JSON
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        sys.exit(1)


if __name__ == "__main__":
    main()
