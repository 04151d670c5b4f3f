// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert, { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { Serdes, StreamsBuilder, TopologyTestDriver } from "./mod.ts";
import {
  combinedKey,
  decodeResponse,
  decodeSubscription,
  encodeResponse,
  encodeSubscription,
  Instruction,
  murmur3Hash128,
} from "./fk_join.ts";

const S = Serdes.String();
const B = Serdes.Bytes();
const defaults = { defaultKeySerde: S, defaultValueSerde: S };
const bytes = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/** Orders (`<customer>:<item>`, `-:<item>` for no customer) joined with customers, inner and
 * left, named `fk` and `fkl`. */
function orders() {
  const b = new StreamsBuilder();
  const o = b.table<string, string>("orders");
  const c = b.table<string, string>("customers");
  const fk = (v: string) => v.startsWith("-:") ? null : v.split(":")[0];
  o.join(c, fk, (l, r) => `${l}+${r}`, { name: "fk", storeName: "inner" })
    .toStream().to("inner-out");
  o.leftJoin(c, fk, (l, r) => `${l}+${r}`, { name: "fkl", storeName: "left" })
    .toStream().to("left-out");
  return b.build();
}

function drain(d: TopologyTestDriver, topic: string): string[] {
  return d.createOutputTopic(topic, S, S).readRecordsToList().map((r) =>
    `${r.key}:${r.value}@${r.timestamp}`
  );
}

Deno.test("murmur3Hash128: the reference x64 128-bit values (Kafka's Murmur3.hash128, big-endian halves)", () => {
  // SMHasher's MurmurHash3_x64_128 with seed 0: h1 = e34bbc7bbc071b6c, h2 = 7a433ca9c49a9347.
  assertEquals(
    hex(murmur3Hash128(bytes("The quick brown fox jumps over the lazy dog"), 0n)),
    "e34bbc7bbc071b6c7a433ca9c49a9347",
  );
  assertEquals(hex(murmur3Hash128(new Uint8Array(), 0n)), "0".repeat(32));
  // Every tail length (0-15 bytes past a block) hashes differently, with Kafka's seed.
  const seen = new Set<string>();
  for (let n = 0; n <= 33; n++) seen.add(hex(murmur3Hash128(new Uint8Array(n).fill(7))));
  assertEquals(seen.size, 34);
});

Deno.test("foreign-key join wire formats: Kafka's SubscriptionWrapper v1, SubscriptionResponseWrapper v0, CombinedKey", () => {
  const hash = murmur3Hash128(bytes("v"));
  const pk = bytes("o1");
  const sub = encodeSubscription({
    hash: null,
    instruction: Instruction.PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE,
    primaryKey: pk,
    primaryPartition: 3,
  });
  assertEquals([...sub], [0x81, 2, 0x6f, 0x31, 0, 0, 0, 3]);
  const withHash = encodeSubscription({
    hash,
    instruction: Instruction.DELETE_KEY_NO_PROPAGATE,
    primaryKey: pk,
    primaryPartition: 1,
  });
  assertEquals(withHash.length, 2 + 16 + 2 + 4);
  assertEquals([withHash[0], withHash[1]], [0x01, 0]);
  const back = decodeSubscription(withHash);
  assertEquals([hex(back.hash!), back.instruction, [...back.primaryKey], back.primaryPartition], [
    hex(hash),
    0,
    [...pk],
    1,
  ]);
  // Version 0 (no partition) is read too; later versions and unknown instructions are refused.
  assertEquals(decodeSubscription(new Uint8Array([0x80, 1, 0x61])).primaryPartition, null);
  throws(() => decodeSubscription(new Uint8Array([0x82, 1, 0x61])), /version 2 is not supported/);
  throws(
    () => decodeSubscription(new Uint8Array([0x81, 9, 0, 0, 0, 0])),
    /unknown .*instruction 9/,
  );
  throws(() => decodeSubscription(new Uint8Array([0x01, 1, 0])), /truncated/);
  assertEquals([...encodeResponse(null, null)], [0x80]);
  assertEquals([...encodeResponse(null, bytes("A"))], [0x80, 0x41]);
  const resp = decodeResponse(encodeResponse(hash, bytes("Ann")));
  assertEquals([hex(resp.hash!), new TextDecoder().decode(resp.value!)], [hex(hash), "Ann"]);
  assertEquals(decodeResponse(encodeResponse(hash, null)).value, null);
  throws(() => decodeResponse(new Uint8Array([0x01])), /version 1 is not supported/);
  assertEquals([...combinedKey(bytes("c"), pk)], [0, 0, 0, 1, 0x63, 0x6f, 0x31]);
});

