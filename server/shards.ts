// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Shards (`sluice.workers` > 1, ARCHITECTURE.md "Shards"): one broker over several threads. Each
 * shard is a whole {@linkcode Broker} in its own thread (shard 0 in the main one, the others in
 * Deno workers) with its own storage engine under `<log dir>/shard-<i>`, listening on the same
 * ports (`reusePort`: the kernel spreads the connections). A partition belongs to one shard
 * ({@linkcode shardOf}); the shard a connection landed on forwards what is not its own:
 *
 * - Produce, Fetch, ListOffsets, OffsetForLeaderEpoch and DeleteRecords go to the shards owning
 *   their partitions: whole (the raw frame) when one shard owns them all, else split into one
 *   request per shard and the answers merged in the request's order.
 * - Transactions: the coordinator (shard 0) sends each transaction's markers to the shards
 *   owning its partitions ({@linkcode ShardRouter.sendMarkers}), which write them as
 *   WriteTxnMarkers does; a shard other than 0 verifies a transaction's first batch on one of its
 *   partitions with shard 0's coordinator ({@linkcode ShardRouter.verifyTxn}) before appending
 *   it, as a partition leader does in cluster mode (KIP-890).
 * - ApiVersions and the SASL exchange stay on the connection's shard; every other request goes
 *   whole to shard 0, which holds the topic table, the group and transaction coordinators and
 *   the internal topics. After a request that may change topics, shard 0 sends its topic table
 *   to every shard, which makes, grows or deletes its own partitions to match, before the
 *   request is answered.
 *
 * Shards talk over `MessagePort`s, the request bytes copied once into a transferred buffer.
 *
 * The ACLs and SCRAM credentials are shard 0's too: each change reaches every shard before it is
 * answered (`shard_documents.ts`). A forwarded request carries its connection's principal and is
 * authorized where it is served; the SASL gate is its connection's shard's.
 *
 * Client quotas are per broker: shard 0 keeps them and hands them to every shard (at start and
 * after AlterClientQuotas, before it is answered); the rates are shared memory
 * (`shared_rates.ts`), counted on the shard that serves a request, and a throttle goes back with
 * the response to the shard holding the connection, which mutes it.
 *
 * @module
 */

import {
  concat,
  decodeBody,
  decodeResponseHeader,
  encodeRequestFrame,
  encodeResponseFrame,
} from "../protocol/framing.ts";
import type { MessageCodec } from "../protocol/primitives.ts";
import { ProduceRequest } from "../protocol/messages/produce.ts";
import { FetchRequest } from "../protocol/messages/fetch.ts";
import { ListOffsetsRequest } from "../protocol/messages/list_offsets.ts";
import { OffsetForLeaderEpochRequest } from "../protocol/messages/offset_for_leader_epoch.ts";
import { DeleteRecordsRequest } from "../protocol/messages/delete_records.ts";
import { ApiVersionsRequest } from "../protocol/messages/api_versions.ts";
import { SaslHandshakeRequest } from "../protocol/messages/sasl_handshake.ts";
import { SaslAuthenticateRequest } from "../protocol/messages/sasl_authenticate.ts";
import { CreateTopicsRequest } from "../protocol/messages/create_topics.ts";
import { DeleteTopicsRequest } from "../protocol/messages/delete_topics.ts";
import { CreatePartitionsRequest } from "../protocol/messages/create_partitions.ts";
import { AlterConfigsRequest } from "../protocol/messages/alter_configs.ts";
import { IncrementalAlterConfigsRequest } from "../protocol/messages/incremental_alter_configs.ts";
import { MetadataRequest } from "../protocol/messages/metadata.ts";
import { AlterClientQuotasRequest } from "../protocol/messages/alter_client_quotas.ts";
import type { LogManager } from "../engine/mod.ts";
import type { ApiHandler } from "./api.ts";
import { CloseConnection, type ConnectionInfo } from "./connection.ts";
import { CONSUMER_OFFSETS_TOPIC, TRANSACTION_STATE_TOPIC } from "./internal_topic.ts";
import type { Logger } from "./logger.ts";
import type { ClientQuotaStore, QuotaEntries } from "./quotas.ts";
import type { MarkerRequest, MarkerTopicResult } from "./txn/marker_request.ts";
import type { ShardDocumentName, ShardDocuments } from "./shard_documents.ts";

