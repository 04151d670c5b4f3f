// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * KIP-890 part 1 across brokers (cluster mode; Kafka 3.6's `AddPartitionsToTxnManager` and
 * verification guard): before a partition leader appends the first transactional batch of a
 * producer's transaction (the partition has no transaction of that producer and epoch in
 * progress), it asks the transaction's coordinator — the leader of the transactional id's
 * `__transaction_state` partition, another broker or this one — with AddPartitionsToTxn v4
 * `verify_only` whether the partition is in the transaction in progress. Only then is the batch
 * appended, so that no batch the coordinator will never send a marker for holds the partition's
 * last stable offset back (a hanging transaction).
 *
 * The guard: a marker of the producer written to the partition while the question is out (its
 * transaction ended meanwhile) voids the answer: the batch is refused with INVALID_TXN_STATE
 * rather than appended after the marker. Markers are counted here as they are enqueued
 * ({@linkcode TxnVerifier.markerStarted}, called by `writeLocalMarkers`), and the count is
 * checked in the same synchronous step as the batch's append is enqueued.
 *
 * The coordinator's answers become the Produce errors Kafka's ReplicaManager gives:
 * PRODUCER_FENCED → INVALID_PRODUCER_EPOCH; NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
 * COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS → NOT_ENOUGH_REPLICAS (retriable for
 * every client); a lost connection → NETWORK_EXCEPTION; INVALID_TXN_STATE,
 * INVALID_PRODUCER_ID_MAPPING as they are.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/errors.ts";
import {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
} from "../../protocol/messages/add_partitions_to_txn.ts";
import { BrokerConnectionPool, type BrokerEndpoint } from "../broker_connection.ts";
import type { Logger } from "../logger.ts";
import { partitionForGroup } from "../group/schemas.ts";
import { TRANSACTION_STATE_TOPIC } from "../internal_topic.ts";
import type { TxnProducer, TxnTopicResult } from "./coordinator.ts";

/** AddPartitionsToTxn version a partition leader sends (the first with `verify_only`). */
export const VERIFY_ADD_PARTITIONS_VERSION = 4;

/** What {@linkcode TxnVerifier} needs of the cluster. */
export interface VerifierClusterView {
  /** The leader of a partition (-1: none now). */
  leaderOf(topic: string, partition: number): number;
  /** The partition count of an internal topic (`undefined` while it does not exist). */
  internalPartitions(name: string): number | undefined;
  /** A registered broker's address. */
  endpoint(id: number): BrokerEndpoint | undefined;
}

/** Options of {@linkcode TxnVerifier}. */
export interface TxnVerifierOptions {
  /** This broker's node id. */
  nodeId: number;
  /** The cluster's leaders and brokers. */
  cluster: VerifierClusterView;
  /** This broker's transaction coordinator (when it leads the id's partition). */
  local: (p: TxnProducer, topics: { topic: string; partitions: number[] }[]) => Promise<
    TxnTopicResult[]
  >;
  /** `request.timeout.ms`: each request's limit. */
  requestTimeoutMs: number;
  /** Where to report. */
  logger: Logger;
  /**
   * How the question reaches another broker's coordinator; default AddPartitionsToTxn v4
   * `verify_only` over a connection to its `endpoint`. Shards (`sluice.workers`): the shard
   * router's message to shard 0, whose coordinator answers (`../shards.ts`).
   */
  remote?: (
    coordinator: number,
    p: TxnProducer,
    topics: { topic: string; partitions: number[] }[],
  ) => Promise<TxnTopicResult[]>;
}

interface GuardEntry {
  /** Markers of the producer enqueued on the partition (while the entry lives). */
  started: number;
  /** Markers enqueued and not yet appended. */
  inFlight: number;
  /** Verifications waiting for their answer. */
  verifying: number;
}

const guardKey = (topic: string, partition: number, producerId: number) =>
  `${topic}\u0000${partition}\u0000${producerId}`;

