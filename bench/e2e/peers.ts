// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The load tool against a peer (issue #17): the same librdkafka clients run each workload against
 * Sluice and against another broker — librdkafka's in-memory mock cluster (`mock_cluster.c`, a C
 * broker that keeps batches without parsing them: the floor for "a Kafka broker on this machine")
 * or any bootstrap — one broker at a time, the order rotated from workload to workload and round
 * to round, and the figures are reported as ratios Sluice ÷ peer from the same run: broker CPU
 * ms per MB (the nanoseconds on CPU of the broker process's threads,
 * `/proc/<pid>/task/<tid>/schedstat`, with the clock ticks of `/proc/<pid>/stat` as a
 * cross-check), produce and consume rates, request latency p50/p99/p99.9 and the longest stall
 * (no request answered) with many connections (`conns_perf.c`).
 *
 * The mock keeps only the last few MB of each partition (librdkafka's mock evicts older
 * batches), so consume rates are measured on 64-partition topics, whose share per partition it
 * keeps whole.
 *
 * @module
 */

import { Admin, Client } from "../../client/mod.ts";
import { createProduceRequest, ProduceRequest } from "../../protocol/messages/produce.ts";
import { encodeRequestFrame } from "../../protocol/framing.ts";
import { encodeRecordBatch } from "../../records/mod.ts";
import { startBrokerProcess } from "./broker_process.ts";
import { cpuBetween, type ProcessUsage, processUsage } from "../../tests/process_usage.ts";
import type { ConsumeStats, ProduceStats } from "./payload.ts";
import {
  buildC,
  buildRdkafkaPerf,
  CONNS_SOURCE,
  MOCK_SOURCE,
  spawnWorker,
  startConsumer,
  startProducer,
} from "./workers.ts";

/** A broker the peer workloads run against. */
export interface Target {
  /** `sluice`, `mock`, or the peer's bootstrap. */
  readonly name: string;
  /** `host:port`. */
  readonly bootstrap: string;
  /** Process id whose CPU is the broker's, if known. */
  readonly pid: number | undefined;
  /** Creates a topic of `partitions` partitions. */
  createTopic(topic: string, partitions: number): Promise<void>;
  /** Stops what this tool started. Idempotent. */
  stop(): Promise<void>;
}

/** One workload of a peer run. */
export interface PeerWorkload {
  /** Name used in flags and tables. */
  name: string;
  /** What it measures. */
  description: string;
  /**
   * `produce`: librdkafka produces (broker CPU and rate); `consume`: produces, then a librdkafka
   * consumer reads the topic from the start (its rate, every record exactly once);
   * `conns`: `connections` connections send one Produce request each at a time.
   */
  kind: "produce" | "consume" | "conns";
  /** Records (produce/consume) or requests counted (conns), at scale 1. */
  records: number;
  /** Value size in bytes. */
  size: number;
  /** Partitions. */
  partitions: number;
  /** conns: connections. */
  connections?: number;
  /** conns: records per request. */
  recordsPerRequest?: number;
}

/** Every peer workload, in table order (the rows of issue #17's table). */
export const PEER_WORKLOADS: readonly PeerWorkload[] = [
  {
    name: "produce-100b",
    description: "1M records of 100 B, 1 partition, acks=1",
    kind: "produce",
    records: 1_000_000,
    size: 100,
    partitions: 1,
  },
  {
    name: "produce-1kib",
    description: "200k records of 1 KiB, 1 partition, acks=1",
    kind: "produce",
    records: 200_000,
    size: 1024,
    partitions: 1,
  },
  {
    name: "consume-100b-64p",
    description: "1M records of 100 B on 64 partitions, read from the start",
    kind: "consume",
    records: 1_000_000,
    size: 100,
    partitions: 64,
  },
  {
    name: "consume-1kib-64p",
    description: "200k records of 1 KiB on 64 partitions, read from the start",
    kind: "consume",
    records: 200_000,
    size: 1024,
    partitions: 64,
  },
  {
    name: "conns-500",
    description: "500 connections, one Produce request (10 × 100 B) in flight each",
    kind: "conns",
    records: 100_000,
    size: 100,
    partitions: 1,
    connections: 500,
    recordsPerRequest: 10,
  },
  {
    name: "conns-1",
    description: "1 connection, one Produce request (10 × 100 B) in flight",
    kind: "conns",
    records: 20_000,
    size: 100,
    partitions: 1,
    connections: 1,
    recordsPerRequest: 10,
  },
];

