// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The fuzz loop: starts a broker process, runs the planned cases batch by batch over real TCP
 * (several connections at once; slow deliveries in a few lanes of their own), and after each
 * batch checks that the broker is alive, that a control client still produces and consumes,
 * that resident memory and open files are under their bounds and that the log has no unexpected
 * ERROR line. Every fuzzed request is followed on its connection by an ApiVersions sentinel, so
 * each request ends in a known way: answered (and the answer must decode), handled silently
 * (acks=0), refused (connection closed), parked (a long-poll the broker may hold), or unanswered
 * within the hang bound (a failure).
 *
 * @module
 */

import { apiByKey } from "../../protocol/apis.ts";
import { decodeBody, decodeResponseHeader } from "../../protocol/framing.ts";
import {
  DeleteGroupsRequest,
  DeleteGroupsResponse,
} from "../../protocol/messages/delete_groups.ts";
import {
  DeleteTopicsRequest,
  DeleteTopicsResponse,
} from "../../protocol/messages/delete_topics.ts";
import { APIS as SERVED_APIS } from "../../server/apis/mod.ts";
import { Admin, Client } from "../../client/mod.ts";
import {
  cpuBetween,
  type CpuSample,
  cpuSample,
  type FuzzBroker,
  type ProcessStatus,
  startFuzzBroker,
} from "./broker_process.ts";
import {
  caseOfCorrelation,
  correlationOf,
  describeDelivery,
  type FuzzCase,
  Planner,
} from "./cases.ts";
import { type CorpusFrame, loadCorpus } from "./corpus.ts";
import type { Pools } from "./generate.ts";
import { createControlTopic, probe } from "./probe.ts";
import { loadRequestSpecs } from "./walk.ts";
import { Deadline, deadlineAfter, frame, RawConnection, sentinel, sleep } from "./wire.ts";

/** Settings of a fuzz run. */
export interface FuzzOptions {
  /** Seed (32-bit). */
  seed: number;
  /** Fuzzed requests (cases) to send. */
  requests: number;
  /** Cases per batch; checks run after each. Default 5000. */
  batchSize?: number;
  /** Connections sending whole frames at once. Default 12. */
  workers?: number;
  /** Connections doing slow and partial deliveries at once. Default 32. */
  slowLanes?: number;
  /** A request that may not wait on purpose and is unanswered this long is a hang. Default 10000. */
  hangMs?: number;
  /** How long SIGTERM may take to stop the broker at the end (then SIGKILL). Default 30000. */
  stopTimeoutMs?: number;
  /** Close a request the broker may hold on purpose (long poll) after this long. Default 1500. */
  parkMs?: number;
  /** Control round trips slower than this are counted as slow. Default 1000. */
  probeLimitMs?: number;
  /** Fail when a control round trip is slower than `probeLimitMs` (else only count). */
  strictProbe?: boolean;
  /** Resident memory bound in MiB. Default 1024. */
  maxRssMb?: number;
  /** Open-files bound. Default 2048. */
  maxOpenFiles?: number;
  /** Partitions requests may create per batch. Default 400. */
  partitionBudget?: number;
  /** Most partitions one CreateTopics/CreatePartitions may ask for. Default 64. */
  maxPartitionsPerRequest?: number;
  /** Largest request payload built, bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Share of cases that are admin requests with extreme counts. Default 0.002. */
  heavyShare?: number;
  /** Stop starting batches after this many ms (the run then reports what it did). */
  durationMs?: number;
  /** Only these case indexes (a reproduction), instead of `requests`. */
  only?: number[];
  /** Exactly these cases (a minimisation), instead of planned ones. */
  cases?: FuzzCase[];
  /** Start at this batch. Default 0. */
  fromBatch?: number;
  /** Extra broker overrides (`key=value`). */
  overrides?: string[];
  /** Module to run instead of `cli/main.ts` (a deliberately broken broker, for self-tests). */
  entry?: string;
  /** Write a V8 CPU profile of the broker into this directory. */
  brokerCpuProf?: string;
  /** Append the broker's log to this file. */
  brokerLog?: string;
  /** Environment for the broker process. */
  env?: Record<string, string>;
  /** Corpus (default: the committed one). */
  corpus?: CorpusFrame[];
  /** Progress output. Default `console.log`. */
  log?: (line: string) => void;
  /** Go on after a failure (default: stop after the batch that failed). */
  keepGoing?: boolean;
}

