// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Every broker's in-memory copy of the cluster metadata: one read of everything under the
 * prefix, then an etcd watch from the revision after it, applying each revision's changes in
 * order. When etcd compacted away the revisions the watch needs (a broker cut off for long), the
 * view reads everything again and reports the differences as changes, so listeners never miss
 * one.
 *
 * The view also carries the hook the data plane uses (docs/CLUSTER.md, "ISR changes"):
 * {@linkcode ClusterView.onPartitionStates} delivers every change of leader, leader epoch, ISR,
 * partition epoch or replicas of the partitions this broker replicates, and
 * {@linkcode ClusterView.alterPartition} is Kafka's AlterPartition as a compare-and-swap in etcd.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/errors.ts";
import type { Watch, WatchEvent } from "./etcd.ts";
import type {
  BrokerRegistration,
  MetadataKey,
  MetadataSnapshot,
  MetadataStore,
  PartitionState,
  TopicRecord,
  Versioned,
} from "./metadata_store.ts";
import type { Logger } from "../logger.ts";

/** One key of the view that changed (`before`/`after` undefined: absent). */
export type ViewChange =
  | {
    kind: "broker";
    id: number;
    before?: Versioned<BrokerRegistration>;
    after?: Versioned<BrokerRegistration>;
  }
  | { kind: "controller"; before?: Versioned<{ id: number }>; after?: Versioned<{ id: number }> }
  | { kind: "topic"; name: string; before?: Versioned<TopicRecord>; after?: Versioned<TopicRecord> }
  | {
    kind: "partition";
    topic: string;
    partition: number;
    before?: Versioned<PartitionState>;
    after?: Versioned<PartitionState>;
  }
  | { kind: "cluster_id" };

/** A partition this broker replicates, as the data plane sees it. */
export interface ReplicaState {
  /** Topic name. */
  topic: string;
  /** Topic id. */
  topicId: string;
  /** Partition index. */
  partition: number;
  /** Replicas, preferred leader first. */
  replicas: number[];
  /** Leader (-1: offline, or no state yet). */
  leader: number;
  /** Leader epoch (-1: no state yet). */
  leaderEpoch: number;
  /** In-sync replicas. */
  isr: number[];
  /** Partition epoch (-1: no state yet). */
  partitionEpoch: number;
  /** This broker is no longer a replica (the topic was deleted, or it was moved away). */
  removed: boolean;
}

/** What {@linkcode ClusterView.alterPartition} asks for (Kafka's AlterPartition, one partition). */
export interface AlterPartitionRequest {
  /** The new ISR (must include the leader, i.e. this broker). */
  isr: number[];
  /** The leader epoch the leader has (must be the current one). */
  leaderEpoch: number;
  /** The partition epoch the leader has (must be the current one). */
  partitionEpoch: number;
  /**
   * The broker epochs of ISR members as the leader knows them from their fetches (Kafka's
   * `NewIsrWithEpochs`, KIP-903): a broker added to the ISR must still be registered with that
   * epoch. -1 or absent: not known (a fetch that carries no epoch), not checked.
   */
  brokerEpochs?: { brokerId: number; brokerEpoch: number }[];
}

/** What {@linkcode ClusterView.alterPartition} answers. */
export interface AlterPartitionResult {
  /**
   * NONE; UNKNOWN_TOPIC_OR_PARTITION; FENCED_LEADER_EPOCH (the leader epoch moved on: this
   * broker was replaced as leader); INVALID_UPDATE_VERSION (the partition epoch moved on:
   * re-read and apply the state); INVALID_REQUEST (not the leader, or an ISR that is not a
   * subset of the replicas or lacks the leader); INELIGIBLE_REPLICA (an ISR member that is not
   * registered, or a broker added to the ISR that is fenced or registered with another broker
   * epoch than its fetches carried: KIP-841, KIP-903); STALE_BROKER_EPOCH (this broker's
   * registration changed: it is fenced); REQUEST_TIMED_OUT (etcd could not be reached).
   */
  errorCode: number;
  /** Why, when refused with INELIGIBLE_REPLICA. */
  message?: string;
  /** The partition's state after the call (the new one on success, else the current one). */
  state?: PartitionState;
}

