import assert from "node:assert/strict";
import kafkajs from "kafkajs";
import { DefaultPartitioner, partitionForKey, partitionForTextKey } from "./partitioner.ts";

const te = new TextEncoder();

Deno.test("partitionForKey() puts keys where the Java client does", () => {
  // toPositive(murmur2(key)) % n, with murmur2 values from Kafka's UtilsTest.
  const vectors: Array<[string, number, number]> = [
    ["21", 3, 0], // -973932308 -> 1173551340
    ["foobar", 10, 6], // -790332482 -> 1357151166
    ["a-little-bit-long-string", 6, 2], // -985981536 -> 1161502112
    ["a-little-bit-longer-string", 6, 5], // -1486304829 -> 661178819
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", 10, 7], // -58897971 -> 2088585677
    ["abc", 10, 7], // 479470107
    ["12345", 3, 2], // -1188365604 -> 959118044
    ["1", 10, 9], // -1993445489 -> 154038159
  ];
  for (const [key, n, expected] of vectors) {
    assert.equal(partitionForKey(te.encode(key), n), expected, `${key} over ${n} partitions`);
  }
});

Deno.test("partitionForKey() agrees with kafkajs's JavaCompatiblePartitioner on 2000 keys", () => {
  const java = kafkajs.Partitioners.JavaCompatiblePartitioner();
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < 2000; i++) {
    const len = rand() % 40;
    let key = "";
    for (let j = 0; j < len; j++) key += String.fromCharCode(33 + (rand() % 90));
    const n = 1 + (rand() % 64);
    const partitionMetadata = Array.from({ length: n }, (_, p) => ({
      partitionErrorCode: 0,
      partitionId: p,
      leader: 1,
      replicas: [1],
      isr: [1],
    }));
    const expected = java({ topic: "t", partitionMetadata, message: { key, value: "v" } });
    assert.equal(partitionForKey(te.encode(key), n), expected, `key ${JSON.stringify(key)}/${n}`);
  }
});

Deno.test("partitionForKey() rejects a non-positive partition count", () => {
  assert.throws(() => partitionForKey(te.encode("k"), 0), {
    name: "RangeError",
    message: "partitioner: invalid partition count: 0",
  });
});

Deno.test("DefaultPartitioner sticks to one partition for null keys until a new batch", () => {
  const draws = [0.5, 0.0, 0.99];
  const p = new DefaultPartitioner(() => draws.shift() ?? 0);
  const input = { topic: "t", key: null, numPartitions: 4 };
  assert.equal(p.partition(input), 2);
  assert.equal(p.partition(input), 2);
  assert.equal(p.partition(input), 2);
  // Batch on partition 2 closed: the next sticky partition must differ from 2.
  p.onNewBatch("t", 2, 4); // draw 0.0 -> 0
  assert.equal(p.partition(input), 0);
  p.onNewBatch("t", 3, 4); // not the sticky one: no change
  assert.equal(p.partition(input), 0);
  p.onNewBatch("t", 0, 4); // draw 0.99 -> index 2 of {1,2,3} -> 3
  assert.equal(p.partition(input), 3);
  // Keyed records are unaffected by stickiness.
  assert.equal(p.partition({ topic: "t", key: te.encode("21"), numPartitions: 3 }), 0);
});

Deno.test("DefaultPartitioner keeps a separate sticky partition per topic", () => {
  const draws = [0.1, 0.9];
  const p = new DefaultPartitioner(() => draws.shift() ?? 0);
  assert.equal(p.partition({ topic: "a", key: null, numPartitions: 5 }), 0);
  assert.equal(p.partition({ topic: "b", key: null, numPartitions: 5 }), 4);
  assert.equal(p.partition({ topic: "a", key: null, numPartitions: 5 }), 0);
});

Deno.test("partitionForTextKey is partitionForKey of the key's UTF-8 bytes (ASCII, unicode, lone surrogates, long keys)", () => {
  const keys = [
    "",
    "21",
    "foobar",
    "clé",
    "€",
    "a😀b",
    "\ud800",
    "x\udc00",
    "漢字",
    "k".repeat(300),
  ];
  keys.push("é".repeat(400), "x".repeat(100) + "😀", "k17");
  for (let i = 0; i < 200; i++) keys.push(`key-${i}-${"é".repeat(i % 5)}`);
  for (const key of keys) {
    for (const n of [1, 3, 7, 64]) {
      assert.equal(partitionForTextKey(key, n), partitionForKey(te.encode(key), n), key);
    }
  }
  assert.throws(() => partitionForTextKey("k", 0), RangeError);
});
