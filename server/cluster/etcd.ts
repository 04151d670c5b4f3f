// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * An etcd v3 client over etcd's HTTP/JSON gateway (`/v3/...`, etcd 3.4+), with `fetch`: key
 * ranges, puts, deletes, transactions, leases and watches. Keys and values are UTF-8 strings
 * here (the gateway carries them in base64); revisions are numbers (etcd's int64, exact far
 * beyond any revision a cluster reaches); lease ids stay decimal strings, since etcd's are
 * 64-bit and lose digits as numbers.
 *
 * Several endpoints may be given: a call that cannot reach one (refused, reset, timed out,
 * "unavailable") goes to the next, and the client stays with the one that answered. Every call
 * has a timeout; every error says what failed (`etcd put /sluice/x failed: ...`). A call that
 * changes data is retried on another endpoint only when the first could not have applied it
 * (the connection failed before an answer) — except for compare-and-swap transactions, which a
 * retry cannot apply twice, and puts of the same value, which are harmless to repeat.
 *
 * A watch streams events of a key or prefix from a revision, in order; when its stream breaks
 * it reconnects (next endpoint, with back-off) from the revision after the last event it
 * delivered, so no event is lost or repeated. When etcd has compacted that revision away, the
 * watch asks its owner to re-read the state ({@linkcode WatchOptions.onCompacted}) and goes on
 * after the revision of that read.
 *
 * Needs `--allow-net` to the endpoints.
 *
 * @example
 * ```ts ignore
 * import { EtcdClient } from "./etcd.ts";
 *
 * const etcd = new EtcdClient({ endpoints: ["http://127.0.0.1:2379"] });
 * await etcd.put("/demo/a", "1");
 * console.log((await etcd.get("/demo/a"))?.value); // "1"
 * etcd.close();
 * ```
 *
 * @module
 */

import type * as NodeBuffer from "node:buffer";
import { nodeBuiltin } from "../node_builtin.ts";
import { sleep } from "../sleep.ts";

/** Options of {@linkcode EtcdClient}. */
export interface EtcdClientOptions {
  /** Client URLs, e.g. `["http://127.0.0.1:2379"]`; at least one. */
  endpoints: string[];
  /** Time limit of one call on one endpoint, in milliseconds. Default 5000. */
  timeoutMs?: number;
}

/** One key as etcd stores it. */
export interface KeyValue {
  /** The key. */
  key: string;
  /** The value (UTF-8). */
  value: string;
  /** Revision of the key's creation (changes when it is deleted and created again). */
  createRevision: number;
  /** Revision of the key's last change. */
  modRevision: number;
  /** Changes since its creation (1 after the creation). */
  version: number;
  /** Id of the lease the key is attached to, `"0"` for none. */
  lease: string;
}

/** Options of {@linkcode EtcdClient.range}. */
export interface RangeOptions {
  /** Every key starting with `key`. */
  prefix?: boolean;
  /** Most keys returned (0: no limit). */
  limit?: number;
  /** Read at this revision instead of the newest. */
  revision?: number;
}

/** What {@linkcode EtcdClient.range} returns. */
export interface RangeResult {
  /** The keys, in key order. */
  kvs: KeyValue[];
  /** The store's revision when it was read. */
  revision: number;
  /** Whether more keys matched than `limit`. */
  more: boolean;
}

/** A condition of a {@linkcode TxnRequest}. */
export type Compare =
  | { key: string; target: "create" | "mod" | "version"; result?: CompareResult; value: number }
  | { key: string; target: "value"; result?: CompareResult; value: string };

/** How a {@linkcode Compare} compares the key's field with its value (default `"="`). */
export type CompareResult = "=" | "!=" | "<" | ">";

/** An operation of a {@linkcode TxnRequest}. */
export type TxnOp =
  | { put: { key: string; value: string; lease?: string } }
  | { delete: { key: string; prefix?: boolean } }
  | { range: { key: string; prefix?: boolean } };

