/**
 * The producer: batches records per partition (linger time, batch size), picks partitions like
 * the Java client, sends one Produce request per leader and resolves per-message offsets.
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import type { Client } from "./client.ts";
import { isStaleMetadataError } from "./client.ts";
import { DefaultPartitioner, type Partitioner } from "./partitioner.ts";
import {
  type CompressionName,
  RECORD_BATCH_OVERHEAD,
  RecordBatchBuilder,
  type RecordHeader,
} from "./records.ts";

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
}

/** Where a message was written. */
export interface RecordMetadata {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Offset (-1 with acks=0). */
  offset: number;
  /** Timestamp: the broker's for LogAppendTime topics, else the message's. */
  timestamp: number;
}

/** Options for {@linkcode Producer}. */
export interface ProducerOptions {
  /** 0 (no response), 1 (leader) or -1 (all in-sync replicas). Default -1. */
  acks?: 0 | 1 | -1;
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
  /** How many times to retry a retriable error. Default: the client's `retries`. */
  retries?: number;
  /**
   * Let a broker with `auto.create.topics.enable` create a missing topic on first send, as the
   * Java producer does. Default true.
   */
  allowAutoTopicCreation?: boolean;
}

/** One `send` call: its results fill in as the batches holding its records are acknowledged. */
interface SendState {
  results: RecordMetadata[];
  pending: number;
  done: boolean;
  resolve: (offsets: RecordMetadata[]) => void;
  reject: (e: unknown) => void;
}

/** The records of one send in one batch: their indexes in the send's results. */
interface Segment {
  state: SendState;
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
  encoded?: Uint8Array;
}

const encoder = new TextEncoder();
const toBytes = (d: MessageData | undefined): Uint8Array | null =>
  d === null || d === undefined ? null : typeof d === "string" ? encoder.encode(d) : d;

function headersOf(h: ProducerMessage["headers"]): RecordHeader[] {
  if (!h) return [];
  if (Array.isArray(h)) return h.map(({ key, value }) => ({ key, value: toBytes(value) }));
  return Object.entries(h).map(([key, value]) => ({ key, value: toBytes(value) }));
}

/**
 * A producer.
 *
 * @example
 * ```ts ignore
 * import { Client, Producer } from "../client/mod.ts";
 * const client = new Client({ bootstrapServers: "localhost:9092" });
 * const producer = new Producer(client, { acks: -1 });
 * const [meta] = await producer.send({ topic: "teste", messages: [{ key: "k", value: "v" }] });
 * console.log(meta.partition, meta.offset);
 * await producer.close();
 * await client.close();
 * ```
 */
export class Producer {
  #client: Client;
  #acks: 0 | 1 | -1;
  #timeoutMs: number;
  #lingerMs: number;
  #batchSize: number;
  #compression: CompressionName;
  #partitioner: Partitioner;
  #retries: number;
  #autoCreate: boolean;
  #batches = new Map<string, Array<PartitionBatch | undefined>>();
  #open = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inFlight = new Set<Promise<void>>();
  #closed = false;

