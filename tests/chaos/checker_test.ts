// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The crash harness's checker on made-up partitions: each kind of damage a crash could do is
// found and counted, an intact partition passes, and record values round-trip.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  AckBook,
  checkPartition,
  compareContents,
  type PartitionContents,
  partitionOk,
} from "./checker.ts";
import { ackLine, makeValue, parseWorkerLine, readValue, splitId } from "./protocol.ts";

/** A partition read back: `ids[i]` at offset `offsets[i]` (default 0, 1, 2, ...). */
function log(ids: string[], offsets = ids.map((_, i) => i)): PartitionContents {
  return {
    offsets,
    ids,
    intact: ids.map(() => true),
    highWatermark: offsets.length === 0 ? 0 : offsets[offsets.length - 1] + 1,
  };
}

function acks(pairs: Array<[number, string]>) {
  return { offsets: pairs.map(([o]) => o), ids: pairs.map(([, id]) => id) };
}

Deno.test("checkPartition() passes a partition holding every ack at its offset", () => {
  const c = checkPartition(
    "t",
    0,
    acks([[0, "a:0"], [1, "b:0"], [2, "a:1"]]),
    log(["a:0", "b:0", "a:1", "b:1"]),
  );
  assert(partitionOk(c));
  assertEquals([c.acked, c.present, c.unackedPresent, c.examples], [3, 4, 1, []]);
});

Deno.test("checkPartition() counts acknowledged records missing from the log as lost", () => {
  // What the recovery chunk bug did: the tail after offset 1 cut, later offsets reused.
  const book = new AckBook();
  for (const [offset, id] of [[0, "a:0"], [1, "a:1"], [2, "a:2"], [3, "a:3"]] as const) {
    book.add({ topic: "t", partition: 0, offset, id, ts: 0 });
  }
  book.add({ topic: "t", partition: 0, offset: 2, id: "b:0", ts: 0 });
  assertEquals(book.conflicts.length, 1);
  const c = checkPartition("t", 0, book.partition("t", 0), log(["a:0", "a:1", "b:0"]));
  assertEquals([c.lost, c.acked, partitionOk(c)], [2, 5, false]);
  assert(c.examples[0].includes("lost: 2 acknowledged records at offsets 2..3"), c.examples[0]);
  // Offset 2 given out a third time and lost again: 3 records lost, still one range.
  book.add({ topic: "t", partition: 0, offset: 2, id: "c:0", ts: 0 });
  const again = checkPartition("t", 0, book.partition("t", 0), log(["a:0", "a:1", "c:0"]));
  assertEquals(again.lost, 3);
  assert(again.examples[0].includes("lost: 3 acknowledged records at offsets 2..3 "));
});

Deno.test("checkPartition() finds misplaced, duplicated and reordered records", () => {
  const c = checkPartition(
    "t",
    0,
    acks([[0, "a:0"], [1, "a:1"], [2, "a:2"]]),
    log(["a:0", "a:2", "a:1", "a:1"]),
  );
  assertEquals([c.lost, c.misplaced, c.duplicates, c.duplicatesOfAcked], [0, 2, 1, 1]);
  // a:1 after a:2 (and its copy after it) come before records the producer sent later
  assertEquals(c.reordered, 2);
});

Deno.test("checkPartition() finds gaps and damaged values", () => {
  const gap = checkPartition("t", 0, acks([[0, "a:0"]]), log(["a:0", "a:1"], [0, 3]));
  assertEquals(gap.gaps, 2);
  const shortHw = checkPartition("t", 0, acks([]), { ...log(["a:0"]), highWatermark: 4 });
  assertEquals(shortHw.gaps, 3);
  const bad = log(["a:0", "a:1"]);
  bad.intact[1] = false;
  bad.ids.push(undefined);
  bad.intact.push(false);
  bad.offsets.push(2);
  bad.highWatermark = 3;
  const c = checkPartition("t", 0, acks([[0, "a:0"]]), bad);
  assertEquals([c.corrupt, partitionOk(c)], [2, false]);
});

Deno.test("compareContents() names the first difference between two readers", () => {
  assertEquals(compareContents(log(["a:0", "a:1"]), log(["a:0", "a:1"])), undefined);
  assertEquals(
    compareContents(log(["a:0", "a:1"]), log(["a:0", "b:1"])),
    "record 1: offset 1 a:1 vs offset 1 b:1",
  );
  assertEquals(compareContents(log(["a:0"]), log(["a:0", "a:1"])), "1 records vs 2");
});

Deno.test("makeValue() and readValue() round-trip; a changed byte or length is not intact", () => {
  const v = makeValue("s0.1:27", 100);
  assertEquals(v.length, 100);
  assertEquals(readValue(v, 100), { id: "s0.1:27", intact: true });
  const flipped = v.slice();
  flipped[90] ^= 1;
  assertEquals(readValue(flipped, 100), { id: "s0.1:27", intact: false });
  assertEquals(readValue(v.subarray(0, 99), 100), { id: "s0.1:27", intact: false });
  assertEquals(readValue(null, 100), { id: undefined, intact: false });
  assertEquals(readValue(new TextEncoder().encode("no separator"), 12).id, undefined);
  assertEquals(splitId("c0.3:12"), { producer: "c0.3", seq: 12 });
  assertEquals(splitId("c0.3:"), undefined);
});

Deno.test("parseWorkerLine() reads what producers print", () => {
  const ack = { topic: "chaos-seg-1mib", partition: 1, offset: 42, id: "c0.0:7", ts: 1700 };
  assertEquals(parseWorkerLine(ackLine(ack)), { kind: "ack", ack });
  assertEquals(parseWorkerLine("R"), { kind: "ready" });
  assertEquals(parseWorkerLine("E c0.0:8 Local: Message timed out"), {
    kind: "error",
    id: "c0.0:8",
    detail: "Local: Message timed out",
  });
  assertEquals(parseWorkerLine("F OUT_OF_ORDER"), { kind: "fatal", detail: "OUT_OF_ORDER" });
  assertEquals(parseWorkerLine("A t x 1 id 2"), { kind: "other", text: "A t x 1 id 2" });
  // success without an offset is parsed, for the harness to count as a failure
  assertEquals(parseWorkerLine("A t 0 -1 id 2"), {
    kind: "ack",
    ack: { topic: "t", partition: 0, offset: -1, id: "id", ts: 2 },
  });
  assertEquals(parseWorkerLine("A t 0 -2 id 2").kind, "other");
});
