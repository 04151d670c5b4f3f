/**
 * The cluster view shared by producers, consumers and admin clients: bootstrap servers,
 * connections per broker, a metadata cache with leader lookup, and retries on stale metadata.
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { MetadataRequest, MetadataResponse } from "../protocol/messages/metadata.ts";
import { type Api, Connection, type SendOptions } from "./connection.ts";
import type { SaslOptions } from "./sasl.ts";

/** Errors of SASL authentication: fatal, never retried on another broker. */
const AUTHENTICATION_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.SASL_AUTHENTICATION_FAILED,
  ErrorCode.UNSUPPORTED_SASL_MECHANISM,
  ErrorCode.ILLEGAL_SASL_STATE,
]);
import type { ClientTlsOptions } from "./tls.ts";

/** Options for {@linkcode Client}. */
export interface ClientOptions {
  /** Bootstrap servers: `"host:port,host:port"` or a list. */
  bootstrapServers: string | string[];
  /** `client.id` sent to brokers. Default `sluice`. */
  clientId?: string;
  /** Request timeout in milliseconds. Default 30000. */
  requestTimeoutMs?: number;
  /** TCP connect timeout in milliseconds. Default 10000. */
  connectTimeoutMs?: number;
  /**
   * Connect with TLS (`security.protocol=SSL`; {@linkcode clientTlsFromProperties} builds it
   * from Kafka client properties). Absent: plaintext.
   */
  tls?: ClientTlsOptions;
  /** How many times to retry a retriable error. Default 5. */
  retries?: number;
  /** Pause between retries in milliseconds. Default 100. */
  retryBackoffMs?: number;
  /** SASL authentication of every connection (`SASL_PLAINTEXT`); default none. */
  sasl?: SaslOptions;
}

/** A broker in the cluster. */
export interface BrokerInfo {
  /** Node id. */
  nodeId: number;
  /** Host. */
  host: string;
  /** Port. */
  port: number;
  /** Rack, or `null`. */
  rack: string | null;
}

/** A partition in the metadata cache. */
export interface PartitionInfo {
  /** Partition index. */
  partition: number;
  /** Leader node id (-1 when none). */
  leader: number;
  /** Leader epoch (-1 when unknown). */
  leaderEpoch: number;
  /** Replica node ids. */
  replicas: number[];
  /** In-sync replica node ids. */
  isr: number[];
  /** Offline replica node ids. */
  offlineReplicas: number[];
  /** Partition-level error code from the last metadata response. */
  errorCode: number;
}

/** A topic in the metadata cache. */
export interface TopicInfo {
  /** Topic name. */
  name: string;
  /** Topic id (base64, 22 characters). */
  topicId: string;
  /** Whether internal (e.g. `__consumer_offsets`). */
  internal: boolean;
  /** Partitions, indexed by partition number. */
  partitions: PartitionInfo[];
}

/** A parsed `host:port`. */
export interface HostPort {
  /** Host name or address. */
  host: string;
  /** Port. */
  port: number;
}

/**
 * Parses a bootstrap server list.
 *
 * @example
 * ```ts
 * import { parseBootstrapServers } from "./client.ts";
 * parseBootstrapServers("a:9092, [::1]:9093");
 * // [{ host: "a", port: 9092 }, { host: "::1", port: 9093 }]
 * ```
 *
 * @param servers `"host:port,host:port"` or a list of `host:port`.
 * @returns The parsed addresses.
 * @throws {RangeError} If the list is empty or an entry is not `host:port`.
 */
