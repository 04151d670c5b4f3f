/**
 * Loads a partition log from its directory, recovering after a crash: an interrupted cleaner
 * swap is completed or rolled back (`cleaner_swap.ts`), then stray `.deleted`, `.cleaned`,
 * `.swap` and temporary files are removed; after a clean shutdown the index files
 * are trusted (after sanity checks); otherwise every segment from the one holding the recovery
 * point on is re-validated batch by batch (WASM), a torn or corrupt tail is cut (and logged with
 * the offset and byte position) and its indexes rebuilt. The producer state is loaded from its
 * latest snapshot; transaction indexes (`.txnindex`) that are missing or corrupt, and those of
 * re-validated segments, are rebuilt from the markers in the log.
 *
 * Also creates new partition logs ({@linkcode createPartitionLog}) and disposes of partition
 * directories no topic owns ({@linkcode disposeUnownedPartitionDir}). Segment `.log` handles go
 * through the manager's handle cache (`handle_cache.ts`): loading or creating thousands of
 * partitions holds at most that many descriptors.
 *
 * @module
 */

import type { LogConfig } from "./config.ts";
import {
  CLEANED_FILE_SUFFIX,
  DELETED_FILE_SUFFIX,
  INDEX_FILE_SUFFIX,
  LOG_FILE_SUFFIX,
  parseSegmentFileName,
  PARTITION_METADATA_FILE,
  STRAY_DIR_SUFFIX,
  SWAP_FILE_SUFFIX,
  TEMP_FILE_SUFFIX,
  TIME_INDEX_FILE_SUFFIX,
  TXN_INDEX_FILE_SUFFIX,
} from "./names.ts";
import { PRODUCER_SNAPSHOT_FILE_SUFFIX } from "./producer_state.ts";
import { completeSwaps } from "./cleaner_swap.ts";
import { PartitionLog, type PartitionLogHooks } from "./partition_log.ts";
import { LogSegment, removeIfExists } from "./segment.ts";
import { ProducerStateManager } from "./producer_state.ts";
import { LeaderEpochCache } from "./leader_epoch_cache.ts";

/** What the loader needs to know about a partition. */
export interface LoadParams {
  /** Partition directory (created if missing). */
  dir: string;
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Log settings. */
  config: LogConfig;
  /** Whether the data dir had a clean shutdown marker. */
  cleanShutdown: boolean;
  /** Checkpointed recovery point (undefined: recover everything). */
  recoveryPoint?: number;
  /** Checkpointed log start offset. */
  logStartOffset?: number;
  /** The log cleaner has cleaned this log (offset gaps are legal even if no longer compacted). */
  cleaned?: boolean;
  /** Checkpointed high watermark (`replication-offset-checkpoint`, cluster mode), if any. */
  highWatermark?: number;
  /** Hooks for the log. */
  hooks?: PartitionLogHooks;
}

/**
 * Opens (and if needed recovers) the partition log in `params.dir`.
 * Requires `--allow-read` and `--allow-write`.
 *
 * @param params Directory, names, config and checkpoint state.
 * @returns The loaded log, positioned after its last valid batch.
 *
 * @example
 * ```ts ignore
 * import { loadPartitionLog } from "./log_loader.ts";
 * import { effectiveConfigs, toLogConfig } from "./config.ts";
 * const log = await loadPartitionLog({
 *   dir: "/data/t-0", topic: "t", partition: 0,
 *   config: toLogConfig(effectiveConfigs({}, {})), cleanShutdown: false,
 * });
 * ```
 */
