// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A broker's membership of the cluster: its registration `<prefix>/brokers/<id>` lives under an
 * etcd lease (TTL from `sluice.broker.lease.ttl.ms`, by default `broker.session.timeout.ms`) that
 * a keep-alive loop renews every third of the TTL or the session, the shorter; each renewal also
 * writes the broker's heartbeat (`<prefix>/heartbeats/<id>`), which the controller watches to
 * fence a broker whose heartbeats stop while its lease lives on. When the keep-alive has not
 * succeeded for the session timeout (etcd unreachable, or the process stalled), the broker treats
 * itself as **fenced**: by then the controller may have seen its key expire (or marked it fenced)
 * and moved its partitions, so it must lead nothing until it is registered again. A keep-alive
 * that succeeds again on the same lease registers it again (the key never went); a lease etcd
 * reports expired is replaced by a new one and the broker registers again, with a new broker
 * epoch. Either way the state carries etcd's revision of that moment: the
 * broker leads again only once its view of the cluster has applied it (`ClusterNode.registered`).
 *
 * @module
 */

import type { EtcdClient } from "./etcd.ts";
import type { BrokerRegistration, MetadataStore } from "./metadata_store.ts";
import type { Logger } from "../logger.ts";
import { sleep } from "../sleep.ts";

/** Options of {@linkcode Membership}. */
export interface MembershipOptions {
  /** The metadata store (and its etcd client). */
  store: MetadataStore;
  /** What to register. */
  registration: Omit<BrokerRegistration, "incarnation">;
  /** `broker.session.timeout.ms`. */
  sessionTimeoutMs: number;
  /**
   * TTL of the registration's lease, in milliseconds (`sluice.broker.lease.ttl.ms`; rounded up
   * to whole seconds). Default: `sessionTimeoutMs`.
   */
  leaseTtlMs?: number;
  /** Where to report. */
  logger: Logger;
  /**
   * Longest wait for a registration of the same id by another process to go (a previous run
   * whose lease has not expired yet), in milliseconds. Default: 3 session timeouts, at least
   * 10 s.
   */
  registerWaitMs?: number;
}

/** The membership's state, as listeners see it. */
export interface MembershipState {
  /** Registered and kept alive: the broker may lead. */
  registered: boolean;
  /** Broker epoch (create revision of its key); 0 before the first registration. */
  epoch: number;
  /** The lease the registration lives under. */
  lease: string;
  /**
   * etcd's revision when the broker was last registered or unfenced (the registration's own
   * revision, or the revision of the keep-alive that found the lease alive again): the broker
   * may lead only once its view of the cluster has applied it (Kafka: a broker is unfenced once
   * it has caught up with the metadata log). 0 before the first registration.
   */
  revision: number;
}

/**
 * Registration and keep-alive of one broker.
 *
 * @example
 * ```ts ignore
 * const membership = new Membership({ store, registration, sessionTimeoutMs: 2000, logger });
 * await membership.start();
 * console.log(membership.state.epoch);
 * await membership.close();
 * ```
 */
export class Membership {
  readonly #store: MetadataStore;
  readonly #etcd: EtcdClient;
  readonly #registration: BrokerRegistration;
  readonly #sessionTimeoutMs: number;
  readonly #ttlSeconds: number;
  readonly #logger: Logger;
  readonly #registerWaitMs: number;
  readonly #listeners = new Set<(state: MembershipState) => void>();
  readonly #stop = new AbortController();
  #state: MembershipState = { registered: false, epoch: 0, lease: "0", revision: 0 };
  /** When the last keep-alive that succeeded was sent (the lease runs from about then). */
  #aliveSince = 0;
  #fenceTimer: ReturnType<typeof setTimeout> | undefined;
  #loop: Promise<void> = Promise.resolve();
  #paused = false;
  /** The registration is gone from etcd (seen by the view): register again at the next turn. */
  #gone = false;
  /** Ends the keep-alive loop's current pause early. */
  #wake: () => void = () => {};
  /** The broker epoch whose registration this broker last wrote unfenced (0: none). */
  #unfencedEpoch = 0;

