import assert from "node:assert/strict";
import { Broker } from "../server/mod.ts";
import { withBroker } from "./testing.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function sluice(args: string[], stdin = ""): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const td = new TextDecoder();
  return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
}

Deno.test("sluice quickstart: create teste, produce two lines, consume them", async () => {
  await withBroker(async (bs) => {
    const b = ["--bootstrap-server", bs];
    assert.deepEqual(
      await sluice(["topics", ...b, "--create", "--topic", "teste", "--partitions", "1"]),
      { code: 0, stdout: "Created topic teste.\n", stderr: "" },
    );
    assert.deepEqual(
      await sluice(["produce", ...b, "--topic", "teste"], "Teste123\n123\n"),
      { code: 0, stdout: "", stderr: "" },
    );
    assert.deepEqual(
      await sluice([
        "consume",
        ...b,
        "--topic",
        "teste",
        "--from-beginning",
        "--max-messages",
        "2",
      ]),
      { code: 0, stdout: "Teste123\n123\n", stderr: "Processed a total of 2 messages\n" },
    );
    // Without --from-beginning only new records are printed: none.
    assert.deepEqual(
      await sluice(["consume", ...b, "--topic", "teste", "--timeout-ms", "1000"]),
      { code: 0, stdout: "", stderr: "Processed a total of 0 messages\n" },
    );
  });
});

Deno.test("sluice topics --list, --describe, --alter and --delete print like kafka-topics", async () => {
  await withBroker(async (bs) => {
    const b = ["--bootstrap-server", bs];
    await sluice(["topics", ...b, "--create", "--topic", "beta", "--partitions", "2"]);
    const created = await sluice([
      "topics",
      ...b,
      "--create",
      "--topic",
      "alpha",
      "--partitions",
      "1",
      "--config",
      "cleanup.policy=compact",
    ]);
    assert.equal(created.stdout, "Created topic alpha.\n");
    assert.deepEqual(await sluice(["topics", ...b, "--list"]), {
      code: 0,
      stdout: "alpha\nbeta\n",
      stderr: "",
    });
    const alter = await sluice(["topics", ...b, "--alter", "--topic", "beta", "--partitions", "3"]);
    assert.deepEqual(alter, { code: 0, stdout: "", stderr: "" });
    const described = await sluice(["topics", ...b, "--describe", "--topic", "beta"]);
    assert.equal(described.code, 0);
    const lines = described.stdout.split("\n");
    assert.match(
      lines[0],
      /^Topic: beta\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: $/,
    );
    assert.deepEqual(lines.slice(1), [
      "\tTopic: beta\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tLogStartOffset: 0\tLogEndOffset: 0\tSize: 0",
      "\tTopic: beta\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1\tLogStartOffset: 0\tLogEndOffset: 0\tSize: 0",
      "\tTopic: beta\tPartition: 2\tLeader: 1\tReplicas: 1\tIsr: 1\tLogStartOffset: 0\tLogEndOffset: 0\tSize: 0",
      "",
    ]);
    const all = await sluice(["topics", ...b, "--describe"]);
    assert.match(
      all.stdout,
      /^Topic: alpha\t.*\tConfigs: cleanup\.policy=compact\n\tTopic: alpha\tPartition: 0\t/,
    );
    assert.equal(all.stdout.split("\n").filter((l) => l.startsWith("Topic: ")).length, 2);
    assert.deepEqual(await sluice(["topics", ...b, "--delete", "--topic", "alpha"]), {
      code: 0,
      stdout: "",
      stderr: "",
    });
    assert.equal((await sluice(["topics", ...b, "--list"])).stdout, "beta\n");
  });
});

Deno.test("sluice topics --describe pages a 10,000-partition topic through DescribeTopicPartitions", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cli_test_" });
  const broker = await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    logDirs: [dir],
    logLevel: "silent",
  });
  try {
    const b = ["--bootstrap-server", `127.0.0.1:${broker.port}`];
    const created = await sluice(
      ["topics", ...b, "--create", "--topic", "big", "--partitions", "10000"],
    );
    assert.equal(created.stdout, "Created topic big.\n");
    const described = await sluice(["topics", ...b, "--describe", "--topic", "big"]);
    assert.equal(described.code, 0, described.stderr);
    const lines = described.stdout.split("\n");
    assert.match(lines[0], /^Topic: big\tTopicId: \S+\tPartitionCount: 10000\t/);
    assert.deepEqual(
      lines.slice(1, -1).map((l) => Number(/\tPartition: (\d+)\t/.exec(l)?.[1])),
      Array.from({ length: 10000 }, (_, i) => i),
    );
    // five answers of Kafka's 2000-partition limit, no Metadata describe
    assert.equal(broker.metrics.request(75)?.count, 5);
  } finally {
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sluice topics reports broker errors in one line with exit code 1", async () => {
  await withBroker(async (bs) => {
    const b = ["--bootstrap-server", bs];
    await sluice(["topics", ...b, "--create", "--topic", "dup", "--partitions", "1"]);
    const again = await sluice(["topics", ...b, "--create", "--topic", "dup", "--partitions", "1"]);
    assert.equal(again.code, 1);
    assert.equal(again.stdout, "");
    assert.match(
      again.stderr,
      /^sluice topics: create topic dup.*TOPIC_ALREADY_EXISTS \(36\).*\n$/,
    );
    assert.equal(again.stderr.split("\n").length, 2);
    const quiet = await sluice(
      ["topics", ...b, "--create", "--topic", "dup", "--partitions", "1", "--if-not-exists"],
    );
    assert.deepEqual(quiet, { code: 0, stdout: "", stderr: "" });
    const missing = await sluice(["topics", ...b, "--describe", "--topic", "nope"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^sluice topics: describe topic nope: UNKNOWN_TOPIC_OR_PARTITION/);
  });
});

