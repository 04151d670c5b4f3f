// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The cluster's metadata in etcd (docs/CLUSTER.md "etcd key layout"): typed reads of every key
 * under `<prefix>` and the writes that change them, each a transaction that compares what the
 * writer read (compare-and-swap), so that two writers never both succeed on the same state.
 *
 * ```
 * <prefix>/cluster_id                 "<22-char id>"                  create-if-absent
 * <prefix>/brokers/<id>               BrokerRegistration, under the broker's lease
 * <prefix>/controller                 {"id":1}, under the controller's lease; create_revision = epoch
 * <prefix>/topics/<name>              TopicRecord
 * <prefix>/partitions/<name>/<p>      PartitionState
 * <prefix>/producer_id_block          {"next":N}: the first producer id not handed out
 * <prefix>/acls                       {"version":1,"acls":[...]}: the ACLs (security/authorizer.ts)
 * <prefix>/liveness/<id>/<epoch>/<v>  {"at":ms}, under broker v's lease: v saw broker <id> refuse
 * ```
 *
 * Values are JSON. Broker epoch = the `create_revision` of the broker's key; controller epoch =
 * the `create_revision` of the controller key.
 *
 * @module
 */

import {
  type Compare,
  type EtcdClient,
  EtcdError,
  type KeyValue,
  type TxnOp,
  type WatchEvent,
} from "./etcd.ts";

/** A broker's registration (`<prefix>/brokers/<id>`). */
export interface BrokerRegistration {
  /** Node id. */
  id: number;
  /** Advertised host of the inter-broker listener (replica fetchers connect here). */
  host: string;
  /** Advertised port of the inter-broker listener. */
  port: number;
  /**
   * Every listener's advertised endpoint: clients get the one of the listener their request
   * came in on. Absent in registrations of brokers before listeners were published.
   */
  listeners?: RegisteredListener[];
  /** Rack, or `null`. */
  rack: string | null;
  /** Random id of this run of the broker process. */
  incarnation: string;
  /**
   * Registered but not caught up yet (Kafka's fenced broker): a broker registers fenced and
   * writes `false` once its view of the cluster has applied etcd's revision of its
   * registration. A fenced broker is not elected leader, not added to an ISR
   * (INELIGIBLE_REPLICA) and not listed in Metadata. Absent: not fenced (registrations of
   * brokers before the flag).
   */
  fenced?: boolean;
  /**
   * In controlled shutdown (Kafka's KIP-841 ineligible replica; docs/CLUSTER.md "Controlled
   * shutdown"): the broker is stopping, and asks the controller to move its leaderships away
   * and drop it from every ISR. Such a broker is not elected leader (unless no other ISR member
   * is live) and not added to an ISR (INELIGIBLE_REPLICA). Absent: not shutting down.
   */
  controlledShutdown?: boolean;
}

/** One advertised listener of a registered broker. */
export interface RegisteredListener {
  /** Listener name, e.g. `EXTERNAL`. */
  name: string;
  /** Advertised host. */
  host: string;
  /** Advertised port. */
  port: number;
  /** Its security protocol (`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT`, `SASL_SSL`). */
  securityProtocol: string;
}

/** A topic (`<prefix>/topics/<name>`). */
export interface TopicRecord {
  /** Topic id (22-character base64url uuid). */
  id: string;
  /** Replicas of each partition, preferred leader first. */
  replicas: number[][];
  /** Topic config overrides. */
  configs: Record<string, string>;
}

/** A partition's leadership and ISR (`<prefix>/partitions/<name>/<p>`). */
export interface PartitionState {
  /** Leader's node id, -1 when offline. */
  leader: number;
  /** Incremented at every leader change. */
  leaderEpoch: number;
  /** In-sync replicas. */
  isr: number[];
  /** Incremented at every change. */
  partitionEpoch: number;
  /**
   * A reassignment in progress (Kafka's `addingReplicas`): replicas being added, in the
   * topic's replicas already, not yet all in the ISR. Absent or empty: none.
   */
  addingReplicas?: number[];
  /**
   * A reassignment in progress (Kafka's `removingReplicas`): replicas to drop from the topic's
   * replicas once every adding replica is in the ISR.
   */
  removingReplicas?: number[];
}

/** A value with the etcd revisions of its key. */
export interface Versioned<T> {
  /** The value. */
  value: T;
  /** The key's `create_revision`. */
  createRevision: number;
  /** The key's `mod_revision`. */
  modRevision: number;
}

