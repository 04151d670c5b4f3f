// Cluster mode: a data dir holding only some partitions of a topic (the ones this broker is a
// replica of), with the topic id chosen elsewhere.
import assert from "node:assert/strict";
import { EngineError, ErrorCode, LogManager } from "./mod.ts";
import { TEMP_FILE_SUFFIX, TOPIC_METADATA_FILE } from "./names.ts";
import { makeBatch } from "./testdata/helpers.ts";

const opts = { retentionCheckIntervalMs: 0, flushCheckpointIntervalMs: 0 };
const ID = "AAAAAAAAAAAAAAAAAAAAAQ";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function dirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isDirectory) out.push(e.name);
  return out.sort();
}

Deno.test("a topic with some partitions held here: given id, only those logs, across reopen", async () => {
  await withDir(async (dir) => {
    let mgr = await LogManager.open(dir, opts);
    const t = await mgr.createTopic("t", 6, {}, { topicId: ID, localPartitions: [4, 1] });
    assert.equal(t.id, ID);
    assert.equal(t.partitions, 6);
    assert.deepEqual(t.localPartitions, [1, 4]);
    assert.deepEqual(await dirs(dir), ["t-1", "t-4"]);
    assert.equal(mgr.partitionCount, 2);
    for (const p of [0, 2, 3, 5, 6]) assert.equal(mgr.partition("t", p), undefined, `p${p}`);
    assert.equal(mgr.partition("t", 1)?.partition, 1);
    assert.equal(mgr.partition("t", 4)?.partition, 4);
    await mgr.partition("t", 4)!.append(makeBatch(3, 10, 1000, "x"));
    await mgr.close();
    mgr = await LogManager.open(dir, opts);
    assert.deepEqual(mgr.topic("t")?.localPartitions, [1, 4]);
    assert.equal(mgr.topic("t")?.id, ID);
    assert.equal(mgr.partition("t", 4)?.logEndOffset, 3);
    assert.equal(mgr.partition("t", 0), undefined);
    assert.deepEqual(await dirs(dir), ["t-1", "t-4"]); // not disposed of as unowned
    // more partitions, some here; then partitions this broker became a replica of
    await mgr.createPartitions("t", 8, { localPartitions: [7] });
    assert.deepEqual(mgr.topic("t")?.localPartitions, [1, 4, 7]);
    await mgr.addLocalPartitions("t", [0, 4, 5]);
    assert.deepEqual(mgr.topic("t")?.localPartitions, [0, 1, 4, 5, 7]);
    for (const p of [0, 1, 4, 5, 7]) assert.equal(mgr.partition("t", p)?.partition, p);
    assert.equal(mgr.partition("t", 6), undefined);
    assert.equal(mgr.partitionCount, 5);
    // all of them here: an ordinary topic again
    await mgr.addLocalPartitions("t", [2, 3, 6]);
    assert.equal(mgr.topic("t")?.localPartitions, undefined);
    assert.equal(mgr.partitionCount, 8);
    await mgr.close();
    mgr = await LogManager.open(dir, opts);
    assert.equal(mgr.partition("t", 4)?.logEndOffset, 3);
    assert.equal(mgr.partitionCount, 8);
    await mgr.deleteTopic("t");
    assert.deepEqual(await dirs(dir), []);
    await mgr.close();
  });
});

Deno.test("local partitions: none here, deletion, bad ids and indices are refused", async () => {
  await withDir(async (dir) => {
    const mgr = await LogManager.open(dir, { ...opts, maxPartitions: 3 });
    const none = await mgr.createTopic("none", 4, {}, { topicId: ID, localPartitions: [] });
    assert.deepEqual(none.localPartitions, []);
    assert.equal(mgr.partitionCount, 0);
    // only held partitions count against the limit
    await mgr.createTopic("big", 100, {}, { localPartitions: [0, 50, 99] });
    await assert.rejects(
      mgr.addLocalPartitions("none", [0]),
      (e) => e instanceof EngineError && e.code === ErrorCode.POLICY_VIOLATION,
    );
    await assert.rejects(
      mgr.createTopic("x", 2, {}, { localPartitions: [2] }),
      (e) =>
        e instanceof EngineError && e.code === ErrorCode.INVALID_PARTITIONS &&
        e.message ===
          "create topic x failed: local partition 2 is not among the new partitions 0..1",
    );
    await assert.rejects(
      mgr.createTopic("y", 2, {}, { topicId: "nope", localPartitions: [] }),
      (e) => e instanceof EngineError && /topic id "nope" is not a 22-character/.test(e.message),
    );
    await assert.rejects(
      mgr.createPartitions("big", 101, { localPartitions: [3] }),
      (e) =>
        e instanceof EngineError &&
        /local partition 3 is not among the new partitions 100/.test(e.message),
    );
    await assert.rejects(
      mgr.addLocalPartitions("none", [4]),
      (e) => e instanceof EngineError && e.code === ErrorCode.INVALID_PARTITIONS,
    );
    await mgr.deleteTopic("big");
    await mgr.deleteTopic("none");
    assert.deepEqual(await dirs(dir), []);
    await mgr.close();
  });
});

