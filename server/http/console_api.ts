// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * The web console's JSON API (issue #15), served under `/api/v1/` by the admin HTTP listener. It
 * reads the broker's own state (log manager, group coordinator, replica manager, cluster view,
 * counters), never a Kafka client looping back. Its actions (create and delete topics, alter
 * configs, add partitions, reset a group's offsets) run the Kafka API handlers themselves
 * (CreateTopics, DeleteTopics, IncrementalAlterConfigs, CreatePartitions, OffsetCommit), so
 * their validation and errors are the Kafka APIs'. The console is an administrator: its requests
 * skip the ACL authorizer, as a super user's would; whoever reaches the admin listener may
 * change topics and groups (docs/OBSERVABILITY.md).
 *
 * Errors are JSON `{"error": {"code": "UNKNOWN_TOPIC_OR_PARTITION", "message": "..."}}` with a
 * 4xx status for bad input (404 unknown topic or group, 409 conflicts, 400 the rest) and 503 for
 * what a retry may fix (not the controller or coordinator, shutting down).
 *
 * | method | path                                          | does                              |
 * | ------ | --------------------------------------------- | --------------------------------- |
 * | GET    | `/api/v1/overview`                            | broker, brokers, cluster state    |
 * | GET    | `/api/v1/rates`                               | counters to chart rates from      |
 * | GET    | `/api/v1/topics`                              | topics with sizes and offsets     |
 * | POST   | `/api/v1/topics`                              | CreateTopics                      |
 * | GET    | `/api/v1/topics/{topic}`                      | partitions and configs            |
 * | DELETE | `/api/v1/topics/{topic}`                      | DeleteTopics                      |
 * | PATCH  | `/api/v1/topics/{topic}/configs`              | IncrementalAlterConfigs           |
 * | POST   | `/api/v1/topics/{topic}/partitions`           | CreatePartitions                  |
 * | GET    | `/api/v1/topics/{topic}/records`              | the record browser                |
 * | GET    | `/api/v1/groups`                              | groups with members and lag       |
 * | GET    | `/api/v1/groups/{group}`                      | members, assignment, offsets, lag |
 * | POST   | `/api/v1/groups/{group}/reset-offsets`        | OffsetCommit of reset offsets     |
 *
 * @module
 */

import type { PartitionLog } from "../../engine/mod.ts";
import { ErrorCode, errorName, isRetriable } from "../../protocol/errors.ts";
import {
  createCreatePartitionsRequest,
  createCreatePartitionsRequestTopic,
  type CreatePartitionsResponse,
} from "../../protocol/messages/create_partitions.ts";
import {
  createCreateTopicsRequest,
  createCreateTopicsRequestCreatableTopic,
  createCreateTopicsRequestCreatableTopicConfig,
  type CreateTopicsResponse,
} from "../../protocol/messages/create_topics.ts";
import {
  createDeleteTopicsRequest,
  createDeleteTopicsRequestDeleteTopicState,
  type DeleteTopicsResponse,
} from "../../protocol/messages/delete_topics.ts";
import {
  createIncrementalAlterConfigsRequest,
  createIncrementalAlterConfigsRequestAlterableConfig,
  createIncrementalAlterConfigsRequestAlterConfigsResource,
  type IncrementalAlterConfigsResponse,
} from "../../protocol/messages/incremental_alter_configs.ts";
import {
  createOffsetCommitRequest,
  createOffsetCommitRequestRequestPartition,
  createOffsetCommitRequestRequestTopic,
  type OffsetCommitResponse,
} from "../../protocol/messages/offset_commit.ts";
import type { ApiHandler, BrokerContext, RequestContext } from "../api.ts";
import { createPartitions } from "../apis/create_partitions.ts";
import { createTopics } from "../apis/create_topics.ts";
import { deleteTopics } from "../apis/delete_topics.ts";
import { ConfigSource, describeTopic } from "../apis/describe_configs.ts";
import { incrementalAlterConfigs } from "../apis/incremental_alter_configs.ts";
import { offsetCommit } from "../apis/offset_commit.ts";
import { groupCoordinatorOf } from "../group/broker_context.ts";
import { offsetKey } from "../group/group.ts";
import { isInternalTopic } from "../internal_topic.ts";
import { ResourceType } from "../security/acl.ts";
import { BrokerState, brokerStateName, type BrokerStateValue } from "./collect.ts";
import { browse, BrowseError, type BrowseFrom, MAX_BROWSE_RECORDS } from "./console_records.ts";

/** What the console API reads. */
export interface ConsoleSources {
  /** The broker's handler context (its logs, groups, cluster, counters, configs). */
  context: BrokerContext;
  /** The broker's lifecycle state. */
  state: () => BrokerStateValue;
  /** Open Kafka connections. */
  connections: () => number;
}

/** The prefix of every API path. */
export const API_PREFIX = "/api/v1/";

/** How often the rate counters are sampled for the charts' history, in ms. */
export const RATE_SAMPLE_MS = 1000;

/** Rate samples kept (5 minutes at {@linkcode RATE_SAMPLE_MS}). */
export const RATE_SAMPLES = 300;

/** Cumulative counters of a topic, or of all. */
interface RateCounters {
  messagesIn: number;
  bytesIn: number;
  bytesOut: number;
}

/** The API's paths under {@linkcode API_PREFIX}, `*` a name (for 405 rather than 404). */
const ROUTES: readonly (readonly string[])[] = [
  ["overview"],
  ["rates"],
  ["topics"],
  ["topics", "*"],
  ["topics", "*", "configs"],
  ["topics", "*", "partitions"],
  ["topics", "*", "records"],
  ["groups"],
  ["groups", "*"],
  ["groups", "*", "reset-offsets"],
];

/** The largest request body the API reads, in bytes. */
const MAX_BODY_BYTES = 1024 * 1024;

/** An answer with an HTTP status, thrown by the routes and turned into the JSON error. */
class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

function bad(message: string): ApiError {
  return new ApiError(400, "INVALID_REQUEST", message);
}

/** The HTTP status of a Kafka error code. */
function statusOf(code: number): number {
  switch (code) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.UNKNOWN_TOPIC_ID:
    case ErrorCode.GROUP_ID_NOT_FOUND:
      return 404;
    case ErrorCode.TOPIC_ALREADY_EXISTS:
    case ErrorCode.NON_EMPTY_GROUP:
    case ErrorCode.UNKNOWN_MEMBER_ID:
    case ErrorCode.ILLEGAL_GENERATION:
    case ErrorCode.REBALANCE_IN_PROGRESS:
      return 409;
    case ErrorCode.TOPIC_AUTHORIZATION_FAILED:
    case ErrorCode.GROUP_AUTHORIZATION_FAILED:
    case ErrorCode.CLUSTER_AUTHORIZATION_FAILED:
    case ErrorCode.POLICY_VIOLATION:
      return 403;
    case ErrorCode.UNKNOWN_SERVER_ERROR:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return 500;
  }
  return isRetriable(code) || code === ErrorCode.NOT_CONTROLLER ? 503 : 400;
}

