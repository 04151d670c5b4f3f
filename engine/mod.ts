/**
 * Sluice's storage engine: Kafka-style segmented partition logs on disk.
 *
 * A data directory holds `<topic>-<partition>/` directories of segments named by their 20-digit
 * base offset (`.log` record batches exactly as received with base offsets assigned, sparse
 * `.index` and `.timeindex`, the aborted transactions in `.txnindex`), the topic metadata, `recovery-point-offset-checkpoint`,
 * `log-start-offset-checkpoint`, in cluster mode `replication-offset-checkpoint` (high
 * watermarks) and, after a clean shutdown, `.kafka_cleanshutdown`.
 *
 * - {@linkcode LogManager}: open a data dir, create/delete topics, grow partitions, change
 *   configs, subscribe to appends, flush, close.
 * - {@linkcode PartitionLog}: `append` (validated in WASM, offsets assigned in place), `read`
 *   (whole batches as stored), `offsetForTime`, `deleteRecordsBefore`, `truncateTo`.
 * - Replication (cluster mode): `appendAsFollower` stores a leader's batches as they are
 *   (offsets, leader epochs; producer, transaction and epoch state rebuilt from them), the high
 *   watermark is set by the replication layer (`enableReplication`, `setHighWatermark`) and
 *   checkpointed, and `truncateTo` / `truncateFullyAndStartAt` cut a divergent tail.
 * - {@linkcode LogManager.runCleaner} / {@linkcode LogCleaner}: compaction of
 *   `cleanup.policy=compact` logs (latest record per key, offsets kept, tombstones dropped after
 *   `delete.retention.ms`, crash-safe segment swap), on a `cleanerBackoffMs` timer.
 * - {@linkcode TOPIC_CONFIGS} and friends: every Kafka topic config with its default, and the
 *   mapping from broker config names, for DescribeConfigs.
 * - Idempotent producers: `append` drops a duplicate of one of a producer's last
 *   {@linkcode MAX_CACHED_BATCHES} batches (answering its original offsets) and refuses bad
 *   sequences and epochs; the state is snapshotted to `<offset>.snapshot` files
 *   (`PartitionLog.producerStates()` lists it).
 * - Transactions: each partition tracks its producers' transactions from the batches it
 *   appends and the COMMIT/ABORT markers, so it knows its last stable offset
 *   (`PartitionLog.lastStableOffset`); aborted transactions go to each segment's `.txnindex`
 *   ({@linkcode AbortedTxn}), and `PartitionLog.readCommitted` returns the batches below the
 *   LSO with the aborted transactions they overlap. Retention and topic deletion remove the
 *   indexes with their segments.
 * - Every error is an {@linkcode EngineError} with the Kafka error `code` to send back.
 *
 * Requires `--allow-read` and `--allow-write` on the data directory.
 *
 * @example Create a topic, append a batch, read it back
 * ```ts
 * import { LogManager } from "./mod.ts";
 * import { buildBatch } from "../wasm/testing.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const mgr = await LogManager.open(dir);
 * await mgr.createTopic("orders", 1);
 * const log = mgr.partition("orders", 0)!;
 * const batch = buildBatch({ records: [{ key: "k", value: "v" }], baseTimestamp: Date.now() });
 * const { baseOffset } = await log.append(batch);
 * const { records, highWatermark } = await log.read(baseOffset, 1 << 20);
 * console.assert(baseOffset === 0 && highWatermark === 1 && records.length === batch.length);
 * await mgr.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @example Errors carry Kafka codes
 * ```ts
 * import { EngineError, ErrorCode, LogManager } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const mgr = await LogManager.open(dir);
 * try {
 *   await mgr.createTopic("bad name", 1);
 * } catch (e) {
 *   console.assert(e instanceof EngineError && e.code === ErrorCode.INVALID_TOPIC_EXCEPTION);
 * }
 * await mgr.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

export { DataDirLock } from "./data_dir_lock.ts";
export {
  type EpochEntry,
  LeaderEpochCache,
  UNDEFINED_EPOCH,
  UNDEFINED_EPOCH_OFFSET,
} from "./leader_epoch_cache.ts";
export {
  type AlterConfigsOptions,
  type AppendListener,
  type CreateOptions,
  LogManager,
  type LogManagerActivity,
  type LogManagerOptions,
  type TopicInfo,
  type ValidateOnlyOption,
} from "./log_manager.ts";
export {
  type AppendResult,
  type CommittedReadResult,
  errorCodeForBatchStatus,
  type FollowerAppendResult,
  type OffsetAndTimestamp,
  PartitionLog,
  type ReadIntoResult,
  type ReadOptions,
  type ReadResult,
} from "./partition_log.ts";
export type { KeepBytes } from "./hot_tail.ts";
export {
  BROKER_TO_TOPIC_CONFIG,
  brokerConfigsToTopicDefaults,
  type ConfigSource,
  type ConfigType,
  describeTopicConfigs,
  effectiveConfigs,
  type LogConfig,
  toLogConfig,
  TOPIC_CONFIGS,
  type TopicConfigDef,
  type TopicConfigEntry,
  validateConfigValue,
  validateTopicConfigs,
} from "./config.ts";
export {
  type CleanerConfig,
  cleanerConfigOf,
  type CleanOptions,
  type CleanStats,
  LogCleaner,
  type LogCleanerOptions,
} from "./cleaner.ts";
export type { SwapStep } from "./cleaner_swap.ts";
export { type CheckpointEntry, mkdirDurable, writeFileAtomic } from "./checkpoint.ts";
export { EngineError, ErrorCode, type ErrorCodeValue, type RecordError } from "./errors.ts";
export {
  type CachedHandle,
  defaultMaxOpenFiles,
  type DefaultOpenFilesBound,
  defaultOpenFilesBound,
  FileHandleCache,
  type FileHandleCacheOptions,
  type FileHandleCacheStats,
  MAX_OPEN_FILES_CONFIG,
} from "./handle_cache.ts";
export {
  type BatchMetadata,
  DEFAULT_PRODUCER_ID_EXPIRATION_MS,
  INVALID_PRODUCER_EPOCH,
  INVALID_TXN_STATE,
  MAX_CACHED_BATCHES,
  type OngoingTxn,
  OUT_OF_ORDER_SEQUENCE_NUMBER,
  PRODUCER_SNAPSHOT_FILE_SUFFIX,
  type ProducerStateInfo,
  TRANSACTION_COORDINATOR_FENCED,
} from "./producer_state.ts";
export { ABORTED_TXN_SIZE, type AbortedTxn } from "./transaction_index.ts";
export {
  MAX_TOPIC_NAME_LENGTH,
  newTopicId,
  topicCollisionKey,
  validateTopicName,
} from "./topic_name.ts";
