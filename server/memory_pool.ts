// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The broker-wide request memory pool (`queued.max.request.bytes`), Kafka's `MemoryPool`: a
 * connection reserves a request frame's size here before it reads the frame's body, and releases
 * it when the request has been handled and its response written. When the pool cannot grant a
 * reservation the connection waits (it stops reading: back-pressure) instead of allocating.
 *
 * Released memory goes to the waiters in arrival order, each one that fits (so a small request
 * is not held up by a large one that does not fit yet: the broker keeps serving small requests
 * while the pool is nearly full). A request larger than the whole pool is granted when nothing
 * else is reserved (Kafka's pool also lets one request overshoot); while it waits, nothing after
 * it is granted, so the pool drains and it cannot be starved. Any frame up to
 * `socket.request.max.bytes` is therefore eventually served.
 *
 * @module
 */

interface Waiter {
  size: number;
  resolve: () => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * A counting pool of bytes with first-come-first-served waiting.
 *
 * @example Reserve, wait, release
 * ```ts
 * import { MemoryPool } from "./memory_pool.ts";
 * import { strictEqual as assertEquals } from "node:assert/strict";
 *
 * const pool = new MemoryPool(100);
 * await pool.reserve(80);
 * const second = pool.reserve(50); // waits: 80 + 50 > 100
 * assertEquals(pool.reserved, 80);
 * pool.release(80);
 * await second;
 * assertEquals(pool.reserved, 50);
 * pool.release(50);
 * ```
 */
export class MemoryPool {
  /** Bytes the pool grants in total; `Infinity` for unbounded (`queued.max.request.bytes=-1`). */
  readonly capacity: number;
  #reserved = 0;
  #peak = 0;
  readonly #waiters: Waiter[] = [];
  #oversizedWaiting = 0;

  /**
   * Create a pool.
   *
   * @param capacity Bytes available; `-1` or `Infinity` means unbounded.
   * @throws {RangeError} If `capacity` is not a positive integer, `-1` or `Infinity`.
   */
  constructor(capacity: number) {
    if (capacity === -1 || capacity === Infinity) this.capacity = Infinity;
    else if (Number.isSafeInteger(capacity) && capacity > 0) this.capacity = capacity;
    else {
      throw new RangeError(
        `Invalid memory pool capacity ${capacity}: must be a positive integer or -1`,
      );
    }
  }

  /** Bytes currently reserved. */
  get reserved(): number {
    return this.#reserved;
  }

  /** The most bytes ever reserved at once (for tests and metrics). */
  get peak(): number {
    return this.#peak;
  }

  /** Start {@linkcode MemoryPool.peak} over from what is reserved now. */
  resetPeak(): void {
    this.#peak = this.#reserved;
  }

  /** Reservations waiting for memory. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** Whether `size` could be granted now: it fits, or nothing is reserved (oversized request). */
  #fits(size: number): boolean {
    return this.#reserved + size <= this.capacity || this.#reserved === 0;
  }

  #remove(w: Waiter): void {
    const i = this.#waiters.indexOf(w);
    if (i === -1) return;
    this.#waiters.splice(i, 1);
    if (w.size > this.capacity) this.#oversizedWaiting--;
  }

  #grant(size: number): void {
    this.#reserved += size;
    if (this.#reserved > this.#peak) this.#peak = this.#reserved;
  }

  /**
   * Reserve `size` bytes now if possible, without waiting (never while a request larger than
   * the pool waits for it to drain).
   *
   * @param size Bytes wanted (≥ 0).
   * @returns Whether the bytes were reserved.
   */
  tryReserve(size: number): boolean {
    if (this.#oversizedWaiting > 0 || !this.#fits(size)) return false;
    this.#grant(size);
    return true;
  }

  /**
   * Reserve `size` bytes, waiting (first come, first served) until they are available.
   *
   * @param size Bytes wanted (≥ 0).
   * @param signal Abandons the wait when aborted.
   * @returns Resolves once reserved.
   * @throws {Error} The signal's reason if it aborts before the bytes are granted.
   */
  reserve(size: number, signal?: AbortSignal): Promise<void> {
    if (this.tryReserve(size)) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { size, resolve, reject, signal };
      if (signal !== undefined) {
        w.onAbort = () => {
          this.#remove(w);
          reject(signal.reason);
          // The head may have been what blocked the others.
          this.#wakeWaiters();
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      this.#waiters.push(w);
      if (size > this.capacity) this.#oversizedWaiting++;
    });
  }

  /**
   * Give back bytes reserved earlier, waking waiters that now fit.
   *
   * @param size Bytes to release.
   * @throws {RangeError} If more is released than is reserved (a bookkeeping bug).
   */
  release(size: number): void {
    if (size > this.#reserved) {
      throw new RangeError(
        `Cannot release ${size} bytes from the memory pool: only ${this.#reserved} are reserved`,
      );
    }
    this.#reserved -= size;
    this.#wakeWaiters();
  }

  #wakeWaiters(): void {
    for (let i = 0; i < this.#waiters.length;) {
      const w = this.#waiters[i];
      if (!this.#fits(w.size)) {
        // An oversized request waits for an empty pool: grant nothing after it meanwhile.
        if (w.size > this.capacity) return;
        i++;
        continue;
      }
      this.#remove(w);
      if (w.onAbort !== undefined) w.signal!.removeEventListener("abort", w.onAbort);
      this.#grant(w.size);
      w.resolve();
    }
  }
}
