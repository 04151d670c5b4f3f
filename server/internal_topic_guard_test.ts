// Copyright 2026 the Sluice authors. Apache-2.0 license.
// Issue #11: clients cannot create, grow, write or delete the internal topics, nor write control
// batches; the coordinators keep working afterwards (a client-made 1-partition __consumer_offsets
// used to make every offset commit fail).

import { deepStrictEqual as assertEquals, ok, rejects } from "node:assert/strict";
import { Admin, Client, KafkaError, Producer } from "../client/mod.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { buildBatch } from "../wasm/testing.ts";
import { produceBody, RawClient, startTestBroker } from "./testing.ts";

function isKafkaError(code: number, message: RegExp) {
  return (e: unknown) => {
    ok(e instanceof KafkaError, String(e));
    assertEquals(e.code, code, e.message);
    ok(message.test(e.message), e.message);
    return true;
  };
}

Deno.test("internal topics: clients cannot create, grow or delete them; groups keep working", async () => {
  await using t = await startTestBroker({ offsetsTopicNumPartitions: 5 });
  const client = new Client({ bootstrapServers: `127.0.0.1:${t.broker.port}` });
  try {
    const admin = new Admin(client);
    for (const name of ["__consumer_offsets", "__transaction_state"]) {
      await rejects(
        admin.createTopics([{ name, numPartitions: 1 }]),
        isKafkaError(
          ErrorCode.INVALID_REQUEST,
          new RegExp(`Creation of internal topic ${name} is prohibited`),
        ),
      );
    }
    assertEquals(t.broker.config.offsetsTopicNumPartitions, 5);
    await admin.createTopics([{ name: "orders", numPartitions: 2 }]);
    // the first commit creates __consumer_offsets with the configured partition count
    await admin.alterConsumerGroupOffsets("g1", [{ topic: "orders", partition: 1, offset: 0 }]);
    const offsets = await admin.listConsumerGroupOffsets("g1");
    assertEquals(offsets.map((o) => [o.topic, o.partition, o.offset]), [["orders", 1, 0]]);
    const [described] = await admin.describeTopics(["__consumer_offsets"]);
    assertEquals(described.partitions.length, 5);
    await rejects(
      admin.createPartitions([{ topic: "__consumer_offsets", count: 6 }]),
      isKafkaError(
        ErrorCode.INVALID_REQUEST,
        /Changing the partition count of internal topic __consumer_offsets is prohibited/,
      ),
    );
    await rejects(
      admin.deleteTopics(["__consumer_offsets"]),
      isKafkaError(
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        /Internal topic __consumer_offsets cannot be deleted/,
      ),
    );
    assertEquals((await admin.describeTopics(["__consumer_offsets"]))[0].partitions.length, 5);
    // still committing after the refused attempts
    await admin.alterConsumerGroupOffsets("g2", [{ topic: "orders", partition: 0, offset: 0 }]);
    assertEquals(
      (await admin.listConsumerGroupOffsets("g2")).map((o) => [o.partition, o.offset]),
      [[0, 0]],
    );
  } finally {
    client.close();
  }
});

Deno.test("produce: a client's control batch is refused with INVALID_RECORD and not stored", async () => {
  await using t = await startTestBroker();
  const client = new Client({ bootstrapServers: `127.0.0.1:${t.broker.port}` });
  const raw = await RawClient.connect(t.broker.port);
  try {
    await new Admin(client).createTopics([{ name: "ctl", numPartitions: 1 }]);
    const control = buildBatch({
      records: [{ key: new Uint8Array([0, 0, 0, 0]), value: new Uint8Array([0, 0, 0, 0, 0, 0]) }],
      attributes: 0x20 | 0x10, // control + transactional: what a COMMIT marker looks like
      producerId: 7,
      producerEpoch: 0,
      baseTimestamp: Date.now(),
    });
    const res = await raw.request(
      ProduceRequest,
      ProduceResponse,
      9,
      produceBody("ctl", 0, control),
    );
    const p = res.responses[0].partitionResponses[0];
    assertEquals(
      [p.errorCode, p.errorMessage],
      [ErrorCode.INVALID_RECORD, "Clients are not allowed to write control records"],
    );
    const sent = await new Producer(client).send({ topic: "ctl", messages: [{ value: "x" }] });
    assertEquals(sent[0].offset, 0); // nothing was stored before it
  } finally {
    raw.close();
    client.close();
  }
});
