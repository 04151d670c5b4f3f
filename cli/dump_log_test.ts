// Copyright 2026 the Sluice authors. Apache-2.0 license.
import assert from "node:assert/strict";
import { Broker } from "../server/mod.ts";
import { Client, Producer } from "../client/mod.ts";
import { runSluice as sluice } from "./testing.ts";
import { interopTest, PYTHON, requireClient } from "../tests/harness.ts";

const enc = new TextEncoder();

// An independent reader of the same files: kafka-python's DefaultRecordBatch (Debian's
// python3-kafka) parses each batch, checks its CRC and prints Kafka's DumpLogSegments lines.
const ORACLE = `
import struct, sys
from kafka.record.default_records import DefaultRecordBatch as B
data = open(sys.argv[1], "rb").read()
deep = sys.argv[2] == "deep"
codecs = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}
pos = 0
out = []
while len(data) - pos > 17:
    length = struct.unpack_from(">i", data, pos + 8)[0]
    size = length + 12
    if length < 0 or size < 61 or size > len(data) - pos:
        break
    b = B(bytearray(data[pos:pos + size]))
    (bo, _, ple, magic, crc, attrs, lod, fts, mts, pid, pe, bs, n) = b._header_data
    ls = -1 if bs < 0 else (bs + lod) % 2147483648
    tt = "LogAppendTime" if attrs & 8 else "CreateTime"
    tf = lambda v: "true" if v else "false"
    out.append(f"baseOffset: {bo} lastOffset: {bo + lod} count: {n} baseSequence: {bs} "
               f"lastSequence: {ls} producerId: {pid} producerEpoch: {pe} "
               f"partitionLeaderEpoch: {ple} isTransactional: {tf(attrs & 16)} "
               f"isControl: {tf(attrs & 32)} deleteHorizonMs: OptionalLong.empty position: {pos} "
               f"{tt}: {mts} size: {size} magic: {magic} compresscodec: {codecs[attrs & 7]} "
               f"crc: {crc} isvalid: {tf(b.validate_crc())}")
    if deep and b.validate_crc():
        for r in b:
            seq = -1 if bs < 0 else bs + (r.offset - bo)
            line = (f"| offset: {r.offset} {tt}: {r.timestamp} "
                    f"keySize: {-1 if r.key is None else len(r.key)} "
                    f"valueSize: {-1 if r.value is None else len(r.value)} sequence: {seq} "
                    f"headerKeys: [{','.join(k for k, _ in r.headers)}]")
            if attrs & 32:
                t = struct.unpack_from(">hh", r.key)[1]
                ce = struct.unpack_from(">hi", r.value)[1]
                line += f" endTxnMarker: {'ABORT' if t == 0 else 'COMMIT'} coordinatorEpoch: {ce}"
            else:
                if r.key is not None:
                    line += " key: " + r.key.decode()
                if r.value is not None:
                    line += " payload: " + r.value.decode()
            out.append(line)
    pos += size
if pos < len(data):
    out.append(f"Found {len(data) - pos} invalid bytes at the end of {sys.argv[1].split('/')[-1]}")
print("\\n".join(out))
`;

