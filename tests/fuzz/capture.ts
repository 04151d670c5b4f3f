// Copyright 2026 the Sluice authors. Apache-2.0 license.
/**
 * Rebuilds the fuzz corpus (`tests/fuzz/corpus/*.txt`) from real clients: a recording TCP proxy
 * sits in front of an in-process broker (which advertises the proxy's address, so clients keep
 * talking through it after Metadata), and each client runs one sweep of its requests: kcat,
 * kafka-python and confluent-kafka (`capture_clients.py`), kafkajs and our own client. Every
 * client-to-broker frame is recorded; frames are deduplicated (correlation id zeroed), at most
 * {@linkcode PER_VERSION} are kept per client, API and version, and frames above
 * {@linkcode MAX_FRAME} bytes are dropped, so the corpus stays small.
 *
 * Run: `deno run -A tests/fuzz/capture.ts [--out DIR]` (default `tests/fuzz/corpus/`). Needs kcat,
 * `/usr/bin/python3` with kafka-python and confluent-kafka, and `npm:kafkajs@2.2.4`; a missing
 * client is reported and skipped.
 *
 * @module
 */

import { Broker } from "../../server/mod.ts";
import { FrameSplitter } from "../../protocol/framing.ts";
import { Admin, Client, Consumer, GroupConsumer, Producer } from "../../client/mod.ts";
import { CORPUS_DIR, type CorpusFrame, formatCorpus } from "./corpus.ts";

/** Frames kept per client, API key and version. */
export const PER_VERSION = 6;
/** Larger frames are not kept. */
export const MAX_FRAME = 16 * 1024;

const PYTHON = "/usr/bin/python3";

interface Recorder {
  label: string;
  frames: Map<string, CorpusFrame[]>;
}

function startProxy(
  listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
  target: () => number,
  rec: Recorder,
): Promise<void> {
  const pipes: Promise<void>[] = [];
  const accept = (async () => {
    for await (const client of listener) {
      const label = rec.label;
      pipes.push((async () => {
        let server: Deno.TcpConn;
        try {
          server = await Deno.connect({ hostname: "127.0.0.1", port: target() });
        } catch {
          client.close();
          return;
        }
        const splitter = new FrameSplitter(1 << 30);
        const up = (async () => {
          const buf = new Uint8Array(65536);
          try {
            for (;;) {
              const n = await client.read(buf);
              if (n === null) break;
              const chunk = buf.slice(0, n);
              for (const f of splitter.push(chunk)) record(rec, label, f);
              let off = 0;
              while (off < n) off += await server.write(chunk.subarray(off));
            }
          } catch { /* either side gone */ }
          try {
            server.closeWrite();
          } catch { /* closed */ }
        })();
        const down = (async () => {
          const buf = new Uint8Array(65536);
          try {
            for (;;) {
              const n = await server.read(buf);
              if (n === null) break;
              let off = 0;
              while (off < n) off += await client.write(buf.subarray(off, n));
            }
          } catch { /* either side gone */ }
          try {
            client.closeWrite();
          } catch { /* closed */ }
        })();
        await Promise.allSettled([up, down]);
        for (const c of [client, server]) {
          try {
            c.close();
          } catch { /* closed */ }
        }
      })());
    }
  })().catch(() => {});
  return accept.then(() => Promise.allSettled(pipes)).then(() => {});
}

function record(rec: Recorder, label: string, payload: Uint8Array): void {
  if (payload.length < 8 || payload.length > MAX_FRAME) return;
  const copy = payload.slice();
  const view = new DataView(copy.buffer);
  view.setInt32(4, 0); // correlation id
  const apiKey = view.getInt16(0);
  const version = view.getInt16(2);
  let list = rec.frames.get(label);
  if (!list) rec.frames.set(label, list = []);
  const key = copy.join(",");
  if (list.some((f) => f.payload.join(",") === key)) return;
  if (list.filter((f) => f.apiKey === apiKey && f.version === version).length >= PER_VERSION) {
    return;
  }
  list.push({ client: label, apiKey, version, payload: copy });
}

async function run(cmd: string, args: string[], stdin?: string, timeoutMs = 60_000) {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
  }, timeoutMs);
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin)).catch(() => {});
    await w.close().catch(() => {});
  }
  const out = await child.output();
  clearTimeout(timer);
  const stderr = new TextDecoder().decode(out.stderr);
  for (const line of stderr.split("\n")) {
    if (line.startsWith("step ")) console.warn(`  ${line}`);
  }
  if (out.code !== 0) {
    const err = stderr.trim().split("\n").slice(-3).join(" | ");
    console.warn(`  ${cmd} ${args.slice(0, 6).join(" ")}: exit ${out.code}: ${err}`);
  }
}

