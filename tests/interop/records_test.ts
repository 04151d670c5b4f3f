// Copyright 2026 the Sluice authors. Apache-2.0 license.
// records/ against real clients: batches that kcat and confluent-kafka (librdkafka 2.0.2) write
// with every codec are decoded by records/ from the broker's log files; batches records/ writes
// with every codec (snappy and lz4 included) are read back by kcat and confluent-kafka with CRC
// checks on; and the legacy message formats v0/v1 and batches v2 are checked both ways against
// kafka-python's own implementation (kafka.record), which needs no broker.

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Client, Producer } from "../../client/mod.ts";
import { concat } from "../../protocol/framing.ts";
import {
  type CompressionName,
  decodeMessageSet,
  decodeRecordBatches,
  downConvert,
  encodeMessageSet,
  encodeRecordBatch,
  upConvert,
} from "../../records/mod.ts";
import {
  interopTest,
  requireClient,
  runClientScript,
  runCommand,
  sharedBroker,
  uniqueTopic,
  withTimeout,
} from "../harness.ts";
import { pyConsume, pyProduce } from "./python_cases.ts";

const kcat = requireClient("kcat");
const confluent = requireClient("confluent-kafka");
const kafkaPython = requireClient("kafka-python");
const broker = sharedBroker({ numPartitions: 1 });
const CODECS: CompressionName[] = ["gzip", "snappy", "lz4", "zstd"];
const te = new TextEncoder();
const td = new TextDecoder();
const str = (b: Uint8Array | null) => b === null ? null : td.decode(b);

/** Every batch stored in partition 0 of `topic`, read from its log file. */
async function storedBatches(dataDir: string, topic: string) {
  const dir = `${dataDir}/${topic}-0`;
  const parts: Uint8Array[] = [];
  const logs = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".log"));
  for (const name of logs.sort()) parts.push(await Deno.readFile(`${dir}/${name}`));
  return decodeRecordBatches(concat(parts), { validation: "strict" });
}

/**
 * At least one batch uses `codec`; librdkafka leaves a batch uncompressed when compressing it
 * would not make it smaller, so the others may be `none`.
 */
function assertCodec(batches: { compression: CompressionName }[], codec: CompressionName): void {
  const codecs = new Set(batches.map((b) => b.compression));
  assert(
    codecs.has(codec) && [...codecs].every((c) => c === codec || c === "none"),
    [...codecs].join(),
  );
}

/** Lines that compress well and vary: `key-i:value-i-xxxx…`. */
function lines(n: number, tag: string): [string, string][] {
  return Array.from({ length: n }, (_, i) => [`key-${i}`, `${tag}-${i}-${"x".repeat(i * 13)}`]);
}

interopTest(kcat, "batches kcat writes with every codec are decoded by records/", async () => {
  const { bootstrap, dataDir } = await broker();
  for (const codec of CODECS) {
    const topic = uniqueTopic(`records-kcat-${codec}`);
    const want = lines(40, codec);
    const r = await runCommand("kcat", [
      "-b",
      bootstrap,
      "-P",
      "-t",
      topic,
      "-p",
      "0",
      "-K",
      ":",
      "-z",
      codec,
      "-X",
      "linger.ms=200",
    ], { stdin: want.map(([k, v]) => `${k}:${v}`).join("\n") + "\n", timeoutMs: 30_000 });
    assertEquals(r.code, 0, r.stderr);
    const batches = await storedBatches(dataDir, topic);
    assertCodec(batches, codec);
    assertEquals(
      batches.flatMap((b) => b.records.map((x) => [x.offset, str(x.key), str(x.value)])),
      want.map(([k, v], i) => [i, k, v]),
    );
  }
});

interopTest(
  confluent,
  "batches confluent-kafka writes with every codec are decoded by records/",
  async () => {
    const { bootstrap, dataDir } = await broker();
    for (const codec of CODECS) {
      const topic = uniqueTopic(`records-confluent-${codec}`);
      const want = lines(30, codec).map(([key, value], i) => ({
        partition: 0,
        key,
        value,
        headers: [["h", `v${i}`], ["n", null]] as [string, string | null][],
        timestamp: 1_700_000_000_000 + i,
      }));
      await pyProduce("confluent_client.py", bootstrap, topic, want, {
        "compression.type": codec,
        "linger.ms": 200,
      });
      const batches = await storedBatches(dataDir, topic);
      assertCodec(batches, codec);
      assertEquals(
        batches.flatMap((b) =>
          b.records.map((x) => [
            str(x.key),
            str(x.value),
            x.headers.map((h) => [h.key, str(h.value)]),
            x.timestamp,
          ])
        ),
        want.map((w) => [w.key, w.value, w.headers, w.timestamp]),
      );
    }
  },
);

/** Produces `want` to partition 0 of `topic` with our client and `codec`; checks the log. */
async function produceOurs(
  bootstrap: string,
  dataDir: string,
  topic: string,
  codec: CompressionName,
  want: [string, string][],
): Promise<void> {
  const client = new Client({ bootstrapServers: bootstrap });
  try {
    const producer = new Producer(client, { compression: codec, lingerMs: 50 });
    await withTimeout(
      producer.send({
        topic,
        messages: want.map(([key, value]) => ({
          partition: 0,
          key,
          value,
          headers: { h: `${codec}-${key}` },
        })),
      }),
      30_000,
      "produce",
    );
  } finally {
    await client.close();
  }
  const batches = await storedBatches(dataDir, topic);
  assertEquals([...new Set(batches.map((b) => b.compression))], [codec]);
}

