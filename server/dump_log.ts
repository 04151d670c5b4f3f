// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Offline dumps of a partition's files, as Kafka's `kafka-dump-log.sh` (`DumpLogSegments`)
 * prints them: `.log` batches (and records with deep iteration), `.index` and `.timeindex`
 * entries checked against the log, `.txnindex` aborted transactions, producer `.snapshot`s and
 * `leader-epoch-checkpoint`. The files are read, never written, so a broker may be running.
 *
 * Sluice's offset index holds each indexed batch's base offset (Kafka's holds its last offset;
 * both find the batch), so `--verify-index-only` checks the batch at each position starts at
 * the indexed offset. The time index holds, like Kafka's, the largest timestamp so far and the
 * last offset of the batch holding it.
 *
 * @module
 */

import { readProducerSnapshot } from "../engine/producer_state.ts";
import { decodeAbortedTxns } from "../engine/transaction_index.ts";
import { parseEpochCheckpoint } from "../engine/leader_epoch_cache.ts";
import {
  INDEX_FILE_SUFFIX,
  LEADER_EPOCH_CHECKPOINT_FILE,
  LOG_FILE_SUFFIX,
  TIME_INDEX_FILE_SUFFIX,
  TXN_INDEX_FILE_SUFFIX,
} from "../engine/names.ts";
import { PRODUCER_SNAPSHOT_FILE_SUFFIX } from "../engine/producer_state.ts";
import {
  attributesAt,
  baseOffsetAt,
  baseSequenceAt,
  baseTimestampAt,
  batchLengthAt,
  COMPRESSION_CODEC_MASK,
  compressionName,
  computeCrcAt,
  CONTROL_BIT,
  crcAt,
  DELETE_HORIZON_BIT,
  incrementSequence,
  lastOffsetAt,
  lastOffsetDeltaAt,
  LOG_OVERHEAD,
  MAGIC_V2,
  magicAt,
  maxTimestampAt,
  partitionLeaderEpochAt,
  producerEpochAt,
  producerIdAt,
  RECORD_BATCH_OVERHEAD,
  recordCountAt,
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
} from "../records/layout.ts";
import { recordsAt } from "../records/batch_reader.ts";
import { decodeControlRecordKey, decodeEndTxnMarkerValue } from "../records/control.ts";
import { decodeCoordinatorRecord } from "./group/schemas.ts";
import { decodeTransactionLogKey, decodeTransactionLogValue } from "./txn/schemas.ts";

/** How record keys and values are printed with `--print-data-log`. */
export type DumpDecoder = "string" | "offsets" | "transaction-log";

/** Options of {@linkcode dumpLogFiles}, Kafka's flags. */
export interface DumpLogOptions {
  /** `--print-data-log`: print keys and values (implies deep iteration). */
  printDataLog?: boolean;
  /** `--deep-iteration`: print every record, not only batches. */
  deepIteration?: boolean;
  /** `--verify-index-only`: check index entries against the log without printing them. */
  verifyIndexOnly?: boolean;
  /** `--index-sanity-check`: only the checks a broker makes of an index at start. */
  indexSanityCheck?: boolean;
  /** `--max-bytes`: read at most this many bytes of each `.log` file. */
  maxBytes?: number;
  /** `--skip-record-metadata`: records without their offset, timestamp, sizes. */
  skipRecordMetadata?: boolean;
  /** `--offsets-decoder` / `--transaction-log-decoder`; default: UTF-8 strings. */
  decoder?: DumpDecoder;
}

/** Where {@linkcode dumpLogFiles} writes. */
export interface DumpOutput {
  /** Standard output. */
  stdout(text: string): void;
  /** Standard error (mismatches, invalid files). */
  stderr(text: string): void;
}

const decoder = new TextDecoder();
const INDEX_ENTRY = 8;
const TIME_INDEX_ENTRY = 12;

