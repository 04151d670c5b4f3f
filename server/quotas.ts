// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Client quotas (KIP-13 byte rates, KIP-55 user quotas, KIP-124 request percentage, KIP-219
 * client-side throttling, KIP-546 AlterClientQuotas/DescribeClientQuotas): the quota entities and
 * their values ({@linkcode ClientQuotaStore}), resolved in Kafka's precedence order, and the rate
 * sensors that turn what a client does into a throttle time ({@linkcode ClientQuotaManager}, Kafka's
 * `ClientQuotaManager`).
 *
 * Standalone, the quotas live in `sluice-client-quotas.json` in the data directory, replaced
 * atomically on every change; in cluster mode in one etcd key, `<prefix>/<cluster>/client-quotas`,
 * changed by compare-and-swap and watched by every broker (as the SCRAM credentials are). A change
 * applies to the next request, without a restart.
 *
 * @module
 */

import type { EtcdClient } from "./cluster/etcd.ts";
import type { SharedRates } from "./shared_rates.ts";
import {
  type DocumentFormat,
  type DocumentStorage,
  EtcdDocumentStorage,
  FileDocumentStorage,
} from "./document_store.ts";

/** File in the data directory holding the client quotas. */
export const CLIENT_QUOTAS_FILE = "sluice-client-quotas.json";

/** The entity types Kafka's client quotas name. */
export const USER = "user";
/** The client-id entity type. */
export const CLIENT_ID = "client-id";
/** The ip entity type (KIP-612: connection creation rate per client address). */
export const IP = "ip";
/** The only quota key of an ip entity (Kafka's `QuotaConfigs.IP_CONNECTION_RATE_OVERRIDE_CONFIG`). */
export const CONNECTION_CREATION_RATE = "connection_creation_rate";
/** Kafka's `IP_CONNECTION_RATE_DEFAULT` (`Int.MaxValue`): no connection rate quota. */
const INT_MAX = 2147483647;

/** Quota keys and whether each takes whole numbers only (Kafka's `QuotaConfigs`). */
export const QUOTA_KEYS: ReadonlyMap<string, "long" | "double"> = new Map([
  ["producer_byte_rate", "long"],
  ["consumer_byte_rate", "long"],
  ["request_percentage", "double"],
]);

/** The quota key of an ip entity and its type (Kafka's `QuotaConfigs.ipConfigs`: an INT). */
export const IP_QUOTA_KEYS: ReadonlyMap<string, "int"> = new Map([[
  CONNECTION_CREATION_RATE,
  "int",
]]);

/** The quota types, in the order of the shards' shared throttle counters. */
const TYPES: readonly QuotaType[] = [
  "producer_byte_rate",
  "consumer_byte_rate",
  "request_percentage",
];

/** Which of the three quotas a sensor measures. */
export type QuotaType = "producer_byte_rate" | "consumer_byte_rate" | "request_percentage";

/**
 * A quota entity: a user, a client id, or both; or a client address (`ip`, never with the
 * others); `null` is the `<default>` entity of that type. An absent field means the type is not
 * part of the entity.
 */
export interface QuotaEntity {
  /** The user (principal name), `null` for `<default>`. */
  user?: string | null;
  /** The client id, `null` for `<default>`. */
  clientId?: string | null;
  /** The client address ({@linkcode normalizeIp}), `null` for `<default>`. */
  ip?: string | null;
}

/** One stored entry: an entity and its quota values. */
export interface QuotaEntry {
  /** The entity. */
  entity: QuotaEntity;
  /** Quota key -> value. */
  values: Map<string, number>;
}

/** All quotas, by {@linkcode entityKey}. */
export type QuotaEntries = Map<string, QuotaEntry>;

/** One change of {@linkcode ClientQuotaStore.apply}: set (`value`) or remove (`null`) a key. */
export interface QuotaChange {
  /** The entity. */
  entity: QuotaEntity;
  /** The quota key. */
  key: string;
  /** The new value, or `null` to remove the key. */
  value: number | null;
}

