#!/usr/bin/python3
# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""Small JSON CLI over confluent-kafka (librdkafka), driven by the Sluice interop tests.

Usage: confluent_client.py COMMAND [JSON]
COMMAND: produce, produce_report, consume, group_consume, committed, admin, offsets_for_times

The request is a JSON object given as the second argument, or on stdin when absent. The result
is one JSON object on stdout. Any failure prints {"error": "<what failed>: <detail>"} on stdout
and exits 1, so the caller always gets a parseable answer.

Keys, values and header values are UTF-8 strings or null. A value may also be
{"repeat": "x", "count": 1048576} to build a large value without a large argv.
"""

import json
import sys
import time
import traceback

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic


def to_bytes(v):
    if v is None:
        return None
    if isinstance(v, dict):
        return (v["repeat"] * v["count"]).encode()
    return v.encode()


def to_str(b):
    if b is None:
        return None
    return b.decode("utf-8", errors="replace")


def base_config(req):
    cfg = {"bootstrap.servers": req["bootstrap"]}
    cfg.update(req.get("config", {}))
    return cfg


def produce(req):
    producer = Producer(base_config(req))
    results = [None] * len(req["records"])

    def report(i):
        def cb(err, msg):
            if err is not None:
                results[i] = {"error": str(err)}
            else:
                results[i] = {"partition": msg.partition(), "offset": msg.offset(),
                              "timestamp": msg.timestamp()[1]}
        return cb

    for i, r in enumerate(req["records"]):
        kwargs = {"key": to_bytes(r.get("key")), "value": to_bytes(r.get("value")),
                  "on_delivery": report(i)}
        if r.get("headers"):
            kwargs["headers"] = [(k, to_bytes(v)) for k, v in r["headers"]]
        if r.get("partition") is not None:
            kwargs["partition"] = r["partition"]
        if r.get("timestamp") is not None:
            kwargs["timestamp"] = r["timestamp"]
        producer.produce(r.get("topic", req.get("topic")), **kwargs)
        producer.poll(0)
    left = producer.flush(req.get("timeout_s", 20))
    if left:
        raise RuntimeError("flush: %d messages not delivered" % left)
    failed = [r for r in results if r is None or "error" in r]
    if failed:
        raise RuntimeError("delivery: %s" % failed[0])
    return {"results": results}


def produce_report(req):
    """Like produce, but a failed delivery is reported, not raised: each result is either
    {"partition", "offset"} (acknowledged) or {"error", "code"} (librdkafka's error name)."""
    producer = Producer(base_config(req))
    results = [None] * len(req["records"])

    def report(i):
        def cb(err, msg):
            if err is not None:
                results[i] = {"error": str(err), "code": err.name()}
            else:
                results[i] = {"partition": msg.partition(), "offset": msg.offset()}
        return cb

    for i, r in enumerate(req["records"]):
        kwargs = {"key": to_bytes(r.get("key")), "value": to_bytes(r.get("value")),
                  "on_delivery": report(i)}
        if r.get("partition") is not None:
            kwargs["partition"] = r["partition"]
        producer.produce(r.get("topic", req.get("topic")), **kwargs)
        producer.poll(0)
    producer.flush(req.get("timeout_s", 20))
    return {"results": [r or {"error": "not delivered", "code": "NOT_DELIVERED"}
                        for r in results]}


def consume(req):
    cfg = {"group.id": req.get("group", "sluice-interop"), "enable.auto.commit": False,
           "auto.offset.reset": "earliest", "enable.partition.eof": False,
           "check.crcs": True}
    cfg.update(base_config(req))
    consumer = Consumer(cfg)
    topic = req["topic"]
    parts = req.get("partitions")
    if parts is None:
        md = consumer.list_topics(topic, timeout=10)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            raise RuntimeError("metadata: topic %s: %s" % (topic, None if t is None else t.error))
        parts = sorted(t.partitions.keys())
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
    want = req["count"]
    deadline = time.time() + req.get("timeout_s", 20)
    out = []
    while len(out) < want and time.time() < deadline:
        m = consumer.poll(0.5)
        if m is None:
            continue
        if m.error() is not None:
            raise KafkaException(m.error())
        ts_type, ts = m.timestamp()
        out.append({
            "partition": m.partition(),
            "offset": m.offset(),
            "key": to_str(m.key()),
            "value": to_str(m.value()),
            "headers": [[k, to_str(v)] for k, v in (m.headers() or [])],
            "timestamp": ts,
            "timestamp_type": ts_type - 1 if ts_type > 0 else -1,
        })
    consumer.close()
    return {"records": out}


def group_consume(req):
    """Subscribe with a consumer group, read `count` records, commit them, leave."""
    cfg = {"group.id": req["group"], "enable.auto.commit": False,
           "auto.offset.reset": "earliest"}
    cfg.update(base_config(req))
    consumer = Consumer(cfg)
    consumer.subscribe([req["topic"]])
    want = req["count"]
    deadline = time.time() + req.get("timeout_s", 20)
    out = []
    while len(out) < want and time.time() < deadline:
        m = consumer.poll(0.5)
        if m is None:
            continue
        if m.error() is not None:
            raise KafkaException(m.error())
        out.append({"partition": m.partition(), "offset": m.offset(),
                    "key": to_str(m.key()), "value": to_str(m.value())})
    if out:
        consumer.commit(asynchronous=False)
    consumer.close()
    return {"records": out}


def committed(req):
    """The group's committed offsets for the given partitions (null when none)."""
    consumer = Consumer(dict(base_config(req), **{"group.id": req["group"]}))
    tps = consumer.committed([TopicPartition(req["topic"], p) for p in req["partitions"]],
                             timeout=10)
    out = {}
    for tp in tps:
        if tp.error is not None:
            raise KafkaException(tp.error)
        out[str(tp.partition)] = None if tp.offset < 0 else tp.offset
    consumer.close()
    return {"offsets": out}


def offsets_for_times(req):
    consumer = Consumer(dict(base_config(req), **{"group.id": "sluice-interop-oft"}))
    query = [TopicPartition(req["topic"], int(p), ts) for p, ts in req["times"].items()]
    found = consumer.offsets_for_times(query, timeout=10)
    out = {}
    for tp in found:
        if tp.error is not None:
            raise KafkaException(tp.error)
        out[str(tp.partition)] = {"offset": tp.offset}
    consumer.close()
    return {"offsets": out}


def wait_all(futures):
    """Resolve a dict of futures into {name: null | "error text"}."""
    out = {}
    for name, f in futures.items():
        try:
            f.result(timeout=20)
            out[str(name)] = None
        except Exception as e:  # noqa: BLE001 - reported per item
            out[str(name)] = str(e)
    return out


def admin(req):
    client = AdminClient(base_config(req))
    op = req["op"]
    if op == "create_topics":
        topics = [NewTopic(t["name"], num_partitions=t.get("partitions", 1),
                           replication_factor=t.get("replication_factor", 1),
                           config=t.get("configs", {})) for t in req["topics"]]
        fs = client.create_topics(topics, validate_only=req.get("validate_only", False),
                                  operation_timeout=10)
        return {"results": wait_all(fs)}
    if op == "delete_topics":
        return {"results": wait_all(client.delete_topics(req["topics"], operation_timeout=10))}
    if op == "list_groups":
        return {"groups": sorted(g.id for g in client.list_groups(timeout=10))}
    if op == "describe_groups":
        out = {}
        for g in client.list_groups(timeout=10):
            if g.id in req["groups"]:
                out[g.id] = {"state": g.state, "protocol_type": g.protocol_type,
                             "members": len(g.members)}
        return {"groups": out}
    if op == "list_topics":
        md = client.list_topics(timeout=10)
        return {"topics": {name: {"partitions": sorted(t.partitions.keys()),
                                  "error": None if t.error is None else str(t.error)}
                           for name, t in md.topics.items()},
                "brokers": {str(b.id): "%s:%d" % (b.host, b.port)
                            for b in md.brokers.values()}}
    if op == "describe_configs":
        fs = client.describe_configs([ConfigResource("topic", t) for t in req["topics"]])
        out = {}
        for res, f in fs.items():
            entries = f.result(timeout=20)
            out[res.name] = {"configs": {k: e.value for k, e in entries.items()}}
        return {"resources": out}
    if op == "alter_configs":
        res = [ConfigResource("topic", t, set_config=c) for t, c in req["configs"].items()]
        fs = client.alter_configs(res)
        return {"results": {r.name: v for r, v in
                            ((r, wait_all({0: f})["0"]) for r, f in fs.items())}}
    if op == "create_partitions":
        parts = [NewPartitions(t, n) for t, n in req["counts"].items()]
        return {"results": wait_all(client.create_partitions(parts, operation_timeout=10))}
    raise ValueError("admin: unknown op %r" % op)


def main():
    if len(sys.argv) < 2:
        print(json.dumps({"error": "usage: confluent_client.py COMMAND [JSON]"}))
        return 2
    cmd = sys.argv[1]
    raw = sys.argv[2] if len(sys.argv) > 2 else sys.stdin.read()
    try:
        req = json.loads(raw)
        fn = {"produce": produce, "produce_report": produce_report, "consume": consume,
              "admin": admin,
              "offsets_for_times": offsets_for_times, "group_consume": group_consume,
              "committed": committed}.get(cmd)
        if fn is None:
            raise ValueError("unknown command %r" % cmd)
        print(json.dumps(fn(req), default=str))
        return 0
    except Exception as e:  # noqa: BLE001 - every failure becomes a JSON answer
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"error": "%s: %s: %s" % (cmd, type(e).__name__, e)}))
        return 1


if __name__ == "__main__":
    sys.exit(main())