/** The base offset of a segment file named `<20 digits>.<suffix>`, or `undefined`. */
function baseOffsetOf(path: string): number | undefined {
  const m = /(?:^|\/)(\d{1,20})\.[a-z]+$/.exec(path);
  return m ? Number(m[1]) : undefined;
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

function siblingLog(path: string): string {
  return path.replace(/\.[a-z]+$/, LOG_FILE_SUFFIX);
}

async function readFile(path: string, maxBytes = Infinity): Promise<Uint8Array> {
  if (!Number.isFinite(maxBytes)) return await Deno.readFile(path);
  using f = await Deno.open(path, { read: true });
  const size = Math.min((await f.stat()).size, maxBytes);
  const buf = new Uint8Array(size);
  let n = 0;
  while (n < size) {
    const r = await f.read(buf.subarray(n));
    if (r === null) break;
    n += r;
  }
  return buf.subarray(0, n);
}

/** One whole batch in a `.log` file. */
interface BatchAt {
  pos: number;
  size: number;
}

/**
 * The whole batches at the start of `data`, as Kafka's `FileRecords.batches` sees them: it
 * stops at a batch the bytes left cannot hold (a truncated tail) or whose length field is
 * impossible.
 */
function batchesOf(data: Uint8Array): { batches: BatchAt[]; validBytes: number } {
  const batches: BatchAt[] = [];
  let pos = 0;
  while (data.length - pos > LOG_OVERHEAD + 5) {
    const length = batchLengthAt(data, pos);
    const size = LOG_OVERHEAD + length;
    if (length < 0 || size < RECORD_BATCH_OVERHEAD || size > data.length - pos) break;
    batches.push({ pos, size });
    pos += size;
  }
  return { batches, validBytes: pos };
}

function optionalLong(v: number): string {
  return v < 0 ? "OptionalLong.empty" : `OptionalLong[${v}]`;
}

/** A batch's header line (Kafka's `printBatchLevel`). */
function batchLine(data: Uint8Array, { pos, size }: BatchAt, position: number): string {
  const attributes = attributesAt(data, pos);
  const baseSequence = baseSequenceAt(data, pos);
  const magic = magicAt(data, pos);
  const crc = crcAt(data, pos);
  const valid = magic === MAGIC_V2 && crc === computeCrcAt(data, pos);
  const codec = compressionName(attributes & COMPRESSION_CODEC_MASK) ?? "unknown";
  const timestampType = attributes & TIMESTAMP_TYPE_BIT ? "LogAppendTime" : "CreateTime";
  return `baseOffset: ${baseOffsetAt(data, pos)} lastOffset: ${lastOffsetAt(data, pos)} ` +
    `count: ${recordCountAt(data, pos)} baseSequence: ${baseSequence} lastSequence: ${
      baseSequence < 0 ? -1 : incrementSequence(baseSequence, lastOffsetDeltaAt(data, pos))
    } producerId: ${producerIdAt(data, pos)} producerEpoch: ${producerEpochAt(data, pos)} ` +
    `partitionLeaderEpoch: ${partitionLeaderEpochAt(data, pos)} isTransactional: ${
      (attributes & TRANSACTIONAL_BIT) !== 0
    } isControl: ${(attributes & CONTROL_BIT) !== 0} deleteHorizonMs: ${
      optionalLong(attributes & DELETE_HORIZON_BIT ? baseTimestampAt(data, pos) : -1)
    } position: ${position} ${timestampType}: ${maxTimestampAt(data, pos)} size: ${size} ` +
    `magic: ${magic} compresscodec: ${codec} crc: ${crc} isvalid: ${valid}\n`;
}

/** Formats a key or value for `--print-data-log`, per decoder. */
function parseRecord(
  decoderName: DumpDecoder,
  offset: number,
  key: Uint8Array | null,
  value: Uint8Array | null,
): [string | null, string | null] {
  if (decoderName === "string") {
    return [
      key === null ? null : decoder.decode(key),
      value === null ? null : decoder.decode(value),
    ];
  }
  if (key === null) {
    const topic = decoderName === "offsets" ? "offset topic" : "transaction log";
    return [
      `Failed to decode message at offset ${offset} using ${topic} decoder (message had a missing key)`,
      null,
    ];
  }
  try {
    if (decoderName === "transaction-log") {
      const id = decodeTransactionLogKey(key);
      if (value === null) return [`transaction_metadata::transactionalId=${id}`, "<DELETE>"];
      const v = decodeTransactionLogValue(value);
      const partitions = [...v.partitions].flatMap(([t, ps]) => [...ps].map((p) => `${t}-${p}`));
      return [
        `transaction_metadata::transactionalId=${id}`,
        `producerId:${v.producerId},producerEpoch:${v.producerEpoch},state=${v.state},` +
        `partitions=[${partitions.join(",")}],txnLastUpdateTimestamp=${v.lastUpdateTimestamp},` +
        `txnTimeoutMs=${v.timeoutMs}`,
      ];
    }
    return offsetsRecord(offset, key, value);
  } catch (e) {
    return [`Error at offset ${offset}, skipping. ${e instanceof Error ? e.message : e}`, null];
  }
}

/** `__consumer_offsets` records as Kafka's `OffsetsMessageParser` prints them (JSON). */
function offsetsRecord(
  offset: number,
  key: Uint8Array,
  value: Uint8Array | null,
): [string | null, string | null] {
  const type = key.length >= 2 ? new DataView(key.buffer, key.byteOffset).getInt16(0) : -1;
  const version = value !== null && value.length >= 2
    ? new DataView(value.buffer, value.byteOffset).getInt16(0)
    : -1;
  const r = decodeCoordinatorRecord(key, value);
  if (r === null) return [`Unknown record type ${type} at offset ${offset}, skipping.`, null];
  const k = (data: unknown) => JSON.stringify({ type: String(type), data });
  const v = (data: unknown) =>
    value === null ? "<DELETE>" : JSON.stringify({ version: String(version), data });
  switch (r.kind) {
    case "offset": {
      const o = r.value;
      return [
        k({ group: r.groupId, topic: r.topic, partition: r.partition }),
        v(
          o === null ? null : {
            offset: o.offset,
            ...(version >= 3 ? { leaderEpoch: o.leaderEpoch } : {}),
            metadata: o.metadata,
            commitTimestamp: o.commitTimestamp,
            ...(version === 1 ? { expireTimestamp: o.expireTimestamp } : {}),
          },
        ),
      ];
    }
    case "group": {
      const g = r.value;
      return [
        k({ group: r.groupId }),
        v(
          g === null ? null : {
            protocolType: g.protocolType,
            generation: g.generationId,
            protocol: g.protocolName,
            leader: g.leaderId,
            currentStateTimestamp: g.stateTimestamp,
            members: g.members.map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              rebalanceTimeout: m.rebalanceTimeoutMs,
              sessionTimeout: m.sessionTimeoutMs,
              subscription: base64(m.subscription),
              assignment: base64(m.assignment),
            })),
          },
        ),
      ];
    }
    case "consumer-group":
      return [k({ groupId: r.groupId }), v(r.value)];
    case "consumer-member":
    case "consumer-assignment":
      return [k({ groupId: r.groupId, memberId: r.memberId }), v(r.value)];
    case "consumer-regex":
      return [k({ groupId: r.groupId, regularExpression: r.regex }), v(r.value)];
  }
}

