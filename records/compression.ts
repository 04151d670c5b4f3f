// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The five codecs of Kafka's record formats, both ways: none, gzip and zstd through `node:zlib`
 * (loaded at their first use),
 * Snappy (`snappy.ts`) and LZ4 (`lz4.ts`) in TypeScript, writing what Kafka's Java client writes.
 *
 * @module
 */

import type * as Zlib from "node:zlib";
import { DecompressionError } from "./errors.ts";
import type { CompressionName } from "./layout.ts";
import { lz4Compress, lz4Decompress } from "./lz4.ts";
import { snappyCompress, snappyDecompress } from "./snappy.ts";

let zlibModule: typeof Zlib | undefined;

/**
 * `node:zlib`, loaded at the first gzip or zstd use: Deno's Node compatibility layer that it
 * brings costs ~100 ms and ~10 MB at start, which a broker that never sees gzip or zstd need
 * not pay (`process.getBuiltinModule` loads a built-in synchronously).
 */
function zlib(): typeof Zlib {
  return zlibModule ??= (globalThis as unknown as {
    process: { getBuiltinModule(id: string): unknown };
  }).process.getBuiltinModule("node:zlib") as typeof Zlib;
}

/** Options of {@linkcode compress}. */
export interface CompressOptions {
  /**
   * For LZ4: write the header checksum message format v0 readers expect (over the magic too).
   * Default false.
   */
  legacyLz4?: boolean;
}

/**
 * Compresses the records of a batch (or the inner messages of a legacy wrapper) with a codec.
 *
 * @example
 * ```ts
 * import { compress, decompress } from "./compression.ts";
 * const data = new TextEncoder().encode("x".repeat(1000));
 * for (const codec of ["gzip", "snappy", "lz4", "zstd"] as const) {
 *   console.assert(decompress(compress(data, codec), codec).length === 1000);
 * }
 * ```
 *
 * @param data Bytes to compress.
 * @param codec The codec (`none` returns `data` itself).
 * @param options Codec options.
 * @returns The compressed bytes.
 */
export function compress(
  data: Uint8Array,
  codec: CompressionName,
  options: CompressOptions = {},
): Uint8Array {
  switch (codec) {
    case "none":
      return data;
    case "gzip":
      return new Uint8Array(zlib().gzipSync(data));
    case "snappy":
      return snappyCompress(data);
    case "lz4":
      return lz4Compress(data, { brokenHeaderChecksum: options.legacyLz4 });
    case "zstd":
      return new Uint8Array(zlib().zstdCompressSync(data));
  }
}

/**
 * How many bytes the records of a stored batch of `storedBytes` may decompress to when the
 * broker opens them (compacted-topic checks, the cleaner): 64 times the stored size, at least
 * 64 MiB. Legitimate data rarely compresses beyond 64:1; a batch that inflates further (a
 * "compression bomb") is refused instead of taking the memory.
 *
 * @example
 * ```ts
 * import { decompressionBound } from "./compression.ts";
 * console.assert(decompressionBound(1024) === 64 * 1024 * 1024);
 * console.assert(decompressionBound(4 << 20) === 256 << 20);
 * ```
 *
 * @param storedBytes Size of the stored (compressed) batch.
 * @returns The bound in bytes.
 */
export function decompressionBound(storedBytes: number): number {
  return Math.max(64 << 20, 64 * storedBytes);
}

/** Options of {@linkcode decompress}. */
export interface DecompressOptions {
  /**
   * The most decompressed bytes accepted: more is refused with a {@linkcode DecompressionError}
   * before it is allocated, so a small "compression bomb" cannot take the memory. Default: no
   * limit.
   */
  maxBytes?: number;
}

/**
 * Decompresses bytes written with a codec.
 *
 * @example
 * ```ts
 * import { decompress } from "./compression.ts";
 * const raw = new Uint8Array([3, 8, 97, 98, 99]); // Snappy: "abc"
 * console.assert(new TextDecoder().decode(decompress(raw, "snappy")) === "abc");
 * ```
 *
 * @param data Compressed bytes.
 * @param codec The codec (`none` returns `data` itself).
 * @param options A bound on the output.
 * @returns The decompressed bytes.
 * @throws {DecompressionError} If the bytes cannot be decompressed, or decompress to more than
 *   `maxBytes` (the message names the codec).
 */
export function decompress(
  data: Uint8Array,
  codec: CompressionName,
  options: DecompressOptions = {},
): Uint8Array {
  const max = options.maxBytes ?? Infinity;
  switch (codec) {
    case "none":
      return data;
    case "snappy":
      return snappyDecompress(data, max);
    case "lz4":
      return lz4Decompress(data, max);
    case "gzip":
    case "zstd": {
      const bounded = Number.isFinite(max) ? { maxOutputLength: Math.max(1, max) } : {};
      try {
        return new Uint8Array(
          codec === "gzip"
            ? zlib().gunzipSync(data, bounded)
            : zlib().zstdDecompressSync(data, bounded),
        );
      } catch (e) {
        if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
          throw new DecompressionError(
            `${codec}: the decompressed data is larger than the limit of ${max} bytes`,
          );
        }
        throw new DecompressionError(`${codec}: ${(e as Error).message}`);
      }
    }
  }
}
