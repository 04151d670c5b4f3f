// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * UTF-8 without intermediate buffers: the byte length of a string and its bytes written straight
 * into a caller's buffer, exactly as `TextEncoder` encodes it (a lone surrogate becomes U+FFFD),
 * and bytes read back into a string as a fatal `TextDecoder` would, for less (short ASCII without
 * a decoder call, the rest by the replacing decoder's fast path). Allocating a `Uint8Array` per
 * string (what `TextEncoder.encode` does) costs far more than the encoding of a short string
 * itself, so record batches take strings and write them in place.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Strings up to this many characters are written with a loop; longer ones by `encodeInto`. */
const LOOP_MAX = 256;

/**
 * The UTF-8 byte length of `s`, as `TextEncoder` encodes it (a lone surrogate as the 3 bytes of
 * U+FFFD).
 *
 * @example
 * ```ts
 * import { utf8Length } from "./utf8.ts";
 * console.assert(utf8Length("abc") === 3);
 * console.assert(utf8Length("\u00e9\u20ac\u{1F600}") === 2 + 3 + 4);
 * console.assert(utf8Length("\ud800") === new TextEncoder().encode("\ud800").length);
 * ```
 *
 * @param s The string.
 * @returns Its UTF-8 length in bytes.
 */
export function utf8Length(s: string): number {
  const n = s.length;
  let len = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      len += 1;
    } else if (
      c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00
    ) {
      // A surrogate pair: two code units, four bytes.
      len += 2;
      i++;
    } else {
      // Three bytes (a lone surrogate too: U+FFFD).
      len += 2;
    }
  }
  return len;
}

/**
 * Writes the UTF-8 bytes of `s` at `pos`; `length` must be {@linkcode utf8Length}(s).
 *
 * @example
 * ```ts
 * import { utf8Length, writeUtf8 } from "./utf8.ts";
 * const s = "héllo";
 * const buf = new Uint8Array(16);
 * const end = writeUtf8(buf, 2, s, utf8Length(s));
 * console.assert(end === 8 && new TextDecoder().decode(buf.subarray(2, end)) === s);
 * ```
 *
 * @param buf Buffer with room for `length` bytes at `pos`.
 * @param pos Where to write.
 * @param s The string.
 * @param length Its UTF-8 length.
 * @returns The position after the bytes.
 */
export function writeUtf8(buf: Uint8Array, pos: number, s: string, length: number): number {
  const n = s.length;
  if (length === n && n <= LOOP_MAX) {
    // ASCII: one byte per code unit.
    for (let i = 0; i < n; i++) buf[pos + i] = s.charCodeAt(i);
  } else {
    encoder.encodeInto(s, buf.subarray(pos, pos + length));
  }
  return pos + length;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Deno's replacing decoder takes a fast path the fatal one does not (about 120 ns against 300 for
 * 100 bytes, 180 against 690 for 1000): its output is taken when it holds no U+FFFD, else the
 * fatal decoder decides (the bytes were invalid, or held a real U+FFFD).
 */
const replacing = new TextDecoder("utf-8");

/**
 * ASCII up to this many bytes is read with `String.fromCharCode` (25 ns for 4 bytes, 50 for 16,
 * against about 110 for a decoder call).
 */
const ASCII_MAX = 32;

/** Shorter ASCII strings are built by concatenation (V8 copies strings under 13 characters). */
const CONCAT_MAX = 12;

/**
 * Decodes UTF-8 bytes into a string exactly as a fatal `TextDecoder` does (a leading BOM dropped,
 * invalid bytes refused), with less work: short ASCII without a decoder call, the rest through the
 * replacing decoder's fast path.
 *
 * @example
 * ```ts
 * import { decodeUtf8 } from "./utf8.ts";
 * const te = new TextEncoder();
 * console.assert(decodeUtf8(te.encode("key-1")) === "key-1");
 * console.assert(decodeUtf8(te.encode("clé")) === "clé");
 * ```
 *
 * @param data The bytes.
 * @returns The string.
 * @throws {TypeError} If the bytes are not valid UTF-8 (as `TextDecoder` with `fatal`).
 */
export function decodeUtf8(data: Uint8Array): string {
  const n = data.length;
  if (n <= ASCII_MAX) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (data[i] > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      if (n <= CONCAT_MAX) {
        let s = "";
        for (let i = 0; i < n; i++) s += String.fromCharCode(data[i]);
        return s;
      }
      const codes = new Array<number>(n);
      for (let i = 0; i < n; i++) codes[i] = data[i];
      return String.fromCharCode.apply(null, codes);
    }
  }
  const s = replacing.decode(data);
  return s.indexOf("\ufffd") < 0 ? s : decoder.decode(data);
}
