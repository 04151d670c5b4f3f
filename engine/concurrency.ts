// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Bounded concurrency for work over many partitions (opening, flushing and closing logs; the
 * replica manager applying partition states).
 *
 * @module
 */

/**
 * Runs `fn(0)` ... `fn(count - 1)`, at most `limit` at once. On the first failure no new index is
 * started; the failure is thrown once the running ones have settled.
 *
 * @param count How many indexes.
 * @param limit At most this many at once.
 * @param fn The work for one index.
 * @returns Resolves when every started one has settled.
 *
 * @example
 * ```ts
 * import { forEachConcurrently } from "./concurrency.ts";
 * const seen: number[] = [];
 * await forEachConcurrently(5, 2, async (i) => { seen.push(i); });
 * console.assert(seen.length === 5);
 * ```
 */
export async function forEachConcurrently(
  count: number,
  limit: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (failed === undefined && next < count) {
      const i = next++;
      try {
        await fn(i);
      } catch (e) {
        failed ??= { error: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  if (failed !== undefined) throw failed.error;
}
