/**
 * The hot tail of an active segment: the last few MiB of appended batches kept in memory so that
 * consumers reading near the log end never touch the file ("mmap-style" buffer).
 *
 * @module
 */

/**
 * Whole batches at the end of the active segment, held in one buffer of twice the capacity so
 * that trimming from the front is amortised (each byte is moved at most once).
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
  #buf: Uint8Array;
  #start: number;
  #len = 0;
  #pos: number[] = [];
  #size: number[] = [];
  #base: number[] = [];
  #last: number[] = [];
  #head = 0;

  /**
   * @param capacity Bytes to keep (the buffer is twice this size).
   * @param start Segment position where the tail begins (the current segment size).
   */
  constructor(capacity: number, start: number) {
    this.#cap = Math.max(0, capacity);
    this.#buf = new Uint8Array(Math.min(this.#cap * 2, 64 * 1024));
    this.#start = start;
  }

  /** Segment position of the first byte held. */
  get start(): number {
    return this.#start;
  }

  /** Segment position just after the last byte held. */
  get end(): number {
    return this.#start + this.#len;
  }

  /** Number of batches held. */
  get count(): number {
    return this.#pos.length - this.#head;
  }

  /** Base offset of the first batch held (`Infinity` when empty). */
  get firstOffset(): number {
    return this.count > 0 ? this.#base[this.#head] : Infinity;
  }

  /**
   * Records bytes just appended at segment position {@linkcode HotTail.end}.
   *
   * @param bytes The bytes written.
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
    const oldEnd = this.end;
    const newEnd = oldEnd + bytes.length;
    if (this.#len + bytes.length > this.#buf.length && this.#buf.length < this.#cap * 2) {
      const grown = new Uint8Array(
        Math.min(this.#cap * 2, Math.max(this.#buf.length * 2, this.#len + bytes.length)),
      );
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    if (this.#len + bytes.length > this.#buf.length) {
      const minStart = newEnd - this.#cap;
      while (this.#head < this.#pos.length && this.#pos[this.#head] < minStart) this.#head++;
      let keepStart = this.#head < this.#pos.length ? this.#pos[this.#head] : newEnd;
      if (this.#head >= this.#pos.length) {
        for (let i = 0; i < positions.length; i++) {
          if (positions[i] >= minStart) {
            keepStart = positions[i];
            break;
          }
        }
      }
      if (keepStart < oldEnd) {
        this.#buf.copyWithin(0, keepStart - this.#start, this.#len);
        this.#len = oldEnd - keepStart;
        this.#start = keepStart;
        this.#buf.set(bytes, this.#len);
        this.#len += bytes.length;
      } else {
        const part = bytes.subarray(keepStart - oldEnd);
        this.#buf.set(part, 0);
        this.#start = keepStart;
        this.#len = part.length;
      }
      if (this.#head > 0) {
        this.#pos = this.#pos.slice(this.#head);
        this.#size = this.#size.slice(this.#head);
        this.#base = this.#base.slice(this.#head);
        this.#last = this.#last.slice(this.#head);
        this.#head = 0;
      }
    } else {
      this.#buf.set(bytes, this.#len);
      this.#len += bytes.length;
    }
    for (let i = 0; i < positions.length; i++) {
      if (positions[i] < this.#start) continue;
      this.#pos.push(positions[i]);
      this.#size.push(sizes[i]);
      this.#base.push(bases[i]);
      this.#last.push(lasts[i]);
    }
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
    const first = this.#pos[i + this.#head] - this.#start;
    const n = Math.min(dest.length, this.#len - first);
    dest.set(this.#buf.subarray(first, first + n));
    return n;
  }

  /**
   * Copies whole batches from index `i`: at most `maxBytes` (but at least one batch), stopping
   * before the first batch whose base offset is ≥ `limitOffset`.
   *
   * @param i First batch index.
   * @param maxBytes Byte budget.
   * @param limitOffset Exclusive offset bound.
   * @returns A copy of the bytes (possibly empty).
   */
  copyFrom(i: number, maxBytes: number, limitOffset: number): Uint8Array {
    let j = i + this.#head;
    const first = this.#pos[j];
    let end = first;
    for (; j < this.#pos.length; j++) {
      if (this.#base[j] >= limitOffset) break;
      const next = this.#pos[j] + this.#size[j];
      if (end > first && next - first > maxBytes) break;
      end = next;
    }
    return this.#buf.slice(first - this.#start, end - this.#start);
  }
}
