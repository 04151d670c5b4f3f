// Copyright 2026 the Sluice authors. Apache-2.0 license.
// What the transactional-offsets tests share: a broker with one partition of each internal topic
// on a fixed port (so clients find it again after a restart), and OffsetFetch of some partitions.

import assert from "node:assert/strict";
import type { Client } from "../../client/mod.ts";
import { OffsetFetchRequest, OffsetFetchResponse } from "../../protocol/messages/offset_fetch.ts";
import { freePort } from "../chaos/broker.ts";
import { startBroker } from "../harness.ts";

/** The group metadata of `sendOffsetsToTransaction` for a producer outside any group. */
export const NO_GROUP = { generationId: -1, memberId: "", groupInstanceId: null };

/** UNSTABLE_OFFSET_COMMIT: OffsetFetch with require_stable while a transaction holds an offset. */
export const UNSTABLE = 88;

/** A broker started by {@linkcode startOffsetsBroker}. */
export type OffsetsBroker = Awaited<ReturnType<typeof startBroker>>;

/**
 * A broker on one port across restarts, with one partition of `__consumer_offsets` and of
 * `__transaction_state`.
 *
 * @param extra More configuration (e.g. offset retention).
 */
export function startOffsetsBroker(
  extra: Parameters<typeof startBroker>[0] = {},
): Promise<OffsetsBroker> {
  return startBroker({
    listeners: `PLAINTEXT://127.0.0.1:${freePort()}`,
    offsetsTopicNumPartitions: 1,
    transactionStateLogNumPartitions: 1,
    ...extra,
  });
}

/**
 * `[offset, error code]` of each of `partitions` of `topic` for `groupId` (OffsetFetch v7), in
 * the order asked; the group-level error must be 0.
 */
export async function fetchOffsets(
  client: Client,
  groupId: string,
  topic: string,
  partitions: number[],
  requireStable: boolean,
): Promise<number[][]> {
  const conn = await client.anyConnection();
  const res = await conn.send(
    { request: OffsetFetchRequest, response: OffsetFetchResponse },
    OffsetFetchRequest.create({
      groupId,
      topics: [{ name: topic, partitionIndexes: partitions }],
      requireStable,
    }),
    { version: 7 },
  );
  assert.equal(res.errorCode, 0, "OffsetFetch group error");
  return partitions.map((partition) => {
    const p = res.topics[0].partitions.find((x) => x.partitionIndex === partition);
    assert.ok(p, `OffsetFetch has no answer for ${topic}-${partition}`);
    return [p.committedOffset, p.errorCode];
  });
}