Deno.test("foreign-key join and leftJoin: Kafka's internal topics and stores, exact outputs for FK changes, null FKs and deletes on both sides", () => {
  const topology = orders();
  const text = topology.describe();
  for (
    const name of [
      "fk-subscription-registration-topic",
      "fk-subscription-response-topic",
      "fk-subscription-store",
      "fkl-subscription-registration-topic",
      "fkl-subscription-response-topic",
    ]
  ) assert(text.includes(name), `${name} in\n${text}`);
  const d = new TopologyTestDriver(topology, defaults);
  const o = d.createInputTopic("orders", S, S);
  const c = d.createInputTopic("customers", S, S);
  o.pipeInput("o1", "c1:book", 1); // no customer yet: a tombstone (always answered, see below)
  assertEquals(drain(d, "inner-out"), ["o1:null@1"]);
  assertEquals(drain(d, "left-out"), ["o1:c1:book+null@1"]);
  c.pipeInput("c1", "Ann", 2); // the right update answers the subscription
  assertEquals(drain(d, "inner-out"), ["o1:c1:book+Ann@2"]);
  assertEquals(drain(d, "left-out"), ["o1:c1:book+Ann@2"]);
  c.pipeInput("c2", "Bob", 3);
  o.pipeInput("o1", "c2:book", 4); // FK change: the old subscription goes, the new one answers
  assertEquals(drain(d, "inner-out"), ["o1:c2:book+Bob@4"]);
  assertEquals(drain(d, "left-out"), ["o1:c2:book+Bob@4"]);
  c.pipeInput("c1", "Ann2", 5); // no longer subscribed: nothing
  assertEquals(drain(d, "inner-out"), []);
  o.pipeInput("o1", "-:book", 6); // null FK: the inner result goes, the left one stays
  assertEquals(drain(d, "inner-out"), ["o1:null@6"]);
  assertEquals(drain(d, "left-out"), ["o1:-:book+null@6"]);
  o.pipeInput("o2", "c2:pen", 7);
  o.pipeInput("o3", "c2:cup", 8);
  assertEquals(drain(d, "inner-out"), ["o2:c2:pen+Bob@7", "o3:c2:cup+Bob@8"]);
  drain(d, "left-out");
  c.pipeInput("c2", null, 9); // right delete: every subscriber's result
  assertEquals(drain(d, "inner-out"), ["o2:null@9", "o3:null@9"]);
  assertEquals(drain(d, "left-out"), ["o2:c2:pen+null@9", "o3:c2:cup+null@9"]);
  o.pipeInput("o2", null, 10); // left delete
  assertEquals(drain(d, "inner-out"), ["o2:null@10"]);
  assertEquals(drain(d, "left-out"), ["o2:null@10"]);
  o.pipeInput("o2", null, 11); // deleting a deleted key: nothing
  assertEquals([drain(d, "inner-out"), drain(d, "left-out")], [[], []]);
  // The subscription stores hold exactly the live subscriptions (o1's to c1 and c2 were
  // removed when its FK changed and went null, o2's when it was deleted).
  for (const name of ["fk", "fkl"]) {
    const subs = d.getKeyValueStore<Uint8Array, Uint8Array>(`${name}-subscription-store`).all()
      .map(([k, v]) => {
        const fkLength = new DataView(k.buffer, k.byteOffset).getInt32(0);
        const fk = new TextDecoder().decode(k.subarray(4, 4 + fkLength));
        const sub = decodeSubscription(v);
        return `${fk}/${new TextDecoder().decode(k.subarray(4 + fkLength))}:${sub.instruction}`;
      });
    assertEquals(subs, ["c2/o3:2"]);
  }
  assertEquals(d.getKeyValueStore<string, string>("inner").all(), []);
  assertEquals(d.getKeyValueStore<string, string>("left").all(), [
    ["o1", "-:book+null"],
    ["o3", "c2:cup+null"],
  ]);
});