/** Everything under the prefix, as read at one revision. */
export interface MetadataSnapshot {
  /** The store's revision of the read. */
  revision: number;
  /** The cluster id, if set. */
  clusterId: string | undefined;
  /** Registered (live) brokers by id. */
  brokers: Map<number, Versioned<BrokerRegistration>>;
  /** The controller, if one is elected. */
  controller: Versioned<{ id: number }> | undefined;
  /** Topics by name. */
  topics: Map<string, Versioned<TopicRecord>>;
  /** Partition states by topic, then partition. */
  partitions: Map<string, Map<number, Versioned<PartitionState>>>;
}

/** What a key under the prefix is. */
export type MetadataKey =
  | { kind: "cluster_id" }
  | { kind: "broker"; id: number }
  | { kind: "controller" }
  | { kind: "topic"; name: string }
  | { kind: "partition"; topic: string; partition: number }
  | { kind: "producer_id_block" };

/** Fencing a write carries: it fails unless these still hold. */
export interface WriteFence {
  /** The writer is controller with this epoch (the controller key's create revision). */
  controllerEpoch?: number;
  /** The writer is this broker, registered with this epoch (its key's create revision). */
  broker?: { id: number; epoch: number };
  /**
   * Brokers the write adds to an ISR: each one's registration must still be the one read (its
   * key's create revision, the broker epoch, and its mod revision, so neither a new
   * registration nor a change of its fenced flag slips in between the check and the write).
   */
  eligible?: { id: number; createRevision: number; modRevision: number }[];
}

/** Outcome of a fenced compare-and-swap write. */
export type CasResult =
  | { ok: true; revision: number }
  | {
    ok: false;
    /**
     * `changed`: the key changed; `fenced`: the writer's epoch is not current; `ineligible`: a
     * broker of {@linkcode WriteFence.eligible} registered again or changed its registration.
     */
    reason: "changed" | "fenced" | "ineligible";
    current: Versioned<PartitionState> | undefined;
  };

/** Most operations in one etcd transaction (etcd's default `--max-txn-ops`). */
export const MAX_TXN_OPS = 128;

/**
 * Typed access to the cluster's keys in etcd.
 *
 * @example
 * ```ts ignore
 * import { EtcdClient } from "./etcd.ts";
 * import { MetadataStore } from "./metadata_store.ts";
 *
 * const store = new MetadataStore(new EtcdClient({ endpoints: ["http://127.0.0.1:2379"] }), "/sluice/c1");
 * const id = await store.ensureClusterId("MkU3OEVBNTcwNTJENDM2Qk");
 * const snapshot = await store.snapshot();
 * console.log(id, snapshot.brokers.size);
 * ```
 */
export class MetadataStore {
  /** The etcd client. */
  readonly etcd: EtcdClient;
  /** Every key starts with this (`controller.etcd.prefix` + `/` + `sluice.cluster.name`). */
  readonly root: string;

  /**
   * Wrap an etcd client.
   *
   * @param etcd The etcd client.
   * @param root The key prefix, without a trailing `/`.
   */
  constructor(etcd: EtcdClient, root: string) {
    this.etcd = etcd;
    this.root = root;
  }

  /** `<prefix>/cluster_id`. */
  get clusterIdKey(): string {
    return `${this.root}/cluster_id`;
  }

  /** `<prefix>/controller`. */
  get controllerKey(): string {
    return `${this.root}/controller`;
  }

  /** `<prefix>/producer_id_block`. */
  get producerIdBlockKey(): string {
    return `${this.root}/producer_id_block`;
  }

  /**
   * `<prefix>/brokers/<id>`.
   *
   * @param id Node id.
   * @returns The key.
   */
  brokerKey(id: number): string {
    return `${this.root}/brokers/${id}`;
  }

  /**
   * `<prefix>/heartbeats/<id>`: a broker's heartbeat, written under its lease at each keep-alive
   * (the controller fences a broker whose heartbeats stop for `broker.session.timeout.ms`).
   *
   * @param id Node id.
   * @returns The key.
   */
  heartbeatKey(id: number): string {
    return `${this.root}/heartbeats/${id}`;
  }

  /**
   * The broker a heartbeat key is of.
   *
   * @param key A key under the prefix.
   * @returns The node id, or `undefined` when it is not a heartbeat key.
   */
  heartbeatOf(key: string): number | undefined {
    const m = /^heartbeats\/(\d+)$/.exec(key.slice(this.root.length + 1));
    return key.startsWith(`${this.root}/`) && m !== null ? Number(m[1]) : undefined;
  }

  /**
   * Write a broker's heartbeat (the broker itself, under its lease).
   *
   * @param id Node id.
   * @param epoch Its broker epoch.
   * @param lease The lease of its registration.
   * @returns etcd's revision of the write.
   * @throws {EtcdError} If etcd cannot be reached or the lease is gone.
   */
  async heartbeat(id: number, epoch: number, lease: string): Promise<number> {
    return await this.etcd.put(this.heartbeatKey(id), JSON.stringify({ epoch }), { lease });
  }

