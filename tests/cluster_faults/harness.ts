// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The cluster fault harness (issue #13's "tests with real faults"): a 3-broker cluster on this
 * machine, each broker its own process in its own network namespace (./network.ts), etcd with 1
 * or 3 members, real clients writing and reading all along, and seeded fault cycles — inject a
 * fault, keep the load running, heal or restart, wait until the cluster has recovered and every
 * client has made progress. At the end every acknowledgement, every read, every replica's log and
 * every committed offset is checked (./checker.ts). See docs/RELIABILITY.md, "Cluster faults".
 *
 * Fault kinds (one cycle each):
 *
 * - `leader-kill`: SIGKILL the leader of a partition; the time to the first acks=all produce on
 *   the new leader is measured with a probe producer; restart it;
 * - `follower-kill`: SIGKILL a follower of a partition (preferably one that leads nothing and is
 *   not the controller); restart it;
 * - `leader-pause`: SIGSTOP the leader of a partition for a while (longer or shorter than the
 *   session timeout), then SIGCONT;
 * - `isolate`: cut the leader of a partition off from the other brokers and etcd (clients still
 *   reach it), then heal;
 * - `controller-kill`: SIGKILL the controller; restart it;
 * - `etcd-kill`: SIGKILL one etcd member of 3 (the raft leader or a follower), restart it;
 * - `lagging-follower`: SIGKILL a follower of a partition, keep writing (an ISR of two), restart
 *   it and at once SIGKILL the leader: the remaining ISR member must take over, not the replica
 *   still catching up (which an unclean election would pick: it comes first in replica order);
 *   restart the leader;
 * - `reassign`: AlterPartitionReassignments under load: drop one replica of a partition (its
 *   leader in half the cycles), in half the cycles then the same broker's replica of a second
 *   partition, each time waiting until the move completed and the dropped replica deleted its
 *   copy; then add it back at a seeded place in the replica lists: it copies the partitions from
 *   offset 0 while the producers write; in half the cycles the leader is SIGKILLed during that
 *   copy (and restarted);
 * - `etcd-quorum`: SIGKILL two etcd members of 3 (quorum lost: no session can be renewed, no
 *   metadata written), restart both.
 *
 * Needs root (network namespaces, nftables), `etcd`, confluent-kafka and `--allow-all`.
 *
 * @module
 */

import { Admin, Client, Producer } from "../../client/mod.ts";
import { EtcdClient } from "../../server/cluster/etcd.ts";
import { type MetadataSnapshot, MetadataStore } from "../../server/cluster/metadata_store.ts";
import { ChaosBroker } from "../chaos/broker.ts";
import {
  checkPartition,
  compareContents,
  type PartitionCheck,
  type PartitionContents,
  partitionOk,
  readWithKcat,
  readWithSluice,
} from "../chaos/checker.ts";
import { rng } from "../chaos/harness.ts";
import { type ProducerKind, ProducerProcess } from "../chaos/producers.ts";
import { type Ack, ackLine, makeValue, type WorkerSpec } from "../chaos/protocol.ts";
import { startEtcd, type TestEtcd } from "../etcd.ts";
import {
  CommitBook,
  type CommitCheck,
  compareReplicas,
  describeDivergence,
  type LogBatch,
  OffsetHistory,
  readReplicaLog,
  setResendsApart,
} from "./checker.ts";
import { type ConsumerKind, ConsumerProcess } from "./consumers.ts";
import { waitFor as waitForEvery } from "../harness.ts";
import { FaultNetwork } from "./network.ts";
import { partitionDirName } from "../../engine/names.ts";
import { readLine } from "./protocol.ts";

/** A kind of fault cycle. */
export type FaultKind =
  | "leader-kill"
  | "follower-kill"
  | "leader-pause"
  | "isolate"
  | "controller-kill"
  | "etcd-kill"
  | "lagging-follower"
  | "reassign"
  | "etcd-quorum";

/** Every fault kind, in table order. */
export const FAULT_KINDS: readonly FaultKind[] = [
  "leader-kill",
  "follower-kill",
  "leader-pause",
  "isolate",
  "controller-kill",
  "etcd-kill",
  "lagging-follower",
  "reassign",
  "etcd-quorum",
];

/** The kinds that need 3 etcd members. */
export const ETCD_KINDS: readonly FaultKind[] = ["etcd-kill", "etcd-quorum"];

/**
 * How long each fault is held, in milliseconds, `[min, max]` (seeded): for the kills of a leader
 * or the controller, after the new one is elected; for the others, from the injection.
 */
export const DEFAULT_HOLD_MS: Record<FaultKind, [number, number]> = {
  "leader-kill": [0, 2000],
  "follower-kill": [1000, 5000],
  "leader-pause": [1000, 8000],
  "isolate": [3000, 12000],
  "controller-kill": [0, 3000],
  "etcd-kill": [1000, 6000],
  "lagging-follower": [2000, 6000],
  // from the request adding the replica back to the leader's SIGKILL (in the cycles that kill)
  "reassign": [500, 4000],
  "etcd-quorum": [1000, 6000],
};

/** The data topic. */
export const TOPIC = "faults";
/** The consumer group. */
export const GROUP = "faults-group";
/** The group coordinator's topic. */
const OFFSETS_TOPIC = "__consumer_offsets";
/** Partitions of `__consumer_offsets` (kept small: each is replicated like the data). */
const OFFSETS_PARTITIONS = 5;
/** Every broker's port (each has its own address). */
const BROKER_PORT = 9092;
/**
 * How long the cluster must stay healthy before a cycle counts as recovered: more than the
 * default session timeout (2 s), so that a lease a fault left to expire has expired.
 */
const SETTLE_MS = 2500;

/** Options of {@linkcode runClusterFaults}. */
export interface ClusterFaultOptions {
  /** Seed of every random choice (fault order, targets, hold times). */
  seed: number;
  /** Cycles of each fault kind. */
  cycles: number;
  /** The fault kinds to run. */
  faults: FaultKind[];
  /** etcd members (3 for `etcd-kill`). */
  etcdMembers: number;
  /** Partitions of the data topic. */
  partitions: number;
  /** Replication factor of the data topic and `__consumer_offsets`. */
  replicationFactor: number;
  /** `min.insync.replicas` of the data topic. */
  minInsyncReplicas: number;
  /** Value size of every record. */
  recordBytes: number;
  /** Records per second of each producer. */
  recordsPerSecond: number;
  /** Records per batch of Sluice's producer. */
  batchRecords: number;
  /** Producer processes. */
  producers: ProducerKind[];
  /** Consumer processes (one group). */
  consumers: ConsumerKind[];
  /** Hold time of each fault kind (see {@linkcode DEFAULT_HOLD_MS}). */
  holdMs: Record<FaultKind, [number, number]>;
  /** Bound on a cycle's recovery (cluster healthy, producers and consumers on again). */
  recoveryTimeoutMs: number;
  /** Wait for every ISR to be full again before the next cycle (needs replication). */
  waitFullIsr: boolean;
  /** Bound on the whole run, in seconds (the final checks run anyway). */
  maxSeconds: number;
  /** Extra `key=value` settings of every broker. */
  brokerOverrides: string[];
  /** Read every partition a second time with kcat at the end. */
  kcat: boolean;
  /** Keep the run under this directory (default: a temporary one). */
  dir?: string;
  /** Keep data and logs even when everything passed. */
  keep: boolean;
  /** Where progress lines go. */
  log: (line: string) => void;
  /** Aborts the run (SIGINT): everything is torn down. */
  signal?: AbortSignal;
}