/** A transaction: if every compare holds, `success` runs, else `failure`, atomically. */
export interface TxnRequest {
  /** Conditions, all of which must hold. */
  compare: Compare[];
  /** Operations when they hold. */
  success: TxnOp[];
  /** Operations when one does not. */
  failure?: TxnOp[];
}

/** The result of one {@linkcode TxnOp}: the keys read (range), or how many were deleted. */
export interface TxnOpResult {
  /** Keys read by a range operation (empty for others). */
  kvs: KeyValue[];
  /** Keys removed by a delete operation. */
  deleted: number;
}

/** What {@linkcode EtcdClient.txn} returns. */
export interface TxnResult {
  /** Whether the compares held (and `success` ran). */
  succeeded: boolean;
  /** The store's revision after the transaction. */
  revision: number;
  /** One result per operation that ran. */
  results: TxnOpResult[];
}

/** One change seen by a watch. */
export interface WatchEvent {
  /** `put` (created or changed) or `delete`. */
  type: "put" | "delete";
  /** The key after the change (for a delete: the key, empty value, the delete's mod revision). */
  kv: KeyValue;
}

/** Options of {@linkcode EtcdClient.watch}. */
export interface WatchOptions {
  /** Every key starting with the key. */
  prefix?: boolean;
  /** First revision to deliver (default: changes after now). */
  startRevision?: number;
  /**
   * Called with each revision's events, in revision order; the watch waits for a returned
   * promise before it delivers more.
   */
  onEvents: (events: WatchEvent[], revision: number) => void | Promise<void>;
  /**
   * etcd compacted the revisions the watch needed: re-read what is watched and return the
   * revision of that read; the watch delivers what happens after it. Default: go on from the
   * compaction revision (events in between are lost).
   */
  onCompacted?: (compactRevision: number) => Promise<number>;
  /** Each failure of the stream (it is retried); default: none. */
  onError?: (error: Error) => void;
}

/** A running watch (see {@linkcode EtcdClient.watch}). */
export interface Watch {
  /** Resolves once etcd confirmed the first watch (rejects if the watch is closed first). */
  readonly ready: Promise<void>;
  /** The revision after which the next event will be delivered. */
  readonly revision: number;
  /** Stop watching. */
  close(): void;
}

/** An error from etcd or from reaching it; `grpcCode` is etcd's gRPC status code when it sent one. */
export class EtcdError extends Error {
  /** gRPC status code from etcd (e.g. 5: not found, 14: unavailable), or undefined. */
  readonly grpcCode: number | undefined;

  /**
   * Create the error.
   *
   * @param message What failed, then the detail.
   * @param code gRPC status code from etcd, if any.
   * @param options The cause.
   */
  constructor(message: string, code?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "EtcdError";
    this.grpcCode = code;
  }
}

/** gRPC codes after which another endpoint may do better: deadline exceeded, unavailable. */
const RETRY_ELSEWHERE_CODES = new Set([4, 14]);
/** Longest pause between two attempts of a broken watch. */
const WATCH_BACKOFF_MAX_MS = 1000;

/** How a call may be repeated on another endpoint after a failure. */
type Retry = "always" | "unsent";

/**
 * A client of one etcd cluster.
 *
 * @example
 * ```ts ignore
 * import { EtcdClient } from "./etcd.ts";
 *
 * const etcd = new EtcdClient({ endpoints: ["http://127.0.0.1:2379"], timeoutMs: 2000 });
 * const lease = await etcd.grantLease(2);
 * await etcd.put("/demo/me", "alive", { lease: lease.id });
 * await etcd.keepAlive(lease.id);
 * etcd.close();
 * ```
 */
export class EtcdClient {
  readonly #endpoints: string[];
  readonly #timeoutMs: number;
  readonly #closing = new AbortController();
  #current = 0;

