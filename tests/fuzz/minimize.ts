// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Minimises a failing fuzz case: replays it alone on a fresh broker, and if the same kind of
 * failure comes back, removes chunks of its payload (halving the chunk size, as delta debugging
 * does) for as long as the failure persists. The request header's first 8 bytes (API key,
 * version, correlation id) are kept. Bounded in attempts and time; every attempt starts a fresh
 * broker, so a crash cannot leak into the next attempt.
 *
 * @module
 */

import type { FuzzCase } from "./cases.ts";
import type { MessageSpec } from "../../tools/spec.ts";
import { lengthBytes } from "./mutate.ts";
import { type Failure, type FuzzOptions, makePlanner, runFuzz } from "./runner.ts";
import { loadRequestSpecs, walkRequestWith } from "./walk.ts";

/** Limits of {@linkcode minimizeCase}. */
export interface MinimizeLimits {
  /** Replays at most. Default 40. */
  attempts?: number;
  /** Time bound, ms. Default 180000. */
  timeMs?: number;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * Parses a hex string.
 *
 * @param s Hex digits.
 * @returns The bytes.
 * @throws {Error} On an odd length or a non-hex digit.
 */
export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || /[^0-9a-fA-F]/.test(s)) {
    throw new Error(`invalid hex: ${s.slice(0, 20)}`);
  }
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Replays `failure`'s case alone and, when it fails the same way, shrinks its payload.
 *
 * @param options The options of the run that failed.
 * @param failure The failure (with its case index).
 * @param limits Attempts and time.
 * @returns One line describing the result (with the minimised payload in hex).
 */
export async function minimizeCase(
  options: FuzzOptions,
  failure: Failure,
  limits: MinimizeLimits = {},
): Promise<string> {
  const attempts = limits.attempts ?? 40;
  const deadline = performance.now() + (limits.timeMs ?? 180_000);
  const quiet = { ...options, log: () => {}, keepGoing: false };
  const planner = await makePlanner(options);
  const fails = async (c: FuzzCase) => {
    const r = await runFuzz({ ...quiet, cases: [c] });
    return r.failures.some((f) => f.kind === failure.kind);
  };
  const candidates = failure.caseIndex !== undefined ? [failure.caseIndex] : failure.suspects ?? [];
  if (candidates.length === 0) return "not minimised: no case to blame";
  let tries = 0;
  let original: FuzzCase | undefined;
  for (const i of candidates) {
    if (tries >= attempts || performance.now() > deadline) break;
    const c = planner.case(i);
    tries++;
    if (await fails(c)) {
      original = c;
      break;
    }
  }
  if (original === undefined) {
    const batch = Math.floor(candidates[0] / (options.batchSize ?? 5000));
    return `no suspect fails alone (tried ${tries} of ${candidates.join(", ")}): it depends on ` +
      `earlier requests; replay its batch with --from-batch ${batch} --requests ` +
      `${options.batchSize ?? 5000}`;
  }
  let payload = original.payload;
  // First along the structure (strings and byte fields halved or emptied, array elements dropped,
  // lengths and counts kept right), then byte chunks.
  const specs = await loadRequestSpecs();
  for (let progress = true; progress && tries < attempts && performance.now() < deadline;) {
    progress = false;
    for (const candidate of structuralCandidates(specs, payload)) {
      if (tries >= attempts || performance.now() > deadline) break;
      tries++;
      if (await fails({ ...original, payload: candidate })) {
        payload = candidate;
        progress = true;
        break;
      }
    }
  }
  let chunk = Math.max(1, Math.floor((payload.length - 8) / 2));
  while (chunk >= 1 && tries < attempts && performance.now() < deadline) {
    let removed = false;
    for (let at = 8; at < payload.length && tries < attempts; at += chunk) {
      if (performance.now() > deadline) break;
      const candidate = new Uint8Array(payload.length - Math.min(chunk, payload.length - at));
      candidate.set(payload.subarray(0, at));
      candidate.set(payload.subarray(at + chunk), at);
      tries++;
      if (await fails({ ...original, payload: candidate })) {
        payload = candidate;
        removed = true;
        at -= chunk;
      }
    }
    if (!removed) chunk = Math.floor(chunk / 2);
  }
  return `case ${original.index} fails alone (--only ${original.index}); minimised from ` +
    `${original.payload.length} to ${payload.length} bytes in ${tries} replays: ${hex(payload)}`;
}

function splice(p: Uint8Array, start: number, end: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(p.length - (end - start) + bytes.length);
  out.set(p.subarray(0, start));
  out.set(bytes, start);
  out.set(p.subarray(end), start + bytes.length);
  return out;
}

/** Smaller payloads along the structure, largest reductions first. */
function structuralCandidates(specs: Map<number, MessageSpec>, p: Uint8Array): Uint8Array[] {
  const w = walkRequestWith(specs, p);
  const out: Array<{ saved: number; bytes: Uint8Array }> = [];
  for (const b of w.blobs) {
    const n = b.end - b.start;
    for (const keep of n > 1 ? [0, Math.floor(n / 2)] : []) {
      const bytes = new Uint8Array([
        ...lengthBytes(b.len, keep),
        ...p.subarray(b.start, b.start + keep),
      ]);
      out.push({ saved: n - keep, bytes: splice(p, b.len.start, b.end, bytes) });
    }
  }
  for (const a of w.arrays) {
    const n = a.elements.length;
    for (const keep of n > 0 ? [0, Math.floor(n / 2)] : []) {
      if (keep === n) continue;
      const from = a.elements[keep][0];
      const to = a.elements[n - 1][1];
      // The elements come after the count: cut them first, then rewrite the count.
      const cut = splice(p, from, to, new Uint8Array(0));
      out.push({
        saved: to - from,
        bytes: splice(cut, a.count.start, a.count.end, lengthBytes(a.count, keep)),
      });
    }
  }
  return out.sort((x, y) => y.saved - x.saved).map((x) => x.bytes);
}
