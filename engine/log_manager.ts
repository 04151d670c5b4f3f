/**
 * The log manager: one data directory (Kafka's `log.dirs` entry) holding topics, their
 * partition logs, topic metadata and configs, checkpoints, and the background retention and
 * flush timers.
 *
 * @module
 */

import {
  describeTopicConfigs,
  effectiveConfigs,
  type LogConfig,
  toLogConfig,
  type TopicConfigEntry,
  validateConfigValue,
  validateTopicConfigs,
} from "./config.ts";
import {
  formatCheckpoint,
  mkdirDurable,
  readCheckpointFile,
  syncDir,
  writeFileAtomic,
} from "./checkpoint.ts";
import { EngineError, ErrorCode, storageError } from "./errors.ts";
import { loadPartitionLog } from "./log_loader.ts";
import {
  CLEAN_SHUTDOWN_FILE,
  CLEANER_OFFSET_CHECKPOINT_FILE,
  DELETE_DIR_SUFFIX,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  PARTITION_METADATA_FILE,
  partitionDirName,
  RECOVERY_POINT_CHECKPOINT_FILE,
  TOPIC_METADATA_FILE,
} from "./names.ts";
import type { PartitionLog } from "./partition_log.ts";
import { Mutex } from "./segment.ts";
import { cleanerConfigOf, type CleanOptions, type CleanStats, LogCleaner } from "./cleaner.ts";
import { newTopicId, topicCollisionKey, validateTopicName } from "./topic_name.ts";

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
  /** Bytes of each active segment's tail kept in memory (default 4 MiB). */
  hotTailBytes?: number;
  /** Pause between log cleaner passes (Kafka's `log.cleaner.backoff.ms`, 15000; ≤ 0: no timer). */
  cleanerBackoffMs?: number;
}

/** Options of the topic-changing methods. */
export interface ValidateOnlyOption {
  /** Check everything but change nothing. */
  validateOnly?: boolean;
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
}

/** Listener for appends: topic, partition, new log end offset. */
export type AppendListener = (topic: string, partition: number, logEndOffset: number) => void;