/**
 * The key of an entity in {@linkcode QuotaEntries} and in the stored form.
 *
 * @example
 * ```ts
 * import { entityKey } from "./quotas.ts";
 * console.assert(entityKey({ user: null, clientId: "app" }) === "user=<default>,client-id=app");
 * ```
 *
 * @param e The entity.
 * @returns `user=...,client-id=...` (`<default>` for null; the parts present only).
 */
export function entityKey(e: QuotaEntity): string {
  const parts: string[] = [];
  if (e.user !== undefined) parts.push(`user=${e.user === null ? "<default>" : esc(e.user)}`);
  if (e.clientId !== undefined) {
    parts.push(`client-id=${e.clientId === null ? "<default>" : esc(e.clientId)}`);
  }
  if (e.ip !== undefined) parts.push(`ip=${e.ip === null ? "<default>" : esc(e.ip)}`);
  return parts.join(",");
}

function esc(name: string): string {
  // names are kept apart from the separators and the <default> marker
  return name.replace(/%/g, "%25").replace(/,/g, "%2C").replace(/=/g, "%3D").replace(/</g, "%3C");
}

/** Where the quotas are kept: a file of the data directory, or a key of etcd. */
export type QuotaStorage = DocumentStorage<QuotaEntries>;

/** How the quotas are stored: `{"version": 1, "quotas": [...]}`. */
const QUOTAS_FORMAT: DocumentFormat<QuotaEntries> = {
  what: "client quotas",
  empty: () => new Map(),
  parse: parseStored,
  serialize,
  copy,
};

/** The quotas in `sluice-client-quotas.json` of a data directory (standalone broker). */
export class FileQuotaStorage extends FileDocumentStorage<QuotaEntries> {
  /**
   * The quotas of a data directory.
   *
   * @param dir The data directory.
   */
  constructor(dir: string) {
    super(`${dir}/${CLIENT_QUOTAS_FILE}`, QUOTAS_FORMAT);
  }
}

/** The quotas of a cluster in one etcd key every broker watches (compare-and-swap). */
export class EtcdQuotaStorage extends EtcdDocumentStorage<QuotaEntries> {
  /**
   * The quotas of a cluster.
   *
   * @param etcd The cluster's etcd client.
   * @param key The key (`<prefix>/<cluster>/client-quotas`).
   */
  constructor(etcd: EtcdClient, key: string) {
    super(etcd, key, QUOTAS_FORMAT);
  }
}

/**
 * The configured client quotas, kept in a {@linkcode QuotaStorage}.
 *
 * @example
 * ```ts
 * import { ClientQuotaStore } from "./quotas.ts";
 *
 * const store = await ClientQuotaStore.open(null);
 * await store.apply([{ entity: { user: "alice" }, key: "producer_byte_rate", value: 1024 }]);
 * console.assert(store.resolve("producer_byte_rate", "alice", "app")?.bound === 1024);
 * ```
 */
export class ClientQuotaStore {
  readonly #storage: QuotaStorage | null;
  #entries: QuotaEntries = new Map();
  #writing: Promise<void> = Promise.resolve();
  #cache = new Map<string, Resolved | null>();
  /** Bumped at every change: resolutions cached by sensors are then looked up again. */
  generation = 0;
  /**
   * No user or client-id quota is configured: the request path checks this and nothing else
   * (ip quotas apply to new connections only).
   */
  empty = true;
  /** Some ip quota (`connection_creation_rate`) is configured: accepts look them up. */
  hasIpQuotas = false;

  private constructor(storage: QuotaStorage | null) {
    this.#storage = storage;
  }

  /**
   * Load the quotas of a data directory (`null`: in memory only, for tests).
   * Needs `--allow-read` (and `--allow-write` to change them).
   *
   * @param dir The data directory, or `null`.
   * @returns The store.
   * @throws {Error} If the file exists but cannot be read or is malformed.
   */
  static open(dir: string | null): Promise<ClientQuotaStore> {
    return ClientQuotaStore.openWith(dir === null ? null : new FileQuotaStorage(dir));
  }

