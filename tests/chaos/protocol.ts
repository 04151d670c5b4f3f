// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * What the crash harness and its producer processes share: the spec a producer is started with,
 * the record values (an id such as `s0.1:1234`, a `|`, then padding that the id determines), and
 * the line protocol producers print on stdout:
 *
 * - `R`: the producer is running and handles SIGTERM (stop after the batches in flight);
 * - `A <topic> <partition> <offset> <id> <ms>`: the broker acknowledged record `id` at `offset`
 *   (`ms` is the producer's clock when the acknowledgement arrived; `offset` -1 when the client
 *   reported success without an offset, which the harness counts as a failure);
 * - `E <id> <error>`: the record was not acknowledged and will not be retried;
 * - `F <detail>`: the producer cannot go on and exits with code 3.
 *
 * `confluent_producer.py` implements the same protocol in Python.
 *
 * @module
 */

/** How a producer process is started (passed as one JSON argument). */
export interface WorkerSpec {
  /** `host:port`. */
  bootstrap: string;
  /** Producer name, unique per incarnation (e.g. `c0.2`): the prefix of every record id. */
  name: string;
  /** The partitions it writes, in turn. */
  targets: Array<[topic: string, partition: number]>;
  /** Size of each record value in bytes. */
  recordBytes: number;
  /** Records per batch (Sluice's producer; librdkafka batches by itself). */
  batchRecords: number;
  /** Records per second over all its partitions (default: as fast as acknowledgements come). */
  recordsPerSecond?: number;
}

/** One acknowledgement. */
export interface Ack {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Offset the broker gave the record. */
  offset: number;
  /** Record id: `<producer>:<sequence>`. */
  id: string;
  /** When the producer got the acknowledgement (ms since the epoch). */
  ts: number;
}

/** A line of a producer's output, parsed. */
export type WorkerLine =
  | { kind: "ready" }
  | { kind: "ack"; ack: Ack }
  | { kind: "error"; id: string; detail: string }
  | { kind: "fatal"; detail: string }
  | { kind: "other"; text: string };

/**
 * Formats an acknowledgement as an `A` line (without the newline).
 *
 * @example
 * ```ts
 * import { ackLine } from "./protocol.ts";
 * ackLine({ topic: "t", partition: 0, offset: 5, id: "s0.0:9", ts: 1 }); // "A t 0 5 s0.0:9 1"
 * ```
 *
 * @param ack The acknowledgement.
 * @returns The line.
 */
export function ackLine(ack: Ack): string {
  return `A ${ack.topic} ${ack.partition} ${ack.offset} ${ack.id} ${ack.ts}`;
}

/**
 * Parses one line of a producer's output.
 *
 * @param line The line, without its newline.
 * @returns The parsed line (`other` for anything that is not part of the protocol).
 */
export function parseWorkerLine(line: string): WorkerLine {
  if (line === "R") return { kind: "ready" };
  if (line.startsWith("A ")) {
    const f = line.split(" ");
    if (f.length === 6) {
      const ack = {
        topic: f[1],
        partition: Number(f[2]),
        offset: Number(f[3]),
        id: f[4],
        ts: Number(f[5]),
      };
      if (
        Number.isInteger(ack.partition) && Number.isInteger(ack.offset) && ack.offset >= -1 &&
        Number.isFinite(ack.ts)
      ) {
        return { kind: "ack", ack };
      }
    }
  } else if (line.startsWith("E ")) {
    const sp = line.indexOf(" ", 2);
    return sp < 0
      ? { kind: "error", id: line.slice(2), detail: "" }
      : { kind: "error", id: line.slice(2, sp), detail: line.slice(sp + 1) };
  } else if (line.startsWith("F ")) {
    return { kind: "fatal", detail: line.slice(2) };
  }
  return { kind: "other", text: line };
}

/** Splits a record id into producer name and sequence, or `undefined` when malformed. */
export function splitId(id: string): { producer: string; seq: number } | undefined {
  const colon = id.lastIndexOf(":");
  if (colon <= 0) return undefined;
  const seq = Number(id.slice(colon + 1));
  if (!Number.isSafeInteger(seq) || seq < 0 || id.slice(colon + 1) === "") return undefined;
  return { producer: id.slice(0, colon), seq };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SEPARATOR = 0x7c; // "|"

/** The padding byte of a record: `a` to `z` by sequence, so a shifted or mixed-up value shows. */
function padByte(seq: number): number {
  return 0x61 + (seq % 26);
}

/**
 * The value of record `id`: the id, `|`, then padding up to `size` bytes (at least the id and
 * separator).
 *
 * @example
 * ```ts
 * import { makeValue } from "./protocol.ts";
 * new TextDecoder().decode(makeValue("s0.0:1", 10)); // "s0.0:1|bbb"
 * ```
 *
 * @param id Record id (`<producer>:<sequence>`).
 * @param size Value size in bytes.
 * @returns The value.
 */
export function makeValue(id: string, size: number): Uint8Array {
  const head = encoder.encode(id + "|");
  const value = new Uint8Array(Math.max(size, head.length));
  value.set(head);
  value.fill(padByte(splitId(id)?.seq ?? 0), head.length);
  return value;
}

/**
 * Reads a record value written by {@linkcode makeValue}: its id, and whether the rest is intact
 * (length and padding as written).
 *
 * @param value The value bytes (`null` for a tombstone, which no producer writes).
 * @param size The expected value size.
 * @returns The id (`undefined` when there is none) and whether the value is intact.
 */
export function readValue(
  value: Uint8Array | null,
  size: number,
): { id: string | undefined; intact: boolean } {
  if (value === null) return { id: undefined, intact: false };
  const sep = value.subarray(0, 128).indexOf(SEPARATOR);
  if (sep <= 0) return { id: undefined, intact: false };
  const id = decoder.decode(value.subarray(0, sep));
  const parts = splitId(id);
  if (parts === undefined) return { id: undefined, intact: false };
  if (value.length !== Math.max(size, sep + 1)) return { id, intact: false };
  const pad = padByte(parts.seq);
  for (let i = sep + 1; i < value.length; i++) {
    if (value[i] !== pad) return { id, intact: false };
  }
  return { id, intact: true };
}
