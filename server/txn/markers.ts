// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Transaction markers (COMMIT/ABORT control batches) and how they reach the data partitions.
 *
 * - {@linkcode writeLocalMarkers} writes markers to partitions this broker leads: what
 *   WriteTxnMarkers does on a partition leader, and what the transaction coordinator does for
 *   its own partitions. Each partition passes the leader check (`../leadership.ts`) and its
 *   marker is appended as an acks=all write (`ReplicaManager.appendAsLeader`: answered once the
 *   in-sync replicas have it), as Kafka's WriteTxnMarkers handler appends with acks -1.
 * - {@linkcode TxnMarkerSender} (cluster mode; Kafka's `TransactionMarkerChannelManager`) sends
 *   a transaction's markers to each partition's leader: its own partitions through
 *   `writeLocalMarkers`, the others as WriteTxnMarkers (v1) requests over one connection per
 *   broker. A partition whose leader is unknown or moving, or whose marker could not be
 *   acknowledged yet (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION,
 *   NOT_ENOUGH_REPLICAS(_AFTER_APPEND), REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR, a lost
 *   connection) is tried again with the leader looked up again, backing off from 50 ms to 1 s,
 *   until it is written, its topic is gone from the cluster (dropped, as Kafka drops it), the
 *   caller gives up (the coordinator lost its partition), or `request.timeout.ms` passed. Other
 *   errors (TRANSACTION_COORDINATOR_FENCED, INVALID_PRODUCER_EPOCH: a newer coordinator or
 *   producer epoch took over) are final.
 *
 * @module
 */

import type { PartitionLog } from "../../engine/mod.ts";
import { ErrorCode, errorName } from "../../protocol/errors.ts";
import {
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from "../../protocol/messages/write_txn_markers.ts";
import { buildControlBatch } from "../../records/mod.ts";
import { BrokerConnectionPool, type BrokerEndpoint } from "../broker_connection.ts";
import { CONSUMER_OFFSETS_TOPIC } from "../internal_topic.ts";
import { leaderError, type LeadershipParts } from "../leadership.ts";
import type { Logger } from "../logger.ts";
import {
  isRetriableMarkerError,
  type MarkerRequest,
  type MarkerTopicResult,
} from "./marker_request.ts";

export { isRetriableMarkerError, type MarkerRequest, type MarkerTopicResult };

/** WriteTxnMarkers version the coordinator sends (flexible; Kafka 2.8's). */
export const WRITE_TXN_MARKERS_VERSION = 1;

/** How {@linkcode writeLocalMarkers} appends (cluster mode: as leader, acks=all). */
export interface LocalMarkerParts extends LeadershipParts {
  /** Default: the replica manager's acks=all append, else `PartitionLog.append`. */
  append?: (log: PartitionLog, records: Uint8Array) => Promise<unknown>;
  /**
   * The group coordinator: a marker written to a `__consumer_offsets` partition ends the
   * producer's transactional offset commits of that partition's groups (committed or dropped),
   * as Kafka's WriteTxnMarkers handler calls `GroupCoordinator.scheduleHandleTxnCompletion`.
   */
  groups?: {
    completeTxnOffsets(partition: number, producerId: number, commit: boolean): number;
  };
  /**
   * Cluster mode: the partition leader's transaction verifications, voided by a marker of
   * their producer (`./verification.ts`).
   */
  txnVerifier?: {
    markerStarted(topic: string, partition: number, producerId: number): () => void;
  };
}

/**
 * Writes a transaction's markers to the partitions this broker leads (WriteTxnMarkers on a
 * partition leader). A partition it does not lead gets the leader check's error
 * (UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER); a replicated one is answered once its
 * in-sync replicas have the marker (else NOT_ENOUGH_REPLICAS(_AFTER_APPEND), REQUEST_TIMED_OUT);
 * a refused marker gets the engine's code (INVALID_PRODUCER_EPOCH,
 * TRANSACTION_COORDINATOR_FENCED, ...).
 *
 * @example
 * ```ts
 * import { LogManager } from "../../engine/mod.ts";
 * import { writeLocalMarkers } from "./markers.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const logs = await LogManager.open(dir);
 * await logs.createTopic("t", 1);
 * const r = await writeLocalMarkers({ logs }, {
 *   producerId: 1, producerEpoch: 0, commit: true, coordinatorEpoch: 0,
 *   topics: [{ topic: "t", partitions: [0, 1] }],
 * }, 30000);
 * console.assert(r[0].partitions[0].errorCode === 0 && r[0].partitions[1].errorCode === 3);
 * await logs.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param parts The engine, replica manager and cluster node.
 * @param req The markers.
 * @param timeoutMs How long a replicated marker waits for the in-sync replicas.
 * @param logger Where to report refused markers.
 * @returns Per-partition error codes, in request order.
 */
export async function writeLocalMarkers(
  parts: LocalMarkerParts,
  req: MarkerRequest,
  timeoutMs: number,
  logger?: Logger,
): Promise<MarkerTopicResult[]> {
  const append = parts.append ??
    (parts.replicas !== undefined
      ? (log: PartitionLog, records: Uint8Array) =>
        parts.replicas!.appendAsLeader(log, records, timeoutMs)
      : (log: PartitionLog, records: Uint8Array) => log.append(records));
  const what = `${req.commit ? "COMMIT" : "ABORT"} marker of producer ${req.producerId}`;
  const timestamp = Date.now();
  return await Promise.all(req.topics.map(async (t) => ({
    topic: t.topic,
    partitions: await Promise.all(t.partitions.map(async (partition) => {
      const refused = leaderError(parts, t.topic, partition);
      if (refused !== undefined) return { partition, errorCode: refused.code };
      const log = parts.logs.partition(t.topic, partition)!;
      // enqueued with the marker's append (no await between): verifications of the producer's
      // batches in flight here are void from now on
      const markerDone = parts.txnVerifier?.markerStarted(t.topic, partition, req.producerId);
      try {
        // the log ends the producer's transaction there and indexes an aborted one
        await append(
          log,
          buildControlBatch({
            producerId: req.producerId,
            producerEpoch: req.producerEpoch,
            commit: req.commit,
            coordinatorEpoch: req.coordinatorEpoch,
            timestamp,
          }),
        );
        if (t.topic === CONSUMER_OFFSETS_TOPIC) {
          parts.groups?.completeTxnOffsets(partition, req.producerId, req.commit);
        }
        return { partition, errorCode: ErrorCode.NONE };
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        const errorCode = typeof code === "number" ? code : ErrorCode.UNKNOWN_SERVER_ERROR;
        logger?.warn(
          `Cannot write the ${what} to ${t.topic}-${partition}: ${
            e instanceof Error ? e.message : e
          }`,
        );
        return { partition, errorCode };
      } finally {
        markerDone?.();
      }
    })),
  })));
}

/** What {@linkcode TxnMarkerSender} needs of the cluster. */
export interface MarkerClusterView {
  /** The leader of a partition (-1: none now). */
  leaderOf(topic: string, partition: number): number;
  /** Whether the partition exists in the cluster. */
  partitionExists(topic: string, partition: number): boolean;
  /** A registered broker's address. */
  endpoint(id: number): BrokerEndpoint | undefined;
}

/** Options of {@linkcode TxnMarkerSender}. */
export interface TxnMarkerSenderOptions {
  /** This broker's node id. */
  nodeId: number;
  /** The cluster's leaders and brokers. */
  cluster: MarkerClusterView;
  /** Writes markers to partitions this broker leads ({@linkcode writeLocalMarkers}). */
  local: (req: MarkerRequest) => Promise<MarkerTopicResult[]>;
  /**
   * How markers reach another leader; default a WriteTxnMarkers request over a connection to
   * its `endpoint`. Shards (`sluice.workers`): the shard router's message to the owner shard,
   * which writes them with {@linkcode writeLocalMarkers} (`../shards.ts`).
   */
  remote?: (leader: number, req: MarkerRequest) => Promise<MarkerTopicResult[]>;
  /** `request.timeout.ms`: each request's limit, and how long one transaction's markers are tried. */
  requestTimeoutMs: number;
  /** Where to report. */
  logger: Logger;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Sends transaction markers to the partitions' leaders (cluster mode).
 *
 * @example
 * ```ts ignore
 * const sender = new TxnMarkerSender({ nodeId: 1, cluster, local, requestTimeoutMs: 30000, logger });
 * const results = await sender.send(markers, () => stillCoordinator);
 * sender.close();
 * ```
 */
export class TxnMarkerSender {
  readonly #o: TxnMarkerSenderOptions;
  readonly #conns: BrokerConnectionPool;
  #closed = false;

  /**
   * Creates the sender (connections are made on first use).
   *
   * @param options Node id, cluster, local writer, timeout, logger.
   */
  constructor(options: TxnMarkerSenderOptions) {
    this.#o = options;
    this.#conns = new BrokerConnectionPool(
      (id) => options.cluster.endpoint(id),
      `sluice-txn-markers-${options.nodeId}`,
      options.requestTimeoutMs,
    );
  }

  /**
   * Writes a transaction's markers on every partition's leader, trying again as described in
   * the module doc.
   *
   * @param req The markers.
   * @param active Whether to keep trying (the coordinator still owns the transaction).
   * @returns Per-partition error codes (NONE once written; the last error otherwise).
   */
  async send(req: MarkerRequest, active: () => boolean = () => true): Promise<MarkerTopicResult[]> {
    const results = new Map<string, number>();
    let pending = req.topics.flatMap((t) =>
      t.partitions.map((partition) => ({ topic: t.topic, partition }))
    );
    for (const p of pending) results.set(key(p.topic, p.partition), ErrorCode.REQUEST_TIMED_OUT);
    const deadline = Date.now() + this.#o.requestTimeoutMs;
    for (let round = 0; pending.length > 0; round++) {
      if (round > 0) {
        if (this.#closed || !active() || Date.now() >= deadline) break;
        await sleep(Math.min(1000, 50 * 2 ** Math.min(round - 1, 5)));
      }
      // a partition whose topic is gone needs no marker any more (Kafka drops it)
      pending = pending.filter((p) => {
        if (this.#o.cluster.partitionExists(p.topic, p.partition)) return true;
        results.set(key(p.topic, p.partition), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        return false;
      });
      const byLeader = new Map<number, { topic: string; partition: number }[]>();
      for (const p of pending) {
        const leader = this.#o.cluster.leaderOf(p.topic, p.partition);
        if (leader < 0) {
          results.set(key(p.topic, p.partition), ErrorCode.NOT_LEADER_OR_FOLLOWER);
          continue;
        }
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
      }
      await Promise.all([...byLeader].map(async ([leader, ps]) => {
        const part: MarkerRequest = { ...req, topics: groupByTopic(ps) };
        let answers: MarkerTopicResult[];
        try {
          answers = leader === this.#o.nodeId
            ? await this.#o.local(part)
            : await this.#remote(leader, part);
        } catch (e) {
          this.#o.logger.warn(
            `Cannot send transaction markers of producer ${req.producerId} to broker ${leader} ` +
              `(retried): ${e instanceof Error ? e.message : e}`,
          );
          for (const p of ps) results.set(key(p.topic, p.partition), ErrorCode.NETWORK_EXCEPTION);
          return;
        }
        for (const t of answers) {
          for (const r of t.partitions) results.set(key(t.topic, r.partition), r.errorCode);
        }
      }));
      pending = pending.filter((p) =>
        isRetriableMarkerError(results.get(key(p.topic, p.partition))!)
      );
    }
    for (const p of pending) {
      const code = results.get(key(p.topic, p.partition))!;
      this.#o.logger.warn(
        `Transaction marker of producer ${req.producerId} for ${p.topic}-${p.partition} not ` +
          `written yet: ${errorName(code)}`,
      );
    }
    return req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((partition) => ({
        partition,
        errorCode: results.get(key(t.topic, partition))!,
      })),
    }));
  }

  /** Closes the connections; sends in progress stop after their current round. */
  close(): void {
    this.#closed = true;
    this.#conns.close();
  }

  async #remote(leader: number, req: MarkerRequest): Promise<MarkerTopicResult[]> {
    if (this.#o.remote !== undefined) return await this.#o.remote(leader, req);
    const conn = await this.#conns.get(leader);
    let res: WriteTxnMarkersResponse;
    try {
      res = await conn.request(
        WriteTxnMarkersRequest,
        WriteTxnMarkersResponse,
        WRITE_TXN_MARKERS_VERSION,
        WriteTxnMarkersRequest.create({
          markers: [{
            producerId: req.producerId,
            producerEpoch: req.producerEpoch,
            transactionResult: req.commit,
            coordinatorEpoch: req.coordinatorEpoch,
            topics: req.topics.map((t) => ({ name: t.topic, partitionIndexes: t.partitions })),
          }],
        }),
        // the leader waits up to request.timeout.ms for its in-sync replicas
        this.#o.requestTimeoutMs + 5000,
      );
    } finally {
      this.#conns.dropIfClosed(leader, conn);
    }
    return (res.markers[0]?.topics ?? []).map((t) => ({
      topic: t.name,
      partitions: t.partitions.map((p) => ({
        partition: p.partitionIndex,
        errorCode: p.errorCode,
      })),
    }));
  }
}

function groupByTopic(ps: { topic: string; partition: number }[]): MarkerRequest["topics"] {
  const m = new Map<string, number[]>();
  for (const p of ps) m.set(p.topic, [...(m.get(p.topic) ?? []), p.partition]);
  return [...m].map(([topic, partitions]) => ({ topic, partitions }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    Deno.unrefTimer(t);
  });
}
