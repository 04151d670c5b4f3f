// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * A PostgreSQL sink with Confluent's JDBC sink settings: each record's value (a struct or map)
 * becomes a row of `table.name.format` (default `${topic}`); `insert.mode=upsert` with
 * `pk.mode=record_key` keeps one row per key (`INSERT … ON CONFLICT … DO UPDATE`), and with
 * `delete.enabled=true` a tombstone deletes the key's row. `auto.create=true` creates the table
 * from the first record's schema (or, schemaless, from its JavaScript types). Each `put` is one
 * transaction, so a row never reflects half a batch; a key's last record in a batch wins.
 *
 * @module
 */

import { SinkConnector, SinkTask } from "../api.ts";
import { type ConfigDef, ConfigError, parseConfig } from "../config.ts";
import { type Field, isObjectValue, type Schema, type SinkRecord } from "../data.ts";
import { VERSION } from "./file.ts";
import { connect, CONNECTION_CONFIG, quoteIdent, type Sql } from "./postgres_common.ts";

const CONFIG: ConfigDef = {
  ...CONNECTION_CONFIG,
  "table.name.format": {
    type: "string",
    default: "${topic}",
    documentation: "Table name; ${topic} is replaced by the record's topic",
  },
  "insert.mode": {
    type: "string",
    default: "insert",
    validValues: ["insert", "upsert"],
    documentation: "insert: plain INSERT; upsert: INSERT … ON CONFLICT (pk) DO UPDATE",
  },
  "pk.mode": {
    type: "string",
    default: "none",
    validValues: ["none", "record_key", "record_value"],
    documentation: "Where the primary key comes from",
  },
  "pk.fields": {
    type: "list",
    default: "",
    documentation: "Primary key columns (a primitive key's column name; default __connect_pk)",
  },
  "auto.create": { type: "boolean", default: "false", documentation: "CREATE TABLE if missing" },
  "delete.enabled": {
    type: "boolean",
    default: "false",
    documentation: "A tombstone deletes the key's row (needs pk.mode=record_key)",
  },
};

function checkConfig(props: Record<string, string>): Record<string, unknown> {
  const c = parseConfig(CONFIG, props);
  const errors: string[] = [];
  if (c["insert.mode"] === "upsert" && c["pk.mode"] === "none") {
    errors.push("insert.mode=upsert needs pk.mode record_key or record_value");
  }
  if (c["delete.enabled"] === true && c["pk.mode"] !== "record_key") {
    errors.push("Primary key mode must be 'record_key' when delete support is enabled");
  }
  if (c["pk.mode"] === "record_value" && (c["pk.fields"] as string[]).length === 0) {
    errors.push("pk.mode=record_value needs pk.fields");
  }
  if (errors.length) throw new ConfigError(errors);
  return c;
}

