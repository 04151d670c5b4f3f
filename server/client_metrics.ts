// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Client metrics and observability (KIP-714), as Kafka 3.9's `ClientMetricsManager` does them:
 * subscriptions (the CLIENT_METRICS config resources, {@linkcode ClientMetricsSubscriptions}) say
 * which metrics clients push and how often; each client instance asks for its subscription
 * (GetTelemetrySubscriptions) and pushes its metrics (PushTelemetry) to
 * {@linkcode ClientMetricsManager}, which checks the push interval and the subscription id and
 * keeps the latest values of each instance for `/metrics` (Kafka hands them to a plugin instead).
 *
 * Subscriptions live in `sluice-client-metrics.json` in the data directory standalone, replaced
 * atomically on every change, and in one etcd key (`<prefix>/<cluster>/client-metrics`) watched by
 * every broker in cluster mode (`document_store.ts`).
 *
 * @module
 */

import { ErrorCode, KafkaError } from "../protocol/errors.ts";
import { ZERO_UUID } from "../protocol/primitives.ts";
import { newTopicId } from "../engine/mod.ts";
import { decompress } from "../records/compression.ts";
import { compressionName } from "../records/layout.ts";
import type { RequestContext } from "./api.ts";
import type { EtcdClient } from "./cluster/etcd.ts";
import {
  type DocumentFormat,
  type DocumentStorage,
  EtcdDocumentStorage,
  FileDocumentStorage,
} from "./document_store.ts";
import { decodeMetricsData, type OtlpPoint } from "./otlp.ts";

import { CLIENT_METRICS_FILE } from "./client_metrics_file.ts";

export { CLIENT_METRICS_FILE };

/** The metric name prefixes a subscription asks for (a list; `*` is every metric). */
export const METRICS_CONFIG = "metrics";
/** How often matching clients push, in milliseconds. */
export const INTERVAL_MS_CONFIG = "interval.ms";
/** Which clients a subscription applies to (a list of `param=regex`; empty: every client). */
export const MATCH_CONFIG = "match";

/** The three configs of a subscription, with Kafka's defaults. */
export const CLIENT_METRICS_CONFIGS: ReadonlyMap<
  string,
  { defaultValue: string; type: "list" | "int"; doc: string }
> = new Map([
  [METRICS_CONFIG, {
    defaultValue: "",
    type: "list",
    doc: "Telemetry metric name prefix list",
  }],
  [INTERVAL_MS_CONFIG, {
    defaultValue: "300000",
    type: "int",
    doc: "Metrics push interval in milliseconds",
  }],
  [MATCH_CONFIG, { defaultValue: "", type: "list", doc: "Client match criteria" }],
]);

/** Kafka's default push interval: 5 minutes. */
export const INTERVAL_MS_DEFAULT = 300_000;
const MIN_INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 3_600_000;
/** The metrics entry meaning every metric. */
export const ALL_METRICS = "*";

/** The client attributes a `match` pattern may name. */
export const MATCH_PARAMS: readonly string[] = [
  "client_instance_id",
  "client_id",
  "client_software_name",
  "client_software_version",
  "client_source_address",
  "client_source_port",
];

/** Every subscription, by name: its set configs (the unset ones take their defaults). */
export type Subscriptions = Map<string, Record<string, string>>;

