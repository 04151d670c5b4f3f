// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A PostgreSQL source with Confluent's JDBC source settings: polls the tables of
 * `table.whitelist` (or a `query`) every `poll.interval.ms` for new rows, by an
 * `incrementing.column.name` (`mode=incrementing`), a `timestamp.column.name`
 * (`mode=timestamp`), both (`mode=timestamp+incrementing`), or everything (`mode=bulk`). Each
 * row becomes a struct record in `topic.prefix` + table name (or `topic.prefix` for a query),
 * with source partition `{"table":…}` (or `{"query":…}`) and offset `{"incrementing":…}` and/or
 * `{"timestamp":MS,"timestamp_nanos":…}`, so a restarted worker resumes after the last row
 * stored. Timestamps are compared in microseconds, PostgreSQL's precision.
 *
 * Like Confluent's, a row that becomes visible after rows with higher ids or timestamps were
 * read (a long transaction) is missed; `timestamp.delay.interval.ms` leaves time for them.
 *
 * @module
 */

import { SourceConnector, SourceTask } from "../api.ts";
import { type ConfigDef, ConfigError, parseConfig } from "../config.ts";
import type { Field, Schema, SourceRecord } from "../data.ts";
import { VERSION } from "./file.ts";
import { connect, CONNECTION_CONFIG, quoteIdent, type Sql } from "./postgres_common.ts";
import { sleep } from "../sleep.ts";

const MODES = ["bulk", "incrementing", "timestamp", "timestamp+incrementing"];

const CONFIG: ConfigDef = {
  ...CONNECTION_CONFIG,
  mode: { type: "string", validValues: MODES, documentation: "How new rows are found" },
  "incrementing.column.name": { type: "string", default: "", documentation: "Id column" },
  "timestamp.column.name": { type: "string", default: "", documentation: "Timestamp column" },
  "table.whitelist": { type: "list", default: "", documentation: "Tables to read" },
  query: { type: "string", default: "", documentation: "A query to read instead of tables" },
  "topic.prefix": { type: "string", documentation: "Prefix of the topic names" },
  "poll.interval.ms": { type: "int", default: "5000", min: 1, documentation: "Between queries" },
  "batch.max.rows": { type: "int", default: "100", min: 1, documentation: "Rows per poll" },
  "timestamp.delay.interval.ms": {
    type: "long",
    default: "0",
    min: 0,
    documentation: "Rows newer than this are left for the next query",
  },
};

function checkConfig(props: Record<string, string>): Record<string, unknown> {
  const c = parseConfig(CONFIG, props);
  const errors: string[] = [];
  const mode = c.mode as string;
  if (mode.includes("incrementing") && !c["incrementing.column.name"]) {
    errors.push(`mode=${mode} needs incrementing.column.name`);
  }
  if (mode.startsWith("timestamp") && !c["timestamp.column.name"]) {
    errors.push(`mode=${mode} needs timestamp.column.name`);
  }
  if (c.query && (c["table.whitelist"] as string[]).length) {
    errors.push("table.whitelist and query are exclusive");
  }
  if (errors.length) throw new ConfigError(errors);
  return c;
}

