// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Standby tasks (Kafka's `StandbyTask`, `num.standby.replicas`): copies of other members'
 * stateful tasks, kept by reading the tasks' changelog partitions continuously with a consumer of
 * their own (`assign()`, no group), read committed under exactly-once. A copy (new, or an active
 * task's committed stores handed over when the task moved away) keeps its changelog position: in
 * memory for an in-memory store, in the store's on-disk checkpoint for a persistent one (written
 * every commit interval and when the copy is dropped), so when the task becomes active here it is
 * restored only from that position.
 *
 * @module
 */

import type { Client } from "../client/client.ts";
import { Consumer } from "../client/consumer.ts";
import type { GraphBuilder, Subtopology } from "./graph.ts";
import { BytesStore } from "./stores.ts";

/** One standby task: its stores. */
interface StandbyTask {
  taskId: string;
  partition: number;
  stores: Map<string, BytesStore>;
}

/** What the standby tasks need of the runtime. */
export interface StandbyOptions {
  /** The topology's stores. */
  graph: GraphBuilder;
  /** The application id. */
  applicationId: string;
  /** Where persistent stores live. */
  stateDir: string | undefined;
  /** Read committed (exactly-once). */
  readCommitted: boolean;
  /** A store's changelog topic. */
  changelog: (store: string) => string;
  /** How often a persistent copy is checkpointed. */
  checkpointIntervalMs: number;
}

/**
 * Makes a task's stores as the task does (`<stateDir>/<applicationId>/<task>/<store>` on
 * disk, the same directory as the active task's, which is never on the same instance).
 */
export function taskStores(
  o: { graph: GraphBuilder; stateDir: string | undefined; applicationId: string },
  sub: Subtopology,
  taskId: string,
): Map<string, BytesStore> {
  const stores = new Map<string, BytesStore>();
  for (const name of sub.stores) {
    const def = o.graph.stores.get(name)!;
    const dir = def.persistent && o.stateDir !== undefined
      ? `${o.stateDir}/${o.applicationId}/${taskId}/${name}`
      : undefined;
    stores.set(name, new BytesStore(name, def.kind, dir, def.retentionMs));
  }
  return stores;
}

/** The standby tasks of one instance. */
export class StandbyTasks {
  #client: Client;
  #o: StandbyOptions;
  #tasks = new Map<string, StandbyTask>();
  #consumer: Consumer | undefined;
  /** Changelog partition (`topic\0partition`) -> store. */
  #byPartition = new Map<string, BytesStore>();
  #lastCheckpoint = Date.now();
  #adopted = false;
  /** Changelog records applied to standby copies. */
  updated = 0;
  /** Active tasks' stores handed over to become copies. */
  handedOver = 0;

  constructor(client: Client, options: StandbyOptions) {
    this.#client = client;
    this.#o = options;
  }

