import assert from "node:assert/strict";
import { EngineError, ErrorCode, LogManager, type LogManagerOptions } from "./mod.ts";
import { TOPIC_METADATA_FILE } from "./names.ts";
import { makeBatch } from "./testdata/helpers.ts";

const opts: LogManagerOptions = {
  retentionCheckIntervalMs: 0,
  flushCheckpointIntervalMs: 0,
  cleanerBackoffMs: 0,
};

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

async function topicsFile(dir: string): Promise<string> {
  return await Deno.readTextFile(`${dir}/${TOPIC_METADATA_FILE}`);
}

function rejectsWith(code: number, message: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof EngineError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  };
}

Deno.test("partition limit: creations past maxPartitions fail with POLICY_VIOLATION and change nothing", async () => {
  await withDir(async (dir) => {
    const mgr = await LogManager.open(dir, { ...opts, maxPartitions: 100 });
    try {
      await mgr.createTopic("a", 60);
      const before = await listing(dir);
      const file = await topicsFile(dir);
      await assert.rejects(
        mgr.createTopic("b", 41),
        rejectsWith(
          ErrorCode.POLICY_VIOLATION,
          /^create topic b failed: 41 new partitions would make 101 on this broker, more than max\.broker\.partitions=100 \(60 exist\)$/,
        ),
      );
      await assert.rejects(
        mgr.createTopic("b", 41, {}, { validateOnly: true }),
        rejectsWith(ErrorCode.POLICY_VIOLATION, /max\.broker\.partitions=100/),
      );
      await assert.rejects(
        mgr.createPartitions("a", 100_000),
        rejectsWith(
          ErrorCode.POLICY_VIOLATION,
          /^create partitions of a failed: 99940 new partitions would make 100000 on this broker, more than max\.broker\.partitions=100/,
        ),
      );
      assert.deepEqual(await listing(dir), before);
      assert.equal(await topicsFile(dir), file);
      assert.equal(mgr.topic("a")!.partitions, 60);
      assert.equal(mgr.topic("b"), undefined);
      // up to the limit is fine
      await mgr.createTopic("b", 30);
      await mgr.createPartitions("a", 70);
      assert.equal(mgr.partitionCount, 100);
      await assert.rejects(
        mgr.createTopic("c", 1),
        rejectsWith(ErrorCode.POLICY_VIOLATION, /1 new partitions would make 101/),
      );
    } finally {
      await mgr.close();
    }
  });
});

Deno.test("partition limit: partitions being created count against it", async () => {
  await withDir(async (dir) => {
    const mgr = await LogManager.open(dir, { ...opts, maxPartitions: 1000 });
    try {
      const big = mgr.createTopic("big", 900);
      await new Promise((r) => setTimeout(r, 0)); // big has reserved its partitions
      await assert.rejects(
        mgr.createTopic("other", 200),
        rejectsWith(ErrorCode.POLICY_VIOLATION, /\(0 exist and 900 being created\)/),
      );
      await big;
      assert.equal(mgr.partitionCount, 900);
    } finally {
      await mgr.close();
    }
  });
});

Deno.test("creation failing at partition N of M removes the N made; a retry works", async () => {
  await withDir(async (dir) => {
    const lines: string[] = [];
    const mgr = await LogManager.open(dir, { ...opts, logger: (m) => lines.push(m) });
    try {
      await mgr.createTopic("g", 3);
      await mgr.partition("g", 1)!.append(makeBatch(2, 10, Date.now(), "g"));
      const before = await listing(dir);
      const file = await topicsFile(dir);
      // a file where partition 437 / 50 would go: its mkdir fails
      await Deno.writeTextFile(`${dir}/t-437`, "in the way");
      await Deno.writeTextFile(`${dir}/g-50`, "in the way");
      await assert.rejects(
        mgr.createTopic("t", 1000),
        rejectsWith(ErrorCode.KAFKA_STORAGE_ERROR, /^create topic t failed: .*t-437/),
      );
      await assert.rejects(
        mgr.createPartitions("g", 100),
        rejectsWith(ErrorCode.KAFKA_STORAGE_ERROR, /^create partitions of g failed: .*g-50/),
      );
      assert.deepEqual(await listing(dir), [...before, "g-50", "t-437"].sort());
      assert.equal(await topicsFile(dir), file);
      assert.equal(mgr.topic("t"), undefined);
      assert.equal(mgr.topic("g")!.partitions, 3);
      assert.equal(mgr.partition("g", 3), undefined);
      assert.equal(mgr.partition("g", 1)!.logEndOffset, 2);
      assert.ok(
        lines.some((l) =>
          /^create topic t failed after making \d+ of 1000 partitions, which were removed/.test(l)
        ),
        lines.join("\n"),
      );
      // nothing is reserved any more, and once the way is clear both work
      await Deno.remove(`${dir}/t-437`);
      await Deno.remove(`${dir}/g-50`);
      await mgr.createTopic("t", 1000);
      await mgr.createPartitions("g", 100);
      assert.equal(mgr.partitionCount, 1100);
      assert.equal(mgr.partition("g", 1)!.logEndOffset, 2);
    } finally {
      await mgr.close();
    }
  });
});