async function kcat(b: string, p: string): Promise<void> {
  const t = `${p}-t`;
  const input = "k1:v1\nk2:v2\n:null-key\n";
  await run("kcat", ["-b", b, "-L"]);
  for (const z of ["none", "gzip", "snappy", "lz4", "zstd"]) {
    await run("kcat", ["-b", b, "-P", "-t", t, "-K:", "-z", z, "-H", "h=x"], input);
  }
  await run("kcat", ["-b", b, "-P", "-t", t, "-K:", "-X", "enable.idempotence=true"], input);
  await run("kcat", ["-b", b, "-P", "-t", t, "-X", "acks=0"], "acks0\n");
  await run("kcat", ["-b", b, "-C", "-t", t, "-o", "beginning", "-e", "-X", "check.crcs=true"]);
  await run("kcat", ["-b", b, "-C", "-t", t, "-o", "s@0", "-e"]);
  await run("kcat", ["-b", b, "-Q", "-t", `${t}:0:0`]);
  await run("kcat", ["-b", b, "-G", `${p}-g`, "-o", "beginning", "-e", t], undefined, 20_000);
  // Older protocol versions, as a client that skips ApiVersions would send them.
  const legacy = ["-X", "api.version.request=false", "-X", "broker.version.fallback=0.10.0"];
  await run("kcat", ["-b", b, "-L", ...legacy]);
  await run("kcat", ["-b", b, "-P", "-t", t, ...legacy], "legacy\n");
  await run("kcat", ["-b", b, "-C", "-t", t, "-o", "beginning", "-e", ...legacy]);
}

async function python(lib: string, b: string, p: string): Promise<void> {
  const script = new URL("./capture_clients.py", import.meta.url).pathname;
  await run(PYTHON, [script, lib, b, p], undefined, 120_000);
}

async function kafkajs(b: string, p: string): Promise<void> {
  const { Kafka, CompressionTypes, ConfigResourceTypes, logLevel } = await import("kafkajs");
  const kafka = new Kafka({
    clientId: "capture-kafkajs",
    brokers: [b],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 100 },
  });
  const t = `${p}-t`;
  const step = async (name: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      console.warn(`  kafkajs ${name}: ${e instanceof Error ? e.message : e}`);
    }
  };
  const admin = kafka.admin();
  await step("admin", () => admin.connect());
  await step("createTopics", () =>
    admin.createTopics({
      topics: [
        {
          topic: t,
          numPartitions: 2,
          configEntries: [{ name: "retention.ms", value: "86400000" }],
        },
        { topic: `${p}-gone`, numPartitions: 1 },
      ],
    }));
  await step(
    "createTopics validateOnly",
    () =>
      admin.createTopics({ validateOnly: true, topics: [{ topic: `${p}-v`, numPartitions: 3 }] }),
  );
  await step("listTopics", () => admin.listTopics());
  await step("fetchTopicMetadata", () => admin.fetchTopicMetadata({ topics: [t] }));
  await step("describeCluster", () => admin.describeCluster());
  await step("describeConfigs", () =>
    admin.describeConfigs({
      includeSynonyms: true,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: t }],
    }));
  await step("alterConfigs", () =>
    admin.alterConfigs({
      validateOnly: false,
      resources: [{
        type: ConfigResourceTypes.TOPIC,
        name: t,
        configEntries: [{ name: "retention.ms", value: "3600000" }],
      }],
    }));
  await step(
    "createPartitions",
    () => admin.createPartitions({ topicPartitions: [{ topic: t, count: 3 }] }),
  );
  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
    const producer = kafka.producer();
    await step("produce", async () => {
      await producer.connect();
      await producer.send({
        topic: t,
        compression,
        messages: [
          { key: "k1", value: "v1", headers: { h: "x" } },
          { key: null, value: null },
          { value: "v3", partition: 1 },
        ],
      });
      await producer.send({ topic: t, acks: 0, messages: [{ value: "acks0" }] });
    });
    await step("disconnect", () => producer.disconnect());
  }
  const idem = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await step("idempotent", async () => {
    await idem.connect();
    await idem.send({ topic: t, messages: [{ value: "idem" }] });
  });
  await step("disconnect", () => idem.disconnect());
  const txp = kafka.producer({
    transactionalId: `${p}-txn`,
    maxInFlightRequests: 1,
    idempotent: true,
  });
  await step("transactions", async () => {
    await txp.connect();
    const tx = await txp.transaction();
    await tx.send({ topic: t, messages: [{ value: "in txn", partition: 0 }] });
    await tx.sendOffsets({
      consumerGroupId: `${p}-txg`,
      topics: [{ topic: t, partitions: [{ partition: 0, offset: "1" }] }],
    });
    await tx.commit();
    const tx2 = await txp.transaction();
    await tx2.send({ topic: t, messages: [{ value: "aborted", partition: 1 }] });
    await tx2.abort();
  });
  await step("disconnect", () => txp.disconnect());
  const consumer = kafka.consumer({
    groupId: `${p}-g`,
    maxWaitTimeInMs: 200,
    heartbeatInterval: 200,
    readUncommitted: false,
  });
  await step("consume", async () => {
    await consumer.connect();
    await consumer.subscribe({ topic: t, fromBeginning: true });
    let got = 0;
    let done: () => void = () => {};
    const enough = new Promise<void>((r) => done = r);
    await consumer.run({
      eachMessage: () => {
        if (++got >= 3) done();
        return Promise.resolve();
      },
    });
    await Promise.race([enough, new Promise((r) => setTimeout(r, 10_000))]);
  });
  await step("disconnect", () => consumer.disconnect());
  await step("fetchOffsets", () => admin.fetchOffsets({ groupId: `${p}-g`, topics: [t] }));
  await step("fetchTopicOffsets", () => admin.fetchTopicOffsets(t));
  await step("fetchTopicOffsetsByTimestamp", () => admin.fetchTopicOffsetsByTimestamp(t, 0));
  await step(
    "setOffsets",
    () =>
      admin.setOffsets({
        groupId: `${p}-g`,
        topic: t,
        partitions: [{ partition: 0, offset: "1" }],
      }),
  );
  await step("listGroups", () => admin.listGroups());
  await step("describeGroups", () => admin.describeGroups([`${p}-g`]));
  await step("deleteGroups", () => admin.deleteGroups([`${p}-g`]));
  await step(
    "deleteTopicRecords",
    () => admin.deleteTopicRecords({ topic: t, partitions: [{ partition: 0, offset: "1" }] }),
  );
  await step("deleteTopics", () => admin.deleteTopics({ topics: [`${p}-gone`] }));
  await step("disconnect", () => admin.disconnect());
}

