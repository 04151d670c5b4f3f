// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * An HTTP sink: POSTs the records of each `put` as JSON arrays of at most `batch.max.size`
 * values to `http.url`, retrying network errors, 5xx and 429 answers `max.retries` times with
 * exponential backoff (`retry.backoff.ms` doubling up to `retry.backoff.max.ms`). When the
 * attempts are used up the task fails (FAILED, with the error in `/status`) and the records'
 * offsets are not committed.
 *
 * @module
 */

import { SinkConnector, SinkTask } from "../api.ts";
import { type ConfigDef, ConfigError, parseConfig } from "../config.ts";
import { isObjectValue, type SinkRecord } from "../data.ts";
import { VERSION } from "./file.ts";

const CONFIG: ConfigDef = {
  "http.url": { type: "string", default: null, documentation: "URL records are POSTed to" },
  "http.api.url": { type: "string", default: null, documentation: "Alias of http.url" },
  "batch.max.size": { type: "int", default: "500", min: 1, documentation: "Records per request" },
  "max.retries": { type: "int", default: "5", min: 0, documentation: "Retries of a request" },
  "retry.backoff.ms": { type: "long", default: "1000", min: 0, documentation: "First backoff" },
  "retry.backoff.max.ms": { type: "long", default: "30000", min: 0, documentation: "Backoff cap" },
  "request.timeout.ms": { type: "long", default: "30000", min: 1, documentation: "Per request" },
  "headers": {
    type: "string",
    default: "",
    documentation: "Extra request headers, `Name:Value` separated by `|`",
  },
};

/** POSTs batches of records as JSON. */
export class HttpSinkConnector extends SinkConnector {
  #props: Record<string, string> = {};
  /** The version. */
  version(): string {
    return VERSION;
  }
  /** `http.url`, batching, retries, headers. */
  config(): ConfigDef {
    return CONFIG;
  }
  /**
   * Checks that a URL is given.
   *
   * @throws {Error} Without `http.url`.
   */
  start(props: Record<string, string>): void {
    if (!props["http.url"] && !props["http.api.url"]) {
      throw new Error(`Missing required configuration "http.url" which has no default value.`);
    }
    this.#props = props;
  }
  /**
   * Requires `http.url` (or `http.api.url`) as an http(s) URL.
   *
   * @throws {ConfigError} Without one.
   */
  override validate(props: Record<string, string>): void {
    const url = props["http.url"] || props["http.api.url"];
    if (!url) {
      throw new ConfigError([
        `Missing required configuration "http.url" which has no default value.`,
      ]);
    }
    if (!/^https?:\/\/./.test(url)) {
      throw new ConfigError([
        `Invalid value ${url} for configuration http.url: not an http(s) URL`,
      ]);
    }
  }
  /** {@linkcode HttpSinkTask}. */
  taskClass(): typeof HttpSinkTask {
    return HttpSinkTask;
  }
  /** `tasks.max` identical tasks. */
  taskConfigs(maxTasks: number): Record<string, string>[] {
    return Array.from({ length: maxTasks }, () => ({ ...this.#props }));
  }
  /** Nothing to stop. */
  stop(): void {}
}

function toJsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return new TextDecoder().decode(value);
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (isObjectValue(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonValue(v)]));
  }
  if (typeof value === "bigint") return Number(value);
  return value ?? null;
}

/** Sends records; fails after `max.retries` retries of one request. */
export class HttpSinkTask extends SinkTask {
  #url = "";
  #batch = 500;
  #retries = 5;
  #backoff = 1000;
  #backoffMax = 30000;
  #timeout = 30000;
  #headers: Record<string, string> = {};
  #stopped = new AbortController();

  /** The version. */
  version(): string {
    return VERSION;
  }

  /** Reads the settings. */
  start(props: Record<string, string>): void {
    const c = parseConfig(CONFIG, props);
    this.#url = (c["http.url"] ?? c["http.api.url"]) as string;
    this.#batch = c["batch.max.size"] as number;
    this.#retries = c["max.retries"] as number;
    this.#backoff = c["retry.backoff.ms"] as number;
    this.#backoffMax = c["retry.backoff.max.ms"] as number;
    this.#timeout = c["request.timeout.ms"] as number;
    for (const h of String(c.headers ?? "").split("|")) {
      const i = h.indexOf(":");
      if (i > 0) this.#headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
    }
  }

  /** POSTs the records in batches, in order. */
  async put(records: SinkRecord[]): Promise<void> {
    for (let i = 0; i < records.length; i += this.#batch) {
      const body = JSON.stringify(
        records.slice(i, i + this.#batch).map((r) => toJsonValue(r.value)),
      );
      await this.#post(body);
    }
  }

  async #post(body: string): Promise<void> {
    let lastError = "";
    const attempts = this.#retries + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.#stopped.signal.aborted) throw new Error("HTTP sink: stopped");
      let retriable = true;
      try {
        const res = await fetch(this.#url, {
          method: "POST",
          headers: { "content-type": "application/json", ...this.#headers },
          body,
          signal: AbortSignal.any([this.#stopped.signal, AbortSignal.timeout(this.#timeout)]),
        });
        const text = await res.text();
        if (res.ok) return;
        lastError = `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`;
        retriable = res.status >= 500 || res.status === 429 || res.status === 408;
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e);
      }
      if (!retriable || attempt === attempts) {
        throw new Error(
          `HTTP sink: POST ${this.#url} failed after ${attempt} attempt(s): ${lastError}`,
        );
      }
      const wait = Math.min(this.#backoffMax, this.#backoff * 2 ** (attempt - 1));
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        this.#stopped.signal.addEventListener("abort", () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
    }
  }

  /** Aborts a request in flight. */
  stop(): void {
    this.#stopped.abort();
  }
}