function base64(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

/** The records of a batch (deep iteration), or why they cannot be read. */
function recordLines(
  data: Uint8Array,
  batch: BatchAt,
  options: DumpLogOptions,
  printContents: boolean,
  onOffset: (offset: number) => void,
): string {
  const { pos, size } = batch;
  const attributes = attributesAt(data, pos);
  const control = (attributes & CONTROL_BIT) !== 0;
  const timestampType = attributes & TIMESTAMP_TYPE_BIT ? "LogAppendTime" : "CreateTime";
  const baseSequence = baseSequenceAt(data, pos);
  let out = "";
  try {
    const r = recordsAt(data, pos, size);
    while (r.next()) {
      onOffset(r.offset);
      let line = "| ";
      if (!options.skipRecordMetadata) {
        const delta = r.offset - baseOffsetAt(data, pos);
        line += `offset: ${r.offset} ${timestampType}: ${r.timestamp} keySize: ${
          r.key?.length ?? -1
        } valueSize: ${r.value?.length ?? -1} sequence: ${
          baseSequence < 0 ? -1 : incrementSequence(baseSequence, delta)
        } headerKeys: [${r.headers().map((h) => h.key).join(",")}]`;
        if (control) {
          const type = decodeControlRecordKey(r.key);
          line += type === 0 || type === 1
            ? ` endTxnMarker: ${type === 0 ? "ABORT" : "COMMIT"} coordinatorEpoch: ${
              decodeEndTxnMarkerValue(r.value)
            }`
            : ` controlType: UNKNOWN(${type})`;
        }
      }
      if (printContents && !control) {
        const [key, payload] = parseRecord(options.decoder ?? "string", r.offset, r.key, r.value);
        const sep = line === "| " ? "" : " ";
        if (key !== null) line += `${sep}key: ${key}`;
        if (payload !== null) line += ` payload: ${payload}`;
      }
      out += line + "\n";
    }
  } catch (e) {
    out += `| cannot read the records of this batch: ${e instanceof Error ? e.message : e}\n`;
  }
  return out;
}

async function dumpLog(path: string, options: DumpLogOptions, out: DumpOutput): Promise<boolean> {
  const base = baseOffsetOf(path);
  if (base !== undefined) out.stdout(`Log starting offset: ${base}\n`);
  const maxBytes = options.maxBytes ?? Infinity;
  const data = await readFile(path, maxBytes);
  const printContents = (options.printDataLog ?? false) || options.decoder !== undefined;
  const deep = (options.deepIteration ?? false) || printContents;
  const { batches, validBytes } = batchesOf(data);
  const gaps: [number, number][] = [];
  let last = -1;
  let ok = true;
  for (const b of batches) {
    const line = batchLine(data, b, b.pos);
    if (line.endsWith(" isvalid: false\n")) ok = false;
    let text = line;
    if (deep) {
      text += recordLines(data, b, options, printContents, (offset) => {
        if (last !== -1 && offset !== last + 1) gaps.push([last, offset]);
        last = offset;
      });
    }
    out.stdout(text);
  }
  const trailing = data.length - validBytes;
  if (trailing > 0 && !Number.isFinite(maxBytes)) {
    out.stdout(`Found ${trailing} invalid bytes at the end of ${path.split("/").at(-1)}\n`);
    ok = false;
  }
  if (gaps.length > 0) {
    out.stderr(
      `Non-consecutive offsets in ${absolute(path)}\n` +
        gaps.map(([a, b]) => `  ${a} is followed by ${b}\n`).join(""),
    );
  }
  return ok;
}

/** `[offset, position]` entries of a `.index` file, or why it is not sane. */
function indexEntries(bytes: Uint8Array, base: number): [number, number][] | string {
  if (bytes.length % INDEX_ENTRY !== 0) {
    return `found ${bytes.length} bytes which is not a multiple of ${INDEX_ENTRY}`;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: [number, number][] = [];
  for (let p = 0; p < bytes.length; p += INDEX_ENTRY) {
    const e: [number, number] = [base + dv.getUint32(p), dv.getUint32(p + 4)];
    const prev = out.at(-1);
    if (prev && (e[0] <= prev[0] || e[1] <= prev[1])) {
      return `entry ${out.length} (offset ${e[0]}, position ${e[1]}) does not follow ` +
        `(offset ${prev[0]}, position ${prev[1]})`;
    }
    out.push(e);
  }
  return out;
}

/** `[timestamp, offset]` entries of a `.timeindex` file, or why it is not sane. */
function timeIndexEntries(bytes: Uint8Array, base: number): [number, number][] | string {
  if (bytes.length % TIME_INDEX_ENTRY !== 0) {
    return `found ${bytes.length} bytes which is not a multiple of ${TIME_INDEX_ENTRY}`;
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: [number, number][] = [];
  for (let p = 0; p < bytes.length; p += TIME_INDEX_ENTRY) {
    const e: [number, number] = [Number(dv.getBigInt64(p)), base + dv.getUint32(p + 8)];
    const prev = out.at(-1);
    if (prev && (e[0] < prev[0] || e[1] < prev[1])) {
      return `entry ${out.length} (timestamp ${e[0]}, offset ${e[1]}) does not follow ` +
        `(timestamp ${prev[0]}, offset ${prev[1]})`;
    }
    out.push(e);
  }
  return out;
}

async function dumpIndex(
  path: string,
  time: boolean,
  options: DumpLogOptions,
  out: DumpOutput,
): Promise<boolean> {
  const base = baseOffsetOf(path) ?? 0;
  const bytes = await Deno.readFile(path);
  const entries = time ? timeIndexEntries(bytes, base) : indexEntries(bytes, base);
  if (typeof entries === "string") {
    out.stderr(`${time ? "Time index" : "Index"} file ${absolute(path)} is corrupt: ${entries}\n`);
    return false;
  }
  if (options.indexSanityCheck) {
    out.stdout(`${path} passed sanity check.\n`);
    return true;
  }
  if (entries.length === 0) {
    out.stdout(`${path} is empty.\n`);
    return true;
  }
  let log: Uint8Array;
  try {
    log = await Deno.readFile(siblingLog(path));
  } catch (e) {
    out.stderr(`Cannot read ${siblingLog(path)}: ${e instanceof Error ? e.message : e}\n`);
    return false;
  }
  const { batches } = batchesOf(log);
  const byPosition = new Map(batches.map((x) => [x.pos, x]));
  // the first batch whose last offset is >= `offset` (batches are in offset order)
  const batchEndingFrom = (offset: number): BatchAt | undefined => {
    let lo = 0;
    let hi = batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (lastOffsetAt(log, batches[mid].pos) < offset) lo = mid + 1;
      else hi = mid;
    }
    return batches[lo];
  };
  // Kafka's reports, each under its own heading (DumpLogSegments' TimeIndexDumpErrors)
  const mismatches: string[] = [];
  const outOfOrder: string[] = [];
  const notFound: string[] = [];
  let prevTimestamp = -1;
  for (const [a, b] of entries) {
    if (!time) {
      // [offset, position]: a batch must start there, at that offset
      const batch = byPosition.get(b);
      const found = batch === undefined ? -1 : baseOffsetAt(log, batch.pos);
      if (found !== a) mismatches.push(`  Index offset: ${a}, log offset: ${found}\n`);
      if (!options.verifyIndexOnly) out.stdout(`offset: ${a} position: ${b}\n`);
      continue;
    }
    // [timestamp, offset]: the batch ending at that offset has that largest timestamp
    const batch = batchEndingFrom(b);
    const last = batch === undefined ? -1 : lastOffsetAt(log, batch.pos);
    if (last !== b) {
      notFound.push(`Indexed offset: ${b}, found log offset: ${last}\n`);
    } else {
      const ts = maxTimestampAt(log, batch!.pos);
      if (ts !== a) mismatches.push(`  Index timestamp: ${a}, log timestamp: ${ts}\n`);
      if (prevTimestamp >= a) {
        outOfOrder.push(
          `  Index timestamp: ${a}, Previously indexed timestamp: ${prevTimestamp}\n`,
        );
      }
    }
    if (!options.verifyIndexOnly) out.stdout(`timestamp: ${a} offset: ${b}\n`);
    prevTimestamp = a;
  }
  const abs = absolute(path);
  let report = "";
  if (mismatches.length > 0) {
    report += `${time ? "Found timestamp mismatch in :" : "Mismatches in :"}${abs}\n` +
      mismatches.join("");
  }
  if (outOfOrder.length > 0) {
    report += `Found out of order timestamp in :${abs}\n${outOfOrder.join("")}`;
  }
  if (notFound.length > 0) {
    report += `The following indexed offsets are not found in the log.\n${notFound.join("")}`;
  }
  if (report !== "") out.stderr(report);
  return report === "";
}

async function dumpTxnIndex(path: string, out: DumpOutput): Promise<boolean> {
  const entries = decodeAbortedTxns(await Deno.readFile(path), baseOffsetOf(path) ?? 0);
  if (typeof entries === "string") {
    out.stderr(`Transaction index file ${absolute(path)} is corrupt: ${entries}\n`);
    return false;
  }
  out.stdout(
    entries.map((e) =>
      `version: 0 producerId: ${e.producerId} firstOffset: ${e.firstOffset} ` +
      `lastOffset: ${e.lastOffset} lastStableOffset: ${e.lastStableOffset}\n`
    ).join(""),
  );
  return true;
}

async function dumpSnapshot(path: string, out: DumpOutput): Promise<boolean> {
  let entries;
  try {
    entries = readProducerSnapshot(await Deno.readFile(path));
  } catch (e) {
    out.stderr(`Corrupt snapshot ${absolute(path)}: ${e instanceof Error ? e.message : e}\n`);
    return false;
  }
  for (const e of entries) {
    let line = `producerId: ${e.producerId} producerEpoch: ${e.producerEpoch} ` +
      `coordinatorEpoch: ${e.coordinatorEpoch} currentTxnFirstOffset: ${
        optionalLong(e.currentTxnFirstOffset)
      } lastTimestamp: ${e.lastTimestamp} `;
    const m = e.batches.at(-1);
    if (m !== undefined) {
      line +=
        `firstSequence: ${m.firstSeq} lastSequence: ${m.lastSeq} lastOffset: ${m.lastOffset} ` +
        `offsetDelta: ${m.lastOffset - m.firstOffset} timestamp: ${m.timestamp}`;
    }
    out.stdout(line + "\n");
  }
  return true;
}

async function dumpEpochCheckpoint(path: string, out: DumpOutput): Promise<boolean> {
  try {
    const entries = parseEpochCheckpoint(await Deno.readTextFile(path));
    out.stdout(entries.map((e) => `epoch: ${e.epoch} startOffset: ${e.startOffset}\n`).join(""));
    return true;
  } catch (e) {
    out.stderr(`Corrupt ${absolute(path)}: ${e instanceof Error ? e.message : e}\n`);
    return false;
  }
}

/**
 * Dumps segment and partition files as `kafka-dump-log.sh --files` does, each after a
 * `Dumping FILE` line; what does not check out (CRC, index entries, trailing bytes) is reported,
 * not thrown. Needs `--allow-read`.
 *
 * @example
 * ```ts ignore
 * import { dumpLogFiles } from "./dump_log.ts";
 * await dumpLogFiles(["data/teste-0/00000000000000000000.log"], { deepIteration: true }, {
 *   stdout: (t) => console.log(t.trimEnd()),
 *   stderr: (t) => console.error(t.trimEnd()),
 * });
 * ```
 *
 * @param files Paths of `.log`, `.index`, `.timeindex`, `.txnindex`, `.snapshot` and
 *   `leader-epoch-checkpoint` files.
 * @param options Kafka's flags.
 * @param out Where to write.
 * @returns Whether every file was whole and consistent: no batch with a bad CRC (printed with
 *   `isvalid: false`), no invalid bytes at a log's end, index entries matching the log, sane
 *   index, snapshot and checkpoint files. Non-consecutive offsets (normal after compaction) are
 *   reported on stderr, as by Kafka's tool, but do not count.
 * @throws {Deno.errors.NotFound} If a file does not exist (and other read errors).
 */
export async function dumpLogFiles(
  files: string[],
  options: DumpLogOptions,
  out: DumpOutput,
): Promise<boolean> {
  let ok = true;
  for (const path of files) {
    out.stdout(`Dumping ${path}\n`);
    const name = path.split("/").at(-1)!;
    if (name.endsWith(LOG_FILE_SUFFIX)) {
      ok = await dumpLog(path, options, out) && ok;
    } else if (name.endsWith(INDEX_FILE_SUFFIX)) {
      ok = await dumpIndex(path, false, options, out) && ok;
    } else if (name.endsWith(TIME_INDEX_FILE_SUFFIX)) {
      ok = await dumpIndex(path, true, options, out) && ok;
    } else if (name.endsWith(TXN_INDEX_FILE_SUFFIX)) {
      ok = await dumpTxnIndex(path, out) && ok;
    } else if (name.endsWith(PRODUCER_SNAPSHOT_FILE_SUFFIX)) {
      ok = await dumpSnapshot(path, out) && ok;
    } else if (name === LEADER_EPOCH_CHECKPOINT_FILE) {
      ok = await dumpEpochCheckpoint(path, out) && ok;
    } else {
      out.stderr(`Ignoring unknown file ${path}\n`);
    }
  }
  return ok;
}