/** AlterPartitions written in one etcd transaction (with the fences, below `--max-txn-ops`). */
const ALTER_BATCH = 100;

/** An AlterPartition waiting for its batch. */
interface PendingAlter {
  topic: string;
  partition: number;
  request: AlterPartitionRequest;
  resolve: (r: AlterPartitionResult) => void;
}

/** Options of {@linkcode ClusterView}. */
export interface ClusterViewOptions {
  /** The metadata store. */
  store: MetadataStore;
  /** This broker's node id. */
  nodeId: number;
  /** This broker's current epoch (0 when not registered), for AlterPartition's fencing. */
  brokerEpoch: () => number;
  /** Where to report. */
  logger: Logger;
}

/**
 * The cluster as this broker knows it.
 *
 * @example
 * ```ts ignore
 * const view = new ClusterView({ store, nodeId: 1, brokerEpoch: () => 0, logger });
 * await view.start();
 * console.log([...view.brokers().map((b) => b.id)]);
 * view.close();
 * ```
 */
export class ClusterView {
  readonly #store: MetadataStore;
  readonly #nodeId: number;
  readonly #brokerEpoch: () => number;
  readonly #logger: Logger;
  #snap: MetadataSnapshot | undefined;
  #watch: Watch | undefined;
  readonly #listeners = new Set<(changes: ViewChange[]) => void>();
  readonly #replicaListeners = new Set<(states: ReplicaState[]) => void>();
  readonly #heartbeatListeners = new Set<(id: number, revision: number) => void>();
  #revisionWaiters: { revision: number; resolve: () => void }[] = [];
  /** When each topic (by id) was first seen, for the controller's repair of missing states. */
  readonly #firstSeen = new Map<string, number>();
  /** AlterPartitions waiting for the next batch (see {@linkcode ClusterView.alterPartition}). */
  #alters: PendingAlter[] = [];
  #altering = false;

  /**
   * Create a view (call `start` to read and watch).
   *
   * @param options Store, node id, broker epoch, logger.
   */
  constructor(options: ClusterViewOptions) {
    this.#store = options.store;
    this.#nodeId = options.nodeId;
    this.#brokerEpoch = options.brokerEpoch;
    this.#logger = options.logger;
  }

