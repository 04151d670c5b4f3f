/**
 * The log manager: one data directory (Kafka's `log.dirs` entry) holding topics, their
 * partition logs, topic metadata and configs, checkpoints, and the background retention and
 * flush timers.
 *
 * Resources: segment `.log` handles are bounded by one LRU cache (`maxOpenFiles`,
 * `handle_cache.ts`), and the number of partitions by `maxPartitions` (Kafka's KIP-578
 * `max.broker.partitions`), checked before a creation changes anything.
 *
 * Topic creation and growth: `sluice-topics.json` is the commit point. The partition directories
 * are made (and fsynced) first, outside the metadata lock, while a per-topic lock keeps other
 * changes of the same topic out; only the check-and-reserve step and the final update of the
 * topic map and `sluice-topics.json` take the metadata lock, briefly. A failure or shutdown
 * before the commit removes the directories made; a crash leaves directories no topic owns,
 * which the next open removes (when they hold no record) or keeps as `-stray`.
 *
 * @module
 */

import { forEachConcurrently } from "./concurrency.ts";
import {
  describeTopicConfigs,
  effectiveConfigs,
  type LogConfig,
  toLogConfig,
  TOPIC_CONFIGS,
  type TopicConfigEntry,
  validateConfigValue,
  validateTopicConfigs,
} from "./config.ts";
import {
  type CheckpointEntry,
  formatCheckpoint,
  mkdirDurable,
  readCheckpointFile,
  syncDir,
  writeFileAtomic,
} from "./checkpoint.ts";
import { DataDirLock } from "./data_dir_lock.ts";
import { EngineError, ErrorCode, storageError } from "./errors.ts";
import {
  defaultOpenFilesBound,
  FileHandleCache,
  type FileHandleCacheStats,
} from "./handle_cache.ts";
import {
  createPartitionLog,
  disposeUnownedPartitionDir,
  loadPartitionLog,
  openUnmadePartitionLog,
  partitionMetadataText,
} from "./log_loader.ts";
import {
  CLEAN_SHUTDOWN_FILE,
  CLEANER_OFFSET_CHECKPOINT_FILE,
  DELETE_DIR_SUFFIX,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  logDeleteDirName,
  parseDeleteDirName,
  PARTITION_METADATA_FILE,
  partitionDirName,
  RECOVERY_POINT_CHECKPOINT_FILE,
  REPLICATION_OFFSET_CHECKPOINT_FILE,
  STRAY_DIR_SUFFIX,
  TOPIC_METADATA_FILE,
  topicIdHex,
} from "./names.ts";
import type { PartitionLog, PartitionLogHooks } from "./partition_log.ts";
import { Mutex } from "./segment.ts";
import { cleanerConfigOf, type CleanOptions, type CleanStats, LogCleaner } from "./cleaner.ts";
import { newTopicId, topicCollisionKey, validateTopicName } from "./topic_name.ts";
import { DEFAULT_LOG_THROTTLE_MS, ThrottledLog } from "./throttled_log.ts";

/** A topic as the manager knows it. */
export interface TopicInfo {
  /** Topic name. */
  name: string;
  /** Topic id: 22-character unpadded base64url UUID. */
  id: string;
  /** Number of partitions. */
  partitions: number;
  /** Explicit config overrides. */
  configs: Record<string, string>;
  /** Effective value of every topic config (overrides, then broker defaults, then Kafka's). */
  effective: Record<string, string>;
  /**
   * The partitions this data dir holds, in order, when it holds only some (cluster mode: the
   * partitions this broker is a replica of); absent when it holds all of them.
   */
  localPartitions?: number[];
}

/**
 * Counts of the background work a {@linkcode LogManager} did since it opened (for metrics:
 * retention and cleaner activity). Plain numbers, updated in place.
 */
export interface LogManagerActivity {
  /** Retention passes over every partition (the timer's and {@linkcode LogManager.runRetention}'s). */
  retentionRuns: number;
  /** Segments deleted by retention (`retention.ms`, `retention.bytes`, log start offset). */
  retentionSegmentsDeleted: number;
  /** Log cleaner passes. */
  cleanerRuns: number;
  /** Partitions the cleaner compacted. */
  cleanerPartitionsCleaned: number;
  /** Bytes the cleaner read. */
  cleanerBytesRead: number;
  /** Bytes the cleaner wrote to cleaned segments. */
  cleanerBytesWritten: number;
  /** Records the cleaner removed (superseded, expired tombstones, aborted, markers). */
  cleanerRecordsRemoved: number;
  /** Partitions whose cleaning failed (the error is logged; the pass goes on). */
  cleanerFailures: number;
}

/** Options of {@linkcode LogManager.open}. */
export interface LogManagerOptions {
  /** Broker-level topic config defaults, by topic config name (`retention.ms`, ...). */
  defaults?: Record<string, string>;
  /** Period of the retention check (Kafka's `log.retention.check.interval.ms`, 300000). */
  retentionCheckIntervalMs?: number;
  /** Period of checkpoint writes and `flush.ms` checks (Kafka: 60000). */
  flushCheckpointIntervalMs?: number;
  /** Diagnostic messages (recovery, deletions). */
  logger?: (msg: string) => void;
  /**
   * Least time between two log lines about the same kind of repeated failure (appends, index,
   * checkpoint or topics-file writes on a full disk), default 60000.
   */
  failureLogIntervalMs?: number;
  /** Bytes of each active segment's tail kept in memory (default 4 MiB). */
  hotTailBytes?: number;
  /** Pause between log cleaner passes (Kafka's `log.cleaner.backoff.ms`, 15000; <= 0: no timer). */
  cleanerBackoffMs?: number;
  /**
   * Most segment `.log` handles open at once, over all partitions (`sluice.log.max.open.files`);
   * idle ones are closed, least recently used first, and reopened on demand. Default: half the
   * process's open-file limit, or without `--allow-all` half the descriptors still free, up to
   * 1,024, counted in part at open and the rest at the first need (see `defaultOpenFilesBound` in
   * `handle_cache.ts`).
   */
  maxOpenFiles?: number;
  /**
   * Most partitions in this data dir, all topics (internal ones too) counted
   * (`max.broker.partitions`, KIP-578). A creation that would exceed it fails with
   * POLICY_VIOLATION and changes nothing. Default: unbounded.
   */
  maxPartitions?: number;
  /** The config name to quote when `maxPartitions` refuses a creation (`max.broker.partitions`). */
  maxPartitionsName?: string;
  /**
   * The directory's lock, if the caller took it before reading anything else in the directory
   * (the broker does, before `meta.properties`). The manager owns it from then on and releases it
   * on close. Default: the manager takes it first thing in `open`.
   */
  lock?: DataDirLock;
}

/** Options of the topic-changing methods. */
export interface ValidateOnlyOption {
  /** Check everything but change nothing. */
  validateOnly?: boolean;
}

/** Options of {@linkcode LogManager.createTopic} and {@linkcode LogManager.createPartitions}. */
export interface CreateOptions extends ValidateOnlyOption {
  /** Aborts the creation (e.g. broker shutdown): what was made is removed, nothing changes. */
  signal?: AbortSignal;
  /**
   * Cluster mode: the topic's id, chosen where the topic was created (createTopic only).
   * Default: a new random id.
   */
  topicId?: string;
  /**
   * Cluster mode: only these of the new partitions get a log in this data dir (the ones this
   * broker is a replica of). Default: every new partition.
   */
  localPartitions?: number[];
}

/** Options of {@linkcode LogManager.alterTopicConfigs}. */
export interface AlterConfigsOptions extends ValidateOnlyOption {
  /** Replace all overrides with `set` (legacy AlterConfigs) instead of changing incrementally. */
  replace?: boolean;
}

interface StoredTopic {
  name: string;
  id: string;
  partitions: number;
  configs: Record<string, string>;
  /** The partitions held here, ascending, when not all of them (cluster mode). */
  local?: number[];
}

/** The partitions of `t` this data dir holds, ascending. */
function localOf(t: StoredTopic): number[] {
  return t.local ?? Array.from({ length: t.partitions }, (_, i) => i);
}

/** Listener for appends: topic, partition, new log end offset. */
export type AppendListener = (topic: string, partition: number, logEndOffset: number) => void;

const MAX_PARTITIONS = 100_000;
/** Partition directories made, or logs opened or closed, at once. */
const IO_CONCURRENCY = 16;

/**
 * Owns one data directory. Open it with {@linkcode LogManager.open}; always {@linkcode
 * LogManager.close} it so the next open can trust the index files (clean shutdown marker).
 *
 * @example Create a topic, append, read
 * ```ts ignore
 * import { LogManager } from "./log_manager.ts";
 *
 * const mgr = await LogManager.open(await Deno.makeTempDir());
 * await mgr.createTopic("orders", 1);
 * const log = mgr.partition("orders", 0)!;
 * const { baseOffset } = await log.append(batchBytes);
 * const { records } = await log.read(baseOffset, 1 << 20);
 * await mgr.close();
 * ```
 */