  /**
   * Creates a producer on a cluster client.
   *
   * @param client The cluster client.
   * @param options Acks, batching, compression, partitioner.
   * @throws {RangeError} On an invalid `acks`.
   */
  constructor(client: Client, options: ProducerOptions = {}) {
    this.#client = client;
    this.#acks = options.acks ?? -1;
    if (![0, 1, -1].includes(this.#acks)) {
      throw new RangeError(`producer: invalid acks ${options.acks}: expected 0, 1 or -1`);
    }
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#lingerMs = options.lingerMs ?? 5;
    this.#batchSize = options.batchSize ?? 1_000_000;
    this.#compression = options.compression ?? "none";
    this.#partitioner = options.partitioner ?? new DefaultPartitioner();
    this.#retries = options.retries ?? client.options.retries;
    this.#autoCreate = options.allowAutoTopicCreation ?? true;
  }

  /**
   * Sends messages to a topic and resolves when they are acknowledged.
   *
   * @param record Topic and messages.
   * @returns Where each message went, in the order given.
   * @throws {KafkaError} `UNKNOWN_TOPIC_OR_PARTITION` for a missing topic or partition, or the
   *   broker's error for the batch.
   */
  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (this.#closed) throw new Error("producer: send after close");
    const { topic, messages } = record;
    if (messages.length === 0) return [];
    const auto = { allowAutoTopicCreation: this.#autoCreate };
    let info = await this.#client.topic(topic, auto);
    let highest = -1;
    for (const m of messages) {
      if (m.partition !== undefined && m.partition > highest) highest = m.partition;
    }
    // An explicit partition beyond the cached count may be new: refresh before refusing it.
    if (highest >= info.partitions.length) {
      info = await this.#client.topic(topic, { ...auto, refresh: true });
    }
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
    let state!: SendState;
    const done = new Promise<RecordMetadata[]>((resolve, reject) => {
      state = { results: new Array(messages.length), pending: 0, done: false, resolve, reject };
    });
    let open = this.#batches.get(topic);
    if (open === undefined) {
      open = [];
      this.#batches.set(topic, open);
    }
    const now = Date.now();
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
    return await done;
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
      const key = toBytes(m.key);
      const value = toBytes(m.value);
      const headers = m.headers === undefined ? undefined : headersOf(m.headers);
      const timestamp = m.timestamp ?? now;
      let partition = m.partition;
      if (partition === undefined) {
        partition = this.#partitioner.partition({ topic, key, numPartitions });
      }
      let size = 24 + (key === null ? 0 : key.length) + (value === null ? 0 : value.length);
      if (headers) { for (const h of headers) size += h.key.length + (h.value?.length ?? 0) + 4; }
      let batch = open[partition];
      if (batch !== undefined && batch.builder.sizeInBytes + size > this.#batchSize) {
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
              Math.max(16_384, RECORD_BATCH_OVERHEAD + 8 * size * messages.length),
            ),
          ),
          segments: [],
        };
        open[partition] = batch;
        this.#open++;
      }
      batch.builder.append(key, value, timestamp, headers);
      let segment = batch.segments.at(-1);
      if (segment === undefined || segment.state !== state) {
        segment = { state, indices: [], now, timestamps: undefined };
        batch.segments.push(segment);
        state.pending++;
      }
      segment.indices.push(index);
      if (segment.timestamps !== undefined) segment.timestamps.push(timestamp);
      else if (timestamp !== now) {
        segment.timestamps = new Array(segment.indices.length - 1).fill(now);
        segment.timestamps.push(timestamp);
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

  #drain(batches: PartitionBatch[]): void {
    for (const b of batches) {
      const list = this.#batches.get(b.topic);
      if (list !== undefined && list[b.partition] === b) {
        list[b.partition] = undefined;
        this.#open--;
      }
      // A closed batch moves records without keys to another partition (KIP-480).
      this.#partitioner.onNewBatch(b.topic, b.partition, b.numPartitions);
    }
    if (this.#open === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (batches.length === 0) return;
    const p = this.#sendBatches(batches, 0);
    this.#inFlight.add(p);
    p.finally(() => this.#inFlight.delete(p));
  }

  async #sendBatches(batches: PartitionBatch[], attempt: number): Promise<void> {
    // Group by leader.
    const byLeader = new Map<number, PartitionBatch[]>();
    for (const b of batches) {
      let leader: number;
      try {
        leader = await this.#client.leaderFor(b.topic, b.partition);
      } catch (e) {
        await this.#retryOrFail([b], e, attempt);
        continue;
      }
      const list = byLeader.get(leader) ?? [];
      list.push(b);
      byLeader.set(leader, list);
    }
    await Promise.all([...byLeader].map(([leader, list]) => this.#produce(leader, list, attempt)));
  }

  async #retryOrFail(batches: PartitionBatch[], error: unknown, attempt: number): Promise<void> {
    const retriable = error instanceof KafkaError && error.retriable;
    if (retriable && attempt < this.#retries) {
      for (const b of batches) this.#client.invalidate(b.topic);
      await this.#client.backoff(attempt);
      await this.#sendBatches(batches, attempt + 1);
      return;
    }
    for (const b of batches) this.#reject(b, error);
  }

  #reject(b: PartitionBatch, error: unknown): void {
    for (const { state } of b.segments) {
      if (state.done) continue;
      state.done = true;
      state.reject(error);
    }
  }

  async #produce(leader: number, batches: PartitionBatch[], attempt: number): Promise<void> {
    const topics = new Map<string, Array<{ index: number; records: Uint8Array }>>();
    for (const b of batches) {
      const list = topics.get(b.topic) ?? [];
      list.push({
        index: b.partition,
        records: b.encoded ??= b.builder.finish({ compression: this.#compression }),
      });
      topics.set(b.topic, list);
    }
    const request = ProduceRequest.create({
      transactionalId: null,
      acks: this.#acks,
      timeoutMs: this.#timeoutMs,
      topicData: [...topics].map(([name, partitionData]) => ({ name, partitionData })),
    });
    let response;
    try {
      response = await this.#client.send(
        leader,
        { request: ProduceRequest, response: ProduceResponse },
        request,
        { expectResponse: this.#acks !== 0, timeoutMs: this.#timeoutMs + 5_000 },
      );
    } catch (e) {
      await this.#retryOrFail(batches, e, attempt);
      return;
    }
    if (this.#acks === 0) {
      for (const b of batches) this.#resolve(b, -1, -1);
      return;
    }
    const retry: PartitionBatch[] = [];
    let retryError: unknown;
    for (const b of batches) {
      const p = response.responses.find((t) => t.name === b.topic)?.partitionResponses
        .find((r) => r.index === b.partition);
      if (!p) {
        const e = new KafkaError(
          ErrorCode.UNKNOWN_SERVER_ERROR,
          `produce to ${b.topic}-${b.partition}: the response has no result for this partition`,
        );
        this.#reject(b, e);
        continue;
      }
      if (p.errorCode !== 0) {
        const detail = p.errorMessage ? ` (${p.errorMessage})` : "";
        const e = new KafkaError(p.errorCode, `produce to ${b.topic}-${b.partition}${detail}`);
        if (e.retriable || isStaleMetadataError(p.errorCode)) {
          retry.push(b);
          retryError = e;
        } else this.#reject(b, e);
        continue;
      }
      this.#resolve(b, p.baseOffset, p.logAppendTimeMs);
    }
    if (retry.length > 0) await this.#retryOrFail(retry, retryError, attempt);
  }

  #resolve(b: PartitionBatch, baseOffset: number, logAppendTime: number): void {
    let offset = baseOffset;
    const { topic, partition } = b;
    for (const { state, indices, now, timestamps } of b.segments) {
      const results = state.results;
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

  /** Sends every buffered batch now and waits for all requests in flight. */
  async flush(): Promise<void> {
    this.#drain(this.#openBatches());
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Flushes and stops accepting messages. The {@linkcode Client} stays open. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }
}
