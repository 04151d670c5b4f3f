// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The fuzz plan: case `i` of a run with seed `s` is built from its own random stream
 * ({@linkcode Rng.forCase}), so it is the same on every run and can be rebuilt alone. A case is
 * one request payload plus how it is delivered (whole, dribbled byte by byte, in pieces with
 * pauses, a size prefix alone, cut off mid-frame, or with a size prefix that lies).
 *
 * Cases are planned batch by batch, in index order, because of one piece of shared state: a
 * budget of partitions that requests may create per batch (CreateTopics, CreatePartitions and
 * Metadata auto-creation), so that a fuzzed count does not exhaust file descriptors (a known,
 * separately tracked issue) and hide everything else. A case over budget is drawn again.
 *
 * @module
 */

import { apiByKey } from "../../protocol/apis.ts";
import { decodeRequestBody, decodeRequestHeader } from "../../protocol/framing.ts";
import type { MessageSpec } from "../../tools/spec.ts";
import type { CorpusFrame } from "./corpus.ts";
import { generateRequest, type Pools } from "./generate.ts";
import { mutate, repeatElements } from "./mutate.ts";
import { Rng } from "./rng.ts";

/** How a case's bytes reach the broker. */
export type Delivery =
  /** The frame in one write, then a sentinel request; wait for the sentinel's answer. */
  | { kind: "whole" }
  /** The frame one byte at a time, `delayMs` apart, then the sentinel. */
  | { kind: "dribble"; delayMs: number }
  /** The frame in pieces cut at `cuts`, `pauseMs` apart, then the sentinel. */
  | { kind: "pieces"; cuts: number[]; pauseMs: number }
  /** Only a size prefix announcing `size` bytes; close after `holdMs`. */
  | { kind: "prefix"; size: number; holdMs: number }
  /** The first `at` bytes of the frame; close after `holdMs`. */
  | { kind: "cut"; at: number; holdMs: number }
  /** The payload behind a size prefix of `size` (not its length); half-close, read to EOF. */
  | { kind: "badsize"; size: number };

/** One fuzz case. */
export interface FuzzCase {
  /** Case index in the run. */
  index: number;
  /** Where the payload came from. */
  source: "corpus" | "mutated" | "generated" | "admin" | "slow";
  /** The payload (header and body); its correlation id is the case's. */
  payload: Uint8Array;
  /** API key in the header (-1 if the payload is shorter than a header). */
  apiKey: number;
  /** API version in the header. */
  version: number;
  /** How to deliver it. */
  delivery: Delivery;
  /** How long the broker may legitimately hold the answer (long-poll Fetch, group joins); 0: no wait. */
  parkMs: number;
  /** What the case is, for reports. */
  desc: string;
}

/** Settings of a plan. */
export interface PlanOptions {
  /** The run's seed. */
  seed: number;
  /** Cases per batch (the partition budget is per batch). */
  batchSize: number;
  /** Partitions requests may create per batch. */
  partitionBudget: number;
  /** Most partitions one CreateTopics/CreatePartitions may ask for. */
  maxPartitionsPerRequest: number;
  /**
   * The broker's `max.broker.partitions`: a topic asking for more partitions than this is refused
   * whole (POLICY_VIOLATION, nothing created), so it costs nothing and is always sent.
   */
  partitionLimit: number;
  /** Largest payload built. */
  maxBytes: number;
  /** The broker's `socket.request.max.bytes`. */
  maxFrame: number;
  /** The broker's `num.partitions` (auto-created topics and `-1`). */
  numPartitions: number;
  /**
   * Share of cases that are admin requests with an extreme count (an array element repeated
   * 1,000 to 1,000,000 times, up to `maxBytes`). Such a request costs the broker seconds.
   */
  heavyShare: number;
}

/** Fixed inputs of a plan. */
export interface PlanInputs {
  /** Request specs by key. */
  specs: Map<number, MessageSpec>;
  /** The corpus. */
  corpus: readonly CorpusFrame[];
  /** API keys the broker serves, with their highest served version. */
  served: ReadonlyMap<number, number>;
  /** Names for generated requests. */
  pools: Pools;
}