interopTest(
  kcat,
  "batches records/ writes with every codec are read by kcat (CRCs checked)",
  async () => {
    const { bootstrap, dataDir } = await broker();
    for (const codec of CODECS) {
      const topic = uniqueTopic(`records-ours-kcat-${codec}`);
      const want = lines(50, `ours-${codec}`);
      await produceOurs(bootstrap, dataDir, topic, codec, want);
      const r = await runCommand("kcat", [
        "-b",
        bootstrap,
        "-C",
        "-t",
        topic,
        "-o",
        "beginning",
        "-e",
        "-J",
        "-X",
        "check.crcs=true",
      ], { timeoutMs: 30_000 });
      assertEquals(r.code, 0, r.stderr);
      const got = r.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
      assertEquals(
        got.map((m) => [m.offset, m.key, m.payload, m.headers]),
        want.map(([k, v], i) => [i, k, v, ["h", `${codec}-${k}`]]),
      );
    }
  },
);

interopTest(
  confluent,
  "batches records/ writes with every codec are read by confluent-kafka",
  async () => {
    const { bootstrap, dataDir } = await broker();
    for (const codec of CODECS) {
      const topic = uniqueTopic(`records-ours-confluent-${codec}`);
      const want = lines(50, `ours-${codec}`);
      await produceOurs(bootstrap, dataDir, topic, codec, want);
      const got = await pyConsume("confluent_client.py", bootstrap, topic, want.length);
      assertEquals(
        got.map((m) => [m.offset, m.key, m.value, m.headers]),
        want.map(([k, v], i) => [i, k, v, [["h", `${codec}-${k}`]]]),
      );
    }
  },
);

interface PyBatch {
  magic: number;
  crc_ok: boolean;
  records: { offset: number; timestamp: number | null; key: string | null; value: string | null }[];
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (s: string) => new Uint8Array(s.match(/../g)?.map((h) => parseInt(h, 16)) ?? []);

const SAMPLE = Array.from({ length: 12 }, (_, i) => ({
  key: i % 4 === 0 ? null : `k${i}`,
  value: i % 5 === 3 ? null : `value ${i} ${"ü".repeat(i)}`,
  timestamp: 1_700_000_000_000 + i * 3,
}));

interopTest(kafkaPython, "message sets v0/v1 written here are read by kafka-python", async () => {
  for (const magic of [0, 1] as const) {
    for (const compression of ["none", "gzip"] as CompressionName[]) {
      const set = encodeMessageSet(
        SAMPLE.map((r) => ({
          key: r.key === null ? null : te.encode(r.key),
          value: r.value === null ? null : te.encode(r.value),
          timestamp: r.timestamp,
        })),
        { magic, compression, baseOffset: 100 },
      );
      const { batches } = await runClientScript<{ batches: PyBatch[] }>(
        "kafka_python_records.py",
        "decode",
        { hex: hex(set) },
      );
      assert(batches.every((b) => b.magic === magic && b.crc_ok), `${magic} ${compression}`);
      assertEquals(
        batches.flatMap((b) => b.records.map((r) => [r.offset, r.timestamp, r.key, r.value])),
        SAMPLE.map((r, i) => [100 + i, magic === 1 ? r.timestamp : null, r.key, r.value]),
      );
    }
  }
});

interopTest(kafkaPython, "message sets and batches kafka-python writes are read here", async () => {
  for (const magic of [0, 1, 2] as const) {
    for (const compression of ["none", "gzip"] as CompressionName[]) {
      const { hex: out } = await runClientScript<{ hex: string }>(
        "kafka_python_records.py",
        "encode",
        {
          magic,
          compression,
          records: SAMPLE.map((r, i) => ({ offset: i, ...r })),
        },
      );
      const bytes = unhex(out);
      const got = magic === 2
        ? decodeRecordBatches(bytes, { validation: "strict" }).flatMap((b) => b.records)
        : decodeMessageSet(bytes);
      assertEquals(
        got.map((r) => [r.timestamp, str(r.key), str(r.value)]),
        SAMPLE.map((r) => [magic === 0 ? -1 : r.timestamp, r.key, r.value]),
      );
      if (magic < 2) {
        // Up-converted (Produce v0-2), then down-converted again (Fetch v0-3).
        const v2 = upConvert(bytes);
        assertEquals(decodeRecordBatches(v2)[0].compression, compression);
        const back = decodeMessageSet(downConvert(v2, { magic: magic as 0 | 1 }));
        assertEquals(back.map((r) => [r.offset, str(r.value)]), SAMPLE.map((r, i) => [i, r.value]));
      }
    }
  }
});

interopTest(
  kafkaPython,
  "v2 batches written here (gzip) are read by kafka-python with CRCs",
  async () => {
    const batch = encodeRecordBatch(
      SAMPLE.map((r) => ({
        key: r.key === null ? null : te.encode(r.key),
        value: r.value === null ? null : te.encode(r.value),
        timestamp: r.timestamp,
        headers: [{ key: "h", value: te.encode("x") }],
      })),
      { baseOffset: 7, compression: "gzip" },
    );
    const { batches } = await runClientScript<{ batches: PyBatch[] }>(
      "kafka_python_records.py",
      "decode",
      { hex: hex(batch) },
    );
    assert(batches[0].crc_ok && batches[0].magic === 2);
    assertEquals(
      batches[0].records.map((r) => [r.offset, r.timestamp, r.key, r.value]),
      SAMPLE.map((r, i) => [7 + i, r.timestamp, r.key, r.value]),
    );
  },
);
