// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Start-up of the group coordinator: open `__consumer_offsets`, replay it, and return a
 * coordinator that writes through to it.
 *
 * @module
 */

import type { LogManager } from "../../engine/mod.ts";
import type { InternalAppend } from "../internal_topic.ts";
import type { Logger } from "../logger.ts";
import { GroupCoordinator, type GroupCoordinatorConfig } from "./coordinator.ts";
import { OffsetStore } from "./offset_store.ts";
import type { Scheduler } from "./scheduler.ts";

/** Options of {@linkcode openGroupCoordinator}. */
export interface OpenGroupCoordinatorOptions {
  /** Coordinator settings (broker configs); missing ones take Kafka's defaults. */
  config?: Partial<GroupCoordinatorConfig>;
  /** `offsets.topic.num.partitions` for a new `__consumer_offsets`. Default 50. */
  offsetsTopicNumPartitions?: number;
  /** `offsets.topic.segment.bytes` for a new `__consumer_offsets`. Default 104857600. */
  offsetsTopicSegmentBytes?: number;
  /** Where to report events. */
  logger?: Logger;
  /** Clock and timers; default the real ones. */
  scheduler?: Scheduler;
  /**
   * Cluster mode: the partition count of `__consumer_offsets` in the cluster (`undefined` while
   * it does not exist). Nothing is replayed here: the coordinator serves the partitions this
   * broker leads, each loaded by `onElection` (see `GroupCoordinatorOptions.ownedPartitionsOnly`).
   */
  clusterPartitions?: () => number | undefined;
  /**
   * Cluster mode: how a batch is appended to `__consumer_offsets` (as its leader, answered once
   * the in-sync replicas have it; see `InternalTopicOptions.append`).
   */
  append?: InternalAppend;
}

/**
 * Open (or create) `__consumer_offsets` in `logs`, replay it and return the coordinator with
 * its committed offsets and group metadata restored. Call `close()` on it before closing `logs`.
 *
 * @example
 * ```ts
 * import { LogManager } from "../../engine/mod.ts";
 * import { openGroupCoordinator } from "./open_group_coordinator.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const logs = await LogManager.open(dir);
 * const groups = await openGroupCoordinator(logs, { offsetsTopicNumPartitions: 1 });
 * console.log(groups.listGroups()); // []
 * groups.close();
 * await logs.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @param logs The storage engine.
 * @param options Settings.
 * @returns The running coordinator.
 * @throws {EngineError} If the topic cannot be created or read.
 */
export async function openGroupCoordinator(
  logs: LogManager,
  options: OpenGroupCoordinatorOptions = {},
): Promise<GroupCoordinator> {
  const logger = options.logger;
  const now = options.scheduler ? () => options.scheduler!.now() : Date.now;
  const store = await OffsetStore.open(logs, {
    numPartitions: options.offsetsTopicNumPartitions,
    segmentBytes: options.offsetsTopicSegmentBytes,
    warn: (m) => logger ? logger.warn(m) : console.warn(m),
    now,
    clusterPartitions: options.clusterPartitions,
    append: options.append,
  });
  if (options.clusterPartitions !== undefined) {
    return new GroupCoordinator({
      config: options.config,
      scheduler: options.scheduler,
      log: store,
      logger,
      ownedPartitionsOnly: true,
    });
  }
  const records = await store.load();
  const coordinator = new GroupCoordinator({
    config: options.config,
    scheduler: options.scheduler,
    log: store,
    logger,
  });
  coordinator.load(records);
  const groups = coordinator.listGroups().length;
  logger?.info(
    `Group coordinator loaded ${records.length} records of __consumer_offsets ` +
      `(${store.partitions} partitions): ${groups} groups`,
  );
  return coordinator;
}