  /**
   * Mark another broker's registration fenced, as the controller (Kafka's controller fencing a
   * broker whose session expired): the registration keeps its lease and create revision (its
   * broker epoch); compare-and-swap on its mod revision, fenced by the controller's epoch.
   *
   * @param id Node id.
   * @param modRevision The registration's mod revision the controller saw.
   * @param controllerEpoch The controller's epoch.
   * @returns etcd's revision of the write, or `undefined` when the registration changed or the
   *   writer is no longer controller.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async fenceBroker(
    id: number,
    modRevision: number,
    controllerEpoch: number,
  ): Promise<number | undefined> {
    const key = this.brokerKey(id);
    const kv = await this.etcd.get(key);
    if (kv === undefined || kv.modRevision !== modRevision) return undefined;
    const reg = parseJson<BrokerRegistration>(kv);
    const r = await this.etcd.txn({
      compare: [
        { key, target: "mod", value: modRevision },
        { key: this.controllerKey, target: "create", value: controllerEpoch },
      ],
      success: [{ put: { key, value: JSON.stringify({ ...reg, fenced: true }), lease: kv.lease } }],
    });
    return r.succeeded ? r.revision : undefined;
  }

  /**
   * `<prefix>/topics/<name>`.
   *
   * @param name Topic name.
   * @returns The key.
   */
  topicKey(name: string): string {
    return `${this.root}/topics/${name}`;
  }

  /**
   * `<prefix>/partitions/<name>/<p>`.
   *
   * @param topic Topic name.
   * @param partition Partition index.
   * @returns The key.
   */
  partitionKey(topic: string, partition: number): string {
    return `${this.root}/partitions/${topic}/${partition}`;
  }

  /**
   * What a key under the prefix is.
   *
   * @param key The key.
   * @returns Its kind and parts, or `undefined` for a key outside the layout.
   */
  parseKey(key: string): MetadataKey | undefined {
    if (!key.startsWith(`${this.root}/`)) return undefined;
    const rest = key.slice(this.root.length + 1);
    if (rest === "cluster_id") return { kind: "cluster_id" };
    if (rest === "controller") return { kind: "controller" };
    if (rest === "producer_id_block") return { kind: "producer_id_block" };
    let m = /^brokers\/(\d+)$/.exec(rest);
    if (m) return { kind: "broker", id: Number(m[1]) };
    m = /^topics\/([^/]+)$/.exec(rest);
    if (m) return { kind: "topic", name: m[1] };
    m = /^partitions\/([^/]+)\/(\d+)$/.exec(rest);
    if (m) return { kind: "partition", topic: m[1], partition: Number(m[2]) };
    return undefined;
  }

  /**
   * Read everything under the prefix at one revision.
   *
   * @returns The snapshot.
   * @throws {EtcdError} If etcd cannot be reached.
   * @throws {Error} If a value is not the JSON its key should hold.
   */
  async snapshot(): Promise<MetadataSnapshot> {
    const snapshot: MetadataSnapshot = {
      revision: 0,
      clusterId: undefined,
      brokers: new Map(),
      controller: undefined,
      topics: new Map(),
      partitions: new Map(),
    };
    const all = await this.etcd.range(`${this.root}/`, { prefix: true });
    for (const kv of all.kvs) this.apply(snapshot, { type: "put", kv });
    snapshot.revision = all.revision;
    return snapshot;
  }

  /**
   * Apply one watched change to a snapshot.
   *
   * @param snapshot The snapshot to change.
   * @param event The change.
   * @returns What the key is (undefined for keys outside the layout, which are ignored).
   * @throws {Error} If a put's value is not the JSON its key should hold.
   */
  apply(snapshot: MetadataSnapshot, event: WatchEvent): MetadataKey | undefined {
    const k = this.parseKey(event.kv.key);
    if (k === undefined) return undefined;
    const put = event.type === "put";
    const versioned = <T>(value: T): Versioned<T> => ({
      value,
      createRevision: event.kv.createRevision,
      modRevision: event.kv.modRevision,
    });
    switch (k.kind) {
      case "cluster_id":
        snapshot.clusterId = put ? parseJson<string>(event.kv) : undefined;
        break;
      case "broker":
        if (put) snapshot.brokers.set(k.id, versioned(parseJson<BrokerRegistration>(event.kv)));
        else snapshot.brokers.delete(k.id);
        break;
      case "controller":
        snapshot.controller = put ? versioned(parseJson<{ id: number }>(event.kv)) : undefined;
        break;
      case "topic":
        if (put) snapshot.topics.set(k.name, versioned(parseJson<TopicRecord>(event.kv)));
        else snapshot.topics.delete(k.name);
        break;
      case "partition": {
        let m = snapshot.partitions.get(k.topic);
        if (put) {
          if (m === undefined) snapshot.partitions.set(k.topic, m = new Map());
          m.set(k.partition, versioned(parseJson<PartitionState>(event.kv)));
        } else if (m !== undefined) {
          m.delete(k.partition);
          if (m.size === 0) snapshot.partitions.delete(k.topic);
        }
        break;
      }
      case "producer_id_block":
        break;
    }
    if (event.kv.modRevision > snapshot.revision) snapshot.revision = event.kv.modRevision;
    return k;
  }

