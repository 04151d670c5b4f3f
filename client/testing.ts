// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test support for the client: polling a consumer or a group member until enough records (or
 * something else) came. Not exported from `mod.ts`.
 *
 * @module
 */

import type { ConsumerRecord } from "./consumer.ts";

/** What {@linkcode pollUntil} polls: a `Consumer` or a `GroupConsumer`. */
export interface Pollable {
  /** Fetches the next records (possibly none). */
  poll(options?: { maxWaitMs?: number }): Promise<ConsumerRecord[]>;
}

/** Options of {@linkcode pollUntil}. */
export interface PollUntilOptions {
  /** Polls at the most (default 100). */
  rounds?: number;
  /** Each poll's long-poll time (default: the consumer's own). */
  maxWaitMs?: number;
}

/**
 * Polls until `done` holds (a number: that many records polled here) or `rounds` polls were made,
 * and returns the records polled.
 *
 * @example
 * ```ts ignore
 * import { pollUntil } from "./testing.ts";
 * const records = await pollUntil(consumer, 3, { rounds: 50, maxWaitMs: 100 });
 * ```
 *
 * @param source The consumer or group member.
 * @param done How many records to wait for, or a condition checked before each poll.
 * @param options Polls at the most and their long-poll time.
 * @returns The records polled, in order (fewer than asked when `rounds` ran out).
 */
export async function pollUntil(
  source: Pollable,
  done: number | ((polled: ConsumerRecord[]) => boolean),
  options: PollUntilOptions = {},
): Promise<ConsumerRecord[]> {
  const enough = typeof done === "number" ? (out: ConsumerRecord[]) => out.length >= done : done;
  const wait = options.maxWaitMs === undefined ? undefined : { maxWaitMs: options.maxWaitMs };
  const out: ConsumerRecord[] = [];
  for (let i = 0; i < (options.rounds ?? 100) && !enough(out); i++) {
    out.push(...await source.poll(wait));
  }
  return out;
}
