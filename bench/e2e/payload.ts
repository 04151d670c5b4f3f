// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The load tool's record values and what a consumer learns from them. Every value starts with a
 * 16-byte header: the send time in microseconds since the epoch, then the record's sequence
 * number, both little-endian 64-bit integers (the layout `rdkafka_perf.c` uses too). The rest is
 * filler.
 *
 * @module
 */

import process from "node:process";

/** Bytes of the header at the start of every value. */
export const HEADER_BYTES = 16;

/**
 * Wall-clock time in whole microseconds since the epoch.
 *
 * @returns Microseconds.
 */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * CPU seconds this process has used so far, every thread, user + system (as `rdkafka_perf.c`'s
 * `getrusage`).
 *
 * @returns Seconds.
 */
export function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * A value of `size` bytes with filler after the header; stamp it with {@linkcode stampValue}.
 *
 * @param size Value size in bytes.
 * @returns The value.
 * @throws {RangeError} If `size` is smaller than {@linkcode HEADER_BYTES}.
 */
export function makeValue(size: number): Uint8Array {
  if (!Number.isInteger(size) || size < HEADER_BYTES) {
    throw new RangeError(`record value: size ${size} is invalid: at least ${HEADER_BYTES} bytes`);
  }
  const value = new Uint8Array(size);
  for (let i = HEADER_BYTES; i < size; i++) value[i] = 97 + (i % 26);
  return value;
}

/**
 * Writes send time and sequence number into a value's header.
 *
 * @example
 * ```ts
 * import { makeValue, readStamp, stampValue } from "./payload.ts";
 * const v = makeValue(100);
 * stampValue(v, 1_700_000_000_000_000, 42);
 * console.log(readStamp(v)); // { micros: 1700000000000000, seq: 42 }
 * ```
 *
 * @param value A value from {@linkcode makeValue}.
 * @param micros Send time in microseconds.
 * @param seq Sequence number.
 */
export function stampValue(value: Uint8Array, micros: number, seq: number): void {
  const view = new DataView(value.buffer, value.byteOffset, HEADER_BYTES);
  view.setUint32(0, micros % 0x1_0000_0000, true);
  view.setUint32(4, Math.floor(micros / 0x1_0000_0000), true);
  view.setUint32(8, seq % 0x1_0000_0000, true);
  view.setUint32(12, Math.floor(seq / 0x1_0000_0000), true);
}

/**
 * Reads a value's header.
 *
 * @param value A stamped value.
 * @returns Send time in microseconds and sequence number, or `null` for a value too short.
 */
export function readStamp(value: Uint8Array | null): { micros: number; seq: number } | null {
  if (value === null || value.length < HEADER_BYTES) return null;
  const view = new DataView(value.buffer, value.byteOffset, HEADER_BYTES);
  return {
    micros: view.getUint32(0, true) + view.getUint32(4, true) * 0x1_0000_0000,
    seq: view.getUint32(8, true) + view.getUint32(12, true) * 0x1_0000_0000,
  };
}

/** Latency percentiles in microseconds (-1 when nothing was measured). */
export interface LatencySummary {
  /** Median. */
  p50Us: number;
  /** 99th percentile. */
  p99Us: number;
  /** 99.9th percentile. */
  p999Us: number;
  /** Maximum. */
  maxUs: number;
}

/**
 * Percentiles of a list of latencies (nearest rank below, like `rdkafka_perf.c`).
 *
 * @example
 * ```ts
 * import { percentiles } from "./payload.ts";
 * console.log(percentiles(new Float64Array([3, 1, 2])).p50Us); // 2
 * ```
 *
 * @param latencies Latencies in microseconds (sorted in place).
 * @returns The summary.
 */
export function percentiles(latencies: Float64Array): LatencySummary {
  const n = latencies.length;
  if (n === 0) return { p50Us: -1, p99Us: -1, p999Us: -1, maxUs: -1 };
  latencies.sort();
  const at = (q: number) => latencies[Math.floor((n - 1) * q)];
  return { p50Us: at(0.5), p99Us: at(0.99), p999Us: at(0.999), maxUs: latencies[n - 1] };
}