/** The shard-to-shard side of transactions (`txn/`): markers and verifications. */
export interface ShardTxnParts {
  /** Owner shard: write a transaction's markers to its partitions (`writeLocalMarkers`). */
  markers(req: MarkerRequest): Promise<MarkerTopicResult[]>;
  /** Shard 0: whether partitions are in a producer's transaction in progress (its coordinator). */
  verify(p: TxnVerifyProducer, topics: TxnPartitions): Promise<MarkerTopicResult[]>;
}

/** The producer of a verification (`TxnProducer`). */
export interface TxnVerifyProducer {
  /** Transactional id. */
  transactionalId: string;
  /** Producer id. */
  producerId: number;
  /** Producer epoch. */
  producerEpoch: number;
}

/** Partitions by topic. */
export type TxnPartitions = { topic: string; partitions: number[] }[];

/** Topics shard 0 holds whole: the coordinators' logs. */
const SHARD0_TOPICS: ReadonlySet<string> = new Set([
  CONSUMER_OFFSETS_TOPIC,
  TRANSACTION_STATE_TOPIC,
]);

/**
 * The shard owning a partition: FNV-1a of the topic name plus the partition, modulo the shard
 * count, so a topic's partitions go round the shards from a topic-dependent start. The internal
 * topics are shard 0's.
 *
 * @param topic Topic name.
 * @param partition Partition index.
 * @param shards Shard count.
 * @returns The shard index, `0 <= i < shards`.
 */
export function shardOf(topic: string, partition: number, shards: number): number {
  if (shards <= 1 || SHARD0_TOPICS.has(topic)) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) {
    h ^= topic.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return ((h >>> 0) + partition) % shards;
}

/** A topic as shard 0 hands it to the others. */
export interface ShardTopic {
  /** Topic name. */
  name: string;
  /** Topic id. */
  id: string;
  /** Partition count (every shard's together). */
  partitions: number;
  /** Config overrides. */
  configs: Record<string, string>;
}

/** A connection as a forwarded request carries it (what handlers and ACLs read). */
interface ForwardedConnection {
  id: number;
  remote: string;
  principal?: ConnectionInfo["principal"];
  listenerName?: string;
  securityProtocol?: ConnectionInfo["securityProtocol"];
  /** ApiVersions' client software (KIP-714 `match`), set on the connection's own shard. */
  clientSoftware?: ConnectionInfo["clientSoftware"];
}

type ShardMessage =
  | { t: "req"; id: number; frame: Uint8Array; conn: ForwardedConnection }
  | {
    t: "res";
    id: number;
    response: Uint8Array | null;
    error?: string;
    close?: boolean;
    /** A client quota broken by the request: the connection's shard mutes it (KIP-219). */
    throttleMs?: number;
    throttleDelay?: boolean;
    /** The answer of a `markers` or `verify` message. */
    results?: MarkerTopicResult[];
  }
  | { t: "cancel"; id: number }
  | { t: "markers"; id: number; req: MarkerRequest }
  | { t: "verify"; id: number; p: TxnVerifyProducer; topics: TxnPartitions }
  | { t: "doc"; id: number; name: ShardDocumentName; doc: unknown }
  | { t: "topics"; id: number; topics: ShardTopic[] }
  | { t: "quotas"; id: number; entries: QuotaEntries };

/**
 * Answers a message from another shard once `work` settles: with its results (a `markers` or
 * `verify` answer) or nothing, or with the error's message.
 */
function answerWhenDone(
  port: MessagePort,
  id: number,
  work: Promise<MarkerTopicResult[] | void>,
): void {
  work.then(
    (results) =>
      port.postMessage(
        {
          t: "res",
          id,
          response: null,
          ...(results === undefined ? {} : { results }),
        } satisfies ShardMessage,
      ),
    (e) =>
      port.postMessage(
        {
          t: "res",
          id,
          response: null,
          error: e instanceof Error ? e.message : String(e),
        } satisfies ShardMessage,
      ),
  );
}

/** Connections of forwarded requests and of a split request's parts: served where they are. */
const HERE = new WeakSet<ConnectionInfo>();

