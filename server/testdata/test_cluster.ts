// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Test support for replication: real brokers on 127.0.0.1 in this process whose replica
 * managers are driven by a {@linkcode TestController} playing the control plane — it keeps every
 * partition's state (leader, leader epoch, ISR, partition epoch), hands it to the brokers
 * (`ReplicaManager.applyStates`, as the cluster view does on every change), answers
 * AlterPartition with the compare-and-swap rules of `server/cluster/cluster_view.ts`, and elects
 * leaders when told to. Not exported from `mod.ts`.
 *
 * @module
 */

import { ErrorCode } from "../../protocol/errors.ts";
import { concat } from "../../protocol/framing.ts";
import { Broker } from "../broker.ts";
import type { Logger } from "../logger.ts";
import type {
  AlterPartitionRequest,
  AlterPartitionResult,
  BrokerEndpoint,
  ReplicaState,
} from "../replica_manager.ts";
import { createTopic, RawClient } from "../testing.ts";
import { waitFor } from "../../tests/harness.ts";

/** One broker of a {@linkcode TestController}. */
export interface TestNode {
  /** Node id. */
  id: number;
  /** Data directory (kept across restarts). */
  dir: string;
  /** The running broker, `undefined` while stopped. */
  broker?: Broker;
  /** Its log lines, all runs. */
  lines: string[];
}

/** Settings of a {@linkcode TestController}. */
export interface TestControllerOptions {
  /** `replica.lag.time.max.ms` (default 1000). */
  replicaLagTimeMaxMs?: number;
  /** `replica.fetch.wait.max.ms` (default 100). */
  replicaFetchWaitMaxMs?: number;
  /** `replica.fetch.backoff.ms` (default 100). */
  replicaFetchBackoffMs?: number;
  /** `replica.fetch.max.bytes` (default 1048576). */
  replicaFetchMaxBytes?: number;
  /** `sluice.http.listener` of every broker (default none); port 0 picks a free one each. */
  httpListener?: string;
  /** Each broker's rack by node id (`broker.rack`; default none). */
  racks?: Record<number, string>;
  /** `replica.selector.class` (KIP-392) of every broker (default none). */
  replicaSelector?: "rack-aware";
}

/**
 * The control plane of a test cluster.
 *
 * @example
 * ```ts ignore
 * await using ctl = await TestController.start([1, 2, 3]);
 * await ctl.createTopic("t", [[1, 2, 3]], { "min.insync.replicas": "2" });
 * ```
 */
export class TestController implements AsyncDisposable {
  /** The brokers, by node id. */
  readonly nodes = new Map<number, TestNode>();
  readonly #states = new Map<string, ReplicaState>();
  readonly #options: TestControllerOptions;
  /** AlterPartition answers REQUEST_TIMED_OUT while this is false (etcd out of reach). */
  acceptIsrChanges = true;
  /** Every AlterPartition call: broker, partition, ISR asked, error code answered. */
  readonly isrChanges: { from: number; key: string; isr: number[]; errorCode: number }[] = [];

  private constructor(options: TestControllerOptions) {
    this.#options = options;
  }

  /**
   * Starts brokers with the given node ids, each with a fresh data directory.
   *
   * @param ids Node ids.
   * @param options Replication settings.
   * @returns The controller.
   */
  static async start(ids: number[], options: TestControllerOptions = {}): Promise<TestController> {
    const ctl = new TestController(options);
    for (const id of ids) {
      const dir = await Deno.makeTempDir({ prefix: `sluice-repl-${id}-` });
      ctl.nodes.set(id, { id, dir, lines: [] });
    }
    for (const id of ids) await ctl.startNode(id);
    return ctl;
  }

  /**
   * A running broker.
   *
   * @param id Node id.
   * @returns The broker.
   */
  broker(id: number): Broker {
    const b = this.nodes.get(id)?.broker;
    if (b === undefined) throw new Error(`broker ${id} is not running`);
    return b;
  }

  /**
   * `127.0.0.1:<port>` of a running broker.
   *
   * @param id Node id.
   * @returns The bootstrap address.
   */
  bootstrap(id: number): string {
    return `127.0.0.1:${this.broker(id).port}`;
  }