  /** Task ids held, sorted. */
  ids(): string[] {
    return [...this.#tasks.keys()].sort();
  }

  /** Sum of the changelog positions of each copy (Kafka's task offset sums). */
  offsetSums(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, t] of this.#tasks) {
      let sum = 0;
      for (const s of t.stores.values()) sum += s.position;
      out[id] = sum;
    }
    return out;
  }

  /** The changelog position of each store of each copy. */
  positions(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [id, t] of this.#tasks) {
      out[id] = Object.fromEntries([...t.stores].map(([name, s]) => [name, s.position]));
    }
    return out;
  }

  /**
   * Takes a copy out to become the active task's stores (open, at their position).
   *
   * @param taskId The task.
   * @returns Its stores, or `undefined` if this instance holds no copy.
   */
  async take(taskId: string): Promise<Map<string, BytesStore> | undefined> {
    const t = this.#tasks.get(taskId);
    if (t === undefined) return undefined;
    this.#tasks.delete(taskId);
    await this.#reassign();
    return t.stores;
  }

  /**
   * Takes a closing active task's stores as this instance's copy of the task (Kafka converts the
   * suspended active into a standby): kept open at their position, which must be the changelog
   * offset the active's last commit wrote up to (never past uncommitted writes), so the copy
   * reads on from there instead of from offset 0. `assign()` then keeps it if wanted.
   *
   * @param taskId The task.
   * @param partition Its partition.
   * @param stores The active's stores, flushed and committed.
   */
  adopt(taskId: string, partition: number, stores: Map<string, BytesStore>): void {
    if (this.#tasks.has(taskId)) {
      for (const s of stores.values()) s.close();
      return;
    }
    this.#tasks.set(taskId, { taskId, partition, stores });
    this.#adopted = true;
    this.handedOver++;
  }

  /**
   * Makes the copies match the assignment: drops the copies not wanted (a persistent one keeps
   * its checkpoint), opens new ones (from their checkpoint, or empty at offset 0) and reads
   * every wanted changelog partition from its copy's position.
   *
   * @param wanted Standby task id -> sub-topology and partition.
   */
  async assign(wanted: Map<string, { sub: Subtopology; partition: number }>): Promise<void> {
    // A copy adopted since the last call is not in the consumer's assignment yet.
    let changed = this.#adopted;
    this.#adopted = false;
    for (const [id, t] of this.#tasks) {
      if (wanted.has(id)) continue;
      changed = true;
      this.#tasks.delete(id);
      for (const s of t.stores.values()) {
        await s.persist();
        s.close();
      }
    }
    for (const [id, { sub, partition }] of wanted) {
      if (this.#tasks.has(id)) continue;
      changed = true;
      const stores = taskStores(this.#o, sub, id);
      for (const s of stores.values()) await s.open();
      this.#tasks.set(id, { taskId: id, partition, stores });
    }
    if (changed) await this.#reassign();
  }

  async #reassign(): Promise<void> {
    this.#byPartition.clear();
    const parts: Array<{ topic: string; partition: number; offset: number }> = [];
    for (const t of this.#tasks.values()) {
      for (const s of t.stores.values()) {
        const topic = this.#o.changelog(s.name);
        this.#byPartition.set(`${topic}\u0000${t.partition}`, s);
        parts.push({ topic, partition: t.partition, offset: s.position });
      }
    }
    if (parts.length === 0) {
      await this.#consumer?.close();
      this.#consumer = undefined;
      return;
    }
    this.#consumer ??= new Consumer(this.#client, {
      isolationLevel: this.#o.readCommitted ? 1 : 0,
      autoOffsetReset: "earliest",
      maxWaitMs: 0,
    });
    await this.#consumer.assign(parts);
  }

  /**
   * Applies what the changelogs hold past each copy's position (one fetch, not waiting for
   * more), and checkpoints persistent copies every checkpoint interval.
   *
   * @param maxWaitMs How long the fetch may wait for records.
   */
  async update(maxWaitMs = 0): Promise<void> {
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    for (const r of await consumer.poll({ maxWaitMs })) {
      const store = this.#byPartition.get(`${r.topic}\u0000${r.partition}`);
      if (store === undefined || r.key === null) continue;
      store.restore(r.key, r.value, r.timestamp);
      this.updated++;
    }
    if (consumer !== this.#consumer) return;
    for (const p of consumer.assignment()) {
      const store = this.#byPartition.get(`${p.topic}\u0000${p.partition}`);
      if (store !== undefined && p.offset > store.position) store.position = p.offset;
    }
    if (Date.now() - this.#lastCheckpoint >= this.#o.checkpointIntervalMs) await this.checkpoint();
  }

  /** Checkpoints the persistent copies (what was applied, at its position). */
  async checkpoint(): Promise<void> {
    this.#lastCheckpoint = Date.now();
    for (const t of this.#tasks.values()) for (const s of t.stores.values()) await s.persist();
  }

  /** Checkpoints and closes every copy and the consumer. */
  async close(): Promise<void> {
    await this.checkpoint().catch(() => {});
    for (const t of this.#tasks.values()) for (const s of t.stores.values()) s.close();
    this.#tasks.clear();
    this.#byPartition.clear();
    await this.#consumer?.close();
    this.#consumer = undefined;
  }

  /** Drops every copy without checkpointing (an instance that failed). */
  drop(): void {
    for (const t of this.#tasks.values()) for (const s of t.stores.values()) s.close();
    this.#tasks.clear();
    this.#byPartition.clear();
    const c = this.#consumer;
    this.#consumer = undefined;
    c?.close().catch(() => {});
  }
}
