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
import { type Failure, type FuzzOptions, makePlanner, runFuzz } from "./runner.ts";

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
