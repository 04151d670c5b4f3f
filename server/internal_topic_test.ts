// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { LogManager } from "../engine/mod.ts";
import { decodeRecords } from "../records/mod.ts";
import { type InternalRecord, InternalTopic, type InternalTopicOptions } from "./internal_topic.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sluice_internal_topic_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function rec(key: string, value: string | null): InternalRecord {
  return { key: enc.encode(key), value: value === null ? null : enc.encode(value) };
}

function options(extra: Partial<InternalTopicOptions> = {}): InternalTopicOptions {
  return {
    name: "__test_state",
    partitions: 4,
    partitionsConfig: "test.num.partitions",
    configs: { "cleanup.policy": "compact", "segment.bytes": "1048576" },
    now: () => 777,
    ...extra,
  };
}

Deno.test("InternalTopic is created on first append with its configs, in the key's partition", async () => {
  await withDir(async (dir) => {
    const logs = await LogManager.open(dir);
    const topic = new InternalTopic(logs, options());
    assertEquals([topic.name, topic.partitions, topic.created], ["__test_state", 4, false]);
    assertEquals(await topic.load((r) => r), []);
    await topic.append("k", []); // no records: no topic either
    assertEquals(logs.topic("__test_state"), undefined);
    const p = topic.partitionFor("k");
    await topic.append("k", [rec("a", "1"), rec("b", null)]);
    assertEquals(topic.created, true);
    const info = logs.topic("__test_state")!;
    assertEquals(
      [info.partitions, info.effective["cleanup.policy"], info.effective["segment.bytes"]],
      [4, "compact", "1048576"],
    );
    const log = logs.partition("__test_state", p)!;
    assertEquals(log.logEndOffset, 2);
    const { records } = await log.read(0, 1 << 20);
    const decoded = decodeRecords(records);
    assertEquals(
      decoded.map((
        r,
      ) => [r.offset, r.timestamp, dec.decode(r.key!), r.value && dec.decode(r.value)]),
      [[0, 777, "a", "1"], [1, 777, "b", null]],
    );
    for (let q = 0; q < 4; q++) {
      if (q !== p) assertEquals(logs.partition("__test_state", q)!.logEndOffset, 0);
    }
    await logs.close();
  });
});

Deno.test("InternalTopic.partitionFor is Kafka's toPositive(String.hashCode()) % partitions", async () => {
  await withDir(async (dir) => {
    const logs = await LogManager.open(dir);
    const topic = new InternalTopic(logs, options({ partitions: 50 }));
    assertEquals(topic.partitionFor("my-group"), 36); // as Kafka computes it
    assertEquals(topic.partitionFor("abc"), 96354 % 50);
    assertEquals(topic.partitionFor(""), 0);
    // "polygenelubricants".hashCode() is Integer.MIN_VALUE: toPositive gives 0.
    assertEquals(topic.partitionFor("polygenelubricants"), 0);
    await logs.close();
  });
});

Deno.test("InternalTopic: concurrent first appends create the topic once and all land", async () => {
  await withDir(async (dir) => {
    const logs = await LogManager.open(dir);
    const topic = new InternalTopic(logs, options({ partitions: 1 }));
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => topic.append("k", [rec(`k${i}`, `v${i}`)])),
    );
    assertEquals(logs.partition("__test_state", 0)!.logEndOffset, 8);
    const loaded = await topic.load((r) => dec.decode(r.key!));
    assertEquals(loaded.toSorted(), ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"]);
    await logs.close();
  });
});

