/**
 * The transactional side of the producer (Kafka's `TransactionManager`): the transaction
 * state machine, the transaction coordinator (found with FindCoordinator key type 1) and the
 * requests that go to it (InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn) or to the
 * group coordinator (TxnOffsetCommit), each with Kafka's classification of its errors:
 *
 * - retried (the coordinator looked up again first where it moved): `NOT_COORDINATOR`,
 *   `COORDINATOR_NOT_AVAILABLE`, `COORDINATOR_LOAD_IN_PROGRESS`, `CONCURRENT_TRANSACTIONS`,
 *   `UNKNOWN_TOPIC_OR_PARTITION`, `REQUEST_TIMED_OUT` and lost connections, until `maxBlockMs`
 *   passes (then a retriable `REQUEST_TIMED_OUT`: the call may be made again);
 * - fatal, the producer is fenced ({@linkcode ProducerFencedError}): `PRODUCER_FENCED`,
 *   `INVALID_PRODUCER_EPOCH` from the coordinator;
 * - fatal: `TRANSACTIONAL_ID_AUTHORIZATION_FAILED`, `CLUSTER_AUTHORIZATION_FAILED`,
 *   `INVALID_TXN_STATE`, `UNSUPPORTED_VERSION`, `UNSUPPORTED_FOR_MESSAGE_FORMAT`,
 *   `INVALID_TRANSACTION_TIMEOUT` and any error Kafka does not expect;
 * - abortable (the transaction must be aborted, then the producer goes on):
 *   `TOPIC_AUTHORIZATION_FAILED`, `GROUP_AUTHORIZATION_FAILED`, `UNKNOWN_MEMBER_ID`,
 *   `ILLEGAL_GENERATION`, `FENCED_INSTANCE_ID` (KIP-447: the consumer's group generation is no
 *   longer current), `TRANSACTION_ABORTABLE`; `UNKNOWN_PRODUCER_ID` and
 *   `INVALID_PRODUCER_ID_MAPPING` also need an epoch bump at the abort.
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
} from "../protocol/messages/add_offsets_to_txn.ts";
import {
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
} from "../protocol/messages/add_partitions_to_txn.ts";
import { EndTxnRequest, EndTxnResponse } from "../protocol/messages/end_txn.ts";
import {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../protocol/messages/init_producer_id.ts";
import {
  TxnOffsetCommitRequest,
  TxnOffsetCommitResponse,
} from "../protocol/messages/txn_offset_commit.ts";
import type { MessageCodec } from "../protocol/primitives.ts";
import { findCoordinator } from "./find_coordinator.ts";
import type { Client } from "./client.ts";
import type { Api, Connection } from "./connection.ts";

/**
 * The state of a transactional producer (Kafka's `TransactionManager.State`):
 * `UNINITIALIZED` until {@linkcode Producer.initTransactions}, `READY` between transactions,
 * `IN_TRANSACTION` after `beginTransaction`, `COMMITTING_TRANSACTION`/`ABORTING_TRANSACTION`
 * while one ends, `ABORTABLE_ERROR` when the transaction failed and must be aborted,
 * `FATAL_ERROR` when the producer cannot go on (fenced, not authorized, …).
 */
export type TransactionState =
  | "UNINITIALIZED"
  | "INITIALIZING"
  | "READY"
  | "IN_TRANSACTION"
  | "COMMITTING_TRANSACTION"
  | "ABORTING_TRANSACTION"
  | "ABORTABLE_ERROR"
  | "FATAL_ERROR";

/**
 * A consumer's group membership, as {@linkcode Producer.sendOffsetsToTransaction} sends it with
 * the offsets (KIP-447: the group coordinator refuses offsets of a member that is no longer in
 * the current generation). {@linkcode GroupConsumer.groupMetadata} returns it.
 */
export interface ConsumerGroupMetadata {
  /** `group.id`. */
  groupId: string;
  /** The generation the member joined (-1: none, the coordinator then checks nothing). */
  generationId: number;
  /** The member id ("": none). */
  memberId: string;
  /** `group.instance.id` of a static member, else `null`. */
  groupInstanceId: string | null;
}

