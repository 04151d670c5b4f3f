/**
 * The producer: batches records per partition (linger time, batch size), picks partitions like
 * the Java client, and sends each partition's batches in order, one Produce request per leader
 * carrying one batch per partition.
 *
 * With `acks` -1 (the default) it is idempotent, as the Java client is since 3.0 (KIP-98,
 * KIP-360, KIP-679): it gets a producer id with InitProducerId, gives each partition's records
 * sequence numbers when their batch is first sent, keeps at most `maxInFlight` (5) batches of a
 * partition in flight, and retries a batch byte for byte (same producer id, epoch and sequence)
 * until the broker acknowledges it or `deliveryTimeoutMs` passes. The broker writes a batch whose
 * answer was lost only once, and later batches of the partition are resent after it, in order.
 * When the broker no longer has the producer's sequence (OUT_OF_ORDER_SEQUENCE_NUMBER on the
 * partition's oldest unacknowledged batch, UNKNOWN_PRODUCER_ID), the producer waits for its
 * requests in flight, bumps its epoch with InitProducerId (the current id and epoch, KIP-360),
 * renumbers the batches the broker refused from sequence 0 and goes on. Without acks -1 (or with
 * `idempotent: false`) the same sender runs without producer ids.
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import {
  InitProducerIdRequest,
  InitProducerIdResponse,
} from "../protocol/messages/init_producer_id.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import {
  incrementSequence,
  setBaseSequenceAt,
  setProducerEpochAt,
  setProducerIdAt,
  updateCrcAt,
} from "../records/mod.ts";
import type { Client, TopicInfo } from "./client.ts";
import { isStaleMetadataError } from "./client.ts";
import { type Connection, isConnectionRefused } from "./connection.ts";
import { DefaultPartitioner, type Partitioner, partitionForTextKey } from "./partitioner.ts";
import {
  type AppendHeader,
  type CompressionName,
  RECORD_BATCH_OVERHEAD,
  RecordBatchBuilder,
  utf8Length,
} from "./records.ts";
import {
  type ConsumerGroupMetadata,
  ProducerFencedError,
  TransactionManager,
  type TransactionOffset,
  TransactionRequestError,
  type TransactionState,
} from "./transaction_manager.ts";

/** Key, value or header bytes: a string is encoded as UTF-8. */
export type MessageData = Uint8Array | string | null;

/** One message to send. */
export interface ProducerMessage {
  /** Key (decides the partition when `partition` is not given). */
  key?: MessageData;
  /** Value; `null` is a tombstone. */
  value: MessageData;
  /** Headers, as a list (keeps order and duplicates) or an object. */
  headers?: Array<{ key: string; value: MessageData }> | Record<string, MessageData>;
  /** Explicit partition. */
  partition?: number;
  /** Timestamp in milliseconds; default now. */
  timestamp?: number;
}

/** What {@linkcode Producer.send} sends. */
export interface ProducerRecord {
  /** Topic name. */
  topic: string;
  /** Messages, sent in order (per partition). */
  messages: ProducerMessage[];
  /**
   * Whether the send resolves with a {@linkcode RecordMetadata} per message. `false`: it resolves
   * with an empty array once every message is acknowledged (or fails as it would), and no
   * per-message bookkeeping is done (for callers that only need the acknowledgement, as a
   * Streams sink). Default true.
   */
  metadata?: boolean;
}

/** Where a message was written. */
export interface RecordMetadata {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /**
   * Offset (-1 with acks=0, and for a batch the broker answered DUPLICATE_SEQUENCE_NUMBER
   * without its offset: it was written before).
   */
  offset: number;
  /** Timestamp: the broker's for LogAppendTime topics, else the message's. */
  timestamp: number;
}

/** What {@linkcode ProducerOptions.onEpochBump} is told. */
export interface EpochBump {
  /** Topic of the partition whose answer required the bump. */
  topic: string;
  /** That partition. */
  partition: number;
  /**
   * Why: the broker's `OUT_OF_ORDER_SEQUENCE_NUMBER` or `UNKNOWN_PRODUCER_ID` (it lost or never
   * had the producer's state: records acknowledged before may be gone), or the error of a batch
   * that failed without a known outcome.
   */
  error: KafkaError;
  /** Producer id before the bump. */
  previousProducerId: number;
  /** Producer epoch before the bump. */
  previousProducerEpoch: number;
  /** Producer id after the bump (a broker may answer with a new id). */
  producerId: number;
  /** Producer epoch after the bump. */
  producerEpoch: number;
  /** Batches of the partition renumbered from sequence 0 (sent again with the new epoch). */
  renumbered: number;
}

/** Options for {@linkcode Producer}. */
export interface ProducerOptions {
  /** 0 (no response), 1 (leader) or -1 (all in-sync replicas). Default -1. */
  acks?: 0 | 1 | -1;
  /**
   * Idempotence (Kafka's `enable.idempotence`): a producer id and per-partition sequence numbers,
   * so that a retried batch is never written twice nor out of order. Default: on when `acks` is
   * -1, `retries` is not 0 and `maxInFlight` is at most 5, off otherwise (as the Java client
   * since 3.0). `true` together with `acks` 0 or 1, `retries` 0 or `maxInFlight` above 5 throws.
   */
  idempotent?: boolean;
  /** Broker-side timeout for acks. Default 30000. */
  timeoutMs?: number;
  /** How long to wait for more records before sending a batch. Default 5 (as librdkafka). */
  lingerMs?: number;
  /** Send a partition's batch once it holds this many bytes. Default 1000000 (as librdkafka). */
  batchSize?: number;
  /** Compression codec: `none`, `gzip`, `snappy`, `lz4` or `zstd` (as Kafka's). Default `none`. */
  compression?: CompressionName;
  /** Partitioner. Default {@linkcode DefaultPartitioner}. */
  partitioner?: Partitioner;
  /**
   * How many times to send a batch again after a retriable error. Default: no limit when
   * idempotent (`deliveryTimeoutMs` bounds the retries, as Kafka's default `retries` of
   * 2147483647), else the client's `retries`.
   */
  retries?: number;
  /**
   * Batches of one partition in flight at once (Kafka's `max.in.flight.requests.per.connection`:
   * a Produce request carries one batch per partition). Default 5 when idempotent (1 to 5: the
   * broker remembers a producer's last 5 batches per partition), else no limit. After a retriable
   * error a partition has one batch in flight until its unacknowledged batches are through.
   */
  maxInFlight?: number;
  /**
   * How long a record may take from {@linkcode Producer.send} to its acknowledgement, retries
   * and waits for metadata and a producer id included (Kafka's `delivery.timeout.ms`); past it
   * the send fails with `REQUEST_TIMED_OUT`. A batch in a request fails only once that request
   * is answered or times out. Default 120000.
   */
  deliveryTimeoutMs?: number;
  /**
   * Let a broker with `auto.create.topics.enable` create a missing topic on first send, as the
   * Java producer does. Default true.
   */
  allowAutoTopicCreation?: boolean;
  /**
   * Called after an idempotent producer bumped its epoch (for monitoring; it goes on by
   * itself). A bump caused by `OUT_OF_ORDER_SEQUENCE_NUMBER` or `UNKNOWN_PRODUCER_ID` means the
   * broker lost state it had acknowledged (Kafka: "data may have been lost").
   */
  onEpochBump?: (bump: EpochBump) => void;
  /**
   * Kafka's `transactional.id`: makes the producer transactional. Call
   * {@linkcode Producer.initTransactions} once, then send inside
   * {@linkcode Producer.beginTransaction} … {@linkcode Producer.commitTransaction} (or
   * {@linkcode Producer.abortTransaction}). Implies idempotence (`idempotent: false`, `acks`
   * other than -1, `retries` 0 or `maxInFlight` above 5 throw). A newer producer with the same
   * id fences this one ({@linkcode ProducerFencedError}).
   */
  transactionalId?: string;
  /**
   * Kafka's `transaction.timeout.ms`: the coordinator aborts a transaction open longer than this
   * (and fences the producer). At most the broker's `transaction.max.timeout.ms`. Default 60000.
   */
  transactionTimeoutMs?: number;
  /**
   * Kafka's `max.block.ms` for the transactional calls: how long `initTransactions`,
   * `sendOffsetsToTransaction`, `commitTransaction` and `abortTransaction` retry the
   * coordinator (not found, loading, `CONCURRENT_TRANSACTIONS`, connection lost) before they
   * throw a retriable `REQUEST_TIMED_OUT` (the call may then be made again). Default 60000.
   */
  maxBlockMs?: number;
}

/** One `send` call: its results fill in as the batches holding its records are acknowledged. */
interface SendState {
  /** Per-message metadata is wanted (else `results` stays empty and segments keep no indices). */
  metadata: boolean;
  results: RecordMetadata[];
  pending: number;
  done: boolean;
  resolve: (offsets: RecordMetadata[]) => void;
  reject: (e: unknown) => void;
}