  /**
   * Read everything and start watching.
   *
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async start(): Promise<void> {
    this.#snap = await this.#store.snapshot();
    for (const t of this.#snap.topics.values()) this.#firstSeen.set(t.value.id, Date.now());
    this.#watch = this.#store.etcd.watch(`${this.#store.root}/`, {
      prefix: true,
      startRevision: this.#snap.revision + 1,
      onEvents: (events, revision) => this.#apply(events, revision),
      onCompacted: () => this.#resync(),
      onError: (e) => this.#logger.warn(`Cluster view: ${e.message}; reconnecting`),
    });
    await this.#watch.ready;
  }

  /** Stop watching. */
  close(): void {
    this.#watch?.close();
    for (const a of this.#alters.splice(0)) a.resolve({ errorCode: ErrorCode.REQUEST_TIMED_OUT });
    for (const w of this.#revisionWaiters) w.resolve();
    this.#revisionWaiters = [];
  }

  /** The revision the view has applied. */
  get revision(): number {
    return this.#snap?.revision ?? 0;
  }

  /** This broker's node id. */
  get nodeId(): number {
    return this.#nodeId;
  }

  /** The cluster id in etcd. */
  get clusterId(): string | undefined {
    return this.#snap?.clusterId;
  }

  /** The controller's node id, -1 when none is elected. */
  get controllerId(): number {
    return this.#snap?.controller?.value.id ?? -1;
  }

  /** The controller key with its revisions (its create revision is the controller epoch). */
  get controller(): Versioned<{ id: number }> | undefined {
    return this.#snap?.controller;
  }

  /**
   * The registered brokers, by id.
   *
   * @returns Their registrations.
   */
  brokers(): BrokerRegistration[] {
    return [...(this.#snap?.brokers.values() ?? [])].map((b) => b.value).sort((a, b) =>
      a.id - b.id
    );
  }

  /**
   * One registered broker.
   *
   * @param id Node id.
   * @returns Its registration with revisions, or `undefined` if not registered.
   */
  broker(id: number): Versioned<BrokerRegistration> | undefined {
    return this.#snap?.brokers.get(id);
  }

  /**
   * Whether a broker is registered and not fenced (Kafka's unfenced broker): it caught up
   * since it registered, so it may be elected leader and added to an ISR.
   *
   * @param id Node id.
   * @returns True if its key exists without the `fenced` flag.
   */
  isUnfenced(id: number): boolean {
    const b = this.#snap?.brokers.get(id);
    return b !== undefined && b.value.fenced !== true;
  }

  /**
   * The registered brokers that are not fenced, by id.
   *
   * @returns Their registrations.
   */
  unfencedBrokers(): BrokerRegistration[] {
    return this.brokers().filter((b) => b.fenced !== true);
  }

  /**
   * Whether a broker is registered (alive).
   *
   * @param id Node id.
   * @returns True if its key exists.
   */
  isLive(id: number): boolean {
    return this.#snap?.brokers.has(id) ?? false;
  }

  /**
   * Every topic, by name.
   *
   * @returns Name → topic.
   */
  topics(): Map<string, Versioned<TopicRecord>> {
    return this.#snap?.topics ?? new Map();
  }

  /**
   * One topic.
   *
   * @param name Topic name.
   * @returns The topic, or `undefined`.
   */
  topic(name: string): Versioned<TopicRecord> | undefined {
    return this.#snap?.topics.get(name);
  }

  /**
   * When this view first saw a topic id (ms since the epoch), or `undefined`.
   *
   * @param topicId The topic id.
   * @returns The time.
   */
  firstSeen(topicId: string): number | undefined {
    return this.#firstSeen.get(topicId);
  }

  /**
   * One partition's state.
   *
   * @param topic Topic name.
   * @param partition Partition index.
   * @returns The state, or `undefined` (unknown, or not written yet).
   */
  partition(topic: string, partition: number): Versioned<PartitionState> | undefined {
    return this.#snap?.partitions.get(topic)?.get(partition);
  }

  /**
   * Be told of every change, one call per etcd revision (or per re-read after a compaction).
   *
   * @param listener Called with the revision's changes, after the view applied them.
   * @returns A function that unsubscribes.
   */
  onChange(listener: (changes: ViewChange[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Be told of each broker heartbeat (`<prefix>/heartbeats/<id>` written), in etcd's order with
   * the other changes: a heartbeat is reported before the changes of the same or a later
   * revision are. Heartbeats are not part of the view's state.
   *
   * @param listener Called with the broker's node id and the heartbeat's revision.
   * @returns A function that unsubscribes.
   */
  onHeartbeat(listener: (id: number, revision: number) => void): () => void {
    this.#heartbeatListeners.add(listener);
    return () => this.#heartbeatListeners.delete(listener);
  }

  /**
   * The data plane's hook: every change of (leader, leader epoch, ISR, partition epoch,
   * replicas) of the partitions this broker replicates. The listener gets the current state of
   * each at once, then each change (a partition this broker stops replicating comes once more
   * with `removed: true`).
   *
   * @param listener Called with the changed partitions.
   * @returns A function that unsubscribes.
   */
  onPartitionStates(listener: (states: ReplicaState[]) => void): () => void {
    this.#replicaListeners.add(listener);
    const now: ReplicaState[] = [];
    for (const [name, t] of this.topics()) {
      t.value.replicas.forEach((replicas, p) => {
        if (replicas.includes(this.#nodeId)) now.push(this.#replicaState(name, t.value, p, false));
      });
    }
    if (now.length > 0) listener(now);
    return () => this.#replicaListeners.delete(listener);
  }

  /**
   * The current states of some partitions of a topic that this broker replicates, as
   * {@linkcode ClusterView.onPartitionStates} delivers them.
   *
   * @param topic Topic name.
   * @param partitions Partition indexes.
   * @returns Their states (none for a partition the topic lacks or this broker does not
   * replicate).
   */
  replicaStates(topic: string, partitions: readonly number[]): ReplicaState[] {
    const t = this.topic(topic)?.value;
    if (t === undefined) return [];
    return partitions
      .filter((p) => (t.replicas[p] ?? []).includes(this.#nodeId))
      .map((p) => this.#replicaState(topic, t, p, false));
  }

  /**
   * Resolve once the view has applied `revision` (e.g. a write this broker just made).
   *
   * @param revision The etcd revision.
   * @param timeoutMs Give up after this long (resolves anyway). Default 10000.
   * @returns Resolves when applied, closed, or timed out.
   */
  waitForRevision(revision: number, timeoutMs = 10_000): Promise<void> {
    if (this.revision >= revision) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = { revision, resolve: () => {} };
      const timer = setTimeout(() => {
        this.#revisionWaiters = this.#revisionWaiters.filter((w) => w !== entry);
        resolve();
      }, timeoutMs);
      entry.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#revisionWaiters.push(entry);
    });
  }

  /**
   * Kafka's AlterPartition for one partition this broker leads: write `isr` with the partition
   * epoch + 1, compare-and-swap on the partition key and on this broker's registration (a
   * broker whose registration lapsed cannot change an ISR). The calls of one moment (a follower
   * back after a restart asks for thousands) go to etcd together, up to 100 in one transaction
   * checked against the view's states and mod revisions, as Kafka's AlterPartition carries many
   * partitions; when that transaction is refused or any of them is not plain, each is done
   * alone, its state read fresh from etcd. See {@linkcode AlterPartitionResult} for the error
   * codes.
   *
   * @example
   * ```ts ignore
   * const r = await view.alterPartition("orders", 0, { isr: [1, 2], leaderEpoch: 3, partitionEpoch: 7 });
   * if (r.errorCode === 95) console.log("INVALID_UPDATE_VERSION: apply", r.state);
   * ```
   *
   * @param topic Topic name.
   * @param partition Partition index.
   * @param request The new ISR and the epochs the leader has.
   * @returns The error code and the partition's state.
   */
  alterPartition(
    topic: string,
    partition: number,
    request: AlterPartitionRequest,
  ): Promise<AlterPartitionResult> {
    return new Promise((resolve) => {
      this.#alters.push({ topic, partition, request, resolve });
      if (this.#altering) return;
      this.#altering = true;
      // the changes of one moment (a follower back: every partition it follows here) together
      setTimeout(() => void this.#alterBatches(), 0);
    });
  }

  /** Writes the waiting AlterPartitions, {@linkcode ALTER_BATCH} to a transaction. */
  async #alterBatches(): Promise<void> {
    try {
      while (this.#alters.length > 0) {
        const batch: PendingAlter[] = [];
        while (batch.length < ALTER_BATCH && this.#alters.length > 0) {
          const a = this.#alters.shift()!;
          const stale = this.#staleInView(a);
          if (stale === undefined) batch.push(a);
          else a.resolve(stale);
        }
        if (batch.length === 0) continue;
        const done = await this.#alterBatch(batch).catch((e) => {
          this.#logger.warn(
            `AlterPartition of ${batch.length} partitions in one transaction failed: ${
              e instanceof Error ? e.message : e
            }; one by one`,
          );
          return false;
        });
        if (!done) {
          await Promise.all(batch.map(async (a) => {
            a.resolve(await this.#alterOne(a.topic, a.partition, a.request));
          }));
        }
      }
    } finally {
      this.#altering = false;
    }
  }

  /**
   * The answer to an AlterPartition whose epochs are older than the view's state (a leader
   * that has not applied the latest state yet, as after a restart of every broker): etcd's is
   * at least as new, and epochs only grow, so it is refused without asking etcd, with the
   * view's state to apply. `undefined` when it is not stale by the view.
   */
  #staleInView(a: PendingAlter): AlterPartitionResult | undefined {
    const s = this.partition(a.topic, a.partition)?.value;
    if (s === undefined) return undefined;
    if (s.leaderEpoch > a.request.leaderEpoch) {
      return { errorCode: ErrorCode.FENCED_LEADER_EPOCH, state: s };
    }
    if (s.leaderEpoch === a.request.leaderEpoch && s.partitionEpoch > a.request.partitionEpoch) {
      return { errorCode: ErrorCode.INVALID_UPDATE_VERSION, state: s };
    }
    return undefined;
  }

  /**
   * Several AlterPartitions in one compare-and-swap transaction, checked against the view's
   * states (the write compares each partition's mod revision, so a stale view only makes it
   * fail) and the registrations of the brokers added, read once for the batch. Returns false
   * (nothing written, nothing answered) when any of them is not a plain success: those take
   * {@linkcode ClusterView.#alterOne}'s path, which reads etcd and gives the exact error.
   */
  async #alterBatch(batch: PendingAlter[]): Promise<boolean> {
    if (batch.length < 2) return false;
    const epoch = this.#brokerEpoch();
    if (epoch === 0) return false;
    const writes = [];
    const added = new Set<number>();
    for (const a of batch) {
      const current = this.partition(a.topic, a.partition);
      const replicas = this.topic(a.topic)?.value.replicas[a.partition];
      if (current === undefined || replicas === undefined) return false;
      const s = current.value;
      const isr = [...new Set(a.request.isr)];
      if (
        a.request.leaderEpoch !== s.leaderEpoch || s.leader !== this.#nodeId ||
        a.request.partitionEpoch !== s.partitionEpoch || !isr.includes(this.#nodeId) ||
        isr.some((b) => !replicas.includes(b) || !this.isLive(b))
      ) {
        return false;
      }
      for (const b of isr) if (!s.isr.includes(b)) added.add(b);
      writes.push({
        a,
        topic: a.topic,
        partition: a.partition,
        expectedModRevision: current.modRevision,
        state: { ...s, isr, partitionEpoch: s.partitionEpoch + 1 } as PartitionState,
      });
    }
    // Kafka's controller (KIP-841, KIP-903), as in #alterOne: every broker added must be
    // registered, unfenced, not shutting down, with the epoch its fetches carried
    const eligible: { id: number; createRevision: number; modRevision: number }[] = [];
    for (const b of added) {
      const reg = await this.#store.readBroker(b);
      if (
        reg === undefined || reg.value.fenced === true || reg.value.controlledShutdown === true
      ) {
        return false;
      }
      for (const a of batch) {
        const sent = a.request.brokerEpochs?.find((e) => e.brokerId === b)?.brokerEpoch ?? -1;
        if (sent >= 0 && sent !== reg.createRevision) return false;
      }
      eligible.push({ id: b, createRevision: reg.createRevision, modRevision: reg.modRevision });
    }
    const r = await this.#store.writePartitions(writes, {
      broker: { id: this.#nodeId, epoch },
      eligible,
    });
    if (!r.ok) return false;
    await this.waitForRevision(r.revision, 2000);
    for (const w of writes) w.a.resolve({ errorCode: ErrorCode.NONE, state: w.state });
    return true;
  }

  /** One AlterPartition, read fresh from etcd (the rules of {@linkcode ClusterView.alterPartition}). */
  async #alterOne(
    topic: string,
    partition: number,
    request: AlterPartitionRequest,
  ): Promise<AlterPartitionResult> {
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        const t = this.topic(topic);
        const current = await this.#store.readPartition(topic, partition);
        const replicas = t?.value.replicas[partition];
        if (current === undefined || replicas === undefined) {
          return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        }
        const s = current.value;
        const fail = (errorCode: number) => ({ errorCode, state: s });
        if (request.leaderEpoch !== s.leaderEpoch) return fail(ErrorCode.FENCED_LEADER_EPOCH);
        if (s.leader !== this.#nodeId) return fail(ErrorCode.INVALID_REQUEST);
        if (request.partitionEpoch !== s.partitionEpoch) {
          return fail(ErrorCode.INVALID_UPDATE_VERSION);
        }
        const isr = [...new Set(request.isr)];
        if (!isr.includes(this.#nodeId) || isr.some((b) => !replicas.includes(b))) {
          return fail(ErrorCode.INVALID_REQUEST);
        }
        const gone = isr.filter((b) => !this.isLive(b));
        if (gone.length > 0) {
          return {
            ...fail(ErrorCode.INELIGIBLE_REPLICA),
            message: `broker ${gone.join(", ")} not registered`,
          };
        }
        const epoch = this.#brokerEpoch();
        if (epoch === 0) return fail(ErrorCode.STALE_BROKER_EPOCH);
        // Kafka's controller (KIP-841, KIP-903): a broker added to the ISR must be registered,
        // unfenced, not in controlled shutdown, and registered with the epoch its fetches
        // carried; read fresh from etcd and compared in the write, so a leader with a stale view
        // cannot add it
        const eligible: { id: number; createRevision: number; modRevision: number }[] = [];
        for (const b of isr.filter((b) => !s.isr.includes(b))) {
          const reg = await this.#store.readBroker(b);
          const sent = request.brokerEpochs?.find((e) => e.brokerId === b)?.brokerEpoch ?? -1;
          const why = reg === undefined
            ? "not registered"
            : reg.value.fenced === true
            ? `fenced (broker epoch ${reg.createRevision}, catching up)`
            : reg.value.controlledShutdown === true
            ? `in controlled shutdown (broker epoch ${reg.createRevision})`
            : sent >= 0 && sent !== reg.createRevision
            ? `stale broker epoch ${sent} (registered with ${reg.createRevision})`
            : undefined;
          if (why !== undefined) {
            return { ...fail(ErrorCode.INELIGIBLE_REPLICA), message: `broker ${b} ${why}` };
          }
          eligible.push({
            id: b,
            createRevision: reg!.createRevision,
            modRevision: reg!.modRevision,
          });
        }
        const next: PartitionState = { ...s, isr, partitionEpoch: s.partitionEpoch + 1 };
        const r = await this.#store.writePartition(topic, partition, current.modRevision, next, {
          broker: { id: this.#nodeId, epoch },
          eligible,
        });
        if (r.ok) {
          await this.waitForRevision(r.revision, 2000);
          return { errorCode: ErrorCode.NONE, state: next };
        }
        if (r.reason === "fenced") return fail(ErrorCode.STALE_BROKER_EPOCH);
        // "ineligible": an added broker's registration changed meanwhile: check it again
        // changed between the read and the write: check again against the new state
      }
      return { errorCode: ErrorCode.INVALID_UPDATE_VERSION };
    } catch (e) {
      this.#logger.warn(
        `AlterPartition of ${topic}-${partition} failed: ${e instanceof Error ? e.message : e}`,
      );
      return { errorCode: ErrorCode.REQUEST_TIMED_OUT };
    }
  }

  #replicaState(name: string, t: TopicRecord, p: number, removed: boolean): ReplicaState {
    const s = this.partition(name, p)?.value;
    return {
      topic: name,
      topicId: t.id,
      partition: p,
      replicas: [...(t.replicas[p] ?? [])],
      leader: s?.leader ?? -1,
      leaderEpoch: s?.leaderEpoch ?? -1,
      isr: [...(s?.isr ?? [])],
      partitionEpoch: s?.partitionEpoch ?? -1,
      removed,
    };
  }

  #apply(events: WatchEvent[], revision: number): void {
    const snap = this.#snap!;
    const changes: ViewChange[] = [];
    for (const e of events) {
      const beat = e.type === "put" ? this.#store.heartbeatOf(e.kv.key) : undefined;
      if (beat !== undefined) {
        for (const l of this.#heartbeatListeners) {
          try {
            l(beat, e.kv.modRevision);
          } catch (err) {
            this.#logger.error(
              `Heartbeat listener failed: ${err instanceof Error ? err.message : err}`,
            );
          }
        }
        continue;
      }
      const k = this.#store.parseKey(e.kv.key);
      if (k === undefined) continue;
      const before = this.#valueOf(snap, k);
      try {
        this.#store.apply(snap, e);
      } catch (err) {
        this.#logger.error(
          `Cluster view: ignoring etcd key ${e.kv.key}: ${
            err instanceof Error ? err.message : err
          }`,
        );
        continue;
      }
      changes.push(this.#changeOf(k, before, this.#valueOf(snap, k)));
    }
    snap.revision = Math.max(snap.revision, revision);
    this.#emit(changes);
  }

