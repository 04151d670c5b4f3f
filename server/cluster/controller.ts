// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The controller: one broker at a time, elected through etcd. Every registered broker campaigns
 * when there is no controller key, creating `<prefix>/controller` under its own lease
 * (create-if-absent); the winner's key's create revision is the **controller epoch**. The key
 * lives as long as the winner's lease, so a dead controller is replaced within the lease TTL.
 * Every write the controller makes compares that create revision with its epoch, so a deposed
 * controller (its lease expired while it was stalled or cut off) cannot change anything.
 *
 * What it does is leader election (docs/CLUSTER.md "Leader election"): it reconciles every
 * partition's state with the registered brokers whenever the view changes — when a broker's key
 * goes, each partition it led gets the first live ISR member in replica order as leader (leader
 * epoch + 1), the dead broker leaves every ISR it is in (partition epoch + 1), and a partition
 * with no live ISR member goes offline (leader -1) with its last ISR kept
 * (`unclean.leader.election.enable=false`); when an ISR member of an offline partition comes
 * back, it is elected. Writes are compare-and-swap on the partition key's mod revision.
 *
 * A broker in controlled shutdown (its registration says so) hands its leaderships over and
 * leaves every ISR; a broker whose heartbeats stop for `broker.session.timeout.ms` is marked
 * fenced in etcd by the controller, which then treats it as any fenced broker.
 *
 * It also completes reassignments (`reassignment.ts`): once every adding replica of a partition
 * is in its ISR, the topic's replicas of that partition become the target and its state drops
 * the removed replicas (handing the leadership over if the leader is one of them), in one
 * transaction on the topic and partition keys; a controller elected in the middle of a
 * reassignment finds it in etcd and carries on.
 *
 * @module
 */

import type { ClusterView, ViewChange } from "./cluster_view.ts";
import type { Membership } from "./membership.ts";
import type { CasResult, MetadataStore, PartitionState, Versioned } from "./metadata_store.ts";
import type { Logger } from "../logger.ts";
import { completeReassignment, electPreferred } from "./reassignment.ts";

/**
 * The state a partition should move to given the live brokers, or `undefined` when it is right
 * as it is (the controller's election rule; pure, for tests).
 *
 * A broker in controlled shutdown (`shuttingDown`, live still) hands its leaderships over to
 * the first other live ISR member in replica order (leader epoch + 1) and leaves every ISR;
 * where no other ISR member is live it keeps leading (and stays in the ISR) until it stops,
 * as Kafka's controller leaves such a partition to its leader.
 *
 * @example
 * ```ts
 * import { nextPartitionState } from "./controller.ts";
 *
 * const s = { leader: 1, leaderEpoch: 0, isr: [1, 2, 3], partitionEpoch: 0 };
 * const next = nextPartitionState(s, [1, 2, 3], new Set([2, 3]));
 * console.assert(next?.leader === 2 && next.leaderEpoch === 1 && next.isr.join() === "2,3");
 * const moved = nextPartitionState(s, [1, 2, 3], new Set([1, 2, 3]), new Set([1]));
 * console.assert(moved?.leader === 2 && moved.isr.join() === "2,3");
 * ```
 *
 * @param s The partition's state.
 * @param replicas Its replicas, preferred leader first.
 * @param live The registered brokers.
 * @param shuttingDown The live brokers in controlled shutdown. Default: none.
 * @returns The new state, or `undefined`.
 */
export function nextPartitionState(
  s: PartitionState,
  replicas: readonly number[],
  live: ReadonlySet<number>,
  shuttingDown: ReadonlySet<number> = new Set(),
): PartitionState | undefined {
  const liveIsr = s.isr.filter((b) => live.has(b));
  const eligibleIsr = liveIsr.filter((b) => !shuttingDown.has(b));
  const candidates = replicas.filter((b) => eligibleIsr.includes(b));
  if (s.leader !== -1 && live.has(s.leader)) {
    if (shuttingDown.has(s.leader) && candidates.length === 0) {
      // no one else to lead: it keeps leading until it stops; others shutting down leave
      const isr = liveIsr.filter((b) => b === s.leader || !shuttingDown.has(b));
      if (isr.length === s.isr.length) return undefined;
      return { ...s, isr, partitionEpoch: s.partitionEpoch + 1 };
    }
    if (!shuttingDown.has(s.leader)) {
      if (eligibleIsr.length === s.isr.length) return undefined;
      return { ...s, isr: eligibleIsr, partitionEpoch: s.partitionEpoch + 1 };
    }
  }
  if (candidates.length === 0) {
    if (s.leader === -1) return undefined; // offline, waiting for an ISR member
    // No live ISR member: offline, the last ISR kept (no unclean election).
    return {
      ...s,
      leader: -1,
      leaderEpoch: s.leaderEpoch + 1,
      isr: s.isr,
      partitionEpoch: s.partitionEpoch + 1,
    };
  }
  return {
    ...s,
    leader: candidates[0],
    leaderEpoch: s.leaderEpoch + 1,
    isr: eligibleIsr,
    partitionEpoch: s.partitionEpoch + 1,
  };
}