function kafkaError(code: number, message: string | null | undefined, what: string): ApiError {
  const detail = message === null || message === undefined || message === ""
    ? errorName(code)
    : message;
  return new ApiError(statusOf(code), errorName(code), `${what}: ${detail}`);
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}

function errorResponse(e: ApiError): Response {
  return json(e.status, { error: { code: e.code, message: e.message } });
}

async function readBody(req: Request): Promise<Record<string, unknown>> {
  const length = Number(req.headers.get("content-length") ?? "0");
  if (length > MAX_BODY_BYTES) throw bad(`Request body too large: ${length} bytes`);
  const text = await req.text();
  if (text.length > MAX_BODY_BYTES) throw bad(`Request body too large: ${text.length} bytes`);
  let body: unknown;
  try {
    body = text === "" ? {} : JSON.parse(text);
  } catch (e) {
    throw bad(`Request body is not JSON: ${e instanceof Error ? e.message : e}`);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw bad("Request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

function intField(body: Record<string, unknown>, name: string, fallback?: number): number {
  const v = body[name];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw bad(`Field "${name}" must be an integer, got ${JSON.stringify(v) ?? "nothing"}`);
  }
  return v;
}

function stringMap(body: Record<string, unknown>, name: string): Record<string, string> {
  const v = body[name] ?? {};
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw bad(`Field "${name}" must be an object of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string") throw bad(`Field "${name}.${k}" must be a string`);
    out[k] = x;
  }
  return out;
}

/** A query parameter as a safe integer, or `undefined` when absent. */
function intParam(url: URL, name: string): number | undefined {
  const s = url.searchParams.get(name);
  if (s === null || s === "") return undefined;
  if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(Number(s))) {
    throw bad(`Parameter "${name}" must be an integer, got "${s}"`);
  }
  return Number(s);
}

const CONFIG_SOURCE_NAMES: Record<number, string> = {
  [ConfigSource.TOPIC_CONFIG]: "topic",
  [ConfigSource.DYNAMIC_BROKER_CONFIG]: "dynamic broker",
  [ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]: "dynamic default broker",
  [ConfigSource.STATIC_BROKER_CONFIG]: "static broker",
  [ConfigSource.DEFAULT_CONFIG]: "default",
};

/** A partition of a topic as the console shows it. */
interface PartitionView {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  local: boolean;
  logStartOffset: number | null;
  logEndOffset: number | null;
  highWatermark: number | null;
  sizeBytes: number | null;
  segments: number | null;
}

/** One member's partitions decoded from a consumer protocol assignment. */
type Assignment = { topic: string; partitions: number[] }[];

/**
 * The topic partitions of a `consumer` protocol assignment (Kafka's `ConsumerProtocolAssignment`
 * v0-v3: version, then topics with their partitions, then user data), or `[]` when it does not
 * parse.
 */
export function decodeConsumerAssignment(bytes: Uint8Array): Assignment {
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const td = new TextDecoder("utf-8", { fatal: true });
    let pos = 2; // version
    const topics = view.getInt32(pos);
    pos += 4;
    if (topics < 0 || topics > 100_000) return [];
    const out: Assignment = [];
    for (let i = 0; i < topics; i++) {
      const len = view.getInt16(pos);
      pos += 2;
      if (len < 0 || pos + len > bytes.length) return [];
      const topic = td.decode(bytes.subarray(pos, pos + len));
      pos += len;
      const n = view.getInt32(pos);
      pos += 4;
      if (n < 0 || pos + 4 * n > bytes.length) return [];
      const partitions: number[] = [];
      for (let j = 0; j < n; j++, pos += 4) partitions.push(view.getInt32(pos));
      out.push({ topic, partitions: partitions.sort((a, b) => a - b) });
    }
    return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  } catch {
    return [];
  }
}

/**
 * The console's JSON API over a broker's state.
 *
 * @example Answer one request
 * ```ts ignore
 * const api = new ConsoleApi({ context, state: () => BrokerState.RUNNING, connections: () => 0 });
 * const res = await api.handle(new Request("http://x/api/v1/topics"), new URL("http://x/api/v1/topics"));
 * ```
 */
export class ConsoleApi {
  readonly #s: ConsoleSources;
  /** The context the Kafka handlers run in: the broker's, without the ACL authorizer. */
  readonly #admin: BrokerContext;
  readonly #history: { timeMs: number; total: RateCounters }[] = [];
  #sampler: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  /**
   * @param sources The broker's parts.
   */
  constructor(sources: ConsoleSources) {
    this.#s = sources;
    this.#admin = { ...sources.context, authorizer: undefined };
  }

  /**
   * Answer a request under {@linkcode API_PREFIX}; never throws.
   *
   * @param req The request.
   * @param url Its parsed URL.
   * @returns The JSON response.
   */
  async handle(req: Request, url: URL): Promise<Response> {
    try {
      return await this.#route(req, url);
    } catch (e) {
      if (e instanceof ApiError) return errorResponse(e);
      if (e instanceof BrowseError) {
        return errorResponse(
          new ApiError(400, errorName(ErrorCode.OFFSET_OUT_OF_RANGE), e.message),
        );
      }
      const code = typeof (e as { code?: unknown })?.code === "number"
        ? (e as { code: number }).code
        : ErrorCode.UNKNOWN_SERVER_ERROR;
      const message = e instanceof Error ? e.message : String(e);
      if (code === ErrorCode.UNKNOWN_SERVER_ERROR) {
        this.#s.context.logger.error(
          `Console API ${req.method} ${url.pathname} failed: ${message}`,
        );
      }
      return errorResponse(kafkaError(code, message, `${req.method} ${url.pathname} failed`));
    }
  }

  #route(req: Request, url: URL): Promise<Response> | Response {
    const parts = url.pathname.slice(API_PREFIX.length).split("/").map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        throw bad(`Malformed path segment "${p}"`);
      }
    });
    const m = req.method;
    const is = (method: string, n: number) => m === method && parts.length === n;
    if (this.#s.state() !== BrokerState.RUNNING && !(m === "GET" && parts[0] === "overview")) {
      throw new ApiError(503, "BROKER_NOT_AVAILABLE", "The broker is not running");
    }
    switch (parts[0]) {
      case "overview":
        if (is("GET", 1)) return json(200, this.overview());
        break;
      case "rates":
        if (is("GET", 1)) return json(200, this.rates());
        break;
      case "topics":
        if (is("GET", 1)) return json(200, { topics: this.topics() });
        if (is("POST", 1)) return this.#createTopic(req);
        if (parts.length >= 2 && parts[1] === "") break;
        if (is("GET", 2)) return json(200, this.topic(parts[1]));
        if (is("DELETE", 2)) return this.#deleteTopic(parts[1]);
        if (is("PATCH", 3) && parts[2] === "configs") return this.#alterConfigs(req, parts[1]);
        if (is("POST", 3) && parts[2] === "partitions") return this.#addPartitions(req, parts[1]);
        if (is("GET", 3) && parts[2] === "records") return this.#records(url, parts[1]);
        break;
      case "groups":
        if (is("GET", 1)) return json(200, { groups: this.groups() });
        if (parts.length >= 2 && parts[1] === "") break;
        if (is("GET", 2)) return json(200, this.group(parts[1]));
        if (is("POST", 3) && parts[2] === "reset-offsets") return this.#resetOffsets(req, parts[1]);
        break;
    }
    const shape = ROUTES.find((r) =>
      r.length === parts.length && r.every((x, i) => x === "*" ? parts[i] !== "" : x === parts[i])
    );
    if (shape !== undefined) {
      throw new ApiError(405, "METHOD_NOT_ALLOWED", `${m} ${url.pathname} is not served`);
    }
    throw new ApiError(404, "NOT_FOUND", `No API at ${url.pathname}`);
  }

  #requestContext(version: number): RequestContext {
    return {
      broker: this.#admin,
      version,
      correlationId: 0,
      clientId: "sluice-console",
      connection: { id: 0, remote: "console:0" },
    };
  }

  async #call<Res>(api: ApiHandler, version: number, request: unknown): Promise<Res> {
    return await api.handle(this.#requestContext(version), request) as Res;
  }

  // ---- reads

  /**
   * The broker and the cluster: this broker, every broker, the controller, and the partitions
   * under-replicated or offline.
   *
   * @returns The overview.
   */
  overview(): unknown {
    const ctx = this.#s.context;
    const cluster = ctx.cluster;
    const state = this.#s.state();
    const base = {
      nodeId: ctx.nodeId,
      clusterId: ctx.clusterId,
      state: brokerStateName(state),
      mode: cluster === undefined ? "standalone" : "cluster",
      connections: this.#s.connections(),
      uptimeMs: Math.round(performance.now()),
      // AlterConfigs on BROKER resources: this broker's, and the cluster-wide defaults
      dynamicConfigs: {
        broker: ctx.dynamicConfigs?.values("broker") ?? {},
        default: ctx.dynamicConfigs?.values("default") ?? {},
      },
      listeners: [...(ctx.advertisedListeners ?? new Map([["PLAINTEXT", ctx.advertised]]))]
        .map(([name, a]) => ({ name, host: a.host, port: a.port })),
    };
    if (state !== BrokerState.RUNNING) {
      return { broker: base, brokers: [], controller: -1, topics: 0, partitions: 0 };
    }
    let topics = 0;
    let partitions = 0;
    let underReplicated = 0;
    let offline = 0;
    const under: { topic: string; partition: number }[] = [];
    const off: { topic: string; partition: number }[] = [];
    if (cluster === undefined) {
      for (const t of ctx.logs.listTopics()) {
        topics++;
        partitions += t.partitions;
      }
      return {
        broker: base,
        controller: ctx.nodeId,
        brokers: [{
          id: ctx.nodeId,
          host: ctx.advertised.host,
          port: ctx.advertised.port,
          rack: ctx.config.rack ?? null,
          live: true,
          controller: true,
          self: true,
        }],
        topics,
        partitions,
        underReplicated,
        offline,
        underReplicatedPartitions: under,
        offlinePartitions: off,
      };
    }
    const view = cluster.view;
    for (const [name, t] of view.topics()) {
      topics++;
      for (let p = 0; p < t.value.replicas.length; p++) {
        partitions++;
        const s = view.partition(name, p)?.value;
        if (s === undefined || s.leader === -1) {
          offline++;
          if (off.length < 100) off.push({ topic: name, partition: p });
        } else if (s.isr.length < t.value.replicas[p].length) {
          underReplicated++;
          if (under.length < 100) under.push({ topic: name, partition: p });
        }
      }
    }
    const controller = view.controllerId;
    return {
      broker: base,
      controller,
      brokers: view.brokers().map((b) => ({
        id: b.id,
        host: b.host,
        port: b.port,
        rack: b.rack,
        live: view.isLive(b.id),
        controller: b.id === controller,
        self: b.id === ctx.nodeId,
      })).sort((a, b) => a.id - b.id),
      topics,
      partitions,
      underReplicated,
      offline,
      underReplicatedPartitions: under,
      offlinePartitions: off,
    };
  }

  /**
   * The counters to chart rates from: cumulative per topic and in total, with the time they were
   * read, and `history`, the totals sampled every {@linkcode RATE_SAMPLE_MS} for the last
   * {@linkcode RATE_SAMPLES} samples. The sampling starts at the first call (a broker whose
   * console is never opened samples nothing) and stops at {@linkcode ConsoleApi.close}.
   *
   * @returns The counters.
   */
  rates(): unknown {
    if (this.#sampler === undefined && !this.#closed) {
      this.#sampler = setInterval(() => this.#sample(), RATE_SAMPLE_MS);
      Deno.unrefTimer(this.#sampler);
      this.#sample();
    }
    const m = this.#s.context.metrics;
    const topics: Record<string, RateCounters> = {};
    for (const [name, c] of m?.topics ?? []) {
      if (this.#topicInfo(name) === undefined) continue;
      topics[name] = { messagesIn: c.messagesIn, bytesIn: c.bytesIn, bytesOut: c.bytesOut };
    }
    return { timeMs: Date.now(), total: this.#totals(), topics, history: this.#history };
  }

  #totals(): RateCounters {
    const t = { messagesIn: 0, bytesIn: 0, bytesOut: 0 };
    for (const c of this.#s.context.metrics?.topics.values() ?? []) {
      t.messagesIn += c.messagesIn;
      t.bytesIn += c.bytesIn;
      t.bytesOut += c.bytesOut;
    }
    return t;
  }

  #sample(): void {
    if (this.#s.state() !== BrokerState.RUNNING) return;
    this.#history.push({ timeMs: Date.now(), total: this.#totals() });
    if (this.#history.length > RATE_SAMPLES) this.#history.shift();
  }

  /** Stop sampling rates (the broker is closing). Idempotent. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sampler);
  }

  #topicInfo(name: string) {
    const cluster = this.#s.context.cluster;
    return cluster === undefined ? this.#s.context.logs.topic(name) : cluster.topicInfo(name);
  }

  #partitions(name: string, count: number): PartitionView[] {
    const ctx = this.#s.context;
    const view = ctx.cluster?.view;
    const record = view?.topic(name)?.value;
    const out: PartitionView[] = [];
    for (let p = 0; p < count; p++) {
      const log = ctx.logs.partition(name, p);
      const state = view?.partition(name, p)?.value;
      out.push({
        partition: p,
        leader: view === undefined ? ctx.nodeId : state?.leader ?? -1,
        replicas: view === undefined ? [ctx.nodeId] : [...(record?.replicas[p] ?? [])],
        isr: view === undefined ? [ctx.nodeId] : [...(state?.isr ?? [])],
        local: log !== undefined,
        logStartOffset: log?.logStartOffset ?? null,
        logEndOffset: log?.logEndOffset ?? null,
        highWatermark: log?.highWatermark ?? null,
        sizeBytes: log?.sizeInBytes ?? null,
        segments: log?.segmentCount ?? null,
      });
    }
    return out;
  }

  /**
   * Every topic with its partition count, size and records on this broker.
   *
   * @returns The topics in name order.
   */
  topics(): unknown[] {
    const ctx = this.#s.context;
    const names = ctx.cluster === undefined
      ? ctx.logs.listTopics().map((t) => t.name)
      : [...ctx.cluster.view.topics().keys()];
    return names.sort().map((name) => {
      const info = this.#topicInfo(name)!;
      const parts = this.#partitions(name, info.partitions);
      let sizeBytes = 0;
      let records = 0;
      let underReplicated = 0;
      let offline = 0;
      for (const p of parts) {
        sizeBytes += p.sizeBytes ?? 0;
        records += (p.highWatermark ?? 0) - (p.logStartOffset ?? 0);
        if (p.leader === -1) offline++;
        else if (p.isr.length < p.replicas.length) underReplicated++;
      }
      return {
        name,
        id: info.id,
        internal: isInternalTopic(name),
        partitions: info.partitions,
        replicationFactor: parts[0]?.replicas.length ?? 0,
        sizeBytes,
        records,
        underReplicated,
        offline,
      };
    });
  }

  /**
   * One topic: partitions with leaders, ISR, offsets and sizes; every config with its source.
   *
   * @param name The topic.
   * @returns The topic.
   * @throws {ApiError} 404 for an unknown topic.
   */
  topic(name: string): unknown {
    const info = this.#topicInfo(name);
    if (info === undefined) throw unknownTopic(name);
    return {
      name,
      id: info.id,
      internal: isInternalTopic(name),
      partitions: this.#partitions(name, info.partitions),
      configs: describeTopic(this.#s.context, info).map((c) => ({
        name: c.name,
        value: c.value,
        source: CONFIG_SOURCE_NAMES[c.source] ?? "unknown",
        readOnly: c.readOnly,
      })),
    };
  }

  async #records(url: URL, name: string): Promise<Response> {
    const info = this.#topicInfo(name);
    if (info === undefined) throw unknownTopic(name);
    const limit = intParam(url, "limit") ?? 50;
    if (limit < 1 || limit > MAX_BROWSE_RECORDS) {
      throw bad(`Parameter "limit" must be within [1, ${MAX_BROWSE_RECORDS}], got ${limit}`);
    }
    const partition = intParam(url, "partition");
    if (partition !== undefined && (partition < 0 || partition >= info.partitions)) {
      throw new ApiError(
        404,
        errorName(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
        `Topic ${name} has no partition ${partition} (it has ${info.partitions})`,
      );
    }
    const logs = new Map<number, PartitionLog>();
    const wanted = partition === undefined
      ? Array.from({ length: info.partitions }, (_, i) => i)
      : [partition];
    for (const p of wanted) {
      const log = this.#s.context.logs.partition(name, p);
      if (log !== undefined) logs.set(p, log);
      else if (partition !== undefined) {
        const leader = this.#s.context.cluster?.leaderOf(name, p) ?? -1;
        throw new ApiError(
          409,
          errorName(ErrorCode.NOT_LEADER_OR_FOLLOWER),
          `Broker ${this.#s.context.nodeId} holds no replica of ${name}-${p}; ` +
            `browse it on its leader, broker ${leader}`,
        );
      }
    }
    const from = browseFrom(url);
    if (from.kind === "offset" && partition === undefined) {
      throw bad(`Parameter "offset" needs "partition"`);
    }
    return json(200, { topic: name, ...await browse(logs, from, limit) });
  }

  /**
   * Every group this broker coordinates, with its state, members and total lag.
   *
   * @returns The groups in id order.
   */
  groups(): unknown[] {
    const groups = groupCoordinatorOf(this.#s.context);
    return groups.listGroups().map((g) => {
      const d = this.#groupOffsets(g.groupId);
      const meta = groups.group(g.groupId);
      return {
        groupId: g.groupId,
        type: g.groupType,
        state: g.groupState,
        protocolType: g.protocolType,
        // a consumer-protocol (KIP-848) group's members are its ConsumerGroup's
        members: meta?.consumer?.members.size ?? meta?.members.size ?? 0,
        partitions: d.length,
        lag: d.reduce((sum, o) => sum + (o.lag ?? 0), 0),
      };
    });
  }

  /** Committed offsets and lag of a group's partitions (committed or assigned). */
  #groupOffsets(groupId: string, assigned: Map<string, string> = new Map()) {
    const ctx = this.#s.context;
    const meta = groupCoordinatorOf(ctx).group(groupId);
    const keys = new Set<string>(meta?.offsets.keys() ?? []);
    for (const k of assigned.keys()) keys.add(k);
    const out = [...keys].map((k) => {
      const i = k.lastIndexOf("\u0000");
      const topic = k.slice(0, i);
      const partition = Number(k.slice(i + 1));
      const committed = meta?.offsets.get(k);
      const log = ctx.logs.partition(topic, partition);
      const hw = log?.highWatermark ?? null;
      const offset = committed === undefined || committed.offset < 0 ? null : committed.offset;
      return {
        topic,
        partition,
        committedOffset: offset,
        metadata: committed?.metadata ?? null,
        commitTimestamp: committed?.commitTimestamp ?? null,
        logStartOffset: log?.logStartOffset ?? null,
        highWatermark: hw,
        lag: offset === null || hw === null ? null : Math.max(0, hw - offset),
        memberId: assigned.get(k) ?? null,
      };
    });
    return out.sort((a, b) =>
      a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition
    );
  }

  /**
   * One group: members with their assignment, and each partition's committed offset and lag.
   *
   * @param groupId The group.
   * @returns The group.
   * @throws {ApiError} 404 for a group this broker does not know; 503 when it is not its
   *   coordinator.
   */
  group(groupId: string): unknown {
    const groups = groupCoordinatorOf(this.#s.context);
    if (groups.group(groupId)?.consumer) return this.#consumerGroup(groupId);
    const d = groups.describeGroup(groupId);
    if (d.errorCode !== ErrorCode.NONE) {
      throw kafkaError(d.errorCode, null, `Cannot describe group ${groupId}`);
    }
    const meta = groups.group(groupId);
    if (meta === undefined || d.groupState === "Dead") {
      throw new ApiError(
        404,
        errorName(ErrorCode.GROUP_ID_NOT_FOUND),
        `Group ${groupId} does not exist on broker ${this.#s.context.nodeId}`,
      );
    }
    const assigned = new Map<string, string>();
    const members = d.members.map((m) => {
      const assignment = d.protocolType === "consumer"
        ? decodeConsumerAssignment(m.memberAssignment)
        : [];
      for (const a of assignment) {
        for (const p of a.partitions) assigned.set(offsetKey(a.topic, p), m.memberId);
      }
      return {
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment,
      };
    });
    const offsets = this.#groupOffsets(groupId, assigned);
    return {
      groupId,
      type: "classic",
      state: d.groupState,
      protocolType: d.protocolType,
      protocol: d.protocolData,
      generationId: meta.generationId,
      members,
      offsets,
      lag: offsets.reduce((sum, o) => sum + (o.lag ?? 0), 0),
      timeMs: Date.now(),
    };
  }

  /**
   * A consumer-protocol (KIP-848) group, as ConsumerGroupDescribe describes it: the group and
   * target assignment epochs, the broker's assignor, each member's epoch, current and target
   * assignment; offsets and lag as for a classic group (`generationId` is the group epoch).
   */
  #consumerGroup(groupId: string): unknown {
    const d = groupCoordinatorOf(this.#s.context).consumerGroupDescribe(groupId);
    if (d.errorCode !== ErrorCode.NONE) {
      throw kafkaError(d.errorCode, d.errorMessage, `Cannot describe group ${groupId}`);
    }
    const byTopic = (list: { topicName: string; partitions: number[] }[]) =>
      list.map((t) => ({ topic: t.topicName, partitions: [...t.partitions].sort((a, b) => a - b) }))
        .sort((a, b) => a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0);
    const assigned = new Map<string, string>();
    const members = d.members.map((m) => {
      const assignment = byTopic(m.assignment);
      for (const a of assignment) {
        for (const p of a.partitions) assigned.set(offsetKey(a.topic, p), m.memberId);
      }
      return {
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        memberEpoch: m.memberEpoch,
        assignment,
        targetAssignment: byTopic(m.targetAssignment),
      };
    });
    const offsets = this.#groupOffsets(groupId, assigned);
    return {
      groupId,
      type: "consumer",
      state: d.groupState,
      protocolType: "consumer",
      protocol: d.assignorName,
      generationId: d.groupEpoch,
      groupEpoch: d.groupEpoch,
      targetAssignmentEpoch: d.assignmentEpoch,
      members,
      offsets,
      lag: offsets.reduce((sum, o) => sum + (o.lag ?? 0), 0),
      timeMs: Date.now(),
    };
  }

  // ---- actions (the Kafka API handlers)

  async #createTopic(req: Request): Promise<Response> {
    const body = await readBody(req);
    const name = body.name;
    if (typeof name !== "string" || name === "") throw bad(`Field "name" must be a topic name`);
    const partitions = intField(body, "partitions", -1);
    const replicationFactor = intField(body, "replicationFactor", -1);
    const configs = stringMap(body, "configs");
    const res = await this.#call<CreateTopicsResponse>(
      createTopics,
      7,
      createCreateTopicsRequest({
        topics: [createCreateTopicsRequestCreatableTopic({
          name,
          numPartitions: partitions,
          replicationFactor,
          assignments: [],
          configs: Object.entries(configs).map(([k, v]) =>
            createCreateTopicsRequestCreatableTopicConfig({ name: k, value: v })
          ),
        })],
        timeoutMs: 30_000,
        validateOnly: body.validateOnly === true,
      }),
    );
    const t = res.topics[0];
    if (t.errorCode !== ErrorCode.NONE) {
      throw kafkaError(t.errorCode, t.errorMessage, `Cannot create topic ${name}`);
    }
    return json(body.validateOnly === true ? 200 : 201, {
      name,
      id: body.validateOnly === true ? null : this.#topicInfo(name)?.id ?? null,
      partitions: t.numPartitions,
      replicationFactor: t.replicationFactor,
    });
  }

  async #deleteTopic(name: string): Promise<Response> {
    const res = await this.#call<DeleteTopicsResponse>(
      deleteTopics,
      6,
      createDeleteTopicsRequest({
        topics: [createDeleteTopicsRequestDeleteTopicState({ name })],
        timeoutMs: 30_000,
      }),
    );
    const t = res.responses[0];
    if (t.errorCode !== ErrorCode.NONE) {
      throw kafkaError(t.errorCode, t.errorMessage, `Cannot delete topic ${name}`);
    }
    return json(200, { name, deleted: true });
  }

  async #alterConfigs(req: Request, name: string): Promise<Response> {
    const body = await readBody(req);
    const set = stringMap(body, "set");
    const del = body.delete ?? [];
    if (!Array.isArray(del) || del.some((x) => typeof x !== "string")) {
      throw bad(`Field "delete" must be an array of config names`);
    }
    const configs = [
      ...Object.entries(set).map(([k, v]) =>
        createIncrementalAlterConfigsRequestAlterableConfig({
          name: k,
          configOperation: 0,
          value: v,
        })
      ),
      ...(del as string[]).map((k) =>
        createIncrementalAlterConfigsRequestAlterableConfig({
          name: k,
          configOperation: 1,
          value: null,
        })
      ),
    ];
    if (configs.length === 0) throw bad(`Nothing to change: give "set" or "delete"`);
    const res = await this.#call<IncrementalAlterConfigsResponse>(
      incrementalAlterConfigs,
      1,
      createIncrementalAlterConfigsRequest({
        resources: [createIncrementalAlterConfigsRequestAlterConfigsResource({
          resourceType: ResourceType.TOPIC,
          resourceName: name,
          configs,
        })],
        validateOnly: body.validateOnly === true,
      }),
    );
    const r = res.responses[0];
    if (r.errorCode !== ErrorCode.NONE) {
      throw kafkaError(r.errorCode, r.errorMessage, `Cannot alter configs of topic ${name}`);
    }
    return json(200, this.topic(name));
  }

  async #addPartitions(req: Request, name: string): Promise<Response> {
    const body = await readBody(req);
    const count = intField(body, "count");
    const res = await this.#call<CreatePartitionsResponse>(
      createPartitions,
      3,
      createCreatePartitionsRequest({
        topics: [createCreatePartitionsRequestTopic({ name, count, assignments: null })],
        timeoutMs: 30_000,
        validateOnly: body.validateOnly === true,
      }),
    );
    const r = res.results[0];
    if (r.errorCode !== ErrorCode.NONE) {
      throw kafkaError(r.errorCode, r.errorMessage, `Cannot add partitions to topic ${name}`);
    }
    return json(200, this.topic(name));
  }

  async #resetOffsets(req: Request, groupId: string): Promise<Response> {
    const body = await readBody(req);
    const ctx = this.#s.context;
    const topic = body.topic;
    if (typeof topic !== "string" || topic === "") throw bad(`Field "topic" must be a topic name`);
    const info = this.#topicInfo(topic);
    if (info === undefined) throw unknownTopic(topic);
    let partitions: number[];
    if (body.partitions === undefined) {
      partitions = Array.from({ length: info.partitions }, (_, i) => i);
    } else if (
      Array.isArray(body.partitions) &&
      body.partitions.every((p) => Number.isSafeInteger(p) && p >= 0 && p < info.partitions)
    ) {
      partitions = [...new Set(body.partitions as number[])].sort((a, b) => a - b);
    } else {
      throw bad(
        `Field "partitions" must be an array of partitions of ${topic} (0..${info.partitions - 1})`,
      );
    }
    const to = body.to;
    if (to !== "earliest" && to !== "latest" && to !== "offset" && to !== "timestamp") {
      throw bad(
        `Field "to" must be earliest, latest, offset or timestamp, got ${JSON.stringify(to)}`,
      );
    }
    const offset = to === "offset" ? intField(body, "offset") : 0;
    if (offset < 0) throw bad(`Field "offset" must be >= 0, got ${offset}`);
    const timestamp = to === "timestamp" ? intField(body, "timestamp") : 0;
    if (timestamp < 0) throw bad(`Field "timestamp" must be >= 0, got ${timestamp}`);
    // as kafka-consumer-groups.sh: only while the group has no active members
    const coordinator = groupCoordinatorOf(ctx);
    const d = coordinator.describeGroup(groupId);
    if (d.errorCode !== ErrorCode.NONE) {
      throw kafkaError(d.errorCode, null, `Cannot reset offsets of group ${groupId}`);
    }
    // a consumer-protocol group is Dead to DescribeGroups: its members are its ConsumerGroup's
    const cg = coordinator.group(groupId)?.consumer ?? null;
    const [state, active] = cg === null
      ? [d.groupState, d.members.length]
      : [cg.state, cg.members.size];
    if (cg === null ? state !== "Empty" && state !== "Dead" : active > 0) {
      throw new ApiError(
        409,
        errorName(ErrorCode.NON_EMPTY_GROUP),
        `Cannot reset offsets of group ${groupId}: it has ${active} active member(s) ` +
          `(state ${state}); stop its consumers first`,
      );
    }
    const targets: { partition: number; offset: number }[] = [];
    for (const p of partitions) {
      const log = ctx.logs.partition(topic, p);
      if (log === undefined) {
        throw new ApiError(
          409,
          errorName(ErrorCode.NOT_LEADER_OR_FOLLOWER),
          `Broker ${ctx.nodeId} holds no replica of ${topic}-${p}: reset its offsets where the ` +
            `partition is`,
        );
      }
      const lso = log.logStartOffset;
      const hw = log.highWatermark;
      let target: number;
      if (to === "earliest") target = lso;
      else if (to === "latest") target = hw;
      else if (to === "offset") target = offset;
      else target = (await log.offsetForTime(timestamp))?.offset ?? hw;
      // as Kafka's tool: an offset outside the log is moved to its nearest end
      targets.push({ partition: p, offset: Math.min(Math.max(target, lso), hw) });
    }
    if (body.dryRun !== true) {
      const res = await this.#call<OffsetCommitResponse>(
        offsetCommit,
        8,
        createOffsetCommitRequest({
          groupId,
          generationIdOrMemberEpoch: -1,
          memberId: "",
          groupInstanceId: null,
          topics: [createOffsetCommitRequestRequestTopic({
            name: topic,
            partitions: targets.map((t) =>
              createOffsetCommitRequestRequestPartition({
                partitionIndex: t.partition,
                committedOffset: t.offset,
                committedLeaderEpoch: -1,
                committedMetadata: "",
              })
            ),
          })],
        }),
      );
      const failed = res.topics[0].partitions.find((p) => p.errorCode !== ErrorCode.NONE);
      if (failed !== undefined) {
        throw kafkaError(
          failed.errorCode,
          null,
          `Cannot reset offsets of group ${groupId} for ${topic}-${failed.partitionIndex}`,
        );
      }
      ctx.logger.info(
        `Console reset offsets of group ${groupId} on ${topic} to ${to}: ` +
          targets.map((t) => `${t.partition}=${t.offset}`).join(", "),
      );
    }
    return json(200, { groupId, topic, dryRun: body.dryRun === true, offsets: targets });
  }
}

