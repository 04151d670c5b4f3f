// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The power-loss harness: a real broker process (`cli/main.ts broker`) whose data directory is on
 * {@linkcode LazyFs}, real producers recording every acknowledgement, and simulated power cuts
 * at seeded random moments. After each cut the broker restarts on what was durable and a checker
 * verifies every acknowledged record is present exactly once, at its acknowledged offset, in
 * order; that every acknowledged topic creation and offset commit survived.
 *
 * Workload of each power-on period:
 * - Sluice's own producer (`client/producer.ts`, idempotent with acks=all: up to 5 batches in
 *   flight per partition, each retried with its sequence until acknowledged, across cuts), on
 *   every topic, now and then replaced by a new one (a new producer id);
 * - a confluent-kafka producer (librdkafka, `enable.idempotence`, acks=all) that keeps running
 *   across cuts and reconnects to the restarted broker;
 * - offset commits of three groups (`__consumer_offsets`);
 * - topic creations at random moments;
 * - with 1 MiB segments, so partitions roll many segments (and producer-state snapshots).
 *
 * Some cuts hit the broker while it is still starting (recovering the previous cut).
 *
 * Requires `--allow-all`, root (or FUSE mount rights) and what {@linkcode lazyFsUnavailable}
 * checks.
 *
 * @module
 */

import { Admin, Client, Consumer, Producer } from "../../client/mod.ts";
import { type CutStats, LazyFs } from "./lazyfs.ts";

/** Settings of {@linkcode runPowerLoss}. */
export interface PowerLossOptions {
  /** Power cuts to make (the broker then starts once more for the final check). */
  cuts: number;
  /** Seed of every random choice (cut moments, batch sizes, topic creations). */
  seed: number;
  /** `log.segment.bytes`. Default 1 MiB. */
  segmentBytes?: number;
  /** Bytes of each record value. Default 512. */
  valueBytes?: number;
  /** Range of the time from "workload running" to the cut, in ms. Default [1000, 6000]. */
  cycleMs?: [number, number];
  /** Chance that a cut hits the broker while it is still starting. Default 0.15. */
  startupCutChance?: number;
  /** Run the confluent-kafka producer too. Default true. */
  confluent?: boolean;
  /**
   * `log.flush.interval.messages=1` (fsync before acknowledging). Default true; false makes a
   * broker that is expected to lose acknowledged records (the harness checking itself).
   */
  fsyncBeforeAck?: boolean;
  /** Stop producing to a partition past this many bytes (bounds long runs). Default 32 MiB. */
  maxBytesPerPartition?: number;
  /**
   * Read every partition from offset 0 after every this many power-ons (and at the end); the
   * checks in between read only what was added since the last one. Default 10.
   */
  fullCheckEvery?: number;
  /** Stop the run (before the next cut) after this long. Default: no limit. */
  timeLimitMs?: number;
  /** Directory for the data, mount point and broker logs. Default: a new temp dir. */
  workDir?: string;
  /** Keep the work directory even when nothing was lost. Default false. */
  keep?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What {@linkcode runPowerLoss} found. */
export interface PowerLossReport {
  /** Power cuts made. */
  cuts: number;
  /** Of these, cuts while the broker was still starting. */
  startupCuts: number;
  /** Acknowledged records, all producers. */
  ackedRecords: number;
  /** Acknowledged records of the Sluice-client producer. */
  ackedBySluice: number;
  /** Acknowledged records of the confluent-kafka producer. */
  ackedByConfluent: number;
  /** Bytes of acknowledged record values. */
  ackedValueBytes: number;
  /** Records read back by the final check. */
  recordsChecked: number;
  /** Topics whose creation was acknowledged. */
  topicsCreated: number;
  /** Offset commits acknowledged. */
  commitsAcked: number;
  /** Producer ids used by the Sluice-client producer. */
  producerIds: number;
  /** Largest partition: topic-partition, log end offset and segment count. */
  largestPartition: { name: string; logEndOffset: number; segments: number };
  /** Segments in all partitions at the end. */
  segments: number;
  /** Sum over the cuts of what lazyfs dropped. */
  dropped: { files: number; bytes: number; dirs: number };
  /** fsyncs of files and directories over the run. */
  fsyncs: number;
  /** fsyncs of directories over the run. */
  fsyncdirs: number;
  /** Broker log lines about recovery actions (truncations, deletions, rebuilt indexes). */
  recoveryLog: string[];
  /** Mounts that ended abnormally but whose durable state was still written back. */
  incidents: string[];
  /** Everything that went wrong: lost, moved, duplicated or reordered records, lost topics… */
  problems: string[];
  /** Wall time of the run. */
  durationMs: number;
  /** The work directory (kept when there were problems or `keep` was set). */
  workDir: string;
}

const DEFAULTS = {
  segmentBytes: 1024 * 1024,
  valueBytes: 512,
  cycleMs: [1000, 6000] as [number, number],
  startupCutChance: 0.15,
  maxBytesPerPartition: 32 * 1024 * 1024,
  fullCheckEvery: 10,
};

const REPO = new URL("../../", import.meta.url).pathname;
const PY_PRODUCER = new URL("./confluent_producer.py", import.meta.url).pathname;
const GROUPS = ["pl-g0", "pl-g1", "pl-g2"];
const BASE_TOPIC = "pl-a";
const CONFLUENT_TOPIC = "pl-confluent";
const MAX_PROBLEMS = 200;
/** The checker gives up reading a partition after this long without a record. */
const STUCK_MS = 15_000;
/** Records per second of the confluent-kafka producer (it could go much faster). */
const CONFLUENT_PER_SECOND = 1500;
/** The Sluice-client producer writes to the base topic and this many newest created topics. */
const ACTIVE_CREATED_TOPICS = 3;
/** Chance that the Sluice-client producer takes a new producer id at a power-on. */
const NEW_PRODUCER_ID_CHANCE = 0.35;

/** Processes and mounts of running harnesses, for {@linkcode killPowerLossChildren}. */
const children = new Set<Deno.ChildProcess>();
const mounts = new Set<string>();

/**
 * Kills every broker and producer process a harness in this process started, and detaches its
 * mounts (for a signal handler: the harness itself is being interrupted).
 */
export function killPowerLossChildren(): void {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already exited
    }
  }
  for (const m of mounts) {
    new Deno.Command("fusermount3", { args: ["-u", "-z", m], stderr: "null" }).outputSync();
  }
}