  /**
   * Read the cluster id, or store `proposed` if there is none yet (create-if-absent: of
   * brokers starting together, one id wins and every one gets it).
   *
   * @param proposed The id to store when there is none, or `undefined` to only read.
   * @returns The cluster's id (`undefined` if none and nothing proposed).
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async ensureClusterId(proposed: string | undefined): Promise<string | undefined> {
    const key = this.clusterIdKey;
    if (proposed === undefined) {
      const kv = await this.etcd.get(key);
      return kv === undefined ? undefined : parseJson<string>(kv);
    }
    const r = await this.etcd.txn({
      compare: [{ key, target: "create", value: 0 }],
      success: [{ put: { key, value: JSON.stringify(proposed) } }],
      failure: [{ range: { key } }],
    });
    if (r.succeeded) return proposed;
    return parseJson<string>(r.results[0].kvs[0]);
  }

  /**
   * Register a broker under a lease, unless its id is registered already.
   *
   * @param registration The broker.
   * @param lease The lease the key lives under.
   * @returns The broker epoch (the key's create revision), or the registration holding the id.
   * @throws {EtcdError} If etcd cannot be reached or the lease is gone.
   */
  async registerBroker(
    registration: BrokerRegistration,
    lease: string,
  ): Promise<{ epoch: number } | { holder: Versioned<BrokerRegistration> }> {
    const key = this.brokerKey(registration.id);
    const r = await this.etcd.txn({
      compare: [{ key, target: "create", value: 0 }],
      success: [{ put: { key, value: JSON.stringify(registration), lease } }],
      failure: [{ range: { key } }],
    });
    if (r.succeeded) return { epoch: r.revision };
    const kv = r.results[0].kvs[0];
    if (kv === undefined) return this.registerBroker(registration, lease); // gone meanwhile
    return { holder: versionedOf(kv, parseJson<BrokerRegistration>(kv)) };
  }

  /**
   * Set a registered broker's `fenced` flag (the broker itself, under its lease): only while
   * the key is still the registration of broker epoch `epoch`.
   *
   * @param registration The broker's registration (its flag is replaced).
   * @param epoch The broker epoch (the key's create revision).
   * @param lease The lease the key lives under.
   * @param fenced The new flag.
   * @returns etcd's revision of the write, or `undefined` when the key is no longer that
   *   registration.
   * @throws {EtcdError} If etcd cannot be reached or the lease is gone.
   */
  async setBrokerFenced(
    registration: BrokerRegistration,
    epoch: number,
    lease: string,
    fenced: boolean,
  ): Promise<number | undefined> {
    const key = this.brokerKey(registration.id);
    const r = await this.etcd.txn({
      compare: [{ key, target: "create", value: epoch }],
      success: [{ put: { key, value: JSON.stringify({ ...registration, fenced }), lease } }],
    });
    return r.succeeded ? r.revision : undefined;
  }

  /**
   * Try to become controller: create the controller key under `lease` if no one holds it.
   *
   * @param id This broker's node id.
   * @param lease Its lease (the key goes when the lease does).
   * @returns `{ epoch }` if elected (the key's create revision), else the current holder.
   * @throws {EtcdError} If etcd cannot be reached or the lease is gone.
   */
  async campaign(
    id: number,
    lease: string,
  ): Promise<{ epoch: number } | { holder: Versioned<{ id: number }> | undefined }> {
    const key = this.controllerKey;
    const r = await this.etcd.txn({
      compare: [{ key, target: "create", value: 0 }],
      success: [{ put: { key, value: JSON.stringify({ id }), lease } }],
      failure: [{ range: { key } }],
    });
    if (r.succeeded) return { epoch: r.revision };
    const kv = r.results[0].kvs[0];
    return {
      holder: kv === undefined ? undefined : versionedOf(kv, parseJson<{ id: number }>(kv)),
    };
  }