  /**
   * A store kept in memory only (tests, handlers called directly).
   *
   * @returns An empty store.
   */
  static openMemory(): ClientQuotaStore {
    return new ClientQuotaStore(null);
  }

  /**
   * Load the quotas of any storage and follow changes other brokers make to it.
   *
   * @param storage Where the quotas are; `null` keeps them in memory only.
   * @returns The store.
   * @throws {Error} If the quotas cannot be read or are malformed.
   */
  static async openWith(storage: QuotaStorage | null): Promise<ClientQuotaStore> {
    const store = new ClientQuotaStore(storage);
    if (storage === null) return store;
    store.#set(await storage.load());
    await storage.watch?.((entries) => store.#set(entries));
    return store;
  }

  #set(entries: QuotaEntries): void {
    this.#entries = entries;
    this.#cache.clear();
    this.generation++;
    let ip = 0;
    for (const e of entries.values()) if (e.entity.ip !== undefined) ip++;
    this.empty = entries.size === ip;
    this.hasIpQuotas = ip > 0;
  }

  /**
   * Take another store's quotas as they are (a shard of a sharded broker, from shard 0, which
   * keeps them), without saving them.
   *
   * @param entries The quotas ({@linkcode ClientQuotaStore.snapshot} of the other store).
   */
  replace(entries: QuotaEntries): void {
    this.#set(copy(entries));
  }

  /**
   * The quotas as they are now, to hand to {@linkcode ClientQuotaStore.replace} (a copy,
   * structured-cloneable).
   *
   * @returns The entries.
   */
  snapshot(): QuotaEntries {
    return copy(this.#entries);
  }

  /** Where the quotas are kept, for messages. */
  get storage(): string {
    return this.#storage?.description ?? "memory";
  }

  /** Stop following changes made elsewhere. */
  close(): void {
    this.#storage?.close?.();
  }

  /** Every entry, in key order. */
  entries(): QuotaEntry[] {
    return [...this.#entries.keys()].sort().map((k) => this.#entries.get(k)!);
  }

  /**
   * Apply validated changes and save them durably before returning.
   *
   * @param changes The changes.
   * @throws {Error} If the storage cannot be written (nothing is applied then).
   */
  async apply(changes: readonly QuotaChange[]): Promise<void> {
    const edit = (current: QuotaEntries): QuotaEntries => {
      const next = copy(current);
      for (const c of changes) {
        const k = entityKey(c.entity);
        const entry = next.get(k) ?? { entity: { ...c.entity }, values: new Map() };
        if (c.value === null) entry.values.delete(c.key);
        else entry.values.set(c.key, c.value);
        if (entry.values.size === 0) next.delete(k);
        else next.set(k, entry);
      }
      return next;
    };
    const run = this.#writing.then(async () => {
      this.#set(this.#storage === null ? edit(this.#entries) : await this.#storage.update(edit));
    });
    this.#writing = run.catch(() => {});
    await run;
  }

  /**
   * The `connection_creation_rate` of a client address (KIP-612): the address's own, else the
   * `<default>` ip entity's (Kafka's `ConnectionQuotas.connectionRateForIp`).
   *
   * @param host The address ({@linkcode normalizeIp}).
   * @returns Connections per second, or `undefined` when none applies.
   */
  ipConnectionRate(host: string): number | undefined {
    if (!this.hasIpQuotas) return undefined;
    const own = this.#entries.get(entityKey({ ip: host }))?.values.get(CONNECTION_CREATION_RATE);
    const rate = own ??
      this.#entries.get(entityKey({ ip: null }))?.values.get(CONNECTION_CREATION_RATE);
    return rate === undefined || rate >= INT_MAX ? undefined : rate;
  }