async function oracle(file: string, deep: boolean): Promise<string> {
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", ORACLE, file, deep ? "deep" : "shallow"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

const SEG = "00000000000000000000";
// recent timestamps: a first batch older than segment.ms (7 days) would roll the segment
const T0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
const ts = (n: number) => T0 + n * 1000;

/** Writes topic `dl` (every batch indexed), a committed and an aborted transaction, a group. */
async function writeData(dir: string): Promise<void> {
  const broker = await Broker.start(
    {
      listeners: "PLAINTEXT://127.0.0.1:0",
      logDirs: [dir],
      logLevel: "silent",
      offsetsTopicNumPartitions: 1,
      transactionStateLogNumPartitions: 1,
      groupInitialRebalanceDelayMs: 0,
    } as Parameters<typeof Broker.start>[0],
  );
  const b = ["--bootstrap-server", `127.0.0.1:${broker.port}`];
  const client = new Client({ bootstrapServers: `127.0.0.1:${broker.port}`, retryBackoffMs: 20 });
  try {
    assert.equal(
      (await sluice([
        "topics",
        ...b,
        "--create",
        "--topic",
        "dl",
        "--config",
        "index.interval.bytes=1",
      ])).code,
      0,
    );
    const producer = new Producer(client);
    const send = (messages: Parameters<Producer["send"]>[0]["messages"]) =>
      producer.send({ topic: "dl", messages });
    await send([{
      key: enc.encode("k1"),
      value: enc.encode("v1"),
      timestamp: ts(1),
      partition: 0,
    }]);
    await send([
      { value: enc.encode("v2"), timestamp: ts(2), partition: 0 },
      { value: enc.encode("v3"), timestamp: ts(3), partition: 0, headers: { h: enc.encode("x") } },
    ]);
    await producer.close();
    const tx = new Producer(client, { transactionalId: "tx-dump" });
    await tx.initTransactions();
    await tx.beginTransaction();
    await tx.send({
      topic: "dl",
      messages: [{ value: enc.encode("gone"), timestamp: ts(4), partition: 0 }],
    });
    await tx.abortTransaction();
    await tx.beginTransaction();
    await tx.send({
      topic: "dl",
      messages: [{ value: enc.encode("kept"), timestamp: ts(5), partition: 0 }],
    });
    await tx.commitTransaction();
    await tx.close();
    const c = await sluice([
      "consume",
      ...b,
      "--topic",
      "dl",
      "--group",
      "g1",
      "--from-beginning",
      "--max-messages",
      "4",
    ]);
    assert.equal(c.code, 0, c.stderr);
  } finally {
    await client.close();
    await broker.close();
  }
}

interopTest(
  requireClient("kafka-python"),
  "sluice dump-log prints a broker's segments as kafka-dump-log.sh",
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "sluice_cli_dump_" });
    try {
      await writeData(dir);
      const part = `${dir}/dl-0`;
      const log = `${part}/${SEG}.log`;

      await t.step("a .log file, batches and records, equals the oracle's lines", async () => {
        const shallow = await sluice(["dump-log", "--files", log]);
        assert.equal(shallow.code, 0, shallow.stderr);
        assert.equal(
          shallow.stdout,
          `Dumping ${log}\nLog starting offset: 0\n${await oracle(log, false)}`,
        );
        const deep = await sluice(["dump-log", "--files", log, "--print-data-log"]);
        assert.equal(deep.code, 0, deep.stderr);
        const expected = await oracle(log, true);
        assert.equal(deep.stdout, `Dumping ${log}\nLog starting offset: 0\n${expected}`);
        // what is in it, in the exact lines (sequence numbers of the idempotent producer)
        const lines = expected.split("\n");
        assert.equal(lines.length, 14, expected);
        assert.match(
          lines[0],
          new RegExp(
            String
              .raw`^baseOffset: 0 lastOffset: 0 count: 1 baseSequence: 0 lastSequence: 0 producerId: \d+ producerEpoch: 0 partitionLeaderEpoch: 0 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: ${
              ts(1)
            } size: 72 magic: 2 compresscodec: none crc: \d+ isvalid: true$`,
          ),
        );
        assert.equal(
          lines[1],
          `| offset: 0 CreateTime: ${
            ts(1)
          } keySize: 2 valueSize: 2 sequence: 0 headerKeys: [] key: k1 payload: v1`,
        );
        assert.equal(
          lines[4],
          `| offset: 2 CreateTime: ${
            ts(3)
          } keySize: -1 valueSize: 2 sequence: 2 headerKeys: [h] payload: v3`,
        );
        assert.match(
          lines[8],
          /^\| offset: 4 CreateTime: \d+ keySize: 4 valueSize: 6 sequence: -1 headerKeys: \[\] endTxnMarker: ABORT coordinatorEpoch: 0$/,
        );
        assert.match(lines[12], /endTxnMarker: COMMIT coordinatorEpoch: 0$/);
        // --deep-iteration without --print-data-log: records without keys and payloads
        const noData = await sluice(["dump-log", "--files", log, "--deep-iteration"]);
        assert.ok(noData.stdout.includes("headerKeys: []\n") && !noData.stdout.includes("payload"));
        // --max-bytes: only the batches wholly within, no "invalid bytes" line
        const first = await sluice(["dump-log", "--files", log, "--max-bytes", "100"]);
        assert.equal(
          first.stdout,
          `Dumping ${log}\nLog starting offset: 0\n${lines[0]}\n`,
        );
      });

      await t.step("index, time index, transaction index, snapshot, leader epochs", async () => {
        const batches = (await oracle(log, false)).trim().split("\n").map((l) => ({
          base: Number(/baseOffset: (\d+)/.exec(l)![1]),
          last: Number(/lastOffset: (\d+)/.exec(l)![1]),
          pos: Number(/position: (\d+)/.exec(l)![1]),
          ts: Number(/CreateTime: (\d+)/.exec(l)![1]),
          pid: Number(/producerId: (\d+)/.exec(l)![1]),
        }));
        // index.interval.bytes=1: every batch after the first is indexed
        const index = `${part}/${SEG}.index`;
        const idx = await sluice(["dump-log", "--files", index]);
        assert.deepEqual(idx, {
          code: 0,
          stdout: `Dumping ${index}\n` +
            batches.slice(1).map((b) => `offset: ${b.base} position: ${b.pos}\n`).join(""),
          stderr: "",
        });
        assert.deepEqual(await sluice(["dump-log", "--files", index, "--verify-index-only"]), {
          code: 0,
          stdout: `Dumping ${index}\n`,
          stderr: "",
        });
        assert.deepEqual(await sluice(["dump-log", "--files", index, "--index-sanity-check"]), {
          code: 0,
          stdout: `Dumping ${index}\n${index} passed sanity check.\n`,
          stderr: "",
        });
        const timeindex = `${part}/${SEG}.timeindex`;
        const ti = await sluice(["dump-log", "--files", timeindex, "--verify-index-only"]);
        assert.deepEqual(ti, { code: 0, stdout: `Dumping ${timeindex}\n`, stderr: "" });
        const tiLines = (await sluice(["dump-log", "--files", timeindex])).stdout.split("\n");
        assert.equal(tiLines[1], `timestamp: ${ts(3)} offset: 2`); // batch 2 (offsets 1-2), max 3000
        // the aborted transaction: its batch at 3, its marker at 4, one entry
        const txnindex = `${part}/${SEG}.txnindex`;
        assert.deepEqual(await sluice(["dump-log", "--files", txnindex]), {
          code: 0,
          stdout: `Dumping ${txnindex}\n` +
            `version: 0 producerId: ${
              batches[2].pid
            } firstOffset: 3 lastOffset: 4 lastStableOffset: 5\n`,
          stderr: "",
        });
        const epochs = `${part}/leader-epoch-checkpoint`;
        assert.deepEqual(await sluice(["dump-log", "--files", epochs]), {
          code: 0,
          stdout: `Dumping ${epochs}\nepoch: 0 startOffset: 0\n`,
          stderr: "",
        });
        const snapshots = [...Deno.readDirSync(part)].map((e) => e.name)
          .filter((n) => n.endsWith(".snapshot"));
        assert.deepEqual(snapshots, ["00000000000000000007.snapshot"]);
        const snap = await sluice(["dump-log", "--files", `${part}/${snapshots[0]}`]);
        assert.equal(snap.code, 0, snap.stderr);
        const snapLines = snap.stdout.split("\n");
        assert.equal(snapLines.length, 4, snap.stdout); // Dumping, two producers, ""
        assert.ok(
          snapLines.includes(
            `producerId: ${batches[0].pid} producerEpoch: 0 coordinatorEpoch: -1 ` +
              `currentTxnFirstOffset: OptionalLong.empty lastTimestamp: ${
                ts(3)
              } firstSequence: 1 ` +
              `lastSequence: 2 lastOffset: 2 offsetDelta: 1 timestamp: ${ts(3)}`,
          ),
          snap.stdout,
        );
      });

      await t.step(
        "a flipped byte is isvalid: false, a cut tail is reported, both as the oracle",
        async () => {
          const bytes = await Deno.readFile(log);
          const corrupt = `${dir}/corrupt/${SEG}.log`;
          await Deno.mkdir(`${dir}/corrupt`);
          const flipped = bytes.slice();
          flipped[72 + 70] ^= 0x01; // inside the second batch's records
          await Deno.writeFile(corrupt, flipped);
          const r = await sluice(["dump-log", "--files", corrupt]);
          assert.equal(r.code, 1);
          assert.equal(
            r.stdout,
            `Dumping ${corrupt}\nLog starting offset: 0\n${await oracle(corrupt, false)}`,
          );
          assert.equal(r.stdout.match(/isvalid: false/g)?.length, 1);
          assert.match(r.stdout.split("\n")[3], /^baseOffset: 1 lastOffset: 2 .* isvalid: false$/);

          await Deno.writeFile(corrupt, bytes.subarray(0, bytes.length - 10));
          const cut = await sluice(["dump-log", "--files", corrupt]);
          assert.equal(cut.code, 1);
          const lines = cut.stdout.trimEnd().split("\n");
          const lastBatchSize = Number(/size: (\d+)/.exec(lines.at(-2)!)![1]);
          assert.equal(
            lines.at(-1),
            `Found ${
              bytes.length - 10 -
              lines.slice(2, -1).reduce((n, l) => n + Number(/size: (\d+)/.exec(l)![1]), 0)
            } invalid bytes at the end of ${SEG}.log`,
          );
          assert.ok(lastBatchSize > 0);
          assert.equal(
            cut.stdout,
            `Dumping ${corrupt}\nLog starting offset: 0\n${await oracle(corrupt, false)}`,
          );

          // an index entry pointing at the wrong position
          const index = await Deno.readFile(`${part}/${SEG}.index`);
          const bad = index.slice();
          new DataView(bad.buffer).setUint32(4, 0); // entry 0 -> position 0, which holds offset 0
          await Deno.writeFile(`${dir}/corrupt/${SEG}.index`, bad);
          await Deno.writeFile(corrupt, bytes);
          const mismatch = await sluice([
            "dump-log",
            "--files",
            `${dir}/corrupt/${SEG}.index`,
            "--verify-index-only",
          ]);
          assert.deepEqual(mismatch, {
            code: 1,
            stdout: `Dumping ${dir}/corrupt/${SEG}.index\n`,
            stderr:
              `Mismatches in :${dir}/corrupt/${SEG}.index\n  Index offset: 1, log offset: 0\n`,
          });
          // a time index entry whose timestamp is not its batch's largest
          const timeindex = await Deno.readFile(`${part}/${SEG}.timeindex`);
          const badTime = timeindex.slice();
          const tdv = new DataView(badTime.buffer);
          const indexedTs = Number(tdv.getBigInt64(0));
          tdv.setBigInt64(0, BigInt(indexedTs + 1));
          await Deno.writeFile(`${dir}/corrupt/${SEG}.timeindex`, badTime);
          assert.deepEqual(
            await sluice([
              "dump-log",
              "--files",
              `${dir}/corrupt/${SEG}.timeindex`,
              "--verify-index-only",
            ]),
            {
              code: 1,
              stdout: `Dumping ${dir}/corrupt/${SEG}.timeindex\n`,
              stderr: `Found timestamp mismatch in :${dir}/corrupt/${SEG}.timeindex\n` +
                `  Index timestamp: ${indexedTs + 1}, log timestamp: ${indexedTs}\n`,
            },
          );
          await Deno.writeFile(`${dir}/corrupt/${SEG}.index`, index.subarray(0, 5));
          const insane = await sluice([
            "dump-log",
            "--files",
            `${dir}/corrupt/${SEG}.index`,
            "--index-sanity-check",
          ]);
          assert.deepEqual(insane, {
            code: 1,
            stdout: `Dumping ${dir}/corrupt/${SEG}.index\n`,
            stderr:
              `Index file ${dir}/corrupt/${SEG}.index is corrupt: found 5 bytes which is not a multiple of 8\n`,
          });
        },
      );

      await t.step("--offsets-decoder and --transaction-log-decoder", async () => {
        const offsets = `${dir}/__consumer_offsets-0/${SEG}.log`;
        const o = await sluice(["dump-log", "--files", offsets, "--offsets-decoder"]);
        assert.equal(o.code, 0, o.stderr);
        assert.match(
          o.stdout,
          /\| offset: \d+ CreateTime: \d+ keySize: \d+ valueSize: \d+ sequence: -1 headerKeys: \[\] key: \{"type":"1","data":\{"group":"g1","topic":"dl","partition":0\}\} payload: \{"version":"3","data":\{"offset":4,"leaderEpoch":0,"metadata":"","commitTimestamp":\d+\}\}\n/,
        );
        assert.match(
          o.stdout,
          /key: \{"type":"2","data":\{"group":"g1"\}\} payload: \{"version":"3","data":\{"protocolType":"consumer","generation":1,/,
        );
        const txns = `${dir}/__transaction_state-0/${SEG}.log`;
        const x = await sluice(["dump-log", "--files", txns, "--transaction-log-decoder"]);
        assert.equal(x.code, 0, x.stderr);
        assert.match(
          x.stdout,
          /key: transaction_metadata::transactionalId=tx-dump payload: producerId:\d+,producerEpoch:0,state=Ongoing,partitions=\[dl-0\],txnLastUpdateTimestamp=\d+,txnTimeoutMs=60000\n/,
        );
        assert.match(x.stdout, /state=CompleteAbort,partitions=\[\],/);
        assert.match(x.stdout, /state=CompleteCommit,partitions=\[\],/);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("sluice dump-log: bad input is one line", async () => {
  const cases: [string[], string][] = [
    [[], "Missing required argument --files"],
    [
      ["--files", "/nonexistent/0.log"],
      "cannot read /nonexistent/0.log: No such file or directory",
    ],
    [["--files", "/tmp"], "cannot read /tmp: not a file"],
    [["--files", "a.log", "--max-bytes", "0"], 'invalid --max-bytes "0": expected an integer >= 1'],
    [
      ["--files", "a.log", "--offsets-decoder", "--transaction-log-decoder"],
      "--offsets-decoder and --transaction-log-decoder cannot be given together",
    ],
  ];
  for (const [args, message] of cases) {
    const r = await sluice(["dump-log", ...args]);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      new RegExp(`^sluice dump-log: ${message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
    );
    assert.equal(r.stderr.split("\n").length, 2, r.stderr);
  }
  const unknown = await sluice(["dump-log", "--files", "/etc/hostname"]);
  assert.deepEqual(unknown, {
    code: 0,
    stdout: "Dumping /etc/hostname\n",
    stderr: "Ignoring unknown file /etc/hostname\n",
  });
});
