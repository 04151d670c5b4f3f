// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A small seeded random source for the fuzzer. Every fuzz case draws from its own stream, derived
 * from the run's seed and the case's index, so one case can be rebuilt without replaying the
 * cases before it.
 *
 * @module
 */

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A seeded pseudo-random stream (sfc32 state seeded through a 32-bit mixer).
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const a = Rng.forCase(42, 7);
 * const b = Rng.forCase(42, 7);
 * console.log(a.u32() === b.u32()); // true
 * ```
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /**
   * Creates a stream from up to four 32-bit seed words.
   *
   * @param words Seed words.
   */
  constructor(...words: number[]) {
    this.#a = mix32((words[0] ?? 0) ^ 0x9e3779b9);
    this.#b = mix32((words[1] ?? 0) ^ 0x85ebca6b ^ this.#a);
    this.#c = mix32((words[2] ?? 0) ^ 0xc2b2ae35 ^ this.#b);
    this.#d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /**
   * The stream of one fuzz case.
   *
   * @param seed The run's seed.
   * @param index The case index.
   * @param salt Distinguishes several streams of one case.
   * @returns A new stream.
   */
  static forCase(seed: number, index: number, salt = 0): Rng {
    return new Rng(seed >>> 0, index >>> 0, (Math.floor(index / 2 ** 32) ^ salt) >>> 0);
  }

  /** @returns A uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** @returns A uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /**
   * A uniform integer in `[lo, hi]`.
   *
   * @param lo Lowest value.
   * @param hi Highest value.
   * @returns The integer.
   */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  /**
   * True with probability `p`.
   *
   * @param p Probability.
   * @returns The draw.
   */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /**
   * One element of a non-empty list.
   *
   * @param xs The list.
   * @returns The element.
   */
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.float() * xs.length)];
  }

  /**
   * One key of a weight table, drawn by weight.
   *
   * @param weights Key → weight (non-negative, not all zero).
   * @returns The key.
   */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    let total = 0;
    for (const [, w] of entries) total += w;
    let x = this.float() * total;
    for (const [k, w] of entries) {
      if ((x -= w) < 0) return k;
    }
    return entries[entries.length - 1][0];
  }

  /**
   * Random bytes.
   *
   * @param n How many.
   * @returns The bytes.
   */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}
