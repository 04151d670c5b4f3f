// Copyright 2026 the Sluice authors. Apache-2.0 license.
// The operator's CLI fixes of issue #15: a refused connection explained once, parse.key keeping
// the lines before a bad one, every compression codec, topics --describe with offsets and sizes.
import assert from "node:assert/strict";
import { attributesAt, COMPRESSION_CODEC_MASK, compressionName } from "../records/mod.ts";
import { withBroker } from "./testing.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

async function sluice(args: string[], stdin = "") {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(stdin));
    await writer.close();
    const out = await child.output();
    const td = new TextDecoder();
    return { code: out.code, stdout: td.decode(out.stdout), stderr: td.decode(out.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/** A port nothing listens on (bound, then closed). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

Deno.test("a refused connection says once: is the broker running at HOST:PORT?", async () => {
  const at = `127.0.0.1:${closedPort()}`;
  const want = (cmd: string) =>
    `sluice ${cmd}: cannot connect to ${at} (connection refused): is the broker running at ${at}?\n`;
  for (
    const [cmd, args, stdin] of [
      ["topics", ["--list"], ""],
      ["groups", ["--list"], ""],
      ["consume", ["--topic", "t", "--max-messages", "1"], ""],
      // the producer fails at once, not after its delivery timeout (2 minutes)
      ["produce", ["--topic", "t"], "line\n"],
    ] as const
  ) {
    const r = await sluice([cmd, "--bootstrap-server", at, ...args], stdin);
    assert.deepEqual(r, { code: 1, stdout: "", stderr: want(cmd) }, cmd);
  }
});

Deno.test("produce parse.key=true sends the lines before one without a separator", async () => {
  await withBroker(async (bs) => {
    const b = ["--bootstrap-server", bs];
    await sluice(["topics", ...b, "--create", "--topic", "kv"]);
    const r = await sluice(
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
      "a:1\nb:2\nno separator\nc:3\n",
    );
    assert.deepEqual(r, {
      code: 2,
      stdout: "",
      stderr: "sluice produce: no key separator found on line number 3: 'no separator'\n",
    });
    const consumed = await sluice([
      "consume",
      ...b,
      "--topic",
      "kv",
      "--from-beginning",
      "--max-messages",
      "10",
      "--timeout-ms",
      "2000",
      "--property",
      "print.key=true",
    ]);
    assert.equal(consumed.stdout, "a\t1\nb\t2\n");
  });
});

Deno.test("produce --compression-codec sends with every codec the broker handles", async () => {
  await withBroker(async (bs, dir) => {
    const b = ["--bootstrap-server", bs];
    const codecs = ["none", "uncompressed", "gzip", "snappy", "lz4", "zstd"];
    for (const codec of codecs) {
      const topic = `codec-${codec}`;
      await sluice(["topics", ...b, "--create", "--topic", topic]);
      const r = await sluice(
        ["produce", ...b, "--topic", topic, "--compression-codec", codec],
        "one\ntwo\n",
      );
      assert.deepEqual(r, { code: 0, stdout: "", stderr: "" }, codec);
      // the batch as stored: the segment file's first batch
      const stored = await Deno.readFile(segmentFile(dir, topic, 0));
      assert.ok(stored.length > 0, codec);
      assert.equal(
        compressionName(attributesAt(stored, 0) & COMPRESSION_CODEC_MASK),
        codec === "uncompressed" ? "none" : codec,
      );
      const consumed = await sluice(
        ["consume", ...b, "--topic", topic, "--from-beginning", "--max-messages", "2"],
      );
      assert.equal(consumed.stdout, "one\ntwo\n", codec);
    }
    const bad = await sluice(["produce", ...b, "--topic", "x", "--compression-codec", "brotli"]);
    assert.deepEqual(bad, {
      code: 2,
      stdout: "",
      stderr: 'sluice produce: invalid --compression-codec "brotli": expected none ' +
        "(uncompressed), gzip, snappy, lz4 or zstd\n",
    });
  });
});

Deno.test("topics --describe shows each partition's offsets and size, also as JSON", async () => {
  await withBroker(async (bs, dir) => {
    const b = ["--bootstrap-server", bs];
    await sluice(["topics", ...b, "--create", "--topic", "sized", "--partitions", "2"]);
    await sluice(["produce", ...b, "--topic", "sized", "--partition", "1"], "a\nb\nc\n");
    // one segment: the partition's size is its .log file's
    const size = (await Deno.stat(segmentFile(dir, "sized", 1))).size;
    assert.ok(size > 0);
    const text = await sluice(["topics", ...b, "--describe", "--topic", "sized"]);
    assert.equal(text.code, 0, text.stderr);
    assert.deepEqual(text.stdout.split("\n").slice(1), [
      "\tTopic: sized\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tLogStartOffset: 0\t" +
      "LogEndOffset: 0\tSize: 0",
      "\tTopic: sized\tPartition: 1\tLeader: 1\tReplicas: 1\tIsr: 1\tLogStartOffset: 0\t" +
      `LogEndOffset: 3\tSize: ${size}`,
      "",
    ]);
    const json = await sluice([
      "topics",
      ...b,
      "--describe",
      "--topic",
      "sized",
      "--output",
      "json",
    ]);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.name, "sized");
    assert.deepEqual(parsed.partitions[1], {
      partition: 1,
      leader: 1,
      replicas: [1],
      isr: [1],
      offlineReplicas: [],
      logStartOffset: 0,
      logEndOffset: 3,
      size,
    });
    const bad = await sluice(["topics", ...b, "--describe", "--output", "yaml"]);
    assert.deepEqual(bad, {
      code: 2,
      stdout: "",
      stderr: 'sluice topics: invalid --output "yaml": expected text or json\n',
    });
  });
});

function segmentFile(dir: string, topic: string, partition: number): string {
  return `${dir}/${topic}-${partition}/00000000000000000000.log`;
}

Deno.test("sluice broker --log-format json logs one JSON object per line; /readyz answers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cli_json_" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      MAIN,
      "broker",
      "--listeners",
      "PLAINTEXT://127.0.0.1:0",
      "--log-dirs",
      dir,
      "--log-format",
      "json",
      "--override",
      "sluice.http.listener=http://127.0.0.1:0",
      "--override",
      "no.such.setting=1",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    const lines: string[] = [];
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "";
    while (!lines.some((l) => l.includes("listening on"))) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      const parts = buffered.split("\n");
      buffered = parts.pop()!;
      lines.push(...parts);
    }
    const entries = lines.map((l) => JSON.parse(l));
    for (const e of entries) {
      assert.deepEqual(Object.keys(e), ["time", "level", "logger", "message"]);
      assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(e.logger, "sluice.broker");
    }
    assert.equal(entries[0].level, "WARN");
    assert.equal(
      entries[0].message,
      'Unknown configuration "no.such.setting" (value "1") is ignored',
    );
    const admin = entries.find((e) => e.message.startsWith("Admin HTTP listener on "));
    assert.ok(admin, JSON.stringify(entries));
    assert.equal(admin.level, "INFO");
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(admin.message)![0];
    const ready = await fetch(`${url}/readyz`);
    assert.deepEqual([ready.status, await ready.text()], [200, "ready\n"]);
    child.kill("SIGINT");
    let rest = buffered;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += value;
    }
    const tail = rest.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
    assert.ok(tail.some((e) => e.message.endsWith("stopped; logs flushed")), rest);
    assert.equal((await child.status).code, 0);
  } finally {
    clearTimeout(timer);
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("groups --describe --output json gives offsets and lag per partition", async () => {
  await withBroker(async (bs) => {
    const b = ["--bootstrap-server", bs];
    await sluice(["topics", ...b, "--create", "--topic", "lagging"]);
    await sluice(["produce", ...b, "--topic", "lagging"], "a\nb\nc\n");
    const consumed = await sluice(
      [
        "consume",
        ...b,
        "--topic",
        "lagging",
        "--group",
        "g",
        "--from-beginning",
        "--max-messages",
        "2",
      ],
    );
    assert.equal(consumed.stdout, "a\nb\n", consumed.stderr);
    const r = await sluice(["groups", ...b, "--describe", "--group", "g", "--output", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const g = JSON.parse(r.stdout);
    assert.deepEqual([g.group, g.state, g.members], ["g", "Empty", []]);
    assert.deepEqual(g.offsets, [{
      topic: "lagging",
      partition: 0,
      currentOffset: 2,
      leaderEpoch: 0, // the epoch of record 1, committed by consume --group (KIP-320)
      logEndOffset: 3,
      lag: 1,
      consumerId: null,
    }]);
  });
});
