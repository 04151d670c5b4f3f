// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A broker's part in a cluster (docs/CLUSTER.md): the etcd client, the metadata store, the
 * cluster view, the broker's membership and its controller candidacy, and what the broker does
 * with what it sees:
 *
 * - **local logs follow the view**: every broker makes the logs of the partitions it is a
 *   replica of (with the topic id chosen at creation) and removes them when the topic is
 *   deleted;
 * - **replication**: every change of the partitions this broker replicates goes to the replica
 *   manager (`ReplicaManager.applyStates`), which makes it leader (in the state's leader epoch)
 *   or follower; the group and transaction coordinators serve the `__consumer_offsets` /
 *   `__transaction_state` partitions the replica manager leads, each loaded once its high
 *   watermark is the leader's and dropped on losing it or being fenced;
 * - **admin writes go to etcd**: CreateTopics, CreatePartitions, DeleteTopics, auto-creation and
 *   topic config changes are compare-and-swap transactions, answered once this broker's view
 *   has them.
 *
 * The API handlers reach it as `BrokerContext.cluster`; in standalone mode there is none.
 *
 * @module
 */

import {
  effectiveConfigs,
  EngineError,
  type LogManager,
  newTopicId,
  topicCollisionKey,
  type TopicInfo,
  validateTopicConfigs,
  validateTopicName,
} from "../../engine/mod.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { uuidFromBytes } from "../../protocol/primitives.ts";
import { type BrokerConfig, parsePropertiesFile } from "../config.ts";
import type { ReplicaError, ReplicaManager } from "../replica_manager.ts";
import { partitionForGroup } from "../group/schemas.ts";
import { CONSUMER_OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC } from "../internal_topic.ts";
import type { Logger } from "../logger.ts";
import { META_PROPERTIES_FILE } from "../meta_properties.ts";
import { PlacementError, placeReplicas } from "./assignment.ts";
import { ClusterView } from "./cluster_view.ts";
import { Controller, nextPartitionState, shuttingDownBrokers } from "./controller.ts";
import { EtcdClient, EtcdError } from "./etcd.ts";
import { FailureDetector } from "./failure_detector.ts";
import { Membership } from "./membership.ts";
import type { BrokerEndpoint, BrokerSasl, BrokerTls } from "../broker_connection.ts";
import {
  type BrokerRegistration,
  type CasResult,
  MetadataStore,
  type PartitionState,
  type RegisteredListener,
  type TopicRecord,
  type Versioned,
} from "./metadata_store.ts";
import {
  cancelReassignment,
  checkTarget,
  electPreferred,
  electUnclean,
  type PartitionRefusal,
  reassignmentOf,
  type ReplicaChange,
  startReassignment,
} from "./reassignment.ts";

/** An admin operation refused with a Kafka error code. */
export class ClusterError extends Error {
  /** The Kafka error code. */
  readonly code: number;

  /**
   * Create the error.
   *
   * @param code The Kafka error code.
   * @param message What failed and why.
   */
  constructor(code: number, message: string) {
    super(message);
    this.name = "ClusterError";
    this.code = code;
  }
}

/** A topic to create (CreateTopics, auto-creation, an internal topic). */
export interface CreateTopicSpec {
  /** Topic name. */
  name: string;
  /** Partitions; -1: `num.partitions` (ignored with `assignments`). */
  numPartitions: number;
  /** Replicas per partition; -1: `default.replication.factor` (ignored with `assignments`). */
  replicationFactor: number;
  /** Manual assignment: replicas of partition 0, 1, ... (empty: placed by the broker). */
  assignments?: number[][];
  /** Config overrides. */
  configs: Record<string, string>;
  /** Check everything, create nothing. */
  validateOnly?: boolean;
}

/** A topic as created. */
export interface CreatedTopic {
  /** Topic id. */
  id: string;
  /** Partitions. */
  numPartitions: number;
  /** Replicas per partition. */
  replicationFactor: number;
}

/** One partition's answer to an operation (ElectLeaders, AlterPartitionReassignments). */
export interface PartitionOutcome {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Kafka error code (NONE: done). */
  errorCode: number;
  /** Why not, or `null`. */
  message: string | null;
}

/** A partition's reassignment in progress (ListPartitionReassignments). */
export interface OngoingReassignment {
  /** Topic name. */
  topic: string;
  /** Partition index. */
  partition: number;
  /** Its replicas now (the target first, then the replicas being removed). */
  replicas: number[];
  /** Replicas being added. */
  addingReplicas: number[];
  /** Replicas being removed. */
  removingReplicas: number[];
}

/** Where a coordinator is (FindCoordinator). */
export interface CoordinatorLocation {
  /** NONE or COORDINATOR_NOT_AVAILABLE (or INVALID_REQUEST for an unknown key type). */
  errorCode: number;
  /** Why not, or `null`. */
  message: string | null;
  /** The coordinator's node id, -1 if none. */
  nodeId: number;
  /** Its host. */
  host: string;
  /** Its port, -1 if none. */
  port: number;
}

/**
 * A coordinator that serves the partitions of its internal topic this broker leads (the group
 * and transaction coordinators with `ownedPartitionsOnly`).
 */
export interface PartitionCoordinator {
  /**
   * This broker became leader of `partition` in `leaderEpoch`: once `caughtUp` resolves true
   * (the leader's high watermark reached its log end: everything there is committed), load it
   * and serve it; meanwhile its keys get COORDINATOR_LOAD_IN_PROGRESS. `false`: the leadership
   * was lost before, load nothing.
   *
   * @returns How many groups or transactional ids it holds.
   */
  onElection(
    partition: number,
    leaderEpoch: number,
    caughtUp: () => Promise<boolean>,
  ): Promise<number>;
  /** This broker no longer leads `partition`: stop serving it. */
  onResignation(partition: number): void;
}

/** The parts of the broker the cluster node drives. */
export interface ClusterParts {
  /** The storage engine. */
  logs: LogManager;
  /** The group coordinator (`__consumer_offsets`). */
  groups: PartitionCoordinator;
  /** The transaction coordinator (`__transaction_state`). */
  txns: PartitionCoordinator;
  /** The replication layer the view's partition states drive. */
  replicas: ReplicaManager;
}

const MAX_PARTITIONS_PER_TOPIC = 100_000;

/** Configs of `__consumer_offsets` (as `OffsetStore` creates it standalone). */
const OFFSETS_TOPIC_CONFIGS = {
  "cleanup.policy": "compact",
  "segment.bytes": "104857600",
  "compression.type": "producer",
};
/**
 * Configs of `__transaction_state` (Kafka's `TransactionLog` topic configs): as
 * `TransactionStateStore` creates it standalone, with `min.insync.replicas` from
 * `transaction.state.log.min.isr` (the coordinator's writes are acks=all) and no unclean
 * leader election.
 */
function transactionStateTopicConfigs(config: BrokerConfig): Record<string, string> {
  return {
    "cleanup.policy": "compact",
    "segment.bytes": "104857600",
    "compression.type": "uncompressed",
    "min.insync.replicas": String(config.transactionStateLogMinIsr),
    "unclean.leader.election.enable": "false",
  };
}

/**
 * One broker's membership of a cluster and everything that follows from it.
 *
 * @example
 * ```ts ignore
 * const node = await ClusterNode.connect(config, logger);
 * const clusterId = await node.resolveClusterId(dataDir);
 * // ... open the engine and the coordinators ...
 * await node.attach({ logs, groups, txns });
 * await node.register({ host: "127.0.0.1", port: 9092 });
 * // ... serve ...
 * await node.close();
 * ```
 */
export class ClusterNode {
  /**
   * TLS of connections to other brokers, when the inter-broker listener is an SSL one (set by the
   * broker at start, from that listener's `ssl.*` settings); `undefined`: plain TCP.
   */
  interBrokerTls?: BrokerTls;
  /**
   * SASL of connections to other brokers, when the inter-broker listener is a SASL one (set by
   * the broker at start: `sasl.mechanism.inter.broker.protocol` and the listener's JAAS
   * `username`/`password`); `undefined`: none.
   */
  interBrokerSasl?: BrokerSasl;
  /** The etcd client. */
  readonly etcd: EtcdClient;
  /** The metadata store. */
  readonly store: MetadataStore;
  /** This broker's view of the cluster. */
  readonly view: ClusterView;
  /** This broker's node id. */
  readonly nodeId: number;
  readonly #config: BrokerConfig;
  readonly #logger: Logger;
  #membership: Membership | undefined;
  #controller: Controller | undefined;
  #detector: FailureDetector | undefined;
  #parts: ClusterParts | undefined;
  readonly #stop = new AbortController();
  readonly #unsubscribe: (() => void)[] = [];
  #reconciling: Promise<void> | null = null;
  #reconcileAgain = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #electRetryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Internal-topic partitions a coordinator was elected for, with the leader epoch. */
  readonly #coordinating = new Map<string, number>();
  /**
   * The membership revision (etcd's, at the registration or the unfencing keep-alive) that the
   * view and the replica manager have caught up with; the broker leads nothing below it.
   */
  #caughtUpTo = 0;
  /** Topic names by id, as of a view revision ({@linkcode ClusterNode.topicName}). */
  #topicIds: { revision: number; byId: Map<string, string> } | undefined;
  /** The catch-up running, for that membership revision. */
  #catchingUp: { revision: number; done: Promise<void> } | undefined;

  private constructor(config: BrokerConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.nodeId = config.nodeId;
    const timeoutMs = Math.min(5000, Math.max(500, Math.floor(config.brokerSessionTimeoutMs / 2)));
    this.etcd = new EtcdClient({ endpoints: config.etcdEndpoints, timeoutMs });
    this.store = new MetadataStore(this.etcd, `${config.etcdPrefix}/${config.clusterName}`);
    this.view = new ClusterView({
      store: this.store,
      nodeId: config.nodeId,
      brokerEpoch: () => {
        const s = this.#membership?.state;
        return s?.registered ? s.epoch : 0;
      },
      logger,
    });
  }

  /**
   * Connect to etcd and read the cluster (the view starts watching).
   *
   * @param config The broker's configuration (`etcdEndpoints` set).
   * @param logger Where to report.
   * @returns The node, not registered yet.
   * @throws {Error} If etcd cannot be reached (the message names the endpoints).
   */
  static async connect(config: BrokerConfig, logger: Logger): Promise<ClusterNode> {
    const node = new ClusterNode(config, logger);
    try {
      await node.view.start();
    } catch (e) {
      node.view.close();
      node.etcd.close();
      throw new Error(
        `Cannot start broker ${config.nodeId} in cluster mode: cannot read the cluster from ` +
          `etcd (${config.etcdEndpoints.join(", ")}): ${e instanceof Error ? e.message : e}`,
      );
    }
    return node;
  }

  /**
   * The cluster id: etcd's, or a new one stored there for the first broker of a new cluster. A
   * data directory that belongs to another cluster is refused, and so is one that belongs to a
   * cluster when etcd holds none (its etcd data is gone, or it is a standalone broker's): its
   * topics would otherwise be deleted as unknown to the cluster.
   *
   * @param dataDir The broker's data directory (its `meta.properties` is read if present).
   * @returns The cluster id.
   * @throws {Error} If the directory belongs elsewhere, or etcd cannot be reached.
   */
  async resolveClusterId(dataDir: string): Promise<string> {
    let mine: string | undefined;
    try {
      const props = parsePropertiesFile(
        await Deno.readTextFile(`${dataDir}/${META_PROPERTIES_FILE}`),
      );
      mine = props["cluster.id"] || undefined;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const where = `etcd (${this.#config.etcdEndpoints.join(", ")}) under ${this.store.root}`;
    const what = `Cannot start broker ${this.nodeId} in cluster mode`;
    const existing = await this.store.ensureClusterId(undefined);
    if (existing !== undefined) {
      if (mine !== undefined && mine !== existing) {
        throw new Error(
          `${what}: data directory ${dataDir} belongs to cluster ${mine}, but ${where} holds ` +
            `cluster ${existing}; use an empty data directory, or the etcd and ` +
            `sluice.cluster.name of cluster ${mine}`,
        );
      }
      if (this.#config.clusterId !== "" && this.#config.clusterId !== existing) {
        throw new Error(
          `${what}: cluster.id is ${this.#config.clusterId}, but ${where} holds cluster ${existing}`,
        );
      }
      return existing;
    }
    if (mine !== undefined) {
      throw new Error(
        `${what}: ${where} holds no cluster, but data directory ${dataDir} belongs to cluster ` +
          `${mine} (a standalone broker's, or a cluster whose etcd data is gone); its topics ` +
          `are not in etcd. Start it with an empty data directory, or point ` +
          `controller.etcd.endpoints at its cluster's etcd`,
      );
    }
    const proposed = this.#config.clusterId !== ""
      ? this.#config.clusterId
      : uuidFromBytes(crypto.getRandomValues(new Uint8Array(16)));
    const id = (await this.store.ensureClusterId(proposed))!;
    if (id === proposed) this.#logger.info(`New cluster ${id} in ${where}`);
    return id;
  }

  /**
   * Take over the broker's engine, replica manager and coordinators: make the local logs match
   * the view (first pass awaited), hand the replica manager the state of every partition this
   * broker replicates, and from now on follow the view's changes (logs, partition states) and the
   * replica manager's roles (coordinators).
   *
   * @param parts The engine, the replica manager and the coordinators.
   */
  async attach(parts: ClusterParts): Promise<void> {
    this.#parts = parts;
    this.#unsubscribe.push(this.view.onChange((changes) => {
      if (changes.some((c) => c.kind === "topic")) this.#reconcile();
      this.#applyLeadership();
    }));
    this.#reconcile();
    await this.#reconciling;
    // every change of the partitions replicated here, in etcd's order (the current states first)
    this.#unsubscribe.push(
      this.view.onPartitionStates((states) => void parts.replicas.applyStates(states)),
    );
    this.#unsubscribe.push(parts.replicas.onRoleChange(() => this.#applyLeadership()));
    await parts.replicas.applyStates([]);
    this.#applyLeadership();
  }

  /**
   * Register in etcd (waiting for a previous run's registration to expire) and become a
   * controller candidate.
   *
   * @param advertised The inter-broker listener's host and port (other brokers connect there).
   * @param listeners Every listener's advertised endpoint (clients get their listener's).
   * @throws {Error} If another live broker has this node id, or etcd cannot be reached.
   */
  async register(
    advertised: { host: string; port: number },
    listeners?: RegisteredListener[],
  ): Promise<void> {
    const membership = new Membership({
      store: this.store,
      registration: {
        id: this.nodeId,
        host: advertised.host,
        port: advertised.port,
        ...(listeners === undefined ? {} : { listeners }),
        rack: this.#config.rack,
      },
      sessionTimeoutMs: this.#config.brokerSessionTimeoutMs,
      leaseTtlMs: this.#config.brokerLeaseTtlMs || this.#config.brokerSessionTimeoutMs,
      logger: this.#logger,
    });
    this.#membership = membership;
    this.#unsubscribe.push(membership.onChange(() => {
      this.#catchUp();
      this.#applyLeadership();
    }));
    // This broker's key deleted (its lease revoked by a failure detector, or expired): it stops
    // leading now rather than at its next keep-alive.
    this.#unsubscribe.push(this.view.onChange((changes) => {
      for (const c of changes) {
        if (c.kind !== "broker" || c.id !== this.nodeId || c.before === undefined) continue;
        if (c.after?.createRevision !== c.before.createRevision) {
          membership.registrationGone(c.before.createRevision);
        } else if (c.after.value.fenced === true && c.before.value.fenced !== true) {
          // only the controller fences a registration (its heartbeats stopped)
          membership.fencedByController(c.after.createRevision);
        }
      }
    }));
    await membership.start();
    const caughtUp = this.#catchingUp?.done;
    if (caughtUp !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([caughtUp, new Promise((r) => timer = setTimeout(r, 5000))]);
      clearTimeout(timer);
    }
    this.#controller = new Controller({
      store: this.store,
      view: this.view,
      membership,
      nodeId: this.nodeId,
      logger: this.#logger,
      sessionTimeoutMs: this.#config.brokerSessionTimeoutMs,
      autoLeaderRebalance: this.#config.autoLeaderRebalanceEnable
        ? {
          intervalMs: this.#config.leaderImbalanceCheckIntervalSeconds * 1000,
          percentage: this.#config.leaderImbalancePerBrokerPercentage,
        }
        : undefined,
    });
    this.#controller.start();
    if (this.#config.livenessProbeEnable) {
      this.#detector = new FailureDetector({
        store: this.store,
        view: this.view,
        membership,
        controller: this.#controller,
        nodeId: this.nodeId,
        intervalMs: this.#config.livenessProbeIntervalMs,
        refusals: this.#config.livenessProbeRefusals,
        logger: this.#logger,
      });
      this.#detector.start();
    }
    this.#applyLeadership();
  }

  /**
   * Kafka's controlled shutdown (`controlled.shutdown.enable`; docs/CLUSTER.md "Controlled
   * shutdown"): mark this broker's registration "in controlled shutdown", so that the
   * controller moves every leadership it holds to another live ISR member and drops it from
   * every ISR, and wait until it is done: this broker leads no partition that another live ISR
   * member could lead and is in no other ISR. Each of `controlled.shutdown.max.retries` attempts
   * writes the mark again and waits up to `controlled.shutdown.retry.backoff.ms`; after the last
   * the broker leaves anyway (logged with what was left). Call before
   * {@linkcode ClusterNode.close}, while the listeners still serve (the new leaders' followers,
   * this broker among them, fetch the last records).
   *
   * @returns Whether it completed (true also when disabled or not registered: nothing to do).
   */
  async controlledShutdown(): Promise<boolean> {
    const m = this.#membership;
    if (!this.#config.controlledShutdownEnable || m === undefined || this.#stop.signal.aborted) {
      return true;
    }
    const retries = this.#config.controlledShutdownMaxRetries;
    const backoffMs = this.#config.controlledShutdownRetryBackoffMs;
    const since = Date.now();
    let left: string[] = [];
    for (let attempt = 1; attempt <= retries; attempt++) {
      const deadline = Date.now() + backoffMs;
      try {
        const revision = await m.beginControlledShutdown();
        if (revision === undefined) {
          this.#logger.warn(
            `Broker ${this.nodeId} skips its controlled shutdown: it is not registered in etcd`,
          );
          return false;
        }
        if (attempt === 1) {
          this.#logger.info(
            `Broker ${this.nodeId} in controlled shutdown (etcd revision ${revision}): waiting ` +
              `for the controller to move its leaderships and drop it from ISRs`,
          );
        }
        await this.view.waitForRevision(revision, backoffMs);
      } catch (e) {
        // etcd out of reach: no controller can act on it either
        this.#logger.warn(
          `Broker ${this.nodeId} leaves without a controlled shutdown: it cannot mark its ` +
            `registration in etcd: ${e instanceof Error ? e.message : e}`,
        );
        return false;
      }
      for (;;) {
        left = this.#shutdownLeft();
        const wait = deadline - Date.now();
        if (left.length === 0 || wait <= 0) break;
        // looked at again when the view changes (a pass over every partition: not on a timer)
        await this.view.waitForRevision(this.view.revision + 1, Math.min(wait, 250));
      }
      if (left.length === 0) {
        // the replica manager has applied the states that took the leaderships away
        await this.#parts?.replicas.applyStates([]);
        this.#logger.info(
          `Broker ${this.nodeId} completed its controlled shutdown in ${Date.now() - since} ms: ` +
            `it leads no partition another in-sync replica could lead, and is in no other ISR`,
        );
        return true;
      }
      this.#logger.warn(
        `Broker ${this.nodeId}'s controlled shutdown, attempt ${attempt} of ${retries}: ` +
          `${left.length} partitions still wait (${left.slice(0, 10).join(", ")}` +
          `${left.length > 10 ? ", ..." : ""})`,
      );
    }
    this.#logger.warn(
      `Broker ${this.nodeId} leaves without completing its controlled shutdown after ` +
        `${retries} × ${backoffMs} ms (controlled.shutdown.max.retries × ` +
        `controlled.shutdown.retry.backoff.ms): ${left.length} partitions still led by it or ` +
        `with it in their ISR (${left.slice(0, 10).join(", ")}${left.length > 10 ? ", ..." : ""})`,
    );
    return false;
  }

  /**
   * The partitions the controller still has to change for this broker's controlled shutdown:
   * led by it or with it in their ISR, where the election rule would change them.
   */
  #shutdownLeft(): string[] {
    const brokers = this.view.unfencedBrokers();
    const live = new Set(brokers.map((b) => b.id));
    const shuttingDown = shuttingDownBrokers(brokers);
    shuttingDown.add(this.nodeId);
    const left: string[] = [];
    for (const [name, t] of this.view.topics()) {
      for (let p = 0; p < t.value.replicas.length; p++) {
        const s = this.view.partition(name, p)?.value;
        if (s === undefined || (s.leader !== this.nodeId && !s.isr.includes(this.nodeId))) {
          continue;
        }
        if (nextPartitionState(s, t.value.replicas[p], live, shuttingDown) !== undefined) {
          left.push(`${name}-${p}`);
        }
      }
    }
    return left;
  }

  /**
   * Leave the cluster: stop being controller, revoke the lease (the controller moves this
   * broker's partitions at once), stop watching.
   */
  async close(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#electRetryTimer);
    for (const u of this.#unsubscribe) u();
    await this.#detector?.stop();
    await this.#controller?.stop();
    await this.#membership?.close();
    await this.#reconciling?.catch(() => {});
    this.view.close();
    this.etcd.close();
  }

  /** The membership (after {@linkcode ClusterNode.register}). */
  get membership(): Membership | undefined {
    return this.#membership;
  }

  /** The controller candidate (after {@linkcode ClusterNode.register}). */
  get controller(): Controller | undefined {
    return this.#controller;
  }

  /**
   * The failure detector's fast path (after {@linkcode ClusterNode.register}; `undefined` when
   * `sluice.broker.liveness.probe.enable` is false).
   */
  get failureDetector(): FailureDetector | undefined {
    return this.#detector;
  }

  /**
   * Whether this broker is registered, its lease kept alive, and its view of the cluster (and the
   * partition roles that follow from it) caught up with etcd's state as of its registration or
   * unfencing: only then may it lead and coordinate.
   */
  get registered(): boolean {
    const s = this.#membership?.state;
    return s !== undefined && s.registered && this.#caughtUpTo >= s.revision;
  }

  /**
   * Wait until this broker is registered and caught up ({@linkcode ClusterNode.registered}),
   * at most `timeoutMs`.
   *
   * @param timeoutMs Longest wait, in milliseconds.
   * @returns Whether it is.
   */
  async untilRegistered(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.registered && !this.#stop.signal.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = new Promise((r) => timer = setTimeout(r, Math.min(left, 50)));
      await Promise.race([this.#catchingUp?.done ?? tick, tick]);
      clearTimeout(timer);
    }
    return this.registered;
  }

  /**
   * The live brokers, by id: registered and not fenced (Kafka's unfenced brokers). Only they are
   * listed in Metadata and DescribeCluster, given new replicas, elected, or named as targets of
   * reassignments; a broker registered again is fenced until it caught up.
   *
   * @returns Their registrations.
   */
  liveBrokers(): BrokerRegistration[] {
    return this.view.unfencedBrokers();
  }

  /**
   * Whether a partition exists in the cluster.
   *
   * @param topic Topic name.
   * @param partition Partition index.
   * @returns True if the topic has that partition.
   */
  partitionExists(topic: string, partition: number): boolean {
    const t = this.view.topic(topic);
    return t !== undefined && partition >= 0 && partition < t.value.replicas.length;
  }

  /**
   * The name of a topic id.
   *
   * @param topicId The id.
   * @returns The name, or `undefined`.
   */
  topicName(topicId: string): string | undefined {
    // by-id fetches (followers' Fetch v15) ask for every partition: one index per view revision
    const revision = this.view.revision;
    if (this.#topicIds?.revision !== revision) {
      const byId = new Map<string, string>();
      for (const [name, t] of this.view.topics()) byId.set(t.value.id, name);
      this.#topicIds = { revision, byId };
    }
    return this.#topicIds.byId.get(topicId);
  }

  /**
   * Why this broker cannot serve a leader's request for a partition (Produce, Fetch,
   * ListOffsets, OffsetForLeaderEpoch, DeleteRecords, DescribeProducers, WriteTxnMarkers), or
   * `undefined` when it can: the partition must exist in the cluster, and the replica manager
   * must lead it (its role follows the view's states; none while this broker is fenced).
   *
   * @param topic Topic name.
   * @param partition Partition index.
   * @returns UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_OR_FOLLOWER with a message.
   */
  leaderError(topic: string, partition: number): ReplicaError | undefined {
    if (!this.partitionExists(topic, partition)) {
      return {
        code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        message: `${topic}-${partition} does not exist in the cluster`,
      };
    }
    const parts = this.#parts;
    if (parts === undefined || parts.logs.partition(topic, partition) === undefined) {
      const leader = this.view.partition(topic, partition)?.value.leader ?? "unknown";
      return {
        code: ErrorCode.NOT_LEADER_OR_FOLLOWER,
        message: `Broker ${this.nodeId} has no log of ${topic}-${partition} (leader: ${leader})`,
      };
    }
    const led = parts.replicas.checkLeader(topic, partition);
    return led === undefined || led.code === ErrorCode.NONE ? undefined : led;
  }

  /**
   * The leader of a partition as the view has it.
   *
   * @param topic Topic name.
   * @param partition Partition index.
   * @returns Its node id, -1 when offline or unknown.
   */
  leaderOf(topic: string, partition: number): number {
    return this.view.partition(topic, partition)?.value.leader ?? -1;
  }

  /**
   * A registered broker's address.
   *
   * @param id Node id.
   * @returns Its inter-broker listener's host and port (with {@linkcode ClusterNode.interBrokerTls}
   * and {@linkcode ClusterNode.interBrokerSasl}),
   * or `undefined` when not registered.
   */
  endpoint(id: number): BrokerEndpoint | undefined {
    const b = this.view.broker(id)?.value;
    if (b === undefined) return undefined;
    const ep: BrokerEndpoint = { host: b.host, port: b.port };
    if (this.interBrokerTls !== undefined) ep.tls = this.interBrokerTls;
    if (this.interBrokerSasl !== undefined) ep.sasl = this.interBrokerSasl;
    return ep;
  }

  /**
   * A topic of the cluster in the engine's terms (configs, effective configs with this
   * broker's defaults), whether or not this broker holds any of it.
   *
   * @param name Topic name.
   * @returns The topic, or `undefined`.
   */
  topicInfo(name: string): TopicInfo | undefined {
    const t = this.view.topic(name);
    if (t === undefined) return undefined;
    const defaults = this.#parts?.logs.defaults ?? {};
    return {
      name,
      id: t.value.id,
      partitions: t.value.replicas.length,
      configs: { ...t.value.configs },
      effective: effectiveConfigs(t.value.configs, defaults),
    };
  }

  /**
   * The partition count of an internal topic in the cluster.
   *
   * @param name `__consumer_offsets` or `__transaction_state`.
   * @returns The count, or `undefined` while the topic does not exist.
   */
  internalPartitions(name: string): number | undefined {
    return this.view.topic(name)?.value.replicas.length;
  }

  /**
   * Create a topic in the cluster: replicas placed over the live brokers (or as assigned),
   * every partition's initial state (leader = first replica, ISR = all replicas) written with
   * the topic in one create-if-absent transaction. Answers once this broker's view has it.
   *
   * @param spec The topic.
   * @returns Its id, partitions and replication factor.
   * @throws {ClusterError} TOPIC_ALREADY_EXISTS, INVALID_TOPIC_EXCEPTION, INVALID_PARTITIONS,
   *   INVALID_REPLICATION_FACTOR, INVALID_REPLICA_ASSIGNMENT, INVALID_CONFIG, POLICY_VIOLATION,
   *   REQUEST_TIMED_OUT (etcd unreachable).
   */
  async createTopic(spec: CreateTopicSpec): Promise<CreatedTopic> {
    const name = spec.name;
    const fail = (code: number, message: string): never => {
      throw new ClusterError(code, message);
    };
    try {
      validateTopicName(name);
    } catch (e) {
      fail(ErrorCode.INVALID_TOPIC_EXCEPTION, e instanceof Error ? e.message : String(e));
    }
    if (this.view.topic(name) !== undefined) {
      fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    }
    const key = topicCollisionKey(name);
    for (const other of this.view.topics().keys()) {
      if (topicCollisionKey(other) === key) {
        fail(
          ErrorCode.INVALID_TOPIC_EXCEPTION,
          `Topic '${name}' collides with existing topic: ${other} ('.' and '_' collide)`,
        );
      }
    }
    const configs = this.#validateConfigs(spec.configs);
    const live = this.liveBrokers();
    let replicas: number[][];
    if (spec.assignments !== undefined && spec.assignments.length > 0) {
      replicas = this.#checkAssignments(spec.assignments, 0, undefined);
    } else {
      const n = spec.numPartitions === -1 ? this.#config.numPartitions : spec.numPartitions;
      if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS_PER_TOPIC) {
        fail(
          ErrorCode.INVALID_PARTITIONS,
          `Number of partitions must be between 1 and ${MAX_PARTITIONS_PER_TOPIC}, got ${n}`,
        );
      }
      const rf = spec.replicationFactor === -1
        ? this.#config.defaultReplicationFactor
        : spec.replicationFactor;
      replicas = this.#place(live, n, rf);
    }
    this.#checkClusterPartitionLimit(replicas.length);
    const created: CreatedTopic = {
      id: "AAAAAAAAAAAAAAAAAAAAAA",
      numPartitions: replicas.length,
      replicationFactor: replicas[0].length,
    };
    if (spec.validateOnly) return created;
    const topic: TopicRecord = { id: newTopicId(), replicas, configs };
    const states: PartitionState[] = replicas.map((r) => ({
      leader: r[0],
      leaderEpoch: 0,
      isr: [...r],
      partitionEpoch: 0,
    }));
    const r = await this.#etcdCall(
      `create topic ${name}`,
      () => this.store.createTopic(name, topic, states),
    );
    if (!r.created) fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    await this.view.waitForRevision(r.revision);
    this.#logger.info(
      `Created topic ${name} (id ${topic.id}) with ${replicas.length} partition(s), ` +
        `replicas ${JSON.stringify(replicas)}`,
    );
    return { ...created, id: topic.id };
  }

  /**
   * Add partitions to a topic (CreatePartitions): new replicas placed over the live brokers
   * with the topic's replication factor (or as assigned), compare-and-swap on the topic.
   *
   * @param name Topic name.
   * @param total The new partition count.
   * @param assignments Replicas of each new partition, or `null`/empty to place them.
   * @param validateOnly Check everything, change nothing.
   * @throws {ClusterError} UNKNOWN_TOPIC_OR_PARTITION, INVALID_PARTITIONS,
   *   INVALID_REPLICATION_FACTOR, INVALID_REPLICA_ASSIGNMENT, POLICY_VIOLATION,
   *   REQUEST_TIMED_OUT.
   */
  async createPartitions(
    name: string,
    total: number,
    assignments: number[][] | null,
    validateOnly: boolean,
  ): Promise<void> {
    for (let attempt = 0;; attempt++) {
      const t = await this.#etcdCall(`read topic ${name}`, () => this.store.readTopic(name));
      if (t === undefined) {
        throw new ClusterError(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `Topic '${name}' does not exist`,
        );
      }
      const current = t.value.replicas.length;
      if (!Number.isInteger(total) || total > MAX_PARTITIONS_PER_TOPIC) {
        throw new ClusterError(
          ErrorCode.INVALID_PARTITIONS,
          `Number of partitions must be at most ${MAX_PARTITIONS_PER_TOPIC}, got ${total}`,
        );
      }
      if (total === current) {
        throw new ClusterError(
          ErrorCode.INVALID_PARTITIONS,
          `Topic already has ${current} partitions.`,
        );
      }
      if (total < current) {
        throw new ClusterError(
          ErrorCode.INVALID_PARTITIONS,
          `Topic currently has ${current} partitions, which is higher than the requested ${total}.`,
        );
      }
      const rf = t.value.replicas[0]?.length ?? 1;
      let added: number[][];
      if (assignments !== null && assignments.length > 0) {
        if (assignments.length !== total - current) {
          throw new ClusterError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            `Increasing the number of partitions by ${total - current} but ` +
              `${assignments.length} assignments provided.`,
          );
        }
        added = this.#checkAssignments(assignments, current, rf);
      } else {
        added = this.#place(this.liveBrokers(), total - current, rf);
      }
      this.#checkClusterPartitionLimit(added.length);
      if (validateOnly) return;
      const states = new Map<number, PartitionState>();
      added.forEach((r, i) => {
        states.set(current + i, { leader: r[0], leaderEpoch: 0, isr: [...r], partitionEpoch: 0 });
      });
      const next: TopicRecord = { ...t.value, replicas: [...t.value.replicas, ...added] };
      const ok = await this.#etcdCall(
        `create partitions of ${name}`,
        () => this.store.addPartitions(name, t, next, states),
      );
      if (ok) {
        await this.#waitForTopic(name, (v) => v?.value.replicas.length === total);
        this.#logger.info(`Topic ${name} now has ${total} partitions`);
        return;
      }
      if (attempt >= 4) {
        throw new ClusterError(
          ErrorCode.REQUEST_TIMED_OUT,
          `Cannot create partitions of ${name}: the topic kept changing meanwhile`,
        );
      }
    }
  }

  /**
   * Delete a topic from the cluster (each replica removes its logs when its view sees it).
   *
   * @param name Topic name.
   * @returns The deleted topic's id.
   * @throws {ClusterError} UNKNOWN_TOPIC_OR_PARTITION, REQUEST_TIMED_OUT.
   */
  async deleteTopic(name: string): Promise<string> {
    const t = await this.#etcdCall(`read topic ${name}`, () => this.store.readTopic(name));
    if (t === undefined) {
      throw new ClusterError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${name} does not exist`);
    }
    const ok = await this.#etcdCall(
      `delete topic ${name}`,
      () => this.store.deleteTopic(name, t.createRevision),
    );
    if (!ok) {
      throw new ClusterError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${name} does not exist`);
    }
    await this.#waitForTopic(name, (v) => v === undefined || v.value.id !== t.value.id);
    this.#logger.info(`Deleted topic ${name} (id ${t.value.id})`);
    return t.value.id;
  }

  /**
   * Change a topic's config overrides in the cluster (every replica applies them).
   *
   * @param name Topic name.
   * @param configs The complete new set of overrides (already validated).
   * @throws {ClusterError} UNKNOWN_TOPIC_OR_PARTITION, REQUEST_TIMED_OUT.
   */
  async setTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    this.#validateConfigs(configs);
    for (let attempt = 0; attempt < 5; attempt++) {
      const t = await this.#etcdCall(`read topic ${name}`, () => this.store.readTopic(name));
      if (t === undefined) {
        throw new ClusterError(
          ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          `Topic ${name} does not exist`,
        );
      }
      const ok = await this.#etcdCall(
        `set configs of ${name}`,
        () => this.store.setTopicConfigs(name, t, configs),
      );
      if (ok) {
        await this.#waitForTopic(name, (v) => sameConfigs(v?.value.configs ?? {}, configs));
        return;
      }
    }
    throw new ClusterError(
      ErrorCode.REQUEST_TIMED_OUT,
      `Cannot change configs of ${name}: the topic kept changing meanwhile`,
    );
  }

  /**
   * Change a topic's config overrides in the cluster, as `LogManager.alterTopicConfigs` does
   * locally: set `set`, remove `remove`, or with `replace` make `set` the complete set.
   *
   * @param name Topic name.
   * @param set Overrides to set.
   * @param remove Overrides to remove.
   * @param options `validateOnly`, `replace`.
   * @returns The topic.
   * @throws {ClusterError} UNKNOWN_TOPIC_OR_PARTITION, INVALID_CONFIG, REQUEST_TIMED_OUT.
   */
  async alterTopicConfigs(
    name: string,
    set: Record<string, string>,
    remove: string[] = [],
    options: { validateOnly?: boolean; replace?: boolean } = {},
  ): Promise<TopicInfo> {
    const t = this.view.topic(name);
    if (t === undefined) {
      throw new ClusterError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${name} does not exist`);
    }
    const valid = this.#validateConfigs(set);
    const next: Record<string, string> = options.replace ? {} : { ...t.value.configs };
    for (const k of remove) delete next[k];
    Object.assign(next, valid);
    if (!options.validateOnly) await this.setTopicConfigs(name, next);
    return { ...this.topicInfo(name)!, configs: next };
  }

  /**
   * FindCoordinator: the leader of the key's partition of `__consumer_offsets` (key type 0) or
   * `__transaction_state` (1). The internal topic is created on first use with
   * `offsets.topic.replication.factor` / `transaction.state.log.replication.factor` replicas;
   * while fewer brokers are alive the answer is COORDINATOR_NOT_AVAILABLE, as Kafka's.
   *
   * @param keyType 0 (group) or 1 (transaction).
   * @param key The group id or transactional id.
   * @returns Where the coordinator is, or why there is none.
   */
  async findCoordinator(keyType: number, key: string): Promise<CoordinatorLocation> {
    const none = (errorCode: number, message: string | null): CoordinatorLocation => ({
      errorCode,
      message,
      nodeId: -1,
      host: "",
      port: -1,
    });
    const group = keyType === 0;
    const internal = group ? CONSUMER_OFFSETS_TOPIC : TRANSACTION_STATE_TOPIC;
    let t = this.view.topic(internal);
    if (t === undefined) {
      const rf = group
        ? this.#config.offsetsTopicReplicationFactor
        : this.#config.transactionStateLogReplicationFactor;
      const rfName = group
        ? "offsets.topic.replication.factor"
        : "transaction.state.log.replication.factor";
      const live = this.liveBrokers().length;
      if (live < rf) {
        return none(
          ErrorCode.COORDINATOR_NOT_AVAILABLE,
          `${internal} needs ${rf} live brokers (${rfName}) to be created; ${live} are registered`,
        );
      }
      try {
        await this.createTopic({
          name: internal,
          numPartitions: group
            ? this.#config.offsetsTopicNumPartitions
            : this.#config.transactionStateLogNumPartitions,
          replicationFactor: rf,
          configs: group ? OFFSETS_TOPIC_CONFIGS : transactionStateTopicConfigs(this.#config),
        });
      } catch (e) {
        if (!(e instanceof ClusterError) || e.code !== ErrorCode.TOPIC_ALREADY_EXISTS) {
          return none(
            ErrorCode.COORDINATOR_NOT_AVAILABLE,
            `Cannot create ${internal}: ${e instanceof Error ? e.message : e}`,
          );
        }
      }
      t = this.view.topic(internal);
      if (t === undefined) {
        return none(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${internal} is being created`);
      }
    }
    const p = partitionForGroup(key, t.value.replicas.length);
    const leader = this.view.partition(internal, p)?.value.leader ?? -1;
    const b = leader === -1 ? undefined : this.view.broker(leader)?.value;
    if (b === undefined) {
      return none(
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
        `${internal}-${p} has no leader (coordinator of ${key})`,
      );
    }
    return { errorCode: ErrorCode.NONE, message: null, nodeId: b.id, host: b.host, port: b.port };
  }

  /**
   * ElectLeaders: a preferred (or unclean) leader election for each partition, written to etcd
   * by this broker (any broker may: each is a compare-and-swap on the partition's state, fenced
   * by this broker's registration), answered once this broker's view has it. With `partitions`
   * `null`, every partition of the cluster, and only those elected or refused for another
   * reason than ELECTION_NOT_NEEDED are answered (as Kafka's controller does).
   *
   * @param unclean Unclean election (type 1) instead of preferred (type 0).
   * @param partitions The partitions, or `null` for all.
   * @param timeoutMs How long to wait for the view to have the elections.
   * @returns One outcome per partition: NONE, ELECTION_NOT_NEEDED,
   *   PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE,
   *   UNKNOWN_TOPIC_OR_PARTITION, NOT_CONTROLLER (this broker is not registered: ask another),
   *   REQUEST_TIMED_OUT (etcd unreachable, or the partition kept changing).
   */
  async electLeaders(
    unclean: boolean,
    partitions: { topic: string; partition: number }[] | null,
    timeoutMs = 30_000,
  ): Promise<PartitionOutcome[]> {
    const all = partitions === null;
    const wanted = partitions ??
      [...this.view.topics()].flatMap(([topic, t]) =>
        t.value.replicas.map((_, partition) => ({ topic, partition }))
      );
    const out: PartitionOutcome[] = [];
    let revision = 0;
    for (const { topic, partition } of wanted) {
      const r = await this.#casPartition(topic, partition, (replicas, s) => {
        // a broker in controlled shutdown is not elected (it would hand over again at once)
        const live = new Set(
          this.liveBrokers().filter((b) => b.controlledShutdown !== true).map((b) => b.id),
        );
        const next = unclean ? electUnclean(replicas, s, live) : electPreferred(replicas, s, live);
        return "errorCode" in next ? next : { replicas, state: next };
      });
      if (all && r.errorCode === ErrorCode.ELECTION_NOT_NEEDED) continue;
      revision = Math.max(revision, r.revision);
      out.push({ topic, partition, errorCode: r.errorCode, message: r.message });
      if (r.errorCode === ErrorCode.NONE) {
        const s = this.view.partition(topic, partition)?.value;
        this.#logger.info(
          `${unclean ? "Unclean" : "Preferred"} election of ${topic}-${partition}: leader ` +
            `${s?.leader ?? "?"} → ${r.state?.leader} (leader epoch ${r.state?.leaderEpoch})`,
        );
      }
    }
    if (revision > 0) await this.view.waitForRevision(revision, timeoutMs);
    return out;
  }

  /**
   * AlterPartitionReassignments: start, replace (`replicas` given) or cancel (`null`) the
   * reassignment of each partition (`reassignment.ts`), each one compare-and-swap transaction
   * on the topic and the partition written by this broker; the controller completes them.
   * Answered once this broker's view has the writes.
   *
   * @param changes The partitions and their target replicas.
   * @param timeoutMs How long to wait for the view.
   * @returns One outcome per partition: NONE, INVALID_REPLICA_ASSIGNMENT (empty, duplicates,
   *   unregistered brokers), NO_REASSIGNMENT_IN_PROGRESS, UNKNOWN_TOPIC_OR_PARTITION,
   *   ELIGIBLE_LEADERS_NOT_AVAILABLE (no replica left could lead), NOT_CONTROLLER,
   *   REQUEST_TIMED_OUT.
   */
  async alterPartitionReassignments(
    changes: { topic: string; partition: number; replicas: number[] | null }[],
    timeoutMs = 30_000,
  ): Promise<PartitionOutcome[]> {
    const out: PartitionOutcome[] = [];
    let revision = 0;
    for (const { topic, partition, replicas: target } of changes) {
      const r = await this.#casPartition(topic, partition, (replicas, s) => {
        const live = new Set(this.liveBrokers().map((b) => b.id));
        if (target === null) return cancelReassignment(replicas, s, live);
        // a target may name any registered broker, fenced or not (Kafka's controller); only
        // an unfenced one is elected
        const bad = checkTarget(target, new Set(this.view.brokers().map((b) => b.id)));
        if (bad !== undefined) return bad;
        return startReassignment(replicas, s, target, live);
      }, true);
      revision = Math.max(revision, r.revision);
      out.push({ topic, partition, errorCode: r.errorCode, message: r.message });
      if (r.errorCode === ErrorCode.NONE && r.replicas !== undefined) {
        this.#logger.info(
          `Reassignment of ${topic}-${partition} ${
            target === null ? "cancelled" : "to " + `[${target}]`
          }: ` +
            `replicas [${r.replicas}]` +
            (reassignmentOf(r.state!) !== undefined
              ? `, adding [${r.state!.addingReplicas}], removing [${r.state!.removingReplicas}]`
              : ""),
        );
      }
    }
    if (revision > 0) await this.view.waitForRevision(revision, timeoutMs);
    return out;
  }

  /**
   * ListPartitionReassignments: the reassignments in progress, as this broker's view has them.
   *
   * @param partitions Only these (`null`: all).
   * @returns The reassignments in progress, by topic and partition.
   */
  listPartitionReassignments(
    partitions: { topic: string; partition: number }[] | null,
  ): OngoingReassignment[] {
    const wanted = partitions === null
      ? undefined
      : new Set(partitions.map((p) => `${p.topic}\u0000${p.partition}`));
    const out: OngoingReassignment[] = [];
    for (const [topic, t] of [...this.view.topics()].sort((a, b) => a[0] < b[0] ? -1 : 1)) {
      t.value.replicas.forEach((replicas, partition) => {
        if (wanted !== undefined && !wanted.has(`${topic}\u0000${partition}`)) return;
        const s = this.view.partition(topic, partition)?.value;
        const r = s === undefined ? undefined : reassignmentOf(s);
        if (r === undefined) return;
        out.push({
          topic,
          partition,
          replicas: [...replicas],
          addingReplicas: r.adding,
          removingReplicas: r.removing,
        });
      });
    }
    return out;
  }

  /**
   * One partition's compare-and-swap: read its state, then its topic, from etcd (in that order:
   * the topic's replicas change only with the state, so a stale pair fails the swap), let
   * `decide` compute the change, write it (the state alone, or with `withReplicas` the topic's
   * replicas too), up to 5 times when the partition changed in between; an etcd call that fails
   * (slow or out of reach) is retried from the read for up to 10 s, then REQUEST_TIMED_OUT.
   */
  async #casPartition(
    topic: string,
    partition: number,
    decide: (
      replicas: number[],
      s: PartitionState,
    ) => ReplicaChange | PartitionRefusal | undefined,
    withReplicas = false,
  ): Promise<{
    errorCode: number;
    message: string | null;
    revision: number;
    replicas?: number[];
    state?: PartitionState;
  }> {
    const fail = (errorCode: number, message: string) => ({ errorCode, message, revision: 0 });
    const m = this.#membership?.state;
    if (m === undefined || !m.registered) {
      return fail(
        ErrorCode.NOT_CONTROLLER,
        `Broker ${this.nodeId} is not registered in etcd (fenced); ask another broker`,
      );
    }
    const deadline = Date.now() + 10_000;
    for (let attempt = 0, changed = 0; changed < 5; attempt++) {
      let current: Versioned<PartitionState> | undefined;
      let t: Versioned<TopicRecord> | undefined;
      let c: ReplicaChange | PartitionRefusal | undefined;
      let r: CasResult;
      try {
        current = await this.store.readPartition(topic, partition);
        t = await this.store.readTopic(topic);
        const replicas = t?.value.replicas[partition];
        if (t === undefined || replicas === undefined || current === undefined) {
          return fail(
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            `${topic}-${partition} does not exist in the cluster`,
          );
        }
        c = decide(replicas, current.value);
        if (c === undefined) return { errorCode: ErrorCode.NONE, message: null, revision: 0 };
        if ("errorCode" in c) return { ...c, revision: 0 };
        const fence = { broker: { id: this.nodeId, epoch: m.epoch } };
        r = withReplicas
          ? await this.store.writeReplicas(
            topic,
            partition,
            t,
            current.modRevision,
            c.replicas,
            c.state,
            fence,
          )
          : await this.store.writePartition(topic, partition, current.modRevision, c.state, fence);
      } catch (e) {
        if (!(e instanceof EtcdError)) throw e;
        // etcd slow or out of reach: read again and decide again (a write that went through
        // meanwhile is then seen), within the deadline
        if (Date.now() >= deadline || this.#stop.signal.aborted) {
          return fail(ErrorCode.REQUEST_TIMED_OUT, `Cannot reach etcd: ${e.message}`);
        }
        await new Promise((res) => setTimeout(res, Math.min(1000, 100 * 2 ** attempt)));
        continue;
      }
      if (r.ok) {
        return {
          errorCode: ErrorCode.NONE,
          message: null,
          revision: r.revision,
          replicas: c.replicas,
          state: c.state,
        };
      }
      if (r.reason === "fenced") {
        return fail(
          ErrorCode.NOT_CONTROLLER,
          `Broker ${this.nodeId} lost its registration in etcd; ask another broker`,
        );
      }
      changed++;
    }
    return fail(ErrorCode.REQUEST_TIMED_OUT, `${topic}-${partition} kept changing; try again`);
  }

  /**
   * Reserve producer ids for this broker from the cluster-wide counter in etcd.
   *
   * @param size Ids wanted.
   * @returns The first id of the block.
   * @throws {Error} If etcd cannot be reached.
   */
  allocateProducerIds(size: number): Promise<number> {
    return this.store.allocateProducerIds(size);
  }

  #validateConfigs(configs: Record<string, string>): Record<string, string> {
    let valid: Record<string, string>;
    try {
      valid = validateTopicConfigs(configs);
    } catch (e) {
      throw new ClusterError(
        e instanceof EngineError ? e.code : ErrorCode.INVALID_CONFIG,
        e instanceof Error ? e.message : String(e),
      );
    }
    if (valid["unclean.leader.election.enable"] === "true") {
      throw new ClusterError(
        ErrorCode.INVALID_CONFIG,
        "unclean.leader.election.enable=true is not supported: cluster mode implements only false",
      );
    }
    return valid;
  }

  #place(live: BrokerRegistration[], n: number, rf: number): number[][] {
    try {
      return placeReplicas(live.map((b) => ({ id: b.id, rack: b.rack })), n, rf);
    } catch (e) {
      if (e instanceof PlacementError) {
        throw new ClusterError(ErrorCode.INVALID_REPLICATION_FACTOR, e.message);
      }
      throw e;
    }
  }

  /** Checks manual assignments (partition `from + i` gets `assignments[i]`). */
  #checkAssignments(
    assignments: number[][],
    from: number,
    rf: number | undefined,
  ): number[][] {
    const fail = (message: string): never => {
      throw new ClusterError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, message);
    };
    // registered, fenced or not (Kafka's controller checks a manual assignment's brokers are
    // registered; placement takes unfenced brokers only)
    const live = new Set(this.view.brokers().map((b) => b.id));
    const size = rf ?? assignments[0].length;
    assignments.forEach((r, i) => {
      const p = from + i;
      if (r.length === 0) fail(`Partition ${p} has no replicas`);
      if (new Set(r).size !== r.length) fail(`Partition ${p} lists a broker twice: [${r}]`);
      if (r.length !== size) {
        fail(
          `All partitions should have the same number of replicas (${size}), partition ${p}: [${r}]`,
        );
      }
      const unknown = r.filter((b) => !live.has(b));
      if (unknown.length > 0) {
        fail(`Unknown broker(s) [${unknown}] in the assignment of partition ${p}`);
      }
    });
    return assignments.map((r) => [...r]);
  }

  #checkClusterPartitionLimit(adding: number): void {
    let existing = 0;
    for (const t of this.view.topics().values()) existing += t.value.replicas.length;
    if (existing + adding > this.#config.maxPartitions) {
      throw new ClusterError(
        ErrorCode.POLICY_VIOLATION,
        `${adding} new partitions would make ${existing + adding} in the cluster, more than ` +
          `max.partitions=${this.#config.maxPartitions}`,
      );
    }
  }

  async #etcdCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof EtcdError) {
        throw new ClusterError(ErrorCode.REQUEST_TIMED_OUT, `Cannot ${what}: ${e.message}`);
      }
      throw e;
    }
  }

  /** Wait (bounded) until the view's topic satisfies `done`. */
  async #waitForTopic(
    name: string,
    done: (t: Versioned<TopicRecord> | undefined) => boolean,
  ): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!done(this.view.topic(name)) && Date.now() < deadline) {
      await this.view.waitForRevision(this.view.revision + 1, 200);
    }
  }

  /** Make the local logs match the view (one pass at a time; passes coalesce). */
  #reconcile(): void {
    if (this.#parts === undefined || this.#stop.signal.aborted) return;
    this.#reconcileAgain = true;
    if (this.#reconciling !== null) return;
    this.#reconciling = (async () => {
      try {
        while (this.#reconcileAgain && !this.#stop.signal.aborted) {
          this.#reconcileAgain = false;
          const failed = await this.#reconcilePass();
          this.#applyLeadership();
          if (failed) {
            clearTimeout(this.#retryTimer);
            this.#retryTimer = setTimeout(() => this.#reconcile(), 2000);
            Deno.unrefTimer(this.#retryTimer);
          }
        }
      } finally {
        this.#reconciling = null;
      }
    })();
  }

  /** One pass; returns whether something failed (and will be retried). */
  async #reconcilePass(): Promise<boolean> {
    const logs = this.#parts!.logs;
    const me = this.nodeId;
    const signal = this.#stop.signal;
    let failed = false;
    const viewTopics = this.view.topics();
    // partitions whose log this pass made: their states are applied at once (not on the replica
    // manager's next retry)
    const made: [string, number[]][] = [];
    for (const [name, t] of [...viewTopics]) {
      if (signal.aborted) return false;
      try {
        const count = t.value.replicas.length;
        const mine: number[] = [];
        t.value.replicas.forEach((r, p) => {
          if (r.includes(me)) mine.push(p);
        });
        let local = logs.topic(name);
        if (local !== undefined && local.id !== t.value.id) {
          this.#logger.info(
            `Deleting local logs of topic ${name} (id ${local.id}): the cluster's topic ${name} ` +
              `has id ${t.value.id}`,
          );
          await logs.deleteTopic(name);
          local = undefined;
        }
        if (local === undefined) {
          if (mine.length === 0) continue;
          await logs.createTopic(name, count, t.value.configs, {
            topicId: t.value.id,
            localPartitions: mine,
            signal,
          });
          made.push([name, mine]);
          this.#logger.info(
            `Created local logs of ${name} partitions [${mine}] (id ${t.value.id})`,
          );
          continue;
        }
        if (local.partitions < count) {
          const from = local.partitions;
          local = await logs.createPartitions(name, count, {
            localPartitions: mine.filter((p) => p >= from),
            signal,
          });
          made.push([name, mine.filter((p) => p >= from)]);
        }
        const held = new Set(local.localPartitions ?? range(local.partitions));
        const missing = mine.filter((p) => !held.has(p));
        if (missing.length > 0) {
          local = await logs.addLocalPartitions(name, missing, { signal });
          made.push([name, missing]);
          this.#logger.info(`Created local logs of ${name} partitions [${missing}]`);
        }
        const gone = [...held].filter((p) => !mine.includes(p));
        if (gone.length > 0) {
          // moved away (a reassignment): replication stops before the logs go
          await this.#parts!.replicas.applyStates(
            gone.map((p) => ({
              topic: name,
              topicId: t.value.id,
              partition: p,
              replicas: [...(t.value.replicas[p] ?? [])],
              leader: -1,
              leaderEpoch: -1,
              isr: [],
              partitionEpoch: -1,
              removed: true,
            })),
          );
          local = await logs.removeLocalPartitions(name, gone);
          this.#logger.info(
            `Deleted local logs of ${name} partitions [${gone}]: this broker is no longer a replica`,
          );
        }
        if (!sameConfigs(local.configs, t.value.configs)) {
          await logs.alterTopicConfigs(name, t.value.configs, [], { replace: true });
        }
      } catch (e) {
        if (signal.aborted) return false;
        failed = true;
        this.#logger.warn(
          `Cannot make the local logs of topic ${name} match the cluster (retried): ${
            e instanceof Error ? e.message : e
          }`,
        );
      }
    }
    const replicas = this.#parts!.replicas;
    const states = made.flatMap(([name, ps]) => this.view.replicaStates(name, ps));
    if (states.length > 0) void replicas.applyStates(states);
    // a deleted topic's partitions stop being replicated before their logs go
    if (logs.listTopics().some((t) => !viewTopics.has(t.name))) await replicas.applyStates([]);
    for (const local of logs.listTopics()) {
      if (signal.aborted) return false;
      if (viewTopics.has(local.name)) continue;
      try {
        await logs.deleteTopic(local.name);
        this.#logger.info(`Deleted local logs of topic ${local.name}: it is not in the cluster`);
      } catch (e) {
        failed = true;
        this.#logger.warn(
          `Cannot delete local logs of topic ${local.name} (retried): ${
            e instanceof Error ? e.message : e
          }`,
        );
      }
    }
    return failed;
  }

  /**
   * A broker registered again (new lease and broker epoch) or unfenced on its old lease may hold
   * partition states from before it was cut off: it stays fenced (leads nothing, coordinates
   * nothing) until the view has applied etcd's revision of that registration or keep-alive, and
   * the replica manager every partition state up to it (Kafka: a broker is unfenced once it has
   * caught up with the metadata log). Then the coordinators follow the fresh roles.
   */
  #catchUp(): void {
    const m = this.#membership;
    const s = m?.state;
    if (m === undefined || s === undefined || !s.registered || this.#caughtUpTo >= s.revision) {
      return;
    }
    if (this.#catchingUp?.revision === s.revision) return;
    const revision = s.revision;
    const current = () => {
      const now = m.state;
      return !this.#stop.signal.aborted && now.registered && now.revision === revision;
    };
    const done = (async () => {
      const since = Date.now();
      while (current() && this.view.revision < revision) {
        await this.view.waitForRevision(revision, 1000);
      }
      // the view hands the replica manager its partition states before it reports the revision
      // applied: wait for those to be applied too
      await this.#parts?.replicas.applyStates([]);
      // then publish it (the registration's fenced flag), so that leaders may add this broker
      // to ISRs and the controller elect it; a registration unfenced already (its lease was
      // found alive again) is written again, harmlessly
      for (let backoff = 100; current(); backoff = Math.min(2 * backoff, 2000)) {
        try {
          if (await m.unfence() !== undefined) break;
          return; // no longer this registration: the next one catches up
        } catch (e) {
          this.#logger.warn(
            `Broker ${this.nodeId} cannot unfence its registration in etcd: ` +
              `${e instanceof Error ? e.message : e}`,
          );
          await new Promise((r) => setTimeout(r, backoff));
        }
      }
      if (!current()) return;
      this.#caughtUpTo = Math.max(this.#caughtUpTo, revision);
      this.#logger.info(
        `Broker ${this.nodeId} unfenced: its view of the cluster caught up with etcd's revision ` +
          `${revision} (broker epoch ${s.epoch}) in ${Date.now() - since} ms`,
      );
      this.#applyLeadership();
    })().finally(() => {
      if (this.#catchingUp?.revision === revision) this.#catchingUp = undefined;
    });
    this.#catchingUp = { revision, done };
  }

  /** Coordinators elected or resigned as the replica manager's leadership changes. */
  #applyLeadership(): void {
    const parts = this.#parts;
    if (parts === undefined || this.#stop.signal.aborted) return;
    const registered = this.registered;
    this.#coordinate(CONSUMER_OFFSETS_TOPIC, registered, parts.groups);
    this.#coordinate(TRANSACTION_STATE_TOPIC, registered, parts.txns);
  }

  #coordinate(topic: string, registered: boolean, coordinator: PartitionCoordinator): void {
    const replicas = this.#parts!.replicas;
    const t = this.view.topic(topic);
    const count = t?.value.replicas.length ?? 0;
    const should = new Map<number, number>();
    for (let p = 0; p < count; p++) {
      if (!registered || replicas.role(topic, p) !== "leader") continue;
      const epoch = replicas.state(topic, p)?.leaderEpoch;
      if (epoch !== undefined) should.set(p, epoch);
    }
    for (const [key, epoch] of [...this.#coordinating]) {
      const [name, ps] = key.split("\u0000");
      if (name !== topic) continue;
      const p = Number(ps);
      if (should.get(p) === epoch) continue;
      this.#coordinating.delete(key);
      coordinator.onResignation(p);
    }
    for (const [p, epoch] of should) {
      const key = `${topic}\u0000${p}`;
      if (this.#coordinating.has(key)) continue;
      this.#coordinating.set(key, epoch);
      const caughtUp = () =>
        replicas.waitForLeaderHighWatermark(topic, p, epoch, this.#stop.signal);
      coordinator.onElection(p, epoch, caughtUp).catch((e) => {
        if (this.#coordinating.get(key) === epoch) this.#coordinating.delete(key);
        this.#logger.warn(
          `Cannot load ${topic}-${p} as its coordinator (retried): ${
            e instanceof Error ? e.message : e
          }`,
        );
        clearTimeout(this.#electRetryTimer);
        this.#electRetryTimer = setTimeout(() => this.#applyLeadership(), 2000);
        Deno.unrefTimer(this.#electRetryTimer);
      });
    }
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function sameConfigs(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
