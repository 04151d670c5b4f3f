// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Wake-ups for long-polling fetches: one `LogManager.onAppend` subscription fans out to the
 * waiters registered on each partition, so an append costs one map lookup however many fetches
 * are parked.
 *
 * @module
 */

/** A partition key as used by {@linkcode AppendWaiters}: `"topic\u0000partition"`. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * Parked fetches, by partition.
 *
 * @example
 * ```ts
 * import { AppendWaiters } from "./append_waiters.ts";
 * import { strictEqual } from "node:assert/strict";
 *
 * const waiters = new AppendWaiters();
 * const woken = waiters.wait([["t", 0]], 60_000);
 * waiters.notify("t", 0);
 * strictEqual(await woken, "append");
 * ```
 */
export class AppendWaiters {
  readonly #byPartition = new Map<string, Set<() => void>>();
  #parked = 0;

  /** Number of partitions with at least one waiter. */
  get size(): number {
    return this.#byPartition.size;
  }

  /** Number of waits in progress: the fetch purgatory's size (for metrics). */
  get parked(): number {
    return this.#parked;
  }

  /**
   * Report an append; wakes every waiter on that partition.
   *
   * @param topic Topic name.
   * @param partition Partition index.
   */
  notify(topic: string, partition: number): void {
    const set = this.#byPartition.get(partitionKey(topic, partition));
    if (set === undefined) return;
    for (const wake of [...set]) wake();
  }

  /**
   * Wait until one of `partitions` gets an append, `timeoutMs` passes, or a signal aborts.
   * Registration is synchronous: an append after this call returns (even before the promise is
   * awaited) wakes it.
   *
   * @param partitions `[topic, partition]` pairs to watch.
   * @param timeoutMs Longest wait.
   * @param signals End the wait early (broker shutdown, client gone); each is listened to
   *   directly, so no combined signal is built per wait.
   * @returns Why the wait ended.
   */
  wait(
    partitions: Iterable<readonly [string, number]>,
    timeoutMs: number,
    ...signals: (AbortSignal | undefined)[]
  ): Promise<"append" | "timeout" | "aborted"> {
    for (const s of signals) if (s?.aborted) return Promise.resolve("aborted");
    return new Promise((resolve) => {
      const keys = new Set<string>();
      for (const [t, p] of partitions) keys.add(partitionKey(t, p));
      let ended = false;
      const done = (why: "append" | "timeout" | "aborted") => {
        if (ended) return;
        ended = true;
        this.#parked--;
        for (const k of keys) {
          const set = this.#byPartition.get(k);
          if (set === undefined) continue;
          set.delete(wakeAppend);
          if (set.size === 0) this.#byPartition.delete(k);
        }
        clearTimeout(timer);
        for (const s of signals) s?.removeEventListener("abort", wakeAbort);
        resolve(why);
      };
      const wakeAppend = () => done("append");
      const wakeAbort = () => done("aborted");
      this.#parked++;
      for (const k of keys) {
        let set = this.#byPartition.get(k);
        if (set === undefined) this.#byPartition.set(k, set = new Set());
        set.add(wakeAppend);
      }
      for (const s of signals) s?.addEventListener("abort", wakeAbort, { once: true });
      const timer = setTimeout(() => done("timeout"), Math.max(0, timeoutMs));
    });
  }
}