export async function loadPartitionLog(params: LoadParams): Promise<PartitionLog> {
  const { dir, config } = params;
  const log = params.hooks?.logger ?? (() => {});
  const name = `${params.topic}-${params.partition}`;
  await Deno.mkdir(dir, { recursive: true });
  await completeSwaps(dir, log); // log cleaner: finish or roll back an interrupted swap
  const compacted = config.cleanupPolicy.includes("compact") || params.cleaned === true;
  const bases: number[] = [];
  const indexFiles: { base: number; path: string }[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile) continue;
    const path = `${dir}/${e.name}`;
    if (
      e.name.endsWith(DELETED_FILE_SUFFIX) || e.name.endsWith(CLEANED_FILE_SUFFIX) ||
      e.name.endsWith(SWAP_FILE_SUFFIX) || e.name.endsWith(TEMP_FILE_SUFFIX)
    ) {
      log(`${name}: removing stray file ${e.name}`);
      await removeIfExists(path);
      continue;
    }
    const parsed = parseSegmentFileName(e.name);
    if (!parsed) continue;
    if (parsed.suffix === LOG_FILE_SUFFIX) bases.push(parsed.baseOffset);
    else if (
      parsed.suffix === INDEX_FILE_SUFFIX || parsed.suffix === TIME_INDEX_FILE_SUFFIX ||
      parsed.suffix === TXN_INDEX_FILE_SUFFIX
    ) {
      indexFiles.push({ base: parsed.baseOffset, path });
    }
  }
  bases.sort((a, b) => a - b);
  for (const f of indexFiles) {
    if (!bases.includes(f.base)) {
      log(`${name}: removing orphan index ${f.path}`);
      await removeIfExists(f.path);
    }
  }
  const segments: LogSegment[] = [];
  if (bases.length === 0) {
    // no file until the partition is used (a partition created lazily and never written)
    segments.push(LogSegment.createLazy(dir, params.logStartOffset ?? 0, params.hooks?.handles));
  }
  const rp = params.recoveryPoint;
  let recoverFrom = bases.length; // index of the first segment to re-validate
  if (!params.cleanShutdown) {
    recoverFrom = 0;
    if (rp !== undefined) {
      for (let i = 0; i < bases.length; i++) if (bases[i] <= rp) recoverFrom = i;
    }
  }
  let recovered = false;
  const rebuildTxnIndexes = new Set<LogSegment>(); // rebuilt when the producer state is loaded
  // leader epochs of the re-validated batches (a follower's checkpoint may lag its log)
  const recoveredEpochs: { epoch: number; startOffset: number }[] = [];
  const txnIndexWhy = new Map<number, string>(); // base offset -> why its file is not trusted
  for (let i = 0; i < bases.length; i++) {
    const seg = new LogSegment(dir, bases[i], params.hooks?.handles);
    // compaction leaves offset gaps; a delete-only log's tail must continue exactly
    seg.allowOffsetGaps = compacted;
    const st = await Deno.stat(seg.logPath);
    seg.size = st.size;
    if (st.mtime) seg.lastModifiedMs = st.mtime.getTime();
    const isLast = i === bases.length - 1;
    let mustRecover = i >= recoverFrom;
    if (!mustRecover) {
      const why = await seg.loadIndexes();
      if (why) {
        log(`${name}: rebuilding indexes of segment ${bases[i]}: ${why}`);
        mustRecover = true;
      } else if (isLast) {
        const tailWhy = (await seg.loadTail()) || seg.checkIndexRange(seg.nextOffset);
        if (tailWhy) {
          log(`${name}: re-validating segment ${bases[i]}: ${tailWhy}`);
          mustRecover = true;
        }
      } else {
        seg.nextOffset = bases[i + 1];
        const rangeWhy = seg.checkIndexRange(seg.nextOffset);
        if (rangeWhy) {
          log(`${name}: rebuilding indexes of segment ${bases[i]}: ${rangeWhy}`);
          mustRecover = true;
        }
      }
    }
    if (!mustRecover) {
      const why = await seg.txnIndex.load();
      if (why) {
        txnIndexWhy.set(bases[i], why);
        rebuildTxnIndexes.add(seg);
      }
    } else {
      rebuildTxnIndexes.add(seg); // its markers may have been cut with a torn tail
    }
    if (mustRecover) {
      recovered = true;
      const r = await seg.recover(config.indexIntervalBytes);
      recoveredEpochs.push(...r.epochs);
      if (!isLast) seg.sealTimeIndex();
      try {
        await seg.writeIndexes(true);
      } catch (e) {
        // a full disk: the log opens without them (they stay dirty and are written later)
        log(`${name}: index files of segment ${bases[i]} not written: ${(e as Error).message}`);
      }
      if (r.truncatedBytes > 0) {
        // Only the invalid bytes go. Later segments are validated on their own and kept when
        // valid (the log then has an offset gap, as a compacted log may): deleting them would
        // throw away acknowledged records that are intact on disk.
        const upTo = isLast ? "" : ` up to ${bases[i + 1] - 1} at most`;
        log(
          `${name}: removed the invalid tail of segment ${bases[i]}: bytes ${r.validBytes}` +
            `..${r.validBytes + r.truncatedBytes} (${r.truncatedBytes} bytes), offsets from ` +
            `${seg.nextOffset}${upTo}: ${r.reason}`,
        );
        if (!isLast) recoverFrom = Math.min(recoverFrom, i + 1);
      }
      if (!isLast && seg.nextOffset > bases[i + 1]) {
        log(`${name}: segment ${bases[i]} overlaps segment ${bases[i + 1]}`);
      }
      if (!isLast && seg.size > 0) seg.nextOffset = Math.max(seg.nextOffset, bases[i]);
    }
    segments.push(seg);
  }
  const active = segments[segments.length - 1];
  if (active.nextOffset < active.baseOffset) active.nextOffset = active.baseOffset;
  if (recovered) await active.syncLog();
  active.activate(params.hooks?.hotTailBytes ?? 0);
  const leo = active.nextOffset;
  const recoveryPoint = params.cleanShutdown || recovered ? leo : Math.min(rp ?? 0, leo);
  const logStartOffset = params.logStartOffset ?? segments[0].baseOffset;
  if (txnIndexWhy.size > 0) {
    // one line per partition (a data dir from before .txnindex files has none anywhere)
    const listed = [...txnIndexWhy.keys()];
    const more = listed.length > 5 ? ` and ${listed.length - 5} more` : "";
    log(
      `${name}: rebuilding the transaction index of segment${listed.length > 1 ? "s" : ""} ` +
        `${listed.slice(0, 5).join(", ")}${more} from the log: ` +
        [...new Set(txnIndexWhy.values())].join("; "),
    );
  }
  // producers: latest valid snapshot <= LEO (<= the first transaction index to rebuild), then the
  // batches after it
  const producerState = new ProducerStateManager(dir, {
    expirationMs: params.hooks?.producerIdExpirationMs,
    logger: params.hooks?.logger,
  });
  await producerState.load(
    segments,
    logStartOffset,
    leo,
    params.cleanShutdown,
    Date.now(),
    rebuildTxnIndexes,
  );
  for (const seg of rebuildTxnIndexes) {
    try {
      await seg.txnIndex.write();
    } catch (e) {
      // a full disk: it stays dirty and is written at the next flush (or rebuilt at open)
      log(`${name}: transaction index of segment ${seg.baseOffset} not written: ${e}`);
    }
  }
  // leader epochs: the checkpoint, trimmed to the log (a log written before epochs were stamped
  // has none; the broker's epoch then starts at the log end offset, as after Kafka's upgrade)
  const { cache: leaderEpochs } = await LeaderEpochCache.load(
    dir,
    Math.min(Math.max(logStartOffset, segments[0].baseOffset), leo),
    leo,
    log,
  );
  // epochs the re-validated batches carry but the checkpoint lacks (written after it, as
  // Kafka's recovery assigns them): a replica's truncation point depends on them
  for (const e of recoveredEpochs) {
    if (e.startOffset >= logStartOffset) leaderEpochs.assign(e.epoch, e.startOffset);
  }
  const partitionLog = new PartitionLog(params.topic, params.partition, dir, config, {
    segments,
    logStartOffset,
    recoveryPoint,
    producerState,
    leaderEpochs,
    highWatermark: params.highWatermark,
  }, params.hooks);
  // written now only if the trimmed cache, with the log's own epoch assigned, differs from the
  // file (an empty log's entry is trimmed at load and assigned again: nothing to write)
  await partitionLog.flushLeaderEpochs();
  return partitionLog;
}

