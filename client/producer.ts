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
  encodeRecordBatch,
  type RecordHeader,
  type RecordInput,
} from "./record_batch.ts";

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
  /** How long to wait for more records before sending a batch. Default 0. */
  lingerMs?: number;
  /** Send a partition's batch once it holds this many bytes. Default 16384. */
  batchSize?: number;
  /** Compression codec. Default `none`. */
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

interface Waiter {
  owner: ProducerRecord;
  resultIndex: number;
  count: number;
  timestamps: number[];
  resolve: (offsets: RecordMetadata[]) => void;
  reject: (e: unknown) => void;
}

interface PartitionBatch {
  topic: string;
  partition: number;
  numPartitions: number;
  records: RecordInput[];
  bytes: number;
  waiters: Waiter[];
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
  #batches = new Map<string, PartitionBatch>();
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
    this.#lingerMs = options.lingerMs ?? 0;
    this.#batchSize = options.batchSize ?? 16384;
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
    const highest = Math.max(...messages.map((m) => m.partition ?? -1));
    // An explicit partition beyond the cached count may be new: refresh before refusing it.
    if (highest >= info.partitions.length) {
      info = await this.#client.topic(topic, { ...auto, refresh: true });
    }
    const numPartitions = info.partitions.length;
    // Group consecutive messages by partition, keeping the caller's order per partition.
    const results: Promise<RecordMetadata[]>[] = [];
    const positions: Array<[number, number]> = [];
    const now = Date.now();
    for (const m of messages) {
      const key = toBytes(m.key);
      let partition = m.partition;
      if (partition === undefined) {
        partition = this.#partitioner.partition({ topic, key, numPartitions });
      } else if (!Number.isInteger(partition) || partition < 0 || partition >= numPartitions) {
        throw new KafkaError(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `produce to ${topic}: partition ${partition} does not exist (topic has ` +
            `${numPartitions} partitions)`,
        );
      }
      const input: RecordInput = {
        key,
        value: toBytes(m.value),
        headers: headersOf(m.headers),
        timestamp: m.timestamp ?? now,
      };
      const batch = this.#batchFor(topic, partition, numPartitions);
      let size = 24 + (input.key?.length ?? 0) + (input.value?.length ?? 0);
      for (const h of input.headers!) size += h.key.length + (h.value?.length ?? 0) + 4;
      if (batch.records.length > 0 && batch.bytes + size > this.#batchSize) {
        this.#drain([batch]);
        // Like the Java client: a record without key that would open a new batch is placed
        // again, so it follows the new sticky partition.
        if (m.partition === undefined && key === null) {
          partition = this.#partitioner.partition({ topic, key, numPartitions });
        }
      }
      const target = this.#batchFor(topic, partition, numPartitions);
      target.records.push(input);
      target.bytes += size;
      const last = target.waiters.at(-1);
      if (last && last.owner === record) {
        last.count++;
        last.timestamps.push(input.timestamp!);
        positions.push([last.resultIndex, last.count - 1]);
      } else {
        const resultIndex = results.length;
        let waiter!: Waiter;
        results.push(
          new Promise<RecordMetadata[]>((resolve, reject) => {
            waiter = {
              owner: record,
              resultIndex,
              count: 1,
              timestamps: [input.timestamp!],
              resolve,
              reject,
            };
          }),
        );
        target.waiters.push(waiter);
        positions.push([resultIndex, 0]);
      }
    }
    this.#schedule();
    const settled = await Promise.all(results);
    return positions.map(([r, i]) => settled[r][i]);
  }

  #batchFor(topic: string, partition: number, numPartitions: number): PartitionBatch {
    const key = `${topic}\u0000${partition}`;
    let b = this.#batches.get(key);
    if (!b) {
      b = { topic, partition, numPartitions, records: [], bytes: 0, waiters: [] };
      this.#batches.set(key, b);
    }
    return b;
  }

  #schedule(): void {
    const full = [...this.#batches.values()].filter((b) => b.bytes >= this.#batchSize);
    if (full.length > 0) this.#drain(full);
    if (this.#batches.size === 0 || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drain([...this.#batches.values()]);
    }, this.#lingerMs);
  }

  #drain(batches: PartitionBatch[]): void {
    for (const b of batches) {
      this.#batches.delete(`${b.topic}\u0000${b.partition}`);
      // A closed batch moves records without keys to another partition (KIP-480).
      if (b.records.length > 0) this.#partitioner.onNewBatch(b.topic, b.partition, b.numPartitions);
    }
    if (this.#batches.size === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const ready = batches.filter((b) => b.records.length > 0);
    if (ready.length === 0) return;
    const p = this.#sendBatches(ready, 0);
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
    for (const b of batches) for (const w of b.waiters) w.reject(error);
  }

  async #produce(leader: number, batches: PartitionBatch[], attempt: number): Promise<void> {
    const topics = new Map<string, Array<{ index: number; records: Uint8Array }>>();
    for (const b of batches) {
      const list = topics.get(b.topic) ?? [];
      list.push({
        index: b.partition,
        records: encodeRecordBatch(b.records, { compression: this.#compression }),
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
        for (const w of b.waiters) w.reject(e);
        continue;
      }
      if (p.errorCode !== 0) {
        const detail = p.errorMessage ? ` (${p.errorMessage})` : "";
        const e = new KafkaError(p.errorCode, `produce to ${b.topic}-${b.partition}${detail}`);
        if (e.retriable || isStaleMetadataError(p.errorCode)) {
          retry.push(b);
          retryError = e;
        } else for (const w of b.waiters) w.reject(e);
        continue;
      }
      this.#resolve(b, p.baseOffset, p.logAppendTimeMs);
    }
    if (retry.length > 0) await this.#retryOrFail(retry, retryError, attempt);
  }

  #resolve(b: PartitionBatch, baseOffset: number, logAppendTime: number): void {
    let offset = baseOffset;
    for (const w of b.waiters) {
      const out: RecordMetadata[] = [];
      for (let i = 0; i < w.count; i++) {
        out.push({
          topic: b.topic,
          partition: b.partition,
          offset: baseOffset < 0 ? -1 : offset++,
          timestamp: logAppendTime >= 0 ? logAppendTime : w.timestamps[i],
        });
      }
      w.resolve(out);
    }
  }

  /** Sends every buffered batch now and waits for all requests in flight. */
  async flush(): Promise<void> {
    this.#drain([...this.#batches.values()]);
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Flushes and stops accepting messages. The {@linkcode Client} stays open. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }
}
