import assert from "node:assert/strict";
import { EngineError, ErrorCode, LogManager } from "./mod.ts";
import { makeBatch, splitBatches } from "./testdata/helpers.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function rejectsWith(code: number, message: string | RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof EngineError, String(e));
    assert.equal(e.code, code);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  };
}

const opts = { retentionCheckIntervalMs: 0, flushCheckpointIntervalMs: 0 };

Deno.test("topic metadata and configs persist across reopen", async () => {
  await withDir(async (dir) => {
    let mgr = await LogManager.open(dir, { ...opts, defaults: { "segment.bytes": "5000" } });
    const a = await mgr.createTopic("orders", 3, {
      "retention.ms": " 1000",
      "cleanup.policy": "compact, delete",
    });
    assert.equal(a.name, "orders");
    assert.match(a.id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    assert.equal(a.partitions, 3);
    assert.deepEqual(a.configs, { "retention.ms": "1000", "cleanup.policy": "compact,delete" });
    assert.equal(a.effective["retention.ms"], "1000");
    assert.equal(a.effective["segment.bytes"], "5000");
    assert.equal(a.effective["max.message.bytes"], "1048588");
    const b = await mgr.createTopic("logs.v1", 1);
    await mgr.partition("orders", 2)!.append(makeBatch(3, 10, Date.now(), "x"));
    await mgr.close();
    mgr = await LogManager.open(dir, opts);
    try {
      assert.deepEqual(mgr.listTopics().map((t) => [t.name, t.id, t.partitions]), [
        ["logs.v1", b.id, 1],
        ["orders", a.id, 3],
      ]);
      assert.deepEqual(mgr.topic("orders")!.configs, a.configs);
      assert.equal(mgr.topicById(a.id)!.name, "orders");
      assert.equal(mgr.topicById("nope"), undefined);
      assert.equal(mgr.partition("orders", 2)!.logEndOffset, 3);
      assert.equal(mgr.partition("orders", 3), undefined);
      assert.equal(mgr.partition("nope", 0), undefined);
      const rows = mgr.describeTopicConfigs("orders")!;
      assert.deepEqual(
        rows.filter((r) => r.source !== "default").map((r) => [r.name, r.value, r.source]),
        [["cleanup.policy", "compact,delete", "topic"], ["retention.ms", "1000", "topic"]],
      );
      assert.equal(mgr.describeTopicConfigs("nope"), undefined);
      await assert.rejects(
        () => mgr.partition("orders", 0)!.offsetForTime(NaN),
        rejectsWith(
          ErrorCode.INVALID_REQUEST,
          "offsetForTime on orders-0 failed: bad timestamp NaN",
        ),
      );
      // broker default no longer given: Kafka's default applies
      assert.equal(mgr.topic("orders")!.effective["segment.bytes"], "1073741824");
      assert.equal(
        await Deno.readTextFile(`${dir}/orders-1/partition.metadata`),
        `version: 0\ntopic_id: ${a.id}\n`,
      );
      // a partition never used has no segment file yet (made at its first use)
      await assert.rejects(
        () => Deno.stat(`${dir}/orders-0/00000000000000000000.log`),
        Deno.errors.NotFound,
      );
      assert.ok((await Deno.stat(`${dir}/orders-2/00000000000000000000.log`)).isFile);
      await mgr.flush();
      assert.equal(
        await Deno.readTextFile(`${dir}/recovery-point-offset-checkpoint`),
        "0\n4\nlogs.v1 0 0\norders 0 0\norders 1 0\norders 2 3\n",
      );
      assert.equal(
        await Deno.readTextFile(`${dir}/log-start-offset-checkpoint`),
        "0\n4\nlogs.v1 0 0\norders 0 0\norders 1 0\norders 2 0\n",
      );
    } finally {
      await mgr.close();
    }
    assert.ok((await Deno.stat(`${dir}/.kafka_cleanshutdown`)).isFile);
  });
});

Deno.test("invalid topic names, duplicates, partition counts and configs are refused", async () => {
  await withDir(async (dir) => {
    const mgr = await LogManager.open(dir, opts);
    try {
      const T = ErrorCode.INVALID_TOPIC_EXCEPTION;
      await assert.rejects(
        () => mgr.createTopic("", 1),
        rejectsWith(T, `invalid topic name "": it can't be empty`),
      );
      await assert.rejects(
        () => mgr.createTopic(".", 1),
        rejectsWith(T, /it can't be "\." or "\.\."/),
      );
      await assert.rejects(
        () => mgr.createTopic("..", 1),
        rejectsWith(T, /it can't be "\." or "\.\."/),
      );
      await assert.rejects(
        () => mgr.createTopic("a b", 1),
        rejectsWith(
          T,
          `invalid topic name "a b": it contains a character other than ASCII alphanumerics, '.', '_' and '-'`,
        ),
      );
      await assert.rejects(
        () => mgr.createTopic("a/b", 1),
        rejectsWith(T, /a character other than/),
      );
      await assert.rejects(
        () => mgr.createTopic("x".repeat(250), 1),
        rejectsWith(T, /it is 250 characters long, the maximum is 249$/),
      );
      await mgr.createTopic("x".repeat(249), 1);
      await mgr.createTopic("a.b", 1);
      await assert.rejects(
        () => mgr.createTopic("a.b", 1),
        rejectsWith(
          ErrorCode.TOPIC_ALREADY_EXISTS,
          "create topic a.b failed: topic already exists",
        ),
      );
      await assert.rejects(
        () => mgr.createTopic("a_b", 1),
        rejectsWith(
          T,
          "create topic a_b failed: it collides with existing topic a.b ('.' and '_' collide)",
        ),
      );
      for (const n of [0, -1, 1.5, NaN]) {
        await assert.rejects(
          () => mgr.createTopic("p", n),
          rejectsWith(
            ErrorCode.INVALID_PARTITIONS,
            `create topic p failed: number of partitions must be between 1 and 100000, got ${n}`,
          ),
        );
      }
      const C = ErrorCode.INVALID_CONFIG;
      await assert.rejects(
        () => mgr.createTopic("c", 1, { "foo.bar": "1" }),
        rejectsWith(C, "create topic c failed: invalid config foo.bar: unknown topic config"),
      );
      await assert.rejects(
        () => mgr.createTopic("c", 1, { "retention.ms": "soon" }),
        rejectsWith(
          C,
          `create topic c failed: invalid value "soon" for config retention.ms: expected an integer`,
        ),
      );
      await assert.rejects(
        () => mgr.createTopic("c", 1, { "segment.bytes": "10" }),
        rejectsWith(
          C,
          `create topic c failed: invalid value "10" for config segment.bytes: must be at least 14`,
        ),
      );
      await assert.rejects(
        () => mgr.createTopic("c", 1, { "cleanup.policy": "shred" }),
        rejectsWith(C, /"shred" is not one of compact, delete$/),
      );
      await assert.rejects(
        () => mgr.createTopic("c", 1, { "segment.bytes": "3000000000" }),
        rejectsWith(C, /out of range for type int$/),
      );
      await assert.rejects(
        () => mgr.createTopic("c", 1, { "message.timestamp.type": "Whenever" }),
        rejectsWith(C, /must be one of CreateTime, LogAppendTime$/),
      );
      assert.equal(mgr.topic("c"), undefined);
      await assert.rejects(() => Deno.stat(`${dir}/c-0`), Deno.errors.NotFound);
      // validateOnly changes nothing
      const v = await mgr.createTopic("v", 2, { "retention.ms": "5" }, { validateOnly: true });
      assert.equal(v.partitions, 2);
      assert.equal(mgr.topic("v"), undefined);
      await assert.rejects(() => Deno.stat(`${dir}/v-0`), Deno.errors.NotFound);
    } finally {
      await mgr.close();
    }
  });
  await assert.rejects(
    () =>
      LogManager.open("/nonexistent-dir-for-sluice-test/x", { defaults: { "retention.ms": "x" } }),
    rejectsWith(ErrorCode.INVALID_CONFIG, /invalid value "x" for config retention.ms/),
  );
});

Deno.test("createPartitions, alterTopicConfigs and deleteTopic", async () => {
  await withDir(async (dir) => {
    let mgr = await LogManager.open(dir, opts);
    try {
      const t = await mgr.createTopic("g", 2);
      const U = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      await assert.rejects(
        () => mgr.createPartitions("g", 1),
        rejectsWith(
          ErrorCode.INVALID_PARTITIONS,
          "create partitions of g failed: topic currently has 2 partitions, which is higher than the requested 1",
        ),
      );
      await assert.rejects(
        () => mgr.createPartitions("g", 2),
        rejectsWith(
          ErrorCode.INVALID_PARTITIONS,
          "create partitions of g failed: topic already has 2 partitions",
        ),
      );
      await assert.rejects(
        () => mgr.createPartitions("nope", 3),
        rejectsWith(U, "create partitions of nope failed: no such topic"),
      );
      assert.equal((await mgr.createPartitions("g", 5, { validateOnly: true })).partitions, 5);
      assert.equal(mgr.partition("g", 2), undefined);
      assert.equal((await mgr.createPartitions("g", 4)).partitions, 4);
      await mgr.partition("g", 3)!.append(makeBatch(1, 10, Date.now(), "p3"));

      // incremental alter: set, remove, validateOnly, replace
      let info = await mgr.alterTopicConfigs("g", {
        "max.message.bytes": "200",
        "retention.ms": "1000",
      });
      assert.deepEqual(info.configs, { "max.message.bytes": "200", "retention.ms": "1000" });
      await assert.rejects(
        () => mgr.partition("g", 0)!.append(makeBatch(1, 300, Date.now(), "big")),
        rejectsWith(ErrorCode.MESSAGE_TOO_LARGE, /larger than max.message.bytes 200$/),
      );
      info = await mgr.alterTopicConfigs("g", {}, ["max.message.bytes"]);
      assert.deepEqual(info.configs, { "retention.ms": "1000" });
      await mgr.partition("g", 0)!.append(makeBatch(1, 300, Date.now(), "big"));
      info = await mgr.alterTopicConfigs("g", { "retention.ms": "7" }, [], { validateOnly: true });
      assert.equal(info.configs["retention.ms"], "7");
      assert.equal(mgr.topic("g")!.configs["retention.ms"], "1000");
      info = await mgr.alterTopicConfigs("g", { "segment.ms": "60000" }, [], { replace: true });
      assert.deepEqual(info.configs, { "segment.ms": "60000" });
      await assert.rejects(
        () => mgr.alterTopicConfigs("g", { "bogus": "1" }),
        rejectsWith(
          ErrorCode.INVALID_CONFIG,
          "alter configs of topic g failed: invalid config bogus: unknown topic config",
        ),
      );
      await assert.rejects(
        () => mgr.alterTopicConfigs("g", {}, ["bogus"]),
        rejectsWith(
          ErrorCode.INVALID_CONFIG,
          "alter configs of topic g failed: invalid config bogus: unknown topic config",
        ),
      );
      await assert.rejects(
        () => mgr.alterTopicConfigs("nope", {}),
        rejectsWith(U, "alter configs of topic nope failed: no such topic"),
      );

      await mgr.close();
      mgr = await LogManager.open(dir, opts);
      assert.equal(mgr.topic("g")!.partitions, 4);
      assert.deepEqual(mgr.topic("g")!.configs, { "segment.ms": "60000" });
      assert.equal(mgr.partition("g", 3)!.logEndOffset, 1);

      await mgr.deleteTopic("g");
      assert.equal(mgr.topic("g"), undefined);
      assert.equal(mgr.topicById(t.id), undefined);
      for (let p = 0; p < 4; p++) {
        await assert.rejects(() => Deno.stat(`${dir}/g-${p}`), Deno.errors.NotFound);
      }
      await assert.rejects(
        () => mgr.deleteTopic("g"),
        rejectsWith(U, "delete topic g failed: no such topic"),
      );
      const again = await mgr.createTopic("g", 1);
      assert.notEqual(again.id, t.id);
      assert.equal(mgr.partition("g", 0)!.logEndOffset, 0);
      await mgr.close();
      mgr = await LogManager.open(dir, opts);
      assert.equal(mgr.topic("g")!.id, again.id);
      assert.equal(mgr.topic("g")!.partitions, 1);
    } finally {
      await mgr.close();
    }
  });
});

Deno.test("onAppend listeners, closed manager, idempotent close", async () => {
  await withDir(async (dir) => {
    const mgr = await LogManager.open(dir, opts);
    await mgr.createTopic("w", 2);
    const events: [string, number, number][] = [];
    const off = mgr.onAppend((t, p, leo) => events.push([t, p, leo]));
    await mgr.partition("w", 1)!.append(makeBatch(2, 10, Date.now(), "a"));
    await mgr.partition("w", 0)!.append(makeBatch(1, 10, Date.now(), "b"));
    off();
    await mgr.partition("w", 0)!.append(makeBatch(1, 10, Date.now(), "c"));
    assert.deepEqual(events, [["w", 1, 2], ["w", 0, 1]]);
    const log = mgr.partition("w", 0)!;
    await Promise.all([mgr.close(), mgr.close()]);
    await mgr.close();
    const S = ErrorCode.KAFKA_STORAGE_ERROR;
    await assert.rejects(
      () => mgr.createTopic("x", 1),
      rejectsWith(S, "create topic x failed: log manager is closed"),
    );
    await assert.rejects(
      () => log.append(makeBatch(1, 10, Date.now(), "late")),
      rejectsWith(S, "append to w-0 failed: log is closed"),
    );
    await assert.rejects(
      () => log.read(0, 10),
      rejectsWith(S, "read from w-0 failed: log is closed"),
    );
  });
});

Deno.test("reads are served from the hot tail and from files identically", async () => {
  await withDir(async (dir) => {
    for (const hotTailBytes of [0, 2000, 1 << 22]) {
      const mgr = await LogManager.open(dir, { ...opts, hotTailBytes });
      const name = `h${hotTailBytes}`;
      await mgr.createTopic(name, 1, { "index.interval.bytes": "100" });
      const log = mgr.partition(name, 0)!;
      const sent: Uint8Array[] = [];
      for (let i = 0; i < 40; i++) {
        const b = makeBatch(1 + (i % 3), 100, Date.now(), `h${i}`);
        await log.append(b);
        sent.push(b);
      }
      for (let off = 0; off < log.logEndOffset; off++) {
        const got = splitBatches((await log.read(off, 1)).records);
        assert.equal(got.length, 1);
        const want = sent.find((b) => {
          const [p] = splitBatches(b);
          return p.baseOffset <= off && off <= p.lastOffset;
        })!;
        assert.deepEqual(got[0].bytes, want);
      }
      await mgr.close();
    }
  });
});

Deno.test("a data dir is locked while open: a second open fails at once and changes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const mgr = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
    await mgr.createTopic("locked", 2);
    const listing = () => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    const before = listing();
    await assert.rejects(
      () => LogManager.open(dir, { retentionCheckIntervalMs: 0 }),
      (e: unknown) =>
        e instanceof EngineError && e.code === ErrorCode.KAFKA_STORAGE_ERROR &&
        e.message === `data dir ${dir} is in use by another process (${dir}/.lock is locked): ` +
            "is another broker running on it?",
    );
    assert.deepEqual(listing(), before);
    assert.ok(!before.includes(".kafka_cleanshutdown"));
    await mgr.close();
    const again = await LogManager.open(dir, { retentionCheckIntervalMs: 0 });
    assert.equal(again.topic("locked")?.partitions, 2);
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("a created partition makes no segment file, handle or fsync until it is used", async () => {
  await withDir(async (dir) => {
    const mgr = await LogManager.open(dir, opts);
    try {
      await mgr.createTopic("t", 3);
      for (let p = 0; p < 3; p++) assert.deepEqual(names(`${dir}/t-${p}`), ["partition.metadata"]);
      assert.equal(mgr.openFileStats().opens, 0);
      await mgr.partition("t", 1)!.append(makeBatch(2, 10, Date.now(), "x"));
      assert.deepEqual(names(`${dir}/t-1`), [
        "00000000000000000000.index",
        "00000000000000000000.log",
        "00000000000000000000.timeindex",
        "00000000000000000000.txnindex",
        "partition.metadata",
      ]);
      assert.equal(mgr.openFileStats().opens, 1);
      assert.deepEqual(names(`${dir}/t-0`), ["partition.metadata"]);
      assert.equal((await mgr.partition("t", 1)!.read(0, 1 << 20)).records.length > 0, true);
    } finally {
      await mgr.close();
    }
    // a clean close writes nothing for the partitions never used (no leader-epoch-checkpoint)
    assert.deepEqual(names(`${dir}/t-0`), ["partition.metadata"]);
    assert.ok(names(`${dir}/t-1`).includes("leader-epoch-checkpoint"));
  });
});

Deno.test("the clean shutdown marker lists the never-used partitions; the next open reads none of their directories", async () => {
  await withDir(async (dir) => {
    let mgr = await LogManager.open(dir, opts);
    const { id } = await mgr.createTopic("t", 5);
    await mgr.partition("t", 2)!.append(makeBatch(1, 10, Date.now(), "x"));
    await mgr.close();
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/.kafka_cleanshutdown`)), {
      version: 1,
      unmade: { [id]: [[0, 2], [3, 5]] },
    });
    // a segment file the marker says is not there: an open that trusts the marker never sees it
    await Deno.writeFile(`${dir}/t-4/00000000000000000007.log`, new Uint8Array(0));
    mgr = await LogManager.open(dir, opts);
    try {
      assert.equal(mgr.partition("t", 4)!.logEndOffset, 0);
      assert.equal(mgr.partition("t", 2)!.logEndOffset, 1);
      assert.equal(mgr.openFileStats().opens, 1); // t-2's, whose tail is read
    } finally {
      await mgr.close();
    }
    // the marker of an older version (empty): every directory is read
    await Deno.writeFile(`${dir}/.kafka_cleanshutdown`, new Uint8Array(0));
    mgr = await LogManager.open(dir, opts);
    try {
      assert.equal(mgr.partition("t", 4)!.logEndOffset, 7);
      assert.equal(mgr.partition("t", 2)!.logEndOffset, 1);
      await mgr.partition("t", 0)!.append(makeBatch(1, 10, Date.now(), "y"));
    } finally {
      await mgr.close();
    }
    // a partition used since is no longer listed; without a marker (a crash) nothing is trusted
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/.kafka_cleanshutdown`)), {
      version: 1,
      unmade: { [id]: [[1, 2], [3, 4]] },
    });
    await Deno.remove(`${dir}/.kafka_cleanshutdown`);
    await Deno.writeFile(`${dir}/t-3/00000000000000000004.log`, new Uint8Array(0));
    mgr = await LogManager.open(dir, opts);
    try {
      assert.equal(mgr.partition("t", 3)!.logEndOffset, 4);
      assert.equal(mgr.partition("t", 0)!.logEndOffset, 1);
    } finally {
      await mgr.close();
    }
  });
});

Deno.test("after a clean close, a never-used partition's log is made at its first use only", async () => {
  await withDir(async (dir) => {
    let mgr = await LogManager.open(dir, opts);
    const { id } = await mgr.createTopic("t", 6);
    const u = await mgr.createTopic("u", 2);
    await mgr.partition("t", 2)!.append(makeBatch(1, 10, Date.now(), "x"));
    await mgr.close();
    const checkpoint = await Deno.readTextFile(`${dir}/recovery-point-offset-checkpoint`);
    mgr = await LogManager.open(dir, opts);
    try {
      // made at open: only the used partition
      assert.deepEqual(
        [0, 1, 2, 3, 4, 5].map((p) => mgr.madePartition("t", p) !== undefined),
        [false, false, true, false, false, false],
      );
      assert.equal(mgr.hasPartition("t", 5), true);
      assert.equal(mgr.hasPartition("t", 6), false);
      assert.equal(mgr.madePartition("t", 6), undefined);
      assert.equal(mgr.leaderEpochOf("t", 4), 0);
      assert.equal(mgr.leaderEpochOf("t", 6), undefined);
      assert.equal(mgr.partition("t", 6), undefined);
      assert.equal(mgr.partition("t", -1), undefined);
      // the periodic work and the checkpoints go on without making them
      await mgr.flush();
      await mgr.runRetention();
      assert.equal(
        await Deno.readTextFile(`${dir}/recovery-point-offset-checkpoint`),
        checkpoint,
      );
      assert.equal(mgr.madePartition("t", 4), undefined);
      // first use: an empty log at offset 0 that takes records and keeps them
      const log = mgr.partition("t", 4)!;
      assert.equal(mgr.madePartition("t", 4), log);
      assert.equal(mgr.partition("t", 4), log);
      assert.deepEqual([log.logStartOffset, log.logEndOffset], [0, 0]);
      await log.append(makeBatch(3, 10, Date.now(), "y"));
      // config changes reach the logs made later
      await mgr.alterTopicConfigs("t", { "retention.ms": "5000" });
      assert.equal(mgr.partition("t", 1)!.config.retentionMs, 5000);
    } finally {
      await mgr.close();
    }
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/.kafka_cleanshutdown`)), {
      version: 1,
      unmade: { [id]: [[0, 2], [3, 4], [5, 6]], [u.id]: [[0, 2]] },
    });
    mgr = await LogManager.open(dir, opts);
    try {
      assert.equal(mgr.partition("t", 4)!.logEndOffset, 3);
      assert.equal(mgr.partition("t", 2)!.logEndOffset, 1);
      // a topic with holes grows and is deleted with all its directories
      await mgr.createPartitions("t", 8);
      assert.equal(mgr.partition("t", 7)!.logEndOffset, 0);
      assert.equal(mgr.partition("t", 5)!.logEndOffset, 0);
      await mgr.deleteTopic("t");
      assert.deepEqual(
        [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("t-")),
        [],
      );
    } finally {
      await mgr.close();
    }
  });
});

Deno.test("log manager: checkpoints are written again only when they change", async () => {
  await withDir(async (dir) => {
    const mgr = await LogManager.open(dir, opts);
    try {
      await mgr.createTopic("idle", 2);
      const files = ["recovery-point-offset-checkpoint", "log-start-offset-checkpoint"];
      // a rewrite renames a new file over the old one: a new inode
      const inodes = () =>
        Promise.all(files.map(async (f) => (await Deno.stat(`${dir}/${f}`)).ino));
      await mgr.flush();
      const first = await inodes();
      for (let i = 0; i < 2; i++) {
        await mgr.flush(); // one write would give a new inode (two could give the first one back)
        assert.deepEqual(await inodes(), first); // nothing changed: nothing written
      }
      await mgr.partition("idle", 1)!.append(makeBatch(3, 10, Date.now(), "x"));
      await mgr.flush(); // the recovery point moved: that file is written, the other is not
      const after = await inodes();
      assert.notEqual(after[0], first[0]);
      assert.equal(after[1], first[1]);
      assert.match(await Deno.readTextFile(`${dir}/${files[0]}`), /^idle 1 3$/m);
    } finally {
      await mgr.close();
    }
  });
});