/**
 * Makes the log of a partition that the clean shutdown marker lists as never used (its
 * directory holds no segment file: {@linkcode PartitionLog.unmade}) without reading its directory:
 * an empty log at offset 0 whose segment files are made at its first use. Only for a data dir
 * that was shut down cleanly; the directory must exist.
 *
 * @param params Directory, names, config and checkpoint state (the log start offset must be 0).
 * @returns The empty log.
 *
 * @example
 * ```ts ignore
 * import { openUnmadePartitionLog } from "./log_loader.ts";
 * import { effectiveConfigs, toLogConfig } from "./config.ts";
 * const log = openUnmadePartitionLog({
 *   dir: "/data/t-0", topic: "t", partition: 0,
 *   config: toLogConfig(effectiveConfigs({}, {})), cleanShutdown: true,
 * });
 * ```
 */
export function openUnmadePartitionLog(params: LoadParams): PartitionLog {
  const seg = LogSegment.createLazy(params.dir, 0, params.hooks?.handles);
  seg.activate(params.hooks?.hotTailBytes ?? 0);
  return new PartitionLog(params.topic, params.partition, params.dir, params.config, {
    segments: [seg],
    logStartOffset: 0,
    recoveryPoint: 0,
    highWatermark: params.highWatermark,
  }, params.hooks);
}

