// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A growing output buffer for the codecs: literals, back-references (overlapping copies repeat
 * their pattern, as LZ77 codecs need) and raw bytes.
 *
 * @module
 */

import { DecompressionError } from "./errors.ts";

/**
 * A growing byte buffer; `pos` is the number of bytes written.
 *
 * @example
 * ```ts
 * import { ByteSink } from "./byte_sink.ts";
 * const out = new ByteSink(4);
 * out.literal(new Uint8Array([1, 2]), 0, 2);
 * out.copy(2, 4, "test"); // repeats 1, 2
 * console.assert(out.result().join() === "1,2,1,2,1,2");
 * ```
 */
export class ByteSink {
  /** The buffer (replaced when it grows). */
  buf: Uint8Array;
  /** Bytes written. */
  pos = 0;

  /** The most bytes it may hold (a decompression bomb fails here, not in the allocator). */
  readonly limit: number;
  /** Codec name for the error message. */
  readonly #what: string;

  /**
   * Creates an empty sink.
   *
   * @param size Initial capacity in bytes.
   * @param limit The most bytes it may hold. Default: no limit.
   * @param what Codec name for the error message.
   */
  constructor(size: number, limit = Infinity, what = "decompress") {
    this.limit = limit;
    this.#what = what;
    this.buf = new Uint8Array(Math.max(16, Math.min(size, limit)));
  }

  /**
   * Makes room for `n` more bytes.
   *
   * @param n Bytes about to be written.
   * @throws {DecompressionError} If the sink would hold more than its limit.
   */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.pos + n > this.limit) {
      throw new DecompressionError(
        `${this.#what}: the decompressed data is larger than the limit of ${this.limit} bytes`,
      );
    }
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    size = Math.min(size, this.limit);
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /**
   * Appends `src[from, from + len)`.
   *
   * @param src Source bytes.
   * @param from First byte.
   * @param len Number of bytes.
   */
  literal(src: Uint8Array, from: number, len: number): void {
    this.ensure(len);
    this.buf.set(src.subarray(from, from + len), this.pos);
    this.pos += len;
  }

  /**
   * Appends `len` bytes copied from `offset` bytes back (byte by byte, so an overlapping copy
   * repeats the pattern).
   *
   * @param offset Distance back, 1 to `pos`.
   * @param len Number of bytes.
   * @param what Codec name for the error message.
   * @throws {DecompressionError} If `offset` reaches outside what was written.
   */
  copy(offset: number, len: number, what: string): void {
    if (offset <= 0 || offset > this.pos) {
      throw new DecompressionError(`${what}: copy offset ${offset} outside ${this.pos} bytes`);
    }
    this.ensure(len);
    const b = this.buf;
    let to = this.pos;
    let from = to - offset;
    if (offset >= len && len >= 32) {
      b.copyWithin(to, from, from + len);
      this.pos = to + len;
      return;
    }
    for (let i = 0; i < len; i++) b[to++] = b[from++];
    this.pos = to;
  }

  /**
   * The bytes written (a view of the buffer).
   *
   * @returns `buf[0, pos)`.
   */
  result(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}
