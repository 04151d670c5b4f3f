// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test support for the Connect tests (not exported from `connect/mod.ts`).
 *
 * @module
 */

/** How {@linkcode until} polls. */
export interface UntilOptions {
  /** Give up after this long; default 60 s. */
  timeoutMs?: number;
  /** Pause between two tries; default 100 ms. */
  intervalMs?: number;
  /**
   * Treat an error thrown by the probe as "not yet" (the last one is named in the timeout
   * error); default false: the error fails the wait at once.
   */
  retryErrors?: boolean;
}

/**
 * Calls `f` until it returns something other than `undefined`, and returns that.
 *
 * @param what What is waited for, for the timeout error.
 * @param f The probe.
 * @param options Timeout, interval, and whether a thrown error means "not yet".
 * @returns The probe's first defined result.
 * @throws {Error} `timed out waiting for <what>` after the timeout.
 */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined>,
  options: UntilOptions = {},
): Promise<T> {
  const { timeoutMs = 60_000, intervalMs = 100, retryErrors = false } = options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      if (!retryErrors) throw e;
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${retryErrors ? ` (${last ?? ""})` : ""}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