/** One fault cycle. */
export interface CycleResult {
  /** 1-based number in the run. */
  n: number;
  /** The fault. */
  kind: FaultKind;
  /** 1-based number among the cycles of its kind. */
  index: number;
  /** What it hit, in words. */
  target: string;
  /** When it was injected (ms since the epoch). */
  startedAt: number;
  /** When it was healed (restart begun, SIGCONT, rules deleted). */
  healedAt?: number;
  /** From the injection until etcd named a new leader of the target partition (or controller). */
  electionMs?: number;
  /** `leader-kill`: from the SIGKILL until the probe's first acks=all produce succeeded. */
  failoverMs?: number;
  /** From the heal until the cluster was healthy again (brokers, leaders, full ISRs). */
  recoveryMs?: number;
  /** From the heal until every producer was acknowledged again. */
  producersBackMs?: number;
  /** From the heal until the consumers had read everything acknowledged before it, and committed. */
  consumersBackMs?: number;
  /** Observations (a broker fenced, a leader that did not move, …). */
  notes: string[];
  /** What went wrong. */
  failures: string[];
}

/** The outcome of {@linkcode runClusterFaults}. */
export interface ClusterFaultResult {
  /** The seed. */
  seed: number;
  /** Every cycle, in order. */
  cycles: CycleResult[];
  /** Acknowledged records (producers and probe). */
  acked: number;
  /** Records read by the consumers (with re-reads). */
  reads: number;
  /** The final read of each partition, checked against its acknowledgements. */
  checks: PartitionCheck[];
  /** Whether kcat read the same records (undefined without kcat). */
  kcatAgrees?: boolean;
  /** Offsets seen with two different values. */
  divergentOffsets: number;
  /** Divergent observations by kind of the two sources (`ack/read`, `read/read`, …). */
  divergenceKinds: Record<string, number>;
  /** Examples of divergent offsets. */
  divergences: string[];
  /** Replicas compared with their leader (partition × follower). */
  replicasCompared: number;
  /** Differences between a follower's log and its leader's below the high watermark. */
  replicaDiffs: string[];
  /** The group's commits: acknowledged, read back, lost, gone backwards. */
  commits: CommitCheck;
  /**
   * Producers that gave up and were started again (with why). Sluice's producer giving up is a
   * failure; librdkafka's fatal idempotence errors are listed, and judged by the data checks.
   */
  producerRestarts: string[];
  /**
   * Records stored twice because their producer sent them again under a new producer epoch
   * (librdkafka bumps its epoch after OUT_OF_ORDER_SEQUENCE_NUMBER on another partition,
   * confluentinc/librdkafka#4953), the first copy never acknowledged: not the broker's
   * duplicates, which keep their producer epoch and sequence.
   */
  resends: string[];
  /** Consumers that gave up and were started again (with why). */
  consumerRestarts: string[];
  /**
   * Records librdkafka reported delivered without an offset (taken as delivered from a
   * DUPLICATE_SEQUENCE_NUMBER answer or after a possibly persisted error): each must be in its
   * partition once, wherever.
   */
  acksWithoutOffset: number;
  /**
   * Per fault kind (by the cycle they happened in): records acknowledged, lost, divergent and
   * present more than once; records the consumers read and commits the coordinator acknowledged.
   */
  byKind: Record<string, KindCounts>;
  /** Everything that failed. */
  failures: string[];
  /** Whether everything passed. */
  ok: boolean;
  /** The run's directory (kept when something failed). */
  dir: string;
  /** Wall time. */
  durationMs: number;
}

/** What happened during the cycles of one fault kind (or before the first). */
export interface KindCounts {
  /** Records acknowledged. */
  acked: number;
  /** Of those, not at their acknowledged offset in the final read. */
  lost: number;
  /** Offsets first seen with a second value during these cycles. */
  divergent: number;
  /** Acknowledged records present more than once in the final read. */
  dup: number;
  /** Records the consumers read (with re-reads): their progress. */
  reads: number;
  /** Group commits the coordinator acknowledged. */
  commits: number;
}

/** Thrown when the run is aborted (SIGINT). */
export class Aborted extends Error {}

/** Acknowledgements of one partition, in arrival order. */
interface PartitionAckLog {
  offsets: number[];
  ids: string[];
  ts: number[];
  max: number;
}

/**
 * Runs the fault cycles and the final checks, and tears everything down (also on failure or
 * abort).
 *
 * @param options What to run.
 * @returns The result.
 * @throws {Aborted} When `options.signal` aborted the run (after the teardown).
 * @throws {Error} When the cluster could not be set up.
 */