/** Correlation id of case `index`'s request (its sentinel uses the next odd number). */
export function correlationOf(index: number): number {
  return (index * 2) % 0x40000000;
}

/** The case whose request or sentinel carries `correlationId` (within the last 2^29 cases). */
export function caseOfCorrelation(correlationId: number, near: number): number {
  const base = near - (near % 0x20000000);
  let i = base + Math.floor(correlationId / 2);
  if (i > near) i -= 0x20000000;
  return i;
}

const SOURCES = { corpus: 4, mutated: 48, generated: 22, genmut: 10, admin: 4, slow: 12 };
/** KIP-714's GetTelemetrySubscriptions, PushTelemetry (its OTLP bytes), ListClientMetricsResources. */
const TELEMETRY_KEYS = [71, 72, 74];
const ADMIN_KEYS = [19, 20, 21, 2, 3, 8, 9, 15, 16, 32, 33, 37, 42, 44, 47, 0, 1, 24, 61, 65]
  .concat(TELEMETRY_KEYS);
const CREATES = new Set([19, 37]);

/**
 * Plans the cases of one batch, in order.
 */
export class Planner {
  readonly #in: PlanInputs;
  readonly #o: PlanOptions;
  readonly #donors: Uint8Array[];
  readonly #apiKeys: number[];
  readonly #servedKeys: number[];

  /**
   * @param inputs Specs, corpus, served APIs, name pools.
   * @param options Seed, budgets and limits.
   */
  constructor(inputs: PlanInputs, options: PlanOptions) {
    this.#in = inputs;
    this.#o = options;
    this.#donors = inputs.corpus.map((f) => f.payload);
    this.#apiKeys = [...inputs.specs.keys()].sort((a, b) => a - b);
    this.#servedKeys = [...inputs.served.keys()].sort((a, b) => a - b);
  }

  /** The options. */
  get options(): PlanOptions {
    return this.#o;
  }

