// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Client quota rates shared by the shards of a broker (`sluice.workers` > 1): Kafka's sampled
 * `Rate` ({@linkcode SampledRate} in `quotas.ts`) kept in a `SharedArrayBuffer` every shard maps,
 * so a client's usage is one sum whichever shards its connections and requests land on, and the
 * throttle time a shard computes is the one a single broker would.
 *
 * The buffer holds a table of sensors found by a 64-bit hash of their key (two 32-bit FNV-1a
 * hashes), each with its samples; a sensor is changed and measured under its own spin lock
 * (a few additions, no await inside), a slot is claimed under the table's. Sensors idle for an
 * hour may be taken by a new key (Kafka's sensors expire the same way); a shard that cached the
 * slot sees the key changed under the lock and looks it up again. When every slot is in use, a
 * sensor is kept in the shard alone (counted per shard, as before).
 *
 * @module
 */

/** Slots of the table: sensors measured at once (a quota and a user and/or client id each). */
export const SHARED_SENSORS = 4096;

/** Idle sensors may be replaced after this long (Kafka's quota sensors expire after an hour). */
const IDLE_MS = 3_600_000;

// Int32 header: [table lock], then per slot: [lock, used, hash 1, hash 2]
const I_HEADER = 1;
const I_SLOT = 4;
// Float64 per slot: [last use, current sample, samples used, starts..., values...]
const F_FIXED = 3;
// Float64 counters after the slots: throttle time and throttled responses per quota type
const COUNTERS = 6;

/** A rate measured: the sum of the samples and the window it is taken over. */
export interface Measured {
  /** The rate per second. */
  rate: number;
  /** The window, in milliseconds (Kafka's `Rate.windowSize`). */
  windowMs: number;
}

/**
 * The size of the buffer {@linkcode SharedRates} needs for `samples` samples.
 *
 * @param samples `quota.window.num`.
 * @returns Bytes.
 */
export function sharedRatesBytes(samples: number): number {
  const ints = (I_HEADER + SHARED_SENSORS * I_SLOT) * 4;
  const floats = (SHARED_SENSORS * (F_FIXED + 2 * samples) + COUNTERS) * 8;
  return Math.ceil(ints / 8) * 8 + floats;
}

/**
 * FNV-1a of a string's UTF-16 code units from `seed`, as a signed 32-bit integer: the shared
 * tables (rates here, connection counts in `connection_quotas.ts`) find a key's slot by two
 * of these (seeds 0x811c9dc5 and 0x050c5d1f).
 *
 * @param s The key.
 * @param seed The starting value.
 * @returns The hash.
 */
export function hash(s: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/**
 * Sampled rates in shared memory (see the module doc).
 *
 * @example
 * ```ts
 * import { SharedRates, sharedRatesBytes } from "./shared_rates.ts";
 *
 * const buffer = new SharedArrayBuffer(sharedRatesBytes(2));
 * const a = new SharedRates(buffer, { samples: 2, windowMs: 1000 });
 * const b = new SharedRates(buffer, { samples: 2, windowMs: 1000 });
 * a.record("k", 500, 0);
 * console.assert(b.record("k", 500, 0)?.rate === 500); // 1000 bytes over 2 s
 * ```
 */
export class SharedRates {
  readonly #i: Int32Array;
  readonly #f: Float64Array;
  readonly #samples: number;
  readonly #windowMs: number;
  readonly #stride: number;
  readonly #counters: number;
  readonly #slots = new Map<string, number>();

  /**
   * Rates over a buffer made for the same window (every shard passes the same buffer).
   *
   * @param buffer A buffer of {@linkcode sharedRatesBytes} bytes, zeroed when made.
   * @param cfg `quota.window.num` samples of `quota.window.size.seconds`.
   * @throws {RangeError} If the buffer is too small for the window.
   */
  constructor(buffer: SharedArrayBuffer, cfg: { samples: number; windowMs: number }) {
    if (buffer.byteLength < sharedRatesBytes(cfg.samples)) {
      throw new RangeError(
        `shared quota rates: ${buffer.byteLength} bytes is too small for ${cfg.samples} samples`,
      );
    }
    const ints = I_HEADER + SHARED_SENSORS * I_SLOT;
    this.#i = new Int32Array(buffer, 0, ints);
    this.#stride = F_FIXED + 2 * cfg.samples;
    const fOffset = Math.ceil(ints * 4 / 8) * 8;
    this.#counters = SHARED_SENSORS * this.#stride;
    this.#f = new Float64Array(buffer, fOffset, this.#counters + COUNTERS);
    this.#samples = cfg.samples;
    this.#windowMs = cfg.windowMs;
  }

  /**
   * Add `value` to a sensor at `now` and measure it, as `SampledRate.record` then `measure`.
   *
   * @param key The sensor's key.
   * @param value The amount (negative: taken back).
   * @param now The time in milliseconds.
   * @returns The rate and window, or `null` when the table is full (the caller keeps the sensor).
   */
  record(key: string, value: number, now: number): Measured | null {
    for (let attempt = 0; attempt < 2; attempt++) {
      const slot = this.#slot(key, now);
      if (slot < 0) return null;
      const lock = I_HEADER + slot * I_SLOT;
      acquire(this.#i, lock);
      try {
        // the slot may have been given to another key since it was cached
        if (
          this.#i[lock + 1] !== 1 || this.#i[lock + 2] !== hash(key, 0x811c9dc5) ||
          this.#i[lock + 3] !== hash(key, 0x050c5d1f)
        ) {
          this.#slots.delete(key);
          continue;
        }
        return this.#update(slot * this.#stride, value, now);
      } finally {
        release(this.#i, lock);
      }
    }
    return null;
  }

  /**
   * Add to the throttle counters every shard reports (`/metrics` on shard 0).
   *
   * @param type 0, 1 or 2: producer, consumer, request.
   * @param ms The throttle time given.
   */
  countThrottle(type: number, ms: number): void {
    acquire(this.#i, 0);
    this.#f[this.#counters + type] += ms;
    this.#f[this.#counters + 3 + type] += 1;
    release(this.#i, 0);
  }

  /**
   * The throttle counters of every shard.
   *
   * @param type 0, 1 or 2: producer, consumer, request.
   * @returns Throttle time given and responses throttled.
   */
  throttled(type: number): { ms: number; count: number } {
    return { ms: this.#f[this.#counters + type], count: this.#f[this.#counters + 3 + type] };
  }

  #slot(key: string, now: number): number {
    const cached = this.#slots.get(key);
    if (cached !== undefined) return cached;
    const h1 = hash(key, 0x811c9dc5);
    const h2 = hash(key, 0x050c5d1f);
    const start = (h1 >>> 0) % SHARED_SENSORS;
    acquire(this.#i, 0);
    let found = -1;
    try {
      let idle = -1;
      for (let k = 0; k < SHARED_SENSORS; k++) {
        const s = (start + k) % SHARED_SENSORS;
        const b = I_HEADER + s * I_SLOT;
        if (this.#i[b + 1] === 0) {
          found = this.#claim(idle >= 0 ? idle : s, h1, h2, now);
          break;
        }
        if (this.#i[b + 2] === h1 && this.#i[b + 3] === h2) {
          found = s;
          break;
        }
        if (idle < 0 && now - this.#f[s * this.#stride] > IDLE_MS) idle = s;
      }
      if (found < 0 && idle >= 0) found = this.#claim(idle, h1, h2, now);
    } finally {
      release(this.#i, 0);
    }
    if (found >= 0) {
      if (this.#slots.size > 100_000) this.#slots.clear();
      this.#slots.set(key, found);
    }
    return found;
  }

  /** Give a slot to a key, its samples emptied (under the table lock). */
  #claim(s: number, h1: number, h2: number, now: number): number {
    const b = I_HEADER + s * I_SLOT;
    acquire(this.#i, b);
    this.#i[b + 1] = 1;
    this.#i[b + 2] = h1;
    this.#i[b + 3] = h2;
    const f = s * this.#stride;
    this.#f.fill(0, f, f + this.#stride);
    this.#f[f] = now;
    release(this.#i, b);
    return s;
  }

  /** `SampledRate.record` then `measure` on a slot's samples (under its lock). */
  #update(f: number, value: number, now: number): Measured {
    const a = this.#f;
    const n = this.#samples;
    const starts = f + F_FIXED;
    const values = starts + n;
    a[f] = now;
    let current = a[f + 1];
    let used = a[f + 2];
    if (used === 0) {
      a[starts] = now;
      a[values] = 0;
      current = 0;
      used = 1;
    } else if (now - a[starts + current] >= this.#windowMs) {
      current = (current + 1) % n;
      if (current >= used) used++;
      a[starts + current] = now;
      a[values + current] = 0;
    }
    a[f + 1] = current;
    a[f + 2] = used;
    a[values + current] += value;
    // measure: purge expired samples, then the sum over Rate.windowSize
    const expire = n * this.#windowMs;
    let oldest = now;
    let total = 0;
    for (let i = 0; i < used; i++) {
      if (now - a[starts + i] >= expire) {
        a[starts + i] = now;
        a[values + i] = 0;
      }
      if (a[starts + i] < oldest) oldest = a[starts + i];
      total += a[values + i];
    }
    let elapsed = now - oldest;
    const full = Math.floor(elapsed / this.#windowMs);
    if (full < n - 1) elapsed += (n - 1 - full) * this.#windowMs;
    const windowMs = Math.max(elapsed, 1);
    return { rate: total / (windowMs / 1000), windowMs };
  }
}

/** Take a spin lock (held for a few additions; never across an await). */
function acquire(i: Int32Array, at: number): void {
  while (Atomics.compareExchange(i, at, 0, 1) !== 0) {
    // another thread holds it for a few instructions
  }
}

function release(i: Int32Array, at: number): void {
  Atomics.store(i, at, 0);
}