  /**
   * Give up the controller key if this epoch still holds it.
   *
   * @param epoch The controller epoch.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async resign(epoch: number): Promise<void> {
    const key = this.controllerKey;
    await this.etcd.txn({
      compare: [{ key, target: "create", value: epoch }],
      success: [{ delete: { key } }],
    });
  }

  /**
   * `<prefix>/liveness/<target>/<epoch>/`: where brokers that saw broker `target`'s registration
   * of broker epoch `epoch` refuse connections put their votes (docs/CLUSTER.md, "Failure
   * detection").
   *
   * @param target The suspected broker's node id.
   * @param epoch Its broker epoch.
   * @returns The prefix, ending in `/`.
   */
  livenessVotePrefix(target: number, epoch: number): string {
    return `${this.root}/liveness/${target}/${epoch}/`;
  }

  /**
   * Revoke the lease of broker `id`'s registration of broker epoch `epoch`, if that
   * registration is still there: the key goes at once (and the controller key with it, if it
   * lives under the same lease), as when the lease expires.
   *
   * @param id Node id.
   * @param epoch The broker epoch (the key's create revision) the evidence is about.
   * @returns The lease revoked, or `undefined` if the registration is gone or was replaced.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async revokeBrokerLease(id: number, epoch: number): Promise<string | undefined> {
    const kv = await this.etcd.get(this.brokerKey(id));
    if (kv === undefined || kv.createRevision !== epoch || kv.lease === "0") return undefined;
    try {
      await this.etcd.revokeLease(kv.lease);
    } catch (e) {
      if (e instanceof EtcdError && e.grpcCode === 5) return undefined; // expired meanwhile
      throw e;
    }
    return kv.lease;
  }

  /**
   * Vote that broker `target`'s registration of broker epoch `epoch` refuses connections: a
   * key under the voter's lease (it goes with the voter), written only while that registration
   * is still there.
   *
   * @param target The suspected broker's node id.
   * @param epoch Its broker epoch.
   * @param voter The voting broker's node id.
   * @param lease The voter's lease.
   * @returns Whether the vote was written (false: the registration is gone or was replaced).
   * @throws {EtcdError} If etcd cannot be reached or the voter's lease is gone.
   */
  async voteRefused(target: number, epoch: number, voter: number, lease: string): Promise<boolean> {
    const r = await this.etcd.txn({
      compare: [{ key: this.brokerKey(target), target: "create", value: epoch }],
      success: [{
        put: {
          key: this.livenessVotePrefix(target, epoch) + voter,
          value: JSON.stringify({ at: Date.now() }),
          lease,
        },
      }],
    });
    return r.succeeded;
  }

