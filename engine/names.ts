/**
 * Kafka's on-disk names, in one place: segment file suffixes, checkpoint file names, the clean
 * shutdown marker, and helpers to build and parse them.
 *
 * @module
 */

/** Suffix of a segment's record-batch file. */
export const LOG_FILE_SUFFIX = ".log";
/** Suffix of a segment's sparse offset index. */
export const INDEX_FILE_SUFFIX = ".index";
/** Suffix of a segment's sparse time index. */
export const TIME_INDEX_FILE_SUFFIX = ".timeindex";
/**
 * Suffix of a segment's transaction index: the aborted transactions whose ABORT marker is in the
 * segment (Kafka's `.txnindex`, 34-byte entries).
 */
export const TXN_INDEX_FILE_SUFFIX = ".txnindex";
/** Suffix added to files of a segment scheduled for deletion. */
export const DELETED_FILE_SUFFIX = ".deleted";
/** Suffix of files written by the log cleaner before the swap. */
export const CLEANED_FILE_SUFFIX = ".cleaned";
/** Suffix of files about to replace live segment files. */
export const SWAP_FILE_SUFFIX = ".swap";
/** Suffix of the log cleaner's swap marker, `<base>.swapend`: the end offset a swap replaces. */
export const SWAP_END_FILE_SUFFIX = ".swapend";
/** Per data dir: `topic partition offset` lines, each compacted log's first dirty offset. */
export const CLEANER_OFFSET_CHECKPOINT_FILE = "cleaner-offset-checkpoint";
/** Suffix of temporary files written before an atomic rename. */
export const TEMP_FILE_SUFFIX = ".tmp";
/** Suffix of a partition directory being deleted (`<topic>-<partition>.<id>-delete`). */
export const DELETE_DIR_SUFFIX = "-delete";
/**
 * Suffix of a partition directory no topic owns but which holds records
 * (`<topic>-<partition>.<id>-stray`): kept for the operator, never loaded or deleted.
 */
export const STRAY_DIR_SUFFIX = "-stray";
/** Longest file or directory name most file systems accept (bytes; topic names are ASCII). */
export const MAX_FILE_NAME_LENGTH = 255;
/** Per data dir: `topic partition offset` lines, the offset up to which each log is flushed. */
export const RECOVERY_POINT_CHECKPOINT_FILE = "recovery-point-offset-checkpoint";
/**
 * Per data dir: `topic partition offset` lines, each replicated log's high watermark (Kafka's
 * name; cluster mode only: a standalone broker's high watermark is its log end offset).
 */
export const REPLICATION_OFFSET_CHECKPOINT_FILE = "replication-offset-checkpoint";
/** Per data dir: `topic partition offset` lines, each log's start offset. */
export const LOG_START_OFFSET_CHECKPOINT_FILE = "log-start-offset-checkpoint";
/** Present in a data dir only after a clean shutdown. */
export const CLEAN_SHUTDOWN_FILE = ".kafka_cleanshutdown";
/** Per data dir: topic names, ids, partition counts and config overrides (JSON). */
export const TOPIC_METADATA_FILE = "sluice-topics.json";
/** Per partition dir: Kafka's `partition.metadata` with the topic id. */
export const PARTITION_METADATA_FILE = "partition.metadata";
/** Per partition: each leader epoch and the offset of its first record (Kafka's name). */
export const LEADER_EPOCH_CHECKPOINT_FILE = "leader-epoch-checkpoint";
/** Version written on the first line of checkpoint files. */
export const CHECKPOINT_VERSION = 0;
/** The data directory's lock file (Kafka's name), held by the process using the directory. */
export const LOCK_FILE = ".lock";

/**
 * File name stem for a segment: the base offset zero-padded to 20 digits.
 *
 * @param baseOffset The segment's base offset.
 * @returns e.g. `00000000000000000042`.
 *
 * @example
 * ```ts
 * import { offsetFileStem } from "./names.ts";
 * console.assert(offsetFileStem(42) === "00000000000000000042");
 * ```
 */
export function offsetFileStem(baseOffset: number): string {
  return String(baseOffset).padStart(20, "0");
}

