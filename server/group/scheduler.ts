// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Clocks and timers for the group coordinator, injectable so that tests drive time by hand.
 *
 * @module
 */

/** Cancels a scheduled task; calling it after the task ran (or twice) does nothing. */
export type Cancel = () => void;

/** A clock plus one-shot timers: what the coordinator uses instead of `Date.now`/`setTimeout`. */
export interface Scheduler {
  /** Current time in milliseconds since the epoch. */
  now(): number;
  /**
   * Run `task` once after `delayMs` milliseconds.
   *
   * @returns A function that cancels the task.
   */
  schedule(delayMs: number, task: () => void): Cancel;
}

/**
 * The real clock and `setTimeout`. Pending timers keep the process alive: close the coordinator
 * to cancel them.
 *
 * @example
 * ```ts
 * import { systemScheduler } from "./scheduler.ts";
 *
 * const cancel = systemScheduler.schedule(10, () => console.log("late"));
 * cancel();
 * ```
 */
export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  schedule(delayMs: number, task: () => void): Cancel {
    const id = setTimeout(task, Math.max(0, delayMs));
    return () => clearTimeout(id);
  },
};

interface ManualTask {
  due: number;
  seq: number;
  task: () => void;
  cancelled: boolean;
}

/**
 * A scheduler whose clock only moves when {@linkcode ManualScheduler.advance} is called; tasks
 * run in due-time order (ties in scheduling order). For deterministic tests.
 *
 * @example
 * ```ts
 * import { ManualScheduler } from "./scheduler.ts";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const clock = new ManualScheduler(1000);
 * const fired: number[] = [];
 * clock.schedule(50, () => fired.push(clock.now()));
 * clock.advance(49);
 * assertEquals(fired, []);
 * clock.advance(1);
 * assertEquals(fired, [1050]);
 * ```
 */
export class ManualScheduler implements Scheduler {
  #now: number;
  #seq = 0;
  #tasks: ManualTask[] = [];

  /**
   * Creates a manual clock.
   *
   * @param start The initial time in milliseconds.
   */
  constructor(start = 0) {
    this.#now = start;
  }

  /** The current (manual) time. @returns Milliseconds. */
  now(): number {
    return this.#now;
  }

  /**
   * Schedule `task` at `now() + delayMs`.
   *
   * @param delayMs Delay in milliseconds (negative counts as 0).
   * @param task What to run.
   * @returns A function that cancels the task.
   */
  schedule(delayMs: number, task: () => void): Cancel {
    const t: ManualTask = {
      due: this.#now + Math.max(0, delayMs),
      seq: this.#seq++,
      task,
      cancelled: false,
    };
    this.#tasks.push(t);
    return () => {
      t.cancelled = true;
    };
  }

  /** How many tasks are scheduled and not cancelled. */
  get pending(): number {
    return this.#tasks.filter((t) => !t.cancelled).length;
  }

  /**
   * Move the clock forward by `ms`, running every task that falls due, in order; tasks scheduled
   * by running tasks also run if they fall due within the window.
   *
   * @param ms Milliseconds to advance (0 runs what is due now).
   * @throws {RangeError} If `ms` is negative.
   */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError(`Cannot advance the clock: negative duration ${ms}`);
    const target = this.#now + ms;
    while (true) {
      this.#tasks = this.#tasks.filter((t) => !t.cancelled);
      let next: ManualTask | undefined;
      for (const t of this.#tasks) {
        if (t.due > target) continue;
        if (next === undefined || t.due < next.due || (t.due === next.due && t.seq < next.seq)) {
          next = t;
        }
      }
      if (next === undefined) break;
      this.#tasks.splice(this.#tasks.indexOf(next), 1);
      if (next.due > this.#now) this.#now = next.due;
      next.task();
    }
    this.#now = target;
  }
}