  /**
   * The cases `[from, to)` of one batch (`from` must start the batch, or use
   * {@linkcode Planner.case} for one case).
   *
   * @param batch Batch number.
   * @returns The batch's cases.
   */
  batch(batch: number): FuzzCase[] {
    const from = batch * this.#o.batchSize;
    const budget = { left: this.#o.partitionBudget, seen: new Set<string>() };
    const out: FuzzCase[] = [];
    for (let i = from; i < from + this.#o.batchSize; i++) out.push(this.#plan(i, budget));
    return out;
  }

  /**
   * Case `index` alone (its batch is planned up to it, for the budget).
   *
   * @param index Case index.
   * @returns The case.
   */
  case(index: number): FuzzCase {
    const from = index - (index % this.#o.batchSize);
    const budget = { left: this.#o.partitionBudget, seen: new Set<string>() };
    for (let i = from; i < index; i++) this.#plan(i, budget);
    return this.#plan(index, budget);
  }

  #plan(index: number, budget: { left: number; seen: Set<string> }): FuzzCase {
    for (let salt = 0; salt < 50; salt++) {
      const rng = Rng.forCase(this.#o.seed, index, salt);
      const c = this.#draw(index, rng);
      if (c === null) continue;
      const cost = this.#creates(c.payload, budget.seen);
      if (cost.partitions > this.#o.maxPartitionsPerRequest || cost.partitions > budget.left) {
        continue;
      }
      budget.left -= cost.partitions;
      for (const n of cost.names) budget.seen.add(n);
      c.parkMs = this.#parkMs(c.payload);
      return c;
    }
    // Nothing fit: a plain ApiVersions.
    const payload = new Uint8Array([0, 18, 0, 0, 0, 0, 0, 0, 0, 0]);
    setCorrelation(payload, index);
    return {
      index,
      source: "corpus",
      payload,
      apiKey: 18,
      version: 0,
      delivery: { kind: "whole" },
      parkMs: 0,
      desc: "ApiVersions v0 (fallback)",
    };
  }

  #draw(index: number, rng: Rng): FuzzCase | null {
    const { specs, corpus, pools } = this.#in;
    const mutateOptions = {
      maxBytes: this.#o.maxBytes,
      donors: this.#donors,
      apiKeys: this.#apiKeys,
    };
    const source = rng.chance(this.#o.heavyShare) ? "heavy" : rng.weighted(SOURCES);
    let payload: Uint8Array;
    let desc: string;
    let kind: FuzzCase["source"];
    switch (source) {
      case "corpus":
      case "mutated":
      case "slow": {
        const f = rng.pick(corpus);
        const base = `${f.client} ${apiNameOf(f.apiKey)} v${f.version}`;
        if (source === "mutated" || (source === "slow" && rng.chance(0.3))) {
          const m = mutate(specs, f.payload, rng, mutateOptions);
          payload = m.payload;
          desc = `${base}: ${m.ops.join("; ")}`;
        } else {
          payload = f.payload.slice();
          desc = base;
        }
        kind = source;
        break;
      }
      case "generated":
      case "genmut":
      case "admin":
      case "heavy": {
        const key = source === "admin" || source === "heavy" ? rng.pick(ADMIN_KEYS) : undefined;
        const g = generateRequest(specs, rng, pools, this.#servedKeys, key);
        if (g === null) return null;
        payload = g.payload;
        desc = g.desc;
        kind = source === "admin" || source === "heavy" ? "admin" : "generated";
        if (source === "genmut" || source === "admin") {
          const m = mutate(specs, payload, rng, mutateOptions);
          payload = m.payload;
          desc += `: ${m.ops.join("; ")}`;
        } else if (source === "heavy") {
          // Extreme counts: one array's element repeated thousands to a million times.
          const r = repeatElements(specs, payload, rng, this.#o.maxBytes);
          if (r) {
            payload = r.payload;
            desc += `: ${r.ops.join("; ")}`;
          }
          if (rng.chance(0.3)) {
            const m = mutate(specs, payload, rng, mutateOptions);
            payload = m.payload;
            desc += `${r ? ";" : ":"} ${m.ops.join("; ")}`;
          }
        }
        break;
      }
    }
    if (payload.length > this.#o.maxBytes) return null;
    setCorrelation(payload, index);
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const apiKey = payload.length >= 2 ? view.getInt16(0) : -1;
    const version = payload.length >= 4 ? view.getInt16(2) : -1;
    const delivery = kind === "slow" ? this.#slowDelivery(rng, payload.length) : badSizeOrWhole(
      rng,
      payload.length,
      this.#o.maxFrame,
    );
    if (delivery.kind !== "whole") desc += ` [${describeDelivery(delivery)}]`;
    return { index, source: kind, payload, apiKey, version, delivery, parkMs: 0, desc };
  }

  #slowDelivery(rng: Rng, length: number): Delivery {
    const total = length + 4;
    switch (rng.weighted({ dribble: 3, pieces: 4, prefix: 3, cut: 4 })) {
      case "dribble":
        return { kind: "dribble", delayMs: Math.max(0, Math.min(20, Math.floor(600 / total))) };
      case "pieces": {
        const n = rng.int(1, Math.min(4, total - 1));
        const cuts = new Set<number>();
        for (let i = 0; i < n; i++) cuts.add(rng.int(1, total - 1));
        return {
          kind: "pieces",
          cuts: [...cuts].sort((a, b) => a - b),
          pauseMs: rng.pick([0, 10, 50, 200]),
        };
      }
      case "prefix": {
        const size = rng.pick([1, 8, 100, 4096, 1 << 20, 16 << 20, this.#o.maxFrame]);
        return { kind: "prefix", size, holdMs: rng.pick([0, 0, 50, 200, 500]) };
      }
      default:
        return { kind: "cut", at: rng.int(0, total - 1), holdMs: rng.pick([0, 20, 200]) };
    }
  }

  /** Partitions and new names a request may create (0 when the broker would refuse it). */
  #creates(payload: Uint8Array, seen: Set<string>): { partitions: number; names: string[] } {
    const none = { partitions: 0, names: [] };
    if (payload.length < 8) return none;
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const key = view.getInt16(0);
    const version = view.getInt16(2);
    const servedMax = this.#in.served.get(key);
    if (servedMax === undefined || version < 0 || version > servedMax) return none;
    if (!CREATES.has(key) && key !== 3) return none;
    const api = apiByKey(key)!;
    let req: Record<string, unknown>;
    try {
      const h = decodeRequestHeader(payload);
      // As the broker reads it: bytes after the last field are ignored (as Kafka does).
      req = decodeRequestBody(api.request, payload, h.bodyOffset, version).message as Record<
        string,
        unknown
      >;
    } catch {
      return none;
    }
    if (req.validateOnly === true) return none;
    const topics = (req.topics ?? []) as Array<Record<string, unknown>> | null;
    if (topics === null) return none;
    let partitions = 0;
    const names: string[] = [];
    // Over the broker's limit a topic is refused before anything is made.
    const cost = (n: number) => n > this.#o.partitionLimit ? 0 : Math.max(0, n);
    for (const t of topics) {
      const name = String(t.name ?? "");
      if (key === 19) {
        const n = Number(t.numPartitions);
        const assigned = (t.assignments as unknown[] | undefined)?.length ?? 0;
        partitions += cost(n === -1 ? (assigned || this.#o.numPartitions) : n);
      } else if (key === 37) {
        partitions += cost(Number(t.count));
      } else if (version < 4 || req.allowAutoTopicCreation === true) {
        if (t.name !== null && !seen.has(name) && !names.includes(name)) {
          names.push(name);
          partitions += this.#o.numPartitions;
        }
      }
    }
    return { partitions, names };
  }

  /** How long the broker may hold this request's answer on purpose. */
  #parkMs(payload: Uint8Array): number {
    if (payload.length < 8) return 0;
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const key = view.getInt16(0);
    const version = view.getInt16(2);
    if (key !== 1 && key !== 11 && key !== 14) return 0;
    const servedMax = this.#in.served.get(key);
    if (servedMax === undefined || version < 0 || version > servedMax) return 0;
    try {
      const h = decodeRequestHeader(payload);
      const req = decodeRequestBody(apiByKey(key)!.request, payload, h.bodyOffset, version)
        .message as Record<string, number>;
      if (key === 1) return Math.max(0, req.maxWaitMs);
      // Joins wait for the other members (up to the rebalance timeout, after the initial
      // delay); a follower's sync waits for the leader's.
      return Math.max(1, req.rebalanceTimeoutMs ?? 0, req.sessionTimeoutMs ?? 0);
    } catch {
      return 0;
    }
  }
}

function apiNameOf(key: number): string {
  return apiByKey(key)?.name ?? `Api${key}`;
}

function setCorrelation(payload: Uint8Array, index: number): void {
  if (payload.length < 8) return;
  new DataView(payload.buffer, payload.byteOffset, payload.byteLength).setInt32(
    4,
    correlationOf(index),
  );
}

function badSizeOrWhole(rng: Rng, length: number, maxFrame: number): Delivery {
  if (!rng.chance(0.04)) return { kind: "whole" };
  const size = rng.pick([
    -1,
    -0x80000000,
    0,
    length - 1,
    length + 1,
    Math.max(0, length - 8),
    maxFrame + 1,
    0x7fffffff,
  ]);
  return { kind: "badsize", size };
}

/**
 * A short description of a delivery.
 *
 * @param d The delivery.
 * @returns E.g. `dribble 5 ms/byte`.
 */
export function describeDelivery(d: Delivery): string {
  switch (d.kind) {
    case "whole":
      return "whole";
    case "dribble":
      return `dribble ${d.delayMs} ms/byte`;
    case "pieces":
      return `pieces at ${d.cuts.join(",")} ${d.pauseMs} ms apart`;
    case "prefix":
      return `prefix ${d.size} only, close after ${d.holdMs} ms`;
    case "cut":
      return `cut at byte ${d.at}, close after ${d.holdMs} ms`;
    case "badsize":
      return `size prefix ${d.size}`;
  }
}