  /**
   * The quota of `type` that applies to a user's client, in Kafka's order:
   * /config/users/<user>/clients/<client-id>, /config/users/<user>/clients/<default>,
   * /config/users/<user>, /config/users/<default>/clients/<client-id>,
   * /config/users/<default>/clients/<default>, /config/users/<default>,
   * /config/clients/<client-id>, /config/clients/<default>.
   *
   * @param type The quota key.
   * @param user The principal's name (`ANONYMOUS` when not authenticated).
   * @param clientId The request header's client id (`""` when null).
   * @returns The bound and the sensor it is measured by (who shares it), or `null`.
   */
  resolve(type: QuotaType, user: string, clientId: string): Resolved | null {
    const ck = `${type}\u0000${user}\u0000${clientId}`;
    const cached = this.#cache.get(ck);
    if (cached !== undefined) return cached;
    let found: Resolved | null = null;
    for (const e of precedence(user, clientId)) {
      const v = this.#entries.get(entityKey(e))?.values.get(type);
      if (v === undefined) continue;
      // the sensor: one per user and/or client id named (a <default> entity stands for each)
      const sUser = e.user !== undefined ? user : "";
      const sClient = e.clientId !== undefined ? clientId : "";
      found = { bound: v, sensor: `${type}\u0000${sUser}\u0000${sClient}`, entity: e };
      break;
    }
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(ck, found);
    return found;
  }
}

/** A resolved quota: its bound and the sensor it is measured by. */
export interface Resolved {
  /** The quota (bytes per second, or percent). */
  bound: number;
  /** The sensor's key: quota type, user or "", client id or "". */
  sensor: string;
  /** The entity the quota was found at. */
  entity: QuotaEntity;
}

function precedence(user: string, clientId: string): QuotaEntity[] {
  return [
    { user, clientId },
    { user, clientId: null },
    { user },
    { user: null, clientId },
    { user: null, clientId: null },
    { user: null },
    { clientId },
    { clientId: null },
  ];
}

function copy(entries: QuotaEntries): QuotaEntries {
  return new Map(
    [...entries].map(([k, e]) => [k, { entity: { ...e.entity }, values: new Map(e.values) }]),
  );
}

interface StoredEntry {
  entity: { user?: string | null; "client-id"?: string | null; ip?: string | null };
  quotas: Record<string, number>;
}

function parseStored(text: string): QuotaEntries {
  const parsed = JSON.parse(text) as { version?: number; quotas?: StoredEntry[] };
  if (parsed?.version !== 1 || !Array.isArray(parsed.quotas)) {
    throw new Error(`unsupported version ${parsed?.version}`);
  }
  const out: QuotaEntries = new Map();
  for (const s of parsed.quotas) {
    const entity: QuotaEntity = {};
    if ("user" in s.entity) entity.user = s.entity.user ?? null;
    if ("client-id" in s.entity) entity.clientId = s.entity["client-id"] ?? null;
    if ("ip" in s.entity) entity.ip = s.entity.ip ?? null;
    if (entity.user === undefined && entity.clientId === undefined && entity.ip === undefined) {
      throw new Error("an entry without entity");
    }
    const keys = entity.ip !== undefined ? IP_QUOTA_KEYS : QUOTA_KEYS;
    const values = new Map<string, number>();
    for (const [k, v] of Object.entries(s.quotas)) {
      if (!keys.has(k) || typeof v !== "number" || !(v > 0)) {
        throw new Error(`invalid quota ${k}=${v} for ${entityKey(entity)}`);
      }
      values.set(k, v);
    }
    if (values.size > 0) out.set(entityKey(entity), { entity, values });
  }
  return out;
}

