// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The fast path of failure detection (docs/CLUSTER.md, "Failure detection"). Without it, a
 * broker whose process dies is noticed when etcd expires its lease, up to the lease TTL
 * (`broker.session.timeout.ms`) after its last keep-alive. With it, brokers probe each other's
 * listeners ({@linkcode LivenessProber}) and act on **definitive evidence** only: a run of
 * refused connections on a listener seen accepting before (the process is gone; a stopped or
 * slow process still accepts into its backlog, and a cut network times out). Then the broker's
 * lease is revoked in etcd, which is what its expiry would have done later: its registration
 * goes, the controller moves its partitions, and a broker that restarts registers anew with a
 * new broker epoch.
 *
 * - The **controller** probes every other registered broker and revokes the lease of one whose
 *   listener refuses `sluice.broker.liveness.probe.refusals` connections in a row (the
 *   controller decides liveness, as Kafka's does from heartbeats).
 * - Every other broker probes the **controller**. One that sees it refuse votes in etcd
 *   (`<prefix>/liveness/<id>/<epoch>/<voter>`, under the voter's lease); when a majority of the
 *   registered brokers other than the controller have voted, the controller's lease is revoked,
 *   which also frees the controller key, so a new controller is elected at once. A majority, so
 *   that one broker whose own network refuses its connections cannot depose the controller.
 *
 * A timeout or an unreachable address is never evidence: then the lease alone decides.
 *
 * @module
 */

import type { ClusterView, ViewChange } from "./cluster_view.ts";
import type { Controller } from "./controller.ts";
import {
  LivenessProber,
  type ProbeOutcome,
  type ProbeState,
  type ProbeTarget,
} from "./liveness_prober.ts";
import type { Membership } from "./membership.ts";
import type { MetadataStore } from "./metadata_store.ts";
import type { Logger } from "../logger.ts";

/** Options of {@linkcode FailureDetector}. */
export interface FailureDetectorOptions {
  /** The metadata store. */
  store: MetadataStore;
  /** This broker's view. */
  view: ClusterView;
  /** This broker's membership (its lease carries its votes). */
  membership: Membership;
  /** This broker's controller candidacy (the controller probes everyone). */
  controller: Controller;
  /** This broker's node id. */
  nodeId: number;
  /** `sluice.broker.liveness.probe.interval.ms`. */
  intervalMs: number;
  /** `sluice.broker.liveness.probe.refusals`. */
  refusals: number;
  /** Where to report. */
  logger: Logger;
  /** The probe (tests). Default: a TCP connection attempt. */
  probe?: (host: string, port: number, timeoutMs: number) => Promise<ProbeOutcome>;
}

/** A registration's key in the maps below. */
const keyOf = (t: { id: number; epoch: number }): string => `${t.id}:${t.epoch}`;

/**
 * Probes listeners and revokes the lease of a broker whose process is gone (see the module doc).
 *
 * @example
 * ```ts ignore
 * const detector = new FailureDetector({
 *   store, view, membership, controller, nodeId: 1, intervalMs: 100, refusals: 3, logger,
 * });
 * detector.start();
 * // ...
 * await detector.stop();
 * ```
 */
export class FailureDetector {
  readonly #store: MetadataStore;
  readonly #view: ClusterView;
  readonly #membership: Membership;
  readonly #controller: Controller;
  readonly #nodeId: number;
  readonly #intervalMs: number;
  readonly #refusals: number;
  readonly #logger: Logger;
  readonly #prober: LivenessProber;
  /** Registrations whose lease this broker revoked or is revoking. */
  readonly #revoked = new Set<string>();
  /** Registrations this broker voted against, with when it last counted the votes. */
  readonly #votes = new Map<string, { target: ProbeTarget; countedAt: number }>();
  /** Registrations with a vote or a count in flight. */
  readonly #busy = new Set<string>();
  #unsubscribe: (() => void) | undefined;
  #stopped = false;

  /**
   * Create the detector (call `start`).
   *
   * @param options Store, view, membership, controller, node id, timings, logger.
   * @throws {RangeError} If the interval or the refusal count is not a positive integer.
   */
  constructor(options: FailureDetectorOptions) {
    this.#store = options.store;
    this.#view = options.view;
    this.#membership = options.membership;
    this.#controller = options.controller;
    this.#nodeId = options.nodeId;
    this.#intervalMs = options.intervalMs;
    this.#refusals = options.refusals;
    this.#logger = options.logger;
    this.#prober = new LivenessProber({
      intervalMs: options.intervalMs,
      refusals: options.refusals,
      targets: () => this.targets(),
      onRefused: (t, n) => this.#onRefused(t, n),
      onCleared: (t) => this.#withdraw(t),
      probe: options.probe,
    });
  }

  /** Start probing. */
  start(): void {
    this.#unsubscribe = this.#view.onChange((changes) => this.#onViewChange(changes));
    this.#prober.start();
  }

  /** Stop probing and withdraw this broker's votes (best effort). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#prober.stop();
    const votes = [...this.#votes.values()];
    this.#votes.clear();
    await Promise.all(
      votes.map(({ target }) =>
        this.#store.withdrawVote(target.id, target.epoch, this.#nodeId).catch(() => {})
      ),
    );
  }

  /**
   * What the prober knows of node `id`'s registration (tests, metrics).
   *
   * @param id Node id.
   * @returns Its probe state, or `undefined` if this broker does not probe it.
   */
  probeState(id: number): ProbeState | undefined {
    return this.#prober.state(id);
  }

  /**
   * The registrations this broker probes now: every other registered broker when it is the
   * controller, else the controller's; none while this broker is fenced.
   *
   * @returns The targets.
   */
  targets(): ProbeTarget[] {
    if (this.#stopped || !this.#membership.state.registered) return [];
    const target = (id: number): ProbeTarget | undefined => {
      const b = this.#view.broker(id);
      return b && { id, epoch: b.createRevision, host: b.value.host, port: b.value.port };
    };
    if (this.#controller.active) {
      return this.#view.brokers().filter((b) => b.id !== this.#nodeId).map((b) => target(b.id)!)
        .filter((t) => t !== undefined);
    }
    const c = this.#view.controllerId;
    if (c < 0 || c === this.#nodeId) return [];
    const t = target(c);
    return t === undefined ? [] : [t];
  }

  #onRefused(t: ProbeTarget, consecutive: number): void {
    // a fenced broker acts on nothing (and a vote needs its lease)
    if (this.#stopped || !this.#membership.state.registered) return;
    if (this.#controller.active) {
      this.#revoke(t, `refused ${consecutive} connections in a row (seen by the controller)`);
    } else if (t.id === this.#view.controllerId) {
      this.#vote(t);
    }
  }

  #revoke(t: ProbeTarget, why: string): void {
    const key = keyOf(t);
    if (this.#revoked.has(key)) return;
    this.#revoked.add(key);
    this.#logger.warn(
      `Broker ${t.id} (${t.host}:${t.port}, broker epoch ${t.epoch}) ${why}: its process is ` +
        `gone; revoking its etcd lease so that its partitions move now ` +
        `(sluice.broker.liveness.probe.enable)`,
    );
    this.#store.revokeBrokerLease(t.id, t.epoch).then(
      (lease) => {
        if (lease === undefined) {
          this.#logger.info(`Broker ${t.id}'s registration (epoch ${t.epoch}) was already gone`);
        } else {
          this.#logger.info(`Revoked lease ${lease} of broker ${t.id} (broker epoch ${t.epoch})`);
        }
      },
      (e) => {
        this.#revoked.delete(key); // tried again on the next refusal
        this.#logger.warn(
          `Cannot revoke the lease of broker ${t.id}: ${e instanceof Error ? e.message : e}`,
        );
      },
    );
  }

  #vote(t: ProbeTarget): void {
    const key = keyOf(t);
    if (this.#busy.has(key) || this.#revoked.has(key)) return;
    const vote = this.#votes.get(key);
    // While the evidence lasts, the votes are counted again now and then (another broker's vote
    // may complete the majority).
    if (vote !== undefined && Date.now() - vote.countedAt < 4 * this.#intervalMs) return;
    this.#busy.add(key);
    (async () => {
      try {
        if (vote === undefined) {
          const lease = this.#membership.state.lease;
          if (lease === "0") return;
          const ok = await this.#store.voteRefused(t.id, t.epoch, this.#nodeId, lease);
          if (!ok || this.#stopped) return; // the registration went meanwhile
          this.#votes.set(key, { target: t, countedAt: 0 });
          this.#logger.info(
            `Broker ${this.#nodeId} saw controller ${t.id} (${t.host}:${t.port}, broker epoch ` +
              `${t.epoch}) refuse ${this.#refusals} connections in a row; voted in etcd`,
          );
        }
        const entry = this.#votes.get(key);
        if (entry === undefined) return;
        entry.countedAt = Date.now();
        const voters = (await this.#store.refusedVotes(t.id, t.epoch))
          .filter((v) => v !== t.id && this.#view.isLive(v));
        const others = this.#view.brokers().filter((b) => b.id !== t.id).length;
        const needed = Math.floor(others / 2) + 1;
        if (voters.length >= needed && !this.#stopped) {
          this.#revoke(
            t,
            `refused connections from ${voters.length} of the ${others} other brokers ` +
              `(${voters.join(", ")})`,
          );
        }
      } catch (e) {
        this.#logger.warn(
          `Liveness vote on broker ${t.id} failed: ${e instanceof Error ? e.message : e}`,
        );
      } finally {
        this.#busy.delete(key);
      }
    })();
  }

  #withdraw(t: ProbeTarget): void {
    const key = keyOf(t);
    if (!this.#votes.delete(key)) return;
    this.#logger.info(`Broker ${t.id} accepts connections again; vote withdrawn`);
    this.#store.withdrawVote(t.id, t.epoch, this.#nodeId).catch(() => {});
  }

  /** A registration that went takes this broker's vote on it with it. */
  #onViewChange(changes: ViewChange[]): void {
    for (const c of changes) {
      if (c.kind !== "broker" || c.before === undefined) continue;
      if (c.after?.createRevision === c.before.createRevision) continue;
      const key = keyOf({ id: c.id, epoch: c.before.createRevision });
      this.#revoked.delete(key);
      if (this.#votes.delete(key)) {
        this.#store.withdrawVote(c.id, c.before.createRevision, this.#nodeId).catch(() => {});
      }
    }
  }
}
