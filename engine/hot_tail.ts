/**
 * The hot tail of an active segment: the last few MiB of appended batches kept in memory so that
 * consumers reading near the log end never touch the file ("mmap-style" buffer).
 *
 * @module
 */

/**
 * Whole batches at the end of the active segment, held in a ring buffer of `capacity` bytes
 * (allocated as it fills, then reused: appends do not allocate). Batches overwritten by newer
 * ones are forgotten; a span larger than the capacity empties the tail.
 *
 * @example
 * ```ts
 * import { HotTail } from "./hot_tail.ts";
 *
 * const tail = new HotTail(1024, 0);
 * tail.append(new Uint8Array(100), [0], [100], [5], [9]);
 * console.assert(tail.find(7) === 0 && tail.find(10) === -1);
 * ```
 */
export class HotTail {
  #cap: number;
  #ring: Uint8Array = new Uint8Array(0);
  #end: number;
  #pos: number[] = [];
  #size: number[] = [];
  #base: number[] = [];
  #last: number[] = [];
  #head = 0;

  /**
   * @param capacity Bytes to keep.
   * @param start Segment position where the tail begins (the current segment size).
   */
  constructor(capacity: number, start: number) {
    this.#cap = Math.max(0, capacity);
    this.#end = start;
  }

  /** Segment position of the first byte held. */
  get start(): number {
    return this.#head < this.#pos.length ? this.#pos[this.#head] : this.#end;
  }

  /** Segment position just after the last byte held. */
  get end(): number {
    return this.#end;
  }

  /** Number of batches held. */
  get count(): number {
    return this.#pos.length - this.#head;
  }

  /** Base offset of the first batch held (`Infinity` when empty). */
  get firstOffset(): number {
    return this.count > 0 ? this.#base[this.#head] : Infinity;
  }

  #write(pos: number, bytes: Uint8Array): void {
    const len = this.#ring.length;
    const at = pos % len;
    const first = Math.min(bytes.length, len - at);
    this.#ring.set(bytes.subarray(0, first), at);
    if (first < bytes.length) this.#ring.set(bytes.subarray(first), 0);
  }

  /**
   * Records bytes just appended at segment position {@linkcode HotTail.end} (copied).
   *
   * @param bytes The bytes written (whole batches).
   * @param positions Segment position of each batch in `bytes`.
   * @param sizes Size of each batch.
   * @param bases Base offset of each batch.
   * @param lasts Last offset of each batch.
   */
  append(
    bytes: Uint8Array,
    positions: ArrayLike<number>,
    sizes: ArrayLike<number>,
    bases: ArrayLike<number>,
    lasts: ArrayLike<number>,
  ): void {
    const start = this.#end;
    const newEnd = start + bytes.length;
    if (bytes.length > this.#cap) {
      this.#end = newEnd;
      this.#pos = [];
      this.#size = [];
      this.#base = [];
      this.#last = [];
      this.#head = 0;
      return;
    }
    // forget batches the new bytes will overwrite
    const keepFrom = newEnd - this.#cap;
    while (this.#head < this.#pos.length && this.#pos[this.#head] < keepFrom) this.#head++;
    const held = start - this.start;
    if (held + bytes.length > this.#ring.length) {
      // grow (only while filling up to the capacity), from 4 KiB: a partition that got one small
      // batch holds 4 KiB, not 64 (10,000 such partitions held 640 MiB of tails)
      const size = Math.min(this.#cap, Math.max(this.#ring.length * 2, held + bytes.length, 4096));
      const old = new Uint8Array(held);
      if (held > 0) this.#copy(this.start, old);
      this.#ring = new Uint8Array(size);
      if (held > 0) this.#write(this.start, old);
    }
    this.#write(start, bytes);
    this.#end = newEnd;
    for (let i = 0; i < positions.length; i++) {
      this.#pos.push(positions[i]);
      this.#size.push(sizes[i]);
      this.#base.push(bases[i]);
      this.#last.push(lasts[i]);
    }
    if (this.#head > 1024 && this.#head * 2 > this.#pos.length) {
      this.#pos = this.#pos.slice(this.#head);
      this.#size = this.#size.slice(this.#head);
      this.#base = this.#base.slice(this.#head);
      this.#last = this.#last.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Copies segment bytes [from, from + dest.length) into dest. */
  #copy(from: number, dest: Uint8Array): void {
    const len = this.#ring.length;
    const at = from % len;
    const first = Math.min(dest.length, len - at);
    dest.set(this.#ring.subarray(at, at + first), 0);
    if (first < dest.length) dest.set(this.#ring.subarray(0, dest.length - first), first);
  }

  /**
   * Index (for {@linkcode HotTail.batchAt}) of the batch containing `offset` or the first batch
   * after it, -1 if none is held. Only meaningful when `offset >= firstOffset`.
   *
   * @param offset Target offset.
   * @returns Batch index or -1.
   */
  find(offset: number): number {
    let lo = this.#head;
    let hi = this.#pos.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#last[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.#pos.length ? lo - this.#head : -1;
  }

  /**
   * The batch at index `i` (0 = oldest held).
   *
   * @param i Batch index.
   * @returns Its segment position, size, base and last offsets.
   */
  batchAt(i: number): { position: number; size: number; baseOffset: number; lastOffset: number } {
    const j = i + this.#head;
    return {
      position: this.#pos[j],
      size: this.#size[j],
      baseOffset: this.#base[j],
      lastOffset: this.#last[j],
    };
  }

  /**
   * Copies the bytes from batch `i` on into `dest`, as many as fit (the caller trims to whole
   * batches).
   *
   * @param i First batch index.
   * @param dest Destination.
   * @returns Bytes copied.
   */
  copyInto(i: number, dest: Uint8Array): number {
    const first = this.#pos[i + this.#head];
    const n = Math.min(dest.length, this.#end - first);
    this.#copy(first, dest.subarray(0, n));
    return n;
  }

  /**
   * Copies whole batches from index `i`: at most `maxBytes` (but at least one batch), stopping
   * before the first batch whose base offset is ≥ `limitOffset`.
   *
   * @param i First batch index.
   * @param maxBytes Byte budget.
   * @param limitOffset Exclusive offset bound.
   * @param allocate Where the copy goes: a buffer of exactly the size asked for (default a new
   * one).
   * @returns A copy of the bytes (possibly empty).
   */
  copyFrom(
    i: number,
    maxBytes: number,
    limitOffset: number,
    allocate?: (size: number) => Uint8Array,
  ): Uint8Array {
    let j = i + this.#head;
    const first = this.#pos[j];
    let end = first;
    for (; j < this.#pos.length; j++) {
      if (this.#base[j] >= limitOffset) break;
      const next = this.#pos[j] + this.#size[j];
      if (end > first && next - first > maxBytes) break;
      end = next;
    }
    const out = allocate?.(end - first) ?? new Uint8Array(end - first);
    this.#copy(first, out);
    return out;
  }
}