/** A Kafka list config's items: comma-separated, trimmed, empty ones dropped. */
export function listItems(value: string): string[] {
  return value.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * The `match` patterns of a subscription, as Kafka parses them: `param=regex`, split at the `=`
 * (a pattern with no `=` or more than one is refused), the regex matching the whole value.
 *
 * @example
 * ```ts
 * import { parseMatchPatterns } from "./client_metrics.ts";
 * const m = parseMatchPatterns(["client_id=app-.*"]);
 * console.assert(m.get("client_id")!.test("app-1") && !m.get("client_id")!.test("my-app-1"));
 * ```
 *
 * @param patterns The list's items.
 * @returns The regex of each parameter named.
 * @throws {KafkaError} INVALID_CONFIG `Illegal client matching pattern: ...` for a pattern that is
 *   not `param=regex`, names an unknown parameter or whose regex does not compile.
 */
export function parseMatchPatterns(patterns: readonly string[]): Map<string, RegExp> {
  const out = new Map<string, RegExp>();
  for (const pattern of patterns) {
    const illegal = () =>
      new KafkaError(ErrorCode.INVALID_CONFIG, `Illegal client matching pattern: ${pattern}`);
    const parts = pattern.split("=");
    if (parts.length !== 2) throw illegal();
    const param = parts[0].trim();
    if (!MATCH_PARAMS.includes(param)) throw illegal();
    try {
      out.set(param, new RegExp(`^(?:${parts[1].trim()})$`));
    } catch {
      throw illegal();
    }
  }
  return out;
}

/**
 * Check a subscription's configs as Kafka's `ClientMetricsConfigs.validate` does.
 *
 * @param name The subscription's name.
 * @param configs Its configs (all of them, after the change).
 * @throws {KafkaError} INVALID_REQUEST for an empty name, an unknown config or an interval outside
 *   100..3600000; INVALID_CONFIG for an interval that is not an integer or a bad match pattern.
 */
export function validateSubscription(name: string, configs: Record<string, string>): void {
  if (name === "") {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, "Subscription name can't be empty");
  }
  for (const key of Object.keys(configs)) {
    if (!CLIENT_METRICS_CONFIGS.has(key)) {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        `Unknown client metrics configuration: ${key}`,
      );
    }
  }
  const interval = configs[INTERVAL_MS_CONFIG];
  if (interval !== undefined) {
    const v = interval.trim();
    if (
      !/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Math.abs(Number(v)) > 2 ** 31
    ) {
      throw new KafkaError(
        ErrorCode.INVALID_CONFIG,
        `Invalid value ${interval} for configuration ${INTERVAL_MS_CONFIG}: Not a number of type INT`,
      );
    }
    const n = Number(v);
    if (n < MIN_INTERVAL_MS || n > MAX_INTERVAL_MS) {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        `Invalid value ${n} for ${INTERVAL_MS_CONFIG}, interval must be between 100 and 3600000 (1 hour)`,
      );
    }
  }
  const match = configs[MATCH_CONFIG];
  if (match !== undefined) parseMatchPatterns(listItems(match));
}

/** How the subscriptions are stored: `{"version": 1, "subscriptions": {name: {config: value}}}`. */
const SUBSCRIPTIONS_FORMAT: DocumentFormat<Subscriptions> = {
  what: "client metrics subscriptions",
  empty: () => new Map(),
  parse(text) {
    const doc = JSON.parse(text);
    if (doc === null || typeof doc !== "object" || doc.version !== 1) {
      throw new Error("expected version 1");
    }
    const out: Subscriptions = new Map();
    for (const [name, configs] of Object.entries(doc.subscriptions ?? {})) {
      if (configs === null || typeof configs !== "object") {
        throw new Error(`subscription ${name} is not an object`);
      }
      const c: Record<string, string> = {};
      for (const [k, v] of Object.entries(configs as Record<string, unknown>)) {
        if (typeof v !== "string") throw new Error(`subscription ${name}: ${k} is not a string`);
        c[k] = v;
      }
      out.set(name, c);
    }
    return out;
  },
  serialize(doc) {
    const subscriptions: Record<string, Record<string, string>> = {};
    for (const name of [...doc.keys()].sort()) subscriptions[name] = doc.get(name)!;
    return JSON.stringify({ version: 1, subscriptions }, null, 2) + "\n";
  },
  copy: (doc) => new Map([...doc].map(([k, v]) => [k, { ...v }])),
};

/** The subscriptions of a data directory (standalone broker). */
export class FileClientMetricsStorage extends FileDocumentStorage<Subscriptions> {
  /**
   * @param dir The data directory.
   */
  constructor(dir: string) {
    super(`${dir}/${CLIENT_METRICS_FILE}`, SUBSCRIPTIONS_FORMAT);
  }
}