export function parseBootstrapServers(servers: string | string[]): HostPort[] {
  const list = (Array.isArray(servers) ? servers : servers.split(","))
    .map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0) throw new RangeError("invalid bootstrap servers: the list is empty");
  return list.map((entry) => {
    const m = /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(entry.replace(/^[A-Z_]+:\/\//, ""));
    const port = m ? Number(m[3]) : NaN;
    if (!m || port < 1 || port > 65535) {
      throw new RangeError(`invalid bootstrap server "${entry}": expected host:port`);
    }
    return { host: m[1] ?? m[2], port };
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Error codes after which metadata is refreshed and the request retried. */
const STALE_METADATA = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_CONTROLLER,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.UNKNOWN_TOPIC_ID,
]);

/**
 * Whether an error code means the client's metadata is stale (refresh, then retry).
 *
 * @param code A Kafka error code.
 * @returns `true` for `NOT_LEADER_OR_FOLLOWER`, `UNKNOWN_TOPIC_OR_PARTITION` and the like.
 */
export function isStaleMetadataError(code: number): boolean {
  return STALE_METADATA.has(code);
}

/**
 * A client of a Kafka-compatible cluster: keeps one connection per broker and a metadata cache.
 * Producers, consumers and the admin client are built on it.
 *
 * @example
 * ```ts ignore
 * import { Client } from "./client.ts";
 * const client = new Client({ bootstrapServers: "localhost:9092" });
 * const topic = await client.topic("teste");
 * console.log(topic.partitions.length);
 * await client.close();
 * ```
 */
export class Client {
  /** The options, with defaults applied. */
  readonly options: Readonly<
    Required<Omit<ClientOptions, "sasl" | "tls">> & Pick<ClientOptions, "sasl" | "tls">
  >;
  #bootstrap: HostPort[];
  #brokers = new Map<number, BrokerInfo>();
  #connections = new Map<string, Promise<Connection>>();
  #topics = new Map<string, TopicInfo>();
  #topicNames = new Map<string, string>();
  #clusterId: string | null = null;
  #controllerId = -1;
  #closed = false;

  /**
   * Creates a client; no connection is made until the first request.
   *
   * @param options Bootstrap servers, client id, timeouts, retries.
   * @throws {RangeError} If the bootstrap server list is invalid.
   */
  constructor(options: ClientOptions) {
    this.#bootstrap = parseBootstrapServers(options.bootstrapServers);
    this.options = {
      bootstrapServers: options.bootstrapServers,
      clientId: options.clientId ?? "sluice",
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      retries: options.retries ?? 5,
      retryBackoffMs: options.retryBackoffMs ?? 100,
      sasl: options.sasl,
      tls: options.tls,
    };
  }

  /** Cluster id from the last metadata response. */
  get clusterId(): string | null {
    return this.#clusterId;
  }

  /** Controller id from the last metadata response. */
  get controllerId(): number {
    return this.#controllerId;
  }

  /** Known brokers. */
  get brokers(): BrokerInfo[] {
    return [...this.#brokers.values()];
  }

  #connect(address: HostPort, pool = ""): Promise<Connection> {
    if (this.#closed) {
      return Promise.reject(
        new KafkaError(ErrorCode.NETWORK_EXCEPTION, "client: the client is closed"),
      );
    }
    const key = `${pool}/${address.host}:${address.port}`;
    const existing = this.#connections.get(key);
    if (existing) {
      return existing.then((c) => {
        if (!c.closed && c.sessionExpired && c.inFlight === 0) c.close();
        if (!c.closed) return c;
        if (this.#connections.get(key) === existing) this.#connections.delete(key);
        return this.#connect(address, pool);
      });
    }
    const created = Connection.connect({
      host: address.host,
      port: address.port,
      clientId: this.options.clientId,
      requestTimeoutMs: this.options.requestTimeoutMs,
      connectTimeoutMs: this.options.connectTimeoutMs,
      sasl: this.options.sasl,
      tls: this.options.tls,
    });
    this.#connections.set(key, created);
    created.catch(() => {
      if (this.#connections.get(key) === created) this.#connections.delete(key);
    });
    return created;
  }

  /**
   * A connection to any reachable broker (known brokers first, then bootstrap servers).
   *
   * @returns An open connection.
   * @throws {KafkaError} `NETWORK_EXCEPTION` if no broker can be reached.
   */
  async anyConnection(): Promise<Connection> {
    const candidates: HostPort[] = [...this.#brokers.values(), ...this.#bootstrap];
    let last: unknown;
    for (const c of candidates) {
      try {
        return await this.#connect(c);
      } catch (e) {
        // A refused authentication is an answer, not an unreachable broker (as Kafka clients).
        if (e instanceof KafkaError && AUTHENTICATION_ERRORS.has(e.code)) throw e;
        last = e;
      }
    }
    // the last failure's own words (a KafkaError's code is named once, by the error thrown here)
    const why = last instanceof KafkaError && last.reason !== ""
      ? last.reason
      : (last as Error)?.message ?? "no candidates";
    throw new KafkaError(
      ErrorCode.NETWORK_EXCEPTION,
      `client: cannot reach any broker of ${
        this.#bootstrap.map((b) => `${b.host}:${b.port}`).join(",")
      } (is a broker running there?): ${why}`,
    );
  }

  /**
   * A connection to broker `nodeId` (refreshing metadata if the broker is unknown).
   *
   * Connections are kept per `pool`: a consumer uses its own pool so that its Fetch long-polls
   * (answered in order on a connection) never hold up produce or admin requests.
   *
   * @param nodeId The broker id.
   * @param pool Connection pool name (default: the shared pool).
   * @returns An open connection.
   * @throws {KafkaError} `LEADER_NOT_AVAILABLE` if the broker is unknown, `NETWORK_EXCEPTION` if
   *   unreachable.
   */
  async connectionTo(nodeId: number, pool = ""): Promise<Connection> {
    let broker = this.#brokers.get(nodeId);
    if (!broker) {
      await this.refreshMetadata();
      broker = this.#brokers.get(nodeId);
    }
    if (!broker) {
      throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `client: broker ${nodeId} is unknown`);
    }
    try {
      return await this.#connect(broker, pool);
    } catch (e) {
      // A leader that cannot be reached (its process gone, a failover under way): the topics
      // it leads are looked up again at their next use, not sent to it from the cache forever.
      for (const [name, t] of this.#topics) {
        if (t.partitions.some((p) => p.leader === nodeId)) this.#topics.delete(name);
      }
      throw e;
    }
  }

  /**
   * Closes the connections of a pool (see {@linkcode Client.connectionTo}).
   *
   * @param pool The pool name.
   */
  async closePool(pool: string): Promise<void> {
    const closing: Promise<Connection>[] = [];
    for (const [key, conn] of this.#connections) {
      if (key.startsWith(`${pool}/`)) {
        this.#connections.delete(key);
        closing.push(conn);
      }
    }
    for (const p of closing) {
      try {
        const c = await p;
        c.close();
        await c.done;
      } catch { /* never connected */ }
    }
  }

  /**
   * Sends a request to a broker (`"any"` for any broker) and returns the response.
   *
   * @param target A node id or `"any"`.
   * @param api Request and response codecs.
   * @param body The request.
   * @param options Version, timeout.
   * @returns The response.
   * @throws {KafkaError} On connection loss or timeout.
   */
  async send<Req, Res>(
    target: number | "any",
    api: Api<Req, Res>,
    body: Req,
    options?: SendOptions,
  ): Promise<Res> {
    const conn = target === "any" ? await this.anyConnection() : await this.connectionTo(target);
    return await conn.send(api, body, options);
  }

  /**
   * Fetches metadata for `topics` (all topics when omitted) and updates the cache.
   *
   * @param topics Topic names, or undefined for every topic.
   * @param options `allowAutoTopicCreation`: let the broker create missing topics (default false).
   * @returns The topics in the response (including those with errors).
   * @throws {KafkaError} If no broker answers.
   */
  async refreshMetadata(
    topics?: string[],
    options: { allowAutoTopicCreation?: boolean } = {},
  ): Promise<TopicInfo[]> {
    const api = { request: MetadataRequest, response: MetadataResponse };
    const res = await this.send(
      "any",
      api,
      MetadataRequest.create({
        topics: topics === undefined
          ? null
          : topics.map((name) => ({ name, topicId: "AAAAAAAAAAAAAAAAAAAAAA" })),
        allowAutoTopicCreation: options.allowAutoTopicCreation ?? false,
      }),
    );
    if (res.brokers.length > 0) {
      this.#brokers.clear();
      for (const b of res.brokers) {
        this.#brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
      }
    }
    this.#clusterId = res.clusterId;
    this.#controllerId = res.controllerId;
    const out: TopicInfo[] = [];
    for (const t of res.topics) {
      const name = t.name ?? this.#topicNames.get(t.topicId) ?? "";
      const partitions: PartitionInfo[] = [];
      for (const p of t.partitions) {
        partitions[p.partitionIndex] = {
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicaNodes,
          isr: p.isrNodes,
          offlineReplicas: p.offlineReplicas,
          errorCode: p.errorCode,
        };
      }
      const info: TopicInfo = {
        name,
        topicId: t.topicId,
        internal: t.isInternal,
        partitions: partitions.filter((p) => p !== undefined),
      };
      (info as TopicInfo & { errorCode: number }).errorCode = t.errorCode;
      if (t.errorCode === 0) {
        this.#topics.set(name, info);
        this.#topicNames.set(t.topicId, name);
      } else {
        this.#topics.delete(name);
      }
      out.push(info);
    }
    return out;
  }

  /**
   * Metadata of one topic, from the cache or fetched.
   *
   * @param name Topic name.
   * @param options `refresh: true` to bypass the cache; `allowAutoTopicCreation: true` to let a
   *   broker with `auto.create.topics.enable` create a missing topic (as the Java producer does).
   * @returns The topic.
   * @throws {KafkaError} `UNKNOWN_TOPIC_OR_PARTITION` if it does not exist (after retries while
   *   leaders are being elected).
   */
  async topic(
    name: string,
    options: { refresh?: boolean; allowAutoTopicCreation?: boolean } = {},
  ): Promise<TopicInfo> {
    const cached = this.#topics.get(name);
    if (cached && !options.refresh) return cached;
    for (let attempt = 0;; attempt++) {
      const [t] = await this.refreshMetadata([name], options);
      const code = (t as TopicInfo & { errorCode?: number } | undefined)?.errorCode ??
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      // A partition without a leader (offline, or an election in a cluster) does not hold up
      // the others: `leaderFor` looks it up again.
      if (code === 0) return t;
      if (
        attempt >= this.options.retries ||
        (code !== ErrorCode.LEADER_NOT_AVAILABLE && code !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
      ) {
        throw new KafkaError(code, `metadata for topic ${name}`);
      }
      // A just-created topic may take a moment to appear; do not wait long for a missing one.
      if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && attempt >= 1) {
        throw new KafkaError(code, `metadata for topic ${name}`);
      }
      await delay(this.options.retryBackoffMs);
    }
  }

  /**
   * Topic name for a topic id seen in metadata.
   *
   * @param topicId The id.
   * @returns The name, or `undefined`.
   */
  topicName(topicId: string): string | undefined {
    return this.#topicNames.get(topicId);
  }

  /**
   * Forgets cached metadata of `topic` (or of every topic), so the next lookup refreshes it.
   *
   * @param topic Topic name; all topics when omitted.
   */
  invalidate(topic?: string): void {
    if (topic === undefined) this.#topics.clear();
    else this.#topics.delete(topic);
  }

  /**
   * The leader of a partition.
   *
   * @param topic Topic name.
   * @param partition Partition index.
   * @returns The leader's node id.
   * @throws {KafkaError} `UNKNOWN_TOPIC_OR_PARTITION` if the partition does not exist;
   *   `LEADER_NOT_AVAILABLE` (retriable) if it has no leader, even after a metadata refresh.
   */
  async leaderFor(topic: string, partition: number): Promise<number> {
    return (await this.leaderAndEpoch(topic, partition)).leader;
  }

  /**
   * The leader of a partition and its leader epoch (Metadata v7+; -1 when the broker does not
   * say), from the cache or fetched: what a consumer sends as `current_leader_epoch` (KIP-320).
   *
   * @param topic Topic name.
   * @param partition Partition index.
   * @returns The leader's node id and the leader epoch.
   * @throws {KafkaError} `UNKNOWN_TOPIC_OR_PARTITION` if the partition does not exist;
   *   `LEADER_NOT_AVAILABLE` (retriable) if it has no leader, even after a metadata refresh.
   */
  async leaderAndEpoch(
    topic: string,
    partition: number,
  ): Promise<{ leader: number; leaderEpoch: number }> {
    let info = await this.topic(topic);
    if (partition >= info.partitions.length || (info.partitions[partition]?.leader ?? 0) < 0) {
      info = await this.topic(topic, { refresh: true });
    }
    const p = info.partitions[partition];
    if (!p || partition < 0) {
      throw new KafkaError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `leader of ${topic}-${partition}: the topic has ${info.partitions.length} partitions`,
      );
    }
    if (p.leader < 0) {
      throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `leader of ${topic}-${partition}`);
    }
    return { leader: p.leader, leaderEpoch: p.leaderEpoch };
  }

  /**
   * Waits before a retry, honouring `retryBackoffMs`.
   *
   * @param attempt The attempt that failed (0-based).
   * @returns After the backoff.
   */
  backoff(attempt: number): Promise<void> {
    return delay(this.backoffMs(attempt));
  }

  /**
   * How long {@linkcode Client.backoff} waits after a failed attempt: `retryBackoffMs` doubled
   * per attempt, at most ten times `retryBackoffMs`.
   *
   * @param attempt The attempt that failed (0-based).
   * @returns Milliseconds.
   */
  backoffMs(attempt: number): number {
    return this.options.retryBackoffMs * Math.min(2 ** attempt, 10);
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    const conns = [...this.#connections.values()];
    this.#connections.clear();
    for (const p of conns) {
      try {
        const c = await p;
        c.close();
        await c.done;
      } catch { /* never connected */ }
    }
  }
}
