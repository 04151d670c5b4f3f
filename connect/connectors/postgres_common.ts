// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * What the PostgreSQL sink and source share: Confluent's JDBC connection settings
 * (`connection.url` as `jdbc:postgresql://HOST:PORT/DB` or `postgres://…`, `connection.user`,
 * `connection.password`) opened with the `postgres` npm driver, sessions in UTC, and identifier
 * quoting.
 *
 * @module
 */

import postgres from "postgres";
import type { ConfigDef } from "../config.ts";

/** A connection pool of the `postgres` driver. */
export type Sql = postgres.Sql;

/** The connection settings, as Confluent's JDBC connectors name them. */
export const CONNECTION_CONFIG: ConfigDef = {
  "connection.url": {
    type: "string",
    importance: "high",
    documentation: "jdbc:postgresql://HOST:PORT/DATABASE or postgres://USER@HOST:PORT/DATABASE",
    validator: (v) =>
      /^(jdbc:postgresql|postgres|postgresql):\/\//.test(String(v))
        ? undefined
        : "expected jdbc:postgresql://HOST:PORT/DATABASE",
  },
  "connection.user": { type: "string", default: null, documentation: "User" },
  "connection.password": { type: "password", default: null, documentation: "Password" },
};

/**
 * Opens a pool from connector properties.
 *
 * @param props Connector properties.
 * @param max Pool size.
 * @returns The pool.
 */
export function connect(props: Record<string, string>, max = 2): Sql {
  const raw = props["connection.url"].replace(/^jdbc:/, "");
  const url = new URL(raw.replace(/^postgresql:/, "postgres:"));
  const user = props["connection.user"] || decodeURIComponent(url.username) ||
    url.searchParams.get("user") || "postgres";
  const password = props["connection.password"] || decodeURIComponent(url.password) ||
    url.searchParams.get("password") || undefined;
  return postgres({
    host: url.hostname,
    port: Number(url.port || 5432),
    database: decodeURIComponent(url.pathname.replace(/^\//, "")) || "postgres",
    username: user,
    password,
    max,
    onnotice: () => {},
    connection: { TimeZone: "UTC" },
    types: { bigint: postgres.BigInt },
  });
}

/**
 * Quotes an identifier; `schema.table` is quoted part by part.
 *
 * @example
 * ```ts
 * import { quoteIdent } from "./postgres_common.ts";
 * console.assert(quoteIdent('public.my"t') === '"public"."my""t"');
 * ```
 *
 * @param name The identifier.
 * @returns The quoted form.
 */
export function quoteIdent(name: string): string {
  return name.split(".").map((p) => `"${p.replaceAll('"', '""')}"`).join(".");
}
