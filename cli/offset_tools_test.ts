// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { Broker } from "../server/mod.ts";
import { Client, Producer } from "../client/mod.ts";
import { runSluice as sluice } from "./testing.ts";
import { parseOffsetJson } from "./delete_records.ts";

const enc = new TextEncoder();

Deno.test("sluice get-offsets, delete-records and log-dirs on a real broker", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_cli_offsets_" });
  const broker = await Broker.start(
    {
      listeners: "PLAINTEXT://127.0.0.1:0",
      logDirs: [dir],
      logLevel: "silent",
      offsetsTopicNumPartitions: 1,
      groupInitialRebalanceDelayMs: 0,
    } as Parameters<typeof Broker.start>[0],
  );
  const b = ["--bootstrap-server", `127.0.0.1:${broker.port}`];
  const client = new Client({ bootstrapServers: `127.0.0.1:${broker.port}`, retryBackoffMs: 20 });
  const t0 = Date.now() - 60_000;
  try {
    assert.equal(
      (await sluice(["topics", ...b, "--create", "--topic", "ops", "--partitions", "12"])).code,
      0,
    );
    assert.equal((await sluice(["topics", ...b, "--create", "--topic", "other"])).code, 0);
    const producer = new Producer(client);
    // partition p gets p records (partition 0 none), timestamps t0+1000, t0+2000, ...
    for (let p = 1; p < 12; p++) {
      await producer.send({
        topic: "ops",
        messages: Array.from({ length: p }, (_, i) => ({
          value: enc.encode(`r${i}`),
          timestamp: t0 + (i + 1) * 1000,
          partition: p,
        })),
      });
    }
    await producer.send({ topic: "other", messages: [{ value: enc.encode("x"), partition: 0 }] });
    await producer.close();
    assert.equal(
      (await sluice([
        "consume",
        ...b,
        "--topic",
        "other",
        "--group",
        "g",
        "--from-beginning",
        "--max-messages",
        "1",
      ])).code,
      0,
    );
    const order = ["0", "1", "10", "11", "2", "3", "4", "5", "6", "7", "8", "9"];
    /** What `sluice get-offsets` prints for `args`. */
    const getOffsets = async (...args: string[]) =>
      (await sluice(["get-offsets", ...b, ...args])).stdout;

    await t.step(
      "get-offsets: latest, earliest, timestamps, filters, sorted as Kafka's",
      async () => {
        assert.deepEqual(await sluice(["get-offsets", ...b, "--topic", "ops"]), {
          code: 0,
          stdout: order.map((p) => `ops:${p}:${p}\n`).join(""),
          stderr: "",
        });
        assert.equal(
          await getOffsets("--topic", "ops", "--time", "-2"),
          order.map((p) => `ops:${p}:0\n`).join(""),
        );
        // the first record at or after t0+3000 is the third one (offset 2); partitions with fewer
        // records have none and are left out
        assert.equal(
          await getOffsets("--topic", "ops", "--time", String(t0 + 3000)),
          order.filter((p) => Number(p) >= 3).map((p) => `ops:${p}:2\n`).join(""),
        );
        assert.equal(
          await getOffsets("--topic", "ops", "--partitions", "2,11", "--time", "max-timestamp"),
          "ops:11:10\nops:2:1\n",
        );
        assert.equal(
          await getOffsets("--topic-partitions", "ops:9-,oth.*:0"),
          "ops:10:10\nops:11:11\nops:9:9\nother:0:1\n",
        );
        // all topics: the internal one too, unless excluded
        const all = await getOffsets("--topic-partitions", ":0");
        const internal = all.split("\n")[0];
        assert.match(internal, /^__consumer_offsets:0:[1-9]\d*$/);
        assert.equal(all, `${internal}\nops:0:0\nother:0:1\n`);
        assert.equal(
          await getOffsets("--topic-partitions", ":0", "--exclude-internal-topics"),
          "ops:0:0\nother:0:1\n",
        );
      },
    );

    await t.step("delete-records: Kafka's JSON file and output, one error per line", async () => {
      const file = `${dir}/offsets.json`;
      await Deno.writeTextFile(
        file,
        JSON.stringify({
          partitions: [
            { topic: "ops", partition: 5, offset: 2 },
            { topic: "ops", partition: 3, offset: 99 },
            { topic: "ops", partition: 4, offset: -1 },
          ],
          version: 1,
        }),
      );
      assert.deepEqual(await sluice(["delete-records", ...b, "--offset-json-file", file]), {
        code: 1,
        stdout: "Executing records delete operation\n" +
          "Records delete operation completed:\n" +
          "partition: ops-5\tlow_watermark: 2\n" +
          "partition: ops-3\terror: OFFSET_OUT_OF_RANGE (1): The requested offset is not within " +
          "the range of offsets maintained by the server.\n" +
          "partition: ops-4\tlow_watermark: 4\n",
        stderr: "",
      });
      assert.equal(
        await getOffsets("--topic", "ops", "--partitions", "3,4,5", "--time", "earliest"),
        "ops:3:0\nops:4:4\nops:5:2\n",
      );
    });

    await t.step("log-dirs --describe: Kafka's JSON, sizes as on disk", async () => {
      const size = (p: string) => {
        let n = 0;
        for (const e of Deno.readDirSync(`${dir}/${p}`)) {
          if (e.name.endsWith(".log")) n += Deno.statSync(`${dir}/${p}/${e.name}`).size;
        }
        return n;
      };
      const r = await sluice(["log-dirs", ...b, "--describe", "--topic-list", "other"]);
      assert.deepEqual(r, {
        code: 0,
        stdout: "Querying brokers for log directories information\n" +
          "Received log directory information from brokers 1\n" +
          `{"brokers":[{"broker":1,"logDirs":[{"partitions":[{"partition":"other-0","size":${
            size("other-0")
          },"offsetLag":0,"isFuture":false}],"error":null,"logDir":${JSON.stringify(dir)}}]}],` +
          `"version":1}\n`,
        stderr: "",
      });
      assert.ok(size("other-0") > 0);
      const every = JSON.parse(
        (await sluice(["log-dirs", ...b, "--describe", "--broker-list", "1"])).stdout.split(
          "\n",
        )[2],
      );
      const names = every.brokers[0].logDirs[0].partitions.map((p: { partition: string }) =>
        p.partition
      );
      assert.deepEqual(names.filter((n: string) => n.startsWith("ops-")).length, 12);
      assert.ok(names.includes("__consumer_offsets-0"));
      assert.deepEqual(await sluice(["log-dirs", ...b, "--describe", "--broker-list", "1,7"]), {
        code: 2,
        stdout: "",
        stderr: "sluice log-dirs: ERROR: The given brokers do not exist from --broker-list: 7. " +
          "Current existent brokers: 1\n",
      });
    });

    await t.step("bad input: one line each", async () => {
      const cases: [string[], number, string][] = [
        [
          ["get-offsets", ...b, "--topic", "nope"],
          1,
          "Could not match any topic-partitions with the specified filters",
        ],
        [
          ["get-offsets", ...b, "--time", "yesterday"],
          2,
          "Malformed time argument yesterday. Please use -1 or latest / -2 or earliest / -3 or max-timestamp / -4 or earliest-local, or a specified long format timestamp",
        ],
        [
          ["get-offsets", ...b, "--topic", "ops", "--topic-partitions", "ops"],
          2,
          "--topic-partitions cannot be used with --topic or --partitions",
        ],
        [
          ["get-offsets", ...b, "--partitions", "1,x"],
          2,
          "Invalid partition x in --partitions 1,x",
        ],
        [
          ["get-offsets", ...b, "--topic", "("],
          2,
          'invalid --topic "(": Invalid regular expression: /^(?:()$/: Unterminated group',
        ],
        [["delete-records", ...b], 2, "Missing required argument --offset-json-file"],
        [
          ["delete-records", ...b, "--offset-json-file", "/nonexistent.json"],
          2,
          "cannot read /nonexistent.json: No such file or directory (os error 2): readfile '/nonexistent.json'",
        ],
        [["log-dirs", ...b], 2, "Missing required argument --describe"],
        [
          ["log-dirs", ...b, "--describe", "--broker-list", "a"],
          2,
          'invalid --broker-list "a": expected ids like 1,2',
        ],
      ];
      for (const [args, code, message] of cases) {
        const r = await sluice(args);
        assert.deepEqual(
          r,
          { code, stdout: "", stderr: `sluice ${args[0]}: ${message}\n` },
          args.join(" "),
        );
      }
    });
  } finally {
    await client.close();
    await broker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseOffsetJson: Kafka's format and its errors", () => {
  assert.deepEqual(parseOffsetJson('{"partitions":[{"topic":"t","partition":1,"offset":-1}]}'), [
    { topic: "t", partition: 1, offset: -1 },
  ]);
  const bad: [string, string][] = [
    ["{", "The input string is not a valid JSON"],
    ['{"partitions":[],"version":2}', "Not supported version field value 2"],
    ["{}", "Missing partitions field"],
    [
      '{"partitions":[{"topic":"t","partition":0}]}',
      "partitions[0]: offset must be an integer >= -1",
    ],
    [
      '{"partitions":[{"topic":"t","partition":"0","offset":1}]}',
      "partitions[0]: partition must be an integer >= 0",
    ],
    [
      '{"partitions":[{"topic":"t","partition":0,"offset":1},{"topic":"t","partition":0,"offset":2}]}',
      "Offset json file contains duplicate topic partitions: t-0",
    ],
  ];
  for (const [text, message] of bad) assert.throws(() => parseOffsetJson(text), { message });
});
