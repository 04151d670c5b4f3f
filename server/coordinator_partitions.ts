// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Which partitions of its internal topic a coordinator serves (cluster mode; Kafka's
 * `CoordinatorRuntime` partition states): the group coordinator (`__consumer_offsets`) and the
 * transaction coordinator (`__transaction_state`) load a partition when this broker becomes its
 * leader and drop it on resignation. One owner of that bookkeeping for both:
 *
 * - a key (group id, transactional id) is served (NONE), loading (COORDINATOR_LOAD_IN_PROGRESS)
 *   or another broker's (NOT_COORDINATOR);
 * - an election waits until the new leader is caught up, reads the partition, and is dropped if
 *   a resignation or a newer election came meanwhile; the caller then applies what was read and
 *   serves the partition in the same synchronous step.
 *
 * Standalone (not `enabled`), every key is served.
 *
 * @module
 */

import { ErrorCode } from "../protocol/errors.ts";

/**
 * The partitions a coordinator serves and loads.
 *
 * @example
 * ```ts
 * import { CoordinatorPartitions } from "./coordinator_partitions.ts";
 *
 * const parts = new CoordinatorPartitions(true, (key) => key.length % 3);
 * console.assert(parts.ownership("ab") === 16); // NOT_COORDINATOR
 * const loaded = await parts.elect(2, () => Promise.resolve(true), () => Promise.resolve(["r"]));
 * loaded!.serve();
 * console.assert(parts.ownership("ab") === 0 && parts.owned.join() === "2");
 * parts.resign(2);
 * console.assert(parts.ownership("ab") === 16);
 * ```
 */
export class CoordinatorPartitions {
  /** Whether the coordinator serves only some partitions (cluster mode). */
  readonly enabled: boolean;
  readonly #partitionFor: (key: string) => number;
  readonly #owned = new Set<number>();
  /** Partitions being loaded, each with its election's number. */
  readonly #loading = new Map<number, number>();
  #elections = 0;

  /**
   * Creates the bookkeeping (no partition served yet).
   *
   * @param enabled `true` in cluster mode; `false`: every key is served.
   * @param partitionFor The internal topic's partition of a key.
   */
  constructor(enabled: boolean, partitionFor: (key: string) => number) {
    this.enabled = enabled;
    this.#partitionFor = partitionFor;
  }

  /**
   * Whether a key is served here.
   *
   * @param key The group id or transactional id.
   * @returns NONE, COORDINATOR_LOAD_IN_PROGRESS or NOT_COORDINATOR.
   */
  ownership(key: string): number {
    if (!this.enabled) return ErrorCode.NONE;
    const p = this.#partitionFor(key);
    if (this.#owned.has(p)) return ErrorCode.NONE;
    if (this.#loading.has(p)) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    return ErrorCode.NOT_COORDINATOR;
  }

  /**
   * Whether `partition` is served (loaded).
   *
   * @param partition The partition.
   * @returns `true` if it is.
   */
  serves(partition: number): boolean {
    return this.#owned.has(partition);
  }

  /**
   * Whether `partition` is being loaded (elected, not served yet).
   *
   * @param partition The partition.
   * @returns `true` if it is.
   */
  loading(partition: number): boolean {
    return this.#loading.has(partition);
  }

  /** The partitions served, ascending. */
  get owned(): number[] {
    return [...this.#owned].sort((a, b) => a - b);
  }

  /**
   * This broker became the partition's leader: marks it loading, waits for `caughtUp`, then
   * reads it with `read`.
   *
   * @param partition The partition.
   * @param caughtUp Resolves `true` once the leader's high watermark reached its log end
   *   (`false`: the leadership was lost meanwhile).
   * @param read Reads the partition.
   * @param closed Whether the coordinator closed meanwhile. Default: never.
   * @returns What `read` returned and `serve`, to call in the same synchronous step as the
   * records are applied; `undefined` when the load was given up (not caught up, resigned, a
   * newer election, closed), or the partition is served already.
   * @throws {Error} What `read` throws (the partition is then not loading any more).
   */
  async elect<T>(
    partition: number,
    caughtUp: () => Promise<boolean>,
    read: () => Promise<T>,
    closed: () => boolean = () => false,
  ): Promise<{ records: T; serve: () => void } | undefined> {
    if (!this.enabled || this.#owned.has(partition)) return undefined;
    const election = ++this.#elections;
    this.#loading.set(partition, election);
    const current = () => this.#loading.get(partition) === election && !closed();
    const giveUp = () => {
      if (this.#loading.get(partition) === election) this.#loading.delete(partition);
    };
    let records: T;
    try {
      if (!(await caughtUp()) || !current()) {
        giveUp();
        return undefined;
      }
      records = await read();
    } catch (e) {
      giveUp();
      throw e;
    }
    if (!current()) return undefined;
    return {
      records,
      serve: () => {
        this.#loading.delete(partition);
        this.#owned.add(partition);
      },
    };
  }

  /**
   * This broker no longer leads the partition: it is neither served nor loading.
   *
   * @param partition The partition.
   * @returns `true` if it was served or loading.
   */
  resign(partition: number): boolean {
    return this.#owned.delete(partition) || this.#loading.delete(partition);
  }
}