  /**
   * Withdraw a vote of {@linkcode MetadataStore.voteRefused}.
   *
   * @param target The suspected broker's node id.
   * @param epoch Its broker epoch.
   * @param voter The voting broker's node id.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async withdrawVote(target: number, epoch: number, voter: number): Promise<void> {
    await this.etcd.delete(this.livenessVotePrefix(target, epoch) + voter);
  }

  /**
   * The brokers that voted that broker `target`'s registration of broker epoch `epoch` refuses
   * connections.
   *
   * @param target The suspected broker's node id.
   * @param epoch Its broker epoch.
   * @returns Their node ids.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async refusedVotes(target: number, epoch: number): Promise<number[]> {
    const prefix = this.livenessVotePrefix(target, epoch);
    const r = await this.etcd.range(prefix, { prefix: true });
    return r.kvs.map((kv) => Number(kv.key.slice(prefix.length))).filter(Number.isInteger);
  }

  /**
   * Create a topic with its partitions' initial states, unless the name is taken
   * (create-if-absent). A topic with more partitions than one transaction can carry is written
   * in several: the topic key and the first states together, the rest in later transactions
   * that each check the topic is still the one created.
   *
   * @param name Topic name.
   * @param topic The topic.
   * @param states Initial state of each partition.
   * @returns Whether it was created (false: the name is taken).
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async createTopic(
    name: string,
    topic: TopicRecord,
    states: PartitionState[],
  ): Promise<{ created: boolean; revision: number }> {
    const key = this.topicKey(name);
    const puts = states.map((s, p) => ({
      put: { key: this.partitionKey(name, p), value: JSON.stringify(s) },
    }));
    const first = await this.etcd.txn({
      compare: [{ key, target: "create", value: 0 }],
      success: [
        { put: { key, value: JSON.stringify(topic) } },
        ...puts.slice(0, MAX_TXN_OPS - 1),
      ],
    });
    if (!first.succeeded) return { created: false, revision: first.revision };
    let revision = first.revision;
    for (let i = MAX_TXN_OPS - 1; i < puts.length; i += MAX_TXN_OPS) {
      const r = await this.etcd.txn({
        compare: [{ key, target: "create", value: first.revision }],
        success: puts.slice(i, i + MAX_TXN_OPS),
      });
      if (!r.succeeded) break; // deleted meanwhile
      revision = r.revision;
    }
    return { created: true, revision };
  }

  /**
   * Add partitions to a topic: its record (with the new replicas) and the new partitions'
   * states, if the topic has not changed since it was read.
   *
   * @param name Topic name.
   * @param expected The topic as read (its mod revision is compared).
   * @param topic The new record.
   * @param states The new partitions' initial states, by partition index.
   * @returns Whether it was written (false: the topic changed or was deleted).
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async addPartitions(
    name: string,
    expected: Versioned<TopicRecord>,
    topic: TopicRecord,
    states: Map<number, PartitionState>,
  ): Promise<boolean> {
    const key = this.topicKey(name);
    const puts: TxnOp[] = [...states].map(([p, s]) => ({
      put: { key: this.partitionKey(name, p), value: JSON.stringify(s) },
    }));
    const first = await this.etcd.txn({
      compare: [{ key, target: "mod", value: expected.modRevision }],
      success: [{ put: { key, value: JSON.stringify(topic) } }, ...puts.slice(0, MAX_TXN_OPS - 1)],
    });
    if (!first.succeeded) return false;
    for (let i = MAX_TXN_OPS - 1; i < puts.length; i += MAX_TXN_OPS) {
      const r = await this.etcd.txn({
        compare: [{ key, target: "mod", value: first.revision }],
        success: puts.slice(i, i + MAX_TXN_OPS),
      });
      if (!r.succeeded) break;
    }
    return true;
  }

  /**
   * Replace a topic's config overrides if the topic has not changed since it was read.
   *
   * @param name Topic name.
   * @param expected The topic as read.
   * @param configs The new overrides.
   * @returns Whether it was written.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async setTopicConfigs(
    name: string,
    expected: Versioned<TopicRecord>,
    configs: Record<string, string>,
  ): Promise<boolean> {
    const key = this.topicKey(name);
    const r = await this.etcd.txn({
      compare: [{ key, target: "mod", value: expected.modRevision }],
      success: [{ put: { key, value: JSON.stringify({ ...expected.value, configs }) } }],
    });
    return r.succeeded;
  }

  /**
   * Delete a topic and its partitions' states, if it is still the topic that was read.
   *
   * @param name Topic name.
   * @param createRevision The topic key's create revision as read.
   * @returns Whether it was deleted.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async deleteTopic(name: string, createRevision: number): Promise<boolean> {
    const key = this.topicKey(name);
    const r = await this.etcd.txn({
      compare: [{ key, target: "create", value: createRevision }],
      success: [
        { delete: { key } },
        { delete: { key: `${this.root}/partitions/${name}/`, prefix: true } },
      ],
    });
    return r.succeeded;
  }

  /**
   * Read one topic.
   *
   * @param name Topic name.
   * @returns The topic, or `undefined`.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async readTopic(name: string): Promise<Versioned<TopicRecord> | undefined> {
    const kv = await this.etcd.get(this.topicKey(name));
    return kv === undefined ? undefined : versionedOf(kv, parseJson<TopicRecord>(kv));
  }

  /**
   * Read one broker's registration.
   *
   * @param id Node id.
   * @returns The registration (create revision: the broker epoch), or `undefined`.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async readBroker(id: number): Promise<Versioned<BrokerRegistration> | undefined> {
    const kv = await this.etcd.get(this.brokerKey(id));
    return kv === undefined ? undefined : versionedOf(kv, parseJson<BrokerRegistration>(kv));
  }

  /**
   * Read one partition's state.
   *
   * @param topic Topic name.
   * @param partition Partition index.
   * @returns The state, or `undefined`.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async readPartition(
    topic: string,
    partition: number,
  ): Promise<Versioned<PartitionState> | undefined> {
    const kv = await this.etcd.get(this.partitionKey(topic, partition));
    return kv === undefined ? undefined : versionedOf(kv, parseJson<PartitionState>(kv));
  }

  /**
   * Write a partition's state with compare-and-swap: only if the key's mod revision is still
   * `expectedModRevision` (0: the key must not exist), and only while `fence` holds (the
   * controller epoch, or the writing broker's registration).
   *
   * @param topic Topic name.
   * @param partition Partition index.
   * @param expectedModRevision The mod revision read (0 for a creation).
   * @param state The new state.
   * @param fence What must still hold.
   * @returns `ok`, or why not (`changed`: the partition changed, with its current state;
   *   `fenced`: the writer is no longer controller or registered).
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async writePartition(
    topic: string,
    partition: number,
    expectedModRevision: number,
    state: PartitionState,
    fence: WriteFence,
  ): Promise<CasResult> {
    const key = this.partitionKey(topic, partition);
    const compare = [];
    const failure: TxnOp[] = [{ range: { key } }];
    if (expectedModRevision === 0) {
      compare.push({ key, target: "create" as const, value: 0 });
      // the topic must still exist for a state to be created
      compare.push({
        key: this.topicKey(topic),
        target: "version" as const,
        result: ">" as const,
        value: 0,
      });
    } else {
      compare.push({ key, target: "mod" as const, value: expectedModRevision });
    }
    if (fence.controllerEpoch !== undefined) {
      compare.push({
        key: this.controllerKey,
        target: "create" as const,
        value: fence.controllerEpoch,
      });
      failure.push({ range: { key: this.controllerKey } });
    }
    if (fence.broker !== undefined) {
      const brokerKey = this.brokerKey(fence.broker.id);
      compare.push({ key: brokerKey, target: "create" as const, value: fence.broker.epoch });
      failure.push({ range: { key: brokerKey } });
    }
    for (const e of fence.eligible ?? []) {
      const brokerKey = this.brokerKey(e.id);
      compare.push({ key: brokerKey, target: "create" as const, value: e.createRevision });
      compare.push({ key: brokerKey, target: "mod" as const, value: e.modRevision });
      failure.push({ range: { key: brokerKey } });
    }
    const r = await this.etcd.txn({
      compare,
      success: [{ put: { key, value: JSON.stringify(state) } }],
      failure,
    });
    if (r.succeeded) return { ok: true, revision: r.revision };
    const kv = r.results[0]?.kvs[0];
    const current = kv === undefined ? undefined : versionedOf(kv, parseJson<PartitionState>(kv));
    let fenced = false;
    let i = 1;
    if (fence.controllerEpoch !== undefined) {
      fenced ||= r.results[i++]?.kvs[0]?.createRevision !== fence.controllerEpoch;
    }
    if (fence.broker !== undefined) {
      fenced ||= r.results[i++]?.kvs[0]?.createRevision !== fence.broker.epoch;
    }
    let ineligible = false;
    for (const e of fence.eligible ?? []) {
      const b = r.results[i++]?.kvs[0];
      ineligible ||= b?.createRevision !== e.createRevision || b?.modRevision !== e.modRevision;
    }
    if (fenced) return { ok: false, reason: "fenced", current };
    return { ok: false, reason: ineligible ? "ineligible" : "changed", current };
  }

  /**
   * Write several partitions' states in one transaction, all or none: each compare-and-swap on
   * its partition key's mod revision, all under one `fence` (as
   * {@linkcode MetadataStore.writePartition}). The controller's elections after a broker failure
   * and a leader's ISR changes after a follower's return would otherwise be one etcd round trip
   * per partition. At most {@linkcode MAX_TXN_OPS} - 1 writes, fewer with fences (etcd's
   * `--max-txn-ops` counts compares).
   *
   * @example
   * ```ts ignore
   * const r = await store.writePartitions(
   *   [{ topic: "t", partition: 0, expectedModRevision: 7, state }],
   *   { controllerEpoch: 12 },
   * );
   * if (!r.ok && !r.fenced) console.log("one changed meanwhile: write them one by one");
   * ```
   *
   * @param writes The partitions, each with the mod revision its state was read at (> 0).
   * @param fence What must still hold.
   * @returns `ok` with the revision, or not (`fenced`: the writer's epoch is not current;
   *   otherwise a partition, or a registration of {@linkcode WriteFence.eligible}, changed since
   *   it was read).
   * @throws {RangeError} If there are too many writes for one transaction.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async writePartitions(
    writes: readonly {
      topic: string;
      partition: number;
      expectedModRevision: number;
      state: PartitionState;
    }[],
    fence: WriteFence,
  ): Promise<{ ok: true; revision: number } | { ok: false; fenced: boolean }> {
    const compare: Compare[] = [];
    const failure: TxnOp[] = [];
    if (fence.controllerEpoch !== undefined) {
      compare.push({ key: this.controllerKey, target: "create", value: fence.controllerEpoch });
      failure.push({ range: { key: this.controllerKey } });
    }
    if (fence.broker !== undefined) {
      const brokerKey = this.brokerKey(fence.broker.id);
      compare.push({ key: brokerKey, target: "create", value: fence.broker.epoch });
      failure.push({ range: { key: brokerKey } });
    }
    for (const e of fence.eligible ?? []) {
      const brokerKey = this.brokerKey(e.id);
      compare.push({ key: brokerKey, target: "create", value: e.createRevision });
      compare.push({ key: brokerKey, target: "mod", value: e.modRevision });
    }
    if (compare.length + writes.length > MAX_TXN_OPS) {
      throw new RangeError(
        `write partitions: ${writes.length} writes and ${compare.length} fences, at most ` +
          `${MAX_TXN_OPS} compares per transaction`,
      );
    }
    const success: TxnOp[] = [];
    for (const w of writes) {
      const key = this.partitionKey(w.topic, w.partition);
      compare.push({ key, target: "mod", value: w.expectedModRevision });
      success.push({ put: { key, value: JSON.stringify(w.state) } });
    }
    const r = await this.etcd.txn({ compare, success, failure });
    if (r.succeeded) return { ok: true, revision: r.revision };
    let fenced = false;
    let i = 0;
    if (fence.controllerEpoch !== undefined) {
      fenced ||= r.results[i++]?.kvs[0]?.createRevision !== fence.controllerEpoch;
    }
    if (fence.broker !== undefined) {
      fenced ||= r.results[i++]?.kvs[0]?.createRevision !== fence.broker.epoch;
    }
    return { ok: false, fenced };
  }

  /**
   * Change a partition's replicas and state together (a reassignment started, completed or
   * cancelled): the topic's record with partition `partition`'s new replicas and the
   * partition's new state, in one transaction that compares the topic's mod revision and the
   * partition's (compare-and-swap on both), fenced as {@linkcode MetadataStore.writePartition}.
   *
   * @param topic Topic name.
   * @param partition Partition index.
   * @param expectedTopic The topic as read.
   * @param expectedModRevision The partition key's mod revision as read.
   * @param replicas The partition's new replicas, preferred leader first.
   * @param state The partition's new state.
   * @param fence What must still hold.
   * @returns `ok`, or why not (`changed`: the topic or the partition changed, with the
   *   partition's current state; `fenced`).
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async writeReplicas(
    topic: string,
    partition: number,
    expectedTopic: Versioned<TopicRecord>,
    expectedModRevision: number,
    replicas: number[],
    state: PartitionState,
    fence: WriteFence,
  ): Promise<CasResult> {
    const key = this.partitionKey(topic, partition);
    const topicKey = this.topicKey(topic);
    const next: TopicRecord = {
      ...expectedTopic.value,
      replicas: expectedTopic.value.replicas.map((r, p) => p === partition ? [...replicas] : r),
    };
    const compare: Compare[] = [
      { key, target: "mod", value: expectedModRevision },
      { key: topicKey, target: "mod", value: expectedTopic.modRevision },
    ];
    const failure: TxnOp[] = [{ range: { key } }];
    if (fence.controllerEpoch !== undefined) {
      compare.push({ key: this.controllerKey, target: "create", value: fence.controllerEpoch });
      failure.push({ range: { key: this.controllerKey } });
    }
    if (fence.broker !== undefined) {
      compare.push({
        key: this.brokerKey(fence.broker.id),
        target: "create",
        value: fence.broker.epoch,
      });
      failure.push({ range: { key: this.brokerKey(fence.broker.id) } });
    }
    const r = await this.etcd.txn({
      compare,
      success: [
        { put: { key: topicKey, value: JSON.stringify(next) } },
        { put: { key, value: JSON.stringify(state) } },
      ],
      failure,
    });
    if (r.succeeded) return { ok: true, revision: r.revision };
    const kv = r.results[0]?.kvs[0];
    const current = kv === undefined ? undefined : versionedOf(kv, parseJson<PartitionState>(kv));
    let fenced = false;
    let i = 1;
    if (fence.controllerEpoch !== undefined) {
      fenced ||= r.results[i++]?.kvs[0]?.createRevision !== fence.controllerEpoch;
    }
    if (fence.broker !== undefined) {
      fenced ||= r.results[i++]?.kvs[0]?.createRevision !== fence.broker.epoch;
    }
    return { ok: false, reason: fenced ? "fenced" : "changed", current };
  }

  /**
   * Reserve a block of producer ids for this broker (Kafka's controller hands out blocks the
   * same way, KIP-730): ids are unique across the cluster and never reused.
   *
   * @param size Ids in the block.
   * @returns The first id of the block.
   * @throws {EtcdError} If etcd cannot be reached.
   */
  async allocateProducerIds(size: number): Promise<number> {
    const key = this.producerIdBlockKey;
    for (;;) {
      const kv = await this.etcd.get(key);
      const next = kv === undefined ? 0 : parseJson<{ next: number }>(kv).next;
      const r = await this.etcd.txn({
        compare: [
          kv === undefined
            ? { key, target: "create", value: 0 }
            : { key, target: "mod", value: kv.modRevision },
        ],
        success: [{ put: { key, value: JSON.stringify({ next: next + size }) } }],
      });
      if (r.succeeded) return next;
    }
  }
}

function versionedOf<T>(kv: KeyValue, value: T): Versioned<T> {
  return { value, createRevision: kv.createRevision, modRevision: kv.modRevision };
}

function parseJson<T>(kv: KeyValue): T {
  try {
    return JSON.parse(kv.value) as T;
  } catch {
    throw new Error(`Cannot read etcd key ${kv.key}: "${kv.value.slice(0, 100)}" is not JSON`);
  }
}