Deno.test("foreign-key join: a response whose hash is not the left value's is dropped as stale", () => {
  const d = new TopologyTestDriver(orders(), defaults);
  d.createInputTopic("customers", S, S).pipeInput("c1", "Ann", 1);
  d.createInputTopic("orders", S, S).pipeInput("o1", "c1:new", 2);
  assertEquals(drain(d, "inner-out"), ["o1:c1:new+Ann@2"]);
  const responses = d.createInputTopic("test-driver-fk-subscription-response-topic", B, B);
  // An answer to an older value (another hash), and to a deleted one (no hash): dropped.
  responses.pipeInput(bytes("o1"), encodeResponse(murmur3Hash128(bytes("c1:old")), null), 3);
  responses.pipeInput(bytes("o1"), encodeResponse(null, null), 4);
  assertEquals(drain(d, "inner-out"), []);
  // The current value's hash: joined.
  responses.pipeInput(bytes("o1"), encodeResponse(murmur3Hash128(bytes("c1:new")), bytes("X")), 5);
  assertEquals(drain(d, "inner-out"), ["o1:c1:new+X@5"]);
});

Deno.test("foreign-key join: an update with the same FK always gets an answer (no stale result when the right row went away meanwhile)", () => {
  const d = new TopologyTestDriver(orders(), defaults);
  const o = d.createInputTopic("orders", S, S);
  o.pipeInput("o1", "c1:a", 1); // c1 has no value: no result (a tombstone)
  assertEquals(drain(d, "inner-out"), ["o1:null@1"]);
  // The answer of a right value c1 had while o1's update was on its way (c1 was deleted
  // since, and the deletion's answer, computed for an older o1 value, was dropped).
  d.createInputTopic("test-driver-fk-subscription-response-topic", B, B)
    .pipeInput(bytes("o1"), encodeResponse(murmur3Hash128(bytes("c1:a")), bytes("Ann")), 2);
  assertEquals(drain(d, "inner-out"), ["o1:c1:a+Ann@2"]);
  // The same FK again: Kafka asks for an answer only if c1 has a value, and none comes, so
  // the result would stay; here an answer is always asked for, and (no value) deletes it.
  o.pipeInput("o1", "c1:b", 3);
  assertEquals(drain(d, "inner-out"), ["o1:null@3"]);
  assertEquals(d.getKeyValueStore<string, string>("inner").all(), []);
  // The same with a null FK (Kafka sends nothing for a null FK without an old one): an answer
  // made a result, then an update to another null-FK value gets an answer too, a tombstone.
  o.pipeInput("o2", "-:a", 4);
  assertEquals(drain(d, "inner-out"), ["o2:null@4"]);
  d.createInputTopic("test-driver-fk-subscription-response-topic", B, B)
    .pipeInput(bytes("o2"), encodeResponse(murmur3Hash128(bytes("-:a")), bytes("Ann")), 5);
  assertEquals(drain(d, "inner-out"), ["o2:-:a+Ann@5"]);
  o.pipeInput("o2", "-:b", 6);
  assertEquals(drain(d, "inner-out"), ["o2:null@6"]);
  o.pipeInput("o2", null, 7); // a deleted null-FK row: answered as well
  assertEquals(drain(d, "inner-out"), ["o2:null@7"]);
  assertEquals(d.getKeyValueStore<string, string>("inner").all(), []);
});