/**
 * The unreported warm-ups of the conns workloads with more than one connection: a fifth of each
 * one's requests (at least one per connection), named `warmup-<name>`.
 *
 * @example
 * ```ts
 * import { selectPeerWorkloads, warmConns } from "./peers.ts";
 * const [w] = warmConns(selectPeerWorkloads(["conns-500", "conns-1"], 1));
 * console.assert(w.name === "warmup-conns-500" && w.records === 20_000);
 * ```
 */
export function warmConns(workloads: readonly PeerWorkload[]): PeerWorkload[] {
  return workloads
    .filter((w) => w.kind === "conns" && (w.connections ?? 1) > 1)
    .map((w) => ({
      ...w,
      name: `warmup-${w.name}`,
      description: "",
      records: Math.max(w.connections ?? 1, Math.floor(w.records / 5)),
    }));
}

/**
 * Picks peer workloads by name and scales their counts.
 *
 * @example
 * ```ts
 * import { selectPeerWorkloads } from "./peers.ts";
 * console.log(selectPeerWorkloads(["conns-1"], 0.5)[0].records); // 10000
 * ```
 *
 * @param names Names; empty for all.
 * @param scale Count factor, > 0.
 * @returns The workloads in table order.
 * @throws {RangeError} On an unknown name.
 */
export function selectPeerWorkloads(names: readonly string[], scale: number): PeerWorkload[] {
  for (const n of names) {
    if (!PEER_WORKLOADS.some((w) => w.name === n)) {
      throw new RangeError(
        `unknown peer workload "${n}": expected one of ${
          PEER_WORKLOADS.map((w) => w.name).join(", ")
        }`,
      );
    }
  }
  return PEER_WORKLOADS.filter((w) => names.length === 0 || names.includes(w.name)).map((w) => ({
    ...w,
    records: Math.max(w.connections ?? 1, Math.round(w.records * scale)),
  }));
}

async function adminCreate(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const client = new Client({ bootstrapServers: bootstrap, clientId: "sluice-e2e-admin" });
  try {
    await new Admin(client).createTopics([{ name: topic, numPartitions: partitions }]);
  } finally {
    await client.close();
  }
}

/**
 * Starts Sluice's broker in its own process (`broker_process.ts`).
 *
 * @param cpuProfDir Write a V8 CPU profile of it here.
 * @returns The target.
 */
export async function startSluiceTarget(cpuProfDir?: string): Promise<Target> {
  const b = await startBrokerProcess({ cpuProfDir });
  return {
    name: "sluice",
    bootstrap: b.bootstrap,
    pid: b.pid,
    createTopic: (t, p) => adminCreate(b.bootstrap, t, p),
    stop: () => b.stop(),
  };
}

/**
 * Starts librdkafka's mock cluster (`mock_cluster.c`, built with `cc` on first use) with one
 * broker; topics are created through its stdin.
 *
 * @example
 * ```ts ignore
 * import { startMockTarget } from "./peers.ts";
 * const mock = await startMockTarget();
 * await mock.createTopic("t", 1);
 * await mock.stop();
 * ```
 *
 * @returns The target.
 * @throws {Error} If it cannot be built or does not start.
 */