/** The subscriptions of a cluster in one etcd key every broker watches. */
export class EtcdClientMetricsStorage extends EtcdDocumentStorage<Subscriptions> {
  /**
   * @param etcd The cluster's etcd client.
   * @param key The key (`<prefix>/<cluster>/client-metrics`).
   */
  constructor(etcd: EtcdClient, key: string) {
    super(etcd, key, SUBSCRIPTIONS_FORMAT);
  }
}

/** A parsed subscription. */
interface SubscriptionInfo {
  name: string;
  metrics: string[];
  intervalMs: number;
  match: Map<string, RegExp>;
}

function parseSubscription(name: string, configs: Record<string, string>): SubscriptionInfo {
  return {
    name,
    metrics: listItems(configs[METRICS_CONFIG] ?? ""),
    intervalMs: Number(configs[INTERVAL_MS_CONFIG] ?? INTERVAL_MS_DEFAULT),
    match: parseMatchPatterns(listItems(configs[MATCH_CONFIG] ?? "")),
  };
}

/**
 * The client metrics subscriptions, kept durably.
 *
 * @example
 * ```ts
 * import { ClientMetricsSubscriptions } from "./client_metrics.ts";
 * const subs = await ClientMetricsSubscriptions.openWith(null);
 * await subs.alter("all", { metrics: "*", "interval.ms": "1000" }, []);
 * console.assert(subs.names()[0] === "all");
 * ```
 */
export class ClientMetricsSubscriptions {
  readonly #storage: DocumentStorage<Subscriptions> | null;
  #subs: Subscriptions = new Map();
  #parsed: SubscriptionInfo[] = [];
  #writing: Promise<void> = Promise.resolve();
  /** Bumped at every change: client instances then match again (Kafka's subscription version). */
  version = 0;

  private constructor(storage: DocumentStorage<Subscriptions> | null) {
    this.#storage = storage;
  }

  /**
   * Load the subscriptions of a storage (`null`: memory only) and follow changes made elsewhere.
   *
   * @param storage Where they are.
   * @returns The subscriptions.
   * @throws {Error} If they cannot be read or are malformed.
   */
  static async openWith(
    storage: DocumentStorage<Subscriptions> | null,
  ): Promise<ClientMetricsSubscriptions> {
    const s = new ClientMetricsSubscriptions(storage);
    if (storage === null) return s;
    s.#set(await storage.load());
    await storage.watch?.((doc) => s.#set(doc));
    return s;
  }

  #set(subs: Subscriptions): void {
    this.#subs = subs;
    const parsed: SubscriptionInfo[] = [];
    for (const [name, configs] of subs) {
      try {
        parsed.push(parseSubscription(name, configs));
      } catch {
        // stored by an older or foreign writer and no longer valid: it matches no client
      }
    }
    this.#parsed = parsed;
    this.version++;
  }

  /** Stop following changes made elsewhere. */
  close(): void {
    this.#storage?.close?.();
  }

  /** Subscription names, sorted. */
  names(): string[] {
    return [...this.#subs.keys()].sort();
  }

  /** A subscription's set configs, or `undefined`. */
  get(name: string): Readonly<Record<string, string>> | undefined {
    return this.#subs.get(name);
  }

  /** Every valid subscription, parsed. */
  get parsed(): readonly SubscriptionInfo[] {
    return this.#parsed;
  }

  /**
   * Change one subscription: set then remove configs; one left with no config is deleted (as
   * Kafka's IncrementalAlterConfigs deleting every config does). Checked first, saved durably.
   *
   * @param name The subscription.
   * @param set Configs to set.
   * @param remove Configs to reset.
   * @param options `validateOnly` checks without changing; `replace` drops the configs not set.
   * @throws {KafkaError} If the result is invalid ({@linkcode validateSubscription}).
   * @throws {Error} If the storage cannot be written (nothing is changed then).
   */
  async alter(
    name: string,
    set: Record<string, string>,
    remove: readonly string[],
    options: { validateOnly?: boolean; replace?: boolean } = {},
  ): Promise<void> {
    const next = (current: Record<string, string> | undefined) => {
      const c: Record<string, string> = options.replace ? {} : { ...current };
      Object.assign(c, set);
      for (const r of remove) delete c[r];
      return c;
    };
    const changed = next(this.#subs.get(name));
    for (const r of remove) {
      if (!CLIENT_METRICS_CONFIGS.has(r)) {
        throw new KafkaError(
          ErrorCode.INVALID_REQUEST,
          `Unknown client metrics configuration: ${r}`,
        );
      }
    }
    validateSubscription(name, changed);
    if (options.validateOnly) return;
    const edit = (doc: Subscriptions): Subscriptions => {
      const out = SUBSCRIPTIONS_FORMAT.copy!(doc);
      const c = next(out.get(name));
      if (Object.keys(c).length === 0) out.delete(name);
      else out.set(name, c);
      return out;
    };
    const run = this.#writing.then(async () => {
      this.#set(this.#storage === null ? edit(this.#subs) : await this.#storage.update(edit));
    });
    this.#writing = run.catch(() => {});
    await run;
  }
}