/** An offset committed in a transaction. */
export interface TransactionOffset {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** The next offset to read (one past the last record processed). */
  offset: number;
  /**
   * The leader epoch of the record before `offset` (the last one processed:
   * `ConsumerRecord.leaderEpoch`), sent as `committed_leader_epoch` (TxnOffsetCommit
   * v2+) so that a consumer resuming from the offset can detect a log truncation (KIP-320).
   * Default -1 (unknown).
   */
  leaderEpoch?: number;
  /** Optional metadata string. */
  metadata?: string | null;
}

/**
 * Thrown by a transactional producer that another producer with the same `transactionalId` and
 * a newer epoch replaced (`PRODUCER_FENCED`, or `INVALID_PRODUCER_EPOCH` from the transaction
 * coordinator). Fatal: every later call throws it; close the producer (a new one with the same
 * id may be created).
 *
 * @example
 * ```ts ignore
 * import { ProducerFencedError } from "../client/mod.ts";
 * try {
 *   await producer.commitTransaction();
 * } catch (e) {
 *   if (e instanceof ProducerFencedError) await producer.close();
 *   else throw e;
 * }
 * ```
 */
export class ProducerFencedError extends KafkaError {
  /**
   * Creates the error.
   *
   * @param code `PRODUCER_FENCED` or `INVALID_PRODUCER_EPOCH`.
   * @param message What failed.
   */
  constructor(code: number, message: string) {
    super(code, message);
    this.name = "ProducerFencedError";
  }
}

/** How an error code leaves the transaction. */
type Outcome = "ok" | "retry" | "refind" | "fenced" | "fatal" | "abortable" | "abortableBump";

const ABORTABLE = new Set<number>([
  ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.UNKNOWN_MEMBER_ID,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.FENCED_INSTANCE_ID,
  ErrorCode.TRANSACTION_ABORTABLE,
]);

/** Kafka's classification of a coordinator answer (the union of its request handlers'). */
function outcomeOf(code: number): Outcome {
  if (code === 0) return "ok";
  if (
    code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE ||
    code === ErrorCode.REQUEST_TIMED_OUT
  ) {
    return "refind";
  }
  if (
    code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ||
    code === ErrorCode.CONCURRENT_TRANSACTIONS ||
    code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
  ) {
    return "retry";
  }
  if (code === ErrorCode.PRODUCER_FENCED || code === ErrorCode.INVALID_PRODUCER_EPOCH) {
    return "fenced";
  }
  if (
    code === ErrorCode.UNKNOWN_PRODUCER_ID || code === ErrorCode.INVALID_PRODUCER_ID_MAPPING
  ) {
    return "abortableBump";
  }
  if (ABORTABLE.has(code)) return "abortable";
  // FATAL, and any error Kafka's handlers do not expect.
  return "fatal";
}

/**
 * A failed transactional request: `outcome` says what it does to the transaction (the
 * {@linkcode TransactionManager} has already moved to the matching state).
 */
export class TransactionRequestError extends Error {
  /** The error to throw to the caller. */
  readonly error: KafkaError;
  /** `fenced`, `fatal`, `abortable`, `abortableBump`, or `timeout` (retriable). */
  readonly outcome: Outcome | "timeout";

  /**
   * Creates the error.
   *
   * @param error The Kafka error.
   * @param outcome Its classification.
   */
  constructor(error: KafkaError, outcome: Outcome | "timeout") {
    super(error.message);
    this.error = error;
    this.outcome = outcome;
  }
}

/** Coordinator key types of FindCoordinator. */
const GROUP = 0;
const TRANSACTION = 1;

/** AddPartitionsToTxn versions above 3 are for brokers (KIP-890 verification). */
const ADD_PARTITIONS_MAX_CLIENT_VERSION = 3;
/** InitProducerId version that takes the current producer id and epoch (KIP-360). */
export const INIT_PRODUCER_ID_BUMP_VERSION = 3;

/**
 * Kafka's TransactionManager for one `transactionalId`: the state, the last error, and the
 * coordinator requests. The {@linkcode Producer} owns one and drives it; not exported.
 */