  /** After a compaction: read everything again and report what differs. */
  async #resync(): Promise<number> {
    const old = this.#snap!;
    let fresh: MetadataSnapshot;
    for (let backoff = 100;; backoff = Math.min(backoff * 2, 2000)) {
      try {
        fresh = await this.#store.snapshot();
        break;
      } catch (e) {
        this.#logger.warn(
          `Cluster view: re-reading after a compaction failed: ${
            e instanceof Error ? e.message : e
          }`,
        );
        await new Promise((r) => setTimeout(r, backoff));
      }
    }
    this.#logger.warn(
      `Cluster view: etcd compacted the revisions after ${old.revision}; re-read everything at ` +
        `revision ${fresh.revision}`,
    );
    const changes: ViewChange[] = [];
    const diffMap = <K, T extends { modRevision: number }>(
      a: Map<K, T>,
      b: Map<K, T>,
      make: (k: K, before?: T, after?: T) => ViewChange,
    ) => {
      for (const [k, v] of a) {
        if (b.get(k)?.modRevision !== v.modRevision) changes.push(make(k, v, b.get(k)));
      }
      for (const [k, v] of b) if (!a.has(k)) changes.push(make(k, undefined, v));
    };
    if (old.clusterId !== fresh.clusterId) changes.push({ kind: "cluster_id" });
    diffMap(
      old.brokers,
      fresh.brokers,
      (id, before, after) => ({ kind: "broker", id, before, after }),
    );
    if (old.controller?.modRevision !== fresh.controller?.modRevision) {
      changes.push({ kind: "controller", before: old.controller, after: fresh.controller });
    }
    diffMap(
      old.topics,
      fresh.topics,
      (name, before, after) => ({ kind: "topic", name, before, after }),
    );
    const flat = (s: MetadataSnapshot) => {
      const m = new Map<string, Versioned<PartitionState>>();
      for (const [t, ps] of s.partitions) for (const [p, v] of ps) m.set(`${t}\u0000${p}`, v);
      return m;
    };
    diffMap(flat(old), flat(fresh), (key, before, after) => {
      const [topic, p] = key.split("\u0000");
      return { kind: "partition", topic, partition: Number(p), before, after };
    });
    this.#snap = fresh;
    this.#emit(changes);
    return fresh.revision;
  }

  #valueOf(snap: MetadataSnapshot, k: MetadataKey): unknown {
    switch (k.kind) {
      case "broker":
        return snap.brokers.get(k.id);
      case "controller":
        return snap.controller;
      case "topic":
        return snap.topics.get(k.name);
      case "partition":
        return snap.partitions.get(k.topic)?.get(k.partition);
      default:
        return undefined;
    }
  }

  #changeOf(k: MetadataKey, before: unknown, after: unknown): ViewChange {
    switch (k.kind) {
      case "broker":
        return {
          kind: "broker",
          id: k.id,
          before: before as Versioned<BrokerRegistration> | undefined,
          after: after as Versioned<BrokerRegistration> | undefined,
        };
      case "controller":
        return {
          kind: "controller",
          before: before as Versioned<{ id: number }> | undefined,
          after: after as Versioned<{ id: number }> | undefined,
        };
      case "topic":
        return {
          kind: "topic",
          name: k.name,
          before: before as Versioned<TopicRecord> | undefined,
          after: after as Versioned<TopicRecord> | undefined,
        };
      case "partition":
        return {
          kind: "partition",
          topic: k.topic,
          partition: k.partition,
          before: before as Versioned<PartitionState> | undefined,
          after: after as Versioned<PartitionState> | undefined,
        };
      default:
        return { kind: "cluster_id" };
    }
  }

  #emit(changes: ViewChange[]): void {
    for (const c of changes) {
      if (c.kind === "topic" && c.after !== undefined && !this.#firstSeen.has(c.after.value.id)) {
        this.#firstSeen.set(c.after.value.id, Date.now());
      }
      if (c.kind === "topic" && c.after === undefined && c.before !== undefined) {
        this.#firstSeen.delete(c.before.value.id);
      }
    }
    if (changes.length > 0) {
      for (const l of this.#listeners) {
        try {
          l(changes);
        } catch (e) {
          this.#logger.error(`Cluster view listener failed: ${e instanceof Error ? e.stack : e}`);
        }
      }
      this.#emitReplicaStates(changes);
    }
    const rev = this.revision;
    const ready = this.#revisionWaiters.filter((w) => w.revision <= rev);
    if (ready.length > 0) {
      this.#revisionWaiters = this.#revisionWaiters.filter((w) => w.revision > rev);
      for (const w of ready) w.resolve();
    }
  }

  #emitReplicaStates(changes: ViewChange[]): void {
    if (this.#replicaListeners.size === 0) return;
    const me = this.#nodeId;
    const out = new Map<string, ReplicaState>();
    const key = (t: string, p: number) => `${t}\u0000${p}`;
    for (const c of changes) {
      if (c.kind === "topic") {
        const before = c.before?.value;
        const after = c.after?.value;
        if (before !== undefined && (after === undefined || after.id !== before.id)) {
          before.replicas.forEach((r, p) => {
            if (r.includes(me)) out.set(key(c.name, p), removedState(c.name, before, p));
          });
        }
        if (after !== undefined) {
          after.replicas.forEach((r, p) => {
            const was = before?.id === after.id ? before.replicas[p] : undefined;
            if (r.includes(me)) {
              if (!sameList(was, r)) {
                out.set(key(c.name, p), this.#replicaState(c.name, after, p, false));
              }
            } else if (was?.includes(me)) {
              out.set(key(c.name, p), { ...this.#replicaState(c.name, after, p, true) });
            }
          });
        }
      } else if (c.kind === "partition") {
        const t = this.topic(c.topic)?.value;
        if (t === undefined || c.after === undefined) continue;
        if (!(t.replicas[c.partition] ?? []).includes(me)) continue;
        const a = c.after.value;
        const b = c.before?.value;
        if (
          b !== undefined && a.leader === b.leader && a.leaderEpoch === b.leaderEpoch &&
          a.partitionEpoch === b.partitionEpoch && sameList(a.isr, b.isr)
        ) continue;
        out.set(key(c.topic, c.partition), this.#replicaState(c.topic, t, c.partition, false));
      }
    }
    if (out.size === 0) return;
    const states = [...out.values()];
    for (const l of this.#replicaListeners) {
      try {
        l(states);
      } catch (e) {
        this.#logger.error(`Partition state listener failed: ${e instanceof Error ? e.stack : e}`);
      }
    }
  }
}

function removedState(name: string, t: TopicRecord, p: number): ReplicaState {
  return {
    topic: name,
    topicId: t.id,
    partition: p,
    replicas: [...t.replicas[p]],
    leader: -1,
    leaderEpoch: -1,
    isr: [],
    partitionEpoch: -1,
    removed: true,
  };
}

function sameList(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