/**
 * The live brokers in controlled shutdown, as a view has them.
 *
 * @param brokers The registered brokers.
 * @returns The ids of those whose registration says `controlledShutdown`.
 */
export function shuttingDownBrokers(
  brokers: readonly { id: number; controlledShutdown?: boolean }[],
): Set<number> {
  return new Set(brokers.filter((b) => b.controlledShutdown === true).map((b) => b.id));
}

/** Options of {@linkcode Controller}. */
export interface ControllerOptions {
  /** The metadata store. */
  store: MetadataStore;
  /** This broker's view. */
  view: ClusterView;
  /** This broker's membership (its lease holds the controller key). */
  membership: Membership;
  /** This broker's node id. */
  nodeId: number;
  /** Where to report. */
  logger: Logger;
  /** Reconcile at least this often while controller, in milliseconds. Default 5000. */
  reconcileIntervalMs?: number;
  /**
   * How long a topic without a partition's state may exist before the controller writes an
   * initial one (the creator died between its transactions), in milliseconds. Default 10000.
   */
  missingStateGraceMs?: number;
  /**
   * Kafka's automatic preferred leader election (`auto.leader.rebalance.enable`,
   * `leader.imbalance.check.interval.seconds`, `leader.imbalance.per.broker.percentage`):
   * every `intervalMs` while controller, for each broker whose share of the partitions it is
   * the preferred replica of but does not lead exceeds `percentage`, those partitions get a
   * preferred election (where the preferred replica is registered and in the ISR). Default: off.
   */
  autoLeaderRebalance?: { intervalMs: number; percentage: number };
  /**
   * `broker.session.timeout.ms`: while controller, a broker none of whose heartbeats
   * (`<prefix>/heartbeats/<id>`, written at each keep-alive) arrived for this long is marked
   * fenced in etcd (Kafka's controller fencing a broker whose session expired), so that its
   * leaderships move and it leaves every ISR. Only brokers seen heartbeating are fenced (a
   * broker that does not write heartbeats keeps the lease as its only session). Default: off.
   */
  sessionTimeoutMs?: number;
}

/**
 * The partitions an automatic leader rebalance elects (Kafka's
 * `checkAndTriggerAutoLeaderRebalance`): grouped by preferred replica (the first of their
 * replicas, if registered), those not led by it, for each broker whose share of them exceeds
 * `percentage` (of the partitions it is preferred for).
 *
 * @example
 * ```ts
 * import { imbalancedPartitions } from "./controller.ts";
 *
 * const parts = [
 *   { topic: "t", partition: 0, replicas: [1, 2], leader: 2 },
 *   { topic: "t", partition: 1, replicas: [2, 1], leader: 2 },
 * ];
 * console.assert(imbalancedPartitions(parts, new Set([1, 2]), 10).length === 1);
 * ```
 *
 * @param partitions Every partition with its replicas and leader.
 * @param live The registered brokers.
 * @param percentage `leader.imbalance.per.broker.percentage`.
 * @returns The partitions to elect their preferred leader for.
 */
export function imbalancedPartitions<
  P extends { replicas: readonly number[]; leader: number },