async function sluice(b: string, p: string): Promise<void> {
  const t = `${p}-t`;
  const client = new Client({ bootstrapServers: b, clientId: "capture-sluice" });
  const step = async (name: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (e) {
      console.warn(`  sluice ${name}: ${e instanceof Error ? e.message : e}`);
    }
  };
  const admin = new Admin(client);
  await step("createTopics", () =>
    admin.createTopics([
      { name: t, numPartitions: 2, configs: { "retention.ms": "86400000" } },
      { name: `${p}-gone`, numPartitions: 1 },
    ]));
  await step(
    "createTopics validateOnly",
    () => admin.createTopics([{ name: `${p}-v`, numPartitions: 3 }], { validateOnly: true }),
  );
  await step("listTopics", () => admin.listTopics({ includeInternal: true }));
  await step("describeTopics", () => admin.describeTopics([t]));
  await step("describeCluster", () => admin.describeCluster());
  await step(
    "describeConfigs",
    () => admin.describeConfigs([{ type: "topic", name: t }, { type: "broker", name: "1" }]),
  );
  await step("alterConfigs", () =>
    admin.alterConfigs([{
      type: "topic",
      name: t,
      changes: [{ name: "retention.ms", value: "3600000" }, { name: "segment.ms", op: "delete" }],
    }]));
  await step("createPartitions", () => admin.createPartitions([{ topic: t, count: 3 }]));
  // Our client compresses with none, gzip and zstd only.
  for (const compression of ["none", "gzip", "zstd"] as const) {
    const producer = new Producer(client, { compression });
    await step(`produce ${compression}`, () =>
      producer.send({
        topic: t,
        messages: [
          { key: "k1", value: "v1", headers: { h: "x" } },
          { key: null, value: null },
          { value: "v3", partition: 1, timestamp: 0 },
        ],
      }));
    await step("close", () => producer.close());
  }
  const acks0 = new Producer(client, { acks: 0 });
  await step("acks0", () => acks0.send({ topic: t, messages: [{ value: "acks0" }] }));
  await step("close", () => acks0.close());
  const consumer = new Consumer(client, { fromBeginning: true, maxWaitMs: 200 });
  await step("consume", async () => {
    await consumer.assign([{ topic: t, partition: 0 }, { topic: t, partition: 1 }]);
    await consumer.poll();
    await consumer.poll();
  });
  await step("close", () => consumer.close());
  await step("listOffsets", () =>
    admin.listOffsets([
      { topic: t, partition: 0, spec: "earliest" },
      { topic: t, partition: 0, spec: "latest" },
      { topic: t, partition: 0, spec: "max-timestamp" },
      { topic: t, partition: 0, spec: { timestamp: 0 } },
    ]));
  const group = new GroupConsumer(client, {
    groupId: `${p}-g`,
    autoOffsetReset: "earliest",
    autoCommit: false,
    maxWaitMs: 200,
    heartbeatIntervalMs: 200,
  });
  await step("group", async () => {
    group.subscribe([t]);
    const deadline = Date.now() + 10_000;
    let got = 0;
    while (got < 3 && Date.now() < deadline) got += (await group.poll()).length;
    await group.commit();
  });
  await step("close", () => group.close());
  await step("listGroups", () => admin.listGroups());
  await step("describeGroups", () => admin.describeGroups([`${p}-g`]));
  await step("listConsumerGroupOffsets", () => admin.listConsumerGroupOffsets(`${p}-g`));
  await step(
    "alterConsumerGroupOffsets",
    () => admin.alterConsumerGroupOffsets(`${p}-g`, [{ topic: t, partition: 0, offset: 1 }]),
  );
  await step(
    "deleteConsumerGroupOffsets",
    () => admin.deleteConsumerGroupOffsets(`${p}-g`, [{ topic: t, partition: 0 }]),
  );
  await step("deleteConsumerGroups", () => admin.deleteConsumerGroups([`${p}-g`]));
  await step("deleteRecords", () => admin.deleteRecords([{ topic: t, partition: 0, offset: 1 }]));
  await step("deleteTopics", () => admin.deleteTopics([`${p}-gone`]));
  await client.close();
}

