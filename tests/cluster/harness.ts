// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Clusters for tests: brokers in cluster mode on one etcd (tests/etcd.ts), either in this
 * process ({@linkcode startCluster}) or as their own processes that can be SIGKILLed
 * ({@linkcode startProcessCluster}, on `tests/chaos/broker.ts`).
 *
 * Needs `--allow-all`.
 *
 * @module
 */

import { Admin, Client, Connection } from "../../client/mod.ts";
import {
  OffsetCommitRequest,
  OffsetCommitResponse,
} from "../../protocol/messages/offset_commit.ts";
import { Broker } from "../../server/mod.ts";
import type { BrokerConfig } from "../../server/config.ts";
import { ChaosBroker, freePort } from "../chaos/broker.ts";
import { requireEtcd, type TestEtcd } from "../etcd.ts";
import { type ClientRequirement, waitFor } from "../harness.ts";

/**
 * The `test` of a cluster test file: a `Deno.test` named `<prefix>: <name>`, reported as ignored
 * where etcd (or the `client` given) is missing and failing for it under `CI=true`, with the op
 * and resource sanitizers off (brokers keep timers and connections between tests).
 *
 * @example
 * ```ts ignore
 * const test = clusterTest("cluster failover");
 * test("a broker comes back", async () => {});
 * ```
 *
 * @param prefix What the file's tests are about, before each test's name.
 * @returns The `test(name, fn, client?)` function.
 */
export function clusterTest(
  prefix: string,
): (name: string, fn: () => Promise<void>, client?: ClientRequirement) => void {
  const etcdReq = requireEtcd();
  return (name, fn, client) =>
    Deno.test({
      name: `${prefix}: ${name}`,
      ignore: etcdReq.ignore || (client?.ignore ?? false),
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        etcdReq.assertAvailable();
        client?.assertAvailable();
        await fn();
      },
    });
}

/** Brokers of one cluster in this process. */
export interface InProcessCluster {
  /** The etcd they share. */
  etcd: TestEtcd;
  /** `sluice.cluster.name` (each test cluster has its own). */
  clusterName: string;
  /** Broker of node id `i + 1`, or `undefined` while stopped. */
  brokers: (Broker | undefined)[];
  /** Data directory of node id `i + 1`. */
  dirs: string[];
  /** `127.0.0.1:PORT` of node id `i + 1`. */
  bootstrap(i: number): string;
  /** Every running broker's address, comma-separated. */
  bootstrapAll(): string;
  /** Start node id `i + 1` again on its data directory (a new port). */
  start(i: number): Promise<void>;
  /** Close node id `i + 1` cleanly (its lease is revoked). */
  stop(i: number): Promise<void>;
  /** Close every broker and remove the data directories. */
  close(): Promise<void>;
}

let clusters = 0;

/**
 * Start `count` brokers (node ids 1..count) in this process, in cluster mode on `etcd`, each on
 * a free port of 127.0.0.1 with a fresh data directory, and wait until each has registered.
 *
 * @param etcd The etcd.
 * @param count How many brokers. Default 3.
 * @param config Settings for every broker (over the harness's: no log output unless
 *   `SLUICE_TEST_LOG` says, `group.initial.rebalance.delay.ms` 0, 5 partitions per internal
 *   topic), or a function of the broker's index giving each its own.
 * @returns The cluster; call `close()` when done.
 * @throws {Error} If a broker does not start.
 */
