// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The crash harness: a broker process, real idempotent producers (confluent-kafka and Sluice's
 * own client, acks=all) recording every acknowledgement, SIGKILLs at seeded random moments with
 * restarts on the same data directory and port, and at the end a check of every partition (see
 * {@linkcode ./checker.ts}).
 *
 * One *scenario* per fsync mode: a fresh broker (`log.flush.interval.messages=1` when fsync is
 * on) with one topic per segment size (topic config `segment.bytes`; the 1 GiB default is left
 * unset, so the default itself is tested), each with `partitions` partitions. Each scenario makes
 * `kills` SIGKILLs: most while the producers write (when the acknowledged bytes cross a seeded
 * point, plus a seeded delay of up to 300 ms), some (`recoveryKillRatio`) while the broker is
 * starting again, i.e. during recovery.
 *
 * Each scenario's directory holds `data/` (the broker's `log.dirs`), `broker.log`, one
 * `producer-<name>.log` per producer process and `acks.txt` (every acknowledgement, in the `A`
 * line format of {@linkcode ./protocol.ts}); it is removed when the scenario passed, unless `keep`.
 *
 * Needs `--allow-all` (processes, network, files, env).
 *
 * @module
 */

import { Admin } from "../../client/admin.ts";
import { Client } from "../../client/client.ts";
import { ChaosBroker, freePort, type StartResult } from "./broker.ts";
import {
  AckBook,
  checkPartition,
  compareContents,
  type PartitionCheck,
  partitionOk,
  readWithKcat,
  readWithSluice,
} from "./checker.ts";
import { type ProducerKind, ProducerProcess } from "./producers.ts";
import { type Ack, ackLine, splitId, type WorkerSpec } from "./protocol.ts";

/** The broker's default `segment.bytes` (Kafka's): topics of this size get no override. */
export const DEFAULT_SEGMENT_BYTES = 1024 * 1024 * 1024;

/** What {@linkcode runChaos} runs. */
export interface ChaosOptions {
  /** Seed of every random choice (kill points, delays, recovery kills). */
  seed: number;
  /** SIGKILLs per scenario. */
  kills: number;
  /** Partitions per topic. */
  partitions: number;
  /** Acknowledged value bytes each partition must reach. */
  bytesPerPartition: number;
  /** One topic per size (`segment.bytes`). */
  segmentBytes: number[];
  /** One scenario per mode: fsync before ack (`log.flush.interval.messages=1`) or not. */
  fsync: boolean[];
  /** Size of each record value. */
  recordBytes: number;
  /** Records per batch of Sluice's producer. */
  batchRecords: number;
  /** Producers, one process each (a kind may repeat). */
  producers: ProducerKind[];
  /** Share of kills made while the broker is starting again (0 to 1). */
  recoveryKillRatio: number;
  /** Bound on each scenario, in seconds: past it the scenario fails. */
  maxSeconds: number;
  /** Read every partition with kcat too, and require the same contents. */
  kcat: boolean;
  /** Where to put the run's directories. Default: a new temporary directory. */
  dir?: string;
  /** Keep data directories and logs (default: removed when the scenario passed). */
  keep: boolean;
  /** Where progress lines go. */
  log: (line: string) => void;
}

/** One SIGKILL and the restart after it. */
export interface CycleResult {
  /** 1-based kill number within the scenario. */
  n: number;
  /** `load` (producers writing) or `recovery` (broker still starting). */
  kind: "load" | "recovery";
  /** Acknowledged value bytes, all partitions, when it was killed. */
  ackedBytesAtKill: number;
  /** Largest partition's acknowledged value bytes when it was killed. */
  maxPartitionBytesAtKill: number;
  /** Bytes of `.log` files of all the topics' partitions right after the kill. */
  diskBytesAtKill: number;
  /** Milliseconds from spawning the broker again to its listening (load kills only). */
  listenMs?: number;
  /** Milliseconds from spawning again to the first acknowledgement, per producer. */
  firstAckMs: Record<string, number>;
  /** Acknowledged records below the high watermark found right after the restart. */
  missingAtRestart: number;
  /** Lines in which recovery truncated, deleted or rebuilt something. */
  recoveryLines: string[];
  /** When the restart itself was killed (by the next, `recovery`, kill): ms after spawning. */
  restartKilledAfterMs?: number;
  /** Whether that kill came before the broker listened. */
  restartKilledBeforeListening?: boolean;
}

