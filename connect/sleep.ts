// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A sleep that can be cut short: the poll loops of source tasks and the distributed herder wait
 * with it, and `stop()` (or new work) wakes them.
 *
 * @module
 */

/**
 * Waits `ms` milliseconds, or less if the function handed to `onWake` is called first.
 *
 * @example
 * ```ts
 * import { sleep } from "./sleep.ts";
 * let wake = () => {};
 * const slept = sleep(60_000, (w) => (wake = w));
 * wake();
 * await slept;
 * ```
 *
 * @param ms How long to wait at the most.
 * @param onWake Receives the function that ends the wait early (and clears its timer).
 * @returns A promise resolved when the time is up or the wait is woken.
 */
export function sleep(ms: number, onWake: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      resolve();
    }
    onWake(done);
  });
}