Deno.test("InternalTopic.load replays every partition in order after a restart, skipping bad records", async () => {
  await withDir(async (dir) => {
    let logs = await LogManager.open(dir);
    // Not compacted here, so that the engine accepts a record without a key.
    const opts = options({ configs: { "segment.bytes": "1048576" } });
    let topic = new InternalTopic(logs, opts);
    const keys = ["alpha", "beta", "gamma", "delta", "epsilon"];
    for (let round = 0; round < 3; round++) {
      for (const k of keys) await topic.append(k, [rec(k, `${k}:${round}`)]);
    }
    await topic.append("alpha", [{ key: null, value: enc.encode("unkeyed") }, rec("bad", "x")]);
    await topic.append("alpha", [rec("skip", "y"), rec("alpha", null)]);
    await logs.close();

    logs = await LogManager.open(dir);
    const warnings: string[] = [];
    topic = new InternalTopic(logs, { ...opts, warn: (m) => warnings.push(m) });
    assertEquals(topic.created, true);
    const loaded = await topic.load((r) => {
      const key = dec.decode(r.key!);
      if (key === "bad") throw new Error("cannot decode");
      if (key === "skip") return null;
      return `${key}=${r.value === null ? "tombstone" : dec.decode(r.value)}`;
    });
    // Oldest first within each partition, partitions in index order.
    const expected: string[] = [];
    for (let p = 0; p < 4; p++) {
      for (let round = 0; round < 3; round++) {
        for (const k of keys) if (topic.partitionFor(k) === p) expected.push(`${k}=${k}:${round}`);
      }
      if (topic.partitionFor("alpha") === p) expected.push("alpha=tombstone");
    }
    assertEquals(loaded, expected);
    const pa = topic.partitionFor("alpha");
    const badOffset = 3 * keys.filter((k) => topic.partitionFor(k) === pa).length + 1;
    assertEquals(warnings, [`Skipping record __test_state-${pa}@${badOffset}: cannot decode`]);
    await logs.close();
  });
});

Deno.test("InternalTopic keeps an existing topic's partition count and warns", async () => {
  await withDir(async (dir) => {
    const logs = await LogManager.open(dir);
    await new InternalTopic(logs, options({ partitions: 3 })).append("k", [rec("k", "v")]);
    const warnings: string[] = [];
    const topic = new InternalTopic(
      logs,
      options({ partitions: 7, warn: (m) => warnings.push(m) }),
    );
    assertEquals(topic.partitions, 3);
    assertEquals(warnings, [
      "__test_state has 3 partitions, not test.num.partitions=7; using 3",
    ]);
    assertEquals(await topic.load((r) => dec.decode(r.value!)), ["v"]);
    await logs.close();
  });
});

Deno.test("InternalTopic.load reads a batch larger than its initial 1 MiB read budget", async () => {
  await withDir(async (dir) => {
    const logs = await LogManager.open(dir);
    const topic = new InternalTopic(
      logs,
      options({
        partitions: 1,
        configs: { "cleanup.policy": "compact", "max.message.bytes": String(8 << 20) },
      }),
    );
    const big = new Uint8Array(3 << 20).fill(7);
    await topic.append("k", [rec("small", "s")]);
    await topic.append("k", [{ key: enc.encode("big"), value: big }]);
    await topic.append("k", [rec("after", "a")]);
    const loaded = await topic.load((r) => [dec.decode(r.key!), r.offset, r.value!.length]);
    assertEquals(loaded, [["small", 0, 1], ["big", 1, 3 << 20], ["after", 2, 1]]);
    await logs.close();
  });
});

Deno.test("InternalTopic uses a topic that already exists instead of creating it", async () => {
  await withDir(async (dir) => {
    const logs = await LogManager.open(dir);
    await logs.createTopic("__test_state", 2);
    const topic = new InternalTopic(logs, options({ partitions: 2 }));
    assertEquals(topic.created, true);
    await topic.ensure();
    await topic.append("x", [rec("x", "1")]);
    assertEquals(logs.partition("__test_state", topic.partitionFor("x"))!.logEndOffset, 1);
    await logs.close();
  });
});

Deno.test("InternalTopic.append reports a failed creation", async () => {
  await withDir(async (dir) => {
    const logs = await LogManager.open(dir);
    const topic = new InternalTopic(logs, options({ configs: { "no.such.config": "1" } }));
    let message = "";
    try {
      await topic.append("k", [rec("k", "v")]);
    } catch (e) {
      message = e instanceof Error ? e.message : String(e);
    }
    assertEquals(message.includes("no.such.config"), true, message);
    assertEquals(topic.created, false);
    await logs.close();
  });
});
