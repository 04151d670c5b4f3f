// Copyright 2026 the Sluice authors. Apache-2.0 license.
// A broker process with a low open-file limit (`ulimit -n 256`) holding thousands of partitions:
// produce to every one, SIGTERM (exit 0, logs flushed), restart, read everything back. The
// partition count is SLUICE_MANY_PARTITIONS (default 2000; `deno task test:partitions` runs
// 10000).
import { setPartitionLeaderEpochAt } from "../records/mod.ts";
import { deepStrictEqual as assertEquals, ok } from "node:assert/strict";
import { ErrorCode } from "../protocol/errors.ts";
import {
  CreatePartitionsRequest,
  CreatePartitionsResponse,
} from "../protocol/messages/create_partitions.ts";
import { ApiVersionsRequest, ApiVersionsResponse } from "../protocol/messages/api_versions.ts";
import { FetchRequest, FetchResponse } from "../protocol/messages/fetch.ts";
import { ProduceRequest, ProduceResponse } from "../protocol/messages/produce.ts";
import { buildBatch } from "../wasm/testing.ts";
import { createTopic, fetchBody, RawClient } from "./testing.ts";

const MAIN = new URL("../cli/main.ts", import.meta.url).pathname;
const PARTITIONS = Number(Deno.env.get("SLUICE_MANY_PARTITIONS") ?? 2000);
const FD_LIMIT = 256;
const PER_REQUEST = 250;
/** The permissions of `deno task broker` (no --allow-all: /proc/self/limits is not readable). */
const TASK_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
];
const T0 = Date.now();

interface Child {
  proc: Deno.ChildProcess;
  port: number;
  stderr: () => string;
}

/** Starts `sluice broker` under `ulimit -n`, with the given permission flags. */
async function startBroker(dir: string, port: number, perms: string[]): Promise<Child> {
  const cmd = [Deno.execPath(), "run", ...perms, MAIN, "broker", "--listeners"];
  cmd.push(`PLAINTEXT://127.0.0.1:${port}`, "--log-dirs", dir);
  const quoted = cmd.map((a) => `'${a}'`).join(" ");
  const proc = new Deno.Command("sh", {
    args: ["-c", `ulimit -n ${FD_LIMIT} && exec ${quoted}`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  (async () => {
    for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  const deadline = Date.now() + 120_000; // safety net: start-up loads every partition
  while (!text.includes("listening on")) {
    if (Date.now() > deadline) throw new Error(`broker did not start:\n${text}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, port, stderr: () => text };
}

async function stop(child: Child): Promise<void> {
  child.proc.kill("SIGTERM");
  const status = await child.proc.status;
  assertEquals(status.code, 0, child.stderr());
  ok(child.stderr().includes("stopped; logs flushed"), child.stderr());
  ok(!/Too many open files|EMFILE/.test(child.stderr()), child.stderr());
}

function openFds(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

function batchOf(p: number): Uint8Array {
  return buildBatch({
    records: [{ key: `k${p}`, value: `value of partition ${p}` }],
    baseTimestamp: T0,
  });
}

async function produceAll(c: RawClient, topic: string): Promise<void> {
  for (let from = 0; from < PARTITIONS; from += PER_REQUEST) {
    const ps = Array.from({ length: Math.min(PER_REQUEST, PARTITIONS - from) }, (_, i) => from + i);
    const res = await c.request(ProduceRequest, ProduceResponse, 9, {
      acks: -1,
      timeoutMs: 30_000,
      topicData: [{
        name: topic,
        partitionData: ps.map((p) => ({ index: p, records: batchOf(p) })),
      }],
    });
    const bad = res.responses[0].partitionResponses.filter((r) => r.errorCode !== 0);
    assertEquals(bad.map((r) => [r.index, r.errorCode, r.errorMessage]), []);
  }
}

async function readAll(c: RawClient, topic: string): Promise<void> {
  for (let from = 0; from < PARTITIONS; from += PER_REQUEST) {
    const ps = Array.from({ length: Math.min(PER_REQUEST, PARTITIONS - from) }, (_, i) => from + i);
    const res = await c.request(
      FetchRequest,
      FetchResponse,
      12,
      fetchBody(ps.map((p) => ({ topic, partition: p, offset: 0, maxBytes: 4096 }))),
    );
    const parts = res.responses[0].partitions;
    assertEquals(parts.length, ps.length);
    for (const part of parts) {
      assertEquals([part.partitionIndex, part.errorCode, part.highWatermark], [
        part.partitionIndex,
        0,
        1,
      ]);
      const stored = batchOf(part.partitionIndex);
      setPartitionLeaderEpochAt(stored, 0, 0); // the leader's epoch, stamped as Kafka does
      assertEquals(part.records, stored);
    }
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test(`broker under ulimit -n ${FD_LIMIT}: ${PARTITIONS} partitions produced to, restarted, read back`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "sluice_many_partitions_" });
  const port = freePort();
  let child: Child | undefined;
  try {
    child = await startBroker(dir, port, TASK_PERMISSIONS);
    // about half the limit for segment files (half the descriptors free at start-up)
    const bound = Number(/at most (\d+) segment files open/.exec(child.stderr())?.[1]);
    ok(bound >= FD_LIMIT / 4 && bound <= FD_LIMIT / 2, child.stderr());
    let c = await RawClient.connect(port);
    await createTopic(c, "many", 1);
    // the request that used to exhaust descriptors: refused before anything is made
    const huge = await c.request(CreatePartitionsRequest, CreatePartitionsResponse, 3, {
      topics: [{ name: "many", count: 100_000, assignments: null }],
    });
    assertEquals(huge.results[0].errorCode, ErrorCode.POLICY_VIOLATION);
    const grown = await c.request(CreatePartitionsRequest, CreatePartitionsResponse, 3, {
      topics: [{ name: "many", count: PARTITIONS, assignments: null }],
      timeoutMs: 600_000,
    });
    assertEquals(grown.results[0].errorCode, 0);
    // the first produce to each partition makes its files: sampled, the broker's descriptors stay
    // under three quarters of the limit (they reached 249 of 256 when index files were unbounded)
    let mostFds = 0;
    const sampler = setInterval(() => {
      try {
        mostFds = Math.max(mostFds, openFds(child!.proc.pid));
      } catch { /* exited */ }
    }, 1);
    try {
      await produceAll(c, "many");
    } finally {
      clearInterval(sampler);
    }
    ok(mostFds > 0 && mostFds < FD_LIMIT * 3 / 4, `${mostFds} descriptors open at once`);
    // a new connection is still accepted and served
    const control = await RawClient.connect(port);
    const v = await control.request(ApiVersionsRequest, ApiVersionsResponse, 3, {
      clientSoftwareName: "control",
      clientSoftwareVersion: "1",
    });
    assertEquals(v.errorCode, 0);
    control.close();
    await readAll(c, "many");
    ok(openFds(child.proc.pid) < FD_LIMIT * 3 / 4, `${openFds(child.proc.pid)} open`);
    c.close();
    await stop(child);

    child = await startBroker(dir, port, TASK_PERMISSIONS);
    ok(child.stderr().includes(`${PARTITIONS} partitions`), child.stderr());
    c = await RawClient.connect(port);
    await readAll(c, "many");
    ok(openFds(child.proc.pid) < FD_LIMIT * 3 / 4, `${openFds(child.proc.pid)} open`);
    c.close();
    await stop(child);
    child = undefined;
  } finally {
    try {
      child?.proc.kill("SIGKILL");
      await child?.proc.status;
    } catch { /* exited */ }
    await Deno.remove(dir, { recursive: true });
  }
});
