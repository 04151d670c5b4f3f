/**
 * The default partitioner, compatible with the Java producer: keyed records go to
 * `toPositive(murmur2(key)) % numPartitions`; records without a key stick to one partition until
 * the batch for it is complete (KIP-480), then move to another.
 *
 * @module
 */

import { murmur2, toPositive } from "./murmur2.ts";
import { utf8Length, writeUtf8 } from "../records/utf8.ts";

/** What a partitioner is asked to place. */
export interface PartitionerInput {
  /** Topic name. */
  topic: string;
  /** Serialized key, or `null` for no key. */
  key: Uint8Array | null;
  /** Number of partitions in the topic (must be at least 1). */
  numPartitions: number;
}

/** A partitioner: picks a partition for a record, and is told when a batch completes. */
export interface Partitioner {
  /** Returns the partition index for a record. */
  partition(input: PartitionerInput): number;
  /**
   * Tells the partitioner that the batch for `partition` of `topic` was closed, so a sticky
   * partitioner can move records without keys elsewhere.
   */
  onNewBatch(topic: string, partition: number, numPartitions: number): void;
}

/**
 * Returns the partition the Java client's default partitioner picks for a non-null key.
 *
 * @example
 * ```ts
 * import { partitionForKey } from "./partitioner.ts";
 * partitionForKey(new TextEncoder().encode("foobar"), 10); // 6
 * ```
 *
 * @param key The serialized key.
 * @param numPartitions Number of partitions (at least 1).
 * @returns `toPositive(murmur2(key)) % numPartitions`.
 * @throws {RangeError} If `numPartitions` is not a positive integer.
 */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new RangeError(`partitioner: invalid partition count: ${numPartitions}`);
  }
  return toPositive(murmur2(key)) % numPartitions;
}

/** Where {@linkcode partitionForTextKey} writes a key's bytes (grown as needed, never shrunk). */
let scratch = new Uint8Array(256);

/**
 * {@linkcode partitionForKey} of a key given as text: the partition of its UTF-8 bytes (as
 * `TextEncoder` encodes it), computed without allocating them.
 *
 * @example
 * ```ts
 * import { partitionForKey, partitionForTextKey } from "./partitioner.ts";
 * const bytes = new TextEncoder().encode("foobar");
 * console.assert(partitionForTextKey("foobar", 10) === partitionForKey(bytes, 10));
 * ```
 *
 * @param key The key.
 * @param numPartitions Number of partitions (at least 1).
 * @returns `toPositive(murmur2(utf8(key))) % numPartitions`.
 * @throws {RangeError} If `numPartitions` is not a positive integer.
 */
export function partitionForTextKey(key: string, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions < 1) {
    throw new RangeError(`partitioner: invalid partition count: ${numPartitions}`);
  }
  const n = key.length;
  if (n <= scratch.length) {
    // ASCII (the common case) is written as it is checked.
    let i = 0;
    for (; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) break;
      scratch[i] = c;
    }
    if (i === n) return toPositive(murmur2(scratch, n)) % numPartitions;
  }
  const length = utf8Length(key);
  if (length > scratch.length) scratch = new Uint8Array(Math.max(length, 2 * scratch.length));
  writeUtf8(scratch, 0, key, length);
  return toPositive(murmur2(scratch, length)) % numPartitions;
}

/**
 * The default partitioner: murmur2 for keyed records, sticky partition for records without a key.
 *
 * @example
 * ```ts
 * import { DefaultPartitioner } from "./partitioner.ts";
 * const p = new DefaultPartitioner();
 * p.partition({ topic: "t", key: new TextEncoder().encode("21"), numPartitions: 3 }); // 0
 * ```
 */
export class DefaultPartitioner implements Partitioner {
  #sticky = new Map<string, number>();
  #random: () => number;

  /**
   * Creates a partitioner.
   *
   * @param random Source of randomness in [0, 1) used to pick sticky partitions (for tests).
   */
  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  /** Returns the partition for a record. */
  partition(input: PartitionerInput): number {
    const { topic, key, numPartitions } = input;
    if (key !== null) return partitionForKey(key, numPartitions);
    if (!Number.isInteger(numPartitions) || numPartitions < 1) {
      throw new RangeError(`partitioner: invalid partition count: ${numPartitions}`);
    }
    const current = this.#sticky.get(topic);
    if (current !== undefined && current < numPartitions) return current;
    const next = Math.floor(this.#random() * numPartitions) % numPartitions;
    this.#sticky.set(topic, next);
    return next;
  }

  /** Moves the sticky partition of `topic` away from `partition` once its batch is closed. */
  onNewBatch(topic: string, partition: number, numPartitions: number): void {
    const current = this.#sticky.get(topic);
    if (current !== partition) return;
    if (numPartitions <= 1) return;
    let next = Math.floor(this.#random() * (numPartitions - 1)) % (numPartitions - 1);
    if (next >= partition) next++;
    this.#sticky.set(topic, next);
  }
}