/** The records of one send in one batch: their indexes in the send's results. */
interface Segment {
  state: SendState;
  /** How many records of the send are in the batch. */
  count: number;
  /** Their indexes (empty when the send wants no metadata). */
  indices: number[];
  /** The send's default timestamp. */
  now: number;
  /** Per-record timestamps, only once a record has its own. */
  timestamps: number[] | undefined;
}

interface PartitionBatch {
  topic: string;
  partition: number;
  numPartitions: number;
  builder: RecordBatchBuilder;
  segments: Segment[];
  /** The batch as sent (built at its first send, then resent as is). */
  encoded?: Uint8Array;
  /** When its first record was added: the delivery timeout runs from here. */
  created: number;
  /** Times sent. */
  attempts: number;
  /** In a request now. */
  sending: boolean;
  /** Acknowledged or failed for good. */
  done: boolean;
  /** Its place among its partition's batches (1, 2, …), in sending order. */
  ordinal: number;
  /** Producer id, epoch and first sequence it was sent with (-1 when not idempotent). */
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  /** The error of its last failed attempt. */
  lastError?: unknown;
}

/** One partition's sending state (Kafka's `TopicPartitionEntry` with its queue). */
interface Lane {
  topic: string;
  partition: number;
  /** Closed batches not sent yet, oldest first. */
  queue: PartitionBatch[];
  /** Batches sent and not yet acknowledged or failed for good, in sending order. */
  sent: PartitionBatch[];
  /** How many of `sent` are in a request now. */
  inFlight: number;
  /** A batch of `sent` failed retriably: resend `sent` in order, one at a time. */
  retrying: boolean;
  /** Nothing is sent before this time (backoff after a retriable error). */
  retryAt: number;
  /** Retriable failures in a row, for the backoff. */
  failures: number;
  /** Batches given an ordinal so far. */
  ordinals: number;
  /** Producer id and epoch of this partition's sequences. */
  producerId: number;
  producerEpoch: number;
  /** The sequence of the next batch. */
  nextSequence: number;
  /**
   * A sent batch failed for good without a known outcome (delivery timeout, retries exhausted):
   * no new batch gets a sequence until an acknowledgement of a later batch shows it was written,
   * or an epoch bump restarts the sequences.
   */
  unresolved: PartitionBatch | undefined;
}

const PRODUCE = { request: ProduceRequest, response: ProduceResponse };
const INIT_PRODUCER_ID = { request: InitProducerIdRequest, response: InitProducerIdResponse };
/** InitProducerId version that takes the current producer id and epoch (KIP-360). */
const INIT_PRODUCER_ID_BUMP_VERSION = 3;
/** Most batches of a partition an idempotent producer may have in flight. */
const MAX_IDEMPOTENT_IN_FLIGHT = 5;

const encoder = new TextEncoder();

/** Byte length of key, value or header data (strings as UTF-8). */
const lengthOf = (d: Uint8Array | string | null): number =>
  d === null ? 0 : typeof d === "string" ? utf8Length(d) : d.length;

/** At most the byte length of key, value or header data (a UTF-16 unit is at most 3 bytes). */
const mostOf = (d: Uint8Array | string | null): number =>
  d === null ? 0 : typeof d === "string" ? 3 * d.length : d.length;

/** Record size (roughly: the record's own overhead is taken as 24) from data sizes. */
function recordSize(
  key: Uint8Array | string | null,
  value: Uint8Array | string | null,
  headers: AppendHeader[] | undefined,
  of: (d: Uint8Array | string | null) => number,
): number {
  let size = 24 + of(key) + of(value);
  if (headers) { for (const h of headers) size += h.key.length + of(h.value) + 4; }
  return size;
}

/** Headers as the batch builder takes them (text values are written as UTF-8 in place). */
function headersOf(h: ProducerMessage["headers"]): AppendHeader[] {
  if (!h) return [];
  if (Array.isArray(h)) return h.map(({ key, value }) => ({ key, value: value ?? null }));
  return Object.entries(h).map(([key, value]) => ({ key, value: value ?? null }));
}

/** What a KafkaError says before the `: NAME (code): description` it appends. */
function bare(e: KafkaError): string {
  const cut = e.message.lastIndexOf(`: ${e.errorName} (`);
  return cut >= 0 ? e.message.slice(0, cut) : e.message;
}

/** An error in a message: a KafkaError as `what failed (NAME)`. */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  return e instanceof KafkaError ? `${bare(e)} (${e.errorName})` : e.message;
}

function asKafkaError(e: unknown, what: string): KafkaError {
  if (e instanceof KafkaError) return e;
  return new KafkaError(
    ErrorCode.UNKNOWN_SERVER_ERROR,
    `${what}: ${e instanceof Error ? e.message : String(e)}`,
  );
}

const laneKey = (lane: Lane): string => `${lane.topic}\u0000${lane.partition}`;

/** The error a transactional call throws: the Kafka error inside a failed request. */
function unwrap(e: unknown): unknown {
  return e instanceof TransactionRequestError ? e.error : e;
}

function countIn(b: PartitionBatch): number {
  return b.builder.count;
}

/**
 * A producer.
 *
 * @example
 * ```ts ignore
 * import { Client, Producer } from "../client/mod.ts";
 * const client = new Client({ bootstrapServers: "localhost:9092" });
 * const producer = new Producer(client); // acks -1, idempotent
 * const [meta] = await producer.send({ topic: "teste", messages: [{ key: "k", value: "v" }] });
 * console.log(meta.partition, meta.offset);
 * await producer.close();
 * await client.close();
 * ```
 */
export class Producer {
  #client: Client;
  #acks: 0 | 1 | -1;
  #idempotent: boolean;
  #timeoutMs: number;
  #lingerMs: number;
  #batchSize: number;
  #compression: CompressionName;
  #partitioner: Partitioner;
  /** The partitioner is our own default one: a text key is hashed without encoding it first. */
  #defaultPartitioner: boolean;
  #retries: number;
  #maxInFlight: number;
  #deliveryTimeoutMs: number;
  #autoCreate: boolean;
  #onEpochBump: ((bump: EpochBump) => void) | undefined;
  #batches = new Map<string, Array<PartitionBatch | undefined>>();
  #open = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** Per topic, per partition. */
  #lanes = new Map<string, Array<Lane | undefined>>();
  /** Partitions with batches queued or sent. */
  #active = new Set<Lane>();
  /** Batches closed and not yet acknowledged or failed. */
  #unfinished = 0;
  /** Sends whose records are not yet in batches (waiting for metadata). */
  #appending = 0;
  #idleWaiters: Array<() => void> = [];
  /** Produce requests awaiting their answer. */
  #requests = 0;
  #pumping = false;
  #pumpAgain = false;
  #wakeTimer: ReturnType<typeof setTimeout> | undefined;
  #wakeAt = Infinity;
  // Idempotence (Kafka's TransactionManager for a producer without transactional id).
  #producerId = -1;
  #producerEpoch = -1;
  /** Per topic, settles when the last send to it has its records in batches. */
  #enqueueTails = new Map<string, Promise<void>>();
  #bumpRequired = false;
  /** Partitions whose unacknowledged batches are renumbered at the next bump, and why. */
  #renumber = new Map<Lane, KafkaError>();
  #initFailures = 0;
  #initRetryAt = 0;
  #initError: unknown;
  #fatal: KafkaError | undefined;
  /** Transactions (a `transactionalId` was given). */
  #txn: TransactionManager | undefined;
  /** Lanes waiting for their AddPartitionsToTxn. */
  #adding = new Set<Lane>();
  /** Settles when the AddPartitionsToTxn in flight is answered. */
  #addRequest: Promise<void> | undefined;