/** A per-partition API: where its request and response keep topics and partitions. */
interface Partitioned {
  topics: string;
  name: string;
  partitions: string;
  index: string;
  resTopics: string;
  resName: string;
  resPartitions: string;
  resIndex: string;
  /** Fetch v13+: topics by id. */
  byId?: boolean;
}

const PARTITIONED = new Map<number, Partitioned>([
  [ProduceRequest.apiKey, {
    topics: "topicData",
    name: "name",
    partitions: "partitionData",
    index: "index",
    resTopics: "responses",
    resName: "name",
    resPartitions: "partitionResponses",
    resIndex: "index",
  }],
  [FetchRequest.apiKey, {
    topics: "topics",
    name: "topic",
    partitions: "partitions",
    index: "partition",
    resTopics: "responses",
    resName: "topic",
    resPartitions: "partitions",
    resIndex: "partitionIndex",
    byId: true,
  }],
  [ListOffsetsRequest.apiKey, {
    topics: "topics",
    name: "name",
    partitions: "partitions",
    index: "partitionIndex",
    resTopics: "topics",
    resName: "name",
    resPartitions: "partitions",
    resIndex: "partitionIndex",
  }],
  [OffsetForLeaderEpochRequest.apiKey, {
    topics: "topics",
    name: "topic",
    partitions: "partitions",
    index: "partition",
    resTopics: "topics",
    resName: "topic",
    resPartitions: "partitions",
    resIndex: "partition",
  }],
  [DeleteRecordsRequest.apiKey, {
    topics: "topics",
    name: "name",
    partitions: "partitions",
    index: "partitionIndex",
    resTopics: "topics",
    resName: "name",
    resPartitions: "partitions",
    resIndex: "partitionIndex",
  }],
]);

/** Served on the connection's own shard: per-connection state. */
const CONNECTION_LOCAL: ReadonlySet<number> = new Set([
  ApiVersionsRequest.apiKey,
  SaslHandshakeRequest.apiKey,
  SaslAuthenticateRequest.apiKey,
]);

/** Requests after which shard 0 sends its topic table to the other shards. */
const TOPIC_CHANGES: ReadonlySet<number> = new Set([
  CreateTopicsRequest.apiKey,
  DeleteTopicsRequest.apiKey,
  CreatePartitionsRequest.apiKey,
  AlterConfigsRequest.apiKey,
  IncrementalAlterConfigsRequest.apiKey,
]);

type Obj = Record<string, unknown>;
type Serve = (frame: Uint8Array, info: ConnectionInfo) => Promise<Uint8Array[] | null>;

/**
 * One `MessageChannel` between every two of `n` shards: `ports[i][j]` is shard i's end of its
 * channel to shard j (`null` where i = j).
 *
 * @param n The number of shards.
 * @returns The ports, by shard and peer.
 */
export function shardPorts(n: number): (MessagePort | null)[][] {
  const ports: (MessagePort | null)[][] = Array.from(
    { length: n },
    () => Array.from({ length: n }, () => null),
  );
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const c = new MessageChannel();
      ports[i][j] = c.port1;
      ports[j][i] = c.port2;
    }
  }
  return ports;
}

/** What a shard needs of its broker. */
export interface ShardRouterOptions {
  /** This shard's index. */
  index: number;
  /** Shard count. */
  count: number;
  /** A port to every other shard, by index (`null` at this shard's own). */
  ports: (MessagePort | null)[];
  /** Serve a request here, counted in the metrics (requests forwarded to this shard). */
  serve: Serve;
  /** This shard's storage engine. */
  logs: LogManager;
  /** The client quotas: shard 0's are handed to the others. */
  quotas?: ClientQuotaStore;
  /** Transactions: markers written here, verifications answered here (shard 0). */
  txn?: ShardTxnParts;
  /** The ACLs and SCRAM credentials: shard 0's sent to every shard after each change. */
  documents?: ShardDocuments;
  /** Log lines. */
  logger: Logger;
}

/**
 * One shard's side of the sharding: routes the requests of its connections, serves those other
 * shards forward to it, and keeps its partitions in step with shard 0's topic table.
 */