/** What {@linkcode createPartitionLog} needs to know about a new partition. */
export interface CreateParams {
  /** Partition directory (must not exist, or be a leftover no topic owns). */
  dir: string;
  /** Topic name. */
  topic: string;
  /** Topic id, written to `partition.metadata`. */
  topicId: string;
  /** Partition index. */
  partition: number;
  /** Log settings. */
  config: LogConfig;
  /** Hooks for the log (and the handle cache). */
  hooks?: PartitionLogHooks;
}

/**
 * The text of a partition's `partition.metadata` (Kafka's format).
 *
 * @param topicId The topic id.
 * @returns The file's text.
 *
 * @example
 * ```ts
 * import { partitionMetadataText } from "./log_loader.ts";
 * console.assert(partitionMetadataText("x") === "version: 0\ntopic_id: x\n");
 * ```
 */
export function partitionMetadataText(topicId: string): string {
  return `version: 0\ntopic_id: ${topicId}\n`;
}

/**
 * Creates an empty partition log: its directory and `partition.metadata`, nothing fsynced (the
 * caller fsyncs the data dir once for every partition it creates, before the topic metadata
 * names them). The empty segment at offset 0 makes its files at its first use
 * ({@linkcode LogSegment.createLazy}), and fsyncs the directory with its first flushed bytes.
 * On failure whatever was made is removed.
 * Requires `--allow-read` and `--allow-write`.
 *
 * A leftover directory at `params.dir` is first disposed of with
 * {@linkcode disposeUnownedPartitionDir} (the caller guarantees no topic owns it); a leftover that
 * is not a directory makes the creation fail.
 *
 * @param params Directory, names, topic id, config, hooks.
 * @returns The new log.
 * @throws {Error} On I/O failure (nothing is left behind).
 *
 * @example
 * ```ts ignore
 * import { createPartitionLog } from "./log_loader.ts";
 * import { effectiveConfigs, toLogConfig } from "./config.ts";
 * const log = await createPartitionLog({
 *   dir: "/data/t-0", topic: "t", topicId: "AAAAAAAAAAAAAAAAAAAAAQ", partition: 0,
 *   config: toLogConfig(effectiveConfigs({}, {})),
 * });
 * ```
 */