Deno.test("creating thousands of partitions does not hold up other topics' changes", async () => {
  await withDir(async (dir) => {
    const mgr = await LogManager.open(dir, opts);
    try {
      await mgr.createTopic("c", 2);
      await mgr.createTopic("grow", 1);
      const done: string[] = [];
      const track = <T>(name: string, p: Promise<T>) => p.then((v) => (done.push(name), v));
      const big = track("big", mgr.createTopic("big", 3000));
      const grow = track("grow", mgr.createPartitions("grow", 2000));
      // wait until both are making directories
      while (!(await listing(dir)).some((n) => n.startsWith("grow-1"))) {
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(mgr.topic("big"), undefined); // not committed yet
      await Promise.all([
        track("small", mgr.createTopic("small", 1)),
        track("__consumer_offsets", mgr.createTopic("__consumer_offsets", 50)),
        track("delete c", mgr.deleteTopic("c")),
        track("configs", mgr.alterTopicConfigs("grow", { "retention.ms": "1234" })),
      ]);
      assert.deepEqual(done.slice(0, 4).sort(), [
        "__consumer_offsets",
        "configs",
        "delete c",
        "small",
      ]);
      await Promise.all([big, grow]);
      assert.deepEqual(done.slice(4).sort(), ["big", "grow"]);
      assert.equal(mgr.topic("big")!.partitions, 3000);
      assert.equal(mgr.topic("grow")!.partitions, 2000);
      // the config change made meanwhile applies to the new partitions too
      assert.equal(mgr.partition("grow", 1999)!.config.retentionMs, 1234);
      assert.equal(mgr.topic("c"), undefined);
    } finally {
      await mgr.close();
    }
  });
});

Deno.test("a second creation of the same topic waits for the first and fails cleanly", async () => {
  await withDir(async (dir) => {
    const mgr = await LogManager.open(dir, opts);
    try {
      const first = mgr.createTopic("x.y", 500);
      const second = mgr.createTopic("x_y", 10); // collides with x.y
      const third = mgr.createTopic("x.y", 10);
      await first;
      await assert.rejects(second, rejectsWith(ErrorCode.INVALID_TOPIC_EXCEPTION, /collides/));
      await assert.rejects(third, rejectsWith(ErrorCode.TOPIC_ALREADY_EXISTS, /already exists/));
      assert.equal(mgr.topic("x.y")!.partitions, 500);
      assert.equal((await listing(dir)).filter((n) => n.startsWith("x_y")).length, 0);
    } finally {
      await mgr.close();
    }
  });
});

Deno.test("close during a creation stops it, removes what it made, and closes cleanly", async () => {
  await withDir(async (dir) => {
    let mgr = await LogManager.open(dir, opts);
    await mgr.createTopic("keep", 2);
    const big = mgr.createTopic("big", 5000);
    while (!(await listing(dir)).some((n) => n.startsWith("big-"))) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await mgr.close();
    await assert.rejects(big, rejectsWith(ErrorCode.KAFKA_STORAGE_ERROR, /log manager is closing/));
    assert.deepEqual((await listing(dir)).filter((n) => n.startsWith("big")), []);
    mgr = await LogManager.open(dir, opts);
    try {
      assert.equal(mgr.hadCleanShutdown, true);
      assert.deepEqual(mgr.listTopics().map((t) => t.name), ["keep"]);
    } finally {
      await mgr.close();
    }
  });
});

Deno.test("an aborted signal stops a creation and removes what it made", async () => {
  await withDir(async (dir) => {
    const mgr = await LogManager.open(dir, opts);
    try {
      const ac = new AbortController();
      const big = mgr.createTopic("big", 5000, {}, { signal: ac.signal });
      while (!(await listing(dir)).some((n) => n.startsWith("big-"))) {
        await new Promise((r) => setTimeout(r, 5));
      }
      ac.abort("broker shutting down");
      await assert.rejects(
        big,
        rejectsWith(ErrorCode.KAFKA_STORAGE_ERROR, /aborted: broker shutting down/),
      );
      assert.deepEqual((await listing(dir)).filter((n) => n.startsWith("big")), []);
      assert.equal(mgr.partitionCount, 0);
    } finally {
      await mgr.close();
    }
  });
});

Deno.test("open: partition directories no topic owns are removed when empty, kept as -stray when not", async () => {
  await withDir(async (dir) => {
    let mgr = await LogManager.open(dir, opts);
    await mgr.createTopic("t", 2);
    await mgr.createTopic("gone", 1);
    await mgr.partition("gone", 0)!.append(makeBatch(3, 10, Date.now(), "gone"));
    await mgr.close();
    // what crashes leave: a deletion that did not remove its directory (records in it), and
    // creations cut short before sluice-topics.json named them (empty)
    const file = JSON.parse(await topicsFile(dir));
    file.topics = file.topics.filter((t: { name: string }) => t.name !== "gone");
    await Deno.writeTextFile(`${dir}/${TOPIC_METADATA_FILE}`, JSON.stringify(file));
    for (const d of ["t-2", "new-0", "new-1"]) {
      await Deno.mkdir(`${dir}/${d}`);
      await Deno.writeFile(`${dir}/${d}/00000000000000000000.log`, new Uint8Array(0));
      await Deno.writeTextFile(`${dir}/${d}/partition.metadata`, "version: 0\ntopic_id: x\n");
    }
    // not partition directories of ours: left alone
    await Deno.mkdir(`${dir}/notes`);
    await Deno.mkdir(`${dir}/t-007`);
    const lines: string[] = [];
    mgr = await LogManager.open(dir, { ...opts, logger: (m) => lines.push(m) });
    try {
      const names = await listing(dir);
      assert.ok(!names.includes("t-2") && !names.includes("new-0") && !names.includes("new-1"));
      assert.ok(names.includes("notes") && names.includes("t-007") && names.includes("t-1"));
      const stray = names.filter((n) => n.endsWith("-stray"));
      assert.equal(stray.length, 1);
      assert.match(stray[0], /^gone-0\.[A-Za-z0-9_-]{22}-stray$/);
      assert.equal((await Deno.stat(`${dir}/${stray[0]}/00000000000000000000.log`)).size > 0, true);
      assert.ok(
        lines.includes("removed partition directory t-2: no topic owns it and it holds no record"),
        lines.join("\n"),
      );
      assert.ok(lines.some((l) => l.startsWith(`kept partition directory gone-0 as ${stray[0]}`)));
      // a topic of that name can be made again; the stray directory stays
      await mgr.createTopic("gone", 1);
      assert.equal(mgr.partition("gone", 0)!.logEndOffset, 0);
      assert.ok((await listing(dir)).includes(stray[0]));
    } finally {
      await mgr.close();
    }
  });
});

Deno.test("crash mid-creation: reopening leaves the whole topic or no trace of it", async () => {
  const child = new URL("./testdata/create_child.ts", import.meta.url).pathname;
  const n = 600;
  // kill after this many directories were made (the last: after the creation returned)
  for (const target of [1, n / 2, n - 5, Infinity]) {
    await withDir(async (dir) => {
      const proc = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", child, dir, String(n)],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const lines = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      const until = async (line: string) => {
        while (!out.includes(line)) {
          const r = await lines.read();
          assert.ok(!r.done, `child ended before "${line}"`);
          out += r.value;
        }
      };
      await until("ready\n"); // the small topic exists
      let made = 0;
      if (target === Infinity) {
        await until("done\n");
      } else {
        const deadline = Date.now() + 120_000; // safety net only
        while (made < target && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 10));
          made = (await listing(dir)).filter((x) => x.startsWith("big-")).length;
        }
      }
      proc.kill("SIGKILL");
      lines.releaseLock();
      await proc.status;
      await proc.stderr.cancel();
      const mgr = await LogManager.open(dir, opts);
      try {
        const big = mgr.topic("big");
        const after = (await listing(dir)).filter((x) => x.startsWith("big-")).length;
        assert.ok(
          big === undefined ? after === 0 : big.partitions === n && after === n,
          `kill at ${made}: ${after} directories after reopen, topic ${big?.partitions}`,
        );
        if (target === Infinity) assert.equal(big?.partitions, n);
        if (target === 1) assert.equal(big, undefined);
        assert.equal(mgr.partition("small", 0)!.logEndOffset, 3);
      } finally {
        await mgr.close();
      }
    });
  }
});

