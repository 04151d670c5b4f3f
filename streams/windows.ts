// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Window specifications (tumbling and hopping {@linkcode TimeWindows}, {@linkcode SessionWindows},
 * {@linkcode JoinWindows}) and the {@linkcode Windowed} key an aggregation over windows produces,
 * with Kafka's names and rules: a window is `[start, end)`, a record is late when the
 * aggregation's stream time (the largest timestamp it has seen) has passed its window's end plus
 * the grace period, and late records are dropped.
 *
 * @module
 */

import { type Serde, SerdeError } from "./serdes.ts";

/** A window: `[start, end)` in milliseconds (a session window's end is its last record's time). */
export interface Window {
  /** Start, inclusive. */
  start: number;
  /** End: exclusive for time windows, the last record's timestamp for session windows. */
  end: number;
}

/**
 * A key in a window: what windowed aggregations key their tables by.
 *
 * @typeParam K The key type.
 */
export interface Windowed<K> {
  /** The record key. */
  key: K;
  /** The window. */
  window: Window;
}

function checkMs(what: string, ms: number, min: number): number {
  if (!Number.isSafeInteger(ms) || ms < min) {
    throw new RangeError(`${what}: ${ms} is not an integer of at least ${min} ms`);
  }
  return ms;
}

/**
 * Fixed-size windows: tumbling (advance = size) or hopping (advance < size), aligned to the
 * epoch as Kafka's.
 *
 * @example A hopping window
 * ```ts
 * import { TimeWindows } from "./windows.ts";
 * const w = TimeWindows.ofSizeAndGrace(10_000, 1_000).advanceBy(5_000);
 * console.assert(w.windowsFor(12_000).map((x) => x.start).join() === "5000,10000");
 * ```
 */
export class TimeWindows {
  /** Window size in ms. */
  readonly sizeMs: number;
  /** How far each window starts after the previous one, in ms. */
  readonly advanceMs: number;
  /** How long after a window's end records are still accepted, in ms. */
  readonly graceMs: number;

  private constructor(sizeMs: number, advanceMs: number, graceMs: number) {
    this.sizeMs = sizeMs;
    this.advanceMs = advanceMs;
    this.graceMs = graceMs;
  }

  /**
   * Tumbling windows of `sizeMs` with no grace period.
   *
   * @param sizeMs Window size.
   * @returns The windows.
   * @throws {RangeError} If the size is not a positive integer.
   */
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return new TimeWindows(checkMs("window size", sizeMs, 1), sizeMs, 0);
  }

  /**
   * Tumbling windows of `sizeMs` accepting records up to `graceMs` after a window's end.
   *
   * @param sizeMs Window size.
   * @param graceMs Grace period.
   * @returns The windows.
   * @throws {RangeError} If the size is not positive or the grace is negative.
   */
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    return new TimeWindows(
      checkMs("window size", sizeMs, 1),
      sizeMs,
      checkMs("window grace", graceMs, 0),
    );
  }

  /**
   * Hopping windows: the same size and grace, starting every `advanceMs`.
   *
   * @param advanceMs The hop; at most the size.
   * @returns The windows.
   * @throws {RangeError} If the advance is not positive or exceeds the size.
   */
  advanceBy(advanceMs: number): TimeWindows {
    checkMs("window advance", advanceMs, 1);
    if (advanceMs > this.sizeMs) {
      throw new RangeError(
        `window advance: ${advanceMs} ms exceeds the window size ${this.sizeMs} ms`,
      );
    }
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }

  /**
   * The windows a record at `timestamp` falls in, oldest first (Kafka's `windowsFor`).
   *
   * @param timestamp Record time in ms.
   * @returns The windows.
   */
  windowsFor(timestamp: number): Window[] {
    const out: Window[] = [];
    const first = Math.max(0, timestamp - this.sizeMs + this.advanceMs);
    let start = first - (first % this.advanceMs);
    for (; start <= timestamp; start += this.advanceMs) {
      out.push({ start, end: start + this.sizeMs });
    }
    return out;
  }
}

/**
 * Session windows: a key's records closer than the inactivity gap form one session.
 *
 * @example
 * ```ts
 * import { SessionWindows } from "./windows.ts";
 * const s = SessionWindows.ofInactivityGapAndGrace(5_000, 0);
 * console.assert(s.gapMs === 5_000);
 * ```
 */
export class SessionWindows {
  /** The inactivity gap in ms. */
  readonly gapMs: number;
  /** How long after a session's end records are still accepted, in ms. */
  readonly graceMs: number;

  private constructor(gapMs: number, graceMs: number) {
    this.gapMs = gapMs;
    this.graceMs = graceMs;
  }

  /**
   * Sessions with an inactivity gap and no grace period.
   *
   * @param gapMs The gap.
   * @returns The windows.
   * @throws {RangeError} If the gap is not a positive integer.
   */
  static ofInactivityGapWithNoGrace(gapMs: number): SessionWindows {
    return new SessionWindows(checkMs("session gap", gapMs, 1), 0);
  }

  /**
   * Sessions with an inactivity gap and a grace period.
   *
   * @param gapMs The gap.
   * @param graceMs The grace period.
   * @returns The windows.
   * @throws {RangeError} If the gap is not positive or the grace is negative.
   */
  static ofInactivityGapAndGrace(gapMs: number, graceMs: number): SessionWindows {
    return new SessionWindows(
      checkMs("session gap", gapMs, 1),
      checkMs("session grace", graceMs, 0),
    );
  }
}