/** Something the fuzzer found. */
export interface Failure {
  /** What kind. */
  kind:
    | "crash"
    | "connect"
    | "hang"
    | "control"
    | "memory"
    | "files"
    | "log"
    | "response"
    | "shutdown";
  /** What happened. */
  message: string;
  /** The case that caused it, when known. */
  caseIndex?: number;
  /** That case's description. */
  desc?: string;
  /** That case's payload, hex (first 4 KiB). */
  payloadHex?: string;
  /** When no single case is known: the cases in flight or just sent, newest first. */
  suspects?: number[];
}

/** Latency figures of the control client. */
export interface ProbeStats {
  /** Round trips. */
  count: number;
  /** Failed round trips. */
  failed: number;
  /** Slowest, ms. */
  maxMs: number;
  /** Median, ms. */
  p50Ms: number;
  /** 99th percentile, ms. */
  p99Ms: number;
  /** Round trips slower than `probeLimitMs`. */
  slow: number;
}

/** What a run did and found. */
export interface FuzzReport {
  /** The seed. */
  seed: number;
  /** Cases sent. */
  requests: number;
  /** Batches completed. */
  batches: number;
  /** Wall time, ms. */
  elapsedMs: number;
  /** How requests ended: answered, silent, closed, parked, dropped. */
  outcomes: Record<string, number>;
  /** Requests sent per source. */
  sources: Record<string, number>;
  /** Per API name: sent, answered, closed. */
  perApi: Record<string, { sent: number; answered: number; closed: number; maxMs: number }>;
  /** Control client after each batch (nothing else running). */
  probeIdle: ProbeStats;
  /** Control client during batches. */
  probeLoaded: ProbeStats;
  /** Resident memory, bytes: after start, highest seen, at the end. */
  rss: { start: number; max: number; end: number };
  /** Open files: after start, highest seen, at the end (after the last cleanup). */
  openFiles: { start: number; max: number; end: number };
  /** Broker log lines per class. */
  logClasses: Record<string, number>;
  /** Failures (empty when the broker held). */
  failures: Failure[];
  /** The broker's exit code after SIGTERM at the end. */
  exitCode: number | null;
}

/** The control topic (never in the generator's pools). */
export const CONTROL_TOPIC = "sluice-fuzz-control";

const POOLS: Pools = {
  topics: [
    ...Array.from({ length: 6 }, (_, i) => `fuzz-${i}`),
    "capture-kcat-t",
    "capture-kafkajs-t",
    "capture-sluice-t",
    "capture-confluent-kafka-t",
  ],
  groups: ["fuzz-g0", "fuzz-g1", "capture-kcat-g", "capture-kafkajs-g", "capture-sluice-g"],
  transactionalIds: ["fuzz-tx0", "fuzz-tx1", "capture-confluent-kafka-txn"],
};

function stats(samples: number[], failed: number, limit: number): ProbeStats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : 0;
  return {
    count: samples.length + failed,
    failed,
    maxMs: Math.round(s.length ? s[s.length - 1] : 0),
    p50Ms: Math.round(at(0.5)),
    p99Ms: Math.round(at(0.99)),
    slow: s.filter((x) => x > limit).length,
  };
}

