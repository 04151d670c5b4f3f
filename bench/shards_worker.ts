// Copyright 2026 the Sluice authors. Apache-2.0 license.
// One shard of bench/shards.ts: a Deno worker that starts a whole broker (its own engine, data
// dir and request handlers) and, when told, replays a Produce v9 request built once in memory
// through the broker's request path (`Broker.serveFrame`: header checks, handler, WASM
// validation, append, response encoding) with a fixed number of requests in flight. No socket
// and no client: what the worker's thread spends is the broker's work alone.
/// <reference lib="deno.worker" />
import { Broker, type ShardSetup, startShard } from "../server/broker.ts";
import { DEFAULT_BROKER_CONFIG } from "../server/config.ts";
import { shardOf } from "../server/shards.ts";
import { threadCpuNs } from "../tests/process_usage.ts";
import {
  concat,
  decodeBody,
  decodeResponseHeader,
  encodeRequestFrame,
} from "../protocol/framing.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { CreateTopicsRequest, CreateTopicsResponse } from "../protocol/messages/create_topics.ts";
import { buildBatch } from "../wasm/testing.ts";
import { FrameBufferPool } from "../server/frame_buffer_pool.ts";

/** What bench/shards.ts asks of a shard. */
export type ShardCommand =
  | {
    type: "start";
    index: number;
    dir: string;
    partitions: number;
    batchRecords: number;
    recordBytes: number;
    inflight: number;
    /**
     * Copy each request into a fresh buffer (the socket path before frames were pooled) instead
     * of one lent by a {@linkcode FrameBufferPool}, as the broker's connections lend them.
     */
    freshFrames?: boolean;
    /**
     * `--routing`: this worker is shard `index` of one sharded broker (ports to the others,
     * the port shard 0 bound) instead of a broker of its own.
     */
    shard?: {
      count: number;
      ports: (MessagePort | null)[];
      port: number;
      shared: ShardSetup["shared"];
    };
  }
  | { type: "prepare" }
  | { type: "run"; ms: number; which?: "local" | "remote" }
  | { type: "stop" };

/** What a shard answers. */
export type ShardReply =
  | { type: "ready"; port: number }
  | {
    type: "result";
    valueBytes: number;
    requests: number;
    ms: number;
    threadCpu: number;
    threadSystemCpu: number;
  }
  | { type: "closed" }
  | { type: "failed"; message: string };

let broker: Broker | undefined;
let template: Uint8Array | undefined;
/** `--routing`: requests for this shard's partitions, and for the next shard's. */
let templates: { local: Uint8Array; remote: Uint8Array } | undefined;
let setup: Extract<ShardCommand, { type: "start" }> | undefined;
let valueBytesPerRequest = 0;
let inflight = 1;
let freshFrames = false;
const framePool = new FrameBufferPool();
let correlation = 1;

function post(m: ShardReply): void {
  self.postMessage(m);
}

function body(sized: Uint8Array): Uint8Array {
  return sized.subarray(4);
}

/** Decode a Produce response and fail on any partition error. */
function checkProduce(chunks: Uint8Array[] | null): void {
  if (chunks === null) throw new Error("produce: no response to an acks=1 request");
  const frame = concat(chunks).subarray(4);
  const { bodyOffset } = decodeResponseHeader(frame, ProduceResponse.apiKey, 9);
  const r = decodeBody(ProduceResponse, frame, bodyOffset, 9);
  for (const t of r.responses) {
    for (const p of t.partitionResponses) {
      if (p.errorCode !== 0) {
        throw new Error(`produce: ${t.name}-${p.index} failed with error ${p.errorCode}`);
      }
    }
  }
}

const TOPIC_CONFIGS = [
  // Old segments are deleted as the run goes, so a run holds at most ~32 MiB a partition.
  { name: "segment.bytes", value: String(16 << 20) },
  { name: "retention.bytes", value: String(16 << 20) },
];

async function createTopic(b: Broker, topic: string, partitions: number): Promise<void> {
  const created = await b.serveFrame(body(encodeRequestFrame(
    CreateTopicsRequest,
    7,
    correlation++,
    "bench-shards",
    CreateTopicsRequest.create({
      topics: [{
        name: topic,
        numPartitions: partitions,
        replicationFactor: 1,
        assignments: [],
        configs: TOPIC_CONFIGS,
      }],
      timeoutMs: 5000,
    }),
  )));
  const frame = concat(created!).subarray(4);
  const { bodyOffset } = decodeResponseHeader(frame, CreateTopicsResponse.apiKey, 7);
  const res = decodeBody(CreateTopicsResponse, frame, bodyOffset, 7);
  if (res.topics[0].errorCode !== 0) {
    throw new Error(`create topic ${topic}: error ${res.topics[0].errorCode}`);
  }
}

function produceFrame(
  c: Extract<ShardCommand, { type: "start" }>,
  topic: string,
  partitions: number[],
): Uint8Array {
  const value = new Uint8Array(c.recordBytes);
  for (let i = 0; i < value.length; i++) value[i] = (i * 31 + c.index) & 0xff;
  const batch = buildBatch({
    records: Array.from({ length: c.batchRecords }, () => ({ key: null, value })),
    baseTimestamp: Date.now(),
  });
  return body(encodeRequestFrame(
    ProduceRequest,
    9,
    1,
    "bench-shards",
    ProduceRequest.create({
      acks: 1,
      timeoutMs: 30_000,
      topicData: [{
        name: topic,
        partitionData: partitions.map((index) => ({ index, records: batch })),
      }],
    }),
  ));
}

