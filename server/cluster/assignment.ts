// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Replica placement for new topics and partitions, as Kafka's `StripedReplicaPlacer` (KRaft):
 * brokers are grouped by rack (brokers without one form one group), racks and each rack's
 * brokers are shuffled once, and each partition takes its leader from the next rack in turn
 * (the next broker of that rack, rotating per partition) and its other replicas from the racks
 * after it. Without racks this is round-robin over the live brokers from a random start; with
 * racks, a partition's replicas are on as many racks as there are.
 *
 * @module
 */

/** A broker as placement sees it. */
export interface PlacementBroker {
  /** Node id. */
  id: number;
  /** Rack, or `null`. */
  rack: string | null;
}

/** A placement that cannot be made (Kafka's INVALID_REPLICATION_FACTOR). */
export class PlacementError extends Error {
  /**
   * Create the error.
   *
   * @param message What failed and why.
   */
  constructor(message: string) {
    super(message);
    this.name = "PlacementError";
  }
}

class BrokerList {
  readonly brokers: number[];
  #epoch = 0;
  #index = 0;
  #offset: number;

  constructor(brokers: number[], offset: number) {
    this.brokers = brokers;
    this.#offset = offset;
  }

  next(epoch: number): number {
    if (this.brokers.length === 0) return -1;
    if (this.#epoch !== epoch) {
      this.#epoch = epoch;
      this.#index = 0;
      this.#offset = (this.#offset + 1) % this.brokers.length;
    }
    if (this.#index >= this.brokers.length) return -1;
    const b = this.brokers[(this.#index + this.#offset) % this.brokers.length];
    this.#index++;
    return b;
  }
}

/**
 * Place the replicas of `count` partitions.
 *
 * @example
 * ```ts
 * import { placeReplicas } from "./assignment.ts";
 *
 * const brokers = [{ id: 1, rack: null }, { id: 2, rack: null }, { id: 3, rack: null }];
 * const replicas = placeReplicas(brokers, 6, 2);
 * console.assert(replicas.length === 6 && replicas.every((r) => r.length === 2));
 * ```
 *
 * @param brokers The live brokers.
 * @param count Partitions to place.
 * @param replicationFactor Replicas per partition.
 * @param random Random numbers in [0, 1) (tests make placement deterministic). Default
 *   `Math.random`.
 * @returns Each partition's replicas, leader first.
 * @throws {PlacementError} If the replication factor is below 1 or above the live brokers.
 */
export function placeReplicas(
  brokers: readonly PlacementBroker[],
  count: number,
  replicationFactor: number,
  random: () => number = Math.random,
): number[][] {
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new PlacementError(`Replication factor must be larger than 0, got ${replicationFactor}`);
  }
  if (replicationFactor > brokers.length) {
    throw new PlacementError(
      `Replication factor: ${replicationFactor} larger than available brokers: ${brokers.length}.`,
    );
  }
  const shuffle = <T>(a: T[]): T[] => {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a;
  };
  const byRack = new Map<string | null, number[]>();
  for (const b of [...brokers].sort((x, y) => x.id - y.id)) {
    let list = byRack.get(b.rack);
    if (list === undefined) byRack.set(b.rack, list = []);
    list.push(b.id);
  }
  const racks = shuffle([...byRack.keys()]).map((r) => {
    const ids = shuffle(byRack.get(r)!);
    return new BrokerList(ids, Math.floor(random() * ids.length));
  });
  let offset = Math.floor(random() * racks.length);
  let epoch = 0;
  const out: number[][] = [];
  for (let p = 0; p < count; p++) {
    epoch++;
    const replicas: number[] = [];
    let first = offset;
    for (;;) {
      const b = racks[first].next(epoch);
      if (b >= 0) {
        replicas.push(b);
        break;
      }
      first = (first + 1) % racks.length;
    }
    offset = (first + 1) % racks.length;
    let r = offset;
    while (replicas.length < replicationFactor) {
      const b = racks[r].next(epoch);
      if (b >= 0) replicas.push(b);
      r = (r + 1) % racks.length;
    }
    out.push(replicas);
  }
  return out;
}