/** What the broker knows of a client when it asks or pushes. */
export interface ClientInfo {
  /** The request header's client id (`""` when null). */
  clientId: string;
  /** ApiVersions v3+'s client software name (`""` when not given). */
  softwareName: string;
  /** ApiVersions v3+'s client software version. */
  softwareVersion: string;
  /** The connection's remote address. */
  sourceAddress: string;
  /** The connection's remote port. */
  sourcePort: string;
}

/**
 * What a request's connection tells of its client: the header's client id, ApiVersions v3+'s
 * software name and version, the remote address and port.
 *
 * @param ctx The request.
 * @returns The client's attributes for `match` patterns.
 */
export function clientInfoOf(ctx: RequestContext): ClientInfo {
  const remote = ctx.connection.remote;
  const colon = remote.lastIndexOf(":");
  const host = colon < 0 ? remote : remote.slice(0, colon);
  return {
    clientId: ctx.clientId ?? "",
    softwareName: ctx.connection.clientSoftware?.name ?? "",
    softwareVersion: ctx.connection.clientSoftware?.version ?? "",
    sourceAddress: host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host,
    sourcePort: colon < 0 ? "" : remote.slice(colon + 1),
  };
}

/** One client instance the broker knows (Kafka's `ClientMetricsInstance`). */
export interface ClientInstance {
  /** Its id (base64url Uuid). */
  readonly id: string;
  /** Who it is. */
  readonly client: ClientInfo;
  /** The subscription id given to it. */
  readonly subscriptionId: number;
  /** The metric prefixes it should push (`["*"]`: all; empty: none). */
  readonly metrics: readonly string[];
  /** The push interval given to it. */
  readonly pushIntervalMs: number;
  /** The subscription version it was matched at. */
  readonly subscriptionVersion: number;
  /** When its last GetTelemetrySubscriptions was answered (0: never). */
  lastGetMs: number;
  /** When its last push was let through the interval check (0: never). */
  lastPushMs: number;
  /** Its last push said it was terminating: nothing more is accepted. */
  terminating: boolean;
  /** The error code of its last request (0: none). */
  lastError: number;
  /** When it was last heard of (expiry). */
  lastSeenMs: number;
  /** Its latest metric values, by series key. */
  values: Map<string, OtlpPoint>;
  /** Pushes accepted. */
  pushes: number;
}

/** Options of {@linkcode ClientMetricsManager}. */
export interface ClientMetricsOptions {
  /** Largest metrics payload accepted, compressed (`telemetry.max.bytes`). Default 1048576. */
  telemetryMaxBytes?: number;
  /** Most client instances kept (the least recently heard of go first). Default 1000. */
  maxInstances?: number;
  /** Most metric series kept per instance. Default 1000. */
  maxSeriesPerInstance?: number;
  /** Most metric series kept over all instances (new ones are dropped beyond). Default 20000. */
  maxSeries?: number;
  /** The clock, milliseconds (tests). Default `Date.now`. */
  now?: () => number;
  /** Called with each accepted non-empty payload, decompressed (OTLP forwarding). */
  onPayload?: (instance: ClientInstance, otlp: Uint8Array) => void;
}