Deno.test("sluice produce parses keys and consume prints keys, partitions and offsets", async () => {
  await withBroker(async (bs) => {
    const b = ["--bootstrap-server", bs];
    await sluice(["topics", ...b, "--create", "--topic", "kv", "--partitions", "1"]);
    const produced = await sluice(
      [
        "produce",
        ...b,
        "--topic",
        "kv",
        "--property",
        "parse.key=true",
        "--property",
        "key.separator=:",
      ],
      "user1:hello\nuser2:a:b\n",
    );
    assert.deepEqual(produced, { code: 0, stdout: "", stderr: "" });
    const consumed = await sluice([
      "consume",
      ...b,
      "--topic",
      "kv",
      "--from-beginning",
      "--max-messages",
      "2",
      "--property",
      "print.key=true",
      "--property",
      "print.offset=true",
      "--property",
      "print.partition=true",
      "--property",
      "key.separator=|",
    ]);
    assert.equal(
      consumed.stdout,
      "Partition:0|Offset:0|user1|hello\nPartition:0|Offset:1|user2|a:b\n",
    );
    assert.equal(consumed.stderr, "Processed a total of 2 messages\n");
    const fromOffset = await sluice(
      [
        "consume",
        ...b,
        "--topic",
        "kv",
        "--partition",
        "0",
        "--offset",
        "1",
        "--max-messages",
        "1",
      ],
    );
    assert.deepEqual(fromOffset, {
      code: 0,
      stdout: "a:b\n",
      stderr: "Processed a total of 1 messages\n",
    });
    const noSep = await sluice(
      ["produce", ...b, "--topic", "kv", "--property", "parse.key=true"],
      "no separator here\n",
    );
    assert.equal(noSep.code, 2);
    assert.equal(
      noSep.stderr,
      "sluice produce: no key separator found on line number 1: 'no separator here'\n",
    );
  });
});

Deno.test("sluice consume runs until SIGINT, then reports the count and exits 0", async () => {
  await withBroker(async (bs) => {
    const b = ["--bootstrap-server", bs];
    await sluice(["topics", ...b, "--create", "--topic", "live", "--partitions", "2"]);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MAIN, "consume", ...b, "--topic", "live"],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const td = new TextDecoder();
    const reader = child.stdout.getReader();
    let stdout = "";
    // Keep producing until the consumer (which starts at the end) has printed a line.
    let pending = reader.read();
    for (let i = 0; i < 100 && !stdout.includes("\n"); i++) {
      await sluice(["produce", ...b, "--topic", "live", "--partition", "1"], `line${i}\n`);
      const chunk = await Promise.race([
        pending,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 300)),
      ]);
      if (chunk) {
        if (!chunk.done) stdout += td.decode(chunk.value);
        pending = reader.read();
      }
    }
    assert.match(stdout, /^line\d+\n/);
    child.kill("SIGINT");
    for (;;) {
      const chunk = await pending;
      pending = reader.read();
      if (chunk.done) break;
      stdout += td.decode(chunk.value);
    }
    const status = await child.status;
    const stderr = td.decode(await new Response(child.stderr).arrayBuffer());
    assert.equal(status.code, 0);
    // Usually one line; a slow first read may let a second produced line in before SIGINT.
    assert.match(stdout, /^(line\d+\n)+$/);
    const lines = stdout.split("\n").length - 1;
    assert.equal(stderr, `Processed a total of ${lines} messages\n`);
  });
});

Deno.test("sluice consume of a missing topic fails in one line", async () => {
  await withBroker(async (bs) => {
    const r = await sluice(["consume", "--bootstrap-server", bs, "--topic", "ghost"]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^sluice consume: describe topic ghost: UNKNOWN_TOPIC_OR_PARTITION/);
    assert.equal(r.stderr.split("\n").length, 2);
  });
});

Deno.test("sluice produce writes every codec, and refuses an unknown one", async () => {
  await withBroker(async (bs) => {
    const b = ["--bootstrap-server", bs];
    for (const codec of ["gzip", "snappy", "lz4", "zstd"]) {
      const topic = `codec-${codec}`;
      const lines = Array.from({ length: 20 }, (_, i) => `${codec} ${i} ${"x".repeat(i * 10)}`);
      const produced = await sluice(
        ["produce", ...b, "--topic", topic, "--compression-codec", codec],
        lines.join("\n") + "\n",
      );
      assert.equal(produced.code, 0, produced.stderr);
      const consumed = await sluice([
        "consume",
        ...b,
        "--topic",
        topic,
        "--from-beginning",
        "--max-messages",
        "20",
      ]);
      assert.equal(consumed.stdout, lines.join("\n") + "\n");
    }
  });
  const bad = await sluice(["produce", "--topic", "t", "--compression-codec", "brotli"]);
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /invalid --compression-codec "brotli": expected none \(uncompressed\), gzip, snappy, lz4/,
  );
});