export class TransactionManager {
  readonly transactionalId: string;
  readonly transactionTimeoutMs: number;
  readonly maxBlockMs: number;
  #client: Client;
  #coordinators = new Map<string, number>();
  state: TransactionState = "UNINITIALIZED";
  /** Why the transaction must be aborted (`ABORTABLE_ERROR`) or the producer stopped. */
  lastError: KafkaError | undefined;
  /** The abort must bump the epoch (a batch's outcome is unknown; KIP-360). */
  bumpRequired = false;
  /** Partitions (`topic\0partition`) added to the current transaction. */
  partitions = new Set<string>();
  /** Something (a partition or offsets) was added: EndTxn is needed. */
  started = false;
  /** Called when the state becomes `FATAL_ERROR` (the producer fails its batches). */
  onFatal: (error: KafkaError) => void = () => {};
  /** Called when the state becomes `ABORTABLE_ERROR` (the producer fails unsent batches). */
  onAbortable: (error: KafkaError) => void = () => {};

  constructor(client: Client, transactionalId: string, timeoutMs: number, maxBlockMs: number) {
    this.#client = client;
    this.transactionalId = transactionalId;
    this.transactionTimeoutMs = timeoutMs;
    this.maxBlockMs = maxBlockMs;
  }

  /** Whether the producer can no longer be used. */
  get fatal(): boolean {
    return this.state === "FATAL_ERROR";
  }

  /** Moves to `FATAL_ERROR` (once). */
  setFatal(error: KafkaError): void {
    if (this.state === "FATAL_ERROR") return;
    this.state = "FATAL_ERROR";
    this.lastError = error;
    this.onFatal(error);
  }

  /**
   * A produce or coordinator request failed: the transaction must be aborted. While aborting
   * (or already failed) only the bump is remembered.
   */
  setAbortable(error: KafkaError, bump: boolean): void {
    if (this.state === "FATAL_ERROR") return;
    if (bump) this.bumpRequired = true;
    if (this.state === "ABORTING_TRANSACTION" || this.state === "ABORTABLE_ERROR") return;
    if (
      this.state !== "IN_TRANSACTION" && this.state !== "COMMITTING_TRANSACTION"
    ) {
      return;
    }
    this.state = "ABORTABLE_ERROR";
    this.lastError = error;
    this.onAbortable(error);
  }

  /** Throws the error that stops `what` in the current state, if any. */
  check(what: string, allowed: TransactionState[]): void {
    if (this.state === "FATAL_ERROR") throw this.lastError!;
    if (this.state === "ABORTABLE_ERROR" && !allowed.includes("ABORTABLE_ERROR")) {
      const cause = this.lastError!;
      throw new KafkaError(
        cause.code,
        `${what}: the transaction of ${this.transactionalId} failed and must be aborted ` +
          `(abortTransaction); cause: ${cause.message}`,
      );
    }
    if (!allowed.includes(this.state)) {
      throw new KafkaError(
        ErrorCode.INVALID_TXN_STATE,
        `${what}: not allowed in state ${this.state} of transactional id ${this.transactionalId}`,
      );
    }
  }

  // --- requests ---------------------------------------------------------------------------