function serialize(entries: QuotaEntries): string {
  const quotas: StoredEntry[] = [...entries.keys()].sort().map((k) => {
    const e = entries.get(k)!;
    const entity: StoredEntry["entity"] = {};
    if (e.entity.user !== undefined) entity.user = e.entity.user;
    if (e.entity.clientId !== undefined) entity["client-id"] = e.entity.clientId;
    if (e.entity.ip !== undefined) entity.ip = e.entity.ip;
    return { entity, quotas: Object.fromEntries([...e.values].sort()) };
  });
  return JSON.stringify({ version: 1, quotas }, null, 2) + "\n";
}

/** `quota.window.num` and `quota.window.size.seconds` (Kafka's defaults: 11 and 1). */
export interface QuotaWindow {
  /** Number of samples kept. */
  samples: number;
  /** Length of one sample, in milliseconds. */
  windowMs: number;
}

/**
 * A rate over a window of samples: Kafka's `Rate` over a `SampledStat` (`Rate.windowSize`: the
 * time since the oldest sample, at least `samples - 1` whole windows).
 */
export class SampledRate {
  readonly #cfg: QuotaWindow;
  readonly #starts: number[] = [];
  readonly #values: number[] = [];
  #current = 0;

  /**
   * A rate.
   *
   * @param cfg The window.
   */
  constructor(cfg: QuotaWindow) {
    this.#cfg = cfg;
  }

  /**
   * Add `value` at `now` (milliseconds).
   *
   * @param value The amount.
   * @param now The time.
   */
  record(value: number, now: number): void {
    if (this.#starts.length === 0) {
      this.#starts.push(now);
      this.#values.push(0);
    } else if (now - this.#starts[this.#current] >= this.#cfg.windowMs) {
      this.#current = (this.#current + 1) % this.#cfg.samples;
      if (this.#current >= this.#starts.length) {
        this.#starts.push(now);
        this.#values.push(0);
      } else {
        this.#starts[this.#current] = now;
        this.#values[this.#current] = 0;
      }
    }
    this.#values[this.#current] += value;
  }

