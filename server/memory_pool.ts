// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The broker-wide request memory pool (`queued.max.request.bytes`), Kafka's `MemoryPool`, with
 * two kinds of reservation (issue #11):
 *
 * - **Whole requests** ({@linkcode MemoryPool.reserve}): a request whose bytes have all arrived
 *   (small frames are buffered by their connection until complete). Released when the request
 *   has been handled and its response written.
 * - **Frames still arriving** ({@linkcode MemoryPool.openFrame}): a large frame reserves memory
 *   as its bytes arrive ({@linkcode FrameReservation.grow}), never on the size prefix alone, and
 *   turns into a whole request when complete ({@linkcode FrameReservation.complete}).
 *
 * When the pool cannot grant a reservation the connection waits (it stops reading:
 * back-pressure) instead of allocating. Released memory goes to the waiters in arrival order,
 * each one that fits, so a small request is not held up by a large one that does not fit yet.
 *
 * Incomplete frames together hold at most {@linkcode MemoryPool.partialCapacity} (half the pool):
 * clients that send part of a frame and stall can never take the memory whole requests need, so
 * the broker keeps serving other clients while they hold it (until
 * `sluice.request.read.timeout.ms` closes them). Within that share, a frame may grow only if
 * every incomplete frame can still be completed in some order with the memory left (the
 * banker's algorithm for one resource): frames that all hold part of what they need can never
 * wait on each other forever. The frame with the least left to receive can always grow, and a
 * frame that holds nothing yet waits behind frames already waiting, so one that waits is not
 * overtaken forever by new ones.
 *
 * A request larger than the whole pool (or an incomplete frame larger than the share) is granted
 * when it is alone (Kafka's pool also lets one request overshoot); while it waits, no new
 * request or frame is admitted, so the pool drains and it cannot be starved. Any frame up to
 * `socket.request.max.bytes` is therefore eventually served.
 *
 * @module
 */

/** The state of one frame opened with {@linkcode MemoryPool.openFrame}. */
interface Frame {
  readonly size: number;
  held: number;
  open: boolean;
}

interface Waiter {
  size: number;
  /** Set for a frame's growth; unset for a whole request. */
  frame?: Frame;
  /** Whether this request may be granted past the pool's capacity once it is alone. */
  oversized: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * Memory held by one request frame while its bytes arrive; see {@linkcode MemoryPool.openFrame}.
 */
export interface FrameReservation {
  /** The frame's full size, from its size prefix. */
  readonly size: number;
  /** Bytes this frame holds now. */
  readonly held: number;
  /**
   * Hold `bytes` more now if the pool allows it, without waiting.
   *
   * @param bytes Bytes wanted (> 0); `held + bytes` must not exceed `size`.
   * @returns Whether they were reserved.
   * @throws {RangeError} If the frame would hold more than its size, or is no longer open.
   */
  tryGrow(bytes: number): boolean;
  /**
   * Hold `bytes` more, waiting until the pool allows it.
   *
   * @param bytes Bytes wanted (> 0); `held + bytes` must not exceed `size`.
   * @param signal Abandons the wait when aborted (the frame keeps what it held).
   * @returns Resolves once reserved.
   * @throws {RangeError} If the frame would hold more than its size, or is no longer open.
   * @throws {Error} The signal's reason if it aborts before the bytes are granted.
   */
  grow(bytes: number, signal?: AbortSignal): Promise<void>;
  /**
   * The frame has arrived whole (`held === size`): from now on its bytes count as a whole
   * request, given back with {@linkcode MemoryPool.release} once it has been handled.
   *
   * @throws {RangeError} If the frame does not hold its whole size, or is no longer open.
   */
  complete(): void;
  /** Give back everything the frame holds (the connection closed mid-frame). Idempotent. */
  abandon(): void;
}

/** Options for {@linkcode MemoryPool}. */
export interface MemoryPoolOptions {
  /**
   * Most bytes incomplete frames may hold together ({@linkcode MemoryPool.partialCapacity});
   * default half the capacity.
   */
  partialCapacity?: number;
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
 *
 * @example A frame reserves memory as its bytes arrive
 * ```ts
 * import { MemoryPool } from "./memory_pool.ts";
 * import { strictEqual as assertEquals } from "node:assert/strict";
 *
 * const pool = new MemoryPool(1000);
 * const frame = pool.openFrame(400); // a size prefix announcing 400 bytes costs nothing
 * assertEquals(pool.reserved, 0);
 * await frame.grow(100); // the first 100 bytes arrived
 * await frame.grow(300);
 * frame.complete(); // now a whole request: handle it, then release it
 * assertEquals(pool.partial, 0);
 * pool.release(400);
 * assertEquals(pool.reserved, 0);
 * ```
 */
export class MemoryPool {
  /** Bytes the pool grants in total; `Infinity` for unbounded (`queued.max.request.bytes=-1`). */
  readonly capacity: number;
  /** Most bytes incomplete frames hold together (except one frame alone); half the capacity. */
  readonly partialCapacity: number;
  #reserved = 0;
  #partial = 0;
  #peak = 0;
  readonly #waiters: Waiter[] = [];
  /** Open frames holding memory (the ones the safety check considers). */
  readonly #holding = new Set<Frame>();
  #openFrames = 0;
  #oversizedWaiting = 0;
  #growthWaiting = 0;

  /**
   * Create a pool.
   *
   * @param capacity Bytes available; `-1` or `Infinity` means unbounded.
   * @param options The share incomplete frames may hold.
   * @throws {RangeError} If `capacity` is not a positive integer, `-1` or `Infinity`, or the
   * share is not an integer between 0 and the capacity.
   */
  constructor(capacity: number, options: MemoryPoolOptions = {}) {
    if (capacity === -1 || capacity === Infinity) this.capacity = Infinity;
    else if (Number.isSafeInteger(capacity) && capacity > 0) this.capacity = capacity;
    else {
      throw new RangeError(
        `Invalid memory pool capacity ${capacity}: must be a positive integer or -1`,
      );
    }
    const share = options.partialCapacity ?? Math.floor(this.capacity / 2);
    if (
      !(share === Infinity || (Number.isSafeInteger(share) && share >= 0)) ||
      share > this.capacity
    ) {
      throw new RangeError(
        `Invalid memory pool partial capacity ${share}: ` +
          `must be an integer from 0 to ${this.capacity}`,
      );
    }
    this.partialCapacity = share;
  }

  /** Bytes currently reserved (whole requests and incomplete frames). */
  get reserved(): number {
    return this.#reserved;
  }

  /** Bytes currently held by incomplete frames (part of {@linkcode MemoryPool.reserved}). */
  get partial(): number {
    return this.#partial;
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

  /** Frames opened and not yet completed or abandoned. */
  get openFrames(): number {
    return this.#openFrames;
  }

  /**
   * Reserve `size` bytes now if possible, without waiting (never while a request larger than
   * the pool waits for it to drain).
   *
   * @param size Bytes wanted (>= 0).
   * @returns Whether the bytes were reserved.
   */
  tryReserve(size: number): boolean {
    if (this.#oversizedWaiting > 0 || !this.#fitsWhole(size)) return false;
    this.#grant(size);
    return true;
  }

  /**
   * Reserve `size` bytes for a whole request, waiting (first come, first served) until they
   * are available.
   *
   * @param size Bytes wanted (>= 0).
   * @param signal Abandons the wait when aborted.
   * @returns Resolves once reserved.
   * @throws {Error} The signal's reason if it aborts before the bytes are granted.
   */
  reserve(size: number, signal?: AbortSignal): Promise<void> {
    if (this.tryReserve(size)) return Promise.resolve();
    return this.#wait({ size, oversized: size > this.capacity }, signal);
  }

  /**
   * Give back bytes reserved earlier (a whole request, or a completed frame), waking waiters
   * that now fit.
   *
   * @param size Bytes to release.
   * @throws {RangeError} If more is released than whole requests hold (a bookkeeping bug).
   */
  release(size: number): void {
    if (size > this.#reserved - this.#partial) {
      throw new RangeError(
        `Cannot release ${size} bytes from the memory pool: only ${
          this.#reserved - this.#partial
        } are reserved`,
      );
    }
    this.#reserved -= size;
    this.#wakeWaiters();
  }

  /**
   * Start receiving a frame of `size` bytes: it holds nothing until it grows.
   *
   * @param size The frame's size from its prefix (>= 0).
   * @returns The frame's reservation.
   */
  openFrame(size: number): FrameReservation {
    const f: Frame = { size, held: 0, open: true };
    this.#openFrames++;
    const check = (bytes: number, what: string) => {
      if (!f.open) throw new RangeError(`Cannot ${what} a frame: it is no longer open`);
      if (!(bytes > 0) || f.held + bytes > f.size) {
        throw new RangeError(
          `Cannot ${what} a frame by ${bytes} bytes: it holds ${f.held} of ${f.size}`,
        );
      }
    };
    return {
      size,
      get held() {
        return f.held;
      },
      tryGrow: (bytes) => {
        check(bytes, "grow");
        if (!this.#mayGrowNow(f, bytes)) return false;
        this.#grantGrowth(f, bytes);
        return true;
      },
      grow: (bytes, signal) => {
        check(bytes, "grow");
        if (this.#mayGrowNow(f, bytes)) {
          this.#grantGrowth(f, bytes);
          return Promise.resolve();
        }
        const oversized = f.held + bytes > this.capacity;
        return this.#wait({ size: bytes, frame: f, oversized }, signal);
      },
      complete: () => {
        if (!f.open || f.held !== f.size) {
          throw new RangeError(
            `Cannot complete a frame holding ${f.held} of ${f.size} bytes` +
              (f.open ? "" : ": it is no longer open"),
          );
        }
        f.open = false;
        this.#openFrames--;
        this.#holding.delete(f);
        this.#partial -= f.held;
        this.#wakeWaiters();
      },
      abandon: () => {
        if (!f.open) return;
        f.open = false;
        this.#openFrames--;
        this.#holding.delete(f);
        this.#partial -= f.held;
        this.#reserved -= f.held;
        f.held = 0;
        for (const w of this.#waiters.filter((w) => w.frame === f)) {
          this.#remove(w);
          if (w.onAbort !== undefined) w.signal!.removeEventListener("abort", w.onAbort);
          w.reject(new Error("Cannot grow a frame: it was abandoned"));
        }
        this.#wakeWaiters();
      },
    };
  }

  /**
   * Whether `f` may grow now, outside the waiters' turn: a frame holding nothing yet waits
   * behind every frame already waiting and behind an oversized request.
   */
  #mayGrowNow(f: Frame, bytes: number): boolean {
    if (f.held === 0 && (this.#growthWaiting > 0 || this.#oversizedWaiting > 0)) return false;
    return this.#canGrow(f, bytes);
  }

  /** Whether a whole request of `size` could be granted: it fits, or the pool is empty. */
  #fitsWhole(size: number): boolean {
    return this.#reserved + size <= this.capacity || this.#reserved === 0;
  }

  /**
   * Whether `f` may hold `bytes` more now: within the pool (or alone in it), within the share
   * of incomplete frames (or the only frame holding any), and leaving every frame completable.
   */
  #canGrow(f: Frame, bytes: number): boolean {
    if (this.#reserved + bytes > this.capacity && this.#reserved !== f.held) return false;
    if (this.#partial + bytes > this.partialCapacity && this.#partial !== f.held) return false;
    return this.#safeAfter(f, bytes);
  }

  /**
   * The banker's safety check for one resource: after `f` grows by `bytes`, is there an order
   * in which every frame holding memory receives the rest of its bytes and completes (leaving
   * the share)? Taking frames by least need first finds one if any exists. The last frame is
   * then alone and may overshoot the share, as a frame larger than the share must.
   */
  #safeAfter(f: Frame, bytes: number): boolean {
    if (this.partialCapacity === Infinity) return true;
    const frames: { need: number; held: number }[] = [];
    for (const g of this.#holding) {
      if (g !== f) frames.push({ need: g.size - g.held, held: g.held });
    }
    frames.push({ need: f.size - f.held - bytes, held: f.held + bytes });
    if (frames.length <= 1) return true;
    frames.sort((a, b) => a.need - b.need);
    let free = this.partialCapacity - (this.#partial + bytes);
    for (let i = 0; i < frames.length - 1; i++) {
      if (frames[i].need > 0 && frames[i].need > free) return false;
      free += frames[i].held;
    }
    return true;
  }

  #grant(size: number): void {
    this.#reserved += size;
    if (this.#reserved > this.#peak) this.#peak = this.#reserved;
  }

  #grantGrowth(f: Frame, bytes: number): void {
    if (f.held === 0) this.#holding.add(f);
    f.held += bytes;
    this.#partial += bytes;
    this.#grant(bytes);
  }

  #wait(init: Omit<Waiter, "resolve" | "reject">, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { ...init, resolve, reject, signal };
      if (signal !== undefined) {
        w.onAbort = () => {
          this.#remove(w);
          reject(signal.reason);
          // It may have been what blocked the others.
          this.#wakeWaiters();
        };
        signal.addEventListener("abort", w.onAbort, { once: true });
      }
      this.#waiters.push(w);
      if (w.oversized) this.#oversizedWaiting++;
      if (w.frame !== undefined) this.#growthWaiting++;
    });
  }

  #remove(w: Waiter): void {
    const i = this.#waiters.indexOf(w);
    if (i === -1) return;
    this.#waiters.splice(i, 1);
    if (w.oversized) this.#oversizedWaiting--;
    if (w.frame !== undefined) this.#growthWaiting--;
  }

  /**
   * Grant, in arrival order, every waiter that may proceed. While an oversized request waits,
   * only frames already holding memory may grow (so they can finish and the pool drains); a
   * frame holding nothing yet does not pass a frame that waits before it.
   */
  #wakeWaiters(): void {
    let oversizedAhead = false;
    let growthAhead = false;
    for (let i = 0; i < this.#waiters.length;) {
      const w = this.#waiters[i];
      const f = w.frame;
      let ok: boolean;
      if (f === undefined) ok = !oversizedAhead && this.#fitsWhole(w.size);
      else if (!f.open) ok = false;
      else if (f.held === 0 && (oversizedAhead || growthAhead)) ok = false;
      else ok = this.#canGrow(f, w.size);
      if (!ok) {
        if (w.oversized) oversizedAhead = true;
        if (f !== undefined) growthAhead = true;
        i++;
        continue;
      }
      this.#remove(w);
      if (w.onAbort !== undefined) w.signal!.removeEventListener("abort", w.onAbort);
      if (f === undefined) this.#grant(w.size);
      else this.#grantGrowth(f, w.size);
      w.resolve();
      // A grant frees nothing, so the waiters skipped before this one still cannot proceed.
    }
  }
}