>(partitions: readonly P[], live: ReadonlySet<number>, percentage: number): P[] {
  const byPreferred = new Map<number, P[]>();
  for (const p of partitions) {
    const preferred = p.replicas[0];
    if (preferred === undefined || !live.has(preferred)) continue;
    let list = byPreferred.get(preferred);
    if (list === undefined) byPreferred.set(preferred, list = []);
    list.push(p);
  }
  const out: P[] = [];
  for (const [preferred, list] of byPreferred) {
    const off = list.filter((p) => p.leader !== preferred);
    if (off.length * 100 > percentage * list.length) out.push(...off);
  }
  return out;
}

/** A candidate for controller; the controller when elected. */
export class Controller {
  readonly #store: MetadataStore;
  readonly #view: ClusterView;
  readonly #membership: Membership;
  readonly #nodeId: number;
  readonly #logger: Logger;
  readonly #reconcileIntervalMs: number;
  readonly #missingStateGraceMs: number;
  readonly #autoLeaderRebalance: { intervalMs: number; percentage: number } | undefined;
  readonly #sessionTimeoutMs: number | undefined;
  /** When this controller last saw each broker's heartbeat (or registration), by node id. */
  readonly #lastBeat = new Map<number, number>();
  /**
   * The etcd revision of each broker's last heartbeat seen, by node id: only brokers seen
   * heartbeating are fenced for missing heartbeats.
   */
  readonly #beatRevision = new Map<number, number>();
  readonly #fencing = new Set<number>();
  #sessionTimer: ReturnType<typeof setInterval> | undefined;
  #lastTick = 0;
  #epoch = 0;
  #active = false;
  #stopped = false;
  #campaigning: Promise<void> | null = null;
  #reconciling: Promise<void> | null = null;
  #dirty = false;
  /** The next pass looks at every partition (a broker or topic changed, the timer, a failure). */
  #full = true;
  /** Partitions whose state changed since the last pass (by topic): the next pass's only work
   * unless {@linkcode Controller.#full}. */
  #changed = new Map<string, Set<number>>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #rebalanceTimer: ReturnType<typeof setInterval> | undefined;
  #rebalancing: Promise<void> | null = null;
  #unsubscribe: (() => void)[] = [];
  readonly #activeListeners = new Set<(active: boolean, epoch: number) => void>();

  /**
   * Create a candidate (call `start` to campaign).
   *
   * @param options Store, view, membership, node id, logger, timings.
   */
  constructor(options: ControllerOptions) {
    this.#store = options.store;
    this.#view = options.view;
    this.#membership = options.membership;
    this.#nodeId = options.nodeId;
    this.#logger = options.logger;
    this.#reconcileIntervalMs = options.reconcileIntervalMs ?? 5000;
    this.#missingStateGraceMs = options.missingStateGraceMs ?? 10_000;
    this.#autoLeaderRebalance = options.autoLeaderRebalance;
    this.#sessionTimeoutMs = options.sessionTimeoutMs;
  }

  /** Whether this broker is the controller now. */
  get active(): boolean {
    return this.#active;
  }

  /** The epoch this broker was last elected with (0: never). */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Be told when this broker becomes controller or stops being it.
   *
   * @param listener Called with whether it is controller and its epoch.
   * @returns A function that unsubscribes.
   */
  onActiveChange(listener: (active: boolean, epoch: number) => void): () => void {
    this.#activeListeners.add(listener);
    return () => this.#activeListeners.delete(listener);
  }