/** Polls PostgreSQL tables for new rows. */
export class PostgresSourceConnector extends SourceConnector {
  #props: Record<string, string> = {};
  #tables: string[] = [];
  /** The version. */
  version(): string {
    return VERSION;
  }
  /** Confluent's JDBC source settings this source supports. */
  config(): ConfigDef {
    return CONFIG;
  }
  /**
   * Checks the settings; without `table.whitelist` or `query`, lists the tables of `public`.
   *
   * @throws {ConfigError} On an impossible combination.
   */
  async start(props: Record<string, string>): Promise<void> {
    const c = checkConfig(props);
    this.#props = props;
    this.#tables = c["table.whitelist"] as string[];
    if (!c.query && this.#tables.length === 0) {
      const sql = connect(props, 1);
      try {
        const rows = await sql.unsafe(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
        );
        this.#tables = rows.map((r) => String(r.table_name));
      } finally {
        await sql.end({ timeout: 5 });
      }
    }
  }
  /**
   * Checks settings that only make sense together.
   *
   * @throws {ConfigError} On an impossible combination.
   */
  override validate(props: Record<string, string>): void {
    checkConfig(props);
  }
  /** {@linkcode PostgresSourceTask}. */
  taskClass(): typeof PostgresSourceTask {
    return PostgresSourceTask;
  }
  /** Tables spread over at most `maxTasks` tasks; a query is one task. */
  taskConfigs(maxTasks: number): Record<string, string>[] {
    if (this.#props.query) return [{ ...this.#props, tables: "" }];
    const n = Math.max(1, Math.min(maxTasks, this.#tables.length));
    const groups: string[][] = Array.from({ length: n }, () => []);
    this.#tables.forEach((t, i) => groups[i % n].push(t));
    return groups.map((g) => ({ ...this.#props, tables: g.join(",") }));
  }
  /** Nothing to stop. */
  stop(): void {}
}

const TYPE_SCHEMAS: Record<number, Schema> = {
  16: { type: "boolean", optional: true },
  20: { type: "int64", optional: true },
  21: { type: "int16", optional: true },
  23: { type: "int32", optional: true },
  700: { type: "float32", optional: true },
  701: { type: "float64", optional: true },
  17: { type: "bytes", optional: true },
  1114: {
    type: "int64",
    optional: true,
    name: "org.apache.kafka.connect.data.Timestamp",
    version: 1,
  },
  1184: {
    type: "int64",
    optional: true,
    name: "org.apache.kafka.connect.data.Timestamp",
    version: 1,
  },
  1082: { type: "int32", optional: true, name: "org.apache.kafka.connect.data.Date", version: 1 },
};

const TS_US = "__sluice_ts_us";

function toValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint") {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  }
  if (v instanceof Date) return v.getTime();
  if (v instanceof Uint8Array) return new Uint8Array(v);
  if (typeof v === "object") return JSON.stringify(v);
  return v;
}

interface Source {
  /** Table name, or `null` for the query. */
  table: string | null;
  partition: Record<string, unknown>;
  topic: string;
  inc: bigint | null;
  tsUs: bigint | null;
  nextQuery: number;
}

/** Queries its tables in turn and hands out rows in order. */
export class PostgresSourceTask extends SourceTask {
  #sql: Sql | null = null;
  #c: Record<string, unknown> = {};
  #sources: Source[] = [];
  #queue: SourceRecord[] = [];
  #next = 0;
  #stopped = false;
  #wake: (() => void) | null = null;

  /** The version. */
  version(): string {
    return VERSION;
  }

  /** Reads the stored offsets of its tables. */
  start(props: Record<string, string>): void {
    this.#c = checkConfig(props);
    this.#sql = connect(props, 1);
    const query = this.#c.query as string;
    const names = query ? [null] : (props.tables ?? "").split(",").filter((t) => t);
    for (const table of names) {
      const partition = table === null ? { query: "query" } : { table };
      const stored = this.context.offsetStorageReader.offset(partition);
      let inc: bigint | null = null;
      let tsUs: bigint | null = null;
      if (stored && stored.incrementing !== undefined) inc = BigInt(String(stored.incrementing));
      if (stored && stored.timestamp !== undefined) {
        const ms = BigInt(String(stored.timestamp));
        const nanos = BigInt(String(stored.timestamp_nanos ?? 0));
        tsUs = (ms / 1000n) * 1_000_000n + nanos / 1000n;
      }
      this.#sources.push({
        table,
        partition,
        topic: `${this.#c["topic.prefix"]}${table ?? ""}`,
        inc,
        tsUs,
        nextQuery: 0,
      });
    }
  }

  #sleep(ms: number): Promise<void> {
    return sleep(ms, (wake) => (this.#wake = wake));
  }

  async #query(s: Source): Promise<void> {
    const mode = this.#c.mode as string;
    const incCol = quoteIdent(String(this.#c["incrementing.column.name"]));
    const tsCol = quoteIdent(String(this.#c["timestamp.column.name"]));
    const from = s.table === null ? `(${this.#c.query}) AS q` : quoteIdent(s.table);
    const tsUsExpr = `floor(extract(epoch from ${tsCol}) * 1000000)::int8`;
    const params: unknown[] = [];
    let select = `SELECT *`;
    const where: string[] = [];
    let order = "";
    let limit = "";
    if (mode.startsWith("timestamp")) {
      select += `, ${tsUsExpr}::text AS "${TS_US}"`;
      params.push(Number(this.#c["timestamp.delay.interval.ms"]));
      where.push(`${tsCol} < now() - ($${params.length}::int8 * interval '1 millisecond')`);
    }
    if (mode === "incrementing") {
      params.push((s.inc ?? -1n).toString());
      where.push(`${incCol} > $${params.length}::int8`);
      order = `ORDER BY ${incCol} ASC`;
      limit = `LIMIT ${Number(this.#c["batch.max.rows"]) * 10}`;
    } else if (mode === "timestamp") {
      params.push((s.tsUs ?? -(2n ** 62n)).toString());
      where.push(`${tsUsExpr} > $${params.length}::int8`);
      order = `ORDER BY ${tsCol} ASC`;
    } else if (mode === "timestamp+incrementing") {
      params.push((s.tsUs ?? -(2n ** 62n)).toString());
      const t = params.length;
      params.push((s.inc ?? -1n).toString());
      where.push(
        `((${tsUsExpr} = $${t}::int8 AND ${incCol} > $${
          t + 1
        }::int8) OR ${tsUsExpr} > $${t}::int8)`,
      );
      order = `ORDER BY ${tsCol} ASC, ${incCol} ASC`;
    }
    const q = `${select} FROM ${from}${
      where.length ? ` WHERE ${where.join(" AND ")}` : ""
    } ${order} ${limit}`;
    const rows = await this.#sql!.unsafe(q, params as never[]);
    const fields: Field[] = rows.columns.filter((c) => c.name !== TS_US).map((c) => ({
      field: c.name,
      ...(TYPE_SCHEMAS[c.type] ?? { type: "string" as const, optional: true }),
    }));
    const schema: Schema = {
      type: "struct",
      fields,
      optional: false,
      ...(s.table ? { name: s.table } : {}),
    };
    const incName = String(this.#c["incrementing.column.name"]);
    for (const row of rows) {
      const value: Record<string, unknown> = {};
      for (const f of fields) value[f.field] = toValue(row[f.field]);
      const offset: Record<string, unknown> = {};
      if (mode.includes("incrementing")) {
        s.inc = BigInt(String(row[incName]));
        offset.incrementing = toValue(s.inc);
      }
      if (mode.startsWith("timestamp")) {
        s.tsUs = BigInt(String(row[TS_US]));
        const sec = s.tsUs >= 0n ? s.tsUs / 1_000_000n : (s.tsUs - 999_999n) / 1_000_000n;
        const us = s.tsUs - sec * 1_000_000n;
        offset.timestamp = Number(sec * 1000n + us / 1000n);
        offset.timestamp_nanos = Number(us * 1000n);
      }
      this.#queue.push({
        topic: s.topic,
        keySchema: null,
        key: null,
        valueSchema: schema,
        value,
        sourcePartition: s.partition,
        sourceOffset: offset,
      });
    }
    // A full page of an incrementing query: ask again at once.
    const full = mode === "incrementing" && rows.length === Number(this.#c["batch.max.rows"]) * 10;
    s.nextQuery = full ? 0 : Date.now() + Number(this.#c["poll.interval.ms"]);
  }

  /** Up to `batch.max.rows` rows; waits for the next query time when there are none. */
  async poll(): Promise<SourceRecord[] | null> {
    if (this.#stopped) return null;
    if (this.#queue.length === 0) {
      const now = Date.now();
      const due = this.#sources.filter((s) => s.nextQuery <= now);
      if (due.length === 0) {
        const wait = Math.min(...this.#sources.map((s) => s.nextQuery)) - now;
        await this.#sleep(Math.max(1, Math.min(wait, 1000)));
        return null;
      }
      const s = due[this.#next++ % due.length];
      await this.#query(s);
      if (this.#queue.length === 0) return null;
    }
    return this.#queue.splice(0, Number(this.#c["batch.max.rows"]));
  }

  /** Closes the pool. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    const sql = this.#sql;
    this.#sql = null;
    await sql?.end({ timeout: 5 });
  }
}