/**
 * The window of a stream–stream join: records of both sides join when their timestamps differ
 * by at most `beforeMs` (the other side earlier) or `afterMs` (the other side later).
 *
 * @example
 * ```ts
 * import { JoinWindows } from "./windows.ts";
 * const j = JoinWindows.ofTimeDifferenceWithNoGrace(1_000);
 * console.assert(j.beforeMs === 1_000 && j.afterMs === 1_000);
 * ```
 */
export class JoinWindows {
  /** How much earlier the other side's record may be, in ms. */
  readonly beforeMs: number;
  /** How much later the other side's record may be, in ms. */
  readonly afterMs: number;
  /** Grace period in ms. */
  readonly graceMs: number;

  private constructor(beforeMs: number, afterMs: number, graceMs: number) {
    this.beforeMs = beforeMs;
    this.afterMs = afterMs;
    this.graceMs = graceMs;
  }

  /**
   * Records at most `differenceMs` apart join; no grace period.
   *
   * @param differenceMs The largest time difference.
   * @returns The join window.
   * @throws {RangeError} If the difference is negative.
   */
  static ofTimeDifferenceWithNoGrace(differenceMs: number): JoinWindows {
    checkMs("join window", differenceMs, 0);
    return new JoinWindows(differenceMs, differenceMs, 0);
  }

  /**
   * Records at most `differenceMs` apart join; late records are accepted for `graceMs`.
   *
   * @param differenceMs The largest time difference.
   * @param graceMs The grace period.
   * @returns The join window.
   * @throws {RangeError} If a duration is negative.
   */
  static ofTimeDifferenceAndGrace(differenceMs: number, graceMs: number): JoinWindows {
    checkMs("join window", differenceMs, 0);
    return new JoinWindows(differenceMs, differenceMs, checkMs("join grace", graceMs, 0));
  }

  /**
   * The same window with a different `beforeMs`.
   *
   * @param beforeMs How much earlier the other side may be.
   * @returns The join window.
   */
  before(beforeMs: number): JoinWindows {
    return new JoinWindows(checkMs("join window before", beforeMs, 0), this.afterMs, this.graceMs);
  }

  /**
   * The same window with a different `afterMs`.
   *
   * @param afterMs How much later the other side may be.
   * @returns The join window.
   */
  after(afterMs: number): JoinWindows {
    return new JoinWindows(this.beforeMs, checkMs("join window after", afterMs, 0), this.graceMs);
  }
}

function windowedBytes(inner: Uint8Array | null, a: number, b?: number): Uint8Array {
  const k = inner ?? new Uint8Array(0);
  const out = new Uint8Array(k.length + (b === undefined ? 8 : 16));
  out.set(k, 0);
  const view = new DataView(out.buffer);
  view.setBigInt64(k.length, BigInt(a));
  if (b !== undefined) view.setBigInt64(k.length + 8, BigInt(b));
  return out;
}

/**
 * Serdes of windowed keys with Kafka's layouts: a time-windowed key is the inner key's bytes
 * then the window start (8 bytes, big-endian); a session-windowed key is the inner key's bytes,
 * the session end, then its start.
 *
 * @example
 * ```ts
 * import { Serdes } from "./serdes.ts";
 * import { WindowedSerdes } from "./windows.ts";
 * const serde = WindowedSerdes.timeWindowed(Serdes.String(), 60_000);
 * const bytes = serde.serialize({ key: "a", window: { start: 60_000, end: 120_000 } })!;
 * console.assert(serde.deserialize(bytes)!.window.end === 120_000);
 * ```
 */
export const WindowedSerdes: {
  /**
   * Time-windowed keys of windows of `sizeMs`.
   *
   * @param inner The key serde.
   * @param sizeMs The window size (the bytes hold only the start).
   * @returns The serde.
   */
  timeWindowed<K>(inner: Serde<K>, sizeMs: number): Serde<Windowed<K>>;
  /**
   * Session-windowed keys.
   *
   * @param inner The key serde.
   * @returns The serde.
   */
  sessionWindowed<K>(inner: Serde<K>): Serde<Windowed<K>>;
} = {
  /**
   * Time-windowed keys of windows of `sizeMs`.
   *
   * @param inner The key serde.
   * @param sizeMs The window size (the bytes hold only the start).
   * @returns The serde.
   */
  timeWindowed<K>(inner: Serde<K>, sizeMs: number): Serde<Windowed<K>> {
    return {
      name: `windowed(${inner.name})`,
      serialize: (w) => w === null ? null : windowedBytes(inner.serialize(w.key), w.window.start),
      deserialize: (d) => {
        if (d === null) return null;
        if (d.length < 8) throw new SerdeError(`deserialize windowed key: ${d.length} bytes`);
        const start = Number(new DataView(d.buffer, d.byteOffset + d.length - 8).getBigInt64(0));
        return {
          key: inner.deserialize(d.subarray(0, d.length - 8)) as K,
          window: { start, end: start + sizeMs },
        };
      },
    };
  },
  /**
   * Session-windowed keys.
   *
   * @param inner The key serde.
   * @returns The serde.
   */
  sessionWindowed<K>(inner: Serde<K>): Serde<Windowed<K>> {
    return {
      name: `session(${inner.name})`,
      serialize: (w) =>
        w === null ? null : windowedBytes(inner.serialize(w.key), w.window.end, w.window.start),
      deserialize: (d) => {
        if (d === null) return null;
        if (d.length < 16) throw new SerdeError(`deserialize session key: ${d.length} bytes`);
        const view = new DataView(d.buffer, d.byteOffset + d.length - 16);
        return {
          key: inner.deserialize(d.subarray(0, d.length - 16)) as K,
          window: { end: Number(view.getBigInt64(0)), start: Number(view.getBigInt64(8)) },
        };
      },
    };
  },
};