const CLIENTS: Record<string, { about: string; run: (b: string, p: string) => Promise<void> }> = {
  "kcat": { about: "kcat 1.7.1 (librdkafka 2.0.2), Debian kcat", run: kcat },
  "kafka-python": {
    about: "kafka-python 2.0.2, Debian python3-kafka",
    run: (b, p) => python("kafka-python", b, p),
  },
  "confluent-kafka": {
    about: "confluent-kafka 1.7.0 (librdkafka 2.0.2), Debian python3-confluent-kafka",
    run: (b, p) => python("confluent-kafka", b, p),
  },
  "kafkajs": { about: "kafkajs 2.2.4 (npm)", run: kafkajs },
  "sluice": { about: "Sluice's own client (client/)", run: sluice },
};

/**
 * Runs every client through the recording proxy and writes one corpus file per client.
 *
 * @param outDir Where to write `<client>.txt`.
 * @returns Frames written per client.
 */
export async function capture(outDir: URL | string = CORPUS_DIR): Promise<Map<string, number>> {
  const dataDir = await Deno.makeTempDir({ prefix: "sluice-capture-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const rec: Recorder = { label: "", frames: new Map() };
  let brokerPort = 0;
  const proxy = startProxy(listener, () => brokerPort, rec);
  const broker = await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    advertisedListeners: `PLAINTEXT://127.0.0.1:${listener.addr.port}`,
    logDirs: [dataDir],
    logLevel: "silent",
    groupInitialRebalanceDelayMs: 0,
  });
  brokerPort = broker.port;
  const bootstrap = `127.0.0.1:${listener.addr.port}`;
  const counts = new Map<string, number>();
  try {
    for (const [name, c] of Object.entries(CLIENTS)) {
      console.log(`capturing ${name} ...`);
      rec.label = name;
      await c.run(bootstrap, `capture-${name}`);
      // Let late frames (leave group, close) through before the label changes.
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    listener.close();
    await broker.close();
    await proxy;
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
  await Deno.mkdir(outDir, { recursive: true });
  for (const [name, c] of Object.entries(CLIENTS)) {
    const frames = (rec.frames.get(name) ?? []).sort((a, b) =>
      a.apiKey - b.apiKey || a.version - b.version
    );
    counts.set(name, frames.length);
    if (frames.length === 0) {
      console.warn(`no frames from ${name}: is it installed?`);
      continue;
    }
    const text = formatCorpus([
      `Request frames sent by ${c.about},`,
      "recorded by tests/fuzz/capture.ts (correlation ids zeroed). Regenerate, do not edit.",
    ], frames);
    const path = typeof outDir === "string"
      ? `${outDir.replace(/\/?$/, "/")}${name}.txt`
      : new URL(`${name}.txt`, outDir);
    await Deno.writeTextFile(path, text);
  }
  return counts;
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--out");
  const out = i >= 0 ? Deno.args[i + 1] : CORPUS_DIR;
  const counts = await capture(out);
  for (const [name, n] of counts) console.log(`${name}: ${n} frames`);
}
