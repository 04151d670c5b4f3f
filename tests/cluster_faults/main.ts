// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * `deno task cluster:chaos`: the cluster fault harness from the command line. Prints one line
 * per cycle and the final tables; exits 1 when an acknowledged record was lost, an offset was
 * read with two values, a replica differs from its leader, a committed offset went back, a
 * client did not recover, or anything else failed. See docs/RELIABILITY.md, "Cluster faults".
 *
 * ```sh
 * deno task cluster:chaos                                   # the full run: 50 cycles per kind
 * deno task cluster:chaos --cycles 2 --faults leader-kill,isolate --seed 7
 * deno task cluster:chaos --cleanup                         # remove what a killed run left
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { PRODUCER_KINDS, type ProducerKind } from "../chaos/producers.ts";
import { CONSUMER_KINDS, type ConsumerKind } from "./consumers.ts";
import {
  Aborted,
  type ClusterFaultOptions,
  type ClusterFaultResult,
  DEFAULT_HOLD_MS,
  ETCD_KINDS,
  FAULT_KINDS,
  type FaultKind,
  runClusterFaults,
} from "./harness.ts";
import { cleanStaleNetworks, requireNetns } from "./network.ts";
import { buildLibrdkafka, LIBRDKAFKA } from "../../tools/librdkafka.ts";

const HELP = `Usage: deno task cluster:chaos [OPTIONS]

Runs three Sluice brokers (each in its own network namespace) on etcd, with idempotent acks=all
producers (confluent-kafka, Sluice's client) and a consumer group (both clients) at work, and
injects seeded fault cycles: inject, keep the load, heal or restart, wait for recovery. Then
checks every acknowledged record (once, at its offset, read from the leader), every offset ever
read (one value), every follower's log (identical to the leader's below the high watermark) and
the group's committed offsets (never back). Needs root, etcd, nftables and confluent-kafka.

Options (defaults: the full run of docs/RELIABILITY.md):
  --seed N                 Seed of the fault schedule, targets and hold times (default: random)
  --cycles N               Cycles of each fault kind (default 50)
  --faults LIST            Fault kinds (default all): ${FAULT_KINDS.join(", ")}
  --etcd-members N         1 or 3 (default 3 with etcd-kill or etcd-quorum, else 1)
  --partitions N           Partitions of the data topic (default 3)
  --replication-factor N   Of the data topic and __consumer_offsets (default 3)
  --min-insync N           min.insync.replicas of the data topic (default 2)
  --record-bytes N         Value size (default 200)
  --rate N                 Records per second of each producer (default 200)
  --producers LIST         confluent and/or sluice (default confluent,sluice)
  --consumers LIST         confluent and/or sluice (default confluent,sluice)
  --hold KIND=MIN-MAX      Hold time of a fault kind in ms (repeatable), e.g. isolate=3000-12000
  --recovery-timeout MS    Bound on each cycle's recovery (default 60000)
  --no-isr-wait            Do not wait for full ISRs between cycles (a broker without replication)
  --override KEY=VALUE     Setting of every broker (repeatable)
  --max-seconds N          Bound on the cycles (default 14400); the final checks run anyway
  --no-kcat                Do not read the partitions a second time with kcat
  --modern-librdkafka      Run the confluent-kafka clients and kcat on librdkafka ${LIBRDKAFKA.version}
                           (tools/librdkafka.ts, built once) instead of Debian's
  --dir DIR                Keep the run under DIR (default: a temporary directory)
  --keep                   Keep data and logs even when everything passed
  --json FILE              Also write the results as JSON
  --cleanup                Only remove namespaces and bridges left by runs that died
  -h, --help               Show this help
