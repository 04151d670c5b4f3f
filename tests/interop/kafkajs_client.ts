// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * kafkajs helpers shared by the kafkajs and cross-client interop tests: a quiet client for a test
 * broker, and a bounded "consume N records from the beginning" with a fresh consumer group.
 *
 * kafkajs is loaded with a dynamic import so that a missing package skips tests instead of
 * failing the module; {@linkcode loadKafkajs} returns `undefined` then.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import type { Consumer, EachMessagePayload, Kafka } from "kafkajs";
import { type TestBroker, uniqueTopic, withTimeout } from "../harness.ts";

/** The kafkajs module. */
export type KafkajsModule = typeof import("kafkajs");

/** Limit for one kafkajs call, in milliseconds. */
export const CALL_MS = 30_000;

/**
 * Load kafkajs, or `undefined` when `available` is false.
 *
 * @param available Whether the harness found kafkajs.
 * @returns The module.
 */
export async function loadKafkajs(available: boolean): Promise<KafkajsModule | undefined> {
  return available ? await import("kafkajs") : undefined;
}

/**
 * A kafkajs client for a test broker, logging nothing.
 *
 * @param kafkajs The module.
 * @param broker The broker.
 * @returns The client.
 */
export function kafkaFor(kafkajs: KafkajsModule, broker: TestBroker): Kafka {
  return new kafkajs.Kafka({
    clientId: "sluice-interop",
    brokers: [broker.bootstrap],
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100 },
  });
}

/** A consumed record, normalized. */
export interface Got {
  /** Partition. */
  partition: number;
  /** Offset. */
  offset: number;
  /** Key as UTF-8, or null. */
  key: string | null;
  /** Value as UTF-8, or null. */
  value: string | null;
  /** Headers (kafkajs gives an object). */
  headers: Record<string, string>;
  /** Timestamp in ms. */
  timestamp: number;
}

function normalize({ partition, message }: EachMessagePayload): Got {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    headers[k] = Buffer.isBuffer(v) ? v.toString() : String(v);
  }
  return {
    partition,
    offset: Number(message.offset),
    key: message.key === null ? null : message.key.toString(),
    value: message.value === null ? null : message.value.toString(),
    headers,
    timestamp: Number(message.timestamp),
  };
}

/** Consumer options for {@linkcode consumeAll}. */
export interface ConsumeOptions {
  /** Fetch max wait. Default 500. */
  maxWaitTimeInMs?: number;
  /** Fetch limit per partition. */
  maxBytesPerPartition?: number;
  /** Fetch limit. */
  maxBytes?: number;
  /** Called when the first record arrives. */
  onFirst?: () => void;
  /** Overall limit. Default {@linkcode CALL_MS}. */
  timeoutMs?: number;
}

/**
 * Consume from the beginning with a fresh consumer group until `count` records arrived.
 *
 * @param kafka The client.
 * @param topic Topic.
 * @param count Records to wait for.
 * @param options Fetch settings, hook and limit.
 * @returns The records sorted by partition, then offset.
 * @throws {Error} When the consumer crashes or `count` records do not arrive in time.
 */
export async function consumeAll(
  kafka: Kafka,
  topic: string,
  count: number,
  options: ConsumeOptions = {},
): Promise<Got[]> {
  const consumer: Consumer = kafka.consumer({
    groupId: uniqueTopic("kafkajs-group"),
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? 500,
    maxBytesPerPartition: options.maxBytesPerPartition,
    maxBytes: options.maxBytes,
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
  });
  const got: Got[] = [];
  try {
    await withTimeout(consumer.connect(), CALL_MS, "kafkajs consumer connect");
    await withTimeout(
      consumer.subscribe({ topics: [topic], fromBeginning: true }),
      CALL_MS,
      "kafkajs subscribe",
    );
    const done = new Promise<void>((resolve, reject) => {
      consumer.on(
        consumer.events.CRASH,
        (e) => reject(new Error(`kafkajs consumer crashed: ${e.payload.error}`)),
      );
      consumer.run({
        eachMessage: (payload) => {
          got.push(normalize(payload));
          if (got.length === 1) options.onFirst?.();
          if (got.length >= count) resolve();
          return Promise.resolve();
        },
      }).catch(reject);
    });
    await withTimeout(done, options.timeoutMs ?? CALL_MS, `kafkajs consume ${count} from ${topic}`)
      .catch((e: Error) => {
        throw new Error(`${e.message}; received ${got.length}`);
      });
  } finally {
    await withTimeout(consumer.disconnect(), CALL_MS, "kafkajs consumer disconnect").catch(
      () => {},
    );
  }
  return got.sort((a, b) => (a.partition - b.partition) || (a.offset - b.offset));
}