  /**
   * InitProducerId with the transactional id: a new producer id/epoch (fencing older producers),
   * or with `current` (v3+) the next epoch of the same id after an abort (KIP-360/KIP-588).
   */
  async initProducerId(
    current?: { producerId: number; producerEpoch: number },
  ): Promise<{ producerId: number; producerEpoch: number }> {
    const { res } = await this.#call(
      "InitProducerId",
      TRANSACTION,
      this.transactionalId,
      { request: InitProducerIdRequest, response: InitProducerIdResponse },
      (version) => {
        if (current !== undefined && version < INIT_PRODUCER_ID_BUMP_VERSION) {
          throw new TransactionRequestError(
            new KafkaError(
              ErrorCode.UNSUPPORTED_VERSION,
              `InitProducerId (epoch bump of ${this.transactionalId}): the broker supports ` +
                `InitProducerId up to v${version}, and a bump needs ` +
                `v${INIT_PRODUCER_ID_BUMP_VERSION} (KIP-360, Kafka 2.5)`,
            ),
            "fatal",
          );
        }
        return InitProducerIdRequest.create({
          transactionalId: this.transactionalId,
          transactionTimeoutMs: this.transactionTimeoutMs,
          producerId: current?.producerId ?? -1,
          producerEpoch: current?.producerEpoch ?? -1,
        });
      },
      (r) => [r.errorCode],
    );
    if (res.producerId < 0 || res.producerEpoch < 0) {
      throw new TransactionRequestError(
        new KafkaError(
          ErrorCode.UNKNOWN_SERVER_ERROR,
          `InitProducerId of ${this.transactionalId}: the broker answered producer id ` +
            `${res.producerId} epoch ${res.producerEpoch}, which cannot be used`,
        ),
        "fatal",
      );
    }
    return { producerId: res.producerId, producerEpoch: res.producerEpoch };
  }

  /** AddPartitionsToTxn (v0-3). */
  async addPartitions(
    producerId: number,
    producerEpoch: number,
    partitions: Array<{ topic: string; partition: number }>,
  ): Promise<void> {
    const topics = new Map<string, number[]>();
    for (const p of partitions) {
      const list = topics.get(p.topic);
      if (list) list.push(p.partition);
      else topics.set(p.topic, [p.partition]);
    }
    const names = partitions.map((p) => `${p.topic}-${p.partition}`).join(", ");
    await this.#call(
      `AddPartitionsToTxn (${names})`,
      TRANSACTION,
      this.transactionalId,
      { request: AddPartitionsToTxnRequest, response: AddPartitionsToTxnResponse },
      () =>
        AddPartitionsToTxnRequest.create({
          v3AndBelowTransactionalId: this.transactionalId,
          v3AndBelowProducerId: producerId,
          v3AndBelowProducerEpoch: producerEpoch,
          v3AndBelowTopics: [...topics].map(([name, partitions]) => ({ name, partitions })),
        }),
      (r) =>
        r.resultsByTopicV3AndBelow.flatMap((t) =>
          t.resultsByPartition.map((p) => p.partitionErrorCode)
        ).filter((c) => c !== ErrorCode.OPERATION_NOT_ATTEMPTED),
      ADD_PARTITIONS_MAX_CLIENT_VERSION,
    );
    for (const p of partitions) this.partitions.add(`${p.topic}\u0000${p.partition}`);
    this.started = true;
  }

  /** AddOffsetsToTxn then TxnOffsetCommit (leader epochs from v2, KIP-447 fields from v3). */
  async sendOffsets(
    producerId: number,
    producerEpoch: number,
    offsets: TransactionOffset[],
    group: ConsumerGroupMetadata,
  ): Promise<void> {
    await this.#call(
      `AddOffsetsToTxn (group ${group.groupId})`,
      TRANSACTION,
      this.transactionalId,
      { request: AddOffsetsToTxnRequest, response: AddOffsetsToTxnResponse },
      () =>
        AddOffsetsToTxnRequest.create({
          transactionalId: this.transactionalId,
          producerId,
          producerEpoch,
          groupId: group.groupId,
        }),
      (r) => [r.errorCode],
    );
    this.started = true;
    const topics = new Map<string, TransactionOffset[]>();
    for (const o of offsets) {
      const list = topics.get(o.topic);
      if (list) list.push(o);
      else topics.set(o.topic, [o]);
    }
    await this.#call(
      `TxnOffsetCommit (group ${group.groupId})`,
      GROUP,
      group.groupId,
      { request: TxnOffsetCommitRequest, response: TxnOffsetCommitResponse },
      (version) =>
        TxnOffsetCommitRequest.create({
          transactionalId: this.transactionalId,
          groupId: group.groupId,
          producerId,
          producerEpoch,
          generationId: version >= 3 ? group.generationId : -1,
          memberId: version >= 3 ? group.memberId : "",
          groupInstanceId: version >= 3 ? group.groupInstanceId : null,
          topics: [...topics].map(([name, list]) => ({
            name,
            partitions: list.map((o) => ({
              partitionIndex: o.partition,
              committedOffset: o.offset,
              committedLeaderEpoch: version >= 2 ? o.leaderEpoch ?? -1 : -1,
              committedMetadata: o.metadata ?? "",
            })),
          })),
        }),
      (r) => r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode)),
    );
  }

  /** EndTxn. */
  async endTxn(producerId: number, producerEpoch: number, commit: boolean): Promise<void> {
    await this.#call(
      `EndTxn (${commit ? "commit" : "abort"})`,
      TRANSACTION,
      this.transactionalId,
      { request: EndTxnRequest, response: EndTxnResponse },
      () =>
        EndTxnRequest.create({
          transactionalId: this.transactionalId,
          producerId,
          producerEpoch,
          committed: commit,
        }),
      (r) => [r.errorCode],
    );
  }

  /** The transaction ended: nothing is in it any more. */
  reset(): void {
    this.partitions.clear();
    this.started = false;
    this.lastError = undefined;
    this.bumpRequired = false;
  }

  async #findCoordinator(keyType: number, key: string): Promise<number> {
    const cacheKey = `${keyType}\u0000${key}`;
    const known = this.#coordinators.get(cacheKey);
    if (known !== undefined) return known;
    const node = await findCoordinator(
      this.#client,
      keyType,
      key,
      0,
      `find ${keyType === TRANSACTION ? "transaction" : "group"} coordinator of ${key}`,
    );
    this.#coordinators.set(cacheKey, node);
    return node;
  }

  /**
   * Sends a coordinator request until it succeeds, fails for good or `maxBlockMs` passes.
   * Throws a {@linkcode TransactionRequestError}.
   */
  async #call<Req, Res>(
    what: string,
    keyType: number,
    key: string,
    api: Api<Req, Res>,
    body: (version: number) => Req,
    errorsOf: (res: Res) => number[],
    maxVersion = Infinity,
  ): Promise<{ res: Res; version: number }> {
    const deadline = Date.now() + this.maxBlockMs;
    const cacheKey = `${keyType}\u0000${key}`;
    let last: KafkaError | undefined;
    for (let attempt = 0;; attempt++) {
      if (attempt > 0) {
        if (Date.now() >= deadline) {
          throw new TransactionRequestError(
            new KafkaError(
              ErrorCode.REQUEST_TIMED_OUT,
              `${what} for transactional id ${this.transactionalId}: not done within ` +
                `${this.maxBlockMs} ms (${attempt} attempts); last error: ${last?.message}`,
            ),
            "timeout",
          );
        }
        await this.#client.backoff(Math.min(attempt - 1, 3));
      }
      let res: Res;
      let version: number;
      let conn: Connection;
      try {
        conn = await this.#client.connectionTo(await this.#findCoordinator(keyType, key));
        version = Math.min(conn.versionFor(api.request as MessageCodec<unknown>), maxVersion);
        res = await conn.send(api, body(version), { version });
      } catch (e) {
        if (e instanceof TransactionRequestError) throw e;
        const error = e instanceof KafkaError
          ? e
          : new KafkaError(ErrorCode.NETWORK_EXCEPTION, e instanceof Error ? e.message : `${e}`);
        if (!error.retriable && error.code !== ErrorCode.NETWORK_EXCEPTION) {
          if (error.code === ErrorCode.UNSUPPORTED_VERSION) {
            throw new TransactionRequestError(error, "fatal");
          }
        }
        this.#coordinators.delete(cacheKey);
        last = new KafkaError(error.code, `${what}: ${error.reason || error.message}`);
        continue;
      }
      const codes = errorsOf(res);
      // The worst outcome of the partitions decides (as Kafka's handlers return on the first
      // fatal or abortable error and retry otherwise).
      let worst: { code: number; outcome: Outcome } = { code: 0, outcome: "ok" };
      const rank: Record<Outcome, number> = {
        ok: 0,
        retry: 1,
        refind: 2,
        abortable: 3,
        abortableBump: 4,
        fatal: 5,
        fenced: 6,
      };
      for (const code of codes) {
        const outcome = outcomeOf(code);
        if (rank[outcome] > rank[worst.outcome]) worst = { code, outcome };
      }
      if (worst.outcome === "ok") return { res, version };
      const error = new KafkaError(
        worst.code,
        `${what} for transactional id ${this.transactionalId} to ${conn.host}:${conn.port}`,
      );
      switch (worst.outcome) {
        case "refind":
          this.#coordinators.delete(cacheKey);
          last = error;
          continue;
        case "retry":
          last = error;
          continue;
        case "fenced": {
          const fenced = new ProducerFencedError(
            worst.code,
            `${what}: producer of transactional id ${this.transactionalId} was fenced by ` +
              `a newer producer with the same transactional id (or its transaction timed out); ` +
              `close it`,
          );
          this.setFatal(fenced);
          throw new TransactionRequestError(fenced, "fenced");
        }
        case "fatal":
          this.setFatal(error);
          throw new TransactionRequestError(error, "fatal");
        default:
          this.setAbortable(error, worst.outcome === "abortableBump");
          throw new TransactionRequestError(error, worst.outcome);
      }
    }
  }
}