export class LogManager {
  /** The data directory. */
  readonly dir: string;
  #defaults: Record<string, string>;
  #options: LogManagerOptions;
  #topics = new Map<string, StoredTopic>();
  /** {@linkcode LogManager.#effectiveOf}'s cache, by the stored topic object. */
  #effective = new WeakMap<
    StoredTopic,
    {
      configs: Record<string, string>;
      defaults: Record<string, string>;
      effective: Readonly<Record<string, string>>;
    }
  >();
  /**
   * Each topic's logs held here, ascending by partition (all of them unless `local` says). A hole
   * (`undefined`) is a partition the clean shutdown marker listed as never used, whose log is
   * made at its first use ({@linkcode LogManager.partition}): until then it costs nothing, and
   * the periodic work, the checkpoints and the close skip it (issue #17).
   */
  #logs = new Map<string, (PartitionLog | undefined)[]>();
  #listeners = new Set<AppendListener>();
  #meta = new Mutex();
  #checkpointLock = new Mutex();
  #timers: ReturnType<typeof setInterval>[] = [];
  #closed = false;
  #closing: Promise<void> | undefined;
  #cleanShutdown = false;
  /** From the clean shutdown marker: the partitions without segment files, by topic id. */
  #unmade = new Map<string, [number, number][]>();
  #recoveryPoints = new Map<string, number>();
  #startOffsets = new Map<string, number>();
  /** High watermarks read from `replication-offset-checkpoint` (cluster mode). */
  #highWatermarks = new Map<string, number>();
  /** Whether `replication-offset-checkpoint` exists (written only once a log is replicated). */
  #hwCheckpointExists = false;
  /** Text of each checkpoint file as this manager last wrote it, by file name. */
  #checkpointTexts = new Map<string, string>();
  // log cleaner (cleaner.ts): compaction of cleanup.policy=compact logs
  #cleaner = new LogCleaner();
  /** Retention and cleaner work done since open (for metrics). */
  readonly activity: LogManagerActivity = {
    retentionRuns: 0,
    retentionSegmentsDeleted: 0,
    cleanerRuns: 0,
    cleanerPartitionsCleaned: 0,
    cleanerBytesRead: 0,
    cleanerBytesWritten: 0,
    cleanerRecordsRemoved: 0,
    cleanerFailures: 0,
  };
  #cleanerLock = new Mutex();
  #cleanerTimer: ReturnType<typeof setTimeout> | undefined;
  #cleanerStop = new AbortController();
  // resources (issue #11): open handles, the partition limit, per-topic admin locks
  readonly #handles: FileHandleCache;
  readonly #maxPartitions: number;
  /** Partitions being created (counted against the limit until committed or rolled back). */
  #reservedPartitions = 0;
  #topicLocks = new Map<string, { mutex: Mutex; users: number }>();
  #admin = new Set<Promise<unknown>>();
  #lock: DataDirLock | undefined;
  /** Repeated failures (a full disk), one line per kind and interval for all logs. */
  #throttled: ThrottledLog;
  /** `sluice-topics.json` is behind the topics in memory (a deletion could not write it). */
  #topicsDirty = false;
  /**
   * Emptied `-delete` directories of deleted topics, kept until `sluice-topics.json` no longer
   * lists the topic: they tell the loader to finish the deletion after a crash.
   */
  #deleteMarkers: string[] = [];

