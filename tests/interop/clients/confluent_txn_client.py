#!/usr/bin/python3
# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""Transactions through confluent-kafka (librdkafka), driven by tests/interop/transactions_test.ts.

Usage: confluent_txn_client.py COMMAND  (JSON request on stdin, one JSON answer on stdout)
COMMAND:
  transactions  {"bootstrap", "topic", "transactional_id",
                 "transactions": [{"values": [str], "commit": bool}], "partitions"?: [int]}
                -> {"ok": true}; each transaction: begin, produce each value to partition 0
                (or to every one of "partitions", as value + "@" + partition), commit/abort.
  consume       {"bootstrap", "topic", "isolation": "read_committed"|"read_uncommitted",
                 "count", "idle_ms", "deadline_s", "partitions"?: [int]}
                -> {"records": [{"offset", "value"}]}: partition 0 (or "partitions", each
                record then with its "partition") from the beginning until `count` records
                then `idle_ms` of silence (or `deadline_s`, default 20 s).
  offsets_in_txn {"bootstrap", "topic", "transactional_id", "group", "offset", "commit": bool}
                -> {"ok": true}: a transaction that only sends offsets for the group.
  copy          {"bootstrap", "input", "output", "group", "transactional_id", "count"}
                -> {"copied": n}: consume-transform-produce as a group member: read `count`
                records of `input`, write them to `output` and commit the input offsets in one
                transaction.
  eos           {"bootstrap", "input", "output", "group", "transactional_id", "last",
                 "batch", "pause_at", "pause_ms"}
                -> {"done": n}: exactly-once worker: a group member (read_committed) that copies
                `input` to `output` as "OUT-" + value[3:] (partition 0), `batch` records per
                transaction with send_offsets_to_transaction, until it has committed the record
                whose value is `last`. Progress lines on stdout, flushed:
                {"produced": n} once a transaction's records are acknowledged (still open; if
                `pause_at` records were committed before it, the worker then waits `pause_ms`
                before committing), {"committed": n} after each commit (n = records this run).
Any failure prints {"error": "<what failed>: <detail>"} and exits 1.
"""

import json
import sys
import time
import traceback

from confluent_kafka import Consumer, Producer, TopicPartition


def producer(req):
    p = Producer({
        "bootstrap.servers": req["bootstrap"],
        "transactional.id": req["transactional_id"],
        "transaction.timeout.ms": 60000,
        "linger.ms": 0,
    })
    p.init_transactions(20)
    return p


def transactions(req):
    p = producer(req)
    for t in req["transactions"]:
        p.begin_transaction()
        for v in t["values"]:
            if "partitions" not in req:
                p.produce(req["topic"], value=v.encode(), partition=0)
            for n in req.get("partitions", []):
                p.produce(req["topic"], value=("%s@%d" % (v, n)).encode(), partition=n)
        p.flush(20)
        if t["commit"]:
            p.commit_transaction(20)
        else:
            p.abort_transaction(20)
    return {"ok": True}


def offsets_in_txn(req):
    p = producer(req)
    c = Consumer({"bootstrap.servers": req["bootstrap"], "group.id": req["group"]})
    try:
        p.begin_transaction()
        p.send_offsets_to_transaction(
            [TopicPartition(req["topic"], 0, req["offset"])], c.consumer_group_metadata(), 20)
        if req["commit"]:
            p.commit_transaction(20)
        else:
            p.abort_transaction(20)
    finally:
        c.close()
    return {"ok": True}


def copy(req):
    p = producer(req)
    c = Consumer({
        "bootstrap.servers": req["bootstrap"],
        "group.id": req["group"],
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
    })
    try:
        c.subscribe([req["input"]])
        got = []
        deadline = time.time() + 30
        while len(got) < req["count"] and time.time() < deadline:
            m = c.poll(0.2)
            if m is None or m.error():
                continue
            got.append(m)
        if len(got) < req["count"]:
            raise RuntimeError("read %d of %d input records" % (len(got), req["count"]))
        p.begin_transaction()
        for m in got:
            p.produce(req["output"], value=m.value().upper(), partition=0)
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 20)
        p.commit_transaction(20)
    finally:
        c.close()
    return {"copied": len(got)}


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def eos(req):
    p = producer(req)
    c = Consumer({
        "bootstrap.servers": req["bootstrap"],
        "group.id": req["group"],
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "session.timeout.ms": req.get("session_timeout_ms", 2000),
        "heartbeat.interval.ms": 200,
    })
    done = 0
    try:
        c.subscribe([req["input"]])
        pending = []
        finished = False
        deadline = time.time() + 60
        while not finished:
            if time.time() > deadline:
                raise RuntimeError("copied %d records in 60 s without reaching %r"
                                   % (done, req["last"]))
            m = c.poll(0.1)
            if m is not None and not m.error():
                pending.append(m)
            last_seen = pending and pending[-1].value().decode() == req["last"]
            if len(pending) < req["batch"] and not last_seen:
                continue
            p.begin_transaction()
            for r in pending:
                p.produce(req["output"], value=b"OUT-" + r.value()[3:], partition=0)
            if p.flush(20) != 0:
                raise RuntimeError("records still unacknowledged after 20 s")
            emit({"produced": done + len(pending)})
            if done == req.get("pause_at", -1):
                time.sleep(req.get("pause_ms", 0) / 1000)
            p.send_offsets_to_transaction(
                c.position(c.assignment()), c.consumer_group_metadata(), 20)
            p.commit_transaction(20)
            done += len(pending)
            emit({"committed": done})
            finished = bool(last_seen)
            pending = []
    finally:
        c.close()
    return {"done": done}


def consume(req):
    c = Consumer({
        "bootstrap.servers": req["bootstrap"],
        "group.id": "txn-reader-%d" % time.time_ns(),
        "enable.auto.commit": False,
        "isolation.level": req["isolation"],
    })
    out = []
    try:
        c.assign([TopicPartition(req["topic"], n, 0) for n in req.get("partitions", [0])])
        deadline = time.time() + req.get("deadline_s", 20)
        idle = req.get("idle_ms", 1500) / 1000
        last = time.time()
        while time.time() < deadline:
            m = c.poll(0.2)
            if m is None:
                if len(out) >= req["count"] and time.time() - last > idle:
                    break
                continue
            if m.error():
                continue
            last = time.time()
            rec = {"offset": m.offset(), "value": m.value().decode()}
            if "partitions" in req:
                rec["partition"] = m.partition()
            out.append(rec)
    finally:
        c.close()
    return {"records": out}


def main():
    cmd = sys.argv[1]
    req = json.loads(sys.stdin.read())
    try:
        fn = {
            "transactions": transactions,
            "consume": consume,
            "offsets_in_txn": offsets_in_txn,
            "copy": copy,
            "eos": eos,
        }[cmd]
        print(json.dumps(fn(req)))
    except Exception as e:  # noqa: BLE001 - report everything as JSON
        traceback.print_exc()
        print(json.dumps({"error": "%s failed: %s" % (cmd, e)}))
        sys.exit(1)


if __name__ == "__main__":
    main()