export async function runClusterFaults(options: ClusterFaultOptions): Promise<ClusterFaultResult> {
  for (const kind of ETCD_KINDS) {
    if (options.faults.includes(kind) && options.etcdMembers < 3) {
      throw new RangeError(`${kind} needs 3 etcd members (--etcd-members 3)`);
    }
  }
  const started = performance.now();
  const deadline = Date.now() + options.maxSeconds * 1000;
  const random = rng(options.seed);
  const between = ([lo, hi]: [number, number]) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const root = options.dir ?? await Deno.makeTempDir({ prefix: "sluice-cluster-faults-" });
  await Deno.mkdir(root, { recursive: true });
  const say = options.log;
  const result: ClusterFaultResult = {
    seed: options.seed,
    cycles: [],
    acked: 0,
    reads: 0,
    checks: [],
    divergentOffsets: 0,
    divergenceKinds: {},
    divergences: [],
    replicasCompared: 0,
    replicaDiffs: [],
    commits: { acked: 0, observed: 0, lost: 0, backwards: 0, examples: [] },
    producerRestarts: [],
    acksWithoutOffset: 0,
    resends: [],
    consumerRestarts: [],
    byKind: {},
    failures: [],
    ok: false,
    dir: root,
    durationMs: 0,
  };
  const fail = (what: string) => {
    result.failures.push(what);
    say(`FAIL: ${what}`);
  };
  const aborted = () => options.signal?.aborted === true;
  const checkAbort = () => {
    if (aborted()) throw new Aborted("aborted");
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", done);
        resolve();
      }
      options.signal?.addEventListener("abort", done, { once: true });
    });

  const history = new OffsetHistory();
  const commits = new CommitBook();
  const acks = new Map<number, PartitionAckLog>();
  for (let p = 0; p < options.partitions; p++) {
    acks.set(p, { offsets: [], ids: [], ts: [], max: -1 });
  }
  const maxRead = new Array<number>(options.partitions).fill(-1);
  /** Per partition: records a producer saw delivered without an offset. */
  const unplaced = new Map<number, string[]>(
    Array.from({ length: options.partitions }, (_, p) => [p, []]),
  );
  const lastAck = new Map<string, number>(); // producer slot → ts of its last acknowledgement
  const kindRow = (kind: string): KindCounts =>
    result.byKind[kind] ??= { acked: 0, lost: 0, divergent: 0, dup: 0, reads: 0, commits: 0 };
  /** The row of the cycle running now. */
  const rowNow = () => kindRow(result.cycles.at(-1)?.kind ?? "before the faults");
  const ackFile = await Deno.open(`${root}/acks.txt`, { create: true, write: true, append: true });
  const readFile = await Deno.open(`${root}/reads.txt`, {
    create: true,
    write: true,
    append: true,
  });
  const lines = { acks: [] as string[], reads: [] as string[] };
  const encoder = new TextEncoder();
  const flushLines = async () => {
    if (lines.acks.length > 0) {
      const text = lines.acks.join("\n") + "\n";
      lines.acks = [];
      await ackFile.write(encoder.encode(text));
    }
    if (lines.reads.length > 0) {
      const text = lines.reads.join("\n") + "\n";
      lines.reads = [];
      await readFile.write(encoder.encode(text));
    }
  };
  const onAck = (slot: string, ack: Ack) => {
    if (ack.topic !== TOPIC || !acks.has(ack.partition)) {
      fail(`${slot} acknowledged outside the topic: ${ackLine(ack)}`);
      return;
    }
    lines.acks.push(ackLine(ack));
    const log = acks.get(ack.partition)!;
    log.offsets.push(ack.offset);
    log.ids.push(ack.id);
    log.ts.push(ack.ts);
    if (ack.offset > log.max) log.max = ack.offset;
    result.acked++;
    history.observe(TOPIC, ack.partition, ack.offset, ack.id, `ack ${slot}`, ack.ts);
    if (ack.ts > (lastAck.get(slot) ?? 0)) lastAck.set(slot, ack.ts);
  };

  // --- the cluster ---------------------------------------------------------------------------
  const brokerCount = 3;
  const clusterName = `faults-${Deno.pid}`;
  let net: FaultNetwork | undefined;
  let etcd: TestEtcd | undefined;
  let store: MetadataStore | undefined;
  const brokers: ChaosBroker[] = [];
  const producers = new Map<string, ProducerProcess>();
  const consumers = new Map<string, ConsumerProcess>();
  const incarnations = new Map<string, number>();
  let stopping = false;
  let probeClient: Client | undefined;
  let probe: Producer | undefined;
  let adminClient: Client | undefined;
  let monitor: Promise<void> | undefined;
  let tornDown = false;
  const finalContents: Array<PartitionContents | undefined> = [];
  const snapshot = (): Promise<MetadataSnapshot> => store!.snapshot();
  const bootstrap = () => brokers.map((b) => b.bootstrap).join(",");

  const spawnProducer = (slot: string, kind: ProducerKind) => {
    const n = incarnations.get(slot) ?? 0;
    incarnations.set(slot, n + 1);
    const spec: WorkerSpec = {
      bootstrap: bootstrap(),
      name: `${slot}.${n}`,
      targets: Array.from({ length: options.partitions }, (_, p) => [TOPIC, p]),
      recordBytes: options.recordBytes,
      batchRecords: options.batchRecords,
      recordsPerSecond: options.recordsPerSecond,
    };
    const p = ProducerProcess.spawn(kind, spec, (line) => {
      if (line.kind === "ack") {
        if (line.ack.offset >= 0) onAck(spec.name, line.ack);
        else if (line.ack.topic === TOPIC && acks.has(line.ack.partition)) {
          // librdkafka took a batch as delivered without an offset: it must be in the log once
          result.acksWithoutOffset++;
          unplaced.get(line.ack.partition)!.push(line.ack.id);
          lines.acks.push(ackLine(line.ack));
          if (line.ack.ts > (lastAck.get(spec.name) ?? 0)) lastAck.set(spec.name, line.ack.ts);
        } else fail(`${spec.name} acknowledged outside the topic: ${ackLine(line.ack)}`);
      } else if (line.kind === "other" && line.text.trim() !== "") {
        say(`${spec.name}: ${line.text.slice(0, 200)}`);
      }
    }, `${root}/producer-${spec.name}.log`);
    producers.set(slot, p);
    p.exited.then((exit) => {
      if (p.stopping || stopping) return;
      const why = exit.fatal ?? (exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`);
      result.producerRestarts.push(`${spec.name}: ${why}`);
      if (kind === "confluent" && exit.fatal !== undefined) {
        // librdkafka's idempotent producer gives up on its own reading of sequence errors (a
        // request failed, the next got OUT_OF_ORDER_SEQUENCE_NUMBER); whether the broker lost
        // anything is for the data checks to say (docs/RELIABILITY.md, "Cluster faults")
        say(`librdkafka producer ${spec.name} gave up (not a failure by itself): ${why}`);
      } else fail(`producer ${spec.name} gave up: ${why}`);
      if (result.producerRestarts.length <= 20) spawnProducer(slot, kind);
    });
  };
  const spawnConsumer = (slot: string, kind: ConsumerKind) => {
    const n = incarnations.get(slot) ?? 0;
    incarnations.set(slot, n + 1);
    const name = `${slot}.${n}`;
    const c = ConsumerProcess.spawn(kind, {
      bootstrap: bootstrap(),
      name,
      group: GROUP,
      topics: [TOPIC],
      recordBytes: options.recordBytes,
      commitIntervalMs: 1000,
    }, (line) => {
      if (line.kind === "read") {
        const r = line.read;
        result.reads++;
        rowNow().reads++;
        lines.reads.push(`${name} ${readLine(r)}`);
        if (r.topic !== TOPIC || r.partition >= options.partitions) return;
        history.observe(TOPIC, r.partition, r.offset, r.id, `read ${name}`, r.ts);
        if (r.offset > maxRead[r.partition]) maxRead[r.partition] = r.offset;
      } else if (line.kind === "commit") {
        const k = line.commit;
        lines.reads.push(`${name} K ${k.topic} ${k.partition} ${k.offset} ${k.ts}`);
        if (k.topic === TOPIC) {
          commits.acked(k.topic, k.partition, k.offset, k.ts, name);
          rowNow().commits++;
        }
      } else if (line.kind === "error") {
        lines.reads.push(`${name} E ${line.detail}`);
      } else if (line.kind === "other" && line.text.trim() !== "") {
        say(`${name}: ${line.text.slice(0, 200)}`);
      }
    }, `${root}/consumer-${name}.log`);
    consumers.set(slot, c);
    c.exited.then((exit) => {
      if (c.stopping || stopping) return;
      const why = exit.fatal ?? (exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`);
      result.consumerRestarts.push(`${name}: ${why}`);
      fail(`consumer ${name} gave up: ${why}`);
      if (result.consumerRestarts.length <= 20) spawnConsumer(slot, kind);
    });
  };

  /** Why the cluster is not healthy now, or `undefined` when it is. */
  const unhealthy = async (fullIsr = options.waitFullIsr): Promise<string | undefined> => {
    let s: MetadataSnapshot;
    try {
      s = await snapshot();
    } catch (e) {
      return `etcd: ${e instanceof Error ? e.message : e}`;
    }
    if (s.brokers.size < brokerCount) return `registered brokers ${[...s.brokers.keys()]}`;
    if (s.controller === undefined) return "no controller";
    for (const topic of [TOPIC, OFFSETS_TOPIC]) {
      const t = s.topics.get(topic);
      if (t === undefined) {
        if (topic === TOPIC) return `no topic ${topic}`;
        continue;
      }
      for (let p = 0; p < t.value.replicas.length; p++) {
        const st = s.partitions.get(topic)?.get(p)?.value;
        if (st === undefined || st.leader < 0) return `${topic}-${p} has no leader`;
        if (fullIsr && st.isr.length < t.value.replicas[p].length) {
          return `${topic}-${p} ISR [${st.isr}] of [${t.value.replicas[p]}]`;
        }
      }
    }
    if (etcd !== undefined && etcd.members.some((m) => !m.running)) return "an etcd member is down";
    return undefined;
  };

  /** Waits for `cond` (stopping at an abort between checks); returns how long it took. */
  const waitFor = (
    what: string,
    cond: () => Promise<boolean> | boolean,
    ms: number,
  ): Promise<number> =>
    waitForEvery(what, async () => {
      if (await cond()) return true;
      checkAbort();
      return false;
    }, { timeoutMs: ms, intervalMs: 50 });

  /** Brings everything back: SIGCONT, heal, restart brokers and etcd members that are down. */
  const repair = async () => {
    for (const b of brokers) if (b.paused) b.pause(false);
    await net?.healAll();
    for (const [i, m] of (etcd?.members ?? []).entries()) {
      if (!m.running) await etcd!.start(i).catch((e) => say(`repair: etcd ${m.name}: ${e}`));
    }
    for (const [i, b] of brokers.entries()) {
      if (b.pid === undefined) {
        await b.start().catch((e) => say(`repair: broker ${i + 1}: ${e}`));
      }
    }
  };

  /** Sends one record through the probe and returns how long it took to be acknowledged. */
  let probeSeq = 0;
  const probeSend = async (partition: number): Promise<number> => {
    const id = `probe:${probeSeq++}`;
    const t0 = performance.now();
    const [meta] = await probe!.send({
      topic: TOPIC,
      messages: [{ partition, value: makeValue(id, options.recordBytes) }],
    });
    const ms = performance.now() - t0;
    onAck("probe", { topic: TOPIC, partition, offset: meta.offset, id, ts: Date.now() });
    return ms;
  };

  const monitorCommits = async () => {
    const admin = new Admin(adminClient!);
    while (!stopping) {
      const sentAt = Date.now();
      try {
        const got = await admin.listConsumerGroupOffsets(
          GROUP,
          Array.from(
            { length: options.partitions },
            (_, partition) => ({ topic: TOPIC, partition }),
          ),
        );
        const answeredAt = Date.now();
        for (let p = 0; p < options.partitions; p++) {
          const o = got.find((g) => g.topic === TOPIC && g.partition === p);
          commits.observed(TOPIC, p, o?.offset ?? -1, sentAt, answeredAt);
        }
      } catch {
        // the coordinator is moving: try again
      }
      await flushLines();
      await sleep(1000);
    }
  };

  const teardown = async () => {
    tornDown = true;
    stopping = true;
    for (const b of brokers) if (b.paused) b.pause(false);
    await Promise.all([...producers.values()].map((p) => p.stop(5_000).catch(() => {})));
    await Promise.all([...consumers.values()].map((c) => c.stop(5_000).catch(() => {})));
    await monitor?.catch(() => {});
    await probe?.close().catch(() => {});
    await probeClient?.close().catch(() => {});
    await adminClient?.close().catch(() => {});
    await Promise.all(brokers.map((b) => b.kill().catch(() => {})));
    store?.etcd.close();
    await etcd?.stop().catch(() => {});
    await net?.close().catch((e) => say(`teardown: ${e}`));
    await flushLines().catch(() => {});
    ackFile.close();
    readFile.close();
  };

  try {
    net = await FaultNetwork.create({ brokers: brokerCount, etcdMembers: options.etcdMembers });
    say(
      `network: bridge ${net.bridge} (${net.clientHost}), etcd ${net.etcdHosts.join(", ")}, ` +
        `brokers ${net.brokerHosts.map((h, i) => `${h} in ${net!.namespaces[i]}`).join(", ")}`,
    );
    etcd = await startEtcd({ members: options.etcdMembers, hosts: net.etcdHosts });
    for (let i = 0; i < brokerCount; i++) {
      await Deno.mkdir(`${root}/b${i + 1}`, { recursive: true });
      brokers.push(
        new ChaosBroker({
          dataDir: `${root}/b${i + 1}`,
          port: BROKER_PORT,
          host: net.brokerHosts[i],
          wrap: net.wrap(i),
          logFile: `${root}/b${i + 1}.log`,
          startTimeoutMs: 120_000,
          overrides: [
            `node.id=${i + 1}`,
            `controller.etcd.endpoints=${etcd.endpoints.join(",")}`,
            `sluice.cluster.name=${clusterName}`,
            "auto.create.topics.enable=false",
            "group.initial.rebalance.delay.ms=0",
            `default.replication.factor=${options.replicationFactor}`,
            `min.insync.replicas=${options.minInsyncReplicas}`,
            `offsets.topic.replication.factor=${options.replicationFactor}`,
            `offsets.topic.num.partitions=${OFFSETS_PARTITIONS}`,
            `transaction.state.log.replication.factor=${options.replicationFactor}`,
            "transaction.state.log.num.partitions=5",
            ...options.brokerOverrides,
          ],
        }),
      );
    }
    await Promise.all(brokers.map((b) => b.start()));
    store = new MetadataStore(
      new EtcdClient({ endpoints: etcd.endpoints, timeoutMs: 2000 }),
      `/sluice/${clusterName}`,
    );
    await waitFor(
      "3 brokers registered",
      async () => (await snapshot()).brokers.size === 3,
      60_000,
    );
    adminClient = new Client({
      bootstrapServers: bootstrap(),
      clientId: "faults-admin",
      requestTimeoutMs: 5_000,
      connectTimeoutMs: 2_000,
      retries: 20,
      retryBackoffMs: 100,
    });
    await new Admin(adminClient).createTopics([{
      name: TOPIC,
      numPartitions: options.partitions,
      replicationFactor: options.replicationFactor,
      configs: { "min.insync.replicas": String(options.minInsyncReplicas) },
    }]);
    await waitFor(
      "the topic's partitions led",
      async () => (await unhealthy()) === undefined,
      60_000,
    );
    const s0 = await snapshot();
    say(
      `cluster ${clusterName}: brokers ${bootstrap()}, etcd ${etcd.endpoints.join(", ")}, ` +
        `controller ${s0.controller?.value.id}; ${TOPIC}: ${options.partitions} partitions × ${options.replicationFactor} replicas ` +
        `(leaders ${
          Array.from({ length: options.partitions }, (_, p) =>
            s0.partitions.get(TOPIC)!.get(p)!.value.leader)
        }), min.insync.replicas ${options.minInsyncReplicas}; data in ${root}`,
    );
    probeClient = new Client({
      bootstrapServers: bootstrap(),
      clientId: "faults-probe",
      requestTimeoutMs: 5_000,
      connectTimeoutMs: 1_000,
      retries: 10_000,
      retryBackoffMs: 20,
    });
    probe = new Producer(probeClient, {
      acks: -1,
      idempotent: true,
      lingerMs: 0,
      deliveryTimeoutMs: 60_000,
      allowAutoTopicCreation: false,
    });
    for (const [i, kind] of options.producers.entries()) spawnProducer(`${kind[0]}${i}`, kind);
    for (const [i, kind] of options.consumers.entries()) spawnConsumer(`g${kind[0]}${i}`, kind);
    monitor = monitorCommits();
    // warm-up: every producer acknowledged, the consumers reading and committing
    const warm = Date.now();
    await waitFor(
      "producers and consumers at work",
      () =>
        [...producers.keys()].every((slot) => (lastAck.get(`${slot}.0`) ?? 0) > 0) &&
        maxRead.every((o) => o >= 0) &&
        commits.committedSince(warm).size === options.partitions,
      90_000,
    );
    say(
      `load: ${options.producers.join(", ")} producers, ${
        options.consumers.join(", ")
      } consumers at work`,
    );

    // --- the cycles --------------------------------------------------------------------------
    const schedule: FaultKind[] = [];
    for (const kind of options.faults) for (let i = 0; i < options.cycles; i++) schedule.push(kind);
    for (let i = schedule.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [schedule[i], schedule[j]] = [schedule[j], schedule[i]];
    }
    const perKind = new Map<FaultKind, number>();
    for (const [n, kind] of schedule.entries()) {
      checkAbort();
      if (Date.now() > deadline) {
        fail(`out of time (${options.maxSeconds} s) after ${n} of ${schedule.length} cycles`);
        break;
      }
      perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
      const c: CycleResult = {
        n: n + 1,
        kind,
        index: perKind.get(kind)!,
        target: "",
        startedAt: Date.now(),
        notes: [],
        failures: [],
      };
      result.cycles.push(c);
      try {
        await runCycle(c);
      } catch (e) {
        if (e instanceof Aborted) throw e;
        c.failures.push(e instanceof Error ? e.message : String(e));
      }
      for (const f of c.failures) fail(`cycle ${c.n} (${kind} ${c.index}): ${f}`);
      say(cycleLine(c, options.cycles));
      await Deno.writeTextFile(`${root}/cycles.txt`, cycleLine(c, options.cycles) + "\n", {
        append: true,
      });
      if (c.failures.length > 0) {
        // put everything back and go on, unless the cluster does not come back
        await repair();
        const why = await waitFor(
          "the cluster back after a failed cycle",
          async () => (await unhealthy()) === undefined,
          options.recoveryTimeoutMs,
        ).then(() => undefined, async () => await unhealthy());
        if (why !== undefined) {
          fail(`the cluster did not recover after cycle ${c.n}: ${why}`);
          break;
        }
      }
    }

    // --- the end -----------------------------------------------------------------------------
    await finish();
  } catch (e) {
    if (e instanceof Aborted) {
      say("aborted: tearing down");
      await teardown();
      throw e;
    }
    fail(e instanceof Error ? e.message : String(e));
  } finally {
    if (!tornDown) await teardown();
  }
  attribute();
  result.ok = result.failures.length === 0;
  result.durationMs = performance.now() - started;
  await Deno.writeTextFile(`${root}/result.json`, JSON.stringify(result, null, 2) + "\n")
    .catch(() => {});
  if (result.ok && !options.keep && options.dir === undefined) {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
  return result;

  // --- one cycle ---------------------------------------------------------------------------------

  async function runCycle(c: CycleResult): Promise<void> {
    const before = await unhealthy();
    if (before !== undefined) {
      // the previous cycle settled, but something moved since: say what, and wait for it
      c.notes.push(`not healthy at the start (${before})`);
      await waitFor(
        "the cluster healthy before the cycle",
        async () => (await unhealthy()) === undefined,
        options.recoveryTimeoutMs,
      );
    }
    const s = await snapshot();
    const p = Math.floor(random() * options.partitions);
    const state = s.partitions.get(TOPIC)!.get(p)!;
    const leader = state.value.leader;
    const replicas = s.topics.get(TOPIC)!.value.replicas[p];
    const controller = s.controller!.value.id;
    const leads = (b: number) =>
      Array.from({ length: options.partitions }, (_, q) => q).filter((q) =>
        s.partitions.get(TOPIC)!.get(q)!.value.leader === b
      );
    const role = (b: number) => {
      const r: string[] = [];
      if (leads(b).length > 0) {
        r.push(`leader of ${leads(b).map((q) => `${TOPIC}-${q}`).join(", ")}`);
      }
      if (b === controller) r.push("controller");
      return r.length > 0 ? ` (${r.join(", ")})` : "";
    };
    let offline = false;
    const leaderMoved = (from: number) => async () => {
      const now = (await snapshot()).partitions.get(TOPIC)!.get(p)!.value;
      if (now.leader < 0) offline = true;
      return now.leader !== from && now.leader >= 0;
    };
    /**
     * Measures from `t0` until the partition's leader moved away from `from`, in the background:
     * `moved` resolves then; `stop` ends the watch.
     */
    const watchElection = (from: number, t0: number) => {
      let done = false;
      const moved = (async () => {
        while (!done && !stopping) {
          try {
            if (await leaderMoved(from)()) {
              c.electionMs = performance.now() - t0;
              return;
            }
          } catch { /* etcd busy */ }
          await sleep(25);
        }
        throw new Error("no new leader in etcd");
      })();
      moved.catch(() => {});
      return {
        moved: (ms: number) => withTimeout(moved, ms, "a new leader in etcd"),
        stop: async () => {
          done = true;
          await moved.catch(() => {});
        },
      };
    };
    const hold = between(options.holdMs[c.kind]);
    let healAt = 0;
    switch (c.kind) {
      case "leader-kill": {
        const victim = brokers[leader - 1];
        c.target = `broker ${leader}${
          role(leader)
        }, leader of ${TOPIC}-${p} (epoch ${state.value.leaderEpoch})`;
        await withTimeout(probeSend(p), 20_000, "the probe's produce before the kill").catch((e) =>
          c.notes.push(`warm-up produce: ${e.message}`)
        );
        const t0 = performance.now();
        c.startedAt = Date.now();
        await victim.kill();
        const election = watchElection(leader, t0);
        try {
          await withTimeout(probeSend(p), 60_000, "the first acks=all produce after the kill");
          c.failoverMs = performance.now() - t0;
        } catch (e) {
          c.failures.push(e instanceof Error ? e.message : String(e));
        }
        await election.moved(30_000).catch((e) => c.failures.push(e.message));
        await election.stop();
        await sleep(hold);
        healAt = Date.now();
        await victim.start();
        break;
      }
      case "follower-kill": {
        const followers = replicas.filter((b) => b !== leader);
        if (followers.length === 0) {
          throw new Error(`${TOPIC}-${p} has no follower (replication factor 1)`);
        }
        const quiet = followers.filter((b) => leads(b).length === 0 && b !== controller);
        const b = pick(quiet.length > 0 ? quiet : followers);
        c.target = `broker ${b}${role(b)}, follower of ${TOPIC}-${p}`;
        c.startedAt = Date.now();
        await brokers[b - 1].kill();
        await sleep(hold);
        healAt = Date.now();
        await brokers[b - 1].start();
        break;
      }
      case "leader-pause": {
        c.target = `broker ${leader}${role(leader)}, leader of ${TOPIC}-${p}, for ${
          (hold / 1000).toFixed(1)
        } s`;
        const t0 = performance.now();
        c.startedAt = Date.now();
        brokers[leader - 1].pause(true);
        const election = watchElection(leader, t0);
        await sleep(hold);
        await election.stop();
        healAt = Date.now();
        brokers[leader - 1].pause(false);
        if (c.electionMs === undefined) {
          c.notes.push(
            offline
              ? "the partition went offline (no other ISR member)"
              : "the leader did not move during the pause",
          );
        }
        break;
      }
      case "isolate": {
        c.target = `broker ${leader}${
          role(leader)
        }, leader of ${TOPIC}-${p}, cut off from brokers and etcd for ${
          (hold / 1000).toFixed(1)
        } s`;
        const t0 = performance.now();
        c.startedAt = Date.now();
        await net!.isolate(leader - 1);
        const election = watchElection(leader, t0);
        await sleep(hold);
        await election.stop();
        healAt = Date.now();
        await net!.heal(leader - 1);
        if (c.electionMs === undefined) {
          c.notes.push(
            offline
              ? "the partition went offline (no other ISR member)"
              : "the leader did not move while cut off",
          );
        }
        break;
      }
      case "controller-kill": {
        c.target = `broker ${controller}${role(controller)}`;
        const epoch = s.controller!.createRevision;
        const t0 = performance.now();
        c.startedAt = Date.now();
        await brokers[controller - 1].kill();
        await waitFor("a new controller", async () => {
          const now = (await snapshot()).controller;
          return now !== undefined && now.createRevision !== epoch;
        }, 30_000).then(
          () => c.electionMs = performance.now() - t0,
          (e) => c.failures.push(e.message),
        );
        await sleep(hold);
        healAt = Date.now();
        await brokers[controller - 1].start();
        break;
      }
      case "etcd-kill": {
        const lead = await etcd!.leader();
        const wantLeader = random() < 0.5;
        const others = etcd!.members.map((_, i) => i).filter((i) => i !== lead);
        const m = wantLeader && lead !== undefined ? lead : pick(others);
        c.target = `etcd ${etcd!.members[m].name}${m === lead ? " (raft leader)" : ""}`;
        const epochs = new Map([...s.brokers].map(([id, v]) => [id, v.createRevision]));
        c.startedAt = Date.now();
        await etcd!.kill(m);
        await sleep(hold);
        healAt = Date.now();
        await etcd!.start(m);
        const after = await snapshot();
        const renewed = [...epochs].filter(([id, rev]) =>
          after.brokers.get(id)?.createRevision !== rev
        );
        if (renewed.length > 0) {
          c.notes.push(
            `brokers ${renewed.map(([id]) => id)} registered again (their session expired)`,
          );
        }
        break;
      }
      case "lagging-follower": {
        const followers = replicas.filter((b) => b !== leader);
        if (followers.length < 2) {
          throw new Error(`${TOPIC}-${p} has fewer than 2 followers (replication factor 3 needed)`);
        }
        const lag = followers[0]; // before the other follower in replica order
        c.target = `broker ${lag}${
          role(lag)
        }, follower of ${TOPIC}-${p}, then its leader ${leader}${role(leader)} as ${lag} restarts`;
        c.startedAt = Date.now();
        await brokers[lag - 1].kill();
        await waitFor(
          `broker ${lag} out of the ISR`,
          async () => !(await snapshot()).partitions.get(TOPIC)!.get(p)!.value.isr.includes(lag),
          30_000,
        );
        await sleep(hold); // the others go on with an ISR of two
        await brokers[lag - 1].start();
        const isr = (await snapshot()).partitions.get(TOPIC)!.get(p)!.value.isr;
        const t0 = performance.now();
        await brokers[leader - 1].kill();
        const election = watchElection(leader, t0);
        await election.moved(30_000).catch((e) => c.failures.push(e.message));
        await election.stop();
        const now = (await snapshot()).partitions.get(TOPIC)!.get(p)!.value;
        c.notes.push(
          `ISR [${isr}] at the kill; broker ${now.leader} elected${
            isr.includes(lag) ? ` (broker ${lag} had caught up already)` : ""
          }`,
        );
        healAt = Date.now();
        await brokers[leader - 1].start();
        break;
      }
      case "reassign": {
        const dropLeader = random() < 0.5;
        const followers = replicas.filter((b) => b !== leader);
        if (followers.length === 0) {
          throw new Error(`${TOPIC}-${p} has no follower (replication factor 1)`);
        }
        const v = dropLeader ? leader : pick(followers);
        const replicasOf = (q: number) => s.topics.get(TOPIC)!.value.replicas[q];
        const placeBack = (kept: number[]) => {
          const back = [...kept];
          back.splice(Math.floor(random() * (kept.length + 1)), 0, v);
          return back;
        };
        // the partitions moved: p, and in half the cycles a second one that broker v also holds,
        // dropped after p (v then holds a partial set of the topic and drops another: the
        // decommission's pattern, where a lookup of a neighbour once found the wrong log)
        const others = Array.from({ length: options.partitions }, (_, q) => q).filter((q) =>
          q !== p && replicasOf(q).includes(v) && replicasOf(q).length > 1
        );
        const second = random() < 0.5 && others.length > 0 ? pick(others) : undefined;
        const moves = [p, ...(second === undefined ? [] : [second])].map((q) => {
          const kept = replicasOf(q).filter((b) => b !== v);
          return { q, from: replicasOf(q), kept, back: placeBack(kept) };
        });
        const killDuringCopy = random() < 0.5;
        c.target =
          moves.map((m) => `${TOPIC}-${m.q} [${m.from}] -> [${m.kept}] -> [${m.back}]`).join(", ") +
          ` (leader of ${TOPIC}-${p} ${leader}), broker ${v}${role(v)} dropped and added back${
            killDuringCopy
              ? `, the leader of ${TOPIC}-${p} SIGKILLed ${
                (hold / 1000).toFixed(1)
              } s into the copy`
              : ""
          }`;
        const admin = new Admin(adminClient!);
        const move = async (targets: { q: number; replicas: number[] }[]) => {
          const outs = await admin.alterPartitionReassignments(
            targets.map((t) => ({ topic: TOPIC, partition: t.q, replicas: t.replicas })),
          );
          for (const [i, out] of outs.entries()) {
            if (out.error !== null) {
              throw new Error(
                `reassignment of ${TOPIC}-${targets[i].q} to [${
                  targets[i].replicas
                }]: ${out.error.message}`,
              );
            }
          }
        };
        const complete = (q: number, target: number[]) => async () => {
          const now = await snapshot();
          const st = now.partitions.get(TOPIC)!.get(q)!.value;
          return now.topics.get(TOPIC)!.value.replicas[q].join() === target.join() &&
            (st.addingReplicas ?? []).length === 0 && (st.removingReplicas ?? []).length === 0 &&
            st.leader >= 0;
        };
        const moveTimeout = Math.max(options.recoveryTimeoutMs, 180_000);
        const t0 = performance.now();
        c.startedAt = Date.now();
        for (const m of moves) {
          // one after the other: broker v holds fewer partitions at each drop
          await move([{ q: m.q, replicas: m.kept }]);
          await waitFor(`${TOPIC}-${m.q} moved to [${m.kept}]`, complete(m.q, m.kept), moveTimeout);
          const dir = `${brokers[v - 1].options.dataDir}/${partitionDirName(TOPIC, m.q)}`;
          await waitFor(`broker ${v}'s copy of ${TOPIC}-${m.q} deleted`, async () => {
            try {
              await Deno.stat(dir);
              return false;
            } catch {
              return true;
            }
          }, 30_000).catch((e) => c.failures.push(e.message));
        }
        const dropMs = performance.now() - t0;
        const t1 = performance.now();
        await move(moves.map((m) => ({ q: m.q, replicas: m.back })));
        let killed: number | undefined;
        if (killDuringCopy) {
          await sleep(hold);
          const now = (await snapshot()).partitions.get(TOPIC)!.get(p)!.value;
          if ((now.addingReplicas ?? []).includes(v) && now.leader >= 0) {
            killed = now.leader;
            const t2 = performance.now();
            await brokers[killed - 1].kill();
            const election = watchElection(killed, t2);
            await election.moved(30_000).catch((e) => c.failures.push(e.message));
            await election.stop();
            healAt = Date.now();
            await brokers[killed - 1].start();
          } else c.notes.push(`the copy was over before the kill (leader ${now.leader})`);
        }
        for (const m of moves) {
          await waitFor(`${TOPIC}-${m.q} moved to [${m.back}]`, complete(m.q, m.back), moveTimeout);
        }
        c.notes.push(
          `dropped in ${secs(dropMs)}, added back in ${secs(performance.now() - t1)}` +
            (killed !== undefined ? ` (leader ${killed} killed during the copy)` : ""),
        );
        if (healAt === 0) healAt = Date.now();
        break;
      }
      case "etcd-quorum": {
        const lead = await etcd!.leader();
        const order = etcd!.members.map((_, i) => i);
        const ms = [pick(order)];
        ms.push(pick(order.filter((i) => i !== ms[0])));
        c.target = `etcd ${
          ms.map((m) => `${etcd!.members[m].name}${m === lead ? " (raft leader)" : ""}`).join(
            " and ",
          )
        }, quorum lost for ${(hold / 1000).toFixed(1)} s`;
        const epochs = new Map([...s.brokers].map(([id, v]) => [id, v.createRevision]));
        c.startedAt = Date.now();
        await Promise.all(ms.map((m) => etcd!.kill(m)));
        await sleep(hold);
        healAt = Date.now();
        await Promise.all(ms.map((m) => etcd!.start(m)));
        let after: MetadataSnapshot | undefined;
        await waitFor("etcd answering again", async () => {
          after = await snapshot().catch(() => undefined);
          return after !== undefined;
        }, options.recoveryTimeoutMs);
        const renewed = [...epochs].filter(([id, rev]) =>
          after!.brokers.get(id)?.createRevision !== rev
        );
        if (renewed.length > 0) {
          c.notes.push(
            `brokers ${renewed.map(([id]) => id)} registered again (their session expired)`,
          );
        }
        break;
      }
    }
    c.healedAt = healAt;
    await recover(c, healAt);
  }

  /**
   * Waits until the cluster is healthy and every client has made progress since `since`, then
   * until the cluster has stayed healthy for {@linkcode SETTLE_MS} (a pause just under the
   * session timeout can still expire a lease after the SIGCONT: the next cycle must not start
   * in the middle of that).
   */
  async function recover(c: CycleResult, since: number): Promise<void> {
    // what the consumers must read: every offset acknowledged so far
    const mark = [...acks.values()].map((l) => l.max);
    const end = Date.now() + options.recoveryTimeoutMs;
    let settledSince: number | undefined;
    while (true) {
      checkAbort();
      const now = Date.now();
      const why = await unhealthy();
      if (why === undefined) {
        c.recoveryMs ??= Date.now() - since;
        settledSince ??= Date.now();
      } else if (settledSince !== undefined) {
        c.notes.push(`healthy after ${secs(c.recoveryMs)}, then not: ${why}`);
        c.recoveryMs = undefined;
        settledSince = undefined;
      }
      if (
        c.producersBackMs === undefined &&
        [...producers.values()].every((pp) => (lastAck.get(pp.spec.name) ?? 0) > since)
      ) c.producersBackMs = now - since;
      if (
        c.consumersBackMs === undefined && mark.every((m, p) => maxRead[p] >= m) &&
        commits.committedSince(since).size === options.partitions
      ) c.consumersBackMs = now - since;
      if (
        settledSince !== undefined && now - settledSince >= SETTLE_MS &&
        c.producersBackMs !== undefined && c.consumersBackMs !== undefined
      ) return;
      if (now > end) {
        const missing: string[] = [];
        if (why !== undefined) missing.push(`cluster: ${why}`);
        if (c.producersBackMs === undefined) {
          missing.push(
            `producers not acknowledged: ${
              [...producers.values()].filter((pp) => (lastAck.get(pp.spec.name) ?? 0) <= since).map(
                (pp) => pp.spec.name,
              )
            }`,
          );
        }
        if (c.consumersBackMs === undefined) {
          missing.push(
            `consumers at ${
              maxRead.map((o, p) => `${p}:${o}/${mark[p]}`).join(" ")
            } (read/acked), ` +
              `commits since on ${[...commits.committedSince(since)].join(", ") || "none"}`,
          );
        }
        throw new Error(
          `not recovered within ${options.recoveryTimeoutMs} ms: ${missing.join("; ")}`,
        );
      }
      await sleep(100);
    }
  }

  // --- the final checks --------------------------------------------------------------------------

  async function finish(): Promise<void> {
    say("final: stopping the producers");
    const stops = await Promise.all(
      [...producers.values()].map(async (p) => ({ p, exit: await p.stop() })),
    );
    for (const { p, exit } of stops) {
      if (!exit.clean) {
        fail(`producer ${p.spec.name} did not stop cleanly: ${exit.fatal ?? `exit ${exit.code}`}`);
      }
    }
    const maxAcked = [...acks.values()].map((l) => l.max);
    await waitFor(
      "the consumers read every acknowledged record",
      () => maxAcked.every((m, p) => maxRead[p] >= m),
      90_000,
    ).catch((e) => fail(e.message));
    await waitFor(
      "the consumers committed past every acknowledged record",
      () => maxAcked.every((m, p) => (commits.maxAcked(TOPIC, p)?.offset ?? -1) > m),
      30_000,
    ).catch((e) => fail(e.message));
    say("final: stopping the consumers");
    for (const c of consumers.values()) {
      const exit = await c.stop(60_000); // a close that leaves the group waits on a loaded machine
      if (!exit.clean) {
        fail(`consumer ${c.spec.name} did not stop cleanly: ${exit.fatal ?? `exit ${exit.code}`}`);
      }
    }
    stopping = true;
    await monitor;
    await waitFor(
      "the cluster healthy",
      async () => (await unhealthy()) === undefined,
      options.recoveryTimeoutMs,
    )
      .catch(async (e) => fail(`${e.message}: ${await unhealthy()}`));
    const admin = new Admin(adminClient!);
    // committed offsets, read once more
    const sentAt = Date.now();
    try {
      const got = await admin.listConsumerGroupOffsets(
        GROUP,
        Array.from({ length: options.partitions }, (_, partition) => ({ topic: TOPIC, partition })),
      );
      for (let p = 0; p < options.partitions; p++) {
        commits.observed(
          TOPIC,
          p,
          got.find((g) => g.partition === p)?.offset ?? -1,
          sentAt,
          Date.now(),
        );
      }
    } catch (e) {
      fail(`final committed offsets: ${e instanceof Error ? e.message : e}`);
    }
    result.commits = commits.check();
    for (const e of result.commits.examples) fail(`commits: ${e}`);
    // every partition from offset 0 to its high watermark, from its leader
    say("final: reading every partition from its leader");
    const contents: PartitionContents[] = [];
    for (let p = 0; p < options.partitions; p++) {
      const got = await readWithSluice(bootstrap(), TOPIC, p, options.recordBytes, 300_000);
      contents.push(got);
      finalContents[p] = got;
      const now = Date.now();
      for (let i = 0; i < got.offsets.length; i++) {
        history.observe(TOPIC, p, got.offsets[i], got.ids[i], "final read", now);
      }
      if (options.kcat) {
        const k = await readWithKcat(bootstrap(), TOPIC, p, options.recordBytes, got.highWatermark)
          .catch((e) => {
            fail(`kcat: ${e.message}`);
            return undefined;
          });
        const diff = k === undefined ? "no kcat read" : compareContents(got, k);
        if (diff !== undefined) fail(`${TOPIC}-${p}: kcat read differs: ${diff}`);
        result.kcatAgrees = (result.kcatAgrees ?? true) && diff === undefined;
      }
    }
    // high watermarks of the internal topic's partitions, then the replicas' logs on disk
    const s = await snapshot();
    const offsetsHw = new Map<number, number>();
    try {
      const hws = await admin.listOffsets(
        Array.from({ length: OFFSETS_PARTITIONS }, (_, partition) => ({
          topic: OFFSETS_TOPIC,
          partition,
          spec: "latest" as const,
        })),
      );
      for (const h of hws) offsetsHw.set(h.partition, h.offset);
    } catch (e) {
      fail(`high watermarks of ${OFFSETS_TOPIC}: ${e instanceof Error ? e.message : e}`);
    }
    say("final: stopping the brokers");
    for (const [i, b] of brokers.entries()) {
      const code = await b.stop(60_000);
      if (code !== 0) fail(`broker ${i + 1} did not stop cleanly (exit ${code})`);
    }
    say("final: comparing every replica's log with its leader's");
    const compare = async (topic: string, p: number, hw: number, ids: boolean) => {
      const leader = s.partitions.get(topic)?.get(p)?.value.leader ?? -1;
      const replicas = s.topics.get(topic)?.value.replicas[p] ?? [];
      if (leader < 0) return undefined;
      const logs = new Map<number, LogBatch[]>();
      for (const b of replicas) {
        logs.set(
          b,
          await readReplicaLog(
            brokers[b - 1].options.dataDir,
            topic,
            p,
            ids ? options.recordBytes : undefined,
          ),
        );
      }
      for (const b of replicas) {
        if (ids) {
          for (const batch of logs.get(b)!) {
            if (batch.baseOffset >= hw) break;
            for (const r of batch.records ?? []) {
              if (r.offset < hw) {
                history.observe(topic, p, r.offset, r.id, `broker ${b} log`, Date.now());
              }
            }
          }
        }
        if (b === leader) continue;
        result.replicasCompared++;
        const diff = compareReplicas(logs.get(leader)!, logs.get(b)!, hw);
        if (diff !== undefined) {
          result.replicaDiffs.push(
            `${topic}-${p}: broker ${b} (follower) vs ${leader} (leader) below ${hw}: ${diff}`,
          );
          fail(result.replicaDiffs.at(-1)!);
        }
      }
      return logs;
    };
    for (let p = 0; p < options.partitions; p++) {
      const logs = await compare(TOPIC, p, contents[p].highWatermark, true);
      // each partition against its acknowledgements; a second copy a producer sent under a new
      // epoch (never acknowledged) is set apart first, as librdkafka's, not the broker's
      const log = acks.get(p)!;
      const leader = s.partitions.get(TOPIC)?.get(p)?.value.leader ?? -1;
      const { contents: got, resends } = setResendsApart(
        contents[p],
        new Set(log.offsets),
        logs?.get(leader) ?? [],
      );
      for (const r of resends) result.resends.push(`${TOPIC}-${p}: ${r}`);
      const check = checkPartition(TOPIC, p, { offsets: log.offsets, ids: log.ids }, got);
      result.checks.push(check);
      if (!partitionOk(check)) { for (const x of check.examples) fail(x); }
      const present = new Set(got.ids);
      for (const id of unplaced.get(p)!) {
        if (!present.has(id)) {
          check.lost++;
          fail(`${TOPIC}-${p}: ${id}, delivered without an offset, is not in the log`);
        }
      }
    }
    for (const [p, hw] of offsetsHw) await compare(OFFSETS_TOPIC, p, hw, false);
    result.divergentOffsets = history.divergentOffsets;
    result.divergenceKinds = { ...history.kinds };
    result.divergences = history.divergences.map(describeDivergence);
    for (const d of result.divergences.slice(0, 20)) fail(`divergent: ${d}`);
    if (history.divergentOffsets > 20) {
      fail(`… ${history.divergentOffsets} divergent offsets in all`);
    }
  }

  /** Counts acknowledged, lost, duplicated and divergent records per fault kind (by time). */
  function attribute(): void {
    const starts = result.cycles.map((c) => c.startedAt);
    const kindAt = (ts: number) => {
      let lo = 0, hi = starts.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (starts[mid] <= ts) lo = mid + 1;
        else hi = mid;
      }
      return lo === 0 ? "before the faults" : result.cycles[lo - 1].kind;
    };
    for (const [p, log] of acks) {
      const got = finalContents[p];
      const at = new Map<number, string | undefined>();
      const copies = new Map<string | undefined, number>();
      for (let i = 0; i < (got?.offsets.length ?? 0); i++) {
        at.set(got!.offsets[i], got!.ids[i]);
        copies.set(got!.ids[i], (copies.get(got!.ids[i]) ?? 0) + 1);
      }
      for (let i = 0; i < log.offsets.length; i++) {
        const r = kindRow(kindAt(log.ts[i]));
        r.acked++;
        if (got !== undefined && at.get(log.offsets[i]) !== log.ids[i]) r.lost++;
        if ((copies.get(log.ids[i]) ?? 0) > 1) r.dup++;
      }
    }
    for (const d of history.divergences) kindRow(kindAt(d.second.at)).divergent++;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function secs(ms: number | undefined): string {
  return ms === undefined ? "-" : `${(ms / 1000).toFixed(2)} s`;
}

/**
 * One line per cycle, for the progress log.
 *
 * @param c The cycle.
 * @param cycles Cycles per kind.
 * @returns The line.
 */
export function cycleLine(c: CycleResult, cycles: number): string {
  const parts = [`[${c.kind} ${c.index}/${cycles}] ${c.target}`];
  if (c.electionMs !== undefined) parts.push(`new leader after ${secs(c.electionMs)}`);
  if (c.failoverMs !== undefined) parts.push(`first acks=all produce ${secs(c.failoverMs)}`);
  parts.push(
    `healed; cluster healthy ${secs(c.recoveryMs)}, producers ${
      secs(c.producersBackMs)
    }, consumers ${secs(c.consumersBackMs)}`,
  );
  for (const n of c.notes) parts.push(n);
  if (c.failures.length > 0) parts.push(`FAILED: ${c.failures.join("; ")}`);
  return parts.join("; ");
}
