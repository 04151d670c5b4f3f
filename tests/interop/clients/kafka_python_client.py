#!/usr/bin/python3
# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""Small JSON CLI over kafka-python, driven by the Sluice interop tests.

Usage: kafka_python_client.py COMMAND [JSON]
COMMAND: produce, consume, group_consume, committed, admin, offsets_for_times

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

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic


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


def produce(req):
    cfg = dict(req.get("config", {}))
    producer = KafkaProducer(bootstrap_servers=req["bootstrap"], **cfg)
    futures = []
    for r in req["records"]:
        headers = [(k, to_bytes(v)) for k, v in r.get("headers", [])]
        futures.append(producer.send(
            r.get("topic", req.get("topic")),
            key=to_bytes(r.get("key")),
            value=to_bytes(r.get("value")),
            headers=headers or None,
            partition=r.get("partition"),
            timestamp_ms=r.get("timestamp"),
        ))
    producer.flush(timeout=req.get("timeout_s", 20))
    results = []
    for f in futures:
        md = f.get(timeout=req.get("timeout_s", 20))
        results.append({"partition": md.partition, "offset": md.offset, "timestamp": md.timestamp})
    producer.close(timeout=5)
    return {"results": results}


def consume(req):
    cfg = dict(req.get("config", {}))
    consumer = KafkaConsumer(
        bootstrap_servers=req["bootstrap"],
        group_id=req.get("group"),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **cfg,
    )
    topic = req["topic"]
    parts = req.get("partitions")
    if parts is None:
        deadline = time.time() + 10
        found = None
        while found is None and time.time() < deadline:
            found = consumer.partitions_for_topic(topic)
            if found is None:
                time.sleep(0.2)
        if found is None:
            raise RuntimeError("metadata: topic %s not found" % topic)
        parts = sorted(found)
    tps = [TopicPartition(topic, p) for p in parts]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    want = req["count"]
    deadline = time.time() + req.get("timeout_s", 20)
    out = []
    while len(out) < want and time.time() < deadline:
        batch = consumer.poll(timeout_ms=500, max_records=want - len(out))
        for tp in sorted(batch, key=lambda t: t.partition):
            for m in batch[tp]:
                out.append({
                    "partition": m.partition,
                    "offset": m.offset,
                    "key": to_str(m.key),
                    "value": to_str(m.value),
                    "headers": [[k, to_str(v)] for k, v in (m.headers or [])],
                    "timestamp": m.timestamp,
                    "timestamp_type": m.timestamp_type,
                })
    consumer.close()
    return {"records": out}


def group_consume(req):
    """Subscribe with a consumer group, read `count` records, commit them, leave."""
    consumer = KafkaConsumer(
        req["topic"],
        bootstrap_servers=req["bootstrap"],
        group_id=req["group"],
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **req.get("config", {}),
    )
    want = req["count"]
    deadline = time.time() + req.get("timeout_s", 20)
    out = []
    while len(out) < want and time.time() < deadline:
        batch = consumer.poll(timeout_ms=500, max_records=want - len(out))
        for tp in sorted(batch, key=lambda t: t.partition):
            for m in batch[tp]:
                out.append({"partition": m.partition, "offset": m.offset,
                            "key": to_str(m.key), "value": to_str(m.value)})
    consumer.commit()
    consumer.close()
    return {"records": out}


def committed(req):
    """The group's committed offsets for the given partitions (null when none)."""
    consumer = KafkaConsumer(bootstrap_servers=req["bootstrap"], group_id=req["group"],
                             enable_auto_commit=False)
    out = {}
    for p in req["partitions"]:
        out[str(p)] = consumer.committed(TopicPartition(req["topic"], p))
    consumer.close()
    return {"offsets": out}


def offsets_for_times(req):
    consumer = KafkaConsumer(bootstrap_servers=req["bootstrap"], enable_auto_commit=False)
    query = {TopicPartition(req["topic"], int(p)): ts for p, ts in req["times"].items()}
    found = consumer.offsets_for_times(query)
    out = {}
    for tp, ot in found.items():
        out[str(tp.partition)] = None if ot is None else {"offset": ot.offset,
                                                           "timestamp": ot.timestamp}
    consumer.close()
    return {"offsets": out}


def response_errors(resp):
    obj = resp.to_object()
    return obj


def admin(req):
    client = KafkaAdminClient(bootstrap_servers=req["bootstrap"], **req.get("config", {}))
    op = req["op"]
    try:
        if op == "create_topics":
            topics = [NewTopic(t["name"], t.get("partitions", 1), t.get("replication_factor", 1),
                               topic_configs=t.get("configs", {})) for t in req["topics"]]
            resp = client.create_topics(topics, validate_only=req.get("validate_only", False))
            return {"response": resp.to_object()}
        if op == "delete_topics":
            return {"response": client.delete_topics(req["topics"]).to_object()}
        if op == "list_groups":
            return {"groups": sorted(g for g, _ in client.list_consumer_groups())}
        if op == "describe_groups":
            out = {}
            for g in client.describe_consumer_groups(req["groups"]):
                out[g.group] = {"state": g.state, "protocol_type": g.protocol_type,
                                "members": len(g.members)}
            return {"groups": out}
        if op == "list_topics":
            return {"topics": sorted(client.list_topics())}
        if op == "describe_topics":
            return {"topics": client.describe_topics(req["topics"])}
        if op == "describe_configs":
            res = [ConfigResource(ConfigResourceType.TOPIC, t) for t in req["topics"]]
            resps = client.describe_configs(res)
            out = {}
            for resp in resps:
                for r in resp.to_object()["resources"]:
                    out[r["resource_name"]] = {
                        "error_code": r["error_code"],
                        "configs": {c["config_names"]: c["config_value"]
                                    for c in r["config_entries"]},
                    }
            return {"resources": out}
        if op == "alter_configs":
            res = [ConfigResource(ConfigResourceType.TOPIC, t, configs=c)
                   for t, c in req["configs"].items()]
            return {"response": client.alter_configs(res).to_object()}
        if op == "create_partitions":
            parts = {t: NewPartitions(n) for t, n in req["counts"].items()}
            return {"response": client.create_partitions(parts).to_object()}
        raise ValueError("admin: unknown op %r" % op)
    finally:
        client.close()


def main():
    if len(sys.argv) < 2:
        print(json.dumps({"error": "usage: kafka_python_client.py COMMAND [JSON]"}))
        return 2
    cmd = sys.argv[1]
    raw = sys.argv[2] if len(sys.argv) > 2 else sys.stdin.read()
    try:
        req = json.loads(raw)
        fn = {"produce": produce, "consume": consume, "admin": admin,
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
