#!/usr/bin/env python3
# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""One consumer-group member for server/group/group_python_test.ts.

usage: group_member.py LIBRARY BOOTSTRAP GROUP TOPIC
LIBRARY is kafka-python or confluent-kafka. Prints one JSON line per assignment change
({"assigned": [...]}, {"revoked": [...]}) and leaves the group cleanly when stdin closes.
"""
import json
import select
import sys

lib, bootstrap, group, topic = sys.argv[1:5]


def say(**kw):
    print(json.dumps(kw), flush=True)


def stdin_closed():
    r, _, _ = select.select([sys.stdin], [], [], 0)
    return bool(r) and sys.stdin.read(1) == ""


if lib == "kafka-python":
    from kafka import KafkaConsumer
    from kafka.consumer.subscription_state import ConsumerRebalanceListener

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            say(revoked=sorted(tp.partition for tp in revoked))

        def on_partitions_assigned(self, assigned):
            say(assigned=sorted(tp.partition for tp in assigned))

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                             session_timeout_ms=6000, heartbeat_interval_ms=300,
                             auto_offset_reset="earliest")
    consumer.subscribe([topic], listener=Listener())
    while not stdin_closed():
        consumer.poll(timeout_ms=100)
    consumer.close()
else:
    from confluent_kafka import Consumer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "session.timeout.ms": 6000, "heartbeat.interval.ms": 300,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe(
        [topic],
        on_assign=lambda c, ps: say(assigned=sorted(p.partition for p in ps)),
        on_revoke=lambda c, ps: say(revoked=sorted(p.partition for p in ps)))
    while not stdin_closed():
        consumer.poll(0.1)
    consumer.close()
say(closed=True)