/** `--routing`: shard 0 makes the topic (the others get it by the topic sync); all build. */
async function prepare(): Promise<void> {
  const c = setup!;
  const count = c.shard!.count;
  const topic = "routed";
  const total = 2 * count * c.partitions;
  if (c.index === 0) await createTopic(broker!, topic, total);
  const owned = (shard: number) =>
    Array.from({ length: total }, (_, p) => p)
      .filter((p) => shardOf(topic, p, count) === shard)
      .slice(0, c.partitions);
  templates = {
    local: produceFrame(c, topic, owned(c.index)),
    remote: produceFrame(c, topic, owned((c.index + 1) % count)),
  };
  valueBytesPerRequest = c.partitions * c.batchRecords * c.recordBytes;
  const warm = Date.now() + 300;
  while (Date.now() < warm) {
    checkProduce(await broker!.serveFrame(templates.local.slice()));
    checkProduce(await broker!.serveFrame(templates.remote.slice()));
  }
}

async function start(c: Extract<ShardCommand, { type: "start" }>): Promise<void> {
  inflight = c.inflight;
  freshFrames = c.freshFrames === true;
  setup = c;
  if (c.shard !== undefined) {
    broker = await startShard({
      ...DEFAULT_BROKER_CONFIG,
      listeners: `PLAINTEXT://127.0.0.1:${c.shard.port}`,
      logDirs: [c.dir],
      logLevel: "silent",
      logRetentionCheckIntervalMs: 1000,
      workers: c.shard.count,
      maxIncrementalFetchSessionCacheSlots: 0,
    }, { index: c.index, count: c.shard.count, ports: c.shard.ports, shared: c.shard.shared });
    return;
  }
  broker = await Broker.start({
    listeners: "PLAINTEXT://127.0.0.1:0",
    logDirs: [c.dir],
    logLevel: "silent",
    logRetentionCheckIntervalMs: 1000,
  });
  const topic = `shard-${c.index}`;
  await createTopic(broker, topic, c.partitions);
  valueBytesPerRequest = c.partitions * c.batchRecords * c.recordBytes;
  template = produceFrame(c, topic, Array.from({ length: c.partitions }, (_, p) => p));
  // warm up: the code paths compiled, every partition's first segment made
  const warm = Date.now() + 300;
  while (Date.now() < warm) checkProduce(await broker.serveFrame(template.slice()));
}

/**
 * CPU time of this worker's JavaScript thread, read by the thread itself: nanoseconds on CPU
 * (`threadCpuNs`), and the clock ticks of `/proc/thread-self/stat` (10 ms steps) for the split
 * between user and system time; NaN where there are no such files.
 */
function threadCpu(): { ns: number; userTicks: number; systemTicks: number } {
  const ns = threadCpuNs();
  try {
    const stat = Deno.readTextFileSync("/proc/thread-self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { ns, userTicks: Number(fields[11]), systemTicks: Number(fields[12]) };
  } catch {
    return { ns, userTicks: NaN, systemTicks: NaN };
  }
}

async function run(ms: number, which?: "local" | "remote"): Promise<void> {
  const b = broker!;
  const t = which === undefined ? template! : templates![which];
  let requests = 0;
  const cpu0 = threadCpu();
  const started = performance.now();
  const end = started + ms;
  // `inflight` requests at a time, as that many connections with one request each would have
  // them; every request is copied into a buffer lent by the shard's frame pool and given back
  // once answered, as a connection reads a large Produce frame (or, `--fresh-frames`, into a
  // fresh buffer per request, as the socket path did before frames were pooled).
  await Promise.all(Array.from({ length: inflight }, async () => {
    while (performance.now() < end) {
      let frame: Uint8Array;
      if (freshFrames) frame = t.slice();
      else {
        frame = framePool.take(t.length) ?? framePool.allocate(t.length);
        frame.set(t);
      }
      const out = await b.serveFrame(frame);
      if (!freshFrames) framePool.give(frame);
      if ((++requests & 63) === 0) checkProduce(out);
    }
  }));
  const elapsed = performance.now() - started;
  const cpu1 = threadCpu();
  const seconds = (cpu1.ns - cpu0.ns) / 1e9;
  const systemTicks = cpu1.systemTicks - cpu0.systemTicks;
  const ticks = cpu1.userTicks - cpu0.userTicks + systemTicks;
  post({
    type: "result",
    valueBytes: requests * valueBytesPerRequest,
    requests,
    ms: elapsed,
    threadCpu: seconds,
    // the ticks' share of system time, of the nanoseconds
    threadSystemCpu: ticks > 0 ? seconds * systemTicks / ticks : 0,
  });
}

self.onmessage = async (e: MessageEvent<ShardCommand>) => {
  const c = e.data;
  try {
    if (c.type === "start") {
      await start(c);
      post({ type: "ready", port: broker!.port });
    } else if (c.type === "prepare") {
      await prepare();
      post({ type: "ready", port: broker!.port });
    } else if (c.type === "run") {
      await run(c.ms, c.which);
    } else {
      await broker?.close();
      post({ type: "closed" });
    }
  } catch (err) {
    post({ type: "failed", message: err instanceof Error ? err.message : String(err) });
  }
};