export async function createPartitionLog(params: CreateParams): Promise<PartitionLog> {
  const { dir } = params;
  const logger = params.hooks?.logger ?? (() => {});
  try {
    await Deno.mkdir(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    const st = await Deno.lstat(dir);
    if (!st.isDirectory) {
      throw new Error(`cannot create partition directory ${dir}: a file of that name exists`);
    }
    await disposeUnownedPartitionDir(dir, logger);
    await Deno.mkdir(dir);
  }
  let seg: LogSegment | undefined;
  try {
    await Deno.writeTextFile(
      `${dir}/${PARTITION_METADATA_FILE}`,
      partitionMetadataText(params.topicId),
    );
    // the segment's files are made by its first use; the caller fsyncs the data dir once for
    // all the partitions it creates, before the topic metadata names them
    seg = LogSegment.createLazy(dir, 0, params.hooks?.handles);
    seg.activate(params.hooks?.hotTailBytes ?? 0);
    return new PartitionLog(params.topic, params.partition, dir, params.config, {
      segments: [seg],
      logStartOffset: 0,
      recoveryPoint: 0,
    }, params.hooks);
  } catch (e) {
    await seg?.close().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}

/**
 * Whether a partition directory holds nothing but what {@linkcode createPartitionLog} writes
 * before the first record: `partition.metadata`, an empty segment at offset 0 (its `.log` of 0
 * bytes, its index files, `.txnindex` included), a producer snapshot at offset 0 and temporary
 * files.
 *
 * @param dir The directory.
 * @returns Whether it holds no record and nothing else.
 *
 * @example
 * ```ts ignore
 * import { holdsNoRecords } from "./log_loader.ts";
 * console.log(await holdsNoRecords("/data/t-0"));
 * ```
 */
export async function holdsNoRecords(dir: string): Promise<boolean> {
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile) return false;
    if (e.name === PARTITION_METADATA_FILE || e.name.endsWith(TEMP_FILE_SUFFIX)) continue;
    const p = parseSegmentFileName(e.name);
    if (p === undefined || p.baseOffset !== 0) return false;
    if (p.suffix === LOG_FILE_SUFFIX) {
      if ((await Deno.stat(`${dir}/${e.name}`)).size !== 0) return false;
    } else if (
      p.suffix !== INDEX_FILE_SUFFIX && p.suffix !== TIME_INDEX_FILE_SUFFIX &&
      p.suffix !== TXN_INDEX_FILE_SUFFIX && p.suffix !== PRODUCER_SNAPSHOT_FILE_SUFFIX
    ) return false;
  }
  return true;
}

/**
 * Disposes of a partition directory that no topic owns (left by a topic or partition creation
 * that failed or was cut short by a crash before `sluice-topics.json` named it, or by a
 * deletion that did not finish): removed if it holds no record ({@linkcode holdsNoRecords}),
 * else renamed to `<name>.<id>-stray` and kept, as Kafka keeps stray logs, so that no record is
 * ever deleted by a guess. Both are logged.
 *
 * @param dir The directory.
 * @param logger Where to say what was done.
 * @returns `"removed"`, or the path it was renamed to.
 *
 * @example
 * ```ts ignore
 * import { disposeUnownedPartitionDir } from "./log_loader.ts";
 * await disposeUnownedPartitionDir("/data/gone-3", console.log);
 * ```
 */
export async function disposeUnownedPartitionDir(
  dir: string,
  logger: (msg: string) => void,
): Promise<string> {
  const name = dir.slice(dir.lastIndexOf("/") + 1);
  if (await holdsNoRecords(dir)) {
    await Deno.remove(dir, { recursive: true });
    logger(`removed partition directory ${name}: no topic owns it and it holds no record`);
    return "removed";
  }
  let id = crypto.randomUUID().replaceAll("-", "");
  try {
    const meta = await Deno.readTextFile(`${dir}/${PARTITION_METADATA_FILE}`);
    id = /^topic_id: ([A-Za-z0-9_-]{1,64})$/m.exec(meta)?.[1] ?? id;
  } catch {
    // no metadata: a random id
  }
  const suffix = `.${id}${STRAY_DIR_SUFFIX}`;
  // keep the name within 255 bytes (long topic names), as Kafka does for -delete names
  const to = `${dir.slice(0, dir.length - name.length)}${
    name.slice(0, 255 - suffix.length)
  }${suffix}`;
  await Deno.rename(dir, to);
  logger(
    `kept partition directory ${name} as ${to.slice(to.lastIndexOf("/") + 1)}: no topic owns ` +
      `it but it holds records (remove it when they are not needed)`,
  );
  return to;
}
