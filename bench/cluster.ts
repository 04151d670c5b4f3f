// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `deno task bench:cluster`: replication's cost as librdkafka sees it (issue #13). In one run, on
 * this machine:
 *
 * - a **cluster**: one etcd member (`tests/etcd.ts`) and three broker processes in cluster mode
 *   (`bench/e2e/broker_process.ts`, default settings), each topic created with replication
 *   factor 3 and `min.insync.replicas=2`, written with acks=all;
 * - a **standalone** broker process (`bench/e2e/broker_process.ts`), each topic written with
 *   acks=1.
 *
 * Both are written by the load tool's librdkafka producer (`bench/e2e/rdkafka_perf.c`, no
 * consumer running) with the same record count, size and partitions, one measurement at a time.
 * Each round measures both, and the order alternates from round to round (standalone first in
 * rounds 1, 3, ...; the cluster first in rounds 2, 4, ...) so that drift in the machine's load
 * shows in both. Every topic gets a fresh name; in the cluster it is written only once its ISR
 * holds all three replicas. After each measurement (untimed) the cluster's ISR must hold all three
 * again, the records are read back with librdkafka (every one must be there; a record read twice
 * was sent twice by the producer, which is not idempotent, as in `bench:e2e`: it retries after a
 * leader change), and the topic is deleted. Before the first round each side gets one unreported
 * warm-up run (the brokers' JIT).
 *
 * The report gives each measurement's producer rate, the CPU seconds of every broker process
 * (its threads' nanoseconds on CPU, `cpuBetween` of `tests/process_usage.ts`) and of the producer, the brokers' WARN/ERROR log lines during it (a
 * starved etcd fences brokers and moves leaders on a loaded machine), the per-round ratio
 * cluster ÷ standalone, and the ratio of the medians (issue #13's bar: ≥ 40%).
 *
 * @example
 * ```sh
 * deno task bench:cluster                                # 3 rounds of 1M records of 100 B
 * deno task bench:cluster --rounds 5 --records 500000 --json /tmp/cluster.json
 * deno task bench:cluster --cpu-prof /tmp/prof           # V8 profiles of the three brokers
 * ```
 *
 * Needs `-A` (etcd, the brokers, `cc` for rdkafka_perf, `/proc`), `etcd` (Debian
 * `etcd-server`) and librdkafka's headers (`librdkafka-dev`).
 *
 * @module
 */

import { parseFlags } from "./flags.ts";
import { Admin, Client } from "../client/mod.ts";
import { type BrokerProcess, startBrokerProcess } from "./e2e/broker_process.ts";
import type { ConsumeStats, ProduceStats } from "./e2e/payload.ts";
import { buildRdkafkaPerf, startConsumer, startProducer } from "./e2e/workers.ts";
import { freePort } from "../tests/chaos/broker.ts";
import { cpuBetween, type ProcessUsage, processUsage } from "../tests/process_usage.ts";
import { until } from "../tests/cluster/harness.ts";
import { startEtcd, type TestEtcd } from "../tests/etcd.ts";

/** Help text. */
export const HELP: string = `Usage: deno run -A bench/cluster.ts [OPTIONS]

Compares a 3-broker cluster (RF=3, min.insync.replicas=2, acks=all) with one standalone broker
(acks=1), both written by librdkafka (bench/e2e/rdkafka_perf.c), in alternating order.

Options:
  --records N        Records per measurement (default 1000000)
  --size N           Value size in bytes, at least 16 (default 100)
  --partitions N     Topic partitions (default 1)
  --rounds N         Rounds; each measures both sides (default 3, at most 20)
  --timeout-s N      Kill a producer or consumer after N seconds (default 300)
  --max-minutes N    Stop starting rounds after N minutes (default 30)
  --json FILE        Write every figure as JSON
  --cpu-prof DIR     Write V8 CPU profiles of the three cluster brokers into DIR
  --override K=V     A setting for the cluster brokers (repeatable; default: none)
  --no-verify        Skip reading the records back
  --no-warmup        Skip the unreported warm-up run on each side
  -h, --help         Show this help

Exit code: 0 when every measurement ran and (unless --no-verify) every record was read back, 1
otherwise, 2 on bad usage.
`;

/** Parsed command line. */
export interface ClusterBenchArgs {
  /** Records per measurement. */
  records: number;
  /** Value size. */
  size: number;
  /** Partitions. */
  partitions: number;
  /** Rounds. */
  rounds: number;
  /** Worker limit in milliseconds. */
  timeoutMs: number;
  /** Overall limit in milliseconds. */
  maxMs: number;
  /** JSON output. */
  json?: string;
  /** CPU profile directory for the cluster brokers. */
  cpuProf?: string;
  /** `key=value` settings of the cluster brokers. */
  overrides: string[];
  /** Read the records back. */
  verify: boolean;
  /** Unreported warm-up run. */
  warmup: boolean;
  /** Help asked for. */
  help: boolean;
}

function integer(flag: string, v: string | undefined, fallback: number, min: number, max: number) {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new RangeError(`${flag} ${v} is invalid: expected an integer from ${min} to ${max}`);
  }
  return n;
}

/**
 * Parses the flags of `bench/cluster.ts`.
 *
 * @example
 * ```ts
 * import { parseClusterBenchArgs } from "./cluster.ts";
 * console.log(parseClusterBenchArgs(["--rounds", "4"]).rounds); // 4
 * ```
 *
 * @param args Command-line arguments.
 * @returns The options.
 * @throws {RangeError} On an unknown flag or a bad number.
 */
export function parseClusterBenchArgs(args: string[]): ClusterBenchArgs {
  const values = parseFlags(args, {
    records: { type: "string" },
    size: { type: "string" },
    partitions: { type: "string" },
    rounds: { type: "string" },
    "timeout-s": { type: "string" },
    "max-minutes": { type: "string" },
    json: { type: "string" },
    "cpu-prof": { type: "string" },
    override: { type: "string", multiple: true },
    "no-verify": { type: "boolean" },
    "no-warmup": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  return {
    records: integer("--records", values.records, 1_000_000, 1, 100_000_000),
    size: integer("--size", values.size, 100, 16, 1_000_000),
    partitions: integer("--partitions", values.partitions, 1, 1, 1000),
    rounds: integer("--rounds", values.rounds, 3, 1, 20),
    timeoutMs: integer("--timeout-s", values["timeout-s"], 300, 1, 3600) * 1000,
    maxMs: integer("--max-minutes", values["max-minutes"], 30, 1, 600) * 60_000,
    json: values.json,
    cpuProf: values["cpu-prof"],
    overrides: values.override ?? [],
    verify: !values["no-verify"],
    warmup: !values["no-warmup"],
    help: values.help ?? false,
  };
}

/** Which side a measurement is of. */
export type Side = "standalone" | "cluster";

/** One measurement. */
export interface Measurement {
  /** Round (1-based). */
  round: number;
  /** Side. */
  side: Side;
  /** Position in its round (1 or 2). */
  position: number;
  /** Producer acks. */
  acks: 1 | -1;
  /** Producer records per second. */
  recPerSec: number;
  /** Producer megabytes (10^6 B of values) per second. */
  mbPerSec: number;
  /** First send to last acknowledgement. */
  seconds: number;
  /** CPU seconds of each broker process during the produce (one entry standalone). */
  brokerCpuSeconds: number[];
  /** The producer's CPU seconds. */
  producerCpuSeconds: number;
  /** Every record read back (`undefined` when not verified). */
  complete?: boolean;
  /**
   * Records read back twice: the producer (not idempotent, as in bench:e2e) sent them again,
   * e.g. after a leader change.
   */
  duplicates?: number;
  /** The brokers' WARN and ERROR log lines during the measurement (the first 20). */
  brokerWarnings: string[];
  /** How many there were. */
  brokerWarningCount: number;
  /**
   * How many times a broker was fenced (its etcd lease not kept alive for
   * `broker.session.timeout.ms`: on a loaded machine, a starved etcd or broker); its partitions'
   * leaders move then, and the producer waits and retries.
   */
  brokerFences: number;
  /** librdkafka's version, as the producer reported it. */
  librdkafka?: string;
  /** What failed, if anything. */
  error?: string;
}

/** Everything a run measured. */
export interface ClusterBenchReport {
  /** ISO time the run started. */
  startedAt: string;
  /** The command line. */
  command: string;
  /** Options. */
  records: number;
  /** Value size. */
  size: number;
  /** Partitions. */
  partitions: number;
  /** librdkafka's version. */
  librdkafka: string;
  /** 1/5/15-minute load averages at the start. */
  loadBefore: string;
  /** The same at the end. */
  loadAfter: string;
  /** Every measurement, in run order. */
  runs: Measurement[];
  /** Median producer rate of each side. */
  medianRecPerSec: Record<Side, number>;
  /** Median cluster ÷ median standalone. */
  ratio: number;
  /** Cluster ÷ standalone within each round that measured both. */
  roundRatios: number[];
  /** The ratio of the medians over the rounds in which no broker was fenced (NaN if none). */
  undisturbedRatio: number;
}

const loadavg = async () =>
  (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ").slice(0, 3).join(" ");

const message = (e: unknown) => e instanceof Error ? e.message : String(e);

/**
 * The median of a list (the mean of the middle two for an even count).
 *
 * @example
 * ```ts
 * import { median } from "./cluster.ts";
 * console.log(median([3, 1, 2, 10])); // 2.5
 * ```
 *
 * @param xs Numbers.
 * @returns The median, `NaN` for an empty list.
 */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The order of the two sides in round `round` (1-based): standalone first in odd rounds.
 *
 * @example
 * ```ts
 * import { roundOrder } from "./cluster.ts";
 * console.log(roundOrder(2)); // ["cluster", "standalone"]
 * ```
 *
 * @param round Round number.
 * @returns The sides in measurement order.
 */
export function roundOrder(round: number): [Side, Side] {
  return round % 2 === 1 ? ["standalone", "cluster"] : ["cluster", "standalone"];
}

/** What a side needs for one measurement. */
interface Target {
  side: Side;
  acks: 1 | -1;
  bootstrap: string;
  pids: () => number[];
  create(topic: string): Promise<void>;
  settle(topic: string): Promise<void>;
  remove(topic: string): Promise<void>;
}

async function withAdmin<T>(bootstrap: string, f: (a: Admin) => Promise<T>): Promise<T> {
  const client = new Client({ bootstrapServers: bootstrap, clientId: "sluice-bench-cluster" });
  try {
    return await f(new Admin(client));
  } finally {
    await client.close();
  }
}

function standaloneTarget(broker: BrokerProcess, partitions: number): Target {
  return {
    side: "standalone",
    acks: 1,
    bootstrap: broker.bootstrap,
    pids: () => [broker.pid],
    create: (topic) =>
      withAdmin(
        broker.bootstrap,
        (a) => a.createTopics([{ name: topic, numPartitions: partitions }]),
      )
        .then(() => {}),
    settle: () => Promise.resolve(),
    remove: (topic) => withAdmin(broker.bootstrap, (a) => a.deleteTopics([topic])),
  };
}

function clusterTarget(brokers: BrokerProcess[], partitions: number): Target {
  const bootstrap = brokers.map((b) => b.bootstrap).join(",");
  // Every replica in the ISR: before a measurement (so that acks=all waits for three replicas, as
  // it would in a healthy cluster) and after it (so that the followers' logs are complete).
  const fullIsr = (topic: string) =>
    until(
      `${topic}: every partition's ISR holds its 3 replicas`,
      () =>
        withAdmin(bootstrap, async (a) => {
          const [t] = await a.describeTopics([topic]);
          return t.partitions.length === partitions &&
            t.partitions.every((p) =>
              p.leader >= 0 && p.replicas.length === 3 && p.isr.length === 3
            );
        }).catch(() => false),
      60_000,
    );
  return {
    side: "cluster",
    acks: -1,
    bootstrap,
    pids: () => brokers.map((b) => b.pid),
    async create(topic) {
      await withAdmin(bootstrap, (a) =>
        a.createTopics([{
          name: topic,
          numPartitions: partitions,
          replicationFactor: 3,
          configs: { "min.insync.replicas": "2" },
        }]));
      await fullIsr(topic);
    },
    settle: (topic) => fullIsr(topic).then(() => {}),
    remove: (topic) => withAdmin(bootstrap, (a) => a.deleteTopics([topic])),
  };
}

/** A reading of each process (`undefined` for one that could not be read). */
async function cpuOf(pids: number[]): Promise<(ProcessUsage | undefined)[]> {
  return await Promise.all(pids.map((p) => processUsage(p).catch(() => undefined)));
}

/** CPU seconds of each process between two readings (NaN where either is missing). */
function cpuSeconds(
  before: (ProcessUsage | undefined)[],
  after: (ProcessUsage | undefined)[],
): number[] {
  return after.map((a, i) => {
    const b = before[i];
    return a === undefined || b === undefined ? NaN : cpuBetween(b, a).seconds;
  });
}

/** WARN and ERROR lines of the brokers since the measurement began (the first 20, and a count). */
const warnings: string[] & { count?: number; fences?: number } = [];

function onBrokerLine(name: string, line: string): void {
  if (!/\] (WARN|ERROR) /.test(line)) return;
  warnings.count = (warnings.count ?? 0) + 1;
  if (/ fenced: /.test(line)) warnings.fences = (warnings.fences ?? 0) + 1;
  if (warnings.length < 20) warnings.push(`${name}: ${line}`);
}

async function measure(
  t: Target,
  rdkafka: string,
  o: ClusterBenchArgs,
  topic: string,
  where: { round: number; position: number },
  log: (l: string) => void,
): Promise<Measurement> {
  const m: Measurement = {
    ...where,
    side: t.side,
    acks: t.acks,
    recPerSec: 0,
    mbPerSec: 0,
    seconds: 0,
    brokerCpuSeconds: [],
    producerCpuSeconds: 0,
    brokerWarnings: [],
    brokerWarningCount: 0,
    brokerFences: 0,
  };
  warnings.length = 0;
  warnings.count = 0;
  warnings.fences = 0;
  const common = { bootstrap: t.bootstrap, topic, partitions: o.partitions, records: o.records };
  const kills: Array<() => void> = [];
  try {
    await t.create(topic);
    const before = await cpuOf(t.pids());
    const producer = startProducer(
      "rdkafka",
      rdkafka,
      { ...common, size: o.size, acks: t.acks, rate: 0 },
      o.timeoutMs,
    );
    kills.push(producer.kill);
    const p: ProduceStats = await producer.result;
    const after = await cpuOf(t.pids());
    m.brokerCpuSeconds = cpuSeconds(before, after);
    m.seconds = p.seconds;
    m.producerCpuSeconds = p.cpuSeconds ?? 0;
    m.librdkafka = (p as ProduceStats & { librdkafka?: string }).librdkafka;
    m.recPerSec = p.records / p.seconds;
    m.mbPerSec = p.bytes / 1e6 / p.seconds;
    if (p.errors > 0) throw new Error(`producer: ${p.errors} records failed: ${p.firstError}`);
    if (o.verify) {
      await t.settle(topic);
      const consumer = startConsumer(
        "rdkafka",
        rdkafka,
        { ...common, idleMs: 10_000 },
        o.timeoutMs,
      );
      kills.push(consumer.kill);
      const c: ConsumeStats = await consumer.result;
      m.complete = c.unique === o.records && c.foreign === 0;
      m.duplicates = c.duplicates;
      if (!m.complete) {
        throw new Error(
          `read back ${c.unique}/${o.records} distinct, ${c.duplicates} duplicates, ` +
            `${c.foreign} foreign${c.firstError ? `, error: ${c.firstError}` : ""}`,
        );
      }
    }
  } catch (e) {
    m.error = message(e);
    log(`  ${t.side} failed: ${m.error}`);
  } finally {
    for (const k of kills) k();
    m.brokerWarnings = [...warnings];
    m.brokerWarningCount = warnings.count ?? 0;
    m.brokerFences = warnings.fences ?? 0;
    await t.remove(topic).catch((e) => log(`  delete ${topic}: ${message(e)}`));
  }
  return m;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * Formats the report as Markdown: the command, the table of measurements and the ratios.
 *
 * @param r The report.
 * @returns Markdown text.
 */
export function formatClusterReport(r: ClusterBenchReport): string {
  const lines = [
    `Run ${r.startedAt}: ${fmtInt(r.records)} records of ${r.size} B, ${r.partitions} ` +
    `partition(s), librdkafka ${r.librdkafka || "?"}; load average ${r.loadBefore} before, ` +
    `${r.loadAfter} after.`,
    "",
    "| round | # | side | acks | rec/s | MB/s | s | broker CPU s | producer CPU s | warnings | fenced | read back |",
    "| ----: | -: | ---- | ---- | ----: | ---: | -: | ------------ | -------------: | -------: | -----: | --------- |",
  ];
  for (const m of r.runs) {
    const cpu = m.brokerCpuSeconds.map((c) => c.toFixed(2)).join(" / ");
    const back = m.error
      ? `failed: ${m.error}`
      : m.complete === undefined
      ? "not checked"
      : m.duplicates === 0
      ? "exactly once"
      : `all, ${fmtInt(m.duplicates!)} twice`;
    lines.push(
      `| ${m.round} | ${m.position} | ${m.side} | ${m.acks === 1 ? "1" : "all"} | ` +
        `${fmtInt(m.recPerSec)} | ${m.mbPerSec.toFixed(1)} | ${m.seconds.toFixed(2)} | ${cpu} | ` +
        `${
          m.producerCpuSeconds.toFixed(2)
        } | ${m.brokerWarningCount} | ${m.brokerFences} | ${back} |`,
    );
  }
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  lines.push(
    "",
    `Median: standalone acks=1 ${fmtInt(r.medianRecPerSec.standalone)} rec/s, cluster acks=all ` +
      `${fmtInt(r.medianRecPerSec.cluster)} rec/s: **${pct(r.ratio)}**. Per round: ` +
      `${r.roundRatios.map(pct).join(", ")}. Over the rounds in which no broker was fenced: ` +
      `${pct(r.undisturbedRatio)}.`,
  );
  return lines.join("\n");
}

/**
 * Runs the benchmark (see the module doc).
 *
 * @param args Command-line arguments.
 * @returns The exit code and the report (absent on usage errors and help).
 */
export async function main(args: string[]): Promise<{ code: number; report?: ClusterBenchReport }> {
  let o: ClusterBenchArgs;
  try {
    o = parseClusterBenchArgs(args);
  } catch (e) {
    console.error(`bench:cluster: ${message(e)}`);
    return { code: 2 };
  }
  if (o.help) {
    console.log(HELP);
    return { code: 0 };
  }
  const log = (l: string) => console.error(l);
  const started = Date.now();
  const report: ClusterBenchReport = {
    startedAt: new Date().toISOString(),
    command: ["deno task bench:cluster", ...args].join(" "),
    records: o.records,
    size: o.size,
    partitions: o.partitions,
    librdkafka: "",
    loadBefore: await loadavg(),
    loadAfter: "",
    runs: [],
    medianRecPerSec: { standalone: NaN, cluster: NaN },
    ratio: NaN,
    roundRatios: [],
    undisturbedRatio: NaN,
  };
  const rdkafka = await buildRdkafkaPerf();
  let etcd: TestEtcd | undefined;
  const cluster: BrokerProcess[] = [];
  let standalone: BrokerProcess | undefined;
  const stopAll = async () => {
    await standalone?.stop().catch(() => {});
    await Promise.all(cluster.map((b) => b.stop().catch(() => {})));
    await etcd?.stop().catch(() => {});
  };
  const onSignal = async () => {
    log("interrupted: stopping the brokers and etcd");
    await stopAll();
    Deno.exit(130);
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    etcd = await startEtcd();
    const clusterName = `bench-${Deno.pid}-${Date.now().toString(36)}`;
    for (let id = 1; id <= 3; id++) {
      cluster.push(
        await startBrokerProcess({
          port: freePort(),
          cpuProfDir: o.cpuProf,
          onLine: (line) => onBrokerLine(`broker ${id}`, line),
          overrides: [
            `node.id=${id}`,
            `controller.etcd.endpoints=${etcd.endpoints.join(",")}`,
            `sluice.cluster.name=${clusterName}`,
            ...o.overrides,
          ],
        }),
      );
    }
    const bootstrap = cluster.map((b) => b.bootstrap).join(",");
    await until(
      "the three brokers registered",
      () =>
        withAdmin(bootstrap, async (a) => (await a.describeCluster()).brokers.length === 3)
          .catch(() => false),
      60_000,
    );
    standalone = await startBrokerProcess({
      onLine: (line) => onBrokerLine("standalone", line),
    });
    log(
      `etcd ${etcd.endpoints[0]}; cluster ${bootstrap} (pids ${
        cluster.map((b) => b.pid).join(", ")
      }); standalone ${standalone.bootstrap} (pid ${standalone.pid})`,
    );
    const targets: Record<Side, Target> = {
      standalone: standaloneTarget(standalone, o.partitions),
      cluster: clusterTarget(cluster, o.partitions),
    };
    const runId = Date.now().toString(36);
    if (o.warmup) {
      const warm = { ...o, records: Math.min(o.records, 200_000), verify: false };
      for (const side of ["standalone", "cluster"] as const) {
        log(`warm-up: ${side}, ${warm.records} records (not reported)`);
        await measure(targets[side], rdkafka, warm, `warm-${runId}-${side}`, {
          round: 0,
          position: 0,
        }, log);
      }
    }
    for (let round = 1; round <= o.rounds; round++) {
      if (Date.now() - started > o.maxMs) {
        log(`stopping after ${round - 1} rounds: --max-minutes reached`);
        break;
      }
      for (const [i, side] of roundOrder(round).entries()) {
        const t = targets[side];
        log(`round ${round}/${o.rounds}: ${side}, acks=${t.acks === 1 ? 1 : "all"}`);
        const m = await measure(t, rdkafka, o, `bench-${runId}-${round}-${side}`, {
          round,
          position: i + 1,
        }, log);
        log(
          `  ${fmtInt(m.recPerSec)} rec/s, broker CPU ${
            m.brokerCpuSeconds.map((x) => x.toFixed(2)).join("/")
          } s, ${m.brokerWarningCount} broker warnings`,
        );
        for (const w of m.brokerWarnings.slice(0, 5)) log(`    ${w}`);
        report.runs.push(m);
      }
    }
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    await stopAll();
  }
  report.librdkafka = report.runs.find((m) => m.librdkafka)?.librdkafka ?? "";
  const ok = report.runs.filter((m) => !m.error);
  for (const side of ["standalone", "cluster"] as const) {
    report.medianRecPerSec[side] = median(
      ok.filter((m) => m.side === side).map((m) => m.recPerSec),
    );
  }
  report.ratio = report.medianRecPerSec.cluster / report.medianRecPerSec.standalone;
  for (let round = 1; round <= o.rounds; round++) {
    const s = ok.find((m) => m.round === round && m.side === "standalone");
    const c = ok.find((m) => m.round === round && m.side === "cluster");
    if (s && c) report.roundRatios.push(c.recPerSec / s.recPerSec);
  }
  const calm = [...new Set(ok.map((m) => m.round))].filter((round) =>
    report.runs.filter((m) => m.round === round).every((m) => m.brokerFences === 0)
  );
  const calmMedian = (side: Side) =>
    median(ok.filter((m) => m.side === side && calm.includes(m.round)).map((m) => m.recPerSec));
  report.undisturbedRatio = calmMedian("cluster") / calmMedian("standalone");
  report.loadAfter = await loadavg();
  console.log(formatClusterReport(report));
  if (o.json) await Deno.writeTextFile(o.json, JSON.stringify(report, null, 2) + "\n");
  const complete = report.runs.length === 2 * o.rounds && ok.length === report.runs.length;
  return { code: complete ? 0 : 1, report };
}

if (import.meta.main) {
  try {
    Deno.exit((await main(Deno.args)).code);
  } catch (e) {
    console.error(`bench:cluster: ${message(e)}`);
    Deno.exit(1);
  }
}