`;

function list<T>(text: string, parse: (s: string) => T): T[] {
  const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (items.length === 0) throw new RangeError(`invalid list "${text}"`);
  return items.map(parse);
}

function int(name: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new RangeError(`invalid --${name} "${text}": expected an integer from ${min} to ${max}`);
  }
  return n;
}

/**
 * Parses the command line into harness options.
 *
 * @param args Command-line arguments.
 * @param log Where progress lines go.
 * @returns The options, `"help"` after `--help`, or `"cleanup"` for `--cleanup`.
 * @throws {RangeError} On an unknown flag or a bad value.
 */
export function parseClusterChaosArgs(
  args: string[],
  log: (line: string) => void,
): (ClusterFaultOptions & { json?: string; modernLibrdkafka: boolean }) | "help" | "cleanup" {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: "string" },
        cycles: { type: "string", default: "50" },
        faults: { type: "string", default: FAULT_KINDS.join(",") },
        "etcd-members": { type: "string" },
        partitions: { type: "string", default: "3" },
        "replication-factor": { type: "string", default: "3" },
        "min-insync": { type: "string", default: "2" },
        "record-bytes": { type: "string", default: "200" },
        rate: { type: "string", default: "200" },
        producers: { type: "string", default: "confluent,sluice" },
        consumers: { type: "string", default: "confluent,sluice" },
        hold: { type: "string", multiple: true, default: [] },
        "recovery-timeout": { type: "string", default: "60000" },
        "no-isr-wait": { type: "boolean", default: false },
        override: { type: "string", multiple: true, default: [] },
        "max-seconds": { type: "string", default: "14400" },
        "no-kcat": { type: "boolean", default: false },
        "modern-librdkafka": { type: "boolean", default: false },
        dir: { type: "string" },
        keep: { type: "boolean", default: false },
        json: { type: "string" },
        cleanup: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (e) {
    throw new RangeError(e instanceof Error ? e.message : String(e));
  }
  if (values.help) return "help";
  if (values.cleanup) return "cleanup";
  const faults = list(values.faults, (s) => {
    if (!FAULT_KINDS.includes(s as FaultKind)) {
      throw new RangeError(`invalid --faults "${s}": ${FAULT_KINDS.join(", ")}`);
    }
    return s as FaultKind;
  });
  const holdMs = { ...DEFAULT_HOLD_MS };
  for (const h of values.hold) {
    const m = h.match(/^([a-z-]+)=(\d+)-(\d+)$/);
    if (!m || !FAULT_KINDS.includes(m[1] as FaultKind) || Number(m[2]) > Number(m[3])) {
      throw new RangeError(`invalid --hold "${h}": KIND=MIN-MAX in ms, e.g. isolate=3000-12000`);
    }
    holdMs[m[1] as FaultKind] = [Number(m[2]), Number(m[3])];
  }
  const etcdMembers = values["etcd-members"] === undefined
    ? (faults.some((k) => ETCD_KINDS.includes(k)) ? 3 : 1)
    : int("etcd-members", values["etcd-members"], 1, 7);
  for (const kind of ETCD_KINDS) {
    if (faults.includes(kind) && etcdMembers < 3) {
      throw new RangeError(`${kind} needs --etcd-members 3 (or more)`);
    }
  }
  const replicationFactor = int("replication-factor", values["replication-factor"], 1, 3);
  return {
    seed: values.seed === undefined
      ? Math.floor(Math.random() * 2 ** 31)
      : int("seed", values.seed, 0),
    cycles: int("cycles", values.cycles, 0, 10_000),
    faults,
    etcdMembers,
    partitions: int("partitions", values.partitions, 1, 100),
    replicationFactor,
    minInsyncReplicas: int("min-insync", values["min-insync"], 1, replicationFactor),
    recordBytes: int("record-bytes", values["record-bytes"], 64, 1_000_000),
    recordsPerSecond: int("rate", values.rate, 1, 100_000),
    batchRecords: 10,
    producers: list(values.producers, (s) => {
      if (!PRODUCER_KINDS.includes(s as ProducerKind)) {
        throw new RangeError(`invalid --producers "${s}": ${PRODUCER_KINDS.join(" or ")}`);
      }
      return s as ProducerKind;
    }),
    consumers: list(values.consumers, (s) => {
      if (!CONSUMER_KINDS.includes(s as ConsumerKind)) {
        throw new RangeError(`invalid --consumers "${s}": ${CONSUMER_KINDS.join(" or ")}`);
      }
      return s as ConsumerKind;
    }),
    holdMs,
    recoveryTimeoutMs: int("recovery-timeout", values["recovery-timeout"], 1000),
    waitFullIsr: !values["no-isr-wait"],
    maxSeconds: int("max-seconds", values["max-seconds"], 1),
    brokerOverrides: values.override,
    kcat: !values["no-kcat"],
    dir: values.dir,
    keep: values.keep,
    json: values.json,
    modernLibrdkafka: values["modern-librdkafka"],
    log,
  };
}

function quantile(values: number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function secs(ms: number | undefined): string {
  return ms === undefined ? "-" : (ms / 1000).toFixed(2);
}

/** `p50/max` of some durations, in seconds. */
function medMax(values: number[]): string {
  return `${secs(quantile(values, 0.5))}/${secs(quantile(values, 1))}`;
}

function table(rows: Record<string, string>[]): string {
  if (rows.length === 0) return "";
  const heads = Object.keys(rows[0]);
  const widths = heads.map((h) => Math.max(h.length, ...rows.map((r) => (r[h] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [
    line(heads),
    `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`,
    ...rows.map((r) => line(heads.map((h) => r[h] ?? ""))),
  ].join("\n");
}

/**
 * The per-fault-kind table (Markdown): cycles, acknowledged records, lost, divergent offsets,
 * acknowledged records stored twice, records read and commits acknowledged during the kind's
 * cycles, failed cycles and the time each recovery step took.
 *
 * @param result The harness's result.
 * @returns The table.
 */
export function kindTable(result: ClusterFaultResult): string {
  const kinds: string[] = [...new Set(result.cycles.map((c) => c.kind))];
  if ((result.byKind["before the faults"]?.acked ?? 0) > 0) kinds.unshift("before the faults");
  const rows = kinds.map((kind) => {
    const cs = result.cycles.filter((c) => c.kind === kind);
    const num = (f: (c: (typeof cs)[number]) => number | undefined) =>
      cs.flatMap((c) => f(c) === undefined ? [] : [f(c)!]);
    const k = result.byKind[kind] ??
      { acked: 0, lost: 0, divergent: 0, dup: 0, reads: 0, commits: 0 };
    return {
      "fault": kind,
      "cycles": String(cs.length),
      "acked": String(k.acked),
      "lost": String(k.lost),
      "divergent": String(k.divergent),
      "dup": String(k.dup),
      "read": String(k.reads),
      "commits": String(k.commits),
      "failed cycles": String(cs.filter((c) => c.failures.length > 0).length),
      "new leader s p50/max": medMax(num((c) => c.electionMs)),
      "healthy s p50/max": medMax(num((c) => c.recoveryMs)),
      "producers s p50/max": medMax(num((c) => c.producersBackMs)),
      "consumers s p50/max": medMax(num((c) => c.consumersBackMs)),
    };
  });
  return table(rows);
}

/**
 * The whole run's checks (Markdown): what the end of the run found.
 *
 * @param result The harness's result.
 * @returns The table.
 */
export function totalsTable(result: ClusterFaultResult): string {
  const sum = (f: (c: ClusterFaultResult["checks"][number]) => number) =>
    result.checks.reduce((n, c) => n + f(c), 0);
  return table([{
    "cycles": String(result.cycles.length),
    "acked": String(result.acked),
    "read": String(result.reads),
    "lost": String(sum((c) => c.lost)),
    "misplaced": String(sum((c) => c.misplaced)),
    "dup": String(sum((c) => c.duplicates)),
    "gaps": String(sum((c) => c.gaps)),
    "divergent offsets": String(result.divergentOffsets),
    "replica diffs": `${result.replicaDiffs.length}/${result.replicasCompared}`,
    "commits acked": String(result.commits.acked),
    "commit reads": String(result.commits.observed),
    "commits lost": String(result.commits.lost),
    "commits back": String(result.commits.backwards),
    "client give-ups": String(result.producerRestarts.length + result.consumerRestarts.length),
    "producer re-sends": String(result.resends.length),
    "acks without offset": String(result.acksWithoutOffset),
    "kcat agrees": result.kcatAgrees === undefined ? "-" : result.kcatAgrees ? "yes" : "NO",
    "result": result.ok ? "pass" : "FAIL",
  }]);
}

/**
 * The distributions of the times the cycles measured (Markdown): from the fault to etcd's new
 * leader of the target partition (or the new controller), per fault kind, and for the
 * `leader-kill` cycles from the SIGKILL to the first acks=all produce on the new leader.
 *
 * @param result The harness's result.
 * @returns The table (empty without such times).
 */
export function timingTable(result: ClusterFaultResult): string {
  const rows: Record<string, string>[] = [];
  const row = (what: string, ms: number[]) => {
    if (ms.length === 0) return;
    const q = (f: number) => secs(quantile(ms, f));
    rows.push({
      "from the fault to": what,
      "n": String(ms.length),
      "min s": q(0),
      "p10 s": q(0.1),
      "median s": q(0.5),
      "p90 s": q(0.9),
      "max s": q(1),
    });
  };
  for (const kind of FAULT_KINDS) {
    const cs = result.cycles.filter((c) => c.kind === kind);
    const what = kind === "controller-kill" ? "a new controller" : "a new leader in etcd";
    row(`${what} (${kind})`, cs.flatMap((c) => c.electionMs === undefined ? [] : [c.electionMs]));
  }
  row(
    "the first acks=all produce (leader-kill)",
    result.cycles.flatMap((c) => c.failoverMs === undefined ? [] : [c.failoverMs]),
  );
  return table(rows);
}

/**
 * The failover distribution of the `leader-kill` cycles: from the SIGKILL to the first
 * successful acks=all produce on the new leader.
 *
 * @param result The harness's result.
 * @returns One line, or `undefined` without leader kills.
 */
export function failoverLine(result: ClusterFaultResult): string | undefined {
  const ms = result.cycles.flatMap((c) => c.failoverMs === undefined ? [] : [c.failoverMs]);
  if (ms.length === 0) return undefined;
  const q = (f: number) => secs(quantile(ms, f));
  return `failover (leader SIGKILL → first acks=all produce on the new leader), n=${ms.length}: ` +
    `min ${q(0)} s, p10 ${q(0.1)} s, median ${q(0.5)} s, p90 ${q(0.9)} s, max ${q(1)} s`;
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseClusterChaosArgs(Deno.args, (line) => console.log(line));
  } catch (e) {
    console.error(`cluster:chaos: ${e instanceof Error ? e.message : e}`);
    return 2;
  }
  if (options === "help") {
    console.log(HELP);
    return 0;
  }
  const netns = requireNetns();
  if (!netns.available) {
    console.error(`cluster:chaos: ${netns.message}`);
    return 2;
  }
  if (options === "cleanup") {
    const removed = await cleanStaleNetworks();
    console.log(removed.length === 0 ? "nothing to remove" : `removed ${removed.join(", ")}`);
    return 0;
  }
  if (options.modernLibrdkafka) {
    // the children inherit it: python's confluent_kafka and kcat load this librdkafka.so.1
    const lib = await buildLibrdkafka({ log: (line) => console.error(line) });
    Deno.env.set("LD_LIBRARY_PATH", lib.libDir);
    console.log(
      `cluster:chaos: confluent-kafka and kcat on librdkafka ${lib.version} (${lib.libDir})`,
    );
  }
  const abort = new AbortController();
  const onSignal = () => {
    console.log("cluster:chaos: interrupted: tearing down (again to quit at once)");
    if (abort.signal.aborted) Deno.exit(130);
    abort.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const holds = options.faults.map((k) =>
    `${k} ${options.holdMs[k][0]}-${options.holdMs[k][1]} ms`
  );
  console.log(
    `cluster:chaos: seed ${options.seed}; ${options.cycles} cycles of ${
      options.faults.join(", ")
    }; ` +
      `3 brokers, ${options.etcdMembers} etcd member(s); ${options.partitions} partitions × ${options.replicationFactor} replicas, ` +
      `min.insync.replicas ${options.minInsyncReplicas}; ${options.recordBytes}-byte records at ${options.recordsPerSecond}/s per producer ` +
      `(${options.producers.join(", ")}); consumers ${options.consumers.join(", ")}; holds ${
        holds.join(", ")
      }`,
  );
  let result;
  try {
    result = await runClusterFaults({ ...options, signal: abort.signal });
  } catch (e) {
    if (e instanceof Aborted) return 130;
    console.error(`cluster:chaos: ${e instanceof Error ? e.stack : e}`);
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  console.log("");
  console.log(kindTable(result));
  console.log("");
  console.log(totalsTable(result));
  const timings = timingTable(result);
  if (timings !== "") console.log(`\n${timings}`);
  const failover = failoverLine(result);
  if (failover) console.log(`\n${failover}`);
  console.log(
    `\ncluster:chaos: seed ${result.seed}, ${result.cycles.length} cycles, ${
      (result.durationMs / 1000).toFixed(0)
    } s: ${result.ok ? "every check passed" : `${result.failures.length} failure(s)`}`,
  );
  for (const f of result.failures.slice(0, 40)) console.log(`  ${f}`);
  for (const g of [...result.producerRestarts, ...result.consumerRestarts]) {
    console.log(`  client gave up: ${g}`);
  }
  for (const r of result.resends) console.log(`  re-sent by its producer under a new epoch: ${r}`);
  if (!result.ok) console.log(`  data and logs kept in ${result.dir}`);
  console.log(
    `  replay: deno task cluster:chaos --seed ${result.seed} ${
      Deno.args.filter((a, i, all) => a !== "--seed" && all[i - 1] !== "--seed").join(" ")
    }`.trimEnd(),
  );
  if (options.json) await Deno.writeTextFile(options.json, JSON.stringify(result, null, 2) + "\n");
  return result.ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