/** The accepted compression types, in the broker's order of preference (Kafka's). */
export const ACCEPTED_COMPRESSION_TYPES: readonly number[] = [4, 3, 1, 2]; // zstd, lz4, gzip, snappy

/** How much a payload may grow when decompressed, relative to `telemetry.max.bytes`. */
export const DECOMPRESSED_FACTOR = 10;

/** A subscription answer (GetTelemetrySubscriptions' fields). */
export interface SubscriptionAnswer {
  /** 0, or THROTTLING_QUOTA_EXCEEDED. */
  errorCode: number;
  /** Why, for the log, with an error. */
  errorMessage?: string;
  /** The instance id (a new one for a zero id). */
  clientInstanceId: string;
  /** The subscription id to push with. */
  subscriptionId: number;
  /** Compression types the broker decodes, preferred first. */
  acceptedCompressionTypes: number[];
  /** How often to push. */
  pushIntervalMs: number;
  /** Largest payload accepted (`telemetry.max.bytes`). */
  telemetryMaxBytes: number;
  /** Whether sums are to be pushed as deltas (false: cumulative). */
  deltaTemporality: boolean;
  /** Metric name prefixes to push (`["*"]`: all; empty: none). */
  requestedMetrics: string[];
}

/** CRC-32C (Castagnoli), for subscription ids as Kafka computes them. */
const CRC32C_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

function crc32c(data: Uint8Array): number {
  let c = -1;
  for (const b of data) c = CRC32C_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ -1) | 0;
}

/** Java's `Uuid.hashCode()` of a base64url Uuid. */
function uuidHash(id: string): number {
  const bin = atob(id.replaceAll("-", "+").replaceAll("_", "/") + "==");
  const v = new DataView(new ArrayBuffer(16));
  for (let i = 0; i < 16; i++) v.setUint8(i, bin.charCodeAt(i));
  const h = v.getBigInt64(0) ^ v.getBigInt64(8);
  return Number(BigInt.asIntN(32, h >> 32n)) ^ Number(BigInt.asIntN(32, h));
}

/**
 * The subscription id: the CRC-32C of the metrics (sorted, as Java prints a set: `[a, b]`)
 * followed by the push interval, XORed with the client instance id's hash (Kafka's
 * `computeSubscriptionId`, with a deterministic order).
 *
 * @param metrics The metric prefixes.
 * @param pushIntervalMs The push interval.
 * @param clientInstanceId The instance id.
 * @returns The id.
 */
export function subscriptionId(
  metrics: readonly string[],
  pushIntervalMs: number,
  clientInstanceId: string,
): number {
  const text = `[${[...metrics].sort().join(", ")}]${pushIntervalMs}`;
  return crc32c(new TextEncoder().encode(text)) ^ uuidHash(clientInstanceId);
}

/** The error and message of a refused push. */
class Refusal extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** The fields of a PushTelemetry request the manager checks and reads. */
export interface PushRequest {
  /** The client's instance id (a Uuid in base64). */
  clientInstanceId: string;
  /** The subscription the client pushes for. */
  subscriptionId: number;
  /** Whether this is the client's last push. */
  terminating: boolean;
  /** The payload's compression (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
  compressionType: number;
  /** The OTLP `MetricsData` payload, compressed as `compressionType` says. */
  metrics: Uint8Array;
}

/**
 * The client instances, their subscriptions and their latest metrics (Kafka's
 * `ClientMetricsManager`).
 *
 * @example
 * ```ts
 * import { ClientMetricsManager, ClientMetricsSubscriptions } from "./client_metrics.ts";
 * const subs = await ClientMetricsSubscriptions.openWith(null);
 * await subs.alter("all", { metrics: "*" }, []);
 * const m = new ClientMetricsManager(subs);
 * const client = {
 *   clientId: "app", softwareName: "x", softwareVersion: "1", sourceAddress: "127.0.0.1",
 *   sourcePort: "5000",
 * };
 * const got = m.getSubscriptions("AAAAAAAAAAAAAAAAAAAAAA", client);
 * console.assert(got.errorCode === 0 && got.requestedMetrics[0] === "*");
 * ```
 */
