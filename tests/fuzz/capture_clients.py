#!/usr/bin/python3
# Copyright 2026 the Sluice authors. Apache-2.0 license.
"""One sweep of a Python Kafka client's requests, for the fuzz corpus (tests/fuzz/capture.ts).

Usage: capture_clients.py LIBRARY BOOTSTRAP PREFIX
LIBRARY: kafka-python or confluent-kafka. Uses topics and groups named PREFIX-*.

Runs admin calls, produces (every codec the library can use, idempotent and transactional where
it can), consumes, a consumer group that commits, and offset lookups, so that the recording proxy
in front of the broker sees each request type the library sends. Prints one line per step that
failed (a failure does not stop the sweep: the requests were sent all the same) and exits 0.
"""

import sys
import time
import traceback


def step(name, fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - a failed step still produced the requests we want
        print("step %s failed: %s: %s" % (name, type(e).__name__, e), file=sys.stderr)
        traceback.print_exc(file=sys.stderr)


def kafka_python(bootstrap, prefix):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic

    topic = prefix + "-t"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="capture-kafka-python")
    step("create_topics", lambda: admin.create_topics([
        NewTopic(topic, 2, 1, topic_configs={"retention.ms": "86400000"}),
        NewTopic(prefix + "-gone", 1, 1),
    ]))
    step("create_topics validate_only", lambda: admin.create_topics(
        [NewTopic(prefix + "-v", 3, 1)], validate_only=True))
    step("list_topics", admin.list_topics)
    step("describe_topics", lambda: admin.describe_topics([topic]))
    step("describe_cluster", admin.describe_cluster)
    step("describe_configs", lambda: admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic),
         ConfigResource(ConfigResourceType.BROKER, "1")]))
    step("alter_configs", lambda: admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "3600000"})]))
    step("create_partitions", lambda: admin.create_partitions({topic: NewPartitions(3)}))
    for codec in [None, "gzip"]:
        def produce(codec=codec):
            p = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec, acks="all",
                              linger_ms=5, client_id="capture-kafka-python")
            for i in range(5):
                p.send(topic, key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"x")])
            p.send(topic, key=None, value=b"")
            p.flush(10)
            p.close(5)
        step("produce %s" % codec, produce)
    def produce_acks0():
        p = KafkaProducer(bootstrap_servers=bootstrap, acks=0)
        p.send(topic, value=b"fire and forget")
        p.flush(10)
        p.close(5)
    step("produce acks=0", produce_acks0)

    def consume():
        c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                          auto_offset_reset="earliest")
        tps = [TopicPartition(topic, p) for p in range(3)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        c.poll(timeout_ms=1000)
        c.offsets_for_times({tps[0]: 0})
        c.end_offsets(tps)
        c.close()
    step("consume", consume)

    def group():
        c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=prefix + "-g",
                          enable_auto_commit=False, auto_offset_reset="earliest",
                          heartbeat_interval_ms=200)
        deadline = time.time() + 10
        got = 0
        while got < 3 and time.time() < deadline:
            got += sum(len(v) for v in c.poll(timeout_ms=300).values())
        c.commit()
        c.committed(TopicPartition(topic, 0))
        c.close()
    step("group", group)
    step("list_consumer_groups", admin.list_consumer_groups)
    step("describe_consumer_groups", lambda: admin.describe_consumer_groups([prefix + "-g"]))
    step("list_consumer_group_offsets", lambda: admin.list_consumer_group_offsets(prefix + "-g"))
    step("delete_consumer_groups", lambda: admin.delete_consumer_groups([prefix + "-g"]))
    step("delete_topics", lambda: admin.delete_topics([prefix + "-gone"]))
    admin.close()


