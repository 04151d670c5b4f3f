// Copyright 2026 the Sluice authors. Apache-2.0 license.
// lua-resty-kafka (Debian's lua-nginx-kafka 0.07), the pure-Lua producer of OpenResty, run in a
// real nginx (Debian's nginx 1.22 + libnginx-mod-http-lua, nginx_lua.ts). It speaks Metadata v0
// and Produce v0-v2 (message format v0, or v1 with Produce v2), uncompressed, one TCP
// connection per request, no ApiVersions. Its synchronous and asynchronous (buffered) producers,
// topics created by Metadata v0, keyed partitioning (crc32(key) % partitions), and its error
// paths; every record is read back with our client at the partition and offset the producer
// reported. Things the client itself does not handle are asserted as what Kafka would do too
// (tests/interop/README.md).

import assert, { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { Client, Consumer } from "../../client/mod.ts";
import { requireEtcd, sharedEtcd } from "../etcd.ts";
import { createReplicatedTopic, startCluster } from "../cluster/harness.ts";
import {
  interopTest,
  requireClient,
  sharedBroker,
  startBroker,
  uniqueTopic,
  withTimeout,
} from "../harness.ts";
import { crc32 } from "./crc32.ts";
import { type Nginx, restyKafka, startNginx } from "./nginx_lua.ts";

const lua = requireClient("lua-resty-kafka");
// auto-created topics get three partitions: keyed messages spread by the client's partitioner
const broker = sharedBroker({ numPartitions: 3 });

let started: Promise<Nginx> | undefined;
const nginx = () => (started ??= startNginx());
Deno.test.afterAll(async () => {
  if (started) await (await started.catch(() => undefined))?.close();
});

interface Got {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
}

const text = (b: Uint8Array | null) => b === null ? null : new TextDecoder().decode(b);

/** Every record of `topic` (partitions 0..n-1), read until `count` arrive, then 300 ms more. */
async function readAll(
  bootstrap: string,
  topic: string,
  partitions: number,
  count: number,
): Promise<Got[]> {
  const client = new Client({ bootstrapServers: bootstrap });
  const consumer = new Consumer(client, { maxWaitMs: 100 });
  try {
    await consumer.assign(
      Array.from({ length: partitions }, (_, partition) => ({
        topic,
        partition,
        offset: "earliest" as const,
      })),
    );
    const got: Got[] = [];
    const deadline = Date.now() + 20_000;
    let quietUntil = Infinity;
    while (Date.now() < Math.min(deadline, quietUntil)) {
      const records = await withTimeout(consumer.poll(), 10_000, "poll");
      for (const r of records) {
        got.push({
          partition: r.partition,
          offset: r.offset,
          key: text(r.key),
          value: text(r.value),
          timestamp: r.timestamp,
        });
      }
      if (got.length >= count && quietUntil === Infinity) quietUntil = Date.now() + 300;
    }
    return got.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  } finally {
    await consumer.close();
    await client.close();
  }
}

/** The partition lua-resty-kafka's default partitioner picks for a key. */
const partitionOf = (key: string, partitions: number) =>
  crc32(new TextEncoder().encode(key)) % partitions;

/** Checks that every partition's offsets run 0, 1, 2, ... */
function assertDense(got: Got[]): void {
  const byPartition = Map.groupBy(got, (r) => r.partition);
  for (const [p, rs] of byPartition) {
    assertEquals(rs.map((r) => r.offset), rs.map((_, i) => i), `partition ${p}`);
  }
}

interopTest(
  lua,
  "sync producer: Produce v0, v1, v2 with acks 1 and -1, keyed and keyless",
  async () => {
    const { bootstrap, port } = await broker();
    const ngx = await nginx();
    const topic = uniqueTopic("lua-sync");
    const sent: { key: string; value: string; answer: string }[] = [];
    const before = Date.now();
    for (const v of [0, 1, 2]) {
      for (const acks of [1, -1]) {
        for (const keyed of [1, 0]) {
          const prefix = `v${v}a${acks}k${keyed}`;
          const lines = await restyKafka(ngx, {
            op: "sync",
            port,
            topic,
            n: 3,
            v,
            acks,
            keyed,
            prefix,
          });
          assertEquals(lines.length, 3, lines.join("\n"));
          lines.forEach((answer, i) => {
            assert.match(answer, new RegExp(`^${i} ok \\d+$`));
            // a message without key goes out with an empty key (the client writes "" for nil)
            sent.push({ key: keyed ? `k${i}` : "", value: `${prefix}-${i}`, answer });
          });
        }
      }
    }
    const after = Date.now();
    const got = await readAll(bootstrap, topic, 3, sent.length);
    assertEquals(got.length, sent.length);
    assertDense(got);
    const byValue = new Map(got.map((r) => [r.value, r]));
    for (const [i, s] of sent.entries()) {
      const r = byValue.get(s.value);
      ok(r, `${s.value} not read back`);
      assertEquals(r.key, s.key);
      // the sync producer answers the partition's next offset after the message
      assertEquals(s.answer, `${i % 3} ok ${r.offset + 1}`);
      if (s.key !== "") assertEquals(r.partition, partitionOf(s.key, 3), s.value);
      // message format v0 (Produce v0/v1) has no timestamp; v1 (Produce v2) has the client's
      // time in whole seconds
      if (s.value.startsWith("v2")) {
        ok(r.timestamp >= Math.floor(before / 1000) * 1000 && r.timestamp <= after, s.value);
      } else {
        assertEquals(r.timestamp, -1, s.value);
      }
    }
  },
);

interopTest(lua, "async producer: buffered messages flushed in batches", async () => {
  const { bootstrap, port } = await broker();
  const ngx = await nginx();
  const topic = uniqueTopic("lua-async");
  const n = 120;
  // batch_num 40 messages per partition buffer; a flush every 100 ms besides the handler's own
  const lines = await restyKafka(ngx, {
    op: "async",
    port,
    topic,
    n,
    keyed: 1,
    prefix: "a",
    batch_num: 40,
    flush_ms: 100,
    cluster: topic,
  });
  assertEquals(lines, [`buffered ${n} 0`, "left 0"]);
  const got = await readAll(bootstrap, topic, 3, n);
  assertEquals(got.length, n);
  assertDense(got);
  assertEquals(
    got.map((r) => [r.partition, r.key, r.value]).sort(),
    Array.from({ length: n }, (_, i) => [partitionOf(`k${i}`, 3), `k${i}`, `a-${i}`]).sort(),
  );
  // within a partition the buffer keeps the order messages were sent in
  for (const p of [0, 1, 2]) {
    const values = got.filter((r) => r.partition === p).map((r) => Number(r.value!.slice(2)));
    assertEquals(values, [...values].sort((a, b) => a - b), `partition ${p}`);
  }
});

interopTest(
  lua,
  "errors: too large, acks=0, acks=2, no broker, auto-creation disabled",
  async () => {
    const { bootstrap, port } = await broker();
    const ngx = await nginx();
    const topic = uniqueTopic("lua-errors");
    /** One keyed message (`k0`) to `topic`, sent synchronously unless `op` says otherwise. */
    const one = { op: "sync", port, topic, n: 1, keyed: 1 };
    // a 2 MB message (message.max.bytes is 1 MB): MESSAGE_TOO_LARGE, not retried, not written
    assertEquals(
      await restyKafka(ngx, { ...one, size: 2_000_000 }),
      ["0 err MessageSizeTooLarge"],
    );
    assertEquals(
      await restyKafka(ngx, { ...one, op: "async", size: 2_000_000, cluster: `${topic}-async` }),
      [
        "buffered 1 0",
        "left 0",
        `error ${topic} ${partitionOf("k0", 3)} 1 MessageSizeTooLarge false`,
      ],
    );
    // acks=0: Kafka does not answer, the client waits for an answer until its socket timeout;
    // the message is written once (no retry after a timeout)
    assertEquals(
      await restyKafka(ngx, { ...one, acks: 0, timeout_ms: 300, prefix: "zero" }),
      ["0 err timeout"],
    );
    // acks=0 and an error: Kafka closes the connection instead of answering, at once
    const t0 = Date.now();
    assertEquals(
      await restyKafka(ngx, { ...one, acks: 0, size: 2_000_000, timeout_ms: 5000 }),
      ["0 err closed"],
    );
    ok(Date.now() - t0 < 4000);
    // acks=2: INVALID_REQUIRED_ACKS (21), a code the client's table lacks: it fails with a Lua
    // error (HTTP 500) in its error path, and nothing is written
    await assert.rejects(
      restyKafka(ngx, { ...one, acks: 2 }),
      /HTTP 500[\s\S]*attempt to perform arithmetic on local 'index'/,
    );
    const got = await readAll(bootstrap, topic, 3, 1);
    assertEquals(got.map((r) => [r.partition, r.offset, r.key, r.value]), [
      [partitionOf("k0", 3), 0, "k0", "zero-0"],
    ]);
    // nothing listening: the metadata lookup fails
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const nobody = (closed.addr as Deno.NetAddr).port;
    closed.close();
    assertEquals(await restyKafka(ngx, { op: "sync", port: nobody, topic, n: 1 }), [
      "0 err not found topic",
    ]);
    // auto.create.topics.enable=false: Metadata v0 answers UNKNOWN_TOPIC_OR_PARTITION
    const strict = await startBroker({ autoCreateTopicsEnable: false });
    try {
      const missing = uniqueTopic("lua-missing");
      assertEquals(await restyKafka(ngx, { op: "sync", port: strict.port, topic: missing, n: 1 }), [
        "0 err not found topic",
      ]);
      assertEquals(
        await restyKafka(ngx, {
          op: "async",
          port: strict.port,
          topic: missing,
          n: 2,
          cluster: missing,
        }),
        ["buffered 2 0", "left 0", `error ${missing} -1 2 not found topic true`],
      );
      assertEquals(await restyKafka(ngx, { op: "metadata", port: strict.port, topic: missing }), [
        "err not found topic",
      ]);
    } finally {
      await strict.close();
    }
  },
);

interopTest(lua, "metadata and a broker restart in the middle of an async stream", async () => {
  const ngx = await nginx();
  // its own broker on a fixed port: the client knows only the address it was given
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const b = await startBroker({ listeners: `PLAINTEXT://127.0.0.1:${port}`, numPartitions: 2 });
  try {
    const topic = uniqueTopic("lua-restart");
    const n = 40;
    // one message per 50 ms, flushed every 100 ms; a failed send is retried 20 times 200 ms apart
    const streaming = restyKafka(ngx, {
      op: "async",
      port,
      topic,
      n,
      keyed: 1,
      prefix: "r",
      interval_ms: 50,
      flush_ms: 100,
      max_retry: 20,
      retry_backoff: 200,
      cluster: topic,
    }, 40_000);
    await new Promise((r) => setTimeout(r, 700));
    await b.restart();
    assertEquals(b.port, port);
    assertEquals(await streaming, [`buffered ${n} 0`, "left 0"]);
    assertEquals(await restyKafka(ngx, { op: "metadata", port, topic }), [
      `0 1 127.0.0.1:${port}`,
      `1 1 127.0.0.1:${port}`,
    ]);
    const got = await readAll(b.bootstrap, topic, 2, n);
    assertEquals(got.length, n);
    assertDense(got);
    assertEquals(
      got.map((r) => [r.partition, r.key, r.value]).sort(),
      Array.from({ length: n }, (_, i) => [partitionOf(`k${i}`, 2), `k${i}`, `r-${i}`]).sort(),
    );
  } finally {
    await b.close();
  }
});

const etcdReq = requireEtcd();
const etcd = sharedEtcd();

Deno.test({
  name: "lua-resty-kafka: the leader stops in the middle of an async stream (cluster mode)",
  ignore: lua.ignore || etcdReq.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    lua.assertAvailable();
    etcdReq.assertAvailable();
    const ngx = await nginx();
    const c = await startCluster(await etcd(), 3);
    try {
      const topic = uniqueTopic("lua-failover");
      const leader = await createReplicatedTopic(c, topic);
      const others = [0, 1, 2].filter((i) => i !== leader - 1);
      const n = 40;
      // bootstrap: the two brokers that stay; acks=-1; a failed send retried 30 times 200 ms apart
      const streaming = restyKafka(ngx, {
        op: "async",
        brokers: others.map((i) => c.bootstrap(i)).join(","),
        topic,
        n,
        keyed: 1,
        prefix: "f",
        acks: -1,
        interval_ms: 50,
        flush_ms: 100,
        max_retry: 30,
        retry_backoff: 200,
        cluster: topic,
      }, 40_000);
      await new Promise((r) => setTimeout(r, 700));
      await c.stop(leader - 1);
      assertEquals(await streaming, [`buffered ${n} 0`, "left 0"]);
      const survivor = c.brokers[others[0]]!;
      const now = survivor.cluster!.view.partition(topic, 0)!.value.leader;
      ok(now !== leader && now !== -1, `leader ${now}`);
      const got = await readAll(c.bootstrap(others[0]), topic, 1, n);
      // every message arrives, at dense offsets; the client has no idempotence, so a retry after
      // an answer lost with the old leader could repeat one (at least once, as with Kafka)
      assertEquals(new Set(got.map((r) => r.value)).size, n);
      ok(got.length >= n && got.length <= n + 5, `${got.length} records`);
      assertDense(got);
    } finally {
      await c.close();
    }
  },
});