function unknownTopic(name: string): ApiError {
  return new ApiError(
    404,
    errorName(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    `Topic ${name} does not exist`,
  );
}

function browseFrom(url: URL): BrowseFrom {
  const given = ["offset", "timestamp", "from", "positions"].filter((k) => url.searchParams.has(k));
  if (given.length > 1) throw bad(`Give one of offset, timestamp, from and positions`);
  const offset = intParam(url, "offset");
  if (offset !== undefined) {
    if (offset < 0) throw bad(`Parameter "offset" must be >= 0, got ${offset}`);
    return { kind: "offset", offset };
  }
  const timestamp = intParam(url, "timestamp");
  if (timestamp !== undefined) {
    if (timestamp < 0) throw bad(`Parameter "timestamp" must be >= 0, got ${timestamp}`);
    return { kind: "timestamp", timestamp };
  }
  const positions = url.searchParams.get("positions");
  if (positions !== null) {
    const map = new Map<number, number>();
    for (const item of positions.split(",")) {
      const m = /^(\d+):(\d+)$/.exec(item);
      if (m === null) {
        throw bad(`Parameter "positions" must be PARTITION:OFFSET,..., got "${positions}"`);
      }
      map.set(Number(m[1]), Number(m[2]));
    }
    return { kind: "positions", positions: map };
  }
  const from = url.searchParams.get("from") ?? "beginning";
  if (from === "beginning" || from === "end") return { kind: from };
  throw bad(`Parameter "from" must be beginning or end, got "${from}"`);
}