export class ClientMetricsManager {
  readonly #subs: ClientMetricsSubscriptions;
  readonly #instances = new Map<string, ClientInstance>();
  readonly #now: () => number;
  readonly #onPayload?: (instance: ClientInstance, otlp: Uint8Array) => void;
  /** `telemetry.max.bytes`. */
  readonly telemetryMaxBytes: number;
  /** Most instances kept. */
  readonly maxInstances: number;
  /** Most series kept per instance. */
  readonly maxSeriesPerInstance: number;
  /** Most series kept over all instances. */
  readonly maxSeries: number;
  /** Series kept now, over all instances. */
  #series = 0;
  /** Counters for `/metrics` (Kafka's `client-metrics` group). */
  readonly stats = { throttled: 0, unknownSubscription: 0, pushes: 0, pushErrors: 0 };

  /**
   * @param subscriptions The subscriptions.
   * @param options Bounds and the clock.
   */
  constructor(subscriptions: ClientMetricsSubscriptions, options: ClientMetricsOptions = {}) {
    this.#subs = subscriptions;
    this.#now = options.now ?? Date.now;
    this.#onPayload = options.onPayload;
    this.telemetryMaxBytes = options.telemetryMaxBytes ?? 1_048_576;
    this.maxInstances = options.maxInstances ?? 1000;
    this.maxSeriesPerInstance = options.maxSeriesPerInstance ?? 1000;
    this.maxSeries = options.maxSeries ?? 20_000;
  }

  /** The subscriptions. */
  get subscriptions(): ClientMetricsSubscriptions {
    return this.#subs;
  }

  /** The live client instances (expired ones are dropped first). */
  instances(): ClientInstance[] {
    this.#expire(this.#now());
    return [...this.#instances.values()];
  }

  /** Drop instances not heard of for max(60 s, 3 push intervals), as Kafka's expiry does. */
  #expire(now: number): void {
    for (const [id, inst] of this.#instances) {
      if (now - inst.lastSeenMs >= Math.max(60_000, 3 * inst.pushIntervalMs)) {
        this.#drop(id);
      }
    }
  }