export async function startMockTarget(): Promise<Target> {
  const binary = await buildC(MOCK_SOURCE, ["-lrdkafka"]);
  const child = new Deno.Command(binary, {
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const line = async (): Promise<Record<string, unknown>> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("mock cluster: no answer within 10 s")), 10_000);
    });
    try {
      while (!buf.includes("\n")) {
        const { value, done } = await Promise.race([reader.read(), timeout]);
        if (done) throw new Error("mock cluster: exited");
        buf += value;
      }
    } finally {
      clearTimeout(timer);
    }
    const nl = buf.indexOf("\n");
    const o = JSON.parse(buf.slice(0, nl));
    buf = buf.slice(nl + 1);
    if (o.error) throw new Error(String(o.error));
    return o;
  };
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      await writer.close().catch(() => {});
      const t = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* exited */ }
      }, 5000);
      await child.status;
      clearTimeout(t);
      await reader.cancel().catch(() => {});
    })();
  let bootstrap: string;
  try {
    bootstrap = String((await line()).bootstrap);
  } catch (e) {
    await stop();
    throw e;
  }
  const enc = new TextEncoder();
  let queue = Promise.resolve();
  return {
    name: "mock",
    bootstrap,
    pid: child.pid,
    createTopic: (topic, partitions) => {
      const r = queue.then(async () => {
        await writer.write(enc.encode(`topic ${topic} ${partitions}\n`));
        await line();
      });
      queue = r.catch(() => {});
      return r;
    },
    stop,
  };
}

/**
 * An external broker at `bootstrap` (topics created with CreateTopics); its CPU is measured only
 * when `pid` is given (a process on this machine).
 *
 * @param bootstrap `host:port`.
 * @param pid Its process id, if known.
 * @returns The target.
 */
export function externalTarget(bootstrap: string, pid?: number): Target {
  return {
    name: bootstrap,
    bootstrap,
    pid,
    createTopic: (t, p) => adminCreate(bootstrap, t, p),
    stop: () => Promise.resolve(),
  };
}

/** One workload's figures on one target in one round. */
export interface PeerResult {
  /** Workload name. */
  workload: string;
  /** Target name. */
  target: string;
  /** Round, from 0. */
  round: number;
  /** Position in the round's order for this workload (0 = first). */
  position: number;
  /**
   * Broker CPU seconds while producing (produce, consume) or during the connections' load: the
   * nanoseconds of its threads (`/proc/<pid>/task/<tid>/schedstat`), or clock ticks when
   * {@linkcode PeerResult.cpuFallback} is set.
   */
  brokerCpuSeconds: number;
  /** Broker CPU milliseconds per MB (10^6 B of values) produced; NaN without a pid. */
  cpuMsPerMb: number;
  /**
   * The same CPU seconds from clock ticks (`/proc/<pid>/stat` utime + stime, 10 ms steps), the
   * cross-check; absent in results recorded before nanoseconds were read.
   */
  brokerCpuTickSeconds?: number;
  /** The broker's live threads at the second reading. */
  brokerThreads?: number;
  /** MB (10^6 B of values) the CPU figures divide by. */
  megabytes?: number;
  /** Why the ticks were used instead of nanoseconds (a thread exited), when they were. */
  cpuFallback?: string;
  /** Producer records per second (produce, consume). */
  produceRecPerSec: number;
  /** From-the-start consumer records per second (consume). */
  consumeRecPerSec: number;
  /** conns: requests per second and latency percentiles in microseconds. */
  requestsPerSec: number;
  /** Latency p50 in µs (conns). */
  p50Us: number;
  /** Latency p99 in µs (conns). */
  p99Us: number;
  /** Latency p99.9 in µs (conns). */
  p999Us: number;
  /**
   * conns: the longest time in µs between two responses (a stall: no connection answered at
   * all); absent in results recorded before it was measured.
   */
  maxGapUs?: number;
  /** What failed. */
  error?: string;
}

/** What a conns_perf run prints. */
interface ConnsStats {
  connections: number;
  requests: number;
  seconds: number;
  requestsPerSec: number;
  cpuSeconds: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  maxGapUs: number;
  gaps50ms: number;
  gaps100ms: number;
}

async function cpuOf(pid: number | undefined): Promise<ProcessUsage | undefined> {
  return pid === undefined ? undefined : await processUsage(pid);
}

/** Sets the broker CPU fields of `r` from two readings. */
function setCpu(
  r: Omit<PeerResult, "round" | "position">,
  before: ProcessUsage | undefined,
  after: ProcessUsage | undefined,
): void {
  if (!before || !after) return;
  const cpu = cpuBetween(before, after);
  r.brokerCpuSeconds = cpu.seconds;
  r.brokerCpuTickSeconds = cpu.tickSeconds;
  r.brokerThreads = after.threadCpuNs.size;
  if (cpu.fallback) r.cpuFallback = cpu.fallback;
}

