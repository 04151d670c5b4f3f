// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * What the fault harness and its consumer processes share: the spec a consumer is started with
 * and the lines it prints on stdout (producers speak tests/chaos/protocol.ts):
 *
 * - `R`: the consumer is running and handles SIGTERM (stop: leave the group and exit);
 * - `C <topic> <partition> <offset> <id> <intact> <ms>`: it read record `id` (`-` when the value
 *   has none) at `offset`; `intact` is 1 when the value is as written;
 * - `K <topic> <partition> <offset> <ms>`: the group coordinator acknowledged a commit of
 *   `offset` (the next offset to read) for the partition;
 * - `E <detail>`: an error it carries on after (a failed commit, a poll that threw);
 * - `F <detail>`: it cannot go on and exits with code 3.
 *
 * `confluent_consumer.py` implements the same protocol in Python.
 *
 * @module
 */

/** How a consumer process is started (passed as one JSON argument). */
export interface ConsumerSpec {
  /** `host:port,…`. */
  bootstrap: string;
  /** Consumer name (client id). */
  name: string;
  /** `group.id`. */
  group: string;
  /** Topics it subscribes to. */
  topics: string[];
  /** Size the record values were written with. */
  recordBytes: number;
  /** How often it commits its positions, in milliseconds. */
  commitIntervalMs: number;
}

/** A record read. */
export interface ReadLine {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** Offset. */
  offset: number;
  /** The record id in the value, or `undefined` when there is none. */
  id: string | undefined;
  /** Whether the value is as written. */
  intact: boolean;
  /** When it was read (the consumer's clock, ms since the epoch). */
  ts: number;
}

/** A commit the coordinator acknowledged. */
export interface CommitLine {
  /** Topic. */
  topic: string;
  /** Partition. */
  partition: number;
  /** The committed offset (next to read). */
  offset: number;
  /** When the acknowledgement arrived (the consumer's clock). */
  ts: number;
}

/** A line of a consumer's output, parsed. */
export type ConsumerLine =
  | { kind: "ready" }
  | { kind: "read"; read: ReadLine }
  | { kind: "commit"; commit: CommitLine }
  | { kind: "error"; detail: string }
  | { kind: "fatal"; detail: string }
  | { kind: "other"; text: string };

/**
 * Formats a read as a `C` line (without the newline).
 *
 * @example
 * ```ts
 * import { readLine } from "./protocol.ts";
 * readLine({ topic: "t", partition: 0, offset: 3, id: "s0.0:7", intact: true, ts: 1 });
 * // "C t 0 3 s0.0:7 1 1"
 * ```
 *
 * @param r The read.
 * @returns The line.
 */
export function readLine(r: ReadLine): string {
  return `C ${r.topic} ${r.partition} ${r.offset} ${r.id ?? "-"} ${r.intact ? 1 : 0} ${r.ts}`;
}

/**
 * Formats an acknowledged commit as a `K` line (without the newline).
 *
 * @param c The commit.
 * @returns The line.
 */
export function commitLine(c: CommitLine): string {
  return `K ${c.topic} ${c.partition} ${c.offset} ${c.ts}`;
}

/**
 * Parses one line of a consumer's output.
 *
 * @example
 * ```ts
 * import { parseConsumerLine } from "./protocol.ts";
 * parseConsumerLine("K t 1 40 1700000000000").kind; // "commit"
 * ```
 *
 * @param line The line, without its newline.
 * @returns The parsed line (`other` for anything outside the protocol).
 */
export function parseConsumerLine(line: string): ConsumerLine {
  if (line === "R") return { kind: "ready" };
  const f = line.split(" ");
  if (f[0] === "C" && f.length === 7) {
    const read = {
      topic: f[1],
      partition: Number(f[2]),
      offset: Number(f[3]),
      id: f[4] === "-" ? undefined : f[4],
      intact: f[5] === "1",
      ts: Number(f[6]),
    };
    if (
      Number.isInteger(read.partition) && Number.isSafeInteger(read.offset) && read.offset >= 0 &&
      Number.isFinite(read.ts)
    ) {
      return { kind: "read", read };
    }
  } else if (f[0] === "K" && f.length === 5) {
    const commit = { topic: f[1], partition: Number(f[2]), offset: Number(f[3]), ts: Number(f[4]) };
    if (
      Number.isInteger(commit.partition) && Number.isSafeInteger(commit.offset) &&
      commit.offset >= 0 && Number.isFinite(commit.ts)
    ) {
      return { kind: "commit", commit };
    }
  } else if (line.startsWith("E ")) {
    return { kind: "error", detail: line.slice(2) };
  } else if (line.startsWith("F ")) {
    return { kind: "fatal", detail: line.slice(2) };
  }
  return { kind: "other", text: line };
}
