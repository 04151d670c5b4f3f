// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Connection limits, Kafka's `ConnectionQuotas`: `max.connections` (the broker's connections
 * together) and `max.connections.per.ip` with `max.connections.per.ip.overrides` (per client
 * address), all dynamic as in Kafka.
 *
 * - **max.connections**: while the broker holds that many connections, a listener stops taking
 *   new ones (Kafka's acceptor blocks in `waitForConnectionSlot`): one accepted connection waits,
 *   unread, the others stay in the kernel's backlog, until a connection closes or the limit is
 *   raised. The inter-broker listener is exempt when the broker has more than one listener
 *   (Kafka's `protectedListener`), so brokers still reach each other.
 * - **max.connections.per.ip**: a connection from an address that already has its limit open is
 *   closed at once, before anything is read (Kafka's `TooManyConnectionsException`); the limit
 *   of an address in the overrides is the override's.
 * - **max.connection.creation.rate** (KIP-612): new connections per second, measured as the
 *   client quotas are (`quota.window.num` samples of `quota.window.size.seconds`, in the shards'
 *   shared rates); over it a listener waits Kafka's throttle time, at most one window, before it
 *   serves the connection and takes the next. The inter-broker listener is exempt when there are
 *   others.
 * - **connection_creation_rate** of an `ip` client quota entity (KIP-612, kept with the client
 *   quotas in `quotas.ts`): the broker's accept loop measures each address's new connections and
 *   holds one over the rate unread until its throttle time ends, then closes it (Kafka's
 *   `ConnectionThrottledException`); here only the count of those ({@linkcode
 *   ConnectionQuotas.countIpThrottled}).
 *
 * The counts live in a `SharedArrayBuffer` every shard of a sharded broker maps (`sluice.workers`
 * > 1), changed under one spin lock (a few operations, never across an await), so they are the
 * broker's whichever shard the kernel hands a connection to: a table of addresses found by a
 * 64-bit hash of the address (two 32-bit FNV-1a hashes), the total, and a count per listener.
 * Connecting is not the request path: nothing here runs per request.
 *
 * @module
 */

import { hash } from "./shared_rates.ts";

/** Addresses counted at once (with connections open or an override). */
export const CONNECTION_ADDRESSES = 65536;
/** Listeners counted apart (a broker has a handful). */
const MAX_LISTENERS = 16;

/** Int32 header fields. */
const H = {
  lock: 0,
  total: 1,
  maxConnections: 2,
  maxPerIp: 3,
  refusedPerIp: 4,
  blocked: 5,
  used: 6,
  deleted: 7,
  configured: 8,
  maxRate: 9,
  ipThrottled: 10,
  listeners: 16,
} as const;
const HEADER = H.listeners + MAX_LISTENERS;
// per address: [state (0 free, 1 used, 2 deleted), hash 1, hash 2, count, override (-1: none)]
const SLOT = 5;

/** Kafka's default for both limits: `Int.MaxValue`. */
export const NO_CONNECTION_LIMIT = 2147483647;

/** The limits, as the broker settings give them. */
export interface ConnectionLimits {
  /** `max.connections`. */
  maxConnections: number;
  /** `max.connections.per.ip`. */
  maxConnectionsPerIp: number;
  /** `max.connections.per.ip.overrides`: address -> limit. */
  perIpOverrides: ReadonlyMap<string, number>;
  /** `max.connection.creation.rate` (KIP-612): new connections per second; absent: no limit. */
  maxConnectionCreationRate?: number;
}

/** The connection limits' broker settings, all dynamic (Kafka's `DynamicConnectionQuota`). */
export const CONNECTION_CONFIG_NAMES: ReadonlySet<string> = new Set([
  "max.connections",
  "max.connections.per.ip",
  "max.connections.per.ip.overrides",
  "max.connection.creation.rate",
]);

/**
 * Check one connection limit setting's value as a dynamic config.
 *
 * @param name One of {@linkcode CONNECTION_CONFIG_NAMES}.
 * @param value Its value.
 * @returns The value normalised (trimmed).
 * @throws {RangeError} If it is not a count of 0 or more (or, for the overrides, not
 * `host:count,...`).
 */
export function validateConnectionConfig(name: string, value: string): string {
  const v = value.trim();
  if (name === "max.connections.per.ip.overrides") {
    parseConnectionOverrides(v);
    return v;
  }
  if (!/^\d+$/.test(v) || Number(v) > NO_CONNECTION_LIMIT) {
    throw new RangeError(
      `Invalid value "${value}" for ${name}: must be an integer from 0 to ${NO_CONNECTION_LIMIT}`,
    );
  }
  return String(Number(v));
}

/**
 * The limits in force: the dynamic values over the static settings.
 *
 * @param config The static settings.
 * @param dynamic Dynamic values by broker config name (this broker's over the cluster default).
 * @returns The limits.
 * @throws {RangeError} If `max.connections.per.ip` is 0 without overrides (Kafka's rule).
 */
export function connectionLimits(
  config: {
    maxConnections: number;
    maxConnectionsPerIp: number;
    maxConnectionsPerIpOverrides: string;
    maxConnectionCreationRate?: number;
  },
  dynamic: Record<string, string> = {},
): ConnectionLimits {
  const max = dynamic["max.connections"];
  const perIp = dynamic["max.connections.per.ip"];
  const rate = dynamic["max.connection.creation.rate"];
  const limits: ConnectionLimits = {
    maxConnectionCreationRate: rate === undefined
      ? config.maxConnectionCreationRate ?? NO_CONNECTION_LIMIT
      : Number(rate),
    maxConnections: max === undefined ? config.maxConnections : Number(max),
    maxConnectionsPerIp: perIp === undefined ? config.maxConnectionsPerIp : Number(perIp),
    perIpOverrides: parseConnectionOverrides(
      dynamic["max.connections.per.ip.overrides"] ?? config.maxConnectionsPerIpOverrides,
    ),
  };
  if (limits.maxConnectionsPerIp === 0 && limits.perIpOverrides.size === 0) {
    throw new RangeError(
      "max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides is set",
    );
  }
  return limits;
}

/**
 * The size of the buffer {@linkcode ConnectionQuotas} needs.
 *
 * @returns Bytes.
 */
export function connectionQuotasBytes(): number {
  return (HEADER + CONNECTION_ADDRESSES * SLOT) * 4;
}

/**
 * Parse `max.connections.per.ip.overrides` (`host:count,host:count`, Kafka's `parseCsvMap`; the
 * count after the last colon, so IPv6 addresses need no brackets).
 *
 * @example
 * ```ts
 * import { parseConnectionOverrides } from "./connection_quotas.ts";
 * const m = parseConnectionOverrides("127.0.0.1:5, ::1:2");
 * console.assert(m.get("127.0.0.1") === 5 && m.get("::1") === 2);
 * ```
 *
 * @param text The setting's value.
 * @returns Address -> limit.
 * @throws {RangeError} If an entry is not `host:count` with a count of 0 or more.
 */
export function parseConnectionOverrides(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of text.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const at = entry.lastIndexOf(":");
    const host = at < 0 ? "" : normalizeHost(entry.slice(0, at).trim());
    const count = at < 0 ? NaN : Number(entry.slice(at + 1).trim());
    if (host === "" || !Number.isInteger(count) || count < 0 || count > NO_CONNECTION_LIMIT) {
      throw new RangeError(
        `Invalid max.connections.per.ip.overrides entry "${entry}": expected host:count with a ` +
          `count of 0 or more`,
      );
    }
    out.set(host, count);
  }
  return out;
}

/**
 * The address a connection's `remote` (`host:port`) came from.
 *
 * @param remote `ConnectionInfo.remote`.
 * @returns The host.
 */
export function remoteHost(remote: string): string {
  const at = remote.lastIndexOf(":");
  return normalizeHost(at < 0 ? remote : remote.slice(0, at));
}

function normalizeHost(h: string): string {
  const bare = h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
  return bare.toLowerCase();
}

/**
 * The connection counts and limits of a broker (see the module doc).
 *
 * @example
 * ```ts
 * import { ConnectionQuotas, connectionQuotasBytes } from "./connection_quotas.ts";
 *
 * const q = new ConnectionQuotas(new SharedArrayBuffer(connectionQuotasBytes()), ["PLAINTEXT"], "PLAINTEXT");
 * q.configure({ maxConnections: 10, maxConnectionsPerIp: 1, perIpOverrides: new Map() });
 * console.assert(q.inc("PLAINTEXT", "10.0.0.1") === null);
 * console.assert(q.inc("PLAINTEXT", "10.0.0.1") === 1); // refused: its limit is 1
 * q.dec("PLAINTEXT", "10.0.0.1");
 * console.assert(q.inc("PLAINTEXT", "10.0.0.1") === null);
 * ```
 */
export class ConnectionQuotas {
  readonly #i: Int32Array;
  readonly #listeners: readonly string[];
  readonly #protected: number;

  /**
   * Counts over a buffer (every shard passes the same one).
   *
   * @param buffer A zeroed buffer of {@linkcode connectionQuotasBytes} bytes, configured once by
   * the shard that made it ({@linkcode ConnectionQuotas.configure}).
   * @param listeners The broker's listener names, in the same order on every shard.
   * @param interBroker The inter-broker listener's name.
   * @throws {RangeError} If there are more listeners than are counted apart.
   */
  constructor(buffer: SharedArrayBuffer, listeners: readonly string[], interBroker: string) {
    if (listeners.length > MAX_LISTENERS) {
      throw new RangeError(`connection counts: at most ${MAX_LISTENERS} listeners`);
    }
    this.#i = new Int32Array(buffer, 0, HEADER + CONNECTION_ADDRESSES * SLOT);
    this.#listeners = listeners;
    // Kafka's protectedListener: the inter-broker one, when there are others
    this.#protected = listeners.length > 1 ? listeners.indexOf(interBroker) : -1;
  }

  /**
   * Set the limits (at start, and when AlterConfigs changes them): they apply to the next
   * connection; connections already open stay.
   *
   * @param limits The limits.
   */
  configure(limits: ConnectionLimits): void {
    const i = this.#i;
    this.#lock();
    try {
      Atomics.store(i, H.maxConnections, limits.maxConnections);
      Atomics.store(i, H.maxPerIp, limits.maxConnectionsPerIp);
      Atomics.store(i, H.maxRate, limits.maxConnectionCreationRate ?? NO_CONNECTION_LIMIT);
      Atomics.store(i, H.configured, 1);
      // no address held: nothing to reset (and the table's pages stay untouched, issue #17)
      for (let s = 0; i[H.used] > 0 && s < CONNECTION_ADDRESSES; s++) {
        const b = HEADER + s * SLOT;
        if (i[b] !== 1) continue;
        i[b + 4] = -1;
        if (i[b + 3] === 0) this.#delete(b);
      }
      for (const [host, max] of limits.perIpOverrides) {
        const b = this.#find(normalizeHost(host), true);
        if (b >= 0) i[b + 4] = max;
      }
    } finally {
      this.#unlock();
    }
  }

  /**
   * Whether a listener may take a connection now (Kafka's `connectionSlotAvailable`).
   *
   * @param listener The listener's name.
   * @returns `false` while the broker holds `max.connections` (never for the protected
   * inter-broker listener).
   */
  slotAvailable(listener: string): boolean {
    if (this.#listeners.indexOf(listener) === this.#protected) return true;
    return Atomics.load(this.#i, H.configured) === 0 ||
      Atomics.load(this.#i, H.total) < Atomics.load(this.#i, H.maxConnections);
  }

  /**
   * The connection creation rate a listener is held to (`max.connection.creation.rate`), or
   * `undefined` when it has none: no limit set, or the protected inter-broker listener.
   *
   * @param listener The listener's name.
   * @returns Connections per second.
   */
  creationRate(listener: string): number | undefined {
    if (this.#listeners.indexOf(listener) === this.#protected) return undefined;
    if (Atomics.load(this.#i, H.configured) === 0) return undefined;
    const rate = Atomics.load(this.#i, H.maxRate);
    return rate === NO_CONNECTION_LIMIT ? undefined : rate;
  }

  /** Count one accept that had to wait for a slot or for the creation rate (`/metrics`). */
  countBlocked(): void {
    Atomics.add(this.#i, H.blocked, 1);
  }

  /** Count one connection closed for its address's `connection_creation_rate` (`/metrics`). */
  countIpThrottled(): void {
    Atomics.add(this.#i, H.ipThrottled, 1);
  }

  /**
   * Count a new connection from `host`, unless that address already has its limit open.
   *
   * @param listener The listener it came on.
   * @param host Its address ({@linkcode remoteHost}).
   * @returns `null` when counted; else the address's limit, and nothing is counted (close it).
   */
  inc(listener: string, host: string): number | null {
    const i = this.#i;
    this.#lock();
    try {
      const b = this.#find(host, true);
      const perIp = i[H.configured] === 0 ? NO_CONNECTION_LIMIT : i[H.maxPerIp];
      const max = b < 0 || i[b + 4] < 0 ? perIp : i[b + 4];
      // every address slot taken (65536 addresses with connections open): refused
      if (b < 0 || i[b + 3] >= max) {
        i[H.refusedPerIp]++;
        if (b >= 0 && i[b + 3] === 0 && i[b + 4] < 0) this.#delete(b);
        return b < 0 ? 0 : max;
      }
      i[b + 3]++;
      i[H.total]++;
      const l = this.#listeners.indexOf(listener);
      if (l >= 0) i[H.listeners + l]++;
      return null;
    } finally {
      this.#unlock();
    }
  }

  /**
   * Count a connection counted by {@linkcode inc} closed.
   *
   * @param listener The listener it came on.
   * @param host Its address.
   */
  dec(listener: string, host: string): void {
    const i = this.#i;
    this.#lock();
    try {
      const b = this.#find(host, false);
      if (b < 0 || i[b + 3] === 0) return;
      i[b + 3]--;
      i[H.total]--;
      const l = this.#listeners.indexOf(listener);
      if (l >= 0) i[H.listeners + l]--;
      if (i[b + 3] === 0 && i[b + 4] < 0) this.#delete(b);
    } finally {
      this.#unlock();
    }
  }

  /** Connections open in the whole broker (every shard's). */
  get total(): number {
    return Atomics.load(this.#i, H.total);
  }

  /**
   * Connections open from an address.
   *
   * @param host The address.
   * @returns The count.
   */
  count(host: string): number {
    this.#lock();
    try {
      const b = this.#find(normalizeHost(host), false);
      return b < 0 ? 0 : this.#i[b + 3];
    } finally {
      this.#unlock();
    }
  }

  /**
   * Connections refused by `max.connections.per.ip`, accepts that waited for `max.connections`
   * or `max.connection.creation.rate`, and connections closed for their address's
   * `connection_creation_rate` (KIP-612 ip quotas).
   */
  get refused(): { perIp: number; blocked: number; ipThrottled: number } {
    return {
      perIp: Atomics.load(this.#i, H.refusedPerIp),
      blocked: Atomics.load(this.#i, H.blocked),
      ipThrottled: Atomics.load(this.#i, H.ipThrottled),
    };
  }

  #lock(): void {
    while (Atomics.compareExchange(this.#i, H.lock, 0, 1) !== 0) {
      // another shard holds it for a few operations
    }
  }

  #unlock(): void {
    Atomics.store(this.#i, H.lock, 0);
  }

  #delete(b: number): void {
    this.#i[b] = 2;
    this.#i[H.used]--;
    this.#i[H.deleted]++;
  }

  /** The slot of an address (under the lock); `insert`: made if missing. -1: none. */
  #find(host: string, insert: boolean): number {
    const i = this.#i;
    const h1 = hash(host, 0x811c9dc5);
    const h2 = hash(host, 0x050c5d1f);
    if (insert && i[H.used] + i[H.deleted] >= CONNECTION_ADDRESSES * 0.75 && i[H.deleted] > 0) {
      this.#rehash();
    }
    const start = (h1 >>> 0) % CONNECTION_ADDRESSES;
    let free = -1;
    for (let k = 0; k < CONNECTION_ADDRESSES; k++) {
      const b = HEADER + ((start + k) % CONNECTION_ADDRESSES) * SLOT;
      const state = i[b];
      if (state === 1 && i[b + 1] === h1 && i[b + 2] === h2) return b;
      if (state === 2 && free < 0) free = b;
      if (state === 0) {
        if (free < 0) free = b;
        break;
      }
    }
    if (!insert || free < 0) return -1;
    if (i[free] === 2) i[H.deleted]--;
    i[free] = 1;
    i[free + 1] = h1;
    i[free + 2] = h2;
    i[free + 3] = 0;
    i[free + 4] = -1;
    i[H.used]++;
    return free;
  }

  /** Drop the deleted marks: the addresses in use placed again (under the lock). */
  #rehash(): void {
    const i = this.#i;
    const live: number[][] = [];
    for (let s = 0; s < CONNECTION_ADDRESSES; s++) {
      const b = HEADER + s * SLOT;
      if (i[b] === 1) live.push([i[b + 1], i[b + 2], i[b + 3], i[b + 4]]);
    }
    i.fill(0, HEADER);
    i[H.used] = live.length;
    i[H.deleted] = 0;
    for (const [h1, h2, count, override] of live) {
      const start = (h1 >>> 0) % CONNECTION_ADDRESSES;
      for (let k = 0; k < CONNECTION_ADDRESSES; k++) {
        const b = HEADER + ((start + k) % CONNECTION_ADDRESSES) * SLOT;
        if (i[b] !== 0) continue;
        i[b] = 1;
        i[b + 1] = h1;
        i[b + 2] = h2;
        i[b + 3] = count;
        i[b + 4] = override;
        break;
      }
    }
  }
}