function track(child: Deno.ChildProcess): Deno.ChildProcess {
  children.add(child);
  child.status.finally(() => children.delete(child));
  return child;
}

const TRACE = Deno.env.get("SLUICE_POWERLOSS_TRACE") !== undefined;

/** Phase lines on stderr with SLUICE_POWERLOSS_TRACE set. */
function trace(msg: string): void {
  if (TRACE) console.error(`[${new Date().toISOString()}] ${msg}`);
}

/** mulberry32: small, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done);
  });

/** Runs `p` but gives up waiting after `ms` (the promise keeps running). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(t);
  }
}

/** Acknowledgements and other facts the checker holds the broker to. */
class Ledger {
  /** `topic-partition` → offset → record id. */
  acks = new Map<string, Map<number, string>>();
  /** Topics whose creation was acknowledged → partition count. */
  topics = new Map<string, number>();
  /** group → last acknowledged commit value, last attempted value. */
  commits = new Map<string, { acked: number; attempted: number }>();
  ackedRecords = 0;
  ackedBySluice = 0;
  ackedByConfluent = 0;
  ackedValueBytes = 0;
  commitsAcked = 0;
  problems: string[] = [];
  /** `topic-partition` → end offset read by the last check. */
  checkedTo = new Map<string, number>();
  /** `topic-partition` → offsets acknowledged for two different records. */
  reacked = new Map<string, { count: number; first: string }>();

  ack(topic: string, partition: number, offset: number, id: string, bytes: number): void {
    const k = `${topic}-${partition}`;
    let m = this.acks.get(k);
    if (!m) this.acks.set(k, m = new Map());
    const before = m.get(offset);
    if (before !== undefined && before !== id) {
      // the broker gave an offset out again: what it held there was lost
      const r = this.reacked.get(k);
      if (r) r.count++;
      else this.reacked.set(k, { count: 1, first: `${offset} (${before}, then ${id})` });
    }
    m.set(offset, id);
    this.ackedRecords++;
    if (id.startsWith("s")) this.ackedBySluice++;
    else this.ackedByConfluent++;
    this.ackedValueBytes += bytes;
  }

  problem(msg: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(msg);
  }
}

/** The record id: the value up to its last ':' (the rest is padding). */
function recordId(value: Uint8Array | null): string {
  if (!value) return "<null>";
  const head = new TextDecoder().decode(value.subarray(0, Math.min(value.length, 64)));
  const i = head.lastIndexOf(":");
  return i < 0 ? head : head.slice(0, i);
}

/** Stream of an id ("s<pid>:<p>:<seq>" → "s<pid>:<p>", "c<n>:<i>" → "c<n>") and its position. */
function streamOf(id: string): [string, number] {
  const i = id.lastIndexOf(":");
  return [id.slice(0, i), Number(id.slice(i + 1))];
}

interface PartitionState {
  topic: string;
  partition: number;
  /** Record number of the next record of the current producer (ids `s<n>:<p>:<seq>`). */
  nextSeq: number;
  /** Bytes of acknowledged records. */
  bytes: number;
}

/** Sends outstanding per partition (the client keeps at most 5 batches of one in flight). */
const SENDS_PER_PARTITION = 3;
/** Longer than any run: a send is retried across every cut until the broker acknowledges it. */
const DELIVERY_TIMEOUT_MS = 6 * 3_600_000;

