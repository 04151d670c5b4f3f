// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import postgres from "postgres";
import { type Client, Consumer, Producer } from "../../client/mod.ts";
import { type TestBroker, uniqueTopic } from "../../tests/harness.ts";
import { requirePostgres, startPostgres, type TestPostgres } from "../../tests/postgres.ts";
import { type ConnectRuntime, startStandalone } from "../runtime.ts";
import { openConnectTestEnv, until as eventually } from "../testing.ts";

const pgReq = requirePostgres();

function pgTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: pgReq.ignore,
    async fn() {
      pgReq.assertAvailable();
      await fn();
    },
  });
}

/** Waits for `f`, an error from it meaning "not yet". */
const until = <T>(what: string, f: () => Promise<T | undefined>): Promise<T> =>
  eventually(what, f, { timeoutMs: 90_000, intervalMs: 200, retryErrors: true });

interface Env {
  broker: TestBroker;
  pg: TestPostgres;
  sql: postgres.Sql;
  client: Client;
  dir: string;
  worker(connectors: Record<string, string>[]): Promise<ConnectRuntime>;
}

async function withEnv(f: (env: Env) => Promise<void>): Promise<void> {
  await using connect = await openConnectTestEnv("sluice_connect_pg_");
  const pg = await startPostgres();
  const sql = postgres(pg.url, { onnotice: () => {}, max: 1 });
  const env: Env = {
    broker: connect.broker,
    pg,
    sql,
    client: connect.client,
    dir: connect.dir,
    worker: (connectors) =>
      startStandalone({
        worker: connect.worker({
          "offset.flush.interval.ms": "300",
          "key.converter": "org.apache.kafka.connect.storage.StringConverter",
          "value.converter": "org.apache.kafka.connect.json.JsonConverter",
          "value.converter.schemas.enable": "false",
        }),
        connectors,
      }),
  };
  try {
    await f(env);
  } finally {
    await sql.end({ timeout: 5 });
    await pg.stop();
  }
}