export class ShardRouter {
  readonly index: number;
  readonly count: number;
  readonly #ports: (MessagePort | null)[];
  readonly #serve: Serve;
  readonly #logs: LogManager;
  readonly #quotas: ClientQuotaStore | undefined;
  readonly #txn: ShardTxnParts | undefined;
  readonly #documents: ShardDocuments | undefined;
  readonly #log: Logger;
  /** Shard 0: resolved once every other shard runs (markers wait for it). */
  readonly #started: Promise<void>;
  #markStarted: () => void = () => {};
  #nextId = 1;
  readonly #pending = new Map<number, (m: ShardMessage & { t: "res" }) => void>();
  readonly #incoming = new Map<string, AbortController>();
  #syncing: Promise<void> = Promise.resolve();
  #closed = false;
  /** Partitions held here after the last sync: a Metadata request that created none skips it. */
  #synced = -1;

  /**
   * @param o The shard's index, ports and broker.
   */
  constructor(o: ShardRouterOptions) {
    this.index = o.index;
    this.count = o.count;
    this.#ports = o.ports;
    this.#serve = o.serve;
    this.#logs = o.logs;
    this.#quotas = o.quotas;
    this.#txn = o.txn;
    this.#documents = o.documents;
    this.#log = o.logger;
    if (o.index === 0) o.documents?.connect((name, doc) => this.#syncDocument(name, doc));
    this.#started = o.index === 0
      ? new Promise<void>((resolve) => this.#markStarted = resolve)
      : Promise.resolve();
    o.ports.forEach((port, from) => {
      if (port !== null) {
        port.onmessage = (e: MessageEvent<ShardMessage>) => this.#receive(from, port, e.data);
      }
    });
  }

  /**
   * Whether a request's connection is a forwarded one or a split request's part: its
   * connection's shard passed it through the SASL gate already.
   *
   * @param info The connection a request is served for.
   * @returns `true` for one of those.
   */
  gated(info: ConnectionInfo): boolean {
    return HERE.has(info);
  }

  /** Shard 0: every other shard runs (its worker started): markers may be sent. */
  started(): void {
    this.#markStarted();
  }

  /**
   * Shard 0's transaction coordinator: send a transaction's markers to another shard, which
   * writes them to its partitions (`writeLocalMarkers`: UNKNOWN_TOPIC_OR_PARTITION for one it
   * does not hold). Waits until every shard runs (a restart completes prepared transactions
   * before the other shards are up).
   *
   * @param shard The owner shard.
   * @param req The markers.
   * @returns Per-partition error codes.
   * @throws {Error} If the shard is closed.
   */
  async sendMarkers(shard: number, req: MarkerRequest): Promise<MarkerTopicResult[]> {
    await this.#started;
    return await this.#ask(shard, (id) => ({ t: "markers", id, req }));
  }

  /**
   * A shard other than 0: ask shard 0's transaction coordinator whether partitions are in a
   * producer's transaction in progress (AddPartitionsToTxn `verify_only`'s question).
   *
   * @param p The producer.
   * @param topics The partitions.
   * @returns Per-partition error codes (NONE: in the transaction).
   * @throws {Error} If shard 0 is closed.
   */
  verifyTxn(p: TxnVerifyProducer, topics: TxnPartitions): Promise<MarkerTopicResult[]> {
    return this.#ask(0, (id) => ({ t: "verify", id, p, topics }));
  }

  #ask(shard: number, message: (id: number) => ShardMessage): Promise<MarkerTopicResult[]> {
    const port = this.#ports[shard];
    // closed: nothing would answer (the coordinator tries its markers again, or stops)
    if (this.#closed) return Promise.reject(new Error(`shard ${this.index} is closed`));
    if (port === null || port === undefined) {
      return Promise.reject(new Error(`shard ${this.index}: no port to shard ${shard}`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (m) => {
        if (m.error !== undefined) reject(new Error(`shard ${shard}: ${m.error}`));
        else resolve(m.results ?? []);
      });
      port.postMessage(message(id));
    });
  }

  /** Stop answering other shards. */
  close(): void {
    this.#closed = true;
    for (const p of this.#ports) p?.close();
    for (const c of this.#incoming.values()) c.abort();
    for (const resolve of this.#pending.values()) {
      resolve({ t: "res", id: 0, response: null, error: "shard closed", close: true });
    }
    this.#pending.clear();
  }

  /**
   * Route a decoded request: `undefined` when this shard serves it as usual, else its response
   * (forwarded, split, or served here with work after it).
   */
  route(
    api: ApiHandler,
    version: number,
    clientId: string | null,
    correlationId: number,
    request: unknown,
    frame: Uint8Array,
    info: ConnectionInfo,
    local: Serve,
  ): Promise<Uint8Array[] | null> | undefined {
    if (HERE.has(info)) return undefined;
    const parts = PARTITIONED.get(api.key);
    if (parts !== undefined) {
      return this.#routePartitioned(
        api,
        parts,
        version,
        clientId,
        correlationId,
        request,
        frame,
        info,
        local,
      );
    }
    if (CONNECTION_LOCAL.has(api.key)) return undefined;
    if (this.index !== 0) return this.forward(0, frame, info);
    if (!this.#changes(api.key)) return undefined;
    const here = { ...info };
    HERE.add(here);
    return local(frame, here).then(async (out) => {
      throttled(info, here.throttleMs, here.throttleDelay);
      await this.#afterChange(api.key);
      return out;
    });
  }

  /** Shard 0: whether a request may change what every shard holds a copy of. */
  #changes(key: number): boolean {
    // Metadata may create topics (auto.create.topics.enable)
    return TOPIC_CHANGES.has(key) || key === MetadataRequest.apiKey ||
      key === AlterClientQuotasRequest.apiKey;
  }

  /** Shard 0, after such a request: the other shards in step before it is answered. */
  #afterChange(key: number): Promise<void> {
    return key === AlterClientQuotasRequest.apiKey
      ? this.syncQuotas()
      : this.#afterTopicChange(key);
  }

  /** Shard 0, after a request that may have changed topics: sync if it did (or may have). */
  #afterTopicChange(key: number): Promise<void> {
    // an auto-created topic adds partitions here first (those of other shards until the sync)
    if (key === MetadataRequest.apiKey && this.#logs.partitionCount === this.#synced) {
      return Promise.resolve();
    }
    return this.syncTopics();
  }

  #routePartitioned(
    api: ApiHandler,
    parts: Partitioned,
    version: number,
    clientId: string | null,
    correlationId: number,
    request: unknown,
    frame: Uint8Array,
    info: ConnectionInfo,
    local: Serve,
  ): Promise<Uint8Array[] | null> | undefined {
    const req = request as Obj;
    const topics = (req[parts.topics] as Obj[] | undefined) ?? [];
    // which shard each partition of each topic goes to
    const byShard = new Map<number, Obj[]>();
    for (const t of topics) {
      let name = t[parts.name] as string;
      if (parts.byId && (name === "" || name === undefined)) {
        name = this.#logs.topicById(t.topicId as string)?.name ?? "";
      }
      const perShard = new Map<number, Obj[]>();
      for (const p of (t[parts.partitions] as Obj[])) {
        const s = name === "" ? 0 : shardOf(name, p[parts.index] as number, this.count);
        let list = perShard.get(s);
        if (list === undefined) perShard.set(s, list = []);
        list.push(p);
      }
      for (const [s, ps] of perShard) {
        let list = byShard.get(s);
        if (list === undefined) byShard.set(s, list = []);
        list.push({ ...t, [parts.partitions]: ps });
      }
    }
    if (byShard.size === 0 || (byShard.size === 1 && byShard.has(this.index))) return undefined;
    if (byShard.size === 1) return this.forward([...byShard.keys()][0], frame, info);
    return this.#split(api, parts, version, clientId, correlationId, req, byShard, info, local);
  }

