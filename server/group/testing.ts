// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test harness for the group API handlers: a real storage engine in a temporary directory and a
 * real group coordinator, with requests and responses round-tripped through the generated codecs
 * at the version under test (so a field a version cannot carry fails the test).
 *
 * @module
 */

import { LogManager } from "../../engine/mod.ts";
import { decodeMessage, encodeMessage } from "../../protocol/primitives.ts";
import type { ApiHandler, BrokerContext, RequestContext } from "../api.ts";
import type {
  GroupCoordinator,
  GroupCoordinatorConfig,
  LoadedCoordinatorRecord,
} from "./coordinator.ts";
import type { CoordinatorRecord } from "./schemas.ts";
import { openGroupCoordinator } from "./open_group_coordinator.ts";

/** A running harness. */
export interface HandlerHarness {
  /** The coordinator the handlers use. */
  readonly groups: GroupCoordinator;
  /** The engine (topic `t` with 3 partitions exists). */
  readonly logs: LogManager;
  /** Aborting it is a broker shutdown. */
  readonly closing: AbortController;
  /**
   * Encode `request` at `version`, decode it, handle it, and round-trip the response.
   *
   * @returns The decoded response.
   */
  call<Req, Res>(api: ApiHandler, version: number, request: Req): Promise<Res>;
  /** Close the coordinator and the engine and remove the directory. */
  close(): Promise<void>;
}

/**
 * Start a harness.
 *
 * @param config Coordinator settings (default: no initial rebalance delay).
 * @returns The harness.
 */
export async function openHandlerHarness(
  config: Partial<GroupCoordinatorConfig> = {},
): Promise<HandlerHarness> {
  const dir = await Deno.makeTempDir({ prefix: "sluice_group_api_" });
  const logs = await LogManager.open(dir);
  await logs.createTopic("t", 3);
  const groups = await openGroupCoordinator(logs, {
    offsetsTopicNumPartitions: 3,
    config: { initialRebalanceDelayMs: 0, ...config },
  });
  const closing = new AbortController();
  const broker = {
    nodeId: 7,
    clusterId: "test-cluster",
    advertised: { host: "broker.test", port: 19092 },
    logs,
    closing: closing.signal,
    groups,
  } as unknown as BrokerContext;
  return {
    groups,
    logs,
    closing,
    async call<Req, Res>(api: ApiHandler, version: number, request: Req): Promise<Res> {
      const req = decodeMessage(
        api.request,
        encodeMessage(api.request as never, request, version),
        version,
      ) as Req;
      const ctx: RequestContext = {
        broker,
        version,
        correlationId: 1,
        clientId: "test-client",
        connection: { id: 1, remote: "127.0.0.1:50000" },
      };
      const res = await api.handle(ctx, req);
      const bytes = encodeMessage(api.response as never, res, version);
      return decodeMessage(api.response, bytes, version) as Res;
    },
    async close() {
      groups.close();
      await logs.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

// The coordinator tests' one committed partition: in-0 of group g.

/**
 * The offset record of in-0 of group g at `offset`.
 *
 * @param offset The committed offset.
 * @returns The record.
 */
export function offsetRecord(offset: number): CoordinatorRecord {
  return {
    kind: "offset",
    groupId: "g",
    topic: "in",
    partition: 0,
    value: { offset, leaderEpoch: -1, metadata: "", commitTimestamp: 0, expireTimestamp: -1 },
  };
}

/**
 * in-0 committed at `offset` (a plain commit), its record at `recordOffset`, as a load reads it.
 *
 * @param offset The committed offset.
 * @param recordOffset Where the record is in `__consumer_offsets`.
 * @returns The loaded record.
 */
export function plainOffset(offset: number, recordOffset: number): LoadedCoordinatorRecord {
  return { ...offsetRecord(offset), recordOffset };
}

/**
 * A plain OffsetCommit of in-0 of group g (no member: the group is Empty).
 *
 * @param gc The coordinator.
 * @param offset The offset to commit.
 * @returns The partition's error code.
 */
export async function plainCommit(gc: GroupCoordinator, offset: number): Promise<number> {
  const r = await gc.commitOffsets({
    groupId: "g",
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    topics: [{
      topic: "in",
      partitions: [{ partition: 0, offset, leaderEpoch: -1, metadata: null }],
    }],
  });
  return r[0].partitions[0].errorCode;
}

/**
 * A TxnOffsetCommit of in-0 of group g in the transaction of `producerId` (transactional id
 * `t<producerId>`, epoch 0).
 *
 * @param gc The coordinator.
 * @param producerId The producer.
 * @param offset The offset to commit.
 * @returns The coordinator's answer.
 */
export function txnCommit(
  gc: GroupCoordinator,
  producerId: number,
  offset: number,
): ReturnType<GroupCoordinator["txnCommitOffsets"]> {
  return gc.txnCommitOffsets({
    groupId: "g",
    generationId: -1,
    memberId: "",
    groupInstanceId: null,
    transactionalId: `t${producerId}`,
    producerId,
    producerEpoch: 0,
    topics: [{
      topic: "in",
      partitions: [{ partition: 0, offset, leaderEpoch: -1, metadata: null }],
    }],
  });
}

/**
 * What OffsetFetch answers for in-0 of group g.
 *
 * @param gc The coordinator.
 * @returns The committed offset (-1: none).
 */
export function committed(gc: GroupCoordinator): number {
  return gc.fetchOffsets("g", [{ topic: "in", partitions: [0] }]).topics[0].partitions[0].offset;
}