/** What a consumer reports (the same JSON as `rdkafka_perf consume`). */
export interface ConsumeStats extends LatencySummary {
  /** Always `consume`. */
  mode: "consume";
  /** Records expected. */
  records: number;
  /** Records received with our header. */
  consumed: number;
  /** Distinct sequence numbers received. */
  unique: number;
  /** Records received more than once. */
  duplicates: number;
  /** Records without our header or with a sequence number out of range. */
  foreign: number;
  /** Fetch errors. */
  errors: number;
  /** The first error, or "". */
  firstError: string;
  /** Seconds from {@linkcode SeqTracker.start} ("ready") to the last record received. */
  seconds: number;
  /** CPU seconds of the consumer process (every thread) from "ready" to the report. */
  cpuSeconds: number;
}

/**
 * Counts distinct sequence numbers and end-to-end latencies as records arrive.
 *
 * @example
 * ```ts
 * import { makeValue, SeqTracker, stampValue } from "./payload.ts";
 * const t = new SeqTracker(2);
 * const v = makeValue(16);
 * stampValue(v, 0, 1);
 * t.add(v, 10);
 * t.add(v, 10);
 * console.log(t.stats().duplicates); // 1
 * ```
 */
export class SeqTracker {
  #seen: Uint8Array;
  #latencies: Float64Array;
  #records: number;
  #consumed = 0;
  #unique = 0;
  #duplicates = 0;
  #foreign = 0;
  #first = 0;
  #last = 0;
  #cpu0 = -1;
  /** Fetch errors seen by the caller. */
  errors = 0;
  /** The first error seen by the caller. */
  firstError = "";

  /**
   * Creates a tracker for sequence numbers `0..records-1`.
   *
   * @param records How many records are expected.
   */
  constructor(records: number) {
    this.#records = records;
    this.#seen = new Uint8Array(records);
    this.#latencies = new Float64Array(records);
  }

  /** Marks the start of consumption (when the consumer is ready); `seconds` count from here. */
  start(): void {
    if (this.#first === 0) this.#first = performance.now();
    if (this.#cpu0 < 0) this.#cpu0 = cpuSeconds();
  }

  /** Whether every expected record arrived. */
  get done(): boolean {
    return this.#unique >= this.#records;
  }

  /** Distinct records so far. */
  get unique(): number {
    return this.#unique;
  }

  /**
   * Accounts one received value.
   *
   * @param value The record value.
   * @param receivedMicros When it arrived ({@linkcode nowMicros}).
   */
  add(value: Uint8Array | null, receivedMicros: number): void {
    const stamp = readStamp(value);
    if (stamp === null) {
      this.#foreign++;
      return;
    }
    this.#last = performance.now();
    if (this.#first === 0) this.#first = this.#last;
    this.#consumed++;
    if (stamp.seq >= this.#records) this.#foreign++;
    else if (this.#seen[stamp.seq] === 1) this.#duplicates++;
    else {
      this.#seen[stamp.seq] = 1;
      this.#latencies[this.#unique++] = receivedMicros - stamp.micros;
    }
  }

  /**
   * The summary so far.
   *
   * @returns Counts, seconds and latency percentiles.
   */
  stats(): ConsumeStats {
    return {
      mode: "consume",
      records: this.#records,
      consumed: this.#consumed,
      unique: this.#unique,
      duplicates: this.#duplicates,
      foreign: this.#foreign,
      errors: this.errors,
      firstError: this.firstError,
      seconds: this.#consumed === 0 ? 0 : (this.#last - this.#first) / 1000,
      cpuSeconds: this.#cpu0 < 0 ? 0 : cpuSeconds() - this.#cpu0,
      ...percentiles(this.#latencies.subarray(0, this.#unique)),
    };
  }
}

/** What a producer reports (the same JSON as `rdkafka_perf produce`). */
export interface ProduceStats {
  /** Always `produce`. */
  mode: "produce";
  /** Records sent. */
  records: number;
  /** Records acknowledged. */
  acked: number;
  /** Records that failed. */
  errors: number;
  /** The first error, or "". */
  firstError: string;
  /** Value bytes sent. */
  bytes: number;
  /** Seconds from the first send to the last acknowledgement. */
  seconds: number;
  /** CPU seconds of the producer process (every thread) over those seconds. */
  cpuSeconds: number;
}