  async #split(
    api: ApiHandler,
    parts: Partitioned,
    version: number,
    clientId: string | null,
    correlationId: number,
    req: Obj,
    byShard: Map<number, Obj[]>,
    info: ConnectionInfo,
    local: Serve,
  ): Promise<Uint8Array[] | null> {
    const isFetch = api.key === FetchRequest.apiKey;
    // a long-polling Fetch ends as soon as one part has records: the others are cancelled
    const cancel = new AbortController();
    const signal = info.closed === undefined
      ? cancel.signal
      : AbortSignal.any([info.closed, cancel.signal]);
    const answers = await Promise.all([...byShard].map(async ([shard, topics]) => {
      const sub: Obj = { ...req, [parts.topics]: topics };
      if (isFetch) {
        sub.forgottenTopicsData = [];
        // the response's bound (fetch.max.bytes) is shared: each part gets its share, so the
        // merged response stays within what the client accepts (receive.message.max.bytes)
        sub.maxBytes = Math.max(1, Math.floor((req.maxBytes as number) / byShard.size));
      }
      const sized = encodeRequestFrame(
        api.request as MessageCodec<Obj>,
        version,
        correlationId,
        clientId,
        sub,
      );
      let out: Uint8Array | null;
      if (shard === this.index) {
        const here: ConnectionInfo = { ...info, closed: signal };
        HERE.add(here);
        const chunks = await local(sized.subarray(4), here);
        throttled(info, here.throttleMs, here.throttleDelay);
        out = chunks === null ? null : concat(chunks);
      } else {out = await this.forward(shard, sized.subarray(4), info, signal).then((c) =>
          c && c[0]
        );}
      if (out === null) return null;
      const body = out.subarray(4);
      const { bodyOffset } = decodeResponseHeader(body, api.key, version);
      const res = decodeBody(api.response as MessageCodec<Obj>, body, bodyOffset, version);
      if (isFetch && hasRecords(res, parts)) cancel.abort();
      return res;
    }));
    if (answers.some((a) => a === null)) return null; // acks=0
    const merged = merge(parts, req, answers as Obj[], isFetch);
    return encodeResponseFrame(
      api.response as MessageCodec<Obj>,
      version,
      correlationId,
      merged,
    );
  }

  /**
   * Send a request frame to another shard and wait for its response frame.
   *
   * @param shard The shard.
   * @param frame The request without its size prefix (copied).
   * @param info The connection it came on.
   * @param signal Aborting it ends the request's wait on that shard (a long-polling Fetch).
   * @returns The response chunks, or `null` for none.
   */
  forward(
    shard: number,
    frame: Uint8Array,
    info: ConnectionInfo,
    signal?: AbortSignal,
  ): Promise<Uint8Array[] | null> {
    const port = this.#ports[shard];
    if (port === null || port === undefined) {
      return Promise.reject(new Error(`shard ${this.index}: no port to shard ${shard}`));
    }
    const id = this.#nextId++;
    const copy = frame.slice();
    const conn: ForwardedConnection = {
      id: info.id,
      remote: info.remote,
      principal: info.principal,
      listenerName: info.listenerName,
      securityProtocol: info.securityProtocol,
      clientSoftware: info.clientSoftware,
    };
    return new Promise((resolve, reject) => {
      const onAbort = () => port.postMessage({ t: "cancel", id } satisfies ShardMessage);
      const closed = info.closed;
      closed?.addEventListener("abort", onAbort, { once: true });
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.set(id, (m) => {
        closed?.removeEventListener("abort", onAbort);
        signal?.removeEventListener("abort", onAbort);
        throttled(info, m.throttleMs, m.throttleDelay);
        if (m.close) reject(new CloseConnection(m.error ?? `shard ${shard} closed it`));
        else if (m.error !== undefined) reject(new Error(`shard ${shard}: ${m.error}`));
        else resolve(m.response === null ? null : [m.response]);
      });
      port.postMessage({ t: "req", id, frame: copy, conn } satisfies ShardMessage, [copy.buffer]);
    });
  }

  #receive(from: number, port: MessagePort, m: ShardMessage): void {
    if (m.t === "res") {
      const resolve = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      resolve?.(m);
    } else if (m.t === "cancel") {
      this.#incoming.get(`${from}:${m.id}`)?.abort();
    } else if (m.t === "markers" || m.t === "verify") {
      const txn = this.#txn;
      const answer = txn === undefined
        ? Promise.reject(new Error(`shard ${this.index} serves no transactions`))
        : m.t === "markers"
        ? txn.markers(m.req)
        : txn.verify(m.p, m.topics);
      answerWhenDone(port, m.id, answer);
    } else if (m.t === "doc") {
      this.#documents?.apply(m.name, m.doc);
      port.postMessage({ t: "res", id: m.id, response: null } satisfies ShardMessage);
    } else if (m.t === "quotas") {
      this.#quotas?.replace(m.entries);
      port.postMessage({ t: "res", id: m.id, response: null } satisfies ShardMessage);
    } else if (m.t === "topics") {
      answerWhenDone(port, m.id, this.reconcile(m.topics));
    } else this.#serveForwarded(from, port, m);
  }

  async #serveForwarded(
    from: number,
    port: MessagePort,
    m: ShardMessage & { t: "req" },
  ): Promise<void> {
    const key = `${from}:${m.id}`;
    const abort = new AbortController();
    this.#incoming.set(key, abort);
    const info: ConnectionInfo = { ...m.conn, closed: abort.signal };
    HERE.add(info);
    let reply: ShardMessage;
    try {
      const chunks = await this.#serve(m.frame, info);
      const apiKey = m.frame.length >= 2 ? (m.frame[0] << 8) | m.frame[1] : -1;
      if (this.index === 0 && this.#changes(apiKey)) await this.#afterChange(apiKey);
      const response = chunks === null ? null : concat(chunks);
      reply = { t: "res", id: m.id, response };
      if (info.throttleMs !== undefined) {
        reply.throttleMs = info.throttleMs;
        reply.throttleDelay = info.throttleDelay;
      }
    } catch (e) {
      reply = {
        t: "res",
        id: m.id,
        response: null,
        error: e instanceof Error ? e.message : String(e),
        close: e instanceof CloseConnection,
      };
    } finally {
      this.#incoming.delete(key);
    }
    const transfer = reply.response !== null && reply.response.byteOffset === 0 &&
        reply.response.byteLength === reply.response.buffer.byteLength
      ? [reply.response.buffer as ArrayBuffer]
      : [];
    port.postMessage(reply, transfer);
  }

  /**
   * Shard 0: send the topic table to every shard (itself included) and wait until each holds
   * exactly its partitions of it. Serialized; a Metadata request that changed nothing costs a
   * count of the topics.
   *
   * @returns Resolves when every shard is in step.
   */
  syncTopics(): Promise<void> {
    const run = this.#syncing.then(async () => {
      const topics: ShardTopic[] = this.#logs.listTopics()
        .filter((t) => !SHARD0_TOPICS.has(t.name))
        .map((t) => ({ name: t.name, id: t.id, partitions: t.partitions, configs: t.configs }));
      await this.reconcile(topics);
      this.#synced = this.#logs.partitionCount;
      await this.#toOtherShards((id) => ({ t: "topics", id, topics }));
    });
    this.#syncing = run.catch((e) =>
      this.#log.error(`Topic table not sent to every shard: ${e instanceof Error ? e.message : e}`)
    );
    return run;
  }

  /**
   * Shard 0: hand its client quotas to every other shard and wait until each has them.
   *
   * @returns Resolves when every shard applies the same quotas.
   */
  syncQuotas(): Promise<void> {
    const store = this.#quotas;
    if (store === undefined || this.index !== 0) return Promise.resolve();
    const entries = store.snapshot();
    return this.#toOtherShards((id) => ({ t: "quotas", id, entries }));
  }

  /** Shard 0: a changed ACL or credential document to every other shard, applied by each. */
  #syncDocument(name: ShardDocumentName, doc: unknown): Promise<void> {
    // closed: the other shards are gone, and start from shard 0's files next time
    if (this.#closed) return Promise.resolve();
    return this.#toOtherShards((id) => ({ t: "doc", id, name, doc }));
  }

  /**
   * Shard 0: one message to every other shard; resolves when each has answered, rejects with the
   * first shard's error.
   */
  #toOtherShards(message: (id: number) => ShardMessage): Promise<void> {
    return Promise.all(this.#ports.map((port) => {
      if (port === null) return;
      const id = this.#nextId++;
      return new Promise<void>((resolve, reject) => {
        this.#pending.set(
          id,
          (m) => m.error === undefined ? resolve() : reject(new Error(m.error)),
        );
        port.postMessage(message(id));
      });
    })).then(() => {});
  }

  /**
   * Make this shard's partitions match shard 0's table: topics made (with the same ids) or
   * deleted, partitions added, the partitions of other shards dropped, configs replaced.
   *
   * @param topics Shard 0's topic table (internal topics excluded).
   * @returns Resolves when done.
   */
  async reconcile(topics: ShardTopic[]): Promise<void> {
    const logs = this.#logs;
    const want = new Map(topics.map((t) => [t.name, t]));
    for (const t of logs.listTopics()) {
      if (SHARD0_TOPICS.has(t.name)) continue;
      const w = want.get(t.name);
      if (w === undefined || w.id !== t.id) await logs.deleteTopic(t.name);
    }
    for (const w of topics) {
      const mine = (from: number) =>
        Array.from({ length: w.partitions - from }, (_, i) => from + i)
          .filter((p) => shardOf(w.name, p, this.count) === this.index);
      let t = logs.topic(w.name);
      if (t === undefined) {
        await logs.createTopic(w.name, w.partitions, w.configs, {
          topicId: w.id,
          localPartitions: mine(0),
        });
        continue;
      }
      if (w.partitions > t.partitions) {
        t = await logs.createPartitions(w.name, w.partitions, {
          localPartitions: mine(t.partitions),
        });
      }
      const held = t.localPartitions ?? Array.from({ length: t.partitions }, (_, i) => i);
      const others = held.filter((p) => shardOf(w.name, p, this.count) !== this.index);
      if (others.length > 0) await logs.removeLocalPartitions(w.name, others);
      if (!sameConfigs(t.configs, w.configs)) {
        await logs.alterTopicConfigs(w.name, w.configs, [], { replace: true });
      }
    }
  }
}