function hex(b: Uint8Array): string {
  return Array.from(b.subarray(0, 4096), (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Per-case result. */
type Outcome = "answered" | "silent" | "closed" | "parked" | "dropped";

/**
 * Runs a fuzz campaign against a fresh broker process and reports.
 *
 * @example
 * ```ts ignore
 * import { runFuzz } from "./runner.ts";
 * const report = await runFuzz({ seed: 1, requests: 10_000 });
 * console.log(report.failures.length === 0);
 * ```
 *
 * @param options Seed, size, bounds.
 * @returns The report.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const o = {
    batchSize: 5000,
    workers: 12,
    slowLanes: 32,
    hangMs: 10_000,
    stopTimeoutMs: 30_000,
    parkMs: 1500,
    probeLimitMs: 1000,
    strictProbe: false,
    maxRssMb: 1024,
    maxOpenFiles: 2048,
    partitionBudget: 400,
    maxPartitionsPerRequest: 64,
    maxBytes: 1 << 20,
    durationMs: Infinity,
    fromBatch: 0,
    overrides: [],
    log: (l: string) => console.log(l),
    keepGoing: false,
    ...options,
  };
  const log = o.log;
  const planner = await makePlanner(o);
  const started = performance.now();
  const broker = await startFuzzBroker({
    overrides: o.overrides,
    entry: o.entry,
    env: o.env,
    logFile: o.brokerLog,
    cpuProfDir: o.brokerCpuProf,
  });
  const report: FuzzReport = {
    seed: o.seed,
    requests: 0,
    batches: 0,
    elapsedMs: 0,
    outcomes: {},
    sources: {},
    perApi: {},
    probeIdle: stats([], 0, o.probeLimitMs),
    probeLoaded: stats([], 0, o.probeLimitMs),
    rss: { start: 0, max: 0, end: 0 },
    openFiles: { start: 0, max: 0, end: 0 },
    logClasses: {},
    failures: [],
    exitCode: null,
  };
  const idle: number[] = [];
  const loaded: number[] = [];
  let idleFailed = 0;
  let loadedFailed = 0;
  // Which cases used which local port, for log lines that name a connection.
  const portCases = new Map<number, number[]>();
  const casesByIndex = new Map<number, FuzzCase>();
  let lastCases: number[] = [];
  let olderCases: number[] = [];
  const recent: FuzzCase[] = [];
  // Cases being sent or waited for, with their start times: a hang names the longest-running
  // others, which are often what the broker was busy with.
  const inflight = new Map<number, { c: FuzzCase; t: number }>();
  const othersNote = (self: number): string => {
    const now = performance.now();
    const others = [...inflight.values()].filter((x) => x.c.index !== self);
    const oldest = [...others].sort((a, b) => a.t - b.t).slice(0, 3);
    const large = others.filter((x) => isHeavy(x.c) && !oldest.includes(x));
    const show = (x: { c: FuzzCase; t: number }) =>
      `case ${x.c.index} (${((now - x.t) / 1000).toFixed(1)} s, ${x.c.payload.length} bytes: ` +
      `${x.c.desc.slice(0, 120)})`;
    return (others.length
      ? `; longest in flight: ${[...oldest, ...large].map(show).join("; ")}`
      : "") + cpuNote();
  };
  // CPU of the broker and the machine, sampled every second: a hang report says whether the
  // broker was busy (a whole core: it was doing something for too long) or idle while requests
  // waited (waiting on I/O or a lock, or starved by the machine).
  const cpu: CpuSample[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        cpu.push(await cpuSample(broker.pid));
        if (cpu.length > 120) cpu.shift();
      } catch {
        // the broker is gone: the crash is reported elsewhere
      }
      await sleep(1000);
    }
  })();
  const cpuNote = (): string => {
    const last = cpu[cpu.length - 1];
    if (last === undefined) return "";
    const from = cpu.find((x) => x.at >= last.at - o.hangMs) ?? cpu[0];
    return from === last ? "" : `; CPU ${cpuBetween(from, last)}`;
  };

  const fail = (f: Failure) => {
    if (report.failures.length < 50) report.failures.push(f);
    log(
      `FAILURE ${f.kind}: ${f.message}${
        f.caseIndex !== undefined ? ` (case ${f.caseIndex}: ${f.desc})` : ""
      }`,
    );
  };
  const attribute = (line: string): FuzzCase | undefined => {
    const corr = /correlation id (-?\d+)/.exec(line);
    if (corr) {
      const near = recent.length ? recent[recent.length - 1].index : 0;
      const c = casesByIndex.get(caseOfCorrelation(Number(corr[1]), near));
      if (c) return c;
    }
    const port = /from 127\.0\.0\.1:(\d+)/.exec(line);
    if (port) {
      const list = portCases.get(Number(port[1]));
      if (list?.length) return casesByIndex.get(list[list.length - 1]);
    }
    return undefined;
  };
  // The last cases to finish, newest last. A crash from a timer comes just after its request
  // was handled, and the cases cut off by the crash finish after it: so the suspects are the
  // last handled requests first, then those in flight, then the rest.
  const finished: Array<{ index: number; handled: boolean }> = [];
  const suspects = () => {
    const newest = [...finished].reverse();
    const out = new Set<number>(newest.filter((f) => f.handled).slice(0, 12).map((f) => f.index));
    const open = [...inflight.values()].sort((a, b) => b.t - a.t).map((x) => x.c.index);
    for (const i of open) out.add(i);
    for (const f of newest) out.add(f.index);
    return [...out].slice(0, 24);
  };
  const logClassesSeen = new Map<string, number>();
  broker.onUnexpected = (u) => {
    // One failure per class (an uncaught exception prints a whole stack, line by line).
    const seen = logClassesSeen.get(u.cls.startsWith("not a log line") ? "stderr" : u.cls) ?? 0;
    logClassesSeen.set(u.cls.startsWith("not a log line") ? "stderr" : u.cls, seen + 1);
    if (seen >= 3 || (seen >= 1 && u.cls.startsWith("not a log line"))) return;
    const c = attribute(u.line);
    fail({
      kind: "log",
      message: `${u.cls}: ${u.line}`,
      caseIndex: c?.index,
      desc: c?.desc,
      payloadHex: c && hex(c.payload),
      suspects: c ? undefined : suspects(),
    });
  };
  let crashed = false;
  let stopping = false;
  const onExit = (s: Deno.CommandStatus) => {
    if (stopping || crashed) return;
    crashed = true;
    fail({
      kind: "crash",
      message:
        `broker exited with code ${s.code}${s.signal ? ` (${s.signal})` : ""}; last lines: ` +
        broker.tail().slice(-8).join(" | "),
      suspects: suspects(),
    });
  };
  broker.exited.then(onExit);

  const count = (table: Record<string, number>, key: string) => table[key] = (table[key] ?? 0) + 1;
  const apiStats = (c: FuzzCase) => {
    const name = c.apiKey >= 0 ? (apiByKey(c.apiKey)?.name ?? `Api${c.apiKey}`) : "(no header)";
    return report.perApi[name] ??= { sent: 0, answered: 0, closed: 0, maxMs: 0 };
  };

  const checkStatus = async (when: string): Promise<ProcessStatus | undefined> => {
    let st: ProcessStatus;
    try {
      st = await broker.status();
    } catch {
      return undefined;
    }
    report.rss.max = Math.max(report.rss.max, st.rssBytes);
    report.openFiles.max = Math.max(report.openFiles.max, st.openFiles);
    if (st.rssBytes > o.maxRssMb * 1024 * 1024) {
      fail({
        kind: "memory",
        message: `RSS ${(st.rssBytes / 2 ** 20).toFixed(0)} MiB ${when} (bound ${o.maxRssMb} MiB)`,
      });
    }
    if (st.openFiles > o.maxOpenFiles) {
      fail({
        kind: "files",
        message: `${st.openFiles} open files ${when} (bound ${o.maxOpenFiles})`,
      });
    }
    return st;
  };

  try {
    await createControlTopic(broker.bootstrap, CONTROL_TOPIC, o.hangMs);
    const first = await probe(broker.bootstrap, CONTROL_TOPIC, o.hangMs);
    if (!first.ok) throw new Error(`control client fails before fuzzing: ${first.error}`);
    const st = await checkStatus("after start");
    report.rss.start = st?.rssBytes ?? 0;
    report.openFiles.start = st?.openFiles ?? 0;
    const batches = o.only || o.cases ? 1 : Math.ceil(o.requests / o.batchSize);
    for (let b = o.fromBatch; b < o.fromBatch + batches; b++) {
      if (performance.now() - started > o.durationMs) {
        log(`time bound reached after ${report.batches} batches`);
        break;
      }
      const cases = o.cases
        ? o.cases
        : o.only
        ? o.only.map((i) => planner.case(i))
        : planner.batch(b).slice(
          0,
          Math.min(o.batchSize, o.requests - (b - o.fromBatch) * o.batchSize),
        );
      // this batch's cases and the last batch's: a log line of the last batch's final requests
      // can be read from the broker's stderr after this batch has started (a loaded machine)
      for (const i of olderCases) casesByIndex.delete(i);
      olderCases = lastCases;
      lastCases = cases.map((c) => c.index);
      for (const c of cases) casesByIndex.set(c.index, c);
      const t0 = performance.now();
      const cpu0 = await cpuSample(broker.pid).catch(() => undefined);
      const before = { ...report.outcomes };
      // Control probes while the batch runs.
      let batchDone = false;
      let wake = () => {};
      const loadProbes = (async () => {
        while (!batchDone && !crashed) {
          await new Promise<void>((r) => {
            wake = r;
            setTimeout(r, 2000);
          });
          if (batchDone || crashed) break;
          const r = await probe(broker.bootstrap, CONTROL_TOPIC, o.hangMs);
          if (r.ok) loaded.push(r.ms);
          else {
            loadedFailed++;
            fail({ kind: "control", message: `control client failed under load: ${r.error}` });
          }
          if (r.ok && r.ms > o.probeLimitMs && o.strictProbe) {
            fail({
              kind: "control",
              message: `control round trip took ${r.ms.toFixed(0)} ms under load`,
            });
          }
        }
      })();
      // Whole frames on `workers` connections; slow deliveries on `slowLanes`; large requests
      // (seconds of broker CPU each) one at a time, so they do not pile up.
      const heavy = cases.filter((c) => isHeavy(c));
      const slow = cases.filter((c) => !isHeavy(c) && !isFast(c));
      const fast = cases.filter((c) => !isHeavy(c) && isFast(c));
      let next = 0;
      let nextSlow = 0;
      let nextHeavy = 0;
      const runLane = async (list: FuzzCase[], take: () => number) => {
        let conn: RawConnection | null = null;
        let uses = 0;
        for (;;) {
          if (crashed) break;
          const i = take();
          if (i >= list.length) break;
          const c = list[i];
          recent.push(c);
          if (recent.length > 64) recent.shift();
          count(report.sources, c.source);
          const api = apiStats(c);
          api.sent++;
          const t = performance.now();
          let outcome: Outcome;
          try {
            if (conn === null || conn.closed || uses >= 64 || c.delivery.kind !== "whole") {
              conn?.close();
              conn = await RawConnection.open(broker.port);
              uses = 0;
              const list = portCases.get(conn.localPort) ?? [];
              portCases.set(conn.localPort, list);
            }
            uses++;
            const pc = portCases.get(conn.localPort)!;
            pc.push(c.index);
            if (pc.length > 4) pc.shift();
            inflight.set(c.index, { c, t });
            outcome = await runCase(
              conn,
              c,
              o,
              (f) =>
                fail(f.kind === "hang" ? { ...f, message: f.message + othersNote(c.index) } : f),
            );
          } catch (e) {
            // A refused connection is how a dead broker shows first: give its exit a moment.
            await Promise.race([broker.exited, sleep(500)]);
            if (crashed || broker.exitStatus() !== undefined) break;
            fail({
              kind: "connect",
              message: `cannot connect or send: ${e instanceof Error ? e.message : e}`,
              caseIndex: c.index,
              desc: c.desc,
            });
            outcome = "closed";
          }
          inflight.delete(c.index);
          api.maxMs = Math.max(api.maxMs, Math.round(performance.now() - t));
          finished.push({
            index: c.index,
            handled: outcome === "answered" || outcome === "silent",
          });
          if (finished.length > 256) finished.shift();
          if (outcome === "answered") api.answered++;
          if (outcome === "closed") api.closed++;
          count(report.outcomes, outcome);
          report.requests++;
          if (outcome !== "answered" && outcome !== "silent") {
            conn?.close();
            conn = null;
          }
        }
        conn?.close();
      };
      const lanes: Promise<void>[] = [];
      for (let w = 0; w < o.workers; w++) lanes.push(runLane(fast, () => next++));
      for (let w = 0; w < o.slowLanes; w++) lanes.push(runLane(slow, () => nextSlow++));
      lanes.push(runLane(heavy, () => nextHeavy++));
      await Promise.all(lanes.slice(0, o.workers));
      const fastMs = performance.now() - t0;
      await Promise.all(lanes);
      batchDone = true;
      wake();
      await loadProbes;
      const batchMs = performance.now() - t0;
      const cpu1 = await cpuSample(broker.pid).catch(() => undefined);
      if (crashed) break;
      await sleep(200); // let the broker's last log lines arrive
      const r = await probe(broker.bootstrap, CONTROL_TOPIC, o.hangMs);
      if (r.ok) idle.push(r.ms);
      else {
        idleFailed++;
        fail({ kind: "control", message: `control client failed after batch ${b}: ${r.error}` });
      }
      if (r.ok && r.ms > o.probeLimitMs && o.strictProbe) {
        fail({
          kind: "control",
          message: `control round trip took ${r.ms.toFixed(0)} ms after batch ${b}`,
        });
      }
      const peak = await checkStatus(`after batch ${b}`);
      const left = await cleanup(broker, o.hangMs);
      const after = await checkStatus(`after batch ${b} cleanup`);
      report.batches++;
      const delta = Object.entries(report.outcomes).map(([k, v]) => `${k} ${v - (before[k] ?? 0)}`);
      log(
        `batch ${b}: ${cases.length} requests in ${(batchMs / 1000).toFixed(1)} s ` +
          `(${Math.round(cases.length / (batchMs / 1000))}/s, whole frames done after ` +
          `${(fastMs / 1000).toFixed(1)} s; ${delta.join(", ")}); control ` +
          `${r.ok ? `${r.ms.toFixed(0)} ms` : "FAILED"}; RSS ${mb(peak?.rssBytes)} MiB; ` +
          `open files ${peak?.openFiles} (${after?.openFiles} after cleanup, ${left} topics left)` +
          (cpu0 && cpu1 ? `; CPU ${cpuBetween(cpu0, cpu1)}` : ""),
      );
      if (report.failures.length > 0 && !o.keepGoing) break;
    }
  } finally {
    sampling = false;
    await sampler;
    const early = broker.exitStatus();
    if (early !== undefined) onExit(early);
    report.probeIdle = stats(idle, idleFailed, o.probeLimitMs);
    report.probeLoaded = stats(loaded, loadedFailed, o.probeLimitMs);
    const end = crashed ? undefined : await broker.status().catch(() => undefined);
    report.rss.end = end?.rssBytes ?? 0;
    report.openFiles.end = end?.openFiles ?? 0;
    stopping = true;
    const status = await broker.stop(o.stopTimeoutMs);
    report.exitCode = status.code;
    if (!crashed && status.code !== 0) {
      fail({
        kind: "shutdown",
        message: `broker exited with code ${status.code} after SIGTERM: ${
          broker.tail().slice(-5).join(" | ")
        }`,
      });
    }
    for (const [k, v] of broker.counts) report.logClasses[k] = v;
    report.elapsedMs = performance.now() - started;
  }
  return report;
}

/**
 * The planner of a run (same seed, batch size and budgets give the same cases).
 *
 * @param options The run's options.
 * @returns The planner.
 */
export async function makePlanner(options: FuzzOptions): Promise<Planner> {
  const specs = await loadRequestSpecs();
  const corpus = options.corpus ?? await loadCorpus();
  const served = new Map(SERVED_APIS.map((a) => [a.key, a.maxVersion]));
  return new Planner({ specs, corpus, served, pools: POOLS }, {
    seed: options.seed,
    batchSize: options.batchSize ?? 5000,
    partitionBudget: options.partitionBudget ?? 400,
    maxPartitionsPerRequest: options.maxPartitionsPerRequest ?? 64,
    partitionLimit: BROKER_PARTITION_LIMIT,
    maxBytes: options.maxBytes ?? 1 << 20,
    maxFrame: MAX_FRAME,
    numPartitions: 1,
    heavyShare: options.heavyShare ?? 0.002,
  });
}

/** The broker's `max.broker.partitions` (its default). */
const BROKER_PARTITION_LIMIT = 10_000;

/** The broker's `socket.request.max.bytes` (its default, Kafka's). */
const MAX_FRAME = 104857600;

function mb(b: number | undefined): string {
  return b === undefined ? "?" : (b / 2 ** 20).toFixed(0);
}

/** Requests above this size take the heavy lane. */
const HEAVY_BYTES = 64 * 1024;

function isHeavy(c: FuzzCase): boolean {
  return c.payload.length > HEAVY_BYTES;
}

function isFast(c: FuzzCase): boolean {
  return c.delivery.kind === "whole" || c.delivery.kind === "badsize";
}

/** Runs one case on `conn`; returns how it ended. */
async function runCase(
  conn: RawConnection,
  c: FuzzCase,
  o: { hangMs: number; parkMs: number },
  fail: (f: Failure) => void,
): Promise<Outcome> {
  const d = c.delivery;
  const wire = frame(c.payload);
  switch (d.kind) {
    case "prefix": {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, d.size);
      await conn.write(b).catch(() => {});
      await sleep(d.holdMs);
      conn.close();
      return "dropped";
    }
    case "cut":
      await conn.write(wire.subarray(0, d.at)).catch(() => {});
      await sleep(d.holdMs);
      conn.close();
      return "dropped";
    case "badsize": {
      try {
        await conn.write(frame(c.payload, d.size));
      } catch {
        return "closed";
      }
      conn.closeWrite();
      const deadline = deadlineAfter(c.parkMs > 0 ? o.parkMs : o.hangMs);
      try {
        let answered = false;
        for (;;) {
          const f = await conn.readFrame(deadline.promise);
          if (f === null) return answered ? "answered" : "closed";
          answered = true;
        }
      } catch (e) {
        if (!(e instanceof Deadline)) throw e;
        if (c.parkMs > 0) return "parked";
        fail({
          kind: "hang",
          message: `connection still open ${o.hangMs} ms after a ${
            describeDelivery(d)
          } and a half-close`,
          caseIndex: c.index,
          desc: c.desc,
          payloadHex: hex(c.payload),
        });
        return "parked";
      } finally {
        deadline.cancel();
      }
    }
  }
  const corr = correlationOf(c.index);
  try {
    if (d.kind === "whole") {
      const s = sentinel(corr + 1);
      const both = new Uint8Array(wire.length + s.length);
      both.set(wire);
      both.set(s, wire.length);
      await conn.write(both);
    } else if (d.kind === "dribble") {
      for (let i = 0; i < wire.length; i++) {
        await conn.write(wire.subarray(i, i + 1));
        if (d.delayMs > 0) await sleep(d.delayMs);
      }
      await conn.write(sentinel(corr + 1));
    } else {
      let at = 0;
      for (const cut of [...d.cuts, wire.length]) {
        await conn.write(wire.subarray(at, cut));
        at = cut;
        if (cut < wire.length && d.pauseMs > 0) await sleep(d.pauseMs);
      }
      await conn.write(sentinel(corr + 1));
    }
  } catch {
    return "closed";
  }
  const deadline = deadlineAfter(c.parkMs > 0 ? o.parkMs : o.hangMs);
  let answered = false;
  try {
    for (;;) {
      const f = await conn.readFrame(deadline.promise);
      if (f === null) return "closed";
      const got = f.length >= 4 ? new DataView(f.buffer, f.byteOffset).getInt32(0) : NaN;
      if (got === corr + 1) return answered ? "answered" : "silent";
      if (got === corr && !answered) {
        answered = true;
        const bad = checkResponse(c, f);
        if (bad) {
          fail({
            kind: "response",
            message: bad,
            caseIndex: c.index,
            desc: c.desc,
            payloadHex: hex(c.payload),
          });
        }
        continue;
      }
      fail({
        kind: "response",
        message: `response with correlation id ${got} while waiting for ${corr} or ${corr + 1}`,
        caseIndex: c.index,
        desc: c.desc,
        payloadHex: hex(c.payload),
      });
      return "closed";
    }
  } catch (e) {
    if (!(e instanceof Deadline)) throw e;
    conn.close();
    if (c.parkMs > 0) return "parked";
    fail({
      kind: "hang",
      message: `no answer within ${o.hangMs} ms (${
        answered
          ? "the request was answered, its sentinel was not"
          : "neither the request nor its sentinel was answered"
      })`,
      caseIndex: c.index,
      desc: c.desc,
      payloadHex: hex(c.payload),
    });
    return "parked";
  } finally {
    deadline.cancel();
  }
}

const SERVED_MAX = new Map(SERVED_APIS.map((a) => [a.key, a.maxVersion]));

/** Checks that an answer decodes as the response to `c`; returns what is wrong, or null. */
function checkResponse(c: FuzzCase, resp: Uint8Array): string | null {
  const api = apiByKey(c.apiKey);
  if (!api || !SERVED_MAX.has(c.apiKey)) return `answered API key ${c.apiKey}, which is not served`;
  let version = c.version;
  if (c.apiKey === 18 && (version < 0 || version > SERVED_MAX.get(18)!)) version = 0;
  if (version < api.response.minVersion || version > api.response.maxVersion) {
    return `answered ${api.name} v${version}, a version that has no response layout`;
  }
  try {
    const { bodyOffset } = decodeResponseHeader(resp, c.apiKey, version);
    decodeBody(api.response, resp, bodyOffset, version);
  } catch (e) {
    return `${api.name} v${version} response does not decode: ${
      e instanceof Error ? e.message : e
    }`;
  }
  return null;
}

/**
 * Deletes every topic but the control topic and the internal ones, and every group.
 *
 * @returns How many topics could not be deleted (-1 if the broker did not answer).
 */
async function cleanup(broker: FuzzBroker, timeoutMs: number): Promise<number> {
  const client = new Client({ bootstrapServers: broker.bootstrap, requestTimeoutMs: timeoutMs });
  const keep = new Set([CONTROL_TOPIC, "__consumer_offsets", "__transaction_state"]);
  const admin = new Admin(client);
  try {
    const topics = (await admin.listTopics({ includeInternal: true })).filter((t) => !keep.has(t));
    for (let i = 0; i < topics.length; i += 200) {
      await client.send(
        "any",
        { request: DeleteTopicsRequest, response: DeleteTopicsResponse },
        DeleteTopicsRequest.create({ topicNames: topics.slice(i, i + 200), timeoutMs }),
        { version: 4 },
      );
    }
    const groups = (await new Admin(client).listGroups()).map((g) => g.groupId);
    for (let i = 0; i < groups.length; i += 500) {
      await client.send(
        "any",
        { request: DeleteGroupsRequest, response: DeleteGroupsResponse },
        DeleteGroupsRequest.create({
          groupsNames: groups.slice(i, i + 500),
        }),
      );
    }
    return (await admin.listTopics({ includeInternal: true })).filter((t) => !keep.has(t)).length;
  } catch {
    // A broker that cannot clean up also fails the control client; that is where it is reported.
    return -1;
  } finally {
    await client.close().catch(() => {});
  }
}