def confluent(bootstrap, prefix):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

    topic = prefix + "-t"
    base = {"bootstrap.servers": bootstrap, "client.id": "capture-confluent"}
    admin = AdminClient(base)

    def wait(fs):
        for f in fs.values():
            try:
                f.result(timeout=10)
            except Exception as e:  # noqa: BLE001
                print("admin future failed: %s" % e, file=sys.stderr)

    step("create_topics", lambda: wait(admin.create_topics([
        NewTopic(topic, num_partitions=2, replication_factor=1,
                 config={"cleanup.policy": "delete"}),
        NewTopic(prefix + "-gone", num_partitions=1, replication_factor=1),
    ], operation_timeout=10)))
    step("create_topics validate_only", lambda: wait(admin.create_topics(
        [NewTopic(prefix + "-v", num_partitions=3, replication_factor=1)], validate_only=True)))
    step("list_topics", lambda: admin.list_topics(timeout=10))
    step("describe_configs", lambda: wait(admin.describe_configs(
        [ConfigResource("topic", topic), ConfigResource("broker", "1")])))
    step("alter_configs", lambda: wait(admin.alter_configs(
        [ConfigResource("topic", topic, set_config={"retention.ms": "3600000"})])))
    step("create_partitions", lambda: wait(admin.create_partitions(
        [NewPartitions(topic, 3)], operation_timeout=10)))
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
        def produce(codec=codec):
            p = Producer(dict(base, **{"compression.type": codec, "linger.ms": 5}))
            for i in range(5):
                p.produce(topic, key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"x")])
            p.produce(topic, key=None, value=None)
            p.flush(10)
        step("produce %s" % codec, produce)

    def idempotent():
        p = Producer(dict(base, **{"enable.idempotence": True}))
        for i in range(5):
            p.produce(topic, value=b"idem%d" % i, partition=i % 2)
        p.flush(10)
    step("idempotent", idempotent)

    def produce_acks0():
        p = Producer(dict(base, **{"acks": 0}))
        p.produce(topic, value=b"fire and forget")
        p.flush(10)
    step("produce acks=0", produce_acks0)

    def transactions():
        p = Producer(dict(base, **{"transactional.id": prefix + "-txn"}))
        p.init_transactions(10)
        p.begin_transaction()
        p.produce(topic, value=b"committed", partition=0)
        p.commit_transaction(10)
        p.begin_transaction()
        p.produce(topic, value=b"aborted", partition=1)
        p.abort_transaction(10)
        c = Consumer(dict(base, **{"group.id": prefix + "-txg", "enable.auto.commit": False}))
        p.begin_transaction()
        p.produce(topic, value=b"with offsets", partition=0)
        p.send_offsets_to_transaction([TopicPartition(topic, 0, 1)],
                                      c.consumer_group_metadata(), 10)
        p.commit_transaction(10)
        c.close()
    step("transactions", transactions)

    def consume():
        c = Consumer(dict(base, **{"group.id": prefix + "-g", "auto.offset.reset": "earliest",
                                   "enable.auto.commit": False,
                                   "isolation.level": "read_committed"}))
        c.subscribe([topic])
        deadline = time.time() + 10
        got = 0
        while got < 3 and time.time() < deadline:
            m = c.poll(0.3)
            if m is not None and m.error() is None:
                got += 1
        c.commit(asynchronous=False)
        c.committed([TopicPartition(topic, 0)], timeout=10)
        c.offsets_for_times([TopicPartition(topic, 0, 0)], timeout=10)
        c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        c.close()
    step("consume", consume)
    step("list_groups", lambda: admin.list_groups(timeout=10))
    step("delete_topics", lambda: wait(admin.delete_topics([prefix + "-gone"],
                                                           operation_timeout=10)))


def main():
    if len(sys.argv) != 4:
        print("usage: capture_clients.py kafka-python|confluent-kafka BOOTSTRAP PREFIX",
              file=sys.stderr)
        return 2
    lib, bootstrap, prefix = sys.argv[1:]
    if lib == "kafka-python":
        kafka_python(bootstrap, prefix)
    elif lib == "confluent-kafka":
        confluent(bootstrap, prefix)
    else:
        print("unknown library %r" % lib, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
