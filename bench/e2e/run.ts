// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * One load-tool run: start a broker process, measure the machine's limits for each workload's
 * bytes, then run every (workload, client) pair one at a time — a consumer and a producer process
 * at once (throughput, end-to-end latency, exactly-once counts, broker CPU and peak RSS), then a
 * second consumer reading the whole topic from the start (consumer throughput). The broker is
 * always stopped, even on error.
 *
 * @module
 */

import { Admin, Client } from "../../client/mod.ts";
import {
  type Baseline,
  batchBytesFor,
  measureFileRewrite,
  measureFileWrite,
  measureLoopbackTcp,
} from "./baselines.ts";
import { type BrokerProcess, resetPeakRss, startBrokerProcess } from "./broker_process.ts";
import { cpuBetween } from "../../tests/process_usage.ts";
import type { ConsumeStats, ProduceStats } from "./payload.ts";
import { buildRdkafkaPerf, type ClientName, startConsumer, startProducer } from "./workers.ts";
import type { Workload } from "./workloads.ts";
import { type CpuProfile, type SelfTime, topSelfTime } from "./profile_summary.ts";

/** The machine's limits for one workload's bytes. */
export interface BaselineSet {
  /** Bytes moved (records × size). */
  bytes: number;
  /** Batch size. */
  batchBytes: number;
  /** Loopback TCP, Deno to Deno. */
  tcp: Baseline;
  /** Sequential write of a new file that is kept (as a log keeps its segments), no fsync. */
  write: Baseline;
  /** The same write into page-cache pages freed just before (an upper bound; see baselines.ts). */
  writeReused?: Baseline;
  /** Sequential file write, fdatasync after every batch. */
  writeFsync: Baseline;
}

/** The outcome of one workload with one client. */
export interface WorkloadResult {
  /** The workload (scaled). */
  workload: Workload;
  /** The client. */
  client: ClientName;
  /** Producer stats. */
  produce?: ProduceStats;
  /** The concurrent consumer's stats (end-to-end latency). */
  e2e?: ConsumeStats;
  /** The from-the-start consumer's stats (consumer throughput). */
  catchup?: ConsumeStats;
  /** Producer records per second. */
  produceRecPerSec: number;
  /** Producer megabytes (10^6 B of values) per second. */
  produceMbPerSec: number;
  /** From-the-start consumer records per second. */
  consumeRecPerSec: number;
  /** From-the-start consumer megabytes per second. */
  consumeMbPerSec: number;
  /** Broker CPU seconds during produce + end-to-end consume. */
  brokerCpuSeconds: number;
  /** Broker peak RSS in bytes during the workload (`-1` if unknown). */
  peakRssBytes: number;
  /** Producer MB/s ÷ loopback TCP MB/s for the same bytes. */
  tcpRatio: number;
  /** Producer MB/s ÷ sequential write MB/s (with fsync when the workload fsyncs). */
  diskRatio: number;
  /** Every record consumed exactly once, by both consumers. */
  exactlyOnce: boolean;
  /** What failed, if anything. */
  error?: string;
}

/** The machine the run was on. */
export interface MachineInfo {
  /** Logical CPUs. */
  cpus: number;
  /** CPU model. */
  cpuModel: string;
  /** Memory in bytes. */
  memoryBytes: number;
  /** Kernel release. */
  kernel: string;
  /** Deno version. */
  deno: string;
  /** librdkafka version, if it ran. */
  librdkafka: string;
  /** 1/5/15-minute load averages at the start. */
  loadBefore: string;
  /** The same at the end. */
  loadAfter: string;
}

/** Everything a run measured. */
export interface E2eReport {
  /** ISO time the run started. */
  startedAt: string;
  /** The command line. */
  command: string;
  /** Record-count factor. */
  scale: number;
  /** The machine. */
  machine: MachineInfo;
  /** The machine's limits, per distinct workload byte count. */
  baselines: BaselineSet[];
  /** One row per workload and client, in run order. */
  results: WorkloadResult[];
  /** Clients that could not run and why. */
  skipped: Array<{ client: ClientName; reason: string }>;
  /** With a CPU profile: the broker's top self-time functions over the whole run. */
  brokerProfile?: { file: string; top: SelfTime[] };
}