/** Coordinator answers a producer retries, as Kafka's ReplicaManager gives them. */
const RETRIABLE_AS_NOT_ENOUGH_REPLICAS = new Set<number>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.CONCURRENT_TRANSACTIONS,
]);

/**
 * The Produce error for a coordinator's answer to a verification.
 *
 * @example
 * ```ts
 * import { produceErrorOfVerification } from "./verification.ts";
 * console.assert(produceErrorOfVerification(16) === 19); // NOT_COORDINATOR → NOT_ENOUGH_REPLICAS
 * console.assert(produceErrorOfVerification(90) === 47); // PRODUCER_FENCED → INVALID_PRODUCER_EPOCH
 * ```
 *
 * @param code The coordinator's code.
 * @returns The code for the Produce answer.
 */
export function produceErrorOfVerification(code: number): number {
  if (code === ErrorCode.PRODUCER_FENCED) return ErrorCode.INVALID_PRODUCER_EPOCH;
  if (RETRIABLE_AS_NOT_ENOUGH_REPLICAS.has(code)) return ErrorCode.NOT_ENOUGH_REPLICAS;
  return code;
}

/**
 * A partition leader's verifications of transactional batches with their coordinators.
 *
 * @example
 * ```ts ignore
 * const verifier = new TxnVerifier({ nodeId: 1, cluster, local, requestTimeoutMs: 30000, logger });
 * const pass = await verifier.verify("txn-1", { producerId: 7, producerEpoch: 0 }, "t", 0);
 * if (pass.errorCode === 0 && pass.stillValid()) log.append(batch);
 * verifier.close();
 * ```
 */
export class TxnVerifier {
  readonly #o: TxnVerifierOptions;
  readonly #conns: BrokerConnectionPool;
  readonly #guards = new Map<string, GuardEntry>();