Deno.test("topic(): effective configs follow the topic's overrides and the broker defaults, and are shared read-only", async () => {
  await withDir(async (dir) => {
    const mgr = await LogManager.open(dir, opts);
    try {
      await mgr.createTopic("e", 1);
      const first = mgr.topic("e")!.effective;
      assert.equal(first["retention.ms"], "604800000");
      assert.strictEqual(mgr.topic("e")!.effective, first); // not computed again
      assert.throws(() => {
        (first as Record<string, string>)["retention.ms"] = "1";
      }, TypeError);
      mgr.setDefaults({ "retention.ms": "3600000" });
      assert.equal(mgr.topic("e")!.effective["retention.ms"], "3600000");
      await mgr.alterTopicConfigs("e", { "retention.ms": "60000" });
      assert.equal(mgr.topic("e")!.effective["retention.ms"], "60000");
      mgr.setDefaults({ "retention.ms": "7200000", "cleanup.policy": "compact" });
      const after = mgr.topic("e")!.effective;
      assert.equal(after["retention.ms"], "60000");
      assert.equal(after["cleanup.policy"], "compact");
      await mgr.alterTopicConfigs("e", {}, ["retention.ms"]);
      assert.equal(mgr.topic("e")!.effective["retention.ms"], "7200000");
    } finally {
      await mgr.close();
    }
  });
});