  /**
   * A running broker's address, as the replica fetchers look it up.
   *
   * @param id Node id.
   * @returns Host and port, or `undefined` when stopped.
   */
  endpoint(id: number): BrokerEndpoint | undefined {
    const b = this.nodes.get(id)?.broker;
    return b === undefined ? undefined : { host: "127.0.0.1", port: b.port };
  }

  /**
   * Starts (or restarts) a broker on its data directory and hands it its partitions' states.
   *
   * @param id Node id.
   */
  async startNode(id: number): Promise<void> {
    const node = this.nodes.get(id)!;
    const capture = (level: string) => (m: string) => node.lines.push(`${level} ${m}`);
    const logger: Logger = {
      debug: () => {},
      info: capture("INFO"),
      warn: capture("WARN"),
      error: capture("ERROR"),
    };
    const o = this.#options;
    node.broker = await Broker.start({
      listeners: "PLAINTEXT://127.0.0.1:0",
      logDirs: [node.dir],
      nodeId: id,
      logger,
      offsetsTopicNumPartitions: 1,
      transactionStateLogNumPartitions: 1,
      groupInitialRebalanceDelayMs: 0,
      httpListener: o.httpListener ?? "",
    }, {
      replication: {
        brokerEndpoint: (b) => this.endpoint(b),
        alterPartition: (t, p, r) => this.#alterPartition(id, t, p, r),
        replicaLagTimeMaxMs: o.replicaLagTimeMaxMs ?? 1000,
        replicaFetchWaitMaxMs: o.replicaFetchWaitMaxMs ?? 100,
        replicaFetchBackoffMs: o.replicaFetchBackoffMs ?? 100,
        replicaFetchMaxBytes: o.replicaFetchMaxBytes,
        replicaHighWatermarkCheckpointIntervalMs: 200,
        replicaSelector: o.replicaSelector,
        rackOf: (b) => this.nodes.get(b)?.broker === undefined ? undefined : o.racks?.[b] ?? null,
      },
    });
    await this.#push(id);
  }

  /**
   * Stops a broker (clean shutdown); its partition states stay as they are.
   *
   * @param id Node id.
   */
  async stopNode(id: number): Promise<void> {
    const node = this.nodes.get(id)!;
    const b = node.broker;
    node.broker = undefined;
    await b?.close();
  }

  /**
   * Creates a topic on every broker (CreateTopics; each broker holds every partition's log) and
   * its partitions' states: leader the first replica, ISR all replicas, epochs 0.
   *
   * @param name Topic.
   * @param replicas Replicas of each partition.
   * @param configs Topic configs.
   */
  async createTopic(
    name: string,
    replicas: number[][],
    configs: Record<string, string> = {},
  ): Promise<void> {
    await this.createLogs(name, replicas.length, configs);
    await this.announce(name, replicas);
  }

  /**
   * Creates a topic's logs on every running broker (CreateTopics), without any state.
   *
   * @param name Topic.
   * @param partitions Partition count.
   * @param configs Topic configs.
   */
  async createLogs(
    name: string,
    partitions: number,
    configs: Record<string, string> = {},
  ): Promise<void> {
    for (const node of this.nodes.values()) {
      if (node.broker === undefined) continue;
      const c = await RawClient.connect(node.broker.port);
      try {
        await createTopic(c, name, partitions, configs);
      } finally {
        c.close();
      }
    }
  }