pgTest(
  "PostgreSQL sink: the table equals the topic's latest value per key (tombstones delete) through worker restarts",
  async () => {
    await withEnv(async ({ sql, client, worker, pg }) => {
      const topic = uniqueTopic("pgsink").replaceAll("-", "_");
      const connector = {
        name: "pg-sink",
        "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
        "connection.url": `jdbc:postgresql://127.0.0.1:${pg.port}/postgres`,
        "connection.user": "postgres",
        topics: topic,
        "insert.mode": "upsert",
        "pk.mode": "record_key",
        "pk.fields": "id",
        "auto.create": "true",
        "delete.enabled": "true",
      };
      const model = new Map<string, { name: string; n: number }>();
      const producer = new Producer(client);
      let seq = 0;
      const round = async (count: number) => {
        const messages = [];
        for (let i = 0; i < count; i++) {
          const id = `k${(seq * 7919) % 300}`;
          seq++;
          if (seq % 13 === 0) {
            model.delete(id);
            messages.push({ key: id, value: null });
          } else {
            const v = { name: `name ${seq} ✓`, n: seq };
            model.set(id, v);
            messages.push({ key: id, value: JSON.stringify(v) });
          }
        }
        await producer.send({ topic, messages });
      };
      const table = async () =>
        (await sql.unsafe(`SELECT id, name, n FROM "${topic}" ORDER BY id`)).map((r) => [
          r.id,
          { name: r.name, n: Number(r.n) },
        ]);
      const expected = () => [...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const equal = async () =>
        JSON.stringify(await table()) === JSON.stringify(expected()) ? true : undefined;

      await round(3000);
      let rt = await worker([connector]);
      await until("table = model (first round)", equal);
      // Stopped while records arrive, then started again.
      await round(2000);
      await rt.stop();
      await round(2000);
      rt = await worker([connector]);
      await round(1000);
      await until("table = model (after the restart)", equal);
      await rt.stop();
      assertEquals(await table(), expected());
      await producer.close();
    });
  },
);

pgTest(
  "PostgreSQL source: exactly the inserted rows in order (incrementing and timestamp), resumed after a restart without duplicates",
  async () => {
    await withEnv(async ({ sql, client, worker, pg }) => {
      const prefix = `${uniqueTopic("pg").replaceAll("-", "_")}_`;
      await sql.unsafe(
        `CREATE TABLE items (id SERIAL PRIMARY KEY, name TEXT NOT NULL, qty INTEGER, at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())`,
      );
      await sql.unsafe(
        `CREATE TABLE events (code TEXT, at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp())`,
      );
      const insert = async (from: number, to: number) => {
        for (let i = from; i < to; i += 100) {
          const rows = Array.from({ length: Math.min(100, to - i) }, (_, j) => i + j);
          await sql.unsafe(
            `INSERT INTO items (name, qty) SELECT 'item ' || g || ' ü', g % 7 FROM unnest($1::int[]) AS g`,
            [rows] as never[],
          );
          // One row per statement: distinct timestamps in insertion order.
          for (const g of rows) {
            await sql.unsafe(`INSERT INTO events (code) VALUES ($1)`, [`e${g}`]);
          }
        }
      };
      const base = {
        "connection.url": `jdbc:postgresql://127.0.0.1:${pg.port}/postgres`,
        "topic.prefix": prefix,
        "poll.interval.ms": "200",
        "batch.max.rows": "50",
      };
      const connectors = [
        {
          ...base,
          name: "pg-items",
          "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
          mode: "incrementing",
          "incrementing.column.name": "id",
          "table.whitelist": "items",
        },
        {
          ...base,
          name: "pg-events",
          "connector.class": "PostgresSourceConnector",
          mode: "timestamp",
          "timestamp.column.name": "at",
          "table.whitelist": "events",
        },
      ];
      const consumer = new Consumer(client, { fromBeginning: true });
      const items: Array<{ id: number; name: string; qty: number }> = [];
      const events: string[] = [];
      let assigned = false;
      const drain = async (nItems: number, nEvents: number) => {
        await until(`${nItems} items and ${nEvents} events`, async () => {
          if (!assigned) {
            await client.topic(`${prefix}items`, { refresh: true });
            await client.topic(`${prefix}events`, { refresh: true });
            await consumer.assign([
              { topic: `${prefix}items`, partition: 0, offset: "earliest" },
              { topic: `${prefix}events`, partition: 0, offset: "earliest" },
            ]);
            assigned = true;
          }
          for (const r of await consumer.poll({ maxWaitMs: 200 })) {
            const v = JSON.parse(new TextDecoder().decode(r.value!));
            if (r.topic.endsWith("items")) items.push({ id: v.id, name: v.name, qty: v.qty });
            else events.push(v.code);
          }
          return items.length >= nItems && events.length >= nEvents ? true : undefined;
        });
      };
      const expectItems = (n: number) =>
        Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `item ${i} ü`, qty: i % 7 }));
      const expectEvents = (n: number) => Array.from({ length: n }, (_, i) => `e${i}`);

      await insert(0, 600);
      let rt = await worker(connectors);
      await drain(600, 600);
      await insert(600, 800);
      await drain(800, 800);
      await rt.stop();
      await insert(800, 1200);
      rt = await worker(connectors);
      await drain(1200, 1200);
      await new Promise((r) => setTimeout(r, 1500)); // room for a duplicate to show up
      await consumer.poll({ maxWaitMs: 200 }).then((rs) => {
        for (const r of rs) {
          const v = JSON.parse(new TextDecoder().decode(r.value!));
          if (r.topic.endsWith("items")) items.push({ id: v.id, name: v.name, qty: v.qty });
          else events.push(v.code);
        }
      });
      await rt.stop();
      await consumer.close();
      assertEquals(items, expectItems(1200));
      assertEquals(events, expectEvents(1200));
    });
  },
);