Deno.test("local partitions removed (moved to other brokers): logs and directories gone, across reopen", async () => {
  await withDir(async (dir) => {
    let mgr = await LogManager.open(dir, opts);
    await mgr.createTopic("t", 3, {}, { topicId: ID });
    for (const p of [0, 1, 2]) await mgr.partition("t", p)!.append(makeBatch(4, 10, 1000, "x"));
    await mgr.checkpointHighWatermarks();
    const old = mgr.partition("t", 1)!;
    const t = await mgr.removeLocalPartitions("t", [1, 7]);
    assert.deepEqual(t.localPartitions, [0, 2]);
    assert.equal(mgr.partition("t", 1), undefined);
    assert.equal(mgr.partitionCount, 2);
    assert.deepEqual(await dirs(dir), ["t-0", "t-2"]);
    await assert.rejects(old.read(0, 1000)); // closed
    await mgr.close();
    mgr = await LogManager.open(dir, opts);
    assert.deepEqual(mgr.topic("t")?.localPartitions, [0, 2]);
    assert.equal(mgr.partition("t", 2)?.logEndOffset, 4);
    // all of them: the topic stays, with none here; one comes back empty
    await mgr.removeLocalPartitions("t", [0, 2]);
    assert.deepEqual(mgr.topic("t")?.localPartitions, []);
    assert.deepEqual(await dirs(dir), []);
    await mgr.close();
    mgr = await LogManager.open(dir, opts);
    assert.deepEqual(mgr.topic("t")?.localPartitions, []);
    await mgr.addLocalPartitions("t", [1]);
    assert.equal(mgr.partition("t", 1)?.logEndOffset, 0);
    await assert.rejects(
      mgr.removeLocalPartitions("nope", [0]),
      (e) => e instanceof EngineError && e.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    );
    await mgr.close();
  });
});

Deno.test("local partitions removed: every lookup meanwhile finds its own partition's log", async () => {
  // A broker dropping partition 2 of [1, 2, 3] once answered a follower's Fetch of partition 3
  // with partition 2's records while `sluice-topics.json` was being written (the held list was
  // already [1, 3], the logs still [1, 2, 3]): the new replica of 3 copied them, joined the ISR
  // with the same log end and then led partition 3 with partition 2's records.
  await withDir(async (dir) => {
    const mgr = await LogManager.open(dir, opts);
    await mgr.createTopic("t", 4, {}, { topicId: ID, localPartitions: [1, 2, 3] });
    for (const p of [1, 2, 3]) await mgr.partition("t", p)!.append(makeBatch(p, 10, 1000, "x"));
    let settled = false;
    const removing = mgr.removeLocalPartitions("t", [2]).finally(() => settled = true);
    const seen: string[] = [];
    let during = 0;
    while (!settled) {
      const local = mgr.topic("t")?.localPartitions;
      if (local?.length === 2) during++;
      for (const p of [1, 3]) {
        // held throughout: its own log every time (p records), never none or a neighbour's
        const log = mgr.partition("t", p);
        if (log?.partition !== p || log.logEndOffset !== p) {
          seen.push(`[${local}] p${p} -> log of p${log?.partition} (end ${log?.logEndOffset})`);
        }
      }
      await new Promise((r) => setTimeout(r, 0));
    }
    await removing;
    assert.ok(during > 0, "the new partition list was never seen before the removal ended");
    assert.deepEqual(seen, []);
    assert.equal(mgr.partition("t", 3)?.logEndOffset, 3);
    assert.equal(mgr.partition("t", 2), undefined);
    // the topics file cannot be written (a directory where its temporary file goes): refused,
    // and the list and the logs are both as before
    const blocker = `${dir}/${TOPIC_METADATA_FILE}${TEMP_FILE_SUFFIX}`;
    await Deno.mkdir(`${blocker}/x`, { recursive: true });
    await assert.rejects(
      mgr.removeLocalPartitions("t", [1]),
      (e) => e instanceof EngineError && e.code === ErrorCode.KAFKA_STORAGE_ERROR,
    );
    assert.deepEqual(mgr.topic("t")?.localPartitions, [1, 3]);
    for (const p of [1, 3]) assert.equal(mgr.partition("t", p)?.logEndOffset, p, `p${p}`);
    await Deno.remove(blocker, { recursive: true });
    await mgr.removeLocalPartitions("t", [1]);
    assert.deepEqual(mgr.topic("t")?.localPartitions, [3]);
    assert.equal(mgr.partition("t", 3)?.logEndOffset, 3);
    await mgr.close();
  });
});
