// Copyright 2026 the Sluice authors. Apache-2.0 license.
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ZERO_UUID } from "../protocol/primitives.ts";
import { type FetchPartition, FetchSessionCache } from "./fetch_session.ts";

function part(topic: string, partition: number, fetchOffset: number): FetchPartition {
  return { topic, topicId: ZERO_UUID, partition, fetchOffset, logStartOffset: -1, maxBytes: 100 };
}

const NO_NEWS = { errorCode: 0, highWatermark: 5, lastStableOffset: 5, logStartOffset: 0 };

Deno.test("FetchSessionCache: sessionless full fetch creates nothing", () => {
  const cache = new FetchSessionCache(4);
  const ctx = cache.begin({
    sessionId: 0,
    sessionEpoch: -1,
    partitions: [part("a", 0, 0)],
    forgotten: [],
    usesTopicIds: false,
  }, 0);
  assertEquals(ctx.kind, "full");
  assertEquals(ctx.kind === "full" && ctx.session, null);
  assertEquals(cache.size, 0);
});

Deno.test("FetchSessionCache: create, incremental update, forget, epoch checks, close", () => {
  const cache = new FetchSessionCache(4);
  const full = cache.begin({
    sessionId: 0,
    sessionEpoch: 0,
    partitions: [part("a", 0, 0), part("a", 1, 0), part("b", 0, 7)],
    forgotten: [],
    usesTopicIds: false,
  }, 0);
  if (full.kind !== "full" || full.session === null) throw new Error("expected a new session");
  const session = full.session;
  ok(session.id > 0);
  assertEquals(session.epoch, 1);
  // The full response reports every partition and remembers what it said.
  for (const p of full.partitions) {
    assertEquals(session.report(p, { ...NO_NEWS, recordBytes: 0 }), true);
  }

  // Incremental epoch 1: move a-0, forget b-0.
  const inc = cache.begin({
    sessionId: session.id,
    sessionEpoch: 1,
    partitions: [part("a", 0, 3)],
    forgotten: [{ topic: "b", topicId: ZERO_UUID, partition: 0 }],
    usesTopicIds: false,
  }, 1);
  if (inc.kind !== "incremental") throw new Error(`expected incremental, got ${inc.kind}`);
  assertEquals(inc.partitions, [part("a", 0, 3), part("a", 1, 0)]);
  // Unchanged partition without records is left out; one with records or a new HW is included.
  assertEquals(session.report(inc.partitions[0], { ...NO_NEWS, recordBytes: 10 }), true);
  assertEquals(session.report(inc.partitions[1], { ...NO_NEWS, recordBytes: 0 }), false);
  assertEquals(
    session.report(inc.partitions[1], { ...NO_NEWS, highWatermark: 6, recordBytes: 0 }),
    true,
  );
  assertEquals(session.epoch, 2);

  // Wrong epoch and unknown id.
  const stale = cache.begin({
    sessionId: session.id,
    sessionEpoch: 1,
    partitions: [],
    forgotten: [],
    usesTopicIds: false,
  }, 2);
  assertEquals(stale.kind === "error" && stale.errorCode, 71);
  const unknown = cache.begin({
    sessionId: session.id + 1,
    sessionEpoch: 1,
    partitions: [],
    forgotten: [],
    usesTopicIds: false,
  }, 2);
  assertEquals(unknown.kind === "error" && unknown.errorCode, 70);
  const idMix = cache.begin({
    sessionId: session.id,
    sessionEpoch: 2,
    partitions: [],
    forgotten: [],
    usesTopicIds: true,
  }, 2);
  assertEquals(idMix.kind === "error" && idMix.errorCode, 106);

  // Final epoch closes the session.
  const close = cache.begin({
    sessionId: session.id,
    sessionEpoch: -1,
    partitions: [],
    forgotten: [],
    usesTopicIds: false,
  }, 3);
  assertEquals(close.kind, "full");
  assertEquals(cache.get(session.id), undefined);
  assertEquals(cache.size, 0);
});

Deno.test("FetchSessionCache: evicts the least recently used session when full", () => {
  const cache = new FetchSessionCache(2);
  const open = () => {
    const ctx = cache.begin(
      { sessionId: 0, sessionEpoch: 0, partitions: [], forgotten: [], usesTopicIds: false },
      0,
    );
    if (ctx.kind !== "full" || ctx.session === null) throw new Error("expected a session");
    return ctx.session.id;
  };
  const first = open();
  const second = open();
  // Use the first so the second becomes least recently used.
  assertEquals(
    cache.begin(
      { sessionId: first, sessionEpoch: 1, partitions: [], forgotten: [], usesTopicIds: false },
      1,
    ).kind,
    "incremental",
  );
  const third = open();
  assertEquals(cache.size, 2);
  ok(cache.get(first) !== undefined);
  assertEquals(cache.get(second), undefined);
  ok(cache.get(third) !== undefined);
});

Deno.test("FetchSessionCache: zero slots means every fetch is sessionless", () => {
  const cache = new FetchSessionCache(0);
  const ctx = cache.begin(
    { sessionId: 0, sessionEpoch: 0, partitions: [], forgotten: [], usesTopicIds: false },
    0,
  );
  assertEquals(ctx.kind === "full" && ctx.session, null);
});