  private constructor(dir: string, defaults: Record<string, string>, options: LogManagerOptions) {
    this.dir = dir;
    this.#defaults = defaults;
    this.#options = options;
    const { capacity, grow } = options.maxOpenFiles === undefined
      ? defaultOpenFilesBound(dir)
      : { capacity: options.maxOpenFiles, grow: undefined };
    this.#handles = new FileHandleCache(capacity, { logger: (m) => this.#logger(m), grow });
    this.#maxPartitions = options.maxPartitions ?? Infinity;
    this.#throttled = new ThrottledLog(
      (m) => this.#logger(m),
      options.failureLogIntervalMs ?? DEFAULT_LOG_THROTTLE_MS,
    );
  }

  /**
   * Opens a data directory (created if missing), loading and if needed recovering every
   * partition log. Requires `--allow-read` and `--allow-write`.
   *
   * @param dir Data directory.
   * @param options Broker defaults, timer periods, logger.
   * @returns The manager.
   * @throws {EngineError} INVALID_CONFIG for bad defaults, `maxOpenFiles` or `maxPartitions`;
   * KAFKA_STORAGE_ERROR if the directory or the topic metadata cannot be read.
   *
   * @example
   * ```ts ignore
   * const mgr = await LogManager.open("./data", { defaults: { "retention.ms": "3600000" } });
   * ```
   */
  static async open(dir: string, options: LogManagerOptions = {}): Promise<LogManager> {
    let defaults: Record<string, string>;
    try {
      defaults = validateTopicConfigs(options.defaults ?? {});
      checkLimitOption(dir, "maxOpenFiles", options.maxOpenFiles, false);
      checkLimitOption(dir, "maxPartitions", options.maxPartitions, true);
    } catch (e) {
      options.lock?.release();
      throw e;
    }
    // nothing in the directory is read or written before its lock is held
    const lock = options.lock ?? await DataDirLock.acquire(dir);
    const mgr = new LogManager(dir, defaults, options);
    mgr.#lock = lock;
    try {
      await mgr.#load();
    } catch (e) {
      for (const logs of mgr.#logs.values()) {
        for (const l of logs) await l?.close().catch(() => {});
      }
      lock.release();
      throw storageError(`open of data dir ${dir} failed`, e);
    }
    mgr.#startTimers();
    return mgr;
  }

  get #logger(): (msg: string) => void {
    return this.#options.logger ?? (() => {});
  }

  async #load(): Promise<void> {
    await mkdirDurable(this.dir);
    const marker = `${this.dir}/${CLEAN_SHUTDOWN_FILE}`;
    try {
      this.#unmade = parseCleanShutdownMarker(await Deno.readTextFile(marker));
      this.#cleanShutdown = true;
    } catch {
      this.#cleanShutdown = false;
    }
    let stored: StoredTopic[] = [];
    try {
      const text = await Deno.readTextFile(`${this.dir}/${TOPIC_METADATA_FILE}`);
      const parsed = JSON.parse(text);
      if (parsed?.version !== 1 || !Array.isArray(parsed.topics)) {
        throw new Error(`unsupported topic metadata version ${parsed?.version}`);
      }
      stored = parsed.topics;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) {
        throw new Error(`cannot read ${TOPIC_METADATA_FILE}: ${(e as Error).message}`);
      }
    }
    // the data dir is listed once, synchronously: an entry at a time through the async iterator
    // costs a round trip to the I/O thread each (seconds for thousands of partitions), and
    // nothing else runs yet
    const listDirs = () => {
      const dirs: string[] = [];
      for (const e of Deno.readDirSync(this.dir)) if (e.isDirectory) dirs.push(e.name);
      return dirs;
    };
    let dirs = listDirs();
    const deleted = await this.#finishInterruptedDeletes(stored, dirs);
    stored = stored.filter((t) => !deleted.has(t));
    if (deleted.size > 0) dirs = listDirs(); // (after a crash) without the deleted topics'
    await this.#disposeUnownedDirs(stored, dirs);
    const onErr = (m: string) => this.#logger(m);
    this.#recoveryPoints = await readCheckpointFile(
      `${this.dir}/${RECOVERY_POINT_CHECKPOINT_FILE}`,
      onErr,
    );
    this.#startOffsets = await readCheckpointFile(
      `${this.dir}/${LOG_START_OFFSET_CHECKPOINT_FILE}`,
      onErr,
    );
    this.#highWatermarks = await readCheckpointFile(
      `${this.dir}/${REPLICATION_OFFSET_CHECKPOINT_FILE}`,
      onErr,
    );
    this.#hwCheckpointExists = this.#highWatermarks.size > 0;
    this.#cleaner = new LogCleaner({
      firstDirtyOffsets: await readCheckpointFile(
        `${this.dir}/${CLEANER_OFFSET_CHECKPOINT_FILE}`,
        onErr,
      ),
      logger: onErr,
    });
    const jobs: {
      t: StoredTopic;
      p: number;
      i: number;
      logs: (PartitionLog | undefined)[];
      cfg: LogConfig;
    }[] = [];
    for (const t of stored) {
      this.#topics.set(t.name, {
        ...t,
        configs: { ...t.configs },
        ...(t.local ? { local: [...t.local] } : {}),
      });
      const local = localOf(t);
      const logs = new Array<PartitionLog | undefined>(local.length);
      this.#logs.set(t.name, logs);
      const cfg = this.#logConfig(t.configs);
      // a partition the marker lists as never used stays a hole until its first use: nothing on
      // disk to read (its directory and partition.metadata were checked when it was created or
      // last opened)
      const unmade = this.#cleanShutdown ? this.#unmade.get(t.id) : undefined;
      local.forEach((p, i) => {
        const key = `${t.name}-${p}`;
        if ((this.#startOffsets.get(key) ?? 0) === 0 && inRanges(unmade, p)) return;
        jobs.push({ t, p, i, logs, cfg });
      });
    }
    // partitions load in parallel (Kafka's num.recovery.threads.per.data.dir); their `.log`
    // handles stay within the cache's bound
    await forEachConcurrently(jobs.length, IO_CONCURRENCY, async (j) => {
      const { t, p, i, logs, cfg } = jobs[j];
      logs[i] = await this.#openLog(t, p, cfg);
    });
    if (deleted.size > 0) {
      this.#topicsDirty = true;
      await this.#persistTopicsOrRetry();
    } else {
      await this.#removeDeleteMarkers();
    }
    this.#unmade = new Map();
    if (this.#cleanShutdown) {
      await Deno.remove(marker);
      await syncDir(this.dir);
    }
  }

  /**
   * Finds the `-delete` directories of the data dir. One named with the id of a topic that
   * `sluice-topics.json` still lists is a deletion a crash interrupted (the first rename is
   * deleteTopic's commit point): the topic's other partition directories are removed and the
   * topic is dropped. Every `-delete` directory is emptied (space first) and kept as a marker
   * until the topics file is written without the topic.
   *
   * @returns The stored topics whose deletion was finished.
   */
  async #finishInterruptedDeletes(
    stored: StoredTopic[],
    dirs: readonly string[],
  ): Promise<Set<StoredTopic>> {
    const deleted = new Set<StoredTopic>();
    const markers: string[] = [];
    for (const name of dirs) {
      if (!name.endsWith(DELETE_DIR_SUFFIX)) continue;
      markers.push(name);
      const parsed = parseDeleteDirName(name);
      const t = parsed && stored.find((s) => topicIdHex(s.id) === parsed.uniqueId);
      if (t) deleted.add(t);
    }
    for (const t of deleted) {
      this.#logger(`finishing the deletion of topic ${t.name} (id ${t.id}) a restart interrupted`);
      for (let p = 0; p < t.partitions; p++) {
        await removeIfPresent(`${this.dir}/${partitionDirName(t.name, p)}`);
      }
    }
    for (const m of markers.sort()) {
      this.#logger(`removing partially deleted directory ${m}`);
      await emptyDir(`${this.dir}/${m}`);
      this.#deleteMarkers.push(`${this.dir}/${m}`);
    }
    if (markers.length > 0) await syncDir(this.dir);
    return deleted;
  }

  /** Removes the emptied `-delete` markers once the topics file no longer needs them. */
  async #removeDeleteMarkers(): Promise<void> {
    if (this.#topicsDirty || this.#deleteMarkers.length === 0) return;
    const left: string[] = [];
    for (const d of this.#deleteMarkers) {
      try {
        await removeIfPresent(d);
      } catch (e) {
        left.push(d);
        this.#throttled.log("delete-dir", `removing ${d} failed (tried again later): ${e}`);
      }
    }
    this.#deleteMarkers = left;
    await syncDir(this.dir);
  }

  /**
   * Writes `sluice-topics.json`; on failure (a full disk) logs it and leaves it to the
   * checkpoint timer (the `-delete` markers keep a deletion crash-safe meanwhile).
   *
   * @returns Whether the file is written.
   */
  async #persistTopicsOrRetry(): Promise<boolean> {
    try {
      await this.#persistTopics();
      return true;
    } catch (e) {
      this.#topicsDirty = true;
      this.#throttled.log(
        "topics-file",
        `writing ${TOPIC_METADATA_FILE} failed (tried again every checkpoint interval): ` +
          `${(e as Error).message}`,
      );
      return false;
    }
  }

  #logConfig(overrides: Record<string, string>): LogConfig {
    return toLogConfig(effectiveConfigs(overrides, this.#defaults));
  }

  /**
   * Disposes of partition directories no stored topic owns (see `disposeUnownedPartitionDir`):
   * left by a creation a crash cut short before `sluice-topics.json` named them, or a deletion
   * that did not finish. Directories that do not look like `<topic>-<partition>` are left alone.
   */
  async #disposeUnownedDirs(stored: StoredTopic[], dirs: readonly string[]): Promise<void> {
    const owned = new Set<string>();
    for (const t of stored) for (const p of localOf(t)) owned.add(partitionDirName(t.name, p));
    const unowned: string[] = [];
    for (const name of dirs) {
      if (owned.has(name) || name.endsWith(DELETE_DIR_SUFFIX)) continue;
      if (name.endsWith(STRAY_DIR_SUFFIX)) {
        this.#logger(`keeping stray partition directory ${name} (no topic owns it)`);
        continue;
      }
      const m = /^(.+)-(0|[1-9]\d*)$/.exec(name);
      if (!m || !isTopicName(m[1])) continue;
      unowned.push(name);
    }
    for (const name of unowned) {
      await disposeUnownedPartitionDir(`${this.dir}/${name}`, (m) => this.#logger(m));
    }
  }

  #hooks(t: StoredTopic, p: number): PartitionLogHooks {
    return {
      logger: this.#options.logger,
      throttledLog: this.#throttled,
      hotTailBytes: this.#options.hotTailBytes ?? 4 * 1024 * 1024,
      handles: this.#handles,
      onAppend: (leo) => {
        for (const l of this.#listeners) {
          try {
            l(t.name, p, leo);
          } catch (e) {
            this.#logger(`append listener failed: ${e}`);
          }
        }
      },
      onLogStartOffset: () => {
        this.#tryWriteCheckpoints();
      },
    };
  }

  async #openLog(t: StoredTopic, p: number, cfg: LogConfig): Promise<PartitionLog> {
    const key = `${t.name}-${p}`;
    const dir = `${this.dir}/${partitionDirName(t.name, p)}`;
    const params = {
      dir,
      topic: t.name,
      partition: p,
      config: cfg,
      cleanShutdown: this.#cleanShutdown,
      recoveryPoint: this.#recoveryPoints.get(key),
      logStartOffset: this.#startOffsets.get(key),
      highWatermark: this.#highWatermarks.get(key),
      cleaned: this.#cleaner.hasCleaned(key),
      hooks: this.#hooks(t, p),
    };
    const log = await loadPartitionLog(params);
    const meta = partitionMetadataText(t.id);
    try {
      const old = await Deno.readTextFile(`${dir}/${PARTITION_METADATA_FILE}`);
      if (old !== meta) throw new Error("stale");
    } catch {
      await writeFileAtomic(`${dir}/${PARTITION_METADATA_FILE}`, new TextEncoder().encode(meta));
    }
    return log;
  }

  /**
   * Creates the empty logs of partitions `which` of `t` (several at once), then fsyncs the
   * data dir. On a failure, `signal`, or close, removes every directory it made and throws.
   */
  async #createLogs(
    what: string,
    t: StoredTopic,
    which: number[],
    signal: AbortSignal | undefined,
  ): Promise<PartitionLog[]> {
    const cfg = this.#logConfig(t.configs);
    const logs: PartitionLog[] = new Array(which.length);
    let failure: unknown;
    await forEachConcurrently(which.length, IO_CONCURRENCY, async (i) => {
      if (this.#closed) throw new Error("log manager is closing");
      if (signal?.aborted) throw new Error(`aborted: ${signal.reason ?? "no reason given"}`);
      const p = which[i];
      logs[i] = await createPartitionLog({
        dir: `${this.dir}/${partitionDirName(t.name, p)}`,
        topic: t.name,
        topicId: t.id,
        partition: p,
        config: cfg,
        hooks: this.#hooks(t, p),
      });
    }).catch((e) => failure = e);
    if (failure === undefined) await syncDir(this.dir);
    if (failure !== undefined) {
      const made = logs.filter((l) => l !== undefined);
      await this.#discardLogs(made);
      this.#logger(
        `${what} failed after making ${made.length} of ${which.length} partitions, which were ` +
          `removed: ${failure instanceof Error ? failure.message : failure}`,
      );
      throw storageError(`${what} failed`, failure);
    }
    return logs;
  }

  /** Closes logs that were never committed and removes their directories. */
  async #discardLogs(logs: PartitionLog[]): Promise<void> {
    await forEachConcurrently(logs.length, IO_CONCURRENCY, async (i) => {
      await logs[i].close().catch(() => {});
      try {
        await Deno.remove(logs[i].dir, { recursive: true });
      } catch (e) {
        // left for the next open (or creation) to dispose of: it holds no record
        if (!(e instanceof Deno.errors.NotFound)) {
          this.#logger(`cannot remove ${logs[i].dir} of a failed creation: ${e}`);
        }
      }
    });
  }

  /**
   * Runs a topic-changing operation under the topic's own lock ('.' and '_' share one), so
   * operations on other topics never wait for it; close waits for it.
   */
  #underTopicLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const key = typeof name === "string" ? topicCollisionKey(name) : "";
    let lock = this.#topicLocks.get(key);
    if (lock === undefined) {
      lock = { mutex: new Mutex(), users: 0 };
      this.#topicLocks.set(key, lock);
    }
    const l = lock;
    l.users++;
    const p = l.mutex.run(fn).finally(() => {
      if (--l.users === 0) this.#topicLocks.delete(key);
    });
    const settled = p.then(() => {}, () => {});
    this.#admin.add(settled);
    settled.then(() => this.#admin.delete(settled));
    return p;
  }

  /** Throws POLICY_VIOLATION if `adding` more partitions would exceed `maxPartitions`. */
  #checkPartitionLimit(what: string, adding: number): void {
    const existing = this.partitionCount;
    const total = existing + this.#reservedPartitions + adding;
    if (total <= this.#maxPartitions) return;
    const name = this.#options.maxPartitionsName ?? "max.broker.partitions";
    const pending = this.#reservedPartitions > 0
      ? ` and ${this.#reservedPartitions} being created`
      : "";
    throw new EngineError(
      ErrorCode.POLICY_VIOLATION,
      `${what} failed: ${adding} new partitions would make ${total} on this broker, more than ` +
        `${name}=${this.#maxPartitions} (${existing} exist${pending})`,
    );
  }

  #startTimers(): void {
    const retention = this.#options.retentionCheckIntervalMs ?? 300_000;
    const checkpoint = this.#options.flushCheckpointIntervalMs ?? 60_000;
    if (retention > 0) {
      const t = setInterval(() => {
        this.runRetention().catch((e) => this.#logger(`retention failed: ${e}`));
      }, retention);
      Deno.unrefTimer(t);
      this.#timers.push(t);
    }
    if (checkpoint > 0) {
      const t = setInterval(() => {
        this.#tick().catch((e) => this.#logger(`flush check failed: ${e}`));
      }, checkpoint);
      Deno.unrefTimer(t);
      this.#timers.push(t);
    }
    this.#scheduleCleaner();
  }

  #scheduleCleaner(): void {
    const backoff = this.#options.cleanerBackoffMs ?? 15_000;
    if (backoff <= 0 || this.#closed) return;
    this.#cleanerTimer = setTimeout(() => {
      this.runCleaner()
        .catch((e) => this.#logger(`log cleaner failed: ${e}`))
        .finally(() => this.#scheduleCleaner());
    }, backoff);
    Deno.unrefTimer(this.#cleanerTimer);
  }

  /**
   * Runs one log cleaner pass now over every partition whose `cleanup.policy` includes
   * `compact` (the background timer does this every `cleanerBackoffMs`), then writes
   * `cleaner-offset-checkpoint`. Passes never overlap; errors of one log are logged and the
   * pass goes on.
   *
   * @param options `now` (clock for lags and tombstone horizons), `force` (ignore the ratio).
   * @returns One entry per compacted partition.
   *
   * @example
   * ```ts ignore
   * const stats = await mgr.runCleaner({ force: true });
   * console.log(stats.map((s) => `${s.topic}-${s.partition}: ${s.reason}`));
   * ```
   */
  runCleaner(options: CleanOptions = {}): Promise<CleanStats[]> {
    return this.#cleanerLock.run(async () => {
      const out: CleanStats[] = [];
      if (this.#closed) return out;
      this.activity.cleanerRuns++;
      for (const [name, logs] of [...this.#logs]) {
        const t = this.#topics.get(name);
        if (!t) continue;
        const cfg = cleanerConfigOf(effectiveConfigs(t.configs, this.#defaults));
        for (const l of logs) {
          if (this.#closed) return out;
          if (l === undefined || !l.config.cleanupPolicy.includes("compact")) continue;
          try {
            const stats = await this.#cleaner.clean(l, cfg, {
              signal: this.#cleanerStop.signal,
              ...options,
            });
            out.push(stats);
            const a = this.activity;
            if (stats.cleaned) a.cleanerPartitionsCleaned++;
            a.cleanerBytesRead += stats.bytesRead;
            a.cleanerBytesWritten += stats.bytesWritten;
            a.cleanerRecordsRemoved += stats.recordsRemoved;
          } catch (e) {
            this.activity.cleanerFailures++;
            this.#throttled.log("cleaner", `log cleaner: ${name}-${l.partition}: ${e}`);
          }
        }
      }
      if (out.some((s) => s.cleaned)) await this.#writeCleanerCheckpoint();
      return out;
    });
  }

  async #writeCleanerCheckpoint(): Promise<void> {
    const live = new Set<string>();
    for (const [name, l] of this.#made()) live.add(`${name}-${l.partition}`);
    await writeFileAtomic(
      `${this.dir}/${CLEANER_OFFSET_CHECKPOINT_FILE}`,
      new TextEncoder().encode(formatCheckpoint(this.#cleaner.checkpointEntries(live))),
    );
  }

  async #tick(): Promise<void> {
    const now = Date.now();
    for (const [, l] of [...this.#made()]) {
      try {
        await l.maybeFlushByTime(now);
      } catch (e) {
        this.#throttled.log("flush", `${(e as Error).message}`);
      }
    }
    await this.#tryWriteCheckpoints();
    if (this.#topicsDirty) {
      await this.#meta.run(async () => {
        if (this.#topicsDirty && !this.#closed) await this.#persistTopicsOrRetry();
      });
    } else if (this.#deleteMarkers.length > 0) {
      await this.#meta.run(() => this.#removeDeleteMarkers());
    }
  }

  #checkOpen(what: string): void {
    if (this.#closed) {
      throw new EngineError(ErrorCode.KAFKA_STORAGE_ERROR, `${what} failed: log manager is closed`);
    }
  }

  #info(t: StoredTopic): TopicInfo {
    const info: TopicInfo = {
      name: t.name,
      id: t.id,
      partitions: t.partitions,
      configs: { ...t.configs },
      effective: this.#effectiveOf(t),
    };
    if (t.local !== undefined) info.localPartitions = [...t.local];
    return info;
  }

  /**
   * A topic's effective configs, computed again only when its overrides or the broker defaults
   * were replaced (both are replaced, never changed in place): `topic()` is called per partition
   * of every Produce and Fetch, and resolving all ~40 configs each time was 27% of the CPU of a
   * 1,000-partition consumer's poll (`bench/consumer_poll_bench.ts`). Frozen, as it is shared.
   */
  #effectiveOf(t: StoredTopic): Record<string, string> {
    const c = this.#effective.get(t);
    if (c !== undefined && c.configs === t.configs && c.defaults === this.#defaults) {
      return c.effective;
    }
    const effective = Object.freeze(effectiveConfigs(t.configs, this.#defaults));
    this.#effective.set(t, { configs: t.configs, defaults: this.#defaults, effective });
    return effective;
  }

  /** Broker-level topic config defaults in force (by topic config name). */
  get defaults(): Record<string, string> {
    return { ...this.#defaults };
  }

  /**
   * Replaces the broker-level topic defaults (dynamic broker configs) and applies them to every
   * live log of a topic without its own override.
   *
   * @param defaults Topic config name -> value.
   * @throws {EngineError} INVALID_CONFIG for a bad value (nothing changes).
   *
   * @example
   * ```ts ignore
   * mgr.setDefaults({ "retention.ms": "3600000" });
   * ```
   */
  setDefaults(defaults: Record<string, string>): void {
    const valid = validateTopicConfigs(defaults);
    this.#defaults = valid;
    for (const [name, logs] of this.#logs) {
      const t = this.#topics.get(name);
      if (t === undefined) continue;
      const cfg = this.#logConfig(t.configs);
      for (const l of logs) l?.updateConfig(cfg);
    }
  }

  /** Whether the last shutdown of this data dir was clean (indexes were trusted). */
  get hadCleanShutdown(): boolean {
    return this.#cleanShutdown;
  }

  /**
   * The segment handle cache's counters: its bound (`maxOpenFiles`), handles open now and at
   * most, opens, evictions and waits. For tests and metrics.
   *
   * @returns The counters.
   */
  openFileStats(): FileHandleCacheStats {
    return this.#handles.stats();
  }

  /** Partitions of every topic in this data dir (what `maxPartitions` bounds). */
  get partitionCount(): number {
    let n = 0;
    for (const t of this.#topics.values()) n += t.local?.length ?? t.partitions;
    return n;
  }

  async #persistTopics(): Promise<void> {
    const topics = [...this.#topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    const text = JSON.stringify({ version: 1, topics }, null, 2) + "\n";
    await writeFileAtomic(`${this.dir}/${TOPIC_METADATA_FILE}`, new TextEncoder().encode(text));
    this.#topicsDirty = false;
    await this.#removeDeleteMarkers();
  }

  /**
   * Creates a topic with `partitions` empty partition logs. Other topics' changes do not wait
   * for it (see the module doc); on failure nothing is left behind.
   *
   * @param name Topic name (`[a-zA-Z0-9._-]`, <= 249, not `.`/`..`).
   * @param partitions Number of partitions (>= 1).
   * @param configs Topic config overrides.
   * @param options `validateOnly`: check without creating; `signal`: abort (what was made is
   * removed).
   * @returns The topic.
   * @throws {EngineError} INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS,
   * INVALID_CONFIG, POLICY_VIOLATION (`maxPartitions`), KAFKA_STORAGE_ERROR (I/O failure, abort,
   * close).
   *
   * @example
   * ```ts ignore
   * await mgr.createTopic("orders", 3, { "retention.ms": "86400000" });
   * ```
   */
  createTopic(
    name: string,
    partitions: number,
    configs: Record<string, string> = {},
    options: CreateOptions = {},
  ): Promise<TopicInfo> {
    const what = `create topic ${name}`;
    return this.#underTopicLock(name, async () => {
      // check and reserve (metadata lock, short)
      const t = await this.#meta.run(() => {
        this.#checkOpen(what);
        validateTopicName(name);
        if (this.#topics.has(name)) {
          throw new EngineError(
            ErrorCode.TOPIC_ALREADY_EXISTS,
            `${what} failed: topic already exists`,
          );
        }
        const key = topicCollisionKey(name);
        for (const other of this.#topics.keys()) {
          if (topicCollisionKey(other) === key) {
            throw new EngineError(
              ErrorCode.INVALID_TOPIC_EXCEPTION,
              `${what} failed: it collides with existing topic ${other} ('.' and '_' collide)`,
            );
          }
        }
        checkPartitionCount(what, partitions);
        const overrides = withWhat(what, () => validateTopicConfigs(configs));
        const local = checkLocalPartitions(what, options.localPartitions, 0, partitions);
        const held = local?.length ?? partitions;
        this.#checkPartitionLimit(what, held);
        if (options.topicId !== undefined && !/^[A-Za-z0-9_-]{22}$/.test(options.topicId)) {
          throw new EngineError(
            ErrorCode.INVALID_REQUEST,
            `${what} failed: topic id "${options.topicId}" is not a 22-character base64url uuid`,
          );
        }
        if (!options.validateOnly) this.#reservedPartitions += held;
        const stored: StoredTopic = {
          name,
          id: options.topicId ?? newTopicId(),
          partitions,
          configs: overrides,
        };
        if (local !== undefined) stored.local = local;
        return Promise.resolve(stored);
      });
      if (options.validateOnly) return this.#info(t);
      // make the partitions (no metadata lock: other topics' changes go on)
      const which = localOf(t);
      let logs: PartitionLog[];
      try {
        logs = await this.#createLogs(what, t, which, options.signal);
      } finally {
        this.#reservedPartitions -= which.length;
      }
      // commit: the topic map and sluice-topics.json (metadata lock, short)
      return this.#meta.run(async () => {
        try {
          this.#checkOpen(what);
          this.#topics.set(name, t);
          this.#logs.set(name, logs);
          try {
            await this.#persistTopics();
          } catch (e) {
            this.#topics.delete(name);
            this.#logs.delete(name);
            throw storageError(`${what} failed`, e);
          }
        } catch (e) {
          await this.#discardLogs(logs);
          throw e;
        }
        return this.#info(t);
      });
    });
  }

  /**
   * Deletes a topic, freeing its space before anything that needs new space is written, so that
   * it works on a full disk:
   *
   * 1. The first partition directory is renamed to its `-delete` name (Kafka's shortened
   *    `<topic>-<partition>.<topic id in hex>-delete`, at most 255 bytes): the commit point. A
   *    rename needs no new blocks; if it fails, the topic is left as it was.
   * 2. The logs are closed (no flush), the other partition directories renamed, the renames
   *    fsynced, and the renamed directories emptied: the space is free now.
   * 3. `sluice-topics.json` is written without the topic, then the emptied directories are
   *    removed and the checkpoints written.
   *
   * After a crash anywhere from step 1 on, the loader finds a `-delete` directory carrying the
   * id of a topic the topics file still lists and finishes the deletion. If step 3 fails (the
   * disk is still full), the deletion stands: the file is written again by the checkpoint timer.
   *
   * @param name Topic name.
   * @throws {EngineError} UNKNOWN_TOPIC_OR_PARTITION; KAFKA_STORAGE_ERROR if no partition
   * directory could be renamed (the topic is then unchanged).
   *
   * @example
   * ```ts ignore
   * await mgr.deleteTopic("orders");
   * ```
   */
  deleteTopic(name: string): Promise<void> {
    return this.#meta.run(async () => {
      const what = `delete topic ${name}`;
      this.#checkOpen(what);
      const t = this.#topics.get(name);
      if (!t) {
        throw new EngineError(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `${what} failed: no such topic`,
        );
      }
      const logs = this.#logs.get(name) ?? [];
      this.#topics.delete(name);
      this.#logs.delete(name);
      const markers: string[] = [];
      let p = 0;
      try {
        // the commit point: open files and in-flight reads are not disturbed by a rename
        while (p < t.partitions && markers.length === 0) {
          const m = await this.#renameForDelete(t, p++);
          if (m) markers.push(m);
        }
        if (markers.length === 0) await this.#persistTopics(); // no directory: only the file
      } catch (e) {
        this.#topics.set(name, t);
        this.#logs.set(name, logs);
        throw storageError(`${what} failed`, e);
      }
      for (const l of logs) await l?.close({ flush: false }).catch(() => {});
      for (; p < t.partitions; p++) {
        try {
          const m = await this.#renameForDelete(t, p);
          if (m) markers.push(m);
        } catch (e) {
          // the loader removes it: the first marker records the deletion
          this.#logger(`${what}: renaming partition ${p} failed (removed at restart): ${e}`);
        }
      }
      await syncDir(this.dir);
      for (const m of markers) {
        try {
          await emptyDir(m);
        } catch (e) {
          this.#logger(`${what}: emptying ${m} failed (finished at restart): ${e}`);
        }
      }
      for (let i = 0; i < t.partitions; i++) {
        this.#recoveryPoints.delete(`${name}-${i}`);
        this.#startOffsets.delete(`${name}-${i}`);
        this.#highWatermarks.delete(`${name}-${i}`);
      }
      this.#deleteMarkers.push(...markers);
      this.#topicsDirty = true;
      await this.#persistTopicsOrRetry();
      await this.#tryWriteCheckpoints();
    });
  }

  /**
   * Renames partition `p` of `t` to its `-delete` name.
   *
   * @returns The new path, or `undefined` if the partition has no directory.
   */
  async #renameForDelete(t: StoredTopic, p: number): Promise<string | undefined> {
    const src = `${this.dir}/${partitionDirName(t.name, p)}`;
    const dst = `${this.dir}/${logDeleteDirName(t.name, p, t.id)}`;
    try {
      await Deno.rename(src, dst);
      return dst;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  }

  /**
   * Grows a topic to `totalCount` partitions. Other topics' changes do not wait for it (see the
   * module doc); on failure the topic keeps its partitions and nothing is left behind.
   *
   * @param name Topic name.
   * @param totalCount New total number of partitions (greater than the current one).
   * @param options `validateOnly`: check without changing; `signal`: abort (what was made is
   * removed).
   * @returns The topic.
   * @throws {EngineError} UNKNOWN_TOPIC_OR_PARTITION (also if deleted meanwhile),
   * INVALID_PARTITIONS, POLICY_VIOLATION (`maxPartitions`), KAFKA_STORAGE_ERROR (I/O failure,
   * abort, close).
   */
  createPartitions(
    name: string,
    totalCount: number,
    options: CreateOptions = {},
  ): Promise<TopicInfo> {
    const what = `create partitions of ${name}`;
    return this.#underTopicLock(name, async () => {
      // check and reserve (metadata lock, short)
      const t = await this.#meta.run(() => {
        this.#checkOpen(what);
        const t = this.#topics.get(name);
        if (!t) {
          throw new EngineError(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            `${what} failed: no such topic`,
          );
        }
        checkPartitionCount(what, totalCount);
        if (totalCount === t.partitions) {
          throw new EngineError(
            ErrorCode.INVALID_PARTITIONS,
            `${what} failed: topic already has ${t.partitions} partitions`,
          );
        }
        if (totalCount < t.partitions) {
          throw new EngineError(
            ErrorCode.INVALID_PARTITIONS,
            `${what} failed: topic currently has ${t.partitions} partitions, ` +
              `which is higher than the requested ${totalCount}`,
          );
        }
        const local = checkLocalPartitions(what, options.localPartitions, t.partitions, totalCount);
        const adding = local?.length ?? totalCount - t.partitions;
        this.#checkPartitionLimit(what, adding);
        if (!options.validateOnly) this.#reservedPartitions += adding;
        return Promise.resolve(t);
      });
      if (options.validateOnly) return this.#info({ ...t, partitions: totalCount });
      // only this operation changes the count (topic lock); deletion may still remove the topic
      const from = t.partitions;
      const which = options.localPartitions !== undefined
        ? [...new Set(options.localPartitions)].sort((a, b) => a - b)
        : Array.from({ length: totalCount - from }, (_, i) => from + i);
      return this.#addPartitionLogs(what, name, t, which, options.signal, (all, logs) => {
        all.push(...logs);
        // a partial topic stays partial; a whole one becomes partial if some are elsewhere
        if (t.local !== undefined || which.length !== totalCount - from) {
          t.local = [...localOf(t), ...which];
        }
        t.partitions = totalCount;
      });
    });
  }

  /**
   * Cluster mode: makes empty logs here for partitions of a topic that other brokers hold until
   * now (this broker became a replica of them). Partitions already held are skipped.
   *
   * @param name Topic name.
   * @param partitions Partition indices (each below the topic's partition count).
   * @param options `signal`: abort (what was made is removed).
   * @returns The topic.
   * @throws {EngineError} UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS, POLICY_VIOLATION,
   * KAFKA_STORAGE_ERROR.
   */
  addLocalPartitions(
    name: string,
    partitions: number[],
    options: { signal?: AbortSignal } = {},
  ): Promise<TopicInfo> {
    const what = `add local partitions of ${name}`;
    return this.#underTopicLock(name, async () => {
      const { t, which } = await this.#meta.run(() => {
        this.#checkOpen(what);
        const t = this.#topics.get(name);
        if (!t) {
          throw new EngineError(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            `${what} failed: no such topic`,
          );
        }
        const held = new Set(localOf(t));
        const which = [...new Set(partitions)].filter((p) => !held.has(p)).sort((a, b) => a - b);
        for (const p of which) {
          if (!Number.isInteger(p) || p < 0 || p >= t.partitions) {
            throw new EngineError(
              ErrorCode.INVALID_PARTITIONS,
              `${what} failed: partition ${p} is not among 0..${t.partitions - 1}`,
            );
          }
        }
        this.#checkPartitionLimit(what, which.length);
        this.#reservedPartitions += which.length;
        return Promise.resolve({ t, which });
      });
      if (which.length === 0) return this.#info(t);
      return this.#addPartitionLogs(what, name, t, which, options.signal, (all, logs) => {
        all.push(...logs);
        all.sort((a, b) => a.partition - b.partition);
        const local = all.map((l) => l.partition);
        if (local.length === t.partitions) delete t.local;
        else t.local = local;
      });
    });
  }

  /**
   * Cluster mode: removes the logs of partitions of a topic that this broker no longer
   * replicates (a reassignment moved them away); the topic stays, with the partitions it still
   * holds here (possibly none). `sluice-topics.json` is written without them first, then their
   * logs are closed and their directories removed: after a crash in between, the loader keeps a
   * directory that still holds records as a stray one (see `disposeUnownedPartitionDir`).
   * Partitions not held are skipped.
   *
   * @param name Topic name.
   * @param partitions Partition indices.
   * @returns The topic.
   * @throws {EngineError} UNKNOWN_TOPIC_OR_PARTITION, KAFKA_STORAGE_ERROR (the topics file
   * could not be written: nothing changed).
   */
  removeLocalPartitions(name: string, partitions: number[]): Promise<TopicInfo> {
    const what = `remove local partitions of ${name}`;
    return this.#underTopicLock(name, async () => {
      const removed = await this.#meta.run(async () => {
        this.#checkOpen(what);
        const t = this.#topics.get(name);
        const all = this.#dense(name);
        if (!t || all === undefined) {
          throw new EngineError(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            `${what} failed: no such topic`,
          );
        }
        const drop = new Set(partitions);
        const removed = all.filter((l) => drop.has(l.partition));
        if (removed.length === 0) return removed;
        const localBefore = t.local;
        const before = [...all];
        const kept = all.filter((l) => !drop.has(l.partition));
        // The held list and the logs change together, before the write awaits: `partition()`
        // finds a log at its place in the held list, so a list without the partitions beside
        // the logs with them would hand out a neighbour's log (a follower of partition 3 once
        // copied partition 2's records, then led partition 3 with them).
        t.local = kept.map((l) => l.partition);
        all.length = 0;
        all.push(...kept);
        try {
          await this.#persistTopics();
        } catch (e) {
          if (localBefore === undefined) delete t.local;
          else t.local = localBefore;
          all.length = 0;
          all.push(...before);
          throw storageError(`${what} failed`, e);
        }
        for (const l of removed) {
          const k = `${name}-${l.partition}`;
          this.#recoveryPoints.delete(k);
          this.#startOffsets.delete(k);
          this.#highWatermarks.delete(k);
        }
        return removed;
      });
      if (removed.length === 0) return this.#info(this.#topics.get(name)!);
      for (const l of removed) {
        await l.close({ flush: false }).catch(() => {});
        try {
          await Deno.remove(l.dir, { recursive: true });
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) {
            this.#logger(`${what}: removing ${l.dir} failed (done at restart): ${e}`);
          }
        }
      }
      await syncDir(this.dir).catch(() => {});
      await this.#tryWriteCheckpoints();
      const t = this.#topics.get(name);
      if (t === undefined) {
        throw new EngineError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${what} failed: deleted`);
      }
      return this.#info(t);
    });
  }

  /**
   * The second half of {@linkcode LogManager.createPartitions} and
   * {@linkcode LogManager.addLocalPartitions} (caller holds the topic lock and has reserved
   * `which.length` partitions): makes the empty logs of partitions `which` of `t`, releases the
   * reservation, then under the metadata lock gives them the topic's current configs, adds them
   * with `attach` (which may change the topic's partition count and local partitions) and
   * persists the topic list. On any failure (the topic deleted meanwhile, the manager closed,
   * the persist) the topic's logs, partition count and local partitions are as before and the
   * new logs are removed.
   */
  async #addPartitionLogs(
    what: string,
    name: string,
    t: StoredTopic,
    which: number[],
    signal: AbortSignal | undefined,
    attach: (all: PartitionLog[], logs: PartitionLog[]) => void,
  ): Promise<TopicInfo> {
    let logs: PartitionLog[];
    try {
      logs = await this.#createLogs(what, t, which, signal);
    } finally {
      this.#reservedPartitions -= which.length;
    }
    return this.#meta.run(async () => {
      try {
        this.#checkOpen(what);
        const all = this.#dense(name);
        if (this.#topics.get(name) !== t || all === undefined) {
          throw new EngineError(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            `${what} failed: the topic was deleted meanwhile`,
          );
        }
        const cfg = this.#logConfig(t.configs); // configs may have changed meanwhile
        for (const l of logs) l.updateConfig(cfg);
        const before = [...all];
        const partitionsBefore = t.partitions;
        const localBefore = t.local;
        attach(all, logs);
        try {
          await this.#persistTopics();
        } catch (e) {
          all.length = 0;
          all.push(...before);
          t.partitions = partitionsBefore;
          if (localBefore === undefined) delete t.local;
          else t.local = localBefore;
          throw storageError(`${what} failed`, e);
        }
      } catch (e) {
        await this.#discardLogs(logs);
        throw e;
      }
      return this.#info(t);
    });
  }

  /**
   * Changes a topic's config overrides: sets `set`, removes `remove` (incremental), or with
   * `replace` makes `set` the complete set of overrides. Takes effect on the live logs.
   *
   * @param name Topic name.
   * @param set Overrides to set.
   * @param remove Override names to remove (back to the broker/Kafka default).
   * @param options `validateOnly`, `replace`.
   * @returns The topic.
   * @throws {EngineError} UNKNOWN_TOPIC_OR_PARTITION, INVALID_CONFIG, KAFKA_STORAGE_ERROR.
   *
   * @example
   * ```ts ignore
   * await mgr.alterTopicConfigs("orders", { "retention.ms": "1000" }, ["segment.bytes"]);
   * ```
   */
  alterTopicConfigs(
    name: string,
    set: Record<string, string>,
    remove: string[] = [],
    options: AlterConfigsOptions = {},
  ): Promise<TopicInfo> {
    return this.#meta.run(async () => {
      const what = `alter configs of topic ${name}`;
      this.#checkOpen(what);
      const t = this.#topics.get(name);
      if (!t) {
        throw new EngineError(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `${what} failed: no such topic`,
        );
      }
      const valid = withWhat(what, () => validateTopicConfigs(set));
      const next: Record<string, string> = options.replace ? {} : { ...t.configs };
      for (const k of remove) {
        // Only the name must be known: removing an override that is not set changes nothing.
        if (!TOPIC_CONFIGS.has(k)) withWhat(what, () => validateConfigValue(k, ""));
        delete next[k];
      }
      Object.assign(next, valid);
      if (options.validateOnly) return this.#info({ ...t, configs: next });
      t.configs = next;
      try {
        await this.#persistTopics();
      } catch (e) {
        throw storageError(`${what} failed`, e);
      }
      const cfg = this.#logConfig(next);
      for (const l of this.#logs.get(name) ?? []) l?.updateConfig(cfg);
      return this.#info(t);
    });
  }

  /**
   * Looks up a topic by name.
   *
   * @param name Topic name.
   * @returns The topic, or `undefined`.
   */
  topic(name: string): TopicInfo | undefined {
    const t = this.#topics.get(name);
    return t ? this.#info(t) : undefined;
  }

  /**
   * Every topic config of a topic with its effective value and source (topic override, broker
   * default, Kafka default), for DescribeConfigs.
   *
   * @param name Topic name.
   * @returns The entries in name order, or `undefined` if there is no such topic.
   */
  describeTopicConfigs(name: string): TopicConfigEntry[] | undefined {
    const t = this.#topics.get(name);
    return t ? describeTopicConfigs(t.configs, this.#defaults) : undefined;
  }

  /**
   * Looks up a topic by id.
   *
   * @param id Topic id (22-character base64url).
   * @returns The topic, or `undefined`.
   */
  topicById(id: string): TopicInfo | undefined {
    for (const t of this.#topics.values()) if (t.id === id) return this.#info(t);
    return undefined;
  }

  /**
   * All topics, by name.
   *
   * @returns The topics.
   */
  listTopics(): TopicInfo[] {
    return [...this.#topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((t) =>
      this.#info(t)
    );
  }

  /**
   * A partition's log.
   *
   * @param topic Topic name.
   * @param index Partition index.
   * @returns The log, or `undefined` if the topic or partition does not exist.
   */
  partition(topic: string, index: number): PartitionLog | undefined {
    const logs = this.#logs.get(topic);
    if (logs === undefined) return undefined;
    const direct = logs[index];
    if (direct?.partition === index) return direct; // every partition held (the usual case)
    const at = this.#positionOf(topic, index);
    if (at < 0) return undefined;
    const log = logs[at] ?? this.#makeHeld(topic, at);
    // never another partition's log, should the held list and the logs ever disagree
    return log.partition === index ? log : undefined;
  }

  /**
   * Whether this data dir holds a partition, without making its log (see
   * {@linkcode LogManager.partition}).
   *
   * @param topic Topic name.
   * @param index Partition index.
   * @returns Whether the partition is held here.
   */
  hasPartition(topic: string, index: number): boolean {
    return this.#positionOf(topic, index) >= 0;
  }

  /**
   * A partition's leader epoch without making its log: 0 for one never used since the last
   * clean shutdown, else {@linkcode PartitionLog.leaderEpoch}.
   *
   * @param topic Topic name.
   * @param index Partition index.
   * @returns The leader epoch, or `undefined` if the partition is not held here.
   */
  leaderEpochOf(topic: string, index: number): number | undefined {
    const at = this.#positionOf(topic, index);
    if (at < 0) return undefined;
    return this.#logs.get(topic)![at]?.leaderEpoch ?? 0;
  }

  /**
   * A partition's log if it is made: `undefined` for one never used since the last clean shutdown
   * (an empty log at offset 0 with one segment, which {@linkcode LogManager.partition} makes) and
   * for one not held here ({@linkcode LogManager.hasPartition} tells them apart). For readers
   * that must not make thousands of logs, such as a metrics scrape.
   *
   * @param topic Topic name.
   * @param index Partition index.
   * @returns The log, or `undefined`.
   */
  madePartition(topic: string, index: number): PartitionLog | undefined {
    const at = this.#positionOf(topic, index);
    return at < 0 ? undefined : this.#logs.get(topic)![at];
  }

  /** Where a partition is in its topic's logs, or -1 if not held here. */
  #positionOf(topic: string, index: number): number {
    const logs = this.#logs.get(topic);
    const t = this.#topics.get(topic);
    if (logs === undefined || t === undefined || !Number.isInteger(index) || index < 0) return -1;
    if (t.local === undefined) return index < logs.length ? index : -1;
    let lo = 0;
    let hi = Math.min(index, t.local.length - 1);
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = t.local[mid];
      if (p === index) return mid;
      if (p < index) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * Makes the log of the hole at `at` of a topic's logs: the empty log of a partition never used
   * since the last clean shutdown, as {@linkcode openUnmadePartitionLog} made it at open before.
   */
  #makeHeld(topic: string, at: number): PartitionLog {
    const t = this.#topics.get(topic)!;
    const logs = this.#logs.get(topic)!;
    const p = t.local?.[at] ?? at;
    const log = openUnmadePartitionLog({
      dir: `${this.dir}/${partitionDirName(t.name, p)}`,
      topic: t.name,
      partition: p,
      config: this.#logConfig(t.configs),
      cleanShutdown: true,
      highWatermark: this.#highWatermarks.get(`${t.name}-${p}`),
      hooks: this.#hooks(t, p),
    });
    logs[at] = log;
    return log;
  }

  /** A topic's logs with every hole made (for changes to its partition list). */
  #dense(topic: string): PartitionLog[] | undefined {
    const logs = this.#logs.get(topic);
    if (logs === undefined) return undefined;
    for (let i = 0; i < logs.length; i++) if (logs[i] === undefined) this.#makeHeld(topic, i);
    return logs as PartitionLog[];
  }

  /** Every log held and made (holes skipped: nothing to flush, retain, clean or close). */
  *#made(): Generator<[string, PartitionLog]> {
    for (const [name, logs] of this.#logs) {
      for (const l of logs) if (l !== undefined) yield [name, l];
    }
  }

  /**
   * Subscribes to appends (for long-poll fetch wake-ups).
   *
   * @param listener Called with topic, partition and new log end offset after each append.
   * @returns A function that unsubscribes.
   */
  onAppend(listener: AppendListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Runs retention on every partition now (the background timer does this every
   * `retentionCheckIntervalMs`).
   *
   * @param now Current time in ms.
   * @returns Number of segments deleted.
   */
  async runRetention(now: number = Date.now()): Promise<number> {
    let n = 0;
    this.activity.retentionRuns++;
    for (const [, l] of [...this.#made()]) {
      const deleted = await l.runRetention(now);
      n += deleted;
      this.activity.retentionSegmentsDeleted += deleted;
    }
    if (n > 0) await this.#tryWriteCheckpoints();
    return n;
  }

  /** Writes the checkpoints; a failure (a full disk) is logged and left to the next interval. */
  async #tryWriteCheckpoints(): Promise<boolean> {
    try {
      await this.#writeCheckpoints();
      return true;
    } catch (e) {
      this.#throttled.log(
        "checkpoint",
        `writing checkpoints failed (tried again every checkpoint interval): ${
          (e as Error).message
        }`,
      );
      return false;
    }
  }

  #writeCheckpoints(): Promise<void> {
    return this.#checkpointLock.run(async () => {
      const rps = [];
      const lsos = [];
      const hws = [];
      for (const [name, logs] of this.#logs) {
        const local = this.#topics.get(name)?.local;
        for (let i = 0; i < logs.length; i++) {
          const l = logs[i];
          if (l === undefined) {
            // a hole: never used since the last clean shutdown, so empty at offset 0
            const partition = local?.[i] ?? i;
            rps.push({ topic: name, partition, offset: 0 });
            lsos.push({ topic: name, partition, offset: 0 });
            const hw = this.#highWatermarks.get(`${name}-${partition}`);
            if (hw !== undefined) hws.push({ topic: name, partition, offset: hw });
            continue;
          }
          rps.push({ topic: name, partition: l.partition, offset: l.recoveryPoint });
          lsos.push({ topic: name, partition: l.partition, offset: l.logStartOffset });
          const hw = l.highWatermarkCheckpoint;
          if (hw !== undefined) hws.push({ topic: name, partition: l.partition, offset: hw });
        }
      }
      await this.#writeCheckpointFile(RECOVERY_POINT_CHECKPOINT_FILE, formatCheckpoint(rps));
      await this.#writeCheckpointFile(LOG_START_OFFSET_CHECKPOINT_FILE, formatCheckpoint(lsos));
      await this.#writeHighWatermarks(hws);
    });
  }

  /**
   * Writes a checkpoint file of the data dir, unless this manager last wrote it with the same text
   * (an idle broker's checkpoint interval then writes and fsyncs nothing; issue #17).
   */
  async #writeCheckpointFile(name: string, text: string): Promise<void> {
    if (this.#checkpointTexts.get(name) === text) return;
    await writeFileAtomic(`${this.dir}/${name}`, new TextEncoder().encode(text));
    this.#checkpointTexts.set(name, text);
  }

  /** Writes `replication-offset-checkpoint` (never on a broker that replicated nothing). */
  async #writeHighWatermarks(hws: CheckpointEntry[]): Promise<void> {
    if (hws.length === 0 && !this.#hwCheckpointExists) return;
    await this.#writeCheckpointFile(REPLICATION_OFFSET_CHECKPOINT_FILE, formatCheckpoint(hws));
    this.#hwCheckpointExists = true;
  }

  /**
   * Writes the high watermarks of the replicated logs to `replication-offset-checkpoint` now
   * (Kafka's `replica.high.watermark.checkpoint.interval.ms` timer calls this; flush and close
   * write it too). Standalone, where no log is replicated, it writes nothing.
   *
   * @throws {EngineError} KAFKA_STORAGE_ERROR if the file cannot be written.
   */
  checkpointHighWatermarks(): Promise<void> {
    return this.#checkpointLock.run(async () => {
      if (this.#closed) return;
      const hws: CheckpointEntry[] = [];
      for (const [name, l] of this.#made()) {
        const hw = l.highWatermarkCheckpoint;
        if (hw !== undefined) hws.push({ topic: name, partition: l.partition, offset: hw });
      }
      try {
        await this.#writeHighWatermarks(hws);
      } catch (e) {
        throw storageError(`writing ${REPLICATION_OFFSET_CHECKPOINT_FILE} failed`, e);
      }
    });
  }

  /**
   * fsyncs every log, writes index files and the checkpoint files.
   *
   * @throws {EngineError} KAFKA_STORAGE_ERROR on I/O failure.
   */
  async flush(): Promise<void> {
    this.#checkOpen("flush");
    for (const [, l] of [...this.#made()]) await l.flush();
    try {
      await this.#writeCheckpoints();
    } catch (e) {
      throw storageError("flush failed", e);
    }
  }

  /**
   * Flushes and closes every log, writes checkpoints and the clean shutdown marker. Idempotent.
   *
   * @throws {EngineError} KAFKA_STORAGE_ERROR if a log could not be flushed (no marker is written).
   */
  close(): Promise<void> {
    if (!this.#closing) this.#closing = this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    clearTimeout(this.#cleanerTimer);
    this.#closed = true; // stops a cleaner pass between logs
    this.#cleanerStop.abort(); // ... and between segment groups
    await this.#cleanerLock.run(() => Promise.resolve());
    // creations in progress stop at the next partition and remove what they made
    while (this.#admin.size > 0) await Promise.all([...this.#admin]);
    await this.#meta.run(async () => {
      this.#closed = true;
      let err: unknown;
      const all = [...this.#made()].map(([, l]) => l);
      await forEachConcurrently(all.length, IO_CONCURRENCY, async (i) => {
        try {
          await all[i].close();
        } catch (e) {
          err ??= e;
        }
      });
      try {
        if (this.#topicsDirty) await this.#persistTopicsOrRetry(); // the loader finishes otherwise
        try {
          await this.#writeCheckpoints();
        } catch (e) {
          err ??= e;
        }
        if (err) throw storageError(`close of data dir ${this.dir} failed`, err);
        await writeFileAtomic(
          `${this.dir}/${CLEAN_SHUTDOWN_FILE}`,
          new TextEncoder().encode(formatCleanShutdownMarker(
            [...this.#logs].flatMap(([name, logs]) => {
              const t = this.#topics.get(name);
              return t ? [[t, logs] as [StoredTopic, (PartitionLog | undefined)[]]] : [];
            }),
          )),
        );
      } finally {
        this.#lock?.release();
      }
    });
  }
}

/**
 * The clean shutdown marker's text: the partitions of each topic that hold no segment file, as
 * ranges (see {@linkcode parseCleanShutdownMarker}).
 */
function formatCleanShutdownMarker(
  topics: Iterable<[StoredTopic, (PartitionLog | undefined)[]]>,
): string {
  const unmade: Record<string, [number, number][]> = {};
  for (const [t, logs] of topics) {
    const ranges: [number, number][] = [];
    for (let i = 0; i < logs.length; i++) {
      const l = logs[i];
      // a hole is a partition still never used
      if (l !== undefined && !l.unmade) continue;
      const p = l?.partition ?? t.local?.[i] ?? i;
      const last = ranges.at(-1);
      if (last !== undefined && last[1] === p) last[1]++;
      else ranges.push([p, p + 1]);
    }
    if (ranges.length > 0) unmade[t.id] = ranges;
  }
  return JSON.stringify({ version: 1, unmade });
}

/**
 * Parses the clean shutdown marker: empty (written by older versions) or
 * `{"version":1,"unmade":{"<topic id>":[[from,to],...]}}`, the partitions (`from` <= p < `to`)
 * that held no segment file at the shutdown ({@linkcode PartitionLog.unmade}).
 *
 * @returns The ranges by topic id (empty when the marker lists none or cannot be read: every
 * partition is then loaded from its directory).
 */
function parseCleanShutdownMarker(text: string): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  if (text.trim() === "") return out;
  try {
    const parsed = JSON.parse(text);
    if (parsed?.version !== 1 || typeof parsed.unmade !== "object" || parsed.unmade === null) {
      return out;
    }
    for (const [id, ranges] of Object.entries(parsed.unmade)) {
      if (!Array.isArray(ranges)) continue;
      const ok = ranges.filter((r): r is [number, number] =>
        Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) &&
        Number.isSafeInteger(r[1]) && r[0] >= 0 && r[0] < r[1]
      );
      out.set(id, ok);
    }
  } catch {
    // not ours or cut: load every partition from its directory
  }
  return out;
}

/** Whether `p` is in one of the `[from, to)` ranges. */
function inRanges(ranges: [number, number][] | undefined, p: number): boolean {
  return ranges !== undefined && ranges.some(([from, to]) => p >= from && p < to);
}

/** Throws INVALID_CONFIG unless `value` is undefined or a positive integer (or `Infinity`). */
function checkLimitOption(
  dir: string,
  name: string,
  value: number | undefined,
  infinite: boolean,
): void {
  if (value === undefined || (infinite && value === Infinity)) return;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new EngineError(
      ErrorCode.INVALID_CONFIG,
      `open of data dir ${dir} failed: ${name} must be a positive integer, got ${value}`,
    );
  }
}

function isTopicName(name: string): boolean {
  try {
    validateTopicName(name);
    return true;
  } catch {
    return false;
  }
}

/** Removes a file or directory tree; a missing one is fine. */
async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Removes everything inside a directory, keeping the directory. */
async function emptyDir(dir: string): Promise<void> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  for (const n of names) await removeIfPresent(`${dir}/${n}`);
}

/**
 * Checks `local` (the partitions of `[from, to)` to hold here) and returns the topic's whole
 * local list for a new topic (`from` 0), or `undefined` when every partition is held.
 */
function checkLocalPartitions(
  what: string,
  local: number[] | undefined,
  from: number,
  to: number,
): number[] | undefined {
  if (local === undefined) return undefined;
  const sorted = [...new Set(local)].sort((a, b) => a - b);
  for (const p of sorted) {
    if (!Number.isInteger(p) || p < from || p >= to) {
      throw new EngineError(
        ErrorCode.INVALID_PARTITIONS,
        `${what} failed: local partition ${p} is not among the new partitions ${from}..${to - 1}`,
      );
    }
  }
  if (from === 0 && sorted.length === to) return undefined;
  return sorted;
}

function checkPartitionCount(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS) {
    throw new EngineError(
      ErrorCode.INVALID_PARTITIONS,
      `${what} failed: number of partitions must be between 1 and ${MAX_PARTITIONS}, got ${n}`,
    );
  }
}

function withWhat<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof EngineError) throw new EngineError(e.code, `${what} failed: ${e.message}`);
    throw e;
  }
}
