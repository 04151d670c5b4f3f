/**
 * A logger that writes a repeated failure once per interval: on a full disk every produce
 * request, checkpoint and index write fails the same way, and one line a minute with a count says
 * as much as thousands a second.
 *
 * @module
 */

/** Default interval of {@linkcode ThrottledLog}: one line per kind of failure a minute. */
export const DEFAULT_LOG_THROTTLE_MS = 60_000;

/**
 * Writes the first message of each kind, then at most one per `intervalMs`, saying how many of
 * that kind were left out in between.
 *
 * @example
 * ```ts
 * import { ThrottledLog } from "./throttled_log.ts";
 *
 * const lines: string[] = [];
 * let now = 0;
 * const log = new ThrottledLog((m) => lines.push(m), 1000, () => now);
 * log.log("append", "append to t-0 failed: no space");
 * log.log("append", "append to t-1 failed: no space"); // left out
 * now = 1500;
 * log.log("append", "append to t-0 failed: no space");
 * console.assert(lines.length === 2);
 * console.assert(lines[1].endsWith("(1 more like it since the last report)"));
 * ```
 */
export class ThrottledLog {
  readonly #write: (msg: string) => void;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #kinds = new Map<string, { last: number; skipped: number }>();

  /**
   * @param write Where lines go.
   * @param intervalMs Least time between two lines of one kind.
   * @param now Clock (for tests).
   */
  constructor(
    write: (msg: string) => void,
    intervalMs: number = DEFAULT_LOG_THROTTLE_MS,
    now: () => number = Date.now,
  ) {
    this.#write = write;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /**
   * Writes `msg` unless a message of the same `kind` was written less than the interval ago.
   *
   * @param kind What failed (e.g. `append`, `checkpoint`): the unit of throttling.
   * @param msg The message.
   * @returns Whether the message was written.
   */
  log(kind: string, msg: string): boolean {
    const now = this.#now();
    const k = this.#kinds.get(kind);
    if (k && now - k.last < this.#intervalMs) {
      k.skipped++;
      return false;
    }
    const more = k && k.skipped > 0 ? ` (${k.skipped} more like it since the last report)` : "";
    this.#kinds.set(kind, { last: now, skipped: 0 });
    this.#write(msg + more);
    return true;
  }

  /**
   * Forgets a kind (the failure is over), so that the next failure of that kind is written at once.
   *
   * @param kind The kind.
   * @returns How many messages of that kind were left out since the last one written.
   */
  reset(kind: string): number {
    const k = this.#kinds.get(kind);
    this.#kinds.delete(kind);
    return k?.skipped ?? 0;
  }
}
