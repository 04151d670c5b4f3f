// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The fuzz corpus: request frames captured from real clients (`tests/fuzz/capture.ts`), kept in
 * `tests/fuzz/corpus/<client>.txt`. One frame per line, `<ApiName> v<version> <base64>`, where the
 * base64 is the frame payload (request header and body, without the 4-byte size prefix) with the
 * correlation id zeroed; `#` starts a comment line. Text, so that a change to the corpus reads as
 * a diff.
 *
 * Needs `--allow-read` to load and `--allow-write` to save.
 *
 * @module
 */

import { apiByKey } from "../../protocol/apis.ts";

/** One captured request frame. */
export interface CorpusFrame {
  /** Which client sent it (the file name without `.txt`). */
  client: string;
  /** API key, from the header. */
  apiKey: number;
  /** API version, from the header. */
  version: number;
  /** Header and body, without the size prefix. */
  payload: Uint8Array;
}

/** Where the committed corpus lives. */
export const CORPUS_DIR: URL = new URL("./corpus/", import.meta.url);

function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) {
    s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The API name of a key, or `Api<key>` for keys we have no spec for.
 *
 * @param apiKey The API key.
 * @returns Its name.
 */
export function apiName(apiKey: number): string {
  return apiByKey(apiKey)?.name ?? `Api${apiKey}`;
}

/**
 * Formats frames as a corpus file.
 *
 * @param header Comment lines (without `#`) written first.
 * @param frames The frames, in order.
 * @returns The file text.
 */
export function formatCorpus(header: string[], frames: CorpusFrame[]): string {
  const lines = header.map((h) => `# ${h}`.trimEnd());
  for (const f of frames) {
    lines.push(`${apiName(f.apiKey)} v${f.version} ${toBase64(f.payload)}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * Parses a corpus file.
 *
 * @param client The client name recorded on each frame.
 * @param text The file text.
 * @returns The frames, in file order.
 * @throws {Error} On a malformed line (with its number), or a frame whose header disagrees with
 * its line.
 */
export function parseCorpus(client: string, text: string): CorpusFrame[] {
  const out: CorpusFrame[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = /^(\S+) v(-?\d+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m) throw new Error(`corpus ${client} line ${i + 1}: expected "<Api> v<n> <base64>"`);
    const payload = fromBase64(m[3]);
    if (payload.length < 8) {
      throw new Error(`corpus ${client} line ${i + 1}: ${payload.length} bytes is not a request`);
    }
    const view = new DataView(payload.buffer);
    const apiKey = view.getInt16(0);
    const version = view.getInt16(2);
    if (apiName(apiKey) !== m[1] || version !== Number(m[2])) {
      throw new Error(
        `corpus ${client} line ${i + 1}: header says ${apiName(apiKey)} v${version}, ` +
          `line says ${m[1]} v${m[2]}`,
      );
    }
    out.push({ client, apiKey, version, payload });
  }
  return out;
}

/**
 * Loads every `*.txt` file of a corpus directory, in file-name order (so the frame order, and
 * with it every seeded run, is stable).
 *
 * @param dir The directory; default {@linkcode CORPUS_DIR}.
 * @returns All frames.
 * @throws {Error} If the directory cannot be read or a file is malformed.
 */
export async function loadCorpus(dir: URL | string = CORPUS_DIR): Promise<CorpusFrame[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".txt")) names.push(e.name);
  }
  names.sort();
  const out: CorpusFrame[] = [];
  for (const name of names) {
    const path = typeof dir === "string"
      ? `${dir.replace(/\/?$/, "/")}${name}`
      : new URL(name, dir);
    out.push(...parseCorpus(name.slice(0, -4), await Deno.readTextFile(path)));
  }
  return out;
}