/**
 * Writes the Produce request (v7, acks=1, one partition, `records` values of `size` bytes) that
 * `conns_perf` sends on every connection, to a temporary file.
 */
async function connsRequestFile(topic: string, records: number, size: number): Promise<string> {
  const value = new Uint8Array(size).fill(97);
  const batch = encodeRecordBatch(Array.from({ length: records }, () => ({ value })));
  const frame = encodeRequestFrame(
    ProduceRequest,
    7,
    1,
    "conns_perf",
    createProduceRequest({
      acks: 1,
      timeoutMs: 30_000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }],
    }),
  );
  const path = await Deno.makeTempFile({ prefix: "sluice-conns-", suffix: ".bin" });
  await Deno.writeFile(path, frame);
  return path;
}

/** Tools a peer run needs, built once. */
export interface PeerTools {
  /** rdkafka_perf. */
  rdkafka: string;
  /** conns_perf. */
  conns: string;
}

/**
 * Builds `rdkafka_perf` and `conns_perf`.
 *
 * @returns Their paths.
 */
export async function buildPeerTools(): Promise<PeerTools> {
  return { rdkafka: await buildRdkafkaPerf(), conns: await buildC(CONNS_SOURCE, []) };
}

/**
 * Runs one workload against one target and measures it.
 *
 * @param target The broker.
 * @param w The workload.
 * @param tools Built tools.
 * @param topic A topic name not used before on this target.
 * @param timeoutMs Kill a client after this long.
 * @returns The figures (with `error` set on failure).
 */
export async function runPeerWorkload(
  target: Target,
  w: PeerWorkload,
  tools: PeerTools,
  topic: string,
  timeoutMs: number,
): Promise<Omit<PeerResult, "round" | "position">> {
  const r: Omit<PeerResult, "round" | "position"> = {
    workload: w.name,
    target: target.name,
    brokerCpuSeconds: NaN,
    cpuMsPerMb: NaN,
    produceRecPerSec: NaN,
    consumeRecPerSec: NaN,
    requestsPerSec: NaN,
    p50Us: NaN,
    p99Us: NaN,
    p999Us: NaN,
  };
  const kills: Array<() => void> = [];
  let file: string | undefined;
  try {
    await target.createTopic(topic, w.partitions);
    if (w.kind === "conns") {
      const [host, port] = target.bootstrap.split(":");
      file = await connsRequestFile(topic, w.recordsPerRequest ?? 1, w.size);
      const before = await cpuOf(target.pid);
      const p = spawnWorker<ConnsStats>(
        "conns_perf",
        tools.conns,
        [host, port, String(w.connections ?? 1), String(w.records), file, String(timeoutMs / 1000)]
          .map(String),
        timeoutMs + 10_000,
      );
      kills.push(p.kill);
      const s = await p.result;
      setCpu(r, before, await cpuOf(target.pid));
      const mb = s.requests * (w.recordsPerRequest ?? 1) * w.size / 1e6;
      r.megabytes = mb;
      r.cpuMsPerMb = r.brokerCpuSeconds * 1000 / mb;
      r.requestsPerSec = s.requestsPerSec;
      r.p50Us = s.p50Us;
      r.p99Us = s.p99Us;
      r.p999Us = s.p999Us;
      r.maxGapUs = s.maxGapUs;
      if (s.requests < w.records) throw new Error(`conns_perf: ${s.requests} of ${w.records}`);
      return r;
    }
    const common = { bootstrap: target.bootstrap, topic, partitions: w.partitions };
    const before = await cpuOf(target.pid);
    const producer = startProducer(
      "rdkafka",
      tools.rdkafka,
      { ...common, records: w.records, size: w.size, acks: 1, rate: 0 },
      timeoutMs,
    );
    kills.push(producer.kill);
    const p: ProduceStats = await producer.result;
    setCpu(r, before, await cpuOf(target.pid));
    r.cpuMsPerMb = r.brokerCpuSeconds * 1000 / (p.bytes / 1e6);
    r.megabytes = p.bytes / 1e6;
    r.produceRecPerSec = p.records / p.seconds;
    if (p.errors > 0) throw new Error(`producer: ${p.errors} failed: ${p.firstError}`);
    if (w.kind === "consume") {
      const consumer = startConsumer(
        "rdkafka",
        tools.rdkafka,
        { ...common, records: w.records, idleMs: 5000 },
        timeoutMs,
      );
      kills.push(consumer.kill);
      const c: ConsumeStats = await consumer.result;
      if (c.unique !== w.records || c.duplicates !== 0) {
        throw new Error(
          `consumer: ${c.unique}/${w.records} distinct, ${c.duplicates} duplicates` +
            (c.firstError ? `: ${c.firstError}` : ""),
        );
      }
      r.consumeRecPerSec = c.unique / c.seconds;
    }
  } catch (e) {
    r.error = e instanceof Error ? e.message : String(e);
  } finally {
    for (const k of kills) k();
    if (file) await Deno.remove(file).catch(() => {});
  }
  return r;
}