export async function startCluster(
  etcd: TestEtcd,
  count = 3,
  config: Partial<BrokerConfig> | ((i: number) => Partial<BrokerConfig>) = {},
): Promise<InProcessCluster> {
  const clusterName = `test-${Deno.pid}-${++clusters}`;
  const dirs: string[] = [];
  for (let i = 0; i < count; i++) dirs.push(await Deno.makeTempDir({ prefix: "sluice_cluster_" }));
  const brokers: (Broker | undefined)[] = new Array(count).fill(undefined);
  const startOne = async (i: number) => {
    brokers[i] = await Broker.start({
      nodeId: i + 1,
      listeners: "PLAINTEXT://127.0.0.1:0",
      logDirs: [dirs[i]],
      logLevel: (Deno.env.get("SLUICE_TEST_LOG") as BrokerConfig["logLevel"]) ?? "silent",
      groupInitialRebalanceDelayMs: 0,
      offsetsTopicNumPartitions: 5,
      transactionStateLogNumPartitions: 5,
      etcdEndpoints: etcd.endpoints,
      clusterName,
      ...(typeof config === "function" ? config(i) : config),
    });
  };
  const cluster: InProcessCluster = {
    etcd,
    clusterName,
    brokers,
    dirs,
    bootstrap: (i) => `127.0.0.1:${brokers[i]!.port}`,
    bootstrapAll: () =>
      brokers.filter((b) => b !== undefined).map((b) => `127.0.0.1:${b!.port}`).join(","),
    start: startOne,
    async stop(i) {
      const b = brokers[i];
      brokers[i] = undefined;
      await b?.close();
    },
    async close() {
      for (let i = 0; i < count; i++) await cluster.stop(i).catch(() => {});
      for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
    },
  };
  try {
    for (let i = 0; i < count; i++) await startOne(i);
    // each broker unfenced in every view (placement and elections take unfenced brokers only)
    await until(
      "every broker sees every broker unfenced",
      () => brokers.every((b) => b!.cluster!.liveBrokers().length === count),
    );
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}

/** Brokers of one cluster, each its own `sluice broker` process. */
export interface ProcessCluster {
  /** The etcd they share. */
  etcd: TestEtcd;
  /** `sluice.cluster.name` (each test cluster has its own). */
  clusterName: string;
  /** Broker process of node id `i + 1` (fixed port and data directory across restarts). */
  brokers: ChaosBroker[];
  /** Every broker's address, comma-separated. */
  bootstrap: string;
  /** Their log files (appended across restarts). */
  logs: string[];
  /** Stop every broker (SIGTERM) and remove the data directories. */
  close(): Promise<void>;
}

/**
 * Start `count` broker processes (node ids 1..count) in cluster mode on `etcd`, each on a fixed
 * free port with its own data directory and log file, and wait until each listens.
 *
 * @param etcd The etcd.
 * @param count How many brokers. Default 3.
 * @param overrides `key=value` settings for every broker, or a function of the broker's index
 *   giving each its own.
 * @returns The cluster; call `close()` when done.
 * @throws {Error} If a broker does not start (with the tail of its log).
 */
export async function startProcessCluster(
  etcd: TestEtcd,
  count = 3,
  overrides: string[] | ((i: number) => string[]) = [],
): Promise<ProcessCluster> {
  const root = await Deno.makeTempDir({ prefix: "sluice_pcluster_" });
  const clusterName = `ptest-${Deno.pid}-${++clusters}`;
  const brokers: ChaosBroker[] = [];
  const logs: string[] = [];
  for (let i = 0; i < count; i++) {
    await Deno.mkdir(`${root}/b${i + 1}`);
    logs.push(`${root}/b${i + 1}.log`);
    brokers.push(
      new ChaosBroker({
        dataDir: `${root}/b${i + 1}`,
        port: freePort(),
        logFile: logs[i],
        startTimeoutMs: 60_000,
        overrides: [
          `node.id=${i + 1}`,
          `controller.etcd.endpoints=${etcd.endpoints.join(",")}`,
          `sluice.cluster.name=${clusterName}`,
          "group.initial.rebalance.delay.ms=0",
          "offsets.topic.num.partitions=5",
          "transaction.state.log.num.partitions=5",
          ...(typeof overrides === "function" ? overrides(i) : overrides),
        ],
      }),
    );
  }
  const cluster: ProcessCluster = {
    etcd,
    clusterName,
    brokers,
    bootstrap: brokers.map((b) => b.bootstrap).join(","),
    logs,
    async close() {
      await Promise.all(brokers.map((b) => b.stop(20_000).catch(() => {})));
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
  try {
    for (const b of brokers) await b.start();
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}

/**
 * Run `fn` on a new connection of our client to broker `b` (127.0.0.1), closed afterwards.
 *
 * @param b The broker.
 * @param fn What to send.
 * @returns What `fn` returns.
 * @throws {KafkaError} If the broker cannot be reached, or what `fn` throws.
 */
export async function onBroker<T>(b: Broker, fn: (conn: Connection) => Promise<T>): Promise<T> {
  const conn = await Connection.connect({ host: "127.0.0.1", port: b.port });
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}

/**
 * A simple (generation -1) OffsetCommit v8 of partition 0 of topic `t` at `offset`, sent to
 * broker `b` (the group's coordinator or not).
 *
 * @param b The broker.
 * @param group The group.
 * @param offset The offset to commit.
 * @returns The partition's error code.
 */
export function commitOffset(b: Broker, group: string, offset: number): Promise<number> {
  return onBroker(b, async (conn) => {
    const res = await conn.send(
      { request: OffsetCommitRequest, response: OffsetCommitResponse },
      OffsetCommitRequest.create({
        groupId: group,
        generationIdOrMemberEpoch: -1,
        memberId: "",
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: [{
          name: "t",
          partitions: [{
            partitionIndex: 0,
            committedOffset: offset,
            committedLeaderEpoch: -1,
            committedMetadata: null,
            commitTimestamp: -1,
          }],
        }],
      }),
      { version: 8, timeoutMs: 30_000 },
    );
    return res.topics[0].partitions[0].errorCode;
  });
}

/**
 * Wait until `cond` holds, checking every 25 ms ({@linkcode waitFor} with the cluster tests'
 * limit).
 *
 * @param what What is awaited, for the error.
 * @param cond The condition.
 * @param ms Limit. Default 20000.
 * @returns How long it took, in milliseconds.
 * @throws {Error} `"timed out waiting for <what> (<ms> ms)"`.
 */
export function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  ms = 20_000,
): Promise<number> {
  return waitFor(what, cond, { timeoutMs: ms, intervalMs: 25 });
}

/**
 * Create `topic` with one partition on every broker of `cluster` (through node id 1), and wait
 * until every running broker's view has a leader for it.
 *
 * @param cluster The cluster (every broker running).
 * @param topic The topic.
 * @returns The leader's node id.
 * @throws {Error} If creating fails or no leader shows within 20 s.
 */
export async function createReplicatedTopic(
  cluster: InProcessCluster,
  topic: string,
): Promise<number> {
  const client = new Client({ bootstrapServers: cluster.bootstrap(0) });
  try {
    await new Admin(client).createTopics([
      { name: topic, numPartitions: 1, replicationFactor: cluster.brokers.length },
    ]);
  } finally {
    await client.close();
  }
  const leaderOn = (b: Broker | undefined) =>
    b!.cluster!.view.partition(topic, 0)?.value.leader ?? -1;
  await until(
    "a leader on every broker's view",
    () => cluster.brokers.every((b) => leaderOn(b) !== -1),
  );
  return leaderOn(cluster.brokers[0]);
}
