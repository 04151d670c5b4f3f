// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Our GroupConsumer and a kafka-python 2.0.2 consumer in one group (range assignor): partitions
// added to the subscribed topic are picked up by a rebalance that our member starts (kafka-python
// is given the default metadata_max_age_ms of 300 s, so it would not notice them itself), and every
// record is consumed exactly once across the two clients.

import assert from "node:assert/strict";
import { Admin } from "../../client/admin.ts";
import { Client } from "../../client/client.ts";
import type { ConsumerRecord } from "../../client/consumer.ts";
import { GroupConsumer } from "../../client/group_consumer.ts";
import { Producer } from "../../client/producer.ts";
import {
  interopTest,
  PYTHON,
  requireClient,
  startBroker,
  waitFor as waitForEvery,
} from "../harness.ts";

const kafkaPython = requireClient("kafka-python");

/** A kafka-python group member: prints its records and assignment changes as JSON lines. */
const MEMBER = `
import json, os, sys, time
from kafka import KafkaConsumer
from kafka.coordinator.assignors.range import RangePartitionAssignor
cfg = json.loads(sys.argv[1])
c = KafkaConsumer(bootstrap_servers=cfg["bootstrap"], group_id=cfg["group"],
                  auto_offset_reset="earliest", enable_auto_commit=True,
                  auto_commit_interval_ms=200, heartbeat_interval_ms=100,
                  session_timeout_ms=10000, metadata_max_age_ms=300000,
                  partition_assignment_strategy=[RangePartitionAssignor])
c.subscribe([cfg["topic"]])
deadline = time.time() + cfg["seconds"]
last = None
while time.time() < deadline and not os.path.exists(cfg["stop"]):
    for tp, recs in c.poll(timeout_ms=100).items():
        for r in recs:
            print(json.dumps({"partition": r.partition, "value": r.value.decode()}), flush=True)
    now = sorted(tp.partition for tp in c.assignment())
    if now != last:
        print(json.dumps({"assignment": now}), flush=True)
        last = now
c.close()
print(json.dumps({"done": True}), flush=True)
`;

const waitFor = (what: string, cond: () => boolean, ms = 90_000) =>
  waitForEvery(what, cond, { timeoutMs: ms });

interopTest(
  kafkaPython,
  "partitions added to a topic shared with our GroupConsumer are consumed once",
  async () => {
    const b = await startBroker({ offsetsTopicNumPartitions: 1 });
    const client = new Client({ bootstrapServers: b.bootstrap, retryBackoffMs: 20 });
    const stop = `${b.dataDir}.stop`;
    let child: Deno.ChildProcess | undefined;
    const ours = new GroupConsumer(client, {
      groupId: "mixed",
      autoOffsetReset: "earliest",
      heartbeatIntervalMs: 100,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      maxWaitMs: 100,
      assignors: ["range"],
      metadataMaxAgeMs: 200,
    });
    try {
      const admin = new Admin(client);
      await admin.createTopics([{ name: "t", numPartitions: 4 }]);
      ours.subscribe(["t"]);
      const got: ConsumerRecord[] = [];
      let pollError: unknown;
      let polling = true;
      const loop = (async () => {
        while (polling) {
          try {
            got.push(...await ours.poll({ maxWaitMs: 100 }));
          } catch (e) {
            pollError = e;
            return;
          }
        }
      })();
      await waitFor("our member owns 4", () => ours.assignment().length === 4 || !!pollError);

      child = new Deno.Command(PYTHON, {
        args: [
          "-c",
          MEMBER,
          JSON.stringify({
            bootstrap: b.bootstrap,
            group: "mixed",
            topic: "t",
            seconds: 120,
            stop,
          }),
        ],
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const theirs: Array<{ partition: number; value: string }> = [];
      let theirAssignment: number[] = [];
      let done = false;
      const reading = (async () => {
        let buf = "";
        for await (const chunk of child!.stdout.pipeThrough(new TextDecoderStream())) {
          buf += chunk;
          let nl;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = JSON.parse(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
            if (line.assignment) theirAssignment = line.assignment;
            else if (line.done) done = true;
            else theirs.push(line);
          }
        }
      })();
      const ourParts = () => ours.assignment().map((p) => p.partition).sort();
      await waitFor(
        "a 2+2 split",
        () => ourParts().length === 2 && theirAssignment.length === 2 || !!pollError,
      );
      const producer = new Producer(client);
      const produce = (prefix: string, n: number, partitions: number) =>
        producer.send({
          topic: "t",
          messages: Array.from({ length: n }, (_, i) => ({
            value: `${prefix}-${i}`,
            partition: i % partitions,
          })),
        });
      await produce("before", 40, 4);
      await waitFor("40 records", () => got.length + theirs.length >= 40 || !!pollError);
      await admin.createPartitions([{ topic: "t", count: 6 }]);
      await waitFor(
        "a 3+3 split of 6",
        () => ourParts().length === 3 && theirAssignment.length === 3 || !!pollError,
      );
      assert.deepEqual([...ourParts(), ...theirAssignment].sort(), [0, 1, 2, 3, 4, 5]);
      await produce("after", 60, 6);
      await waitFor("100 records", () => got.length + theirs.length >= 100 || !!pollError);
      await new Promise((r) => setTimeout(r, 500)); // any re-delivery would show up now
      await Deno.writeTextFile(stop, "");
      await reading;
      assert.ok(done, "kafka-python closed cleanly");
      polling = false;
      await loop;
      if (pollError) throw pollError;
      const values = [
        ...got.map((r) => new TextDecoder().decode(r.value!)),
        ...theirs.map((r) => r.value),
      ].sort();
      const expected = [
        ...Array.from({ length: 40 }, (_, i) => `before-${i}`),
        ...Array.from({ length: 60 }, (_, i) => `after-${i}`),
      ].sort();
      assert.deepEqual(values, expected);
      assert.ok(theirs.length > 0 && got.length > 0);
    } finally {
      if (child) {
        await Deno.writeTextFile(stop, "").catch(() => {});
        const status = await Promise.race([
          child.status,
          new Promise<null>((r) => setTimeout(() => r(null), 15_000)),
        ]);
        if (status === null) child.kill();
        await child.status;
      }
      await ours.close().catch(() => {});
      await client.close();
      await b.close();
      await Deno.remove(stop).catch(() => {});
    }
  },
);
