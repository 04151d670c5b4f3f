// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Reading a whole topic up to its current end (Kafka's `KafkaBasedLog.readToEnd`), how the
 * distributed worker loads its config, offset and status topics.
 *
 * @module
 */

import { Admin } from "../client/admin.ts";
import type { Client } from "../client/client.ts";
import { Consumer, type ConsumerRecord } from "../client/consumer.ts";

/**
 * Reads `topic` from `positions` (absent: the beginning) to the end offsets it has now, calling
 * `onRecord` in offset order per partition, and moves `positions` on.
 *
 * @param client The cluster client.
 * @param topic The topic.
 * @param positions Next offset per partition; updated.
 * @param onRecord Called for each record.
 * @throws {KafkaError} When the topic cannot be read.
 */
export async function readTopicToEnd(
  client: Client,
  topic: string,
  positions: Map<number, number>,
  onRecord: (record: ConsumerRecord) => void,
): Promise<void> {
  const info = await client.topic(topic, { refresh: true });
  const ends = await new Admin(client).listOffsets(
    info.partitions.map((p) => ({ topic, partition: p.partition, spec: "latest" as const })),
  );
  const behind = ends.filter((e) => (positions.get(e.partition) ?? 0) < e.offset);
  if (behind.length === 0) return;
  const end = new Map(behind.map((e) => [e.partition, e.offset]));
  const consumer = new Consumer(client, { maxWaitMs: 100, autoOffsetReset: "earliest" });
  try {
    await consumer.assign(behind.map((e) => ({
      topic,
      partition: e.partition,
      offset: positions.get(e.partition) ?? "earliest",
    })));
    for (;;) {
      for (const r of await consumer.poll()) {
        if (r.offset < end.get(r.partition)!) onRecord(r);
      }
      let done = true;
      for (const a of consumer.assignment()) {
        positions.set(a.partition, Math.min(a.offset, end.get(a.partition)!));
        if (a.offset < end.get(a.partition)!) done = false;
      }
      if (done) return;
    }
  } finally {
    await consumer.close();
  }
}