/** The outcome of one scenario. */
export interface ScenarioResult {
  /** e.g. `fsync=on`. */
  label: string;
  /** Whether fsync-before-ack was on. */
  fsync: boolean;
  /** Segment sizes of its topics. */
  segmentBytes: number[];
  /** The kills and restarts. */
  cycles: CycleResult[];
  /** Acknowledged records. */
  ackedRecords: number;
  /** Acknowledged value bytes. */
  ackedBytes: number;
  /** Bytes of `.log` files per partition at the end, by `topic-partition`. */
  diskBytes: Record<string, number>;
  /** Per-partition verdicts (from Sluice's reader). */
  checks: PartitionCheck[];
  /** Records delivered with an error (not acknowledged), per producer. */
  deliveryErrors: number;
  /** Acknowledgements without an offset (a failure: `acks=all` answers carry the offset). */
  acksWithoutOffset: number;
  /** Producer output lines outside the protocol (a failure). */
  strayLines: number;
  /** Producer processes that exited on their own and were started again. */
  producerRestarts: string[];
  /** Whether kcat read exactly what Sluice's consumer read (undefined when not run). */
  kcatAgrees?: boolean;
  /** Exit code of the final clean shutdown. */
  shutdownCode: number | undefined;
  /** Milliseconds from spawning to listening after a clean shutdown (no recovery), at the end. */
  cleanRestartListenMs?: number;
  /** Everything that failed; empty when the scenario passed. */
  failures: string[];
  /** Wall time in milliseconds. */
  durationMs: number;
  /** The scenario's directory (kept when it failed or `keep` was set). */
  dir: string;
}

/** The outcome of {@linkcode runChaos}. */
export interface ChaosResult {
  /** The options it ran with. */
  seed: number;
  /** One per fsync mode. */
  scenarios: ScenarioResult[];
  /** Whether every scenario passed. */
  ok: boolean;
}

/** A small seeded PRNG (mulberry32): the same seed gives the same kills. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Parses a size: a number of bytes, or with a unit (`KiB`, `MiB`, `GiB`; `K`, `M`, `G` and `KB`,
 * `MB`, `GB` mean the same binary units).
 *
 * @example
 * ```ts
 * import { parseSize } from "./harness.ts";
 * parseSize("64MiB"); // 67108864
 * ```
 *
 * @param text The size.
 * @returns Bytes.
 * @throws {RangeError} If it is not a positive size.
 */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?\s*$/i.exec(text);
  const n = m ? Number(m[1]) * 1024 ** ["", "K", "M", "G"].indexOf(m[2].toUpperCase()) : NaN;
  if (!m || !Number.isFinite(n) || n < 1) {
    throw new RangeError(`invalid size "${text}": expected bytes or e.g. 64MiB, 1GiB`);
  }
  return Math.floor(n);
}

/**
 * Formats bytes with a binary unit (`1 MiB`, `64.0 MiB`, `1 GiB`).
 *
 * @param bytes Bytes.
 * @returns The text.
 */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    if (bytes >= size) {
      const v = bytes / size;
      return `${Number.isInteger(v) ? v : v.toFixed(1)} ${unit}`;
    }
  }
  return `${bytes} B`;
}