  /**
   * Records a topic's partitions' states (leader the first replica, ISR all replicas, epochs 0)
   * and hands them to every running broker.
   *
   * @param name Topic.
   * @param replicas Replicas of each partition.
   */
  async announce(name: string, replicas: number[][]): Promise<void> {
    replicas.forEach((r, p) => {
      this.#states.set(`${name}-${p}`, {
        topic: name,
        topicId: "AAAAAAAAAAAAAAAAAAAAAA",
        partition: p,
        replicas: [...r],
        leader: r[0],
        leaderEpoch: 0,
        isr: [...r],
        partitionEpoch: 0,
        removed: false,
      });
    });
    await this.#pushAll();
  }

  /**
   * A partition's state now.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @returns A copy.
   */
  state(topic: string, partition: number): ReplicaState {
    const s = this.#states.get(`${topic}-${partition}`);
    if (s === undefined) throw new Error(`no state for ${topic}-${partition}`);
    return { ...s, replicas: [...s.replicas], isr: [...s.isr] };
  }

  /**
   * Elects a leader (leader epoch + 1, partition epoch + 1), optionally with a new ISR, and
   * hands the state to every running broker.
   *
   * @param topic Topic.
   * @param partition Partition.
   * @param leader The new leader.
   * @param isr The new ISR (default: unchanged).
   */
  async elect(topic: string, partition: number, leader: number, isr?: number[]): Promise<void> {
    const s = this.#states.get(`${topic}-${partition}`)!;
    s.leader = leader;
    s.leaderEpoch++;
    s.partitionEpoch++;
    if (isr !== undefined) s.isr = [...isr];
    await this.#pushAll();
  }

  async #alterPartition(
    from: number,
    topic: string,
    partition: number,
    req: AlterPartitionRequest,
  ): Promise<AlterPartitionResult> {
    await new Promise((r) => setTimeout(r, 1)); // an etcd round trip
    const k = `${topic}-${partition}`;
    const answer = (errorCode: number): AlterPartitionResult => {
      this.isrChanges.push({ from, key: k, isr: [...req.isr], errorCode });
      const s = this.#states.get(k);
      return s === undefined ? { errorCode } : {
        errorCode,
        state: {
          leader: s.leader,
          leaderEpoch: s.leaderEpoch,
          isr: [...s.isr],
          partitionEpoch: s.partitionEpoch,
        },
      };
    };
    if (!this.acceptIsrChanges) return { ...answer(ErrorCode.REQUEST_TIMED_OUT), state: undefined };
    const s = this.#states.get(k);
    if (s === undefined) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (req.leaderEpoch !== s.leaderEpoch) return answer(ErrorCode.FENCED_LEADER_EPOCH);
    if (s.leader !== from) return answer(ErrorCode.INVALID_REQUEST);
    if (req.partitionEpoch !== s.partitionEpoch) return answer(ErrorCode.INVALID_UPDATE_VERSION);
    const isr = [...new Set(req.isr)];
    if (!isr.includes(from) || isr.some((b) => !s.replicas.includes(b))) {
      return answer(ErrorCode.INVALID_REQUEST);
    }
    if (isr.some((b) => this.nodes.get(b)?.broker === undefined)) {
      return answer(ErrorCode.INELIGIBLE_REPLICA);
    }
    s.isr = isr;
    s.partitionEpoch++;
    // the other brokers see it through their watch, a moment later
    setTimeout(() => this.#pushAll().catch(() => {}), 1);
    return answer(ErrorCode.NONE);
  }

  async #push(id: number): Promise<void> {
    const b = this.nodes.get(id)?.broker;
    if (b === undefined) return;
    const mine = [...this.#states.values()].filter((s) => s.replicas.includes(id));
    if (mine.length > 0) await b.replicaManager!.applyStates(mine);
  }

  async #pushAll(): Promise<void> {
    for (const id of this.nodes.keys()) await this.#push(id);
  }

  /**
   * The bytes of a partition's `.log` files on a broker, oldest segment first.
   *
   * @param id Node id.
   * @param topic Topic.
   * @param partition Partition.
   * @returns The concatenated segment files.
   */
  async logBytes(id: number, topic: string, partition: number): Promise<Uint8Array> {
    const dir = `${this.nodes.get(id)!.dir}/${topic}-${partition}`;
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) if (e.name.endsWith(".log")) names.push(e.name);
    return concat(await Promise.all(names.sort().map((n) => Deno.readFile(`${dir}/${n}`))));
  }

  /**
   * Stops every broker and deletes the data directories.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const id of this.nodes.keys()) await this.stopNode(id).catch(() => {});
    for (const n of this.nodes.values()) {
      await Deno.remove(n.dir, { recursive: true }).catch(() => {});
    }
  }
}

/**
 * Polls `cond` every 20 ms until it holds; fails after `timeoutMs` with `what` (a safety net
 * against hangs, not a timing assertion).
 *
 * @param cond The condition.
 * @param what What is awaited, for the error.
 * @param timeoutMs Limit (default 30000).
 */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(what, cond, { timeoutMs });
}