/** Options for {@linkcode runE2e}. */
export interface RunE2eOptions {
  /** Workloads, in order. */
  workloads: Workload[];
  /** Clients, in order. */
  clients: ClientName[];
  /** Record-count factor (for the report). */
  scale: number;
  /** The command line (for the report). */
  command: string;
  /** Consumers give up after this long without records. Default 15000. */
  idleMs?: number;
  /** Each worker process is killed after this long. Default 600000. */
  timeoutMs?: number;
  /** Measure loopback TCP and file writes. Default true. */
  baselines?: boolean;
  /** Warm the broker up with an unreported run first. Default true. */
  warmup?: boolean;
  /** Write a CPU profile of the broker here. */
  cpuProfDir?: string;
  /** Progress lines. Default: stderr. */
  log?: (line: string) => void;
}

async function machineInfo(): Promise<MachineInfo> {
  const read = (p: string) => Deno.readTextFile(p).catch(() => "");
  const cpuinfo = await read("/proc/cpuinfo");
  const meminfo = await read("/proc/meminfo");
  const mem = /^MemTotal:\s+(\d+) kB/m.exec(meminfo);
  return {
    cpus: navigator.hardwareConcurrency,
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? "unknown",
    memoryBytes: mem ? Number(mem[1]) * 1024 : 0,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    librdkafka: "",
    loadBefore: (await read("/proc/loadavg")).split(" ").slice(0, 3).join(" "),
    loadAfter: "",
  };
}

async function createTopic(bootstrap: string, w: Workload, topic: string): Promise<void> {
  const client = new Client({ bootstrapServers: bootstrap, clientId: "sluice-e2e-admin" });
  try {
    await new Admin(client).createTopics([{
      name: topic,
      numPartitions: w.partitions,
      configs: w.fsync ? { "flush.messages": "1" } : {},
    }]);
  } finally {
    await client.close();
  }
}

/** Machine limits are measured over at least this many bytes. */
const MIN_BASELINE_BYTES = 64_000_000;

/** Kill functions of the client processes now running. */
const running = new Set<() => void>();

const message = (e: unknown) => e instanceof Error ? e.message : String(e);

function clean(s: ConsumeStats | undefined, records: number): boolean {
  return s !== undefined && s.unique === records && s.duplicates === 0 && s.foreign === 0 &&
    s.consumed === records;
}