  /**
   * Creates the verifier (connections are made on first use).
   *
   * @param options Node id, cluster, local coordinator, timeout, logger.
   */
  constructor(options: TxnVerifierOptions) {
    this.#o = options;
    this.#conns = new BrokerConnectionPool(
      (id) => options.cluster.endpoint(id),
      `sluice-txn-verify-${options.nodeId}`,
      options.requestTimeoutMs,
    );
  }

  /**
   * Whether a marker of the producer is being appended to the partition (enqueued, not yet
   * done): its transaction there is ending, so "in progress" in the partition's producer state
   * cannot be trusted without asking.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param producerId Producer id.
   * @returns `true` while one is.
   */
  markerInFlight(topic: string, partition: number, producerId: number): boolean {
    return (this.#guards.get(guardKey(topic, partition, producerId))?.inFlight ?? 0) > 0;
  }

  /**
   * A marker of the producer is enqueued on the partition now (call in the same synchronous
   * step as its append): verifications in progress for it are void.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param producerId Producer id.
   * @returns Call once the marker's append is done (or failed).
   */
  markerStarted(topic: string, partition: number, producerId: number): () => void {
    const k = guardKey(topic, partition, producerId);
    let e = this.#guards.get(k);
    if (e === undefined) this.#guards.set(k, e = { started: 0, inFlight: 0, verifying: 0 });
    e.started++;
    e.inFlight++;
    const entry = e;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      entry.inFlight--;
      this.#release(k, entry);
    };
  }

  /**
   * Asks the transaction's coordinator whether `topic`-`partition` is in the producer's
   * transaction in progress.
   *
   * @param transactionalId The produce request's transactional id.
   * @param p The batch's producer id and epoch.
   * @param topic Topic.
   * @param partition Partition.
   * @returns The Produce error code (NONE: verified) and, when verified, `stillValid`, to call
   * once, in the same synchronous step as the append: `false` once a marker of the producer was
   * enqueued on the partition since the question was asked, or while one is being appended.
   */
  async verify(
    transactionalId: string,
    p: { producerId: number; producerEpoch: number },
    topic: string,
    partition: number,
  ): Promise<{ errorCode: number; stillValid: () => boolean }> {
    const k = guardKey(topic, partition, p.producerId);
    let e = this.#guards.get(k);
    if (e === undefined) this.#guards.set(k, e = { started: 0, inFlight: 0, verifying: 0 });
    const entry = e;
    const startedAt = entry.started;
    // the entry lives (counting markers) until the answer is used
    entry.verifying++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.verifying--;
      this.#release(k, entry);
    };
    let code: number;
    try {
      code = produceErrorOfVerification(
        await this.#ask({ transactionalId, ...p }, topic, partition),
      );
    } catch (e) {
      release();
      throw e;
    }
    if (code !== ErrorCode.NONE) release();
    return {
      errorCode: code,
      stillValid: () => {
        const valid = !released && entry.started === startedAt && entry.inFlight === 0;
        release();
        return valid;
      },
    };
  }

  /** Closes the connections. */
  close(): void {
    this.#conns.close();
  }

  #release(k: string, e: GuardEntry): void {
    if (e.inFlight === 0 && e.verifying === 0 && this.#guards.get(k) === e) this.#guards.delete(k);
  }

  async #ask(p: TxnProducer, topic: string, partition: number): Promise<number> {
    const n = this.#o.cluster.internalPartitions(TRANSACTION_STATE_TOPIC);
    // no __transaction_state yet: no transaction can be in progress (Kafka's answer)
    if (n === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const coordinator = this.#o.cluster.leaderOf(
      TRANSACTION_STATE_TOPIC,
      partitionForGroup(p.transactionalId, n),
    );
    if (coordinator < 0) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const topics = [{ topic, partitions: [partition] }];
    let results: TxnTopicResult[];
    if (coordinator === this.#o.nodeId) {
      results = await this.#o.local(p, topics);
    } else {
      try {
        results = await this.#remote(coordinator, p, topics);
      } catch (e) {
        this.#o.logger.warn(
          `Cannot verify the transaction of ${p.transactionalId} (producer ${p.producerId} ` +
            `epoch ${p.producerEpoch}) for ${topic}-${partition} with broker ${coordinator}: ` +
            `${e instanceof Error ? e.message : e}`,
        );
        return ErrorCode.NETWORK_EXCEPTION;
      }
    }
    const r = results.find((t) => t.topic === topic)?.partitions.find((x) =>
      x.partition === partition
    );
    return r?.errorCode ?? ErrorCode.INVALID_TXN_STATE;
  }

  async #remote(
    coordinator: number,
    p: TxnProducer,
    topics: { topic: string; partitions: number[] }[],
  ): Promise<TxnTopicResult[]> {
    if (this.#o.remote !== undefined) return await this.#o.remote(coordinator, p, topics);
    const conn = await this.#conns.get(coordinator);
    let res: AddPartitionsToTxnResponse;
    try {
      res = await conn.request(
        AddPartitionsToTxnRequest,
        AddPartitionsToTxnResponse,
        VERIFY_ADD_PARTITIONS_VERSION,
        AddPartitionsToTxnRequest.create({
          transactions: [{
            transactionalId: p.transactionalId,
            producerId: p.producerId,
            producerEpoch: p.producerEpoch,
            verifyOnly: true,
            topics: topics.map((t) => ({ name: t.topic, partitions: t.partitions })),
          }],
        }),
        this.#o.requestTimeoutMs,
      );
    } finally {
      this.#conns.dropIfClosed(coordinator, conn);
    }
    if (res.errorCode !== ErrorCode.NONE) {
      return topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((partition) => ({ partition, errorCode: res.errorCode })),
      }));
    }
    return (res.resultsByTransaction[0]?.topicResults ?? []).map((t) => ({
      topic: t.name,
      partitions: t.resultsByPartition.map((x) => ({
        partition: x.partitionIndex,
        errorCode: x.partitionErrorCode,
      })),
    }));
  }
}