  #purge(now: number): void {
    const expire = this.#cfg.samples * this.#cfg.windowMs;
    for (let i = 0; i < this.#starts.length; i++) {
      if (now - this.#starts[i] >= expire) {
        this.#starts[i] = now;
        this.#values[i] = 0;
      }
    }
  }

  /**
   * The window the rate is measured over, in milliseconds (Kafka's `Rate.windowSize`).
   *
   * @param now The time.
   * @returns The window.
   */
  windowSize(now: number): number {
    this.#purge(now);
    let oldest = now;
    for (const s of this.#starts) if (s < oldest) oldest = s;
    let elapsed = now - oldest;
    const full = Math.floor(elapsed / this.#cfg.windowMs);
    const min = this.#cfg.samples - 1;
    if (full < min) elapsed += (min - full) * this.#cfg.windowMs;
    return Math.max(elapsed, 1);
  }

  /**
   * The rate per second at `now`.
   *
   * @param now The time.
   * @returns The rate.
   */
  measure(now: number): number {
    const w = this.windowSize(now);
    let total = 0;
    for (const v of this.#values) total += v;
    return total / (w / 1000);
  }
}

/**
 * Kafka's `ClientQuotaManager`: one rate sensor per quota and entity measured, and the throttle
 * time of a violation, `(rate - bound) / bound * window` (`QuotaUtils.throttleTime`).
 *
 * @example
 * ```ts
 * import { ClientQuotaManager, ClientQuotaStore } from "./quotas.ts";
 *
 * const store = await ClientQuotaStore.open(null);
 * await store.apply([{ entity: { clientId: null }, key: "producer_byte_rate", value: 1000 }]);
 * const quotas = new ClientQuotaManager(store);
 * console.assert(quotas.record("producer_byte_rate", "ANONYMOUS", "app", 500, 0) === 0);
 * console.assert(quotas.record("producer_byte_rate", "ANONYMOUS", "app", 50_000, 0) > 0);
 * ```
 */
export class ClientQuotaManager {
  /** The quotas. */
  readonly store: ClientQuotaStore;
  readonly #cfg: QuotaWindow;
  readonly #sensors = new Map<string, { rate: SampledRate; lastMs: number }>();
  /** Shards: the rates every shard shares (`shared_rates.ts`). */
  readonly #shared: SharedRates | undefined;
  readonly #throttleMs: Record<QuotaType, number> = {
    producer_byte_rate: 0,
    consumer_byte_rate: 0,
    request_percentage: 0,
  };
  readonly #throttled: Record<QuotaType, number> = {
    producer_byte_rate: 0,
    consumer_byte_rate: 0,
    request_percentage: 0,
  };

  /**
   * The manager of a store's quotas.
   *
   * @param store The quotas.
   * @param cfg `quota.window.num` samples of `quota.window.size.seconds` (11 of 1 s).
   */
  constructor(
    store: ClientQuotaStore,
    cfg: QuotaWindow = { samples: 11, windowMs: 1000 },
    shared?: SharedRates,
  ) {
    this.store = store;
    this.#cfg = cfg;
    this.#shared = shared;
  }

  /** Throttle time given, per quota type, in milliseconds (for `/metrics`; every shard's). */
  get throttleMsTotal(): Readonly<Record<QuotaType, number>> {
    return this.#totals("ms");
  }

  /** Throttled responses, per quota type (every shard's). */
  get throttledTotal(): Readonly<Record<QuotaType, number>> {
    return this.#totals("count");
  }

  #totals(what: "ms" | "count"): Record<QuotaType, number> {
    const shared = this.#shared;
    if (shared === undefined) return { ...(what === "ms" ? this.#throttleMs : this.#throttled) };
    const out = {} as Record<QuotaType, number>;
    TYPES.forEach((t, i) => out[t] = shared.throttled(i)[what]);
    return out;
  }

  /**
   * Record `value` for a client and return the throttle time it earns (0 when within its quota
   * or when it has none).
   *
   * @param type The quota.
   * @param user The principal name.
   * @param clientId The client id (`""` when null).
   * @param value Bytes, or percent-seconds of request time.
   * @param now The time in milliseconds.
   * @returns The throttle time in milliseconds.
   */
  record(type: QuotaType, user: string, clientId: string, value: number, now: number): number {
    const q = this.store.resolve(type, user, clientId);
    if (q === null) return 0;
    const m = this.#record(q.sensor, value, now);
    if (m.rate <= q.bound) return 0;
    let ms = Math.round((m.rate - q.bound) / q.bound * m.windowMs);
    // Kafka's ClientRequestQuotaManager bounds a request-time throttle by one window
    // (`QuotaUtils.boundedThrottleTime`); the byte rates are not bounded, but the field is an int32
    ms = Math.min(ms, type === "request_percentage" ? this.#cfg.windowMs : 0x7fffffff);
    if (this.#shared !== undefined) this.#shared.countThrottle(TYPES.indexOf(type), ms);
    else {
      this.#throttleMs[type] += ms;
      this.#throttled[type]++;
    }
    return ms;
  }

  /** Record into a sensor and measure it: the shards' shared one, else this broker's. */
  #record(sensor: string, value: number, now: number): { rate: number; windowMs: number } {
    const shared = this.#shared?.record(sensor, value, now);
    if (shared !== undefined && shared !== null) return shared;
    let s = this.#sensors.get(sensor);
    if (s === undefined) {
      if (this.#sensors.size > 100_000) this.#expire(now);
      s = { rate: new SampledRate(this.#cfg), lastMs: now };
      this.#sensors.set(sensor, s);
    }
    s.lastMs = now;
    s.rate.record(value, now);
    return { rate: s.rate.measure(now), windowMs: s.rate.windowSize(now) };
  }

  /**
   * The most a client may use in one window (Kafka's `getMaxValueInQuotaWindow`: the bound
   * times `samples - 1` windows); no quota: Infinity.
   *
   * @param type The quota.
   * @param user The principal name.
   * @param clientId The client id.
   * @returns The bound in bytes (or percent-seconds).
   */
  maxValueInWindow(type: QuotaType, user: string, clientId: string): number {
    const q = this.store.resolve(type, user, clientId);
    if (q === null) return Infinity;
    return Math.max(1, Math.floor(q.bound * (this.#cfg.samples - 1) * this.#cfg.windowMs / 1000));
  }

  /**
   * Take back `value` recorded by {@linkcode record} (a throttled Fetch answered empty, as
   * Kafka's `unrecordQuotaSensor`).
   *
   * @param type The quota.
   * @param user The principal name.
   * @param clientId The client id.
   * @param value What was recorded.
   * @param now The time in milliseconds.
   */
  unrecord(type: QuotaType, user: string, clientId: string, value: number, now: number): void {
    const q = this.store.resolve(type, user, clientId);
    if (q === null) return;
    if (this.#shared !== undefined && this.#shared.record(q.sensor, -value, now) !== null) return;
    this.#sensors.get(q.sensor)?.rate.record(-value, now);
  }

  /** Drop sensors idle for an hour (Kafka's sensors expire the same way). */
  #expire(now: number): void {
    for (const [k, s] of this.#sensors) if (now - s.lastMs > 3_600_000) this.#sensors.delete(k);
  }
}

/**
 * Validate one quota value as Kafka's `ClientQuotaControlManager` does.
 *
 * @example
 * ```ts
 * import { validateQuota } from "./quotas.ts";
 * console.assert(validateQuota("bogus", 1) === "Invalid configuration key bogus");
 * console.assert(validateQuota("producer_byte_rate", 1024) === null);
 * ```
 *
 * @param key The quota key.
 * @param value The value.
 * @param ip The entity is an ip entity (its only key is `connection_creation_rate`, an INT).
 * @returns The error message, or `null` when valid.
 */
export function validateQuota(key: string, value: number, ip = false): string | null {
  if (ip) {
    // Kafka's ClientQuotaControlManager.validateQuotaKeyValue for QuotaConfigs.ipConfigs (an INT)
    if (!IP_QUOTA_KEYS.has(key)) return `Invalid configuration key ${key}`;
    if (!(value > 0)) return `Quota ${key} must be greater than 0`;
    if (value > INT_MAX) return `Proposed value for ${key} is too large for an INT.`;
    if (Math.abs(value % 1) > 1e-6) return `${key} cannot be a fractional value.`;
    return null;
  }
  const type = QUOTA_KEYS.get(key);
  if (type === undefined) return `Invalid configuration key ${key}`;
  if (!Number.isFinite(value) || value <= 0) return `Quota ${key} must be greater than 0`;
  if (type === "long") {
    const epsilon = 1e-6;
    const long = Math.trunc(value + epsilon);
    if (Math.abs(long - value) > epsilon) return `Configuration ${key} must be a Long value`;
  }
  return null;
}

/**
 * The address an ip quota entity names, as connections are counted by (Kafka resolves it with
 * `InetAddress.getByName`): an IPv4 address, or an IPv6 one in its compressed lower-case form.
 *
 * @example
 * ```ts
 * import { normalizeIp } from "./quotas.ts";
 * console.assert(normalizeIp("0:0:0:0:0:0:0:1") === "::1");
 * console.assert(normalizeIp("10.0.0.300") === null);
 * ```
 *
 * @param name The entity name.
 * @returns The address, or `null` when it is not an IP address.
 */
export function normalizeIp(name: string): string | null {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(name);
  if (v4 !== null) {
    const parts = v4.slice(1).map(Number);
    return parts.every((n) => n <= 255) ? parts.join(".") : null;
  }
  const bare = name.startsWith("[") && name.endsWith("]") ? name.slice(1, -1) : name;
  if (!bare.includes(":") || !/^[0-9a-fA-F:.]+$/.test(bare)) return null;
  try {
    return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return null;
  }
}