/** Carry a quota's throttle from where a request was served to its connection. */
function throttled(info: ConnectionInfo, ms: number | undefined, delay: boolean | undefined): void {
  if (ms === undefined) return;
  if (info.throttleMs === undefined || ms > info.throttleMs) {
    info.throttleMs = ms;
    info.throttleDelay = delay;
  }
}

function sameConfigs(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function hasRecords(res: Obj, parts: Partitioned): boolean {
  for (const t of (res[parts.resTopics] as Obj[])) {
    for (const p of (t[parts.resPartitions] as Obj[])) {
      const r = p.records as Uint8Array | null | undefined;
      if ((r !== null && r !== undefined && r.length > 0) || p.errorCode !== 0) return true;
    }
  }
  return false;
}

/** The parts' answers as one response, topics and partitions in the request's order. */
function merge(parts: Partitioned, req: Obj, answers: Obj[], isFetch: boolean): Obj {
  const found = new Map<string, { topic: Obj; partition: Obj }>();
  for (const a of answers) {
    for (const t of (a[parts.resTopics] as Obj[])) {
      const tk = isFetch ? `${t[parts.resName]}/${t.topicId}` : String(t[parts.resName]);
      for (const p of (t[parts.resPartitions] as Obj[])) {
        found.set(`${tk}:${p[parts.resIndex]}`, { topic: t, partition: p });
      }
    }
  }
  const topics: Obj[] = [];
  for (const t of (req[parts.topics] as Obj[])) {
    const tk = isFetch ? `${t[parts.name]}/${t.topicId}` : String(t[parts.name]);
    let out: Obj | undefined;
    for (const p of (t[parts.partitions] as Obj[])) {
      const hit = found.get(`${tk}:${p[parts.index]}`);
      if (hit === undefined) continue;
      if (out === undefined) {
        out = { ...hit.topic, [parts.resPartitions]: [] };
        topics.push(out);
      }
      (out[parts.resPartitions] as Obj[]).push(hit.partition);
    }
  }
  const merged: Obj = { ...answers[0], [parts.resTopics]: topics };
  if ("throttleTimeMs" in merged) {
    merged.throttleTimeMs = Math.max(...answers.map((a) => a.throttleTimeMs as number));
  }
  if (isFetch) {
    merged.errorCode = answers.find((a) => a.errorCode !== 0)?.errorCode ?? 0;
    merged.sessionId = 0;
  }
  if (parts === PARTITIONED.get(ProduceRequest.apiKey)) {
    // Produce v10+: node endpoints of the answers (all this broker's)
    const eps = answers.flatMap((a) => (a.nodeEndpoints as Obj[] | undefined) ?? []);
    if (eps.length > 0) merged.nodeEndpoints = [eps[0]];
  }
  return merged;
}