function topicName(segmentBytes: number): string {
  return `chaos-seg-${formatSize(segmentBytes).replace(" ", "").replace(".", "_").toLowerCase()}`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Thrown when a scenario runs past its bound. */
class OutOfTime extends Error {}

/** Lines appended to a file in the background, in order (the acknowledgement log). */
class LineFile {
  #pending: string[] = [];
  #writing: Promise<void> | undefined;
  constructor(readonly path: string) {}

  push(line: string): void {
    this.#pending.push(line);
    this.#writing ??= this.#drain();
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const text = this.#pending.join("\n") + "\n";
      this.#pending = [];
      await Deno.writeTextFile(this.path, text, { append: true });
    }
    this.#writing = undefined;
  }

  async close(): Promise<void> {
    while (this.#writing) await this.#writing;
  }
}

/** Which sequences of each producer got an answer (an acknowledgement or an error). */
class Answers {
  #bits = new Map<string, { bits: Uint8Array; max: number }>();

  mark(id: string): void {
    const parts = splitId(id);
    if (parts === undefined) return;
    let p = this.#bits.get(parts.producer);
    if (p === undefined) {
      p = { bits: new Uint8Array(1024), max: -1 };
      this.#bits.set(parts.producer, p);
    }
    if (parts.seq >= p.bits.length * 8) {
      const grown = new Uint8Array(Math.max(p.bits.length * 2, (parts.seq >> 3) + 1));
      grown.set(p.bits);
      p.bits = grown;
    }
    p.bits[parts.seq >> 3] |= 1 << (parts.seq & 7);
    if (parts.seq > p.max) p.max = parts.seq;
  }

  /** Sequences below the highest answered one that got no answer (first few, and how many). */
  unanswered(producer: string): { count: number; first: number[] } {
    const p = this.#bits.get(producer);
    const out = { count: 0, first: [] as number[] };
    if (p === undefined) return out;
    for (let seq = 0; seq <= p.max; seq++) {
      if ((p.bits[seq >> 3] & (1 << (seq & 7))) === 0) {
        if (out.count++ < 3) out.first.push(seq);
      }
    }
    return out;
  }
}

/** Thrown to end a scenario whose failure is already in its result. */
class Reported extends Error {}

function seconds(ms: number | undefined): string {
  return ms === undefined ? "-" : `${(ms / 1000).toFixed(2)} s`;
}

/** What recovery did, in a few words, from its log lines. */
function recoverySummary(lines: string[]): string {
  const truncated = lines.filter((l) => /truncated/.test(l)).length;
  const deleted = lines.filter((l) => /deleting segment/.test(l)).length;
  const other = lines.length - truncated - deleted;
  const parts: string[] = [];
  if (truncated > 0) parts.push(`${truncated} tail(s) truncated`);
  if (deleted > 0) parts.push(`${deleted} segment(s) DELETED`);
  if (other > 0) parts.push(`${other} index/other note(s)`);
  return parts.length === 0 ? "nothing to repair" : parts.join(", ");
}

function cycleLine(c: CycleResult, kills: number): string {
  const head = `kill ${c.n}/${kills} (${c.kind}) at ${formatSize(c.ackedBytesAtKill)} acked, ` +
    `${formatSize(c.diskBytesAtKill)} on disk (largest partition ${
      formatSize(c.maxPartitionBytesAtKill)
    })`;
  if (c.restartKilledAfterMs !== undefined) {
    return `${head}: restart killed ${c.restartKilledAfterMs} ms after spawning, ${
      c.restartKilledBeforeListening ? "before" : "after"
    } listening`;
  }
  const acks = Object.entries(c.firstAckMs).map(([name, ms]) => `${name} ${seconds(ms)}`);
  return `${head}: listening after ${seconds(c.listenMs)}, first ack ${
    acks.join(", ") || "none"
  }; ${
    c.missingAtRestart === 0
      ? "high watermarks hold every ack"
      : `${c.missingAtRestart} ACKNOWLEDGED RECORDS MISSING`
  }; recovery: ${recoverySummary(c.recoveryLines)}`;
}

async function diskBytes(
  dataDir: string,
  targets: Array<[string, number]>,
): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [topic, partition] of targets) {
    let total = 0;
    try {
      for await (const e of Deno.readDir(`${dataDir}/${topic}-${partition}`)) {
        if (e.isFile && e.name.endsWith(".log")) {
          total += (await Deno.stat(`${dataDir}/${topic}-${partition}/${e.name}`)).size;
        }
      }
    } catch { /* no such partition directory */ }
    out[`${topic}-${partition}`] = total;
  }
  return out;
}