async function runOne(
  broker: BrokerProcess,
  w: Workload,
  client: ClientName,
  rdkafka: string | undefined,
  base: BaselineSet | undefined,
  options: Required<Pick<RunE2eOptions, "idleMs" | "timeoutMs">>,
  runId: string,
): Promise<WorkloadResult> {
  const r: WorkloadResult = {
    workload: w,
    client,
    produceRecPerSec: 0,
    produceMbPerSec: 0,
    consumeRecPerSec: 0,
    consumeMbPerSec: 0,
    brokerCpuSeconds: 0,
    peakRssBytes: -1,
    tcpRatio: 0,
    diskRatio: 0,
    exactlyOnce: false,
  };
  const topic = `e2e-${runId}-${w.name}-${client}`;
  const common = {
    bootstrap: broker.bootstrap,
    topic,
    partitions: w.partitions,
    records: w.records,
  };
  const kills: Array<() => void> = [];
  const track = (k: () => void) => {
    kills.push(k);
    running.add(k);
  };
  try {
    await createTopic(broker.bootstrap, w, topic);
    const rssReset = await resetPeakRss(broker.pid);
    const before = await broker.usage();
    const consumer = startConsumer(
      client,
      rdkafka,
      { ...common, idleMs: options.idleMs },
      options.timeoutMs,
    );
    track(consumer.kill);
    await consumer.ready;
    const producer = startProducer(
      client,
      rdkafka,
      { ...common, size: w.size, acks: w.acks, rate: w.rate },
      options.timeoutMs,
    );
    track(producer.kill);
    const [p, c] = await Promise.allSettled([producer.result, consumer.result]);
    const after = await broker.usage();
    r.brokerCpuSeconds = cpuBetween(before, after).seconds;
    r.peakRssBytes = rssReset ? after.peakRssBytes : -1;
    if (p.status === "rejected") throw p.reason;
    r.produce = p.value;
    r.produceRecPerSec = p.value.records / p.value.seconds;
    r.produceMbPerSec = p.value.bytes / 1e6 / p.value.seconds;
    if (base) {
      r.tcpRatio = r.produceMbPerSec / base.tcp.mbPerSec;
      r.diskRatio = r.produceMbPerSec / (w.fsync ? base.writeFsync : base.write).mbPerSec;
    }
    if (p.value.errors > 0) {
      throw new Error(`producer: ${p.value.errors} records failed: ${p.value.firstError}`);
    }
    if (c.status === "rejected") throw c.reason;
    r.e2e = c.value;
    const catchup = startConsumer(
      client,
      rdkafka,
      { ...common, idleMs: options.idleMs },
      options.timeoutMs,
    );
    track(catchup.kill);
    r.catchup = await catchup.result;
    if (r.catchup.seconds > 0) {
      r.consumeRecPerSec = r.catchup.unique / r.catchup.seconds;
      r.consumeMbPerSec = r.catchup.unique * w.size / 1e6 / r.catchup.seconds;
    }
    r.exactlyOnce = clean(r.e2e, w.records) && clean(r.catchup, w.records);
    if (!r.exactlyOnce) {
      const describe = (s: ConsumeStats) =>
        `${s.unique}/${s.records} distinct, ${s.duplicates} duplicates, ${s.foreign} foreign` +
        (s.firstError ? `, error: ${s.firstError}` : "");
      r.error = `not exactly once: end-to-end ${describe(r.e2e)}; from start ${
        describe(r.catchup)
      }`;
    }
  } catch (e) {
    r.error = message(e);
  } finally {
    for (const k of kills) {
      k();
      running.delete(k);
    }
  }
  return r;
}

async function newestProfile(
  dir: string,
  log: (line: string) => void,
): Promise<{ file: string; top: SelfTime[] } | undefined> {
  let newest: { file: string; mtime: number } | undefined;
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.endsWith(".cpuprofile")) continue;
      const mtime = (await Deno.stat(`${dir}/${e.name}`)).mtime?.getTime() ?? 0;
      if (!newest || mtime > newest.mtime) newest = { file: `${dir}/${e.name}`, mtime };
    }
    if (!newest) throw new Error("no .cpuprofile written");
    const profile: CpuProfile = JSON.parse(await Deno.readTextFile(newest.file));
    return { file: newest.file, top: topSelfTime(profile, 20) };
  } catch (e) {
    log(`broker CPU profile in ${dir}: ${message(e)}`);
    return undefined;
  }
}

/**
 * Runs the load tool once (see the module doc).
 *
 * @example
 * ```ts ignore
 * import { runE2e } from "./run.ts";
 * import { selectWorkloads } from "./workloads.ts";
 * const report = await runE2e({
 *   workloads: selectWorkloads(["1kib"], 0.1),
 *   clients: ["rdkafka"],
 *   scale: 0.1,
 *   command: "example",
 * });
 * console.log(report.results[0].produceRecPerSec);
 * ```
 *
 * @param options Workloads, clients, limits.
 * @returns The report; failures of single workloads are in their rows' `error`.
 * @throws {Error} If the broker cannot start.
 */
