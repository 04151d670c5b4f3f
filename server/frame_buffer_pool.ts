// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Buffers for large request frames that are lent to one frame at a time and taken back once its
 * request has been handled (issue #17): a producer sending 1 MB requests gets the same buffers
 * over and over instead of a fresh one per request. A fresh buffer costs far more than the bytes
 * it receives - zeroing, page faults on first touch, garbage collection of the old one; appending
 * 300 MB through the engine from fresh 1 MB copies spent ~1.5 ms per MB on the copies alone
 * against ~0.15 ms per MB for a copy into warm memory (same process).
 *
 * Only frames whose handler keeps no view of them past its answer may come back (the
 * connection lends buffers to Produce frames only: their batches are written to the segment file
 * before the handler answers). A view that must outlive the request is declared with
 * {@linkcode FrameBufferPool.retain}: the hot tail keeps a Produce batch that fills most of its
 * frame that way instead of copying it, and the buffer comes back to the pool only once the tail
 * has dropped the batch and the connection has given the frame back. A buffer is lent as a view of exactly
 * the frame's size over a larger capacity (sizes rounded up to a power of two), so frames of
 * slightly different sizes share buffers. Idle buffers are bounded in bytes; what does not fit
 * is left to the garbage collector.
 *
 * @module
 */

/** Smallest capacity of a pooled buffer (frames up to 64 KiB never use the pool). */
export const MIN_POOLED_BUFFER = 128 * 1024;

/** Idle bytes a {@linkcode FrameBufferPool} keeps by default. */
export const DEFAULT_POOL_IDLE_BYTES = 16 * 1024 * 1024;

/** Largest buffer a {@linkcode FrameBufferPool} keeps by default. */
export const DEFAULT_POOL_MAX_BUFFER = 4 * 1024 * 1024;

/** Counters of a {@linkcode FrameBufferPool}, for tests and benchmarks. */
export interface FrameBufferPoolStats {
  /** Buffers allocated by {@linkcode FrameBufferPool.allocate}. */
  allocated: number;
  /** Frames served from an idle buffer by {@linkcode FrameBufferPool.take}. */
  reused: number;
  /** Buffers given back and kept idle. */
  returned: number;
  /** Buffers given back but dropped (too large, or the idle bound was reached). */
  dropped: number;
}

/** One buffer out of the pool: the view lent, whether it was given back, holds on it. */
interface Loan {
  view: Uint8Array;
  given: boolean;
  holds: number;
}

/**
 * A bounded free list of frame buffers.
 *
 * @example
 * ```ts
 * import { FrameBufferPool } from "./frame_buffer_pool.ts";
 *
 * const pool = new FrameBufferPool();
 * const a = pool.allocate(300_000); // a view of 300,000 bytes over 512 KiB
 * pool.give(a);
 * const b = pool.take(400_000)!; // the same memory, now 400,000 bytes long
 * console.assert(b.buffer === a.buffer && b.length === 400_000);
 * ```
 */
export class FrameBufferPool {
  readonly #maxIdleBytes: number;
  readonly #maxBuffer: number;
  /** Idle buffers, smallest first. */
  #idle: ArrayBuffer[] = [];
  #idleBytes = 0;
  /** Buffers lent and not back in the pool yet (weak: one never given back is only collected). */
  readonly #loans = new WeakMap<ArrayBufferLike, Loan>();
  readonly #stats: FrameBufferPoolStats = { allocated: 0, reused: 0, returned: 0, dropped: 0 };

  /**
   * Create an empty pool.
   *
   * @param maxIdleBytes Most bytes kept in idle buffers.
   * @param maxBuffer Largest buffer kept (larger frames get a buffer of their own, not pooled).
   */
  constructor(maxIdleBytes = DEFAULT_POOL_IDLE_BYTES, maxBuffer = DEFAULT_POOL_MAX_BUFFER) {
    this.#maxIdleBytes = Math.max(0, maxIdleBytes);
    this.#maxBuffer = Math.max(0, maxBuffer);
  }

  /** Bytes held in idle buffers. */
  get idleBytes(): number {
    return this.#idleBytes;
  }

  /** A copy of the counters. */
  get stats(): FrameBufferPoolStats {
    return { ...this.#stats };
  }

  /**
   * The capacity a buffer for `size` bytes gets: the next power of two from
   * {@linkcode MIN_POOLED_BUFFER}, or `size` itself beyond the largest pooled buffer.
   *
   * @param size Frame size.
   * @returns Buffer capacity.
   */
  capacityFor(size: number): number {
    let cap = MIN_POOLED_BUFFER;
    while (cap < size) cap *= 2;
    return cap > this.#maxBuffer ? size : cap;
  }

  /**
   * Lend an idle buffer (the smallest that holds `size` bytes) as a view of `size` bytes; it
   * holds the bytes of the frame it was last lent to.
   *
   * @param size Frame size.
   * @returns The view, or undefined if no idle buffer is large enough.
   */
  take(size: number): Uint8Array<ArrayBuffer> | undefined {
    const i = this.#idle.findIndex((b) => b.byteLength >= size);
    if (i < 0) return undefined;
    const [buf] = this.#idle.splice(i, 1);
    this.#idleBytes -= buf.byteLength;
    this.#stats.reused++;
    return this.#lend(new Uint8Array(buf, 0, size));
  }

  /**
   * A new zeroed buffer of {@linkcode FrameBufferPool.capacityFor} `size` bytes, lent as a view
   * of `size` bytes (give it back with {@linkcode FrameBufferPool.give}).
   *
   * @param size Frame size.
   * @returns The view.
   */
  allocate(size: number): Uint8Array<ArrayBuffer> {
    this.#stats.allocated++;
    return this.#lend(new Uint8Array(new ArrayBuffer(this.capacityFor(size)), 0, size));
  }

  /**
   * An idle buffer ({@linkcode FrameBufferPool.take}) or else a new one
   * ({@linkcode FrameBufferPool.allocate}), as a view of `size` bytes.
   *
   * @param size Bytes wanted.
   * @returns The view; give it back with {@linkcode FrameBufferPool.give}.
   */
  borrow(size: number): Uint8Array<ArrayBuffer> {
    return this.take(size) ?? this.allocate(size);
  }

  #lend(view: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
    this.#loans.set(view.buffer, { view, given: false, holds: 0 });
    return view;
  }

  /**
   * Whether `frame` is a view lent by this pool and not given back yet.
   *
   * @param frame A frame.
   * @returns True if it was lent here.
   */
  lent(frame: Uint8Array): boolean {
    const loan = this.#loans.get(frame.buffer);
    return loan !== undefined && loan.view === frame && !loan.given;
  }

  /**
   * Keep the buffer under `bytes` out of the pool past its frame's request: it is lent again
   * only once its frame has been given back ({@linkcode FrameBufferPool.give}) and every
   * function returned here has been called. For a view that outlives the request (the hot tail
   * keeping a Produce batch instead of a copy).
   *
   * @example
   * ```ts
   * import { FrameBufferPool } from "./frame_buffer_pool.ts";
   *
   * const pool = new FrameBufferPool();
   * const frame = pool.allocate(300_000);
   * const release = pool.retain(frame.subarray(100))!;
   * pool.give(frame); // the request is done, but the batch is still held
   * console.assert(pool.take(300_000) === undefined);
   * release();
   * console.assert(pool.take(300_000)?.buffer === frame.buffer);
   * ```
   *
   * @param bytes A view of a frame lent by this pool and not given back yet.
   * @returns The function that ends the hold (idempotent), or undefined if `bytes` is not such a
   * view (a frame of its own, a copy, or a frame given back already).
   */
  retain(bytes: Uint8Array): (() => void) | undefined {
    const loan = this.#loans.get(bytes.buffer);
    if (loan === undefined || loan.given) return undefined;
    loan.holds++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (--loan.holds === 0 && loan.given) this.#recycle(loan.view);
    };
  }

  /**
   * Take back a lent view: its buffer may be lent again at once (unless
   * {@linkcode FrameBufferPool.retain} holds it), so nothing may use `frame` (or any view of its
   * buffer) afterwards but the holders. Views not lent by this pool are ignored.
   *
   * @param frame A view from {@linkcode FrameBufferPool.take} or
   * {@linkcode FrameBufferPool.allocate}.
   */
  give(frame: Uint8Array): void {
    const loan = this.#loans.get(frame.buffer);
    if (loan === undefined || loan.view !== frame || loan.given) return;
    loan.given = true;
    if (loan.holds === 0) this.#recycle(frame);
  }

  #recycle(frame: Uint8Array): void {
    this.#loans.delete(frame.buffer);
    const buf = frame.buffer as ArrayBuffer;
    if (
      buf.byteLength > this.#maxBuffer || this.#idleBytes + buf.byteLength > this.#maxIdleBytes
    ) {
      this.#stats.dropped++;
      return;
    }
    let i = 0;
    while (i < this.#idle.length && this.#idle[i].byteLength < buf.byteLength) i++;
    this.#idle.splice(i, 0, buf);
    this.#idleBytes += buf.byteLength;
    this.#stats.returned++;
  }
}