/**
 * Runs every scenario and returns what happened. Never throws for a broker or producer failure:
 * those are in the result's `failures`.
 *
 * @example
 * ```ts ignore
 * import { runChaos } from "./harness.ts";
 * const r = await runChaos({ ...options, log: console.log });
 * console.log(r.ok);
 * ```
 *
 * @param options What to run.
 * @returns The results.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const root = options.dir ?? await Deno.makeTempDir({ prefix: "sluice-chaos-" });
  await Deno.mkdir(root, { recursive: true });
  const scenarios: ScenarioResult[] = [];
  for (const [i, fsync] of options.fsync.entries()) {
    const random = rng((options.seed + i * 0x9e3779b9) >>> 0);
    scenarios.push(
      await runScenario(options, fsync, `${root}/fsync-${fsync ? "on" : "off"}`, random),
    );
  }
  if (
    !options.keep && scenarios.every((s) => s.failures.length === 0) && options.dir === undefined
  ) {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  return { seed: options.seed, scenarios, ok: scenarios.every((s) => s.failures.length === 0) };
}

async function runScenario(
  options: ChaosOptions,
  fsync: boolean,
  dir: string,
  random: () => number,
): Promise<ScenarioResult> {
  const started = performance.now();
  const deadline = Date.now() + options.maxSeconds * 1000;
  const label = `fsync=${fsync ? "on" : "off"}`;
  const say = (line: string) => options.log(`[${label}] ${line}`);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${dir}/data`, { recursive: true });
  const result: ScenarioResult = {
    label,
    fsync,
    segmentBytes: options.segmentBytes,
    cycles: [],
    ackedRecords: 0,
    ackedBytes: 0,
    diskBytes: {},
    checks: [],
    deliveryErrors: 0,
    acksWithoutOffset: 0,
    strayLines: 0,
    producerRestarts: [],
    shutdownCode: undefined,
    failures: [],
    durationMs: 0,
    dir,
  };
  const fail = (what: string) => {
    result.failures.push(what);
    say(`FAIL: ${what}`);
  };
  const broker = new ChaosBroker({
    dataDir: `${dir}/data`,
    port: freePort(),
    overrides: [
      "auto.create.topics.enable=false",
      ...(fsync ? ["log.flush.interval.messages=1"] : []),
    ],
    logFile: `${dir}/broker.log`,
  });
  const topics = options.segmentBytes.map((size) => ({ name: topicName(size), size }));
  const targets: Array<[string, number]> = [];
  for (const t of topics) {
    for (let p = 0; p < options.partitions; p++) targets.push([t.name, p]);
  }
  const book = new AckBook();
  const ackedPerPartition = new Map<string, number>(targets.map(([t, p]) => [`${t}-${p}`, 0]));
  const live = new Map<string, ProducerProcess>(); // by slot, e.g. "confluent#0"
  const lastAck = new Map<string, number>(); // by slot: ts of the last acknowledgement
  // By slot: ts of the first acknowledgement by the broker process started after the last kill
  // (one received after it listened: a response of the killed process that the producer reads
  // late is not "carrying on").
  const firstAfterKill = new Map<string, number>();
  let lastKillAt = 0;
  const incarnations = new Map<string, number>();
  let stopping = false;
  let watching: Promise<void>[] = [];

  const ackFile = new LineFile(`${dir}/acks.txt`);
  const answers = new Answers();
  const onAck = (slot: string, ack: Ack) => {
    ackFile.push(ackLine(ack));
    book.add(ack);
    result.ackedRecords++;
    result.ackedBytes += options.recordBytes;
    const k = `${ack.topic}-${ack.partition}`;
    ackedPerPartition.set(k, (ackedPerPartition.get(k) ?? 0) + options.recordBytes);
    if (ack.ts > (lastAck.get(slot) ?? 0)) lastAck.set(slot, ack.ts);
    if (ack.ts >= broker.listeningSince && ack.ts > lastKillAt && !firstAfterKill.has(slot)) {
      firstAfterKill.set(slot, ack.ts);
    }
  };
  const spawnProducer = (slot: string, kind: ProducerKind) => {
    const n = incarnations.get(slot) ?? 0;
    incarnations.set(slot, n + 1);
    const spec: WorkerSpec = {
      bootstrap: broker.bootstrap,
      name: `${kind[0]}${slot.split("#")[1]}.${n}`,
      targets,
      recordBytes: options.recordBytes,
      batchRecords: options.batchRecords,
    };
    const p = ProducerProcess.spawn(kind, spec, (line) => {
      if (line.kind === "ack" || line.kind === "error") {
        answers.mark(line.kind === "ack" ? line.ack.id : line.id);
      }
      if (line.kind === "ack") {
        if (line.ack.offset >= 0) onAck(slot, line.ack);
        else if (result.acksWithoutOffset++ < 3) {
          fail(`${spec.name} was acknowledged without an offset: ${ackLine(line.ack)}`);
        }
      } else if (line.kind === "error") result.deliveryErrors++;
      else if (line.kind === "other" && result.strayLines++ < 3) {
        fail(`${spec.name} printed a line outside the protocol: ${line.text.slice(0, 200)}`);
      }
    }, `${dir}/producer-${spec.name}.log`);
    live.set(slot, p);
    watching.push(p.exited.then((exit) => {
      if (p.stopping || stopping) return;
      const why = exit.fatal ?? (exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`);
      result.producerRestarts.push(`${spec.name}: ${why}`);
      say(`producer ${spec.name} gave up (${why}); starting ${kind} again`);
      if (result.producerRestarts.length > 20) {
        fail("more than 20 producer restarts");
        return;
      }
      spawnProducer(slot, kind);
    }));
  };
  const checkTime = (what: string) => {
    if (Date.now() > deadline) throw new OutOfTime(`out of time (${options.maxSeconds} s) ${what}`);
  };
  const totalTarget = options.bytesPerPartition * targets.length;
  const maxPartitionBytes = () => Math.max(...ackedPerPartition.values());
  const missingBelowHw = async (restart: number): Promise<number> => {
    // What was acknowledged before asking: from the killed process (it must have survived) or
    // from the new one (the high watermark it answers with already covers it).
    const needs = targets.map(([topic, partition]) => book.maxOffset(topic, partition) + 1);
    const client = new Client({ bootstrapServers: broker.bootstrap, clientId: "chaos-hw" });
    try {
      const hws = await new Admin(client).listOffsets(
        targets.map(([topic, partition]) => ({ topic, partition, spec: "latest" as const })),
      );
      let missing = 0;
      for (const [i, [topic, partition]] of targets.entries()) {
        if (hws[i].offset < needs[i]) {
          missing += needs[i] - hws[i].offset;
          fail(
            `${topic}-${partition}: high watermark ${hws[i].offset} after restart ${restart}, ` +
              `but offset ${needs[i] - 1} had been acknowledged`,
          );
        }
      }
      return missing;
    } finally {
      await client.close();
    }
  };

  try {
    const first = await broker.start();
    say(
      `broker pid ${broker.pid} on ${broker.bootstrap}, data ${dir}/data; listening after ${
        (first.listenMs / 1000).toFixed(2)
      } s`,
    );
    const admin = new Client({ bootstrapServers: broker.bootstrap, clientId: "chaos-admin" });
    try {
      await new Admin(admin).createTopics(topics.map((t) => ({
        name: t.name,
        numPartitions: options.partitions,
        configs: t.size === DEFAULT_SEGMENT_BYTES
          ? {}
          : { "segment.bytes": String(t.size) } as Record<string, string>,
      })));
    } finally {
      await admin.close();
    }
    say(
      `topics ${topics.map((t) => `${t.name} (segment.bytes ${formatSize(t.size)})`).join(", ")}` +
        `, ${options.partitions} partition(s) each; target ${
          formatSize(options.bytesPerPartition)
        } per partition; ${options.kills} kills; producers ${options.producers.join(", ")}`,
    );
    const counts = new Map<ProducerKind, number>();
    for (const kind of options.producers) {
      const i = counts.get(kind) ?? 0;
      counts.set(kind, i + 1);
      spawnProducer(`${kind}#${i}`, kind);
    }

    // Kill plan: the kinds (the first is always under load) and the byte points of load kills.
    const kinds: Array<"load" | "recovery"> = [];
    for (let i = 0; i < options.kills; i++) {
      kinds.push(i > 0 && random() < options.recoveryKillRatio ? "recovery" : "load");
    }
    const points = kinds.filter((k) => k === "load").map(() => 0.03 + 0.94 * random())
      .sort((a, b) => a - b).map((f) => f * totalTarget);
    let nextPoint = 0;
    let lastListenMs = first.listenMs;
    for (let i = 0; i < options.kills;) {
      // Under load: wait for the next point, then a random delay, then SIGKILL.
      while (result.ackedBytes < points[nextPoint]) {
        checkTime(`waiting for ${formatSize(points[nextPoint])} acknowledged before kill ${i + 1}`);
        await sleep(20);
      }
      nextPoint++;
      await sleep(Math.floor(random() * 300));
      await broker.kill();
      lastKillAt = Date.now();
      firstAfterKill.clear();
      const newCycle = async (kind: CycleResult["kind"]): Promise<CycleResult> => {
        const onDisk = Object.values(await diskBytes(`${dir}/data`, targets))
          .reduce((a, b) => a + b, 0);
        const c: CycleResult = {
          n: ++i,
          kind,
          ackedBytesAtKill: result.ackedBytes,
          maxPartitionBytesAtKill: maxPartitionBytes(),
          diskBytesAtKill: onDisk,
          firstAckMs: {},
          missingAtRestart: 0,
          recoveryLines: [],
        };
        result.cycles.push(c);
        return c;
      };
      let cycle = await newCycle("load");
      // Restart; some restarts are themselves killed during recovery.
      let started: StartResult | undefined;
      let spawnedAt = 0;
      while (started === undefined) {
        checkTime(`restarting after kill ${i}`);
        spawnedAt = Date.now();
        const starting = broker.start();
        if (i < options.kills && kinds[i] === "recovery") {
          await sleep(Math.floor(random() * lastListenMs));
          await broker.kill();
          // Acknowledgements by the killed restart (if it listened) do not count as carrying on.
          lastKillAt = Date.now();
          firstAfterKill.clear();
          cycle.restartKilledAfterMs = lastKillAt - spawnedAt;
          cycle.restartKilledBeforeListening = await starting.then(() => false, () => true);
          say(cycleLine(cycle, options.kills));
          cycle = await newCycle("recovery");
          continue;
        }
        try {
          started = await starting;
        } catch (e) {
          fail(`broker did not restart after kill ${i}: ${e instanceof Error ? e.message : e}`);
          throw new Reported();
        }
      }
      const last = cycle;
      last.listenMs = started.listenMs;
      last.recoveryLines = started.recoveryLines;
      lastListenMs = started.listenMs;
      last.missingAtRestart = await missingBelowHw(i);
      // Every producer continues: wait for an acknowledgement from each after the kill.
      const waitFrom = Date.now();
      while ([...live.keys()].some((slot) => !firstAfterKill.has(slot))) {
        checkTime(`waiting for every producer to continue after kill ${i}`);
        if (Date.now() - waitFrom > 120_000) {
          const stuck = [...live].filter(([s]) => !firstAfterKill.has(s)).map(([, p]) =>
            p.spec.name
          );
          fail(`no acknowledgement within 120 s after restart ${i} from ${stuck.join(", ")}`);
          break;
        }
        await sleep(20);
      }
      for (const [slot, p] of live) {
        const t = firstAfterKill.get(slot);
        if (t !== undefined) last.firstAckMs[p.spec.name] = t - spawnedAt;
      }
      say(cycleLine(last, options.kills));
    }

    // Reach the target on every partition, with an acknowledgement from every producer after
    // the last restart.
    while (
      [...ackedPerPartition.values()].some((b) => b < options.bytesPerPartition) ||
      [...live.keys()].some((slot) => !firstAfterKill.has(slot))
    ) {
      checkTime("filling the partitions to the target");
      await sleep(50);
    }
    stopping = true;
    for (const p of live.values()) {
      const exit = await p.stop();
      if (!exit.clean) {
        fail(`producer ${p.spec.name} did not stop cleanly: ${exit.fatal ?? `exit ${exit.code}`}`);
        continue;
      }
      // A producer that stopped cleanly had an answer for every record it sent: a hole means
      // its output lost lines, and the check below would take acknowledged records for unacked.
      const hole = answers.unanswered(p.spec.name);
      if (hole.count > 0) {
        fail(
          `${hole.count} records of ${p.spec.name} have neither an acknowledgement nor an ` +
            `error, e.g. sequences ${hole.first.join(", ")}`,
        );
      }
    }
    await Promise.all(watching);
    watching = [];
    say(
      `producers stopped: ${result.ackedRecords} records (${formatSize(result.ackedBytes)}) ` +
        `acknowledged, ${result.deliveryErrors} delivery errors; checking`,
    );

    // Check every partition: Sluice's consumer, then kcat for the same offsets.
    if (book.conflicts.length > 0) {
      fail(
        `${book.conflicts.length} offset(s) acknowledged for two different records, e.g. ${
          book.conflicts.slice(0, 3).join("; ")
        }`,
      );
    }
    let kcatAgrees = true;
    const checkedHw: number[] = [];
    for (const [topic, partition] of targets) {
      const ours = await readWithSluice(broker.bootstrap, topic, partition, options.recordBytes);
      checkedHw.push(ours.highWatermark);
      const check = checkPartition(topic, partition, book.partition(topic, partition), ours);
      result.checks.push(check);
      if (!partitionOk(check)) {
        for (const e of check.examples) fail(e);
      }
      if (options.kcat) {
        const theirs = await readWithKcat(
          broker.bootstrap,
          topic,
          partition,
          options.recordBytes,
          ours.highWatermark,
        );
        const diff = compareContents(ours, theirs);
        if (diff) {
          kcatAgrees = false;
          fail(`${topic}-${partition}: kcat read differs from Sluice's consumer: ${diff}`);
        }
      }
    }
    if (options.kcat) result.kcatAgrees = kcatAgrees;

    // A clean shutdown and start on the checked data: it exits 0, recovery has nothing to
    // repair, every high watermark is where it was (and the start time is the baseline for the
    // restarts after kills).
    const code = await broker.stop();
    if (code !== 0) fail(`the broker's clean shutdown exited with ${code}`);
    const clean = await broker.start();
    result.cleanRestartListenMs = clean.listenMs;
    for (const line of clean.recoveryLines) {
      if (/truncat|deleting segment/.test(line)) fail(`recovery after a clean shutdown: ${line}`);
    }
    const client = new Client({ bootstrapServers: broker.bootstrap, clientId: "chaos-hw" });
    try {
      const hws = await new Admin(client).listOffsets(
        targets.map(([topic, partition]) => ({ topic, partition, spec: "latest" as const })),
      );
      for (const [i, [topic, partition]] of targets.entries()) {
        if (hws[i].offset !== checkedHw[i]) {
          fail(
            `${topic}-${partition}: high watermark ${hws[i].offset} after a clean restart, ` +
              `${checkedHw[i]} before`,
          );
        }
      }
    } finally {
      await client.close();
    }
    say(`clean restart: listening after ${seconds(clean.listenMs)}, high watermarks unchanged`);
  } catch (e) {
    if (!(e instanceof Reported)) fail(e instanceof Error ? e.message : String(e));
  } finally {
    stopping = true;
    await Promise.all([...live.values()].map((p) => p.stop(10_000)));
    await Promise.all(watching);
    const running = broker.pid !== undefined;
    result.shutdownCode = await broker.stop();
    if (running && result.shutdownCode !== 0) {
      fail(`the broker's clean shutdown exited with ${result.shutdownCode}`);
    }
    await ackFile.close();
    result.diskBytes = await diskBytes(`${dir}/data`, targets);
    result.durationMs = performance.now() - started;
  }
  if (result.failures.length === 0 && !options.keep) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return result;
}