  /** Forget an instance and its series. */
  #drop(id: string): void {
    const inst = this.#instances.get(id);
    if (inst === undefined) return;
    this.#series -= inst.values.size;
    this.#instances.delete(id);
  }

  /** Series kept now, over all instances. */
  get seriesCount(): number {
    return this.#series;
  }

  #newInstanceId(): string {
    for (;;) {
      const id = newTopicId();
      if (!this.#instances.has(id)) return id;
    }
  }

  /** The instance of `id`, created or matched again when the subscriptions changed. */
  #instance(id: string, client: ClientInfo, now: number): ClientInstance {
    this.#expire(now);
    let inst = this.#instances.get(id);
    if (inst === undefined || inst.subscriptionVersion < this.#subs.version) {
      const known = inst?.client ?? client;
      let intervalMs = INTERVAL_MS_DEFAULT;
      const metrics = new Set<string>();
      let all = false;
      let matched = false;
      const attrs: Record<string, string> = {
        client_instance_id: id,
        client_id: known.clientId,
        client_software_name: known.softwareName,
        client_software_version: known.softwareVersion,
        client_source_address: known.sourceAddress,
        client_source_port: known.sourcePort,
      };
      for (const s of this.#subs.parsed) {
        if (![...s.match].every(([param, re]) => re.test(attrs[param]))) continue;
        matched = true;
        if (s.metrics.includes(ALL_METRICS)) all = true;
        for (const m of s.metrics) metrics.add(m);
        intervalMs = Math.min(intervalMs, s.intervalMs);
      }
      const list = all ? [ALL_METRICS] : [...metrics].sort();
      if (!matched) intervalMs = INTERVAL_MS_DEFAULT;
      const fresh: ClientInstance = {
        id,
        client: known,
        subscriptionId: subscriptionId(list, intervalMs, id),
        metrics: list,
        pushIntervalMs: intervalMs,
        subscriptionVersion: this.#subs.version,
        // matched again: a new instance as in Kafka (asks and pushes are accepted at once)
        lastGetMs: 0,
        lastPushMs: 0,
        terminating: false,
        lastError: 0,
        lastSeenMs: now,
        values: inst?.values ?? new Map(),
        pushes: inst?.pushes ?? 0,
      };
      if (inst !== undefined) this.#instances.delete(id);
      inst = fresh;
      while (this.#instances.size >= this.maxInstances) {
        // the least recently heard of (Map order: oldest touch first)
        this.#drop(this.#instances.keys().next().value!);
      }
    } else this.#instances.delete(id);
    inst.lastSeenMs = now;
    this.#instances.set(id, inst); // most recently heard of last
    return inst;
  }

  /**
   * Answer a GetTelemetrySubscriptions request.
   *
   * @param clientInstanceId The request's id (zero: a new one is generated).
   * @param client Who asks.
   * @returns The answer: THROTTLING_QUOTA_EXCEEDED when asked again before the push interval,
   *   unless the last push failed with UNKNOWN_SUBSCRIPTION_ID or UNSUPPORTED_COMPRESSION_TYPE or
   *   the subscriptions changed.
   */
  getSubscriptions(clientInstanceId: string, client: ClientInfo): SubscriptionAnswer {
    const now = this.#now();
    const id = clientInstanceId === ZERO_UUID ? this.#newInstanceId() : clientInstanceId;
    const inst = this.#instance(id, client, now);
    const answer: SubscriptionAnswer = {
      errorCode: 0,
      clientInstanceId: id,
      subscriptionId: inst.subscriptionId,
      acceptedCompressionTypes: [...ACCEPTED_COMPRESSION_TYPES],
      pushIntervalMs: inst.pushIntervalMs,
      telemetryMaxBytes: this.telemetryMaxBytes,
      // cumulative sums: their latest values are what /metrics shows
      deltaTemporality: false,
      requestedMetrics: [...inst.metrics],
    };
    const elapsed = now - Math.max(inst.lastGetMs, inst.lastPushMs);
    if (
      elapsed < inst.pushIntervalMs &&
      inst.lastError !== ErrorCode.UNKNOWN_SUBSCRIPTION_ID &&
      inst.lastError !== ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    ) {
      this.stats.throttled++;
      return {
        ...answer,
        errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED,
        errorMessage: `Request from the client [${id}] arrived before the next push interval time`,
      };
    }
    inst.lastGetMs = now;
    inst.lastError = 0;
    return answer;
  }

  /**
   * Handle a PushTelemetry request: check it (Kafka's order: terminated instance, push interval,
   * subscription id, compression type, size), then decode the OTLP metrics and keep their latest
   * values.
   *
   * @param req The request's fields.
   * @param client Who pushes.
   * @returns The error code (0: accepted) and a message.
   */
  push(
    req: PushRequest,
    client: ClientInfo,
  ): { errorCode: number; message: string | null } {
    const id = req.clientInstanceId;
    if (id === ZERO_UUID || id === "AAAAAAAAAAAAAAAAAAAAAQ") {
      // Uuid.RESERVED: the zero and the metadata topic ids
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        message: `Invalid request from the client [${id}], invalid client instance id`,
      };
    }
    const now = this.#now();
    const inst = this.#instance(id, client, now);
    let data: Uint8Array;
    try {
      try {
        this.#validatePush(req, inst, now);
      } finally {
        inst.terminating = req.terminating;
      }
      data = req.metrics;
      if (data.length === 0) {
        inst.lastError = 0;
        return { errorCode: 0, message: null };
      }
      const codec = compressionName(req.compressionType)!;
      try {
        data = decompress(data, codec, {
          maxBytes: this.telemetryMaxBytes * DECOMPRESSED_FACTOR,
        });
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        if (/larger than the limit/.test(message)) {
          throw new Refusal(
            ErrorCode.TELEMETRY_TOO_LARGE,
            `Telemetry from [${id}] decompresses to more than ${
              this.telemetryMaxBytes * DECOMPRESSED_FACTOR
            } bytes`,
          );
        }
        throw new Refusal(ErrorCode.INVALID_RECORD, `Telemetry from [${id}]: ${message}`);
      }
      let points: OtlpPoint[];
      try {
        points = decodeMetricsData(data, {
          maxPoints: this.maxSeriesPerInstance * 4,
          maxAttributes: 8,
          maxStringLength: 128,
        }).points;
      } catch (e) {
        throw new Refusal(
          ErrorCode.INVALID_RECORD,
          `Telemetry from [${id}] is not OTLP metrics: ${e instanceof Error ? e.message : e}`,
        );
      }
      this.#record(inst, points);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      inst.lastError = e.code;
      this.stats.pushErrors++;
      return { errorCode: e.code, message: e.message };
    }
    inst.lastError = 0;
    inst.pushes++;
    this.stats.pushes++;
    this.#onPayload?.(inst, data);
    return { errorCode: 0, message: null };
  }

  #validatePush(
    req: PushRequest,
    inst: ClientInstance,
    now: number,
  ): void {
    const id = req.clientInstanceId;
    if (inst.terminating) {
      throw new Refusal(
        ErrorCode.INVALID_REQUEST,
        `Client [${id}] sent the previous request with state terminating to TRUE, can not ` +
          "accept any requests after that",
      );
    }
    // a push right after GetTelemetrySubscriptions is accepted at once (the client's jitter)
    let accept = inst.lastGetMs > inst.lastPushMs;
    if (!accept) accept = now - inst.lastPushMs >= inst.pushIntervalMs;
    if (accept) inst.lastPushMs = now;
    else if (!req.terminating) {
      this.stats.throttled++;
      throw new Refusal(
        ErrorCode.THROTTLING_QUOTA_EXCEEDED,
        `Request from the client [${id}] arrived before the next push interval time`,
      );
    }
    if (req.subscriptionId !== inst.subscriptionId) {
      this.stats.unknownSubscription++;
      throw new Refusal(
        ErrorCode.UNKNOWN_SUBSCRIPTION_ID,
        `Unknown client subscription id for the client [${id}]`,
      );
    }
    if (compressionName(req.compressionType) === undefined) {
      throw new Refusal(
        ErrorCode.UNSUPPORTED_COMPRESSION_TYPE,
        `Unknown compression type [${req.compressionType}] is received in telemetry request from [${id}]`,
      );
    }
    if (req.metrics.length > this.telemetryMaxBytes) {
      throw new Refusal(
        ErrorCode.TELEMETRY_TOO_LARGE,
        `Telemetry request from [${id}] is larger than the maximum allowed size [${this.telemetryMaxBytes}]`,
      );
    }
  }

  /** Keep the latest value of each series the client was asked for (bounded per instance). */
  #record(inst: ClientInstance, points: readonly OtlpPoint[]): void {
    const all = inst.metrics.includes(ALL_METRICS);
    for (const p of points) {
      if (!all && !inst.metrics.some((m) => p.name.startsWith(m))) continue;
      const key = `${p.name}\u0000${
        p.attributes.map(([k, v]) => `${k}=${v}`).sort().join("\u0000")
      }`;
      const old = inst.values.get(key);
      if (old === undefined) {
        if (inst.values.size >= this.maxSeriesPerInstance || this.#series >= this.maxSeries) {
          continue;
        }
        this.#series++;
      }
      if (p.kind === "sum" && p.temporality === 1 && old !== undefined && old.kind === "sum") {
        // a delta sum (a client that ignored deltaTemporality=false): kept as a running total
        inst.values.set(key, { ...p, value: old.value + p.value, temporality: 2 });
      } else {inst.values.set(
          key,
          p.kind === "sum" && p.temporality === 1 ? { ...p, temporality: 2 } : p,
        );}
    }
  }
}