  /**
   * Create a client (no connection is made until the first call).
   *
   * @param options Endpoints and timeout.
   * @throws {RangeError} If no endpoint is given, one is not an http(s) URL, or the timeout is
   *   not positive.
   */
  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) {
      throw new RangeError("Cannot create etcd client: no endpoint given");
    }
    this.#endpoints = options.endpoints.map((e) => {
      let url: URL;
      try {
        url = new URL(e);
      } catch {
        throw new RangeError(`Cannot create etcd client: endpoint "${e}" is not a URL`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new RangeError(`Cannot create etcd client: endpoint "${e}" is not http(s)://`);
      }
      return url.origin;
    });
    this.#timeoutMs = options.timeoutMs ?? 5000;
    if (!(this.#timeoutMs > 0)) {
      throw new RangeError(`Cannot create etcd client: timeoutMs ${this.#timeoutMs} must be > 0`);
    }
  }

  /** The endpoints, in failover order. */
  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /** The time limit of one call on one endpoint, in milliseconds. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** Abort every call and watch in progress; later calls fail. */
  close(): void {
    this.#closing.abort(new EtcdError("etcd client closed"));
  }

  /**
   * Read one key.
   *
   * @param key The key.
   * @returns The key, or `undefined` if it does not exist.
   * @throws {EtcdError} If etcd cannot be reached or refuses.
   */
  async get(key: string): Promise<KeyValue | undefined> {
    return (await this.range(key)).kvs[0];
  }

  /**
   * Read a key or every key under a prefix.
   *
   * @param key The key or prefix.
   * @param options Prefix, limit, revision.
   * @returns The keys and the store's revision.
   * @throws {EtcdError} If etcd cannot be reached or refuses.
   */
  async range(key: string, options: RangeOptions = {}): Promise<RangeResult> {
    const body: Record<string, unknown> = { key: b64(key) };
    if (options.prefix) body.range_end = prefixEnd(key);
    if (options.limit) body.limit = String(options.limit);
    if (options.revision) body.revision = String(options.revision);
    const res = await this.#call("/v3/kv/range", body, `range ${key}`, "always");
    return {
      kvs: ((res.kvs ?? []) as RawKeyValue[]).map(keyValueOf),
      revision: int(res.header?.revision),
      more: res.more === true,
    };
  }

  /**
   * Write a key.
   *
   * @param key The key.
   * @param value The value.
   * @param options `lease`: attach the key to this lease (it goes when the lease does).
   * @returns The store's revision after the write.
   * @throws {EtcdError} If etcd cannot be reached or refuses (e.g. the lease is gone: code 5).
   */
  async put(key: string, value: string, options: { lease?: string } = {}): Promise<number> {
    const body: Record<string, unknown> = { key: b64(key), value: b64(value) };
    if (options.lease !== undefined) body.lease = options.lease;
    const res = await this.#call("/v3/kv/put", body, `put ${key}`, "always");
    return int(res.header?.revision);
  }

  /**
   * Delete a key or every key under a prefix.
   *
   * @param key The key or prefix.
   * @param options `prefix`: every key starting with `key`.
   * @returns How many keys were deleted and the store's revision after.
   * @throws {EtcdError} If etcd cannot be reached or refuses.
   */
  async delete(
    key: string,
    options: { prefix?: boolean } = {},
  ): Promise<{ deleted: number; revision: number }> {
    const body: Record<string, unknown> = { key: b64(key) };
    if (options.prefix) body.range_end = prefixEnd(key);
    const res = await this.#call("/v3/kv/deleterange", body, `delete ${key}`, "unsent");
    return { deleted: int(res.deleted), revision: int(res.header?.revision) };
  }

  /**
   * Run a transaction: compares, then the success or the failure operations, atomically.
   *
   * @param request Compares and operations.
   * @returns Whether the compares held, the revision after, and each operation's result.
   * @throws {EtcdError} If etcd cannot be reached or refuses (e.g. more operations than its
   *   `--max-txn-ops`, 128 by default).
   */
  async txn(request: TxnRequest): Promise<TxnResult> {
    const what = `txn on ${request.compare.map((c) => c.key).join(", ") || "(no compare)"}`;
    const body = {
      compare: request.compare.map(rawCompare),
      success: request.success.map(rawOp),
      failure: (request.failure ?? []).map(rawOp),
    };
    // With a compare a repeat cannot apply twice (the first one changed what it compares).
    const retry: Retry = request.compare.length > 0 ? "always" : "unsent";
    const res = await this.#call("/v3/kv/txn", body, what, retry);
    return {
      succeeded: res.succeeded === true,
      revision: int(res.header?.revision),
      results: ((res.responses ?? []) as Record<string, RawOpResult>[]).map((r) => {
        const op = r.response_range ?? r.response_delete_range ?? r.response_put ?? {};
        return {
          kvs: ((op.kvs ?? []) as RawKeyValue[]).map(keyValueOf),
          deleted: int(op.deleted),
        };
      }),
    };
  }

  /**
   * Create a lease. etcd may grant a longer TTL than asked (its minimum is 1.5 election
   * timeouts, rounded up to whole seconds).
   *
   * @param ttlSeconds Time to live without a keep-alive, in whole seconds (≥ 1).
   * @returns The lease id and granted TTL.
   * @throws {EtcdError} If etcd cannot be reached or refuses.
   */
  async grantLease(ttlSeconds: number): Promise<{ id: string; ttl: number }> {
    const res = await this.#call(
      "/v3/lease/grant",
      { TTL: String(ttlSeconds) },
      `grant lease of ${ttlSeconds} s`,
      "unsent",
    );
    if (typeof res.error === "string" && res.error !== "") {
      throw new EtcdError(`etcd grant lease of ${ttlSeconds} s failed: ${res.error}`);
    }
    return { id: String(res.ID), ttl: int(res.TTL) };
  }

  /**
   * Renew a lease once.
   *
   * @param id The lease id.
   * @returns The TTL in seconds the lease has again, or 0 if it has expired or was revoked.
   * @throws {EtcdError} If etcd cannot be reached or refuses.
   */
  async keepAlive(id: string): Promise<number> {
    return (await this.renewLease(id)).ttl;
  }

  /**
   * Renew a lease once, with etcd's revision at the time.
   *
   * @param id The lease id.
   * @returns The TTL in seconds the lease has again (0 if it has expired or was revoked) and the
   * store's revision when etcd renewed it.
   * @throws {EtcdError} If etcd cannot be reached or refuses.
   */
  async renewLease(id: string): Promise<{ ttl: number; revision: number }> {
    const res = await this.#call(
      "/v3/lease/keepalive",
      { ID: id },
      `keep-alive of lease ${id}`,
      "always",
    );
    const result = res.result ?? res;
    if (res.error !== undefined) {
      throw new EtcdError(
        `etcd keep-alive of lease ${id} failed: ${res.error.message ?? JSON.stringify(res.error)}`,
        res.error.grpc_code,
      );
    }
    return { ttl: int(result.TTL), revision: int(result.header?.revision) };
  }

  /**
   * Revoke a lease: every key attached to it is deleted at once.
   *
   * @param id The lease id.
   * @throws {EtcdError} If etcd cannot be reached or refuses (code 5 if the lease is gone).
   */
  async revokeLease(id: string): Promise<void> {
    await this.#call("/v3/lease/revoke", { ID: id }, `revoke of lease ${id}`, "always");
  }

  /**
   * The time a lease has left.
   *
   * @param id The lease id.
   * @returns Seconds left (-1 if the lease does not exist) and the TTL it was granted.
   * @throws {EtcdError} If etcd cannot be reached or refuses.
   */
  async leaseTimeToLive(id: string): Promise<{ ttl: number; grantedTtl: number }> {
    const res = await this.#call(
      "/v3/lease/timetolive",
      { ID: id },
      `time-to-live of lease ${id}`,
      "always",
    );
    return { ttl: int(res.TTL), grantedTtl: int(res.grantedTTL) };
  }

  /**
   * Compact the store's history up to `revision` (what watches from older revisions then miss).
   *
   * @param revision The revision.
   * @throws {EtcdError} If etcd cannot be reached or refuses.
   */
  async compact(revision: number): Promise<void> {
    await this.#call(
      "/v3/kv/compaction",
      { revision: String(revision), physical: true },
      `compaction to revision ${revision}`,
      "always",
    );
  }

  /**
   * Watch a key or prefix. Events are delivered in revision order, each revision once, across
   * reconnections. Close the watch (or the client) to stop it.
   *
   * @param key The key or prefix.
   * @param options Prefix, start revision, event and compaction callbacks.
   * @returns The running watch.
   */
  watch(key: string, options: WatchOptions): Watch {
    return new EtcdWatch(this, key, options, this.#closing.signal);
  }

  /** The endpoint calls start from (the last one that answered). */
  get currentEndpoint(): string {
    return this.#endpoints[this.#current];
  }

  /** Move to the next endpoint after `failed` (unless another call already moved on). */
  failover(failed: string): void {
    if (this.#endpoints[this.#current] === failed) {
      this.#current = (this.#current + 1) % this.#endpoints.length;
    }
  }

  // deno-lint-ignore no-explicit-any
  async #call(path: string, body: unknown, what: string, retry: Retry): Promise<any> {
    const failures: string[] = [];
    const n = this.#endpoints.length;
    for (let attempt = 0; attempt < n; attempt++) {
      const endpoint = this.#endpoints[this.#current];
      if (this.#closing.signal.aborted) {
        throw new EtcdError(`etcd ${what} failed: the client is closed`);
      }
      const signal = AbortSignal.any([
        AbortSignal.timeout(this.#timeoutMs),
        this.#closing.signal,
      ]);
      let res: Response;
      try {
        res = await fetch(endpoint + path, {
          method: "POST",
          body: JSON.stringify(body),
          headers: { "content-type": "application/json" },
          signal,
        });
      } catch (e) {
        if (this.#closing.signal.aborted) {
          throw new EtcdError(`etcd ${what} failed: the client is closed`, undefined, { cause: e });
        }
        const timedOut = signal.aborted;
        failures.push(
          `${endpoint}: ${timedOut ? `no answer within ${this.#timeoutMs} ms` : describe(e)}`,
        );
        this.failover(endpoint);
        // A request that timed out may have been applied; only safe ones are repeated.
        if (timedOut && retry === "unsent") break;
        continue;
      }
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        failures.push(
          `${endpoint}: ${signal.aborted ? "answer cut off by the timeout" : describe(e)}`,
        );
        this.failover(endpoint);
        if (retry === "unsent") break;
        continue;
      }
      // deno-lint-ignore no-explicit-any
      let json: any;
      try {
        json = text.trim() === "" ? {} : JSON.parse(text);
      } catch {
        failures.push(`${endpoint}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
        this.failover(endpoint);
        if (retry === "unsent") break;
        continue;
      }
      if (!res.ok || (json.code !== undefined && json.error !== undefined)) {
        const code = typeof json.code === "number" ? json.code : undefined;
        const message = json.message ?? json.error ?? `HTTP ${res.status}`;
        if (code !== undefined && RETRY_ELSEWHERE_CODES.has(code) && retry === "always") {
          failures.push(`${endpoint}: ${message}`);
          this.failover(endpoint);
          continue;
        }
        throw new EtcdError(`etcd ${what} failed: ${message} (${endpoint})`, code);
      }
      return json;
    }
    throw new EtcdError(`etcd ${what} failed: ${failures.join("; ")}`, 14);
  }
}

/** One watch stream, reconnected until closed. */
class EtcdWatch implements Watch {
  readonly ready: Promise<void>;
  readonly #client: EtcdClient;
  readonly #key: string;
  readonly #options: WatchOptions;
  readonly #stop = new AbortController();
  #next: number;
  #resolveReady!: () => void;
  #rejectReady!: (e: Error) => void;
  #isReady = false;

  constructor(client: EtcdClient, key: string, options: WatchOptions, closing: AbortSignal) {
    this.#client = client;
    this.#key = key;
    this.#options = options;
    this.#next = options.startRevision ?? 0;
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {});
    const stop = () => this.close();
    closing.addEventListener("abort", stop, { once: true });
    this.#stop.signal.addEventListener(
      "abort",
      () => closing.removeEventListener("abort", stop),
      { once: true },
    );
    this.#run();
  }

  get revision(): number {
    return this.#next;
  }

  close(): void {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    if (!this.#isReady) this.#rejectReady(new EtcdError(`etcd watch of ${this.#key} closed`));
  }

  async #run(): Promise<void> {
    let backoff = 50;
    while (!this.#stop.signal.aborted) {
      const endpoint = this.#client.currentEndpoint;
      try {
        await this.#stream(endpoint);
        backoff = 50; // a stream that ended cleanly (etcd restarted): reconnect at once
      } catch (e) {
        if (this.#stop.signal.aborted) return;
        const err = e instanceof Error ? e : new Error(String(e));
        this.#options.onError?.(
          new EtcdError(`etcd watch of ${this.#key} from ${endpoint} failed: ${err.message}`),
        );
        this.#client.failover(endpoint);
        await sleep(backoff, this.#stop.signal);
        backoff = Math.min(backoff * 2, WATCH_BACKOFF_MAX_MS);
      }
    }
  }

  async #stream(endpoint: string): Promise<void> {
    const create: Record<string, unknown> = { key: b64(this.#key) };
    if (this.#options.prefix) create.range_end = prefixEnd(this.#key);
    if (this.#next > 0) create.start_revision = String(this.#next);
    const connect = new AbortController();
    const abort = () => connect.abort();
    this.#stop.signal.addEventListener("abort", abort, { once: true });
    // Until etcd confirms the watch, the client's call timeout applies.
    const confirmTimer = setTimeout(abort, this.#client.timeoutMs);
    try {
      const res = await fetch(`${endpoint}/v3/watch`, {
        method: "POST",
        body: JSON.stringify({ create_request: create }),
        headers: { "content-type": "application/json" },
        signal: connect.signal,
      });
      if (!res.ok || res.body === null) {
        const text = await res.text().catch(() => "");
        throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          if (this.#stop.signal.aborted) return;
          throw new Error("the stream ended");
        }
        buffered += value;
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === "") continue;
          const message = JSON.parse(line);
          if (message.error !== undefined) {
            throw new Error(message.error.message ?? JSON.stringify(message.error));
          }
          const result = message.result ?? {};
          if (result.created === true) {
            clearTimeout(confirmTimer);
            if (!this.#isReady) {
              this.#isReady = true;
              this.#resolveReady();
            }
            if (this.#next === 0) this.#next = int(result.header?.revision) + 1;
          }
          if (result.canceled === true) {
            const compacted = int(result.compact_revision);
            if (compacted > 0) {
              reader.cancel().catch(() => {});
              await this.#compacted(compacted);
              return; // reconnect from the new revision
            }
            throw new Error(`etcd canceled the watch: ${result.cancel_reason ?? "no reason"}`);
          }
          const events = (result.events ?? []) as { type?: string; kv: RawKeyValue }[];
          if (events.length === 0) continue;
          // One message may carry several revisions; deliver them revision by revision.
          let group: WatchEvent[] = [];
          let groupRevision = 0;
          for (const e of events) {
            const kv = keyValueOf(e.kv);
            if (kv.modRevision < this.#next) continue; // already delivered before a reconnect
            if (group.length > 0 && kv.modRevision !== groupRevision) {
              await this.#deliver(group, groupRevision);
              group = [];
            }
            groupRevision = kv.modRevision;
            group.push({ type: e.type === "DELETE" ? "delete" : "put", kv });
          }
          if (group.length > 0) await this.#deliver(group, groupRevision);
        }
      }
    } finally {
      clearTimeout(confirmTimer);
      this.#stop.signal.removeEventListener("abort", abort);
      connect.abort();
    }
  }

  async #deliver(events: WatchEvent[], revision: number): Promise<void> {
    if (this.#stop.signal.aborted) return;
    await this.#options.onEvents(events, revision);
    this.#next = revision + 1;
  }

  async #compacted(compactRevision: number): Promise<void> {
    if (this.#options.onCompacted === undefined) {
      this.#next = compactRevision;
      return;
    }
    const readAt = await this.#options.onCompacted(compactRevision);
    this.#next = readAt + 1;
  }
}

interface RawKeyValue {
  key?: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  version?: string;
  lease?: string;
}

interface RawOpResult {
  kvs?: RawKeyValue[];
  deleted?: string;
}

function keyValueOf(raw: RawKeyValue): KeyValue {
  return {
    key: unb64(raw.key ?? ""),
    value: unb64(raw.value ?? ""),
    createRevision: int(raw.create_revision),
    modRevision: int(raw.mod_revision),
    version: int(raw.version),
    lease: raw.lease ?? "0",
  };
}

const TARGETS = { create: "CREATE", mod: "MOD", version: "VERSION", value: "VALUE" } as const;
const RESULTS = { "=": "EQUAL", "!=": "NOT_EQUAL", "<": "LESS", ">": "GREATER" } as const;
const FIELDS = {
  create: "create_revision",
  mod: "mod_revision",
  version: "version",
  value: "value",
} as const;

function rawCompare(c: Compare): Record<string, unknown> {
  return {
    key: b64(c.key),
    target: TARGETS[c.target],
    result: RESULTS[c.result ?? "="],
    [FIELDS[c.target]]: c.target === "value" ? b64(c.value) : String(c.value),
  };
}

function rawOp(op: TxnOp): Record<string, unknown> {
  if ("put" in op) {
    const put: Record<string, unknown> = { key: b64(op.put.key), value: b64(op.put.value) };
    if (op.put.lease !== undefined) put.lease = op.put.lease;
    return { request_put: put };
  }
  if ("delete" in op) {
    const del: Record<string, unknown> = { key: b64(op.delete.key) };
    if (op.delete.prefix) del.range_end = prefixEnd(op.delete.key);
    return { request_delete_range: del };
  }
  const range: Record<string, unknown> = { key: b64(op.range.key) };
  if (op.range.prefix) range.range_end = prefixEnd(op.range.key);
  return { request_range: range };
}

function b64(s: string): string {
  return buffer().from(s, "utf8").toString("base64");
}

function unb64(s: string): string {
  return buffer().from(s, "base64").toString("utf8");
}

/** The range end that selects every key starting with `prefix` (etcd's `GetPrefixRangeEnd`). */
function prefixEnd(prefix: string): string {
  const bytes = buffer().from(prefix, "utf8");
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 0xff) {
      const end = buffer().from(bytes.subarray(0, i + 1));
      end[i]++;
      return end.toString("base64");
    }
  }
  return buffer().from([0]).toString("base64"); // every key
}

function int(v: unknown): number {
  if (v === undefined || v === null || v === "") return 0;
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : "";
    return `${e.message}${cause}`;
  }
  return String(e);
}

/** `node:buffer`'s `Buffer`, loaded at the first etcd key or value (cluster mode only). */
function buffer(): typeof NodeBuffer.Buffer {
  return nodeBuiltin<typeof NodeBuffer>("node:buffer").Buffer;
}