/**
 * The Sluice-client workload: `client/producer.ts` as users get it (idempotent with acks=all:
 * InitProducerId, per-partition sequences, up to 5 batches in flight per partition, each retried
 * byte for byte until acknowledged, across cuts), with up to {@linkcode SENDS_PER_PARTITION}
 * sends of 1 to 20 records outstanding per partition. A send still unanswered at a cut goes on
 * after the restart. At some power-ons (and after a problem) a new `Producer` (a new producer
 * id) takes over; the previous one finishes what it has outstanding. An epoch bump (the broker
 * answered OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID: it lost an acknowledged batch or
 * the producer's state) or a failed send is a problem.
 */
class SluiceWorkload {
  /** Producers (producer ids) used so far. */
  producers = 0;
  #client: Client;
  #producer: Producer | undefined;
  #all: Producer[] = [];
  #parts = new Map<string, PartitionState>();
  #random: () => number;
  #valueBytes: number;
  #maxBytes: number;
  #ledger: Ledger;
  #loops = new Set<Promise<void>>();
  #sends = new Set<Promise<void>>();
  #running: AbortSignal | undefined;
  #trouble = false;
  #closing = false;

  constructor(
    bootstrap: string,
    random: () => number,
    valueBytes: number,
    maxBytes: number,
    ledger: Ledger,
  ) {
    // One client for the whole run: it reconnects to each restarted broker by itself.
    this.#client = new Client({
      bootstrapServers: bootstrap,
      clientId: "powerloss-sluice",
      requestTimeoutMs: 30_000,
      connectTimeoutMs: 2_000,
      retryBackoffMs: 50,
    });
    this.#random = random;
    this.#valueBytes = valueBytes;
    this.#maxBytes = maxBytes;
    this.#ledger = ledger;
  }

  /** Whether a new producer must take over (none yet, or the last one ran into a problem). */
  get needsRenew(): boolean {
    return this.#producer === undefined || this.#trouble;
  }

  /** A new producer (a new producer id at its first send) takes over; record numbers restart. */
  renew(): void {
    const n = this.producers++;
    this.#trouble = false;
    for (const p of this.#parts.values()) p.nextSeq = 0;
    const producer: Producer = new Producer(this.#client, {
      acks: -1,
      idempotent: true,
      lingerMs: 2,
      deliveryTimeoutMs: DELIVERY_TIMEOUT_MS,
      allowAutoTopicCreation: false,
      onEpochBump: (b) => {
        this.#ledger.problem(
          `${b.topic}-${b.partition}: producer ${n} (id ${b.previousProducerId} epoch ` +
            `${b.previousProducerEpoch}) bumped its epoch after ${b.error.message}: the broker ` +
            `lost an acknowledged batch or the producer state`,
        );
        if (producer === this.#producer) this.#trouble = true;
      },
    });
    this.#producer = producer;
    this.#all.push(producer);
  }

  addPartition(topic: string, partition: number): void {
    const k = `${topic}-${partition}`;
    if (this.#parts.has(k)) return;
    const st: PartitionState = { topic, partition, nextSeq: 0, bytes: 0 };
    this.#parts.set(k, st);
    if (this.#running) this.#startLoop(st);
  }

  /** Stops writing to every topic but `keep` and the `n` newest others (bounds long runs). */
  retireAllBut(n: number, keep: string): void {
    const topics = [...new Set([...this.#parts.values()].map((p) => p.topic))]
      .filter((t) => t !== keep);
    for (const t of topics.slice(0, Math.max(0, topics.length - n))) {
      for (const [k, p] of this.#parts) if (p.topic === t) this.#parts.delete(k);
    }
  }

  start(signal: AbortSignal): void {
    this.#running = signal;
    for (const st of this.#parts.values()) this.#startLoop(st);
  }

  /** Waits for every loop to end (after the signal was aborted); sends stay outstanding. */
  async stop(): Promise<void> {
    this.#running = undefined;
    await within(Promise.all([...this.#loops]), 60_000, "producer loops").catch((e) => {
      this.#ledger.problem(`${e.message}`);
    });
  }

  /** Waits until every send so far is answered (the broker must be up). */
  async settle(): Promise<void> {
    await within(Promise.all([...this.#sends]), 120_000, "sluice producer sends").catch((e) => {
      this.#ledger.problem(`${e.message}`);
    });
  }

  /** Ends every producer (a send still unanswered fails) and the client. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const p of this.#all) await p.close(0);
    await this.#client.close();
  }

  #startLoop(st: PartitionState): void {
    const p = this.#loop(st).finally(() => this.#loops.delete(p));
    this.#loops.add(p);
  }

  async #loop(st: PartitionState): Promise<void> {
    const signal = this.#running;
    const producer = this.#producer;
    if (!signal || !producer) return;
    const key = `${st.topic}-${st.partition}`;
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
    const outstanding = new Set<Promise<void>>();
    const pad = "p".repeat(Math.max(0, this.#valueBytes - 32));
    while (!signal.aborted && !this.#trouble) {
      if (st.bytes >= this.#maxBytes || this.#parts.get(key) !== st) return;
      const n = 1 + Math.floor(this.#random() * 20);
      const ids: string[] = [];
      const messages = [];
      let valueBytes = 0;
      for (let i = 0; i < n; i++) {
        const id = `s${this.producers - 1}:${st.partition}:${st.nextSeq++}`;
        ids.push(id);
        const value = new TextEncoder().encode(`${id}:${pad}`);
        valueBytes += value.length;
        messages.push({ value, partition: st.partition });
      }
      const sent = producer.send({ topic: st.topic, messages }).then((metas) => {
        for (let i = 0; i < n; i++) {
          if (metas[i].offset < 0) {
            this.#ledger.problem(`${key}: ${ids[i]} acknowledged without an offset`);
            continue;
          }
          this.#ledger.ack(st.topic, st.partition, metas[i].offset, ids[i], valueBytes / n);
        }
        st.bytes += valueBytes;
      }, (e) => {
        if (this.#closing) return; // the run ended before the broker could answer
        this.#ledger.problem(
          `${key}: send of ${ids[0]}..${ids.at(-1)} failed: ${e instanceof Error ? e.message : e}`,
        );
        if (producer === this.#producer) this.#trouble = true;
      });
      this.#sends.add(sent);
      outstanding.add(sent);
      sent.finally(() => {
        this.#sends.delete(sent);
        outstanding.delete(sent);
      });
      if (outstanding.size >= SENDS_PER_PARTITION) {
        await Promise.race([Promise.race(outstanding), aborted]);
      }
    }
  }
}

/** The confluent-kafka producer: one process kept across cuts. */
class ConfluentProducer {
  #child: Deno.ChildProcess | undefined;
  #reader: Promise<void> | undefined;
  #instance = 0;
  #ledger: Ledger;
  #log: (line: string) => void;
  #valueBytes = 0;
  errors = 0;

  constructor(ledger: Ledger, log: (line: string) => void) {
    this.#ledger = ledger;
    this.#log = log;
  }

  get running(): boolean {
    return this.#child !== undefined;
  }

  start(bootstrap: string, valueBytes: number): void {
    this.#valueBytes = valueBytes;
    const prefix = `c${this.#instance++}`;
    const child = track(new Deno.Command("/usr/bin/python3", {
      args: [
        PY_PRODUCER,
        bootstrap,
        CONFLUENT_TOPIC,
        prefix,
        String(valueBytes),
        "1000",
        String(CONFLUENT_PER_SECOND),
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn());
    this.#child = child;
    const stderr = new Response(child.stderr).text();
    this.#reader = (async () => {
      let buf = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          this.#line(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      }
      const status = await child.status;
      if (this.#child === child) this.#child = undefined;
      if (!status.success && status.signal !== "SIGKILL") {
        const err = (await stderr).trim().split("\n").slice(-5).join(" | ");
        this.#ledger.problem(`confluent producer ${prefix} exited with ${status.code}: ${err}`);
      }
    })();
  }

  #line(line: string): void {
    if (!line.startsWith("{")) return;
    const m = JSON.parse(line);
    if (typeof m.o === "number") {
      this.#ledger.ack(CONFLUENT_TOPIC, m.p, m.o, m.v, this.#valueBytes + m.v.length + 1);
    } else if (m.err !== undefined || m.error !== undefined) {
      this.errors++;
      if (m.fatal) this.#log(`confluent producer: fatal: ${m.err ?? m.error}`);
    }
  }

  /** SIGTERM: it flushes what is outstanding (the broker must be up) and exits. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    child.kill("SIGTERM");
    try {
      await within(this.#reader!, 30_000, "confluent producer stop");
    } catch {
      child.kill("SIGKILL");
      await this.#reader;
    }
  }
}

/** One broker process on the lazyfs mount. */
class BrokerProcess {
  readonly child: Deno.ChildProcess;
  readonly ready: Promise<boolean>;
  readonly exited: Promise<Deno.CommandStatus>;
  readonly lines: string[] = [];

  constructor(port: number, dataDir: string, logFile: string, overrides: string[]) {
    const args = [
      "run",
      "-A",
      `${REPO}cli/main.ts`,
      "broker",
      "--listeners",
      `PLAINTEXT://127.0.0.1:${port}`,
      "--override",
      `log.dirs=${dataDir}`,
    ];
    for (const o of overrides) args.push("--override", o);
    const child = track(
      new Deno.Command(Deno.execPath(), {
        args,
        cwd: REPO,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn(),
    );
    this.child = child;
    this.exited = child.status;
    let signalReady: (ok: boolean) => void = () => {};
    this.ready = new Promise((r) => (signalReady = r));
    (async () => {
      const file = await Deno.open(logFile, { write: true, create: true, append: true });
      const enc = new TextEncoder();
      let buf = "";
      try {
        for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
          await file.write(enc.encode(chunk));
          buf += chunk;
          let i;
          while ((i = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            this.lines.push(line);
            if (line.includes(" listening on ")) signalReady(true);
          }
        }
      } finally {
        file.close();
        signalReady(false);
      }
    })();
  }

  async kill(): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already exited
    }
    await this.exited;
  }
}

const RECOVERY_LINE =
  /truncated|deleting segment|removing|rebuilding|re-validating|ignoring|overlaps|corrupt|failed/i;

/**
 * Runs the power-loss harness.
 *
 * @example Five cuts
 * ```ts ignore
 * import { runPowerLoss } from "./harness.ts";
 * const report = await runPowerLoss({ cuts: 5, seed: 1, log: console.log });
 * console.log(report.ackedRecords, report.problems);
 * ```
 *
 * @param options Cuts, seed, sizes.
 * @returns What was acknowledged, checked and lost.
 * @throws {Error} If lazyfs cannot mount or the first broker cannot be reached.
 */
export async function runPowerLoss(options: PowerLossOptions): Promise<PowerLossReport> {
  const o = { ...DEFAULTS, confluent: true, fsyncBeforeAck: true, ...options };
  if (!(o.fullCheckEvery >= 1)) throw new RangeError("fullCheckEvery must be at least 1");
  const log = o.log ?? (() => {});
  const started = Date.now();
  // two streams: the schedule (cut moments, start-up cuts, new producer ids, topic creations)
  // stays the same for a seed however the workload's own choices interleave with it
  const random = rng(o.seed);
  const workload = rng(o.seed ^ 0x9e3779b9);
  const work = o.workDir ?? await Deno.makeTempDir({ prefix: "sluice_powerloss_" });
  const backing = `${work}/backing`;
  const mnt = `${work}/mnt`;
  const dataDir = `${mnt}/data`;
  await Deno.mkdir(backing, { recursive: true });
  mounts.add(mnt);
  const ledger = new Ledger();
  const confluent = new ConfluentProducer(ledger, log);
  const port = freePort();
  const bootstrap = `127.0.0.1:${port}`;
  const producer = new SluiceWorkload(
    bootstrap,
    workload,
    o.valueBytes,
    o.maxBytesPerPartition,
    ledger,
  );
  const overrides = [
    `log.segment.bytes=${o.segmentBytes}`,
    "group.initial.rebalance.delay.ms=0",
    "num.partitions=1",
    "auto.create.topics.enable=false",
  ];
  if (o.fsyncBeforeAck) overrides.push("log.flush.interval.messages=1");
  const report: PowerLossReport = {
    cuts: 0,
    startupCuts: 0,
    ackedRecords: 0,
    ackedBySluice: 0,
    ackedByConfluent: 0,
    ackedValueBytes: 0,
    recordsChecked: 0,
    topicsCreated: 0,
    commitsAcked: 0,
    producerIds: 0,
    largestPartition: { name: "", logEndOffset: 0, segments: 0 },
    segments: 0,
    dropped: { files: 0, bytes: 0, dirs: 0 },
    fsyncs: 0,
    fsyncdirs: 0,
    recoveryLog: [],
    incidents: [],
    problems: ledger.problems,
    durationMs: 0,
    workDir: work,
  };
  const addStats = (s: CutStats) => {
    if (s.incident) {
      report.incidents.push(s.incident);
      log(`lazyfs incident (the cut was still applied: ${s.cut}): ${s.incident}`);
    }
    if (s.cut) {
      report.dropped.files += s.unsyncedFiles;
      report.dropped.bytes += s.unsyncedBytes;
      report.dropped.dirs += s.unsyncedDirs;
    }
    report.fsyncs += s.fsyncs;
    report.fsyncdirs += s.fsyncdirs;
  };
  let fs: LazyFs | undefined;
  let broker: BrokerProcess | undefined;
  let nextTopic = 0;
  try {
    for (let cycle = 0;; cycle++) {
      const outOfTime = o.timeLimitMs !== undefined && Date.now() - started > o.timeLimitMs;
      const final = report.cuts >= o.cuts || outOfTime;
      fs = await LazyFs.mount(backing, mnt);
      broker = new BrokerProcess(port, dataDir, `${work}/broker.log`, overrides);
      if (!final && cycle > 0 && random() < o.startupCutChance) {
        // cut while the broker is starting (recovering the previous cut)
        await sleep(200 + random() * 2500);
        await broker.kill();
        collectRecovery(broker, report);
        addStats(await fs.cut());
        report.cuts++;
        report.startupCuts++;
        log(`cut ${report.cuts}: during start-up`);
        continue;
      }
      const ready = await within(broker.ready, 180_000, "broker start").catch(() => false);
      trace(`cycle ${cycle}: broker ready: ${ready}`);
      if (!ready) {
        const status = await Promise.race([broker.exited, sleep(10).then(() => undefined)]);
        ledger.problem(
          `cycle ${cycle}: the broker did not start (${
            status ? `exit ${status.code}` : "no listening line in 180 s"
          }): ${broker.lines.slice(-5).join(" | ")}`,
        );
        break;
      }
      const client = new Client({
        bootstrapServers: bootstrap,
        requestTimeoutMs: 30_000,
        retries: 20,
      });
      try {
        await check(client, ledger, final || cycle % o.fullCheckEvery === 0, final, report);
        trace(`cycle ${cycle}: checked`);
        collectRecovery(broker, report);
        if (final) {
          await finish(client, confluent, producer, ledger, report);
          break;
        }
        const admin = new Admin(client);
        if (cycle === 0) {
          for (const [name, n] of [[BASE_TOPIC, 3], [CONFLUENT_TOPIC, 3]] as const) {
            await admin.createTopics([{ name, numPartitions: n }]);
            ledger.topics.set(name, n);
          }
          for (let p = 0; p < 3; p++) producer.addPartition(BASE_TOPIC, p);
        }
        if (producer.needsRenew || random() < NEW_PRODUCER_ID_CHANCE) producer.renew();
        report.producerIds = producer.producers;
        const stop = new AbortController();
        producer.start(stop.signal);
        if (o.confluent && !confluent.running) confluent.start(bootstrap, o.valueBytes);
        const side = [
          commitLoop(admin, ledger, workload, stop.signal),
          topicCreator(admin, ledger, producer, random, stop.signal, `pl-t${nextTopic++}`),
        ];
        const ms = o.cycleMs[0] + random() * (o.cycleMs[1] - o.cycleMs[0]);
        await sleep(ms);
        await broker.kill();
        stop.abort();
        await producer.stop();
        await within(Promise.all(side), 60_000, "side loops").catch((e) =>
          ledger.problem(e.message)
        );
        collectRecovery(broker, report);
        const stats = await fs.cut();
        addStats(stats);
        report.cuts++;
        log(
          `cut ${report.cuts} after ${Math.round(ms)} ms: ${ledger.ackedRecords} acked, ` +
            `dropped ${stats.unsyncedFiles} files / ${stats.unsyncedBytes} bytes / ` +
            `${stats.unsyncedDirs} dirs, ${stats.fsyncs} fsyncs, ${stats.fsyncdirs} dir fsyncs` +
            (ledger.problems.length ? `, ${ledger.problems.length} problems` : ""),
        );
      } finally {
        await client.close().catch(() => {});
      }
    }
  } finally {
    await producer.close().catch(() => {});
    await confluent.stop().catch(() => {});
    if (broker) {
      try {
        broker.child.kill("SIGTERM");
      } catch {
        // already exited
      }
      const st = await within(broker.exited, 60_000, "broker stop").catch(async () => {
        await broker!.kill();
        return undefined;
      });
      if (st && !st.success && st.signal === null) {
        ledger.problem(`the final broker exited with ${st.code} on SIGTERM`);
      }
    }
    if (fs) addStats(await fs.unmount().catch(() => fs!.cut()));
  }
  mounts.delete(mnt);
  for (const [k, r] of ledger.reacked) {
    ledger.problem(`${k}: ${r.count} offsets acknowledged for two records; first: ${r.first}`);
  }
  await measureSegments(backing, report);
  report.ackedRecords = ledger.ackedRecords;
  report.ackedBySluice = ledger.ackedBySluice;
  report.ackedByConfluent = ledger.ackedByConfluent;
  report.ackedValueBytes = ledger.ackedValueBytes;
  report.topicsCreated = ledger.topics.size;
  report.commitsAcked = ledger.commitsAcked;
  report.durationMs = Date.now() - started;
  if (ledger.problems.length === 0 && !o.keep && o.workDir === undefined) {
    await Deno.remove(work, { recursive: true });
  }
  return report;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function collectRecovery(broker: BrokerProcess, report: PowerLossReport): void {
  for (const line of broker.lines.splice(0)) {
    if (RECOVERY_LINE.test(line) && report.recoveryLog.length < 500) report.recoveryLog.push(line);
  }
}

async function commitLoop(
  admin: Admin,
  ledger: Ledger,
  random: () => number,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    const group = GROUPS[Math.floor(random() * GROUPS.length)];
    const c = ledger.commits.get(group) ?? { acked: -1, attempted: -1 };
    ledger.commits.set(group, c);
    const value = c.attempted + 1;
    c.attempted = value;
    try {
      await admin.alterConsumerGroupOffsets(
        group,
        [0, 1, 2].map((partition) => ({ topic: BASE_TOPIC, partition, offset: value })),
      );
      c.acked = Math.max(c.acked, value);
      ledger.commitsAcked++;
    } catch {
      // unacknowledged: either outcome is fine
    }
    await sleep(50 + random() * 200, signal);
  }
}

async function topicCreator(
  admin: Admin,
  ledger: Ledger,
  producer: SluiceWorkload,
  random: () => number,
  signal: AbortSignal,
  name: string,
): Promise<void> {
  if (random() < 0.4) return;
  await sleep(random() * 3000, signal);
  if (signal.aborted) return;
  try {
    await admin.createTopics([{ name, numPartitions: 2 }]);
  } catch {
    return; // unacknowledged: it may or may not exist
  }
  ledger.topics.set(name, 2);
  producer.addPartition(name, 0);
  producer.addPartition(name, 1);
  producer.retireAllBut(ACTIVE_CREATED_TOPICS, BASE_TOPIC);
}

/** Checks everything acknowledged so far against the restarted broker. */
async function check(
  client: Client,
  ledger: Ledger,
  full: boolean,
  final: boolean,
  report: PowerLossReport,
): Promise<void> {
  const admin = new Admin(client);
  const where = final ? "final check" : `after cut ${report.cuts}`;
  // a full check reads every partition from offset 0; the others from where the last check
  // stopped (every log end offset is still checked against every acknowledgement)
  const from = (k: string) => full ? 0 : ledger.checkedTo.get(k) ?? 0;
  // acknowledgements arriving during the check (the confluent producer keeps running) are for
  // records that may be past what is read here: they are checked next time
  const ackSnapshot = new Map([...ledger.acks].map(([k, m]) => [k, new Map(m)]));
  trace(`${where}: listing topics`);
  const topics = new Set(await within(admin.listTopics(), 60_000, "list topics"));
  const described = new Map<string, number>();
  const present = [...ledger.topics.keys()].filter((t) => topics.has(t));
  if (present.length > 0) {
    for (const d of await within(admin.describeTopics(present), 60_000, "describe topics")) {
      described.set(d.name, d.partitions.length);
    }
  }
  for (const [t, n] of ledger.topics) {
    if (!topics.has(t)) ledger.problem(`${where}: acknowledged topic ${t} is gone`);
    else if (described.get(t) !== n) {
      ledger.problem(`${where}: topic ${t} has ${described.get(t)} partitions, not ${n}`);
    }
  }
  // committed offsets: at least the last acknowledged commit, at most the last attempted one
  for (const [group, c] of ledger.commits) {
    if (c.attempted < 0) continue;
    const got = await within(
      admin.listConsumerGroupOffsets(
        group,
        [0, 1, 2].map((p) => ({ topic: BASE_TOPIC, partition: p })),
      ),
      60_000,
      "offset fetch",
    );
    for (let p = 0; p < 3; p++) {
      const f = got.find((x) => x.partition === p)?.offset ?? -1;
      if (f < c.acked || f > c.attempted) {
        ledger.problem(
          `${where}: group ${group} ${BASE_TOPIC}-${p} committed offset is ${f}, expected ` +
            `${c.acked} (acknowledged) to ${c.attempted} (last attempted)`,
        );
      }
    }
  }
  trace(`${where}: reading records`);
  const parts: Array<{ topic: string; partition: number }> = [];
  for (const [t, n] of ledger.topics) {
    if (!topics.has(t) || described.get(t) !== n) continue;
    for (let p = 0; p < n; p++) parts.push({ topic: t, partition: p });
  }
  if (parts.length === 0) return;
  const ends = await within(
    admin.listOffsets(parts.map((p) => ({ ...p, spec: "latest" as const }))),
    60_000,
    "list offsets",
  );
  const starts = await within(
    admin.listOffsets(parts.map((p) => ({ ...p, spec: "earliest" as const }))),
    60_000,
    "list offsets",
  );
  const end = new Map(ends.map((e) => [`${e.topic}-${e.partition}`, e.offset]));
  for (const s of starts) {
    if (s.offset !== 0) {
      ledger.problem(`${where}: ${s.topic}-${s.partition} starts at ${s.offset}, not 0`);
    }
  }
  trace(`${where}: consuming`);
  const consumer = new Consumer(client, { maxWaitMs: 50, maxPartitionBytes: 4 * 1024 * 1024 });
  const seen = new Map<string, Map<number, string>>();
  try {
    await within(
      consumer.assign(parts.map((p) => ({ ...p, offset: from(`${p.topic}-${p.partition}`) }))),
      60_000,
      "assign",
    );
    trace(`${where}: assigned`);
    const remaining = new Set(
      parts.map((p) => `${p.topic}-${p.partition}`).filter((k) => (end.get(k) ?? 0) > from(k)),
    );
    // a log whose records stop below its end offset (holes) makes no progress: give up after
    // STUCK_MS without a record and report where each partition stopped
    let lastProgress = Date.now();
    const next = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const p of parts) {
      const k = `${p.topic}-${p.partition}`;
      next.set(k, { ...p, offset: from(k) });
    }
    while (remaining.size > 0 && Date.now() - lastProgress < STUCK_MS) {
      let got;
      try {
        got = await within(consumer.poll({ maxWaitMs: 200 }), STUCK_MS, "poll");
      } catch (e) {
        ledger.problem(`${where}: ${(e as Error).message} (reading ${[...remaining]})`);
        break;
      }
      const before = remaining.size;
      for (const r of got) {
        const k = `${r.topic}-${r.partition}`;
        if (!remaining.has(k)) continue;
        lastProgress = Date.now();
        let m = seen.get(k);
        if (!m) seen.set(k, m = new Map());
        m.set(r.offset, recordId(r.value));
        next.get(k)!.offset = r.offset + 1;
        if (r.offset + 1 >= (end.get(k) ?? 0)) remaining.delete(k);
      }
      trace(`${where}: polled ${got.length}, ${remaining.size} partitions to go`);
      if (remaining.size < before && remaining.size > 0) {
        // stop fetching the partitions read to their end
        const rest = [...remaining].map((k) => next.get(k)!);
        await within(consumer.assign(rest), 60_000, "assign");
      }
    }
    for (const k of remaining) {
      const m = seen.get(k);
      const last = m ? Math.max(...m.keys()) : -1;
      ledger.problem(
        `${where}: ${k} cannot be read to its end offset ${end.get(k)}: no record after ${last}`,
      );
    }
  } finally {
    trace(`${where}: closing the consumer`);
    await within(consumer.close(), 30_000, "consumer close").catch((e) =>
      ledger.problem(e.message)
    );
  }
  trace(`${where}: comparing`);
  let checked = 0;
  for (const p of parts) {
    const k = `${p.topic}-${p.partition}`;
    const acks = ackSnapshot.get(k) ?? new Map<number, string>();
    const stored = seen.get(k) ?? new Map<number, string>();
    checked += stored.size;
    const leo = end.get(k) ?? 0;
    const where2 = `${where}: ${k}`;
    // every record id is stored once
    const offsetsOf = new Map<string, number[]>();
    for (const [off, id] of stored) {
      const l = offsetsOf.get(id);
      if (l) l.push(off);
      else offsetsOf.set(id, [off]);
    }
    let missing = 0;
    let firstMissing = "";
    let maxAcked = -1;
    for (const [off, id] of acks) {
      if (off > maxAcked) maxAcked = off;
      if (off < from(k)) continue; // verified by an earlier check
      const got = stored.get(off);
      if (got === id) {
        const all = offsetsOf.get(id)!;
        if (all.length > 1) {
          ledger.problem(`${where2}: ${id} is stored ${all.length} times: ${all}`);
        }
        continue;
      }
      missing++;
      if (!firstMissing) {
        const at = offsetsOf.get(id);
        firstMissing = `${id} acknowledged at offset ${off}: ` +
          (got === undefined ? `no record there (log end ${leo})` : `offset holds ${got}`) +
          (at ? `, found at ${at}` : ", not found anywhere");
      }
    }
    if (missing > 0) {
      ledger.problem(
        `${where2}: ${missing} acknowledged records lost or moved; first: ${firstMissing}`,
      );
    }
    if (maxAcked >= leo) {
      ledger.problem(`${where2}: log end offset ${leo} is below acknowledged offset ${maxAcked}`);
    }
    // in order: within one producer's stream, offsets grow with the sequence
    const streams = new Map<string, Array<[number, number]>>();
    for (const [off, id] of acks) {
      const [s, seq] = streamOf(id);
      const l = streams.get(s);
      if (l) l.push([seq, off]);
      else streams.set(s, [[seq, off]]);
    }
    for (const [s, l] of streams) {
      l.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < l.length; i++) {
        if (l[i][1] <= l[i - 1][1]) {
          ledger.problem(
            `${where2}: ${s} sequence ${l[i][0]} is at offset ${l[i][1]}, not after ` +
              `sequence ${l[i - 1][0]} at ${l[i - 1][1]}`,
          );
          break;
        }
      }
    }
    if (final && leo > report.largestPartition.logEndOffset) {
      report.largestPartition = { name: k, logEndOffset: leo, segments: 0 };
    }
  }
  if (full) report.recordsChecked = checked;
  for (const p of parts) {
    const k = `${p.topic}-${p.partition}`;
    ledger.checkedTo.set(k, Math.max(ledger.checkedTo.get(k) ?? 0, end.get(k) ?? 0));
  }
}

async function finish(
  client: Client,
  confluent: ConfluentProducer,
  producer: SluiceWorkload,
  ledger: Ledger,
  report: PowerLossReport,
): Promise<void> {
  // the producers continue on the recovered broker: a last round, then a last check with every
  // send answered
  if (producer.needsRenew) producer.renew();
  const stop = new AbortController();
  producer.start(stop.signal);
  await sleep(1500);
  stop.abort();
  await producer.stop();
  await producer.settle();
  await confluent.stop();
  await check(client, ledger, true, true, report);
}

async function measureSegments(backing: string, report: PowerLossReport): Promise<void> {
  const data = `${backing}/data`;
  try {
    for await (const e of Deno.readDir(data)) {
      if (!e.isDirectory) continue;
      let n = 0;
      for await (const f of Deno.readDir(`${data}/${e.name}`)) if (f.name.endsWith(".log")) n++;
      report.segments += n;
      if (e.name === report.largestPartition.name) report.largestPartition.segments = n;
    }
  } catch {
    // no data directory
  }
}