  /**
   * Create the membership (call `start` to register).
   *
   * @param options Store, registration, session timeout, logger.
   */
  constructor(options: MembershipOptions) {
    this.#store = options.store;
    this.#etcd = options.store.etcd;
    // registered fenced: unfenced by `unfence` once the broker's view caught up
    this.#registration = {
      ...options.registration,
      incarnation: crypto.randomUUID(),
      fenced: true,
    };
    this.#sessionTimeoutMs = options.sessionTimeoutMs;
    this.#ttlSeconds = Math.max(
      1,
      Math.ceil((options.leaseTtlMs ?? options.sessionTimeoutMs) / 1000),
    );
    this.#logger = options.logger;
    this.#registerWaitMs = options.registerWaitMs ??
      Math.max(10_000, 3 * options.sessionTimeoutMs);
  }

  /** The current state. */
  get state(): MembershipState {
    return { ...this.#state };
  }

  /** What this broker registers (with this run's incarnation id). */
  get registration(): BrokerRegistration {
    return { ...this.#registration };
  }

  /**
   * Be told of every change of state (registered, fenced, new epoch).
   *
   * @param listener Called with the new state.
   * @returns A function that unsubscribes.
   */
  onChange(listener: (state: MembershipState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Register (waiting while a previous run of this broker still holds the id) and start the
   * keep-alive loop.
   *
   * @throws {Error} If another live broker holds the id, or etcd cannot be reached.
   */
  async start(): Promise<void> {
    await this.#register(true);
    this.#loop = this.#keepAliveLoop();
  }

  /**
   * Stop renewing (tests: simulate a broker cut off from etcd). The state goes to fenced after
   * the session timeout, as for a real failure.
   *
   * @param paused Whether keep-alives are suspended.
   */
  pauseKeepAlive(paused: boolean): void {
    this.#paused = paused;
  }

  /**
   * The registration of broker epoch `epoch` is gone from etcd (the cluster view saw its key
   * deleted: its lease was revoked, by a failure detector that saw this broker's listener
   * refuse connections, or expired): stop leading at once, and register again now rather than
   * at the next keep-alive. Ignored for another epoch (an older registration's deletion).
   *
   * @param epoch The broker epoch whose key was deleted.
   */
  registrationGone(epoch: number): void {
    if (this.#stop.signal.aborted || this.#state.epoch !== epoch || this.#state.lease === "0") {
      return;
    }
    if (this.#gone) return;
    this.#gone = true;
    clearTimeout(this.#fenceTimer);
    this.#logger.warn(
      `Broker ${this.#registration.id}'s registration (broker epoch ${epoch}) is gone from etcd ` +
        `(its lease was revoked or expired); it leads nothing until registered again`,
    );
    this.#set({ ...this.#state, registered: false });
    this.#wake();
  }

  /**
   * The controller marked this broker's registration of broker epoch `epoch` fenced (its
   * heartbeats stopped for `broker.session.timeout.ms` while its lease lived on): it leads
   * nothing until its next keep-alive succeeds and its view catches up again, which writes the
   * registration unfenced (`ClusterNode.registered`). Ignored for another epoch.
   *
   * @param epoch The broker epoch of the registration marked fenced.
   */
  fencedByController(epoch: number): void {
    if (this.#stop.signal.aborted || this.#state.epoch !== epoch) return;
    this.#unfencedEpoch = 0;
    this.#logger.warn(
      `Broker ${this.#registration.id} was fenced by the controller (broker epoch ${epoch}): ` +
        `no heartbeat of it arrived for broker.session.timeout.ms; it leads nothing until its ` +
        `next keep-alive and its view catches up`,
    );
    if (this.#state.registered) this.#set({ ...this.#state, registered: false });
  }

  /**
   * Publish that this broker caught up (Kafka: the controller unfences a broker whose metadata
   * caught up): its registration's `fenced` flag goes to false, so leaders may add it to ISRs
   * and the controller may elect it. Only for the registration of the current broker epoch.
   *
   * @returns etcd's revision of the write, or `undefined` when not registered, or when the key
   *   is no longer this broker epoch's registration (it registers again).
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async unfence(): Promise<number | undefined> {
    const s = this.#state;
    if (!s.registered || s.lease === "0" || this.#stop.signal.aborted) return undefined;
    const revision = await this.#store.setBrokerFenced(
      this.#registration,
      s.epoch,
      s.lease,
      false,
    );
    if (revision !== undefined) {
      this.#unfencedEpoch = s.epoch;
      this.#logger.info(
        `Broker ${this.#registration.id}'s registration (broker epoch ${s.epoch}) is unfenced ` +
          `in etcd (revision ${revision})`,
      );
    }
    return revision;
  }

  /**
   * Mark the registration "in controlled shutdown" (Kafka's KIP-841 ineligible replica): the
   * controller moves this broker's leaderships away and drops it from every ISR, and leaders
   * may not add it again. A registration made after this (the broker registers again while
   * stopping) carries the mark too. Written again by each call (the controller reacts to the
   * write).
   *
   * @returns etcd's revision of the write, or `undefined` when not registered.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async beginControlledShutdown(): Promise<number | undefined> {
    this.#registration.controlledShutdown = true;
    const s = this.#state;
    if (!s.registered || s.lease === "0" || this.#stop.signal.aborted) return undefined;
    return await this.#store.setBrokerFenced(
      this.#registration,
      s.epoch,
      s.lease,
      this.#unfencedEpoch !== s.epoch,
    );
  }

  /**
   * Stop the keep-alive loop and revoke the lease, so that the registration (and any
   * controller key under the lease) goes at once rather than after the TTL.
   */
  async close(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    clearTimeout(this.#fenceTimer);
    await this.#loop;
    const lease = this.#state.lease;
    this.#set({ ...this.#state, registered: false, lease: "0" });
    if (lease !== "0") {
      await this.#etcd.revokeLease(lease).catch((e) =>
        this.#logger.warn(`Cannot revoke lease ${lease} of broker ${this.#registration.id}: ${e}`)
      );
    }
  }

  #set(state: MembershipState): void {
    const before = this.#state;
    this.#state = state;
    if (
      before.registered === state.registered && before.epoch === state.epoch &&
      before.lease === state.lease && before.revision === state.revision
    ) return;
    for (const l of this.#listeners) {
      try {
        l({ ...state });
      } catch (e) {
        this.#logger.error(`Membership listener failed: ${e instanceof Error ? e.message : e}`);
      }
    }
  }

  async #register(first: boolean): Promise<void> {
    const id = this.#registration.id;
    let sentAt = Date.now();
    let lease = await this.#etcd.grantLease(this.#ttlSeconds);
    const deadline = Date.now() + this.#registerWaitMs;
    let waited = false;
    for (;;) {
      if (this.#stop.signal.aborted) return;
      const r = await this.#store.registerBroker(this.#registration, lease.id);
      if ("epoch" in r) {
        // the first heartbeat at once: the controller fences only brokers it saw heartbeating,
        // and a broker that stalls right after registering must be one of them
        await this.#store.heartbeat(id, r.epoch, lease.id).catch(() => {});
        this.#aliveSince = sentAt;
        this.#armFence();
        this.#set({ registered: true, epoch: r.epoch, lease: lease.id, revision: r.epoch });
        this.#logger.info(
          `Broker ${id} registered in etcd (${this.#store.root}, broker epoch ${r.epoch}, lease ` +
            `${lease.id} of ${lease.ttl} s)`,
        );
        return;
      }
      const h = r.holder.value;
      if (h.incarnation === this.#registration.incarnation) {
        // our own key from a registration whose answer was lost: it lives under another lease
        await this.#etcd.revokeLease(lease.id).catch(() => {});
        this.#aliveSince = sentAt;
        this.#armFence();
        const kv = await this.#etcd.get(this.#store.brokerKey(id));
        this.#set({
          registered: true,
          epoch: r.holder.createRevision,
          lease: kv?.lease ?? "0",
          revision: Math.max(r.holder.createRevision, kv?.modRevision ?? 0),
        });
        return;
      }
      if (Date.now() > deadline) {
        await this.#etcd.revokeLease(lease.id).catch(() => {});
        throw new Error(
          `Cannot register broker ${id}: node id ${id} is registered by another live broker ` +
            `(${h.host}:${h.port}, incarnation ${h.incarnation}) and its registration did not ` +
            `expire within ${this.#registerWaitMs} ms; give each broker its own node.id`,
        );
      }
      if (!waited) {
        waited = true;
        this.#logger.warn(
          `Broker id ${id} is still registered by ${h.host}:${h.port} (incarnation ` +
            `${h.incarnation}${first ? ", a previous run?" : ""}); waiting for its lease to expire`,
        );
      }
      await sleep(250, this.#stop.signal);
      // The wait may outlast the new lease's TTL: keep it alive (etcd refuses a transaction
      // naming a lease it no longer has, even in the branch not taken).
      const renewedAt = Date.now();
      if (await this.#etcd.keepAlive(lease.id) === 0) {
        lease = await this.#etcd.grantLease(this.#ttlSeconds);
      }
      sentAt = renewedAt;
    }
  }

  #armFence(): void {
    clearTimeout(this.#fenceTimer);
    const left = this.#aliveSince + this.#sessionTimeoutMs - Date.now();
    this.#fenceTimer = setTimeout(() => this.#fence(), Math.max(0, left));
  }

  #fence(): void {
    if (!this.#state.registered || this.#stop.signal.aborted) return;
    if (Date.now() - this.#aliveSince < this.#sessionTimeoutMs) return this.#armFence();
    this.#logger.warn(
      `Broker ${this.#registration.id} fenced: no keep-alive of its etcd lease succeeded for ` +
        `${this.#sessionTimeoutMs} ms (broker.session.timeout.ms); it leads nothing until ` +
        `registered again`,
    );
    this.#set({ ...this.#state, registered: false });
  }

  async #keepAliveLoop(): Promise<void> {
    // a keep-alive (and heartbeat) every third of the lease or the session, the shorter
    const interval = Math.max(
      100,
      Math.floor(Math.min(this.#ttlSeconds * 1000, this.#sessionTimeoutMs) / 3),
    );
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      if (!this.#gone || this.#paused) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          sleep(interval, this.#stop.signal).then(resolve);
        });
        this.#wake = () => {};
      }
      if (this.#stop.signal.aborted || this.#paused) continue;
      const sentAt = Date.now();
      try {
        const lease = this.#state.lease;
        if (this.#gone) {
          // The key went while the lease may live on (deleted by hand): leave that lease.
          this.#gone = false;
          if (lease !== "0") await this.#etcd.revokeLease(lease).catch(() => {});
          this.#set({ ...this.#state, registered: false, lease: "0" });
          await this.#register(false);
          failures = 0;
          continue;
        }
        const { ttl, revision } = lease === "0"
          ? { ttl: 0, revision: 0 }
          : await this.#etcd.renewLease(lease);
        if (this.#stop.signal.aborted) return;
        if (this.#gone) continue; // seen gone meanwhile: handled at the next turn
        // the heartbeat the controller watches (it fences a broker whose heartbeats stop)
        if (ttl > 0) await this.#store.heartbeat(this.#registration.id, this.#state.epoch, lease);
        if (this.#stop.signal.aborted) return;
        if (ttl > 0) {
          if (failures > 0) {
            this.#logger.info(`Keep-alive of broker ${this.#registration.id}'s lease works again`);
          }
          failures = 0;
          this.#aliveSince = sentAt;
          this.#armFence();
          if (!this.#state.registered) {
            this.#logger.info(
              `Broker ${this.#registration.id}'s lease is still alive (etcd revision ` +
                `${revision}); it leads again once its view of the cluster has caught up`,
            );
            this.#set({ ...this.#state, registered: true, revision });
          }
          continue;
        }
        // The lease expired (or was revoked): our key is gone. Register again.
        this.#logger.warn(
          `Lease ${lease} of broker ${this.#registration.id} expired or was revoked; registering ` +
            `again`,
        );
        clearTimeout(this.#fenceTimer);
        this.#set({ ...this.#state, registered: false, lease: "0" });
        await this.#register(false);
        failures = 0;
      } catch (e) {
        if (this.#stop.signal.aborted) return;
        if (failures++ === 0 || failures % 20 === 0) {
          this.#logger.warn(
            `Keep-alive of broker ${this.#registration.id}'s lease failed (${failures} in a ` +
              `row): ${e instanceof Error ? e.message : e}`,
          );
        }
      }
    }
  }
}