  /** Start campaigning (and acting once elected). */
  start(): void {
    this.#unsubscribe.push(this.#view.onChange((changes) => this.#onViewChange(changes)));
    this.#unsubscribe.push(this.#membership.onChange(() => this.#check()));
    const session = this.#sessionTimeoutMs;
    if (session !== undefined) {
      this.#unsubscribe.push(this.#view.onHeartbeat((id, revision) => {
        this.#lastBeat.set(id, Date.now());
        this.#beatRevision.set(id, Math.max(revision, this.#beatRevision.get(id) ?? 0));
      }));
      this.#lastTick = Date.now();
      this.#sessionTimer = setInterval(
        () => this.#checkSessions(session),
        Math.max(20, Math.min(250, Math.floor(session / 8))),
      );
      Deno.unrefTimer(this.#sessionTimer);
    }
    this.#timer = setInterval(() => {
      if (this.#active) this.#kick(true);
      else this.#check();
    }, this.#reconcileIntervalMs);
    Deno.unrefTimer(this.#timer);
    const auto = this.#autoLeaderRebalance;
    if (auto !== undefined) {
      this.#rebalanceTimer = setInterval(() => {
        if (this.#active && this.#rebalancing === null) {
          this.#rebalancing = this.rebalanceLeaders(auto.percentage)
            .catch((e) =>
              this.#logger.warn(
                `Controller ${this.#nodeId}: automatic leader rebalance failed (retried): ${
                  e instanceof Error ? e.message : e
                }`,
              )
            )
            .then(() => {
              this.#rebalancing = null;
            });
        }
      }, Math.min(auto.intervalMs, 2 ** 31 - 1));
      Deno.unrefTimer(this.#rebalanceTimer);
    }
    this.#check();
  }

  /**
   * One automatic leader rebalance now (see {@linkcode imbalancedPartitions}), when this broker
   * is controller: preferred elections written as this controller (compare-and-swap).
   *
   * @param percentage `leader.imbalance.per.broker.percentage`.
   * @returns How many leaders were moved.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async rebalanceLeaders(percentage: number): Promise<number> {
    if (!this.#active) return 0;
    // a broker in controlled shutdown gets no leadership back
    const live = new Set(
      this.#view.unfencedBrokers().filter((b) => b.controlledShutdown !== true).map((b) => b.id),
    );
    const partitions = [];
    for (const [topic, t] of this.#view.topics()) {
      for (let p = 0; p < t.value.replicas.length; p++) {
        const s = this.#view.partition(topic, p);
        if (s === undefined) continue;
        partitions.push({
          topic,
          partition: p,
          replicas: t.value.replicas[p],
          leader: s.value.leader,
          s,
        });
      }
    }
    let moved = 0;
    for (const p of imbalancedPartitions(partitions, live, percentage)) {
      if (!this.#active || this.#stopped) break;
      const next = electPreferred(p.replicas, p.s.value, live);
      if ("errorCode" in next) continue;
      const r = await this.writePartitionState(p.topic, p.partition, p.s.modRevision, next);
      if (!r.ok) continue;
      moved++;
      this.#logger.info(
        `Controller: automatic leader rebalance of ${p.topic}-${p.partition}: leader ` +
          `${p.leader} → ${next.leader} (leader epoch ${next.leaderEpoch})`,
      );
    }
    return moved;
  }

  /** Stop; resign if controller (best effort: the key goes with the lease anyway). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    clearInterval(this.#rebalanceTimer);
    clearInterval(this.#sessionTimer);
    for (const u of this.#unsubscribe) u();
    const wasActive = this.#active;
    this.#setActive(false);
    await this.#campaigning;
    await this.#reconciling;
    await this.#rebalancing;
    if (wasActive) await this.#store.resign(this.#epoch).catch(() => {});
  }

  /**
   * Write a partition's state as this controller: compare-and-swap on the partition's mod
   * revision, fenced by this controller's epoch (a deposed controller's write is refused).
   *
   * @param topic Topic name.
   * @param partition Partition index.
   * @param expectedModRevision The mod revision the state was read at (0: a creation).
   * @param state The new state.
   * @returns The outcome; `fenced` means this broker is no longer controller.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async writePartitionState(
    topic: string,
    partition: number,
    expectedModRevision: number,
    state: PartitionState,
  ): Promise<CasResult> {
    const r = await this.#store.writePartition(topic, partition, expectedModRevision, state, {
      controllerEpoch: this.#epoch,
    });
    if (!r.ok && r.reason === "fenced" && this.#active) {
      this.#logger.warn(
        `Controller ${this.#nodeId} (epoch ${this.#epoch}) was deposed: its write of ` +
          `${topic}-${partition} was refused`,
      );
      this.#setActive(false);
    }
    return r;
  }

  #setActive(active: boolean): void {
    if (this.#active === active) return;
    this.#active = active;
    if (active) {
      // a new controller gives every broker a full session (Kafka's does the same)
      const now = Date.now();
      for (const b of this.#view.brokers()) this.#lastBeat.set(b.id, now);
      void this.#store.etcd.range(`${this.#store.root}/heartbeats/`, { prefix: true })
        .then((r) => {
          for (const kv of r.kvs) {
            const id = this.#store.heartbeatOf(kv.key);
            if (id !== undefined && !this.#beatRevision.has(id)) {
              this.#beatRevision.set(id, kv.modRevision);
            }
          }
        })
        .catch(() => {}); // seen at their next heartbeat instead
    }
    for (const l of this.#activeListeners) {
      try {
        l(active, this.#epoch);
      } catch (e) {
        this.#logger.error(`Controller listener failed: ${e instanceof Error ? e.message : e}`);
      }
    }
  }

  #onViewChange(changes: ViewChange[]): void {
    let relevant = false;
    for (const c of changes) {
      if (c.kind === "controller") {
        const holder = c.after;
        if (this.#active && holder?.createRevision !== this.#epoch) {
          this.#logger.warn(
            `Controller ${this.#nodeId} (epoch ${this.#epoch}) deposed: the controller key is ` +
              (holder ? `held by ${holder.value.id} (epoch ${holder.createRevision})` : "gone"),
          );
          this.#setActive(false);
        }
      }
      if (c.kind === "broker") {
        if (c.after === undefined) {
          this.#lastBeat.delete(c.id);
          this.#beatRevision.delete(c.id);
        } else if (c.before?.createRevision !== c.after.createRevision) {
          this.#lastBeat.set(c.id, Date.now()); // a registration counts as a heartbeat
        }
      }
      if (c.kind === "broker" || c.kind === "topic") {
        relevant = true;
        this.#full = true;
      } else if (c.kind === "partition") {
        // only this partition's decision can change: the next pass looks at it alone
        relevant = true;
        let ps = this.#changed.get(c.topic);
        if (ps === undefined) this.#changed.set(c.topic, ps = new Set());
        ps.add(c.partition);
      }
    }
    this.#check();
    if (relevant && this.#active) this.#kick();
  }

  /**
   * Fence the brokers whose heartbeats stopped for the session timeout (Kafka's controller:
   * `broker.session.timeout.ms`): their registration is marked fenced in etcd, and the
   * reconciliation that follows moves their leaderships and drops them from ISRs. A broker
   * unfences itself once its keep-alive works again and its view caught up.
   */
  #checkSessions(session: number): void {
    const now = Date.now();
    const lag = now - this.#lastTick;
    this.#lastTick = now;
    if (!this.#active || this.#stopped) return;
    if (lag > session / 2) {
      // this process was stalled itself: the heartbeats it has not applied yet are no evidence
      for (const id of this.#lastBeat.keys()) this.#lastBeat.set(id, now);
      return;
    }
    for (const b of this.#view.brokers()) {
      if (b.id === this.#nodeId || b.fenced === true || this.#fencing.has(b.id)) continue;
      const last = this.#lastBeat.get(b.id);
      if (last === undefined) {
        this.#lastBeat.set(b.id, now);
        continue;
      }
      const seen = this.#beatRevision.get(b.id);
      if (now - last <= session || seen === undefined) continue;
      const reg = this.#view.broker(b.id);
      if (reg === undefined) continue;
      this.#fencing.add(b.id);
      (async () => {
        // etcd has a later heartbeat than this view: the view lags (its watch reconnecting),
        // not the broker
        const kv = await this.#store.etcd.get(this.#store.heartbeatKey(b.id));
        if (kv !== undefined && kv.modRevision > seen) {
          this.#beatRevision.set(b.id, kv.modRevision);
          this.#lastBeat.set(b.id, Date.now());
          return;
        }
        if (!this.#active || this.#stopped) return;
        const revision = await this.#store.fenceBroker(b.id, reg.modRevision, this.#epoch);
        if (revision !== undefined) {
          this.#logger.warn(
            `Controller: broker ${b.id} (broker epoch ${reg.createRevision}) fenced: no heartbeat ` +
              `for ${now - last} ms (broker.session.timeout.ms ${session}) while its lease lives ` +
              `on; its leaderships move and it leaves every ISR until it catches up again ` +
              `(etcd revision ${revision})`,
          );
        }
      })()
        .catch((e) =>
          this.#logger.warn(
            `Controller: cannot fence broker ${b.id}: ${e instanceof Error ? e.message : e}`,
          )
        )
        .finally(() => this.#fencing.delete(b.id));
    }
  }

  /** Campaign when there is no controller; take up the role again after an unfencing. */
  #check(): void {
    if (this.#stopped) return;
    const m = this.#membership.state;
    const holder = this.#view.controller;
    if (!m.registered) {
      if (this.#active) {
        this.#logger.warn(`Controller ${this.#nodeId} stops acting: this broker is fenced`);
        this.#setActive(false);
      }
      return;
    }
    if (holder !== undefined) {
      if (
        !this.#active && holder.value.id === this.#nodeId && holder.createRevision === this.#epoch
      ) {
        this.#setActive(true); // unfenced with the same lease: still controller
        this.#kick(true);
      }
      return;
    }
    if (this.#campaigning !== null) return;
    this.#campaigning = (async () => {
      try {
        const r = await this.#store.campaign(this.#nodeId, m.lease);
        if ("epoch" in r) {
          await this.#view.waitForRevision(r.epoch, 5000);
          if (this.#stopped) return;
          this.#epoch = r.epoch;
          this.#logger.info(`Broker ${this.#nodeId} is now the controller (epoch ${r.epoch})`);
          this.#setActive(true);
          this.#kick(true);
        }
      } catch (e) {
        this.#logger.warn(
          `Controller campaign of broker ${this.#nodeId} failed: ${
            e instanceof Error ? e.message : e
          }`,
        );
      } finally {
        this.#campaigning = null;
      }
    })();
  }

  /**
   * Reconcile now, or again after the pass in progress: every partition when `full` (or a full
   * pass is due), else only the partitions changed since the last pass.
   */
  #kick(full = false): void {
    this.#dirty = true;
    if (full) this.#full = true;
    if (this.#reconciling !== null) return;
    this.#reconciling = (async () => {
      try {
        while (this.#dirty && this.#active && !this.#stopped) {
          this.#dirty = false;
          const only = this.#full ? undefined : this.#changed;
          this.#full = false;
          this.#changed = new Map();
          await this.#reconcile(only);
        }
      } catch (e) {
        this.#full = true; // the partitions of the failed pass: all again at the next kick
        this.#logger.warn(
          `Controller ${this.#nodeId} reconciliation failed (retried): ${
            e instanceof Error ? e.message : e
          }`,
        );
      } finally {
        this.#reconciling = null;
      }
    })();
  }

  /**
   * Complete a partition's reassignment if every adding replica is in its ISR (one
   * compare-and-swap on the topic and the partition; a refused one is tried again on the next
   * change). Returns whether it wrote.
   */
  async #completeReassignment(
    name: string,
    p: number,
    current: Versioned<PartitionState>,
  ): Promise<boolean> {
    const t = this.#view.topic(name);
    if (t === undefined) return false;
    const live = new Set(this.#view.unfencedBrokers().map((b) => b.id));
    const c = completeReassignment(t.value.replicas[p], current.value, live);
    if (c === undefined) return false;
    const r = await this.#store.writeReplicas(
      name,
      p,
      t,
      current.modRevision,
      c.replicas,
      c.state,
      {
        controllerEpoch: this.#epoch,
      },
    );
    if (!r.ok) {
      if (r.reason === "fenced" && this.#active) {
        this.#logger.warn(
          `Controller ${this.#nodeId} (epoch ${this.#epoch}) was deposed: its completion of the ` +
            `reassignment of ${name}-${p} was refused`,
        );
        this.#setActive(false);
      }
      return false; // changed meanwhile: decided again when the view has the change
    }
    this.#logger.info(
      `Controller: reassignment of ${name}-${p} complete: replicas [${t.value.replicas[p]}] → ` +
        `[${c.replicas}], leader ${current.value.leader} → ${c.state.leader} (leader epoch ` +
        `${c.state.leaderEpoch}), ISR [${current.value.isr}] → [${c.state.isr}]`,
    );
    return true;
  }

  /**
   * One pass: a missing state written, a reassignment completed, or a leader elected and the
   * ISR changed where {@linkcode nextPartitionState} says so, for every partition or those of
   * `only`. Elections are written {@linkcode ELECTION_BATCH} to a transaction.
   */
  async #reconcile(only?: Map<string, Set<number>>): Promise<void> {
    const live = new Set(this.#view.unfencedBrokers().map((b) => b.id));
    const shuttingDown = shuttingDownBrokers(this.#view.unfencedBrokers());
    const now = Date.now();
    const elections: Election[] = [];
    const partitions = function* (view: ClusterView) {
      if (only === undefined) {
        for (const [name, t] of view.topics()) {
          for (let p = 0; p < t.value.replicas.length; p++) yield [name, t, p] as const;
        }
        return;
      }
      for (const [name, ps] of only) {
        const t = view.topic(name);
        if (t === undefined) continue;
        for (const p of ps) if (p < t.value.replicas.length) yield [name, t, p] as const;
      }
    };
    for (const [name, t, p] of partitions(this.#view)) {
      if (!this.#active || this.#stopped) return;
      const replicas = t.value.replicas[p];
      const current = this.#view.partition(name, p);
      if (current === undefined) {
        const seen = this.#view.firstSeen(t.value.id) ?? now;
        if (now - seen < this.#missingStateGraceMs) continue;
        const liveReplicas = replicas.filter((b) => live.has(b));
        const initial: PartitionState = {
          leader: liveReplicas[0] ?? -1,
          leaderEpoch: 0,
          isr: liveReplicas.length > 0 ? liveReplicas : [...replicas],
          partitionEpoch: 0,
        };
        this.#logger.warn(`Controller: ${name}-${p} has no state; writing an initial one`);
        await this.writePartitionState(name, p, 0, initial);
        continue;
      }
      if (await this.#completeReassignment(name, p, current)) continue;
      const next = nextPartitionState(current.value, replicas, live, shuttingDown);
      if (next === undefined) continue;
      elections.push({ name, p, replicas, current, next });
      if (elections.length === ELECTION_BATCH) {
        if (!await this.#elect(elections.splice(0), live, shuttingDown)) return;
      }
    }
    await this.#elect(elections, live, shuttingDown);
  }

  /**
   * Write elections decided by a pass: in one transaction (all still as read), else one by
   * one, each decided again on the state etcd has when it changed meanwhile. Returns false
   * when this broker is no longer controller.
   */
  async #elect(
    elections: Election[],
    live: Set<number>,
    shuttingDown: Set<number>,
  ): Promise<boolean> {
    if (elections.length === 0) return true;
    const logged = (e: Election, next: PartitionState) => {
      const s = e.current.value;
      this.#logger.info(
        `Controller: ${e.name}-${e.p} leader ${s.leader} → ${next.leader} (leader epoch ` +
          `${next.leaderEpoch}), ISR [${s.isr}] → [${next.isr}]` +
          (shuttingDown.has(s.leader) || s.isr.some((b) => shuttingDown.has(b))
            ? ` (controlled shutdown of broker ${
              [...shuttingDown].filter((b) => s.isr.includes(b) || b === s.leader)
            })`
            : ""),
      );
    };
    if (elections.length > 1) {
      const r = await this.#store.writePartitions(
        elections.map((e) => ({
          topic: e.name,
          partition: e.p,
          expectedModRevision: e.current.modRevision,
          state: e.next,
        })),
        { controllerEpoch: this.#epoch },
      );
      if (r.ok) {
        for (const e of elections) logged(e, e.next);
        return true;
      }
      if (r.fenced) {
        if (this.#active) {
          this.#logger.warn(
            `Controller ${this.#nodeId} (epoch ${this.#epoch}) was deposed: its elections of ` +
              `${elections.length} partitions were refused`,
          );
          this.#setActive(false);
        }
        return false;
      }
      // one changed meanwhile (an ISR change): each on its own
    }
    for (const e of elections) {
      let current = e.current;
      for (let attempt = 0; attempt < 3; attempt++) {
        const next = attempt === 0
          ? e.next
          : nextPartitionState(current.value, e.replicas, live, shuttingDown);
        if (next === undefined) break;
        const r = await this.writePartitionState(e.name, e.p, current.modRevision, next);
        if (r.ok) {
          logged({ ...e, current }, next);
          break;
        }
        if (r.reason === "fenced") return false;
        if (r.current === undefined) break;
        current = r.current; // changed meanwhile (an ISR change): decide again on it
      }
    }
    return true;
  }
}

/** Elections written in one etcd transaction (below etcd's `--max-txn-ops`, 128 by default). */
const ELECTION_BATCH = 100;

/** A leader election or ISR change a controller pass decided. */
interface Election {
  name: string;
  p: number;
  replicas: number[];
  current: Versioned<PartitionState>;
  next: PartitionState;
}