const MAX_PARTITIONS = 100_000;

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
  #logs = new Map<string, PartitionLog[]>();
  #listeners = new Set<AppendListener>();
  #meta = new Mutex();
  #checkpointLock = new Mutex();
  #timers: ReturnType<typeof setInterval>[] = [];
  #closed = false;
  #closing: Promise<void> | undefined;
  #cleanShutdown = false;
  #recoveryPoints = new Map<string, number>();
  #startOffsets = new Map<string, number>();
  // log cleaner (cleaner.ts): compaction of cleanup.policy=compact logs
  #cleaner = new LogCleaner();
  #cleanerLock = new Mutex();
  #cleanerTimer: ReturnType<typeof setTimeout> | undefined;
  #cleanerStop = new AbortController();

  private constructor(dir: string, defaults: Record<string, string>, options: LogManagerOptions) {
    this.dir = dir;
    this.#defaults = defaults;
    this.#options = options;
  }

  /**
   * Opens a data directory (created if missing), loading and if needed recovering every
   * partition log. Requires `--allow-read` and `--allow-write`.
   *
   * @param dir Data directory.
   * @param options Broker defaults, timer periods, logger.
   * @returns The manager.
   * @throws {EngineError} INVALID_CONFIG for bad defaults; KAFKA_STORAGE_ERROR if the directory
   * or the topic metadata cannot be read.
   *
   * @example
   * ```ts ignore
   * const mgr = await LogManager.open("./data", { defaults: { "retention.ms": "3600000" } });
   * ```
   */
  static async open(dir: string, options: LogManagerOptions = {}): Promise<LogManager> {
    const defaults = validateTopicConfigs(options.defaults ?? {});
    const mgr = new LogManager(dir, defaults, options);
    try {
      await mgr.#load();
    } catch (e) {
      for (const logs of mgr.#logs.values()) for (const l of logs) await l.close().catch(() => {});
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
      await Deno.stat(marker);
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
    for await (const e of Deno.readDir(this.dir)) {
      if (e.isDirectory && e.name.endsWith(DELETE_DIR_SUFFIX)) {
        this.#logger(`removing partially deleted directory ${e.name}`);
        await Deno.remove(`${this.dir}/${e.name}`, { recursive: true });
      }
    }
    const onErr = (m: string) => this.#logger(m);
    this.#recoveryPoints = await readCheckpointFile(
      `${this.dir}/${RECOVERY_POINT_CHECKPOINT_FILE}`,
      onErr,
    );
    this.#startOffsets = await readCheckpointFile(
      `${this.dir}/${LOG_START_OFFSET_CHECKPOINT_FILE}`,
      onErr,
    );
    this.#cleaner = new LogCleaner({
      firstDirtyOffsets: await readCheckpointFile(
        `${this.dir}/${CLEANER_OFFSET_CHECKPOINT_FILE}`,
        onErr,
      ),
      logger: onErr,
    });
    for (const t of stored) {
      this.#topics.set(t.name, { ...t, configs: { ...t.configs } });
      const logs: PartitionLog[] = [];
      this.#logs.set(t.name, logs);
      const cfg = this.#logConfig(t.configs);
      for (let p = 0; p < t.partitions; p++) logs.push(await this.#openLog(t, p, cfg));
    }
    if (this.#cleanShutdown) {
      await Deno.remove(marker);
      await syncDir(this.dir);
    }
  }

  #logConfig(overrides: Record<string, string>): LogConfig {
    return toLogConfig(effectiveConfigs(overrides, this.#defaults));
  }

  async #openLog(t: StoredTopic, p: number, cfg: LogConfig): Promise<PartitionLog> {
    const key = `${t.name}-${p}`;
    const dir = `${this.dir}/${partitionDirName(t.name, p)}`;
    const log = await loadPartitionLog({
      dir,
      topic: t.name,
      partition: p,
      config: cfg,
      cleanShutdown: this.#cleanShutdown,
      recoveryPoint: this.#recoveryPoints.get(key),
      logStartOffset: this.#startOffsets.get(key),
      cleaned: this.#cleaner.hasCleaned(key),
      hooks: {
        logger: this.#options.logger,
        hotTailBytes: this.#options.hotTailBytes ?? 4 * 1024 * 1024,
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
          this.#writeCheckpoints().catch((e) => this.#logger(`checkpoint failed: ${e}`));
        },
      },
    });
    const meta = `version: 0\ntopic_id: ${t.id}\n`;
    try {
      const old = await Deno.readTextFile(`${dir}/${PARTITION_METADATA_FILE}`);
      if (old !== meta) throw new Error("stale");
    } catch {
      await writeFileAtomic(`${dir}/${PARTITION_METADATA_FILE}`, new TextEncoder().encode(meta));
    }
    return log;
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
      for (const [name, logs] of [...this.#logs]) {
        const t = this.#topics.get(name);
        if (!t) continue;
        const cfg = cleanerConfigOf(effectiveConfigs(t.configs, this.#defaults));
        for (const l of logs) {
          if (this.#closed) return out;
          if (!l.config.cleanupPolicy.includes("compact")) continue;
          try {
            out.push(
              await this.#cleaner.clean(l, cfg, { signal: this.#cleanerStop.signal, ...options }),
            );
          } catch (e) {
            this.#logger(`log cleaner: ${name}-${l.partition}: ${e}`);
          }
        }
      }
      if (out.some((s) => s.cleaned)) await this.#writeCleanerCheckpoint();
      return out;
    });
  }

  async #writeCleanerCheckpoint(): Promise<void> {
    const live = new Set<string>();
    for (const [name, logs] of this.#logs) for (const l of logs) live.add(`${name}-${l.partition}`);
    await writeFileAtomic(
      `${this.dir}/${CLEANER_OFFSET_CHECKPOINT_FILE}`,
      new TextEncoder().encode(formatCheckpoint(this.#cleaner.checkpointEntries(live))),
    );
  }

  async #tick(): Promise<void> {
    const now = Date.now();
    for (const logs of this.#logs.values()) for (const l of logs) await l.maybeFlushByTime(now);
    await this.#writeCheckpoints();
  }

  #checkOpen(what: string): void {
    if (this.#closed) {
      throw new EngineError(ErrorCode.KAFKA_STORAGE_ERROR, `${what} failed: log manager is closed`);
    }
  }

  #info(t: StoredTopic): TopicInfo {
    return {
      name: t.name,
      id: t.id,
      partitions: t.partitions,
      configs: { ...t.configs },
      effective: effectiveConfigs(t.configs, this.#defaults),
    };
  }

  /** Broker-level topic config defaults in force (by topic config name). */
  get defaults(): Record<string, string> {
    return { ...this.#defaults };
  }

  /** Whether the last shutdown of this data dir was clean (indexes were trusted). */
  get hadCleanShutdown(): boolean {
    return this.#cleanShutdown;
  }

  async #persistTopics(): Promise<void> {
    const topics = [...this.#topics.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    const text = JSON.stringify({ version: 1, topics }, null, 2) + "\n";
    await writeFileAtomic(`${this.dir}/${TOPIC_METADATA_FILE}`, new TextEncoder().encode(text));
  }

  /**
   * Creates a topic with `partitions` empty partition logs.
   *
   * @param name Topic name (`[a-zA-Z0-9._-]`, ≤ 249, not `.`/`..`).
   * @param partitions Number of partitions (≥ 1).
   * @param configs Topic config overrides.
   * @param options `validateOnly`: check without creating.
   * @returns The topic.
   * @throws {EngineError} INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS,
   * INVALID_CONFIG, KAFKA_STORAGE_ERROR.
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
    options: ValidateOnlyOption = {},
  ): Promise<TopicInfo> {
    return this.#meta.run(async () => {
      const what = `create topic ${name}`;
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
      const t: StoredTopic = { name, id: newTopicId(), partitions, configs: overrides };
      if (options.validateOnly) return this.#info(t);
      try {
        const cfg = this.#logConfig(overrides);
        const logs: PartitionLog[] = [];
        for (let p = 0; p < partitions; p++) {
          await Deno.remove(`${this.dir}/${partitionDirName(name, p)}`, { recursive: true })
            .catch(() => {});
          logs.push(await this.#openLog(t, p, cfg));
        }
        this.#topics.set(name, t);
        this.#logs.set(name, logs);
        await this.#persistTopics();
      } catch (e) {
        throw storageError(`${what} failed`, e);
      }
      return this.#info(t);
    });
  }

  /**
   * Deletes a topic: closes its logs, forgets it, removes its directories.
   *
   * @param name Topic name.
   * @throws {EngineError} UNKNOWN_TOPIC_OR_PARTITION, KAFKA_STORAGE_ERROR.
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
      try {
        const logs = this.#logs.get(name) ?? [];
        this.#topics.delete(name);
        this.#logs.delete(name);
        await this.#persistTopics();
        for (const l of logs) await l.close().catch(() => {});
        for (let p = 0; p < t.partitions; p++) {
          const src = `${this.dir}/${partitionDirName(name, p)}`;
          const dst = `${src}.${t.id.replaceAll("-", "").replaceAll("_", "")}${DELETE_DIR_SUFFIX}`;
          await Deno.rename(src, dst);
          await Deno.remove(dst, { recursive: true });
        }
        await syncDir(this.dir);
        await this.#writeCheckpoints();
      } catch (e) {
        throw storageError(`${what} failed`, e);
      }
    });
  }

  /**
   * Grows a topic to `totalCount` partitions.
   *
   * @param name Topic name.
   * @param totalCount New total number of partitions (greater than the current one).
   * @param options `validateOnly`: check without changing.
   * @returns The topic.
   * @throws {EngineError} UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS, KAFKA_STORAGE_ERROR.
   */
  createPartitions(
    name: string,
    totalCount: number,
    options: ValidateOnlyOption = {},
  ): Promise<TopicInfo> {
    return this.#meta.run(async () => {
      const what = `create partitions of ${name}`;
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
      if (options.validateOnly) return this.#info({ ...t, partitions: totalCount });
      try {
        const logs = this.#logs.get(name)!;
        const cfg = this.#logConfig(t.configs);
        for (let p = t.partitions; p < totalCount; p++) {
          await Deno.remove(`${this.dir}/${partitionDirName(name, p)}`, { recursive: true })
            .catch(() => {});
          logs.push(await this.#openLog(t, p, cfg));
        }
        t.partitions = totalCount;
        await this.#persistTopics();
      } catch (e) {
        throw storageError(`${what} failed`, e);
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
        withWhat(what, () => validateConfigValue(k, next[k] ?? "x").length);
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
      for (const l of this.#logs.get(name) ?? []) l.updateConfig(cfg);
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
    return this.#logs.get(topic)?.[index];
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
    for (const logs of [...this.#logs.values()]) {
      for (const l of logs) n += await l.runRetention(now);
    }
    if (n > 0) await this.#writeCheckpoints();
    return n;
  }

  #writeCheckpoints(): Promise<void> {
    return this.#checkpointLock.run(async () => {
      const rps = [];
      const lsos = [];
      for (const [name, logs] of this.#logs) {
        for (const l of logs) {
          rps.push({ topic: name, partition: l.partition, offset: l.recoveryPoint });
          lsos.push({ topic: name, partition: l.partition, offset: l.logStartOffset });
        }
      }
      const enc = new TextEncoder();
      await writeFileAtomic(
        `${this.dir}/${RECOVERY_POINT_CHECKPOINT_FILE}`,
        enc.encode(formatCheckpoint(rps)),
      );
      await writeFileAtomic(
        `${this.dir}/${LOG_START_OFFSET_CHECKPOINT_FILE}`,
        enc.encode(formatCheckpoint(lsos)),
      );
    });
  }

  /**
   * fsyncs every log, writes index files and the checkpoint files.
   *
   * @throws {EngineError} KAFKA_STORAGE_ERROR on I/O failure.
   */
  async flush(): Promise<void> {
    this.#checkOpen("flush");
    for (const logs of [...this.#logs.values()]) for (const l of logs) await l.flush();
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
    await this.#meta.run(async () => {
      this.#closed = true;
      let err: unknown;
      for (const logs of this.#logs.values()) {
        for (const l of logs) {
          try {
            await l.close();
          } catch (e) {
            err ??= e;
          }
        }
      }
      await this.#writeCheckpoints();
      if (err) throw storageError(`close of data dir ${this.dir} failed`, err);
      await writeFileAtomic(`${this.dir}/${CLEAN_SHUTDOWN_FILE}`, new Uint8Array(0));
    });
  }
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