/** Median of the finite values; NaN if none. */
export function median(values: readonly number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * The order targets run in for a workload in a round: rotated by workload index plus round, so
 * that neither broker always runs first (after the other's writeback, on a warmer machine).
 *
 * @example
 * ```ts
 * import { rotation } from "./peers.ts";
 * console.log(rotation(["a", "b"], 1)); // ["b", "a"]
 * ```
 *
 * @param targets Targets.
 * @param k Workload index + round.
 * @returns The targets in run order.
 */
export function rotation<T>(targets: readonly T[], k: number): T[] {
  const n = targets.length;
  return targets.map((_, i) => targets[(i + k) % n]);
}

/** A ratio row of the summary: Sluice's median, the peer's median, and Sluice ÷ peer. */
export interface RatioRow {
  /** What is measured. */
  measure: string;
  /** Sluice's median. */
  sluice: number;
  /** The peer's median. */
  peer: number;
  /** sluice ÷ peer. */
  ratio: number;
  /** Unit, for printing. */
  unit: string;
}

/**
 * The issue #17 table from a peer run's results: medians over rounds, per workload and target.
 *
 * @param results Every result.
 * @param peer The peer's target name.
 * @returns Rows in workload order.
 */
export function ratioRows(results: readonly PeerResult[], peer: string): RatioRow[] {
  const rows: RatioRow[] = [];
  const names = [...new Set(results.map((r) => r.workload))];
  const med = (w: string, t: string, f: (r: PeerResult) => number) =>
    median(results.filter((r) => r.workload === w && r.target === t && !r.error).map(f));
  const add = (w: string, measure: string, unit: string, f: (r: PeerResult) => number) => {
    const s = med(w, "sluice", f), p = med(w, peer, f);
    if (Number.isNaN(s) && Number.isNaN(p)) return;
    rows.push({ measure: `${w}: ${measure}`, sluice: s, peer: p, ratio: s / p, unit });
  };
  for (const w of names) {
    const kind = PEER_WORKLOADS.find((x) => x.name === w)?.kind;
    add(w, "broker CPU per MB", "ms", (r) => r.cpuMsPerMb);
    if (kind === "conns") {
      add(w, "requests/s", "", (r) => r.requestsPerSec);
      add(w, "p50", "ms", (r) => r.p50Us / 1000);
      add(w, "p99", "ms", (r) => r.p99Us / 1000);
      add(w, "p99.9", "ms", (r) => r.p999Us / 1000);
      add(w, "longest stall", "ms", (r) => (r.maxGapUs ?? NaN) / 1000);
    } else {
      add(w, "produce rec/s", "", (r) => r.produceRecPerSec);
      if (kind === "consume") add(w, "consume rec/s", "", (r) => r.consumeRecPerSec);
    }
  }
  return rows;
}

/**
 * Formats ratio rows as a Markdown table.
 *
 * @param rows Rows.
 * @param peer Peer name for the header.
 * @returns The table.
 */
export function formatRatioTable(rows: readonly RatioRow[], peer: string): string {
  const num = (n: number) =>
    !Number.isFinite(n)
      ? "-"
      : Math.abs(n) >= 1000
      ? Math.round(n).toLocaleString("en-US")
      : n.toPrecision(3);
  const lines = [`| measure | sluice | ${peer} | sluice ÷ ${peer} |`, "|---|---:|---:|---:|"];
  for (const r of rows) {
    const u = r.unit ? ` ${r.unit}` : "";
    lines.push(
      `| ${r.measure} | ${num(r.sluice)}${u} | ${num(r.peer)}${u} | ${
        Number.isFinite(r.ratio) ? r.ratio.toFixed(2) + "×" : "-"
      } |`,
    );
  }
  return lines.join("\n");
}

/**
 * Formats each round's broker CPU per MB of Sluice and the peer, their ratio, and the same from
 * clock ticks, as a Markdown table per workload with the ratios' spread (max ÷ min).
 *
 * @param results Every result.
 * @param peer The peer's target name.
 * @returns The tables (empty when no result has both readings).
 */
export function formatCpuRounds(results: readonly PeerResult[], peer: string): string {
  const out: string[] = [];
  const f = (
    n: number | undefined,
  ) => (n === undefined || !Number.isFinite(n) ? "-" : n.toFixed(3));
  for (const w of [...new Set(results.map((r) => r.workload))]) {
    const rounds = [...new Set(results.filter((r) => r.workload === w).map((r) => r.round))];
    const lines = [
      `${w}: broker CPU ms per MB, nanoseconds (clock ticks)`,
      "",
      `| round | sluice | ${peer} | ratio | ticks: sluice | ticks: ${peer} | ticks: ratio | fallbacks |`,
      "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ];
    const ns: number[] = [], ticks: number[] = [];
    for (const round of rounds) {
      const s = results.find((r) => r.workload === w && r.round === round && r.target === "sluice");
      const p = results.find((r) => r.workload === w && r.round === round && r.target === peer);
      if (!s || !p || s.error || p.error) continue;
      const tick = (r: PeerResult) =>
        r.brokerCpuTickSeconds === undefined || !r.megabytes
          ? NaN
          : r.brokerCpuTickSeconds * 1000 / r.megabytes;
      const ratio = s.cpuMsPerMb / p.cpuMsPerMb, tickRatio = tick(s) / tick(p);
      if (Number.isFinite(ratio)) ns.push(ratio);
      if (Number.isFinite(tickRatio)) ticks.push(tickRatio);
      const fb = [s, p].filter((r) => r.cpuFallback).length;
      lines.push(
        `| ${round + 1} | ${f(s.cpuMsPerMb)} | ${f(p.cpuMsPerMb)} | ${f(ratio)} | ${f(tick(s))} | ${
          f(tick(p))
        } | ${f(tickRatio)} | ${fb} |`,
      );
    }
    if (ns.length === 0) continue;
    const spread = (v: number[]) =>
      `${f(Math.min(...v))}–${f(Math.max(...v))} (max ÷ min ${f(Math.max(...v) / Math.min(...v))})`;
    lines.push("", `ratio ${spread(ns)}; from ticks ${ticks.length ? spread(ticks) : "-"}`);
    // the cross-check over the whole run: each interval's nanoseconds and ticks differ by at most
    // a tick per thread
    for (const t of ["sluice", peer]) {
      const rs = results.filter((r) =>
        r.workload === w && r.target === t && !r.error && r.brokerCpuTickSeconds !== undefined
      );
      if (rs.length === 0) continue;
      const sum = (f: (r: PeerResult) => number) => rs.reduce((a, r) => a + f(r), 0);
      const nsMs = sum((r) => r.brokerCpuSeconds) * 1000;
      const tickMs = sum((r) => r.brokerCpuTickSeconds!) * 1000;
      const boundMs = sum((r) => (r.brokerThreads ?? 0) + 1) * 10;
      lines.push(
        `${t}: ${nsMs.toFixed(1)} ms on CPU over ${rs.length} rounds, ${tickMs.toFixed(0)} ms in ` +
          `ticks (${
            Math.abs(nsMs - tickMs) <= boundMs ? "within" : "OUTSIDE"
          } a tick per thread, ` +
          `${boundMs} ms); ${rs.filter((r) => r.cpuFallback).length} fell back to ticks`,
      );
    }
    out.push(lines.join("\n"));
  }
  return out.join("\n\n");
}

/** Options of {@linkcode runPeers}. */
export interface RunPeersOptions {
  /** Workloads. */
  workloads: PeerWorkload[];
  /** `mock` or `host:port[@pid]`. */
  peer: string;
  /** Rounds. */
  rounds: number;
  /** Client timeout in milliseconds. */
  timeoutMs: number;
  /** CPU profile directory for Sluice. */
  cpuProfDir?: string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** A peer run's report. */
export interface PeerReport {
  /** ISO start time. */
  startedAt: string;
  /** Peer name. */
  peer: string;
  /** Load averages at start and end. */
  loadBefore: string;
  /** Load averages at the end. */
  loadAfter: string;
  /** Every result. */
  results: PeerResult[];
  /** The summary. */
  rows: RatioRow[];
}

const loadavg = async () =>
  (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3).join(" ");

/**
 * Runs every workload against Sluice and the peer, `rounds` times, order rotated.
 *
 * @param o Options.
 * @returns The report.
 * @throws {Error} If a broker cannot start.
 */
export async function runPeers(o: RunPeersOptions): Promise<PeerReport> {
  const log = o.log ?? ((l: string) => console.error(l));
  const tools = await buildPeerTools();
  const report: PeerReport = {
    startedAt: new Date().toISOString(),
    peer: "",
    loadBefore: await loadavg(),
    loadAfter: "",
    results: [],
    rows: [],
  };
  const targets: Target[] = [];
  // Ctrl-C or a kill must not leave a broker running.
  const onSignal = async () => {
    log("interrupted: stopping the brokers");
    for (const t of targets) await t.stop().catch(() => {});
    Deno.exit(130);
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    targets.push(await startSluiceTarget(o.cpuProfDir));
    if (o.peer === "mock") targets.push(await startMockTarget());
    else {
      const [bootstrap, pid] = o.peer.split("@");
      targets.push(externalTarget(bootstrap, pid ? Number(pid) : undefined));
    }
    const peer = targets[1].name;
    report.peer = peer;
    const runId = Date.now().toString(36);
    log(
      `sluice on ${targets[0].bootstrap} (pid ${targets[0].pid}), ${peer} on ${
        targets[1].bootstrap
      } (pid ${targets[1].pid ?? "unknown"})`,
    );
    // a fresh broker runs its first requests through cold code: an unreported run first
    const warm: PeerWorkload = {
      name: "warmup",
      description: "",
      kind: "produce",
      records: Math.min(100_000, Math.max(1000, ...o.workloads.map((w) => w.records))),
      size: 100,
      partitions: 1,
    };
    // and a fifth of each many-connection workload: its first round would otherwise run the
    // paths of hundreds of connections cold (the slowest round of two in three runs, issue #17)
    const warmups = [warm, ...warmConns(o.workloads)];
    for (const t of targets) {
      for (const w of warmups) {
        await runPeerWorkload(t, w, tools, `e2e-${runId}-${w.name}`, o.timeoutMs);
      }
    }
    for (let round = 0; round < o.rounds; round++) {
      for (const [i, w] of o.workloads.entries()) {
        for (const [position, t] of rotation(targets, i + round).entries()) {
          const topic = `e2e-${runId}-${w.name}-${round}`;
          log(`round ${round + 1}/${o.rounds}: ${w.name} on ${t.name}`);
          const r = await runPeerWorkload(t, w, tools, topic, o.timeoutMs);
          if (r.error) log(`  failed: ${r.error}`);
          else if (r.brokerCpuTickSeconds !== undefined) {
            log(
              `  broker CPU ${(r.brokerCpuSeconds * 1000).toFixed(1)} ms (ticks ${
                (r.brokerCpuTickSeconds * 1000).toFixed(0)
              } ms${r.cpuFallback ? `, used: ${r.cpuFallback}` : ""}), ${
                r.cpuMsPerMb.toFixed(3)
              } ms/MB; load ${await loadavg()}`,
            );
          }
          report.results.push({ ...r, round, position });
        }
      }
    }
    report.rows = ratioRows(report.results, peer);
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    for (const t of targets) await t.stop().catch(() => {});
    report.loadAfter = await loadavg();
  }
  return report;
}
