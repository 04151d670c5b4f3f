// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The classic consumer-group coordinator: the group state machine
 * ({@linkcode GroupCoordinator}), durable offsets and group metadata in `__consumer_offsets`
 * ({@linkcode OffsetStore}), and start-up ({@linkcode openGroupCoordinator}). The API handlers
 * (`server/apis/join_group.ts`, ...) reach the coordinator as `BrokerContext.groups`.
 *
 * @example Start a coordinator on a storage engine
 * ```ts
 * import { LogManager } from "../../engine/mod.ts";
 * import { openGroupCoordinator } from "./mod.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const logs = await LogManager.open(dir);
 * const groups = await openGroupCoordinator(logs, {
 *   offsetsTopicNumPartitions: 1,
 *   config: { initialRebalanceDelayMs: 0 },
 * });
 * console.log(groups.describeGroup("g").groupState); // "Dead" (unknown)
 * groups.close();
 * await logs.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

export {
  type CoordinatorLog,
  DEFAULT_GROUP_COORDINATOR_CONFIG,
  type DescribedMember,
  type FetchedOffset,
  GroupCoordinator,
  type GroupCoordinatorConfig,
  type GroupCoordinatorOptions,
  type GroupDescription,
  type HeartbeatParams,
  type JoinGroupParams,
  type LeaveGroupResult,
  type LeavingMember,
  type ListedGroup,
  type OffsetCommitParams,
  type OffsetCommitResultTopic,
  type OffsetFetchOptions,
  type OffsetFetchResult,
  type SyncGroupParams,
} from "./coordinator.ts";
export {
  type CommittedOffset,
  GROUP_STATES,
  GroupMetadata,
  type GroupProtocol,
  type GroupState,
  type JoinGroupMember,
  type JoinGroupResult,
  MemberMetadata,
  type SyncGroupResult,
} from "./group.ts";
export { CONSUMER_OFFSETS_TOPIC, OffsetStore, type OffsetStoreOptions } from "./offset_store.ts";
export {
  openGroupCoordinator,
  type OpenGroupCoordinatorOptions,
} from "./open_group_coordinator.ts";
export { type Cancel, ManualScheduler, type Scheduler, systemScheduler } from "./scheduler.ts";
export {
  type CoordinatorRecord,
  type GroupMemberSnapshot,
  type GroupSnapshot,
  type OffsetCommitValue,
  partitionForGroup,
} from "./schemas.ts";