/** Writes records into PostgreSQL tables. */
export class PostgresSinkConnector extends SinkConnector {
  #props: Record<string, string> = {};
  /** The version. */
  version(): string {
    return VERSION;
  }
  /** Confluent's JDBC sink settings this sink supports. */
  config(): ConfigDef {
    return CONFIG;
  }
  /**
   * Checks the settings together.
   *
   * @throws {ConfigError} On an impossible combination.
   */
  start(props: Record<string, string>): void {
    checkConfig(props);
    this.#props = props;
  }
  /**
   * Checks settings that only make sense together.
   *
   * @throws {ConfigError} On an impossible combination.
   */
  override validate(props: Record<string, string>): void {
    checkConfig(props);
  }
  /** {@linkcode PostgresSinkTask}. */
  taskClass(): typeof PostgresSinkTask {
    return PostgresSinkTask;
  }
  /** `tasks.max` identical tasks. */
  taskConfigs(maxTasks: number): Record<string, string>[] {
    return Array.from({ length: maxTasks }, () => ({ ...this.#props }));
  }
  /** Nothing to stop. */
  stop(): void {}
}

const SQL_TYPES: Record<string, string> = {
  int8: "SMALLINT",
  int16: "SMALLINT",
  int32: "INTEGER",
  int64: "BIGINT",
  float32: "REAL",
  float64: "DOUBLE PRECISION",
  boolean: "BOOLEAN",
  string: "TEXT",
  bytes: "BYTEA",
  array: "JSONB",
  map: "JSONB",
  struct: "JSONB",
};

function sqlTypeOf(schema: Schema | undefined, value: unknown): string {
  if (schema) return SQL_TYPES[schema.type] ?? "TEXT";
  if (typeof value === "number") return Number.isInteger(value) ? "BIGINT" : "DOUBLE PRECISION";
  if (typeof value === "bigint") return "BIGINT";
  if (typeof value === "boolean") return "BOOLEAN";
  if (value instanceof Uint8Array) return "BYTEA";
  if (Array.isArray(value) || isObjectValue(value)) return "JSONB";
  return "TEXT";
}

interface Column {
  name: string;
  type: string;
  nullable: boolean;
}

interface Row {
  table: string;
  /** Primary key values by column. */
  key: Record<string, unknown>;
  /** The whole row, or `null` for a delete. */
  row: Record<string, unknown> | null;
  columns: Column[];
}

/** Writes one `put` per transaction. */
export class PostgresSinkTask extends SinkTask {
  #sql: Sql | null = null;
  #c: Record<string, unknown> = {};
  #known = new Map<string, Set<string>>();

  /** The version. */
  version(): string {
    return VERSION;
  }

  /** Opens the connection pool. */
  start(props: Record<string, string>): void {
    this.#c = checkConfig(props);
    this.#sql = connect(props, 1);
  }

  #rowOf(r: SinkRecord): Row {
    const table = String(this.#c["table.name.format"]).replaceAll("${topic}", r.topic);
    const pkMode = this.#c["pk.mode"] as string;
    const pkFields = this.#c["pk.fields"] as string[];
    const columns: Column[] = [];
    const key: Record<string, unknown> = {};
    if (pkMode === "record_key") {
      if (r.key === null || r.key === undefined) {
        throw new Error(
          `PostgreSQL sink: record ${r.topic}-${r.kafkaPartition}@${r.kafkaOffset} has a null key (pk.mode=record_key)`,
        );
      }
      if (isObjectValue(r.key)) {
        const names = pkFields.length ? pkFields : Object.keys(r.key);
        for (const n of names) {
          if (!(n in r.key)) throw new Error(`PostgreSQL sink: key has no field ${n}`);
          key[n] = r.key[n];
          const f = r.keySchema?.fields?.find((x: Field) => x.field === n);
          columns.push({ name: n, type: sqlTypeOf(f, r.key[n]), nullable: false });
        }
      } else {
        const n = pkFields[0] ?? "__connect_pk";
        key[n] = r.key;
        columns.push({
          name: n,
          type: sqlTypeOf(r.keySchema ?? undefined, r.key),
          nullable: false,
        });
      }
    }
    if (r.value === null || r.value === undefined) return { table, key, row: null, columns };
    if (!isObjectValue(r.value)) {
      throw new Error(
        `PostgreSQL sink: record ${r.topic}-${r.kafkaPartition}@${r.kafkaOffset}: the value is not a struct or map`,
      );
    }
    const row: Record<string, unknown> = { ...key };
    for (const [n, v] of Object.entries(r.value)) {
      if (n in key) continue;
      row[n] = v;
      const f = r.valueSchema?.fields?.find((x: Field) => x.field === n);
      columns.push({ name: n, type: sqlTypeOf(f, v), nullable: f ? f.optional === true : true });
    }
    if (pkMode === "record_value") {
      for (const n of pkFields) {
        if (!(n in row)) throw new Error(`PostgreSQL sink: value has no field ${n}`);
        key[n] = row[n];
        const col = columns.find((c) => c.name === n);
        if (col) col.nullable = false;
      }
    }
    return { table, key, row, columns };
  }

  async #ensureTable(tx: Sql, row: Row): Promise<void> {
    if (!this.#c["auto.create"] || this.#known.has(row.table)) return;
    const keyNames = Object.keys(row.key);
    const cols = row.columns.map((c) =>
      `${quoteIdent(c.name)} ${c.type}${
        c.nullable && !keyNames.includes(c.name) ? "" : " NOT NULL"
      }`
    );
    if (keyNames.length) cols.push(`PRIMARY KEY (${keyNames.map(quoteIdent).join(", ")})`);
    await tx.unsafe(`CREATE TABLE IF NOT EXISTS ${quoteIdent(row.table)} (${cols.join(", ")})`);
    this.#known.set(row.table, new Set(row.columns.map((c) => c.name)));
  }

  async #write(tx: Sql, row: Row): Promise<void> {
    const keyNames = Object.keys(row.key);
    const table = quoteIdent(row.table);
    if (row.row === null) {
      if (!this.#c["delete.enabled"]) return;
      const where = keyNames.map((k, i) => `${quoteIdent(k)} = $${i + 1}`).join(" AND ");
      await tx.unsafe(
        `DELETE FROM ${table} WHERE ${where}`,
        keyNames.map((k) => row.key[k] ?? null) as never[],
      );
      return;
    }
    await this.#ensureTable(tx, row);
    const names = Object.keys(row.row);
    const params = names.map((n) => row.row![n] ?? null);
    let q = `INSERT INTO ${table} (${names.map(quoteIdent).join(", ")}) VALUES (${
      names.map((_, i) => `$${i + 1}`).join(", ")
    })`;
    if (this.#c["insert.mode"] === "upsert") {
      const rest = names.filter((n) => !keyNames.includes(n));
      q += ` ON CONFLICT (${keyNames.map(quoteIdent).join(", ")}) DO ` +
        (rest.length
          ? `UPDATE SET ${
            rest.map((n) => `${quoteIdent(n)} = EXCLUDED.${quoteIdent(n)}`).join(", ")
          }`
          : "NOTHING");
    }
    await tx.unsafe(q, params as never[]);
  }

  /** Writes the records in one transaction (upsert: the last record per key). */
  async put(records: SinkRecord[]): Promise<void> {
    const rows = records.map((r) => this.#rowOf(r));
    let todo = rows;
    if (this.#c["insert.mode"] === "upsert") {
      const last = new Map<string, Row>();
      for (const r of rows) {
        const k = JSON.stringify([r.table, Object.entries(r.key).map(([n, v]) => [n, String(v)])]);
        last.delete(k);
        last.set(k, r);
      }
      todo = [...last.values()];
    }
    await this.#sql!.begin(async (tx) => {
      for (const r of todo) await this.#write(tx as unknown as Sql, r);
    });
  }

  /** Closes the pool. */
  async stop(): Promise<void> {
    const sql = this.#sql;
    this.#sql = null;
    await sql?.end({ timeout: 5 });
  }
}