pgTest(
  "PostgreSQL sink: auto.create from a JSON schema (struct key, typed columns), insert mode",
  async () => {
    await withEnv(async ({ sql, client, worker, pg }) => {
      const topic = uniqueTopic("pgtyped").replaceAll("-", "_");
      const producer = new Producer(client);
      const keySchema = {
        type: "struct",
        fields: [{ field: "region", type: "string" }, { field: "no", type: "int32" }],
      };
      const valueSchema = {
        type: "struct",
        fields: [
          { field: "region", type: "string" },
          { field: "no", type: "int32" },
          { field: "qty", type: "int64" },
          { field: "price", type: "float64", optional: true },
          { field: "ok", type: "boolean" },
          { field: "note", type: "string", optional: true },
        ],
      };
      await producer.send({
        topic,
        messages: [1, 2, 3].map((no) => ({
          key: JSON.stringify({ schema: keySchema, payload: { region: "eu", no } }),
          value: JSON.stringify({
            schema: valueSchema,
            payload: {
              region: "eu",
              no,
              qty: no * 1000,
              price: no / 4,
              ok: no % 2 === 1,
              note: null,
            },
          }),
        })),
      });
      await producer.close();
      const rt = await worker([{
        name: "pg-typed",
        "connector.class": "PostgresSinkConnector",
        "connection.url": `jdbc:postgresql://127.0.0.1:${pg.port}/postgres`,
        topics: topic,
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
        "pk.mode": "record_key",
        "auto.create": "true",
      }]);
      try {
        await until("3 rows", async () => {
          const n = await sql.unsafe(`SELECT count(*)::int AS n FROM "${topic}"`).catch(
            () => [{ n: 0 }],
          );
          return n[0].n === 3 ? true : undefined;
        });
        const columns = await sql.unsafe(
          `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`,
          [topic],
        );
        assertEquals(columns.map((c) => [c.column_name, c.data_type, c.is_nullable]), [
          ["region", "text", "NO"],
          ["no", "integer", "NO"],
          ["qty", "bigint", "NO"],
          ["price", "double precision", "YES"],
          ["ok", "boolean", "NO"],
          ["note", "text", "YES"],
        ]);
        const rows = await sql.unsafe(`SELECT * FROM "${topic}" ORDER BY no`);
        assertEquals(rows.map((r) => [r.region, r.no, Number(r.qty), r.price, r.ok, r.note]), [
          ["eu", 1, 1000, 0.25, true, null],
          ["eu", 2, 2000, 0.5, false, null],
          ["eu", 3, 3000, 0.75, true, null],
        ]);
        const pk = await sql.unsafe(
          `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY a.attname`,
          [`"${topic}"`],
        );
        assertEquals(pk.map((r) => r.attname), ["no", "region"]);
      } finally {
        await rt.stop();
      }
    });
  },
);

pgTest(
  "PostgreSQL source: a query in timestamp+incrementing mode: rows sharing a timestamp, and updated rows, each emitted once",
  async () => {
    await withEnv(async ({ sql, client, worker, pg }) => {
      const topic = `${uniqueTopic("pgq").replaceAll("-", "_")}`;
      await sql.unsafe(
        `CREATE TABLE things (id SERIAL PRIMARY KEY, name TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL)`,
      );
      // One statement: every row has the same timestamp (now() is the transaction's start).
      await sql.unsafe(
        `INSERT INTO things (name, updated_at) SELECT 'thing ' || g, now() FROM generate_series(1, 120) AS g`,
      );
      await sql.unsafe(`INSERT INTO things (name, updated_at) VALUES ('skip', now())`);
      const rt = await worker([{
        name: "pg-query",
        "connector.class": "PostgresSourceConnector",
        "connection.url": `jdbc:postgresql://127.0.0.1:${pg.port}/postgres`,
        query: `SELECT id, name, updated_at FROM things WHERE name <> 'skip'`,
        mode: "timestamp+incrementing",
        "timestamp.column.name": "updated_at",
        "incrementing.column.name": "id",
        "topic.prefix": topic,
        "poll.interval.ms": "200",
        "batch.max.rows": "25",
      }]);
      const consumer = new Consumer(client, { fromBeginning: true });
      const got: string[] = [];
      try {
        const drain = (n: number) =>
          until(`${n} rows`, async () => {
            if (got.length === 0 && consumer.assignment().length === 0) {
              await client.topic(topic, { refresh: true });
              await consumer.assign([{ topic, partition: 0, offset: "earliest" }]);
            }
            for (const r of await consumer.poll({ maxWaitMs: 200 })) {
              const v = JSON.parse(new TextDecoder().decode(r.value!));
              got.push(`${v.id}:${v.name}`);
            }
            return got.length >= n ? true : undefined;
          });
        await drain(120);
        await sql.unsafe(
          `UPDATE things SET name = 'renamed 7', updated_at = clock_timestamp() WHERE id = 7`,
        );
        await drain(121);
        await new Promise((r) => setTimeout(r, 1000));
        for (const r of await consumer.poll({ maxWaitMs: 200 })) {
          got.push(new TextDecoder().decode(r.value!));
        }
        assertEquals(got, [
          ...Array.from({ length: 120 }, (_, i) => `${i + 1}:thing ${i + 1}`),
          "7:renamed 7",
        ]);
      } finally {
        await consumer.close();
        await rt.stop();
      }
    });
  },
);