  /**
   * Creates a producer on a cluster client. Nothing is sent until the first
   * {@linkcode Producer.send}; an idempotent producer gets its producer id then.
   *
   * @param client The cluster client.
   * @param options Acks, idempotence, batching, compression, partitioner, retries.
   * @throws {RangeError} On an invalid `acks`, `maxInFlight`, `retries` or `deliveryTimeoutMs`,
   *   or `idempotent: true` (or a `transactionalId`) with `acks` 0 or 1, `retries` 0 or
   *   `maxInFlight` above 5; a `transactionalId` that is empty or with `idempotent: false`; an
   *   invalid `transactionTimeoutMs` or `maxBlockMs`.
   */
  constructor(client: Client, options: ProducerOptions = {}) {
    this.#client = client;
    this.#acks = options.acks ?? -1;
    if (![0, 1, -1].includes(this.#acks)) {
      throw new RangeError(`producer: invalid acks ${options.acks}: expected 0, 1 or -1`);
    }
    const { maxInFlight, retries, deliveryTimeoutMs } = options;
    if (
      maxInFlight !== undefined &&
      !(Number.isInteger(maxInFlight) && maxInFlight >= 1 || maxInFlight === Infinity)
    ) {
      throw new RangeError(`producer: invalid maxInFlight ${maxInFlight}: expected 1 or more`);
    }
    if (
      retries !== undefined &&
      !(Number.isInteger(retries) && retries >= 0 || retries === Infinity)
    ) {
      throw new RangeError(`producer: invalid retries ${retries}: expected 0 or more`);
    }
    if (deliveryTimeoutMs !== undefined && !(deliveryTimeoutMs > 0)) {
      throw new RangeError(
        `producer: invalid deliveryTimeoutMs ${deliveryTimeoutMs}: expected more than 0`,
      );
    }
    const transactionalId = options.transactionalId;
    if (transactionalId !== undefined) {
      if (typeof transactionalId !== "string" || transactionalId === "") {
        throw new RangeError("producer: transactionalId must be a non-empty string");
      }
      if (options.idempotent === false) {
        throw new RangeError("producer: a transactionalId needs idempotence (idempotent: false)");
      }
      for (
        const [name, v] of [["transactionTimeoutMs", options.transactionTimeoutMs], [
          "maxBlockMs",
          options.maxBlockMs,
        ]] as const
      ) {
        if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) {
          throw new RangeError(`producer: invalid ${name} ${v}: expected an integer above 0`);
        }
      }
    }
    if (options.idempotent === true || transactionalId !== undefined) {
      const conflict = this.#acks !== -1
        ? `acks ${this.#acks} (it needs acks -1: all in-sync replicas)`
        : retries === 0
        ? "retries 0 (it retries until deliveryTimeoutMs)"
        : maxInFlight !== undefined && maxInFlight > MAX_IDEMPOTENT_IN_FLIGHT
        ? `maxInFlight ${maxInFlight} (at most ${MAX_IDEMPOTENT_IN_FLIGHT}: the broker ` +
          `remembers a producer's last ${MAX_IDEMPOTENT_IN_FLIGHT} batches per partition)`
        : undefined;
      if (conflict !== undefined) {
        throw new RangeError(
          `producer: ${
            transactionalId === undefined ? "idempotent" : "a transactionalId"
          } cannot be used with ${conflict}`,
        );
      }
    }
    // As the Java client since 3.2: idempotence by default, unless a setting conflicts.
    this.#idempotent = transactionalId !== undefined || (options.idempotent ??
      (this.#acks === -1 && retries !== 0 &&
        (maxInFlight === undefined || maxInFlight <= MAX_IDEMPOTENT_IN_FLIGHT)));
    this.#maxInFlight = maxInFlight ?? (this.#idempotent ? MAX_IDEMPOTENT_IN_FLIGHT : Infinity);
    this.#retries = retries ?? (this.#idempotent ? Infinity : client.options.retries);
    this.#deliveryTimeoutMs = deliveryTimeoutMs ?? 120_000;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#lingerMs = options.lingerMs ?? 5;
    this.#batchSize = options.batchSize ?? 1_000_000;
    this.#compression = options.compression ?? "none";
    this.#partitioner = options.partitioner ?? new DefaultPartitioner();
    this.#defaultPartitioner = options.partitioner === undefined;
    this.#autoCreate = options.allowAutoTopicCreation ?? true;
    this.#onEpochBump = options.onEpochBump;
    if (transactionalId !== undefined) {
      const txn = new TransactionManager(
        client,
        transactionalId,
        options.transactionTimeoutMs ?? 60_000,
        options.maxBlockMs ?? 60_000,
      );
      txn.onFatal = (error) => this.#setFatal(error);
      txn.onAbortable = () => this.#abortUnsent();
      this.#txn = txn;
    }
  }

  /** The `transactionalId`, or `null` for a producer without transactions. */
  get transactionalId(): string | null {
    return this.#txn?.transactionalId ?? null;
  }

  /**
   * The transaction state (Kafka's `TransactionManager.State`); `UNINITIALIZED` for a producer
   * without transactions. After a failed call: `ABORTABLE_ERROR` means abort the transaction
   * and go on, `FATAL_ERROR` that the producer must be closed.
   */
  get transactionState(): TransactionState {
    return this.#txn?.state ?? "UNINITIALIZED";
  }

  /** Whether this producer is idempotent (see {@linkcode ProducerOptions.idempotent}). */
  get idempotent(): boolean {
    return this.#idempotent;
  }

  /**
   * Sends messages to a topic and resolves when they are acknowledged. Sends to a topic are
   * batched in call order (also while one waits for metadata), so the records of one partition
   * are written in the order they were sent (an idempotent producer keeps that order through
   * retries).
   *
   * @param record Topic and messages.
   * @returns Where each message went, in the order given.
   * @throws {Error} After {@linkcode Producer.close}.
   * @throws {KafkaError} `UNKNOWN_TOPIC_OR_PARTITION` for a missing topic or partition; the
   *   broker's error for a batch that cannot be retried; `REQUEST_TIMED_OUT` when a record is not
   *   acknowledged within `deliveryTimeoutMs`; after a fatal error of an idempotent producer
   *   (`INVALID_PRODUCER_EPOCH`, or an epoch bump the broker cannot do), that error. A
   *   transactional producer: `INVALID_TXN_STATE` outside a transaction, the transaction's error
   *   once it must be aborted, {@linkcode ProducerFencedError} once fenced.
   */
  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (this.#closed) throw new Error("producer: send after close");
    if (this.#fatal) throw this.#fatal;
    this.#txn?.check(`send to ${record.topic}`, ["IN_TRANSACTION"]);
    if (record.messages.length === 0) return [];
    // Counted until its records are in batches, so that flush and close wait for them.
    this.#appending++;
    let appended: { done: Promise<RecordMetadata[]> };
    try {
      appended = await this.#enqueue(record);
    } finally {
      if (--this.#appending === 0) this.#notifyIdle();
    }
    return await appended.done;
  }

  /**
   * Puts a send's records in batches in call order per topic: a send that waits for metadata
   * (the broker away, retried after a backoff) holds back later sends to its topic, so none
   * overtakes it (Java's `send()` blocks its caller the same way).
   */
  async #enqueue(record: ProducerRecord): Promise<{ done: Promise<RecordMetadata[]> }> {
    const topic = record.topic;
    const before = this.#enqueueTails.get(topic);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => release = resolve);
    this.#enqueueTails.set(topic, mine);
    try {
      if (before !== undefined) await before;
      return await this.#enqueueNow(record);
    } finally {
      release();
      if (this.#enqueueTails.get(topic) === mine) this.#enqueueTails.delete(topic);
    }
  }

  /** Puts a send's records in batches; `done` settles when they are acknowledged. */
  async #enqueueNow(record: ProducerRecord): Promise<{ done: Promise<RecordMetadata[]> }> {
    const { topic, messages } = record;
    const now = Date.now();
    let info = await this.#topic(topic, false, now);
    let highest = -1;
    for (const m of messages) {
      if (m.partition !== undefined && m.partition > highest) highest = m.partition;
    }
    // An explicit partition beyond the cached count may be new: refresh before refusing it.
    if (highest >= info.partitions.length) info = await this.#topic(topic, true, now);
    const numPartitions = info.partitions.length;
    for (const m of messages) {
      const partition = m.partition;
      if (
        partition !== undefined &&
        (!Number.isInteger(partition) || partition < 0 || partition >= numPartitions)
      ) {
        throw new KafkaError(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `produce to ${topic}: partition ${partition} does not exist (topic has ` +
            `${numPartitions} partitions)`,
        );
      }
    }
    if (this.#fatal) throw this.#fatal;
    let state!: SendState;
    const done = new Promise<RecordMetadata[]>((resolve, reject) => {
      state = {
        metadata: record.metadata ?? true,
        results: record.metadata === false ? [] : new Array(messages.length),
        pending: 0,
        done: false,
        resolve,
        reject,
      };
    });
    let open = this.#batches.get(topic);
    if (open === undefined) {
      open = [];
      this.#batches.set(topic, open);
    }
    const full: PartitionBatch[] = [];
    try {
      this.#append(topic, messages, numPartitions, open, state, now, full);
    } catch (e) {
      // Records appended before the failure are still sent; this call reports the failure.
      state.done = true;
      throw e;
    }
    if (full.length > 0) this.#drain(full.filter((b) => open[b.partition] === b));
    this.#schedule();
    return { done };
  }

  /** Topic metadata; a broker that cannot be reached is retried until the delivery timeout. */
  async #topic(topic: string, refresh: boolean, since: number): Promise<TopicInfo> {
    const options = { allowAutoTopicCreation: this.#autoCreate, refresh };
    for (let attempt = 0;; attempt++) {
      try {
        return await this.#client.topic(topic, options);
      } catch (e) {
        const wait = this.#backoffMs(attempt);
        if (
          !(e instanceof KafkaError) || !e.retriable ||
          e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || this.#closed || this.#fatal
        ) {
          throw e;
        }
        if (Date.now() + wait - since >= this.#deliveryTimeoutMs) {
          throw new KafkaError(
            ErrorCode.REQUEST_TIMED_OUT,
            `produce to ${topic}: no metadata within deliveryTimeoutMs ` +
              `${this.#deliveryTimeoutMs} (${attempt + 1} attempts); last error: ${describe(e)}`,
          );
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  #backoffMs(attempt: number): number {
    return this.#client.options.retryBackoffMs * Math.min(2 ** attempt, 10);
  }

  #append(
    topic: string,
    messages: ProducerMessage[],
    numPartitions: number,
    open: Array<PartitionBatch | undefined>,
    state: SendState,
    now: number,
    full: PartitionBatch[],
  ): void {
    for (let index = 0; index < messages.length; index++) {
      const m = messages[index];
      // Text is written into the batch as UTF-8 without an intermediate buffer.
      let key: Uint8Array | string | null = m.key ?? null;
      const value: Uint8Array | string | null = m.value ?? null;
      // No headers (or an empty list, as a Streams sink passes on) allocate nothing.
      const h = m.headers;
      const headers = h === undefined || (Array.isArray(h) && h.length === 0)
        ? undefined
        : headersOf(h);
      const timestamp = m.timestamp ?? now;
      let partition = m.partition;
      if (partition === undefined) {
        if (typeof key === "string" && this.#defaultPartitioner) {
          partition = partitionForTextKey(key, numPartitions);
        } else {
          if (typeof key === "string") key = encoder.encode(key);
          partition = this.#partitioner.partition({ topic, key, numPartitions });
        }
      }
      // Whether the record fits the open batch: text is measured (UTF-8) only when its largest
      // possible size would not fit.
      let batch = open[partition];
      if (
        batch !== undefined &&
        batch.builder.sizeInBytes + recordSize(key, value, headers, mostOf) > this.#batchSize &&
        batch.builder.sizeInBytes + recordSize(key, value, headers, lengthOf) > this.#batchSize
      ) {
        this.#drain([batch]);
        // Like the Java client: a record without key that would open a new batch is placed
        // again, so it follows the new sticky partition.
        if (m.partition === undefined && key === null) {
          partition = this.#partitioner.partition({ topic, key, numPartitions });
        }
        batch = open[partition];
      }
      if (batch === undefined) {
        batch = {
          topic,
          partition,
          numPartitions,
          // Room for this send and a few more like it (lingering batches fill up), at most
          // batch.size: a full batch is then written without regrowing its buffer.
          builder: new RecordBatchBuilder(
            Math.min(
              this.#batchSize,
              Math.max(
                16_384,
                RECORD_BATCH_OVERHEAD +
                  8 * recordSize(key, value, headers, lengthOf) * messages.length,
              ),
            ),
          ),
          segments: [],
          created: now,
          attempts: 0,
          sending: false,
          done: false,
          ordinal: 0,
          producerId: -1,
          producerEpoch: -1,
          baseSequence: -1,
        };
        open[partition] = batch;
        this.#open++;
      }
      batch.builder.append(key, value, timestamp, headers);
      let segment = batch.segments.at(-1);
      if (segment === undefined || segment.state !== state) {
        segment = { state, count: 0, indices: [], now, timestamps: undefined };
        batch.segments.push(segment);
        state.pending++;
      }
      segment.count++;
      if (state.metadata) {
        segment.indices.push(index);
        if (segment.timestamps !== undefined) segment.timestamps.push(timestamp);
        else if (timestamp !== now) {
          segment.timestamps = new Array(segment.indices.length - 1).fill(now);
          segment.timestamps.push(timestamp);
        }
      }
      if (batch.builder.sizeInBytes >= this.#batchSize) full.push(batch);
    }
  }

  #schedule(): void {
    if (this.#open === 0 || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drain(this.#openBatches());
    }, this.#lingerMs);
  }

  #openBatches(): PartitionBatch[] {
    const out: PartitionBatch[] = [];
    for (const list of this.#batches.values()) for (const b of list) if (b) out.push(b);
    return out;
  }

  #lane(topic: string, partition: number): Lane {
    let list = this.#lanes.get(topic);
    if (list === undefined) {
      list = [];
      this.#lanes.set(topic, list);
    }
    return list[partition] ??= {
      topic,
      partition,
      queue: [],
      sent: [],
      inFlight: 0,
      retrying: false,
      retryAt: 0,
      failures: 0,
      ordinals: 0,
      producerId: -1,
      producerEpoch: -1,
      nextSequence: 0,
      unresolved: undefined,
    };
  }

  /** Closes batches: they join their partition's queue and the sender is woken. */
  #drain(batches: PartitionBatch[]): void {
    for (const b of batches) {
      const list = this.#batches.get(b.topic);
      if (list !== undefined && list[b.partition] === b) {
        list[b.partition] = undefined;
        this.#open--;
      }
      // A closed batch moves records without keys to another partition (KIP-480).
      this.#partitioner.onNewBatch(b.topic, b.partition, b.numPartitions);
      if (this.#fatal) {
        this.#fail(b, this.#fatal);
        continue;
      }
      const txn = this.#txn;
      if (
        txn !== undefined && txn.state !== "IN_TRANSACTION" &&
        txn.state !== "COMMITTING_TRANSACTION"
      ) {
        this.#fail(b, this.#txnFailure(txn));
        continue;
      }
      const lane = this.#lane(b.topic, b.partition);
      lane.queue.push(b);
      this.#active.add(lane);
      this.#unfinished++;
    }
    if (this.#open === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (batches.length > 0) this.#wake();
  }

  /** Runs the sender, or makes the running one go round once more. */
  #wake(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    this.#pump().catch((e) => {
      // A bug, not a broker error: fail everything rather than hang.
      this.#setFatal(asKafkaError(e, "producer: internal error"));
    }).finally(() => {
      this.#pumping = false;
      if (this.#pumpAgain) this.#wake();
    });
  }

  /** Wakes the sender at `at` (ms since the epoch) unless it is woken earlier. */
  #wakeLater(at: number): void {
    if (at >= this.#wakeAt) return;
    if (this.#wakeTimer !== undefined) clearTimeout(this.#wakeTimer);
    this.#wakeAt = at;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = undefined;
      this.#wakeAt = Infinity;
      this.#wake();
    }, Math.max(0, at - Date.now()));
  }

  async #pump(): Promise<void> {
    do {
      this.#pumpAgain = false;
      await this.#pumpOnce();
    } while (this.#pumpAgain);
  }

  /** One round of the sender (Kafka's `Sender.runOnce`). */
  async #pumpOnce(): Promise<void> {
    const now = Date.now();
    this.#expire(now);
    if (this.#fatal) {
      this.#failAll(this.#fatal);
      return;
    }
    if (this.#unfinished === 0) return;
    if (
      this.#txn === undefined && this.#idempotent && (this.#producerId < 0 || this.#bumpRequired)
    ) {
      // Wait for every request in flight first: each answer may still change what the bump
      // renumbers (librdkafka's drain before bump).
      if (this.#requests > 0) return;
      if (now < this.#initRetryAt) {
        this.#wakeLater(this.#initRetryAt);
        return;
      }
      await this.#initProducerId();
      this.#pumpAgain = true;
      return;
    }
    // Partitions with something to send now, grouped by topic.
    const ready = new Map<string, Lane[]>();
    let wakeAt = Infinity;
    for (const lane of this.#active) {
      if (lane.queue.length === 0 && lane.sent.length === 0) {
        this.#active.delete(lane);
        continue;
      }
      if (!this.#hasSendable(lane)) continue;
      if (lane.retryAt > now) {
        wakeAt = Math.min(wakeAt, lane.retryAt);
        continue;
      }
      // A transaction's partition takes batches once AddPartitionsToTxn added it.
      if (this.#txn !== undefined && !this.#txn.partitions.has(laneKey(lane))) {
        this.#adding.add(lane);
        continue;
      }
      const lanes = ready.get(lane.topic);
      if (lanes) lanes.push(lane);
      else ready.set(lane.topic, [lane]);
    }
    if (wakeAt < Infinity) this.#wakeLater(wakeAt);
    if (this.#adding.size > 0 && this.#addRequest === undefined) this.#addPartitions();
    if (ready.size === 0) return;
    // Leaders and their connections (each await may let answers in: checked again below).
    const byLeader = new Map<number, Lane[]>();
    for (const [topic, lanes] of ready) {
      let info: TopicInfo;
      try {
        info = await this.#client.topic(topic);
      } catch (e) {
        for (const lane of lanes) this.#laneFailed(lane, asKafkaError(e, `metadata for ${topic}`));
        continue;
      }
      for (const lane of lanes) {
        const leader = info.partitions[lane.partition]?.leader ?? -1;
        if (leader < 0) {
          this.#laneFailed(
            lane,
            new KafkaError(
              info.partitions[lane.partition] === undefined
                ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                : ErrorCode.LEADER_NOT_AVAILABLE,
              `leader of ${topic}-${lane.partition}`,
            ),
          );
          continue;
        }
        const list = byLeader.get(leader);
        if (list) list.push(lane);
        else byLeader.set(leader, [lane]);
      }
    }
    const connections = new Map<number, Connection>();
    for (const [leader, lanes] of byLeader) {
      try {
        connections.set(leader, await this.#client.connectionTo(leader));
      } catch (e) {
        const refused = isConnectionRefused(e);
        for (const lane of lanes) {
          this.#laneFailed(lane, asKafkaError(e, `connect to ${leader}`), refused);
        }
      }
    }
    if (this.#fatal || (this.#idempotent && this.#bumpRequired)) {
      this.#pumpAgain = true;
      return;
    }
    // From here on nothing waits: batches get their sequences and go out in order.
    const at = Date.now();
    for (const [leader, lanes] of byLeader) {
      const conn = connections.get(leader);
      if (conn === undefined || conn.closed) {
        if (conn !== undefined) this.#pumpAgain = true;
        continue;
      }
      // Request k carries the k-th batch of each partition (one batch per partition each).
      const rounds: PartitionBatch[][] = [];
      for (const lane of lanes) {
        if (lane.retryAt > at) continue;
        const picked = this.#pick(lane);
        for (let k = 0; k < picked.length; k++) (rounds[k] ??= []).push(picked[k]);
      }
      for (const round of rounds) this.#sendRequest(conn, round);
    }
  }

  /** Whether a partition has a batch it may send once its backoff is over. */
  #hasSendable(lane: Lane): boolean {
    if (lane.retrying) {
      if (lane.sent.length > 0) return lane.inFlight === 0;
      lane.retrying = false;
    }
    if (lane.queue.length === 0 || lane.inFlight >= this.#maxInFlight) return false;
    if (!this.#idempotent) return true;
    if (lane.producerId === this.#producerId && lane.producerEpoch === this.#producerEpoch) {
      return lane.unresolved === undefined;
    }
    // A new producer id or epoch: its sequences start once the old batches are through.
    return lane.sent.length === 0;
  }

  /** Takes the batches of a partition to send now, with their sequences, in order. */
  #pick(lane: Lane): PartitionBatch[] {
    if (lane.retrying) {
      if (lane.inFlight > 0) return [];
      if (lane.sent.length > 0) return [lane.sent[0]];
      lane.retrying = false;
    }
    const out: PartitionBatch[] = [];
    while (lane.inFlight + out.length < this.#maxInFlight && lane.queue.length > 0) {
      if (this.#idempotent) {
        if (lane.producerId !== this.#producerId || lane.producerEpoch !== this.#producerEpoch) {
          if (lane.sent.length > 0) break;
          lane.nextSequence = lane.producerId < 0 ? _internals.firstSequence : 0;
          lane.producerId = this.#producerId;
          lane.producerEpoch = this.#producerEpoch;
          lane.unresolved = undefined;
        }
        if (lane.unresolved !== undefined) break;
      }
      const b = lane.queue.shift()!;
      b.ordinal = ++lane.ordinals;
      if (this.#idempotent) {
        b.producerId = lane.producerId;
        b.producerEpoch = lane.producerEpoch;
        b.baseSequence = lane.nextSequence;
        lane.nextSequence = incrementSequence(lane.nextSequence, countIn(b));
      }
      try {
        b.encoded = b.builder.finish({
          compression: this.#compression,
          producerId: b.producerId,
          producerEpoch: b.producerEpoch,
          baseSequence: b.baseSequence,
          transactional: this.#txn !== undefined,
        });
      } catch (e) {
        // Cannot be built (an unknown codec): nothing was sent, the sequence is not used.
        if (this.#idempotent) lane.nextSequence = b.baseSequence;
        this.#finish(b);
        this.#fail(b, e);
        continue;
      }
      lane.sent.push(b);
      out.push(b);
    }
    return out;
  }

  #sendRequest(conn: Connection, batches: PartitionBatch[]): void {
    const topics = new Map<string, Array<{ index: number; records: Uint8Array }>>();
    for (const b of batches) {
      const list = topics.get(b.topic);
      const data = { index: b.partition, records: b.encoded! };
      if (list) list.push(data);
      else topics.set(b.topic, [data]);
      b.sending = true;
      b.attempts++;
      this.#lane(b.topic, b.partition).inFlight++;
    }
    const request = ProduceRequest.create({
      transactionalId: this.#txn?.transactionalId ?? null,
      acks: this.#acks,
      timeoutMs: this.#timeoutMs,
      topicData: [...topics].map(([name, partitionData]) => ({ name, partitionData })),
    });
    this.#requests++;
    conn.send(PRODUCE, request, {
      expectResponse: this.#acks !== 0,
      timeoutMs: this.#timeoutMs + 5_000,
    }).then(
      (response) => this.#answered(batches, response),
      (e) => {
        const error = asKafkaError(e, `produce to ${conn.host}:${conn.port}`);
        for (const b of batches) this.#attemptFailed(b, error, true);
      },
    ).catch((e) => {
      this.#setFatal(asKafkaError(e, "producer: internal error"));
    }).finally(() => {
      this.#requests--;
      this.#wake();
    });
  }

  #answered(batches: PartitionBatch[], response: ProduceResponse | undefined): void {
    if (response === undefined) { // acks=0
      for (const b of batches) this.#acknowledged(b, -1, -1);
      return;
    }
    for (const b of batches) {
      const p = response.responses.find((t) => t.name === b.topic)?.partitionResponses
        .find((r) => r.index === b.partition);
      if (!p) {
        this.#attemptFailed(
          b,
          new KafkaError(
            ErrorCode.UNKNOWN_SERVER_ERROR,
            `produce to ${b.topic}-${b.partition}: the response has no result for this partition`,
          ),
          true,
        );
        continue;
      }
      // DUPLICATE_SEQUENCE_NUMBER: the broker has the batch already (Kafka's clients: success).
      if (p.errorCode === 0 || p.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        this.#acknowledged(b, p.baseOffset, p.logAppendTimeMs);
        continue;
      }
      const detail = p.errorMessage ? ` (${p.errorMessage})` : "";
      this.#attemptFailed(
        b,
        new KafkaError(p.errorCode, `produce to ${b.topic}-${b.partition}${detail}`),
        false,
      );
    }
  }

  #acknowledged(b: PartitionBatch, baseOffset: number, logAppendTime: number): void {
    const lane = this.#lane(b.topic, b.partition);
    if (b.sending) {
      b.sending = false;
      lane.inFlight--;
    }
    if (b.done) return;
    this.#removeSent(lane, b);
    lane.failures = 0;
    // A later batch of the same epoch went through: the unresolved one was written.
    if (
      lane.unresolved !== undefined && b.ordinal > lane.unresolved.ordinal &&
      b.producerId === lane.unresolved.producerId &&
      b.producerEpoch === lane.unresolved.producerEpoch
    ) {
      lane.unresolved = undefined;
    }
    if (lane.sent.length === 0) lane.retrying = false;
    this.#finish(b);
    this.#resolve(b, baseOffset, logAppendTime);
    this.#checkResolved(lane);
  }

  /**
   * One attempt of a batch failed. `unknownOutcome`: no answer from the broker (the batch may
   * have been written).
   */
  #attemptFailed(b: PartitionBatch, error: KafkaError, unknownOutcome: boolean): void {
    const lane = this.#lane(b.topic, b.partition);
    if (b.sending) {
      b.sending = false;
      lane.inFlight--;
    }
    if (b.done) return;
    b.lastError = error;
    const code = error.code;
    if (this.#txn !== undefined && this.#txnBatchFailed(lane, b, error)) return;
    if (this.#idempotent && b.producerId >= 0) {
      if (code === ErrorCode.INVALID_PRODUCER_EPOCH) {
        this.#setFatal(
          new KafkaError(
            code,
            `${bare(error)}: the broker has a newer epoch for producer id ${b.producerId} ` +
              `than ${b.producerEpoch}; this producer cannot go on (create a new one)`,
          ),
        );
        return;
      }
      if (
        (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER ||
          code === ErrorCode.UNKNOWN_PRODUCER_ID) &&
        lane.sent[0] === b && b.producerId === lane.producerId &&
        b.producerEpoch === lane.producerEpoch
      ) {
        // The oldest unacknowledged batch of the partition: every earlier one is acknowledged
        // or failed for good, so the broker's sequence really has a gap (or it lost the producer
        // id). Neither this batch nor a later one was written: renumber them under a new epoch.
        this.#requestBump(lane, error);
        this.#markRetry(lane);
        return;
      }
    }
    const retriable = error.retriable || isStaleMetadataError(code) ||
      (this.#idempotent && (code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER ||
        code === ErrorCode.UNKNOWN_PRODUCER_ID));
    const now = Date.now();
    if (retriable && b.attempts <= this.#retries && now < b.created + this.#deliveryTimeoutMs) {
      if (unknownOutcome || isStaleMetadataError(code)) this.#client.invalidate(b.topic);
      this.#markRetry(lane);
      return;
    }
    const final = retriable
      ? new KafkaError(
        code,
        `${bare(error)}: given up after ${b.attempts} attempts${
          b.attempts > this.#retries ? ` (retries ${this.#retries})` : ""
        } and ${now - b.created} ms (deliveryTimeoutMs ${this.#deliveryTimeoutMs})`,
      )
      : error;
    this.#giveUp(lane, b, final, unknownOutcome || retriable);
  }

  #markRetry(lane: Lane): void {
    lane.retrying = true;
    lane.retryAt = Date.now() + this.#backoffMs(lane.failures++);
    this.#wakeLater(lane.retryAt);
  }

  /**
   * Fails a sent batch for good. `unknownOutcome`: it may have been written (an idempotent
   * partition's sequences are then unresolved).
   */
  #giveUp(lane: Lane, b: PartitionBatch, error: unknown, unknownOutcome: boolean): void {
    const first = lane.sent[0] === b;
    this.#removeSent(lane, b);
    if (lane.sent.length === 0) lane.retrying = false;
    if (
      this.#idempotent && b.producerId === lane.producerId &&
      b.producerEpoch === lane.producerEpoch
    ) {
      if (unknownOutcome) {
        if (lane.unresolved === undefined || b.ordinal > lane.unresolved.ordinal) {
          lane.unresolved = b;
        }
      } else if (first) {
        // Refused for good (not written): later batches of the epoch would get
        // OUT_OF_ORDER_SEQUENCE_NUMBER. Renumber them under a new epoch (as the Java client).
        this.#requestBump(lane, asKafkaError(error, "produce"));
      }
    }
    this.#finish(b);
    this.#fail(b, error);
    this.#checkResolved(lane);
  }

  /** An unresolved partition with nothing left in flight needs a new epoch to go on. */
  #checkResolved(lane: Lane): void {
    const u = lane.unresolved;
    if (u === undefined || lane.sent.length > 0) return;
    if (u.producerId !== this.#producerId || u.producerEpoch !== this.#producerEpoch) return;
    this.#requestBump(
      lane,
      asKafkaError(u.lastError ?? new Error("no answer"), `produce to ${lane.topic}`),
    );
  }

  #requestBump(lane: Lane, error: KafkaError): void {
    if (this.#txn !== undefined) {
      // A transaction's sequences are mended by the abort's epoch bump.
      this.#txn.setAbortable(error, true);
      return;
    }
    this.#bumpRequired = true;
    if (!this.#renumber.has(lane)) this.#renumber.set(lane, error);
  }

  #removeSent(lane: Lane, b: PartitionBatch): void {
    const i = lane.sent.indexOf(b);
    if (i >= 0) lane.sent.splice(i, 1);
  }

  /**
   * A partition could not be sent to (no leader, no connection): back off and retry.
   * `leaderRefused`: the leader's host refused the connection — its process is gone, so the
   * metadata is stale and a new leader comes with the next refresh (in a cluster, once the
   * controller has noticed). Such a failure is retried after `retryBackoffMs` without growing
   * the backoff and without counting as an attempt (as the Java producer does not count a
   * node it cannot connect to against `retries`; `deliveryTimeoutMs` still bounds it), so the
   * batch goes to the new leader within one backoff of its election.
   */
  #laneFailed(lane: Lane, error: KafkaError, leaderRefused = false): void {
    const now = Date.now();
    if (!error.retriable && !isStaleMetadataError(error.code)) {
      // Nothing was sent: fail what waits, the sequences stay unused.
      for (const b of lane.queue.splice(0)) {
        this.#finish(b);
        this.#fail(b, error);
      }
      if (lane.retrying) {
        for (const b of [...lane.sent]) this.#giveUp(lane, b, error, true);
      }
      return;
    }
    this.#client.invalidate(lane.topic);
    if (leaderRefused) {
      for (const b of lane.queue) b.lastError = error;
      for (const b of lane.sent) if (!b.sending) b.lastError = error;
      lane.retryAt = now + this.#client.options.retryBackoffMs;
      this.#wakeLater(lane.retryAt);
      return;
    }
    // Counts as an attempt of each waiting batch (bounded by `retries` as a send is).
    for (const b of [...lane.queue]) {
      b.lastError = error;
      if (++b.attempts > this.#retries) {
        lane.queue.splice(lane.queue.indexOf(b), 1);
        this.#finish(b);
        this.#fail(
          b,
          new KafkaError(
            error.code,
            `${bare(error)}: given up after ${b.attempts} attempts (retries ${this.#retries})`,
          ),
        );
      }
    }
    for (const b of [...lane.sent]) {
      if (b.sending) continue;
      b.lastError = error;
      if (++b.attempts > this.#retries) {
        this.#giveUp(
          lane,
          b,
          new KafkaError(
            error.code,
            `${bare(error)}: given up after ${b.attempts} attempts (retries ${this.#retries})`,
          ),
          true,
        );
      }
    }
    lane.retryAt = now + this.#backoffMs(lane.failures++);
    this.#wakeLater(lane.retryAt);
  }

  /** Fails batches whose delivery timeout passed (those in a request wait for its answer). */
  #expire(now: number): void {
    let next = Infinity;
    const timeout = this.#deliveryTimeoutMs;
    for (const lane of this.#active) {
      while (lane.queue.length > 0) {
        const b = lane.queue[0];
        if (b.created + timeout > now) {
          next = Math.min(next, b.created + timeout);
          break;
        }
        lane.queue.shift();
        this.#finish(b);
        this.#fail(b, this.#timedOut(b, now, false));
      }
      let expired: PartitionBatch[] | undefined;
      for (const b of lane.sent) {
        if (b.sending) continue;
        if (b.created + timeout > now) next = Math.min(next, b.created + timeout);
        else (expired ??= []).push(b);
      }
      if (expired) {
        for (const b of expired) this.#giveUp(lane, b, this.#timedOut(b, now, true), true);
      }
    }
    if (next < Infinity) this.#wakeLater(next);
  }

  #timedOut(b: PartitionBatch, now: number, sent: boolean): KafkaError {
    const last = b.lastError ??
      (this.#idempotent && this.#producerId < 0 ? this.#initError : undefined);
    return new KafkaError(
      ErrorCode.REQUEST_TIMED_OUT,
      `produce to ${b.topic}-${b.partition}: ${countIn(b)} records not acknowledged within ` +
        `deliveryTimeoutMs ${this.#deliveryTimeoutMs} (${now - b.created} ms, ${b.attempts} ` +
        `attempts${sent ? "; they may have been written" : ""})${
          last instanceof Error ? `; last error: ${describe(last)}` : ""
        }`,
    );
  }

  /** InitProducerId: a producer id, or a new epoch for a bump (Kafka's InitProducerIdHandler). */
  async #initProducerId(): Promise<void> {
    const bump = this.#producerId >= 0;
    const what = bump
      ? `InitProducerId (epoch bump of producer id ${this.#producerId} epoch ${this.#producerEpoch})`
      : "InitProducerId";
    let conn: Connection;
    let version: number;
    try {
      conn = await this.#client.anyConnection();
      version = conn.versionFor(InitProducerIdRequest);
    } catch (e) {
      this.#initFailed(asKafkaError(e, what));
      return;
    }
    if (bump && version < INIT_PRODUCER_ID_BUMP_VERSION) {
      const [lane, error] = [...this.#renumber][0] ?? [undefined, undefined];
      this.#setFatal(
        new KafkaError(
          error?.code ?? ErrorCode.UNSUPPORTED_VERSION,
          `producer: cannot recover from ${error?.errorName ?? "a failed batch"}${
            lane ? ` on ${lane.topic}-${lane.partition}` : ""
          }: the broker ${conn.host}:${conn.port} supports InitProducerId up to v${version}, ` +
            `and bumping the epoch needs v${INIT_PRODUCER_ID_BUMP_VERSION} (KIP-360, Kafka ` +
            `2.5); records not yet acknowledged are failed (create a new producer)`,
        ),
      );
      return;
    }
    let res: InitProducerIdResponse;
    try {
      res = await conn.send(
        INIT_PRODUCER_ID,
        InitProducerIdRequest.create({
          transactionalId: null,
          transactionTimeoutMs: 2147483647,
          producerId: bump ? this.#producerId : -1,
          producerEpoch: bump ? this.#producerEpoch : -1,
        }),
        { version },
      );
    } catch (e) {
      this.#initFailed(asKafkaError(e, what));
      return;
    }
    if (res.errorCode !== 0) {
      const error = new KafkaError(res.errorCode, `${what} to ${conn.host}:${conn.port}`);
      if (error.retriable) this.#initFailed(error);
      else {
        this.#setFatal(
          new KafkaError(
            error.code,
            `${bare(error)}: an idempotent producer cannot go on (idempotent: false does ` +
              `without producer ids)`,
          ),
        );
      }
      return;
    }
    if (
      res.producerId < 0 || res.producerEpoch < 0 ||
      (bump && res.producerId === this.#producerId && res.producerEpoch === this.#producerEpoch)
    ) {
      this.#setFatal(
        new KafkaError(
          ErrorCode.UNKNOWN_SERVER_ERROR,
          `${what} to ${conn.host}:${conn.port}: the broker answered producer id ` +
            `${res.producerId} epoch ${res.producerEpoch}, which cannot be used`,
        ),
      );
      return;
    }
    this.#initFailures = 0;
    this.#initRetryAt = 0;
    this.#initError = undefined;
    const previous = [this.#producerId, this.#producerEpoch];
    this.#producerId = res.producerId;
    this.#producerEpoch = res.producerEpoch;
    this.#bumpRequired = false;
    const renumber = [...this.#renumber];
    this.#renumber.clear();
    for (const [lane, error] of renumber) {
      // Nothing is in flight: the batches the broker refused get the new epoch and sequences
      // from 0, and are sent again in order.
      let sequence = 0;
      for (const b of lane.sent) {
        const bytes = b.encoded!;
        setProducerIdAt(bytes, 0, this.#producerId);
        setProducerEpochAt(bytes, 0, this.#producerEpoch);
        setBaseSequenceAt(bytes, 0, sequence);
        updateCrcAt(bytes, 0);
        b.producerId = this.#producerId;
        b.producerEpoch = this.#producerEpoch;
        b.baseSequence = sequence;
        sequence = incrementSequence(sequence, countIn(b));
      }
      lane.producerId = this.#producerId;
      lane.producerEpoch = this.#producerEpoch;
      lane.nextSequence = sequence;
      lane.unresolved = undefined;
      lane.retrying = lane.sent.length > 0;
      lane.retryAt = 0;
      if (bump && this.#onEpochBump) {
        try {
          this.#onEpochBump({
            topic: lane.topic,
            partition: lane.partition,
            error,
            previousProducerId: previous[0],
            previousProducerEpoch: previous[1],
            producerId: this.#producerId,
            producerEpoch: this.#producerEpoch,
            renumbered: lane.sent.length,
          });
        } catch { /* a monitoring callback's failure is not the producer's */ }
      }
    }
  }

  #initFailed(error: KafkaError): void {
    if (!error.retriable) {
      this.#setFatal(
        new KafkaError(error.code, `${bare(error)}: an idempotent producer cannot go on`),
      );
      return;
    }
    this.#initError = error;
    this.#initRetryAt = Date.now() + this.#backoffMs(this.#initFailures++);
  }

  #setFatal(error: KafkaError): void {
    if (this.#fatal) return;
    if (this.#txn !== undefined && !this.#txn.fatal) {
      this.#txn.setFatal(error); // calls back here
      return;
    }
    this.#fatal = error;
    this.#failAll(error);
  }

  /** Fails every batch not yet acknowledged (after a fatal error). */
  #failAll(error: unknown): void {
    for (const b of this.#openBatches()) {
      this.#batches.get(b.topic)![b.partition] = undefined;
      this.#open--;
      this.#fail(b, error);
    }
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    for (const lane of this.#active) {
      for (const b of [...lane.queue, ...lane.sent]) {
        this.#finish(b);
        this.#fail(b, error);
      }
      lane.queue = [];
      lane.sent = [];
      lane.retrying = false;
    }
    this.#active.clear();
    if (this.#wakeTimer !== undefined) {
      clearTimeout(this.#wakeTimer);
      this.#wakeTimer = undefined;
      this.#wakeAt = Infinity;
    }
  }

  /** Counts a closed batch as finished (acknowledged or failed). */
  #finish(b: PartitionBatch): void {
    if (b.done) return;
    b.done = true;
    if (--this.#unfinished === 0) {
      if (this.#wakeTimer !== undefined) {
        clearTimeout(this.#wakeTimer);
        this.#wakeTimer = undefined;
        this.#wakeAt = Infinity;
      }
      this.#notifyIdle();
    }
  }

  #notifyIdle(): void {
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  #fail(b: PartitionBatch, error: unknown): void {
    // Any failed batch fails its transaction (Kafka's `maybeTransitionToErrorState`); one that
    // was sent may have been written, so the abort bumps the epoch.
    if (this.#txn !== undefined && !this.#fatal) {
      this.#txn.setAbortable(asKafkaError(error, "produce"), b.attempts > 0);
    }
    for (const { state } of b.segments) {
      if (state.done) continue;
      state.done = true;
      state.reject(error);
    }
  }

  #resolve(b: PartitionBatch, baseOffset: number, logAppendTime: number): void {
    let offset = baseOffset;
    const { topic, partition } = b;
    for (const { state, count, indices, now, timestamps } of b.segments) {
      const results = state.results;
      if (!state.metadata) offset += count;
      for (let i = 0; i < indices.length; i++) {
        results[indices[i]] = {
          topic,
          partition,
          offset: baseOffset < 0 ? -1 : offset++,
          timestamp: logAppendTime >= 0
            ? logAppendTime
            : timestamps === undefined
            ? now
            : timestamps[i],
        };
      }
      if (--state.pending === 0 && !state.done) {
        state.done = true;
        state.resolve(results);
      }
    }
  }

  // --- transactions (Kafka's KafkaProducer transactional calls) ----------------------------

  #requireTxn(what: string): TransactionManager {
    if (this.#txn === undefined) {
      throw new Error(`producer: ${what} needs a transactionalId (ProducerOptions)`);
    }
    if (this.#closed) throw new Error(`producer: ${what} after close`);
    return this.#txn;
  }

  /** What a batch drained outside an open transaction fails with. */
  #txnFailure(txn: TransactionManager): KafkaError {
    const cause = txn.lastError;
    return new KafkaError(
      cause?.code ?? ErrorCode.INVALID_TXN_STATE,
      `produce: the transaction of ${txn.transactionalId} is ${txn.state}${
        cause ? `; cause: ${cause.message}` : ""
      }`,
    );
  }

  /**
   * A transactional batch's attempt failed with an error Kafka's Sender treats apart; returns
   * whether it was handled here.
   */
  #txnBatchFailed(lane: Lane, b: PartitionBatch, error: KafkaError): boolean {
    const txn = this.#txn!;
    const code = error.code;
    if (code === ErrorCode.PRODUCER_FENCED) {
      txn.setFatal(
        new ProducerFencedError(
          code,
          `${bare(error)}: producer of transactional id ${txn.transactionalId} was fenced by a ` +
            `newer producer with the same transactional id; close it`,
        ),
      );
      return true;
    }
    if (
      code === ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED ||
      code === ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    ) {
      txn.setFatal(error);
      return true;
    }
    if (
      code === ErrorCode.INVALID_PRODUCER_EPOCH ||
      code === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER ||
      code === ErrorCode.UNKNOWN_PRODUCER_ID
    ) {
      // INVALID_PRODUCER_EPOCH: the coordinator aborted the transaction (timeout) and bumped the
      // epoch, or a newer producer took over (KIP-588: abortable; the abort tells which). A
      // sequence error: the batches after it cannot be written in this epoch. Either way the
      // transaction is aborted and the epoch bumped.
      this.#giveUp(
        lane,
        b,
        code === ErrorCode.INVALID_PRODUCER_EPOCH
          ? new KafkaError(
            code,
            `${bare(error)}: the transaction of ${txn.transactionalId} timed out or a newer ` +
              `producer took over; abort it`,
          )
          : error,
        true,
      );
      return true;
    }
    return false;
  }

  /** The transaction must be aborted: records not yet sent fail now (Kafka's Sender). */
  #abortUnsent(): void {
    // Deferred: the caller may be walking a partition's queue.
    queueMicrotask(() => this.#failUnsent(this.#txnFailure(this.#txn!)));
  }

  #failUnsent(error: KafkaError): void {
    for (const b of this.#openBatches()) {
      this.#batches.get(b.topic)![b.partition] = undefined;
      this.#open--;
      this.#fail(b, error);
    }
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    for (const lane of this.#active) {
      for (const b of lane.queue.splice(0)) {
        this.#finish(b);
        this.#fail(b, error);
      }
    }
    this.#adding.clear();
  }

  /** Sends AddPartitionsToTxn for the partitions waiting to join the transaction. */
  #addPartitions(): void {
    const txn = this.#txn!;
    const lanes = [...this.#adding].filter((l) => !txn.partitions.has(laneKey(l)));
    this.#adding.clear();
    if (lanes.length === 0) return;
    if (txn.state !== "IN_TRANSACTION" && txn.state !== "COMMITTING_TRANSACTION") return;
    this.#addRequest = txn.addPartitions(
      this.#producerId,
      this.#producerEpoch,
      lanes.map((l) => ({ topic: l.topic, partition: l.partition })),
    ).catch((e) => {
      // Classified errors moved the transaction already; a timeout or a bug makes it abortable.
      if (!(e instanceof TransactionRequestError) || e.outcome === "timeout") {
        txn.setAbortable(asKafkaError(unwrap(e), "AddPartitionsToTxn"), false);
      }
    }).finally(() => {
      this.#addRequest = undefined;
      this.#wake();
    });
  }

  /**
   * Registers the `transactionalId` with its transaction coordinator (FindCoordinator key type
   * 1, then InitProducerId): gets the producer id and a new epoch, which fences any older
   * producer with the same id and completes (aborts) its open transaction. Call once before
   * the first {@linkcode Producer.beginTransaction}.
   *
   * @throws {Error} Without a `transactionalId`, after close.
   * @throws {ProducerFencedError} If a newer producer took the id meanwhile.
   * @throws {KafkaError} `REQUEST_TIMED_OUT` (retriable: call again) when the coordinator did not
   *   answer within `maxBlockMs`; a fatal error (`TRANSACTIONAL_ID_AUTHORIZATION_FAILED`,
   *   `INVALID_TRANSACTION_TIMEOUT`, …); `INVALID_TXN_STATE` if already initialized.
   */
  async initTransactions(): Promise<void> {
    const txn = this.#requireTxn("initTransactions");
    txn.check("initTransactions", ["UNINITIALIZED", "INITIALIZING"]);
    txn.state = "INITIALIZING";
    try {
      const { producerId, producerEpoch } = await txn.initProducerId();
      this.#producerId = producerId;
      this.#producerEpoch = producerEpoch;
    } catch (e) {
      throw unwrap(e);
    }
    txn.reset();
    txn.state = "READY";
  }

  /**
   * Starts a transaction: the records sent until {@linkcode Producer.commitTransaction} or
   * {@linkcode Producer.abortTransaction} are written (and visible to `read_committed`
   * consumers) all or none. Nothing is sent to the broker yet.
   *
   * @throws {KafkaError} `INVALID_TXN_STATE` unless initialized and no transaction is open; the
   *   fatal error of a producer that cannot go on.
   */
  beginTransaction(): void {
    const txn = this.#requireTxn("beginTransaction");
    txn.check("beginTransaction", ["READY"]);
    txn.reset();
    txn.state = "IN_TRANSACTION";
  }

  /**
   * Commits consumer offsets as part of the transaction (AddOffsetsToTxn, then TxnOffsetCommit
   * to the group's coordinator): they become the group's committed offsets only if the
   * transaction commits. `groupMetadata` comes from {@linkcode GroupConsumer.groupMetadata}:
   * the coordinator refuses offsets of a member that is no longer in the current generation
   * (KIP-447; the transaction must then be aborted).
   *
   * @param offsets The next offset to read of each partition.
   * @param groupMetadata The consuming member (group id, generation, member id, instance id).
   * @throws {KafkaError} `INVALID_TXN_STATE` outside a transaction; an abortable error
   *   (`ILLEGAL_GENERATION`, `UNKNOWN_MEMBER_ID`, `FENCED_INSTANCE_ID`,
   *   `GROUP_AUTHORIZATION_FAILED`: {@linkcode Producer.transactionState} is then
   *   `ABORTABLE_ERROR`); `REQUEST_TIMED_OUT` after `maxBlockMs` (retriable).
   * @throws {ProducerFencedError} If a newer producer took the transactional id.
   */
  async sendOffsetsToTransaction(
    offsets: TransactionOffset[],
    groupMetadata: ConsumerGroupMetadata,
  ): Promise<void> {
    const txn = this.#requireTxn("sendOffsetsToTransaction");
    txn.check("sendOffsetsToTransaction", ["IN_TRANSACTION"]);
    if (typeof groupMetadata?.groupId !== "string" || groupMetadata.groupId === "") {
      throw new RangeError("sendOffsetsToTransaction: groupMetadata.groupId must not be empty");
    }
    for (const o of offsets) {
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new RangeError(
          `sendOffsetsToTransaction: invalid offset ${o.offset} for ${o.topic}-${o.partition}`,
        );
      }
    }
    if (offsets.length === 0) return;
    try {
      await txn.sendOffsets(this.#producerId, this.#producerEpoch, offsets, groupMetadata);
    } catch (e) {
      throw unwrap(e);
    }
  }

  /**
   * Sends every record of the transaction, waits for their acknowledgements, then commits it
   * (EndTxn): its records become visible to `read_committed` consumers and its offsets
   * committed. After a retriable failure (`REQUEST_TIMED_OUT`) it may be called again.
   *
   * @throws {KafkaError} The error of a record that failed (the transaction must then be
   *   aborted: {@linkcode Producer.transactionState} is `ABORTABLE_ERROR`); `INVALID_TXN_STATE`
   *   outside a transaction; `REQUEST_TIMED_OUT` after `maxBlockMs` (retriable).
   * @throws {ProducerFencedError} If a newer producer took the transactional id (or the
   *   transaction timed out on the coordinator).
   */
  async commitTransaction(): Promise<void> {
    const txn = this.#requireTxn("commitTransaction");
    txn.check("commitTransaction", ["IN_TRANSACTION", "COMMITTING_TRANSACTION"]);
    txn.state = "COMMITTING_TRANSACTION";
    await this.flush();
    txn.check("commitTransaction", ["COMMITTING_TRANSACTION"]);
    if (txn.started) {
      try {
        await txn.endTxn(this.#producerId, this.#producerEpoch, true);
      } catch (e) {
        throw unwrap(e);
      }
    }
    txn.reset();
    txn.state = "READY";
  }

  /**
   * Aborts the transaction: records not sent yet fail (their sends reject), those in flight are
   * waited for, then EndTxn(abort) makes every record of the transaction invisible to
   * `read_committed` consumers and drops its offsets. When a record's outcome is unknown (a
   * timeout, a sequence error, the coordinator's own abort of a timed-out transaction), the
   * epoch is bumped (InitProducerId with the current id and epoch, KIP-360/KIP-588) so that the
   * producer goes on. Allowed after an abortable error.
   *
   * @throws {KafkaError} `INVALID_TXN_STATE` outside a transaction; the fatal error of a
   *   producer that cannot go on; `REQUEST_TIMED_OUT` after `maxBlockMs` (retriable).
   * @throws {ProducerFencedError} If a newer producer took the transactional id.
   */
  async abortTransaction(): Promise<void> {
    const txn = this.#requireTxn("abortTransaction");
    txn.check("abortTransaction", [
      "IN_TRANSACTION",
      "ABORTABLE_ERROR",
      "ABORTING_TRANSACTION",
      "COMMITTING_TRANSACTION",
    ]);
    txn.state = "ABORTING_TRANSACTION";
    const aborted = new KafkaError(
      ErrorCode.TRANSACTION_ABORTABLE,
      `produce: the transaction of ${txn.transactionalId} was aborted before the records were ` +
        `sent`,
    );
    this.#failUnsent(aborted);
    // Batches waiting to be retried are not retried (they may have been written: bump).
    for (const lane of this.#active) {
      for (const b of [...lane.sent]) if (!b.sending) this.#giveUp(lane, b, aborted, true);
    }
    await this.flush();
    try {
      if (txn.started) await txn.endTxn(this.#producerId, this.#producerEpoch, false);
      if (txn.bumpRequired) {
        const next = await txn.initProducerId({
          producerId: this.#producerId,
          producerEpoch: this.#producerEpoch,
        });
        this.#producerId = next.producerId;
        this.#producerEpoch = next.producerEpoch;
      }
    } catch (e) {
      throw unwrap(e);
    }
    txn.reset();
    txn.state = "READY";
  }

  /**
   * Sends every buffered batch now and waits until every record sent so far is acknowledged or
   * has failed (at most `deliveryTimeoutMs` after it was sent, plus a request in flight).
   */
  async flush(): Promise<void> {
    for (;;) {
      this.#drain(this.#openBatches());
      if (this.#appending === 0 && this.#unfinished === 0) return;
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
  }

  /**
   * Stops accepting messages and flushes. With `timeoutMs`, records still not acknowledged
   * after it fail (as the Java client's `close(Duration)`): their sends reject with an error
   * saying the producer was closed; a batch in flight may still be written. The
   * {@linkcode Client} stays open.
   *
   * @param timeoutMs How long to wait for the records sent so far. Default: until each is
   *   acknowledged or its `deliveryTimeoutMs` passed.
   */
  async close(timeoutMs?: number): Promise<void> {
    this.#closed = true;
    if (timeoutMs === undefined) {
      await this.flush();
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), timeoutMs));
    const done = await Promise.race([this.flush(), late]);
    clearTimeout(timer);
    if (done !== "late" || this.#unfinished === 0) return;
    this.#failAll(
      new Error(
        `producer: closed after ${timeoutMs} ms with ${this.#unfinished} batches not ` +
          `acknowledged (they may have been written)`,
      ),
    );
  }
}

/**
 * Test seam, not exported by `mod.ts`: the sequence an idempotent producer starts a partition
 * at (0), so that a test can cross the wrap from 2147483647 to 0 without sending 2^31 records
 * (a broker accepts any first sequence from a producer id it has no state for). Epoch bumps
 * restart at 0 whatever it says.
 */
export const _internals: { firstSequence: number } = { firstSequence: 0 };