/**
 * The directory name of a partition log, `<topic>-<partition>`.
 *
 * @param topic Topic name.
 * @param partition Partition index.
 * @returns e.g. `orders-3`.
 *
 * @example
 * ```ts
 * import { partitionDirName } from "./names.ts";
 * console.assert(partitionDirName("orders", 3) === "orders-3");
 * ```
 */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/**
 * Parses a segment file name (`<20 digits><suffix>`) into its base offset and suffix.
 *
 * @param name A file name inside a partition directory.
 * @returns The base offset and suffix (e.g. `.log`, `.index.swap`), or `undefined` if the name is
 * not a segment file.
 *
 * @example
 * ```ts
 * import { parseSegmentFileName } from "./names.ts";
 * const p = parseSegmentFileName("00000000000000000042.log");
 * console.assert(p?.baseOffset === 42 && p.suffix === ".log");
 * ```
 */
export function parseSegmentFileName(
  name: string,
): { baseOffset: number; suffix: string } | undefined {
  const m = /^(\d{20})(\..+)$/.exec(name);
  if (!m) return undefined;
  return { baseOffset: Number(m[1]), suffix: m[2] };
}

/**
 * The name a partition directory is renamed to when its topic is deleted, as Kafka's
 * `LocalLog.logDeleteDirName`: `<topic>-<partition>.<uniqueId>-delete`, with the topic cut to a
 * prefix so that the whole name fits in 255 bytes (a 249-character topic would not fit
 * otherwise). The unique id is the topic id as 32 hex digits, so that a loader finding the
 * directory knows which topic's deletion it belongs to.
 *
 * @param topic Topic name.
 * @param partition Partition index.
 * @param topicId Topic id (22-character base64url).
 * @returns The directory name.
 *
 * @example
 * ```ts
 * import { logDeleteDirName } from "./names.ts";
 * const name = logDeleteDirName("t".repeat(249), 7, "AAAAAAAAAAAAAAAAAAAAAQ");
 * console.assert(name.length === 255);
 * console.assert(name.endsWith("-7.00000000000000000000000000000001-delete"));
 * ```
 */
export function logDeleteDirName(topic: string, partition: number, topicId: string): string {
  const suffix = `-${partition}.${topicIdHex(topicId)}${DELETE_DIR_SUFFIX}`;
  return topic.slice(0, Math.max(0, MAX_FILE_NAME_LENGTH - suffix.length)) + suffix;
}

/**
 * Parses a directory name made by {@linkcode logDeleteDirName}.
 *
 * @param name A directory name in the data directory.
 * @returns The (possibly shortened) topic, the partition and the unique id (the topic id in hex
 * for directories this version wrote), or `undefined` if `name` is no `-delete` directory.
 *
 * @example
 * ```ts
 * import { parseDeleteDirName } from "./names.ts";
 * const p = parseDeleteDirName("orders-3.0123456789abcdef0123456789abcdef-delete");
 * console.assert(p?.topicPrefix === "orders" && p.partition === 3);
 * console.assert(p?.uniqueId === "0123456789abcdef0123456789abcdef");
 * ```
 */
export function parseDeleteDirName(
  name: string,
): { topicPrefix: string; partition: number; uniqueId: string } | undefined {
  const m = /^(.*)-(\d+)\.([^.]+)-delete$/.exec(name);
  if (!m) return undefined;
  return { topicPrefix: m[1], partition: Number(m[2]), uniqueId: m[3] };
}

/**
 * A topic id (unpadded base64url) as lower-case hex digits (32 for a 16-byte id), the form of
 * Kafka's `-delete` directory unique ids.
 *
 * @param topicId Topic id.
 * @returns The hex digits.
 *
 * @example
 * ```ts
 * import { topicIdHex } from "./names.ts";
 * console.assert(topicIdHex("AAAAAAAAAAAAAAAAAAAA_w") === "000000000000000000000000000000ff");
 * ```
 */
export function topicIdHex(topicId: string): string {
  const b64 = topicId.replaceAll("-", "+").replaceAll("_", "/");
  let bin: string;
  try {
    bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  } catch {
    return topicId.replace(/[^a-zA-Z0-9]/g, "");
  }
  let hex = "";
  for (let i = 0; i < bin.length; i++) hex += bin.charCodeAt(i).toString(16).padStart(2, "0");
  return hex;
}