export async function runE2e(options: RunE2eOptions): Promise<E2eReport> {
  const log = options.log ?? ((l: string) => console.error(l));
  const limits = { idleMs: options.idleMs ?? 15_000, timeoutMs: options.timeoutMs ?? 600_000 };
  const report: E2eReport = {
    startedAt: new Date().toISOString(),
    command: options.command,
    scale: options.scale,
    machine: await machineInfo(),
    baselines: [],
    results: [],
    skipped: [],
  };
  let rdkafka: string | undefined;
  const clients: ClientName[] = [];
  for (const c of options.clients) {
    if (c === "rdkafka") {
      try {
        rdkafka = await buildRdkafkaPerf();
      } catch (e) {
        report.skipped.push({ client: c, reason: message(e) });
        log(`skipping rdkafka: ${message(e)}`);
        continue;
      }
    }
    clients.push(c);
  }
  const broker = await startBrokerProcess({ cpuProfDir: options.cpuProfDir });
  log(`broker pid ${broker.pid} on ${broker.bootstrap}, data in ${broker.dataDir}`);
  const runId = Date.now().toString(36);
  const keptFiles: string[] = [];
  // Ctrl-C or a kill must not leave the broker or a client running.
  const onSignal = async () => {
    log("interrupted: stopping the clients and the broker");
    for (const k of running) k();
    await broker.stop().catch(() => {});
    Deno.exit(130);
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    // Machine limits first, for every workload's bytes, so that their writeback and the
    // workloads do not overlap. The write files are kept until the end (a log keeps its data,
    // and freeing their pages now would hand the first workloads just-freed, fast pages); the
    // just-freed figures come last, after every kept write.
    if (options.baselines ?? true) {
      const sets: { bytes: number; batchBytes: number; moved: number }[] = [];
      for (const w of options.workloads) {
        const bytes = w.records * w.size, batchBytes = batchBytesFor(w.size);
        if (sets.some((b) => b.bytes === bytes && b.batchBytes === batchBytes)) continue;
        // Tiny runs still move enough bytes for a steady rate (the rate is what is compared).
        sets.push({ bytes, batchBytes, moved: Math.max(bytes, MIN_BASELINE_BYTES) });
      }
      const dir = broker.dataDir;
      for (const { bytes, batchBytes, moved } of sets) {
        log(`machine limits for ${bytes} B in ${batchBytes} B batches`);
        const { path: writePath, ...write } = await measureFileWrite(
          dir,
          moved,
          batchBytes,
          false,
          true,
        );
        const { path: fsyncPath, ...writeFsync } = await measureFileWrite(
          dir,
          Math.min(moved, bytes * 4 + 16e6),
          batchBytes,
          true,
          true,
        );
        keptFiles.push(writePath, fsyncPath);
        report.baselines.push({
          bytes,
          batchBytes,
          tcp: await measureLoopbackTcp(moved, batchBytes),
          write,
          writeFsync,
        });
      }
      for (const [i, { batchBytes, moved }] of sets.entries()) {
        report.baselines[i].writeReused = await measureFileRewrite(dir, moved, batchBytes);
      }
    }
    if ((options.warmup ?? true) && clients.length > 0 && options.workloads.length > 0) {
      // A fresh broker runs its first requests through cold (unoptimised) code: warm it up with
      // an unreported run so that the first workload is not penalised.
      const records = Math.min(100_000, Math.max(...options.workloads.map((w) => w.records)));
      const warm: Workload = {
        name: "warmup",
        description: "warm-up, not reported",
        records,
        size: 100,
        partitions: 1,
        acks: 1,
        fsync: false,
        rate: 0,
      };
      log(`warm-up: ${records} records of 100 B with ${clients[0]}`);
      const r = await runOne(broker, warm, clients[0], rdkafka, undefined, limits, runId);
      if (r.error) log(`  warm-up failed: ${r.error}`);
    }
    for (const w of options.workloads) {
      const base = report.baselines.find((b) =>
        b.bytes === w.records * w.size && b.batchBytes === batchBytesFor(w.size)
      );
      for (const c of clients) {
        log(`${w.name} (${w.description}, ${w.records} records) with ${c}`);
        const r = await runOne(broker, w, c, rdkafka, base, limits, runId);
        if (r.error) log(`  ${w.name}/${c} failed: ${r.error}`);
        const v = r.produce as (ProduceStats & { librdkafka?: string }) | undefined;
        if (v?.librdkafka) report.machine.librdkafka = v.librdkafka;
        report.results.push(r);
      }
    }
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    for (const f of keptFiles) await Deno.remove(f).catch(() => {});
    await broker.stop();
    if (options.cpuProfDir) report.brokerProfile = await newestProfile(options.cpuProfDir, log);
    report.machine.loadAfter = (await Deno.readTextFile("/proc/loadavg").catch(() => ""))
      .split(" ").slice(0, 3).join(" ");
  }
  return report;
}
